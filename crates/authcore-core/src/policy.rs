//! Expiry, lockout and complexity policy, with Redis Enterprise's names and defaults.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// Sign-in policy, deserializable from Redis Enterprise's field names
/// (`password_expiration_duration`, `login_lockout_threshold`, ...).
///
/// ```
/// let policy: authcore_core::AuthPolicy = serde_json::from_str(
///     r#"{"login_lockout_threshold": 3, "password_expiration_duration": 90}"#,
/// ).unwrap();
/// assert_eq!(policy.lockout.threshold, 3);
/// assert_eq!(policy.lockout.duration_secs, 1800);
/// assert_eq!(policy.expiry.days, 90);
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(default)]
pub struct AuthPolicy {
    /// Password expiration.
    #[serde(flatten)]
    pub expiry: PasswordExpiry,
    /// Login lockout.
    #[serde(flatten)]
    pub lockout: LockoutPolicy,
    /// Password complexity rules.
    #[serde(flatten)]
    pub complexity: PasswordComplexity,
    /// How long a session may be refreshed (an extension: Redis has no such setting).
    #[serde(flatten)]
    pub session: SessionPolicy,
    /// Minimum password length and the most passwords one user may hold (extensions).
    #[serde(flatten)]
    pub passwords: PasswordRules,
}

/// Bounds on passwords that hold whatever the complexity setting (extensions: Redis has no
/// such settings).
///
/// ```
/// let policy: authcore_core::AuthPolicy = serde_json::from_str(
///     r#"{"password_min_length": 12, "max_passwords_per_user": 2}"#,
/// ).unwrap();
/// assert_eq!(policy.passwords.min_length, 12);
/// assert_eq!(policy.passwords.max_passwords, 2);
/// assert_eq!(authcore_core::PasswordRules::default().min_length, 8);
/// assert_eq!(authcore_core::PasswordRules::default().max_passwords, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct PasswordRules {
    /// Shortest new password, in characters; `0` = no minimum. Applies even with
    /// complexity off; default 8.
    #[serde(rename = "password_min_length")]
    #[schemars(range(max = crate::authenticator::MAX_PASSWORD_LEN))]
    pub min_length: u32,
    /// The most passwords one user may hold at once; adding one more is
    /// [`Error::TooManyPasswords`]. Each wrong sign-in costs one hash per stored password, so
    /// this bounds the work an account can cause. Default 3 (a rotation needs 2); `0` is
    /// read as 1.
    #[serde(rename = "max_passwords_per_user")]
    #[schemars(range(max = u32::MAX))]
    pub max_passwords: u32,
}

impl PasswordRules {
    /// The defaults: 8 characters, 3 passwords.
    pub const DEFAULT: Self = Self {
        min_length: 8,
        max_passwords: 3,
    };

    /// Checks the length of a new password.
    ///
    /// # Errors
    /// [`Error::PasswordNotComplex`] when it is shorter than [`PasswordRules::min_length`].
    pub fn check(&self, password: &str) -> Result<()> {
        let min = usize::try_from(self.min_length).unwrap_or(usize::MAX);
        if min > 0 && password.chars().take(min).count() < min {
            Err(Error::PasswordNotComplex(
                "is shorter than the minimum password length",
            ))
        } else {
            Ok(())
        }
    }

    /// The most passwords one user may hold (at least 1).
    #[must_use]
    pub fn max_passwords(&self) -> usize {
        usize::try_from(self.max_passwords.max(1)).unwrap_or(usize::MAX)
    }
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How long a session lasts: from the password sign-in that started it (the token's
/// `auth_time`), refreshes extend it up to `max_session_lifetime` seconds and no further.
///
/// Every token's `exp` is `min(iat + ttl, auth_time + max_session_lifetime)`, and
/// `refresh_jwt` is refused once `now - auth_time` exceeds the lifetime; a `ttl` above it is
/// not an error, the token is just shorter. `0` turns the bound off (sessions are refreshed
/// forever, as in Redis Enterprise 7.4).
///
/// ```
/// let policy: authcore_core::AuthPolicy =
///     serde_json::from_str(r#"{"max_session_lifetime": 3600}"#).unwrap();
/// assert_eq!(policy.session.max_session_lifetime_secs, 3600);
/// assert_eq!(authcore_core::SessionPolicy::default().max_session_lifetime_secs, 86_400);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct SessionPolicy {
    /// Longest session, in seconds from its password sign-in; `0` = unlimited. Default
    /// 86400 (a day).
    #[serde(rename = "max_session_lifetime")]
    #[schemars(range(max = u64::MAX))]
    pub max_session_lifetime_secs: u64,
}

impl SessionPolicy {
    /// The default: a day.
    pub const DEFAULT: Self = Self {
        max_session_lifetime_secs: 86_400,
    };

    /// The instant a session that started at `auth_time` ends, if it is bounded.
    #[must_use]
    pub fn session_end(&self, auth_time: i64) -> Option<i64> {
        match self.max_session_lifetime_secs {
            0 => None,
            secs => Some(auth_time.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))),
        }
    }
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Password expiration (Redis `password_expiration_duration`, in days; `0` turns it off).
///
/// Counted from the issue date of the password that matched, so turning the policy on can
/// expire old passwords at once (as in Redis).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(default)]
pub struct PasswordExpiry {
    /// Days a password stays valid; `0` = never expires.
    #[serde(rename = "password_expiration_duration")]
    #[schemars(range(max = u32::MAX))]
    pub days: u32,
}

impl PasswordExpiry {
    /// Passwords never expire.
    pub const OFF: Self = Self { days: 0 };

    /// Expire passwords `days` after they were set.
    #[must_use]
    pub const fn days(days: u32) -> Self {
        Self { days }
    }

    /// Whether a password issued at `issued_at` has expired at `now`.
    #[must_use]
    pub fn is_expired(&self, issued_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        self.days != 0 && now >= issued_at + Duration::days(i64::from(self.days))
    }
}

/// Login lockout (Redis `cluster_settings` names and defaults).
///
/// After `threshold` failed sign-ins, with less than `counter_reset_after` seconds between
/// consecutive failures, the account is locked for `duration_secs` (or until an admin resets
/// its password when `duration_secs` is `0`). While locked even the right password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct LockoutPolicy {
    /// Failed sign-ins that lock the account; `0` turns lockout off. Default 5.
    #[serde(rename = "login_lockout_threshold")]
    #[schemars(range(max = u32::MAX))]
    pub threshold: u32,
    /// Seconds the lock lasts; `0` = until an admin resets the password. Default 1800.
    #[serde(rename = "login_lockout_duration")]
    #[schemars(range(max = LockoutPolicy::MAX_DURATION_SECS))]
    pub duration_secs: u64,
    /// Seconds without a failure after which the counter starts again from zero. Default 900.
    #[serde(rename = "login_lockout_counter_reset_after")]
    #[schemars(range(max = LockoutPolicy::MAX_DURATION_SECS))]
    pub counter_reset_after_secs: u64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Upper bound for the lockout durations (a year), so time arithmetic never overflows.
const MAX_LOCKOUT_SECS: u64 = LockoutPolicy::MAX_DURATION_SECS;

impl LockoutPolicy {
    /// The longest lockout duration or counter reset accepted (a year): every store bounds
    /// its time arithmetic with it.
    pub const MAX_DURATION_SECS: u64 = 366 * 24 * 3600;

    /// Redis's defaults: 5 failures within 15 minutes lock the account for 30 minutes.
    pub const DEFAULT: Self = Self {
        threshold: 5,
        duration_secs: 1800,
        counter_reset_after_secs: 900,
    };

    /// Lockout turned off.
    pub const OFF: Self = Self {
        threshold: 0,
        ..Self::DEFAULT
    };

    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::Configuration`] when a duration is over a year.
    pub fn validate(&self) -> Result<()> {
        if self.duration_secs > MAX_LOCKOUT_SECS || self.counter_reset_after_secs > MAX_LOCKOUT_SECS
        {
            return Err(Error::Configuration(
                "lockout durations must not exceed one year".into(),
            ));
        }
        Ok(())
    }

    /// Whether lockout is on.
    #[must_use]
    pub const fn enabled(&self) -> bool {
        self.threshold > 0
    }

    /// The state after one more failure at `now`, given the state before it.
    ///
    /// This is the reference semantics every [`crate::LockoutStore`] implements (a SQL store
    /// in a single statement):
    /// - no previous state, an expired lock, or `counter_reset_after` seconds or more since the
    ///   last failure: the count starts again at 1;
    /// - otherwise the count goes up by one (also while locked);
    /// - reaching `threshold` while not locked locks the account.
    #[must_use]
    pub fn next_state(&self, prev: Option<&LockoutState>, now: OffsetDateTime) -> LockoutState {
        let reset_after = Duration::seconds(clamp_secs(self.counter_reset_after_secs));
        let carried = prev.filter(|p| {
            p.is_locked(now) || (p.locked_until.is_none() && now - p.last_failure_at < reset_after)
        });
        let (failures, locked_until) = match carried {
            Some(p) => (p.failures.saturating_add(1), p.locked_until),
            None => (1, None),
        };
        let locked_until = if locked_until.is_none() && self.enabled() && failures >= self.threshold
        {
            Some(self.lock_from(now))
        } else {
            locked_until
        };
        LockoutState {
            failures,
            last_failure_at: now,
            locked_until,
        }
    }

    /// The lock that starts at `now`.
    #[must_use]
    pub fn lock_from(&self, now: OffsetDateTime) -> LockedUntil {
        if self.duration_secs == 0 {
            LockedUntil::AdminReset
        } else {
            LockedUntil::Time(now + Duration::seconds(clamp_secs(self.duration_secs)))
        }
    }
}

fn clamp_secs(secs: u64) -> i64 {
    i64::try_from(secs.min(MAX_LOCKOUT_SECS)).unwrap_or(i64::MAX)
}

/// Until when an account is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockedUntil {
    /// Until this time (UTC).
    Time(OffsetDateTime),
    /// Until an administrator resets the password (`login_lockout_duration` = 0).
    AdminReset,
}

/// Failed sign-in bookkeeping for one user, as a [`crate::LockoutStore`] keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutState {
    /// Failures counted in the current window.
    pub failures: u32,
    /// Time of the latest failure.
    pub last_failure_at: OffsetDateTime,
    /// The lock, if one was set (it may have expired: see [`LockoutState::is_locked`]).
    pub locked_until: Option<LockedUntil>,
}

impl LockoutState {
    /// Whether the account is locked at `now`.
    #[must_use]
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        match self.locked_until {
            None => false,
            Some(LockedUntil::AdminReset) => true,
            Some(LockedUntil::Time(t)) => now < t,
        }
    }
}

/// Redis Enterprise's password complexity rules (`password_complexity`, off by default).
///
/// When on, a new password must:
/// - be at least 8 characters long;
/// - contain an uppercase letter, a lowercase letter, a digit and a special character (any
///   character that is neither a letter, a digit nor whitespace);
/// - not contain the user's e-mail address, nor the e-mail reversed (case-insensitively);
/// - not repeat one character more than three times in a row (`aaa` passes, `aaaa` fails;
///   Redis's wording, "more than three repeating characters", is read as consecutive).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(default)]
pub struct PasswordComplexity {
    /// Whether the rules are enforced.
    #[serde(rename = "password_complexity")]
    pub enabled: bool,
}

impl PasswordComplexity {
    /// Minimum length when the rules are on.
    pub const MIN_LEN: usize = 8;
    /// Longest allowed run of one repeated character.
    pub const MAX_REPEAT: usize = 3;

    /// Checks `password` for the user whose e-mail is `email`.
    ///
    /// # Errors
    /// [`Error::PasswordNotComplex`] naming the first rule broken.
    pub fn check(&self, password: &str, email: &str) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        let fail = |why| Err(Error::PasswordNotComplex(why));
        if password.chars().count() < Self::MIN_LEN {
            return fail("must be at least 8 characters long");
        }
        if !password.chars().any(char::is_uppercase) {
            return fail("must contain an uppercase letter");
        }
        if !password.chars().any(char::is_lowercase) {
            return fail("must contain a lowercase letter");
        }
        if !password.chars().any(|c| c.is_ascii_digit()) {
            return fail("must contain a digit");
        }
        if !password
            .chars()
            .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
        {
            return fail("must contain a special character");
        }
        let lower = password.to_lowercase();
        let email = email.to_lowercase();
        if !email.is_empty() {
            let reversed: String = email.chars().rev().collect();
            if lower.contains(&email) || lower.contains(&reversed) {
                return fail("must not contain the email address or its reverse");
            }
        }
        let mut run = 0;
        let mut prev = None;
        for c in password.chars() {
            run = if Some(c) == prev { run + 1 } else { 1 };
            if run > Self::MAX_REPEAT {
                return fail("must not repeat a character more than three times in a row");
            }
            prev = Some(c);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn secs(n: i64) -> Duration {
        Duration::seconds(n)
    }

    #[test]
    fn locks_at_threshold_within_window() {
        let p = LockoutPolicy::DEFAULT;
        let mut s = None;
        for i in 0..5 {
            let next = p.next_state(s.as_ref(), T0 + secs(i * 60));
            assert_eq!(
                next.is_locked(T0 + secs(i * 60)),
                i == 4,
                "failure {}",
                i + 1
            );
            s = Some(next);
        }
        let s = s.unwrap();
        assert_eq!(s.failures, 5);
        assert_eq!(
            s.locked_until,
            Some(LockedUntil::Time(T0 + secs(240 + 1800)))
        );
        assert!(s.is_locked(T0 + secs(240 + 1799)));
        assert!(!s.is_locked(T0 + secs(240 + 1800)));
    }

    #[test]
    fn counter_resets_after_quiet_period() {
        let p = LockoutPolicy::DEFAULT;
        let a = p.next_state(None, T0);
        let b = p.next_state(Some(&a), T0 + secs(899));
        assert_eq!(b.failures, 2);
        let c = p.next_state(Some(&b), T0 + secs(899 + 900));
        assert_eq!(c.failures, 1);
    }

    #[test]
    fn expired_lock_starts_a_new_count_and_zero_duration_waits_for_admin() {
        let p = LockoutPolicy {
            threshold: 1,
            ..LockoutPolicy::DEFAULT
        };
        let a = p.next_state(None, T0);
        assert!(a.is_locked(T0));
        let b = p.next_state(Some(&a), T0 + secs(10));
        assert_eq!(b.failures, 2, "failures while locked still count");
        let c = p.next_state(Some(&b), T0 + secs(5000));
        assert_eq!(c.failures, 1);
        assert!(c.is_locked(T0 + secs(5000)), "threshold 1 locks again");

        let forever = LockoutPolicy {
            threshold: 1,
            duration_secs: 0,
            ..LockoutPolicy::DEFAULT
        };
        let s = forever.next_state(None, T0);
        assert_eq!(s.locked_until, Some(LockedUntil::AdminReset));
        assert!(s.is_locked(T0 + secs(10 * 365 * 86400)));
    }

    #[test]
    fn threshold_zero_never_locks() {
        let mut s = None;
        for i in 0..100 {
            s = Some(LockoutPolicy::OFF.next_state(s.as_ref(), T0 + secs(i)));
        }
        assert!(s.is_some_and(|s| s.failures == 100 && !s.is_locked(T0 + secs(100))));
    }

    #[test]
    fn expiry_counts_days_from_issue() {
        let e = PasswordExpiry::days(90);
        assert!(!e.is_expired(T0, T0 + Duration::days(90) - secs(1)));
        assert!(e.is_expired(T0, T0 + Duration::days(90)));
        assert!(!PasswordExpiry::OFF.is_expired(T0, T0 + Duration::days(100_000)));
    }

    #[test]
    fn complexity_rules() {
        let c = PasswordComplexity { enabled: true };
        let email = "ann@example.org";
        assert!(c.check("Sh0rt!", email).is_err());
        assert!(c.check("alllower1!", email).is_err());
        assert!(c.check("ALLUPPER1!", email).is_err());
        assert!(c.check("NoDigits!!", email).is_err());
        assert!(c.check("NoSpecial12", email).is_err());
        assert!(c.check("Xann@example.org1", email).is_err());
        assert!(c.check("Xgro.elpmaxe@nna1", email).is_err());
        assert!(c.check("Paaaa5word!", email).is_err());
        assert!(c.check("Paaa5word!", email).is_ok());
        assert!(c.check("Correct-Horse-9", email).is_ok());
        assert!(PasswordComplexity::default().check("x", email).is_ok());
    }

    #[test]
    fn deserializes_redis_names() {
        let p: AuthPolicy = serde_json::from_str(
            r#"{"password_expiration_duration":30,"login_lockout_threshold":0,
                "login_lockout_duration":0,"login_lockout_counter_reset_after":60,
                "password_complexity":true}"#,
        )
        .unwrap();
        assert_eq!(p.expiry.days, 30);
        assert_eq!(p.lockout.threshold, 0);
        assert_eq!(p.lockout.duration_secs, 0);
        assert_eq!(p.lockout.counter_reset_after_secs, 60);
        assert!(p.complexity.enabled);
        assert_eq!(AuthPolicy::default().lockout, LockoutPolicy::DEFAULT);
    }
}
