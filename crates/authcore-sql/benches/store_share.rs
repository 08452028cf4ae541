//! The store's share of one sign-in, as `Authenticator::authorize` makes it: the user lookup
//! with the session epoch, the lockout reservation and its settlement, with 1,000 and 1,000,000 users, on SQLite (a
//! file, WAL, `synchronous=NORMAL`) and, when `AUTHCORE_TEST_POSTGRES_URL` is set, on
//! PostgreSQL (fresh databases on that server). Each case runs twice in the same run, on two
//! databases seeded alike (one per path, so that neither path's writes empty the page cache
//! of the other's connections), with the default pool (no ping before an operation):
//!
//! - `new`: the store as it is: `find_for_sign_in` (the user and its epoch in one statement),
//!   then `reserve` and `settle`, one upsert each;
//! - `floor` (SQLite only): no sign-in at all, but the round trips one costs: a one-row read
//!   by primary key and two one-row upserts that return a column, on a one-row table of a
//!   third database file, through sqlx on one connection with the store's settings. It is
//!   what any sign-in of three statements pays for sqlx's hand-offs to the connection's
//!   thread, the two write transactions and their commits, before the work of its own SQL:
//!   `new` over `floor` is the cost of the store's statements against that floor;
//! - `old`: the reservation and settlement of the store before issue #10 item 4 (commit
//!   7602502): a transaction of four statements each (upsert of a placeholder lockout row, a
//!   locking read of it, a read of the reservations in flight and the reservation's insert;
//!   the placeholder upsert, the locking read, the reservation's delete and the state's
//!   write), replayed here with that commit's SQL on a re-created
//!   `authcore_lockout_reservations` table. The decision's arithmetic is reduced to the
//!   failure count (no lock is ever reached here); the statements and round trips are those
//!   of that commit. The old path looks the user up with `find_by_username` and, for a
//!   right password, reads the epoch after the settlement, as that commit did.
//!
//! First an interleaved pass per case (`STORE_SHARE_ROUNDS` rounds, 400 by default, each one
//! sign-in on each path, the order rotating; medians and 90th percentiles printed, with
//! the ratio new/old of the medians: robust to a load that moves during the run), then
//! criterion per case (skipped with `STORE_SHARE_CRITERION=0`). `STORE_SHARE_ENGINES=postgres`
//! (or `sqlite`) measures one engine only. The cases:
//! - `ok`: a right password (new: lookup with epoch + `reserve` + `settle(Success)`; old:
//!   lookup + the old reservation and settlement + the epoch read);
//! - `fail`: a wrong password (the lookup + `reserve` + `settle(Failure)`).
//!
//! The interleaved pass also prints one machine-readable line per case on stdout:
//! `store_share {"engine":"sqlite","users":100000,"case":"ok","new_p50_ms":0.25,
//! "new_p90_ms":0.31,"old_p50_ms":0.41,"old_p90_ms":0.52,"ratio":0.61}` (one line; `ratio`
//! is new/old of the medians; on SQLite also `floor_p50_ms`, `floor_p90_ms` and
//! `new_over_floor`, new/floor of the medians).
//!
//! Users are picked pseudo-randomly among all of them. Password hashing is left out: it is the
//! hashing pool's cost, not the store's. `AUTHCORE_BENCH_SIZES=100000` chooses the sizes.
//!
//! ```sh
//! cargo bench -p authcore-sql --bench store_share
//! AUTHCORE_BENCH_SIZES=100000 STORE_SHARE_ROUNDS=200 STORE_SHARE_CRITERION=0 \
//!     cargo bench -p authcore-sql --bench store_share
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use authcore_core::{
    AttemptOutcome, LockoutPolicy, LockoutStore, Reservation, ReservationPolicy, SessionStore,
    UserId, UserStore,
};
use authcore_sql::SqlStore;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, Row};
use time::OffsetDateTime;
use tokio::runtime::Runtime;

const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                   aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

/// Rounds of the interleaved pass (`STORE_SHARE_ROUNDS`, default 400).
fn rounds() -> usize {
    std::env::var("STORE_SHARE_ROUNDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(400)
}

/// Whether the criterion part runs (`STORE_SHARE_CRITERION=0` skips it).
fn criterion_on() -> bool {
    std::env::var("STORE_SHARE_CRITERION").map_or(true, |v| v.trim() != "0")
}

/// Whether `engine` is measured (`STORE_SHARE_ENGINES`, comma-separated among `sqlite` and
/// `postgres`; default both, PostgreSQL only when `AUTHCORE_TEST_POSTGRES_URL` is set).
fn engine_on(engine: &str) -> bool {
    std::env::var("STORE_SHARE_ENGINES").map_or(true, |v| v.split(',').any(|e| e.trim() == engine))
}

fn sizes() -> Vec<u64> {
    std::env::var("AUTHCORE_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 1_000_000])
}

/// Bulk-inserts `n` users `user<i>@example.test` with one password each and a lockout row
/// without failures (a returning user's: both paths then update a row that exists, whichever
/// runs first), in one statement per table.
async fn seed(store_url: &str, n: u64) {
    let started = Instant::now();
    let sqlite = store_url.starts_with("sqlite");
    let users = if sqlite {
        format!(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) \
             INSERT INTO authcore_users \
             (email, email_key, name, role, status, created_at, updated_at) \
             SELECT 'user' || i || '@example.test', 'user' || i || '@example.test', \
             'User ' || i, 'db_viewer', 'active', \
             '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z' FROM seq"
        )
    } else {
        format!(
            "INSERT INTO authcore_users \
             (email, email_key, name, role, status, created_at, updated_at) \
             SELECT 'user' || i || '@example.test', 'user' || i || '@example.test', \
             'User ' || i, 'db_viewer', 'active', now(), now() \
             FROM generate_series(1, {n}) AS i"
        )
    };
    let (uid_text, no) = if sqlite {
        ("CAST(uid AS TEXT)", "0")
    } else {
        ("uid::text", "FALSE")
    };
    let statements = [
        users,
        format!(
            "INSERT INTO authcore_passwords (uid, phc, issued_at) \
             SELECT uid, '{PHC}', created_at FROM authcore_users"
        ),
        format!(
            "INSERT INTO authcore_lockout \
             (uid, failures, last_failure_at, locked_until, locked_by_admin) \
             SELECT {uid_text}, 0, created_at, NULL, {no} FROM authcore_users"
        ),
        (if sqlite { "ANALYZE" } else { "VACUUM ANALYZE" }).to_owned(),
    ];
    // Then the seed's writes go to the database files before anything is measured, so that a
    // checkpoint of the bulk load (with its flushes) cannot fall among the measured rounds.
    if sqlite {
        let mut conn = sqlx::SqliteConnection::connect(store_url).await.unwrap();
        for statement in statements {
            conn.execute(AssertSqlSafe(statement)).await.unwrap();
        }
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(store_url).await.unwrap();
        for statement in statements {
            conn.execute(AssertSqlSafe(statement)).await.unwrap();
        }
        // `scripts/servers/start-postgres.sh` grants `pg_checkpoint` (PostgreSQL 15 and later).
        if let Err(e) = conn.execute("CHECKPOINT").await {
            eprintln!("no CHECKPOINT after seeding ({e}): a checkpoint may run during the rounds");
        }
    }
    eprintln!("seeded {n} users in {:.1?}", started.elapsed());
}

/// A fresh PostgreSQL database on the server of `base`, for the `path` ("new" or "old").
async fn fresh_postgres(base: &str, n: u64, path: &str) -> String {
    let db = format!(
        "authcore_bench_{path}_{n}_{}_{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp()
    );
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .await
        .unwrap();
    let (main, _) = base.split_once('?').unwrap_or((base, ""));
    let (prefix, _) = main.rsplit_once('/').unwrap();
    format!("{prefix}/{db}")
}

/// The old path's raw pool on the same database.
enum OldPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct Target {
    engine: &'static str,
    n: u64,
    store: SqlStore,
    old: OldPool,
    floor: Option<Floor>,
    _dir: Option<TempDir>,
}

/// The `floor` path's connection (SQLite).
struct Floor(tokio::sync::Mutex<sqlx::SqliteConnection>);

const FLOOR_TABLE: &str = "CREATE TABLE bench_floor (k TEXT PRIMARY KEY, v INTEGER NOT NULL); \
    INSERT INTO bench_floor (k, v) VALUES ('k', 0)";
const FLOOR_READ: &str = "SELECT v FROM bench_floor WHERE k = ?1";
const FLOOR_UPSERT: &str = "INSERT INTO bench_floor (k, v) VALUES (?1, 0) \
    ON CONFLICT (k) DO UPDATE SET v = v + 1 RETURNING v";

impl Floor {
    /// Opens a connection to a one-row table in `path`, with `options` otherwise.
    async fn open(options: &sqlx::sqlite::SqliteConnectOptions, path: &std::path::Path) -> Self {
        let mut conn = options
            .clone()
            .filename(path)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        sqlx::raw_sql(FLOOR_TABLE).execute(&mut conn).await.unwrap();
        Self(tokio::sync::Mutex::new(conn))
    }

    /// The three round trips: one read, two upserts.
    async fn round(&self) {
        let mut conn = self.0.lock().await;
        let v: i64 = sqlx::query_scalar(FLOOR_READ)
            .bind("k")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        for _ in 0..2 {
            let after: i64 = sqlx::query_scalar(FLOOR_UPSERT)
                .bind("k")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert!(after > v);
        }
    }
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The reservations table of commit 7602502 (its migration `20261128000001`), re-created
/// for the old path.
const OLD_TABLE_SQLITE: &str = "CREATE TABLE authcore_lockout_reservations (\
    id TEXT PRIMARY KEY, uid TEXT NOT NULL, started_at TEXT NOT NULL); \
    CREATE INDEX authcore_lockout_reservations_uid ON authcore_lockout_reservations (uid)";
const OLD_TABLE_POSTGRES: &str = "CREATE TABLE authcore_lockout_reservations (\
    id TEXT PRIMARY KEY, uid TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL); \
    CREATE INDEX authcore_lockout_reservations_uid ON authcore_lockout_reservations (uid)";

async fn targets(n: u64) -> Vec<Target> {
    let mut out = Vec::new();
    if engine_on("sqlite") {
        let dir = std::env::temp_dir().join(format!("authcore-bench-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        seed(&url, n).await;
        // The old path's database: the same schema and data.
        let url = format!("sqlite://{}?mode=rwc", dir.join("old.db").display());
        SqlStore::connect(&url).await.unwrap().close().await;
        seed(&url, n).await;
        // The store's own settings (WAL, synchronous=NORMAL, secure_delete, busy timeout).
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .unwrap()
            .foreign_keys(true)
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(5))
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        let floor = Floor::open(&options, &dir.join("floor.db")).await;
        let old = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::raw_sql(OLD_TABLE_SQLITE).execute(&old).await.unwrap();
        out.push(Target {
            engine: "sqlite",
            n,
            store,
            old: OldPool::Sqlite(old),
            floor: Some(floor),
            _dir: Some(TempDir(dir)),
        });
    }
    if let Ok(base) = std::env::var("AUTHCORE_TEST_POSTGRES_URL")
        && engine_on("postgres")
    {
        let url = fresh_postgres(&base, n, "new").await;
        let store = SqlStore::connect(&url).await.unwrap();
        seed(&url, n).await;
        let url = fresh_postgres(&base, n, "old").await;
        SqlStore::connect(&url).await.unwrap().close().await;
        seed(&url, n).await;
        let old = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::raw_sql(OLD_TABLE_POSTGRES)
            .execute(&old)
            .await
            .unwrap();
        out.push(Target {
            engine: "postgres",
            n,
            store,
            old: OldPool::Postgres(old),
            floor: None,
            _dir: None,
        });
    }
    out
}

/// The statements of commit 7602502's reservation and settlement (`LockoutQueries`).
mod old_sql {
    pub mod sqlite {
        pub const INSERT_LOCK_ROW: &str = "INSERT INTO authcore_lockout \
            (uid, failures, last_failure_at, locked_until, locked_by_admin) \
            VALUES (?1, 0, ?2, NULL, FALSE) ON CONFLICT (uid) DO NOTHING";
        pub const LOCK_ROW: &str = "SELECT failures, last_failure_at, locked_until, \
            locked_by_admin FROM authcore_lockout WHERE uid = ?1";
        pub const IN_FLIGHT: &str =
            "SELECT started_at FROM authcore_lockout_reservations WHERE uid = ?1";
        pub const INSERT_RESERVATION: &str = "INSERT INTO authcore_lockout_reservations \
            (id, uid, started_at) VALUES (?1, ?2, ?3)";
        pub const DELETE_RESERVATION: &str =
            "DELETE FROM authcore_lockout_reservations WHERE id = ?1 AND uid = ?2";
        pub const WRITE_STATE: &str = "UPDATE authcore_lockout SET failures = ?1, \
            last_failure_at = ?2, locked_until = ?3, locked_by_admin = ?4 WHERE uid = ?5";
    }
    pub mod postgres {
        pub const INSERT_LOCK_ROW: &str = "INSERT INTO authcore_lockout \
            (uid, failures, last_failure_at, locked_until, locked_by_admin) \
            VALUES ($1, 0, $2, NULL, FALSE) ON CONFLICT (uid) DO NOTHING";
        pub const LOCK_ROW: &str = "SELECT failures, last_failure_at, locked_until, \
            locked_by_admin FROM authcore_lockout WHERE uid = $1 FOR UPDATE";
        pub const IN_FLIGHT: &str =
            "SELECT started_at FROM authcore_lockout_reservations WHERE uid = $1";
        pub const INSERT_RESERVATION: &str = "INSERT INTO authcore_lockout_reservations \
            (id, uid, started_at) VALUES ($1, $2, $3)";
        pub const DELETE_RESERVATION: &str =
            "DELETE FROM authcore_lockout_reservations WHERE id = $1 AND uid = $2";
        pub const WRITE_STATE: &str = "UPDATE authcore_lockout SET failures = $1, \
            last_failure_at = $2, locked_until = $3, locked_by_admin = $4 WHERE uid = $5";
    }
}

/// SQLite's timestamp text (`2026-01-31T23:59:59.123456Z`).
fn sqlite_ts(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.format(f).unwrap()
}

/// What the old reservation and settlement open with: the transaction `$begin`, the
/// placeholder upsert of the lockout row (at `$at`) and its locking read. Evaluates to the
/// transaction and the failures on record.
macro_rules! begin_locked {
    ($begin:expr, $q:ident, $uid:expr, $at:expr) => {{
        let mut tx = $begin.await.unwrap();
        sqlx::query($q::INSERT_LOCK_ROW)
            .bind($uid)
            .bind($at)
            .execute(&mut *tx)
            .await
            .unwrap();
        let row = sqlx::query($q::LOCK_ROW)
            .bind($uid)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let failures: i64 = row.get(0);
        (tx, failures)
    }};
}

/// The old reservation: `(BEGIN IMMEDIATE |BEGIN)`, placeholder upsert, locking read,
/// reservations read, insert, `COMMIT`.
macro_rules! old_reserve {
    ($pool:expr, $begin:expr, $q:ident, $r:expr, $ts:expr, $threshold:expr) => {{
        let (mut tx, failures) = begin_locked!($begin, $q, $r.uid.as_str(), $ts($r.started_at));
        let in_flight = sqlx::query($q::IN_FLIGHT)
            .bind($r.uid.as_str())
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        let granted = failures + i64::try_from(in_flight.len()).unwrap() < $threshold;
        if granted {
            sqlx::query($q::INSERT_RESERVATION)
                .bind($r.id.as_str())
                .bind($r.uid.as_str())
                .bind($ts($r.started_at))
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        assert!(granted);
    }};
}

/// The old settlement: placeholder upsert, locking read, delete, the state's write when it
/// changes (a failure; a success clearing failures), `COMMIT`.
macro_rules! old_settle {
    ($pool:expr, $begin:expr, $q:ident, $r:expr, $failed:expr, $now:expr, $ts:expr) => {{
        let (mut tx, failures) = begin_locked!($begin, $q, $r.uid.as_str(), $ts($now));
        sqlx::query($q::DELETE_RESERVATION)
            .bind($r.id.as_str())
            .bind($r.uid.as_str())
            .execute(&mut *tx)
            .await
            .unwrap();
        let after = if $failed { failures + 1 } else { 0 };
        if after != failures {
            sqlx::query($q::WRITE_STATE)
                .bind(after)
                .bind($ts($now))
                .bind(None::<String>.map(|_: String| $ts($now)))
                .bind(false)
                .bind($r.uid.as_str())
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }};
}

/// One sign-in's reservation and settlement, the old way.
async fn old_round(t: &Target, r: &Reservation, failed: bool, threshold: i64) {
    let now = OffsetDateTime::now_utc();
    match &t.old {
        OldPool::Sqlite(pool) => {
            use old_sql::sqlite as q;
            old_reserve!(
                pool,
                pool.begin_with("BEGIN IMMEDIATE"),
                q,
                r,
                sqlite_ts,
                threshold
            );
            old_settle!(
                pool,
                pool.begin_with("BEGIN IMMEDIATE"),
                q,
                r,
                failed,
                now,
                sqlite_ts
            );
        }
        OldPool::Postgres(pool) => {
            use old_sql::postgres as q;
            let ts = |t: OffsetDateTime| t;
            old_reserve!(pool, pool.begin(), q, r, ts, threshold);
            old_settle!(pool, pool.begin(), q, r, failed, now, ts);
        }
    }
}

/// One sign-in's reservation and settlement, as the store makes them now.
async fn new_round(
    t: &Target,
    r: &Reservation,
    failed: bool,
    policy: &LockoutPolicy,
    reservations: &ReservationPolicy,
) {
    let granted = t.store.reserve(r, policy, reservations).await.unwrap();
    assert_eq!(granted, authcore_core::Reserve::Granted);
    let outcome = if failed {
        AttemptOutcome::Failure
    } else {
        AttemptOutcome::Success
    };
    t.store
        .settle(r, outcome, OffsetDateTime::now_utc(), policy)
        .await
        .unwrap();
}

/// A cheap pseudo-random user index in `1..=n`.
struct Pick(u64);

impl Pick {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n + 1
    }
}

/// One sign-in's store work on `path` ("old", "new" or "floor") for user number `i`.
async fn sign_in(
    t: &Target,
    i: u64,
    path: &str,
    failed: bool,
    policy: &LockoutPolicy,
    reservations: &ReservationPolicy,
) {
    let username = format!("user{i}@example.test");
    let store = &t.store;
    if path == "floor" {
        if let Some(floor) = &t.floor {
            floor.round().await;
        }
    } else if path == "old" {
        let user = store.find_by_username(&username).await.unwrap().unwrap();
        let r = Reservation::new(user.uid.clone(), OffsetDateTime::now_utc());
        old_round(t, &r, failed, i64::from(policy.threshold)).await;
        if !failed {
            store.epoch(&user.uid).await.unwrap();
        }
    } else {
        let record = store
            .find_for_sign_in(&username, store)
            .await
            .unwrap()
            .unwrap();
        let uid: UserId = record.user.uid;
        let r = Reservation::new(uid, OffsetDateTime::now_utc());
        new_round(t, &r, failed, policy, reservations).await;
    }
}

/// The interleaved pass: [`rounds`] rounds, each one sign-in on each path (the order
/// rotating), so that a machine whose load moves slows every path alike; prints the median
/// and 90th percentile per path and the ratios of the medians.
fn interleaved(rt: &Runtime, targets: &[Target], policy: &LockoutPolicy, rp: &ReservationPolicy) {
    let rounds = rounds();
    for t in targets {
        let paths: &[&str] = if t.floor.is_some() {
            &["old", "new", "floor"]
        } else {
            &["old", "new"]
        };
        for (case, failed) in [("ok", false), ("fail", true)] {
            let mut times: Vec<Vec<Duration>> = vec![Vec::new(); paths.len()];
            let mut pick = Pick(0x5851_f42d_4c95_7f2d);
            rt.block_on(async {
                for round in 0..rounds {
                    for k in 0..paths.len() {
                        let i = (round + k) % paths.len();
                        let started = Instant::now();
                        sign_in(t, pick.next(t.n), paths[i], failed, policy, rp).await;
                        times[i].push(started.elapsed());
                    }
                }
            });
            let stats = |v: &mut Vec<Duration>| {
                v.sort();
                (v[v.len() / 2], v[v.len() * 9 / 10])
            };
            let (old_p50, old_p90) = stats(&mut times[0]);
            let (new_p50, new_p90) = stats(&mut times[1]);
            let ratio = new_p50.as_secs_f64() / old_p50.as_secs_f64();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let (mut floor_text, mut floor_json) = (String::new(), String::new());
            if let Some(floor) = times.get_mut(2) {
                let (floor_p50, floor_p90) = stats(floor);
                let over = new_p50.as_secs_f64() / floor_p50.as_secs_f64();
                floor_text = format!(
                    " | floor p50 {floor_p50:.2?} p90 {floor_p90:.2?} | new/floor p50 {over:.2}"
                );
                floor_json = format!(
                    ",\"floor_p50_ms\":{:.4},\"floor_p90_ms\":{:.4},\"new_over_floor\":{over:.4}",
                    ms(floor_p50),
                    ms(floor_p90),
                );
            }
            eprintln!(
                "interleaved {case}/{}/{}: old p50 {old_p50:.2?} p90 {old_p90:.2?} | new p50 \
                 {new_p50:.2?} p90 {new_p90:.2?} | new/old p50 {ratio:.2}{floor_text}",
                t.engine, t.n,
            );
            println!(
                "store_share {{\"engine\":\"{}\",\"users\":{},\"case\":\"{case}\",\
                 \"rounds\":{rounds},\"new_p50_ms\":{:.4},\"new_p90_ms\":{:.4},\
                 \"old_p50_ms\":{:.4},\"old_p90_ms\":{:.4},\"ratio\":{ratio:.4}{floor_json}}}",
                t.engine,
                t.n,
                ms(new_p50),
                ms(new_p90),
                ms(old_p50),
                ms(old_p90),
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    // Lockout never reached: every reservation is granted (1M picks over n users).
    let threshold = 1_000_000;
    let policy = LockoutPolicy {
        threshold,
        ..LockoutPolicy::DEFAULT
    };
    let reservations = ReservationPolicy::default();
    let mut group = c.benchmark_group("store_share");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for n in sizes() {
        let targets = rt.block_on(targets(n));
        interleaved(&rt, &targets, &policy, &reservations);
        if !criterion_on() {
            continue;
        }
        for t in &targets {
            for (case, failed) in [("ok", false), ("fail", true)] {
                for path in ["old", "new"] {
                    let label = format!("{}/{}/{path}", t.engine, t.n);
                    let mut pick = Pick(if failed {
                        0x2545_f491_4f6c_dd1d
                    } else {
                        0x9e37_79b9_7f4a_7c15
                    });
                    let (policy, reservations) = (&policy, &reservations);
                    group.bench_function(BenchmarkId::new(case, &label), |b| {
                        b.to_async(&rt).iter(|| {
                            sign_in(t, pick.next(t.n), path, failed, policy, reservations)
                        });
                    });
                }
            }
        }
        drop(targets);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
