//! Audit events: sign-in success, failure and lockout are logged with the uid and never a
//! secret; `Debug` output never shows one either.
//!
//! Alone in its own test binary: `tracing` caches per-callsite interest process-wide, so a
//! capturing subscriber must not race with other tests hitting the same callsites.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::io::Write;
use std::sync::{Arc, Mutex};

use authcore::memory::MemoryStore;
use authcore::{AuthPolicy, CreateUser, LockoutPolicy, Role, Ttl, UserId, UserStore};
use authcore_testkit::ManualClock;
use authcore_testkit::fixtures::{authenticator, password};

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn audit_events_carry_the_uid_and_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
