//! Sign-in reservations: an attempt is counted *before* its password is checked.
//!
//! A password check for an account first takes a [`Reservation`] from the
//! [`crate::LockoutStore`] ([`crate::LockoutStore::reserve`]). The store grants one only while
//! `failures + in_flight < threshold`, atomically (one lock per account, also across processes
//! sharing a database), so however many checks arrive at once, at most `threshold` wrong
//! passwords are judged before the account locks. Every granted reservation is then settled
//! ([`crate::LockoutStore::settle`]): a failure is counted (and locks on reaching the
//! threshold); a success releases it and clears the failures, unless a lock was reached
//! meanwhile (a late success never clears a lock).
//!
//! A reservation that is never settled counts as a failure: the authenticator settles it as a
//! failure when the caller goes away mid-check, and a reservation left by a process that died
//! counts as a failure once it is older than [`ReservationPolicy::stale_after`].
//!
//! [`LockoutPolicy::decide`], [`LockoutPolicy::settled`] and [`LockoutPolicy::expire_stale`]
//! are the reference semantics every store implements.

use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};

use crate::policy::{LockoutPolicy, LockoutState};
use crate::user::UserId;

/// After how long an unsettled reservation counts as a failure by default: 30 s, well above
/// the longest a live check takes (the hashing queue's admission wait, 2 s by default, plus
/// one argon2 evaluation and the store's round trips), so only a reservation whose process
/// died gets there.
pub const DEFAULT_RESERVATION_STALE_AFTER: StdDuration = StdDuration::from_secs(30);

/// How a store treats reservations that were never settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationPolicy {
    /// An unsettled reservation older than this counts as a failure (its process died).
    pub stale_after: StdDuration,
}

impl Default for ReservationPolicy {
    fn default() -> Self {
        Self {
            stale_after: DEFAULT_RESERVATION_STALE_AFTER,
        }
    }
}

impl ReservationPolicy {
    /// The start time before which a reservation is stale at `now`.
    #[must_use]
    pub fn stale_before(&self, now: OffsetDateTime) -> OffsetDateTime {
        let secs = i64::try_from(self.stale_after.as_secs()).unwrap_or(i64::MAX / 2);
        now.checked_sub(Duration::seconds(secs)).unwrap_or(now)
    }
}

/// One granted attempt, held while its password is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The account (lockout key) it counts against.
    pub uid: UserId,
    /// A unique id (a random UUID), chosen by the caller of [`crate::LockoutStore::reserve`].
    pub id: String,
    /// When it was granted.
    pub started_at: OffsetDateTime,
}

impl Reservation {
    /// A new reservation for `uid` starting at `now`, with a random id.
    #[must_use]
    pub fn new(uid: UserId, now: OffsetDateTime) -> Self {
        Self {
            uid,
            id: uuid::Uuid::new_v4().to_string(),
            started_at: now,
        }
    }
}

/// The answer of [`crate::LockoutStore::reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserve {
    /// The attempt may be judged; settle the reservation afterwards.
    Granted,
    /// The budget is held by attempts in flight that may still succeed: wait and retry.
    Busy,
    /// The account is locked: refuse without judging.
    Locked,
}

/// How a reserved attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The password was wrong, or the attempt was abandoned: counted as a failure.
    Failure,
    /// The password was right: the failures are cleared unless the account got locked.
    Success,
    /// The check could not be made (a store or directory outage, not the caller's doing): the
    /// reservation is released without counting anything.
    Released,
}

impl LockoutPolicy {
    /// Failures that still count at `now` (0 once the window or an expired lock is over).
    #[must_use]
    pub fn live_failures(&self, state: Option<&LockoutState>, now: OffsetDateTime) -> u32 {
        let reset_after = Duration::seconds(
            i64::try_from(self.counter_reset_after_secs.min(Self::MAX_DURATION_SECS)).unwrap_or(0),
        );
        match state {
            Some(s) if s.is_locked(now) => s.failures,
            Some(s) if s.locked_until.is_none() && now - s.last_failure_at < reset_after => {
                s.failures
            }
            _ => 0,
        }
    }

    /// Whether a new attempt may be reserved at `now`, with `in_flight` unsettled reservations
    /// (stale ones already expired with [`LockoutPolicy::expire_stale`]).
    #[must_use]
    pub fn decide(
        &self,
        state: Option<&LockoutState>,
        in_flight: usize,
        now: OffsetDateTime,
    ) -> Reserve {
        if state.is_some_and(|s| s.is_locked(now)) {
            return Reserve::Locked;
        }
        if !self.enabled() {
            return Reserve::Granted;
        }
        let used = u64::from(self.live_failures(state, now))
            .saturating_add(u64::try_from(in_flight).unwrap_or(u64::MAX));
        if used < u64::from(self.threshold) {
            Reserve::Granted
        } else {
            Reserve::Busy
        }
    }

    /// The state after settling a reservation at `now`. `was_in_flight` is whether the
    /// reservation was still on record (a stale one was already counted: no double count).
    #[must_use]
    pub fn settled(
        &self,
        state: Option<&LockoutState>,
        outcome: AttemptOutcome,
        was_in_flight: bool,
        now: OffsetDateTime,
    ) -> Option<LockoutState> {
        match outcome {
            AttemptOutcome::Failure if was_in_flight => Some(self.next_state(state, now)),
            AttemptOutcome::Failure | AttemptOutcome::Released => state.copied(),
            // A late success never clears a lock reached meanwhile.
            AttemptOutcome::Success if state.is_some_and(|s| s.is_locked(now)) => state.copied(),
            AttemptOutcome::Success => None,
        }
    }

    /// Counts every stale reservation (started before `stale_before`) as one failure at `now`
    /// and returns the new state and how many there were.
    #[must_use]
    pub fn expire_stale(
        &self,
        mut state: Option<LockoutState>,
        started: impl IntoIterator<Item = OffsetDateTime>,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> (Option<LockoutState>, usize) {
        let mut n = 0;
        for t in started {
            if t < stale_before {
                state = Some(self.next_state(state.as_ref(), now));
                n += 1;
            }
        }
        (state, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + s).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    const P: LockoutPolicy = LockoutPolicy {
        threshold: 3,
        duration_secs: 60,
        counter_reset_after_secs: 30,
    };

    #[test]
    fn grants_while_failures_plus_in_flight_stay_below_the_threshold() {
        assert_eq!(P.decide(None, 2, t(0)), Reserve::Granted);
        assert_eq!(P.decide(None, 3, t(0)), Reserve::Busy);
        let s = P.next_state(None, t(0));
        assert_eq!(P.decide(Some(&s), 1, t(1)), Reserve::Granted);
        assert_eq!(P.decide(Some(&s), 2, t(1)), Reserve::Busy);
        // The window is over: the old failure no longer counts.
        assert_eq!(P.decide(Some(&s), 2, t(31)), Reserve::Granted);
        assert_eq!(
            LockoutPolicy::OFF.decide(None, 1000, t(0)),
            Reserve::Granted
        );
    }

    #[test]
    fn a_late_success_never_clears_a_lock() {
        let mut s = None;
        for i in 0..3 {
            s = P.settled(s.as_ref(), AttemptOutcome::Failure, true, t(i));
        }
        assert!(s.is_some_and(|s| s.is_locked(t(3))));
        assert_eq!(P.decide(s.as_ref(), 0, t(3)), Reserve::Locked);
        let after = P.settled(s.as_ref(), AttemptOutcome::Success, true, t(3));
        assert_eq!(after, s);
        // Not locked: a success clears the failures.
        let one = P.settled(None, AttemptOutcome::Failure, true, t(0));
        assert_eq!(
            P.settled(one.as_ref(), AttemptOutcome::Success, true, t(1)),
            None
        );
        // A failure whose reservation was already counted as stale is not counted again.
        assert_eq!(
            P.settled(one.as_ref(), AttemptOutcome::Failure, false, t(1)),
            one
        );
    }

    #[test]
    fn stale_reservations_count_as_failures() {
        let rp = ReservationPolicy {
            stale_after: StdDuration::from_secs(10),
        };
        let (s, n) = P.expire_stale(None, [t(0), t(5), t(11)], rp.stale_before(t(12)), t(12));
        assert_eq!(n, 1);
        assert_eq!(s.map(|s| s.failures), Some(1));
    }
}
