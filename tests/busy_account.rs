//! Many sign-ins on one account at the same instant (a service opening hundreds of
//! connections with its right password, or a flood on one name): with the default limits every
//! right one gets a token (they wait their turn behind the lockout budget, woken one by one,
//! not all at each settlement); beyond the waiter cap an attempt is refused unjudged at once,
//! counted, and reported in aggregate (one log line a second, not one per refusal).
//!
//! Kept in a test binary of its own: it captures logs (see `authcore_testkit::logs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use authcore::memory::MemoryStore;
use authcore::{
    AuthPolicy, Authenticator, CreateUser, Credentials, Error, LockoutPolicy, Result, Role,
    SignInLimits, Ttl, User, UserId, UserStatus, UserStore,
};
use authcore_testkit::fixtures::{fast_hashing, password, test_keys};
use authcore_testkit::logs::LogCapture;
use secrecy::ExposeSecret;
use tokio::sync::{Barrier, Semaphore};

/// 300 right sign-ins on one account released together, default limits (lockout threshold 5,
/// so at most 5 in flight): every one gets a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_right_sign_ins_on_one_account_all_get_tokens() {
    let store = Arc::new(MemoryStore::new());
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store)
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .build()
        .unwrap();
    auth.create_user_unchecked(CreateUser {
        email: "service@example.org".into(),
        password: password("service-pass"),
        name: None,
        role: Role::DB_VIEWER,
    })
    .await
    .unwrap();
    let n = 300;
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (auth, barrier) = (auth.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                auth.authorize(
                    "service@example.org",
                    &password("service-pass"),
                    Ttl::DEFAULT,
                )
                .await
                .map(|_| ())
            })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        if task.await.unwrap().is_err() {
            refused += 1;
        }
    }
    assert_eq!(refused, 0, "right sign-ins refused because of each other");
    assert_eq!(auth.busy_refusals(), 0);
}

/// A directory whose binds for `held@example.org` wait until the test lets them through, so
/// an attempt stays in flight as long as the test wants.
#[derive(Debug)]
struct SlowDirectory {
    open: Arc<Semaphore>,
}

#[async_trait]
impl UserStore for SlowDirectory {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok((username == "held@example.org").then(held))
    }
    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        Ok((uid.as_str() == "dir:held").then(held))
    }
    async fn verify_external(
        &self,
        user: &User,
        password: &authcore::Password,
    ) -> Result<Option<User>> {
        let permit = self
            .open
            .acquire()
            .await
            .map_err(|e| Error::store(e.to_string()))?;
        permit.forget();
        Ok((password.expose_secret() == "held-pass").then(|| user.clone()))
    }
}

fn held() -> User {
    User {
        uid: UserId::new("dir:held"),
        email: "held@example.org".into(),
        name: None,
        role: Role::DB_VIEWER,
        status: UserStatus::Active,
        credentials: Credentials::External,
    }
}

/// Lockout threshold 1 (one attempt in flight) and a cap of 3 waiters: with one attempt held
/// in flight and 3 waiting, every further attempt is refused unjudged at once with the
/// generic 401, counted, and the refusals are reported in aggregate. Once the held attempt
/// is let through, the waiters get their turn, one after the other.
#[tokio::test(flavor = "current_thread")]
async fn beyond_the_waiter_cap_attempts_are_refused_counted_and_reported_in_aggregate() {
    let logs = LogCapture::new();
    let _guard = logs.set_default();
    let local = Arc::new(MemoryStore::new());
    let open = Arc::new(Semaphore::new(0));
    let auth = Authenticator::builder()
        .store(local.clone())
        .store(Arc::new(SlowDirectory { open: open.clone() }))
        .lockout_store(local)
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .sign_in_limits(SignInLimits {
            max_waiters_per_account: 3,
            busy_wait: Duration::from_secs(30),
            ..SignInLimits::default()
        })
        .policy(AuthPolicy {
            lockout: LockoutPolicy {
                threshold: 1,
                ..LockoutPolicy::default()
            },
            ..AuthPolicy::default()
        })
        .build()
        .unwrap();
    let attempt = |auth: &Authenticator| {
        let auth = auth.clone();
        tokio::spawn(async move {
            auth.authorize("held@example.org", &password("held-pass"), Ttl::DEFAULT)
                .await
                .map(|_| ())
        })
    };
    // One in flight (its bind waits), three waiting.
    let in_flight: Vec<_> = (0..4).map(|_| attempt(&auth)).collect();
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    // Every further attempt is refused at once, unjudged.
    for _ in 0..20 {
        let err = attempt(&auth).await.unwrap().unwrap_err();
        assert!(matches!(err, Error::Unauthorized), "{err:?}");
    }
    assert_eq!(auth.busy_refusals(), 20);
    let reports: Vec<String> = logs
        .text()
        .lines()
        .filter(|l| l.contains("too many attempts in flight for their account"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        reports.len(),
        1,
        "20 refusals within a second: one report\n{reports:?}"
    );
    assert!(reports[0].contains("refused=1"), "{reports:?}");
    // Let the held bind and the three waiters through, one at a time.
    open.add_permits(4);
    for task in in_flight {
        task.await.unwrap().unwrap();
    }
}
