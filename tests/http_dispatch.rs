//! The core's dispatch, without any adapter: routing decisions (404, 405 with `Allow`, literal
//! segments before `{uid}`, percent-decoded uids, `HEAD`) are made once, here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use authcore::http::{RequestParts, dispatch, find_route};
use authcore::{AuthPolicy, Authenticator, CreateUser, Role};
use authcore_memory::MemoryStore;
use authcore_testkit::{ManualClock, fixtures};
use serde_json::Value;

async fn auth_with_ann() -> (Authenticator, String) {
    let store = Arc::new(MemoryStore::new());
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
        role: Role::ADMIN,
    })
    .await
    .unwrap();
    let token = auth
        .authorize(
            "ann@example.test",
            &fixtures::password("Ann-Passw0rd!"),
            authcore::Ttl::DEFAULT,
        )
        .await
        .unwrap()
        .token;
    (auth, format!("JWT {token}"))
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body).unwrap()["error_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    let (auth, _) = auth_with_ann().await;
    for path in [
        "/nope",
        "/v1/users/",
        "/v1/users/1/x",
        "//v1/users",
        "/.well-known/jwks.json",
    ] {
        let res = dispatch(&auth, "GET", path, RequestParts::default()).await;
        assert_eq!(
            (res.status, code(&res.body)),
            (404, "not_found".into()),
            "{path}"
        );
    }
    for (method, path, allow) in [
        ("GET", "/v1/users/authorize", "POST"),
        ("GET", "/v1/users/refresh_jwt", "POST"),
        ("PATCH", "/v1/users/password", "PUT, POST, DELETE"),
        ("DELETE", "/v1/users", "GET, POST"),
        ("POST", "/v1/users/1", "GET, PUT, DELETE"),
        ("POST", "/v1/openapi.json", "GET"),
    ] {
        let res = dispatch(&auth, method, path, RequestParts::default()).await;
        assert_eq!(res.status, 405, "{method} {path}");
        assert_eq!(res.header("allow"), Some(allow), "{method} {path}");
        assert_eq!(code(&res.body), "method_not_allowed");
    }
}

#[tokio::test]
async fn uids_are_percent_decoded_and_utf8() {
    let (auth, admin) = auth_with_ann().await;
    let parts = RequestParts {
        authorization: Some(admin.as_bytes()),
        ..RequestParts::default()
    };
    let res = dispatch(&auth, "GET", "/v1/users/%31", parts).await;
    assert_eq!(res.status, 200, "%31 is uid 1");
    let res = dispatch(&auth, "GET", "/v1/users/%ff", parts).await;
    assert_eq!(
        (res.status, code(&res.body)),
        (400, "invalid_request".into())
    );
    let res = dispatch(&auth, "GET", "/v1/users/a%2Fb", parts).await;
    assert_eq!((res.status, code(&res.body)), (404, "not_found".into()));
}

#[tokio::test]
async fn head_is_get_and_bodies_are_read_only_where_used() {
    let (auth, admin) = auth_with_ann().await;
    let parts = RequestParts {
        authorization: Some(admin.as_bytes()),
        ..RequestParts::default()
    };
    let res = dispatch(&auth, "HEAD", "/v1/users", parts).await;
    assert_eq!(res.status, 200);
    let matched = find_route(&auth, "GET", "/v1/users/7").unwrap();
    assert_eq!(matched.template(), "/v1/users/{uid}");
    assert!(!matched.reads_body());
    assert!(
        find_route(&auth, "PUT", "/v1/users/7")
            .unwrap()
            .reads_body()
    );
    assert!(
        find_route(&auth, "POST", "/v1/users/authorize")
            .unwrap()
            .reads_body()
    );
}

/// One decision, on the caller's current role: a user promoted to admin after its token was
/// minted may create users at once (it used to get 403 from a check of the token's role), and
/// a demoted admin may not.
#[tokio::test]
async fn create_uses_the_current_role_not_the_token() {
    let (auth, admin) = auth_with_ann().await;
    let admin_parts = |body: &'static [u8]| RequestParts {
        authorization: Some(admin.as_bytes()),
        content_type: Some(b"application/json"),
        body,
        query: None,
    };
    let res = dispatch(
        &auth,
        "POST",
        "/v1/users",
        admin_parts(
            br#"{"email":"bob@example.test","password":"Bob-Passw0rd!","role":"db_viewer"}"#,
        ),
    )
    .await;
    assert_eq!(res.status, 200);
    let bob_uid = serde_json::from_slice::<Value>(&res.body).unwrap()["uid"].clone();
    let bob = auth
        .authorize(
            "bob@example.test",
            &fixtures::password("Bob-Passw0rd!"),
            authcore::Ttl::DEFAULT,
        )
        .await
        .unwrap()
        .token;
    assert_eq!(auth.verify_token(&bob).unwrap().role, Role::DB_VIEWER);
    let bob = format!("JWT {bob}");
    let bob_parts = |body: &'static [u8]| RequestParts {
        authorization: Some(bob.as_bytes()),
        content_type: Some(b"application/json"),
        body,
        query: None,
    };
    let carol =
        br#"{"email":"carol@example.test","password":"Carol-Passw0rd!","role":"db_viewer"}"#;
    let res = dispatch(&auth, "POST", "/v1/users", bob_parts(carol)).await;
    assert_eq!((res.status, code(&res.body)), (403, "forbidden".into()));

    let path = format!("/v1/users/{bob_uid}");
    let res = dispatch(&auth, "PUT", &path, admin_parts(br#"{"role":"admin"}"#)).await;
    assert_eq!(res.status, 200);
    // A role change ends Bob's sessions (issue #9): the token that says db_viewer is refused
    // outright, and a new sign-in carries the role the store now holds.
    let res = dispatch(&auth, "POST", "/v1/users", bob_parts(carol)).await;
    assert_eq!((res.status, code(&res.body)), (401, "unauthorized".into()));
    let sign_in = || async {
        let token = auth
            .authorize(
                "bob@example.test",
                &fixtures::password("Bob-Passw0rd!"),
                authcore::Ttl::DEFAULT,
            )
            .await
            .unwrap()
            .token;
        format!("JWT {token}")
    };
    let bob_admin = sign_in().await;
    let parts_as = |auth_header: &'static str, body: &'static [u8]| RequestParts {
        authorization: Some(auth_header.as_bytes()),
        content_type: Some(b"application/json"),
        body,
        query: None,
    };
    let bob_admin: &'static str = Box::leak(bob_admin.into_boxed_str());
    let res = dispatch(&auth, "POST", "/v1/users", parts_as(bob_admin, carol)).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));

    let res = dispatch(&auth, "PUT", &path, admin_parts(br#"{"role":"db_viewer"}"#)).await;
    assert_eq!(res.status, 200);
    let dave = br#"{"email":"dave@example.test","password":"Dave-Passw0rd!","role":"db_viewer"}"#;
    // The admin token minted before the demotion is refused; a new one has no admin rights.
    let res = dispatch(&auth, "POST", "/v1/users", parts_as(bob_admin, dave)).await;
    assert_eq!((res.status, code(&res.body)), (401, "unauthorized".into()));
    let bob_viewer: &'static str = Box::leak(sign_in().await.into_boxed_str());
    let res = dispatch(&auth, "POST", "/v1/users", parts_as(bob_viewer, dave)).await;
    assert_eq!((res.status, code(&res.body)), (403, "forbidden".into()));
}

/// Issue #8 item 6: every users-API answer (tokens, user records, and refusals alike) forbids
/// caching; the OpenAPI document stays cacheable.
#[tokio::test]
async fn token_and_user_answers_are_never_cached() {
    let (auth, admin) = auth_with_ann().await;
    let json = |authorization: Option<&'static [u8]>, body: &'static [u8]| RequestParts {
        authorization,
        content_type: Some(b"application/json"),
        body,
        query: None,
    };
    let admin: &'static str = Box::leak(admin.into_boxed_str());
    let cases: Vec<(&str, &str, RequestParts<'_>, u16)> = vec![
        (
            "POST",
            "/v1/users/authorize",
            json(
                None,
                br#"{"username":"ann@example.test","password":"Ann-Passw0rd!"}"#,
            ),
            200,
        ),
        (
            "POST",
            "/v1/users/authorize",
            json(
                None,
                br#"{"username":"ann@example.test","password":"wrong"}"#,
            ),
            401,
        ),
        (
            "POST",
            "/v1/users/refresh_jwt",
            json(Some(admin.as_bytes()), b"{}"),
            200,
        ),
        ("GET", "/v1/users", json(Some(admin.as_bytes()), b""), 200),
        ("GET", "/v1/users/1", json(Some(admin.as_bytes()), b""), 200),
        ("GET", "/v1/users/1", json(None, b""), 401),
    ];
    for (method, path, parts, status) in cases {
        let res = dispatch(&auth, method, path, parts).await;
        assert_eq!(res.status, status, "{method} {path}");
        assert_eq!(
            res.header("cache-control"),
            Some("no-store"),
            "{method} {path}"
        );
        assert_eq!(res.header("pragma"), Some("no-cache"), "{method} {path}");
    }
    let doc = dispatch(&auth, "GET", "/v1/openapi.json", RequestParts::default()).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("cache-control"), None);
}

/// `/livez`, `/readyz` and `/metrics` are routes of the core's table, answered from the
/// embedding server's hooks; without hooks they do not exist.
#[tokio::test]
async fn operations_routes_come_from_the_hooks() {
    use authcore::http::{CheckResult, Operations, ReadinessCheck};
    use std::sync::atomic::{AtomicBool, Ordering};

    #[derive(Debug, Default)]
    struct Hooks {
        down: AtomicBool,
        metrics_here: bool,
    }
    #[authcore::async_trait]
    impl Operations for Hooks {
        async fn readiness(&self, _: &Authenticator) -> Vec<ReadinessCheck> {
            let store = if self.down.load(Ordering::SeqCst) {
                CheckResult::Timeout
            } else {
                CheckResult::Ok
            };
            vec![
                ReadinessCheck {
                    name: "user_store",
                    result: store,
                },
                ReadinessCheck {
                    name: "directory",
                    result: CheckResult::Ok,
                },
            ]
        }
        fn serves_metrics(&self) -> bool {
            self.metrics_here
        }
        fn render_metrics(&self, _: &Authenticator) -> String {
            "up 1\n".to_owned()
        }
    }

    let (plain, _) = auth_with_ann().await;
    for path in ["/livez", "/readyz", "/metrics"] {
        let res = dispatch(&plain, "GET", path, RequestParts::default()).await;
        assert_eq!(res.status, 404, "{path}");
    }

    for metrics_here in [true, false] {
        let store = Arc::new(MemoryStore::new());
        let hooks = Arc::new(Hooks {
            metrics_here,
            ..Hooks::default()
        });
        let auth = Authenticator::builder()
            .store(store.clone())
            .lockout_store(store)
            .hashing(fixtures::fast_hashing())
            .keys(fixtures::test_keys().unwrap())
            .operations(hooks.clone())
            .build()
            .unwrap();
        let res = dispatch(&auth, "GET", "/livez", RequestParts::default()).await;
        assert_eq!(
            (res.status, res.body.as_slice()),
            (200, &br#"{"status":"ok"}"#[..])
        );
        let res = dispatch(&auth, "GET", "/readyz", RequestParts::default()).await;
        let body: Value = serde_json::from_slice(&res.body).unwrap();
        assert_eq!(res.status, 200);
        assert_eq!(body["status"], "ready");
        assert_eq!(body["checks"]["user_store"], "ok");
        hooks.down.store(true, Ordering::SeqCst);
        let res = dispatch(&auth, "GET", "/readyz", RequestParts::default()).await;
        let body: Value = serde_json::from_slice(&res.body).unwrap();
        assert_eq!(res.status, 503);
        assert_eq!(body["status"], "not_ready");
        assert_eq!(body["failing"], serde_json::json!(["user_store"]));
        assert_eq!(body["checks"]["user_store"], "timeout");
        assert_eq!(body["checks"]["directory"], "ok");
        let res = dispatch(&auth, "GET", "/metrics", RequestParts::default()).await;
        if metrics_here {
            assert_eq!(res.status, 200);
            assert_eq!(res.body, b"up 1\n");
            assert_eq!(
                res.header("content-type"),
                Some("text/plain; version=0.0.4; charset=utf-8")
            );
        } else {
            assert_eq!(res.status, 404);
        }
        let res = dispatch(&auth, "POST", "/readyz", RequestParts::default()).await;
        assert_eq!((res.status, res.header("allow")), (405, Some("GET")));
    }
}
