//! The [`Authenticator`]: sign-in, tokens, refresh, password rotation and user administration.

use std::fmt;
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::hashing::{HashingConfig, HashingPool};
use crate::policy::{AuthPolicy, LockedUntil};
use crate::store::{LockoutStore, UserAdmin, UserStore};
use crate::token::{Claims, IssuedToken, KeyRing, TokenConfig, TokenIssuer, Ttl};
use crate::user::{
    Credentials, NewUser, Password, Role, StoredPassword, User, UserId, UserStatus, UserUpdate,
    normalize_username,
};

/// Longest password accepted, in bytes. Longer ones are an [`Error::InvalidRequest`] before
/// any lookup, so they reveal nothing about users.
pub const MAX_PASSWORD_LEN: usize = 4096;
/// Longest username (e-mail) accepted, in bytes.
pub const MAX_USERNAME_LEN: usize = 320;

/// The audit target of sign-in events (`tracing`): success, failure and lockout, with the
/// uid and never a secret.
pub const AUDIT_TARGET: &str = "authcore::audit";

/// Checks credentials against the stores, applies policy and issues tokens.
///
/// Cheap to clone: clones share the stores, the hashing pool and the key ring.
///
/// ```
/// # async fn demo(auth: authcore_core::Authenticator) -> authcore_core::Result<()> {
/// use authcore_core::{Password, Ttl};
/// let issued = auth
///     .authorize("ann@example.org", &Password::from("correct horse".to_owned()), Ttl::DEFAULT)
///     .await?;
/// let claims = auth.verify_token(&issued.token)?;
/// assert_eq!(claims.username, "ann@example.org");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    stores: Vec<Arc<dyn UserStore>>,
    lockout: Arc<dyn LockoutStore>,
    hashing: HashingPool,
    tokens: TokenIssuer,
    policy: AuthPolicy,
    clock: Arc<dyn Clock>,
    allowed_roles: Option<Vec<Role>>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("stores", &self.inner.stores)
            .field("lockout", &self.inner.lockout)
            .field("hashing", &self.inner.hashing)
            .field("tokens", &self.inner.tokens)
            .field("policy", &self.inner.policy)
            .field("clock", &self.inner.clock)
            .finish()
    }
}

/// Builds an [`Authenticator`].
#[derive(Debug, Default)]
pub struct AuthenticatorBuilder {
    stores: Vec<Arc<dyn UserStore>>,
    lockout: Option<Arc<dyn LockoutStore>>,
    hashing: Option<HashingConfig>,
    keys: Option<KeyRing>,
    token_config: TokenConfig,
    policy: AuthPolicy,
    clock: Option<Arc<dyn Clock>>,
    allowed_roles: Option<Vec<Role>>,
}

impl AuthenticatorBuilder {
    /// Adds a user store. Stores are consulted in the order added: the first that knows a
    /// username decides (local users before a directory, as Redis Enterprise does), and a
    /// failing store is an error, never skipped.
    #[must_use]
    pub fn store(mut self, store: Arc<dyn UserStore>) -> Self {
        self.stores.push(store);
        self
    }

    /// Sets where failed sign-ins are counted (required).
    #[must_use]
    pub fn lockout_store(mut self, store: Arc<dyn LockoutStore>) -> Self {
        self.lockout = Some(store);
        self
    }

    /// Sets the argon2 parameters and pool limits (default: [`HashingConfig::default`]).
    #[must_use]
    pub fn hashing(mut self, config: HashingConfig) -> Self {
        self.hashing = Some(config);
        self
    }

    /// Sets the signing and verification keys (required).
    #[must_use]
    pub fn keys(mut self, keys: KeyRing) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Sets the token issuer and leeway.
    #[must_use]
    pub fn token_config(mut self, config: TokenConfig) -> Self {
        self.token_config = config;
        self
    }

    /// Sets expiry, lockout and complexity policy (default: Redis's defaults).
    #[must_use]
    pub fn policy(mut self, policy: AuthPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the clock (default: [`SystemClock`]).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Restricts the roles user administration accepts (default: any non-empty string).
    #[must_use]
    pub fn allowed_roles<I, R>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.allowed_roles = Some(roles.into_iter().map(|r| Role::new(r)).collect());
        self
    }

    /// Builds the authenticator.
    ///
    /// # Errors
    /// [`Error::Configuration`] when no store, no lockout store or no keys were given, or a
    /// setting is out of range.
    pub fn build(self) -> Result<Authenticator> {
        let missing = |what: &str| Error::Configuration(format!("no {what} configured"));
        if self.stores.is_empty() {
            return Err(missing("user store"));
        }
        self.policy.lockout.validate()?;
        Ok(Authenticator {
            inner: Arc::new(Inner {
                stores: self.stores,
                lockout: self.lockout.ok_or_else(|| missing("lockout store"))?,
                hashing: HashingPool::new(self.hashing.unwrap_or_default())?,
                tokens: TokenIssuer::new(
                    self.keys.ok_or_else(|| missing("signing key"))?,
                    self.token_config,
                )?,
                policy: self.policy,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                allowed_roles: self.allowed_roles,
            }),
        })
    }
}

/// A user found in one of the stores, with the store that owns it.
struct Found {
    user: User,
    store: Arc<dyn UserStore>,
}

impl Found {
    /// The owning store's administration interface; directory users have none.
    fn admin(&self) -> Result<&dyn UserAdmin> {
        self.store.admin().ok_or(Error::Unsupported(
            "directory users are managed (and change passwords) in the directory",
        ))
    }
}

/// The result of checking a password against a found user.
struct Checked {
    found: Found,
    /// Index of the matching local password (`None` for directory users).
    matched: Option<usize>,
}

/// A new user, as an administrator asks for it (`POST /v1/users`).
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// E-mail, the login name.
    pub email: String,
    /// Initial password.
    pub password: Password,
    /// Display name; defaults to the e-mail.
    pub name: Option<String>,
    /// Role.
    pub role: Role,
}

/// Changes to a user (`PUT /v1/users/{uid}`); `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct UpdateUser {
    /// New e-mail (admin only).
    pub email: Option<String>,
    /// New display name (admin, or the user themself).
    pub name: Option<String>,
    /// New role (admin only).
    pub role: Option<Role>,
    /// New stored status (admin only).
    pub status: Option<UserStatus>,
    /// New password, replacing all current ones (admin, or the user themself). An admin reset
    /// also unlocks the account.
    pub password: Option<Password>,
}

/// A user as shown to clients: Redis Enterprise's user object, never with a password or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    /// The uid: a JSON number for local users, a string otherwise.
    pub uid: UidValue,
    /// E-mail (login name).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Effective status: `locked` while a lockout is in force.
    pub status: UserStatus,
    /// Latest password issue date, RFC 3339 in UTC (`2017-03-02T09:43:34Z`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_issue_date: Option<String>,
    /// `regular` for local users, `external` for directory users.
    pub auth_method: &'static str,
}

/// A uid as it appears in JSON: Redis's integer where possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum UidValue {
    /// A decimal uid.
    Number(u64),
    /// Any other uid.
    Text(String),
}

impl From<&UserId> for UidValue {
    fn from(uid: &UserId) -> Self {
        uid.as_u64()
            .map_or_else(|| Self::Text(uid.as_str().to_owned()), Self::Number)
    }
}

fn rfc3339(t: OffsetDateTime) -> Option<String> {
    t.replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
}

impl Authenticator {
    /// Starts building an authenticator.
    #[must_use]
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder::default()
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> &AuthPolicy {
        &self.inner.policy
    }

    /// The token issuer (keys, JWKS, issuer name).
    #[must_use]
    pub fn tokens(&self) -> &TokenIssuer {
        &self.inner.tokens
    }

    /// The hashing pool.
    #[must_use]
    pub fn hashing(&self) -> &HashingPool {
        &self.inner.hashing
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// Signs a user in (Redis `POST /v1/users/authorize`) and mints a token valid for `ttl`.
    ///
    /// # Errors
    /// - [`Error::Unauthorized`] for an unknown user, a wrong password, a disabled or locked
    ///   account (all alike, and at the same cost);
    /// - [`Error::PasswordExpired`] for a correct but expired password;
    /// - [`Error::InvalidRequest`] for an oversized username or password;
    /// - [`Error::Overloaded`] when the hashing queue is full;
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
        let issued = self.inner.tokens.mint(user, self.now(), ttl)?;
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
    /// the user still exists, is active, is not locked out and its password has not expired.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for a bad token; [`Error::Unauthorized`] when the user is gone,
    /// not active or locked; [`Error::PasswordExpired`]; [`Error::StoreUnavailable`].
    pub async fn refresh(&self, token: &str, ttl: Ttl) -> Result<IssuedToken> {
        let claims = self.verify_token(token)?;
        let found = self
            .find_by_uid(&claims.uid())
            .await?
            .ok_or(Error::Unauthorized)?;
        let user = &found.user;
        if user.status != UserStatus::Active || self.locked(&user.uid).await? {
            return Err(Error::Unauthorized);
        }
        let now = self.now();
        // Expired when every password the user holds has expired.
        if let Some(newest) = user.password_issue_date()
            && self.inner.policy.expiry.is_expired(newest, now)
        {
            return Err(Error::PasswordExpired);
        }
        let issued = self.inner.tokens.mint(user, now, ttl)?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, jti = %issued.claims.jti, "token refreshed");
        Ok(issued)
    }

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
        let checked = self.check_credentials_inner(username, old, true).await?;
        let (user, admin) = (&checked.found.user, checked.found.admin()?);
        let stored = self.new_password(user, new).await?;
        admin.set_passwords(&user.uid, vec![stored]).await?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "passwords replaced");
        Ok(())
    }

    /// Adds `new` to a user's passwords (Redis `POST /v1/users/password`); both work until
    /// the old one is removed.
    ///
    /// # Errors
    /// As [`Authenticator::replace_passwords`].
    pub async fn add_password(&self, username: &str, old: &Password, new: &Password) -> Result<()> {
        let checked = self.check_credentials_inner(username, old, true).await?;
        let (user, admin) = (&checked.found.user, checked.found.admin()?);
        let stored = self.new_password(user, new).await?;
        admin.add_password(&user.uid, stored).await?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "password added");
        Ok(())
    }

    /// Removes the password `old` from a user's passwords (Redis `DELETE /v1/users/password`).
    ///
    /// # Errors
    /// [`Error::CannotDeleteLastPassword`]; otherwise as
    /// [`Authenticator::replace_passwords`].
    pub async fn remove_password(&self, username: &str, old: &Password) -> Result<()> {
        let checked = self.check_credentials_inner(username, old, true).await?;
        let (user, admin) = (&checked.found.user, checked.found.admin()?);
        let hash = checked
            .matched
            .and_then(|i| user.passwords().get(i))
            .map(|p| p.hash.clone())
            .ok_or(Error::Unauthorized)?;
        admin.remove_password(&user.uid, &hash).await?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "password removed");
        Ok(())
    }

    /// Creates a user (Redis `POST /v1/users`, admin only) in the first store that manages
    /// users.
    ///
    /// Like every administration method, it checks the caller's *current* role in the store
    /// (the token only names the caller): a caller that no longer exists, is not active or is
    /// locked out gets [`Error::Unauthorized`].
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for a caller gone or not active; [`Error::Forbidden`] for a
    /// non-admin caller; [`Error::InvalidRequest`] for a bad e-mail,
    /// name or role; [`Error::PasswordNotComplex`]; the duplicate errors; store errors.
    pub async fn create_user(&self, caller: &Claims, new: CreateUser) -> Result<UserView> {
        self.current_admin(caller).await?;
        self.create_user_unchecked(new).await
    }

    /// Creates a user without an authorization check: for bootstrapping the first admin and
    /// for tests. Validation and complexity rules still apply.
    ///
    /// # Errors
    /// As [`Authenticator::create_user`], except [`Error::Forbidden`].
    pub async fn create_user_unchecked(&self, new: CreateUser) -> Result<UserView> {
        validate_email(&new.email)?;
        let name = new.name.unwrap_or_else(|| new.email.clone());
        validate_name(&name)?;
        self.validate_role(&new.role)?;
        check_password_len(&new.password)?;
        self.inner
            .policy
            .complexity
            .check(new.password.expose_secret(), &new.email)?;
        let stored = StoredPassword {
            hash: self.inner.hashing.hash(&new.password).await?,
            issued_at: self.now(),
        };
        let admin = self.admin_store()?;
        let user = admin
            .create_user(NewUser {
                email: new.email,
                name,
                role: new.role,
                status: UserStatus::Active,
                passwords: vec![stored],
            })
            .await?;
        tracing::info!(target: AUDIT_TARGET, uid = %user.uid, "user created");
        self.view(&user).await
    }

    /// Lists all users of the stores that manage users (admin only).
    ///
    /// # Errors
    /// [`Error::Forbidden`]; store errors.
    pub async fn list_users(&self, caller: &Claims) -> Result<Vec<UserView>> {
        self.current_admin(caller).await?;
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

    /// Shows one user (an admin, or the user themself).
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::NotFound`]; store errors.
    pub async fn get_user(&self, caller: &Claims, uid: &UserId) -> Result<UserView> {
        let caller = self.current_caller(caller).await?;
        if !caller.role.is_admin() && &caller.uid != uid {
            return Err(Error::Forbidden);
        }
        let found = self.find_by_uid(uid).await?.ok_or(Error::NotFound)?;
        self.view(&found.user).await
    }

    /// Updates a user (Redis `PUT /v1/users/{uid}`). An admin may change anything; a user may
    /// change their own name and password. An admin password reset unlocks the account. The
    /// last admin cannot be demoted.
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::NotFound`]; [`Error::ChangeLastAdminRoleNotAllowed`];
    /// [`Error::NewPasswordSameAsCurrent`]; [`Error::PasswordNotComplex`]; duplicates; store
    /// errors.
    pub async fn update_user(
        &self,
        caller: &Claims,
        uid: &UserId,
        update: UpdateUser,
    ) -> Result<UserView> {
        self.update_user_by(Some(caller), uid, update).await
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
        self.update_user_by(None, uid, update).await
    }

    /// `caller` is `None` for the operator of the host.
    async fn update_user_by(
        &self,
        caller: Option<&Claims>,
        uid: &UserId,
        update: UpdateUser,
    ) -> Result<UserView> {
        let is_admin = match caller {
            None => true,
            Some(caller) => {
                let caller = self.current_caller(caller).await?;
                let is_admin = caller.role.is_admin();
                let is_self = &caller.uid == uid;
                let admin_only =
                    update.email.is_some() || update.role.is_some() || update.status.is_some();
                if !is_admin && (!is_self || admin_only) {
                    return Err(Error::Forbidden);
                }
                is_admin
            }
        };
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
            if user.role.is_admin() && !role.is_admin() {
                self.ensure_other_admin(store).await?;
            }
        }
        let new_password = match &update.password {
            Some(p) => Some(self.new_password(user, p).await?),
            None => None,
        };
        let admin_reset = new_password.is_some() && is_admin;
        let mut status = update.status;
        if admin_reset && status.is_none() && user.status == UserStatus::Locked {
            status = Some(UserStatus::Active);
        }
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
        self.view(&updated).await
    }

    /// Deletes a user (admin only); the last admin cannot be deleted.
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::NotFound`]; [`Error::ChangeLastAdminRoleNotAllowed`];
    /// store errors.
    pub async fn delete_user(&self, caller: &Claims, uid: &UserId) -> Result<()> {
        self.current_admin(caller).await?;
        self.delete_user_as_operator(uid).await
    }

    /// Deletes a user on behalf of the operator of the host (see
    /// [`Authenticator::update_user_as_operator`]); the last admin cannot be deleted.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::ChangeLastAdminRoleNotAllowed`]; store errors.
    pub async fn delete_user_as_operator(&self, uid: &UserId) -> Result<()> {
        let found = self.find_by_uid(uid).await?.ok_or(Error::NotFound)?;
        let store = found.admin()?;
        if found.user.role.is_admin() {
            self.ensure_other_admin(store).await?;
        }
        if !store.delete_user(uid).await? {
            return Err(Error::NotFound);
        }
        self.inner.lockout.clear(uid).await?;
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

    // ---- internals ----

    /// The caller as the stores know it now. Administration decides on the caller's current
    /// role, not the role in its token, so a demoted, disabled, locked-out or deleted admin
    /// loses its rights at once instead of when its token expires.
    async fn current_caller(&self, claims: &Claims) -> Result<User> {
        let found = self
            .find_by_uid(&claims.uid())
            .await?
            .ok_or(Error::Unauthorized)?;
        if found.user.status != UserStatus::Active || self.locked(&found.user.uid).await? {
            return Err(Error::Unauthorized);
        }
        Ok(found.user)
    }

    async fn current_admin(&self, claims: &Claims) -> Result<User> {
        let caller = self.current_caller(claims).await?;
        if caller.role.is_admin() {
            Ok(caller)
        } else {
            Err(Error::Forbidden)
        }
    }

    async fn locked(&self, uid: &UserId) -> Result<bool> {
        let now = self.now();
        Ok(self
            .inner
            .lockout
            .state(uid)
            .await?
            .is_some_and(|s| s.is_locked(now)))
    }

    async fn find_by_username(&self, username: &str) -> Result<Option<Found>> {
        for store in &self.inner.stores {
            if let Some(user) = store.find_by_username(username).await? {
                return Ok(Some(Found {
                    user,
                    store: Arc::clone(store),
                }));
            }
        }
        Ok(None)
    }

    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<Found>> {
        for store in &self.inner.stores {
            if let Some(user) = store.find_by_uid(uid).await? {
                return Ok(Some(Found {
                    user,
                    store: Arc::clone(store),
                }));
            }
        }
        Ok(None)
    }

    fn admin_store(&self) -> Result<&dyn UserAdmin> {
        self.inner
            .stores
            .iter()
            .find_map(|s| s.admin())
            .ok_or(Error::Unsupported("no configured store manages users"))
    }

    fn validate_role(&self, role: &Role) -> Result<()> {
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

    /// Refuses to demote or delete an admin when it is the last one (the one being changed
    /// is counted, so another exists when there are two or more).
    async fn ensure_other_admin(&self, store: &dyn UserAdmin) -> Result<()> {
        if store.count_with_role(&Role::new(Role::ADMIN)).await? > 1 {
            Ok(())
        } else {
            Err(Error::ChangeLastAdminRoleNotAllowed)
        }
    }

    /// Checks a new password for `user` and hashes it.
    async fn new_password(&self, user: &User, new: &Password) -> Result<StoredPassword> {
        check_password_len(new)?;
        self.inner
            .policy
            .complexity
            .check(new.expose_secret(), &user.email)?;
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

    async fn check_credentials(&self, username: &str, password: &Password) -> Result<Checked> {
        self.check_credentials_inner(username, password, false)
            .await
    }

    /// The shared credential check: lookup, lockout, password, status. Every refusal is the
    /// same [`Error::Unauthorized`] after the same work.
    async fn check_credentials_inner(
        &self,
        username: &str,
        password: &Password,
        for_change: bool,
    ) -> Result<Checked> {
        if username.len() > MAX_USERNAME_LEN {
            return Err(Error::InvalidRequest("username too long".into()));
        }
        check_password_len(password)?;
        let username = normalize_username(username);
        let Some(found) = self.find_by_username(&username).await? else {
            self.inner.hashing.verify_dummy(password).await?;
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
                let outcome = self.inner.hashing.verify(password, hashes).await?;
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

fn check_password_len(password: &Password) -> Result<()> {
    if password.expose_secret().len() > MAX_PASSWORD_LEN {
        return Err(Error::InvalidRequest("password too long".into()));
    }
    Ok(())
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
