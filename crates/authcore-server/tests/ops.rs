//! GET /livez, /readyz and /metrics of the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::{ADMIN, ADMIN_PW, OwnPostgres, Server, TempDir, authcore, with_admin};
use serde_json::Value;

async fn get_url(client: &reqwest::Client, url: &str) -> (u16, String) {
    let res = client.get(url).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The value of the Prometheus sample `name{labels}` (labels as rendered), or 0.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn livez_and_readyz_on_a_healthy_server() {
    let dir = TempDir::new();
    let server = Server::sqlite(&dir, &[]);
    let (status, body) = server.get("/livez").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "ok"
    );
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["user_store"], "ok");
    assert_eq!(body["checks"]["lockout_store"], "ok");
    assert!(body["checks"].get("directory").is_none(), "{body}");
    // The core's route table has them, so the OpenAPI document does.
    let (status, doc) = server.get("/v1/openapi.json").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    for path in ["/livez", "/readyz", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_sign_ins_by_outcome_and_requests_by_route() {
    let (dir, db) = with_admin();
    let server = Server::start(&dir, &["--database-url", &db], &[]);

    let (status, before) = server.get("/metrics").await;
    assert_eq!(status, 200);
    let success = r#"authcore_sign_ins_total{outcome="success"}"#;
    let unauthorized = r#"authcore_sign_ins_total{outcome="unauthorized"}"#;
    assert_eq!(sample(&before, success), 0.0, "{before}");
    for line in [
        "authcore_hashing_workers ",
        "authcore_hashing_busy ",
        "authcore_hashing_queue_depth ",
        "authcore_hashing_rejections_total ",
        "authcore_sign_in_busy_refusals_total 0",
        r#"authcore_store_errors_total{store="sql"} 0"#,
    ] {
        assert!(before.contains(line), "no {line:?} in\n{before}");
    }

    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 200);
    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 200);
    assert_eq!(server.sign_in(ADMIN, "wrong").await, 401);
    assert_eq!(server.sign_in("nobody@example.org", "wrong").await, 401);
    let res = server
        .client
        .post(server.url("/v1/users/authorize"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    // A uid in the path is never a label: the route template is.
    let (status, _) = server.get("/v1/users/12345").await;
    assert_eq!(status, 401);

    let (_, after) = server.get("/metrics").await;
    assert_eq!(sample(&after, success), 2.0, "{after}");
    assert_eq!(sample(&after, unauthorized), 2.0, "{after}");
    assert_eq!(
        sample(
            &after,
            r#"authcore_sign_ins_total{outcome="invalid_request"}"#
        ),
        1.0
    );
    let count = r#"authcore_http_request_duration_seconds_count{route="/v1/users/authorize",method="POST",status="200"}"#;
    assert_eq!(sample(&after, count), 2.0, "{after}");
    assert!(
        after.contains(r#"authcore_http_request_duration_seconds_bucket{route="/v1/users/authorize",method="POST",status="401",le="#),
        "{after}"
    );
    assert!(after.contains(r#"route="/v1/users/{uid}""#), "{after}");
    assert!(!after.contains("12345"), "{after}");
    assert!(
        sample(&after, "authcore_hashing_jobs_total") >= 4.0,
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_listen_moves_metrics_off_the_main_listener() {
    let dir = TempDir::new();
    let mut child = authcore(
        &dir,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--header-read-timeout",
            "1",
            "--database-url",
            &dir.sqlite_url(),
        ],
    )
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let main = lines.next().unwrap().unwrap();
    let metrics = lines.next().unwrap().unwrap();
    let main = main.strip_prefix("listening on ").unwrap().to_owned();
    let metrics = metrics.strip_prefix("metrics on ").unwrap().to_owned();
    let client = reqwest::Client::new();
    let (status, _) = get_url(&client, &format!("{main}/metrics")).await;
    assert_eq!(status, 404);
    let (status, doc) = get_url(&client, &format!("{main}/v1/openapi.json")).await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert!(doc["paths"]["/metrics"].is_null());
    assert!(doc["paths"]["/readyz"]["get"].is_object());
    let (status, text) = get_url(&client, &metrics).await;
    assert_eq!(status, 200);
    assert!(text.contains("authcore_sign_ins_total"), "{text}");
    // The metrics listener is hardened like the main one: a client that never finishes its
    // headers is cut off (it was held open for ever).
    let address = metrics
        .strip_prefix("http://")
        .and_then(|a| a.strip_suffix("/metrics"))
        .unwrap()
        .to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut slow, b"GET /metrics HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::io::AsyncReadExt::read_to_end(&mut slow, &mut out),
    )
    .await
    .expect("the metrics listener kept a connection with unfinished headers open")
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
}

/// An unreachable directory makes the server not ready, naming the directory only.
#[tokio::test(flavor = "multi_thread")]
async fn readyz_names_an_unreachable_directory() {
    let dir = TempDir::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    std::fs::write(
        dir.path().join("ldap.json"),
        serde_json::json!({
            "uris": [format!("ldap://127.0.0.1:{port}")],
            "user_dn_template": "uid=%u,ou=people,dc=example,dc=org",
            "dn_group_attr": "memberOf",
            "directory_timeout_s": 5,
            "ldap_mappings": []
        })
        .to_string(),
    )
    .unwrap();
    let server = Server::sqlite(&dir, &["--ldap-config", "ldap.json"]);
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["failing"], serde_json::json!(["directory"]), "{body}");
    assert_eq!(body["checks"]["user_store"], "ok");
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        sample(&metrics, r#"authcore_store_errors_total{store="ldap"}"#) >= 1.0,
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "starts PostgreSQL with scripts/servers/start-postgres.sh: run scripts/test"]
async fn readyz_is_503_naming_the_stores_while_postgres_is_stopped() {
    let pg = OwnPostgres::start();
    let dir = TempDir::new();
    let server = Server::start(
        &dir,
        &["--database-url", &pg.url, "--ready-timeout-ms", "3000"],
        &[],
    );
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200, "{body}");

    pg.ctl("stop");
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(
        body["failing"],
        serde_json::json!(["user_store", "lockout_store"]),
        "{body}"
    );
    assert_ne!(body["checks"]["user_store"], "ok");
    // The process itself is alive.
    assert_eq!(server.get("/livez").await.0, 200);
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        sample(&metrics, r#"authcore_store_errors_total{store="sql"}"#) >= 1.0,
        "{metrics}\nlog:\n{}",
        server.log()
    );

    pg.ctl("start");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = server.get("/readyz").await;
        if status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still not ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
