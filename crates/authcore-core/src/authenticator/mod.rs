//! The [`Authenticator`]: sign-in, tokens, refresh, password rotation and user administration.
//!
//! The builder and the shared lookups live here; `signin` holds the credential check,
//! sign-in and refresh, `passwords` the password operations, `admin` the user administration.

mod access;
mod admin;
mod basic_cache;
mod gate;
mod passwords;
mod sessions;
mod settings;
mod signin;

pub use admin::{ImportOutcome, ImportPassword, ImportUser, OnConflict};
pub use basic_cache::BasicCacheConfig;
pub use gate::SignInLimits;
pub use sessions::{FreshIdentity, password_id};
pub use settings::{MASKED_BIND_PASS, PolicySection};

use std::fmt;
use std::sync::Arc;

use secrecy::ExposeSecret;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::hashing::{HashingConfig, HashingPool};
use crate::permission::PermissionPolicy;
use crate::policy::AuthPolicy;
use crate::session::SessionStore;
use crate::settings::{DirectoryControl, SettingsStore};
use crate::store::{LockoutStore, UserAdmin, UserStore};
use crate::token::{KeyRing, TokenConfig, TokenIssuer};
use crate::user::{Password, Role, User, UserId};

/// Longest password accepted, in characters. Longer ones are an [`Error::InvalidRequest`] before
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
    /// The policy in force: copied out under the lock (never held across an await), swapped
    /// by [`Authenticator::refresh_settings`].
    policy: std::sync::RwLock<AuthPolicy>,
    clock: Arc<dyn Clock>,
    allowed_roles: Option<Vec<Role>>,
    permissions: PermissionPolicy,
    operations: Option<Arc<dyn crate::http::Operations>>,
    cluster_name: Option<String>,
    sessions: Option<Arc<dyn SessionStore>>,
    limits: SignInLimits,
    waiters: gate::Waiters,
    settings: settings::RuntimeSettings,
    decoy_hasher: std::collections::hash_map::RandomState,
    basic_cache: Option<basic_cache::BasicCache>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("stores", &self.inner.stores)
            .field("lockout", &self.inner.lockout)
            .field("hashing", &self.inner.hashing)
            .field("tokens", &self.inner.tokens)
            .field("policy", &self.policy())
            .field("permissions", &self.inner.permissions)
            .field("clock", &self.inner.clock)
            .field("basic_cache", &self.inner.basic_cache)
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
    permissions: Option<PermissionPolicy>,
    operations: Option<Arc<dyn crate::http::Operations>>,
    cluster_name: Option<String>,
    sessions: Option<Arc<dyn SessionStore>>,
    limits: SignInLimits,
    basic_cache: BasicCacheConfig,
    settings_store: Option<Arc<dyn SettingsStore>>,
    directory: Option<Arc<dyn DirectoryControl>>,
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

    /// Sets where session state lives (epochs, revoked tokens). Default: the lockout
    /// store's ([`LockoutStore::sessions`]); building fails when neither exists.
    #[must_use]
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(store);
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

    /// Sets who may do what (default: [`PermissionPolicy::redis`]). Every route of the users
    /// API and every administration method decides with it, on the caller's current role.
    #[must_use]
    pub fn permissions(mut self, policy: PermissionPolicy) -> Self {
        self.permissions = Some(policy);
        self
    }

    /// Fills the operations routes (`/livez`, `/readyz`, `/metrics`) with the embedding
    /// server's readiness checks and metrics (default: none, and those routes are 404).
    #[must_use]
    pub fn operations(mut self, operations: Arc<dyn crate::http::Operations>) -> Self {
        self.operations = Some(operations);
        self
    }

    /// Sets the sign-in gate's limits: how long and how many attempts wait for the lockout
    /// budget, and when an unsettled reservation counts as a failure (default:
    /// [`SignInLimits::default`]).
    #[must_use]
    pub fn sign_in_limits(mut self, limits: SignInLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the cache of recent successful Basic-credential checks (default:
    /// [`BasicCacheConfig::default`], 1024 entries for 60 s; [`BasicCacheConfig::OFF`] turns
    /// it off). A remembered success skips only the argon2 evaluation of
    /// [`Authenticator::authenticate_basic`]; see that method for what is still checked.
    #[must_use]
    pub fn basic_cache(mut self, config: BasicCacheConfig) -> Self {
        self.basic_cache = config;
        self
    }

    /// Sets the cluster name of Redis's password pre-hash (`password_hash_method: "1"`:
    /// SHA-256 of `username:clustername:password`). Without it, pre-hashed passwords are
    /// refused.
    #[must_use]
    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_name = Some(name.into());
        self
    }

    /// Keeps the run-time settings (policy, LDAP configuration and mappings) in `store`:
    /// the policy given with [`AuthenticatorBuilder::policy`] then provides the defaults of
    /// fields the store has no value for, and `/v1/cluster*` and `/v1/ldap_mappings` are
    /// served. Load the store with [`Authenticator::seed_settings`] or
    /// [`Authenticator::refresh_settings`] after building.
    #[must_use]
    pub fn settings_store(mut self, store: Arc<dyn SettingsStore>) -> Self {
        self.settings_store = Some(store);
        self
    }

    /// Sets what checks `ldap` objects and rebuilds the directory when the stored LDAP
    /// settings change (without it `/v1/cluster/ldap` refuses to store an `ldap` object).
    #[must_use]
    pub fn directory_control(mut self, control: Arc<dyn DirectoryControl>) -> Self {
        self.directory = Some(control);
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
        if self.sessions.is_none()
            && self
                .lockout
                .as_ref()
                .is_some_and(|l| l.sessions().is_none())
        {
            return Err(missing("session store (the lockout store keeps none)"));
        }
        if self.limits.poll_interval < std::time::Duration::from_millis(1)
            || self.limits.max_waiters_per_account == 0
        {
            return Err(Error::Configuration(
                "sign-in limits: poll_interval must be at least 1 ms and max_waiters at least 1"
                    .into(),
            ));
        }
        Ok(Authenticator {
            inner: Arc::new(Inner {
                stores: self.stores,
                lockout: self.lockout.ok_or_else(|| missing("lockout store"))?,
                hashing: HashingPool::new(self.hashing.unwrap_or_default())?,
                tokens: TokenIssuer::new(
                    self.keys.ok_or_else(|| missing("signing key"))?,
                    self.token_config,
                )?,
                policy: std::sync::RwLock::new(self.policy),
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                allowed_roles: self.allowed_roles,
                permissions: self.permissions.unwrap_or_default(),
                operations: self.operations,
                cluster_name: self.cluster_name,
                sessions: self.sessions,
                limits: self.limits,
                waiters: gate::Waiters::default(),
                settings: settings::RuntimeSettings::new(
                    self.policy,
                    self.settings_store,
                    self.directory,
                ),
                decoy_hasher: std::collections::hash_map::RandomState::new(),
                basic_cache: basic_cache::BasicCache::new(self.basic_cache)?,
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
    /// The user's session epoch, read with the user before the password was judged
    /// ([`UserStore::find_for_sign_in`]): the generation a session opened by this check
    /// carries.
    epoch: u64,
}

impl Authenticator {
    /// Starts building an authenticator.
    #[must_use]
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder::default()
    }

    /// The policy in force (a copy: run-time settings may replace it at any time).
    #[must_use]
    pub fn policy(&self) -> AuthPolicy {
        *self
            .inner
            .policy
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The roles user administration accepts ([`AuthenticatorBuilder::allowed_roles`];
    /// `None`: any non-empty name).
    #[must_use]
    pub fn allowed_roles(&self) -> Option<&[Role]> {
        self.inner.allowed_roles.as_deref()
    }

    /// The operations hooks, when the embedding server set them.
    #[must_use]
    pub fn operations(&self) -> Option<&Arc<dyn crate::http::Operations>> {
        self.inner.operations.as_ref()
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

    /// Drops the remembered Basic-credential successes of `uid` in this process (its
    /// passwords or sessions changed). Other processes find out on their next hit: the hash
    /// or the epoch no longer matches.
    fn forget_basic(&self, uid: &UserId) {
        if let Some(c) = &self.inner.basic_cache {
            c.forget_user(uid);
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

    /// The user named `username` from the first store that knows it, with the user's
    /// session epoch read with it (one round trip where the store keeps the session state
    /// too: [`UserStore::find_for_sign_in`]).
    async fn find_for_sign_in(&self, username: &str) -> Result<Option<(Found, u64)>> {
        let sessions = self.session_store()?;
        for store in &self.inner.stores {
            if let Some(record) = store.find_for_sign_in(username, sessions).await? {
                return Ok(Some((
                    Found {
                        user: record.user,
                        store: Arc::clone(store),
                    },
                    record.epoch,
                )));
            }
        }
        Ok(None)
    }

    /// The user `uid` with its session state, from the first store that knows it (one round
    /// trip where the store keeps the session state too: [`UserStore::find_fresh`]).
    async fn find_fresh(
        &self,
        uid: &UserId,
        session_id: &str,
        sessions: &dyn crate::session::SessionStore,
    ) -> Result<(crate::store::FreshRecord, Arc<dyn UserStore>)> {
        for store in &self.inner.stores {
            if let Some(record) = store.find_fresh(uid, session_id, sessions).await? {
                return Ok((record, Arc::clone(store)));
            }
        }
        Err(Error::Unauthorized)
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
}

fn check_password_len(password: &Password) -> Result<()> {
    if password
        .expose_secret()
        .chars()
        .nth(MAX_PASSWORD_LEN)
        .is_some()
    {
        return Err(Error::InvalidRequest("password too long".into()));
    }
    Ok(())
}
