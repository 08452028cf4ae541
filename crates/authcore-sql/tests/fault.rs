//! The database stops mid-run and comes back: `StoreUnavailable` meanwhile, then the same
//! store object works again. A binary of its own: stopping a server must not disturb the
//! other tests (cargo runs test binaries one after another).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn postgres_restart() {
    let url = common::fresh_postgres_url().await;
    common::survives_a_restart(&url, common::PG_CTL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test"]
async fn mysql_restart() {
    let url = common::fresh_mysql_url().await;
    common::survives_a_restart(&url, common::MYSQL_CTL).await;
}
