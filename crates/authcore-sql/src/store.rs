//! [`SqlStore`]: the user, admin and lockout stores on one connection pool.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use authcore_core::{Clock, Error, Result, SystemClock, UserId};

use crate::config::{Engine, SqlConfig};
use crate::error::map_err;

/// The pool of the engine the URL chose.
#[derive(Clone)]
enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// Runs `$body` with `$pool` bound to the engine's pool and `$e` to its dialect module
/// (`$e::Q` its statements, `$e::ts` / `$e::get_ts` its timestamp codec, `$e::begin` its write
/// transaction). The body is the same source for every engine, type-checked once per engine.
macro_rules! on_engine {
    ($self:expr, |$pool:ident, $e:ident| $body:expr) => {
        match &$self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite($pool) => {
                #[allow(unused_imports)]
                use crate::dialect::sqlite as $e;
                $body
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres($pool) => {
                #[allow(unused_imports)]
                use crate::dialect::postgres as $e;
                $body
            }
            #[cfg(feature = "mysql")]
            Backend::MySql($pool) => {
                #[allow(unused_imports)]
                use crate::dialect::mysql as $e;
                $body
            }
        }
    };
}

/// Decodes rows of `uid, email, name, role, status, phc, issued_at` into [`UserRow`]s.
macro_rules! user_rows {
    ($rows:expr, $e:ident) => {{
        let mut out = Vec::with_capacity($rows.len());
        for row in &$rows {
            out.push(UserRow {
                uid: row.try_get(0)?,
                email: row.try_get(1)?,
                name: row.try_get(2)?,
                role: row.try_get(3)?,
                status: row.try_get(4)?,
                phc: row.try_get(5)?,
                issued_at: $e::get_ts(row, 6)?,
            });
        }
        out
    }};
}

/// Starts a transaction holding the user's row lock, so that changes of one user's password
/// list are serialised; a user that does not exist is [`Error::NotFound`].
macro_rules! begin_locked {
    ($pool:expr, $e:ident, $id:expr) => {{
        let mut tx = $e::begin($pool).await.db()?;
        let found = sqlx::query($e::Q.lock_user)
            .bind($id)
            .fetch_optional(&mut *tx)
            .await
            .db()?;
        if found.is_none() {
            return Err(Error::NotFound);
        }
        tx
    }};
}

/// Decodes a row of `failures, last_failure_at, locked_until, locked_by_admin`.
macro_rules! lockout_row {
    ($row:expr, $e:ident) => {{
        let row = &$row;
        LockoutRow {
            failures: row.try_get(0)?,
            last_failure_at: $e::get_ts(row, 1)?,
            locked_until: $e::get_ts(row, 2)?,
            locked_by_admin: row.try_get(3)?,
        }
    }};
}

// The connection a SQLite file store keeps for a sign-in's statements.
#[cfg(feature = "sqlite")]
#[macro_use]
mod sign_in;
#[cfg(feature = "sqlite")]
use sign_in::SignInConnection;

/// Without SQLite there is no sign-in connection: the sign-in's statements use the pool.
#[cfg(not(feature = "sqlite"))]
macro_rules! on_sign_in_engine {
    ($self:expr, |$pool:ident, $e:ident| $body:expr) => {
        on_engine!($self, |$pool, $e| $body)
    };
}

mod lockout;
mod rows;
// Look-ups and administration of users.
mod users;
// Session state (epochs, revoked tokens).
mod sessions;
// Run-time settings and LDAP mappings.
mod settings;

/// A user and lockout store on SQLite, PostgreSQL or MySQL/MariaDB.
///
/// One value implements [`UserStore`](authcore_core::UserStore), [`UserAdmin`](authcore_core::UserAdmin) and [`LockoutStore`](authcore_core::LockoutStore); clones share the
/// connection pool. See the crate documentation for URLs, features and migrations.
#[derive(Clone)]
pub struct SqlStore {
    backend: Backend,
    engine: Engine,
    masked_url: String,
    operation_timeout: Duration,
    clock: Arc<dyn Clock>,
    /// A SQLite file store's connection for the sign-in's statements (`store::sign_in`).
    #[cfg(feature = "sqlite")]
    sign_in: Option<Arc<SignInConnection>>,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, idle) = on_engine!(self, |pool, _e| (pool.size(), pool.num_idle()));
        f.debug_struct("SqlStore")
            .field("engine", &self.engine)
            .field("url", &self.masked_url)
            .field("connections", &size)
            .field("idle", &idle)
            .field("sign_in_connection", &self.has_sign_in_connection())
            .finish()
    }
}

/// `Result<T, sqlx::Error>` to the core's `Result`.
trait DbResult<T> {
    fn db(self) -> Result<T>;
}

impl<T> DbResult<T> for std::result::Result<T, sqlx::Error> {
    fn db(self) -> Result<T> {
        self.map_err(map_err)
    }
}

fn config_err(engine: Engine, err: &sqlx::Error) -> Error {
    Error::Configuration(format!("invalid {engine} connection URL: {err}"))
}

fn pool_options<DB: sqlx::Database>(config: &SqlConfig) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .max_connections(config.max_connections_value())
        .min_connections(config.min_connections_value())
        .acquire_timeout(config.acquire_timeout_value())
        // A ping before every operation is one more round trip per store call (a sign-in
        // makes three or four): off unless asked for. A connection that died with a database
        // restart then fails the one operation that takes it, and is replaced.
        .test_before_acquire(config.test_before_acquire_value())
        // sqlx warns once per acquire that waits longer than its threshold: in a sign-in flood
        // that is one WARN line per request, and the log becomes the bottleneck (and fills the
        // disk). A pool that cannot keep up shows as acquire timeouts, which are logged and
        // counted as store errors; the slow acquires themselves are debug detail.
        .acquire_slow_level(log::LevelFilter::Debug)
}

impl SqlStore {
    /// Connects with the default settings (see [`SqlConfig::new`]) and applies the migrations.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an unknown or malformed URL, or an engine whose Cargo
    /// feature is off; [`Error::StoreUnavailable`] when the database cannot be reached or a
    /// migration fails.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(SqlConfig::new(url)).await
    }

    /// Connects with explicit settings, applying the migrations unless
    /// [`SqlConfig::run_migrations`] turned them off.
    ///
    /// # Errors
    /// As [`SqlStore::connect`], plus [`Error::Configuration`] for invalid settings.
    pub async fn connect_with(config: SqlConfig) -> Result<Self> {
        config.validate()?;
        let engine = config.engine()?;
        #[cfg(feature = "sqlite")]
        let mut sign_in = None;
        let backend = match engine {
            #[cfg(feature = "sqlite")]
            Engine::Sqlite => {
                let (backend, held) = Self::sqlite_backend(&config).await?;
                sign_in = held;
                backend
            }
            #[cfg(not(feature = "sqlite"))]
            Engine::Sqlite => return Err(feature_off(Engine::Sqlite)),
            Engine::Postgres => Self::postgres_backend(&config).await?,
            Engine::MySql => Self::mysql_backend(&config).await?,
        };
        let store = Self {
            backend,
            engine,
            masked_url: config.masked_url(),
            operation_timeout: config.operation_timeout_value(),
            clock: Arc::new(SystemClock),
            #[cfg(feature = "sqlite")]
            sign_in,
        };
        if config.run_migrations_value() {
            store.migrate().await?;
        }
        tracing::debug!(store = ?store, "authcore-sql: connected");
        Ok(store)
    }

    /// The pool, and for a file the connection kept for the sign-in's statements.
    #[cfg(feature = "sqlite")]
    async fn sqlite_backend(
        config: &SqlConfig,
    ) -> Result<(Backend, Option<Arc<SignInConnection>>)> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

        let url = config.url();
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(|e| config_err(Engine::Sqlite, &e))?
            .foreign_keys(true)
            // A replaced or deleted password hash is overwritten on disk, not left in free
            // space where a copy of the file would still hold it.
            .pragma("secure_delete", "ON")
            .busy_timeout(config.acquire_timeout_value().max(Duration::from_secs(1)));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = pool_options::<sqlx::Sqlite>(config);
        let pool = if in_memory {
            // One connection that never closes: the database lives as long as it does.
            pool.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            pool
        };
        let sign_in = if in_memory {
            None
        } else {
            Some(SignInConnection::open(&options).await?)
        };
        let pool = pool.connect_with(options).await.db()?;
        Ok((Backend::Sqlite(pool), sign_in))
    }

    #[cfg(feature = "postgres")]
    async fn postgres_backend(config: &SqlConfig) -> Result<Backend> {
        let options = sqlx::postgres::PgConnectOptions::from_str(config.url())
            .map_err(|e| config_err(Engine::Postgres, &e))?
            .application_name("authcore");
        let pool = pool_options::<sqlx::Postgres>(config);
        Ok(Backend::Postgres(pool.connect_with(options).await.db()?))
    }

    #[cfg(not(feature = "postgres"))]
    async fn postgres_backend(_: &SqlConfig) -> Result<Backend> {
        Err(feature_off(Engine::Postgres))
    }

    #[cfg(feature = "mysql")]
    async fn mysql_backend(config: &SqlConfig) -> Result<Backend> {
        // sqlx sets the session time zone to UTC and the character set to utf8mb4.
        let options = sqlx::mysql::MySqlConnectOptions::from_str(config.url())
            .map_err(|e| config_err(Engine::MySql, &e))?;
        let pool = pool_options::<sqlx::MySql>(config)
            .connect_with(options)
            .await
            .db()?;
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&pool)
            .await
            .db()?;
        crate::dialect::check_mariadb_version(&version).map_err(Error::Configuration)?;
        Ok(Backend::MySql(pool))
    }

    #[cfg(not(feature = "mysql"))]
    async fn mysql_backend(_: &SqlConfig) -> Result<Backend> {
        Err(feature_off(Engine::MySql))
    }

    /// Uses `clock` for the times the store writes itself (`created_at`, `updated_at`) instead
    /// of the system clock: give it the authenticator's clock. Lockout times always come from
    /// the caller.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Applies the embedded migrations that are not applied yet (sqlx's `_sqlx_migrations`
    /// table records them). Safe to call from several processes at once: sqlx takes a
    /// database lock while migrating.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] when the database fails, or the applied migrations differ
    /// from the embedded ones.
    pub async fn migrate(&self) -> Result<()> {
        let result = match &self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
            #[cfg(feature = "mysql")]
            Backend::MySql(pool) => sqlx::migrate!("./migrations/mysql").run(pool).await,
        };
        result.map_err(|e| {
            tracing::error!(error = %e, "authcore-sql: migration failed");
            Error::store(e)
        })
    }

    /// Whether the sign-in's statements have a connection of their own (a SQLite file).
    const fn has_sign_in_connection(&self) -> bool {
        #[cfg(feature = "sqlite")]
        {
            self.sign_in.is_some()
        }
        #[cfg(not(feature = "sqlite"))]
        {
            false
        }
    }

    /// The engine in use.
    #[must_use]
    pub const fn engine(&self) -> Engine {
        self.engine
    }

    /// The connection URL with its password masked.
    #[must_use]
    pub fn masked_url(&self) -> &str {
        &self.masked_url
    }

    /// Runs one store operation under the operation timeout. Dropping the future on timeout
    /// is safe: sqlx rolls back an open transaction and the pool checks the connection
    /// before it is used again; on SQLite's sign-in connection the statement runs to its end
    /// before the next one, and none of those statements opens a transaction.
    async fn timed<T>(
        &self,
        operation: &'static str,
        fut: impl Future<Output = Result<T>> + Send,
    ) -> Result<T> {
        match tokio::time::timeout(self.operation_timeout, fut).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(
                    operation,
                    timeout = ?self.operation_timeout,
                    "authcore-sql: database operation timed out"
                );
                Err(Error::store(format!(
                    "database operation {operation} timed out after {:?}",
                    self.operation_timeout
                )))
            }
        }
    }

    /// Closes the pool: waits for connections in use to be returned, then closes them all.
    /// Operations after this fail with [`Error::StoreUnavailable`].
    pub async fn close(&self) {
        on_engine!(self, |pool, _e| pool.close().await);
        #[cfg(feature = "sqlite")]
        if let Some(held) = &self.sign_in {
            held.close().await;
        }
    }
}

#[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")))]
fn feature_off(engine: Engine) -> Error {
    Error::Configuration(format!(
        "authcore-sql was built without {engine} support (Cargo feature `{}`)",
        engine.feature()
    ))
}

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("authcore-sql needs at least one of the features `sqlite`, `postgres`, `mysql`");

/// The database id of a local uid: the canonical decimal form only (`"7"`, not `"07"` or
/// `"+7"`), so that one user has exactly one uid.
fn local_id(uid: &UserId) -> Option<i64> {
    let n = uid.as_u64()?;
    if n.to_string() != uid.as_str() {
        return None;
    }
    i64::try_from(n).ok()
}

/// Runs a decoding closure, mapping its sqlx error.
fn decode<T>(f: impl FnOnce() -> std::result::Result<T, sqlx::Error>) -> Result<T> {
    f().db()
}

#[cfg(test)]
mod tests;
