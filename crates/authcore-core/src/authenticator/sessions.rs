//! Sessions: the fresh check of a token against current state, logout, and the epoch
//! advances that end a user's sessions.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{AUDIT_TARGET, Authenticator, Found};
use crate::error::{Error, Result};
use crate::session::SessionStore;
use crate::token::{Claims, SessionClaims, Ttl};
use crate::user::{Role, User, UserId, UserStatus};

/// Longest `jti` the fresh check looks up (authcore mints 36-character UUIDs).
const MAX_JTI_LEN: usize = 128;

/// The opaque id of one of a user's passwords, as tokens carry it (claim `pwd`).
///
/// It is derived from the uid and the instant the password was set (its stored issue date),
/// never from the hash: a re-hash or a legacy-hash upgrade keeps the issue date, so it keeps
/// the id, and nothing of the hash leaves the store. 16 hex characters of SHA-256 over a
/// domain-separated encoding.
#[must_use]
pub fn password_id(uid: &UserId, issued_at: OffsetDateTime) -> String {
    let mut h = Sha256::new();
    h.update(b"authcore password id v1\0");
    h.update(uid.as_str().as_bytes());
    h.update(b"\0");
    h.update(issued_at.unix_timestamp_nanos().to_be_bytes());
    let digest = h.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A token checked against current state by [`Authenticator::check_fresh`]: the user as the
/// stores know it now.
#[derive(Debug, Clone)]
pub struct FreshIdentity {
    /// The token's claims (its `role` is the role at minting time: use [`Self::role`]).
    pub claims: Claims,
    /// The user now.
    pub user: User,
}

impl FreshIdentity {
    /// The user's *current* role.
    #[must_use]
    pub fn role(&self) -> &Role {
        &self.user.role
    }

    /// The user's uid.
    #[must_use]
    pub fn uid(&self) -> &UserId {
        &self.user.uid
    }
}

impl Authenticator {
    /// Where session state lives: the store given to
    /// [`crate::AuthenticatorBuilder::session_store`], else the lockout store's.
    pub(super) fn session_store(&self) -> Result<&dyn SessionStore> {
        match &self.inner.sessions {
            Some(s) => Ok(&**s),
            None => self
                .inner
                .lockout
                .sessions()
                .ok_or_else(|| Error::Configuration("no session store configured".into())),
        }
    }

    /// Checks a token against current state: signature and time (as
    /// [`Authenticator::verify_token`]), then the user still exists and is active, the
    /// token's generation is the user's current epoch, the password that started the session
    /// is still one of the user's, and the token was not logged out. Returns the user as it
    /// is now, with its *current* role.
    ///
    /// A lockout after failed sign-ins does not fail this check: it stops new password
    /// sign-ins only, so that a stranger's wrong guesses cannot end someone's session.
    ///
    /// This costs a few store reads per call. A service that only holds the JWKS can do the
    /// stateless check alone, and then accepts a token until its `exp`: keep `ttl` short
    /// there.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for a bad or expired token; [`Error::Unauthorized`] for a
    /// token that current state refuses; store errors.
    pub async fn check_fresh(&self, token: &str) -> Result<FreshIdentity> {
        let claims = self.verify_token(token)?;
        let user = self.check_claims_fresh(&claims).await?;
        Ok(FreshIdentity { claims, user })
    }

    /// [`Authenticator::check_fresh`] for claims already verified (signature and time):
    /// returns the user as it is now.
    ///
    /// # Errors
    /// As [`Authenticator::check_fresh`], except the signature checks.
    pub async fn check_claims_fresh(&self, claims: &Claims) -> Result<User> {
        Ok(self.fresh_found(claims).await?.user)
    }

    pub(super) async fn fresh_found(&self, claims: &Claims) -> Result<Found> {
        let uid = claims.uid();
        if claims.jti.len() > MAX_JTI_LEN {
            return Err(Error::InvalidToken);
        }
        let sessions = self.session_store()?;
        let (record, store) = self.find_fresh(&uid, claims.session_id(), sessions).await?;
        let user = &record.user;
        if user.status != UserStatus::Active || claims.generation != record.epoch {
            return Err(Error::Unauthorized);
        }
        if !user.passwords().is_empty() {
            let minted_with = claims.pwd.as_deref().ok_or(Error::Unauthorized)?;
            if !user
                .passwords()
                .iter()
                .any(|p| password_id(&user.uid, p.issued_at) == minted_with)
            {
                return Err(Error::Unauthorized);
            }
        }
        if record.revoked {
            return Err(Error::Unauthorized);
        }
        let found = Found {
            user: record.user,
            store,
        };
        Ok(found)
    }

    /// Logs a token out (`POST /v1/users/logout`): that token's session is refused from then
    /// on by refresh, every users-API route and the fresh check, while the user's other
    /// sessions keep working. With `all`, every token of the user is refused (the epoch
    /// advances).
    ///
    /// A session is what one password sign-in started: its token and every token refreshed
    /// from it (claim `sid`). The guarantee: once `logout` has returned, no token of that
    /// session passes the fresh check, whether it was refreshed before, during or after the
    /// logout. The revocation is kept as long as any token of the session can still be valid
    /// (see [`Authenticator::refresh`]), then purged.
    ///
    /// # Errors
    /// As [`Authenticator::check_fresh`] (an already refused token cannot log out); store
    /// errors.
    pub async fn logout(&self, token: &str, all: bool) -> Result<()> {
        let fresh = self.check_fresh(token).await?;
        let (uid, claims) = (fresh.uid(), &fresh.claims);
        let sessions = self.session_store()?;
        if all {
            sessions.advance_epoch(uid).await?;
            self.forget_basic(uid);
            tracing::info!(target: AUDIT_TARGET, uid = %uid, "signed out everywhere");
        } else {
            let now = self.now();
            let expires_at = OffsetDateTime::from_unix_timestamp(self.revocation_end(claims, now))
                .map_err(|_| Error::InvalidToken)?;
            sessions
                .revoke(claims.session_id(), expires_at, now)
                .await?;
            tracing::info!(target: AUDIT_TARGET, uid = %uid, sid = %claims.session_id(), "signed out");
        }
        Ok(())
    }

    /// Until when (UNIX seconds) the revocation of the session of `claims`, made at `now`,
    /// must be kept: past the `exp` of every token of the session, including one a refresh
    /// racing the logout mints. A refresh returns a token only if the session was still not
    /// revoked after the token was minted, so every such token was issued before `now` and
    /// expires by `now + Ttl::MAX`; none outlives the session's end either. The verifier's
    /// leeway is added to both.
    fn revocation_end(&self, claims: &Claims, now: OffsetDateTime) -> i64 {
        let by_ttl = now.unix_timestamp().saturating_add(i64::from(Ttl::MAX));
        let last = self
            .policy()
            .session
            .session_end(claims.auth_time)
            .map_or(by_ttl, |end| by_ttl.min(end))
            .max(claims.exp);
        last.saturating_add(i64::from(self.inner.tokens.config().leeway_secs))
    }

    /// Ends every session of `uid` at once (the epoch advances): for "sign out everywhere"
    /// on behalf of an operator, or an application's own reasons.
    ///
    /// # Errors
    /// Store errors.
    pub async fn end_sessions(&self, uid: &UserId) -> Result<()> {
        self.end_sessions_because(uid, "sessions ended").await
    }

    pub(super) async fn end_sessions_because(&self, uid: &UserId, why: &str) -> Result<()> {
        let epoch = self.session_store()?.advance_epoch(uid).await?;
        self.forget_basic(uid);
        tracing::info!(target: AUDIT_TARGET, uid = %uid, epoch, reason = why, "sessions ended");
        Ok(())
    }

    /// The session claims of a new password sign-in of `user` with its password number
    /// `matched`, at epoch `epoch`.
    pub(super) fn new_session(
        &self,
        user: &User,
        matched: Option<usize>,
        epoch: u64,
        now: OffsetDateTime,
    ) -> SessionClaims {
        let auth_time = now.unix_timestamp();
        SessionClaims {
            generation: epoch,
            pwd: matched
                .and_then(|i| user.passwords().get(i))
                .map(|p| password_id(&user.uid, p.issued_at)),
            auth_time,
            ends_at: self.policy().session.session_end(auth_time),
            sid: None,
        }
    }

    /// The session claims a refresh of `claims` keeps: the same session, generation, password
    /// and sign-in instant.
    pub(super) fn continued_session(&self, claims: &Claims) -> SessionClaims {
        SessionClaims {
            generation: claims.generation,
            pwd: claims.pwd.clone(),
            auth_time: claims.auth_time,
            ends_at: self.policy().session.session_end(claims.auth_time),
            sid: Some(claims.session_id().to_owned()),
        }
    }
}
