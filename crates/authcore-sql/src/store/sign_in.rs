//! The connection a SQLite file store keeps for a sign-in's own statements.
//!
//! A sign-in makes three statements: `find_for_sign_in`, `reserve` and `settle`. Through
//! sqlx's pool each one costs far more than SQLite's work on it:
//! - sqlx runs a SQLite connection on a thread of its own, and a pooled statement hands the
//!   work to that thread and the answer back, then hands a ping to it when the connection
//!   goes back to the pool (sqlx tests every released connection), from a task it spawns for
//!   that: several thread hand-offs per statement (as read in sqlx 0.9's source), where the
//!   statement itself is a few tens of microseconds;
//! - the pool hands out its idle connections in turn, and a SQLite connection drops its page
//!   cache whenever another connection wrote since its last read: with the sign-ins' writes
//!   spread over the pool, nearly every lookup reads its B-tree pages from the file again.
//!
//! So a file store keeps one connection out of the pool for these three statements. A
//! statement takes it when it is free and the pool otherwise: it never waits for it. In one
//! process sign-ins are limited by argon2 to a few hundred a second, three statements of tens
//! of microseconds each, so the connection is nearly always free. When it is not, the reason
//! may be a statement waiting for another process's write lock (SQLite's busy handler sleeps
//! between its tries, up to 100 ms at a time): waiting behind it would hold up every
//! sign-in of this process, so the others take pooled connections, as they all did before.
//! (Two `authcore serve` processes on one file, 100 connections each signing in to one
//! account for 10 s, release build: 511-1,007 sign-ins in 7 runs with this, 580-937 in 4 runs
//! with the connection taken in turn, 768-1,078 in 6 runs with the pool alone: differences
//! within the run-to-run spread.)
//!
//! The store's share of a sign-in at 100,000 users went from 0.39-0.49 ms to 0.24-0.31 ms in
//! the `store_share` benchmark (quiet machine, alternating runs). Everything else
//! (administration, the fresh check of a token, settings) stays on the pool.
//!
//! Cancellation: a statement whose caller goes away (operation timeout, client gone) still
//! runs to its end on the connection's thread, before the next one; none of the three opens
//! a transaction, so the connection is never left inside one. An in-memory database is one
//! connection already (the database lives in it): it keeps no second one.

use std::sync::Arc;

use authcore_core::{Error, Result};
use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{Mutex, MutexGuard};

use super::DbResult as _;

/// One SQLite connection for the sign-in's statements; `None` once the store is closed.
pub(crate) struct SignInConnection(Mutex<Option<SqliteConnection>>);

impl SignInConnection {
    /// Opens the connection with the pool's own options (WAL, `synchronous`, busy timeout,
    /// foreign keys, `secure_delete`).
    pub(super) async fn open(options: &SqliteConnectOptions) -> Result<Arc<Self>> {
        let conn = options.connect().await.db()?;
        Ok(Arc::new(Self(Mutex::new(Some(conn)))))
    }

    /// The connection if no other statement holds it now.
    pub(super) fn try_lock(&self) -> Option<MutexGuard<'_, Option<SqliteConnection>>> {
        self.0.try_lock().ok()
    }

    /// Closes the connection after the statement in progress, if any.
    pub(super) async fn close(&self) {
        let conn = self.0.lock().await.take();
        if let Some(conn) = conn {
            use sqlx::Connection as _;
            if let Err(err) = conn.close().await {
                tracing::debug!(error = %err, "authcore-sql: closing the sign-in connection");
            }
        }
    }
}

/// What a statement on the closed sign-in connection answers: the same as the closed pool.
pub(super) fn closed() -> Error {
    Error::store("the SQL store is closed")
}

/// Runs `$body` like `on_engine!`, but on SQLite, when the store has a sign-in connection and
/// no other statement holds it, `$pool` is that connection (`&mut SqliteConnection`), held
/// for the body; otherwise the pool. Returns `Err(Error::StoreUnavailable)` from the
/// enclosing function when the store was closed.
macro_rules! on_sign_in_engine {
    ($self:expr, |$pool:ident, $e:ident| $body:expr) => {
        match $self.sign_in.as_deref().and_then(|held| held.try_lock()) {
            Some(mut guard) => {
                #[allow(unused_imports)]
                use crate::dialect::sqlite as $e;
                let Some($pool) = guard.as_mut() else {
                    return Err(super::sign_in::closed());
                };
                $body
            }
            None => on_engine!($self, |$pool, $e| $body),
        }
    };
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use authcore_core::{
        AttemptOutcome, LockoutPolicy, LockoutStore as _, NewUser, PasswordHash, Reservation,
        ReservationPolicy, Reserve, Role, StoredPassword, UserAdmin as _, UserStatus,
        UserStore as _,
    };
    use sqlx::Connection as _;
    use time::OffsetDateTime;

    use crate::{SqlConfig, SqlStore};

    /// `what`'s answer, unless it takes 20 s (then it waited for the sign-in connection).
    async fn within<T>(what: impl Future<Output = authcore_core::Result<T>>) -> T {
        tokio::time::timeout(Duration::from_secs(20), what)
            .await
            .expect("the statement waited for the sign-in connection")
            .unwrap()
    }

    /// A statement that finds the sign-in connection in use takes a pooled connection rather
    /// than wait for it. The connection is held here, as a statement waiting in SQLite's busy
    /// handler for another process's write lock would hold it (up to the busy timeout, 60 s
    /// here), and another process does hold the write lock: the lookup answers at once, and
    /// the reservation and settlement go through the pool as soon as the lock is released.
    /// Waiting for the connection, each of them would hang until the test's timeout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_statement_finding_the_connection_in_use_takes_the_pool() {
        let dir = std::env::temp_dir().join(format!("authcore-sign-in-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("busy.db").display());
        let config = SqlConfig::new(&url).acquire_timeout(Duration::from_secs(60));
        let store = SqlStore::connect_with(config).await.unwrap();
        let user = store
            .create_user(NewUser {
                email: "busy@example.test".to_owned(),
                name: None,
                role: Role::DB_VIEWER,
                status: UserStatus::Active,
                passwords: vec![StoredPassword {
                    hash: PasswordHash::new("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"),
                    issued_at: OffsetDateTime::now_utc(),
                }],
            })
            .await
            .unwrap();
        let policy = LockoutPolicy::DEFAULT;
        let held = store
            .sign_in
            .clone()
            .expect("a file store keeps a sign-in connection");
        let guard = held
            .try_lock()
            .expect("nothing holds the sign-in connection yet");

        // Another process's write transaction.
        let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .unwrap();
        let found = within(store.find_for_sign_in("busy@example.test", &store)).await;
        assert_eq!(found.map(|r| r.user.uid), Some(user.uid.clone()));
        sqlx::query("COMMIT").execute(&mut other).await.unwrap();

        let r = Reservation::new(user.uid.clone(), OffsetDateTime::now_utc());
        let reserved = within(store.reserve(&r, &policy, &ReservationPolicy::default())).await;
        assert_eq!(reserved, Reserve::Granted);
        let now = OffsetDateTime::now_utc();
        let state = within(store.settle(&r, AttemptOutcome::Failure, now, &policy)).await;
        assert_eq!(state.map(|s| s.failures), Some(1));

        drop(guard);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
