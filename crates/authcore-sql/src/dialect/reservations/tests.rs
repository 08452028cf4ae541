//! Pins how often each statement iterates the attempts in flight, as the module documentation
//! states it.

use super::{
    MARIADB_RESERVE, MARIADB_SETTLE, POSTGRES_RESERVE, POSTGRES_SETTLE, SQLITE_RESERVE,
    SQLITE_SETTLE,
};

/// How often a statement counts the attempts in flight (each `COUNT(*)` is one pass over the
/// array).
fn counts(sql: &str) -> usize {
    sql.matches("COUNT(*)").count()
}

/// How many times a statement iterates an array of attempts in flight.
fn passes(sql: &str) -> usize {
    ["json_each(", "jsonb_array_elements(", "JSON_TABLE("]
        .iter()
        .map(|each| sql.matches(each).count())
        .sum()
}

/// `measure` is 1 on PostgreSQL and SQLite, where the one-row derived table `derived` holds
/// the result, and more on MariaDB, whose `ON DUPLICATE KEY UPDATE` assigns no row from a
/// sub-select, so the expression stays where it is used (pinned too, so that a rewrite
/// updates the docs).
fn once_but_on_mariadb(
    [postgres, sqlite, mariadb]: [&str; 3],
    measure: fn(&str) -> usize,
    derived: &str,
) {
    for (engine, sql) in [("postgres", postgres), ("sqlite", sqlite)] {
        assert_eq!(measure(sql), 1, "{engine}: {sql}");
        assert!(sql.contains(derived), "{engine}: {sql}");
    }
    assert!(measure(mariadb) > 1, "mariadb: {mariadb}");
}

#[test]
fn reserve_counts_the_stale_attempts_once_on_postgres_and_sqlite() {
    let sql = [&POSTGRES_RESERVE, &SQLITE_RESERVE, &MARIADB_RESERVE].map(|s| s.sql.as_str());
    once_but_on_mariadb(sql, counts, "AS st");
}

#[test]
fn settle_reads_the_attempts_in_flight_once_on_postgres_and_sqlite() {
    let sql = [&POSTGRES_SETTLE, &SQLITE_SETTLE, &MARIADB_SETTLE].map(|s| s.sql.as_str());
    once_but_on_mariadb(sql, passes, "AS fl");
}
