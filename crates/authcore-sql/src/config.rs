//! Connection settings: the URL (which picks the engine), pool size, timeouts, migrations.

use std::fmt;
use std::time::Duration;

use authcore_core::{Error, Result};
use serde::Deserialize;

/// The database engine, chosen by the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Engine {
    /// `sqlite://path/to/file.db?mode=rwc`, `sqlite::memory:`.
    Sqlite,
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `mysql://` (MariaDB 10.6+; MySQL has no `INSERT ... RETURNING` and is refused at connect).
    MySql,
}

impl Engine {
    /// The engine a URL names, from its scheme.
    ///
    /// # Errors
    /// [`Error::Configuration`] for any other scheme.
    pub fn from_url(url: &str) -> Result<Self> {
        let scheme = url
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        match scheme.as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" => Ok(Self::MySql),
            _ => Err(Error::Configuration(format!(
                "unsupported database URL {}: expected sqlite:, postgres:// or mysql://",
                mask_url(url)
            ))),
        }
    }

    /// The engine's name, as in the URL scheme.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }

    /// The Cargo feature that compiles the engine in.
    #[must_use]
    pub const fn feature(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to connect to the database.
///
/// Deserializable (for example from a TOML or JSON config file); `Debug` masks the password of
/// the URL.
///
/// ```
/// use std::time::Duration;
/// use authcore_sql::SqlConfig;
///
/// let config = SqlConfig::new("postgres://auth:s3cret@db.internal/auth")
///     .max_connections(20)
///     .acquire_timeout(Duration::from_secs(2));
/// assert!(!format!("{config:?}").contains("s3cret"));
///
/// let from_file: SqlConfig = serde_json::from_str(
///     r#"{"url": "sqlite://authcore.db?mode=rwc", "run_migrations": false}"#,
/// ).unwrap();
/// assert_eq!(from_file.max_connections_value(), SqlConfig::DEFAULT_MAX_CONNECTIONS);
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    url: String,
    #[serde(default = "default_max_connections")]
    max_connections: u32,
    #[serde(default)]
    min_connections: u32,
    #[serde(default = "default_acquire_timeout_ms")]
    acquire_timeout_ms: u64,
    #[serde(default = "default_operation_timeout_ms")]
    operation_timeout_ms: u64,
    #[serde(default = "default_true")]
    run_migrations: bool,
    #[serde(default)]
    test_before_acquire: bool,
}

const fn default_max_connections() -> u32 {
    SqlConfig::DEFAULT_MAX_CONNECTIONS
}

const fn default_acquire_timeout_ms() -> u64 {
    SqlConfig::DEFAULT_ACQUIRE_TIMEOUT.as_millis() as u64
}

const fn default_operation_timeout_ms() -> u64 {
    SqlConfig::DEFAULT_OPERATION_TIMEOUT.as_millis() as u64
}

const fn default_true() -> bool {
    true
}

impl SqlConfig {
    /// Default pool size.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
    /// Largest accepted pool size.
    pub const MAX_CONNECTIONS: u32 = 1_000;
    /// Default time to wait for a connection before the store reports itself unavailable.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
    /// Longest accepted acquire timeout.
    pub const MAX_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(600);
    /// Default bound on one store operation, waiting for a connection included.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
    /// Longest accepted operation timeout.
    pub const MAX_OPERATION_TIMEOUT: Duration = Duration::from_secs(600);

    /// Settings for `url` with the defaults: 10 connections, 5 s acquire timeout, 10 s
    /// operation timeout, migrations applied on connect.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            min_connections: 0,
            acquire_timeout_ms: default_acquire_timeout_ms(),
            operation_timeout_ms: default_operation_timeout_ms(),
            run_migrations: true,
            test_before_acquire: false,
        }
    }

    /// Maximum number of pooled connections (ignored for `sqlite::memory:`, which uses one).
    #[must_use]
    pub const fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Connections kept open even when idle.
    #[must_use]
    pub const fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// How long an operation waits for a connection (including connecting) before it fails
    /// with [`Error::StoreUnavailable`].
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The longest one store operation (a lookup, a transaction) may take, waiting for a
    /// connection included, before it fails with [`Error::StoreUnavailable`]: a database
    /// that stops answering on an open connection (a network partition, a frozen server)
    /// costs a sign-in this long, not forever.
    #[must_use]
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Whether [`crate::SqlStore::connect_with`] applies the embedded migrations (default
    /// `true`). Turn it off when the schema is managed elsewhere; see
    /// [`crate::SqlStore::migrate`].
    #[must_use]
    pub const fn run_migrations(mut self, run: bool) -> Self {
        self.run_migrations = run;
        self
    }

    /// Whether a pooled connection is checked (a ping: one more round trip) each time an
    /// operation takes it from the pool (default `false`). Off, a sign-in costs one round trip less per store
    /// operation; after the database server restarts, each pooled connection then fails one
    /// operation with [`authcore_core::Error::StoreUnavailable`] (503) and is replaced. On,
    /// those operations wait for the check instead.
    #[must_use]
    pub const fn test_before_acquire(mut self, test: bool) -> Self {
        self.test_before_acquire = test;
        self
    }

    /// Whether pooled connections are checked before use.
    #[must_use]
    pub const fn test_before_acquire_value(&self) -> bool {
        self.test_before_acquire
    }

    /// The URL with its password masked, fit for logs.
    #[must_use]
    pub fn masked_url(&self) -> String {
        mask_url(&self.url)
    }

    /// The engine the URL names.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an unknown scheme.
    pub fn engine(&self) -> Result<Engine> {
        Engine::from_url(&self.url)
    }

    /// The configured pool size.
    #[must_use]
    pub const fn max_connections_value(&self) -> u32 {
        self.max_connections
    }

    /// The configured acquire timeout.
    #[must_use]
    pub const fn acquire_timeout_value(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }

    /// The configured operation timeout.
    #[must_use]
    pub const fn operation_timeout_value(&self) -> Duration {
        Duration::from_millis(self.operation_timeout_ms)
    }

    /// Whether migrations run on connect.
    #[must_use]
    pub const fn run_migrations_value(&self) -> bool {
        self.run_migrations
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) const fn min_connections_value(&self) -> u32 {
        self.min_connections
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an unknown URL scheme, a pool size of 0 or over
    /// [`SqlConfig::MAX_CONNECTIONS`], fewer maximum than minimum connections, or an acquire
    /// timeout of 0 or over [`SqlConfig::MAX_ACQUIRE_TIMEOUT`], or an operation timeout of 0 or
    /// over [`SqlConfig::MAX_OPERATION_TIMEOUT`].
    pub fn validate(&self) -> Result<()> {
        self.engine()?;
        if self.max_connections == 0 || self.max_connections > Self::MAX_CONNECTIONS {
            return Err(Error::Configuration(format!(
                "max_connections must be 1..={}",
                Self::MAX_CONNECTIONS
            )));
        }
        if self.min_connections > self.max_connections {
            return Err(Error::Configuration(
                "min_connections must not exceed max_connections".into(),
            ));
        }
        let timeout = self.acquire_timeout_value();
        if timeout.is_zero() || timeout > Self::MAX_ACQUIRE_TIMEOUT {
            return Err(Error::Configuration(format!(
                "acquire_timeout must be between 1 ms and {} s",
                Self::MAX_ACQUIRE_TIMEOUT.as_secs()
            )));
        }
        let timeout = self.operation_timeout_value();
        if timeout.is_zero() || timeout > Self::MAX_OPERATION_TIMEOUT {
            return Err(Error::Configuration(format!(
                "operation_timeout must be between 1 ms and {} s",
                Self::MAX_OPERATION_TIMEOUT.as_secs()
            )));
        }
        Ok(())
    }
}

impl fmt::Debug for SqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlConfig")
            .field("url", &self.masked_url())
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("acquire_timeout", &self.acquire_timeout_value())
            .field("operation_timeout", &self.operation_timeout_value())
            .field("run_migrations", &self.run_migrations)
            .field("test_before_acquire", &self.test_before_acquire)
            .finish()
    }
}

const MASK: &str = "****";

/// Hides the secrets of a database URL: the password of the user-info part
/// (`postgres://user:PASSWORD@host`) and the value of any query parameter whose name contains
/// `password` (`?password=...`, `?sslpassword=...`).
///
/// ```
/// assert_eq!(
///     authcore_sql::mask_url("postgres://auth:s3cret@db:5432/auth?sslmode=require&password=x"),
///     "postgres://auth:****@db:5432/auth?sslmode=require&password=****",
/// );
/// assert_eq!(authcore_sql::mask_url("sqlite::memory:"), "sqlite::memory:");
/// ```
#[must_use]
pub fn mask_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '#']).unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            out.push_str(scheme);
            out.push_str("://");
            // The user-info ends at the LAST '@' of the authority (a password may contain '@').
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push(':');
                            out.push_str(MASK);
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(MASK);
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_from_urls() {
        assert_eq!(Engine::from_url("sqlite::memory:").unwrap(), Engine::Sqlite);
        assert_eq!(
            Engine::from_url("sqlite://authcore.db?mode=rwc").unwrap(),
            Engine::Sqlite
        );
        assert_eq!(
            Engine::from_url("postgres://u:p@h/db").unwrap(),
            Engine::Postgres
        );
        assert_eq!(
            Engine::from_url("PostgreSQL://u:p@h/db").unwrap(),
            Engine::Postgres
        );
        assert_eq!(Engine::from_url("mysql://u:p@h/db").unwrap(), Engine::MySql);
        let err = Engine::from_url("redis://u:hunter2@h").unwrap_err();
        assert_eq!(err.error_code(), "internal_error");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(Engine::from_url("").is_err());
        assert!(Engine::from_url("no scheme at all").is_err());
    }

    #[test]
    fn masks_passwords() {
        let cases = [
            (
                "postgres://auth:authpw@127.0.0.1:5432/db",
                "postgres://auth:****@127.0.0.1:5432/db",
            ),
            (
                "mysql://root:p@ss:w@rd@host/db",
                "mysql://root:****@host/db",
            ),
            ("postgres://auth@host/db", "postgres://auth@host/db"),
            (
                "postgres://host/db?password=secret&x=1",
                "postgres://host/db?password=****&x=1",
            ),
            (
                "postgres://h/db?sslpassword=secret",
                "postgres://h/db?sslpassword=****",
            ),
            ("postgres://u:secret@h", "postgres://u:****@h"),
            (
                "postgres://u:secret@h?sslmode=disable",
                "postgres://u:****@h?sslmode=disable",
            ),
            (
                "sqlite://authcore.db?mode=rwc",
                "sqlite://authcore.db?mode=rwc",
            ),
            ("sqlite::memory:", "sqlite::memory:"),
            ("", ""),
            ("garbage@:/?&=", "garbage@:/?&="),
        ];
        for (url, masked) in cases {
            assert_eq!(mask_url(url), masked, "{url}");
        }
        let config = SqlConfig::new("postgres://auth:hunter2@db/auth?password=hunter3");
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter"), "{debug}");
        assert!(debug.contains("postgres://auth:****@db/auth"), "{debug}");
    }

    #[test]
    fn validates() {
        assert!(SqlConfig::new("sqlite::memory:").validate().is_ok());
        assert!(SqlConfig::new("oracle://x").validate().is_err());
        assert!(
            SqlConfig::new("sqlite::memory:")
                .max_connections(0)
                .validate()
                .is_err()
        );
        assert!(
            SqlConfig::new("sqlite::memory:")
                .max_connections(2)
                .min_connections(3)
                .validate()
                .is_err()
        );
        assert!(
            SqlConfig::new("sqlite::memory:")
                .acquire_timeout(Duration::ZERO)
                .validate()
                .is_err()
        );
        assert!(
            SqlConfig::new("sqlite::memory:")
                .acquire_timeout(Duration::from_secs(3600))
                .validate()
                .is_err()
        );
        assert!(
            SqlConfig::new("sqlite::memory:")
                .operation_timeout(Duration::ZERO)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn deserializes_with_defaults() {
        let c: SqlConfig = serde_json::from_str(r#"{"url": "sqlite::memory:"}"#).unwrap();
        assert_eq!(
            c.max_connections_value(),
            SqlConfig::DEFAULT_MAX_CONNECTIONS
        );
        assert_eq!(
            c.acquire_timeout_value(),
            SqlConfig::DEFAULT_ACQUIRE_TIMEOUT
        );
        assert!(c.run_migrations_value());
        let c: SqlConfig = serde_json::from_str(
            r#"{"url": "sqlite::memory:", "max_connections": 3, "acquire_timeout_ms": 250,
                "operation_timeout_ms": 900, "run_migrations": false}"#,
        )
        .unwrap();
        assert_eq!(c.max_connections_value(), 3);
        assert_eq!(c.acquire_timeout_value(), Duration::from_millis(250));
        assert_eq!(c.operation_timeout_value(), Duration::from_millis(900));
        assert!(!c.run_migrations_value());
        assert!(serde_json::from_str::<SqlConfig>(r#"{"url": "x", "typo": 1}"#).is_err());
    }
}
