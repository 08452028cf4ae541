//! The migration that moved the attempts in flight into the lockout row. (The reservation
//! upserts against the reference semantics of `authcore_core::lockout`: the conformance
//! suite's `reservations_follow_the_reference`, run on every engine by `run_lockout_suite`.)

use authcore_core::{
    AttemptOutcome, LockoutPolicy, LockoutStore as _, Reservation, ReservationPolicy, Reserve,
    UserId,
};
use authcore_sql::{Engine, SqlConfig, SqlStore};
use time::OffsetDateTime;

use super::{at, migrate_before, unique_db_name};

/// The migration that moved the reservations into `authcore_lockout.in_flight`.
pub const RESERVATIONS_MIGRATION: i64 = 20_261_129_000_005;

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
