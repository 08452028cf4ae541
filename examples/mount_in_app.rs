//! Mounting authcore's users API into an existing axum application that has its own state,
//! its own routes and a route protected by authcore's extractors.
//!
//! ```text
//! AUTHCORE_ADMIN_EMAIL=admin@example.org AUTHCORE_ADMIN_PASSWORD='Adm1n-Secret!' \
//!     cargo run --example mount_in_app         # listens on 127.0.0.1:8082, users in memory
//! TOKEN=$(curl -s -u 'admin@example.org:Adm1n-Secret!' -X POST localhost:8082/v1/users/authorize | jq -r .access_token)
//! curl -H "Authorization: Bearer $TOKEN" localhost:8082/api/reports
//! curl -H "Authorization: Bearer $TOKEN" -X POST localhost:8082/api/reports/reset
//! curl -H "Authorization: Bearer $TOKEN" -X POST localhost:8082/v1/users/logout
//! curl -H "Authorization: Bearer $TOKEN" -X POST localhost:8082/api/reports/reset   # 401 now
//! ```
//!
//! The admin's password must meet the default policy (at least 8 characters): a shorter one
//! stops the example at start with `PasswordNotComplex`.
//!
//! Reading reports takes the stateless check (signature and time: what a service holding only
//! the JWKS could do). Resetting the counter changes state, so it takes the fresh check
//! (`RequireRole<Admin, FreshCheck>`): a logged-out token, or the token of an admin since
//! demoted, deleted or disabled, is refused there at once. `cargo test --example
//! mount_in_app` runs this example's tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use authcore::{Authenticator, CreateUser, Key, KeyRing, Password, Role};
use authcore_axum::{Admin, Authenticated, FreshCheck, RequireRole, UsersApi};
use axum::Json;
use axum::extract::{FromRef, State};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// The application's own state; authcore's extractors find the authenticator in it through
/// `FromRef`.
#[derive(Clone)]
struct AppState {
    auth: Authenticator,
    reports_served: Arc<AtomicU64>,
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// Public.
async fn health() -> &'static str {
    "ok"
}

/// Any signed-in user (`JWT` or `Bearer` token); 401 JSON otherwise.
async fn reports(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
) -> Json<Value> {
    let n = state.reports_served.fetch_add(1, Ordering::Relaxed) + 1;
    Json(json!({"for": claims.username, "role": claims.role, "reports_served": n}))
}

/// Admins only, checked against the current state (fresh check): 401 JSON for a token that
/// was logged out or belongs to a user who changed since, 403 JSON unless the user's *current*
/// role is admin.
async fn reset_counter(
    State(state): State<AppState>,
    RequireRole(who, ..): RequireRole<Admin, FreshCheck>,
) -> Json<Value> {
    state.reports_served.store(0, Ordering::Relaxed);
    Json(json!({"reset_by": who.user.email}))
}

/// The application's router: its own routes and authcore's users API.
fn app(auth: Authenticator) -> axum::Router {
    let state = AppState {
        auth: auth.clone(),
        reports_served: Arc::new(AtomicU64::new(0)),
    };
    axum::Router::new()
        .route("/health", get(health))
        .route("/api/reports", get(reports))
        .route("/api/reports/reset", post(reset_counter))
        // JSON 405s on the application's routes too.
        .method_not_allowed_fallback(authcore_axum::method_not_allowed)
        .with_state(state)
        // The users API brings its JSON 404 fallback for every unknown path.
        .merge(UsersApi::new(auth).into_router())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let store = Arc::new(authcore::memory::MemoryStore::new());
    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store)
        .keys(KeyRing::new(Key::hs256("app", &secret.into())?)?)
        .allowed_roles(Role::REDIS_MANAGEMENT_ROLES)
        .build()?;
    if let (Ok(email), Ok(password)) = (
        std::env::var("AUTHCORE_ADMIN_EMAIL"),
        std::env::var("AUTHCORE_ADMIN_PASSWORD"),
    ) {
        let password = Password::from(password);
        let role = Role::ADMIN;
        auth.create_user_unchecked(CreateUser {
            email,
            password,
            name: None,
            role,
        })
        .await?;
    }

    let app = app(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8082").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use authcore::{AuthPolicy, Role};
    use authcore_testkit::fixtures::authenticator;
    use authcore_testkit::{ManualClock, signed_in};

    use super::app;

    /// Serves the example's app on a free port; the base URL.
    async fn serve() -> (String, authcore::Authenticator) {
        let store = Arc::new(authcore::memory::MemoryStore::new());
        let clock = ManualClock::starting_now();
        let auth = authenticator(store.clone(), store, &clock, AuthPolicy::default()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app(auth.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (base, auth)
    }

    async fn reset(base: &str, authorization: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{base}/api/reports/reset"))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The state-changing route takes the fresh check: an admin's token works until it is
    /// logged out, then 401 there, while the stateless route still takes it (until `exp`).
    #[tokio::test]
    async fn the_reset_refuses_a_logged_out_token() {
        let (base, auth) = serve().await;
        let admin = signed_in(&auth, Role::ADMIN).await.unwrap();
        assert_eq!(reset(&base, &admin.bearer()).await, 200);
        auth.logout(&admin.token.token, false).await.unwrap();
        assert_eq!(reset(&base, &admin.bearer()).await, 401);
        let reports = reqwest::Client::new()
            .get(format!("{base}/api/reports"))
            .header("authorization", admin.bearer())
            .send()
            .await
            .unwrap();
        assert_eq!(reports.status(), 200, "the stateless check cannot know");
    }

    /// A demoted admin's token is refused by the fresh check at once (401: the demotion ended
    /// the session), and a new token of the same user gets 403; a non-admin gets 403.
    #[tokio::test]
    async fn the_reset_follows_the_current_role() {
        let (base, auth) = serve().await;
        let viewer = signed_in(&auth, Role::DB_VIEWER).await.unwrap();
        assert_eq!(reset(&base, &viewer.jwt()).await, 403);
        let admin = signed_in(&auth, Role::ADMIN).await.unwrap();
        let keeper = signed_in(&auth, Role::ADMIN).await.unwrap();
        assert_eq!(reset(&base, &admin.jwt()).await, 200);
        auth.update_user_as_operator(
            &admin.uid,
            authcore::UpdateUser {
                role: Some(Role::DB_VIEWER),
                ..authcore::UpdateUser::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(reset(&base, &admin.jwt()).await, 401);
        let again = auth
            .authorize(&admin.email, &admin.password, authcore::Ttl::DEFAULT)
            .await
            .unwrap();
        assert_eq!(reset(&base, &format!("JWT {}", again.token)).await, 403);
        assert_eq!(reset(&base, &keeper.bearer()).await, 200);
    }
}
