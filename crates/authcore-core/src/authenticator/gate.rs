//! The sign-in gate: a reservation in the lockout store before any password is judged, the
//! bounded wait of attempts beyond the remaining budget, and the settlement afterwards (see
//! [`crate::lockout`]).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

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
    /// processes (default 25 ms, doubling after each unsuccessful ask up to 8 times that).
    /// Only the first attempt waiting on an account in this process asks; the others wait in
    /// arrival order without store I/O. A settlement in this process wakes the first at once,
    /// and when it gets a reservation the next one asks at once.
    pub poll_interval: Duration,
    /// Unsettled reservations: when they count as failures.
    pub reservations: ReservationPolicy,
    /// How long a sign-in the hashing engine refuses for overload is held before its answer
    /// ([`crate::Error::Overloaded`], 503 with `Retry-After`; default 250 ms, zero answers at
    /// once). The refusal is still decided first, in microseconds and before any store I/O,
    /// and holds no hashing place; only the answer waits. A client in a closed loop (a
    /// flood, a misbehaving retry loop) comes back as soon as it is answered, so refusals
    /// answered at once multiply and take the CPU from the argon2 workers: held, each such
    /// connection costs a few refusals a second instead of thousands. A well-behaved client
    /// loses nothing: `Retry-After` asks it to wait at least a second.
    pub overload_hold: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            busy_wait: Duration::from_secs(3),
            max_waiters_per_account: 512,
            poll_interval: Duration::from_millis(25),
            reservations: ReservationPolicy::default(),
            overload_hold: Duration::from_millis(250),
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

/// Per-account wait queues of this process, and the busy refusals not yet reported.
#[derive(Debug, Default)]
pub(super) struct Waiters {
    map: Mutex<HashMap<UserId, (Arc<Queue>, usize)>>,
    refusals: Mutex<Refusals>,
}

/// The attempts waiting on one account, first come first served: the one holding `head`
/// (a semaphore with one permit, whose acquire queue is FIFO) asks the store; the others wait
/// for the permit without any store I/O.
#[derive(Debug)]
struct Queue {
    head: Semaphore,
    /// Wakes the head when an attempt on this account settles in this process (a stored
    /// permit if the head is between two awaits: no lost wake-up).
    settled: Notify,
}

/// Busy refusals counted since the last report.
#[derive(Debug, Default)]
struct Refusals {
    total: u64,
    unreported: u64,
    last_report: Option<std::time::Instant>,
}

impl Waiters {
    /// Joins the queue of `key` unless `cap` attempts already wait on it, or (when
    /// `only_if_waiting`) unless nobody waits on it: a newcomer does not try the store ahead
    /// of attempts already waiting.
    fn join<'a>(&'a self, key: &'a UserId, cap: usize, only_if_waiting: bool) -> Join<'a> {
        let Ok(mut map) = self.map.lock() else {
            return Join::Full;
        };
        if only_if_waiting && !map.contains_key(key) {
            return Join::Empty;
        }
        let entry = map.entry(key.clone()).or_insert_with(|| {
            (
                Arc::new(Queue {
                    head: Semaphore::new(1),
                    settled: Notify::new(),
                }),
                0,
            )
        });
        if entry.1 >= cap {
            return Join::Full;
        }
        entry.1 += 1;
        Join::Joined(Waiting {
            waiters: self,
            key,
            queue: Arc::clone(&entry.0),
        })
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

    /// Wakes the head of the queue of `key` (a settlement freed a place in the budget; when
    /// the head is granted the next attempt becomes head and tries at once, so a budget freed
    /// by more than one place is handed on).
    fn wake(&self, key: &UserId) {
        if let Ok(map) = self.map.lock()
            && let Some((queue, _)) = map.get(key)
        {
            queue.settled.notify_one();
        }
    }

    /// Attempts waiting on `key` in this process, the head of the queue included.
    fn len(&self, key: &UserId) -> usize {
        self.map
            .lock()
            .ok()
            .and_then(|map| map.get(key).map(|entry| entry.1))
            .unwrap_or(0)
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

/// The answer of [`Waiters::join`].
enum Join<'a> {
    /// In the queue (at its end).
    Joined(Waiting<'a>),
    /// Nobody waits on the key: try the store.
    Empty,
    /// Too many attempts wait on the key (or the lock is poisoned): refuse.
    Full,
}

/// A place in the queue of a key; leaves it when dropped (also when the attempt's future is
/// dropped mid-wait: the semaphore's acquire and the head permit are released with it).
struct Waiting<'a> {
    waiters: &'a Waiters,
    key: &'a UserId,
    queue: Arc<Queue>,
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

    /// Sign-in attempts on the account `uid` waiting in this process for attempts in flight
    /// to settle (the one asking the store included); 0 when none waits.
    #[must_use]
    pub fn waiting_sign_ins(&self, uid: &UserId) -> usize {
        self.inner.waiters.len(uid)
    }

    /// Takes a reservation for `key`, waiting (bounded by [`SignInLimits::busy_wait`], first
    /// come first served among the attempts of this process) while attempts in flight hold
    /// the budget.
    pub(super) async fn gate(&self, key: &UserId) -> Result<Gate> {
        let limits = self.inner.limits;
        let deadline = tokio::time::Instant::now() + limits.busy_wait;
        let cap = limits.max_waiters_per_account;
        // The fast path: nobody waits on this account here, one reservation.
        let waiting = match self.inner.waiters.join(key, cap, true) {
            Join::Joined(waiting) => waiting,
            Join::Full => return Ok(Gate::Refused),
            Join::Empty => {
                if let Some(gate) = self.try_reserve(key).await? {
                    return Ok(gate);
                }
                match self.inner.waiters.join(key, cap, false) {
                    Join::Joined(waiting) => waiting,
                    Join::Full | Join::Empty => return Ok(Gate::Refused),
                }
            }
        };
        let queue = Arc::clone(&waiting.queue);
        // Wait for the head's place, in arrival order.
        let Ok(Ok(_head)) = tokio::time::timeout_at(deadline, queue.head.acquire()).await else {
            return Ok(Gate::Refused);
        };
        // The head: ask the store at once, then on each settlement here, and on a backoff
        // timer for settlements made by other processes.
        let mut poll = limits.poll_interval;
        loop {
            if let Some(gate) = self.try_reserve(key).await? {
                // Leaving the queue (dropping `waiting`, then `_head`) makes the next attempt
                // head; it tries at once.
                drop(waiting);
                return Ok(gate);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Gate::Refused);
            }
            let pause = poll.min(deadline - now);
            let _ = tokio::time::timeout(pause, queue.settled.notified()).await;
            poll = (poll * 2).min(limits.poll_interval * MAX_POLL_BACKOFF);
        }
    }

    /// One reservation: `None` when the budget is held by attempts in flight.
    async fn try_reserve(&self, key: &UserId) -> Result<Option<Gate>> {
        let reservation = Reservation::new(key.clone(), self.now());
        let reserved = self
            .inner
            .lockout
            .reserve(
                &reservation,
                &self.policy().lockout,
                &self.inner.limits.reservations,
            )
            .await?;
        Ok(match reserved {
            Reserve::Granted => Some(Gate::Granted(Held {
                auth: self.clone(),
                reservation: Some(reservation),
            })),
            Reserve::Locked => Some(Gate::Locked),
            Reserve::Busy => None,
        })
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
