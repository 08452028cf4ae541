//! SQLite: a file in a temp directory and `sqlite::memory:`. No server needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use authcore_core::{LockoutPolicy, LockoutStore, UserAdmin, UserStore};
use authcore_sql::{Engine, SqlConfig, SqlStore};
use common::TempDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_file() {
    let dir = TempDir::new();
    let store = SqlStore::connect(&dir.sqlite_url("authcore.db"))
        .await
        .unwrap();
    assert_eq!(store.engine(), Engine::Sqlite);
    common::conformance(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_in_memory() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    common::conformance(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_invariant_on_a_file() {
    let dir = TempDir::new();
    let store = SqlStore::connect(&dir.sqlite_url("admins.db"))
        .await
        .unwrap();
    authcore_testkit::conformance::run_admin_invariant_suite(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_invariant_in_memory() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    authcore_testkit::conformance::run_admin_invariant_suite(Arc::new(store)).await;
}

#[tokio::test]
async fn lockout_matches_the_policy() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    common::lockout_matches_the_policy(&store).await;
}

#[tokio::test]
async fn edge_cases() {
    let dir = TempDir::new();
    let store = SqlStore::connect(&dir.sqlite_url("edge.db")).await.unwrap();
    common::edge_cases(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_count_exactly() {
    let dir = TempDir::new();
    common::two_stores_count_exactly(&dir.sqlite_url("shared.db")).await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let dir = TempDir::new();
    common::migrations_are_idempotent(&dir.sqlite_url("migrate.db")).await;
}

#[tokio::test]
async fn data_survives_a_reconnect() {
    let dir = TempDir::new();
    let url = dir.sqlite_url("persist.db");
    let store = SqlStore::connect(&url).await.unwrap();
    let user = store
        .create_user(common::new_user("keep@example.test", "Keep"))
        .await
        .unwrap();
    store
        .record_failure(&user.uid, common::at(0), &LockoutPolicy::DEFAULT)
        .await
        .unwrap();
    store.close().await;
    let err = store.find_by_uid(&user.uid).await.unwrap_err();
    assert_eq!(err.error_code(), "service_unavailable", "a closed pool");

    let again = SqlStore::connect(&url).await.unwrap();
    assert_eq!(
        again.find_by_uid(&user.uid).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(again.state(&user.uid).await.unwrap().unwrap().failures, 1);
}

#[tokio::test]
async fn memory_databases_are_separate_and_last_as_long_as_the_store() {
    let a = Arc::new(SqlStore::connect("sqlite::memory:").await.unwrap());
    let b = SqlStore::connect("sqlite::memory:").await.unwrap();
    let user = a
        .create_user(common::new_user("mem@example.test", "Mem"))
        .await
        .unwrap();
    assert_eq!(b.find_by_uid(&user.uid).await.unwrap(), None);
    // Concurrent use of the single connection waits instead of failing.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let a = a.clone();
        tasks.spawn(async move { a.find_by_username("mem@example.test").await });
    }
    while let Some(done) = tasks.join_next().await {
        assert!(done.unwrap().unwrap().is_some());
    }
}

#[tokio::test]
async fn configuration_errors() {
    let err = SqlStore::connect("oracle://scott:tiger@db/orcl")
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "internal_error");
    assert!(!err.to_string().contains("tiger"), "{err}");
    let err = SqlStore::connect_with(SqlConfig::new("sqlite::memory:").max_connections(0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, authcore_core::Error::Configuration(_)),
        "{err:?}"
    );
    // A file that cannot be created: the database is unavailable, not a panic.
    let err = SqlStore::connect("sqlite:///nonexistent-dir/x/authcore.db?mode=rwc")
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "service_unavailable", "{err:?}");
    // A database opened read-only without the schema: migrating fails cleanly.
    let dir = TempDir::new();
    let err = SqlStore::connect(&format!(
        "sqlite://{}?mode=ro",
        dir.0.join("none.db").display()
    ))
    .await
    .unwrap_err();
    assert_eq!(err.error_code(), "service_unavailable", "{err:?}");
}

#[tokio::test]
async fn debug_masks_nothing_secret_on_sqlite_and_shows_the_engine() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    let debug = format!("{store:?}");
    assert!(
        debug.contains("Sqlite") && debug.contains("sqlite::memory:"),
        "{debug}"
    );
}

#[tokio::test]
async fn reservations_migration_keeps_attempts_in_flight() {
    let dir = TempDir::new();
    common::reservations::reservations_migration_keeps_attempts_in_flight(
        &dir.sqlite_url("reservations.db"),
    )
    .await;
}

#[tokio::test]
async fn sessions_migration_keeps_the_data() {
    let dir = TempDir::new();
    common::sessions_migration_keeps_the_data(&dir.sqlite_url("upgrade.db")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn settings_migration_keeps_the_data() {
    let dir = TempDir::new();
    common::settings_migration_keeps_the_data(&dir.sqlite_url("settings.db")).await;
}

/// The name migrations on a file of the previous schema; the rebuilt tables (SQLite cannot drop
/// NOT NULL in place) keep their foreign key, indexes and AUTOINCREMENT counters, and nothing
/// of the rebuild is left over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn name_migrations_keep_the_data() {
    let dir = TempDir::new();
    let url = dir.sqlite_url("names.db");
    let store = common::names::name_migrations_keep_the_data(&url).await;
    store.close().await;
    for (sql, expected) in [
        (
            "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'",
            0,
        ),
        ("SELECT COUNT(*) FROM pragma_foreign_key_check", 0),
        (
            "SELECT COUNT(*) FROM pragma_foreign_key_list('authcore_passwords') \
             WHERE \"table\" = 'authcore_users' AND \"from\" = 'uid' AND on_delete = 'CASCADE'",
            1,
        ),
        (
            "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%new%'",
            0,
        ),
        (
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' \
             AND name IN ('authcore_passwords_uid', 'authcore_users_role')",
            2,
        ),
        (
            "SELECT COUNT(*) FROM sqlite_sequence \
             WHERE name IN ('authcore_users', 'authcore_passwords')",
            2,
        ),
        (
            "SELECT COUNT(*) FROM sqlite_sequence WHERE name LIKE '%new%'",
            0,
        ),
        (
            "SELECT COUNT(*) FROM pragma_table_info('authcore_users') \
             WHERE name = 'name' AND \"notnull\" = 0",
            1,
        ),
    ] {
        assert_eq!(common::names::scalar(&url, sql).await, expected, "{sql}");
    }
}

/// A sign-in's three statements as `authorize` makes them, for `cut@example.test`, with a
/// wrong password: the lookup, the reservation (its answer) and the settlement (the state).
async fn wrong_password_sign_in(
    store: &SqlStore,
    uid: &authcore_core::UserId,
    policy: &LockoutPolicy,
) -> authcore_core::Result<(
    bool,
    authcore_core::Reserve,
    Option<authcore_core::LockoutState>,
)> {
    use authcore_core::{AttemptOutcome, Reservation, ReservationPolicy};
    use time::OffsetDateTime;

    let found = store
        .find_for_sign_in("cut@example.test", store)
        .await?
        .is_some_and(|r| r.user.uid == *uid);
    let r = Reservation::new(uid.clone(), OffsetDateTime::now_utc());
    let reserved = store
        .reserve(&r, policy, &ReservationPolicy::default())
        .await?;
    let state = store
        .settle(
            &r,
            AttemptOutcome::Failure,
            OffsetDateTime::now_utc(),
            policy,
        )
        .await?;
    Ok((found, reserved, state))
}

/// A file store runs the sign-in's statements on a connection of its own (see the crate's
/// `store::sign_in`). Statements cancelled at any point (an operation timeout, a client gone)
/// leave it working and the count exact; a closed store refuses them as it refuses the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sign_in_connection_survives_cancelled_statements_and_closes() {
    use std::time::Duration;

    use authcore_core::{Reservation, ReservationPolicy, Reserve};
    use time::OffsetDateTime;

    let dir = TempDir::new();
    let store = Arc::new(
        SqlStore::connect(&dir.sqlite_url("sign-in.db"))
            .await
            .unwrap(),
    );
    assert!(format!("{store:?}").contains("sign_in_connection: true"));
    let memory = SqlStore::connect("sqlite::memory:").await.unwrap();
    assert!(format!("{memory:?}").contains("sign_in_connection: false"));

    let user = store
        .create_user(common::new_user("cut@example.test", "Cut"))
        .await
        .unwrap();
    let policy = LockoutPolicy {
        threshold: 1_000_000,
        ..LockoutPolicy::DEFAULT
    };
    // Sign-ins from many tasks at once, each cut off after a different time (0 to 2 ms): some
    // before they reach the connection, some while a statement runs, some after it committed.
    let mut tasks = Vec::new();
    for i in 0..120_u64 {
        let (store, uid) = (Arc::clone(&store), user.uid.clone());
        tasks.push(tokio::spawn(async move {
            let cut = Duration::from_micros(i * 17 % 2_000);
            let _ = tokio::time::timeout(cut, wrong_password_sign_in(&store, &uid, &policy)).await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // The connection still answers, and each new failure counts exactly once.
    let ok = tokio::time::timeout(Duration::from_secs(30), async {
        for _ in 0..3 {
            let before = store
                .state(&user.uid)
                .await
                .unwrap()
                .map_or(0, |s| s.failures);
            let (found, reserved, after) = wrong_password_sign_in(&store, &user.uid, &policy)
                .await
                .unwrap();
            assert!(found);
            assert_eq!(reserved, Reserve::Granted);
            assert_eq!(after.map(|s| s.failures), Some(before + 1));
        }
    })
    .await;
    assert!(
        ok.is_ok(),
        "the sign-in connection hangs after cancelled statements"
    );

    // Closed: each of the three statements is refused (the first would hide the others).
    store.close().await;
    let err = wrong_password_sign_in(&store, &user.uid, &policy)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "service_unavailable", "{err}");
    let r = Reservation::new(user.uid.clone(), OffsetDateTime::now_utc());
    let err = store
        .reserve(&r, &policy, &ReservationPolicy::default())
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "service_unavailable", "{err}");
    let err = store
        .settle(
            &r,
            authcore_core::AttemptOutcome::Failure,
            OffsetDateTime::now_utc(),
            &policy,
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "service_unavailable", "{err}");
}
