//! MySQL/MariaDB, on the server `scripts/test` starts (`AUTHCORE_TEST_MYSQL_URL`); each run
//! creates its own databases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use authcore_sql::{Engine, SqlStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MariaDB: run scripts/test"]
async fn conformance() {
    let store = SqlStore::connect(&common::fresh_mysql_url().await)
        .await
        .unwrap();
    assert_eq!(store.engine(), Engine::MySql);
    common::conformance(store).await;
}

#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test"]
async fn lockout_matches_the_policy() {
    let store = SqlStore::connect(&common::fresh_mysql_url().await)
        .await
        .unwrap();
    common::lockout_matches_the_policy(&store).await;
}

#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test"]
async fn edge_cases() {
    let store = SqlStore::connect(&common::fresh_mysql_url().await)
        .await
        .unwrap();
    common::edge_cases(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MariaDB: run scripts/test"]
async fn two_stores_count_exactly() {
    common::two_stores_count_exactly(&common::fresh_mysql_url().await).await;
}

#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test"]
async fn migrations_are_idempotent() {
    common::migrations_are_idempotent(&common::fresh_mysql_url().await).await;
}

#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test"]
async fn debug_masks_the_password() {
    let url = common::fresh_mysql_url().await;
    assert!(
        url.contains(":authpw@"),
        "the test server's URL has a password"
    );
    let store = SqlStore::connect(&url).await.unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("authpw"), "{debug}");
    assert!(debug.contains("mysql://auth:****@127.0.0.1"), "{debug}");
    assert!(!store.masked_url().contains("authpw"));
}

#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test"]
async fn wrong_password_is_unavailable_and_hidden() {
    let url = common::fresh_mysql_url()
        .await
        .replace(":authpw@", ":wrong-pw@");
    let err = SqlStore::connect(&url).await.unwrap_err();
    assert_eq!(err.error_code(), "service_unavailable", "{err:?}");
    assert!(!format!("{err:?}").contains("wrong-pw"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test"]
async fn hung_server_times_out() {
    common::hung_server_times_out(&common::fresh_mysql_url().await).await;
}

#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test"]
async fn sessions_migration_keeps_the_data() {
    common::sessions_migration_keeps_the_data(&common::fresh_mysql_url().await).await;
}
