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
use crate::dialect::{RecordFailure, to_micros};
use crate::error::{is_retryable, map_err};

/// Inside a write transaction: makes sure the key's lockout row exists, takes its lock and
/// returns the state it holds (`None`: no failure on record). A row deleted in between (the
/// user was deleted) is `sqlx::Error::RowNotFound`, and the transaction is run again.
macro_rules! lock_lockout_row {
    ($tx:ident, $e:ident, $uid:expr, $now:expr) => {{
        sqlx::query($e::L.insert_lock_row)
            .bind($uid)
            .bind($e::ts($now))
            .execute(&mut *$tx)
            .await?;
        let row = sqlx::query($e::L.lock_row)
            .bind($uid)
            .fetch_optional(&mut *$tx)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        lockout_row!(row, $e)
            .into_state()
            .map_err(|err| sqlx::Error::Decode(Box::new(err)))?
    }};
}

/// Inside a write transaction holding the row's lock: stores `$state` (`None` keeps the row as
/// a placeholder without failures).
macro_rules! write_lockout_state {
    ($tx:ident, $e:ident, $uid:expr, $state:expr, $now:expr) => {{
        let (failures, last, lock) = match $state {
            Some(s) => (i64::from(s.failures), s.last_failure_at, s.locked_until),
            None => (0, $now, None),
        };
        let (until, by_admin) = lock_columns(lock);
        sqlx::query($e::L.write_state)
            .bind(failures)
            .bind($e::ts(last))
            .bind(until.map($e::ts))
            .bind(by_admin)
            .bind($uid)
            .execute(&mut *$tx)
            .await?;
    }};
}

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
                            let query = sqlx::query(e::Q.record_failure);
                            if e::RETURNING {
                                let row = bind_record_failure!(query, uid.as_str(), p, e)
                                    .fetch_one(pool)
                                    .await?;
                                Ok(lockout_row!(row, e))
                            } else {
                                // No RETURNING with ON DUPLICATE KEY UPDATE: read the row back in
                                // the same transaction, which still holds its lock.
                                let mut tx = e::begin(pool).await?;
                                bind_record_failure!(query, uid.as_str(), p, e)
                                    .execute(&mut *tx)
                                    .await?;
                                let row = sqlx::query(e::Q.lockout_state)
                                    .bind(uid.as_str())
                                    .fetch_one(&mut *tx)
                                    .await?;
                                let row = lockout_row!(row, e);
                                tx.commit().await?;
                                Ok(row)
                            }
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
            let now = to_micros(reservation.started_at);
            let stale_before = to_micros(reservations.stale_before(now));
            let uid = reservation.uid.as_str();
            let mut attempt = 1;
            loop {
                let result: std::result::Result<Reserve, sqlx::Error> =
                    on_engine!(self, |pool, e| {
                        async {
                            let mut tx = e::begin(pool).await?;
                            let before = lock_lockout_row!(tx, e, uid, now);
                            let rows = sqlx::query(e::L.in_flight)
                                .bind(uid)
                                .fetch_all(&mut *tx)
                                .await?;
                            let mut started = Vec::with_capacity(rows.len());
                            for row in &rows {
                                started.extend(e::get_ts(row, 0)?);
                            }
                            let (state, stale) = policy.expire_stale(
                                before,
                                started.iter().copied(),
                                stale_before,
                                now,
                            );
                            if stale > 0 {
                                sqlx::query(e::L.delete_stale)
                                    .bind(uid)
                                    .bind(e::ts(stale_before))
                                    .execute(&mut *tx)
                                    .await?;
                                write_lockout_state!(tx, e, uid, state, now);
                            }
                            let answer = policy.decide(state.as_ref(), started.len() - stale, now);
                            if answer == Reserve::Granted {
                                sqlx::query(e::L.insert_reservation)
                                    .bind(reservation.id.as_str())
                                    .bind(uid)
                                    .bind(e::ts(now))
                                    .execute(&mut *tx)
                                    .await?;
                            }
                            tx.commit().await?;
                            Ok(answer)
                        }
                        .await
                    });
                match result {
                    Ok(answer) => return Ok(answer),
                    Err(err) if attempt < DEADLOCK_ATTEMPTS && retry_lockout_tx(&err) => {
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
            let now = to_micros(now);
            let uid = reservation.uid.as_str();
            let mut attempt = 1;
            loop {
                let result: std::result::Result<Option<LockoutState>, sqlx::Error> =
                    on_engine!(self, |pool, e| {
                        async {
                            let mut tx = e::begin(pool).await?;
                            let before = lock_lockout_row!(tx, e, uid, now);
                            let done = sqlx::query(e::L.delete_reservation)
                                .bind(reservation.id.as_str())
                                .bind(uid)
                                .execute(&mut *tx)
                                .await?;
                            let was_in_flight = done.rows_affected() > 0;
                            let after =
                                policy.settled(before.as_ref(), outcome, was_in_flight, now);
                            if after != before {
                                write_lockout_state!(tx, e, uid, after, now);
                            }
                            tx.commit().await?;
                            Ok(after)
                        }
                        .await
                    });
                match result {
                    Ok(state) => return Ok(state),
                    Err(err) if attempt < DEADLOCK_ATTEMPTS && retry_lockout_tx(&err) => {
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
                sqlx::query(e::L.clear_state)
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

/// Whether a reserve/settle transaction is worth running again: a deadlock victim, or the
/// lockout row deleted (user deleted) between its insertion and its lock.
fn retry_lockout_tx(err: &sqlx::Error) -> bool {
    is_retryable(err) || matches!(err, sqlx::Error::RowNotFound)
}
