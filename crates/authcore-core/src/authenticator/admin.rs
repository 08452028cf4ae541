//! User administration: create, list, show, update and delete users, and the client view.

use secrecy::ExposeSecret;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod import;

pub use import::{ImportOutcome, ImportPassword, ImportUser, OnConflict};

use super::{AUDIT_TARGET, Authenticator, MAX_USERNAME_LEN, check_password_len};
use crate::error::{Error, Result};
use crate::http::{CreateUser, UidValue, UpdateUser, UserView};
use crate::legacy_hash::{PasswordForm, RedisPrehashed, is_redis_prehash};
use crate::permission::{Access, Authorized, Grant};
use crate::store::UserAdmin;
use crate::token::Claims;
use crate::user::{
    Credentials, NewUser, Role, StoredPassword, User, UserId, UserStatus, UserUpdate,
};

impl Authenticator {
    /// Creates a user (Redis `POST /v1/users`, [`Access::CREATE_USER`]) in the first store
    /// that manages users.
    ///
    /// Like every administration method, it decides on the caller's *current* role in the
    /// store ([`Authenticator::decide`]; the token only names the caller): a caller that no
    /// longer exists or is not active gets [`Error::Unauthorized`].
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for a caller gone or not active; [`Error::Forbidden`] for a
    /// caller whose role lacks `create_new_user`; [`Error::InvalidRequest`] for a bad e-mail,
    /// name or role; [`Error::PasswordNotComplex`]; the duplicate errors; store errors.
    pub async fn create_user(&self, caller: &Claims, new: CreateUser) -> Result<UserView> {
        self.create_user_with(caller, new, PasswordForm::Plain)
            .await
    }

    /// [`Authenticator::create_user`] with the password in the given form (Redis's
    /// `password_hash_method`).
    ///
    /// # Errors
    /// As [`Authenticator::create_user`]; [`Error::InvalidRequest`] for a pre-hash that is not
    /// 64 hexadecimal digits or when no cluster name is configured.
    pub async fn create_user_with(
        &self,
        caller: &Claims,
        new: CreateUser,
        form: PasswordForm,
    ) -> Result<UserView> {
        let authorized = self.decide(caller, Access::CREATE_USER, None).await?;
        self.create_user_authorized(&authorized, new, form).await
    }

    /// [`Authenticator::create_user_with`] for a caller already let through by
    /// [`Authenticator::decide`] for [`Access::CREATE_USER`].
    ///
    /// # Errors
    /// As [`Authenticator::create_user_with`]; [`Error::Forbidden`] for a decision made for
    /// another access.
    pub async fn create_user_authorized(
        &self,
        authorized: &Authorized,
        new: CreateUser,
        form: PasswordForm,
    ) -> Result<UserView> {
        authorized.ensure_for(Access::CREATE_USER, None)?;
        self.create_user_unchecked_with(new, form).await
    }

    /// Creates a user without an authorization check: for bootstrapping the first admin and
    /// for tests. Validation and complexity rules still apply.
    ///
    /// # Errors
    /// As [`Authenticator::create_user`], except [`Error::Forbidden`].
    pub async fn create_user_unchecked(&self, new: CreateUser) -> Result<UserView> {
        self.create_user_unchecked_with(new, PasswordForm::Plain)
            .await
    }

    async fn create_user_unchecked_with(
        &self,
        new: CreateUser,
        form: PasswordForm,
    ) -> Result<UserView> {
        validate_email(&new.email)?;
        if let Some(name) = &new.name {
            validate_name(name)?;
        }
        self.validate_role(&new.role)?;
        check_password_len(&new.password)?;
        let stored = match form {
            PasswordForm::Plain => {
                self.check_new_password(&new.password, &new.email)?;
                StoredPassword {
                    hash: self.inner.hashing.hash(&new.password).await?,
                    issued_at: self.now(),
                }
            }
            PasswordForm::RedisPrehash => {
                self.prehashed_password(&new.email, &new.password).await?
            }
        };
        let admin = self.admin_store()?;
        let user = admin
            .create_user(NewUser {
                email: new.email,
                name: new.name,
                role: new.role,
                status: UserStatus::Active,
                passwords: vec![stored],
            })
            .await?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "user created");
        self.view(&user).await
    }

    /// Lists all users of the stores that manage users ([`Access::LIST_USERS`]).
    ///
    /// # Errors
    /// [`Error::Unauthorized`]; [`Error::Forbidden`]; store errors.
    pub async fn list_users(&self, caller: &Claims) -> Result<Vec<UserView>> {
        let authorized = self.decide(caller, Access::LIST_USERS, None).await?;
        self.list_users_authorized(&authorized).await
    }

    /// [`Authenticator::list_users`] for a caller already let through for
    /// [`Access::LIST_USERS`].
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a decision made for another access; store errors.
    pub async fn list_users_authorized(&self, authorized: &Authorized) -> Result<Vec<UserView>> {
        authorized.ensure_for(Access::LIST_USERS, None)?;
        self.list_users_as_operator().await
    }

    /// Lists all users of the stores that manage users, on behalf of the operator of the host
    /// (see [`Authenticator::update_user_as_operator`]).
    ///
    /// # Errors
    /// Store errors.
    pub async fn list_users_as_operator(&self) -> Result<Vec<UserView>> {
        let mut out = Vec::new();
        for store in &self.inner.stores {
            if let Some(admin) = store.admin() {
                for user in admin.list_users().await? {
                    out.push(self.view(&user).await?);
                }
            }
        }
        Ok(out)
    }

    /// Shows one user ([`Access::GET_USER`]: `view_user_info`, or the user themself).
    ///
    /// # Errors
    /// [`Error::Unauthorized`]; [`Error::Forbidden`]; [`Error::NotFound`]; store errors.
    pub async fn get_user(&self, caller: &Claims, uid: &UserId) -> Result<UserView> {
        let authorized = self.decide(caller, Access::GET_USER, Some(uid)).await?;
        self.get_user_authorized(&authorized, uid).await
    }

    /// [`Authenticator::get_user`] for a caller already let through for
    /// [`Access::GET_USER`] on `uid`.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a decision made for another access or user;
    /// [`Error::NotFound`]; store errors.
    pub async fn get_user_authorized(
        &self,
        authorized: &Authorized,
        uid: &UserId,
    ) -> Result<UserView> {
        authorized.ensure_for(Access::GET_USER, Some(uid))?;
        let found = self.find_by_uid(uid).await?.ok_or(Error::NotFound)?;
        self.view(&found.user).await
    }

    /// Updates a user (Redis `PUT /v1/users/{uid}`, [`Access::UPDATE_USER`]). A caller whose
    /// role holds `update_user` may change anything; a user may change their own name and
    /// password. An admin password reset unlocks the account. The last active admin can be
    /// neither demoted nor given another status (the admin invariant of [`UserAdmin`], enforced
    /// by the store atomically with the write).
    ///
    /// # Errors
    /// [`Error::Unauthorized`]; [`Error::Forbidden`]; [`Error::NotFound`];
    /// [`Error::ChangeLastAdminRoleNotAllowed`]; [`Error::NewPasswordSameAsCurrent`]; [`Error::PasswordNotComplex`]; duplicates; store
    /// errors.
    pub async fn update_user(
        &self,
        caller: &Claims,
        uid: &UserId,
        update: UpdateUser,
    ) -> Result<UserView> {
        self.update_user_with(caller, uid, update, PasswordForm::Plain)
            .await
    }

    /// [`Authenticator::update_user`] with the new password in the given form (Redis's
    /// `password_hash_method`). A pre-hash is computed over the user's e-mail as it is after
    /// the update.
    ///
    /// # Errors
    /// As [`Authenticator::update_user`]; [`Error::InvalidRequest`] for a pre-hash that is not
    /// 64 hexadecimal digits or when no cluster name is configured.
    pub async fn update_user_with(
        &self,
        caller: &Claims,
        uid: &UserId,
        update: UpdateUser,
        form: PasswordForm,
    ) -> Result<UserView> {
        let authorized = self.decide(caller, Access::UPDATE_USER, Some(uid)).await?;
        self.update_user_authorized(&authorized, uid, update, form)
            .await
    }

    /// [`Authenticator::update_user_with`] for a caller already let through for
    /// [`Access::UPDATE_USER`] on `uid`: granted by its own account ([`Grant::OwnAccount`]),
    /// it may change only the name and the password.
    ///
    /// # Errors
    /// As [`Authenticator::update_user_with`]; [`Error::Forbidden`] for a decision made for
    /// another access or user.
    pub async fn update_user_authorized(
        &self,
        authorized: &Authorized,
        uid: &UserId,
        update: UpdateUser,
        form: PasswordForm,
    ) -> Result<UserView> {
        authorized.ensure_for(Access::UPDATE_USER, Some(uid))?;
        let by_permission = authorized.grant() == Grant::Permission;
        let admin_only = update.email.is_some() || update.role.is_some() || update.status.is_some();
        if !by_permission && admin_only {
            return Err(Error::Forbidden);
        }
        self.update_user_by(by_permission, uid, update, form).await
    }

    /// Updates a user on behalf of the operator of the host (the `authcore user` commands,
    /// run on the database): an administrator's rights without a token, and every rule of
    /// [`Authenticator::update_user`] (validation, complexity, the last admin, a password
    /// reset unlocks).
    ///
    /// # Errors
    /// As [`Authenticator::update_user`], except [`Error::Forbidden`] and
    /// [`Error::Unauthorized`].
    pub async fn update_user_as_operator(
        &self,
        uid: &UserId,
        update: UpdateUser,
    ) -> Result<UserView> {
        self.update_user_by(true, uid, update, PasswordForm::Plain)
            .await
    }

    /// `is_admin`: by the `update_user` permission or as the operator of the host (a new
    /// password then unlocks the account).
    async fn update_user_by(
        &self,
        is_admin: bool,
        uid: &UserId,
        update: UpdateUser,
        form: PasswordForm,
    ) -> Result<UserView> {
        let found = self.find_by_uid(uid).await?.ok_or(Error::NotFound)?;
        let store = found.admin()?;
        let user = &found.user;
        if let Some(email) = &update.email {
            validate_email(email)?;
        }
        if let Some(name) = &update.name {
            validate_name(name)?;
        }
        if let Some(role) = &update.role {
            self.validate_role(role)?;
        }
        // The store refuses a change of the last active admin atomically with the write; this
        // early look only spares the hashing of a change that would be refused anyway.
        precheck_last_admin(store, user, update.role.as_ref(), update.status).await?;
        let new_password = match (&update.password, form) {
            (Some(p), PasswordForm::Plain) => Some(self.new_password(user, p).await?),
            (Some(p), PasswordForm::RedisPrehash) => {
                let username = update.email.as_deref().unwrap_or(&user.email);
                Some(self.prehashed_password(username, p).await?)
            }
            (None, _) => None,
        };
        let admin_reset = new_password.is_some() && is_admin;
        let mut status = update.status;
        if admin_reset && status.is_none() && user.status == UserStatus::Locked {
            status = Some(UserStatus::Active);
        }

        // A new password, role or status ends the user's sessions (the epoch advances after
        // the change, so no token minted before it passes the fresh check).
        let ends_sessions = new_password.is_some()
            || update.role.as_ref().is_some_and(|r| r != &user.role)
            || status.is_some_and(|s| s != user.status);
        let profile = UserUpdate {
            email: update.email,
            name: update.name,
            role: update.role,
            status,
        };
        let mut updated = if profile == UserUpdate::default() {
            user.clone()
        } else {
            store.update_user(uid, profile).await?
        };
        if let Some(stored) = new_password {
            store.set_passwords(uid, vec![stored]).await?;
            if admin_reset {
                self.inner.lockout.clear(uid).await?;
                tracing::info!(target: AUDIT_TARGET, uid = %uid, "password reset by an admin; account unlocked");
            }
            updated = store.find_by_uid(uid).await?.ok_or(Error::NotFound)?;
        }
        if ends_sessions {
            self.end_sessions_because(uid, "password, role or status changed")
                .await?;
        }
        self.view(&updated).await
    }

    /// Deletes a user ([`Access::DELETE_USER`]); the last active admin cannot be deleted.
    ///
    /// # Errors
    /// [`Error::Unauthorized`]; [`Error::Forbidden`]; [`Error::NotFound`];
    /// [`Error::ChangeLastAdminRoleNotAllowed`]; store errors.
    pub async fn delete_user(&self, caller: &Claims, uid: &UserId) -> Result<()> {
        let authorized = self.decide(caller, Access::DELETE_USER, Some(uid)).await?;
        self.delete_user_authorized(&authorized, uid).await
    }

    /// [`Authenticator::delete_user`] for a caller already let through for
    /// [`Access::DELETE_USER`] on `uid`.
    ///
    /// # Errors
    /// As [`Authenticator::delete_user`]; [`Error::Forbidden`] for a decision made for
    /// another access or user.
    pub async fn delete_user_authorized(
        &self,
        authorized: &Authorized,
        uid: &UserId,
    ) -> Result<()> {
        authorized.ensure_for(Access::DELETE_USER, Some(uid))?;
        self.delete_user_as_operator(uid).await
    }

    /// Deletes a user on behalf of the operator of the host (see
    /// [`Authenticator::update_user_as_operator`]); the last active admin cannot be deleted.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::ChangeLastAdminRoleNotAllowed`]; store errors.
    pub async fn delete_user_as_operator(&self, uid: &UserId) -> Result<()> {
        let found = self.find_by_uid(uid).await?.ok_or(Error::NotFound)?;
        let store = found.admin()?;
        // The store checks the admin invariant atomically with the delete.
        if !store.delete_user(uid).await? {
            return Err(Error::NotFound);
        }
        self.inner.lockout.clear(uid).await?;
        self.end_sessions_because(uid, "user deleted").await?;
        tracing::info!(target: AUDIT_TARGET, uid = %uid, "user deleted");
        Ok(())
    }

    /// Unlocks a user on behalf of the operator of the host (see
    /// [`Authenticator::update_user_as_operator`]): the failed sign-ins are forgotten and a
    /// stored `locked` status becomes `active` (a `disabled` user stays disabled).
    ///
    /// # Errors
    /// [`Error::NotFound`]; store errors.
    pub async fn unlock_user_as_operator(&self, uid: &UserId) -> Result<UserView> {
        let found = self.find_by_uid(uid).await?.ok_or(Error::NotFound)?;
        let mut user = found.user.clone();
        if user.status == UserStatus::Locked {
            user = found
                .admin()?
                .update_user(
                    uid,
                    UserUpdate {
                        status: Some(UserStatus::Active),
                        ..UserUpdate::default()
                    },
                )
                .await?;
            self.end_sessions_because(uid, "status changed").await?;
        }
        self.inner.lockout.clear(uid).await?;
        tracing::info!(target: AUDIT_TARGET, uid = %uid, "account unlocked by the operator");
        self.view(&user).await
    }

    /// Whether any user exists in a store that manages users (for bootstrapping the first
    /// admin).
    ///
    /// # Errors
    /// Store errors.
    pub async fn has_users(&self) -> Result<bool> {
        for store in &self.inner.stores {
            if let Some(admin) = store.admin()
                && !admin.is_empty().await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The client-facing view of a user, with its effective status.
    ///
    /// # Errors
    /// Lockout store errors.
    pub async fn view(&self, user: &User) -> Result<UserView> {
        let status = if user.status == UserStatus::Active && self.locked(&user.uid).await? {
            UserStatus::Locked
        } else {
            user.status
        };
        Ok(UserView {
            uid: UidValue::from(&user.uid),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role.clone(),
            status,
            password_issue_date: user.password_issue_date().and_then(rfc3339),
            auth_method: match user.credentials {
                Credentials::Passwords(_) => "regular",
                Credentials::External => "external",
            },
        })
    }

    /// Wraps a Redis pre-hash (hex SHA-256 of `username:clustername:password`) in argon2id,
    /// with the username and cluster name it was computed with. The complexity policy cannot
    /// apply: the password itself is not known.
    async fn prehashed_password(
        &self,
        username: &str,
        prehash: &crate::user::Password,
    ) -> Result<StoredPassword> {
        let cluster = self.inner.cluster_name.as_deref().ok_or_else(|| {
            Error::InvalidRequest(
                "password_hash_method \"1\" needs a cluster name (--cluster-name)".into(),
            )
        })?;
        let hex = prehash.expose_secret();
        if !is_redis_prehash(hex) {
            return Err(Error::InvalidRequest(
                "with password_hash_method \"1\" the password must be a SHA-256 in 64 hex digits"
                    .into(),
            ));
        }
        let inner = self
            .inner
            .hashing
            .hash(&crate::user::Password::from(hex.to_ascii_lowercase()))
            .await?;
        Ok(StoredPassword {
            hash: crate::user::PasswordHash::new(RedisPrehashed::wrap(
                username,
                cluster,
                inner.expose_phc(),
            )),
            issued_at: self.now(),
        })
    }

    /// The cluster name of Redis's password pre-hash, when configured.
    #[must_use]
    pub fn cluster_name(&self) -> Option<&str> {
        self.inner.cluster_name.as_deref()
    }

    // ---- internals ----

    fn admin_store(&self) -> Result<&dyn UserAdmin> {
        self.inner
            .stores
            .iter()
            .find_map(|s| s.admin())
            .ok_or(Error::Unsupported("no configured store manages users"))
    }

    pub(super) fn validate_role(&self, role: &Role) -> Result<()> {
        let ok = match &self.inner.allowed_roles {
            Some(allowed) => allowed.contains(role),
            None => !role.as_str().is_empty(),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidRequest(format!(
                "unknown role {:?}",
                role.as_str()
            )))
        }
    }
}

/// An early, advisory look at the admin invariant: refuses a role or status change that would
/// make `user`, an active admin, something else while it is the store's only active admin.
/// The store makes the same check atomically with the write ([`UserAdmin::update_user`]); this
/// one only spares work (hashing, a dry run's answer) for a change that would be refused.
pub(super) async fn precheck_last_admin(
    store: &dyn UserAdmin,
    user: &User,
    role: Option<&Role>,
    status: Option<UserStatus>,
) -> Result<()> {
    let stays = crate::user::counts_as_active_admin(
        role.unwrap_or(&user.role),
        status.unwrap_or(user.status),
    );
    if user.is_active_admin() && !stays && store.count_active_admins().await? <= 1 {
        Err(Error::ChangeLastAdminRoleNotAllowed)
    } else {
        Ok(())
    }
}

fn rfc3339(t: OffsetDateTime) -> Option<String> {
    t.replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
}

fn validate_email(email: &str) -> Result<()> {
    let ok = !email.is_empty()
        && email.len() <= MAX_USERNAME_LEN
        && email.is_ascii()
        && !email
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidRequest(
            "email must be non-empty printable ASCII without spaces".into(),
        ))
    }
}

fn validate_name(name: &str) -> Result<()> {
    // Redis: no non-ASCII and none of & < > ".
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.is_ascii()
        && !name
            .chars()
            .any(|c| matches!(c, '&' | '<' | '>' | '"') || c.is_ascii_control());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidRequest(
            "name must be 1-255 ASCII characters without & < > \"".into(),
        ))
    }
}
