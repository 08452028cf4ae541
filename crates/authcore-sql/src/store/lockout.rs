//! The lockout store: failures, locks and sign-in reservations (`authcore_core::lockout`).

use std::time::Duration;

use async_trait::async_trait;
use authcore_core::{
    AttemptOutcome, Error, LockedUntil, LockoutPolicy, LockoutState, LockoutStore, Reservation,
    ReservationPolicy, Reserve, Result, UserId,
};
use sqlx::Row as _;
use time::OffsetDateTime;

use super::rows::LockoutRow;
use super::{Backend, DbResult as _, SqlStore, decode};
use crate::dialect::{
    ANSWER_BUSY, ANSWER_GRANTED, ANSWER_LOCKED, MAX_ID_LEN, OUTCOME_FAILURE, OUTCOME_RELEASED,
    OUTCOME_SUCCESS, Param, RecordFailure, to_micros,
};
use crate::error::{is_retryable, map_err};

fn lock_columns(lock: Option<LockedUntil>) -> (Option<OffsetDateTime>, bool) {
    match lock {
        Some(LockedUntil::Time(t)) => (Some(t), false),
        Some(LockedUntil::AdminReset) => (None, true),
        None => (None, false),
    }
}

impl RecordFailure {
    fn new(now: OffsetDateTime, policy: &LockoutPolicy) -> Self {
        let first = policy.next_state(None, now);
        let (first_locked_until, first_locked_by_admin) = lock_columns(first.locked_until);
        let (lock_until, lock_by_admin) = lock_columns(Some(policy.lock_from(now)));
        let reset = i64::try_from(
            policy
                .counter_reset_after_secs
                .min(LockoutPolicy::MAX_DURATION_SECS),
        )
        .unwrap_or(i64::MAX);
        let cutoff = now
            .checked_sub(time::Duration::seconds(reset))
            .unwrap_or(now);
        Self {
            now,
            first_locked_until,
            first_locked_by_admin,
            cutoff,
            lock_at: if policy.enabled() {
                i64::from(policy.threshold)
            } else {
                i64::MAX
            },
            lock_until,
            lock_by_admin,
        }
    }
}

/// Binds the 13 parameters of `record_failure` in their fixed order.
macro_rules! bind_record_failure {
    ($query:expr, $uid:expr, $p:expr, $e:ident) => {
        $query
            .bind($uid)
            .bind($e::ts($p.now))
            .bind($p.first_locked_until.map($e::ts))
            .bind($p.first_locked_by_admin)
            .bind($e::ts($p.now))
            .bind($e::ts($p.cutoff))
            .bind($e::ts($p.now))
            .bind($p.lock_at)
            .bind($p.lock_until.map($e::ts))
            .bind($e::ts($p.now))
            .bind($p.lock_at)
            .bind($p.lock_by_admin)
            .bind($e::ts($p.now))
    };
}

/// What the reservation statements bind (see `dialect::reservations`).
struct Values<'a> {
    uid: &'a str,
    id: &'a str,
    outcome: i64,
    /// `now`, the cutoff and the lock a failure reaching the threshold sets.
    f: RecordFailure,
}

impl<'a> Values<'a> {
    fn new(
        r: &'a Reservation,
        outcome: i64,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<Self> {
        if r.id.len() > MAX_ID_LEN {
            return Err(Error::Internal(format!(
                "reservation ids are at most {MAX_ID_LEN} bytes"
            )));
        }
        Ok(Self {
            uid: r.uid.as_str(),
            id: &r.id,
            outcome,
            f: RecordFailure::new(to_micros(now), policy),
        })
    }
}

/// Unix microseconds (the unit of the `in_flight` arrays).
fn unix_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// Binds the parameters of a reservation statement in its order.
macro_rules! bind_values {
    ($query:expr, $st:expr, $v:expr, $stale_us:expr, $e:ident) => {{
        let mut q = $query;
        for p in &$st.params {
            q = match p {
                Param::Uid => q.bind($v.uid),
                Param::Id => q.bind($v.id),
                Param::Now => q.bind($e::ts($v.f.now)),
                Param::NowUs => q.bind(unix_micros($v.f.now)),
                Param::StaleUs => q.bind($stale_us),
                Param::Cutoff => q.bind($e::ts($v.f.cutoff)),
                Param::LockAt => q.bind($v.f.lock_at),
                Param::LockUntil => q.bind($v.f.lock_until.map($e::ts)),
                Param::LockByAdmin => q.bind($v.f.lock_by_admin),
                Param::Outcome => q.bind($v.outcome),
            };
        }
        q
    }};
}

/// Attempts at a lockout upsert that the database aborted as a deadlock victim.
const DEADLOCK_ATTEMPTS: u32 = 8;

#[async_trait]
impl LockoutStore for SqlStore {
    async fn state(&self, uid: &UserId) -> Result<Option<LockoutState>> {
        self.timed("state", async move {
            let row = on_engine!(self, |pool, e| {
                let row = sqlx::query(e::Q.lockout_state)
                    .bind(uid.as_str())
                    .fetch_optional(pool)
                    .await
                    .db()?;
                match row {
                    Some(row) => Some(decode(|| Ok(lockout_row!(row, e)))?),
                    None => None,
                }
            });
            Ok(row.map(LockoutRow::into_state).transpose()?.flatten())
        })
        .await
    }

    async fn record_failure(
        &self,
        uid: &UserId,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<LockoutState> {
        self.timed("record_failure", async move {
            let p = RecordFailure::new(to_micros(now), policy);
            let mut attempt = 1;
            loop {
                let result: std::result::Result<LockoutRow, sqlx::Error> =
                    on_engine!(self, |pool, e| {
                        async {
                            let row = bind_record_failure!(
                                sqlx::query(e::Q.record_failure),
                                uid.as_str(),
                                p,
                                e
                            )
                            .fetch_one(pool)
                            .await?;
                            Ok(lockout_row!(row, e))
                        }
                        .await
                    });
                match result {
                    Ok(row) => {
                        return row.into_state()?.ok_or_else(|| {
                            Error::Internal("lockout upsert left no failure on record".into())
                        });
                    }
                    Err(err) if attempt < DEADLOCK_ATTEMPTS && is_retryable(&err) => {
                        tracing::debug!(
                            attempt,
                            "authcore-sql: lockout upsert retried after a deadlock"
                        );
                        tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5)).await;
                        attempt += 1;
                    }
                    Err(err) => return Err(map_err(err)),
                }
            }
        })
        .await
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        policy: &LockoutPolicy,
        reservations: &ReservationPolicy,
    ) -> Result<Reserve> {
        self.timed("reserve", async move {
            let v = Values::new(
                reservation,
                OUTCOME_RELEASED,
                reservation.started_at,
                policy,
            )?;
            let stale_us = unix_micros(to_micros(reservations.stale_before(v.f.now)));
            let mut attempt = 1;
            loop {
                let result: std::result::Result<i64, sqlx::Error> =
                    on_sign_in_engine!(self, |pool, e| {
                        let st = e::reserve();
                        bind_values!(sqlx::query_scalar(st.sql.as_str()), st, v, stale_us, e)
                            .fetch_one(pool)
                            .await
                    });
                match result {
                    Ok(ANSWER_GRANTED) => return Ok(Reserve::Granted),
                    Ok(ANSWER_LOCKED) => return Ok(Reserve::Locked),
                    Ok(ANSWER_BUSY) => return Ok(Reserve::Busy),
                    Ok(other) => {
                        return Err(Error::Internal(format!(
                            "lockout reservation answered {other}"
                        )));
                    }
                    Err(err) if attempt < DEADLOCK_ATTEMPTS && is_retryable(&err) => {
                        tracing::debug!(attempt, "authcore-sql: lockout reservation retried");
                        tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5)).await;
                        attempt += 1;
                    }
                    Err(err) => return Err(map_err(err)),
                }
            }
        })
        .await
    }

    async fn settle(
        &self,
        reservation: &Reservation,
        outcome: AttemptOutcome,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<Option<LockoutState>> {
        self.timed("settle", async move {
            let code = match outcome {
                AttemptOutcome::Failure => OUTCOME_FAILURE,
                AttemptOutcome::Success => OUTCOME_SUCCESS,
                AttemptOutcome::Released => OUTCOME_RELEASED,
            };
            let v = Values::new(reservation, code, now, policy)?;
            let mut attempt = 1;
            loop {
                let result: std::result::Result<LockoutRow, sqlx::Error> =
                    on_sign_in_engine!(self, |pool, e| {
                        async {
                            let st = e::settle();
                            let row = bind_values!(sqlx::query(st.sql.as_str()), st, v, 0, e)
                                .fetch_one(pool)
                                .await?;
                            Ok(lockout_row!(row, e))
                        }
                        .await
                    });
                match result {
                    Ok(row) => return row.into_state(),
                    Err(err) if attempt < DEADLOCK_ATTEMPTS && is_retryable(&err) => {
                        tracing::debug!(attempt, "authcore-sql: lockout settle retried");
                        tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5)).await;
                        attempt += 1;
                    }
                    Err(err) => return Err(map_err(err)),
                }
            }
        })
        .await
    }

    fn sessions(&self) -> Option<&dyn authcore_core::SessionStore> {
        Some(self)
    }

    async fn clear(&self, uid: &UserId) -> Result<()> {
        self.timed("clear", async move {
            on_engine!(self, |pool, e| {
                sqlx::query(e::Q.clear_state)
                    .bind(uid.as_str())
                    .execute(pool)
                    .await
                    .db()?;
                Ok(())
            })
        })
        .await
    }
}

#[cfg(all(test, feature = "postgres"))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use sqlx::{Connection as _, Executor as _};

    use super::*;
    use crate::dialect::postgres as e;

    /// `synchronous_commit` as the transaction `tx` sees it.
    async fn commit_mode(tx: &mut sqlx::PgConnection) -> String {
        sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
            .fetch_one(tx)
            .await
            .unwrap()
    }

    /// On PostgreSQL a settlement commits without waiting for the log flush, in its own
    /// transaction only; a reservation commits as the server is configured, also on a
    /// connection whose previous transaction was a settlement (the pooled case).
    #[tokio::test]
    #[ignore = "needs PostgreSQL: run scripts/test"]
    async fn postgres_settle_alone_commits_without_waiting_for_the_log() {
        let url = std::env::var("AUTHCORE_TEST_POSTGRES_URL")
            .expect("AUTHCORE_TEST_POSTGRES_URL is not set: run scripts/test");
        // The schema (the store migrates), then one connection for everything below.
        let store = SqlStore::connect(&url).await.unwrap();
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        // The test server may run without waiting for the log (scripts/test starts it so):
        // this connection waits, as a durable server's would.
        conn.execute("SET synchronous_commit = on").await.unwrap();
        let server_default = "on";

        let uid = UserId::new(format!("relaxed-{}", std::process::id()));
        let policy = LockoutPolicy::DEFAULT;
        let reservation = Reservation::new(uid, OffsetDateTime::now_utc());
        let stale_us = unix_micros(to_micros(
            ReservationPolicy::default().stale_before(OffsetDateTime::now_utc()),
        ));

        // The reservation, in a transaction of its own: as configured.
        let mut tx = conn.begin().await.unwrap();
        let v = Values::new(
            &reservation,
            OUTCOME_RELEASED,
            reservation.started_at,
            &policy,
        )
        .unwrap();
        let st = e::reserve();
        let answer: i64 = bind_values!(sqlx::query_scalar(st.sql.as_str()), st, v, stale_us, e)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(answer, ANSWER_GRANTED);
        assert_eq!(commit_mode(&mut tx).await, server_default);
        tx.commit().await.unwrap();

        // The settlement: off, for its transaction.
        let mut tx = conn.begin().await.unwrap();
        let v = Values::new(
            &reservation,
            OUTCOME_SUCCESS,
            OffsetDateTime::now_utc(),
            &policy,
        )
        .unwrap();
        let st = e::settle();
        bind_values!(sqlx::query(st.sql.as_str()), st, v, 0, e)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(commit_mode(&mut tx).await, "off");
        tx.commit().await.unwrap();

        // The same connection's next transaction is back to the server's setting, and so is
        // one after a settlement sent alone (its own implicit transaction).
        let mut tx = conn.begin().await.unwrap();
        assert_eq!(commit_mode(&mut tx).await, server_default);
        tx.commit().await.unwrap();
        let v = Values::new(
            &reservation,
            OUTCOME_RELEASED,
            OffsetDateTime::now_utc(),
            &policy,
        )
        .unwrap();
        bind_values!(sqlx::query(st.sql.as_str()), st, v, 0, e)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(commit_mode(&mut conn).await, server_default);

        // And the store's own settlement still answers the state.
        let r2 = Reservation::new(reservation.uid.clone(), OffsetDateTime::now_utc());
        let rp = ReservationPolicy::default();
        assert_eq!(
            store.reserve(&r2, &policy, &rp).await.unwrap(),
            Reserve::Granted
        );
        let state = store
            .settle(
                &r2,
                AttemptOutcome::Failure,
                OffsetDateTime::now_utc(),
                &policy,
            )
            .await
            .unwrap();
        assert_eq!(state.map(|s| s.failures), Some(1));
        conn.execute(sqlx::AssertSqlSafe(format!(
            "DELETE FROM authcore_lockout WHERE uid = '{}'",
            reservation.uid.as_str()
        )))
        .await
        .unwrap();
    }
}
