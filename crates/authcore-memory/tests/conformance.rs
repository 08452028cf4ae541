//! The memory store runs the whole conformance suite.

use std::sync::Arc;

use authcore_memory::MemoryStore;
use authcore_testkit::conformance;

#[tokio::test]
async fn user_admin_suite() {
    conformance::run_user_admin_suite(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_suite() {
    conformance::run_lockout_suite(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_suite() {
    conformance::run_session_suite(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticator_session_suite() {
    let store = Arc::new(MemoryStore::new());
    conformance::run_authenticator_session_suite(store.clone(), store).await;
}

#[tokio::test]
async fn authenticator_suite() {
    let store = Arc::new(MemoryStore::new());
    conformance::run_authenticator_suite(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_invariant_suite() {
    conformance::run_admin_invariant_suite(Arc::new(MemoryStore::new())).await;
}

/// `find_fresh` and `find_for_sign_in` read their own session state only when given
/// themselves; given another store's, they read that one (the three- and two-read fallbacks).
#[tokio::test]
async fn find_fresh_reads_the_session_store_it_is_given() {
    use authcore_core::{
        NewUser, Role, SessionStore as _, UserAdmin as _, UserStatus, UserStore as _, is_same_store,
    };
    let (users, other) = (MemoryStore::new(), MemoryStore::new());
    let user = users
        .create_user(NewUser {
            email: "ann@example.test".into(),
            name: Some("Ann".into()),
            role: Role::DB_VIEWER,
            status: UserStatus::Active,
            passwords: Vec::new(),
        })
        .await
        .unwrap();
    assert!(is_same_store(&users, &users));
    assert!(!is_same_store(&users, &other));
    other.advance_epoch(&user.uid).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    other
        .revoke("s1", now + time::Duration::hours(1), now)
        .await
        .unwrap();
    let elsewhere = users
        .find_fresh(&user.uid, "s1", &other)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((elsewhere.epoch, elsewhere.revoked), (1, true));
    let here = users
        .find_fresh(&user.uid, "s1", &users)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((here.epoch, here.revoked), (0, false));
    // The same for a sign-in's read of the user with its epoch.
    let elsewhere = users
        .find_for_sign_in("ann@example.test", &other)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (elsewhere.user.uid.clone(), elsewhere.epoch),
        (user.uid.clone(), 1)
    );
    let here = users
        .find_for_sign_in("ann@example.test", &users)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((here.user, here.epoch), (user, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_suite() {
    conformance::run_settings_suite(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_authenticators_share_the_policy() {
    let store = Arc::new(MemoryStore::new());
    conformance::two_authenticators_share_the_policy(
        store.clone(),
        store.clone(),
        store.clone(),
        store,
    )
    .await;
}
