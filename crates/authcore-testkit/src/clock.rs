//! A clock that only moves when told to.

use std::sync::{Arc, Mutex, PoisonError};

use authcore_core::Clock;
use time::{Duration, OffsetDateTime};

/// A [`Clock`] under the test's control: expiry, lockout windows and token lifetimes can be
/// tested in microseconds, without sleeping.
///
/// Clones share the same time, so a test keeps one handle and gives another to the
/// authenticator.
///
/// ```
/// use authcore_core::Clock;
/// use authcore_testkit::ManualClock;
/// use time::Duration;
///
/// let clock = ManualClock::at_unix(1_000);
/// let handle = clock.clone();
/// clock.advance(Duration::minutes(31));
/// assert_eq!(handle.now().unix_timestamp(), 1_000 + 31 * 60);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    #[must_use]
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A clock stopped at a UNIX timestamp (whole seconds, like the timestamps stores keep).
    #[must_use]
    pub fn at_unix(secs: i64) -> Self {
        Self::new(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    /// A clock stopped at the current system time, truncated to whole seconds.
    #[must_use]
    pub fn starting_now() -> Self {
        Self::at_unix(OffsetDateTime::now_utc().unix_timestamp())
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
