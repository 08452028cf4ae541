//! The lockout random walk: pseudo-random sequences of reservations, settlements, direct
//! failures and clears, each answer and state compared with the reference semantics of
//! `authcore_core::lockout` (`expire_stale`, `decide`, `settled`, `next_state`). Run by
//! [`crate::conformance::run_lockout_suite`], so every lockout store runs it.
//!
//! Times step in microseconds: a lockout store keeps at least microsecond precision.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use authcore_core::{
    AttemptOutcome, LockoutPolicy, LockoutState, LockoutStore, Reservation, ReservationPolicy,
    Reserve, UserId,
};
use time::OffsetDateTime;

use super::t;

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The reference: `expire_stale`, `decide`, `settled` and `next_state` of authcore-core on a
/// state and a list of attempts in flight.
#[derive(Default)]
struct Model {
    state: Option<LockoutState>,
    in_flight: Vec<(String, OffsetDateTime)>,
    /// How often each case came up over the walk: answers granted, busy, locked; stale
    /// attempts counted; settlements of an attempt no longer in flight.
    seen: [u32; 5],
}

impl Model {
    fn reserve(
        &mut self,
        r: &Reservation,
        policy: &LockoutPolicy,
        rp: &ReservationPolicy,
    ) -> Reserve {
        let now = r.started_at;
        let stale_before = rp.stale_before(now);
        let (state, stale) = policy.expire_stale(
            self.state,
            self.in_flight.iter().map(|(_, t)| *t),
            stale_before,
            now,
        );
        self.state = state;
        self.in_flight.retain(|(_, t)| *t >= stale_before);
        let answer = policy.decide(self.state.as_ref(), self.in_flight.len(), now);
        self.seen[3] += u32::try_from(stale).unwrap();
        self.seen[match answer {
            Reserve::Granted => 0,
            Reserve::Busy => 1,
            Reserve::Locked => 2,
        }] += 1;
        if answer == Reserve::Granted {
            self.in_flight.push((r.id.clone(), now));
        }
        answer
    }

    fn settle(
        &mut self,
        r: &Reservation,
        outcome: AttemptOutcome,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Option<LockoutState> {
        let before = self.in_flight.len();
        self.in_flight.retain(|(id, _)| *id != r.id);
        let was = self.in_flight.len() < before;
        self.seen[4] += u32::from(!was);
        self.state = policy.settled(self.state.as_ref(), outcome, was, now);
        self.state
    }
}

/// Pseudo-random walks of reservations, settlements (of attempts in flight, already settled
/// or already counted as stale), direct failures and clears, over policies with lockout off,
/// thresholds 1 to 5, admin and timed locks, counter resets of 0, 20 and 200 s and stale
/// times of 5 and 30 s, with times in microseconds: after every step the store's answer and
/// state are the reference's exactly.
pub async fn reservations_follow_the_reference(store: &dyn LockoutStore) {
    let mut seen = [0; 5];
    for seed in 1..=12_u64 {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let policy = LockoutPolicy {
            threshold: [0, 1, 2, 3, 5][usize::try_from(rng.below(5)).unwrap()],
            duration_secs: [0, 45][usize::try_from(rng.below(2)).unwrap()],
            counter_reset_after_secs: [0, 20, 200][usize::try_from(rng.below(3)).unwrap()],
        };
        let rp = ReservationPolicy {
            stale_after: std::time::Duration::from_secs(
                [5, 30][usize::try_from(rng.below(2)).unwrap()],
            ),
        };
        let uid = UserId::new(format!("walk-{seed}-{}", uuid::Uuid::new_v4().simple()));
        let mut model = Model::default();
        let mut granted: Vec<Reservation> = Vec::new();
        let mut micros: i64 = i64::try_from(rng.below(1_000_000)).unwrap();
        for step in 0..120 {
            micros += match rng.below(10) {
                0..=2 => 0,
                3..=7 => i64::try_from(rng.below(4_000_000)).unwrap(),
                8 => i64::try_from(rng.below(40_000_000)).unwrap(),
                _ => i64::try_from(rng.below(300_000_000)).unwrap(),
            };
            let now = t(0) + time::Duration::microseconds(micros);
            let what = format!("seed {seed} step {step} {policy:?} {rp:?}");
            match rng.below(20) {
                0..=7 => {
                    let r = Reservation::new(uid.clone(), now);
                    let answer = store.reserve(&r, &policy, &rp).await.unwrap();
                    assert_eq!(answer, model.reserve(&r, &policy, &rp), "reserve: {what}");
                    if answer == Reserve::Granted {
                        granted.push(r);
                    }
                }
                8..=15 if !granted.is_empty() => {
                    let i = usize::try_from(rng.below(granted.len() as u64)).unwrap();
                    let outcome = match rng.below(10) {
                        0..=4 => AttemptOutcome::Failure,
                        5..=7 => AttemptOutcome::Success,
                        _ => AttemptOutcome::Released,
                    };
                    let r = granted[i].clone();
                    let state = store.settle(&r, outcome, now, &policy).await.unwrap();
                    assert_eq!(
                        state,
                        model.settle(&r, outcome, now, &policy),
                        "settle {outcome:?}: {what}"
                    );
                }
                16 | 17 => {
                    let state = store.record_failure(&uid, now, &policy).await.unwrap();
                    model.state = Some(policy.next_state(model.state.as_ref(), now));
                    assert_eq!(Some(state), model.state, "record_failure: {what}");
                }
                _ => {
                    store.clear(&uid).await.unwrap();
                    model.state = None;
                }
            }
            assert_eq!(
                store.state(&uid).await.unwrap(),
                model.state,
                "state: {what}"
            );
        }
        for (total, n) in seen.iter_mut().zip(model.seen) {
            *total += n;
        }
    }
    // The walk went through every case (granted, busy, locked, stale, settled twice).
    assert!(seen.iter().all(|&n| n >= 10), "{seen:?}");
}
