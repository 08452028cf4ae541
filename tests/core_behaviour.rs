//! Cross-crate behaviour of the core through the facade: stores in order, store failures,
//! equal work for unknown users, user administration rules, and secrets kept out of `Debug`
//! and logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use authcore::memory::MemoryStore;
use authcore::{
    Argon2Params, AuthPolicy, Authenticator, CreateUser, Credentials, Error, HashingConfig,
    HashingPool, LockoutPolicy, PasswordComplexity, Result, Role, StoredPassword, Ttl, UpdateUser,
    User, UserAdmin as _, UserId, UserStatus, UserStore,
};
use authcore_testkit::ManualClock;
use authcore_testkit::fixtures::{authenticator, fast_hashing, password, test_keys};
use secrecy::ExposeSecret;

/// A read-only "directory" with one user whose password is checked by the store itself.
#[derive(Debug)]
struct Directory {
    email: &'static str,
    password: &'static str,
}

#[async_trait]
impl UserStore for Directory {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok((username == self.email).then(|| self.user()))
    }
    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        Ok((uid.as_str() == "dir:1").then(|| self.user()))
    }
    async fn verify_external(
        &self,
        user: &User,
        password: &authcore::Password,
    ) -> Result<Option<User>> {
        Ok((password.expose_secret() == self.password).then(|| user.clone()))
    }
}

impl Directory {
    fn user(&self) -> User {
        User {
            uid: UserId::new("dir:1"),
            email: self.email.into(),
            name: Some("Directory user".into()),
            role: Role::CLUSTER_VIEWER,
            status: UserStatus::Active,
            credentials: Credentials::External,
        }
    }
}

/// A store whose backend is down.
#[derive(Debug)]
struct Down;

#[async_trait]
impl UserStore for Down {
    async fn find_by_username(&self, _: &str) -> Result<Option<User>> {
        Err(Error::store("connection refused"))
    }
    async fn find_by_uid(&self, _: &UserId) -> Result<Option<User>> {
        Err(Error::store("connection refused"))
    }
}

fn build(stores: Vec<Arc<dyn UserStore>>, lockout: Arc<MemoryStore>) -> Authenticator {
    let mut b = Authenticator::builder()
        .lockout_store(lockout)
        .hashing(fast_hashing())
        .keys(test_keys().unwrap());
    for s in stores {
        b = b.store(s);
    }
    b.build().unwrap()
}

async fn add_user(auth: &Authenticator, email: &str, pw: &str, role: Role) -> UserId {
    let view = auth
        .create_user_unchecked(CreateUser {
            email: email.into(),
            password: password(pw),
            name: None,
            role,
        })
        .await
        .unwrap();
    UserId::new(serde_json_uid(&view.uid))
}

fn serde_json_uid(uid: &authcore::UidValue) -> String {
    match uid {
        authcore::UidValue::Number(n) => n.to_string(),
        authcore::UidValue::Text(s) => s.clone(),
    }
}

#[tokio::test]
async fn first_store_that_knows_the_user_decides() {
    let local = Arc::new(MemoryStore::new());
    let dir: Arc<dyn UserStore> = Arc::new(Directory {
        email: "both@example.org",
        password: "dir-pass",
    });
    let auth = build(vec![local.clone(), dir], local.clone());
    add_user(&auth, "both@example.org", "local-pass", Role::ADMIN).await;

    auth.authorize("both@example.org", &password("local-pass"), Ttl::DEFAULT)
        .await
        .expect("the local store decides");
    assert!(matches!(
        auth.authorize("both@example.org", &password("dir-pass"), Ttl::DEFAULT)
            .await,
        Err(Error::Unauthorized)
    ));

    let dir_only: Arc<dyn UserStore> = Arc::new(Directory {
        email: "dir@example.org",
        password: "dir-pass",
    });
    let auth = build(vec![local.clone(), dir_only], local);
    let issued = auth
        .authorize("DIR@example.org", &password("dir-pass"), Ttl::DEFAULT)
        .await
        .expect("unknown locally, known to the directory");
    assert_eq!(issued.claims.sub, "dir:1");
    auth.refresh(&issued.token, Ttl::DEFAULT)
        .await
        .expect("directory refresh");
}

#[tokio::test]
async fn a_failing_store_is_an_error_never_skipped_or_unauthorized() {
    let local = Arc::new(MemoryStore::new());
    let dir: Arc<dyn UserStore> = Arc::new(Directory {
        email: "dir@example.org",
        password: "dir-pass",
    });
    let auth = build(vec![Arc::new(Down), dir], local.clone());
    let err = auth
        .authorize("dir@example.org", &password("dir-pass"), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
    assert_eq!(
        (err.http_status(), err.error_code()),
        (503, "service_unavailable")
    );
    assert!(err.retry_after().is_some());
    assert!(!err.client_message().contains("connection refused"));

    // A later store that fails still fails an unknown user's sign-in.
    let auth = build(vec![local.clone(), Arc::new(Down)], local.clone());
    let err = auth
        .authorize("nobody@example.org", &password("x"), Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
    // But a user the first store knows is decided before the failing one is asked.
    add_user(&auth, "ann@example.org", "ann-pass", Role::ADMIN).await;
    auth.authorize("ann@example.org", &password("ann-pass"), Ttl::DEFAULT)
        .await
        .unwrap();
}

/// The current argon2 parameters of the tests below: above `Argon2Params::MIN`, so that a
/// hash made at `MIN` is weaker.
const CURRENT: Argon2Params = Argon2Params {
    m_cost: 16,
    t_cost: 1,
    p_cost: 1,
};

fn build_at(store: &Arc<MemoryStore>, params: Argon2Params, policy: AuthPolicy) -> Authenticator {
    Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .hashing(HashingConfig {
            params,
            ..fast_hashing()
        })
        .keys(test_keys().unwrap())
        .policy(policy)
        .build()
        .unwrap()
}

/// What one refused sign-in cost: its error, and the argon2 evaluations it ran, by parameters.
async fn refused(
    auth: &Authenticator,
    username: &str,
    pw: &str,
) -> (Error, BTreeMap<Argon2Params, u64>) {
    let before = auth.hashing().evaluations();
    let err = auth
        .authorize(username, &password(pw), Ttl::DEFAULT)
        .await
        .unwrap_err();
    let after = auth.hashing().evaluations();
    let spent = after
        .into_iter()
        .map(|(params, n)| (params, n - before.get(&params).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    (err, spent)
}

/// A directory user's wrong password (a refused bind) costs one argon2 evaluation at the
/// current parameters on top of the directory's answer, as an unknown user and a local user's
/// wrong password do, with the same refusal: its timing does not tell the name exists in the
/// directory. A right one costs none.
#[tokio::test]
async fn a_directory_users_wrong_password_costs_the_same_work() {
    let local = Arc::new(MemoryStore::new());
    let dir: Arc<dyn UserStore> = Arc::new(Directory {
        email: "dir@example.org",
        password: "dir-pass",
    });
    let auth = Authenticator::builder()
        .store(local.clone())
        .store(dir)
        .lockout_store(local.clone())
        .hashing(HashingConfig {
            params: CURRENT,
            ..fast_hashing()
        })
        .keys(test_keys().unwrap())
        .build()
        .unwrap();
    add_user(&auth, "ann@example.org", "ann-pass", Role::ADMIN).await;
    let (wrong, for_wrong) = refused(&auth, "ann@example.org", "x").await;
    let (unknown, for_unknown) = refused(&auth, "ghost@example.org", "x").await;
    let (directory, for_directory) = refused(&auth, "dir@example.org", "x").await;
    assert_eq!(for_wrong, BTreeMap::from([(CURRENT, 1)]));
    assert_eq!(for_unknown, for_wrong);
    assert_eq!(
        for_directory, for_wrong,
        "a refused bind costs one evaluation"
    );
    assert_eq!(seen(&directory), seen(&wrong));
    assert_eq!(seen(&unknown), seen(&wrong));

    let before = auth.hashing().evaluations();
    auth.authorize("dir@example.org", &password("dir-pass"), Ttl::DEFAULT)
        .await
        .unwrap();
    assert_eq!(
        auth.hashing().evaluations(),
        before,
        "a bind that succeeds costs none"
    );
}

/// The refusal as a client sees it: status, error code and message.
fn seen(err: &Error) -> (u16, &'static str, String) {
    (err.http_status(), err.error_code(), err.client_message())
}

/// An unknown user costs exactly what a wrong password costs a user with one password at the
/// current parameters: one argon2 evaluation at those parameters, and the same refusal. The two
/// exceptions README names are pinned too: a user with two passwords costs one evaluation per
/// stored hash, and a hash weaker than the current parameters costs one at its own (until the
/// next successful sign-in re-hashes it, after which it costs what an unknown user costs).
#[tokio::test]
async fn unknown_users_cost_the_same_work_as_wrong_passwords() {
    let store = Arc::new(MemoryStore::new());
    let auth = build_at(&store, CURRENT, AuthPolicy::default());
    add_user(&auth, "ann@example.org", "ann-pass", Role::ADMIN).await;
    let one_current = BTreeMap::from([(CURRENT, 1)]);

    let (wrong, for_wrong) = refused(&auth, "ann@example.org", "x").await;
    let (unknown, for_unknown) = refused(&auth, "ghost@example.org", "x").await;
    assert_eq!(for_wrong, one_current);
    assert_eq!(
        for_unknown, for_wrong,
        "same argon2 evaluations, same parameters"
    );
    assert!(matches!(wrong, Error::Unauthorized) && matches!(unknown, Error::Unauthorized));
    assert_eq!(seen(&wrong), seen(&unknown));

    // Two passwords (Redis rotation): two evaluations at the current parameters.
    add_user(&auth, "bob@example.org", "bob-pass-1", Role::DB_VIEWER).await;
    auth.add_password(
        "bob@example.org",
        &password("bob-pass-1"),
        &password("bob-pass-2"),
    )
    .await
    .unwrap();
    let (err, spent) = refused(&auth, "bob@example.org", "x").await;
    assert_eq!(spent, BTreeMap::from([(CURRENT, 2)]));
    assert_eq!(seen(&err), seen(&unknown));

    // A hash made at weaker parameters is computed at its own.
    let carl = add_user(&auth, "carl@example.org", "unused-pass", Role::DB_VIEWER).await;
    let weak = HashingPool::new(fast_hashing())
        .unwrap()
        .hash(&password("carl-pass"))
        .await
        .unwrap();
    store
        .set_passwords(
            &carl,
            vec![StoredPassword {
                hash: weak,
                issued_at: time::OffsetDateTime::now_utc(),
            }],
        )
        .await
        .unwrap();
    let (err, spent) = refused(&auth, "carl@example.org", "x").await;
    assert_eq!(spent, BTreeMap::from([(Argon2Params::MIN, 1)]));
    assert_eq!(seen(&err), seen(&unknown));
    // Re-hashed at the right password: from then on, the cost of an unknown user.
    auth.authorize("carl@example.org", &password("carl-pass"), Ttl::DEFAULT)
        .await
        .unwrap();
    let (_, spent) = refused(&auth, "carl@example.org", "x").await;
    assert_eq!(spent, for_unknown);
}

/// A locked account given its right password, and a disabled account given its right
/// password, are refused exactly as a wrong password is: the same status, error code and
/// message, and the same argon2 evaluations (one at the current parameters).
#[tokio::test]
async fn disabled_and_locked_accounts_look_like_wrong_passwords() {
    let store = Arc::new(MemoryStore::new());
    let policy = AuthPolicy {
        lockout: LockoutPolicy {
            threshold: 2,
            ..LockoutPolicy::DEFAULT
        },
        ..AuthPolicy::default()
    };
    let auth = build_at(&store, CURRENT, policy);
    add_user(&auth, "root@example.org", "root-pass", Role::ADMIN).await;
    let admin = auth
        .authorize("root@example.org", &password("root-pass"), Ttl::DEFAULT)
        .await
        .unwrap()
        .claims;
    let ann = add_user(&auth, "ann@example.org", "ann-pass", Role::DB_VIEWER).await;
    add_user(&auth, "len@example.org", "len-pass", Role::DB_VIEWER).await;

    // The reference: a wrong password for an active, unlocked account.
    let (wrong, for_wrong) = refused(&auth, "root@example.org", "nope").await;
    assert!(matches!(wrong, Error::Unauthorized));
    assert_eq!(for_wrong, BTreeMap::from([(CURRENT, 1)]));

    // Locked by wrong attempts (threshold 2), then the right password.
    for _ in 0..2 {
        let (err, spent) = refused(&auth, "len@example.org", "nope").await;
        assert_eq!((seen(&err), spent), (seen(&wrong), for_wrong.clone()));
    }
    let (locked, for_locked) = refused(&auth, "len@example.org", "len-pass").await;
    assert!(matches!(locked, Error::Unauthorized), "{locked:?}");
    assert_eq!(seen(&locked), seen(&wrong));
    assert_eq!(for_locked, for_wrong);

    // Disabled, then the right password.
    auth.update_user(
        &admin,
        &ann,
        UpdateUser {
            status: Some(UserStatus::Disabled),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    let (disabled, for_disabled) = refused(&auth, "ann@example.org", "ann-pass").await;
    assert!(matches!(disabled, Error::Unauthorized), "{disabled:?}");
    assert_eq!(seen(&disabled), seen(&wrong));
    assert_eq!(for_disabled, for_wrong);
    // An admin password reset does not re-enable a disabled account.
    auth.update_user(
        &admin,
        &ann,
        UpdateUser {
            password: Some(password("new-pass")),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    let (err, _) = refused(&auth, "ann@example.org", "new-pass").await;
    assert_eq!(seen(&err), seen(&wrong));
}

#[tokio::test]
async fn administration_rules() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::starting_now();
    let policy = AuthPolicy {
        complexity: PasswordComplexity { enabled: true },
        ..AuthPolicy::default()
    };
    let auth = authenticator(store.clone(), store.clone(), &clock, policy).unwrap();
    let root = add_user(&auth, "root@example.org", "Root-Pass-1", Role::ADMIN).await;
    let admin = auth
        .authorize("root@example.org", &password("Root-Pass-1"), Ttl::DEFAULT)
        .await
        .unwrap()
        .claims;

    let err = auth
        .create_user(
            &admin,
            CreateUser {
                email: "weak@example.org".into(),
                password: password("weak"),
                name: None,
                role: Role::DB_VIEWER,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "password_not_complex");

    let bob = auth
        .create_user(
            &admin,
            CreateUser {
                email: "bob@example.org".into(),
                password: password("Bob-Pass-12"),
                name: Some("Bob".into()),
                role: Role::DB_VIEWER,
            },
        )
        .await
        .unwrap();
    let bob_uid = UserId::new(serde_json_uid(&bob.uid));
    let dup = auth
        .create_user(
            &admin,
            CreateUser {
                email: "BOB@example.org".into(),
                password: password("Bob-Pass-12"),
                name: None,
                role: Role::DB_VIEWER,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (dup.error_code(), dup.http_status()),
        ("email_already_exists", 409)
    );

    let bob_claims = auth
        .authorize("bob@example.org", &password("Bob-Pass-12"), Ttl::DEFAULT)
        .await
        .unwrap()
        .claims;
    // Bob may rename himself and change his password, not his role, and not see others.
    auth.update_user(
        &bob_claims,
        &bob_uid,
        UpdateUser {
            name: Some("Robert".into()),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    let err = auth
        .update_user(
            &bob_claims,
            &bob_uid,
            UpdateUser {
                role: Some(Role::ADMIN),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden));
    assert!(matches!(
        auth.get_user(&bob_claims, &root).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        auth.list_users(&bob_claims).await,
        Err(Error::Forbidden)
    ));
    let err = auth
        .update_user(
            &bob_claims,
            &bob_uid,
            UpdateUser {
                password: Some(password("Bob-Pass-12")),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "new_password_same_as_current");

    // The last admin can be neither demoted nor deleted.
    let err = auth
        .update_user(
            &admin,
            &root,
            UpdateUser {
                role: Some(Role::DB_VIEWER),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "change_last_admin_role_not_allowed");
    assert!(matches!(
        auth.delete_user(&admin, &root).await,
        Err(Error::ChangeLastAdminRoleNotAllowed)
    ));
    // With a second admin, the first may go.
    auth.update_user(
        &admin,
        &bob_uid,
        UpdateUser {
            role: Some(Role::ADMIN),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    auth.delete_user(&admin, &root).await.unwrap();
    // The role change ended Bob's viewer session; he signs in again, as an admin.
    assert!(matches!(
        auth.list_users(&bob_claims).await,
        Err(Error::Unauthorized)
    ));
    let bob_claims = auth
        .authorize("bob@example.org", &password("Bob-Pass-12"), Ttl::DEFAULT)
        .await
        .unwrap()
        .claims;
    assert!(matches!(
        auth.get_user(&bob_claims, &root).await,
        Err(Error::NotFound)
    ));
    assert!(
        matches!(auth.list_users(&admin).await, Err(Error::Unauthorized)),
        "root is gone"
    );
    let listed = auth.list_users(&bob_claims).await.unwrap();
    assert_eq!(listed.len(), 1);
    let json = serde_json_string(&listed[0]);
    assert!(json.contains(r#""uid":2"#), "{json}");
    assert!(json.contains(r#""name":"Robert""#), "{json}");
    assert!(json.contains(r#""auth_method":"regular""#), "{json}");
    assert!(
        !json.contains("argon2"),
        "no hash in the user object: {json}"
    );
}

fn serde_json_string(v: &authcore::UserView) -> String {
    serde_json::to_string(v).unwrap()
}

#[tokio::test]
async fn administration_uses_the_callers_current_role_not_the_token() {
    let store = Arc::new(MemoryStore::new());
    let auth = build(vec![store.clone()], store);
    let root = add_user(&auth, "root@example.org", "root-pass", Role::ADMIN).await;
    let second = add_user(&auth, "second@example.org", "second-pass", Role::ADMIN).await;
    let root_claims = auth
        .authorize("root@example.org", &password("root-pass"), Ttl::DEFAULT)
        .await
        .unwrap()
        .claims;
    let second_claims = auth
        .authorize("second@example.org", &password("second-pass"), Ttl::DEFAULT)
        .await
        .unwrap()
        .claims;
    auth.list_users(&second_claims).await.unwrap();

    // Demoted: its still-valid admin token no longer administers (the demotion ended its
    // session), and a new sign-in gets the new role only.
    auth.update_user(
        &root_claims,
        &second,
        UpdateUser {
            role: Some(Role::DB_VIEWER),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        auth.list_users(&second_claims).await,
        Err(Error::Unauthorized)
    ));
    let second_claims = auth
        .authorize("second@example.org", &password("second-pass"), Ttl::DEFAULT)
        .await
        .unwrap()
        .claims;
    assert!(matches!(
        auth.list_users(&second_claims).await,
        Err(Error::Forbidden)
    ));
    // But it may still read and rename itself.
    auth.get_user(&second_claims, &second).await.unwrap();

    // Deleted: its token is worth nothing for administration.
    auth.delete_user(&root_claims, &second).await.unwrap();
    assert!(matches!(
        auth.get_user(&second_claims, &second).await,
        Err(Error::Unauthorized)
    ));
    // A forged claim set naming a uid that does not exist gets nothing either.
    let mut ghost = root_claims.clone();
    ghost.sub = "424242".into();
    assert!(matches!(
        auth.list_users(&ghost).await,
        Err(Error::Unauthorized)
    ));
    assert!(auth.get_user(&root_claims, &root).await.is_ok());
}
