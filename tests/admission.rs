//! Admission first (#10): a sign-in that the hashing engine will refuse is refused before any
//! store I/O, with 503 and `Retry-After` = the expected wait.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use authcore::http::{ApiResponse, RequestParts, authorize as http_authorize};
use authcore::memory::MemoryStore;
use authcore::{
    Admission, AttemptOutcome, Authenticator, CostEstimate, CreateUser, Credentials, Error,
    HashingConfig, HashingPool, LockoutPolicy, LockoutState, LockoutStore, Password, Reservation,
    ReservationPolicy, Reserve, Result, Role, SignInLimits, Ttl, User, UserId, UserStatus,
    UserStore,
};
use authcore_testkit::fixtures::{fast_hashing, password, test_keys};
use time::OffsetDateTime;

/// Counts every call that reaches the user store or the lockout store.
#[derive(Debug)]
struct Counting {
    inner: Arc<MemoryStore>,
    calls: AtomicU64,
}

impl Counting {
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
    fn hit(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl UserStore for Counting {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        self.hit();
        self.inner.find_by_username(username).await
    }
    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        self.hit();
        self.inner.find_by_uid(uid).await
    }
}

#[async_trait]
impl LockoutStore for Counting {
    // Session state is read only after a password matched (admitted sign-ins).
    fn sessions(&self) -> Option<&dyn authcore::SessionStore> {
        self.inner.sessions()
    }

    async fn state(&self, uid: &UserId) -> Result<Option<LockoutState>> {
        self.hit();
        self.inner.state(uid).await
    }
    async fn record_failure(
        &self,
        uid: &UserId,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<LockoutState> {
        self.hit();
        self.inner.record_failure(uid, now, policy).await
    }
    async fn reserve(
        &self,
        reservation: &Reservation,
        policy: &LockoutPolicy,
        reservations: &ReservationPolicy,
    ) -> Result<Reserve> {
        self.hit();
        self.inner.reserve(reservation, policy, reservations).await
    }
    async fn settle(
        &self,
        reservation: &Reservation,
        outcome: AttemptOutcome,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<Option<LockoutState>> {
        self.hit();
        self.inner.settle(reservation, outcome, now, policy).await
    }
    async fn clear(&self, uid: &UserId) -> Result<()> {
        self.hit();
        self.inner.clear(uid).await
    }
}

/// An authenticator whose reads and lockout writes go through counting stores, with one
/// hashing worker, a fixed 1 s estimate per job and the given deadline.
async fn setup(max_wait: Duration) -> (Authenticator, Arc<Counting>, Arc<Counting>) {
    setup_with(max_wait, SignInLimits::default()).await
}

async fn setup_with(
    max_wait: Duration,
    limits: SignInLimits,
) -> (Authenticator, Arc<Counting>, Arc<Counting>) {
    let memory = Arc::new(MemoryStore::new());
    // The user is created through an authenticator on the bare store (admin calls are not
    // what is counted).
    let admin = Authenticator::builder()
        .store(memory.clone())
        .lockout_store(memory.clone())
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .build()
        .unwrap();
    admin
        .create_user_unchecked(CreateUser {
            email: "ann@example.org".into(),
            password: password("ann-pass"),
            name: None,
            role: Role::ADMIN,
        })
        .await
        .unwrap();
    let users = Arc::new(Counting {
        inner: memory.clone(),
        calls: AtomicU64::new(0),
    });
    let lockout = Arc::new(Counting {
        inner: memory,
        calls: AtomicU64::new(0),
    });
    let auth = Authenticator::builder()
        .store(users.clone())
        .lockout_store(lockout.clone())
        .hashing(HashingConfig {
            concurrency: 1,
            cost_estimate: CostEstimate::Fixed(Duration::from_secs(1)),
            max_wait,
            ..fast_hashing()
        })
        .keys(test_keys().unwrap())
        .sign_in_limits(limits)
        .build()
        .unwrap();
    (auth, users, lockout)
}

/// `POST /v1/users/authorize` with credentials in a JSON body, through the HTTP layer.
async fn sign_in_json(auth: &Authenticator, body: &[u8]) -> ApiResponse {
    let parts = RequestParts {
        authorization: None,
        content_type: Some(b"application/json"),
        body,
        query: None,
    };
    http_authorize(auth, &parts).await
}

#[tokio::test]
async fn an_overloaded_sign_in_touches_no_store() {
    // One worker, 1 s a job, deadline 1 s: with 2 jobs in flight a new one would wait 2 s.
    let (auth, users, lockout) = setup(Duration::from_secs(1)).await;
    auth.authorize("ann@example.org", &password("ann-pass"), Ttl::DEFAULT)
        .await
        .expect("admitted while the queue is empty");
    let (users_before, lockout_before) = (users.calls(), lockout.calls());
    assert!(users_before > 0, "an admitted sign-in reads the store");

    let held = [
        auth.hashing().admit().unwrap(),
        auth.hashing().admit().unwrap(),
    ];
    for (user, pw) in [
        ("ann@example.org", "ann-pass"),
        ("ann@example.org", "wrong"),
        ("nobody@example.org", "x"),
    ] {
        let err = auth
            .authorize(user, &password(pw), Ttl::DEFAULT)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Overloaded { .. }), "{err:?}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    }
    // Through the HTTP layer: 503, Retry-After = the expected wait.
    let res = sign_in_json(
        &auth,
        br#"{"username":"ann@example.org","password":"ann-pass"}"#,
    )
    .await;
    assert_eq!(res.status, 503);
    assert_eq!(res.header("retry-after"), Some("2"));
    assert_eq!(users.calls(), users_before, "no user lookup when refused");
    assert_eq!(
        lockout.calls(),
        lockout_before,
        "no lockout read or write when refused"
    );
    assert_eq!(auth.hashing().jobs_rejected(), 4);

    // The places given back, sign-ins go through again.
    drop(held);
    auth.authorize("ann@example.org", &password("ann-pass"), Ttl::DEFAULT)
        .await
        .unwrap();
    assert!(users.calls() > users_before);
}

/// Takes both places `setup`'s hashing engine has (one running, one waiting), then signs in
/// ann: refused for overload. Returns the places (held until dropped) and how long the
/// refusal took.
async fn refused_for_overload(auth: &Authenticator) -> ([Admission; 2], Duration) {
    let held = [
        auth.hashing().admit().unwrap(),
        auth.hashing().admit().unwrap(),
    ];
    let started = tokio::time::Instant::now();
    let err = auth
        .authorize("ann@example.org", &password("ann-pass"), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Overloaded { .. }), "{err:?}");
    (held, started.elapsed())
}

/// A refusal for overload is decided before any store I/O and answered after
/// `SignInLimits::overload_hold`, holding no hashing place meanwhile; a zero hold answers at
/// once. Measured on tokio's paused clock: the elapsed time is the timers', not the machine's.
#[tokio::test(start_paused = true)]
async fn an_overload_refusal_is_answered_after_the_hold() {
    let hold = SignInLimits::default().overload_hold;
    assert_eq!(hold, Duration::from_millis(250));
    let (auth, users, lockout) = setup(Duration::from_secs(1)).await;
    let (_held, elapsed) = refused_for_overload(&auth).await;
    assert_eq!(elapsed, hold, "answered after the hold, not before");
    assert_eq!((users.calls(), lockout.calls()), (0, 0), "no store I/O");

    // While refusals are held, the queue is as it was: they hold no place in it.
    let waiting: Vec<_> = (0..8)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move {
                auth.authorize("ann@example.org", &password("ann-pass"), Ttl::DEFAULT)
                    .await
            })
        })
        .collect();
    tokio::task::yield_now().await;
    assert_eq!(auth.hashing().jobs_rejected(), 9, "all refused at once");
    drop(_held);
    let admitted = auth.hashing().admit();
    assert!(admitted.is_ok(), "the held refusals took no place");
    drop(admitted);
    for w in waiting {
        assert!(matches!(w.await.unwrap(), Err(Error::Overloaded { .. })));
    }

    // Through the HTTP layer: the same 503 with Retry-After, after the hold.
    let _held = [
        auth.hashing().admit().unwrap(),
        auth.hashing().admit().unwrap(),
    ];
    let started = tokio::time::Instant::now();
    let res = sign_in_json(
        &auth,
        br#"{"username":"ann@example.org","password":"ann-pass"}"#,
    )
    .await;
    assert_eq!((res.status, res.header("retry-after")), (503, Some("2")));
    assert_eq!(started.elapsed(), hold);

    // A refusal by the queue's hard bound (`max_queued`), whose expected wait is zero, is
    // held all the same: it still announces `Retry-After: 1`.
    let memory = Arc::new(MemoryStore::new());
    let bounded = Authenticator::builder()
        .store(memory.clone())
        .lockout_store(memory)
        .hashing(HashingConfig {
            concurrency: 2,
            max_queued: 1,
            ..fast_hashing()
        })
        .keys(test_keys().unwrap())
        .build()
        .unwrap();
    let _place = bounded.hashing().admit().unwrap();
    let started = tokio::time::Instant::now();
    let err = bounded
        .authorize("ann@example.org", &password("ann-pass"), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::ZERO), "{err:?}");
    assert_eq!(
        started.elapsed(),
        hold,
        "held although its expected wait is zero"
    );

    // A zero hold answers at once.
    let (auth, ..) = setup_with(
        Duration::from_secs(1),
        SignInLimits {
            overload_hold: Duration::ZERO,
            ..SignInLimits::default()
        },
    )
    .await;
    let (_held, elapsed) = refused_for_overload(&auth).await;
    assert_eq!(elapsed, Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_a_burst_only_admitted_sign_ins_reach_the_store() {
    let (auth, users, _lockout) = setup(Duration::from_secs(1)).await;
    // One place held: exactly one more job fits (a second would wait 2 s).
    let _held = auth.hashing().admit().unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (auth, barrier) = (auth.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            auth.authorize("ann@example.org", &password("ann-pass"), Ttl::DEFAULT)
                .await
        });
    }
    let (mut ok, mut refused) = (0u64, 0u64);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Overloaded { .. }) => refused += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok + refused, 64);
    assert!(ok >= 1);
    assert_eq!(refused, auth.hashing().jobs_rejected());
    // Each admitted sign-in looks the user up once; a refused one never does.
    assert_eq!(users.calls(), ok);
}

#[tokio::test]
async fn refused_sign_ins_do_not_count_as_failures() {
    // Deadline zero: only a job that starts at once is admitted; one place held fills it.
    let (auth, _users, lockout) = setup(Duration::ZERO).await;
    let _held = auth.hashing().admit().unwrap();
    for _ in 0..20 {
        let err = auth
            .authorize(
                "ann@example.org",
                &Password::from("wrong".to_owned()),
                Ttl::DEFAULT,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Overloaded { .. }));
    }
    assert_eq!(lockout.calls(), 0, "no failure recorded, no lockout");
}

/// A directory that refuses every bind and, while it answers, takes the hashing engine's last
/// place (what a flood of other sign-ins does in the meantime).
#[derive(Debug, Default)]
struct CrowdedDirectory {
    hashing: std::sync::OnceLock<HashingPool>,
    crowd: std::sync::Mutex<Vec<Admission>>,
    binds: AtomicU64,
}

impl CrowdedDirectory {
    fn user() -> User {
        User {
            uid: UserId::new("dir:1"),
            email: "dir@example.org".into(),
            name: None,
            role: Role::CLUSTER_VIEWER,
            status: UserStatus::Active,
            credentials: Credentials::External,
        }
    }
}

#[async_trait]
impl UserStore for CrowdedDirectory {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok((username == "dir@example.org").then(Self::user))
    }
    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        Ok((uid.as_str() == "dir:1").then(Self::user))
    }
    async fn verify_external(&self, _: &User, _: &Password) -> Result<Option<User>> {
        self.binds.fetch_add(1, Ordering::SeqCst);
        let hashing = self.hashing.get().expect("set after the build");
        self.crowd.lock().unwrap().push(hashing.admit()?);
        Ok(None)
    }
}

/// A refused directory bind costs one dummy evaluation (issue #8). When the engine refuses
/// that evaluation, the answer is 503 with `Retry-After`, and the refused bind still counts as
/// a failure towards lockout: an overload is no way around the lockout.
#[tokio::test]
async fn a_refused_bind_counts_when_its_dummy_evaluation_is_refused() {
    let directory = Arc::new(CrowdedDirectory::default());
    let lockout = Arc::new(MemoryStore::new());
    let auth = Authenticator::builder()
        .store(directory.clone())
        .lockout_store(lockout.clone())
        // One place: the sign-in's own, given back while the directory answers.
        .hashing(HashingConfig {
            max_queued: 1,
            ..fast_hashing()
        })
        .keys(test_keys().unwrap())
        .build()
        .unwrap();
    directory.hashing.set(auth.hashing().clone()).unwrap();
    let uid = UserId::new("dir:1");
    let failures = || async { lockout.state(&uid).await.unwrap().map_or(0, |s| s.failures) };
    assert_eq!(failures().await, 0);

    let res = sign_in_json(
        &auth,
        br#"{"username":"dir@example.org","password":"a guess"}"#,
    )
    .await;
    assert_eq!(res.status, 503);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&res.body).unwrap()["error_code"],
        "service_unavailable"
    );
    assert!(res.header("retry-after").is_some());
    assert_eq!(directory.binds.load(Ordering::SeqCst), 1);
    assert_eq!(
        auth.hashing().jobs_rejected(),
        1,
        "the dummy evaluation was refused"
    );
    assert_eq!(failures().await, 1, "the refused bind counted");

    // The same through the library: Overloaded, and one more failure.
    let err = auth
        .authorize("dir@example.org", &password("another guess"), Ttl::DEFAULT)
        .await;
    // The crowd still holds the only place: refused before any store I/O this time.
    assert!(matches!(err, Err(Error::Overloaded { .. })), "{err:?}");
    assert_eq!(
        failures().await,
        1,
        "refused at admission: nothing to count"
    );
    directory.crowd.lock().unwrap().clear();
    let err = auth
        .authorize("dir@example.org", &password("another guess"), Ttl::DEFAULT)
        .await;
    assert!(matches!(err, Err(Error::Overloaded { .. })), "{err:?}");
    assert_eq!(directory.binds.load(Ordering::SeqCst), 2);
    assert_eq!(failures().await, 2, "the second refused bind counted");
}
