//! The baseline of the sign-in benchmark: a hand-written axum server with the two routes the
//! flood uses, argon2 called directly on the async handler and no limit of any kind.
//!
//! `POST /v1/users/authorize` `{"username","password"}` checks one user held in memory with
//! argon2id (same default parameters as authcore) and answers `{"access_token"}` (HS256);
//! `GET /v1/users/{uid}` checks the `Bearer`/`JWT` token and answers the user. It prints
//! `listening on http://ADDR` on stdout, like the reference server.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The naive baseline server.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The one user's e-mail.
    #[arg(long, env = "AUTHCORE_ADMIN_EMAIL")]
    username: String,
    /// The one user's password.
    #[arg(long, env = "AUTHCORE_ADMIN_PASSWORD", hide_env_values = true)]
    password: String,
    /// Argon2 memory in KiB.
    #[arg(long, default_value_t = 19_456)]
    m_cost: u32,
    /// Argon2 iterations.
    #[arg(long, default_value_t = 2)]
    t_cost: u32,
}

struct App {
    username: String,
    phc: String,
    argon: Argon2<'static>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

#[derive(Deserialize)]
struct SignIn {
    username: String,
    password: String,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    username: String,
    exp: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(run(args)))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let params = Params::new(args.m_cost, args.t_cost, 1, None).map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut salt = [0u8; 16];
    salt.iter_mut()
        .zip(args.username.bytes().cycle())
        .for_each(|(s, b)| *s = b);
    let phc = argon
        .hash_password_with_salt(args.password.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string();
    let secret = format!("naive-{}-{}", std::process::id(), now());
    let app = Arc::new(App {
        username: args.username.to_lowercase(),
        phc,
        argon,
        encoding: EncodingKey::from_secret(secret.as_bytes()),
        decoding: DecodingKey::from_secret(secret.as_bytes()),
    });
    let router = Router::new()
        .route("/v1/users/authorize", post(authorize))
        .route("/v1/users/{uid}", get(get_user))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unauthorized() -> (StatusCode, Json<Value>) {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error_code": "unauthorized", "message": "unauthorized"})),
    )
}

/// Argon2 right here, on the async thread: the naive way.
async fn authorize(
    State(app): State<Arc<App>>,
    Json(req): Json<SignIn>,
) -> (StatusCode, Json<Value>) {
    let Ok(phc) = Phc::new(&app.phc) else {
        return unauthorized();
    };
    let ok = app
        .argon
        .verify_password(req.password.as_bytes(), &phc)
        .is_ok();
    if !ok || req.username.to_lowercase() != app.username {
        return unauthorized();
    }
    let claims = Claims {
        sub: "1".into(),
        username: app.username.clone(),
        exp: now() + 300,
    };
    match jsonwebtoken::encode(&Header::default(), &claims, &app.encoding) {
        Ok(token) => (StatusCode::OK, Json(json!({ "access_token": token }))),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({}))),
    }
}

async fn get_user(
    State(app): State<Arc<App>>,
    Path(uid): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("JWT ")));
    let Some(token) = token else {
        return unauthorized();
    };
    match jsonwebtoken::decode::<Claims>(token, &app.decoding, &Validation::default()) {
        Ok(data) if data.claims.sub == uid => (
            StatusCode::OK,
            Json(json!({ "uid": 1, "email": data.claims.username, "role": "admin" })),
        ),
        Ok(_) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error_code": "not_found", "message": "not found"})),
        ),
        Err(_) => unauthorized(),
    }
}
