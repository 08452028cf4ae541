//! Request ids, JSON logs and audit events of the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{
    ADMIN, ADMIN_PW, Server, TempDir, authcore, ok, run_with_stdin, stderr, user_add, with_admin,
};
use serde_json::{Value, json};

async fn get_with_id(server: &Server, path: &str, id: Option<&str>) -> reqwest::Response {
    let mut req = server.client.get(server.url(path));
    if let Some(id) = id {
        req = req.header("x-request-id", id);
    }
    req.send().await.unwrap()
}

fn response_id(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-request-id")
        .expect("x-request-id on the response")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn request_ids_round_trip_and_appear_in_json_logs() {
    let dir = TempDir::new();
    let server = Server::sqlite(&dir, &["--log-format", "json"]);
    // Given: answered as is.
    let res = get_with_id(&server, "/v1/openapi.json", Some("req-abc-123")).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(response_id(&res), "req-abc-123");
    // On errors too, and on the operations endpoints.
    let res = get_with_id(&server, "/v1/users", Some("req-denied-1")).await;
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(response_id(&res), "req-denied-1");
    let res = get_with_id(&server, "/livez", Some("req-live-1")).await;
    assert_eq!(response_id(&res), "req-live-1");
    // Missing or unfit (too long, spaces): a fresh UUID for each request.
    let a = response_id(&get_with_id(&server, "/livez", None).await);
    let b = response_id(&get_with_id(&server, "/livez", Some(&"x".repeat(200))).await);
    let c = response_id(&get_with_id(&server, "/livez", Some("two words")).await);
    for id in [&a, &b, &c] {
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
    assert!(a != b && b != c);

    // Every log line is a JSON object; the request's span carries its id.
    let log = server.log();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 3, "{log}");
    let finished = lines
        .iter()
        .find(|l| l["message"] == "request finished" && l["span"]["request_id"] == "req-abc-123")
        .unwrap_or_else(|| panic!("no request finished event with the id:\n{log}"));
    assert_eq!(finished["span"]["name"], "http_request");
    assert_eq!(finished["span"]["route"], "/v1/openapi.json");
    assert_eq!(finished["status"], 200);
    assert!(finished["level"] == "INFO" && finished["timestamp"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn administrative_requests_leave_audit_events_without_secrets() {
    let (dir, db) = with_admin();
    let server = Server::start(&dir, &["--database-url", &db, "--log-format", "json"], &[]);
    let token = server.token(ADMIN, ADMIN_PW).await;
    let res = server
        .client
        .post(server.url("/v1/users"))
        .header("authorization", format!("Bearer {token}"))
        .header("x-request-id", "audit-create-1")
        .json(
            &json!({"email": "ann@example.org", "password": "Ann-Passw0rd-1", "role": "db_viewer"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let res = server
        .client
        .delete(server.url("/v1/users/1"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 406, "the last admin stays");
    let res = server
        .client
        .delete(server.url("/v1/users/2"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // Policy changes are administrative acts too (issue #12: "policy changed"), a dry run
    // named as such, the directory settings and mappings as well.
    for (method, path, body, status) in [
        (
            "PUT",
            "/v1/cluster/policy",
            json!({"login_lockout_threshold": 7}),
            200,
        ),
        (
            "PUT",
            "/v1/cluster?dry_run",
            json!({"password_expiration_duration": 90}),
            200,
        ),
        (
            "PUT",
            "/v1/cluster",
            json!({"password_complexity": true}),
            200,
        ),
        ("DELETE", "/v1/cluster/ldap", json!({}), 200),
        (
            "POST",
            "/v1/ldap_mappings",
            json!({"name": "ops", "dn": "cn=ops,dc=example,dc=org", "role": "admin"}),
            200,
        ),
    ] {
        let res = server
            .client
            .request(method.parse().unwrap(), server.url(path))
            .header("authorization", format!("JWT {token}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
    }
    let res = server
        .client
        .put(server.url("/v1/cluster/policy"))
        .json(&json!({"login_lockout_threshold": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);

    let log = server.log();
    let audit: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "authcore::audit" && l["message"] == "administrative request")
        .collect();
    let find = |act: &str, outcome: &str| {
        audit
            .iter()
            .find(|e| e["act"] == act && e["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {act} {outcome} in {audit:#?}\n{log}"))
            .clone()
    };
    let created = find("POST /v1/users", "success");
    assert_eq!(created["actor"], format!("uid 1 ({ADMIN})"));
    assert_eq!(created["client"], "127.0.0.1");
    assert_eq!(created["request_id"], "audit-create-1");
    let refused = find("DELETE /v1/users/{uid}", "refused");
    assert_eq!(refused["target_uid"], "1");
    assert_eq!(refused["status"], 406);
    let anonymous = audit.iter().find(|e| e["target_uid"] == "2").unwrap();
    assert_eq!(anonymous["actor"], "anonymous");
    assert_eq!(anonymous["outcome"], "refused");
    let policy = find("PUT /v1/cluster/policy", "success");
    assert_eq!(policy["actor"], format!("uid 1 ({ADMIN})"));
    assert_eq!(policy["status"], 200);
    find("PUT /v1/cluster/policy", "refused");
    find("PUT /v1/cluster?dry_run", "success");
    find("PUT /v1/cluster", "success");
    find("DELETE /v1/cluster/ldap", "success");
    find("POST /v1/ldap_mappings", "success");
    // Reading the settings is not an act.
    assert!(
        !audit
            .iter()
            .any(|e| e["act"].as_str().is_some_and(|a| a.starts_with("GET")))
    );
    // Sign-ins are not administrative acts.
    assert!(!audit.iter().any(|e| e["act"] == "POST /v1/users/authorize"));
    for secret in [ADMIN_PW, "Ann-Passw0rd-1", token.as_str()] {
        assert!(!log.contains(secret), "a secret in the log");
    }
}

#[test]
fn the_cli_leaves_audit_events_too() {
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    let mut cmd = user_add(&dir, &db, ADMIN, &[]);
    cmd.env_remove("RUST_LOG").env("USER", "ops-person");
    let out = run_with_stdin(cmd, &format!("{ADMIN_PW}\n"));
    ok(&out);
    let err = stderr(&out);
    assert!(err.contains("administrative act"), "{err}");
    assert!(
        err.contains("user add") && err.contains("operator ops-person"),
        "{err}"
    );
    assert!(
        err.contains("outcome=\"success\"") || err.contains("outcome=success"),
        "{err}"
    );
    assert!(!err.contains(ADMIN_PW));
    let mut cmd = authcore(&dir, &["user", "delete", ADMIN, "--database-url", &db]);
    cmd.env_remove("RUST_LOG");
    let out = common::run(cmd);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("refused") && err.contains("user delete"),
        "{err}"
    );
}
