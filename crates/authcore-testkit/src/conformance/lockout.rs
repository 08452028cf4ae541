//! The [`LockoutStore`] suite.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
// Test support: a failed expectation is a panic, exactly as in `assert!`.

use std::sync::Arc;

use authcore_core::{LockedUntil, LockoutPolicy, LockoutStore, UserId};

use super::t;

/// Runs every [`LockoutStore`] case.
pub async fn run_lockout_suite(store: Arc<dyn LockoutStore>) {
    lockout_follows_the_reference_semantics(&*store).await;
    lockout_until_admin_reset(&*store).await;
    lockout_clear_forgets(&*store).await;
    lockout_keys_are_independent(&*store).await;
    concurrent_failures_count_exactly(Arc::clone(&store), 200).await;
    super::run_reservation_suite(Arc::clone(&store)).await;
    super::reservations_follow_the_reference(&*store).await;
}

fn lockout_key(tag: &str) -> UserId {
    UserId::new(format!(
        "conformance-{tag}-{}",
        uuid::Uuid::new_v4().simple()
    ))
}

/// The store's answers match [`LockoutPolicy::next_state`] step by step: counting, locking at
/// the threshold, counting on while locked, the counter reset after a quiet period and a new
/// count after the lock expires.
pub async fn lockout_follows_the_reference_semantics(store: &dyn LockoutStore) {
    let policy = LockoutPolicy {
        threshold: 3,
        duration_secs: 600,
        counter_reset_after_secs: 60,
    };
    let key = lockout_key("reference");
    assert_eq!(store.state(&key).await.unwrap(), None);
    // Failures at these offsets: two, a quiet period (reset), three (lock), one while locked,
    // then one after the lock expired.
    let times = [0, 30, 200, 210, 220, 300, 1000];
    let mut model = None;
    for secs in times {
        let now = t(secs);
        let expected = policy.next_state(model.as_ref(), now);
        let got = store.record_failure(&key, now, &policy).await.unwrap();
        assert_eq!(got, expected, "after a failure at +{secs}s");
        assert_eq!(store.state(&key).await.unwrap(), Some(expected));
        model = Some(expected);
    }
    let last = model.unwrap();
    assert_eq!(last.failures, 1, "a new count after the lock expired");
}

/// With `login_lockout_duration` 0 the lock has no end.
pub async fn lockout_until_admin_reset(store: &dyn LockoutStore) {
    let policy = LockoutPolicy {
        threshold: 2,
        duration_secs: 0,
        counter_reset_after_secs: 900,
    };
    let key = lockout_key("forever");
    store.record_failure(&key, t(0), &policy).await.unwrap();
    let s = store.record_failure(&key, t(1), &policy).await.unwrap();
    assert_eq!(s.locked_until, Some(LockedUntil::AdminReset));
    let s = store.state(&key).await.unwrap().unwrap();
    assert!(s.is_locked(t(10 * 365 * 86_400)));
    store.clear(&key).await.unwrap();
    assert_eq!(store.state(&key).await.unwrap(), None);
}

/// `clear` forgets failures and the lock.
pub async fn lockout_clear_forgets(store: &dyn LockoutStore) {
    let policy = LockoutPolicy {
        threshold: 1,
        ..LockoutPolicy::DEFAULT
    };
    let key = lockout_key("clear");
    let s = store.record_failure(&key, t(0), &policy).await.unwrap();
    assert!(s.is_locked(t(0)));
    store.clear(&key).await.unwrap();
    assert_eq!(store.state(&key).await.unwrap(), None);
    store.clear(&key).await.unwrap();
    let s = store.record_failure(&key, t(1), &policy).await.unwrap();
    assert_eq!(s.failures, 1);
}

/// One user's failures do not touch another's.
pub async fn lockout_keys_are_independent(store: &dyn LockoutStore) {
    let (a, b) = (lockout_key("a"), lockout_key("b"));
    let p = LockoutPolicy::DEFAULT;
    store.record_failure(&a, t(0), &p).await.unwrap();
    store.record_failure(&a, t(1), &p).await.unwrap();
    assert_eq!(store.state(&b).await.unwrap(), None);
    assert_eq!(
        store.record_failure(&b, t(2), &p).await.unwrap().failures,
        1
    );
    // Keys are arbitrary text: directory users are keyed by DN.
    let dn = UserId::new(format!(
        "uid=o'brien\\2c x,ou=people,dc=example,dc=org-{}",
        uuid::Uuid::new_v4().simple()
    ));
    assert_eq!(
        store.record_failure(&dn, t(0), &p).await.unwrap().failures,
        1
    );
}

/// `n` concurrent failures for one user count exactly `n` and lock the account.
pub async fn concurrent_failures_count_exactly(store: Arc<dyn LockoutStore>, n: u32) {
    let policy = LockoutPolicy {
        threshold: 5,
        ..LockoutPolicy::DEFAULT
    };
    let key = lockout_key("concurrent");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let store = Arc::clone(&store);
        let key = key.clone();
        tasks.spawn(async move {
            store
                .record_failure(&key, t(i64::from(i % 10)), &policy)
                .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task").expect("record_failure");
    }
    let s = store.state(&key).await.unwrap().unwrap();
    assert_eq!(s.failures, n, "every concurrent failure is counted once");
    assert!(s.is_locked(t(10)));
}
