//! The SQL of each engine, and how each stores timestamps.
//!
//! Every statement is parameterised. Parameters are bound in the same order on every engine
//! (MySQL only has positional `?`); PostgreSQL and SQLite refer to them by number.

use time::OffsetDateTime;

/// The statements of one engine.
///
/// User queries return `uid, email, name, role, status, phc, issued_at` (one row per password,
/// `phc`/`issued_at` NULL for a user without any); lockout queries return `failures,
/// last_failure_at, locked_until, locked_by_admin`.
pub(crate) struct Queries {
    /// `(email_key)` -> user rows (see above).
    pub find_by_email_key: &'static str,
    /// `(uid)` -> user rows.
    pub find_by_uid: &'static str,
    /// `()` -> all user rows, by uid then password id.
    pub list_users: &'static str,
    /// `(role)` -> `COUNT(*)` of users with that role.
    pub count_with_role: &'static str,
    /// `(role, status)` -> `COUNT(*)` of users with that role and stored status.
    pub count_with_role_status: &'static str,
    /// `()` -> the admin guard row, taking its lock for the rest of the transaction: every
    /// change that can affect the set of active admins takes it first, so the count of active
    /// admins read after it cannot change before the transaction ends.
    pub lock_admin_guard: &'static str,
    /// `()` -> one uid, if any user exists.
    pub any_user: &'static str,
    /// `(email, email_key, name, role, status, created_at, updated_at)`.
    pub insert_user: &'static str,
    /// `(email_key)` -> `uid`.
    pub uid_by_email_key: &'static str,
    /// `(uid, phc, issued_at)`.
    pub insert_password: &'static str,
    /// `(email?, email_key?, name?, role?, status?, updated_at, uid)`; NULL keeps a column.
    pub update_user: &'static str,
    /// `(uid)`; passwords go with it (ON DELETE CASCADE).
    pub delete_user: &'static str,
    /// `(uid)`: takes the user's row lock for the rest of the transaction.
    pub lock_user: &'static str,
    /// `(uid)`.
    pub delete_passwords: &'static str,
    /// `(uid)` -> `COUNT(*)`.
    pub count_passwords: &'static str,
    /// `(uid, phc)` -> `COUNT(*)`.
    pub count_matching_passwords: &'static str,
    /// `(uid, phc)`.
    pub delete_password: &'static str,
    /// `(new_phc, uid, old_phc)`.
    pub replace_hash: &'static str,
    /// `(uid)` -> lockout columns (see above).
    pub lockout_state: &'static str,
    /// See [`RecordFailure`] for the parameters. Returns the new lockout row.
    pub record_failure: &'static str,
    /// `(uid)`.
    pub clear_lockout: &'static str,
    /// `(uid)`: forgets failures and lock, keeping the row and the attempts in flight.
    pub clear_state: &'static str,
}

mod reservations;

pub(crate) use reservations::{
    ANSWER_BUSY, ANSWER_GRANTED, ANSWER_LOCKED, MAX_ID_LEN, OUTCOME_FAILURE, OUTCOME_RELEASED,
    OUTCOME_SUCCESS, Param,
};

/// Checks that a `mysql://` server is MariaDB 10.6 or later, from its `VERSION()`: the
/// lockout statements need `INSERT ... RETURNING` (MariaDB 10.5; MySQL has none) and
/// `JSON_TABLE` (MariaDB 10.6).
pub(crate) fn check_mariadb_version(version: &str) -> Result<(), String> {
    let numbers: Vec<u32> = version
        .split(|c: char| !c.is_ascii_digit())
        .take(2)
        .map_while(|n| n.parse().ok())
        .collect();
    let supported = version.contains("MariaDB") && numbers.as_slice() >= [10, 6].as_slice();
    if supported {
        Ok(())
    } else {
        Err(format!(
            "mysql:// needs MariaDB 10.6 or later (the lockout statements use INSERT ... \
             RETURNING and JSON_TABLE); the server reports version {version:?}"
        ))
    }
}

/// The parameters of `record_failure`, bound in this order (13 binds):
/// `uid, now, first_locked_until, first_locked_by_admin, now, cutoff, now, lock_at,
/// lock_until, now, lock_at, lock_by_admin, now`.
///
/// - `first_*`: the lock of a first failure (threshold 1), from `LockoutPolicy::next_state`;
/// - `cutoff`: `now - counter_reset_after`: a previous failure after it carries the count on;
/// - `lock_at`: the threshold, or `i64::MAX` when lockout is off;
/// - `lock_until` / `lock_by_admin`: the lock a failure reaching the threshold sets
///   (`LockoutPolicy::lock_from(now)`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordFailure {
    pub now: OffsetDateTime,
    pub first_locked_until: Option<OffsetDateTime>,
    pub first_locked_by_admin: bool,
    pub cutoff: OffsetDateTime,
    pub lock_at: i64,
    pub lock_until: Option<OffsetDateTime>,
    pub lock_by_admin: bool,
}

/// Drops the nanoseconds below a microsecond: every engine keeps microseconds, and all of them
/// then agree (MariaDB truncates, PostgreSQL rounds).
pub(crate) fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

// The lockout upsert implements `LockoutPolicy::next_state` in one statement. With `locked` =
// "locked by an admin, or until a time still in the future", and `carried` = "`locked`, or no
// lock at all and the last failure after the cutoff":
// - failures: carried ? failures + 1 (saturating at u32::MAX) : 1;
// - the lock: kept while `locked`; otherwise set when the new count reaches `lock_at`, else
//   cleared (an expired lock is forgotten).

/// `SELECT` of the user columns, joined with the passwords, followed by `$tail`.
macro_rules! user_select {
    ($tail:literal) => {
        concat!(
            "SELECT u.uid, u.email, u.name, u.role, u.status, p.phc, p.issued_at \
             FROM authcore_users u LEFT JOIN authcore_passwords p ON p.uid = u.uid ",
            $tail
        )
    };
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    use sqlx::postgres::{PgPool, PgRow};
    use sqlx::{Postgres, Row, Transaction};
    use time::OffsetDateTime;

    use super::Queries;

    pub(crate) const Q: Queries = Queries {
        find_by_email_key: user_select!("WHERE u.email_key = $1 ORDER BY p.id"),
        find_by_uid: user_select!("WHERE u.uid = $1 ORDER BY p.id"),
        list_users: user_select!("ORDER BY u.uid, p.id"),
        count_with_role: "SELECT COUNT(*) FROM authcore_users WHERE role = $1",
        count_with_role_status: "SELECT COUNT(*) FROM authcore_users \
            WHERE role = $1 AND status = $2",
        lock_admin_guard: "SELECT id FROM authcore_admin_guard WHERE id = 1 FOR UPDATE",
        any_user: "SELECT uid FROM authcore_users LIMIT 1",
        insert_user: "INSERT INTO authcore_users \
            (email, email_key, name, role, status, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7)",
        uid_by_email_key: "SELECT uid FROM authcore_users WHERE email_key = $1",
        insert_password: "INSERT INTO authcore_passwords (uid, phc, issued_at) \
            VALUES ($1, $2, $3)",
        update_user: "UPDATE authcore_users SET email = COALESCE($1, email), \
            email_key = COALESCE($2, email_key), name = COALESCE($3, name), \
            role = COALESCE($4, role), status = COALESCE($5, status), updated_at = $6 \
            WHERE uid = $7",
        delete_user: "DELETE FROM authcore_users WHERE uid = $1",
        lock_user: "SELECT uid FROM authcore_users WHERE uid = $1 FOR UPDATE",
        delete_passwords: "DELETE FROM authcore_passwords WHERE uid = $1",
        count_passwords: "SELECT COUNT(*) FROM authcore_passwords WHERE uid = $1",
        count_matching_passwords: "SELECT COUNT(*) FROM authcore_passwords \
            WHERE uid = $1 AND phc = $2",
        delete_password: "DELETE FROM authcore_passwords WHERE uid = $1 AND phc = $2",
        replace_hash: "UPDATE authcore_passwords SET phc = $1 WHERE uid = $2 AND phc = $3",
        lockout_state: "SELECT failures, last_failure_at, locked_until, locked_by_admin \
            FROM authcore_lockout WHERE uid = $1",
        // All SET expressions see the old row (PostgreSQL evaluates them before assigning).
        record_failure: "INSERT INTO authcore_lockout AS l \
            (uid, failures, last_failure_at, locked_until, locked_by_admin) \
            VALUES ($1, 1, $2, $3, $4) \
            ON CONFLICT (uid) DO UPDATE SET \
            failures = CASE WHEN l.locked_by_admin OR l.locked_until > $5 \
                OR (l.locked_until IS NULL AND l.last_failure_at > $6) \
                THEN LEAST(l.failures + 1, 4294967295) ELSE 1 END, \
            locked_until = CASE WHEN l.locked_by_admin OR l.locked_until > $7 \
                THEN l.locked_until \
                WHEN (CASE WHEN l.locked_by_admin OR l.locked_until > $5 \
                    OR (l.locked_until IS NULL AND l.last_failure_at > $6) \
                    THEN LEAST(l.failures + 1, 4294967295) ELSE 1 END) >= $8 THEN $9 \
                ELSE NULL END, \
            locked_by_admin = CASE WHEN l.locked_by_admin OR l.locked_until > $10 \
                THEN l.locked_by_admin \
                WHEN (CASE WHEN l.locked_by_admin OR l.locked_until > $5 \
                    OR (l.locked_until IS NULL AND l.last_failure_at > $6) \
                    THEN LEAST(l.failures + 1, 4294967295) ELSE 1 END) >= $11 THEN $12 \
                ELSE FALSE END, \
            last_failure_at = $13 \
            RETURNING failures, last_failure_at, locked_until, locked_by_admin",
        clear_lockout: "DELETE FROM authcore_lockout WHERE uid = $1",
        clear_state: "UPDATE authcore_lockout SET failures = 0, locked_until = NULL, \
            locked_by_admin = FALSE WHERE uid = $1",
    };

    /// The reservation (see [`super::reservations`]).
    pub(crate) fn reserve() -> &'static super::reservations::Statement {
        &super::reservations::POSTGRES_RESERVE
    }

    /// The settlement (see [`super::reservations`]).
    pub(crate) fn settle() -> &'static super::reservations::Statement {
        &super::reservations::POSTGRES_SETTLE
    }

    /// How a timestamp is bound.
    pub(crate) fn ts(t: OffsetDateTime) -> OffsetDateTime {
        super::to_micros(t)
    }

    /// Reads a nullable timestamp column.
    pub(crate) fn get_ts(row: &PgRow, idx: usize) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        row.try_get(idx)
    }

    /// Starts a read-write transaction.
    pub(crate) async fn begin(
        pool: &PgPool,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        pool.begin().await
    }
}

#[cfg(feature = "mysql")]
pub(crate) mod mysql {
    use sqlx::mysql::{MySqlPool, MySqlRow};
    use sqlx::{MySql, Row, Transaction};
    use time::OffsetDateTime;

    use super::Queries;

    pub(crate) const Q: Queries = Queries {
        find_by_email_key: user_select!("WHERE u.email_key = ? ORDER BY p.id"),
        find_by_uid: user_select!("WHERE u.uid = ? ORDER BY p.id"),
        list_users: user_select!("ORDER BY u.uid, p.id"),
        count_with_role: "SELECT COUNT(*) FROM authcore_users WHERE role = ?",
        count_with_role_status: "SELECT COUNT(*) FROM authcore_users \
            WHERE role = ? AND status = ?",
        lock_admin_guard: "SELECT id FROM authcore_admin_guard WHERE id = 1 FOR UPDATE",
        any_user: "SELECT uid FROM authcore_users LIMIT 1",
        insert_user: "INSERT INTO authcore_users \
            (email, email_key, name, role, status, created_at, updated_at) \
            VALUES (?, ?, ?, ?, ?, ?, ?)",
        uid_by_email_key: "SELECT uid FROM authcore_users WHERE email_key = ?",
        insert_password: "INSERT INTO authcore_passwords (uid, phc, issued_at) VALUES (?, ?, ?)",
        update_user: "UPDATE authcore_users SET email = COALESCE(?, email), \
            email_key = COALESCE(?, email_key), name = COALESCE(?, name), \
            role = COALESCE(?, role), status = COALESCE(?, status), updated_at = ? \
            WHERE uid = ?",
        delete_user: "DELETE FROM authcore_users WHERE uid = ?",
        lock_user: "SELECT uid FROM authcore_users WHERE uid = ? FOR UPDATE",
        delete_passwords: "DELETE FROM authcore_passwords WHERE uid = ?",
        count_passwords: "SELECT COUNT(*) FROM authcore_passwords WHERE uid = ?",
        count_matching_passwords: "SELECT COUNT(*) FROM authcore_passwords \
            WHERE uid = ? AND phc = ?",
        delete_password: "DELETE FROM authcore_passwords WHERE uid = ? AND phc = ?",
        replace_hash: "UPDATE authcore_passwords SET phc = ? WHERE uid = ? AND phc = ?",
        lockout_state: "SELECT failures, last_failure_at, locked_until, locked_by_admin \
            FROM authcore_lockout WHERE uid = ?",
        // MySQL assigns left to right and each expression sees the columns assigned before
        // it: `failures` first (from the old row), then the lock from the NEW count and the
        // old lock columns, `locked_by_admin` last (a timed lock just set is in the future,
        // a lock kept is unchanged, so "not locked before" is still decidable).
        record_failure: "INSERT INTO authcore_lockout \
            (uid, failures, last_failure_at, locked_until, locked_by_admin) \
            VALUES (?, 1, ?, ?, ?) \
            ON DUPLICATE KEY UPDATE \
            failures = CASE WHEN locked_by_admin OR locked_until > ? \
                OR (locked_until IS NULL AND last_failure_at > ?) \
                THEN LEAST(failures + 1, 4294967295) ELSE 1 END, \
            locked_until = CASE WHEN locked_by_admin OR locked_until > ? THEN locked_until \
                WHEN failures >= ? THEN ? ELSE NULL END, \
            locked_by_admin = locked_by_admin \
                OR (NOT COALESCE(locked_until > ?, FALSE) AND failures >= ? AND ?), \
            last_failure_at = ? \
            RETURNING failures, last_failure_at, locked_until, locked_by_admin",
        clear_lockout: "DELETE FROM authcore_lockout WHERE uid = ?",
        clear_state: "UPDATE authcore_lockout SET failures = 0, locked_until = NULL, \
            locked_by_admin = FALSE WHERE uid = ?",
    };

    /// The reservation (see [`super::reservations`]).
    pub(crate) fn reserve() -> &'static super::reservations::Statement {
        &super::reservations::MARIADB_RESERVE
    }

    /// The settlement (see [`super::reservations`]).
    pub(crate) fn settle() -> &'static super::reservations::Statement {
        &super::reservations::MARIADB_SETTLE
    }

    /// How a timestamp is bound (DATETIME(6) in UTC).
    pub(crate) fn ts(t: OffsetDateTime) -> OffsetDateTime {
        super::to_micros(t)
    }

    /// Reads a nullable timestamp column.
    pub(crate) fn get_ts(
        row: &MySqlRow,
        idx: usize,
    ) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        row.try_get(idx)
    }

    /// Starts a read-write transaction.
    pub(crate) async fn begin(
        pool: &MySqlPool,
    ) -> Result<Transaction<'static, MySql>, sqlx::Error> {
        pool.begin().await
    }
}

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    use sqlx::sqlite::{SqlitePool, SqliteRow};
    use sqlx::{Row, Sqlite, Transaction};
    use time::format_description::BorrowedFormatItem;
    use time::macros::format_description;
    use time::{OffsetDateTime, PrimitiveDateTime};

    use super::Queries;

    pub(crate) const Q: Queries = Queries {
        find_by_email_key: user_select!("WHERE u.email_key = ?1 ORDER BY p.id"),
        find_by_uid: user_select!("WHERE u.uid = ?1 ORDER BY p.id"),
        list_users: user_select!("ORDER BY u.uid, p.id"),
        count_with_role: "SELECT COUNT(*) FROM authcore_users WHERE role = ?1",
        count_with_role_status: "SELECT COUNT(*) FROM authcore_users \
            WHERE role = ?1 AND status = ?2",
        // BEGIN IMMEDIATE already holds the database's write lock.
        lock_admin_guard: "SELECT id FROM authcore_admin_guard WHERE id = 1",
        any_user: "SELECT uid FROM authcore_users LIMIT 1",
        insert_user: "INSERT INTO authcore_users \
            (email, email_key, name, role, status, created_at, updated_at) \
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        uid_by_email_key: "SELECT uid FROM authcore_users WHERE email_key = ?1",
        insert_password: "INSERT INTO authcore_passwords (uid, phc, issued_at) \
            VALUES (?1, ?2, ?3)",
        update_user: "UPDATE authcore_users SET email = COALESCE(?1, email), \
            email_key = COALESCE(?2, email_key), name = COALESCE(?3, name), \
            role = COALESCE(?4, role), status = COALESCE(?5, status), updated_at = ?6 \
            WHERE uid = ?7",
        delete_user: "DELETE FROM authcore_users WHERE uid = ?1",
        // Write transactions start with BEGIN IMMEDIATE: the database lock is the row lock.
        lock_user: "SELECT uid FROM authcore_users WHERE uid = ?1",
        delete_passwords: "DELETE FROM authcore_passwords WHERE uid = ?1",
        count_passwords: "SELECT COUNT(*) FROM authcore_passwords WHERE uid = ?1",
        count_matching_passwords: "SELECT COUNT(*) FROM authcore_passwords \
            WHERE uid = ?1 AND phc = ?2",
        delete_password: "DELETE FROM authcore_passwords WHERE uid = ?1 AND phc = ?2",
        replace_hash: "UPDATE authcore_passwords SET phc = ?1 WHERE uid = ?2 AND phc = ?3",
        lockout_state: "SELECT failures, last_failure_at, locked_until, locked_by_admin \
            FROM authcore_lockout WHERE uid = ?1",
        // As on PostgreSQL, every SET expression sees the old row. Timestamps are fixed-width
        // UTC text, so text comparison is time comparison.
        record_failure: "INSERT INTO authcore_lockout \
            (uid, failures, last_failure_at, locked_until, locked_by_admin) \
            VALUES (?1, 1, ?2, ?3, ?4) \
            ON CONFLICT (uid) DO UPDATE SET \
            failures = CASE WHEN locked_by_admin OR locked_until > ?5 \
                OR (locked_until IS NULL AND last_failure_at > ?6) \
                THEN MIN(failures + 1, 4294967295) ELSE 1 END, \
            locked_until = CASE WHEN locked_by_admin OR locked_until > ?7 THEN locked_until \
                WHEN (CASE WHEN locked_by_admin OR locked_until > ?5 \
                    OR (locked_until IS NULL AND last_failure_at > ?6) \
                    THEN MIN(failures + 1, 4294967295) ELSE 1 END) >= ?8 THEN ?9 \
                ELSE NULL END, \
            locked_by_admin = CASE WHEN locked_by_admin OR locked_until > ?10 \
                THEN locked_by_admin \
                WHEN (CASE WHEN locked_by_admin OR locked_until > ?5 \
                    OR (locked_until IS NULL AND last_failure_at > ?6) \
                    THEN MIN(failures + 1, 4294967295) ELSE 1 END) >= ?11 THEN ?12 \
                ELSE FALSE END, \
            last_failure_at = ?13 \
            RETURNING failures, last_failure_at, locked_until, locked_by_admin",
        clear_lockout: "DELETE FROM authcore_lockout WHERE uid = ?1",
        clear_state: "UPDATE authcore_lockout SET failures = 0, locked_until = NULL, \
            locked_by_admin = FALSE WHERE uid = ?1",
    };

    /// The reservation (see [`super::reservations`]).
    pub(crate) fn reserve() -> &'static super::reservations::Statement {
        &super::reservations::SQLITE_RESERVE
    }

    /// The settlement (see [`super::reservations`]).
    pub(crate) fn settle() -> &'static super::reservations::Statement {
        &super::reservations::SQLITE_SETTLE
    }

    /// `2026-01-31T23:59:59.123456Z`: fixed width, so text order is time order.
    const FORMAT: &[BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

    /// How a timestamp is bound: fixed-width UTC text.
    pub(crate) fn ts(t: OffsetDateTime) -> String {
        let t = super::to_micros(t);
        // Formatting a UTC date with this description only fails for years past 9999.
        t.format(FORMAT)
            .unwrap_or_else(|_| t.unix_timestamp().to_string())
    }

    /// Reads a nullable timestamp column.
    pub(crate) fn get_ts(
        row: &SqliteRow,
        idx: usize,
    ) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        let text: Option<String> = row.try_get(idx)?;
        text.map(|s| {
            PrimitiveDateTime::parse(&s, FORMAT)
                .map(PrimitiveDateTime::assume_utc)
                .map_err(|e| sqlx::Error::ColumnDecode {
                    index: idx.to_string(),
                    source: Box::new(e),
                })
        })
        .transpose()
    }

    /// Starts a write transaction that holds the database's write lock from the start (a
    /// deferred one could fail to upgrade from reading to writing).
    pub(crate) async fn begin(
        pool: &SqlitePool,
    ) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_mariadb_10_6_and_later_is_accepted() {
        for ok in [
            "10.6.0-MariaDB",
            "10.11.14-MariaDB-0+deb12u2",
            "11.4.2-MariaDB-log",
        ] {
            assert_eq!(super::check_mariadb_version(ok), Ok(()), "{ok}");
        }
        for refused in ["10.5.23-MariaDB", "8.0.36", "8.4.0", "9.1.0", "", "MariaDB"] {
            assert!(super::check_mariadb_version(refused).is_err(), "{refused}");
        }
    }
}
