//! Helpers shared by the test binaries: fresh databases, the server control scripts, and the
//! store-specific cases every engine runs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use authcore_core::{
    Error, LockoutPolicy, LockoutStore, NewUser, PasswordHash, Role, StoredPassword, UserAdmin,
    UserId, UserStatus, UserStore,
};
use authcore_sql::{SqlConfig, SqlStore};
use sqlx::{AssertSqlSafe, Connection, Executor};
use time::OffsetDateTime;

pub mod names;
pub mod reservations;

pub const POSTGRES_URL: &str = "AUTHCORE_TEST_POSTGRES_URL";
pub const PG_CTL: &str = "AUTHCORE_TEST_PG_CTL";
pub const MYSQL_URL: &str = "AUTHCORE_TEST_MYSQL_URL";
pub const MYSQL_CTL: &str = "AUTHCORE_TEST_MYSQL_CTL";

/// The variable's value; a missing variable fails the test (it was asked to run).
pub fn env(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{var} is not set: this test needs a real server. Run scripts/test, or start one \
             with scripts/servers/start-*.sh and export the variables it prints."
        ),
    }
}

/// A database name no other run uses.
pub fn unique_db_name() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000_000;
    format!(
        "authcore_t{}_{}_{}",
        std::process::id(),
        nanos,
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// `base` with its database replaced by `db`.
pub fn with_database(base: &str, db: &str) -> String {
    let (main, query) = match base.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (base, None),
    };
    let (scheme, rest) = main.split_once("://").expect("URL with ://");
    let authority = rest.split('/').next().unwrap_or(rest);
    let mut url = format!("{scheme}://{authority}/{db}");
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// Creates a fresh PostgreSQL database through `$AUTHCORE_TEST_POSTGRES_URL` and returns its URL.
pub async fn fresh_postgres_url() -> String {
    let base = env(POSTGRES_URL);
    let db = unique_db_name();
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to AUTHCORE_TEST_POSTGRES_URL");
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .await
        .expect("create database");
    conn.close().await.ok();
    with_database(&base, &db)
}

/// Creates a fresh MySQL/MariaDB database through `$AUTHCORE_TEST_MYSQL_URL` and returns its URL.
pub async fn fresh_mysql_url() -> String {
    let base = env(MYSQL_URL);
    let db = unique_db_name();
    let mut conn = sqlx::MySqlConnection::connect(&base)
        .await
        .expect("connect to AUTHCORE_TEST_MYSQL_URL");
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .await
        .expect("create database");
    conn.close().await.ok();
    with_database(&base, &db)
}

/// A fresh SQLite file in a new temp directory (removed by the guard).
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(unique_db_name());
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn sqlite_url(&self, file: &str) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join(file).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the server control script (`stop` / `start`).
pub fn ctl(var: &str, action: &str) {
    let script = env(var);
    let status = Command::new(&script)
        .arg(action)
        .status()
        .unwrap_or_else(|e| panic!("running {script} {action}: {e}"));
    assert!(status.success(), "{script} {action} failed: {status}");
}

/// Starts the server again when dropped, so a failing fault test does not leave it down for
/// the tests after it.
pub struct RestartOnDrop(pub &'static str);

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        if let Ok(script) = std::env::var(self.0) {
            let _ = Command::new(script).arg("start").status();
        }
    }
}

// ------------------------------------------------------------------------------------------
// Cases every engine runs
// ------------------------------------------------------------------------------------------

/// The three conformance suites of authcore-testkit on one store.
pub async fn conformance(store: SqlStore) {
    let store = Arc::new(store);
    authcore_testkit::conformance::run_user_admin_suite(store.clone()).await;
    authcore_testkit::conformance::run_lockout_suite(store.clone()).await;
    authcore_testkit::conformance::run_session_suite(store.clone()).await;
    authcore_testkit::conformance::run_settings_suite(store.clone()).await;
    authcore_testkit::conformance::run_authenticator_session_suite(store.clone(), store.clone())
        .await;
    authcore_testkit::conformance::run_authenticator_suite(store.clone(), store).await;
}

pub fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600 + secs).unwrap()
}

fn hash(tag: &str) -> PasswordHash {
    PasswordHash::new(format!(
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$h{tag}"
    ))
}

pub fn new_user(email: &str, name: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: Some(name.to_owned()),
        role: Role::DB_VIEWER,
        status: UserStatus::Active,
        passwords: vec![StoredPassword {
            hash: hash(email),
            issued_at: at(0),
        }],
    }
}

/// `record_failure` against `LockoutPolicy::next_state`, step by step, over a pseudo-random
/// walk of times and policies (thresholds 0, 1, 3, 5; durations 0 and timed; short and long
/// reset periods; clears; sub-second steps).
pub async fn lockout_matches_the_policy(store: &SqlStore) {
    let policies = [
        LockoutPolicy::DEFAULT,
        LockoutPolicy::OFF,
        LockoutPolicy {
            threshold: 1,
            ..LockoutPolicy::DEFAULT
        },
        LockoutPolicy {
            threshold: 3,
            duration_secs: 0,
            counter_reset_after_secs: 60,
        },
        LockoutPolicy {
            threshold: 3,
            duration_secs: 120,
            counter_reset_after_secs: 60,
        },
    ];
    let steps_ms: [i64; 12] = [
        0, 1, 500, 1_000, 59_000, 60_000, 61_000, 119_999, 120_000, 900_000, 1_800_000, 5_000_000,
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % n as u64).unwrap()
    };
    for walk in 0..8 {
        let key = UserId::new(format!("walk-{walk}-{}", unique_db_name()));
        let mut now = at(0);
        let mut model = None;
        for step in 0..60 {
            now += time::Duration::milliseconds(steps_ms[next(steps_ms.len())]);
            if next(25) == 0 {
                store.clear(&key).await.unwrap();
                model = None;
                continue;
            }
            let policy = policies[if next(4) == 0 {
                next(policies.len())
            } else {
                walk % policies.len()
            }];
            let expected = policy.next_state(model.as_ref(), now);
            let got = store.record_failure(&key, now, &policy).await.unwrap();
            assert_eq!(got, expected, "walk {walk} step {step} {policy:?}");
            assert_eq!(store.state(&key).await.unwrap(), Some(expected));
            model = Some(expected);
        }
    }
}

/// Store-specific edge cases: canonical uids, byte-exact keys, long and odd values.
pub async fn edge_cases(store: &SqlStore) {
    let tag = unique_db_name();
    let user = store
        .create_user(new_user(
            &format!("edge-{tag}@example.test"),
            &format!("Edge {tag}"),
        ))
        .await
        .unwrap();
    let id = user.uid.as_u64().unwrap();
    // Only the canonical decimal form names the user.
    for alias in [format!("0{id}"), format!("+{id}"), format!(" {id}")] {
        assert_eq!(
            store
                .find_by_uid(&UserId::new(alias.clone()))
                .await
                .unwrap(),
            None,
            "{alias}"
        );
        assert!(!store.delete_user(&UserId::new(alias)).await.unwrap());
    }
    // Names differ by case or a trailing space: distinct users (MySQL collations would say
    // otherwise without the VARBINARY keys).
    let lower = store
        .create_user(new_user(
            &format!("edge2-{tag}@example.test"),
            &format!("edge {tag}"),
        ))
        .await
        .expect("a name differing in case is another name");
    let spaced = store
        .create_user(new_user(
            &format!("edge3-{tag}@example.test"),
            &format!("Edge {tag} "),
        ))
        .await
        .expect("a trailing space makes another name");
    assert_ne!(lower.uid, spaced.uid);
    // Usernames with a trailing space are other users too.
    let email = format!("edge4-{tag}@example.test");
    store
        .create_user(new_user(&email, &format!("e4 {tag}")))
        .await
        .unwrap();
    let spaced_email = format!("{email} ");
    store
        .create_user(new_user(&spaced_email, &format!("e5 {tag}")))
        .await
        .expect("a trailing space makes another username");
    assert_eq!(
        store.find_by_username(&email).await.unwrap().unwrap().email,
        email
    );
    // Unicode lowercasing is the store's key: a duplicate in another case is refused.
    let unicode = format!("ÅSA-{tag}@EXAMPLE.TEST");
    store
        .create_user(new_user(&unicode, &format!("asa {tag}")))
        .await
        .unwrap();
    let err = store
        .create_user(new_user(&unicode.to_lowercase(), &format!("asa2 {tag}")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmailAlreadyExists), "{err:?}");
    assert!(
        store
            .find_by_username(&authcore_core::normalize_username(&unicode))
            .await
            .unwrap()
            .is_some()
    );
    // A duplicate value that itself contains "email" still names the right constraint.
    let err = store
        .create_user(new_user(
            &format!("email-{tag}@example.test"),
            &format!("Edge {tag}"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NameAlreadyExists), "{err:?}");
    // Sub-second issue dates keep their microseconds.
    let precise = at(0) + time::Duration::microseconds(123_456) + time::Duration::nanoseconds(789);
    store
        .add_password(
            &user.uid,
            StoredPassword {
                hash: hash("precise"),
                issued_at: precise,
            },
            3,
        )
        .await
        .unwrap();
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(
        found.passwords()[1].issued_at,
        at(0) + time::Duration::microseconds(123_456)
    );
    // set_passwords on a list that contains a duplicate hash, then removal of that hash: the
    // user would be left without a password.
    let dup = StoredPassword {
        hash: hash("dup"),
        issued_at: at(1),
    };
    store
        .set_passwords(&user.uid, vec![dup.clone(), dup.clone()])
        .await
        .unwrap();
    let err = store
        .remove_password(&user.uid, &dup.hash)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CannotDeleteLastPassword), "{err:?}");
    // Lockout keys are exact: case and trailing spaces matter.
    let key = UserId::new(format!("CN=Ann,{tag}"));
    let p = LockoutPolicy::DEFAULT;
    store.record_failure(&key, at(0), &p).await.unwrap();
    assert_eq!(
        store
            .state(&UserId::new(format!("cn=ann,{tag}")))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .state(&UserId::new(format!("CN=Ann,{tag} ")))
            .await
            .unwrap(),
        None
    );
    // Deleting a user forgets its lockout state.
    store.record_failure(&user.uid, at(0), &p).await.unwrap();
    assert!(store.delete_user(&user.uid).await.unwrap());
    assert_eq!(store.state(&user.uid).await.unwrap(), None);
    // The Debug output shows no hash.
    let debug = format!("{found:?} {store:?}");
    assert!(!debug.contains("argon2"), "{debug}");
}

/// Two stores on one database (two processes): admins changed at once through either never
/// leave the database without an active admin.
pub async fn admin_invariant_across_two_stores(url: &str) {
    use authcore_testkit::conformance::{
        admins_changing_each_other_at_once_leave_one, create_admin, only_active_admin,
    };
    let a = Arc::new(SqlStore::connect(url).await.unwrap());
    let b = Arc::new(SqlStore::connect(url).await.unwrap());
    let first = create_admin(&*a, "two-stores-admin", UserStatus::Active).await;
    admins_changing_each_other_at_once_leave_one(a.clone(), b.clone(), first.uid).await;
    let left = only_active_admin(&*b).await;
    assert_eq!(only_active_admin(&*a).await.uid, left.uid);
}

/// Issue #8: two authenticators, each over its own pool on one database (two processes):
/// guesses released together on both judge at most the threshold.
pub async fn two_authenticators_share_one_budget(url: &str) {
    let config = SqlConfig::new(url).max_connections(16);
    let a = Arc::new(SqlStore::connect_with(config.clone()).await.unwrap());
    let b = Arc::new(SqlStore::connect_with(config).await.unwrap());
    authcore_testkit::conformance::two_authenticators_share_one_budget(
        (a.clone(), a),
        (b.clone(), b),
        40,
    )
    .await;
}

/// Two stores (two pools) on one database, 200 concurrent failures for one user: the count is
/// exactly 200, every count from 1 to 200 was returned once, and the lock came at exactly the
/// threshold.
pub async fn two_stores_count_exactly(url: &str) {
    let config = SqlConfig::new(url).max_connections(16);
    let a = Arc::new(SqlStore::connect_with(config.clone()).await.unwrap());
    let b = Arc::new(SqlStore::connect_with(config).await.unwrap());
    let policy = LockoutPolicy {
        threshold: 5,
        ..LockoutPolicy::DEFAULT
    };
    let key = UserId::new(format!("two-stores-{}", unique_db_name()));
    let now = at(0);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let key = key.clone();
        tasks.spawn(async move { store.record_failure(&key, now, &policy).await });
    }
    let mut seen = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let state = done.unwrap().unwrap();
        assert_eq!(state.is_locked(now), state.failures >= 5, "{state:?}");
        seen.push(state.failures);
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=200).collect::<Vec<u32>>(),
        "each count returned once"
    );
    let state = a.state(&key).await.unwrap().unwrap();
    assert_eq!(state.failures, 200);
    assert!(state.is_locked(now));
    assert_eq!(b.state(&key).await.unwrap(), Some(state));

    // Reservations through both pools, released at the same instant: exactly `threshold`
    // granted, whichever process asks.
    let key = UserId::new(format!("two-stores-reserve-{}", unique_db_name()));
    let reservations = authcore_core::ReservationPolicy::default();
    let barrier = Arc::new(tokio::sync::Barrier::new(60));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (key, barrier) = (key.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let r = authcore_core::Reservation::new(key, now);
            store.reserve(&r, &policy, &reservations).await
        });
    }
    let mut granted = 0;
    while let Some(done) = tasks.join_next().await {
        if done.unwrap().unwrap() == authcore_core::Reserve::Granted {
            granted += 1;
        }
    }
    assert_eq!(
        granted, 5,
        "exactly threshold reservations granted across two processes"
    );
}

/// Stops the server under a store, checks `StoreUnavailable`, starts it, checks that the same
/// store object works again.
pub async fn survives_a_restart(url: &str, ctl_var: &'static str) {
    let store = SqlStore::connect_with(
        SqlConfig::new(url)
            .max_connections(4)
            .acquire_timeout(Duration::from_millis(700)),
    )
    .await
    .unwrap();
    let email = format!("fault-{}@example.test", unique_db_name());
    let user = store.create_user(new_user(&email, &email)).await.unwrap();
    assert!(store.find_by_username(&email).await.unwrap().is_some());

    let restart = RestartOnDrop(ctl_var);
    ctl(ctl_var, "stop");
    let err = store.find_by_username(&email).await.unwrap_err();
    assert_eq!(err.error_code(), "service_unavailable", "{err:?}");
    assert_eq!(err.http_status(), 503);
    assert!(!format!("{err:?} {err}").contains("authpw"), "{err:?}");
    let err = store
        .record_failure(&user.uid, at(0), &LockoutPolicy::DEFAULT)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "service_unavailable", "{err:?}");
    let err = store.find_by_uid(&user.uid).await.unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
    assert!(store.list_users().await.is_err());

    ctl(ctl_var, "start");
    drop(restart);
    // The same store object recovers by itself once the server answers again (the control
    // script returns once it accepts connections). No ping before acquire: each pooled
    // connection that died with the server fails the one operation that takes it and is
    // replaced, so at most `max_connections` (4) operations fail before one works.
    let mut failed = 0;
    let found = loop {
        match store.find_by_username(&email).await {
            Ok(found) => break found,
            Err(e) if failed < 4 => {
                assert_eq!(e.error_code(), "service_unavailable", "{e:?}");
                failed += 1;
            }
            Err(e) => panic!("the store did not recover after {failed} failures: {e:?}"),
        }
    };
    assert_eq!(found.map(|u| u.uid), Some(user.uid.clone()));
    let s = store
        .record_failure(&user.uid, at(0), &LockoutPolicy::DEFAULT)
        .await
        .unwrap();
    assert_eq!(s.failures, 1);
}

/// Migrations are idempotent: a second store on the same database applies nothing and sees
/// the data; `run_migrations(false)` skips them.
pub async fn migrations_are_idempotent(url: &str) {
    let first = SqlStore::connect(url).await.unwrap();
    let email = format!("migrate-{}@example.test", unique_db_name());
    first.create_user(new_user(&email, &email)).await.unwrap();
    let second = SqlStore::connect(url).await.unwrap();
    second.migrate().await.unwrap();
    assert!(second.find_by_username(&email).await.unwrap().is_some());
    let third = SqlStore::connect_with(SqlConfig::new(url).run_migrations(false))
        .await
        .unwrap();
    assert!(third.find_by_username(&email).await.unwrap().is_some());
    // The admin interface is the store itself.
    assert!(third.admin().is_some());
}

/// A TCP proxy in front of a database server that can stop forwarding: from the client's side
/// the server hangs (a network partition, a frozen server) while connections stay open. Bytes
/// read while frozen are held and forwarded, in order, once thawed (a late delivery, as from
/// a server resumed after SIGSTOP).
pub struct FreezableProxy {
    pub addr: std::net::SocketAddr,
    frozen: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl FreezableProxy {
    pub async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (frozen, watching) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, watching.clone()));
                tokio::spawn(pump(sr, cw, watching.clone()));
            }
        });
        Self { addr, frozen, task }
    }

    pub fn freeze(&self, on: bool) {
        self.frozen.send_replace(on);
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let userinfo = authority.rsplit_once('@').map(|(u, _)| u);
        match userinfo {
            Some(u) => format!("{scheme}://{u}@{}{path}", self.addr),
            None => format!("{scheme}://{}{path}", self.addr),
        }
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `from` to `to`, holding what it read while the proxy is frozen until it thaws.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `host:port` of a server URL.
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .to_owned()
}

/// The server stops answering on open connections: every operation fails with
/// `StoreUnavailable` within the operation timeout instead of hanging, and the same store
/// works again once the server answers.
///
/// Run on a current-thread runtime: once the proxy is frozen the test pauses Tokio's clock,
/// so time moves only to the next timer and "within the operation timeout" is checked
/// exactly, not against a wall clock on a loaded machine. Nothing can complete while frozen,
/// so the paused clock cannot cut short anything that would have succeeded.
pub async fn hung_server_times_out(url: &str) {
    let proxy = FreezableProxy::start(host_port(url)).await;
    let timeout = Duration::from_millis(800);
    let store = SqlStore::connect_with(
        SqlConfig::new(proxy.url_for(url))
            .max_connections(3)
            .acquire_timeout(Duration::from_millis(500))
            .operation_timeout(timeout),
    )
    .await
    .unwrap();
    let email = format!("hang-{}@example.test", unique_db_name());
    let user = store.create_user(new_user(&email, &email)).await.unwrap();
    let other = format!("hang-other-{}@example.test", unique_db_name());
    let other = store.create_user(new_user(&other, &other)).await.unwrap();

    proxy.freeze(true);
    tokio::time::pause();
    // Tokio's timers tick in whole milliseconds (a deadline is rounded up to the next one).
    let bound = timeout + Duration::from_millis(1);
    for _ in 0..3 {
        let started = tokio::time::Instant::now();
        let err = store.find_by_username(&email).await.unwrap_err();
        assert_eq!(err.error_code(), "service_unavailable", "{err:?}");
        assert!(started.elapsed() <= bound, "{:?}", started.elapsed());
        let started = tokio::time::Instant::now();
        let err = store
            .record_failure(&user.uid, at(0), &LockoutPolicy::DEFAULT)
            .await
            .unwrap_err();
        assert_eq!(err.error_code(), "service_unavailable", "{err:?}");
        assert!(started.elapsed() <= bound, "{:?}", started.elapsed());
    }
    tokio::time::resume();

    // Thawed: the very next operation works (a pooled connection whose query timed out was
    // not handed out again; new ones are opened).
    proxy.freeze(false);
    let found = store.find_by_username(&email).await.unwrap();
    assert_eq!(found.map(|u| u.uid), Some(user.uid.clone()));
    // A failure that timed out may still reach the database (its statement was on the
    // wire, held by the proxy, delivered now): each of the three counts at most once.
    let failures = store
        .state(&user.uid)
        .await
        .unwrap()
        .map_or(0, |s| s.failures);
    assert!(failures <= 3, "{failures}");
    // The store counts exactly again: a user no held statement touches.
    let first = store
        .record_failure(&other.uid, at(1), &LockoutPolicy::DEFAULT)
        .await
        .unwrap();
    assert_eq!(first.failures, 1);
    let second = store
        .record_failure(&other.uid, at(2), &LockoutPolicy::DEFAULT)
        .await
        .unwrap();
    assert_eq!(second.failures, 2);
}

/// The first migration of the sessions schema: tests of the upgrade apply those before it.
pub const SESSIONS_MIGRATION: i64 = 20_261_128_000_002;

/// Runs one raw statement on the database of `url` (on its own connection).
pub async fn try_execute(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let sql = AssertSqlSafe(sql.to_owned());
    match authcore_sql::Engine::from_url(url).unwrap() {
        authcore_sql::Engine::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await?;
            conn.execute(sql).await?;
        }
        authcore_sql::Engine::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            conn.execute(sql).await?;
        }
        authcore_sql::Engine::MySql => {
            let mut conn = sqlx::MySqlConnection::connect(url).await?;
            conn.execute(sql).await?;
        }
        other => panic!("no raw connection for {other:?}"),
    }
    Ok(())
}

/// [`try_execute`], which must succeed.
pub async fn execute(url: &str, sql: &str) {
    try_execute(url, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Applies the engine's migrations older than `version` only (the previous schema).
pub async fn migrate_before(url: &str, version: i64) {
    let engine = authcore_sql::Engine::from_url(url).unwrap();
    let dir = match engine {
        authcore_sql::Engine::Sqlite => "sqlite",
        authcore_sql::Engine::Postgres => "postgres",
        authcore_sql::Engine::MySql => "mysql",
        other => panic!("no migrations for {other:?}"),
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    let mut migrator = sqlx::migrate::Migrator::new(path).await.unwrap();
    let older: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect();
    assert!(
        older.len() < migrator.migrations.len(),
        "{version} is embedded"
    );
    migrator.migrations = std::borrow::Cow::Owned(older);
    match engine {
        authcore_sql::Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            pool.close().await;
        }
        authcore_sql::Engine::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            pool.close().await;
        }
        authcore_sql::Engine::MySql => {
            let pool = sqlx::MySqlPool::connect(url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            pool.close().await;
        }
        other => panic!("no migrations for {other:?}"),
    }
}

/// The sessions migration on a database of the previous schema holding users, passwords
/// and lockout state: the data stays, every user starts at epoch 0, signs in, and sessions
/// then work (revoke, advance).
pub async fn sessions_migration_keeps_the_data(url: &str) {
    use authcore_core::{Authenticator, Password, SessionStore, Ttl};

    migrate_before(url, SESSIONS_MIGRATION).await;
    let old = SqlStore::connect_with(SqlConfig::new(url).run_migrations(false))
        .await
        .unwrap();
    let hashing =
        authcore_core::HashingPool::new(authcore_core::HashingConfig::insecure_fast()).unwrap();
    let pw = Password::from("Correct-Horse-1".to_owned());
    let email = format!("upgrade-{}@example.test", unique_db_name());
    let mut new = new_user(&email, &email);
    new.passwords = vec![StoredPassword {
        hash: hashing.hash(&pw).await.unwrap(),
        issued_at: at(5),
    }];
    let user = old.create_user(new).await.unwrap();
    old.record_failure(&user.uid, at(6), &LockoutPolicy::DEFAULT)
        .await
        .unwrap();
    // The previous schema has no session tables.
    assert!(old.epoch(&user.uid).await.is_err());
    old.close().await;

    let upgraded = Arc::new(SqlStore::connect(url).await.unwrap());
    let found = upgraded.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.password_issue_date(), Some(at(5)));
    assert_eq!(
        upgraded.state(&user.uid).await.unwrap().unwrap().failures,
        1
    );
    assert_eq!(upgraded.epoch(&user.uid).await.unwrap(), 0);

    let auth = Authenticator::builder()
        .store(upgraded.clone())
        .lockout_store(upgraded.clone())
        .hashing(authcore_core::HashingConfig::insecure_fast())
        .keys(authcore_testkit::fixtures::test_keys().unwrap())
        .build()
        .unwrap();
    let a = auth.authorize(&email, &pw, Ttl::DEFAULT).await.unwrap();
    let b = auth.authorize(&email, &pw, Ttl::DEFAULT).await.unwrap();
    assert_eq!(a.claims.generation, 0);
    auth.logout(&a.token, false).await.unwrap();
    assert!(auth.check_fresh(&a.token).await.is_err());
    assert!(auth.check_fresh(&b.token).await.is_ok());
    auth.logout(&b.token, true).await.unwrap();
    assert!(auth.check_fresh(&b.token).await.is_err());
    assert_eq!(upgraded.epoch(&user.uid).await.unwrap(), 1);
}

/// The settings migration.
pub const SETTINGS_MIGRATION: i64 = 20_261_129_000_002;

/// A database of the schema before the settings migration, with a user and lockout state:
/// the data stays, the settings tables start empty (version 0, no mapping), and two stores on
/// the database then share settings (two processes).
pub async fn settings_migration_keeps_the_data(url: &str) {
    use authcore_core::{Password, SettingsStore as _};

    migrate_before(url, SETTINGS_MIGRATION).await;
    let old = SqlStore::connect_with(SqlConfig::new(url).run_migrations(false))
        .await
        .unwrap();
    let email = format!("settings-{}@example.test", unique_db_name());
    let hashing =
        authcore_core::HashingPool::new(authcore_core::HashingConfig::insecure_fast()).unwrap();
    let mut new = new_user(&email, &email);
    new.passwords = vec![StoredPassword {
        hash: hashing
            .hash(&Password::from("Correct-Horse-1".to_owned()))
            .await
            .unwrap(),
        issued_at: at(5),
    }];
    let user = old.create_user(new).await.unwrap();
    old.record_failure(&user.uid, at(6), &LockoutPolicy::DEFAULT)
        .await
        .unwrap();
    assert!(
        old.version().await.is_err(),
        "the previous schema has no settings"
    );
    old.close().await;

    let a = Arc::new(SqlStore::connect(url).await.unwrap());
    let found = a.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.password_issue_date(), Some(at(5)));
    assert_eq!(a.state(&user.uid).await.unwrap().unwrap().failures, 1);
    assert_eq!(a.version().await.unwrap(), 0);
    assert!(a.load().await.unwrap().values.is_empty());
    assert!(a.list_mappings().await.unwrap().is_empty());

    let b = Arc::new(
        SqlStore::connect_with(SqlConfig::new(url).run_migrations(false))
            .await
            .unwrap(),
    );
    authcore_testkit::conformance::two_authenticators_share_the_policy(a.clone(), a.clone(), a, b)
        .await;
}
