//! # authcore-core
//!
//! The framework-agnostic heart of authcore: it checks a username and password against
//! pluggable user stores, applies expiry, lockout and complexity policy (Redis Enterprise's
//! names and defaults), and mints, verifies and refreshes JWT access tokens.
//!
//! - [`Authenticator`]: sign-in ([`Authenticator::authorize`]), [`Authenticator::refresh`],
//!   password rotation and user administration.
//! - [`UserStore`] / [`UserAdmin`] / [`LockoutStore`] / [`SessionStore`]: the store traits.
//!   Implementations live in `authcore-memory`, `authcore-sql` and `authcore-ldap`.
//! - Sessions: tokens carry the user's session epoch (`gen`), the id of the password that
//!   signed in (`pwd`) and the sign-in instant (`auth_time`); [`Authenticator::check_fresh`]
//!   checks a token against current state, [`Authenticator::logout`] revokes.
//! - [`HashingPool`]: the argon2id engine: worker threads with reused memory, admission by
//!   expected wait ([`HashingPool::admit`]) before any store I/O.
//! - [`TokenIssuer`] / [`KeyRing`]: HS256, EdDSA and ES256 keys with rotation and JWKS.
//! - [`Error`]: one error type, a stable `error_code()` and HTTP status for each variant.
//!
//! ## Example
//!
//! A complete sign-in with a toy store (a real application uses `authcore-memory`,
//! `authcore-sql` or `authcore-ldap`):
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use async_trait::async_trait;
//! use authcore_core::*;
//! use secrecy::SecretSlice;
//! use time::OffsetDateTime;
//!
//! #[derive(Debug, Default)]
//! struct OneUser(Mutex<Option<User>>);
//!
//! #[async_trait]
//! impl UserStore for OneUser {
//!     async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
//!         let user = self.0.lock().map_err(|_| Error::Internal("poisoned".into()))?;
//!         Ok(user.clone().filter(|u| normalize_username(&u.email) == username))
//!     }
//!     async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
//!         let user = self.0.lock().map_err(|_| Error::Internal("poisoned".into()))?;
//!         Ok(user.clone().filter(|u| &u.uid == uid))
//!     }
//! }
//!
//! #[derive(Debug, Default)]
//! struct NoLockout;
//!
//! #[async_trait]
//! impl LockoutStore for NoLockout {
//!     async fn state(&self, _: &UserId) -> Result<Option<LockoutState>> { Ok(None) }
//!     async fn record_failure(&self, _: &UserId, now: OffsetDateTime, p: &LockoutPolicy)
//!         -> Result<LockoutState> { Ok(p.next_state(None, now)) }
//!     async fn reserve(&self, _: &Reservation, _: &LockoutPolicy, _: &ReservationPolicy)
//!         -> Result<Reserve> { Ok(Reserve::Granted) }
//!     async fn settle(&self, _: &Reservation, _: AttemptOutcome, _: OffsetDateTime,
//!         _: &LockoutPolicy) -> Result<Option<LockoutState>> { Ok(None) }
//!     async fn clear(&self, _: &UserId) -> Result<()> { Ok(()) }
//! }
//!
//! // Session state: every token stays valid until its `exp` (nothing is ever revoked).
//! #[derive(Debug, Default)]
//! struct NoSessions;
//!
//! #[async_trait]
//! impl SessionStore for NoSessions {
//!     async fn epoch(&self, _: &UserId) -> Result<u64> { Ok(0) }
//!     async fn advance_epoch(&self, _: &UserId) -> Result<u64> {
//!         Err(Error::Unsupported("this toy cannot end sessions"))
//!     }
//!     async fn revoke(&self, _: &str, _: OffsetDateTime, _: OffsetDateTime) -> Result<()> {
//!         Err(Error::Unsupported("this toy cannot end sessions"))
//!     }
//!     async fn is_revoked(&self, _: &str) -> Result<bool> { Ok(false) }
//!     async fn purge_revoked(&self, _: OffsetDateTime, _: u32) -> Result<u64> { Ok(0) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<()> {
//! let hashing = HashingPool::new(HashingConfig::insecure_fast())?;
//! let password = Password::from("correct horse".to_owned());
//! let store = Arc::new(OneUser::default());
//! *store.0.lock().unwrap() = Some(User {
//!     uid: UserId::from(1),
//!     email: "ann@example.org".into(),
//!     name: Some("Ann".into()),
//!     role: Role::ADMIN,
//!     status: UserStatus::Active,
//!     credentials: Credentials::Passwords(vec![StoredPassword {
//!         hash: hashing.hash(&password).await?,
//!         issued_at: OffsetDateTime::now_utc(),
//!     }]),
//! });
//!
//! let secret = SecretSlice::from(vec![7u8; 32]);
//! let auth = Authenticator::builder()
//!     .store(store)
//!     .lockout_store(Arc::new(NoLockout))
//!     .session_store(Arc::new(NoSessions))
//!     .hashing(HashingConfig::insecure_fast())
//!     .keys(KeyRing::new(Key::hs256("k1", &secret)?)?)
//!     .build()?;
//!
//! let issued = auth.authorize("Ann@Example.org", &password, Ttl::new(60)?).await?;
//! assert_eq!(auth.verify_token(&issued.token)?.sub, "1");
//!
//! let wrong = Password::from("wrong".to_owned());
//! let err = auth.authorize("ann@example.org", &wrong, Ttl::DEFAULT).await.unwrap_err();
//! assert_eq!(err.error_code(), "unauthorized");
//! # Ok(()) }
//! ```
//!
//! ## Crypto backend
//!
//! `jsonwebtoken` 11 needs exactly one crypto backend; this crate selects `rust_crypto` and no
//! other crate of the workspace depends on `jsonwebtoken`.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod authenticator;
mod clock;
mod error;
mod hashing;
pub mod http;
mod legacy_hash;
pub mod lockout;
mod permission;
mod policy;
mod session;
pub mod settings;
mod store;
mod token;
mod user;

pub use authenticator::{
    AUDIT_TARGET, Authenticator, AuthenticatorBuilder, BasicCacheConfig, FreshIdentity,
    ImportOutcome, ImportPassword, ImportUser, MASKED_BIND_PASS, MAX_PASSWORD_LEN,
    MAX_USERNAME_LEN, OnConflict, PolicySection, SignInLimits, password_id,
};
pub use clock::{Clock, SystemClock};
pub use error::{BoxError, Error, Result, StatusClass};
pub use hashing::{
    Admission, Argon2Params, CostEstimate, HashingConfig, HashingPool, VerifyOutcome,
    WorkerPriority,
};
pub use http::{CreateUser, UidValue, UpdateUser, UserView};
pub use legacy_hash::{
    HashFormat, LegacyLimits, PasswordForm, check_hash_format, is_redis_prehash, redis_prehash,
};
pub use lockout::{
    AttemptOutcome, DEFAULT_RESERVATION_STALE_AFTER, Reservation, ReservationPolicy, Reserve,
};
pub use permission::markers as permission_markers;
pub use permission::{
    Access, Authorized, CustomPermission, Grant, Permission, PermissionMarker, PermissionPolicy,
};
pub use policy::{
    AuthPolicy, LockedUntil, LockoutPolicy, LockoutState, PasswordComplexity, PasswordExpiry,
    PasswordRules, SessionPolicy,
};
pub use session::{PURGE_BATCH, SessionStore};
pub use settings::{
    DirectoryControl, LdapMapping, LdapMappingUpdate, NewLdapMapping, SettingsSeed,
    SettingsSnapshot, SettingsStore,
};
pub use store::{
    FreshRecord, LockoutStore, SignInRecord, UserAdmin, UserStore, fresh_record_in_three_reads,
    is_same_store, sign_in_record_in_two_reads,
};
pub use token::{
    Claims, IssuedToken, Key, KeyRing, MAX_TOKEN_LEN, MIN_HMAC_SECRET_LEN, SessionClaims,
    SigningAlgorithm, TokenConfig, TokenIssuer, Ttl,
};
pub use user::{
    Credentials, NewUser, Password, PasswordHash, Role, StoredPassword, User, UserId, UserStatus,
    UserUpdate, counts_as_active_admin, normalize_username,
};

pub use async_trait::async_trait;
pub use jsonwebtoken::jwk::JwkSet;
pub use secrecy;
pub use time;
