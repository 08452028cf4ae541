//! Unit-testing auth policies, the way a server author would: the in-memory store, the
//! testkit's manual clock and cheap hashing. Deterministic and fast: no sleeps, no real cost
//! parameters, no server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::sync::Arc;

use authcore::memory::MemoryStore;
use authcore::{AuthPolicy, CreateUser, Error, LockoutPolicy, PasswordExpiry, Role, Ttl};
use authcore_testkit::ManualClock;
use authcore_testkit::fixtures::{authenticator, password};
use time::Duration;

async fn setup(policy: AuthPolicy) -> (authcore::Authenticator, ManualClock) {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_unix(1_780_000_000);
    let auth = authenticator(store.clone(), store, &clock, policy).unwrap();
    auth.create_user_unchecked(CreateUser {
        email: "ops@example.org".into(),
        password: password("Right-Pass-1"),
        name: None,
        role: Role::CLUSTER_MEMBER,
    })
    .await
    .unwrap();
    (auth, clock)
}

#[tokio::test]
async fn five_failures_in_fifteen_minutes_lock_for_thirty() {
    let (auth, clock) = setup(AuthPolicy::default()).await; // Redis defaults: 5 / 1800 s / 900 s
    let right = password("Right-Pass-1");
    let wrong = password("wrong");

    // Four failures, each 14 minutes apart: the window keeps sliding, no lock yet.
    for _ in 0..4 {
        assert!(matches!(
            auth.authorize("ops@example.org", &wrong, Ttl::DEFAULT)
                .await,
            Err(Error::Unauthorized)
        ));
        clock.advance(Duration::minutes(14));
    }
    auth.authorize("ops@example.org", &right, Ttl::DEFAULT)
        .await
        .expect("four failures do not lock; success resets the count");

    for _ in 0..5 {
        let _ = auth
            .authorize("ops@example.org", &wrong, Ttl::DEFAULT)
            .await;
    }
    let locked = auth
        .authorize("ops@example.org", &right, Ttl::DEFAULT)
        .await;
    assert!(
        matches!(locked, Err(Error::Unauthorized)),
        "locked: even the right password fails"
    );

    clock.advance(Duration::minutes(29));
    assert!(
        auth.authorize("ops@example.org", &right, Ttl::DEFAULT)
            .await
            .is_err()
    );
    clock.advance(Duration::minutes(1));
    auth.authorize("ops@example.org", &right, Ttl::DEFAULT)
        .await
        .expect("the lock lasts exactly 30 minutes");
}

#[tokio::test]
async fn failures_spread_beyond_the_reset_window_never_lock() {
    let policy = AuthPolicy {
        lockout: LockoutPolicy {
            threshold: 3,
            duration_secs: 600,
            counter_reset_after_secs: 60,
        },
        ..AuthPolicy::default()
    };
    let (auth, clock) = setup(policy).await;
    for _ in 0..10 {
        let _ = auth
            .authorize("ops@example.org", &password("wrong"), Ttl::DEFAULT)
            .await;
        clock.advance(Duration::seconds(61));
    }
    auth.authorize("ops@example.org", &password("Right-Pass-1"), Ttl::DEFAULT)
        .await
        .expect("never three failures within 60 s");
}

#[tokio::test]
async fn passwords_expire_after_the_configured_days() {
    let policy = AuthPolicy {
        expiry: PasswordExpiry::days(90),
        ..AuthPolicy::default()
    };
    let (auth, clock) = setup(policy).await;
    let right = password("Right-Pass-1");

    clock.advance(Duration::days(90) - Duration::seconds(1));
    auth.authorize("ops@example.org", &right, Ttl::DEFAULT)
        .await
        .expect("valid until the last second");
    clock.advance(Duration::seconds(1));
    let err = auth
        .authorize("ops@example.org", &right, Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "password_expired");
    assert_eq!(err.http_status(), 401);

    // Only a caller with the right password learns that it expired.
    let err = auth
        .authorize("ops@example.org", &password("wrong"), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "unauthorized");

    auth.replace_passwords("ops@example.org", &right, &password("New-Pass-22"))
        .await
        .expect("an expired password may be changed");
    auth.authorize("ops@example.org", &password("New-Pass-22"), Ttl::DEFAULT)
        .await
        .expect("the new password starts a new 90 days");
}
