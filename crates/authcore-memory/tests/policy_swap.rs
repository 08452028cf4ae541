//! The policy is swapped while sign-ins are in the middle of their password check: nothing
//! the check holds blocks the swap, and the sign-ins then finish.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authcore_core::{
    Authenticator, Credentials, Password, PolicySection, Result, Role, Ttl, User, UserId,
    UserStatus, UserStore, async_trait,
};
use authcore_memory::MemoryStore;
use authcore_testkit::fixtures::{fast_hashing, test_keys};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// A directory whose password check (the step where a local user waits on argon2) parks
/// until released.
#[derive(Debug, Default)]
struct ParkedDirectory {
    inside: AtomicUsize,
    arrived: Notify,
    release: Notify,
}

fn user() -> User {
    User {
        uid: UserId::new("cn=ann,dc=example,dc=org"),
        email: "ann".into(),
        name: Some("Ann".into()),
        role: Role::DB_VIEWER,
        status: UserStatus::Active,
        credentials: Credentials::External,
    }
}

#[async_trait]
impl UserStore for ParkedDirectory {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok((username == "ann").then(user))
    }

    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        Ok((uid == &user().uid).then(user))
    }

    async fn verify_external(&self, user: &User, _password: &Password) -> Result<Option<User>> {
        let released = self.release.notified();
        self.inside.fetch_add(1, Ordering::SeqCst);
        self.arrived.notify_one();
        released.await;
        Ok(Some(user.clone()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn policy_swaps_while_password_checks_are_in_flight() {
    // Below the lockout threshold (5): the sign-in gate lets that many checks run at once.
    const SIGN_INS: usize = 4;
    let directory = Arc::new(ParkedDirectory::default());
    let memory = Arc::new(MemoryStore::new());
    let auth = Authenticator::builder()
        .store(directory.clone())
        .lockout_store(memory.clone())
        .settings_store(memory.clone())
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .build()
        .unwrap();
    auth.seed_settings(None, Vec::new()).await.unwrap();

    let sign_ins: Vec<_> = (0..SIGN_INS)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move {
                auth.authorize("ann", &Password::from("pw".to_owned()), Ttl::DEFAULT)
                    .await
            })
        })
        .collect();
    // Every sign-in is inside its password check.
    tokio::time::timeout(Duration::from_secs(30), async {
        while directory.inside.load(Ordering::SeqCst) < SIGN_INS {
            directory.arrived.notified().await;
        }
    })
    .await
    .expect("every sign-in reaches its password check");

    // Swapping the policy completes while they are parked (a lock held across the check
    // would hang here: the guard turns a hang into a failure instead of a stuck test run).
    let Value::Object(changes) = json!({"login_lockout_threshold": 1, "max_session_lifetime": 600})
    else {
        unreachable!()
    };
    let swapped = tokio::time::timeout(
        Duration::from_secs(30),
        auth.update_policy_settings(PolicySection::Policy, changes),
    )
    .await
    .expect("the policy swap waited for the sign-ins in flight")
    .unwrap();
    assert_eq!(swapped["login_lockout_threshold"], json!(1));
    assert_eq!(auth.policy().lockout.threshold, 1);
    assert_eq!(auth.policy().session.max_session_lifetime_secs, 600);
    assert_eq!(
        directory.inside.load(Ordering::SeqCst),
        SIGN_INS,
        "all still parked"
    );

    directory.release.notify_waiters();
    for s in sign_ins {
        let issued = s.await.unwrap().unwrap();
        // Sessions started now end by the new lifetime.
        assert!(issued.claims.exp - issued.claims.auth_time <= 600);
    }
}
