//! The axum router and the plain-hyper adapter (`examples/hyper_adapter.rs`) answer the same
//! requests with the same statuses and byte-for-byte the same bodies: both are built on
//! `authcore::http`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/hyper_adapter.rs"]
mod hyper_adapter;

use std::net::SocketAddr;
use std::sync::Arc;

use authcore::{AuthPolicy, CreateUser, Role};
use authcore_axum::{Authenticated, Reply};
use authcore_memory::MemoryStore;
use authcore_testkit::{ManualClock, fixtures};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};

async fn spawn_both() -> (SocketAddr, SocketAddr) {
    let store = Arc::new(MemoryStore::new());
    // One authenticator and one frozen clock: both adapters mint identical claims (but jti).
    let auth = fixtures::authenticator(
        store.clone(),
        store,
        &ManualClock::starting_now(),
        AuthPolicy::default(),
    )
    .unwrap();
    auth.create_user_unchecked(CreateUser {
        email: "ann@example.test".into(),
        password: fixtures::password("Ann-Passw0rd!"),
        name: None,
        role: Role::DB_VIEWER,
    })
    .await
    .unwrap();

    async fn whoami(Authenticated(claims): Authenticated) -> Reply {
        Reply(authcore::http::ApiResponse::json(200, &claims))
    }
    let app = axum::Router::new()
        .route(hyper_adapter::WHOAMI_PATH, get(whoami))
        .method_not_allowed_fallback(authcore_axum::method_not_allowed)
        .with_state(auth.clone())
        .merge(authcore_axum::router(auth.clone()));
    let axum_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let axum_addr = axum_listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(axum_listener, app).await });

    let hyper_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hyper_addr = hyper_listener.local_addr().unwrap();
    tokio::spawn(hyper_adapter::serve(hyper_listener, auth));
    (axum_addr, hyper_addr)
}

#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn req(
    method: &'static str,
    path: &'static str,
    headers: &[(&'static str, &str)],
    body: &[u8],
) -> Req {
    Req {
        method,
        path,
        headers: headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        body: body.to_vec(),
    }
}

async fn send(
    client: &reqwest::Client,
    addr: SocketAddr,
    r: &Req,
) -> (u16, Option<String>, Vec<u8>) {
    let mut b = client.request(
        r.method.parse().unwrap(),
        format!("http://{addr}{}", r.path),
    );
    for (k, v) in &r.headers {
        b = b.header(*k, v);
    }
    let res = b.body(r.body.clone()).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, ct, res.bytes().await.unwrap().to_vec())
}

/// Token answers differ in `jti` only: compare them without the token, and check the token.
fn normalize(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) if map.contains_key("access_token") => {
            let token = map["access_token"].as_str().unwrap().to_owned();
            let payload = token.split('.').nth(1).unwrap();
            let claims: Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload)
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(claims["username"], "ann@example.test");
            map.insert("access_token".into(), json!("<token>"));
            serde_json::to_vec(&map).unwrap()
        }
        _ => body.to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn axum_and_hyper_answer_the_same() {
    let (axum_addr, hyper_addr) = spawn_both().await;
    let client = reqwest::Client::new();

    // A token both adapters verify.
    let login = req(
        "POST",
        "/v1/users/authorize",
        &[("content-type", "application/json")],
        br#"{"username":"ann@example.test","password":"Ann-Passw0rd!"}"#,
    );
    let (_, _, body) = send(&client, axum_addr, &login).await;
    let token = serde_json::from_slice::<Value>(&body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwt = format!("JWT {token}");
    let bearer = format!("Bearer {token}");
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ann@example.test:Ann-Passw0rd!")
    );
    let json_ct = ("content-type", "application/json");
    let too_big = vec![b' '; authcore::http::DEFAULT_BODY_LIMIT + 1];

    let cases = vec![
        login.clone(),
        req(
            "POST",
            "/v1/users/authorize",
            &[json_ct],
            br#"{"username":"ann@example.test","password":"Ann-Passw0rd!","ttl":60}"#,
        ),
        req(
            "POST",
            "/v1/users/authorize",
            &[("authorization", &basic)],
            b"",
        ),
        req(
            "POST",
            "/v1/users/authorize",
            &[("authorization", &basic), json_ct],
            br#"{"ttl":120}"#,
        ),
        req(
            "POST",
            "/v1/users/authorize",
            &[json_ct],
            br#"{"username":"ann@example.test","password":"wrong"}"#,
        ),
        req(
            "POST",
            "/v1/users/authorize",
            &[json_ct],
            br#"{"username":"ghost@example.test","password":"wrong"}"#,
        ),
        req("POST", "/v1/users/authorize", &[json_ct], b"{not json"),
        req(
            "POST",
            "/v1/users/authorize",
            &[("content-type", "text/plain")],
            br#"{"username":"a","password":"b"}"#,
        ),
        req(
            "POST",
            "/v1/users/authorize",
            &[json_ct],
            br#"{"username":"a"}"#,
        ),
        req(
            "POST",
            "/v1/users/authorize",
            &[json_ct],
            br#"{"username":"a","password":"b","ttl":0}"#,
        ),
        req(
            "POST",
            "/v1/users/authorize",
            &[json_ct],
            br#"{"username":"a","password":"b","ttl":86401}"#,
        ),
        req(
            "POST",
            "/v1/users/authorize",
            &[("authorization", "Basic %%%")],
            b"",
        ),
        req("POST", "/v1/users/authorize", &[json_ct], &too_big),
        req("GET", "/v1/users/authorize", &[], b""),
        req(
            "POST",
            "/v1/users/refresh_jwt",
            &[("authorization", &jwt)],
            b"",
        ),
        req(
            "POST",
            "/v1/users/refresh_jwt",
            &[("authorization", &bearer), json_ct],
            br#"{"ttl":30}"#,
        ),
        req(
            "POST",
            "/v1/users/refresh_jwt",
            &[("authorization", &jwt), json_ct],
            br#"{"ttl":-1}"#,
        ),
        req("POST", "/v1/users/refresh_jwt", &[], b""),
        req(
            "POST",
            "/v1/users/refresh_jwt",
            &[("authorization", "JWT not.a.jwt")],
            b"",
        ),
        req(
            "POST",
            "/v1/users/refresh_jwt",
            &[("authorization", &basic)],
            b"",
        ),
        req(
            "POST",
            "/v1/users/refresh_jwt",
            &[("authorization", "Digest abc")],
            b"",
        ),
        req("PUT", "/v1/users/refresh_jwt", &[], b""),
        req(
            "GET",
            hyper_adapter::WHOAMI_PATH,
            &[("authorization", &jwt)],
            b"",
        ),
        req(
            "GET",
            hyper_adapter::WHOAMI_PATH,
            &[("authorization", &bearer)],
            b"",
        ),
        req("GET", hyper_adapter::WHOAMI_PATH, &[], b""),
        req(
            "GET",
            hyper_adapter::WHOAMI_PATH,
            &[("authorization", "Bearer")],
            b"",
        ),
        req(
            "GET",
            hyper_adapter::WHOAMI_PATH,
            &[("authorization", "Bearer x.y.z")],
            b"",
        ),
        req(
            "GET",
            hyper_adapter::WHOAMI_PATH,
            &[("authorization", &basic)],
            b"",
        ),
        req("DELETE", hyper_adapter::WHOAMI_PATH, &[], b""),
        req("GET", "/no/such/route", &[], b""),
    ];
    for case in &cases {
        let a = send(&client, axum_addr, case).await;
        let h = send(&client, hyper_addr, case).await;
        assert_eq!(a.0, h.0, "status of {case:?}");
        assert_eq!(a.1, h.1, "content type of {case:?}");
        assert_eq!(a.1.as_deref(), Some("application/json"), "{case:?}");
        assert_eq!(
            String::from_utf8_lossy(&normalize(&a.2)),
            String::from_utf8_lossy(&normalize(&h.2)),
            "body of {case:?}"
        );
        if a.0 != 200 {
            // Errors are compared as they are, byte for byte.
            assert_eq!(a.2, h.2, "{case:?}");
            let v: Value = serde_json::from_slice(&a.2).unwrap();
            assert!(
                v["error_code"].is_string() && v["message"].is_string(),
                "{case:?}"
            );
        }
    }
}
