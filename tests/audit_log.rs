//! Audit events: sign-in success, failure and lockout are logged with the uid and never a
//! secret; `Debug` output never shows one either.
//!
//! Alone in its own test binary: `tracing` caches per-callsite interest process-wide, so a
//! capturing subscriber must not race with other tests hitting the same callsites.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::sync::Arc;

use authcore::memory::MemoryStore;
use authcore::{AuthPolicy, CreateUser, LockoutPolicy, Role, Ttl, UserId, UserStore};
use authcore_testkit::ManualClock;
use authcore_testkit::fixtures::{authenticator, password};
use authcore_testkit::logs::LogCapture;

#[tokio::test]
async fn audit_events_carry_the_uid_and_no_secret() {
    let captured = LogCapture::new();
    let _guard = captured.set_default();

    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::starting_now();
    let policy = AuthPolicy {
        lockout: LockoutPolicy {
            threshold: 2,
            ..LockoutPolicy::DEFAULT
        },
        ..AuthPolicy::default()
    };
    let auth = authenticator(store.clone(), store.clone(), &clock, policy).unwrap();
    let view = auth
        .create_user_unchecked(CreateUser {
            email: "ann@example.org".into(),
            password: password("S3cret-Right"),
            name: None,
            role: Role::ADMIN,
        })
        .await
        .unwrap();
    let uid = UserId::new(serde_json::to_value(&view.uid).unwrap().to_string());
    let token = auth
        .authorize("ann@example.org", &password("S3cret-Right"), Ttl::DEFAULT)
        .await
        .unwrap()
        .token;
    for _ in 0..2 {
        let _ = auth
            .authorize("ann@example.org", &password("S3cret-Wrong"), Ttl::DEFAULT)
            .await;
    }
    let logs = captured.text();
    assert!(logs.contains("sign-in succeeded"), "{logs}");
    assert!(logs.contains("sign-in failed"), "{logs}");
    assert!(logs.contains("account locked"), "{logs}");
    assert!(logs.contains(&format!("uid={uid}")), "{logs}");
    for secret in ["S3cret-Right", "S3cret-Wrong", "argon2", token.as_str()] {
        assert!(!logs.contains(secret), "{secret:?} leaked into logs");
    }

    let debug = format!("{auth:?} {store:?} {:?}", store.find_by_uid(&uid).await);
    for secret in ["S3cret-Right", "argon2", "authcore-testkit-not-a-secret"] {
        assert!(
            !debug.contains(secret),
            "{secret:?} leaked into Debug: {debug}"
        );
    }
}
