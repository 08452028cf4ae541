//! Property tests: hostile input never panics, and the lockout semantics hold for any sequence
//! of failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use authcore_core::secrecy::SecretSlice;
use authcore_core::{
    Error, Key, KeyRing, LockoutPolicy, LockoutState, PasswordComplexity, TokenConfig, TokenIssuer,
    Ttl,
};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

fn issuer() -> TokenIssuer {
    let key = Key::hs256("k", &SecretSlice::from(vec![9u8; 32])).unwrap();
    TokenIssuer::new(KeyRing::new(key).unwrap(), TokenConfig::default()).unwrap()
}

proptest! {
    #[test]
    fn verify_rejects_arbitrary_text_without_panicking(s in ".{0,300}") {
        prop_assert!(matches!(issuer().verify(&s, OffsetDateTime::UNIX_EPOCH), Err(Error::InvalidToken)));
    }

    #[test]
    fn verify_rejects_arbitrary_three_part_tokens(
        a in "[A-Za-z0-9_-]{0,60}", b in "[A-Za-z0-9_-]{0,120}", c in "[A-Za-z0-9_-]{0,60}"
    ) {
        let token = format!("{a}.{b}.{c}");
        prop_assert!(matches!(issuer().verify(&token, OffsetDateTime::UNIX_EPOCH), Err(Error::InvalidToken)));
    }

    #[test]
    fn ttl_accepts_exactly_one_second_to_one_day(secs in any::<i64>()) {
        prop_assert_eq!(Ttl::new(secs).is_ok(), (1..=86_400).contains(&secs));
    }

    #[test]
    fn complexity_check_never_panics(pw in any::<String>(), email in any::<String>()) {
        let _ = PasswordComplexity { enabled: true }.check(&pw, &email);
    }

    /// For any policy and any increasing failure times: the account is locked right after a
    /// failure exactly when the failures counted since the last quiet period or expired lock
    /// reach the threshold, and a lock lasts `duration` seconds (or forever for 0).
    #[test]
    fn lockout_matches_a_simple_model(
        threshold in 0u32..6,
        duration in 0u64..500,
        reset in 1u64..300,
        gaps in proptest::collection::vec(0i64..400, 1..40),
    ) {
        let policy = LockoutPolicy { threshold, duration_secs: duration, counter_reset_after_secs: reset };
        let mut state: Option<LockoutState> = None;
        let mut now = OffsetDateTime::UNIX_EPOCH;
        // The model: a count, the last failure, and the lock end (None = unlocked,
        // Some(None) = until an admin reset).
        let mut count = 0u32;
        let mut last: Option<OffsetDateTime> = None;
        let mut lock: Option<Option<OffsetDateTime>> = None;
        for gap in gaps {
            now += Duration::seconds(gap);
            let locked_now = match lock { Some(None) => true, Some(Some(end)) => now < end, None => false };
            let quiet = last.is_none_or(|l| now - l >= Duration::seconds(reset as i64));
            if locked_now {
                count += 1;
            } else if lock.is_some() || quiet {
                count = 1;
                lock = None;
            } else {
                count += 1;
            }
            if lock.is_none() && threshold > 0 && count >= threshold {
                lock = Some((duration > 0).then(|| now + Duration::seconds(duration as i64)));
            }
            last = Some(now);

            let next = policy.next_state(state.as_ref(), now);
            prop_assert_eq!(next.failures, count);
            let model_locked = match lock { Some(None) => true, Some(Some(end)) => now < end, None => false };
            prop_assert_eq!(next.is_locked(now), model_locked);
            state = Some(next);
        }
    }
}
