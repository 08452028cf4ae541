//! Sign-in guarantees that need more than one authenticator or a check that never ends: an
//! attempt whose caller went away mid-check counts (fail closed), and authenticators sharing
//! one lockout store (several processes on one database, or one directory) share one budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use authcore_core::Clock as _;
use authcore_core::{
    Authenticator, CreateUser, Credentials, LockoutStore, Password, Result, Role, Ttl, User,
    UserAdmin, UserId, UserStatus, UserStore,
};
use tokio::sync::{Barrier, Notify};

use super::concurrency::{CountingLockout, RIGHT, THRESHOLD, policy};
use crate::ManualClock;
use crate::fixtures::{authenticator, password, unique_email};

/// A directory of one user whose password check never ends (a bind that hangs): it signals
/// each check it enters, so a test can drop the sign-in future while its password is being
/// judged.
#[derive(Debug)]
struct StallingDirectory {
    user: User,
    entered: Notify,
    checks: AtomicU32,
}

#[authcore_core::async_trait]
impl UserStore for StallingDirectory {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok((username == self.user.email).then(|| self.user.clone()))
    }

    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        Ok((*uid == self.user.uid).then(|| self.user.clone()))
    }

    async fn verify_external(&self, _user: &User, _password: &Password) -> Result<Option<User>> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.entered.notify_one();
        std::future::pending().await
    }
}

/// `threshold` sign-ins, each dropped while its password is being judged (the caller went
/// away: a closed connection, a timeout): every one of them is settled as a failure, so the
/// account is locked after them exactly as after `threshold` wrong passwords, and the next
/// attempt is not judged at all.
pub async fn a_sign_in_dropped_mid_check_stays_counted(lockout: Arc<dyn LockoutStore>) {
    let email = unique_email("abandoned");
    let uid = UserId::new(format!("uid={email},ou=people,dc=example,dc=org"));
    let directory = Arc::new(StallingDirectory {
        user: User {
            uid: uid.clone(),
            email: email.clone(),
            name: None,
            role: Role::DB_VIEWER,
            status: UserStatus::Active,
            credentials: Credentials::External,
        },
        entered: Notify::new(),
        checks: AtomicU32::new(0),
    });
    let counting = Arc::new(CountingLockout::new(Arc::clone(&lockout)));
    let clock = ManualClock::starting_now();
    let auth = authenticator(directory.clone(), counting.clone(), &clock, policy()).unwrap();
    let any = password("whatever");
    for i in 0..THRESHOLD {
        let sign_in = auth.authorize(&email, &any, Ttl::DEFAULT);
        tokio::select! {
            biased;
            r = sign_in => panic!("attempt {i}: a check that never ends returned {r:?}"),
            () = directory.entered.notified() => {}
        }
        // `sign_in` was dropped by `select!` right there, its password check under way.
    }
    assert_eq!(directory.checks.load(Ordering::SeqCst), THRESHOLD);
    counting.wait_for_failures_written(THRESHOLD).await;
    let state = lockout
        .state(&uid)
        .await
        .unwrap()
        .expect("abandoned attempts leave lockout state");
    assert_eq!(state.failures, THRESHOLD, "{state:?}");
    assert!(state.is_locked(clock.now()), "{state:?}");
    // Locked: the next attempt is refused without reaching the directory.
    let next = auth
        .authorize(&email, &password("whatever"), Ttl::DEFAULT)
        .await;
    assert!(
        matches!(next, Err(authcore_core::Error::Unauthorized)),
        "{next:?}"
    );
    assert_eq!(directory.checks.load(Ordering::SeqCst), THRESHOLD);
    assert_eq!(counting.failures_settled(), THRESHOLD);
}

/// Sends `n` sign-ins for `username` released at the same instant ([`Barrier`]), spread in
/// turn over `auths` (authenticators sharing one lockout store, each behind its own
/// [`CountingLockout`]): wrong passwords, except `right` at index `right_at`. Returns whether
/// the right one was accepted and how many wrong ones were judged in all, after checking the
/// budget: with the right one accepted, fewer than `threshold` wrong ones before it and at
/// most `threshold` after it (a success clears the count, as in Redis), so fewer than
/// `2 * threshold`; otherwise exactly `threshold`.
///
/// # Panics
/// When the budget is exceeded (or a wrong password is accepted).
pub async fn guesses_across_authenticators_keep_the_budget(
    auths: &[(Authenticator, Arc<CountingLockout>)],
    username: &str,
    right: &str,
    n: usize,
    right_at: Option<usize>,
    threshold: u32,
) -> (bool, u32) {
    let before: u32 = auths.iter().map(|(_, c)| c.failures_settled()).sum();
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let auth = auths[i % auths.len()].0.clone();
        let (username, barrier) = (username.to_owned(), Arc::clone(&barrier));
        let pw = if Some(i) == right_at {
            right.to_owned()
        } else {
            format!("wrong-{i}")
        };
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            auth.authorize(&username, &password(&pw), Ttl::DEFAULT)
                .await
                .is_ok()
        }));
    }
    let mut accepted = Vec::new();
    for t in tasks {
        accepted.push(t.await.unwrap());
    }
    let judged = auths.iter().map(|(_, c)| c.failures_settled()).sum::<u32>() - before;
    for (i, ok) in accepted.iter().enumerate() {
        assert!(!ok || Some(i) == right_at, "wrong password {i} accepted");
    }
    let right_accepted = right_at.is_some_and(|i| accepted[i]);
    if right_accepted {
        assert!(
            judged < 2 * threshold,
            "{judged} wrong guesses judged around one success (threshold {threshold})"
        );
    } else {
        assert_eq!(
            judged,
            threshold,
            "{n} guesses on {} authenticators: exactly threshold judged",
            auths.len()
        );
    }
    (right_accepted, judged)
}

/// Two authenticators, each over its own store instance on one shared database (two
/// processes): `n` wrong guesses released together judge exactly `threshold`; then, on fresh
/// accounts, `n - 1` wrong and the right one (never among the first ten sent) released
/// together: the budget holds across both.
pub async fn two_authenticators_share_one_budget(
    a: (Arc<dyn UserAdmin>, Arc<dyn LockoutStore>),
    b: (Arc<dyn UserAdmin>, Arc<dyn LockoutStore>),
    n: usize,
) {
    assert!(n > 10, "the right password goes after the first ten");
    let clock = ManualClock::starting_now();
    let make = |users: Arc<dyn UserAdmin>, lockout: Arc<dyn LockoutStore>| {
        let counting = Arc::new(CountingLockout::new(lockout));
        let auth = authenticator(users, counting.clone(), &clock, policy()).unwrap();
        (auth, counting)
    };
    let auths = [make(a.0, a.1), make(b.0, b.1)];
    for trial in 0..4 {
        let email = unique_email("two-authenticators");
        auths[0]
            .0
            .create_user_unchecked(CreateUser {
                email: email.clone(),
                password: password(RIGHT),
                name: None,
                role: Role::DB_VIEWER,
            })
            .await
            .unwrap();
        // Trial 0: wrong guesses only; then the right one at a different place each time.
        let right_at = (trial > 0).then(|| n - 1 - 5 * (trial - 1));
        guesses_across_authenticators_keep_the_budget(
            &auths, &email, RIGHT, n, right_at, THRESHOLD,
        )
        .await;
    }
}
