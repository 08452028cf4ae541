//! End-to-end tests of the reference server: the real `authcore serve` binary on a free port,
//! driven over HTTP with reqwest. Tokens are checked with an independent HS256 decoder (hmac +
//! sha2) as well as by the server itself.
//!
//! Every scenario runs against SQLite (a temp file) and, in the `postgres::` and `mysql::`
//! tests, against the servers named by `AUTHCORE_TEST_POSTGRES_URL` and
//! `AUTHCORE_TEST_MYSQL_URL` (`scripts/test` starts them; without them those tests fail).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../server_harness/mod.rs"]
mod server_harness;

mod ldap;
mod lockout_race;
mod malformed;
mod names;
mod operations;
mod passwords;
mod request;
mod session_events;
mod session_hashes;
mod session_lifetime;
mod sessions;
mod sign_in;
mod users;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use server_harness::{Backend, Server};
use sha2::Sha256;

const SECRET: &str = "e2e-test-secret-that-is-at-least-32-bytes";
const ADMIN: &str = "admin@example.test";
const ADMIN_PW: &str = "Admin-Passw0rd!";

/// An independent HS256 check: the signature over `header.payload` with [`SECRET`], and the
/// payload as JSON.
pub(crate) fn decode_hs256(token: &str) -> Value {
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

/// A token with `claims`, signed with [`SECRET`] under the header of `like` (a token the
/// server minted, so the same `kid`): what the server would mint at another instant, for
/// checks of time bounds without waiting for them.
pub(crate) fn sign_hs256(like: &str, claims: &Value) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = like.split('.').next().unwrap();
    let signing_input = format!("{header}.{}", b64.encode(claims.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        b64.encode(mac.finalize().into_bytes())
    )
}

/// The current UNIX time in whole seconds (the server's clock is this machine's).
pub(crate) fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

pub(crate) fn base_args() -> Vec<String> {
    vec!["--jwt-secret".into(), SECRET.into()]
}

pub(crate) async fn start(backend: &Backend, extra: &[&str]) -> Server {
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

// ---------- SQLite (always), PostgreSQL and MariaDB/MySQL (scripts/test) ----------

/// For each `module::scenario`, one test per backend: `sqlite::scenario`,
/// `postgres::scenario` and `mysql::scenario`.
macro_rules! backends {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    crate::$module::$name(Backend::Sqlite).await;
                }
            )*
        }
        mod mysql {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                #[ignore = "needs MariaDB/MySQL: run scripts/test"]
                async fn $name() {
                    crate::$module::$name(Backend::mysql()).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                #[ignore = "needs PostgreSQL: run scripts/test"]
                async fn $name() {
                    crate::$module::$name(Backend::postgres()).await;
                }
            )*
        }
    };
}

backends!(
    sign_in::authorize_and_tokens,
    malformed::malformed_inputs,
    sign_in::refresh,
    users::users_admin,
    passwords::password_rotation,
    passwords::lockout_and_admin_unlock,
    passwords::expiry_and_rotation_of_expired,
    passwords::complexity,
    passwords::min_length_and_password_cap,
    operations::store_failure_is_503_and_restart_keeps_users,
    operations::openapi_and_jwks,
    sessions::logout_over_http,
    sessions::logout_racing_refresh,
    sessions::logout_edge_cases,
    session_lifetime::max_session_lifetime_flag_env_and_default,
    session_hashes::rehash_and_legacy_upgrade_end_no_session,
    session_events::each_event_ends_exactly_its_sessions,
    lockout_race::simultaneous_guesses_never_pass_the_threshold,
    names::names_are_optional_and_not_logins,
);

/// Issue #9 item 5: two server processes on one PostgreSQL database.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn two_servers_on_one_postgres_share_sessions() {
    sessions::two_servers_share_sessions(Backend::postgres()).await;
}
