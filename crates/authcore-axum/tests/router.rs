//! The router and extractors, driven in-process with `tower::ServiceExt::oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use authcore_axum::{Admin, Authenticated, RequireRole, UsersApi};
use authcore_core::{AuthPolicy, Authenticator, CreateUser, Role};
use authcore_memory::MemoryStore;
use authcore_testkit::{ManualClock, fixtures};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use tower::ServiceExt as _;

async fn setup() -> (Authenticator, Router) {
    let store = Arc::new(MemoryStore::new());
    let auth = fixtures::authenticator(
        store.clone(),
        store,
        &ManualClock::starting_now(),
        AuthPolicy::default(),
    )
    .unwrap();
    for (email, role) in [
        ("admin@x.test", Role::ADMIN),
        ("viewer@x.test", Role::DB_VIEWER),
    ] {
        auth.create_user_unchecked(CreateUser {
            email: email.into(),
            password: fixtures::password("pw-123456"),
            name: None,
            role,
        })
        .await
        .unwrap();
    }
    async fn me(Authenticated(c): Authenticated) -> String {
        c.username
    }
    async fn admin_only(RequireRole(c, ..): RequireRole<Admin>) -> String {
        c.role.to_string()
    }
    let app = Router::new()
        .route("/app/me", get(me))
        .route("/app/admin", get(admin_only))
        .with_state(auth.clone())
        .merge(UsersApi::new(auth.clone()).body_limit(1024).into_router());
    (auth, app)
}

async fn send(
    app: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> (StatusCode, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    if path.starts_with("/v1") || status != StatusCode::OK {
        assert_eq!(ct.as_deref(), Some("application/json"), "{method} {path}");
    }
    (status, bytes)
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body).unwrap()["error_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

const JSON: (&str, &str) = ("content-type", "application/json");

async fn token(app: &Router, user: &str) -> String {
    let body = json!({"username": user, "password": "pw-123456"}).to_string();
    let (s, b) = send(app, "POST", "/v1/users/authorize", &[JSON], body).await;
    assert_eq!(s, StatusCode::OK);
    serde_json::from_slice::<Value>(&b).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn framework_rejections_are_json() {
    let (_, app) = setup().await;
    let (s, b) = send(&app, "GET", "/nope", &[], "").await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let (s, b) = send(&app, "GET", "/v1/users/authorize", &[], "").await;
    assert_eq!(
        (s, code(&b).as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let (s, b) = send(&app, "PATCH", "/v1/users/password", &[], "").await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{}", code(&b));
    let big = vec![b' '; 2048];
    let (s, b) = send(&app, "POST", "/v1/users/authorize", &[JSON], big).await;
    assert_eq!(
        (s, code(&b).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    for (ct, body) in [
        ("application/json", "{"),
        ("text/plain", r#"{"username":"a","password":"b"}"#),
        ("application/json", r#"{"username":"a"}"#),
        (
            "application/json",
            r#"{"username":"a","password":"b","ttl":0}"#,
        ),
        (
            "application/json",
            r#"{"username":"a","password":"b","ttl":"x"}"#,
        ),
    ] {
        let (s, b) = send(
            &app,
            "POST",
            "/v1/users/authorize",
            &[("content-type", ct)],
            body,
        )
        .await;
        assert_eq!(
            (s, code(&b).as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{body}"
        );
    }
    let (s, b) = send(&app, "GET", "/v1/users/%FF", &[], "").await;
    assert_eq!(
        (s, code(&b).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

/// A request body whose transport fails after the headers (a reset connection).
struct BrokenBody;

impl hyper::body::Body for BrokenBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        ))))
    }
}

/// Every answer on a users-API path carries `Cache-Control: no-store` and `Pragma: no-cache`
/// (the route's `no_store`), also those the adapter builds itself or the routing refuses: a
/// body over the limit, a body it could not read, a wrong content type, another method, a
/// `{uid}` that is not UTF-8. The documents' answers are not marked.
#[tokio::test]
async fn refusals_on_users_api_paths_are_not_cached() {
    let (_, app) = setup().await;
    let call = |method: &'static str, path: &'static str, ct: &'static str, body: Body| {
        let app = app.clone();
        async move {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", ct)
                .body(body)
                .unwrap();
            let res = app.oneshot(req).await.unwrap();
            let header = |name| {
                res.headers()
                    .get(name)
                    .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned())
            };
            (res.status(), header("cache-control"), header("pragma"))
        }
    };
    let json = "application/json";
    let cases = [
        (
            "body over the limit",
            call(
                "POST",
                "/v1/users/authorize",
                json,
                Body::from(vec![b' '; 2048]),
            )
            .await,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "unreadable body",
            call("POST", "/v1/users/authorize", json, Body::new(BrokenBody)).await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "unreadable body, route with a permission",
            call("POST", "/v1/users", json, Body::new(BrokenBody)).await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "content type",
            call(
                "POST",
                "/v1/users/authorize",
                "text/plain",
                Body::from("{}"),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "method not allowed",
            call("PATCH", "/v1/users/password", json, Body::empty()).await,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "uid not UTF-8",
            call("GET", "/v1/users/%FF", json, Body::empty()).await,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, got, status) in cases {
        let want = (
            status,
            Some("no-store".to_owned()),
            Some("no-cache".to_owned()),
        );
        assert_eq!(got, want, "{what}");
    }
    let doc = call("POST", "/v1/openapi.json", json, Body::empty()).await;
    assert_eq!(doc, (StatusCode::METHOD_NOT_ALLOWED, None, None));
}

#[tokio::test]
async fn tokens_extractors_and_role_guard() {
    let (_, app) = setup().await;
    let admin = token(&app, "admin@x.test").await;
    let viewer = token(&app, "viewer@x.test").await;

    let (s, b) = send(
        &app,
        "GET",
        "/app/me",
        &[("authorization", &format!("JWT {viewer}"))],
        "",
    )
    .await;
    assert_eq!((s, b.as_slice()), (StatusCode::OK, &b"viewer@x.test"[..]));
    let (s, _) = send(
        &app,
        "GET",
        "/app/me",
        &[("authorization", &format!("Bearer {viewer}"))],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = send(&app, "GET", "/app/me", &[], "").await;
    assert_eq!(
        (s, code(&b).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (s, b) = send(&app, "GET", "/app/me", &[("authorization", "JWT nope")], "").await;
    assert_eq!(
        (s, code(&b).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (s, b) = send(
        &app,
        "GET",
        "/app/admin",
        &[("authorization", &format!("JWT {viewer}"))],
        "",
    )
    .await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, _) = send(
        &app,
        "GET",
        "/app/admin",
        &[("authorization", &format!("JWT {admin}"))],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let (s, b) = send(
        &app,
        "POST",
        "/v1/users/refresh_jwt",
        &[("authorization", &format!("jwt {viewer}")), JSON],
        r#"{"ttl": 60}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));

    let (s, b) = send(
        &app,
        "GET",
        "/v1/users",
        &[("authorization", &format!("JWT {viewer}"))],
        "",
    )
    .await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, b) = send(
        &app,
        "GET",
        "/v1/users",
        &[("authorization", &format!("JWT {admin}"))],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let users: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(!String::from_utf8_lossy(&b).contains("argon2"));
}

#[tokio::test]
async fn openapi_lists_every_route_of_the_router() {
    let (auth, app) = setup().await;
    let (s, b) = send(&app, "GET", "/v1/openapi.json", &[], "").await;
    assert_eq!(s, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&b).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let routes = authcore_core::http::routes(&auth);
    assert_eq!(paths.len(), routes.len());
    for route in routes {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let documented = paths[route.path].get(method.to_lowercase()).is_some();
            // Probe the real router: a documented method is served, any other is 405.
            let path = route.path.replace("{uid}", "1");
            let (s, _) = send(&app, method, &path, &[], "").await;
            assert_eq!(
                documented,
                s != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {s}"
            );
            assert_eq!(documented, route.methods.contains(&method));
        }
    }
}

/// `RequirePermission` on an application's own routes: the policy's answer for the caller's
/// current role in the store (not the token's), for a built-in and a custom permission.
#[tokio::test]
async fn permission_guard_uses_the_current_role() {
    use authcore_axum::{PermissionMarker, RequirePermission, permissions::ViewClusterInfo};
    use authcore_core::{CustomPermission, Permission, PermissionPolicy, UserAdmin, UserUpdate};

    struct ViewReports;
    impl PermissionMarker for ViewReports {
        const PERMISSION: Permission = Permission::Custom(CustomPermission::new("view_reports"));
    }
    async fn cluster(RequirePermission(who, ..): RequirePermission<ViewClusterInfo>) -> String {
        who.user().email.clone()
    }
    async fn reports(RequirePermission(who, ..): RequirePermission<ViewReports>) -> String {
        who.user().role.to_string()
    }

    let store = Arc::new(MemoryStore::new());
    let auth = fixtures::authenticator_with(
        store.clone(),
        store.clone(),
        &ManualClock::starting_now(),
        AuthPolicy::default(),
        PermissionPolicy::redis().grant(Role::new("auditor"), [ViewReports::PERMISSION]),
    )
    .unwrap();
    // Another active admin, so that Eve's demotions keep one (the store's admin invariant).
    auth.create_user_unchecked(CreateUser {
        email: "root@x.test".into(),
        password: fixtures::password("pw-123456"),
        name: None,
        role: Role::ADMIN,
    })
    .await
    .unwrap();
    let view = auth
        .create_user_unchecked(CreateUser {
            email: "eve@x.test".into(),
            password: fixtures::password("pw-123456"),
            name: None,
            role: Role::NONE,
        })
        .await
        .unwrap();
    let uid = authcore_core::UserId::new(serde_json::to_value(&view.uid).unwrap().to_string());
    let app = Router::new()
        .route("/app/cluster", get(cluster))
        .route("/app/reports", get(reports))
        .with_state(auth.clone())
        .merge(UsersApi::new(auth.clone()).into_router());
    let eve = format!("JWT {}", token(&app, "eve@x.test").await);
    let headers = [("authorization", eve.as_str())];
    for (role, cluster_status, reports_status) in [
        (Role::NONE, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        (Role::DB_VIEWER, StatusCode::OK, StatusCode::FORBIDDEN),
        (Role::new("auditor"), StatusCode::FORBIDDEN, StatusCode::OK),
        (Role::ADMIN, StatusCode::OK, StatusCode::FORBIDDEN),
        (Role::NONE, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
    ] {
        // Written to the store directly (as another process would): the token is unchanged.
        store
            .update_user(
                &uid,
                UserUpdate {
                    role: Some(role.clone()),
                    ..UserUpdate::default()
                },
            )
            .await
            .unwrap();
        let (s, b) = send(&app, "GET", "/app/cluster", &headers, "").await;
        assert_eq!(s, cluster_status, "{role}");
        if s == StatusCode::FORBIDDEN {
            assert_eq!(code(&b), "forbidden");
        } else {
            assert_eq!(b, b"eve@x.test");
        }
        let (s, b) = send(&app, "GET", "/app/reports", &headers, "").await;
        assert_eq!(s, reports_status, "{role}");
        if s == StatusCode::OK {
            assert_eq!(String::from_utf8(b).unwrap(), role.as_str());
        }
    }
    let (s, b) = send(&app, "GET", "/app/cluster", &[], "").await;
    assert_eq!(
        (s, code(&b).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
}
