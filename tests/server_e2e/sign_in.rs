//! Sign-in (JSON and Basic), the tokens it mints, and refresh.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::request::{Requests, lifetime, user_path};
use crate::server_harness::{Backend, Server};
use crate::{ADMIN, ADMIN_PW, SECRET, base_args, decode_hs256, start};

pub(crate) async fn authorize_and_tokens(backend: Backend) {
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
    assert_eq!(lifetime(&claims), 300);

    // JSON credentials with a ttl; the username is case-insensitive.
    let (st, body) = s
        .post_json(
            "/v1/users/authorize",
            json!({"username": ADMIN.to_uppercase(), "password": ADMIN_PW, "ttl": 60}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let claims = decode_hs256(body["access_token"].as_str().unwrap());
    assert_eq!(lifetime(&claims), 60);

    // HTTP Basic, with and without a ttl body.
    let res = s
        .post("/v1/users/authorize")
        .basic(ADMIN, ADMIN_PW)
        .response()
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    decode_hs256(body["access_token"].as_str().unwrap());
    let res = s
        .post("/v1/users/authorize")
        .basic(ADMIN, ADMIN_PW)
        .json(json!({"ttl": 86400}))
        .response()
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let claims = decode_hs256(body["access_token"].as_str().unwrap());
    assert_eq!(lifetime(&claims), 86400);

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
        .post("/v1/users/authorize")
        .basic("ghost@example.test", "x")
        .response()
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer realm="authcore""#
    );
    assert_eq!(res.bytes().await.unwrap(), wrong);

    // The server verifies its own token on a protected route (JWT and Bearer).
    for scheme in ["JWT", "Bearer", "jwt", "bearer"] {
        let (st, body) = s
            .get("/v1/users")
            .auth(&format!("{scheme} {token}"))
            .send()
            .await;
        assert_eq!(st, 200, "{scheme}: {body}");
    }
    // A token signed with another secret is refused.
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    s.get("/v1/users")
        .auth(&format!("JWT {forged}"))
        .expect(401, "unauthorized")
        .await;

    let log = s.log();
    assert!(log.contains("http_request"), "the server logs requests");
    assert!(log.contains("DEBUG"), "debug events are on");
    for secret in [ADMIN_PW, SECRET, token.as_str(), "argon2id", "nope"] {
        assert!(!log.contains(secret), "the log contains a secret");
    }
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN}:{ADMIN_PW}"));
    assert!(!log.contains(&basic), "the log contains Basic credentials");
}

pub(crate) async fn refresh(backend: Backend) {
    let s = start(&backend, &[]).await;
    let token = s.token(ADMIN, ADMIN_PW).await;
    for scheme in ["JWT", "Bearer", "jwt", "BEARER"] {
        let (st, body) = s
            .post("/v1/users/refresh_jwt")
            .auth(&format!("{scheme} {token}"))
            .send()
            .await;
        assert_eq!(st, 200, "{scheme}: {body}");
        let claims = decode_hs256(body["access_token"].as_str().unwrap());
        assert_eq!(lifetime(&claims), 300);
    }
    let body = s
        .post("/v1/users/refresh_jwt")
        .auth(&format!("JWT {token}"))
        .json(json!({"ttl": 42}))
        .status(200)
        .await;
    let fresh = body["access_token"].as_str().unwrap().to_owned();
    let claims = decode_hs256(&fresh);
    assert_eq!(lifetime(&claims), 42);
    s.post("/v1/users/refresh_jwt")
        .auth(&format!("JWT {token}"))
        .json(json!({"ttl": 0}))
        .expect(400, "invalid_request")
        .await;
    // Basic credentials are no token.
    let res = s
        .post("/v1/users/refresh_jwt")
        .basic(ADMIN, ADMIN_PW)
        .response()
        .await;
    assert_eq!(res.status(), 401);

    // A user who is gone or disabled cannot refresh.
    let admin = format!("JWT {token}");
    let user = s
        .post("/v1/users")
        .auth(&admin)
        .json(
            json!({"email": "bob@example.test", "password": "Bob-Passw0rd!", "role": "db_viewer"}),
        )
        .status(200)
        .await;
    let bob = s.token("bob@example.test", "Bob-Passw0rd!").await;
    let uid = user["uid"].as_u64().unwrap();
    s.put(&user_path(uid))
        .auth(&admin)
        .json(json!({"status": "disabled"}))
        .status(200)
        .await;
    s.post("/v1/users/refresh_jwt")
        .auth(&format!("JWT {bob}"))
        .expect(401, "unauthorized")
        .await;
    s.delete(&user_path(uid)).auth(&admin).status(200).await;
    s.post("/v1/users/refresh_jwt")
        .auth(&format!("JWT {bob}"))
        .status(401)
        .await;
}
