//! Every failure the SQL store reports as `StoreUnavailable` is also logged by the store
//! itself (a WARN of target `authcore_sql`), whichever operation met it: `authcore serve`
//! counts those lines as `authcore_store_errors_total{store="sql"}`. A binary of its own:
//! it stops the server, and it captures logs (tracing caches interest per call site).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use authcore_core::{Error, LockoutStore as _, UserAdmin as _, UserId, UserStore as _};
use authcore_sql::{SqlConfig, SqlStore};
use authcore_testkit::logs::LogCapture;

/// The store's own WARN lines about an unavailable database.
fn store_warnings(logs: &LogCapture) -> usize {
    logs.lines_at(tracing::Level::WARN)
        .iter()
        .filter(|l| l.contains("authcore_sql"))
        .count()
}

async fn each_failure_is_logged(url: &str, ctl_var: &'static str) {
    let logs = LogCapture::new();
    let _capture = logs.set_default();
    let store = SqlStore::connect_with(
        SqlConfig::new(url)
            .max_connections(2)
            .acquire_timeout(std::time::Duration::from_millis(500)),
    )
    .await
    .unwrap();
    // Pooled connections open, then the server goes away under them.
    let email = format!("log-{}@example.test", common::unique_db_name());
    store
        .create_user(common::new_user(&email, &email))
        .await
        .unwrap();
    assert!(!store.is_empty().await.unwrap());
    let restart = common::RestartOnDrop(ctl_var);
    common::ctl(ctl_var, "stop");

    let before = store_warnings(&logs);
    let mut failures = 0;
    for _ in 0..3 {
        let results = [
            store.is_empty().await.map(|_| ()),
            store.state(&UserId::from(0)).await.map(|_| ()),
            store.find_by_username(&email).await.map(|_| ()),
        ];
        for r in results {
            let err = r.unwrap_err();
            assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
            failures += 1;
        }
    }
    let logged = store_warnings(&logs) - before;
    common::ctl(ctl_var, "start");
    drop(restart);
    assert_eq!(
        logged,
        failures,
        "each StoreUnavailable logged once by the store:\n{}",
        logs.text()
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn postgres_failures_are_logged_by_the_store() {
    let url = common::fresh_postgres_url().await;
    each_failure_is_logged(&url, common::PG_CTL).await;
}
