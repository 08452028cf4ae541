//! Mounting authcore's users API into an existing axum application that has its own state,
//! its own routes and a route protected by authcore's extractors.
//!
//! ```text
//! AUTHCORE_ADMIN_EMAIL=admin@example.org AUTHCORE_ADMIN_PASSWORD=secret \
//!     cargo run --example mount_in_app         # listens on 127.0.0.1:8082, users in memory
//! TOKEN=$(curl -s -u admin@example.org:secret -X POST localhost:8082/v1/users/authorize | jq -r .access_token)
//! curl -H "Authorization: Bearer $TOKEN" localhost:8082/api/reports
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use authcore::{Authenticator, CreateUser, Key, KeyRing, Password, Role};
use authcore_axum::{Admin, Authenticated, RequireRole, UsersApi};
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

/// Admins only; 403 JSON for other roles.
async fn reset_counter(
    State(state): State<AppState>,
    RequireRole(claims, ..): RequireRole<Admin>,
) -> Json<Value> {
    state.reports_served.store(0, Ordering::Relaxed);
    Json(json!({"reset_by": claims.username}))
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

    let state = AppState {
        auth: auth.clone(),
        reports_served: Arc::new(AtomicU64::new(0)),
    };
    let app = axum::Router::new()
        .route("/health", get(health))
        .route("/api/reports", get(reports))
        .route("/api/reports/reset", post(reset_counter))
        // JSON 405s on the application's routes too.
        .method_not_allowed_fallback(authcore_axum::method_not_allowed)
        .with_state(state)
        // The users API brings its JSON 404 fallback for every unknown path.
        .merge(UsersApi::new(auth).into_router());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:8082").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
