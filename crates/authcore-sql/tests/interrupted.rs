//! A password change cut off by the database in the middle of its transaction leaves the old
//! list of passwords, whole: the failure is caught exactly between the statements, not left to
//! the luck of a stop racing a request (the server-level fault run in authcore-server's
//! `faults.rs` never landed inside the transaction in 15 rounds).
//!
//! How the middle is reached: a test trigger makes the transaction's password INSERT wait for
//! a lock the test holds, so the transaction has already taken the user's row lock and deleted
//! the old passwords when it stops. The test sees it waiting (the database's own view of its
//! sessions), kills that connection, and reads what is left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use authcore_core::{Error, PasswordHash, StoredPassword, UserAdmin as _, UserId, UserStore as _};
use authcore_sql::SqlStore;
use sqlx::{Connection as _, Executor as _, Row as _};

fn password(tag: &str) -> StoredPassword {
    StoredPassword {
        hash: PasswordHash::new(format!(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$h{tag}"
        )),
        issued_at: common::at(0),
    }
}

/// The user's stored hashes, in order.
async fn hashes(store: &SqlStore, uid: &UserId) -> Vec<String> {
    store
        .find_by_uid(uid)
        .await
        .unwrap()
        .expect("the user is still there")
        .passwords()
        .iter()
        .map(|p| p.hash.expose_phc().to_owned())
        .collect()
}

/// A store on `url` and a user holding two passwords: the store, the uid, the stored hashes.
async fn user_with_two_passwords(url: &str) -> (SqlStore, UserId, Vec<String>) {
    let store = SqlStore::connect(url).await.unwrap();
    let mut user = common::new_user("cut@example.test", "cut");
    user.passwords = vec![password("old-1"), password("old-2")];
    let uid = store.create_user(user).await.unwrap().uid;
    let before = hashes(&store, &uid).await;
    assert_eq!(before.len(), 2);
    (store, uid, before)
}

/// The password change the test cuts off: replace the list with one new password.
fn start_change(
    store: &SqlStore,
    uid: &UserId,
) -> tokio::task::JoinHandle<authcore_core::Result<()>> {
    let (store, uid) = (store.clone(), uid.clone());
    tokio::spawn(async move { store.set_passwords(&uid, vec![password("new")]).await })
}

/// After the cut: the change failed as an outage, the old list is whole, and the same store
/// object changes it on the next call.
async fn the_old_list_stands(
    store: &SqlStore,
    uid: &UserId,
    before: &[String],
    result: authcore_core::Result<()>,
) {
    assert!(
        matches!(result, Err(Error::StoreUnavailable(_))),
        "{result:?}"
    );
    assert_eq!(hashes(store, uid).await, before, "the old list, whole");
    store
        .set_passwords(uid, vec![password("new")])
        .await
        .unwrap();
    assert_eq!(hashes(store, uid).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn postgres_password_change_killed_mid_transaction_keeps_the_old_list() {
    let url = common::fresh_postgres_url().await;
    let (store, uid, before) = user_with_two_passwords(&url).await;

    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    admin
        .execute(
            "CREATE FUNCTION authcore_test_hold() RETURNS trigger AS $$ \
             BEGIN PERFORM pg_advisory_xact_lock(424242); RETURN NEW; END $$ LANGUAGE plpgsql",
        )
        .await
        .unwrap();
    admin
        .execute(
            "CREATE TRIGGER authcore_test_hold BEFORE INSERT ON authcore_passwords \
             FOR EACH ROW EXECUTE FUNCTION authcore_test_hold()",
        )
        .await
        .unwrap();
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    holder
        .execute("SELECT pg_advisory_lock(424242)")
        .await
        .unwrap();

    let change = start_change(&store, &uid);
    // The transaction is inside its INSERT, after its DELETE: waiting on the advisory lock.
    let pid: i32 = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let row = sqlx::query(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock' AND wait_event = 'advisory' \
                 AND query ILIKE '%insert%authcore_passwords%'",
            )
            .fetch_optional(&mut admin)
            .await
            .unwrap();
            if let Some(row) = row {
                break row.get::<i32, _>(0);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the password change never reached its INSERT");
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(killed);
    let result = change.await.unwrap();
    holder
        .execute("SELECT pg_advisory_unlock(424242)")
        .await
        .unwrap();
    admin
        .execute("DROP TRIGGER authcore_test_hold ON authcore_passwords")
        .await
        .unwrap();

    the_old_list_stands(&store, &uid, &before, result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test"]
async fn mysql_password_change_killed_mid_transaction_keeps_the_old_list() {
    let url = common::fresh_mysql_url().await;
    let (store, uid, before) = user_with_two_passwords(&url).await;

    let mut admin = sqlx::MySqlConnection::connect(&url).await.unwrap();
    admin
        .execute(
            "CREATE TRIGGER authcore_test_hold BEFORE INSERT ON authcore_passwords \
             FOR EACH ROW SET @authcore_held = GET_LOCK('authcore_test_hold', 60)",
        )
        .await
        .unwrap();
    let mut holder = sqlx::MySqlConnection::connect(&url).await.unwrap();
    let got: i64 = sqlx::query_scalar("SELECT GET_LOCK('authcore_test_hold', 10)")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    assert_eq!(got, 1);

    let change = start_change(&store, &uid);
    // The transaction is inside its INSERT, after its DELETE: waiting on the user lock.
    let id: i64 = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let row = sqlx::query(
                "SELECT ID FROM information_schema.PROCESSLIST \
                 WHERE DB = DATABASE() AND STATE = 'User lock'",
            )
            .fetch_optional(&mut admin)
            .await
            .unwrap();
            if let Some(row) = row {
                break row.get::<i64, _>(0);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the password change never reached its INSERT");
    admin
        .execute(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}")))
        .await
        .unwrap();
    let result = change.await.unwrap();
    holder
        .execute("DO RELEASE_LOCK('authcore_test_hold')")
        .await
        .unwrap();
    admin
        .execute("DROP TRIGGER authcore_test_hold")
        .await
        .unwrap();

    the_old_list_stands(&store, &uid, &before, result).await;
}
