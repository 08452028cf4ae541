//! Password operations: replace, add and remove a password, and the checks on a new one.

use secrecy::ExposeSecret;

use super::{AUDIT_TARGET, Authenticator, check_password_len, password_id};
use crate::error::{Error, Result};
use crate::user::{Password, StoredPassword, User};

impl Authenticator {
    /// Replaces all of a user's passwords with `new` (Redis `PUT /v1/users/password`).
    /// `old` may be any current password, also an expired one.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for bad credentials; [`Error::NewPasswordSameAsCurrent`];
    /// [`Error::PasswordNotComplex`]; [`Error::Unsupported`] for directory users; store errors.
    pub async fn replace_passwords(
        &self,
        username: &str,
        old: &Password,
        new: &Password,
    ) -> Result<()> {
        let checked = self.check_credentials_inner(username, old, false).await?;
        let (user, admin) = (&checked.found.user, checked.found.admin()?);
        let stored = self.new_password(user, new).await?;
        admin.set_passwords(&user.uid, vec![stored]).await?;
        self.forget_basic(&user.uid);
        self.end_sessions_because(&user.uid, "passwords replaced")
            .await?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "passwords replaced");
        Ok(())
    }

    /// Adds `new` to a user's passwords (Redis `POST /v1/users/password`); both work until
    /// the old one is removed. A user holds at most [`crate::PasswordRules::max_passwords`]
    /// passwords (default 3).
    ///
    /// # Errors
    /// [`Error::TooManyPasswords`] when the user already holds that many; otherwise as
    /// [`Authenticator::replace_passwords`].
    pub async fn add_password(&self, username: &str, old: &Password, new: &Password) -> Result<()> {
        let checked = self.check_credentials_inner(username, old, false).await?;
        let (user, admin) = (&checked.found.user, checked.found.admin()?);
        let max = self.policy().passwords.max_passwords();
        // Refused before the hashing when already full; the store checks again atomically.
        if user.passwords().len() >= max {
            return Err(Error::TooManyPasswords);
        }
        let stored = self.new_password(user, new).await?;
        admin.add_password(&user.uid, stored, max).await?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "password added");
        Ok(())
    }

    /// Removes the password `old` from a user's passwords (Redis `DELETE /v1/users/password`).
    ///
    /// # Errors
    /// [`Error::CannotDeleteLastPassword`]; otherwise as
    /// [`Authenticator::replace_passwords`].
    pub async fn remove_password(&self, username: &str, old: &Password) -> Result<()> {
        let checked = self.check_credentials_inner(username, old, false).await?;
        let (user, admin) = (&checked.found.user, checked.found.admin()?);
        let removed = checked
            .matched
            .and_then(|i| user.passwords().get(i))
            .ok_or(Error::Unauthorized)?;
        admin.remove_password(&user.uid, &removed.hash).await?;
        self.forget_basic(&user.uid);
        // Tokens minted with the removed password now fail the fresh check (their `pwd` is no
        // longer held). Should a remaining password share its id (set at the same instant),
        // that check cannot tell them apart: end every session instead.
        let removed_id = password_id(&user.uid, removed.issued_at);
        if user
            .passwords()
            .iter()
            .filter(|p| p.hash != removed.hash)
            .any(|p| password_id(&user.uid, p.issued_at) == removed_id)
        {
            self.end_sessions_because(&user.uid, "password removed")
                .await?;
        }
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "password removed");
        Ok(())
    }

    /// The policy's rules for a new password of the user whose e-mail is `email`: the minimum
    /// length (also with complexity off), then complexity.
    pub(super) fn check_new_password(&self, new: &Password, email: &str) -> Result<()> {
        let policy = self.policy();
        policy.passwords.check(new.expose_secret())?;
        policy.complexity.check(new.expose_secret(), email)
    }

    /// Checks a new password for `user` and hashes it.
    pub(super) async fn new_password(&self, user: &User, new: &Password) -> Result<StoredPassword> {
        check_password_len(new)?;
        self.check_new_password(new, &user.email)?;
        let current = user.passwords().iter().map(|p| p.hash.clone()).collect();
        if self
            .inner
            .hashing
            .verify(new, current)
            .await?
            .matched
            .is_some()
        {
            return Err(Error::NewPasswordSameAsCurrent);
        }
        Ok(StoredPassword {
            hash: self.inner.hashing.hash(new).await?,
            issued_at: self.now(),
        })
    }
}
