//! `Authenticator::import_user` through the facade, on the memory store: outcomes, dry runs,
//! bad rows that write nothing, the last-admin rule, and concurrent imports of one e-mail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::sync::Arc;

use authcore::memory::MemoryStore;
use authcore::{
    Authenticator, Error, HashFormat, ImportOutcome, ImportPassword, ImportUser, OnConflict,
    Password, PasswordHash, Role, UserStatus, UserStore as _,
};
use authcore_testkit::fixtures::{fast_hashing, test_keys};

const BCRYPT: &str = "$2b$04$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G";
const SHA256_CRYPT: &str = "$5$pKM5PeUDlwKJCpjt$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt5";

fn setup() -> (Arc<MemoryStore>, Authenticator) {
    let store = Arc::new(MemoryStore::new());
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .allowed_roles(Role::REDIS_MANAGEMENT_ROLES)
        .build()
        .unwrap();
    (store, auth)
}

fn row(email: &str, hash: &str) -> ImportUser {
    ImportUser {
        email: email.to_owned(),
        name: None,
        role: None,
        status: None,
        password: ImportPassword::Hash(PasswordHash::new(hash)),
    }
}

async fn formats(store: &MemoryStore, email: &str) -> Option<Vec<HashFormat>> {
    let user = store.find_by_username(email).await.unwrap()?;
    Some(
        user.passwords()
            .iter()
            .map(|p| HashFormat::detect(p.hash.expose_phc()).unwrap())
            .collect(),
    )
}

#[tokio::test]
async fn outcomes_defaults_and_dry_runs() {
    let (store, auth) = setup();
    let dry = auth
        .import_user(row("a@example.org", BCRYPT), OnConflict::Skip, true)
        .await
        .unwrap();
    assert_eq!(dry, ImportOutcome::Created);
    assert_eq!(
        formats(&store, "a@example.org").await,
        None,
        "a dry run writes nothing"
    );

    let created = auth
        .import_user(row("A@Example.org", BCRYPT), OnConflict::Skip, false)
        .await
        .unwrap();
    assert_eq!(created, ImportOutcome::Created);
    let user = store
        .find_by_username("a@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.name, None,
        "a row without a name makes a user without one (never the e-mail)"
    );
    assert_eq!(user.role.as_str(), Role::DB_VIEWER);
    assert_eq!(user.status, UserStatus::Active);
    assert_eq!(
        user.passwords()[0].hash.expose_phc(),
        BCRYPT,
        "stored as is"
    );

    let again = auth
        .import_user(row("a@example.org", SHA256_CRYPT), OnConflict::Skip, false)
        .await
        .unwrap();
    assert_eq!(again, ImportOutcome::Skipped);
    assert_eq!(
        formats(&store, "a@example.org").await.unwrap(),
        [HashFormat::Bcrypt]
    );

    let same = auth
        .import_user(row("A@Example.org", BCRYPT), OnConflict::Update, false)
        .await
        .unwrap();
    assert_eq!(same, ImportOutcome::Unchanged);

    let mut changed = row("a@example.org", SHA256_CRYPT);
    changed.status = Some(UserStatus::Disabled);
    let dry = auth
        .import_user(changed.clone(), OnConflict::Update, true)
        .await
        .unwrap();
    assert_eq!(dry, ImportOutcome::Updated);
    assert_eq!(
        formats(&store, "a@example.org").await.unwrap(),
        [HashFormat::Bcrypt]
    );
    let updated = auth
        .import_user(changed, OnConflict::Update, false)
        .await
        .unwrap();
    assert_eq!(updated, ImportOutcome::Updated);
    let user = store
        .find_by_username("a@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.status, UserStatus::Disabled);
    assert_eq!(
        formats(&store, "a@example.org").await.unwrap(),
        [HashFormat::Sha256Crypt]
    );

    // A plain password is hashed with argon2id; the same password again is unchanged.
    let plain = ImportUser {
        password: ImportPassword::Plain(Password::from("p-Secret-1".to_owned())),
        ..row("p@example.org", BCRYPT)
    };
    assert_eq!(
        auth.import_user(plain.clone(), OnConflict::Update, false)
            .await
            .unwrap(),
        ImportOutcome::Created
    );
    assert_eq!(
        formats(&store, "p@example.org").await.unwrap(),
        [HashFormat::Argon2]
    );
    assert_eq!(
        auth.import_user(plain, OnConflict::Update, false)
            .await
            .unwrap(),
        ImportOutcome::Unchanged
    );
}

#[tokio::test]
async fn bad_rows_write_nothing() {
    let (store, auth) = setup();
    let bad = [
        row("", BCRYPT),
        row("has space@example.org", BCRYPT),
        row("x@example.org", "$2b$04$short"),
        row("x@example.org", "plaintext"),
        row("x@example.org", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA"),
        ImportUser {
            role: Some(Role::new("emperor")),
            ..row("x@example.org", BCRYPT)
        },
        ImportUser {
            name: Some("<b>".into()),
            ..row("x@example.org", BCRYPT)
        },
    ];
    for user in bad {
        let err = auth
            .import_user(user.clone(), OnConflict::Update, false)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{user:?}: {err:?}");
        assert!(
            !err.to_string().contains("short"),
            "no hash in messages: {err}"
        );
    }
    assert!(
        store
            .find_by_username("x@example.org")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_last_admin_is_not_demoted_by_an_update() {
    let (store, auth) = setup();
    let admin = ImportUser {
        role: Some(Role::ADMIN),
        ..row("root@example.org", BCRYPT)
    };
    auth.import_user(admin, OnConflict::Skip, false)
        .await
        .unwrap();
    let demote = ImportUser {
        role: Some(Role::DB_VIEWER),
        ..row("root@example.org", SHA256_CRYPT)
    };
    let err = auth
        .import_user(demote, OnConflict::Update, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ChangeLastAdminRoleNotAllowed),
        "{err:?}"
    );
    let user = store
        .find_by_username("root@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(user.role.is_admin());
    assert_eq!(
        formats(&store, "root@example.org").await.unwrap(),
        [HashFormat::Bcrypt]
    );
}

/// Many imports of one e-mail released at once (two imports, or an import and a server,
/// racing): exactly one creates the user, every other one sees a conflict; none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_imports_of_one_email_create_it_once() {
    let (store, auth) = setup();
    let n = 16;
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (auth, barrier) = (auth.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let hash = if i % 2 == 0 { BCRYPT } else { SHA256_CRYPT };
            barrier.wait().await;
            auth.import_user(row("race@example.org", hash), OnConflict::Skip, false)
                .await
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            ImportOutcome::Created => created += 1,
            ImportOutcome::Skipped => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_users_len().await, 1);
}

trait CountUsers {
    async fn list_users_len(&self) -> usize;
}

impl CountUsers for MemoryStore {
    async fn list_users_len(&self) -> usize {
        use authcore::UserAdmin as _;
        self.list_users().await.unwrap().len()
    }
}
