//! The cache of recent successful Basic-credential checks (issue #10 item 5): a hit skips the
//! argon2 evaluation only, and no remembered success outlives a password change, a session
//! epoch advance, a role or status change or a lockout, in this process or in another one
//! sharing the store. Hits are counted by the hashing engine's jobs (`jobs_run`): no timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::sync::Arc;

use async_trait::async_trait;
use authcore::memory::MemoryStore;
use authcore::{
    AuthPolicy, Authenticator, BasicCacheConfig, CreateUser, Credentials, Error, LockoutPolicy,
    Password, Result, Role, Ttl, UpdateUser, User, UserId, UserStatus, UserStore,
};
use authcore_testkit::ManualClock;
use authcore_testkit::fixtures::{fast_hashing, password, test_keys};
use secrecy::ExposeSecret;
use time::Duration;

const ANN: &str = "ann@example.org";
const RIGHT: &str = "Correct-Horse-9";

fn build(store: &Arc<MemoryStore>, clock: &ManualClock, cache: BasicCacheConfig) -> Authenticator {
    Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .clock(Arc::new(clock.clone()))
        .policy(AuthPolicy {
            lockout: LockoutPolicy {
                threshold: 3,
                ..LockoutPolicy::DEFAULT
            },
            ..AuthPolicy::default()
        })
        .basic_cache(cache)
        .build()
        .unwrap()
}

async fn add_user(auth: &Authenticator, email: &str) -> UserId {
    let view = auth
        .create_user_unchecked(CreateUser {
            email: email.into(),
            password: password(RIGHT),
            name: Some(email.into()),
            role: Role::new("db_viewer"),
        })
        .await
        .unwrap();
    UserId::new(match view.uid {
        authcore::UidValue::Number(n) => n.to_string(),
        authcore::UidValue::Text(s) => s,
    })
}

/// Runs a Basic check and returns its result and the argon2 jobs it cost.
async fn basic(auth: &Authenticator, user: &str, pw: &str) -> (Result<authcore::Claims>, u64) {
    let before = auth.hashing().jobs_run();
    let result = auth.authenticate_basic(user, &password(pw)).await;
    (result, auth.hashing().jobs_run() - before)
}

/// Two authenticators (two processes) on one store, a user, and `a` holding a remembered
/// success for it.
async fn two_processes() -> (
    Arc<MemoryStore>,
    ManualClock,
    Authenticator,
    Authenticator,
    UserId,
) {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::starting_now();
    let a = build(&store, &clock, BasicCacheConfig::default());
    let b = build(&store, &clock, BasicCacheConfig::default());
    let uid = add_user(&a, ANN).await;
    let (first, cost) = basic(&a, ANN, RIGHT).await;
    assert!(first.is_ok());
    assert_eq!(cost, 1, "the first call is a full check");
    let (second, cost) = basic(&a, ANN, RIGHT).await;
    assert!(second.is_ok());
    assert_eq!(cost, 0, "the second is remembered");
    (store, clock, a, b, uid)
}

#[tokio::test]
async fn a_repeated_basic_call_costs_one_verification_and_other_sign_ins_are_not_cached() {
    let (_store, _clock, a, _b, uid) = two_processes().await;
    // The username is normalized before it is hashed.
    let (r, cost) = basic(&a, "ANN@Example.org", RIGHT).await;
    assert_eq!(r.unwrap().sub, uid.as_str());
    assert_eq!(cost, 0);
    // A password sign-in (authorize) is always a full check.
    let before = a.hashing().jobs_run();
    a.authorize(ANN, &password(RIGHT), Ttl::DEFAULT)
        .await
        .unwrap();
    assert_eq!(a.hashing().jobs_run() - before, 1);
    // A wrong password is never a hit, and it does not drop the right one's entry.
    let (r, cost) = basic(&a, ANN, "Correct-Horse-8").await;
    assert!(matches!(r, Err(Error::Unauthorized)));
    assert_eq!(cost, 1);
    assert_eq!(basic(&a, ANN, RIGHT).await.1, 0);
}

#[tokio::test]
async fn the_cache_can_be_turned_off_and_entries_expire() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::starting_now();
    let off = build(&store, &clock, BasicCacheConfig::OFF);
    add_user(&off, ANN).await;
    for _ in 0..3 {
        let (r, cost) = basic(&off, ANN, RIGHT).await;
        assert!(r.is_ok());
        assert_eq!(cost, 1);
    }
    let on = build(
        &store,
        &clock,
        BasicCacheConfig {
            ttl_secs: 30,
            ..BasicCacheConfig::default()
        },
    );
    assert_eq!(basic(&on, ANN, RIGHT).await.1, 1);
    clock.advance(Duration::seconds(29));
    assert_eq!(basic(&on, ANN, RIGHT).await.1, 0);
    // A hit does not extend the entry: 30 s after the full check it is gone.
    clock.advance(Duration::seconds(1));
    assert_eq!(basic(&on, ANN, RIGHT).await.1, 1);
    assert_eq!(basic(&on, ANN, RIGHT).await.1, 0);
    // Out-of-range settings are refused.
    for bad in [
        BasicCacheConfig {
            ttl_secs: 0,
            ..BasicCacheConfig::default()
        },
        BasicCacheConfig {
            ttl_secs: BasicCacheConfig::MAX_TTL_SECS + 1,
            ..BasicCacheConfig::default()
        },
        BasicCacheConfig {
            max_entries: BasicCacheConfig::MAX_ENTRIES + 1,
            ..BasicCacheConfig::default()
        },
    ] {
        let built = Authenticator::builder()
            .store(store.clone())
            .lockout_store(store.clone())
            .keys(test_keys().unwrap())
            .basic_cache(bad)
            .build();
        assert!(matches!(built, Err(Error::Configuration(_))), "{bad:?}");
    }
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::starting_now();
    let auth = build(
        &store,
        &clock,
        BasicCacheConfig {
            max_entries: 2,
            ..BasicCacheConfig::default()
        },
    );
    let users = ["u1@example.org", "u2@example.org", "u3@example.org"];
    for u in users {
        add_user(&auth, u).await;
    }
    for u in users {
        clock.advance(Duration::seconds(1));
        assert_eq!(basic(&auth, u, RIGHT).await.1, 1);
    }
    // u1, the closest to expiry, made room for u3.
    assert_eq!(basic(&auth, users[2], RIGHT).await.1, 0);
    assert_eq!(basic(&auth, users[1], RIGHT).await.1, 0);
    assert_eq!(basic(&auth, users[0], RIGHT).await.1, 1);
    let debug = format!("{auth:?}");
    assert!(debug.contains("entries: 2"), "{debug}");
    assert!(!debug.contains(RIGHT));
}

#[tokio::test]
async fn a_password_change_in_another_process_ends_the_remembered_success() {
    let (_store, _clock, a, b, _uid) = two_processes().await;
    b.replace_passwords(ANN, &password(RIGHT), &password("Brand-New-Pass-7"))
        .await
        .unwrap();
    let (r, cost) = basic(&a, ANN, RIGHT).await;
    assert!(matches!(r, Err(Error::Unauthorized)));
    assert_eq!(cost, 1, "a full check, which fails");
    assert!(basic(&a, ANN, "Brand-New-Pass-7").await.0.is_ok());
}

#[tokio::test]
async fn a_password_change_here_drops_the_entry_at_once() {
    let (_store, _clock, a, _b, _uid) = two_processes().await;
    a.replace_passwords(ANN, &password(RIGHT), &password("Brand-New-Pass-7"))
        .await
        .unwrap();
    let (r, _) = basic(&a, ANN, RIGHT).await;
    assert!(matches!(r, Err(Error::Unauthorized)));
}

#[tokio::test]
async fn an_admin_password_reset_and_a_removed_password_end_it() {
    let (_store, _clock, a, b, uid) = two_processes().await;
    // Add a second password, then remove the first (through the other process).
    b.add_password(ANN, &password(RIGHT), &password("Second-Pass-77"))
        .await
        .unwrap();
    assert_eq!(basic(&a, ANN, RIGHT).await.1, 0, "adding one keeps it");
    b.remove_password(ANN, &password(RIGHT)).await.unwrap();
    assert!(matches!(
        basic(&a, ANN, RIGHT).await.0,
        Err(Error::Unauthorized)
    ));
    // Remember the second one; an operator resets the password, the user sets the second
    // text again (a new hash): the old entry no longer matches and a full check decides.
    assert_eq!(basic(&a, ANN, "Second-Pass-77").await.1, 1);
    assert_eq!(basic(&a, ANN, "Second-Pass-77").await.1, 0);
    b.update_user_as_operator(
        &uid,
        UpdateUser {
            password: Some(password("Third-Pass-777")),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        basic(&a, ANN, "Second-Pass-77").await.0,
        Err(Error::Unauthorized)
    ));
    b.replace_passwords(
        ANN,
        &password("Third-Pass-777"),
        &password("Second-Pass-77"),
    )
    .await
    .unwrap();
    let (r, cost) = basic(&a, ANN, "Second-Pass-77").await;
    assert!(r.is_ok());
    assert_eq!(cost, 1);
}

#[tokio::test]
async fn logout_everywhere_in_another_process_ends_it() {
    let (_store, _clock, a, b, uid) = two_processes().await;
    b.end_sessions(&uid).await.unwrap();
    let (r, cost) = basic(&a, ANN, RIGHT).await;
    assert!(r.is_ok(), "the password is still right");
    assert_eq!(cost, 1, "but it was checked again");
    assert_eq!(basic(&a, ANN, RIGHT).await.1, 0);
    // The same in this process.
    a.end_sessions(&uid).await.unwrap();
    assert_eq!(basic(&a, ANN, RIGHT).await.1, 1);
}

#[tokio::test]
async fn a_role_change_shows_at_once_and_a_status_change_refuses() {
    let (_store, _clock, a, b, uid) = two_processes().await;
    b.update_user_as_operator(
        &uid,
        UpdateUser {
            role: Some(Role::new("db_member")),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    let (r, _) = basic(&a, ANN, RIGHT).await;
    assert_eq!(r.unwrap().role, Role::new("db_member"));

    b.update_user_as_operator(
        &uid,
        UpdateUser {
            status: Some(UserStatus::Disabled),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        basic(&a, ANN, RIGHT).await.0,
        Err(Error::Unauthorized)
    ));
    b.update_user_as_operator(
        &uid,
        UpdateUser {
            status: Some(UserStatus::Active),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    let (r, cost) = basic(&a, ANN, RIGHT).await;
    assert!(r.is_ok());
    assert_eq!(cost, 1, "the refused call dropped the entry");
}

#[tokio::test]
async fn a_locked_account_is_never_a_hit() {
    let (_store, clock, a, b, _uid) = two_processes().await;
    for _ in 0..3 {
        let r = b.authorize(ANN, &password("wrong"), Ttl::DEFAULT).await;
        assert!(matches!(r, Err(Error::Unauthorized)));
    }
    let (r, cost) = basic(&a, ANN, RIGHT).await;
    assert!(matches!(r, Err(Error::Unauthorized)));
    assert_eq!(
        cost, 1,
        "a locked account costs a dummy evaluation, never a hit"
    );
    // After the lock expires, the first call is a full check again.
    clock.advance(Duration::seconds(1801));
    let (r, cost) = basic(&a, ANN, RIGHT).await;
    assert!(r.is_ok());
    assert_eq!(cost, 1);
}

/// Many Basic calls with the old password released at once right after a password change in
/// another process: none is let in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_after_a_password_change_are_all_refused() {
    let (_store, _clock, a, b, _uid) = two_processes().await;
    b.replace_passwords(ANN, &password(RIGHT), &password("Brand-New-Pass-7"))
        .await
        .unwrap();
    let n = 32;
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let (a, barrier) = (a.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                a.authenticate_basic(ANN, &password(RIGHT)).await
            })
        })
        .collect();
    for call in calls {
        let r = call.await.unwrap();
        assert!(
            matches!(r, Err(Error::Unauthorized | Error::Overloaded { .. })),
            "{r:?}"
        );
    }
}

/// A directory user's password is checked by the directory on every call.
#[tokio::test]
async fn directory_users_are_never_cached() {
    #[derive(Debug, Default)]
    struct Directory {
        binds: std::sync::atomic::AtomicU64,
    }
    fn user() -> User {
        User {
            uid: UserId::new("dir:1"),
            email: "dir@example.org".into(),
            name: Some("Directory user".into()),
            role: Role::CLUSTER_VIEWER,
            status: UserStatus::Active,
            credentials: Credentials::External,
        }
    }
    #[async_trait]
    impl UserStore for Directory {
        async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
            Ok((username == "dir@example.org").then(user))
        }
        async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
            Ok((uid.as_str() == "dir:1").then(user))
        }
        async fn verify_external(&self, user: &User, password: &Password) -> Result<Option<User>> {
            self.binds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok((password.expose_secret() == RIGHT).then(|| user.clone()))
        }
    }
    let dir = Arc::new(Directory::default());
    let lockout = Arc::new(MemoryStore::new());
    let auth = Authenticator::builder()
        .store(dir.clone())
        .lockout_store(lockout)
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .build()
        .unwrap();
    for n in 1..=3 {
        assert!(basic(&auth, "dir@example.org", RIGHT).await.0.is_ok());
        assert_eq!(dir.binds.load(std::sync::atomic::Ordering::SeqCst), n);
    }
}

/// A [`authcore::SessionStore`] that counts epoch reads.
#[derive(Debug)]
struct CountingSessions {
    inner: Arc<MemoryStore>,
    epoch_reads: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl authcore::SessionStore for CountingSessions {
    async fn epoch(&self, uid: &UserId) -> Result<u64> {
        self.epoch_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.epoch(uid).await
    }
    async fn advance_epoch(&self, uid: &UserId) -> Result<u64> {
        self.inner.advance_epoch(uid).await
    }
    async fn revoke(
        &self,
        jti: &str,
        expires_at: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<()> {
        self.inner.revoke(jti, expires_at, now).await
    }
    async fn is_revoked(&self, jti: &str) -> Result<bool> {
        self.inner.is_revoked(jti).await
    }
    async fn purge_revoked(&self, now: time::OffsetDateTime, limit: u32) -> Result<u64> {
        self.inner.purge_revoked(now, limit).await
    }
}

/// A Basic call, remembered or not, reads the session epoch once: the check's read is the
/// one the call's identity carries (the users API sends Basic credentials on every call).
#[tokio::test]
async fn a_basic_call_reads_the_epoch_once() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::starting_now();
    let sessions = Arc::new(CountingSessions {
        inner: store.clone(),
        epoch_reads: std::sync::atomic::AtomicU64::new(0),
    });
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .session_store(sessions.clone())
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .clock(Arc::new(clock.clone()))
        .basic_cache(BasicCacheConfig::default())
        .build()
        .unwrap();
    let uid = add_user(&auth, ANN).await;
    for (call, want_jobs) in [("full check", 1), ("remembered", 0)] {
        let before = sessions
            .epoch_reads
            .load(std::sync::atomic::Ordering::SeqCst);
        let (claims, jobs) = basic(&auth, ANN, RIGHT).await;
        assert_eq!(claims.unwrap().sub, uid.as_str(), "{call}");
        assert_eq!(jobs, want_jobs, "{call}");
        let reads = sessions
            .epoch_reads
            .load(std::sync::atomic::Ordering::SeqCst)
            - before;
        assert_eq!(reads, 1, "{call}");
    }
}
