//! Sign-in, the shared credential check, token verification and refresh.

use std::time::Duration;

use super::gate::Gate;
use super::{AUDIT_TARGET, Authenticator, Checked, Found, MAX_USERNAME_LEN, check_password_len};
use crate::error::{Error, Result};
use crate::hashing::Admission;
use crate::lockout::AttemptOutcome;
use crate::policy::LockedUntil;
use crate::token::{Claims, IssuedToken, SessionClaims, Ttl};
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
        self.issue(checked, ttl).await
    }

    /// The rest of a sign-in after a successful credential check: expiry, then a token in a
    /// new session.
    async fn issue(&self, checked: Checked, ttl: Ttl) -> Result<IssuedToken> {
        let (user, session, now) = self.open_session(&checked).await?;
        let issued = self.inner.tokens.mint_session(user, now, ttl, &session)?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, jti = %issued.claims.jti, "sign-in succeeded");
        Ok(issued)
    }

    /// Expiry of the matched password, then the session claims of a new sign-in.
    ///
    /// The session's generation is the epoch the check read *with the user*, before the
    /// password was judged ([`UserStore::find_for_sign_in`](crate::UserStore::find_for_sign_in)),
    /// not one read now. So a logout everywhere, a password change or a role or status change
    /// (each advances the epoch) that lands anywhere between that read and the token reaching
    /// the client leaves the token a generation behind: the fresh check refuses it at once.
    /// Reading the epoch after the check (as this did until 2026-11) let such a change that
    /// landed during the argon2 evaluation go unnoticed by the token. Where the store reads
    /// both in one statement (SQL, memory), the user and the epoch are one snapshot: a change
    /// that writes the user and advances the epoch in one transaction is seen whole or not at
    /// all. Through the two-read default (directory users, or a session store apart from the
    /// user store) the epoch is read just after the user: a change landing between the two
    /// reads can pair the user as it was with the new epoch, the same window the read after
    /// the settlement had, only shorter; the fresh check still compares the token's password
    /// id and the user's current status and role.
    async fn open_session<'c>(
        &self,
        checked: &'c Checked,
    ) -> Result<(&'c crate::user::User, SessionClaims, time::OffsetDateTime)> {
        let user = &checked.found.user;
        if let Some(i) = checked.matched {
            let issued_at = user.passwords().get(i).map(|p| p.issued_at);
            if issued_at.is_some_and(|t| self.policy().expiry.is_expired(t, self.now())) {
                tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "sign-in refused: password expired");
                return Err(Error::PasswordExpired);
            }
        }
        let epoch = checked.epoch;
        let now = self.now();
        Ok((
            user,
            self.new_session(user, checked.matched, epoch, now),
            now,
        ))
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
    /// keeps the session: same session id (`sid`), generation, password id and `auth_time`;
    /// its `exp` never passes the session's end. A lockout after failed sign-ins does not stop
    /// a refresh. A logout of the session that lands while the refresh runs makes it fail:
    /// the session is checked again after the new token is minted.
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
        if let Some(end) = self.policy().session.session_end(claims.auth_time)
            && now.unix_timestamp() > end
        {
            tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "refresh refused: session lifetime over");
            return Err(Error::Unauthorized);
        }
        // Expired when every password the user holds has expired.
        if let Some(newest) = user.password_issue_date()
            && self.policy().expiry.is_expired(newest, now)
        {
            return Err(Error::PasswordExpired);
        }
        let session = self.continued_session(&claims);
        let session_id = claims.session_id();
        let issued = self.inner.tokens.mint_session(user, now, ttl, &session)?;
        // A logout may have revoked the session since the fresh check: read it again now that
        // the new token exists, and hand it out only if the session is still live. So a
        // returned token was minted before any revocation of its session, which is what lets
        // a logout bound how long it keeps the revocation (`Authenticator::logout`).
        if self.session_store()?.is_revoked(session_id).await? {
            tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "refresh refused: signed out meanwhile");
            return Err(Error::Unauthorized);
        }
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, jti = %issued.claims.jti, "token refreshed");
        Ok(issued)
    }

    async fn check_credentials(&self, username: &str, password: &Password) -> Result<Checked> {
        self.check_credentials_inner(username, password, false)
            .await
    }

    /// Authenticates HTTP Basic credentials of a users-API call: [`Authenticator::authorize`]
    /// with the default ttl, returning the claims of the token it would mint, except that a
    /// recent successful check of the same local username and password (in this process,
    /// within [`crate::BasicCacheConfig::ttl_secs`]) skips the argon2 evaluation.
    ///
    /// Everything else still runs on every call: the lookup, the lockout reservation and its
    /// settlement, the status and expiry checks. A remembered success is used only while the
    /// stored hash that matched is still one of the user's and the user's session epoch is
    /// the one read before that check; a locked or disabled account, a password change or
    /// removal, a re-hash, logout everywhere, and any role or status change that ends the
    /// user's sessions all make the next call a full check. Directory users are never
    /// remembered.
    ///
    /// # Errors
    /// As [`Authenticator::authorize`].
    pub async fn authenticate_basic(&self, username: &str, password: &Password) -> Result<Claims> {
        let checked = self
            .check_credentials_inner(username, password, true)
            .await?;
        // The identity of the call, not a token: nothing is signed.
        let (user, session, now) = self.open_session(&checked).await?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "basic credentials accepted");
        Ok(self
            .inner
            .tokens
            .session_claims(user, now, Ttl::DEFAULT, &session))
    }

    /// The shared credential check: admission, lookup, reservation (the gate), password,
    /// settlement, status. Every refusal is the same [`Error::Unauthorized`]; a successful
    /// check clears the failures (also for the password endpoints' `old_password`). With
    /// `basic`, the Basic-credential cache is consulted and fed.
    pub(super) async fn check_credentials_inner(
        &self,
        username: &str,
        password: &Password,
        basic: bool,
    ) -> Result<Checked> {
        if username.len() > MAX_USERNAME_LEN {
            return Err(Error::InvalidRequest("username too long".into()));
        }
        check_password_len(password)?;
        let username = normalize_username(username);
        // A remembered success needs no place in the hashing queue (it may still turn out
        // stale: then one is taken below).
        let cache = self.inner.basic_cache.as_ref().filter(|_| basic);
        let cache_key = cache
            .map(|c| c.credentials(&username, password))
            .transpose()?;
        let mut remembered = cache
            .zip(cache_key.as_ref())
            .and_then(|(c, k)| c.get(k, self.now()));
        // Admission first: a sign-in the hashing engine would refuse is refused here, in
        // microseconds, before any store I/O.
        let mut admission = match remembered {
            Some(_) => None,
            None => Some(self.admit_or_hold().await?),
        };
        // The user and its session epoch in one read, before the password is judged: the
        // epoch a new session carries (see `open_session`) and what a remembered success is
        // tied to.
        let (found, epoch) = match self.find_for_sign_in(&username).await? {
            Some((found, epoch)) => (Some(found), Some(epoch)),
            None => (None, None),
        };
        // Which stored password a remembered success stands for, if it still holds.
        let remembered_match = match (cache, remembered.take(), &found) {
            (Some(c), Some(entry), Some(f))
                if Some(entry.epoch) == epoch
                    && entry.uid == f.user.uid
                    && matches!(f.user.credentials, Credentials::Passwords(_)) =>
            {
                f.user
                    .passwords()
                    .iter()
                    .position(|p| c.stored(&p.hash).is_ok_and(|d| d == entry.hash))
            }
            _ => None,
        };
        if remembered_match.is_none() {
            if let (Some(c), Some(k)) = (cache, &cache_key) {
                c.remove(k);
            }
            if admission.is_none() {
                admission = Some(self.admit_or_hold().await?);
            }
        }
        let admit = |a: Option<Admission>| match a {
            Some(a) => Ok(a),
            None => self.inner.hashing.admit(),
        };
        // The attempt is counted before the password is judged: an unknown name on one of the
        // decoy keys, so that it costs the same reservation and settlement as a known one.
        let key = match &found {
            Some(f) => f.user.uid.clone(),
            None => self.decoy_key(&username),
        };
        let held = match self.gate(&key).await? {
            Gate::Granted(held) => held,
            Gate::Locked => {
                // The same work as a wrong password: one evaluation and one lockout write.
                if let (Some(c), Some(k)) = (cache, &cache_key) {
                    c.remove(k);
                }
                admit(admission)?.verify_dummy(password).await?;
                let now = self.now();
                self.inner
                    .lockout
                    .record_failure(&key, now, &self.policy().lockout)
                    .await?;
                tracing::info!(target: AUDIT_TARGET, uid = %key, "sign-in refused: account locked");
                return Err(Error::Unauthorized);
            }
            Gate::Refused => {
                drop(admission);
                tracing::debug!(target: AUDIT_TARGET, uid = %key, "sign-in refused: too many attempts in flight for this account");
                self.inner.waiters.refused();
                return Err(Error::Unauthorized);
            }
        };
        let (Some(found), Some(epoch)) = (found, epoch) else {
            admit(admission)?.verify_dummy(password).await?;
            held.settle(AttemptOutcome::Failure).await?;
            tracing::info!(target: AUDIT_TARGET, "sign-in failed: unknown user");
            return Err(Error::Unauthorized);
        };
        let uid = found.user.uid.clone();

        // The user as of the check (a directory answers with freshly resolved roles), the
        // index of the matching local password, and whether it needs a re-hash.
        let verified = match (&found.user.credentials, remembered_match) {
            (Credentials::Passwords(_), Some(i)) => {
                drop(admission);
                Some((found.user.clone(), Some(i), false))
            }
            (Credentials::Passwords(list), None) => {
                let hashes = list.iter().map(|p| p.hash.clone()).collect();
                let outcome = admit(admission)?.verify(password, hashes).await?;
                outcome
                    .matched
                    .map(|i| (found.user.clone(), Some(i), outcome.needs_rehash))
            }
            (Credentials::External, _) => {
                // The hashing slot is not held while the directory answers.
                drop(admission);
                // An outage is a 503 and never counts towards lockout.
                match found.store.verify_external(&found.user, password).await {
                    Ok(Some(user)) => Some((user, None, false)),
                    Ok(None) => {
                        // A refused bind costs what a wrong local password costs (one argon2
                        // evaluation on top of the directory's answer), so that its timing
                        // does not tell that the name exists in the directory (issue #8).
                        // The failure counts whatever becomes of that evaluation.
                        let dummy = match self.inner.hashing.admit() {
                            Ok(a) => a.verify_dummy(password).await,
                            Err(e) => Err(e),
                        };
                        if let Err(e) = dummy {
                            held.settle(AttemptOutcome::Failure).await?;
                            return Err(e);
                        }
                        None
                    }
                    Err(e) => {
                        held.settle(AttemptOutcome::Released).await?;
                        return Err(e);
                    }
                }
            }
        };
        let now = self.now();
        let Some((user, matched, needs_rehash)) = verified else {
            let state = held.settle(AttemptOutcome::Failure).await?;
            let failures = state.map_or(0, |s| s.failures);
            match state
                .filter(|s| s.is_locked(now))
                .and_then(|s| s.locked_until)
            {
                Some(LockedUntil::Time(until)) => {
                    tracing::warn!(target: AUDIT_TARGET, uid = %uid, failures, locked_until = %until, "account locked after failed sign-ins");
                }
                Some(LockedUntil::AdminReset) => {
                    tracing::warn!(target: AUDIT_TARGET, uid = %uid, failures, "account locked until an admin resets the password");
                }
                None => {
                    tracing::info!(target: AUDIT_TARGET, uid = %uid, failures, "sign-in failed: wrong password");
                }
            }
            return Err(Error::Unauthorized);
        };
        let state = held.settle(AttemptOutcome::Success).await?;
        let forget = || {
            if let (Some(c), Some(k)) = (cache, &cache_key) {
                c.remove(k);
            }
        };
        if state.is_some_and(|s| s.is_locked(now)) {
            // A lock reached while this check was in flight: the late success is refused.
            forget();
            tracing::info!(target: AUDIT_TARGET, uid = %uid, "sign-in refused: account locked");
            return Err(Error::Unauthorized);
        }
        if let (Some(i), true) = (matched, needs_rehash) {
            self.rehash(&found, i, password).await;
        }
        if user.status != UserStatus::Active {
            forget();
            tracing::info!(target: AUDIT_TARGET, uid = %uid, status = user.status.as_str(), "sign-in refused: account not active");
            return Err(Error::Unauthorized);
        }
        // Remember a full check's success (never a remembered one's: the time to live counts
        // from the last argon2 evaluation), unless the hash was just replaced by a re-hash.
        if let (Some(c), Some(k), Some(i), None, false) =
            (cache, cache_key, matched, remembered_match, needs_rehash)
            && let Some(p) = user.passwords().get(i)
            && let Ok(stored) = c.stored(&p.hash)
        {
            c.insert(k, uid.clone(), stored, epoch, now);
        }
        Ok(Checked {
            found: Found {
                user,
                store: found.store,
            },
            matched,
            epoch,
        })
    }

    /// Admission to the hashing engine at the start of a check, before any store I/O. A
    /// refusal is decided at once and answered after [`crate::SignInLimits::overload_hold`]
    /// (never longer than the `Retry-After` it announces).
    async fn admit_or_hold(&self) -> Result<Admission> {
        match self.inner.hashing.admit() {
            Ok(admission) => Ok(admission),
            Err(e) => {
                if let Error::Overloaded { retry_after } = &e {
                    // Never longer than the `Retry-After` the answer announces: whole seconds,
                    // at least one, also for a refusal by the queue's hard bound whose
                    // expected wait is next to nothing (which must be held all the same).
                    let announced = (*retry_after).max(Duration::from_secs(1));
                    let hold = self.inner.limits.overload_hold.min(announced);
                    if !hold.is_zero() {
                        tokio::time::sleep(hold).await;
                    }
                }
                Err(e)
            }
        }
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
