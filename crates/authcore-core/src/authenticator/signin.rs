//! Sign-in, the shared credential check, token verification and refresh.

use super::{AUDIT_TARGET, Authenticator, Checked, Found, MAX_USERNAME_LEN, check_password_len};
use crate::error::{Error, Result};
use crate::policy::LockedUntil;
use crate::token::{Claims, IssuedToken, Ttl};
use crate::user::{Credentials, Password, UserStatus, normalize_username};

impl Authenticator {
    /// Signs a user in (Redis `POST /v1/users/authorize`) and mints a token valid for `ttl`.
    ///
    /// # Errors
    /// - [`Error::Unauthorized`] for an unknown user, a wrong password, a disabled or locked
    ///   account (all alike, and at the same cost);
    /// - [`Error::PasswordExpired`] for a correct but expired password;
    /// - [`Error::InvalidRequest`] for an oversized username or password;
    /// - [`Error::Overloaded`] when the hashing engine refuses the job (checked first, before any
    ///   store I/O; `retry_after` is the expected wait);
    /// - [`Error::StoreUnavailable`] when a store fails.
    pub async fn authorize(
        &self,
        username: &str,
        password: &Password,
        ttl: Ttl,
    ) -> Result<IssuedToken> {
        let checked = self.check_credentials(username, password).await?;
        let user = &checked.found.user;
        if let Some(i) = checked.matched {
            let issued_at = user.passwords().get(i).map(|p| p.issued_at);
            if issued_at.is_some_and(|t| self.inner.policy.expiry.is_expired(t, self.now())) {
                tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "sign-in refused: password expired");
                return Err(Error::PasswordExpired);
            }
        }
        let epoch = self.session_store()?.epoch(&user.uid).await?;
        let now = self.now();
        let session = self.new_session(user, checked.matched, epoch, now);
        let issued = self.inner.tokens.mint_session(user, now, ttl, &session)?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, jti = %issued.claims.jti, "sign-in succeeded");
        Ok(issued)
    }

    /// Verifies a token (signature, issuer, time) without touching a store.
    ///
    /// # Errors
    /// [`Error::InvalidToken`].
    pub fn verify_token(&self, token: &str) -> Result<Claims> {
        self.inner.tokens.verify(token, self.now())
    }

    /// Exchanges a valid token for a new one (Redis `POST /v1/users/refresh_jwt`), only while
    /// the token passes the fresh check ([`Authenticator::check_fresh`]: user exists and is
    /// active, same epoch, password still held, not logged out), the session is younger than
    /// `max_session_lifetime` and the user's passwords have not all expired. The new token
    /// keeps the session: same generation, password id and `auth_time`; its `exp` never
    /// passes the session's end. A lockout after failed sign-ins does not stop a refresh.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for a bad token; [`Error::Unauthorized`] when the fresh check
    /// refuses it or the session is over; [`Error::PasswordExpired`];
    /// [`Error::StoreUnavailable`].
    pub async fn refresh(&self, token: &str, ttl: Ttl) -> Result<IssuedToken> {
        let claims = self.verify_token(token)?;
        let found = self.fresh_found(&claims).await?;
        let user = &found.user;
        let now = self.now();
        if let Some(end) = self.inner.policy.session.session_end(claims.auth_time)
            && now.unix_timestamp() > end
        {
            tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "refresh refused: session lifetime over");
            return Err(Error::Unauthorized);
        }
        // Expired when every password the user holds has expired.
        if let Some(newest) = user.password_issue_date()
            && self.inner.policy.expiry.is_expired(newest, now)
        {
            return Err(Error::PasswordExpired);
        }
        let session = self.continued_session(&claims);
        let issued = self.inner.tokens.mint_session(user, now, ttl, &session)?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, jti = %issued.claims.jti, "token refreshed");
        Ok(issued)
    }

    async fn check_credentials(&self, username: &str, password: &Password) -> Result<Checked> {
        self.check_credentials_inner(username, password, false)
            .await
    }

    /// The shared credential check: lookup, lockout, password, status. Every refusal is the
    /// same [`Error::Unauthorized`] after the same work.
    pub(super) async fn check_credentials_inner(
        &self,
        username: &str,
        password: &Password,
        for_change: bool,
    ) -> Result<Checked> {
        if username.len() > MAX_USERNAME_LEN {
            return Err(Error::InvalidRequest("username too long".into()));
        }
        check_password_len(password)?;
        // Admission first: a sign-in the hashing engine would refuse is refused here, in
        // microseconds, before any store I/O.
        let admission = self.inner.hashing.admit()?;
        let username = normalize_username(username);
        let Some(found) = self.find_by_username(&username).await? else {
            admission.verify_dummy(password).await?;
            tracing::info!(target: AUDIT_TARGET, "sign-in failed: unknown user");
            return Err(Error::Unauthorized);
        };
        let uid = found.user.uid.clone();
        let now = self.now();
        let lockout = self.inner.lockout.state(&uid).await?;
        let locked = lockout.as_ref().is_some_and(|s| s.is_locked(now));

        let (verified, matched) = match &found.user.credentials {
            Credentials::Passwords(list) => {
                let hashes = list.iter().map(|p| p.hash.clone()).collect();
                let outcome = admission.verify(password, hashes).await?;
                if let (Some(i), true) = (outcome.matched, outcome.needs_rehash && !locked) {
                    self.rehash(&found, i, password).await;
                }
                (outcome.matched.map(|_| found.user.clone()), outcome.matched)
            }
            Credentials::External if locked => (None, None),
            Credentials::External => (
                found.store.verify_external(&found.user, password).await?,
                None,
            ),
        };

        let Some(user) = verified else {
            let state = self
                .inner
                .lockout
                .record_failure(&uid, now, &self.inner.policy.lockout)
                .await?;
            if state.is_locked(now) && !locked {
                match state.locked_until {
                    Some(LockedUntil::Time(until)) => {
                        tracing::warn!(target: AUDIT_TARGET, uid = %uid, failures = state.failures, locked_until = %until, "account locked after failed sign-ins");
                    }
                    _ => {
                        tracing::warn!(target: AUDIT_TARGET, uid = %uid, failures = state.failures, "account locked until an admin resets the password");
                    }
                }
            } else {
                tracing::info!(target: AUDIT_TARGET, uid = %uid, failures = state.failures, "sign-in failed: wrong password");
            }
            return Err(Error::Unauthorized);
        };
        if locked {
            tracing::info!(target: AUDIT_TARGET, uid = %uid, "sign-in refused: account locked");
            return Err(Error::Unauthorized);
        }
        if user.status != UserStatus::Active {
            tracing::info!(target: AUDIT_TARGET, uid = %uid, status = user.status.as_str(), "sign-in refused: account not active");
            return Err(Error::Unauthorized);
        }
        if lockout.is_some() && !for_change {
            self.inner.lockout.clear(&uid).await?;
        }
        Ok(Checked {
            found: Found {
                user,
                store: found.store,
            },
            matched,
        })
    }

    /// Re-hashes a correct password whose stored hash is weaker than the current parameters.
    /// Best effort: a failure is logged and the sign-in goes on.
    async fn rehash(&self, found: &Found, index: usize, password: &Password) {
        let (Some(admin), Some(old)) = (found.store.admin(), found.user.passwords().get(index))
        else {
            return;
        };
        let result = match self.inner.hashing.hash(password).await {
            Ok(new) => admin.replace_hash(&found.user.uid, &old.hash, new).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => {
                tracing::info!(target: AUDIT_TARGET, uid = %found.user.uid, "password re-hashed with current parameters");
            }
            Err(e) => {
                tracing::warn!(target: AUDIT_TARGET, uid = %found.user.uid, error = %e, "password re-hash failed");
            }
        }
    }
}
