//! Set-up shared by the in-process integration tests (included with `mod support;`, as
//! `server_harness` is by the tests that run the real server).

use std::sync::Arc;

use authcore::{AuthPolicy, Authenticator, AuthenticatorBuilder};
use authcore_memory::MemoryStore;
use authcore_testkit::{ManualClock, fixtures};

/// An authenticator builder over `store` (users, lockouts and settings) with the real
/// directory control (`authcore-ldap`'s), fast hashing, the test keys, a manual clock and the
/// default policy; the caller adds what its test varies (roles, permissions) and builds.
pub fn directory_builder(store: &Arc<MemoryStore>) -> AuthenticatorBuilder {
    Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .settings_store(store.clone())
        .directory_control(Arc::new(authcore_ldap::ReloadableLdapStore::new()))
        .hashing(fixtures::fast_hashing())
        .keys(fixtures::test_keys().unwrap())
        .clock(Arc::new(ManualClock::starting_now()))
        .policy(AuthPolicy::default())
}
