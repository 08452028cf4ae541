//! The hashing engine's flags of the real binary (issue #10 item 2): `--hashing-workers` and
//! the queue's deadline `--hashing-max-wait-ms` (and their variables).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;

use common::{Server, TempDir, sign_in_burst};

fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in {metrics}"))
}

/// One worker and a deadline of 0 ms: a sign-in is admitted only while nothing is queued, so
/// of 12 released at the same instant some are refused with 503 `service_unavailable` and a
/// `Retry-After`, and `/metrics` counts them.
#[tokio::test(flavor = "multi_thread")]
async fn the_workers_and_the_queue_deadline_are_configurable() {
    let dir = TempDir::new();
    let server = Arc::new(Server::sqlite(
        &dir,
        &["--hashing-workers", "1", "--hashing-max-wait-ms", "0"],
    ));
    let (_, metrics) = server.get("/metrics").await;
    assert_eq!(metric(&metrics, "authcore_hashing_workers"), 1.0);
    let mut refused = 0;
    for answer in sign_in_burst(&server, 12).await {
        let body = &answer.body;
        if answer.status == 503 {
            refused += 1;
            assert_eq!(body["error_code"], "service_unavailable", "{body}");
            assert!(answer.retry_after.is_some(), "503 without Retry-After");
        } else {
            assert_eq!(answer.status, 401, "{body}");
        }
    }
    assert!(refused >= 1, "no sign-in refused with a 0 ms deadline");
    let (_, metrics) = server.get("/metrics").await;
    assert!(metric(&metrics, "authcore_hashing_rejections_total") >= f64::from(refused));
}

/// By default one worker per core and a 2 s deadline: the same burst is queued, not refused;
/// the variables set the same values as the flags.
#[tokio::test(flavor = "multi_thread")]
async fn defaults_and_variables() {
    let dir = TempDir::new();
    let server = Server::sqlite(&dir, &[]);
    let (_, metrics) = server.get("/metrics").await;
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(metric(&metrics, "authcore_hashing_workers"), cores as f64);
    drop(server);

    let dir = TempDir::new();
    let url = dir.sqlite_url();
    let server = Server::start(
        &dir,
        &["--database-url", &url],
        &[("AUTHCORE_HASHING_WORKERS", "3")],
    );
    let (_, metrics) = server.get("/metrics").await;
    assert_eq!(metric(&metrics, "authcore_hashing_workers"), 3.0);
}
