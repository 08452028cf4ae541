//! The conformance suite every store runs.
//!
//! Each case is a plain `pub async fn` taking the store under test; the `run_*` functions run
//! them all. Cases create their own uniquely named users and lockout keys, so one shared store
//! (one database) can run every case, in any order, concurrently with other tests.
//!
//! A case panics (like `assert!`) when the store misbehaves: call it from a test.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! let store = Arc::new(authcore_memory::MemoryStore::new());
//! authcore_testkit::conformance::run_user_admin_suite(store.clone()).await;
//! authcore_testkit::conformance::run_lockout_suite(store.clone()).await;
//! authcore_testkit::conformance::run_session_suite(store.clone()).await;
//! authcore_testkit::conformance::run_authenticator_suite(store.clone(), store).await;
//! # }
//! ```
//!
//! One file per suite: `users` ([`run_user_admin_suite`]), `lockout` ([`run_lockout_suite`],
//! with `reservations` and the random walk of `reservation_walk`),
//! `authenticator` ([`run_authenticator_suite`]), `read_only` ([`run_read_only_suite`]) and
//! `sessions` ([`run_session_suite`]), `admin` ([`run_admin_invariant_suite`]: the admin
//! invariant; unlike the others it needs a fresh store of its own) and `settings`
//! ([`run_settings_suite`]); `names` (display names, run by [`run_user_admin_suite`] and
//! [`run_authenticator_suite`]).
//! A new suite is a new file here and one `pub use` line below.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
// Test support: a failed expectation is a panic, exactly as in `assert!`.

mod abandoned;
mod admin;
mod authenticator;
mod concurrency;
mod lockout;
mod names;
mod read_only;
mod reservation_walk;
mod reservations;
mod session_hashes;
mod session_races;
mod sessions;
mod settings;
mod sign_in_reads;
mod users;

pub use abandoned::*;
pub use admin::*;
pub use authenticator::*;
pub use concurrency::*;
pub use lockout::*;
pub use names::*;
pub use read_only::*;
pub use reservation_walk::*;
pub use reservations::*;
pub use session_hashes::*;
pub use session_races::*;
pub use sessions::*;
pub use settings::*;
pub use sign_in_reads::*;
pub use users::*;

use authcore_core::{PasswordHash, StoredPassword};
use time::OffsetDateTime;

/// Whole seconds: every store keeps at least that precision.
fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600 + secs).unwrap()
}

/// A syntactically valid PHC string with a unique salt (never verified by these cases).
fn fake_hash(tag: u32) -> PasswordHash {
    let salt = uuid::Uuid::new_v4().simple().to_string();
    PasswordHash::new(format!(
        "$argon2id$v=19$m=8,t=1,p=1${}${:043}",
        &salt[..22],
        tag
    ))
}

fn stored(tag: u32, issued_at: OffsetDateTime) -> StoredPassword {
    StoredPassword {
        hash: fake_hash(tag),
        issued_at,
    }
}
