//! The database stops mid-run and comes back: `StoreUnavailable` meanwhile, then the same
//! store object works again. A binary of its own: stopping a server must not disturb the
//! other tests (cargo runs test binaries one after another).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// Tests that stop a server hold its lock: the test harness runs this binary's tests in
/// parallel, and one test's restart must not land in the middle of another's.
static POSTGRES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static MYSQL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn postgres_restart() {
    let _server = POSTGRES.lock().await;
    let url = common::fresh_postgres_url().await;
    common::survives_a_restart(&url, common::PG_CTL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test"]
async fn mysql_restart() {
    let _server = MYSQL.lock().await;
    let url = common::fresh_mysql_url().await;
    common::survives_a_restart(&url, common::MYSQL_CTL).await;
}

/// README (authcore-sql): uids are "assigned by the database, never reused". The newest
/// users are deleted, the database server is restarted (a server that kept its counter only
/// in memory would hand their uids out again: InnoDB before MariaDB 10.2.4 / MySQL 8.0 did
/// exactly that), and a user created through a new store gets a uid above every one issued.
async fn uids_survive_a_restart(url: &str, ctl_var: &'static str) {
    use authcore_core::UserAdmin as _;
    let store = authcore_sql::SqlStore::connect(url).await.unwrap();
    let tag = common::unique_db_name();
    let mut issued = Vec::new();
    for i in 0..3 {
        let email = format!("reuse-{i}-{tag}@example.test");
        issued.push(
            store
                .create_user(common::new_user(&email, &email))
                .await
                .unwrap()
                .uid,
        );
    }
    let highest = issued.iter().filter_map(|u| u.as_u64()).max().unwrap();
    for uid in &issued[1..] {
        store.delete_user(uid).await.unwrap();
    }
    store.close().await;

    let restart = common::RestartOnDrop(ctl_var);
    common::ctl(ctl_var, "stop");
    common::ctl(ctl_var, "start");
    drop(restart);

    let store = authcore_sql::SqlStore::connect(url).await.unwrap();
    let email = format!("reuse-after-{tag}@example.test");
    let after = store
        .create_user(common::new_user(&email, &email))
        .await
        .unwrap();
    let after = after.uid.as_u64().unwrap();
    assert!(
        after > highest,
        "uid {after} issued again (highest before: {highest})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn postgres_uids_survive_a_restart() {
    let _server = POSTGRES.lock().await;
    let url = common::fresh_postgres_url().await;
    uids_survive_a_restart(&url, common::PG_CTL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test"]
async fn mysql_uids_survive_a_restart() {
    let _server = MYSQL.lock().await;
    let url = common::fresh_mysql_url().await;
    uids_survive_a_restart(&url, common::MYSQL_CTL).await;
}

/// SQLite: the file closed and opened again (its "restart").
#[tokio::test]
async fn sqlite_uids_survive_a_reopen() {
    use authcore_core::UserAdmin as _;
    let dir = common::TempDir::new();
    let url = dir.sqlite_url("reuse.db");
    let store = authcore_sql::SqlStore::connect(&url).await.unwrap();
    let mut issued = Vec::new();
    for i in 0..3 {
        let email = format!("reuse-{i}@example.test");
        issued.push(
            store
                .create_user(common::new_user(&email, &email))
                .await
                .unwrap()
                .uid,
        );
    }
    for uid in &issued[1..] {
        store.delete_user(uid).await.unwrap();
    }
    store.close().await;
    drop(store);
    let store = authcore_sql::SqlStore::connect(&url).await.unwrap();
    let after = store
        .create_user(common::new_user("reuse-after@example.test", "after"))
        .await
        .unwrap();
    assert!(
        after.uid.as_u64().unwrap() > issued[2].as_u64().unwrap(),
        "{after:?}"
    );
}
