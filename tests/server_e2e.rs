//! End-to-end tests of the reference server: the real `examples/server` binary on a free port,
//! driven over HTTP with reqwest. Tokens are checked with an independent HS256 decoder (hmac +
//! sha2) as well as by the server itself.
//!
//! Every scenario runs against SQLite (a temp file) and, in the `postgres::` and `mysql::`
//! tests, against the servers named by `AUTHCORE_TEST_POSTGRES_URL` and
//! `AUTHCORE_TEST_MYSQL_URL` (`scripts/test` starts them; without them those tests fail).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server_harness;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use server_harness::{Backend, Server};
use sha2::Sha256;

const SECRET: &str = "e2e-test-secret-that-is-at-least-32-bytes";
const ADMIN: &str = "admin@example.test";
const ADMIN_PW: &str = "Admin-Passw0rd!";

/// An independent HS256 check: the signature over `header.payload` with [`SECRET`], and the
/// payload as JSON.
fn decode_hs256(token: &str) -> Value {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS has three parts");
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&b64.decode(parts[2]).unwrap())
        .expect("HS256 signature verifies with the configured secret");
    serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap()
}

fn base_args() -> Vec<String> {
    vec!["--jwt-secret".into(), SECRET.into()]
}

async fn start(backend: &Backend, extra: &[&str]) -> Server {
    let mut args = base_args();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Server::start(
        backend,
        &args,
        &[
            ("AUTHCORE_ADMIN_EMAIL", ADMIN),
            ("AUTHCORE_ADMIN_PASSWORD", ADMIN_PW),
        ],
    )
    .await
}

// ---------- scenarios, each run against every backend ----------

async fn authorize_and_tokens(backend: Backend) {
    // Trace-level logs of every crate: still no password, hash or token in them.
    let s = Server::start(
        &backend,
        &base_args(),
        &[
            ("AUTHCORE_ADMIN_EMAIL", ADMIN),
            ("AUTHCORE_ADMIN_PASSWORD", ADMIN_PW),
            ("RUST_LOG", "trace"),
        ],
    )
    .await;

    // JSON credentials, default ttl.
    let (st, body) = s.authorize(ADMIN, ADMIN_PW).await;
    assert_eq!(st, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let claims = decode_hs256(&token);
    assert_eq!(claims["username"], ADMIN);
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["iss"], "authcore");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    // JSON credentials with a ttl; the username is case-insensitive.
    let (st, body) = s
        .post_json(
            "/v1/users/authorize",
            json!({"username": ADMIN.to_uppercase(), "password": ADMIN_PW, "ttl": 60}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let claims = decode_hs256(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );

    // HTTP Basic, with and without a ttl body.
    let res = s
        .client
        .post(s.url("/v1/users/authorize"))
        .basic_auth(ADMIN, Some(ADMIN_PW))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    decode_hs256(body["access_token"].as_str().unwrap());
    let res = s
        .client
        .post(s.url("/v1/users/authorize"))
        .basic_auth(ADMIN, Some(ADMIN_PW))
        .json(&json!({"ttl": 86400}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let claims = decode_hs256(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86400
    );

    // Wrong password and unknown user: the same 401, byte for byte.
    let (st1, wrong) = s
        .post_raw(
            "/v1/users/authorize",
            Some("application/json"),
            &json!({"username": ADMIN, "password": "nope"}).to_string(),
            None,
        )
        .await;
    let (st2, unknown) = s
        .post_raw(
            "/v1/users/authorize",
            Some("application/json"),
            &json!({"username": "ghost@example.test", "password": "nope"}).to_string(),
            None,
        )
        .await;
    assert_eq!((st1, st2), (401, 401));
    assert_eq!(wrong, unknown);
    assert_eq!(
        serde_json::from_slice::<Value>(&wrong).unwrap()["error_code"],
        "unauthorized"
    );
    let res = s
        .client
        .post(s.url("/v1/users/authorize"))
        .basic_auth("ghost@example.test", Some("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer realm="authcore""#
    );
    assert_eq!(res.bytes().await.unwrap(), wrong);

    // The server verifies its own token on a protected route (JWT and Bearer).
    for scheme in ["JWT", "Bearer", "jwt", "bearer"] {
        let (st, body) = s.get_auth("/v1/users", &format!("{scheme} {token}")).await;
        assert_eq!(st, 200, "{scheme}: {body}");
    }
    // A token signed with another secret is refused.
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let (st, body) = s.get_auth("/v1/users", &format!("JWT {forged}")).await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("unauthorized"))
    );

    let log = s.log();
    assert!(log.contains("http_request"), "the server logs requests");
    assert!(log.contains("DEBUG"), "debug events are on");
    for secret in [ADMIN_PW, SECRET, token.as_str(), "argon2id", "nope"] {
        assert!(!log.contains(secret), "the log contains a secret");
    }
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN}:{ADMIN_PW}"));
    assert!(!log.contains(&basic), "the log contains Basic credentials");
}

async fn malformed_inputs(backend: Backend) {
    let s = start(&backend, &["--login-lockout-threshold", "0"]).await;
    let creds = json!({"username": ADMIN, "password": ADMIN_PW}).to_string();
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Option<&str>, String, Option<&str>, u16, &str)> = vec![
        (
            "/v1/users/authorize",
            Some("application/json"),
            "{".into(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("application/json"),
            "[]".into(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("text/plain"),
            creds.clone(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            None,
            creds.clone(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("application/json"),
            r#"{"username":"a"}"#.into(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("application/json"),
            r#"{"password":"a"}"#.into(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            None,
            String::new(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("application/json"),
            json!({"username": ADMIN, "password": ADMIN_PW, "ttl": 0}).to_string(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("application/json"),
            json!({"username": ADMIN, "password": ADMIN_PW, "ttl": 86401}).to_string(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("application/json"),
            json!({"username": ADMIN, "password": ADMIN_PW, "ttl": -5}).to_string(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("application/json"),
            json!({"username": ADMIN, "password": ADMIN_PW, "ttl": "60"}).to_string(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("application/json"),
            json!({"username": ADMIN, "password": ADMIN_PW, "ttl": 1e30}).to_string(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            Some("application/json"),
            json!({"username": 5, "password": ADMIN_PW}).to_string(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            None,
            String::new(),
            Some("Basic !!!notbase64"),
            400,
            "invalid_request",
        ),
        (
            "/v1/users/authorize",
            None,
            String::new(),
            Some("Basic bm9jb2xvbg=="),
            400,
            "invalid_request",
        ),
        (
            "/v1/users/refresh_jwt",
            None,
            String::new(),
            None,
            401,
            "unauthorized",
        ),
        (
            "/v1/users/refresh_jwt",
            None,
            String::new(),
            Some("JWT"),
            400,
            "invalid_request",
        ),
        (
            "/v1/users/refresh_jwt",
            None,
            String::new(),
            Some("JWT not.a.token"),
            401,
            "unauthorized",
        ),
        (
            "/v1/users/refresh_jwt",
            None,
            String::new(),
            Some("Digest x"),
            401,
            "unauthorized",
        ),
        (
            "/v1/users/password",
            Some("application/json"),
            r#"{"username":"a"}"#.into(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users/password",
            Some("application/json"),
            json!({"username": ADMIN, "old_password": ADMIN_PW}).to_string(),
            None,
            400,
            "invalid_request",
        ),
        (
            "/v1/users",
            Some("application/json"),
            "{}".into(),
            None,
            401,
            "unauthorized",
        ),
        ("/nope", None, String::new(), None, 404, "not_found"),
        ("/v1/users/", None, String::new(), None, 404, "not_found"),
    ];
    for (path, ct, body, authz, status, code) in cases {
        let (st, bytes) = s.post_raw(path, ct, &body, authz).await;
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
        let res = s
            .client
            .request(method.parse().unwrap(), s.url(path))
            .send()
            .await
            .unwrap();
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
    // A header value that is not UTF-8.
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
        (400, "invalid_request")
    );
    // Oversized credentials are a 400, not a crash.
    let huge = json!({"username": ADMIN, "password": "p".repeat(5000)}).to_string();
    let (st, _) = s
        .post_raw("/v1/users/authorize", Some("application/json"), &huge, None)
        .await;
    assert_eq!(st, 400);
    let (st, _) = s.get_auth("/v1/users/99999", "JWT x").await;
    assert_eq!(st, 401);
}

async fn refresh(backend: Backend) {
    let s = start(&backend, &[]).await;
    let token = s.token(ADMIN, ADMIN_PW).await;
    for scheme in ["JWT", "Bearer", "jwt", "BEARER"] {
        let (st, body) = s
            .send(
                "POST",
                "/v1/users/refresh_jwt",
                Some(&format!("{scheme} {token}")),
                None,
            )
            .await;
        assert_eq!(st, 200, "{scheme}: {body}");
        let claims = decode_hs256(body["access_token"].as_str().unwrap());
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );
    }
    let (st, body) = s
        .send(
            "POST",
            "/v1/users/refresh_jwt",
            Some(&format!("JWT {token}")),
            Some(json!({"ttl": 42})),
        )
        .await;
    assert_eq!(st, 200);
    let fresh = body["access_token"].as_str().unwrap().to_owned();
    let claims = decode_hs256(&fresh);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        42
    );
    let (st, body) = s
        .send(
            "POST",
            "/v1/users/refresh_jwt",
            Some(&format!("JWT {token}")),
            Some(json!({"ttl": 0})),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("invalid_request"))
    );
    // Basic credentials are no token.
    let res = s
        .client
        .post(s.url("/v1/users/refresh_jwt"))
        .basic_auth(ADMIN, Some(ADMIN_PW))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // A user who is gone or disabled cannot refresh.
    let admin = format!("JWT {token}");
    let (st, user) = s.send("POST", "/v1/users", Some(&admin), Some(json!({"email": "bob@example.test", "password": "Bob-Passw0rd!", "role": "db_viewer"}))).await;
    assert_eq!(st, 200, "{user}");
    let bob = s.token("bob@example.test", "Bob-Passw0rd!").await;
    let uid = user["uid"].as_u64().unwrap();
    let (st, _) = s
        .send(
            "PUT",
            &format!("/v1/users/{uid}"),
            Some(&admin),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, body) = s
        .send(
            "POST",
            "/v1/users/refresh_jwt",
            Some(&format!("JWT {bob}")),
            None,
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (st, _) = s
        .send("DELETE", &format!("/v1/users/{uid}"), Some(&admin), None)
        .await;
    assert_eq!(st, 200);
    let (st, _) = s
        .send(
            "POST",
            "/v1/users/refresh_jwt",
            Some(&format!("JWT {bob}")),
            None,
        )
        .await;
    assert_eq!(st, 401);
}

async fn users_admin(backend: Backend) {
    let s = start(&backend, &[]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);

    // Create: 200 with Redis's user object, never a password or hash.
    let (st, carol) = s
        .send("POST", "/v1/users", Some(&admin), Some(json!({"email": "carol@example.test", "password": "Carol-Passw0rd!", "name": "Carol", "role": "db_member", "email_alerts": true})))
        .await;
    assert_eq!(st, 200, "{carol}");
    let uid = carol["uid"].as_u64().expect("local uids are integers");
    assert_eq!(carol["email"], "carol@example.test");
    assert_eq!(carol["name"], "Carol");
    assert_eq!(carol["role"], "db_member");
    assert_eq!(carol["status"], "active");
    assert_eq!(carol["auth_method"], "regular");
    assert!(
        carol["password_issue_date"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let text = carol.to_string();
    assert!(
        !text.contains("password\"")
            && !text.contains("argon2")
            && !text.contains("Carol-Passw0rd")
    );

    // Duplicates, bad input.
    let dup =
        json!({"email": "CAROL@example.test", "password": "x-Passw0rd!", "role": "db_viewer"});
    let (st, body) = s.send("POST", "/v1/users", Some(&admin), Some(dup)).await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (409, Some("email_already_exists"))
    );
    let (st, body) = s.send("POST", "/v1/users", Some(&admin), Some(json!({"email": "x@example.test", "password": "x-Passw0rd!", "name": "Carol", "role": "db_viewer"}))).await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (409, Some("name_already_exists"))
    );
    for bad in [
        json!({"email": "d@example.test", "password": "pw"}),
        json!({"email": "d@example.test", "role": "db_viewer"}),
        json!({"password": "pw", "role": "db_viewer"}),
        json!({"email": "d@example.test", "password": "pw", "role": "superuser"}),
        json!({"email": "d@example.test", "password": "pw", "role": 7}),
        json!({"email": "", "password": "pw", "role": "db_viewer"}),
    ] {
        let (st, body) = s
            .send("POST", "/v1/users", Some(&admin), Some(bad.clone()))
            .await;
        assert_eq!(
            (st, body["error_code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }

    // Basic credentials work on the users API as on Redis's REST API.
    let res = s
        .client
        .get(s.url("/v1/users"))
        .basic_auth(ADMIN, Some(ADMIN_PW))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);

    // A non-admin: 403 on admin routes, may read and rename themself.
    let carol_auth = format!(
        "Bearer {}",
        s.token("carol@example.test", "Carol-Passw0rd!").await
    );
    let (st, body) = s.get_auth("/v1/users", &carol_auth).await;
    assert_eq!((st, body["error_code"].as_str()), (403, Some("forbidden")));
    let (st, body) = s
        .send(
            "POST",
            "/v1/users",
            Some(&carol_auth),
            Some(json!({"email": "e@example.test", "password": "pw", "role": "admin"})),
        )
        .await;
    assert_eq!((st, body["error_code"].as_str()), (403, Some("forbidden")));
    let (st, _) = s.get_auth(&format!("/v1/users/{uid}"), &carol_auth).await;
    assert_eq!(st, 200);
    let (st, _) = s.get_auth("/v1/users/1", &carol_auth).await;
    assert_eq!(st, 403);
    let (st, body) = s
        .send(
            "PUT",
            &format!("/v1/users/{uid}"),
            Some(&carol_auth),
            Some(json!({"name": "Caroline"})),
        )
        .await;
    assert_eq!(
        (st, body["name"].as_str()),
        (200, Some("Caroline")),
        "{body}"
    );
    let (st, _) = s
        .send(
            "PUT",
            &format!("/v1/users/{uid}"),
            Some(&carol_auth),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = s
        .send(
            "DELETE",
            &format!("/v1/users/{uid}"),
            Some(&carol_auth),
            None,
        )
        .await;
    assert_eq!(st, 403);
    // Her own password, through PUT /v1/users/{uid}.
    let (st, _) = s
        .send(
            "PUT",
            &format!("/v1/users/{uid}"),
            Some(&carol_auth),
            Some(json!({"password": "Carol-Passw0rd-2!"})),
        )
        .await;
    assert_eq!(st, 200);
    s.token("carol@example.test", "Carol-Passw0rd-2!").await;

    // Missing and invalid credentials on admin routes.
    let (st, body) = s.send("GET", "/v1/users", None, None).await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (st, _) = s.get_auth("/v1/users", "JWT garbage").await;
    assert_eq!(st, 401);

    // 404s.
    let (st, body) = s.get_auth("/v1/users/99999", &admin).await;
    assert_eq!((st, body["error_code"].as_str()), (404, Some("not_found")));
    let (st, _) = s.get_auth("/v1/users/not-a-number", &admin).await;
    assert_eq!(st, 404);
    let (st, _) = s
        .send(
            "PUT",
            "/v1/users/99999",
            Some(&admin),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(st, 404);
    let (st, _) = s
        .send("DELETE", "/v1/users/99999", Some(&admin), None)
        .await;
    assert_eq!(st, 404);

    // Update by the admin; malformed update bodies.
    let (st, body) = s
        .send(
            "PUT",
            &format!("/v1/users/{uid}"),
            Some(&admin),
            Some(json!({"role": "cluster_viewer", "email": "carol2@example.test"})),
        )
        .await;
    assert_eq!(
        (st, body["role"].as_str(), body["email"].as_str()),
        (200, Some("cluster_viewer"), Some("carol2@example.test"))
    );
    let (st, _) = s
        .send(
            "PUT",
            &format!("/v1/users/{uid}"),
            Some(&admin),
            Some(json!({"status": "sleepy"})),
        )
        .await;
    assert_eq!(st, 400);
    let (st, _) = s
        .send(
            "PUT",
            &format!("/v1/users/{uid}"),
            Some(&admin),
            Some(json!({"email": ADMIN})),
        )
        .await;
    assert_eq!(st, 409);
    let (st, bytes) = s
        .post_raw(
            &format!("/v1/users/{uid}"),
            Some("application/json"),
            "{}",
            Some(&admin),
        )
        .await;
    assert_eq!(st, 405, "{}", String::from_utf8_lossy(&bytes));

    // The last admin can be neither demoted nor deleted.
    let (st, body) = s
        .send(
            "PUT",
            "/v1/users/1",
            Some(&admin),
            Some(json!({"role": "db_viewer"})),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (406, Some("change_last_admin_role_not_allowed"))
    );
    let (st, body) = s.send("DELETE", "/v1/users/1", Some(&admin), None).await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (406, Some("change_last_admin_role_not_allowed"))
    );

    // Delete.
    let (st, body) = s
        .send("DELETE", &format!("/v1/users/{uid}"), Some(&admin), None)
        .await;
    assert_eq!((st, body), (200, json!({})));
    let (st, _) = s.get_auth(&format!("/v1/users/{uid}"), &admin).await;
    assert_eq!(st, 404);
}

async fn password_rotation(backend: Backend) {
    let s = start(&backend, &[]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    let (st, _) = s.send("POST", "/v1/users", Some(&admin), Some(json!({"email": "dan@example.test", "password": "old-Passw0rd!", "role": "db_viewer"}))).await;
    assert_eq!(st, 200);
    let change = |old: &str, new: Option<&str>| {
        let mut v = json!({"username": "dan@example.test", "old_password": old});
        if let Some(n) = new {
            v["new_password"] = json!(n);
        }
        v
    };
    let works = |pw: &'static str| {
        let s = &s;
        async move {
            let (st, _) = s.authorize("dan@example.test", pw).await;
            st == 200
        }
    };

    // Add a second password: both work.
    let (st, body) = s
        .send(
            "POST",
            "/v1/users/password",
            None,
            Some(change("old-Passw0rd!", Some("new-Passw0rd!"))),
        )
        .await;
    assert_eq!((st, &body), (200, &json!({})));
    assert!(works("old-Passw0rd!").await && works("new-Passw0rd!").await);
    // Adding one already held is refused.
    let (st, body) = s
        .send(
            "POST",
            "/v1/users/password",
            None,
            Some(change("old-Passw0rd!", Some("new-Passw0rd!"))),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("new_password_same_as_current"))
    );
    // Remove the old one: only the new works.
    let (st, _) = s
        .send(
            "DELETE",
            "/v1/users/password",
            None,
            Some(change("old-Passw0rd!", None)),
        )
        .await;
    assert_eq!(st, 200);
    assert!(!works("old-Passw0rd!").await && works("new-Passw0rd!").await);
    // The last one cannot be removed.
    let (st, body) = s
        .send(
            "DELETE",
            "/v1/users/password",
            None,
            Some(change("new-Passw0rd!", None)),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("cannot_delete_last_password"))
    );
    // Replace all.
    let (st, _) = s
        .send(
            "POST",
            "/v1/users/password",
            None,
            Some(change("new-Passw0rd!", Some("third-Passw0rd!"))),
        )
        .await;
    assert_eq!(st, 200);
    let (st, _) = s
        .send(
            "PUT",
            "/v1/users/password",
            None,
            Some(change("new-Passw0rd!", Some("fourth-Passw0rd!"))),
        )
        .await;
    assert_eq!(st, 200);
    assert!(
        !works("new-Passw0rd!").await
            && !works("third-Passw0rd!").await
            && works("fourth-Passw0rd!").await
    );
    let (st, body) = s
        .send(
            "PUT",
            "/v1/users/password",
            None,
            Some(change("fourth-Passw0rd!", Some("fourth-Passw0rd!"))),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("new_password_same_as_current"))
    );

    // Wrong old password and unknown user: the same 401 on every method.
    for method in ["PUT", "POST", "DELETE"] {
        let (st1, wrong) = s
            .send(
                method,
                "/v1/users/password",
                None,
                Some(change("nope", Some("x-Passw0rd!"))),
            )
            .await;
        let mut ghost = change("nope", Some("x-Passw0rd!"));
        ghost["username"] = json!("ghost@example.test");
        let (st2, unknown) = s
            .send(method, "/v1/users/password", None, Some(ghost))
            .await;
        assert_eq!((st1, st2), (401, 401), "{method}");
        assert_eq!(wrong, unknown, "{method}");
        assert_eq!(wrong["error_code"], "unauthorized");
    }
}

async fn lockout_and_admin_unlock(backend: Backend) {
    let s = start(
        &backend,
        &[
            "--login-lockout-threshold",
            "3",
            "--login-lockout-duration",
            "0",
        ],
    )
    .await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    let (st, user) = s.send("POST", "/v1/users", Some(&admin), Some(json!({"email": "eve@example.test", "password": "Eve-Passw0rd!", "role": "db_viewer"}))).await;
    assert_eq!(st, 200);
    let uid = user["uid"].as_u64().unwrap();
    for _ in 0..3 {
        let (st, _) = s.authorize("eve@example.test", "wrong").await;
        assert_eq!(st, 401);
    }
    // Locked: even the right password is refused, with the same answer as a wrong one.
    let (st, body) = s.authorize("eve@example.test", "Eve-Passw0rd!").await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (st, body) = s.get_auth(&format!("/v1/users/{uid}"), &admin).await;
    assert_eq!((st, body["status"].as_str()), (200, Some("locked")));
    // An admin password reset unlocks.
    let (st, body) = s
        .send(
            "PUT",
            &format!("/v1/users/{uid}"),
            Some(&admin),
            Some(json!({"password": "Eve-Passw0rd-2!"})),
        )
        .await;
    assert_eq!(
        (st, body["status"].as_str()),
        (200, Some("active")),
        "{body}"
    );
    s.token("eve@example.test", "Eve-Passw0rd-2!").await;
}

async fn expiry_and_rotation_of_expired(backend: Backend) {
    let s = start(&backend, &["--password-expiration-days", "90"]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    let (st, _) = s.send("POST", "/v1/users", Some(&admin), Some(json!({"email": "fay@example.test", "password": "Fay-Passw0rd!", "role": "db_viewer"}))).await;
    assert_eq!(st, 200);
    let fay = s.token("fay@example.test", "Fay-Passw0rd!").await;
    // Age Fay's password by 91 days, in the database.
    s.sql(&format!(
        "UPDATE authcore_passwords SET issued_at = {} \
         WHERE uid = (SELECT uid FROM authcore_users WHERE email_key = 'fay@example.test')",
        backend.old_timestamp()
    ))
    .await;
    let (st, body) = s.authorize("fay@example.test", "Fay-Passw0rd!").await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("password_expired"))
    );
    let (st, body) = s
        .send(
            "POST",
            "/v1/users/refresh_jwt",
            Some(&format!("JWT {fay}")),
            None,
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("password_expired"))
    );
    // A wrong password still says only "unauthorized".
    let (st, body) = s.authorize("fay@example.test", "nope").await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("unauthorized"))
    );
    // The expired password still changes the password.
    let (st, body) = s.send("PUT", "/v1/users/password", None, Some(json!({"username": "fay@example.test", "old_password": "Fay-Passw0rd!", "new_password": "Fay-Passw0rd-2!"}))).await;
    assert_eq!(st, 200, "{body}");
    s.token("fay@example.test", "Fay-Passw0rd-2!").await;
}

async fn complexity(backend: Backend) {
    let s = start(&backend, &["--password-complexity"]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    let (st, body) = s
        .send(
            "POST",
            "/v1/users",
            Some(&admin),
            Some(json!({"email": "gus@example.test", "password": "weak", "role": "db_viewer"})),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("password_not_complex"))
    );
    let (st, _) = s.send("POST", "/v1/users", Some(&admin), Some(json!({"email": "gus@example.test", "password": "Str0ng-Enough!", "role": "db_viewer"}))).await;
    assert_eq!(st, 200);
    let (st, body) = s.send("POST", "/v1/users/password", None, Some(json!({"username": "gus@example.test", "old_password": "Str0ng-Enough!", "new_password": "weak"}))).await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("password_not_complex"))
    );
}

async fn store_failure_is_503_and_restart_keeps_users(backend: Backend) {
    let s = start(&backend, &[]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    let (st, _) = s.send("POST", "/v1/users", Some(&admin), Some(json!({"email": "hal@example.test", "password": "Hal-Passw0rd!", "role": "db_viewer"}))).await;
    assert_eq!(st, 200);
    // Users survive a graceful restart (SIGTERM exits 0).
    let s = s.restart(&base_args()).await;
    s.token("hal@example.test", "Hal-Passw0rd!").await;
    // A broken store is a 503 with Retry-After, never a 401.
    s.sql("ALTER TABLE authcore_users RENAME TO authcore_users_gone")
        .await;
    let res = s
        .client
        .post(s.url("/v1/users/authorize"))
        .json(&json!({"username": "hal@example.test", "password": "Hal-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error_code"], "service_unavailable");
    assert!(
        !body["message"].as_str().unwrap().contains("authcore_users"),
        "{body}"
    );
    s.sql("ALTER TABLE authcore_users_gone RENAME TO authcore_users")
        .await;
    s.token("hal@example.test", "Hal-Passw0rd!").await;
}

async fn openapi_and_jwks(backend: Backend) {
    // HS256 only: no JWKS route, and the document does not list it.
    let s = start(&backend, &[]).await;
    let (st, doc) = s.send("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.contains_key("/.well-known/jwks.json"));
    let (st, _) = s.send("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(st, 404);
    for (path, item) in paths {
        for method in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "parameters")
        {
            let path = path.replace("{uid}", "1");
            let res = s
                .client
                .request(method.to_uppercase().parse().unwrap(), s.url(&path))
                .send()
                .await
                .unwrap();
            assert!(
                ![404, 405].contains(&res.status().as_u16()) || path.contains("/1"),
                "{method} {path}: {}",
                res.status()
            );
        }
    }
    drop(s);

    // An Ed25519 key: EdDSA tokens, a JWKS, and the old HS256 tokens still verify.
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/authcore-core/testdata/ed25519.pem"
    );
    let s = start(&backend, &["--jwt-key", key]).await;
    let (st, jwks) = s.send("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(st, 200);
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert!(keys[0].get("d").is_none(), "no private part");
    let token = s.token(ADMIN, ADMIN_PW).await;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let (st, _) = s.get_auth("/v1/users", &format!("Bearer {token}")).await;
    assert_eq!(st, 200);
    let (_, doc) = s.send("GET", "/v1/openapi.json", None, None).await;
    assert!(
        doc["paths"]
            .as_object()
            .unwrap()
            .contains_key("/.well-known/jwks.json")
    );
}

// ---------- SQLite (always) and PostgreSQL (scripts/test) ----------

macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    super::$name(Backend::Sqlite).await;
                }
            )*
        }
        mod mysql {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                #[ignore = "needs MariaDB/MySQL: run scripts/test"]
                async fn $name() {
                    super::$name(Backend::mysql()).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                #[ignore = "needs PostgreSQL: run scripts/test"]
                async fn $name() {
                    super::$name(Backend::postgres()).await;
                }
            )*
        }
    };
}

backends!(
    authorize_and_tokens,
    malformed_inputs,
    refresh,
    users_admin,
    password_rotation,
    lockout_and_admin_unlock,
    expiry_and_rotation_of_expired,
    complexity,
    store_failure_is_503_and_restart_keeps_users,
    openapi_and_jwks,
);

/// Local users first, then the directory (`scripts/servers/start-slapd.sh` tree): directory
/// users sign in with roles from `ldap_mappings`, are locked out like local users and cannot
/// change their password here.
/// Writes an LDAP config for the test slapd (`scripts/servers/start-slapd.sh`): template DNs,
/// `memberOf` groups, admins -> admin, viewers -> db_viewer. Returns the file's path.
fn ldap_config_file() -> std::path::PathBuf {
    let var = |k: &str| {
        std::env::var(k)
            .unwrap_or_else(|_| panic!("{k} is not set: run scripts/test, which starts slapd"))
    };
    let base = var("AUTHCORE_TEST_LDAP_BASE_DN");
    let config = json!({
        "uris": [var("AUTHCORE_TEST_LDAP_URL")],
        "bind_dn": var("AUTHCORE_TEST_LDAP_BIND_DN"),
        "bind_pass": var("AUTHCORE_TEST_LDAP_BIND_PASS"),
        "user_dn_template": format!("uid=%u,ou=people,{base}"),
        "dn_group_attr": "memberOf",
        "ldap_mappings": [
            {"dn": format!("cn=admins,ou=groups,{base}"), "role": "admin"},
            {"dn": format!("cn=viewers,ou=groups,{base}"), "role": "db_viewer"}
        ]
    });
    let path = std::env::temp_dir().join(format!(
        "authcore-e2e-ldap-{}.json",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs OpenLDAP: run scripts/test"]
async fn ldap_directory_after_local_users() {
    let path = ldap_config_file();
    let s = start(
        &Backend::Sqlite,
        &[
            "--ldap-config",
            path.to_str().unwrap(),
            "--login-lockout-threshold",
            "2",
        ],
    )
    .await;

    // The local admin still signs in.
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    // Directory users, with mapped roles.
    let alice = decode_hs256(&s.token("alice", "alicepw").await);
    assert_eq!(alice["role"], "admin");
    let bob_token = s.token("bob", "bobpw").await;
    assert_eq!(decode_hs256(&bob_token)["role"], "db_viewer");
    let (st, body) = s
        .send(
            "POST",
            "/v1/users/refresh_jwt",
            Some(&format!("JWT {bob_token}")),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    // No mapped group, wrong password, unknown user: the same 401.
    for (user, pw) in [("carol", "carolpw"), ("bob", "nope"), ("nobody", "x")] {
        let (st, body) = s.authorize(user, pw).await;
        assert_eq!(
            (st, body["error_code"].as_str()),
            (401, Some("unauthorized")),
            "{user}"
        );
    }
    // Lockout applies to directory users (bob failed once above).
    let (st, _) = s.authorize("bob", "nope").await;
    assert_eq!(st, 401);
    let (st, _) = s.authorize("bob", "bobpw").await;
    assert_eq!(st, 401, "bob is locked after two failures");
    // Directory passwords are changed in the directory.
    let (st, body) = s
        .send(
            "POST",
            "/v1/users/password",
            None,
            Some(
                json!({"username": "alice", "old_password": "alicepw", "new_password": "other-pw"}),
            ),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("unsupported_operation"))
    );
    // The users API lists local users only.
    let (st, list) = s.get_auth("/v1/users", &admin).await;
    assert_eq!(st, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn ldap_only_server() {
    let path = ldap_config_file();
    let mut args = base_args();
    args.extend(
        [
            "--ldap-config",
            path.to_str().unwrap(),
            "--login-lockout-threshold",
            "2",
        ]
        .map(str::to_owned),
    );
    let s = Server::start_without_database(&args).await;

    // Directory users sign in and refresh; roles come from their groups.
    let alice_token = s.token("alice", "alicepw").await;
    assert_eq!(decode_hs256(&alice_token)["role"], "admin");
    let alice = format!("JWT {alice_token}");
    let (st, body) = s
        .send("POST", "/v1/users/refresh_jwt", Some(&alice), None)
        .await;
    assert_eq!(st, 200, "{body}");

    // There are no local users: the list is empty and creating one is a clear error.
    let (st, list) = s.get_auth("/v1/users", &alice).await;
    assert_eq!((st, list), (200, json!([])));
    let (st, body) = s
        .send(
            "POST",
            "/v1/users",
            Some(&alice),
            Some(
                json!({"email": "x@example.test", "password": "X-Passw0rd!", "role": "db_viewer"}),
            ),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("unsupported_operation")),
        "{body}"
    );
    let (st, body) = s
        .send(
            "PUT",
            "/v1/users/password",
            None,
            Some(json!({"username": "alice", "old_password": "alicepw", "new_password": "N3w-pass!"})),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("unsupported_operation"))
    );

    // Lockout is kept in the working directory's SQLite file.
    for _ in 0..2 {
        let (st, _) = s.authorize("bob", "nope").await;
        assert_eq!(st, 401);
    }
    let (st, _) = s.authorize("bob", "bobpw").await;
    assert_eq!(st, 401, "bob is locked after two failures");
    let _ = std::fs::remove_file(path);
}
