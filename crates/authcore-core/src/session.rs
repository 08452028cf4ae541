//! Session state: the per-user token generation (epoch) and revoked token ids.

use std::fmt::Debug;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::Result;
use crate::user::UserId;

/// How many expired revocations one [`SessionStore::revoke`] purges at most: the purge is
/// bounded work done by whoever revokes, never a scan on the sign-in path.
pub const PURGE_BATCH: u32 = 64;

/// Where session state lives: each user's *epoch* (a token generation) and the ids (`jti`)
/// of revoked tokens.
///
/// A token carries the epoch current when it was minted (claim `gen`); a token whose `gen` is
/// below the user's current epoch is refused. Advancing the epoch therefore ends every session
/// of a user at once, exactly (an integer, not a time: "the same second" is no ambiguity).
///
/// Keys are canonical [`UserId`]s, so directory users have session state too: it lives in
/// the same store as their lockout state. Implemented by `authcore-memory` and `authcore-sql`;
/// every implementation passes `authcore_testkit::conformance::run_session_suite`.
///
/// [`SessionStore::advance_epoch`] must be atomic: `N` concurrent calls for one user advance
/// it by exactly `N`, also across processes sharing a database.
#[async_trait]
pub trait SessionStore: Send + Sync + Debug {
    /// The user's current epoch; `0` for a user that never had one advanced.
    ///
    /// # Errors
    /// Store failures.
    async fn epoch(&self, uid: &UserId) -> Result<u64>;

    /// Advances the user's epoch by one, atomically, and returns the new value. Every token
    /// minted before (with a lower `gen`) is refused from then on.
    ///
    /// # Errors
    /// Store failures.
    async fn advance_epoch(&self, uid: &UserId) -> Result<u64>;

    /// Records that the token `jti` is revoked until `expires_at` (its `exp`: after that it
    /// is refused anyway and the record may go). Revoking twice is not an error. Also purges
    /// at most [`PURGE_BATCH`] records whose expiry is before `now`.
    ///
    /// # Errors
    /// Store failures.
    async fn revoke(
        &self,
        jti: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<()>;

    /// Whether the token `jti` is revoked (and its record not yet purged).
    ///
    /// # Errors
    /// Store failures.
    async fn is_revoked(&self, jti: &str) -> Result<bool>;

    /// Deletes at most `limit` revocation records whose expiry is before `now`, oldest
    /// first, and returns how many went.
    ///
    /// # Errors
    /// Store failures.
    async fn purge_revoked(&self, now: OffsetDateTime, limit: u32) -> Result<u64>;
}
