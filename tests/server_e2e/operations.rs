//! Running the server: a failing store, restarts, the OpenAPI document and the JWKS.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::request::Requests;
use crate::server_harness::Backend;
use crate::{ADMIN, ADMIN_PW, base_args, start};

pub(crate) async fn store_failure_is_503_and_restart_keeps_users(backend: Backend) {
    let s = start(&backend, &[]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    s.post("/v1/users")
        .auth(&admin)
        .json(
            json!({"email": "hal@example.test", "password": "Hal-Passw0rd!", "role": "db_viewer"}),
        )
        .status(200)
        .await;
    // Users survive a graceful restart (SIGTERM exits 0).
    let s = s.restart(&base_args()).await;
    s.token("hal@example.test", "Hal-Passw0rd!").await;
    // A broken store is a 503 with Retry-After, never a 401.
    s.sql("ALTER TABLE authcore_users RENAME TO authcore_users_gone")
        .await;
    let res = s
        .post("/v1/users/authorize")
        .json(json!({"username": "hal@example.test", "password": "Hal-Passw0rd!"}))
        .response()
        .await;
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

pub(crate) async fn openapi_and_jwks(backend: Backend) {
    // HS256 only: no JWKS route, and the document does not list it.
    let s = start(&backend, &[]).await;
    let doc = s.get("/v1/openapi.json").status(200).await;
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.contains_key("/.well-known/jwks.json"));
    s.get("/.well-known/jwks.json").status(404).await;
    for (path, item) in paths {
        for method in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "parameters")
        {
            let path = path.replace("{uid}", "1");
            let res = s.call(&method.to_uppercase(), &path).response().await;
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
    let jwks = s.get("/.well-known/jwks.json").status(200).await;
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
    s.get("/v1/users")
        .auth(&format!("Bearer {token}"))
        .status(200)
        .await;
    let (_, doc) = s.get("/v1/openapi.json").send().await;
    assert!(
        doc["paths"]
            .as_object()
            .unwrap()
            .contains_key("/.well-known/jwks.json")
    );
}
