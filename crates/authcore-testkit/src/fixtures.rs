//! Ready-made pieces for tests: cheap hashing, a fixed key ring, unique names.

use std::sync::Arc;

use authcore_core::secrecy::SecretSlice;
use authcore_core::{
    AuthPolicy, Authenticator, HashingConfig, Key, KeyRing, LockoutStore, Password,
    PermissionPolicy, Result, UserStore,
};

use crate::ManualClock;

/// The cheapest argon2 parameters: tests check behaviour, not cost. Never use in production.
#[must_use]
pub fn fast_hashing() -> HashingConfig {
    HashingConfig::insecure_fast()
}

/// A fixed HS256 key ring (kid `test`). Never use in production: the secret is public.
///
/// # Errors
/// Never in practice; the signature follows [`KeyRing::new`].
pub fn test_keys() -> Result<KeyRing> {
    KeyRing::new(Key::hs256(
        "test",
        &SecretSlice::from(b"authcore-testkit-not-a-secret-32b".to_vec()),
    )?)
}

/// A password from a string.
#[must_use]
pub fn password(s: &str) -> Password {
    Password::from(s.to_owned())
}

/// An e-mail address no other test uses: `<prefix>-<random>@example.test`.
#[must_use]
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.test", uuid::Uuid::new_v4().simple())
}

/// An authenticator over the given stores with a manual clock, cheap hashing and the test
/// keys: the usual set-up for unit-testing a policy.
///
/// # Errors
/// Configuration errors from [`authcore_core::AuthenticatorBuilder::build`].
pub fn authenticator(
    users: Arc<dyn UserStore>,
    lockout: Arc<dyn LockoutStore>,
    clock: &ManualClock,
    policy: AuthPolicy,
) -> Result<Authenticator> {
    Authenticator::builder()
        .store(users)
        .lockout_store(lockout)
        .hashing(fast_hashing())
        .keys(test_keys()?)
        .clock(Arc::new(clock.clone()))
        .policy(policy)
        .build()
}

/// [`authenticator`] with a permission policy of the test's own (the default is
/// [`PermissionPolicy::redis`]).
///
/// # Errors
/// Configuration errors from [`authcore_core::AuthenticatorBuilder::build`].
pub fn authenticator_with(
    users: Arc<dyn UserStore>,
    lockout: Arc<dyn LockoutStore>,
    clock: &ManualClock,
    policy: AuthPolicy,
    permissions: PermissionPolicy,
) -> Result<Authenticator> {
    Authenticator::builder()
        .store(users)
        .lockout_store(lockout)
        .hashing(fast_hashing())
        .keys(test_keys()?)
        .clock(Arc::new(clock.clone()))
        .policy(policy)
        .permissions(permissions)
        .build()
}
