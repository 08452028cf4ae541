//! The [`LockoutStore`] reservation contract (`reserve` / `settle`, see
//! `authcore_core::lockout`): what every lockout store must pass, also under concurrency.
//!
//! Run by [`crate::conformance::run_lockout_suite`].
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use authcore_core::{
    AttemptOutcome, LockoutPolicy, LockoutStore, Reservation, ReservationPolicy, Reserve, UserId,
};
use time::OffsetDateTime;
use tokio::sync::Barrier;

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
}

fn key(tag: &str) -> UserId {
    UserId::new(format!(
        "reservation-{tag}-{}",
        uuid::Uuid::new_v4().simple()
    ))
}

const POLICY: LockoutPolicy = LockoutPolicy {
    threshold: 3,
    duration_secs: 600,
    counter_reset_after_secs: 300,
};

const STALE: ReservationPolicy = ReservationPolicy {
    stale_after: StdDuration::from_secs(60),
};

/// Runs every reservation case.
pub async fn run_reservation_suite(store: Arc<dyn LockoutStore>) {
    reservations_are_granted_within_the_budget(&*store).await;
    a_success_clears_but_never_a_lock(&*store).await;
    stale_reservations_count_as_failures(&*store).await;
    clear_keeps_reservations_in_flight(&*store).await;
    concurrent_reservations_grant_exactly_the_threshold(Arc::clone(&store), 40).await;
}

async fn reserve(
    store: &dyn LockoutStore,
    uid: &UserId,
    at: OffsetDateTime,
) -> (Reserve, Reservation) {
    let r = Reservation::new(uid.clone(), at);
    let answer = store.reserve(&r, &POLICY, &STALE).await.unwrap();
    (answer, r)
}

/// `failures + in_flight < threshold` grants; in-flight attempts make later ones `Busy`;
/// failures settled up to the threshold lock the account (`Locked`).
pub async fn reservations_are_granted_within_the_budget(store: &dyn LockoutStore) {
    let uid = key("budget");
    let mut held = Vec::new();
    for _ in 0..3 {
        let (answer, r) = reserve(store, &uid, t(0)).await;
        assert_eq!(answer, Reserve::Granted);
        held.push(r);
    }
    assert_eq!(reserve(store, &uid, t(0)).await.0, Reserve::Busy);
    assert_eq!(
        store.state(&uid).await.unwrap(),
        None,
        "nothing counted yet"
    );
    let s = store
        .settle(&held[0], AttemptOutcome::Failure, t(1), &POLICY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.failures, 1);
    assert_eq!(store.state(&uid).await.unwrap(), Some(s));
    assert_eq!(
        reserve(store, &uid, t(1)).await.0,
        Reserve::Busy,
        "1 failure + 2 in flight"
    );
    store
        .settle(&held[1], AttemptOutcome::Failure, t(2), &POLICY)
        .await
        .unwrap();
    let s = store
        .settle(&held[2], AttemptOutcome::Failure, t(3), &POLICY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.failures, 3);
    assert!(s.is_locked(t(3)));
    assert_eq!(reserve(store, &uid, t(4)).await.0, Reserve::Locked);
    // Settling the same reservation twice counts it once.
    let again = store
        .settle(&held[2], AttemptOutcome::Failure, t(5), &POLICY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.failures, 3);
    // The lock expires: budget again.
    assert_eq!(reserve(store, &uid, t(3 + 600)).await.0, Reserve::Granted);
}

/// A success clears the failures; a success settled after a lock was reached does not.
pub async fn a_success_clears_but_never_a_lock(store: &dyn LockoutStore) {
    let uid = key("success");
    let (_, wrong) = reserve(store, &uid, t(0)).await;
    let (_, right) = reserve(store, &uid, t(0)).await;
    store
        .settle(&wrong, AttemptOutcome::Failure, t(1), &POLICY)
        .await
        .unwrap();
    let after = store
        .settle(&right, AttemptOutcome::Success, t(2), &POLICY)
        .await
        .unwrap();
    assert_eq!(after, None, "a success clears the failures");
    assert_eq!(store.state(&uid).await.unwrap(), None);

    // Lock reached while a success is in flight (three failures recorded directly).
    let (answer, late) = reserve(store, &uid, t(10)).await;
    assert_eq!(answer, Reserve::Granted);
    for i in 0..3 {
        store
            .record_failure(&uid, t(11 + i), &POLICY)
            .await
            .unwrap();
    }
    let after = store
        .settle(&late, AttemptOutcome::Success, t(20), &POLICY)
        .await
        .unwrap()
        .unwrap();
    assert!(after.is_locked(t(20)), "a late success never clears a lock");
    assert_eq!(store.state(&uid).await.unwrap(), Some(after));
}

/// A reservation never settled (its process died) counts as a failure once older than
/// `stale_after`, and is not counted a second time if it is settled after all.
pub async fn stale_reservations_count_as_failures(store: &dyn LockoutStore) {
    let uid = key("stale");
    let (_, dead) = reserve(store, &uid, t(0)).await;
    let (_, dead2) = reserve(store, &uid, t(1)).await;
    // Still in flight just before the stale time: they hold the budget.
    let (answer, live) = reserve(store, &uid, t(59)).await;
    assert_eq!(answer, Reserve::Granted);
    assert_eq!(reserve(store, &uid, t(60)).await.0, Reserve::Busy);
    assert_eq!(store.state(&uid).await.unwrap(), None);
    store
        .settle(&live, AttemptOutcome::Failure, t(60), &POLICY)
        .await
        .unwrap();
    // Past the stale time of both: two more failures, three in all: locked.
    let (answer, _) = reserve(store, &uid, t(62)).await;
    assert_eq!(answer, Reserve::Locked);
    let s = store.state(&uid).await.unwrap().unwrap();
    assert_eq!(s.failures, 3, "each stale reservation counted once");
    assert!(s.is_locked(t(62)));
    for r in [&dead, &dead2] {
        let s = store
            .settle(r, AttemptOutcome::Failure, t(63), &POLICY)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.failures, 3, "a stale reservation is not counted twice");
    }
}

/// `clear` forgets failures and the lock, but attempts in flight still count.
pub async fn clear_keeps_reservations_in_flight(store: &dyn LockoutStore) {
    let uid = key("clear");
    let (_, a) = reserve(store, &uid, t(0)).await;
    let (_, _b) = reserve(store, &uid, t(0)).await;
    store
        .settle(&a, AttemptOutcome::Failure, t(1), &POLICY)
        .await
        .unwrap();
    store.clear(&uid).await.unwrap();
    assert_eq!(store.state(&uid).await.unwrap(), None);
    // `b` still holds one place of three.
    assert_eq!(reserve(store, &uid, t(2)).await.0, Reserve::Granted);
    assert_eq!(reserve(store, &uid, t(2)).await.0, Reserve::Granted);
    assert_eq!(reserve(store, &uid, t(2)).await.0, Reserve::Busy);
}

/// `n` reservations for one key released at the same instant (a [`Barrier`]): exactly
/// `threshold` are granted; then exactly `threshold` failures lock the key.
pub async fn concurrent_reservations_grant_exactly_the_threshold(
    store: Arc<dyn LockoutStore>,
    n: usize,
) {
    let uid = key("concurrent");
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (store, uid, barrier) = (Arc::clone(&store), uid.clone(), Arc::clone(&barrier));
        tasks.spawn(async move {
            barrier.wait().await;
            let r = Reservation::new(uid, t(0));
            let answer = store.reserve(&r, &POLICY, &STALE).await.expect("reserve");
            (answer, r)
        });
    }
    let mut granted = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (answer, r) = done.expect("task");
        match answer {
            Reserve::Granted => granted.push(r),
            Reserve::Busy => {}
            Reserve::Locked => panic!("nothing was counted yet"),
        }
    }
    assert_eq!(
        granted.len(),
        3,
        "exactly threshold reservations granted at once"
    );
    let barrier = Arc::new(Barrier::new(granted.len()));
    let mut tasks = tokio::task::JoinSet::new();
    for r in granted {
        let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
        tasks.spawn(async move {
            barrier.wait().await;
            store
                .settle(&r, AttemptOutcome::Failure, t(1), &POLICY)
                .await
                .expect("settle")
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    let s = store.state(&uid).await.unwrap().unwrap();
    assert_eq!(s.failures, 3);
    assert!(s.is_locked(t(1)));
    assert_eq!(
        store
            .reserve(&Reservation::new(uid, t(2)), &POLICY, &STALE)
            .await
            .unwrap(),
        Reserve::Locked
    );
}
