//! The [`Authenticator`](authcore_core::Authenticator) over a store: sign-in, refresh, lockout,
//! expiry, rotation and re-hashing end to end.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
// Test support: a failed expectation is a panic, exactly as in `assert!`.

use std::sync::Arc;

use authcore_core::{
    Argon2Params, AuthPolicy, Claims, CreateUser, Error, HashingConfig, HashingPool, LockoutPolicy,
    LockoutStore, NewUser, PasswordExpiry, Role, StoredPassword, Ttl, UpdateUser, UserAdmin,
    UserId, UserStatus, UserUpdate,
};
use time::Duration;

use super::t;
use crate::ManualClock;
use crate::fixtures::{authenticator, password, unique_email};

/// Runs every sign-in case through a real [`authcore_core::Authenticator`] with a manual clock.
pub async fn run_authenticator_suite(users: Arc<dyn UserAdmin>, lockout: Arc<dyn LockoutStore>) {
    sign_in_and_refresh(Arc::clone(&users), Arc::clone(&lockout)).await;
    lockout_then_unlock(Arc::clone(&users), Arc::clone(&lockout)).await;
    expiry_and_change_of_expired_password(Arc::clone(&users), Arc::clone(&lockout)).await;
    rotation_with_two_passwords(Arc::clone(&users), Arc::clone(&lockout)).await;
    weaker_hash_is_rewritten_on_login(Arc::clone(&users), Arc::clone(&lockout)).await;
    super::names_through_the_authenticator(Arc::clone(&users), Arc::clone(&lockout)).await;
    super::run_concurrency_suite(Arc::clone(&users), Arc::clone(&lockout)).await;
}

const PW: &str = "Correct-Horse-1";

/// Creates a unique admin and signs it in: administration checks the caller's current role
/// in the store, so the caller must really exist.
async fn admin_claims(auth: &authcore_core::Authenticator) -> Claims {
    let email = unique_email("admin");
    auth.create_user_unchecked(CreateUser {
        email: email.clone(),
        password: password(PW),
        name: None,
        role: Role::ADMIN,
    })
    .await
    .expect("create admin");
    auth.authorize(&email, &password(PW), Ttl::DEFAULT)
        .await
        .expect("admin sign-in")
        .claims
}

async fn new_user(auth: &authcore_core::Authenticator, prefix: &str) -> (String, UserId) {
    let email = unique_email(prefix);
    let view = auth
        .create_user_unchecked(CreateUser {
            email: email.clone(),
            password: password(PW),
            name: None,
            role: Role::DB_MEMBER,
        })
        .await
        .expect("create user");
    let uid = match view.uid {
        authcore_core::UidValue::Number(n) => UserId::from(n),
        authcore_core::UidValue::Text(s) => UserId::new(s),
    };
    (email, uid)
}

fn auth_with(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
    clock: &ManualClock,
    policy: AuthPolicy,
) -> authcore_core::Authenticator {
    authenticator(users, lockout, clock, policy).expect("authenticator")
}

/// Sign-in (case-insensitive username), wrong and unknown users alike, refresh while the user
/// exists and is active.
pub async fn sign_in_and_refresh(users: Arc<dyn UserAdmin>, lockout: Arc<dyn LockoutStore>) {
    let clock = ManualClock::starting_now();
    let auth = auth_with(Arc::clone(&users), lockout, &clock, AuthPolicy::default());
    let (email, uid) = new_user(&auth, "signin").await;

    let issued = auth
        .authorize(&email.to_uppercase(), &password(PW), Ttl::new(120).unwrap())
        .await
        .expect("sign-in");
    assert_eq!(issued.claims.sub, uid.as_str());
    assert_eq!(issued.claims.exp - issued.claims.iat, 120);

    let wrong = auth
        .authorize(&email, &password("nope"), Ttl::DEFAULT)
        .await
        .unwrap_err();
    let unknown = auth
        .authorize(&unique_email("ghost"), &password(PW), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert!(matches!(wrong, Error::Unauthorized), "{wrong:?}");
    assert!(matches!(unknown, Error::Unauthorized), "{unknown:?}");

    clock.advance(Duration::seconds(60));
    let refreshed = auth
        .refresh(&issued.token, Ttl::DEFAULT)
        .await
        .expect("refresh");
    assert_eq!(refreshed.claims.sub, uid.as_str());
    assert_eq!(refreshed.claims.iat, issued.claims.iat + 60);

    users
        .update_user(
            &uid,
            UserUpdate {
                status: Some(UserStatus::Disabled),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        auth.refresh(&refreshed.token, Ttl::DEFAULT).await,
        Err(Error::Unauthorized)
    ));
    assert!(matches!(
        auth.authorize(&email, &password(PW), Ttl::DEFAULT).await,
        Err(Error::Unauthorized)
    ));
    users.delete_user(&uid).await.unwrap();
    assert!(matches!(
        auth.refresh(&refreshed.token, Ttl::DEFAULT).await,
        Err(Error::Unauthorized)
    ));

    clock.advance(Duration::seconds(3600));
    assert!(matches!(
        auth.refresh(&issued.token, Ttl::DEFAULT).await,
        Err(Error::InvalidToken)
    ));
}

/// Failures lock the account at the threshold; while locked the right password is refused;
/// the lock expires; an admin password reset unlocks at once.
pub async fn lockout_then_unlock(users: Arc<dyn UserAdmin>, lockout: Arc<dyn LockoutStore>) {
    let clock = ManualClock::starting_now();
    let policy = AuthPolicy {
        lockout: LockoutPolicy {
            threshold: 3,
            duration_secs: 600,
            counter_reset_after_secs: 60,
        },
        ..AuthPolicy::default()
    };
    let auth = auth_with(users, lockout, &clock, policy);
    let admin = admin_claims(&auth).await;
    let (email, uid) = new_user(&auth, "lockout").await;

    for _ in 0..3 {
        assert!(matches!(
            auth.authorize(&email, &password("wrong"), Ttl::DEFAULT)
                .await,
            Err(Error::Unauthorized)
        ));
    }
    let locked = auth
        .authorize(&email, &password(PW), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert!(matches!(locked, Error::Unauthorized), "locked: {locked:?}");
    let view = auth.get_user(&admin, &uid).await.unwrap();
    assert_eq!(view.status, UserStatus::Locked);

    clock.advance(Duration::seconds(600));
    auth.authorize(&email, &password(PW), Ttl::DEFAULT)
        .await
        .expect("the lock expired");

    for _ in 0..3 {
        assert!(matches!(
            auth.authorize(&email, &password("wrong"), Ttl::DEFAULT)
                .await,
            Err(Error::Unauthorized)
        ));
    }
    assert!(matches!(
        auth.authorize(&email, &password(PW), Ttl::DEFAULT).await,
        Err(Error::Unauthorized)
    ));
    auth.update_user(
        &admin,
        &uid,
        UpdateUser {
            password: Some(password("Reset-Pass-2")),
            ..UpdateUser::default()
        },
    )
    .await
    .expect("admin reset");
    auth.authorize(&email, &password("Reset-Pass-2"), Ttl::DEFAULT)
        .await
        .expect("an admin reset unlocks");
    assert!(
        matches!(
            auth.authorize(&email, &password(PW), Ttl::DEFAULT).await,
            Err(Error::Unauthorized)
        ),
        "old password replaced"
    );
}

/// An expired password gives `password_expired` only with the right password; it can still be
/// changed, after which sign-in works.
pub async fn expiry_and_change_of_expired_password(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let policy = AuthPolicy {
        expiry: PasswordExpiry::days(30),
        ..AuthPolicy::default()
    };
    let auth = auth_with(users, lockout, &clock, policy);
    let (email, _) = new_user(&auth, "expiry").await;
    auth.authorize(&email, &password(PW), Ttl::DEFAULT)
        .await
        .unwrap();

    clock.advance(Duration::days(30));
    let err = auth
        .authorize(&email, &password(PW), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PasswordExpired), "{err:?}");
    let err = auth
        .authorize(&email, &password("wrong"), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");

    let err = auth
        .replace_passwords(&email, &password(PW), &password(PW))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NewPasswordSameAsCurrent), "{err:?}");
    auth.replace_passwords(&email, &password(PW), &password("Fresh-Pass-3"))
        .await
        .expect("an expired password can be replaced");
    auth.authorize(&email, &password("Fresh-Pass-3"), Ttl::DEFAULT)
        .await
        .expect("new password works");
    // A token still valid when the password expires cannot be refreshed.
    clock.advance(Duration::days(30) - Duration::hours(1));
    let fresh = auth
        .authorize(&email, &password("Fresh-Pass-3"), Ttl::new(86_400).unwrap())
        .await
        .unwrap();
    clock.advance(Duration::hours(2));
    let err = auth.refresh(&fresh.token, Ttl::DEFAULT).await.unwrap_err();
    assert!(matches!(err, Error::PasswordExpired), "{err:?}");
}

/// Redis rotation: add a second password, both work, remove the old one, only the new works;
/// the last password cannot be removed.
pub async fn rotation_with_two_passwords(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let auth = auth_with(users, lockout, &clock, AuthPolicy::default());
    let (email, _) = new_user(&auth, "rotation").await;
    auth.add_password(&email, &password(PW), &password("Second-Pass-4"))
        .await
        .unwrap();
    for pw in [PW, "Second-Pass-4"] {
        auth.authorize(&email, &password(pw), Ttl::DEFAULT)
            .await
            .expect(pw);
    }
    let err = auth
        .add_password(&email, &password(PW), &password("Second-Pass-4"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NewPasswordSameAsCurrent), "{err:?}");
    auth.remove_password(&email, &password(PW)).await.unwrap();
    assert!(matches!(
        auth.authorize(&email, &password(PW), Ttl::DEFAULT).await,
        Err(Error::Unauthorized)
    ));
    auth.authorize(&email, &password("Second-Pass-4"), Ttl::DEFAULT)
        .await
        .unwrap();
    let err = auth
        .remove_password(&email, &password("Second-Pass-4"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CannotDeleteLastPassword), "{err:?}");
    let err = auth
        .remove_password(&unique_email("ghost"), &password(PW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized),
        "unknown users look like wrong passwords"
    );
}

/// A stored hash weaker than the current parameters is replaced on a successful sign-in.
pub async fn weaker_hash_is_rewritten_on_login(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let weak_pool = HashingPool::new(HashingConfig::insecure_fast()).unwrap();
    let weak = weak_pool.hash(&password(PW)).await.unwrap();
    let user = users
        .create_user(NewUser {
            email: unique_email("weak"),
            name: Some(unique_email("weak-name")),
            role: Role::DB_VIEWER,
            status: UserStatus::Active,
            passwords: vec![StoredPassword {
                hash: weak.clone(),
                issued_at: t(0),
            }],
        })
        .await
        .unwrap();
    let stronger = Argon2Params {
        m_cost: 64,
        ..Argon2Params::MIN
    };
    let clock = ManualClock::starting_now();
    let auth = authcore_core::Authenticator::builder()
        .store(users.clone())
        .lockout_store(lockout)
        .hashing(HashingConfig {
            params: stronger,
            ..HashingConfig::insecure_fast()
        })
        .keys(crate::fixtures::test_keys().unwrap())
        .clock(Arc::new(clock))
        .build()
        .unwrap();
    auth.authorize(&user.email, &password(PW), Ttl::DEFAULT)
        .await
        .unwrap();
    let after = users.find_by_uid(&user.uid).await.unwrap().unwrap();
    let rewritten = &after.passwords()[0];
    assert_ne!(rewritten.hash, weak, "the hash was rewritten");
    assert!(rewritten.hash.expose_phc().contains("m=64,t=1,p=1"));
    assert_eq!(rewritten.issued_at, t(0), "the issue date is kept");
    auth.authorize(&user.email, &password(PW), Ttl::DEFAULT)
        .await
        .expect("the new hash verifies");
}
