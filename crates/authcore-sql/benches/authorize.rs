//! The store's share of one sign-in, as `Authenticator::authorize` makes it: the user lookup,
//! the lockout reservation and its settlement, with 1,000 and 1,000,000 users, on SQLite (a
//! file) and, when `AUTHCORE_TEST_POSTGRES_URL` is set, on PostgreSQL (a fresh database on
//! that server). Each case runs twice in the same run: with the pool's ping before every
//! operation (`SqlConfig::test_before_acquire(true)`, the setting before issue #10 item 4)
//! and without it (the default now), suffixes `ping` and `noping`.
//!
//! - `ok`: `find_by_username` + `reserve` + `settle(Success)` + the session epoch (a right
//!   password);
//! - `fail`: `find_by_username` + `reserve` + `settle(Failure)` (a wrong password).
//!
//! Users are picked pseudo-randomly among all of them. Password hashing is left out: it is the
//! hashing pool's cost, not the store's. `AUTHCORE_BENCH_SIZES=1000` limits the sizes.
//!
//! ```sh
//! cargo bench -p authcore-sql
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use authcore_core::{
    AttemptOutcome, LockoutPolicy, LockoutStore, Reservation, ReservationPolicy, SessionStore,
    UserStore,
};
use authcore_sql::{SqlConfig, SqlStore};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sqlx::{AssertSqlSafe, Connection, Executor};
use time::OffsetDateTime;
use tokio::runtime::Runtime;

const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                   aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

fn sizes() -> Vec<u64> {
    std::env::var("AUTHCORE_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 1_000_000])
}

/// Bulk-inserts `n` users `user<i>@example.test` with one password each, in one statement
/// per table.
async fn seed(store_url: &str, n: u64) {
    let started = Instant::now();
    if store_url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(store_url).await.unwrap();
        let users = format!(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) \
             INSERT INTO authcore_users \
             (email, email_key, name, role, status, created_at, updated_at) \
             SELECT 'user' || i || '@example.test', 'user' || i || '@example.test', \
             'User ' || i, 'db_viewer', 'active', \
             '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z' FROM seq"
        );
        conn.execute(AssertSqlSafe(users)).await.unwrap();
        conn.execute(AssertSqlSafe(format!(
            "INSERT INTO authcore_passwords (uid, phc, issued_at) \
             SELECT uid, '{PHC}', created_at FROM authcore_users"
        )))
        .await
        .unwrap();
        conn.execute("ANALYZE").await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(store_url).await.unwrap();
        conn.execute(AssertSqlSafe(format!(
            "INSERT INTO authcore_users \
             (email, email_key, name, role, status, created_at, updated_at) \
             SELECT 'user' || i || '@example.test', 'user' || i || '@example.test', \
             'User ' || i, 'db_viewer', 'active', now(), now() \
             FROM generate_series(1, {n}) AS i"
        )))
        .await
        .unwrap();
        conn.execute(AssertSqlSafe(format!(
            "INSERT INTO authcore_passwords (uid, phc, issued_at) \
             SELECT uid, '{PHC}', created_at FROM authcore_users"
        )))
        .await
        .unwrap();
        conn.execute("VACUUM ANALYZE").await.unwrap();
    }
    eprintln!("seeded {n} users in {:.1?}", started.elapsed());
}

/// A fresh PostgreSQL database on the server of `base`.
async fn fresh_postgres(base: &str, n: u64) -> String {
    let db = format!(
        "authcore_bench_{n}_{}_{}",
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

struct Target {
    engine: &'static str,
    n: u64,
    /// With the ping before each operation, and without.
    stores: [(&'static str, SqlStore); 2],
    _dir: Option<TempDir>,
}

async fn both(url: &str) -> [(&'static str, SqlStore); 2] {
    let connect =
        |ping: bool| SqlStore::connect_with(SqlConfig::new(url).test_before_acquire(ping));
    [
        ("ping", connect(true).await.unwrap()),
        ("noping", connect(false).await.unwrap()),
    ]
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn targets(n: u64) -> Vec<Target> {
    let mut out = Vec::new();
    let dir = std::env::temp_dir().join(format!("authcore-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    SqlStore::connect(&url).await.unwrap();
    seed(&url, n).await;
    out.push(Target {
        engine: "sqlite",
        n,
        stores: both(&url).await,
        _dir: Some(TempDir(dir)),
    });
    if let Ok(base) = std::env::var("AUTHCORE_TEST_POSTGRES_URL") {
        let url = fresh_postgres(&base, n).await;
        SqlStore::connect(&url).await.unwrap();
        seed(&url, n).await;
        out.push(Target {
            engine: "postgres",
            n,
            stores: both(&url).await,
            _dir: None,
        });
    }
    out
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

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    // Lockout never reached: every reservation is granted (1M picks over n users).
    let policy = LockoutPolicy {
        threshold: 1_000_000,
        ..LockoutPolicy::DEFAULT
    };
    let reservations = ReservationPolicy::default();
    let mut group = c.benchmark_group("authorize_store_path");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for n in sizes() {
        let targets = rt.block_on(targets(n));
        for t in &targets {
            for (ping, store) in &t.stores {
                let label = format!("{}/{}/{ping}", t.engine, t.n);
                let mut pick = Pick(0x9e37_79b9_7f4a_7c15);
                group.bench_function(BenchmarkId::new("ok", &label), |b| {
                    b.to_async(&rt).iter(|| {
                        let username = format!("user{}@example.test", pick.next(t.n));
                        async move {
                            let user = store.find_by_username(&username).await.unwrap().unwrap();
                            let r = Reservation::new(user.uid.clone(), OffsetDateTime::now_utc());
                            store.reserve(&r, &policy, &reservations).await.unwrap();
                            store
                                .settle(
                                    &r,
                                    AttemptOutcome::Success,
                                    OffsetDateTime::now_utc(),
                                    &policy,
                                )
                                .await
                                .unwrap();
                            store.epoch(&user.uid).await.unwrap();
                        }
                    });
                });
                let mut pick = Pick(0x2545_f491_4f6c_dd1d);
                group.bench_function(BenchmarkId::new("fail", &label), |b| {
                    b.to_async(&rt).iter(|| {
                        let username = format!("user{}@example.test", pick.next(t.n));
                        async move {
                            let user = store.find_by_username(&username).await.unwrap().unwrap();
                            let r = Reservation::new(user.uid.clone(), OffsetDateTime::now_utc());
                            store.reserve(&r, &policy, &reservations).await.unwrap();
                            store
                                .settle(
                                    &r,
                                    AttemptOutcome::Failure,
                                    OffsetDateTime::now_utc(),
                                    &policy,
                                )
                                .await
                                .unwrap();
                        }
                    });
                });
            }
        }
        drop(targets);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
