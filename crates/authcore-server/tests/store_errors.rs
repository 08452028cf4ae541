//! `authcore_store_errors_total{store="sql"}` counts every failure the SQL store meets, on
//! any route (not only the readiness probe), and each is in the log: PostgreSQL (a server of
//! the test's own) is stopped under `authcore serve` with `RUST_LOG=info`, and failed
//! sign-ins move the counter one each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{ADMIN, ADMIN_PW, FAST_ARGON2, OwnPostgres, Server, TempDir, add_user};

/// `authcore_store_errors_total{store="sql"}` from `/metrics`.
async fn sql_errors(server: &Server) -> u64 {
    let (status, text) = server.get("/metrics").await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix("authcore_store_errors_total{store=\"sql\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sql store error counter in:\n{text}"))
}

fn unavailable_lines(server: &Server) -> usize {
    server
        .log()
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("authcore-sql: database unavailable"))
        .count()
}

fn poll_failures(server: &Server) -> u64 {
    let n = server
        .log()
        .lines()
        .filter(|l| l.contains("cannot refresh the run-time settings"))
        .count();
    u64::try_from(n).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts PostgreSQL with scripts/servers/start-postgres.sh: run scripts/test"]
async fn a_failed_sign_in_counts_as_a_store_error_and_is_logged() {
    let pg = OwnPostgres::start();
    let dir = TempDir::new();
    add_user(&dir, &pg.url, ADMIN, "admin", ADMIN_PW);
    // The settings poll, rare here, would meet the outage at its own pace: each of its
    // failures (a WARN of its own) is one more store error, and is counted as such below.
    // The server's log level is `info` (Server::start).
    let mut args = vec![
        "--database-url",
        pg.url.as_str(),
        "--settings-refresh-ms",
        "60000",
    ];
    args.extend(FAST_ARGON2);
    let server = Server::start(&dir, &args, &[]);
    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 200);
    let before = sql_errors(&server).await;
    assert_eq!(unavailable_lines(&server), 0);

    pg.ctl("stop");
    // The first meets a pooled connection the server closed, the second finds no server.
    for attempt in 1..=2 {
        assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 503);
        let polls = poll_failures(&server);
        assert_eq!(
            sql_errors(&server).await,
            before + attempt + polls,
            "sign-in {attempt} during the outage ({polls} failed settings polls)\nlog:\n{}",
            server.log()
        );
        assert_eq!(
            unavailable_lines(&server),
            usize::try_from(attempt + polls).unwrap(),
            "{}",
            server.log()
        );
    }
    pg.ctl("start");
}
