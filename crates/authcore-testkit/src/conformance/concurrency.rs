//! Sign-in under concurrent and hostile use, through a real authenticator over the store:
//! at most `threshold` wrong passwords judged whatever arrives at once, valid sign-ins arriving
//! together all succeed, and an abandoned attempt counts.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
// Test support: a failed expectation is a panic, exactly as in `assert!`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use authcore_core::Clock as _;
use authcore_core::{
    AttemptOutcome, AuthPolicy, Authenticator, CreateUser, LockoutPolicy, LockoutState,
    LockoutStore, Reservation, ReservationPolicy, Reserve, Result, Role, Ttl, UserAdmin, UserId,
};
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use super::abandoned::a_sign_in_dropped_mid_check_stays_counted;
use crate::ManualClock;
use crate::fixtures::{authenticator, password, unique_email};

/// Runs every concurrency case.
pub async fn run_concurrency_suite(users: Arc<dyn UserAdmin>, lockout: Arc<dyn LockoutStore>) {
    wrong_guesses_together_judge_at_most_threshold(Arc::clone(&users), Arc::clone(&lockout), 40)
        .await;
    right_and_wrong_together_never_exceed_the_budget(Arc::clone(&users), Arc::clone(&lockout), 30)
        .await;
    right_sign_ins_together_all_succeed(Arc::clone(&users), Arc::clone(&lockout), 12).await;
    a_dead_reservation_counts_after_the_stale_time(Arc::clone(&users), Arc::clone(&lockout)).await;
    a_sign_in_dropped_mid_check_stays_counted(Arc::clone(&lockout)).await;
}

pub(super) const RIGHT: &str = "Right-Horse-7";
pub(super) const THRESHOLD: u32 = 3;

pub(super) fn policy() -> AuthPolicy {
    AuthPolicy {
        lockout: LockoutPolicy {
            threshold: THRESHOLD,
            duration_secs: 1800,
            counter_reset_after_secs: 900,
        },
        ..AuthPolicy::default()
    }
}

/// A lockout store that counts the attempts settled as failures: the wrong passwords (and
/// abandoned attempts) that were judged; and the reservations asked for.
#[derive(Debug)]
pub struct CountingLockout {
    inner: Arc<dyn LockoutStore>,
    reserves: AtomicUsize,
    failures_settled: AtomicU32,
    /// Failures whose settlement the inner store has completed.
    failures_written: tokio::sync::watch::Sender<u32>,
}

impl CountingLockout {
    /// Wraps a store.
    #[must_use]
    pub fn new(inner: Arc<dyn LockoutStore>) -> Self {
        Self {
            inner,
            reserves: AtomicUsize::new(0),
            failures_settled: AtomicU32::new(0),
            failures_written: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Waits until `n` failures have been settled in the inner store (also those settled on
    /// tasks of their own, as abandoned attempts are). Panics after 30 s: they never were.
    pub async fn wait_for_failures_written(&self, n: u32) {
        let mut rx = self.failures_written.subscribe();
        let waited =
            tokio::time::timeout(std::time::Duration::from_secs(30), rx.wait_for(|w| *w >= n))
                .await
                .map(|r| r.map(|_| ()));
        assert!(
            matches!(waited, Ok(Ok(()))),
            "{n} failures were never settled in the store (written: {})",
            *rx.borrow()
        );
    }

    /// Reservations asked for so far (whatever the store answered).
    #[must_use]
    pub fn reserves_asked(&self) -> usize {
        self.reserves.load(Ordering::SeqCst)
    }

    /// Reservations settled as failures so far.
    #[must_use]
    pub fn failures_settled(&self) -> u32 {
        self.failures_settled.load(Ordering::SeqCst)
    }
}

#[authcore_core::async_trait]
impl LockoutStore for CountingLockout {
    async fn state(&self, uid: &UserId) -> Result<Option<LockoutState>> {
        self.inner.state(uid).await
    }
    async fn record_failure(
        &self,
        uid: &UserId,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<LockoutState> {
        self.inner.record_failure(uid, now, policy).await
    }
    async fn reserve(
        &self,
        reservation: &Reservation,
        policy: &LockoutPolicy,
        reservations: &ReservationPolicy,
    ) -> Result<Reserve> {
        self.reserves.fetch_add(1, Ordering::SeqCst);
        self.inner.reserve(reservation, policy, reservations).await
    }
    async fn settle(
        &self,
        reservation: &Reservation,
        outcome: AttemptOutcome,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<Option<LockoutState>> {
        if outcome == AttemptOutcome::Failure {
            self.failures_settled.fetch_add(1, Ordering::SeqCst);
        }
        let settled = self.inner.settle(reservation, outcome, now, policy).await;
        if outcome == AttemptOutcome::Failure && settled.is_ok() {
            self.failures_written.send_modify(|n| *n += 1);
        }
        settled
    }
    async fn clear(&self, uid: &UserId) -> Result<()> {
        self.inner.clear(uid).await
    }

    fn sessions(&self) -> Option<&dyn authcore_core::SessionStore> {
        self.inner.sessions()
    }
}

async fn setup(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) -> (Authenticator, Arc<CountingLockout>, String, ManualClock) {
    let counting = Arc::new(CountingLockout::new(lockout));
    let clock = ManualClock::starting_now();
    let auth = authenticator(users, counting.clone(), &clock, policy()).unwrap();
    let email = unique_email("concurrent");
    auth.create_user_unchecked(CreateUser {
        email: email.clone(),
        password: password(RIGHT),
        name: None,
        role: Role::new("viewer"),
    })
    .await
    .unwrap();
    (auth, counting, email, clock)
}

/// Releases `guesses` sign-ins at the same instant ([`Barrier`]) and returns how many were
/// accepted, with `right_at` the index of the right password (if any).
pub(super) async fn burst(
    auth: &Authenticator,
    email: &str,
    n: usize,
    right_at: Option<usize>,
) -> Vec<bool> {
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (auth, email, barrier) = (auth.clone(), email.to_owned(), Arc::clone(&barrier));
        let pw = if Some(i) == right_at {
            RIGHT.to_owned()
        } else {
            format!("wrong-{i}")
        };
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            auth.authorize(&email, &password(&pw), Ttl::DEFAULT).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap().is_ok());
    }
    out
}

/// `n` wrong guesses released together: exactly `threshold` are judged, the account locks,
/// and then even the right password is refused.
pub async fn wrong_guesses_together_judge_at_most_threshold(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
    n: usize,
) {
    let (auth, counting, email, _clock) = setup(users, lockout).await;
    let accepted = burst(&auth, &email, n, None).await;
    assert!(accepted.iter().all(|ok| !ok));
    assert_eq!(
        counting.failures_settled(),
        THRESHOLD,
        "exactly threshold wrong guesses judged out of {n} sent at once"
    );
    let err = auth
        .authorize(&email, &password(RIGHT), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert_eq!(
        err.error_code(),
        "unauthorized",
        "locked: the right one is refused"
    );
    assert_eq!(
        counting.failures_settled(),
        THRESHOLD,
        "a locked account judges nothing"
    );
}

/// `n - 1` wrong guesses and the right one released together: the budget holds whatever the
/// order: at most `threshold` wrong ones judged before the right one (a success clears the
/// count, as in Redis), at most `threshold` after it.
pub async fn right_and_wrong_together_never_exceed_the_budget(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
    n: usize,
) {
    for trial in 0..3 {
        let (auth, counting, email, _clock) = setup(Arc::clone(&users), Arc::clone(&lockout)).await;
        let accepted = burst(&auth, &email, n, Some(n - 1 - trial)).await;
        let judged = counting.failures_settled();
        if accepted.iter().any(|ok| *ok) {
            assert!(
                judged < 2 * THRESHOLD,
                "trial {trial}: {judged} wrong guesses judged around one success"
            );
        } else {
            assert_eq!(
                judged, THRESHOLD,
                "trial {trial}: the right one came after the lock"
            );
        }
    }
}

/// `n` sign-ins with the right password released together all succeed: attempts beyond the
/// budget wait for those in flight instead of failing.
pub async fn right_sign_ins_together_all_succeed(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
    n: usize,
) {
    let (auth, counting, email, _clock) = setup(users, lockout).await;
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (auth, email, barrier) = (auth.clone(), email.clone(), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            auth.authorize(&email, &password(RIGHT), Ttl::DEFAULT).await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every valid sign-in succeeds");
    }
    assert_eq!(counting.failures_settled(), 0);
}

/// A reservation left by a process that died (never settled) holds a place of the budget, and
/// counts as a failure once older than the stale time: a crash never hands out extra guesses.
pub async fn a_dead_reservation_counts_after_the_stale_time(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let (auth, _counting, email, clock) = setup(users, Arc::clone(&lockout)).await;
    let uid = auth.list_users_as_operator().await.unwrap();
    let uid = uid
        .iter()
        .find(|u| u.email == email)
        .map(|u| match &u.uid {
            authcore_core::UidValue::Number(n) => UserId::from(*n),
            authcore_core::UidValue::Text(s) => UserId::new(s.clone()),
        })
        .unwrap();
    // Two attempts of a process that died mid-check.
    let stale = ReservationPolicy::default();
    for _ in 0..2 {
        let r = Reservation::new(uid.clone(), clock.now());
        assert_eq!(
            lockout
                .reserve(&r, &policy().lockout, &stale)
                .await
                .unwrap(),
            Reserve::Granted
        );
    }
    // One wrong guess now: 1 failure + 2 dead in flight use the whole budget.
    auth.authorize(&email, &password("wrong"), Ttl::DEFAULT)
        .await
        .unwrap_err();
    // After the stale time the dead ones count: three failures, locked.
    let secs = i64::try_from(stale.stale_after.as_secs()).unwrap();
    clock.advance(Duration::seconds(secs + 1));
    let err = auth
        .authorize(&email, &password(RIGHT), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "unauthorized");
    let state = lockout.state(&uid).await.unwrap().unwrap();
    assert!(state.is_locked(clock.now()), "{state:?}");
    assert!(state.failures >= THRESHOLD);
}
