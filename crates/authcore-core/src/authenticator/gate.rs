//! The sign-in gate: a reservation in the lockout store before any password is judged, the
//! bounded wait of attempts beyond the remaining budget, and the settlement afterwards (see
//! [`crate::lockout`]).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::Authenticator;
use crate::error::Result;
use crate::lockout::{AttemptOutcome, Reservation, ReservationPolicy, Reserve};
use crate::policy::LockoutState;
use crate::user::UserId;

/// Limits of the sign-in gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// How long an attempt waits for attempts in flight on the same account to settle when
    /// they hold the whole lockout budget (default 3 s). An attempt whose wait runs out is
    /// refused with the generic 401 and never judged.
    pub busy_wait: Duration,
    /// How many attempts may wait on one account in this process (default 512: more than
    /// the hashing engine admits in its 2 s deadline on a few cores, so that a burst of
    /// clients signing in to one service account waits its turn); one more is refused at once
    /// with the generic 401. A waiter is a parked task: it costs no store I/O until it is
    /// woken or polls.
    pub max_waiters_per_account: usize,
    /// How often a waiting attempt first asks the store again, for settlements made by other
    /// processes (default 25 ms, doubling after each unsuccessful ask up to 8 times that);
    /// a settlement in this process wakes one waiter at once, and a waiter that gets a
    /// reservation wakes the next.
    pub poll_interval: Duration,
    /// Unsettled reservations: when they count as failures.
    pub reservations: ReservationPolicy,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            busy_wait: Duration::from_secs(3),
            max_waiters_per_account: 512,
            poll_interval: Duration::from_millis(25),
            reservations: ReservationPolicy::default(),
        }
    }
}

/// Number of decoy lockout keys that unknown usernames are spread over: storage never grows
/// with the names tried.
pub(super) const DECOYS: u64 = 64;

/// The longest pause between two asks of a waiting attempt, in poll intervals.
const MAX_POLL_BACKOFF: u32 = 8;

/// At most one log line a second reports the attempts refused because their account was busy.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Per-account wakeups and waiter counts of this process, and the busy refusals not yet
/// reported.
#[derive(Debug, Default)]
pub(super) struct Waiters {
    map: Mutex<HashMap<UserId, (Arc<Notify>, usize)>>,
    refusals: Mutex<Refusals>,
}

/// Busy refusals counted since the last report.
#[derive(Debug, Default)]
struct Refusals {
    total: u64,
    unreported: u64,
    last_report: Option<std::time::Instant>,
}

impl Waiters {
    fn join(&self, key: &UserId, cap: usize) -> Option<Arc<Notify>> {
        let mut map = self.map.lock().ok()?;
        let entry = map
            .entry(key.clone())
            .or_insert_with(|| (Arc::new(Notify::new()), 0));
        if entry.1 >= cap {
            return None;
        }
        entry.1 += 1;
        Some(Arc::clone(&entry.0))
    }

    fn leave(&self, key: &UserId) {
        if let Ok(mut map) = self.map.lock()
            && let Some(entry) = map.get_mut(key)
        {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                map.remove(key);
            }
        }
    }

    /// Wakes one attempt waiting on `key` (a settlement frees one place in the budget; a
    /// waiter that gets it wakes the next, so a budget freed by more than one place is
    /// handed on without waking every waiter at each settlement).
    fn wake(&self, key: &UserId) {
        if let Ok(map) = self.map.lock()
            && let Some((notify, _)) = map.get(key)
        {
            notify.notify_one();
        }
    }

    /// Counts an attempt refused because its account was busy, and reports the count in
    /// aggregate: at most one line a second (a flood on one account is not a flood of logs).
    pub(super) fn refused(&self) {
        let Ok(mut r) = self.refusals.lock() else {
            return;
        };
        r.total = r.total.saturating_add(1);
        r.unreported = r.unreported.saturating_add(1);
        let now = std::time::Instant::now();
        if r.last_report
            .is_none_or(|last| now.duration_since(last) >= REFUSAL_LOG_INTERVAL)
        {
            tracing::info!(
                target: super::AUDIT_TARGET,
                refused = r.unreported,
                refused_total = r.total,
                "sign-in attempts refused unjudged: too many attempts in flight for their account (at most one report a second)"
            );
            r.unreported = 0;
            r.last_report = Some(now);
        }
    }

    /// Busy refusals since this authenticator started.
    pub(super) fn refused_total(&self) -> u64 {
        self.refusals.lock().map_or(0, |r| r.total)
    }
}

/// Leaves the waiters of a key when dropped.
struct Waiting<'a> {
    waiters: &'a Waiters,
    key: &'a UserId,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.waiters.leave(self.key);
    }
}

/// What the gate decided for one attempt.
pub(super) enum Gate {
    /// Judge the password, then settle the reservation.
    Granted(Held),
    /// The account is locked: refuse after the same work as a wrong password.
    Locked,
    /// The wait ran out, or too many attempts were waiting: refuse at once, never judged.
    Refused,
}

/// A granted reservation. Settle it with [`Held::settle`]; if it is dropped unsettled (the
/// caller went away mid-check), it is settled as a failure on a spawned task.
pub(super) struct Held {
    auth: Authenticator,
    reservation: Option<Reservation>,
}

impl Held {
    /// Settles the attempt and wakes the attempts waiting on the same account.
    pub(super) async fn settle(mut self, outcome: AttemptOutcome) -> Result<Option<LockoutState>> {
        let Some(r) = self.reservation.take() else {
            return Ok(None);
        };
        self.auth.settle(&r, outcome).await
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(r) = self.reservation.take() else {
            return;
        };
        // Fail closed: an abandoned attempt counts. Without a runtime the reservation counts
        // once it is stale.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let auth = self.auth.clone();
            handle.spawn(async move {
                if let Err(e) = auth.settle(&r, AttemptOutcome::Failure).await {
                    tracing::warn!(target: super::AUDIT_TARGET, uid = %r.uid, error = %e, "abandoned sign-in not settled; it counts once stale");
                }
            });
        }
    }
}

impl Authenticator {
    /// Sign-in attempts refused unjudged since this authenticator started because their
    /// account had too many attempts in flight and waiting ([`SignInLimits`]): each answered
    /// the generic 401, and they are logged in aggregate, at most one line a second.
    #[must_use]
    pub fn busy_refusals(&self) -> u64 {
        self.inner.waiters.refused_total()
    }

    /// The lockout key of a name no store knows: one of [`DECOYS`] keys, chosen by a keyed
    /// hash (the key is random per process), so unknown names cost the same writes as known
    /// ones without storage that grows with the names tried.
    pub(super) fn decoy_key(&self, username: &str) -> UserId {
        let n = self.inner.decoy_hasher.hash_one(username) % DECOYS;
        UserId::new(format!("authcore-decoy:{n:02}"))
    }

    /// Takes a reservation for `key`, waiting (bounded) while attempts in flight hold the
    /// budget.
    pub(super) async fn gate(&self, key: &UserId) -> Result<Gate> {
        let limits = self.inner.limits;
        let policy = self.policy().lockout;
        let mut waiting = None;
        let mut poll = limits.poll_interval;
        let deadline = tokio::time::Instant::now() + limits.busy_wait;
        loop {
            let notified = waiting
                .as_ref()
                .map(|(n, _): &(Arc<Notify>, Waiting<'_>)| Arc::clone(n));
            let notified_fut = notified.as_ref().map(|n| n.notified());
            let reservation = Reservation::new(key.clone(), self.now());
            match self
                .inner
                .lockout
                .reserve(&reservation, &policy, &limits.reservations)
                .await?
            {
                Reserve::Granted => {
                    if waiting.is_some() {
                        // The budget may hold more places: hand the wake-up on.
                        self.inner.waiters.wake(key);
                    }
                    return Ok(Gate::Granted(Held {
                        auth: self.clone(),
                        reservation: Some(reservation),
                    }));
                }
                Reserve::Locked => return Ok(Gate::Locked),
                Reserve::Busy => {}
            }
            if waiting.is_none() {
                let Some(notify) = self.inner.waiters.join(key, limits.max_waiters_per_account)
                else {
                    return Ok(Gate::Refused);
                };
                waiting = Some((
                    notify,
                    Waiting {
                        waiters: &self.inner.waiters,
                        key,
                    },
                ));
                continue;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Gate::Refused);
            }
            let pause = poll.min(deadline - now);
            match notified_fut {
                Some(fut) => {
                    let _ = tokio::time::timeout(pause, fut).await;
                }
                None => tokio::time::sleep(pause).await,
            }
            poll = (poll * 2).min(limits.poll_interval * MAX_POLL_BACKOFF);
        }
    }

    async fn settle(
        &self,
        r: &Reservation,
        outcome: AttemptOutcome,
    ) -> Result<Option<LockoutState>> {
        let result = self
            .inner
            .lockout
            .settle(r, outcome, self.now(), &self.policy().lockout)
            .await;
        self.inner.waiters.wake(&r.uid);
        result
    }
}
