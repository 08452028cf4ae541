//! Time, injected: every decision that depends on "now" asks a [`Clock`].

use std::fmt::Debug;

use time::OffsetDateTime;

/// A source of the current time (UTC).
///
/// The default is [`SystemClock`]. Tests use a manual clock (`authcore-testkit`'s
/// `ManualClock`) to move time forward without sleeping: expiry, lockout windows and token
/// lifetimes all read this clock.
pub trait Clock: Send + Sync + Debug {
    /// The current time, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
