//! [`SessionStore`] for [`SqlStore`]: epochs and revoked token ids (migration
//! `20261128000002_sessions`).
//!
//! A child of the `store` module, so that it shares its engine dispatch and error mapping.

use async_trait::async_trait;
use authcore_core::{FreshRecord, PURGE_BATCH, Result, SessionStore, SignInRecord, UserId};
use sqlx::Row as _;
use time::OffsetDateTime;

use super::rows::{UserRow, group_users};
use super::{Backend, DbResult, SqlStore, decode, local_id};
use crate::config::Engine;

/// The session statements of one engine.
pub(super) struct SessionQueries {
    /// `(uid)` -> `epoch`.
    epoch: &'static str,
    /// `(uid)`: inserts epoch 1 or adds one; returns the new epoch where the engine can.
    advance: &'static str,
    /// `(jti, expires_at)`; a jti already there is left as it is.
    revoke: &'static str,
    /// `(jti)` -> a row when revoked.
    is_revoked: &'static str,
    /// `(now, limit)`: deletes at most `limit` rows expired before `now`, oldest first.
    purge: &'static str,
    /// `(uid as text, session id, uid)`: the user's rows (one per password, as the user
    /// lookups return them) with its epoch and whether the session is revoked, in one
    /// statement (one snapshot): what the fresh check reads.
    pub(super) fresh: &'static str,
    /// `(normalised name)`: the user's rows (one per password, as the user lookups return
    /// them) with its epoch, in one statement (one snapshot): what a sign-in reads before it
    /// judges the password. No rows for an unknown name: the same one statement either way.
    pub(super) sign_in: &'static str,
}

/// A sign-in's statement: the lookup by name with the user's epoch, `$uid_text` being the
/// engine's cast of `u.uid` to the epoch table's key type and `$p` the placeholder.
macro_rules! sign_in_select {
    ($uid_text:literal, $p:literal) => {
        concat!(
            "SELECT u.uid, u.email, u.name, u.role, u.status, p.phc, p.issued_at, \
             (SELECT s.epoch FROM authcore_session_epochs s WHERE s.uid = ",
            $uid_text,
            ") FROM authcore_users u LEFT JOIN authcore_passwords p ON p.uid = u.uid \
             WHERE u.email_key = ",
            $p,
            " ORDER BY p.id"
        )
    };
}

/// The fresh check's statement with the engine's placeholders.
macro_rules! fresh_select {
    ($p1:literal, $p2:literal, $p3:literal) => {
        concat!(
            "SELECT u.uid, u.email, u.name, u.role, u.status, p.phc, p.issued_at, \
             (SELECT s.epoch FROM authcore_session_epochs s WHERE s.uid = ",
            $p1,
            "), (SELECT COUNT(*) FROM authcore_revoked_tokens r WHERE r.jti = ",
            $p2,
            ") FROM authcore_users u LEFT JOIN authcore_passwords p ON p.uid = u.uid \
             WHERE u.uid = ",
            $p3,
            " ORDER BY p.id"
        )
    };
}

const POSTGRES: SessionQueries = SessionQueries {
    epoch: "SELECT epoch FROM authcore_session_epochs WHERE uid = $1",
    advance: "INSERT INTO authcore_session_epochs AS s (uid, epoch) VALUES ($1, 1) \
        ON CONFLICT (uid) DO UPDATE SET epoch = s.epoch + 1 RETURNING epoch",
    revoke: "INSERT INTO authcore_revoked_tokens (jti, expires_at) VALUES ($1, $2) \
        ON CONFLICT (jti) DO NOTHING",
    is_revoked: "SELECT 1 FROM authcore_revoked_tokens WHERE jti = $1",
    purge: "DELETE FROM authcore_revoked_tokens WHERE jti IN (SELECT jti \
        FROM authcore_revoked_tokens WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
    fresh: fresh_select!("$1", "$2", "$3"),
    sign_in: sign_in_select!("CAST(u.uid AS TEXT)", "$1"),
};

/// SQLite's statements. The two that run on every request (a sign-in's lookup, a token's
/// fresh check) take the keys they search an index by as `(SELECT ?N)`, not as a bare
/// parameter: SQLite built with `SQLITE_ENABLE_STAT4` (sqlx's bundled one is) plans an
/// equality on a bare parameter from the index's samples once the database has been analysed
/// (`ANALYZE`, `PRAGMA optimize`), and then prepares the statement again whenever a new value
/// is bound, which for these statements is every time. A scalar subquery is no value the
/// planner can sample: one plan, prepared once per connection, still a search of the same
/// index (`store::tests::sqlite_per_request_lookups_are_planned_once`). In `store_share` at 100,000
/// users (analysed), this took a sign-in's store share from 224-276 to 166-183 µs p50.
/// `u.uid` is the rowid, which has no samples.
pub(super) const SQLITE: SessionQueries = SessionQueries {
    epoch: "SELECT epoch FROM authcore_session_epochs WHERE uid = ?1",
    advance: "INSERT INTO authcore_session_epochs (uid, epoch) VALUES (?1, 1) \
        ON CONFLICT (uid) DO UPDATE SET epoch = epoch + 1 RETURNING epoch",
    revoke: "INSERT INTO authcore_revoked_tokens (jti, expires_at) VALUES (?1, ?2) \
        ON CONFLICT (jti) DO NOTHING",
    is_revoked: "SELECT 1 FROM authcore_revoked_tokens WHERE jti = ?1",
    purge: "DELETE FROM authcore_revoked_tokens WHERE jti IN (SELECT jti \
        FROM authcore_revoked_tokens WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)",
    fresh: fresh_select!("(SELECT ?1)", "(SELECT ?2)", "?3"),
    sign_in: sign_in_select!("CAST(u.uid AS TEXT)", "(SELECT ?1)"),
};

const MYSQL: SessionQueries = SessionQueries {
    epoch: "SELECT epoch FROM authcore_session_epochs WHERE uid = ?",
    // No RETURNING: the new value is read back in the same transaction, which holds the
    // row lock.
    advance: "INSERT INTO authcore_session_epochs (uid, epoch) VALUES (?, 1) \
        ON DUPLICATE KEY UPDATE epoch = epoch + 1",
    revoke: "INSERT INTO authcore_revoked_tokens (jti, expires_at) VALUES (?, ?) \
        ON DUPLICATE KEY UPDATE jti = jti",
    is_revoked: "SELECT 1 FROM authcore_revoked_tokens WHERE jti = ?",
    purge: "DELETE FROM authcore_revoked_tokens WHERE expires_at < ? \
        ORDER BY expires_at LIMIT ?",
    fresh: fresh_select!("?", "?", "?"),
    // The epoch table's key is VARBINARY: the uid's decimal digits as bytes.
    sign_in: sign_in_select!("CAST(u.uid AS BINARY)", "?"),
};

/// The session statements of `engine`.
const fn queries(engine: Engine) -> &'static SessionQueries {
    match engine {
        Engine::Sqlite => &SQLITE,
        Engine::Postgres => &POSTGRES,
        Engine::MySql => &MYSQL,
    }
}

/// An epoch as stored (a signed 64-bit column) to the trait's `u64`; never negative.
fn epoch_from(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl SqlStore {
    /// The fresh check's reads in one statement: the user, its epoch and whether the session
    /// `session_id` is revoked; `None` for a user this store does not have.
    pub(super) async fn fresh_record(
        &self,
        uid: &UserId,
        session_id: &str,
    ) -> Result<Option<FreshRecord>> {
        self.timed("find_fresh", async move {
            let Some(id) = local_id(uid) else {
                return Ok(None);
            };
            let (rows, state) = on_engine!(self, |pool, e| {
                let rows = sqlx::query(queries(self.engine).fresh)
                    .bind(uid.as_str())
                    .bind(session_id)
                    .bind(id)
                    .fetch_all(pool)
                    .await
                    .db()?;
                let state = match rows.first() {
                    Some(row) => Some(decode(|| {
                        Ok((row.try_get::<Option<i64>, _>(7)?, row.try_get::<i64, _>(8)?))
                    })?),
                    None => None,
                };
                (decode(|| Ok(user_rows!(rows, e)))?, state)
            });
            let Some((epoch, revoked)) = state else {
                return Ok(None);
            };
            Ok(group_users(rows)?
                .into_iter()
                .next()
                .map(|user| FreshRecord {
                    user,
                    epoch: epoch.map_or(0, epoch_from),
                    revoked: revoked > 0,
                }))
        })
        .await
    }
}

impl SqlStore {
    /// A sign-in's reads in one statement: the user named `username` (normalised) and its
    /// epoch; `None` for a name this store does not have.
    pub(super) async fn sign_in_record(&self, username: &str) -> Result<Option<SignInRecord>> {
        self.timed("find_for_sign_in", async move {
            let (rows, epoch) = on_sign_in_engine!(self, |pool, e| {
                let rows = sqlx::query(queries(self.engine).sign_in)
                    .bind(username)
                    .fetch_all(pool)
                    .await
                    .db()?;
                let epoch = match rows.first() {
                    Some(row) => decode(|| row.try_get::<Option<i64>, _>(7))?,
                    None => None,
                };
                (decode(|| Ok(user_rows!(rows, e)))?, epoch)
            });
            Ok(group_users(rows)?
                .into_iter()
                .next()
                .map(|user| SignInRecord {
                    user,
                    epoch: epoch.map_or(0, epoch_from),
                }))
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn epoch(&self, uid: &UserId) -> Result<u64> {
        self.timed("epoch", async move {
            let value: Option<i64> = on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                let row = sqlx::query(q.epoch)
                    .bind(uid.as_str())
                    .fetch_optional(pool)
                    .await
                    .db()?;
                match row {
                    Some(row) => Some(decode(|| row.try_get(0))?),
                    None => None,
                }
            });
            Ok(value.map_or(0, epoch_from))
        })
        .await
    }

    async fn advance_epoch(&self, uid: &UserId) -> Result<u64> {
        self.timed("advance_epoch", async move {
            let value: i64 = on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                let mut tx = e::begin(pool).await.db()?;
                let returned = sqlx::query(q.advance)
                    .bind(uid.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .db()?;
                let row = match returned {
                    Some(row) => row,
                    None => sqlx::query(q.epoch)
                        .bind(uid.as_str())
                        .fetch_one(&mut *tx)
                        .await
                        .db()?,
                };
                let value = decode(|| row.try_get(0))?;
                tx.commit().await.db()?;
                value
            });
            Ok(epoch_from(value))
        })
        .await
    }

    async fn revoke(
        &self,
        jti: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.timed("revoke", async move {
            on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                sqlx::query(q.revoke)
                    .bind(jti)
                    .bind(e::ts(expires_at))
                    .execute(pool)
                    .await
                    .db()?;
            });
            Ok(())
        })
        .await?;
        self.purge_revoked(now, PURGE_BATCH).await?;
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool> {
        self.timed("is_revoked", async move {
            Ok(on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                sqlx::query(q.is_revoked)
                    .bind(jti)
                    .fetch_optional(pool)
                    .await
                    .db()?
                    .is_some()
            }))
        })
        .await
    }

    async fn purge_revoked(&self, now: OffsetDateTime, limit: u32) -> Result<u64> {
        self.timed("purge_revoked", async move {
            Ok(on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                sqlx::query(q.purge)
                    .bind(e::ts(now))
                    .bind(i64::from(limit))
                    .execute(pool)
                    .await
                    .db()?
                    .rows_affected()
            }))
        })
        .await
    }
}
