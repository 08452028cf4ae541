//! Read-only directories: an [`Authenticator`](authcore_core::Authenticator) over a store that
//! has users but does not manage them.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
// Test support: a failed expectation is a panic, exactly as in `assert!`.

use std::sync::Arc;

use authcore_core::{
    AuthPolicy, Credentials, Error, LockoutPolicy, LockoutStore, Role, Ttl, UserStore,
    normalize_username,
};
use time::Duration;

use crate::ManualClock;
use crate::fixtures::{authenticator, password};

/// A user that exists in a read-only directory under test.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    /// Login name.
    pub username: String,
    /// Their password.
    pub password: String,
    /// The role their groups map to.
    pub role: Role,
}

/// What a read-only store's test set-up provides.
#[derive(Debug, Clone)]
pub struct ReadOnlyFixture {
    /// Users that can sign in (at least one).
    pub users: Vec<DirectoryUser>,
    /// A username the directory does not know.
    pub unknown_username: String,
}

/// Runs the cases that apply to a read-only store (a directory): lookup, case-insensitive
/// lookup, unknown users, uid round trip, external verification, and sign-in, refresh and
/// lockout through an authenticator. `lockout` should be a store no other test locks these
/// users in (e.g. a fresh memory store).
pub async fn run_read_only_suite(
    store: Arc<dyn UserStore>,
    lockout: Arc<dyn LockoutStore>,
    fixture: &ReadOnlyFixture,
) {
    assert!(!fixture.users.is_empty(), "the fixture needs a user");
    assert_eq!(
        store
            .find_by_username(&normalize_username(&fixture.unknown_username))
            .await
            .unwrap(),
        None
    );
    for u in &fixture.users {
        let found = store
            .find_by_username(&normalize_username(&u.username))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} is found", u.username));
        let upper = store
            .find_by_username(&normalize_username(&u.username.to_uppercase()))
            .await
            .unwrap()
            .expect("found case-insensitively");
        assert_eq!(upper.uid, found.uid);
        let by_uid = store
            .find_by_uid(&found.uid)
            .await
            .unwrap()
            .expect("uid round trip");
        assert_eq!(by_uid.uid, found.uid);

        if matches!(found.credentials, Credentials::External) {
            let ok = store
                .verify_external(&found, &password(&u.password))
                .await
                .unwrap()
                .expect("right password");
            assert_eq!(ok.role, u.role);
            assert_eq!(
                store
                    .verify_external(&found, &password(&format!("{}x", u.password)))
                    .await
                    .unwrap(),
                None
            );
            assert_eq!(
                store.verify_external(&found, &password("")).await.unwrap(),
                None
            );
        }
    }

    let clock = ManualClock::starting_now();
    let policy = AuthPolicy {
        lockout: LockoutPolicy {
            threshold: 2,
            duration_secs: 300,
            counter_reset_after_secs: 60,
        },
        ..AuthPolicy::default()
    };
    let auth = authenticator(store, lockout, &clock, policy).expect("authenticator");
    let u = &fixture.users[0];
    let issued = auth
        .authorize(&u.username, &password(&u.password), Ttl::DEFAULT)
        .await
        .expect("directory sign-in");
    assert_eq!(issued.claims.role, u.role);
    auth.refresh(&issued.token, Ttl::DEFAULT)
        .await
        .expect("refresh");
    assert!(matches!(
        auth.add_password(
            &u.username,
            &password(&u.password),
            &password("New-Pass-5x")
        )
        .await,
        Err(Error::Unsupported(_))
    ));
    for _ in 0..2 {
        assert!(matches!(
            auth.authorize(&u.username, &password("wrong"), Ttl::DEFAULT)
                .await,
            Err(Error::Unauthorized)
        ));
    }
    assert!(
        matches!(
            auth.authorize(&u.username, &password(&u.password), Ttl::DEFAULT)
                .await,
            Err(Error::Unauthorized)
        ),
        "directory users are locked out too"
    );
    clock.advance(Duration::seconds(300));
    auth.authorize(&u.username, &password(&u.password), Ttl::DEFAULT)
        .await
        .expect("the lock expired");
}
