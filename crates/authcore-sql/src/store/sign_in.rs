//! The connection a SQLite file store keeps for a sign-in's own statements.
//!
//! A sign-in makes three statements: `find_for_sign_in`, `reserve` and `settle`. Through
//! sqlx's pool each one costs far more than SQLite's work on it:
//! - sqlx runs a SQLite connection on a thread of its own, and a pooled statement hands the
//!   work to that thread and the answer back, then hands a ping to it when the connection
//!   goes back to the pool (sqlx tests every released connection), from a task it spawns for
//!   that: five or six thread wake-ups per statement, where the statement itself is a few tens
//!   of microseconds;
//! - the pool hands out its idle connections in turn, and a SQLite connection drops its page
//!   cache whenever another connection wrote since its last read: with the sign-ins' writes
//!   spread over the pool, nearly every lookup reads its B-tree pages from the file again.
//!
//! So a file store keeps one connection out of the pool for these three statements, held in
//! turn (an async mutex: a waiting sign-in parks, no thread blocks). SQLite lets one writer in
//! at a time anyway, so two of the three were serialised already, and the lookup is the
//! cheapest of them. The store's share of a sign-in at 100,000 users went from 0.37-0.47 ms
//! to 0.21-0.24 ms in the `store_share` benchmark (quiet machine, same run). Everything else
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

    /// Waits for the connection (first come, first served).
    pub(super) async fn lock(&self) -> MutexGuard<'_, Option<SqliteConnection>> {
        self.0.lock().await
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

/// Runs `$body` like `on_engine!`, but on SQLite with a sign-in connection `$pool` is that
/// connection (`&mut SqliteConnection`), held for the body. Returns
/// `Err(Error::StoreUnavailable)` from the enclosing function when the store was closed.
macro_rules! on_sign_in_engine {
    ($self:expr, |$pool:ident, $e:ident| $body:expr) => {
        match $self.sign_in.as_deref() {
            Some(held) => {
                #[allow(unused_imports)]
                use crate::dialect::sqlite as $e;
                let mut guard = held.lock().await;
                let Some($pool) = guard.as_mut() else {
                    return Err(super::sign_in::closed());
                };
                $body
            }
            None => on_engine!($self, |$pool, $e| $body),
        }
    };
}
