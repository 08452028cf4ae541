//! The reservation upserts against the reference semantics of `authcore_core::lockout`, and
//! the migration that moved the attempts in flight into the lockout row.

use authcore_core::{
    AttemptOutcome, LockoutPolicy, LockoutState, LockoutStore as _, Reservation, ReservationPolicy,
    Reserve, UserId,
};
use authcore_sql::{Engine, SqlConfig, SqlStore};
use time::OffsetDateTime;

use super::{at, migrate_before, unique_db_name};

/// The migration that moved the reservations into `authcore_lockout.in_flight`.
pub const RESERVATIONS_MIGRATION: i64 = 20_261_129_000_005;

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
pub async fn reservations_follow_the_reference(store: &SqlStore) {
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
        let uid = UserId::new(format!("reference-{seed}-{}", unique_db_name()));
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
            let now = at(0) + time::Duration::microseconds(micros);
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
    eprintln!(
        "reservations_follow_the_reference: granted, busy, locked, stale, settled twice: {seen:?}"
    );
    // The walk went through every case (granted, busy, locked, stale, settled twice).
    assert!(seen.iter().all(|&n| n >= 10), "{seen:?}");
}

/// `t` as a literal of `engine`'s timestamp column.
fn literal(engine: Engine, t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    let text = t.format(f).unwrap();
    match engine {
        Engine::MySql => format!("'{}'", text.replace('T', " ").trim_end_matches('Z')),
        _ => format!("'{text}'"),
    }
}

/// A database of the schema before the reservations moved, holding attempts in flight: a key
/// with one failure, a live and a stale attempt; a key with a live attempt but no lockout row
/// (its row was deleted). After the migration the live attempts still hold their places and
/// settle by their ids, the stale one counts as one failure at the next reservation and not
/// again when settled, and the reservations table is gone.
pub async fn reservations_migration_keeps_attempts_in_flight(url: &str) {
    let engine = Engine::from_url(url).unwrap();
    migrate_before(url, RESERVATIONS_MIGRATION).await;
    let old = SqlStore::connect_with(SqlConfig::new(url).run_migrations(false))
        .await
        .unwrap();
    let (a, b) = (
        UserId::new(format!("migrated-a-{}", unique_db_name())),
        UserId::new(format!("migrated-b-{}", unique_db_name())),
    );
    let live_at = at(95) + time::Duration::microseconds(123_456);
    let lit = |t| literal(engine, t);
    let sql = [
        format!(
            "INSERT INTO authcore_lockout (uid, failures, last_failure_at, locked_until, \
             locked_by_admin) VALUES ('{a}', 1, {}, NULL, FALSE)",
            lit(at(90))
        ),
        format!(
            "INSERT INTO authcore_lockout_reservations (id, uid, started_at) VALUES \
             ('a-live', '{a}', {}), ('a-stale', '{a}', {}), ('b-live', '{b}', {})",
            lit(live_at),
            lit(at(10)),
            lit(live_at)
        ),
    ];
    for s in &sql {
        super::execute(url, s).await;
    }
    old.close().await;

    let store = SqlStore::connect(url).await.unwrap();
    let policy = LockoutPolicy {
        threshold: 3,
        duration_secs: 600,
        counter_reset_after_secs: 300,
    };
    let rp = ReservationPolicy {
        stale_after: std::time::Duration::from_secs(60),
    };
    let held = |uid: &UserId, id: &str| Reservation {
        uid: uid.clone(),
        id: id.to_owned(),
        started_at: live_at,
    };
    assert_eq!(store.state(&a).await.unwrap().unwrap().failures, 1);
    assert_eq!(store.state(&b).await.unwrap(), None);
    // a: the stale attempt becomes the second failure; with the live one in flight the budget
    // of 3 is spent.
    let answer = store
        .reserve(&Reservation::new(a.clone(), at(100)), &policy, &rp)
        .await
        .unwrap();
    assert_eq!(answer, Reserve::Busy);
    assert_eq!(store.state(&a).await.unwrap().unwrap().failures, 2);
    let s = store
        .settle(
            &held(&a, "a-live"),
            AttemptOutcome::Failure,
            at(101),
            &policy,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.failures, 3, "the live attempt settles by its id");
    assert!(s.is_locked(at(101)));
    let s = store
        .settle(
            &held(&a, "a-stale"),
            AttemptOutcome::Failure,
            at(102),
            &policy,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.failures, 3, "the stale attempt was counted once");
    // b: one place of three is held by the migrated attempt.
    for expected in [Reserve::Granted, Reserve::Granted, Reserve::Busy] {
        let answer = store
            .reserve(&Reservation::new(b.clone(), at(100)), &policy, &rp)
            .await
            .unwrap();
        assert_eq!(answer, expected);
    }
    let s = store
        .settle(
            &held(&b, "b-live"),
            AttemptOutcome::Failure,
            at(101),
            &policy,
        )
        .await
        .unwrap();
    assert_eq!(s.map(|s| s.failures), Some(1), "b's attempt was in flight");
    store.close().await;
    let gone = super::try_execute(url, "SELECT COUNT(*) FROM authcore_lockout_reservations").await;
    assert!(gone.is_err(), "the reservations table is dropped");
}
