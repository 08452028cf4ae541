//! The store's own tests: query plans of the sign-in's statements.

use sqlx::Row as _;

use super::*;

/// The per-sign-in statements and the key each is looked up by.
fn sign_in_statements(q: &crate::dialect::Queries) -> [(&'static str, &'static str); 5] {
    [
        (q.find_by_email_key, "ann@example.org"),
        (q.find_by_uid, "1"),
        (q.uid_by_email_key, "ann@example.org"),
        (q.lockout_state, "1"),
        (q.count_passwords, "1"),
    ]
}

/// The cost of a sign-in must not grow with the number of users: no statement on its
/// path scans a table.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_sign_in_statements_use_indexes() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    let Backend::Sqlite(pool) = &store.backend else {
        panic!("sqlite backend");
    };
    for (sql, key) in sign_in_statements(&crate::dialect::sqlite::Q) {
        let details = sqlite_plan(pool, sql, &[key]).await;
        assert!(
            details.iter().all(|d| !d.starts_with("SCAN")),
            "{sql}: {details:?}"
        );
        assert!(
            details.iter().any(|d| d.starts_with("SEARCH")),
            "{sql}: {details:?}"
        );
    }
}

/// The `detail` column of SQLite's `EXPLAIN QUERY PLAN` of `sql` with `binds`.
#[cfg(feature = "sqlite")]
async fn sqlite_plan(pool: &sqlx::SqlitePool, sql: &str, binds: &[&str]) -> Vec<String> {
    let mut explain = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
    for b in binds {
        explain = explain.bind(*b);
    }
    let plan = explain.fetch_all(pool).await.unwrap();
    plan.iter().map(|r| r.get::<String, _>(3)).collect()
}

/// The columns a statement compares with a bare parameter (`col = ?N`).
#[cfg(feature = "sqlite")]
fn bare_keys(sql: &str) -> Vec<&str> {
    sql.split(" = ?")
        .zip(sql.split(" = ?").skip(1))
        .filter(|(_, after)| after.starts_with(|c: char| c.is_ascii_digit()))
        .filter_map(|(before, _)| before.rsplit([' ', '(']).next())
        .collect()
}

/// A statement that compares an indexed column with a bare parameter is prepared again for
/// each new value once the database is analysed (see `sessions::SQLITE`): the per-request
/// lookups take their keys as `(SELECT ?N)` (only the rowid `u.uid` is bare), and on an
/// analysed database they still search their indexes.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_per_request_lookups_are_planned_once() {
    use authcore_core::{NewUser, PasswordHash, Role, StoredPassword, UserAdmin as _, UserStatus};

    use super::sessions::SQLITE;

    assert_eq!(bare_keys(SQLITE.sign_in), Vec::<&str>::new());
    assert_eq!(bare_keys(SQLITE.fresh), vec!["u.uid"]);
    assert_eq!(bare_keys("SELECT 1 FROM t WHERE t.k = ?1"), vec!["t.k"]);

    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    for i in 0..50 {
        store
            .create_user(NewUser {
                email: format!("user{i}@example.org"),
                name: None,
                role: Role::DB_VIEWER,
                status: UserStatus::Active,
                passwords: vec![StoredPassword {
                    hash: PasswordHash::new(format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$h{i}")),
                    issued_at: now,
                }],
            })
            .await
            .unwrap();
    }
    let Backend::Sqlite(pool) = &store.backend else {
        panic!("sqlite backend");
    };
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    let samples: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat4")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(
        samples > 0,
        "ANALYZE left no samples: the test would prove nothing"
    );
    for (sql, binds) in [
        (SQLITE.sign_in, vec!["user7@example.org"]),
        (SQLITE.fresh, vec!["8", "a-session", "8"]),
    ] {
        let details = sqlite_plan(pool, sql, &binds).await;
        assert!(
            details
                .iter()
                .all(|d| !d.starts_with("SCAN") || d == "SCAN CONSTANT ROW"),
            "{sql}: {details:?}"
        );
        assert!(
            details.iter().any(|d| d.starts_with("SEARCH u USING")),
            "{sql}: {details:?}"
        );
    }
    store.close().await;
}

/// A store on a fresh database `authcore_plan_<pid>` of the server whose URL the variable
/// `env` holds (set by scripts/test).
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn fresh_store<C>(env: &str) -> SqlStore
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    let base = std::env::var(env).unwrap_or_else(|_| panic!("{env} is not set: run scripts/test"));
    let db = format!("authcore_plan_{}", std::process::id());
    let mut admin = C::connect(&base).await.unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ] {
        sqlx::Executor::execute(&mut admin, sqlx::AssertSqlSafe(sql))
            .await
            .unwrap();
    }
    let (prefix, _) = base.split('?').next().unwrap().rsplit_once('/').unwrap();
    SqlStore::connect(&format!("{prefix}/{db}")).await.unwrap()
}

/// Same on PostgreSQL, with sequential scans disabled so that the planner's choice on a
/// tiny table does not hide a missing index.
#[cfg(feature = "postgres")]
#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn postgres_sign_in_statements_use_indexes() {
    use sqlx::Executor;
    let store = fresh_store::<sqlx::PgConnection>("AUTHCORE_TEST_POSTGRES_URL").await;
    let Backend::Postgres(pool) = &store.backend else {
        panic!("postgres backend");
    };
    let mut conn = pool.acquire().await.unwrap();
    conn.execute("SET enable_seqscan = off").await.unwrap();
    for (sql, key) in sign_in_statements(&crate::dialect::postgres::Q) {
        let explain = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")));
        let explain = if sql.contains("uid = $1") && !sql.contains("authcore_lockout") {
            explain.bind(key.parse::<i64>().unwrap())
        } else {
            explain.bind(key)
        };
        let plan: Vec<String> = explain
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        assert!(
            plan.iter().all(|l| !l.contains("Seq Scan")),
            "{sql}: {plan:#?}"
        );
    }
}

/// Same on MariaDB/MySQL, where no switch turns table scans off: the tables hold 300
/// users (each with a password and a lockout row), and every statement of a sign-in is
/// explained with an existing key (the reservation and the settlement are upserts on the
/// lockout row's primary key: they read no other row). A table scan is access type `ALL` (`index` is a scan of a whole
/// index); every table read must name the key it uses.
#[cfg(feature = "mysql")]
#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test"]
async fn mysql_sign_in_statements_use_indexes() {
    /// `table`, `type`, `key` and `Extra` of a row of `EXPLAIN`.
    type PlanRow = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    use authcore_core::{LockoutStore as _, NewUser, Role, StoredPassword, UserAdmin as _};
    use sqlx::Executor;
    let store = fresh_store::<sqlx::MySqlConnection>("AUTHCORE_TEST_MYSQL_URL").await;
    let now = time::OffsetDateTime::now_utc();
    let policy = authcore_core::LockoutPolicy::DEFAULT;
    let mut uids = Vec::new();
    for i in 0..300 {
        let user = store
            .create_user(NewUser {
                email: format!("user{i}@example.org"),
                name: Some(format!("user {i}")),
                role: Role::DB_VIEWER,
                status: authcore_core::UserStatus::Active,
                passwords: vec![StoredPassword {
                    hash: authcore_core::PasswordHash::new(format!(
                        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$h{i}"
                    )),
                    issued_at: now,
                }],
            })
            .await
            .unwrap();
        store.record_failure(&user.uid, now, &policy).await.unwrap();
        uids.push(user.uid);
    }
    let Backend::MySql(pool) = &store.backend else {
        panic!("mysql backend");
    };
    let mut conn = pool.acquire().await.unwrap();
    conn.execute("ANALYZE TABLE authcore_users, authcore_passwords, authcore_lockout")
        .await
        .unwrap();
    let q = &crate::dialect::mysql::Q;
    let uid = uids[150].as_str().to_owned();
    let email = "user150@example.org".to_owned();
    // (statement, its binds as text; MariaDB compares an integer column with a text
    // parameter numerically, through the index).
    let statements: Vec<(&str, Vec<String>)> = vec![
        (q.find_by_email_key, vec![email.clone()]),
        (q.find_by_uid, vec![uid.clone()]),
        (q.uid_by_email_key, vec![email]),
        (q.lockout_state, vec![uid.clone()]),
        (q.count_passwords, vec![uid.clone()]),
        (q.clear_lockout, vec![uid.clone()]),
        (q.clear_state, vec![uid]),
    ];
    for (sql, binds) in statements {
        let mut explain = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")));
        for b in binds {
            explain = explain.bind(b);
        }
        let rows = explain.fetch_all(&mut *conn).await.unwrap();
        let plan: Vec<PlanRow> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get::<Option<String>, _>("table").unwrap(),
                    r.try_get::<Option<String>, _>("type").unwrap(),
                    r.try_get::<Option<String>, _>("key").unwrap(),
                    r.try_get::<Option<String>, _>("Extra").unwrap(),
                )
            })
            .collect();
        assert!(!plan.is_empty(), "{sql}");
        for (table, access, key, extra) in &plan {
            assert!(
                !matches!(access.as_deref(), Some("ALL" | "index")),
                "{sql}: table scan {plan:#?}"
            );
            if table.is_some() {
                assert!(key.is_some(), "{sql}: no key {plan:#?} ({extra:?})");
            }
        }
    }
}

#[test]
fn local_ids_are_canonical_decimals() {
    assert_eq!(local_id(&UserId::from(7)), Some(7));
    assert_eq!(local_id(&UserId::new("07")), None);
    assert_eq!(local_id(&UserId::new("+7")), None);
    assert_eq!(local_id(&UserId::new("-7")), None);
    assert_eq!(local_id(&UserId::new("cn=ann,dc=example,dc=org")), None);
    assert_eq!(local_id(&UserId::from(u64::MAX)), None);
}
