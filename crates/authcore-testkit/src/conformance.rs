//! The conformance suite every store runs.
//!
//! Each case is a plain `pub async fn` taking the store under test; the `run_*` functions run
//! them all. Cases create their own uniquely named users and lockout keys, so one shared store
//! (one database) can run every case, in any order, concurrently with other tests.
//!
//! A case panics (like `assert!`) when the store misbehaves: call it from a test.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! let store = Arc::new(authcore_memory::MemoryStore::new());
//! authcore_testkit::conformance::run_user_admin_suite(store.clone()).await;
//! authcore_testkit::conformance::run_lockout_suite(store.clone()).await;
//! authcore_testkit::conformance::run_authenticator_suite(store.clone(), store).await;
//! # }
//! ```
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
// Test support: a failed expectation is a panic, exactly as in `assert!`.

use std::sync::Arc;

use authcore_core::{
    Argon2Params, AuthPolicy, Claims, CreateUser, Credentials, Error, HashingConfig, HashingPool,
    LockedUntil, LockoutPolicy, LockoutStore, NewUser, PasswordExpiry, PasswordHash, Role,
    StoredPassword, Ttl, UpdateUser, User, UserAdmin, UserId, UserStatus, UserStore, UserUpdate,
    normalize_username,
};
use time::{Duration, OffsetDateTime};

use crate::ManualClock;
use crate::fixtures::{authenticator, password, unique_email};

// ------------------------------------------------------------------------------------------
// User administration and lookup
// ------------------------------------------------------------------------------------------

/// Runs every [`UserAdmin`] case.
pub async fn run_user_admin_suite(store: Arc<dyn UserAdmin>) {
    create_and_find(&*store).await;
    usernames_are_case_insensitive(&*store).await;
    duplicate_email_and_name_are_refused(&*store).await;
    several_passwords_keep_their_issue_dates(&*store).await;
    remove_password_never_removes_the_last(&*store).await;
    set_passwords_replaces_the_list(&*store).await;
    replace_hash_writes_back(&*store).await;
    update_user_changes_profile(&*store).await;
    delete_user_removes_it(&*store).await;
    list_users_is_ordered_by_uid(&*store).await;
    unknown_uids_are_not_found(&*store).await;
    counts_users_by_role(&*store).await;
}

/// Whole seconds: every store keeps at least that precision.
fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600 + secs).unwrap()
}

/// A syntactically valid PHC string with a unique salt (never verified by these cases).
fn fake_hash(tag: u32) -> PasswordHash {
    let salt = uuid::Uuid::new_v4().simple().to_string();
    PasswordHash::new(format!(
        "$argon2id$v=19$m=8,t=1,p=1${}${:043}",
        &salt[..22],
        tag
    ))
}

fn stored(tag: u32, issued_at: OffsetDateTime) -> StoredPassword {
    StoredPassword {
        hash: fake_hash(tag),
        issued_at,
    }
}

async fn create(store: &dyn UserAdmin, email: &str, passwords: Vec<StoredPassword>) -> User {
    store
        .create_user(NewUser {
            email: email.to_owned(),
            name: format!("name {email}"),
            role: Role::new(Role::DB_VIEWER),
            status: UserStatus::Active,
            passwords,
        })
        .await
        .expect("create_user")
}

/// A created user is found by normalised username and by uid, with every field intact.
pub async fn create_and_find(store: &dyn UserAdmin) {
    let email = unique_email("find");
    let pw = stored(1, t(0));
    let user = create(store, &email, vec![pw.clone()]).await;
    assert_eq!(user.email, email);
    assert_eq!(user.name, format!("name {email}"));
    assert_eq!(user.role.as_str(), Role::DB_VIEWER);
    assert_eq!(user.status, UserStatus::Active);
    assert!(user.uid.as_u64().is_some(), "local uids are integers");
    assert_eq!(user.credentials, Credentials::Passwords(vec![pw]));

    let by_name = store
        .find_by_username(&normalize_username(&email))
        .await
        .unwrap()
        .expect("found by username");
    assert_eq!(by_name, user);
    let by_uid = store
        .find_by_uid(&user.uid)
        .await
        .unwrap()
        .expect("found by uid");
    assert_eq!(by_uid, user);
    assert!(store.admin().is_some(), "admin() returns the store itself");
    let unknown = normalize_username(&unique_email("nobody"));
    assert_eq!(store.find_by_username(&unknown).await.unwrap(), None);
}

/// Lookups compare normalised usernames; the e-mail is kept as given.
pub async fn usernames_are_case_insensitive(store: &dyn UserAdmin) {
    let email = unique_email("Mixed.Case").replace("example.test", "Example.TEST");
    let user = create(store, &email, vec![stored(1, t(0))]).await;
    let found = store
        .find_by_username(&normalize_username(&email.to_uppercase()))
        .await
        .unwrap()
        .expect("found case-insensitively");
    assert_eq!(found.uid, user.uid);
    assert_eq!(found.email, email, "the e-mail keeps its case");
}

/// A second user with the same e-mail (in any case) or the same name is refused.
pub async fn duplicate_email_and_name_are_refused(store: &dyn UserAdmin) {
    let email = unique_email("dup");
    let first = create(store, &email, vec![stored(1, t(0))]).await;
    let err = store
        .create_user(NewUser {
            email: email.to_uppercase(),
            name: format!("other {email}"),
            role: Role::new(Role::DB_VIEWER),
            status: UserStatus::Active,
            passwords: vec![stored(2, t(0))],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmailAlreadyExists), "{err:?}");
    let err = store
        .create_user(NewUser {
            email: unique_email("dup2"),
            name: first.name.clone(),
            role: Role::new(Role::DB_VIEWER),
            status: UserStatus::Active,
            passwords: vec![stored(3, t(0))],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NameAlreadyExists), "{err:?}");

    let other = create(store, &unique_email("dup3"), vec![stored(4, t(0))]).await;
    let err = store
        .update_user(
            &other.uid,
            UserUpdate {
                email: Some(email.clone()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmailAlreadyExists), "{err:?}");
    let err = store
        .update_user(
            &other.uid,
            UserUpdate {
                name: Some(first.name.clone()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NameAlreadyExists), "{err:?}");
}

/// A user holds several passwords, each with its own issue date.
pub async fn several_passwords_keep_their_issue_dates(store: &dyn UserAdmin) {
    let first = stored(1, t(0));
    let second = stored(2, t(86_400));
    let user = create(store, &unique_email("several"), vec![first.clone()]).await;
    store.add_password(&user.uid, second.clone()).await.unwrap();
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    let mut got = found.passwords().to_vec();
    got.sort_by_key(|p| p.issued_at);
    assert_eq!(got, vec![first, second]);
    assert_eq!(found.password_issue_date(), Some(t(86_400)));
}

/// Removing a password works while another remains; the last one cannot go.
pub async fn remove_password_never_removes_the_last(store: &dyn UserAdmin) {
    let a = stored(1, t(0));
    let b = stored(2, t(10));
    let user = create(store, &unique_email("remove"), vec![a.clone(), b.clone()]).await;
    store.remove_password(&user.uid, &a.hash).await.unwrap();
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.passwords(), std::slice::from_ref(&b));
    let err = store.remove_password(&user.uid, &b.hash).await.unwrap_err();
    assert!(matches!(err, Error::CannotDeleteLastPassword), "{err:?}");
    let err = store.remove_password(&user.uid, &a.hash).await.unwrap_err();
    assert!(
        matches!(err, Error::NotFound | Error::CannotDeleteLastPassword),
        "{err:?}"
    );
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.passwords().len(), 1);
}

/// `set_passwords` replaces the whole list.
pub async fn set_passwords_replaces_the_list(store: &dyn UserAdmin) {
    let user = create(
        store,
        &unique_email("set"),
        vec![stored(1, t(0)), stored(2, t(1))],
    )
    .await;
    let fresh = stored(3, t(100));
    store
        .set_passwords(&user.uid, vec![fresh.clone()])
        .await
        .unwrap();
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.passwords(), &[fresh]);
}

/// Re-hash on login writes the new hash back and keeps the issue date; a stale `old` is a
/// no-op.
pub async fn replace_hash_writes_back(store: &dyn UserAdmin) {
    let old = stored(1, t(5));
    let user = create(store, &unique_email("rehash"), vec![old.clone()]).await;
    let new = fake_hash(2);
    assert!(
        store
            .replace_hash(&user.uid, &old.hash, new.clone())
            .await
            .unwrap()
    );
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(
        found.passwords(),
        &[StoredPassword {
            hash: new,
            issued_at: t(5)
        }]
    );
    assert!(
        !store
            .replace_hash(&user.uid, &old.hash, fake_hash(3))
            .await
            .unwrap()
    );
}

/// Profile updates change only what they name.
pub async fn update_user_changes_profile(store: &dyn UserAdmin) {
    let user = create(store, &unique_email("update"), vec![stored(1, t(0))]).await;
    let new_email = unique_email("Updated");
    let updated = store
        .update_user(
            &user.uid,
            UserUpdate {
                email: Some(new_email.clone()),
                name: Some(format!("renamed {new_email}")),
                role: Some(Role::new(Role::ADMIN)),
                status: Some(UserStatus::Disabled),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.email, new_email);
    assert_eq!(updated.name, format!("renamed {new_email}"));
    assert!(updated.role.is_admin());
    assert_eq!(updated.status, UserStatus::Disabled);
    assert_eq!(updated.passwords(), user.passwords());
    let again = store
        .find_by_username(&normalize_username(&new_email))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, updated);
    assert_eq!(
        store
            .find_by_username(&normalize_username(&user.email))
            .await
            .unwrap(),
        None
    );
    let same = store
        .update_user(&user.uid, UserUpdate::default())
        .await
        .unwrap();
    assert_eq!(same, updated);
}

/// A deleted user is gone; deleting again reports `false`.
pub async fn delete_user_removes_it(store: &dyn UserAdmin) {
    let user = create(store, &unique_email("delete"), vec![stored(1, t(0))]).await;
    assert!(store.delete_user(&user.uid).await.unwrap());
    assert_eq!(store.find_by_uid(&user.uid).await.unwrap(), None);
    assert_eq!(
        store
            .find_by_username(&normalize_username(&user.email))
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete_user(&user.uid).await.unwrap());
    // The e-mail is free again.
    create(store, &user.email, vec![stored(2, t(0))]).await;
}

/// `list_users` includes every user, ordered by uid.
pub async fn list_users_is_ordered_by_uid(store: &dyn UserAdmin) {
    let a = create(store, &unique_email("list-a"), vec![stored(1, t(0))]).await;
    let b = create(store, &unique_email("list-b"), vec![stored(2, t(0))]).await;
    let all = store.list_users().await.unwrap();
    let ids: Vec<u64> = all.iter().filter_map(|u| u.uid.as_u64()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "ordered by uid");
    assert!(all.contains(&a) && all.contains(&b));
    assert!(a.uid.as_u64() < b.uid.as_u64(), "uids increase");
}

/// Operations on a uid that does not exist answer `NotFound` (or `None`/`false`).
pub async fn unknown_uids_are_not_found(store: &dyn UserAdmin) {
    let ghost = UserId::new("987654321012");
    assert_eq!(store.find_by_uid(&ghost).await.unwrap(), None);
    assert_eq!(
        store
            .find_by_uid(&UserId::new("not-a-number"))
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store
            .update_user(
                &ghost,
                UserUpdate {
                    name: Some("x".into()),
                    ..UserUpdate::default()
                }
            )
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.set_passwords(&ghost, vec![stored(1, t(0))]).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.add_password(&ghost, stored(1, t(0))).await,
        Err(Error::NotFound)
    ));
    assert!(!store.delete_user(&ghost).await.unwrap());
}

/// `count_with_role` counts exactly the users holding a role; `is_empty` is false once a user
/// exists.
pub async fn counts_users_by_role(store: &dyn UserAdmin) {
    let role = Role::new(format!("role-{}", uuid::Uuid::new_v4().simple()));
    assert_eq!(store.count_with_role(&role).await.unwrap(), 0);
    for tag in 0..2 {
        let user = create(store, &unique_email("count"), vec![stored(tag, t(0))]).await;
        store
            .update_user(
                &user.uid,
                UserUpdate {
                    role: Some(role.clone()),
                    ..UserUpdate::default()
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(store.count_with_role(&role).await.unwrap(), 2);
    assert!(!store.is_empty().await.unwrap());
}

// ------------------------------------------------------------------------------------------
// Lockout
// ------------------------------------------------------------------------------------------

/// Runs every [`LockoutStore`] case.
pub async fn run_lockout_suite(store: Arc<dyn LockoutStore>) {
    lockout_follows_the_reference_semantics(&*store).await;
    lockout_until_admin_reset(&*store).await;
    lockout_clear_forgets(&*store).await;
    lockout_keys_are_independent(&*store).await;
    concurrent_failures_count_exactly(Arc::clone(&store), 200).await;
}

fn lockout_key(tag: &str) -> UserId {
    UserId::new(format!(
        "conformance-{tag}-{}",
        uuid::Uuid::new_v4().simple()
    ))
}

/// The store's answers match [`LockoutPolicy::next_state`] step by step: counting, locking at
/// the threshold, counting on while locked, the counter reset after a quiet period and a new
/// count after the lock expires.
pub async fn lockout_follows_the_reference_semantics(store: &dyn LockoutStore) {
    let policy = LockoutPolicy {
        threshold: 3,
        duration_secs: 600,
        counter_reset_after_secs: 60,
    };
    let key = lockout_key("reference");
    assert_eq!(store.state(&key).await.unwrap(), None);
    // Failures at these offsets: two, a quiet period (reset), three (lock), one while locked,
    // then one after the lock expired.
    let times = [0, 30, 200, 210, 220, 300, 1000];
    let mut model = None;
    for secs in times {
        let now = t(secs);
        let expected = policy.next_state(model.as_ref(), now);
        let got = store.record_failure(&key, now, &policy).await.unwrap();
        assert_eq!(got, expected, "after a failure at +{secs}s");
        assert_eq!(store.state(&key).await.unwrap(), Some(expected));
        model = Some(expected);
    }
    let last = model.unwrap();
    assert_eq!(last.failures, 1, "a new count after the lock expired");
}

/// With `login_lockout_duration` 0 the lock has no end.
pub async fn lockout_until_admin_reset(store: &dyn LockoutStore) {
    let policy = LockoutPolicy {
        threshold: 2,
        duration_secs: 0,
        counter_reset_after_secs: 900,
    };
    let key = lockout_key("forever");
    store.record_failure(&key, t(0), &policy).await.unwrap();
    let s = store.record_failure(&key, t(1), &policy).await.unwrap();
    assert_eq!(s.locked_until, Some(LockedUntil::AdminReset));
    let s = store.state(&key).await.unwrap().unwrap();
    assert!(s.is_locked(t(10 * 365 * 86_400)));
    store.clear(&key).await.unwrap();
    assert_eq!(store.state(&key).await.unwrap(), None);
}

/// `clear` forgets failures and the lock.
pub async fn lockout_clear_forgets(store: &dyn LockoutStore) {
    let policy = LockoutPolicy {
        threshold: 1,
        ..LockoutPolicy::DEFAULT
    };
    let key = lockout_key("clear");
    let s = store.record_failure(&key, t(0), &policy).await.unwrap();
    assert!(s.is_locked(t(0)));
    store.clear(&key).await.unwrap();
    assert_eq!(store.state(&key).await.unwrap(), None);
    store.clear(&key).await.unwrap();
    let s = store.record_failure(&key, t(1), &policy).await.unwrap();
    assert_eq!(s.failures, 1);
}

/// One user's failures do not touch another's.
pub async fn lockout_keys_are_independent(store: &dyn LockoutStore) {
    let (a, b) = (lockout_key("a"), lockout_key("b"));
    let p = LockoutPolicy::DEFAULT;
    store.record_failure(&a, t(0), &p).await.unwrap();
    store.record_failure(&a, t(1), &p).await.unwrap();
    assert_eq!(store.state(&b).await.unwrap(), None);
    assert_eq!(
        store.record_failure(&b, t(2), &p).await.unwrap().failures,
        1
    );
    // Keys are arbitrary text: directory users are keyed by DN.
    let dn = UserId::new(format!(
        "uid=o'brien\\2c x,ou=people,dc=example,dc=org-{}",
        uuid::Uuid::new_v4().simple()
    ));
    assert_eq!(
        store.record_failure(&dn, t(0), &p).await.unwrap().failures,
        1
    );
}

/// `n` concurrent failures for one user count exactly `n` and lock the account.
pub async fn concurrent_failures_count_exactly(store: Arc<dyn LockoutStore>, n: u32) {
    let policy = LockoutPolicy {
        threshold: 5,
        ..LockoutPolicy::DEFAULT
    };
    let key = lockout_key("concurrent");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let store = Arc::clone(&store);
        let key = key.clone();
        tasks.spawn(async move {
            store
                .record_failure(&key, t(i64::from(i % 10)), &policy)
                .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task").expect("record_failure");
    }
    let s = store.state(&key).await.unwrap().unwrap();
    assert_eq!(s.failures, n, "every concurrent failure is counted once");
    assert!(s.is_locked(t(10)));
}

// ------------------------------------------------------------------------------------------
// The authenticator over the store
// ------------------------------------------------------------------------------------------

/// Runs every sign-in case through a real [`authcore_core::Authenticator`] with a manual clock.
pub async fn run_authenticator_suite(users: Arc<dyn UserAdmin>, lockout: Arc<dyn LockoutStore>) {
    sign_in_and_refresh(Arc::clone(&users), Arc::clone(&lockout)).await;
    lockout_then_unlock(Arc::clone(&users), Arc::clone(&lockout)).await;
    expiry_and_change_of_expired_password(Arc::clone(&users), Arc::clone(&lockout)).await;
    rotation_with_two_passwords(Arc::clone(&users), Arc::clone(&lockout)).await;
    weaker_hash_is_rewritten_on_login(Arc::clone(&users), Arc::clone(&lockout)).await;
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
        role: Role::new(Role::ADMIN),
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
            role: Role::new(Role::DB_MEMBER),
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
        assert!(
            auth.authorize(&email, &password("wrong"), Ttl::DEFAULT)
                .await
                .is_err()
        );
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
        assert!(
            auth.authorize(&email, &password("wrong"), Ttl::DEFAULT)
                .await
                .is_err()
        );
    }
    assert!(
        auth.authorize(&email, &password(PW), Ttl::DEFAULT)
            .await
            .is_err()
    );
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
        auth.authorize(&email, &password(PW), Ttl::DEFAULT)
            .await
            .is_err(),
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
    assert!(
        auth.authorize(&email, &password(PW), Ttl::DEFAULT)
            .await
            .is_err()
    );
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
            name: unique_email("weak-name"),
            role: Role::new(Role::DB_VIEWER),
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

// ------------------------------------------------------------------------------------------
// Read-only directories
// ------------------------------------------------------------------------------------------

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
        assert!(
            auth.authorize(&u.username, &password("wrong"), Ttl::DEFAULT)
                .await
                .is_err()
        );
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
