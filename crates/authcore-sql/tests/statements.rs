//! How many statements the lockout bookkeeping, the fresh check and a whole sign-in send,
//! counted on the client: sqlx logs every
//! statement it executes (target `sqlx::query`), and this binary's only test records them
//! with a process-wide subscriber (so no other test's statements are mixed in).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use authcore_core::{
    AttemptOutcome, Authenticator, CreateUser, LockoutPolicy, LockoutStore as _, Password,
    Reservation, ReservationPolicy, Reserve, Role, Ttl, UserAdmin as _, UserStore as _,
};
use authcore_sql::SqlStore;
use tracing_subscriber::layer::SubscriberExt as _;

/// Records the statements sqlx reports.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

impl Statements {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Field(Option<String>);

impl tracing::field::Visit for Field {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        // `db.statement` is empty when the summary is the whole statement.
        if matches!(field.name(), "summary" | "db.statement") && !value.trim().is_empty() {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            let mut field = Field(None);
            event.record(&mut field);
            self.0
                .lock()
                .unwrap()
                .push(field.0.unwrap_or_default().trim().to_owned());
        }
    }
}

/// Each statement on authcore's tables as its verb and the first `authcore_*` table it
/// names: `INSERT authcore_lockout`, `SELECT authcore_lockout_reservations`... Transaction
/// control is left out (sqlx logs it on some engines only: PostgreSQL's `COMMIT`, not its
/// `BEGIN`), and so is a new pooled connection's set-up (SQLite's `PRAGMA`s).
fn verbs(statements: &[String]) -> Vec<String> {
    statements
        .iter()
        .filter(|s| s.contains("authcore_"))
        .map(|s| {
            let verb = s.split_whitespace().next().unwrap_or_default();
            let table = s
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .find(|w| w.starts_with("authcore_"))
                .unwrap_or_default();
            format!("{} {table}", verb.to_ascii_uppercase())
        })
        .collect()
}

/// How many statements were sent, a new pooled connection's set-up left out (SQLite's
/// `PRAGMA`s, MariaDB's `SET sql_mode=...`); transaction control counts (PostgreSQL's
/// `COMMIT`, SQLite's `BEGIN IMMEDIATE`).
fn sent_count(statements: &[String]) -> usize {
    statements
        .iter()
        .map(|s| s.to_ascii_uppercase())
        .filter(|s| !(s.starts_with("PRAGMA") || s.starts_with("SET SQL_MODE")))
        .count()
}

async fn check(url: &str, seen: &Statements) {
    let store = SqlStore::connect(url).await.unwrap();
    let engine = store.engine();
    let email = format!("stmt-{}@example.test", common::unique_db_name());
    let user = store
        .create_user(common::new_user(&email, &email))
        .await
        .unwrap();
    let policy = LockoutPolicy::DEFAULT;
    seen.take();

    // A failure on record: one upsert that returns the new row, on every engine.
    let state = store
        .record_failure(&user.uid, common::at(0), &policy)
        .await
        .unwrap();
    assert_eq!(state.failures, 1);
    let sent = seen.take();
    assert_eq!(
        verbs(&sent),
        ["INSERT authcore_lockout"],
        "{engine}: {sent:#?}"
    );
    assert_eq!(
        sent_count(&sent),
        1,
        "{engine}: no transaction control: {sent:#?}"
    );

    // The fresh check (README: "one round trip"): the user, its epoch and the session's
    // revocation in one statement.
    let fresh = store
        .find_fresh(&user.uid, "no-such-session", &store)
        .await
        .unwrap();
    assert!(fresh.is_some());
    let sent: Vec<String> = seen
        .take()
        .into_iter()
        .filter(|s| s.contains("authcore_"))
        .collect();
    assert_eq!(sent_count(&sent), 1, "{engine}: {sent:#?}");
    for table in [
        "authcore_users",
        "authcore_session_epochs",
        "authcore_revoked_tokens",
    ] {
        assert!(sent[0].contains(table), "{engine}: {sent:#?}");
    }

    // A sign-in's reservation, then its settlement as a failure: one statement each, the
    // upsert of the key's lockout row that decides and returns the answer, with no
    // transaction around it (sqlx logs PostgreSQL's COMMIT and SQLite's BEGIN IMMEDIATE when
    // there is one: `sent_count` counts it).
    let reservation = Reservation::new(user.uid.clone(), common::at(1));
    let granted = store
        .reserve(&reservation, &policy, &ReservationPolicy::default())
        .await
        .unwrap();
    assert_eq!(granted, Reserve::Granted);
    let sent = seen.take();
    assert_eq!(
        verbs(&sent),
        ["INSERT authcore_lockout"],
        "{engine}: {sent:#?}"
    );
    assert_eq!(sent_count(&sent), 1, "{engine}: {sent:#?}");
    assert!(
        sent.iter()
            .any(|s| s.contains("authcore_lockout") && s.contains("RETURNING")),
        "{engine}: {sent:#?}"
    );
    let settled = store
        .settle(
            &reservation,
            AttemptOutcome::Failure,
            common::at(2),
            &policy,
        )
        .await
        .unwrap();
    assert_eq!(settled.map(|s| s.failures), Some(2));
    let sent = seen.take();
    assert_eq!(
        verbs(&sent),
        ["INSERT authcore_lockout"],
        "{engine}: {sent:#?}"
    );
    assert_eq!(sent_count(&sent), 1, "{engine}: {sent:#?}");

    // The same for a success, and for a busy and a locked answer.
    let right = Reservation::new(user.uid.clone(), common::at(3));
    store
        .reserve(&right, &policy, &ReservationPolicy::default())
        .await
        .unwrap();
    let cleared = store
        .settle(&right, AttemptOutcome::Success, common::at(4), &policy)
        .await
        .unwrap();
    assert_eq!(cleared, None);
    let sent = seen.take();
    assert_eq!(
        verbs(&sent),
        ["INSERT authcore_lockout", "INSERT authcore_lockout"],
        "{engine}: {sent:#?}"
    );
    assert_eq!(sent_count(&sent), 2, "{engine}: {sent:#?}");
    let one = LockoutPolicy {
        threshold: 1,
        ..policy
    };
    let held = Reservation::new(user.uid.clone(), common::at(5));
    let answers = [
        store
            .reserve(&held, &one, &ReservationPolicy::default())
            .await
            .unwrap(),
        store
            .reserve(
                &Reservation::new(user.uid.clone(), common::at(5)),
                &one,
                &ReservationPolicy::default(),
            )
            .await
            .unwrap(),
    ];
    assert_eq!(answers, [Reserve::Granted, Reserve::Busy]);
    store
        .settle(&held, AttemptOutcome::Failure, common::at(6), &one)
        .await
        .unwrap();
    let locked = store
        .reserve(
            &Reservation::new(user.uid.clone(), common::at(7)),
            &one,
            &ReservationPolicy::default(),
        )
        .await
        .unwrap();
    assert_eq!(locked, Reserve::Locked);
    let sent = seen.take();
    assert_eq!(
        verbs(&sent),
        ["INSERT authcore_lockout"; 4],
        "{engine}: {sent:#?}"
    );
    assert_eq!(sent_count(&sent), 4, "{engine}: {sent:#?}");

    sign_in_statements(store, seen).await;
}

/// A whole sign-in through the authenticator: three statements for a right password, a
/// wrong one and an unknown name alike: the lookup with the session epoch (one statement,
/// the same text for an unknown name), the reservation, the settlement. No separate epoch
/// read after the check.
async fn sign_in_statements(store: SqlStore, seen: &Statements) {
    let engine = store.engine();
    let store = Arc::new(store);
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store)
        .hashing(authcore_testkit::fixtures::fast_hashing())
        .keys(authcore_testkit::fixtures::test_keys().unwrap())
        .build()
        .unwrap();
    let email = format!("signin-{}@example.test", common::unique_db_name());
    let pw = Password::from("Correct-Horse-1".to_owned());
    auth.create_user_unchecked(CreateUser {
        email: email.clone(),
        password: pw.clone(),
        name: None,
        role: Role::DB_VIEWER,
    })
    .await
    .unwrap();
    let wrong = Password::from("Wrong-Horse-1".to_owned());
    let unknown = format!("nobody-{}@example.test", common::unique_db_name());
    seen.take();
    let mut lookups = Vec::new();
    for (what, name, password, right) in [
        ("right password", &email, &pw, true),
        ("wrong password", &email, &wrong, false),
        ("unknown name", &unknown, &pw, false),
    ] {
        let result = auth.authorize(name, password, Ttl::DEFAULT).await;
        assert_eq!(result.is_ok(), right, "{engine} {what}: {result:?}");
        let sent: Vec<String> = seen
            .take()
            .into_iter()
            .filter(|s| s.contains("authcore_"))
            .collect();
        assert_eq!(sent_count(&sent), 3, "{engine} {what}: {sent:#?}");
        let lookup = &sent[0];
        assert!(
            lookup.to_ascii_uppercase().starts_with("SELECT")
                && lookup.contains("authcore_users")
                && lookup.contains("authcore_session_epochs"),
            "{engine} {what}: the lookup reads the epoch: {sent:#?}"
        );
        assert_eq!(
            verbs(&sent[1..]),
            ["INSERT authcore_lockout"; 2],
            "{engine} {what}: {sent:#?}"
        );
        assert!(
            !sent[1..]
                .iter()
                .any(|s| s.contains("authcore_session_epochs")),
            "{engine} {what}: a separate epoch read: {sent:#?}"
        );
        lookups.push(lookup.clone());
    }
    // An unknown name costs the same one statement as a known one.
    assert!(
        lookups.windows(2).all(|w| w[0] == w[1]),
        "{engine}: {lookups:#?}"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL and MariaDB: run scripts/test"]
async fn lockout_bookkeeping_fresh_check_and_sign_in_statements() {
    let seen = Statements::default();
    let subscriber = tracing_subscriber::registry().with(seen.clone());
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let dir = common::TempDir::new();
    check(&dir.sqlite_url("statements.db"), &seen).await;
    check(&common::fresh_postgres_url().await, &seen).await;
    check(&common::fresh_mysql_url().await, &seen).await;
}
