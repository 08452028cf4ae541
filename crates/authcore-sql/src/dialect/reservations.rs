//! The two statements of a sign-in's lockout bookkeeping, one per engine: the reservation
//! (`reserve`) and its settlement (`settle`), each ONE upsert on the key's `authcore_lockout`
//! row that returns its answer (see `authcore_core::lockout` for the semantics).
//!
//! The attempts in flight live in the row itself, in the column `in_flight`: a JSON array of
//! `[id, started_at in Unix microseconds]` pairs. So everything a decision depends on (the
//! failures, the lock, the attempts in flight) is in the one row the upsert locks, and the
//! engine evaluates the decision on the latest committed version of that row (PostgreSQL's
//! `ON CONFLICT DO UPDATE` and MariaDB's `ON DUPLICATE KEY UPDATE` lock it and read it after
//! any concurrent writer committed; SQLite has one writer at a time). No other statement, no
//! transaction around it: the count and the decision are one atomic step, also across
//! processes sharing the database.
//!
//! `reserve` at `now`, from the row before (`LockoutPolicy::expire_stale`, then `decide`):
//! - `k` = the attempts in flight that started before `stale_before` (their process died):
//!   they are dropped and count as `k` failures at `now` (`next_state` applied `k` times, in
//!   closed form: see `Syntax::failures_plus`; a lock when the count reaches the threshold);
//! - the answer, on that state: locked -> `Locked`; else granted while `live failures +
//!   (in flight - k) < threshold` (always, with lockout off), and the new attempt is appended;
//!   else `Busy`. It is returned as 0 (granted: the id is in the new row), 1 (locked), 2 (busy).
//!
//! `settle` at `now` (`LockoutPolicy::settled`): the id leaves the array; a failure whose id
//! was still there counts once (`next_state`); a success clears the failures unless the row is
//! locked; anything else leaves the state as it was. It returns the new lockout columns.
//!
//! Durability (PostgreSQL): the reservation commits as the server is configured (with the
//! default `synchronous_commit = on`, after its log reached the disk): it is what bounds the
//! guesses, so a database crash never forgets one. The settlement commits without waiting
//! for the disk (`synchronous_commit = off` for its own transaction only, set by the
//! statement: `set_config(.., true)`), which saves one log flush per sign-in. A crash can lose
//! the last settlements, and a lost settlement only errs toward locking: its attempt stays in
//! flight, keeps its place until it is stale, and then counts as one failure. So a crash can
//! count an attempt that succeeded as a failure, or keep failures that a success would have
//! cleared; it never drops a failure or a reservation. (SQLite in WAL mode with
//! `synchronous=NORMAL` does not flush on commit at all; MariaDB has no per-transaction
//! setting.)
//!
//! On PostgreSQL and SQLite every `SET` expression sees the row as it was, so the state after
//! the stale ones is spelled out where the decision needs it; `reserve` assigns all five
//! columns at once from one sub-select over a one-row derived table holding `k`, so the stale
//! count is one pass over `in_flight` per statement; `settle` likewise reads `in_flight` once,
//! for both the attempts that stay and whether the settled one was among them. MariaDB's `ON DUPLICATE KEY UPDATE` takes
//! no such row assignment (and its `INSERT ... SELECT` cannot read the row it updates without
//! locking it twice), so there `k` stays a subquery where it is used. MariaDB evaluates assignments
//! left to right, each seeing the columns assigned before it: its statements assign the
//! failures first, then the lock, and `in_flight` last (so the attempts in flight are still the
//! old ones everywhere, and the decision reads the state after the stale ones directly). MariaDB
//! has positional parameters only: its statements read them from a one-row derived table `p`,
//! so that each is bound once.

use std::sync::LazyLock;

/// The parameters of `reserve`, bound in this order.
pub(crate) const RESERVE_PARAMS: [Param; 9] = [
    Param::Uid,
    Param::Id,
    Param::Now,
    Param::NowUs,
    Param::StaleUs,
    Param::Cutoff,
    Param::LockAt,
    Param::LockUntil,
    Param::LockByAdmin,
];

/// The parameters of `settle`, bound in this order.
pub(crate) const SETTLE_PARAMS: [Param; 8] = [
    Param::Uid,
    Param::Id,
    Param::Outcome,
    Param::Now,
    Param::Cutoff,
    Param::LockAt,
    Param::LockUntil,
    Param::LockByAdmin,
];

/// A parameter of the reservation statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// The lockout key (text).
    Uid,
    /// The reservation's id (text, at most [`MAX_ID_LEN`] bytes).
    Id,
    /// The time of the operation (the engine's timestamp).
    Now,
    /// The same time in Unix microseconds (the unit of `in_flight`).
    NowUs,
    /// `ReservationPolicy::stale_before(now)` in Unix microseconds.
    StaleUs,
    /// `now - counter_reset_after`: a failure after it carries the count on.
    Cutoff,
    /// The threshold, or `i64::MAX` with lockout off.
    LockAt,
    /// The timed lock a failure reaching the threshold sets (NULL for an admin lock).
    LockUntil,
    /// Whether that lock lasts until an admin resets the password.
    LockByAdmin,
    /// How the attempt ended: [`OUTCOME_RELEASED`], [`OUTCOME_FAILURE`], [`OUTCOME_SUCCESS`].
    Outcome,
}

/// The longest reservation id stored (a UUID has 36 characters).
pub(crate) const MAX_ID_LEN: usize = 64;

/// `settle`'s outcome codes.
pub(crate) const OUTCOME_RELEASED: i64 = 0;
/// See [`OUTCOME_RELEASED`].
pub(crate) const OUTCOME_FAILURE: i64 = 1;
/// See [`OUTCOME_RELEASED`].
pub(crate) const OUTCOME_SUCCESS: i64 = 2;

/// `reserve`'s answers.
pub(crate) const ANSWER_GRANTED: i64 = 0;
/// See [`ANSWER_GRANTED`].
pub(crate) const ANSWER_LOCKED: i64 = 1;
/// See [`ANSWER_GRANTED`].
pub(crate) const ANSWER_BUSY: i64 = 2;

/// The largest failure count (`u32::MAX`): the count saturates there.
const MAX_FAILURES: &str = "4294967295";

/// The columns `settle` returns (the lockout columns of every engine's `lockout_state`).
const LOCKOUT_COLUMNS: &str = "failures, last_failure_at, locked_until, locked_by_admin";

/// A statement and the parameters it binds, in order.
pub(crate) struct Statement {
    /// The SQL text.
    pub(crate) sql: String,
    /// What to bind, in order.
    pub(crate) params: Vec<Param>,
}

/// How one engine spells what the statements need. In the templates, `{arr}` is a JSON array
/// expression, `{cond}` a condition on element `e`, `{id}` / `{us}` a pair's values.
struct Syntax {
    /// A parameter, by its position in the statement's list (1-based) and its meaning.
    param: fn(usize, Param) -> String,
    /// The target table, as the statement names it.
    target: &'static str,
    /// The prefix of a column of the row as it was (PostgreSQL, SQLite: the alias `l.`);
    /// empty on MariaDB, whose assignments run left to right.
    old: &'static str,
    /// `FROM` item iterating the array `{arr}` as `e`.
    each: &'static str,
    /// The id of element `e`.
    rid: &'static str,
    /// The start (Unix microseconds) of element `e`.
    started: &'static str,
    /// The array of the elements of `{arr}` that pass `{cond}`.
    kept: &'static str,
    /// The aggregate, over the rows of `each` (as `e`), that gives the array of the elements
    /// passing `{cond}` (`[]` when none does); `settle` uses it where one pass over the array
    /// also counts the settled id. Empty on MariaDB, whose `settle` does not use it.
    kept_agg: &'static str,
    /// The number of elements of `{arr}`.
    len: &'static str,
    /// `{arr}` with the pair `({id}, {us})` appended.
    append: &'static str,
    /// An array holding only the pair `({id}, {us})`.
    single: &'static str,
    /// An empty array.
    empty: &'static str,
    /// The smaller of two integers.
    least: &'static str,
    /// A one-row `FROM` item that makes the statement's own transaction commit without
    /// waiting for its log to reach the disk; empty where the engine has no such setting for
    /// one transaction. `settle` uses it (see the module documentation).
    relaxed_commit: &'static str,
}

const POSTGRES: Syntax = Syntax {
    param: |n, p| {
        let ty = match p {
            Param::Uid | Param::Id => "text",
            Param::Now | Param::Cutoff | Param::LockUntil => "timestamptz",
            Param::NowUs | Param::StaleUs | Param::LockAt | Param::Outcome => "bigint",
            Param::LockByAdmin => "boolean",
        };
        format!("${n}::{ty}")
    },
    target: "authcore_lockout AS l",
    old: "l.",
    each: "jsonb_array_elements({arr}) AS e",
    rid: "(e ->> 0)",
    started: "(e ->> 1)::bigint",
    kept: "(SELECT COALESCE(jsonb_agg(e), '[]'::jsonb) FROM jsonb_array_elements({arr}) AS e \
           WHERE {cond})",
    kept_agg: "COALESCE(jsonb_agg(e) FILTER (WHERE {cond}), '[]'::jsonb)",
    len: "jsonb_array_length({arr})",
    append: "({arr} || jsonb_build_array(jsonb_build_array({id}, {us})))",
    single: "jsonb_build_array(jsonb_build_array({id}, {us}))",
    empty: "'[]'::jsonb",
    least: "LEAST",
    // `is_local`: for this transaction only, so the pooled connection's next transaction (a
    // reservation's) commits as the server is configured.
    relaxed_commit: "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed",
};

const SQLITE: Syntax = Syntax {
    param: |n, _| format!("?{n}"),
    target: "authcore_lockout AS l",
    old: "l.",
    each: "json_each({arr}) AS e",
    rid: "json_extract(e.value, '$[0]')",
    started: "json_extract(e.value, '$[1]')",
    kept: "(SELECT json_group_array(json(e.value)) FROM json_each({arr}) AS e WHERE {cond})",
    kept_agg: "json_group_array(json(e.value)) FILTER (WHERE {cond})",
    len: "json_array_length({arr})",
    append: "json_insert({arr}, '$[#]', json_array({id}, {us}))",
    single: "json_array(json_array({id}, {us}))",
    empty: "'[]'",
    least: "MIN",
    relaxed_commit: "",
};

/// The columns of MariaDB's `JSON_TABLE` over `in_flight` (ids compared byte for byte).
macro_rules! mariadb_each {
    () => {
        "JSON_TABLE({arr}, '$[*]' COLUMNS (\
         rid VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$[0]', \
         started BIGINT PATH '$[1]')) AS e"
    };
}

const MARIADB: Syntax = Syntax {
    param: |_, p| format!("p.{}", mariadb_name(p)),
    target: "authcore_lockout",
    old: "",
    each: mariadb_each!(),
    rid: "e.rid",
    started: "e.started",
    kept: concat!(
        "COALESCE((SELECT JSON_ARRAYAGG(JSON_ARRAY(e.rid, e.started)) FROM ",
        mariadb_each!(),
        " WHERE {cond}), JSON_ARRAY())"
    ),
    kept_agg: "",
    len: "JSON_LENGTH({arr})",
    append: "JSON_ARRAY_APPEND({arr}, '$', JSON_ARRAY({id}, {us}))",
    single: "JSON_ARRAY(JSON_ARRAY({id}, {us}))",
    empty: "JSON_ARRAY()",
    least: "LEAST",
    relaxed_commit: "",
};

fn mariadb_name(p: Param) -> &'static str {
    match p {
        Param::Uid => "r_uid",
        Param::Id => "r_id",
        Param::Now => "r_now",
        Param::NowUs => "r_now_us",
        Param::StaleUs => "r_stale_us",
        Param::Cutoff => "r_cutoff",
        Param::LockAt => "r_lock_at",
        Param::LockUntil => "r_lock_until",
        Param::LockByAdmin => "r_lock_by_admin",
        Param::Outcome => "r_outcome",
    }
}

/// MariaDB's `(SELECT ? AS r_uid, ...) AS p`: each parameter bound once, in order.
fn mariadb_params(params: &[Param]) -> String {
    let cols: Vec<String> = params
        .iter()
        .map(|&p| match p {
            Param::Now | Param::Cutoff | Param::LockUntil => {
                format!("CAST(? AS DATETIME(6)) AS {}", mariadb_name(p))
            }
            Param::NowUs | Param::StaleUs | Param::LockAt | Param::Outcome => {
                format!("CAST(? AS SIGNED) AS {}", mariadb_name(p))
            }
            Param::Uid | Param::Id | Param::LockByAdmin => format!("? AS {}", mariadb_name(p)),
        })
        .collect();
    format!("(SELECT {}) AS p", cols.join(", "))
}

impl Syntax {
    fn p(&self, params: &[Param], which: Param) -> String {
        let n = params.iter().position(|&q| q == which).map_or(0, |i| i + 1);
        (self.param)(n, which)
    }

    /// A column of the row before (on MariaDB: as assigned so far).
    fn col(&self, name: &str) -> String {
        format!("{}{name}", self.old)
    }

    fn old_arr(&self) -> String {
        self.col("in_flight")
    }

    fn each(&self, arr: &str) -> String {
        self.each.replace("{arr}", arr)
    }

    fn kept(&self, arr: &str, cond: &str) -> String {
        self.kept.replace("{arr}", arr).replace("{cond}", cond)
    }

    fn pair(&self, template: &str, params: &[Param]) -> String {
        template
            .replace("{id}", &self.p(params, Param::Id))
            .replace("{us}", &self.p(params, Param::NowUs))
    }

    /// Locked at `now`, by the lock columns (before, or as assigned so far on MariaDB).
    fn locked(&self, params: &[Param]) -> String {
        format!(
            "({} OR COALESCE({} > {}, FALSE))",
            self.col("locked_by_admin"),
            self.col("locked_until"),
            self.p(params, Param::Now)
        )
    }

    /// The count carries on at `now` (locked, or no lock and the last failure after the
    /// cutoff), by the row before.
    fn carried(&self, params: &[Param]) -> String {
        format!(
            "({} OR ({} IS NULL AND {} > {}))",
            self.locked(params),
            self.col("locked_until"),
            self.col("last_failure_at"),
            self.p(params, Param::Cutoff)
        )
    }

    /// The count after one more failure, by the row before (`next_state`).
    fn failures_plus_one(&self, params: &[Param]) -> String {
        format!(
            "(CASE WHEN {carried} THEN {least}({f} + 1, {MAX_FAILURES}) ELSE 1 END)",
            carried = self.carried(params),
            least = self.least,
            f = self.col("failures"),
        )
    }

    /// The count after `k` (> 0) more failures at `now`, by the row before: `next_state`
    /// applied `k` times. The first gives `v1`; each later one carries the count on while the
    /// row is locked (before, or by the first) or while the counter reset is not zero (the
    /// last failure is then `now`, after the cutoff); otherwise it starts again at 1.
    fn failures_plus(&self, params: &[Param], k: &str) -> String {
        let v1 = self.failures_plus_one(params);
        format!(
            "(CASE WHEN {k} = 1 OR {locked0} OR {v1} >= {lock_at} OR {now} > {cutoff} \
             THEN {least}({v1} + {k} - 1, {MAX_FAILURES}) ELSE 1 END)",
            locked0 = self.locked(params),
            lock_at = self.p(params, Param::LockAt),
            now = self.p(params, Param::Now),
            cutoff = self.p(params, Param::Cutoff),
            least = self.least,
        )
    }

    /// `COUNT` of the stale attempts in the array before.
    fn stale(&self, params: &[Param]) -> String {
        format!(
            "(SELECT COUNT(*) FROM {} WHERE {} < {})",
            self.each(&self.old_arr()),
            self.started,
            self.p(params, Param::StaleUs)
        )
    }

    /// A one-row derived table `st` whose column `k` is the stale count of the array before.
    fn stale_row(&self, params: &[Param]) -> String {
        format!(
            "(SELECT COUNT(*) AS k FROM {} WHERE {} < {}) AS st",
            self.each(&self.old_arr()),
            self.started,
            self.p(params, Param::StaleUs)
        )
    }

    /// Whether the array `arr` holds the id `id`.
    fn holds(&self, arr: &str, id: &str) -> String {
        format!(
            "EXISTS (SELECT 1 FROM {} WHERE {} = {id})",
            self.each(arr),
            self.rid
        )
    }

    /// `INSERT ... ON CONFLICT DO UPDATE SET ` / `ON DUPLICATE KEY UPDATE `: a new row holds
    /// no failure and the array `in_flight`. `from`: a one-row `FROM` item the inserted row
    /// is selected from (PostgreSQL and SQLite; empty: none).
    fn insert_head(&self, params: &[Param], in_flight: &str, from: &str) -> String {
        let p = |w| self.p(params, w);
        let values = format!(
            "{}, 0, {}, NULL, FALSE, {in_flight}",
            p(Param::Uid),
            p(Param::Now)
        );
        let columns = "uid, failures, last_failure_at, locked_until, locked_by_admin, in_flight";
        if self.old.is_empty() {
            format!(
                "INSERT INTO {} ({columns}) SELECT {values} FROM {} ON DUPLICATE KEY UPDATE ",
                self.target,
                mariadb_params(params)
            )
        } else if from.is_empty() {
            format!(
                "INSERT INTO {} ({columns}) VALUES ({values}) ON CONFLICT (uid) DO UPDATE SET ",
                self.target
            )
        } else {
            format!(
                "INSERT INTO {} ({columns}) SELECT {values} FROM {from} \
                 ON CONFLICT (uid) DO UPDATE SET ",
                self.target
            )
        }
    }
}

/// `reserve`. `sequential`: MariaDB's left-to-right assignments.
fn reserve(s: &Syntax, sequential: bool) -> Statement {
    let mut params = RESERVE_PARAMS.to_vec();
    let ps = &RESERVE_PARAMS;
    let p = |w| s.p(ps, w);
    let (now, cutoff, lock_at) = (p(Param::Now), p(Param::Cutoff), p(Param::LockAt));
    let (lock_until, lock_by_admin) = (p(Param::LockUntil), p(Param::LockByAdmin));
    // The stale count: on PostgreSQL and SQLite computed once, in a one-row derived table
    // `st` of the sub-select that assigns every column; on MariaDB (whose `ON DUPLICATE KEY
    // UPDATE` takes no row assignment from a sub-select) the subquery where it is used.
    let k = if sequential {
        s.stale(ps)
    } else {
        "st.k".to_owned()
    };
    let locked0 = s.locked(ps);
    let f1 = s.failures_plus(ps, &k);
    let (f, last) = (s.col("failures"), s.col("last_failure_at"));
    let (until, admin) = (s.col("locked_until"), s.col("locked_by_admin"));
    let old = s.old_arr();
    let kept = s.kept(&old, &format!("{} >= {}", s.started, p(Param::StaleUs)));
    let appended = s.pair(s.append, ps).replace("{arr}", &kept);
    let (lock_sql, granted) = if sequential {
        // Every column but `in_flight` is assigned already: the state after the stale ones.
        let locked1 = s.locked(ps);
        let live1 = format!(
            "(CASE WHEN {locked1} THEN {f} \
             WHEN {until} IS NULL AND {last} > {cutoff} THEN {f} ELSE 0 END)"
        );
        (
            format!(
                "failures = CASE WHEN {k} > 0 THEN {f1} ELSE {f} END, \
                 locked_until = CASE WHEN {k} = 0 OR {locked0} THEN {until} \
                     WHEN {f} >= {lock_at} THEN {lock_until} ELSE NULL END, \
                 locked_by_admin = CASE WHEN {k} = 0 THEN {admin} ELSE ({admin} OR \
                     (NOT COALESCE({until} > {now}, FALSE) AND {f} >= {lock_at} \
                     AND {lock_by_admin})) END, \
                 last_failure_at = CASE WHEN {k} > 0 THEN {now} ELSE {last} END, "
            ),
            format!(
                "(NOT {locked1} AND {live1} + ({len} - {k}) < {lock_at})",
                len = s.len.replace("{arr}", &old)
            ),
        )
    } else {
        // Locked after the stale ones: locked before, or they reach the threshold.
        let locked1 = format!("({locked0} OR ({k} > 0 AND {f1} >= {lock_at}))");
        // Live failures after the stale ones (`LockoutPolicy::live_failures`).
        let live1 = format!(
            "(CASE WHEN {locked1} THEN (CASE WHEN {k} > 0 THEN {f1} ELSE {f} END) \
             WHEN {k} > 0 THEN (CASE WHEN {now} > {cutoff} THEN {f1} ELSE 0 END) \
             WHEN {until} IS NULL AND {last} > {cutoff} THEN {f} ELSE 0 END)"
        );
        (
            format!(
                "CASE WHEN {k} > 0 THEN {f1} ELSE {f} END, \
                 CASE WHEN {k} > 0 THEN {now} ELSE {last} END, \
                 CASE WHEN {k} = 0 OR {locked0} THEN {until} \
                     WHEN {f1} >= {lock_at} THEN {lock_until} ELSE NULL END, \
                 CASE WHEN {k} = 0 OR {locked0} THEN {admin} \
                     WHEN {f1} >= {lock_at} THEN {lock_by_admin} ELSE FALSE END, "
            ),
            format!(
                "(NOT {locked1} AND {live1} + ({len} - {k}) < {lock_at})",
                len = s.len.replace("{arr}", &old)
            ),
        )
    };
    // The answer, from the new row; MariaDB's RETURNING cannot see `p`: id and time are
    // bound once more.
    let (ret_id, ret_now) = if sequential {
        params.extend([Param::Id, Param::Now]);
        ("?".to_owned(), "?".to_owned())
    } else {
        (p(Param::Id), now.clone())
    };
    let in_flight = format!("CASE WHEN {granted} THEN {appended} ELSE {kept} END");
    let assignments = if sequential {
        format!("{lock_sql}in_flight = {in_flight}")
    } else {
        format!(
            "(failures, last_failure_at, locked_until, locked_by_admin, in_flight) = \
             (SELECT {lock_sql}{in_flight} FROM {stale_row})",
            stale_row = s.stale_row(ps),
        )
    };
    let sql = format!(
        "{head}{assignments} \
         RETURNING CAST(CASE WHEN {held} THEN {ANSWER_GRANTED} \
             WHEN locked_by_admin OR COALESCE(locked_until > {ret_now}, FALSE) \
             THEN {ANSWER_LOCKED} ELSE {ANSWER_BUSY} END AS {int})",
        head = s.insert_head(ps, &s.pair(s.single, ps), ""),
        held = s.holds("in_flight", &ret_id),
        int = if sequential { "SIGNED" } else { "BIGINT" },
    );
    Statement { sql, params }
}

/// `settle`. `sequential`: MariaDB's left-to-right assignments.
///
/// On PostgreSQL and SQLite one pass over the array before gives both what stays in flight
/// and whether the settled id was there (a one-row derived table `fl` of the sub-select that
/// assigns every column); MariaDB (no row assignment from a sub-select) looks the id up where
/// each assignment needs it.
fn settle(s: &Syntax, sequential: bool) -> Statement {
    let ps = &SETTLE_PARAMS;
    let p = |w| s.p(ps, w);
    let (now, lock_at) = (p(Param::Now), p(Param::LockAt));
    let (lock_until, lock_by_admin) = (p(Param::LockUntil), p(Param::LockByAdmin));
    let locked0 = s.locked(ps);
    let outcome = p(Param::Outcome);
    let id = p(Param::Id);
    let old = s.old_arr();
    let cleared = format!("({outcome} = {OUTCOME_SUCCESS} AND NOT {locked0})");
    let f1 = s.failures_plus_one(ps);
    let (f, last) = (s.col("failures"), s.col("last_failure_at"));
    let (until, admin) = (s.col("locked_until"), s.col("locked_by_admin"));
    let assignments = if sequential {
        // `failures` is the new count where the lock columns read it; `cleared` implies the
        // row was not locked, so `locked_by_admin` was already false.
        let failed = format!("({outcome} = {OUTCOME_FAILURE} AND {})", s.holds(&old, &id));
        format!(
            "failures = CASE WHEN {failed} THEN {f1} WHEN {cleared} THEN 0 ELSE {f} END, \
             locked_until = CASE WHEN {failed} THEN (CASE WHEN {locked0} THEN {until} \
                     WHEN {f} >= {lock_at} THEN {lock_until} ELSE NULL END) \
                 WHEN {cleared} THEN NULL ELSE {until} END, \
             locked_by_admin = CASE WHEN {failed} THEN ({admin} OR \
                 (NOT COALESCE({until} > {now}, FALSE) AND {f} >= {lock_at} \
                 AND {lock_by_admin})) ELSE {admin} END, \
             last_failure_at = CASE WHEN {failed} THEN {now} ELSE {last} END, \
             in_flight = {kept}",
            kept = s.kept(&old, &format!("{} <> {id}", s.rid)),
        )
    } else {
        let failed = "fl.failed";
        format!(
            "(failures, last_failure_at, locked_until, locked_by_admin, in_flight) = (SELECT \
             CASE WHEN {failed} THEN {f1} WHEN {cleared} THEN 0 ELSE {f} END, \
             CASE WHEN {failed} THEN {now} ELSE {last} END, \
             CASE WHEN {failed} THEN (CASE WHEN {locked0} THEN {until} \
                     WHEN {f1} >= {lock_at} THEN {lock_until} ELSE NULL END) \
                 WHEN {cleared} THEN NULL ELSE {until} END, \
             CASE WHEN {failed} THEN (CASE WHEN {locked0} THEN {admin} \
                     WHEN {f1} >= {lock_at} THEN {lock_by_admin} ELSE FALSE END) \
                 WHEN {cleared} THEN FALSE ELSE {admin} END, \
             fl.kept FROM (SELECT {kept} AS kept, ({outcome} = {OUTCOME_FAILURE} AND \
                 COUNT(*) FILTER (WHERE {rid} = {id}) > 0) AS failed FROM {each}) AS fl)",
            kept = s.kept_agg.replace("{cond}", &format!("{} <> {id}", s.rid)),
            rid = s.rid,
            each = s.each(&old),
        )
    };
    let sql = format!(
        "{head}{assignments} RETURNING {LOCKOUT_COLUMNS}",
        head = s.insert_head(ps, s.empty, s.relaxed_commit),
    );
    Statement {
        sql,
        params: SETTLE_PARAMS.to_vec(),
    }
}

/// PostgreSQL's `reserve`.
pub(crate) static POSTGRES_RESERVE: LazyLock<Statement> =
    LazyLock::new(|| reserve(&POSTGRES, false));
/// PostgreSQL's `settle`.
pub(crate) static POSTGRES_SETTLE: LazyLock<Statement> = LazyLock::new(|| settle(&POSTGRES, false));
/// SQLite's `reserve`.
pub(crate) static SQLITE_RESERVE: LazyLock<Statement> = LazyLock::new(|| reserve(&SQLITE, false));
/// SQLite's `settle`.
pub(crate) static SQLITE_SETTLE: LazyLock<Statement> = LazyLock::new(|| settle(&SQLITE, false));
/// MariaDB's `reserve`.
pub(crate) static MARIADB_RESERVE: LazyLock<Statement> = LazyLock::new(|| reserve(&MARIADB, true));
/// MariaDB's `settle`.
pub(crate) static MARIADB_SETTLE: LazyLock<Statement> = LazyLock::new(|| settle(&MARIADB, true));

#[cfg(test)]
mod tests;
