//! # authcore-testkit
//!
//! Test support for authcore, public so that server authors can test their own policies:
//!
//! - [`conformance`]: the suite every user store and lockout store must pass (the memory, SQL
//!   and LDAP stores all run it);
//! - [`ManualClock`]: a clock the test moves, so expiry and lockout windows are tested without
//!   sleeping;
//! - [`fixtures`]: cheap hashing parameters, a fixed key ring, unique e-mails, and an
//!   authenticator wired to all of them;
//! - [`signed_in`]: one line to act as a signed-in user (a user it creates, with a valid
//!   token) in a test of an application's protected route;
//! - [`logs`]: what was logged, kept in memory, to check audit lines, warnings and that no
//!   secret is ever written;
//! - [`permissions`]: "may role R do P?" asked of an authenticator's permission policy through
//!   the core's one decision;
//! - [`adapters`]: the HTTP conformance suite for web framework adapters: every route and
//!   error case sent through the adapter and compared with the core's own dispatch (status,
//!   headers and body byte for byte, tokens by their verified claims), with a runnable
//!   example of an adapter's test.
//!
//! ## Example: unit-testing a lockout policy
//!
//! ```
//! use std::sync::Arc;
//! use authcore_core::{AuthPolicy, CreateUser, Error, LockoutPolicy, Role, Ttl};
//! use authcore_testkit::{ManualClock, fixtures::{authenticator, password}};
//! use time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> authcore_core::Result<()> {
//! let store = Arc::new(authcore_memory::MemoryStore::new());
//! let clock = ManualClock::starting_now();
//! let policy = AuthPolicy {
//!     lockout: LockoutPolicy { threshold: 3, duration_secs: 600, counter_reset_after_secs: 60 },
//!     ..AuthPolicy::default()
//! };
//! let auth = authenticator(store.clone(), store, &clock, policy)?;
//! auth.create_user_unchecked(CreateUser {
//!     email: "ann@example.org".into(),
//!     password: password("right horse"),
//!     name: None,
//!     role: Role::new("viewer"),
//! }).await?;
//!
//! for _ in 0..3 {
//!     auth.authorize("ann@example.org", &password("wrong"), Ttl::DEFAULT).await.unwrap_err();
//! }
//! let locked = auth.authorize("ann@example.org", &password("right horse"), Ttl::DEFAULT).await;
//! assert!(matches!(locked, Err(Error::Unauthorized)));
//!
//! clock.advance(Duration::minutes(10));
//! auth.authorize("ann@example.org", &password("right horse"), Ttl::DEFAULT).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

pub mod adapters;
mod clock;
pub mod conformance;
pub mod fixtures;
pub mod logs;
pub mod permissions;
mod signed_in;

pub use clock::ManualClock;
pub use signed_in::{SignedIn, signed_in};
