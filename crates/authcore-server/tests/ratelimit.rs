//! The per-client sign-in rate limit of the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;

use common::{Server, TempDir, sign_in_burst};
use serde_json::json;

async fn status_from(server: &Server, forwarded_for: Option<&str>) -> u16 {
    server.wrong_sign_in(forwarded_for).await.status().as_u16()
}

/// Released at the same instant, exactly `burst` requests get through; the rest get 429 with
/// `Retry-After` and `too_many_requests`, counted in the metrics.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_beyond_the_limit_gets_429_with_retry_after() {
    let dir = TempDir::new();
    let server = Arc::new(Server::sqlite(
        &dir,
        &[
            "--rate-limit-per-minute",
            "1",
            "--rate-limit-burst",
            "3",
            "--rate-limit-loopback",
        ],
    ));
    let n = 12;
    let mut limited = 0;
    for answer in sign_in_burst(&server, n).await {
        let body = &answer.body;
        if answer.status == 429 {
            limited += 1;
            assert_eq!(body["error_code"], "too_many_requests", "{body}");
            let secs: u64 = answer.retry_after.expect("Retry-After").parse().unwrap();
            assert!((1..=60).contains(&secs), "{secs}");
        } else {
            assert_eq!(answer.status, 401, "{body}");
        }
    }
    assert_eq!(limited, n - 3);

    // Password changes draw on the same bucket; other routes are not limited.
    let res = server
        .client
        .put(server.url("/v1/users/password"))
        .json(&json!({"username": "x@example.org", "old_password": "a", "new_password": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert_eq!(server.get("/livez").await.0, 200);
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains(&format!(
            "authcore_sign_ins_total{{outcome=\"rate_limited\"}} {}",
            n - 3
        )),
        "{metrics}"
    );

    let doc = server.get_json("/v1/openapi.json").await;
    assert!(
        doc["paths"]["/v1/users/authorize"]["post"]["responses"]
            .get("429")
            .is_some(),
        "{doc}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_is_exempt_by_default_and_zero_turns_the_limit_off() {
    let dir = TempDir::new();
    for args in [
        vec!["--rate-limit-per-minute", "1", "--rate-limit-burst", "1"],
        vec![
            "--rate-limit-per-minute",
            "0",
            "--rate-limit-burst",
            "1",
            "--rate-limit-loopback",
        ],
        vec![
            "--rate-limit-per-minute",
            "1",
            "--rate-limit-burst",
            "0",
            "--rate-limit-loopback",
        ],
    ] {
        let db = dir.sqlite_url();
        let mut all = vec!["--database-url", db.as_str()];
        all.extend(args.iter().copied());
        let server = Server::start(&dir, &all, &[]);
        for _ in 0..4 {
            // Not even a forged X-Forwarded-For changes that without --trusted-proxies.
            let res = server.wrong_sign_in(Some("203.0.113.9")).await;
            assert_eq!(res.status().as_u16(), 401, "{args:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let dir = TempDir::new();
    let server = Server::sqlite(
        &dir,
        &[
            "--rate-limit-per-minute",
            "1",
            "--rate-limit-burst",
            "1",
            "--trusted-proxies",
            "127.0.0.0/8,::1",
        ],
    );
    assert_eq!(status_from(&server, Some("203.0.113.9")).await, 401);
    assert_eq!(status_from(&server, Some("203.0.113.9")).await, 429);
    // A forged entry to the left does not help: the proxy appended the real address.
    assert_eq!(
        status_from(&server, Some("198.51.100.1, 203.0.113.9")).await,
        429
    );
    assert_eq!(status_from(&server, Some("203.0.113.10")).await, 401);
    // The proxy's own requests (no header) are loopback: exempt.
    assert_eq!(status_from(&server, None).await, 401);
    assert_eq!(status_from(&server, None).await, 401);
}

/// HTTP Basic credentials on the users API and the settings routes are password checks too:
/// they draw on the same bucket (one spray through `GET /v1/users` with Basic was unlimited),
/// while calls with a token are never limited.
#[tokio::test(flavor = "multi_thread")]
async fn basic_credentials_on_administrative_routes_are_limited_tokens_are_not() {
    let dir = TempDir::new();
    let server = Server::sqlite(
        &dir,
        &[
            "--rate-limit-per-minute",
            "1",
            "--rate-limit-burst",
            "2",
            "--rate-limit-loopback",
        ],
    );
    for _ in 0..4 {
        let res = server
            .client
            .get(server.url("/v1/users"))
            .header("authorization", "JWT not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401, "a token call is not limited");
    }
    let mut statuses = Vec::new();
    for (i, path) in [
        "/v1/users",
        "/v1/users/1",
        "/v1/cluster/policy",
        "/v1/ldap_mappings",
    ]
    .iter()
    .enumerate()
    {
        let res = server
            .client
            .get(server.url(path))
            .basic_auth("nobody@example.org", Some(format!("guess-{i}")))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        if status == 429 {
            assert!(res.headers().get("retry-after").is_some());
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["error_code"], "too_many_requests");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, vec![401, 401, 429, 429]);
    // The bucket is the sign-in bucket: empty for sign-ins now as well.
    assert_eq!(status_from(&server, None).await, 429);
}
