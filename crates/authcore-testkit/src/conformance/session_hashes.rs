//! A hash replaced at a sign-in is no password change: the legacy-hash upgrade and the
//! re-hash after the hashing parameters went up, through a real sign-in on each store.

use std::sync::Arc;

use authcore_core::{
    Argon2Params, AuthPolicy, Authenticator, Clock, HashingConfig, IssuedToken, LockoutStore,
    NewUser, PasswordHash, Role, StoredPassword, Ttl, UserAdmin, UserId, UserStatus,
};

use super::sessions::{assert_live, sign_in};
use crate::ManualClock;
use crate::fixtures::{authenticator, fast_hashing, password, test_keys, unique_email};

/// `correct horse` as bcrypt at cost 4 (crates/authcore-core/testdata/legacy_hash_vectors.json).
const BCRYPT: (&str, &str) = (
    "correct horse",
    "$2b$04$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G",
);

/// A user holding one password stored as `hash`, issued now; its uid.
async fn user_with_hash(
    users: &dyn UserAdmin,
    clock: &ManualClock,
    hash: &str,
) -> (String, UserId) {
    let email = unique_email("upgrade");
    let user = users
        .create_user(NewUser {
            email: email.clone(),
            name: None,
            role: Role::DB_MEMBER,
            status: UserStatus::Active,
            passwords: vec![StoredPassword {
                hash: PasswordHash::new(hash),
                issued_at: clock.now(),
            }],
        })
        .await
        .expect("create user");
    (email, user.uid)
}

/// The stored hash and issue date of the user's only password.
async fn stored(users: &dyn UserAdmin, uid: &UserId) -> (String, time::OffsetDateTime) {
    let user = users.find_by_uid(uid).await.unwrap().expect("user");
    assert_eq!(user.passwords().len(), 1);
    let p = &user.passwords()[0];
    (p.hash.expose_phc().to_owned(), p.issued_at)
}

#[track_caller]
fn assert_same_session_state(a: &IssuedToken, b: &IssuedToken, what: &str) {
    assert!(a.claims.pwd.is_some(), "{what}: no password id");
    assert_eq!(
        (a.claims.generation, &a.claims.pwd),
        (b.claims.generation, &b.claims.pwd),
        "{what}"
    );
}

/// A legacy hash (bcrypt) upgraded to argon2id by the first sign-in, and an argon2id hash
/// re-hashed by a sign-in at higher parameters: the stored hash changes, nothing else does.
/// The epoch and the password id stay (so tokens of before and after carry the same `gen`
/// and `pwd`), the issue date stays, and the tokens minted before and by the upgrading
/// sign-in pass the fresh check and refresh.
pub async fn hash_upgrades_at_sign_in_end_nothing(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let auth = authenticator(
        users.clone(),
        Arc::clone(&lockout),
        &clock,
        AuthPolicy::default(),
    )
    .expect("authenticator");

    // Legacy: the upgrading sign-in mints a token; the next one is of the same state.
    let (email, uid) = user_with_hash(&*users, &clock, BCRYPT.1).await;
    let (_, issued) = stored(&*users, &uid).await;
    let first = sign_in(&auth, &email, BCRYPT.0).await;
    let (hash, issued_after) = stored(&*users, &uid).await;
    assert!(hash.starts_with("$argon2id$"), "upgraded: {hash}");
    assert_eq!(issued_after, issued, "the upgrade keeps the issue date");
    let second = sign_in(&auth, &email, BCRYPT.0).await;
    assert_same_session_state(&first, &second, "across the legacy upgrade");
    assert_live(&auth, &first, "the token of the upgrading sign-in").await;

    // Re-hash: the same store behind an authenticator with stronger parameters.
    let stronger = Authenticator::builder()
        .store(users.clone())
        .lockout_store(lockout)
        .hashing(HashingConfig {
            params: Argon2Params {
                m_cost: Argon2Params::MIN.m_cost * 2,
                ..Argon2Params::MIN
            },
            ..fast_hashing()
        })
        .keys(test_keys().expect("keys"))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("authenticator");
    let rehashed = stronger
        .authorize(&email, &password(BCRYPT.0), Ttl::DEFAULT)
        .await
        .expect("sign-in at stronger parameters");
    let (new_hash, issued_after) = stored(&*users, &uid).await;
    assert_ne!(new_hash, hash, "re-hashed");
    assert_eq!(issued_after, issued, "the re-hash keeps the issue date");
    assert_same_session_state(&first, &rehashed, "across the re-hash");
    for token in [&first, &second, &rehashed] {
        assert_live(&stronger, token, "after the re-hash").await;
    }
}
