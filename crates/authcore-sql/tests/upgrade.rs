//! Upgrading a database created by the last released schema (commit b22668d, recorded in
//! tests/fixtures/schema-b22668d) with users in it: the current store applies the newer
//! migrations and those users sign in with their passwords, roles and statuses intact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use authcore_core::{
    Authenticator, Error, HashingConfig, HashingPool, Key, KeyRing, Password, Role, Ttl,
    UserAdmin as _,
};
use authcore_sql::SqlStore;
use secrecy::SecretSlice;
use sqlx::AssertSqlSafe;

/// The old migrations of `engine`, then two users and a lockout row, in that schema's form.
async fn old_database<DB>(url: &str, engine: &str, timestamp: &str)
where
    DB: sqlx::Database,
    <DB as sqlx::Database>::Connection: sqlx::migrate::Migrate,
    for<'c> &'c mut <DB as sqlx::Database>::Connection: sqlx::Executor<'c, Database = DB>,
{
    let pool = sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/schema-b22668d")
        .join(engine);
    sqlx::migrate::Migrator::new(dir)
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let hashing = HashingPool::new(HashingConfig::insecure_fast()).unwrap();
    let mut sql = String::new();
    for (email, role, status, password) in [
        ("Admin@Example.org", "admin", "active", "Adm1n-Secret!"),
        ("ann@example.org", "db_viewer", "disabled", "Ann-Passw0rd-1"),
        ("bob@example.org", "db_member", "active", "Bob-Passw0rd-1"),
    ] {
        let phc = hashing
            .hash(&Password::from(password.to_owned()))
            .await
            .unwrap();
        let phc = phc.expose_phc().to_owned();
        assert!(!phc.contains('\''));
        sql.push_str(&format!(
            "INSERT INTO authcore_users (email, email_key, name, role, status, created_at, updated_at) \
             VALUES ('{email}', '{key}', '{email}', '{role}', '{status}', {timestamp}, {timestamp});\n\
             INSERT INTO authcore_passwords (uid, phc, issued_at) \
             SELECT uid, '{phc}', {timestamp} FROM authcore_users WHERE email_key = '{key}';\n",
            key = email.to_lowercase(),
        ));
    }
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

async fn upgrade_and_sign_in(url: &str) {
    let store = Arc::new(SqlStore::connect(url).await.unwrap());
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .hashing(HashingConfig::insecure_fast())
        .keys(KeyRing::new(Key::hs256("k", &SecretSlice::from(vec![7u8; 32])).unwrap()).unwrap())
        .build()
        .unwrap();
    let pw = |p: &str| Password::from(p.to_owned());
    let admin = auth
        .authorize("admin@example.org", &pw("Adm1n-Secret!"), Ttl::DEFAULT)
        .await
        .unwrap();
    assert_eq!(admin.claims.role, Role::ADMIN);
    assert_eq!(admin.claims.username, "Admin@Example.org");
    auth.authorize("bob@example.org", &pw("Bob-Passw0rd-1"), Ttl::DEFAULT)
        .await
        .unwrap();
    assert!(matches!(
        auth.authorize("bob@example.org", &pw("wrong"), Ttl::DEFAULT)
            .await,
        Err(Error::Unauthorized)
    ));
    assert!(
        matches!(
            auth.authorize("ann@example.org", &pw("Ann-Passw0rd-1"), Ttl::DEFAULT)
                .await,
            Err(Error::Unauthorized)
        ),
        "a disabled user stays disabled"
    );
    assert_eq!(store.count_with_role(&Role::ADMIN).await.unwrap(), 1);
    assert_eq!(store.list_users().await.unwrap().len(), 3);
    // New users go on after the old ones.
    let listed = store.list_users().await.unwrap();
    assert!(listed.iter().any(|u| u.email == "ann@example.org"));
    assert!(
        listed.iter().all(|u| u.name.is_none()),
        "names that were only the e-mail (the old default) are cleared: {listed:?}"
    );
    // Opening it again applies nothing twice.
    drop(auth);
    store.close().await;
    let again = SqlStore::connect(url).await.unwrap();
    assert_eq!(again.list_users().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_database_of_the_last_release_upgrades() {
    let dir = common::TempDir::new();
    let url = dir.sqlite_url("old.db");
    old_database::<sqlx::Sqlite>(&url, "sqlite", "'2026-11-01T00:00:00.000000Z'").await;
    upgrade_and_sign_in(&url).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn postgres_database_of_the_last_release_upgrades() {
    let url = common::fresh_postgres_url().await;
    old_database::<sqlx::Postgres>(&url, "postgres", "'2026-11-01 00:00:00+00'").await;
    upgrade_and_sign_in(&url).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs MariaDB: run scripts/test"]
async fn mysql_database_of_the_last_release_upgrades() {
    let url = common::fresh_mysql_url().await;
    old_database::<sqlx::MySql>(&url, "mysql", "'2026-11-01 00:00:00.000000'").await;
    upgrade_and_sign_in(&url).await;
}
