//! Malformed, oversized and strange requests: the right 4xx, never a crash.

use serde_json::{Value, json};

use crate::request::Requests;
use crate::server_harness::Backend;
use crate::{ADMIN, ADMIN_PW, start};

pub(crate) async fn malformed_inputs(backend: Backend) {
    let s = start(&backend, &["--login-lockout-threshold", "0"]).await;
    let creds = json!({"username": ADMIN, "password": ADMIN_PW}).to_string();
    const AUTHORIZE: &str = "/v1/users/authorize";
    const REFRESH: &str = "/v1/users/refresh_jwt";
    const PASSWORD: &str = "/v1/users/password";
    const JSON: Option<&str> = Some("application/json");
    const INVALID: (u16, &str) = (400, "invalid_request");
    const UNAUTHORIZED: (u16, &str) = (401, "unauthorized");
    const NOT_FOUND: (u16, &str) = (404, "not_found");
    let with_ttl =
        |ttl: Value| json!({"username": ADMIN, "password": ADMIN_PW, "ttl": ttl}).to_string();
    // (path, content type, body, Authorization, expected status and error code)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        (u16, &'a str),
    );
    let cases: [Case; 24] = [
        (AUTHORIZE, JSON, "{", None, INVALID),
        (AUTHORIZE, JSON, "[]", None, INVALID),
        (AUTHORIZE, Some("text/plain"), &creds, None, INVALID),
        (AUTHORIZE, None, &creds, None, INVALID),
        (AUTHORIZE, JSON, r#"{"username":"a"}"#, None, INVALID),
        (AUTHORIZE, JSON, r#"{"password":"a"}"#, None, INVALID),
        (AUTHORIZE, None, "", None, INVALID),
        (AUTHORIZE, JSON, &with_ttl(json!(0)), None, INVALID),
        (AUTHORIZE, JSON, &with_ttl(json!(86401)), None, INVALID),
        (AUTHORIZE, JSON, &with_ttl(json!(-5)), None, INVALID),
        (AUTHORIZE, JSON, &with_ttl(json!("60")), None, INVALID),
        (AUTHORIZE, JSON, &with_ttl(json!(1e30)), None, INVALID),
        (
            AUTHORIZE,
            JSON,
            &json!({"username": 5, "password": ADMIN_PW}).to_string(),
            None,
            INVALID,
        ),
        (AUTHORIZE, None, "", Some("Basic !!!notbase64"), INVALID),
        (AUTHORIZE, None, "", Some("Basic bm9jb2xvbg=="), INVALID),
        (REFRESH, None, "", None, UNAUTHORIZED),
        (REFRESH, None, "", Some("JWT"), INVALID),
        (REFRESH, None, "", Some("JWT not.a.token"), UNAUTHORIZED),
        (REFRESH, None, "", Some("Digest x"), UNAUTHORIZED),
        (PASSWORD, JSON, r#"{"username":"a"}"#, None, INVALID),
        (
            PASSWORD,
            JSON,
            &json!({"username": ADMIN, "old_password": ADMIN_PW}).to_string(),
            None,
            INVALID,
        ),
        ("/v1/users", JSON, "{}", None, UNAUTHORIZED),
        ("/nope", None, "", None, NOT_FOUND),
        ("/v1/users/", None, "", None, NOT_FOUND),
    ];
    for (path, ct, body, authz, (status, code)) in cases {
        let (st, bytes) = s.post_raw(path, ct, body, authz).await;
        let v: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{path} {body}: not JSON: {bytes:?}"));
        assert_eq!(
            (st, v["error_code"].as_str().unwrap()),
            (status, code),
            "{path} {ct:?} {body} {authz:?}: {v}"
        );
        assert!(v["message"].is_string());
    }
    // Wrong methods.
    for (method, path) in [
        ("GET", "/v1/users/authorize"),
        ("PATCH", "/v1/users/password"),
        ("DELETE", "/v1/users"),
        ("POST", "/v1/users/1"),
        ("GET", "/v1/users/refresh_jwt"),
    ] {
        let res = s.call(method, path).response().await;
        assert_eq!(res.status(), 405, "{method} {path}");
        assert!(res.headers().get("allow").is_some());
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error_code"], "method_not_allowed");
    }
    // Over the body limit (64 KiB), with and without a Content-Length.
    let big = format!(
        r#"{{"username":"{}","password":"x"}}"#,
        "a".repeat(70 * 1024)
    );
    let (st, bytes) = s
        .post_raw("/v1/users/authorize", Some("application/json"), &big, None)
        .await;
    assert_eq!(st, 413);
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).unwrap()["error_code"],
        "payload_too_large"
    );
    let chunked = format!(
        "POST /v1/users/authorize HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    let (st, bytes) = s.raw(chunked.as_bytes()).await;
    assert_eq!(st, 413);
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).unwrap()["error_code"],
        "payload_too_large"
    );
    // A token that is not UTF-8 is an invalid token, like any other (issue #14: every hostile
    // token is a 401).
    let (st, bytes) = s
        .raw(b"POST /v1/users/refresh_jwt HTTP/1.1\r\nhost: x\r\nauthorization: JWT \xff\xfe\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await;
    assert_eq!(
        (
            st,
            serde_json::from_slice::<Value>(&bytes).unwrap()["error_code"]
                .as_str()
                .unwrap()
        ),
        (401, "unauthorized")
    );
    // Oversized credentials are a 400, not a crash.
    let huge = json!({"username": ADMIN, "password": "p".repeat(5000)}).to_string();
    let (st, _) = s
        .post_raw("/v1/users/authorize", Some("application/json"), &huge, None)
        .await;
    assert_eq!(st, 400);
    s.get("/v1/users/99999").auth("JWT x").status(401).await;
}
