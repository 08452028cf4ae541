//! Timing parity of sign-in refusals (issue #8 item 4): every refusal of
//! `Authenticator::authorize` should cost what a wrong password for a known one-password
//! account costs, store writes included, so that timing does not tell who exists or why a
//! sign-in was refused.
//!
//! Each case is measured on the memory store and on SQLite (a file in WAL mode with
//! `synchronous=NORMAL`, as the reference server runs it), with the default argon2 parameters
//! and Redis's default lockout policy (5 failures lock for 30 minutes):
//!
//! - `wrong_password` (the baseline): a known account with one password, a wrong password;
//!   its failures are cleared after each timed call (outside the timing), so every call is a
//!   granted reservation, one argon2 evaluation and a failure settled;
//! - `unknown_user`: a name no store knows (a new one each call: they land on the decoy
//!   lockout keys);
//! - `locked`: a locked account, the right password;
//! - `disabled`: a disabled account, the right password;
//! - `inadmissible_hash`: an account whose only stored hash is above the engine's maximum
//!   parameters (never computed; its failures cleared after each call like the baseline's).
//!
//! With a directory behind the authenticator (the LDAP store after the local one, as the
//! reference server has it), on the memory store and on SQLite:
//!
//! - `wrong_password` (the baseline, as above: a local account);
//! - `unknown_directory_user`: a name neither the local store nor the directory knows (a new
//!   one each call): the local lookup, the directory's search (`user_dn_query`, through the
//!   service account's connection), a dummy argon2 evaluation and a decoy lockout write;
//! - `directory_wrong_password`: a directory user (`alice`), a wrong password: the search and
//!   a bind, no argon2 (what an unknown directory user is compared with by an attacker who
//!   guesses names; its failures are cleared after each call).
//!
//! The directory is the throwaway slapd of `scripts/servers/start-slapd.sh`: the one its
//! `AUTHCORE_TEST_LDAP_URL`, `AUTHCORE_TEST_LDAP_BASE_DN`, `AUTHCORE_TEST_LDAP_BIND_DN` and
//! `AUTHCORE_TEST_LDAP_BIND_PASS` name when they are set (its test tree: `alice` must exist),
//! else one this bench starts with that script and stops at the end. Without slapd on the
//! machine the directory cases are skipped, and the bench says so.
//!
//! Before criterion measures each case on its own, an interleaved pass (`PARITY_ROUNDS`
//! rounds, default 40, every case once per round) prints the ratios: on a shared machine
//! whose load moves, criterion's cases, measured one after the other, see different
//! machines; the interleaved ones see the same.
//!
//! Run: `cargo bench --bench timing_parity -- --warm-up-time 1 --measurement-time 3`;
//! `scripts/parity-ratios` prints the ratios of criterion's medians. Results:
//! `BENCHMARKS.md`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authcore::secrecy::SecretSlice;
use authcore::{
    Authenticator, CreateUser, HashingConfig, Key, KeyRing, LockoutStore, Password, PasswordHash,
    Role, StoredPassword, Ttl, UserAdmin, UserId, UserStatus, UserStore, UserUpdate,
    normalize_username,
};
use criterion::{Criterion, criterion_group, criterion_main};
use support::median;

const PASSWORD: &str = "Correct-Horse-9";
const WRONG: &str = "Wrong-Horse-99";
/// A well-formed argon2id hash above `Argon2Params::MAX` (m = 4 GiB): never computed.
const INADMISSIBLE: &str = "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                            aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

trait Store: UserStore + UserAdmin + LockoutStore + 'static {}
impl<T: UserStore + UserAdmin + LockoutStore + 'static> Store for T {}

/// A refusal case: name, username (empty: a new unknown name each call), password, and the
/// account whose failures are cleared after each call (outside the timing).
type Case = (&'static str, &'static str, &'static str, Option<UserId>);

struct Fixture {
    auth: Authenticator,
    lockout: Arc<dyn LockoutStore>,
    cases: Vec<Case>,
}

fn pw(s: &str) -> Password {
    Password::from(s.to_owned())
}

async fn create(auth: &Authenticator, store: &dyn UserAdmin, email: &str) -> UserId {
    auth.create_user_unchecked(CreateUser {
        email: email.into(),
        password: pw(PASSWORD),
        name: Some(email.into()),
        role: Role::new("db_viewer"),
    })
    .await
    .unwrap();
    store
        .find_by_username(&normalize_username(email))
        .await
        .unwrap()
        .unwrap()
        .uid
}

fn authenticator(stores: Vec<Arc<dyn UserStore>>, lockout: Arc<dyn LockoutStore>) -> Authenticator {
    let mut builder = Authenticator::builder()
        .lockout_store(lockout)
        .hashing(HashingConfig::default())
        .keys(KeyRing::new(Key::hs256("b", &SecretSlice::from(vec![1u8; 32])).unwrap()).unwrap());
    for store in stores {
        builder = builder.store(store);
    }
    builder.build().unwrap()
}

async fn fixture<S: Store>(store: Arc<S>) -> Fixture {
    let auth = authenticator(vec![store.clone()], store.clone());
    let known = create(&auth, &*store, "known@example.org").await;
    let locked = create(&auth, &*store, "locked@example.org").await;
    let disabled = create(&auth, &*store, "disabled@example.org").await;
    let inadmissible = create(&auth, &*store, "inadmissible@example.org").await;
    for _ in 0..auth.policy().lockout.threshold {
        let _ = auth
            .authorize("locked@example.org", &pw(WRONG), Ttl::DEFAULT)
            .await;
    }
    let now = auth.clock().now();
    assert!(
        store
            .state(&locked)
            .await
            .unwrap()
            .is_some_and(|s| s.is_locked(now)),
        "the locked account is locked"
    );
    store
        .update_user(
            &disabled,
            UserUpdate {
                status: Some(UserStatus::Disabled),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    store
        .set_passwords(
            &inadmissible,
            vec![StoredPassword {
                hash: PasswordHash::new(INADMISSIBLE),
                issued_at: now,
            }],
        )
        .await
        .unwrap();
    let cases = vec![
        ("wrong_password", "known@example.org", WRONG, Some(known)),
        ("unknown_user", "", PASSWORD, None),
        ("locked", "locked@example.org", PASSWORD, None),
        ("disabled", "disabled@example.org", PASSWORD, None),
        (
            "inadmissible_hash",
            "inadmissible@example.org",
            PASSWORD,
            Some(inadmissible),
        ),
    ];
    Fixture {
        auth,
        lockout: store,
        cases,
    }
}

/// The throwaway slapd of `scripts/servers/start-slapd.sh`: the one the environment names,
/// or one started here (stopped and removed on drop).
struct Slapd {
    vars: HashMap<String, String>,
    owned: bool,
}

const SLAPD_VARS: [&str; 4] = [
    "AUTHCORE_TEST_LDAP_URL",
    "AUTHCORE_TEST_LDAP_BASE_DN",
    "AUTHCORE_TEST_LDAP_BIND_DN",
    "AUTHCORE_TEST_LDAP_BIND_PASS",
];

impl Slapd {
    fn get() -> Result<Self, String> {
        let given: HashMap<String, String> = SLAPD_VARS
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
            .collect();
        if given.len() == SLAPD_VARS.len() {
            return Ok(Self {
                vars: given,
                owned: false,
            });
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/servers/start-slapd.sh");
        let out = Command::new(&script)
            .output()
            .map_err(|e| format!("{}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let vars = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Self { vars, owned: true })
    }

    fn var(&self, name: &str) -> &str {
        &self.vars[name]
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        if let Some(ctl) = self.vars.get("AUTHCORE_TEST_SLAPD_CTL") {
            let _ = Command::new(ctl).arg("stop").status();
        }
        if let Some(dir) = self.vars.get("SLAPD_DIR") {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The directory user of the test tree the directory cases use.
const DIRECTORY_USER: &str = "alice";

/// `local` (with the known account) followed by the directory, as the reference server orders
/// them; the directory searches for `uid=%u` below `ou=people` with the service account.
async fn directory_fixture<S: Store>(local: Arc<S>, slapd: &Slapd) -> Fixture {
    let base = slapd.var("AUTHCORE_TEST_LDAP_BASE_DN");
    let config = authcore_ldap::LdapConfig::from_json_str(
        &serde_json::json!({
            "uris": [slapd.var("AUTHCORE_TEST_LDAP_URL")],
            "bind_dn": slapd.var("AUTHCORE_TEST_LDAP_BIND_DN"),
            "bind_pass": slapd.var("AUTHCORE_TEST_LDAP_BIND_PASS"),
            "user_dn_query": {"base": format!("ou=people,{base}"), "filter": "(uid=%u)"},
            "dn_group_attr": "memberOf",
            "ldap_mappings": [{"dn": format!("cn=viewers,ou=groups,{base}"), "role": "db_viewer"}],
        })
        .to_string(),
    )
    .unwrap();
    let directory = Arc::new(authcore_ldap::LdapStore::new(config).unwrap());
    directory.check_connection().await.unwrap();
    let auth = authenticator(vec![local.clone(), directory.clone()], local.clone());
    let known = create(&auth, &*local, "known@example.org").await;
    let alice = directory
        .find_by_username(DIRECTORY_USER)
        .await
        .unwrap()
        .expect("the test tree's alice")
        .uid;
    let cases = vec![
        ("wrong_password", "known@example.org", WRONG, Some(known)),
        ("unknown_directory_user", "", PASSWORD, None),
        (
            "directory_wrong_password",
            DIRECTORY_USER,
            WRONG,
            Some(alice),
        ),
    ];
    let f = Fixture {
        auth,
        lockout: local,
        cases,
    };
    // Untimed: the service connection opened, the user's entry cached.
    for (i, case) in f.cases.iter().enumerate() {
        refuse_once(&f, case, i as u64).await;
    }
    f
}

/// One refusal of `case`, timed; its lockout bookkeeping reset afterwards (untimed).
async fn refuse_once(f: &Fixture, case: &Case, n: u64) -> Duration {
    let (name, username, password, clear) = case;
    let unknown = format!("nobody{n}@example.org");
    let username = if username.is_empty() {
        unknown.as_str()
    } else {
        username
    };
    let password = pw(password);
    let started = Instant::now();
    let result = f.auth.authorize(username, &password, Ttl::DEFAULT).await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(authcore::Error::Unauthorized)),
        "{name}: {result:?}"
    );
    if let Some(uid) = clear {
        f.lockout.clear(uid).await.unwrap();
    }
    took
}

/// The ratios in one interleaved pass: `rounds` rounds, each running every case once, in an
/// order rotated per round, so that a machine whose load moves during the run (other builds)
/// moves every case alike. Prints each case's median and its ratio to `wrong_password`'s,
/// and the median of the per-round ratios.
fn interleaved(rt: &tokio::runtime::Runtime, name: &str, f: &Fixture, rounds: usize) {
    let cases = &f.cases;
    let mut samples = vec![Vec::with_capacity(rounds); cases.len()];
    let mut n = 1_000_000u64;
    rt.block_on(async {
        for round in 0..rounds {
            for k in 0..cases.len() {
                let i = (round + k) % cases.len();
                n += 1;
                samples[i].push(refuse_once(f, &cases[i], n).await);
            }
        }
    });
    let ms: Vec<Vec<f64>> = samples
        .iter()
        .map(|v| v.iter().map(|d| d.as_secs_f64() * 1e3).collect())
        .collect();
    let base = median(&mut ms[0].clone());
    println!("\ninterleaved parity, {name} store, {rounds} rounds:");
    println!("| case | median (ms) | ratio of medians | median of per-round ratios |");
    println!("|---|---|---|---|");
    for (i, (case, ..)) in cases.iter().enumerate() {
        let m = median(&mut ms[i].clone());
        let mut per_round: Vec<f64> = ms[i].iter().zip(&ms[0]).map(|(x, b)| x / b).collect();
        println!(
            "| `{case}` | {m:.1} | {:.3} | {:.3} |",
            m / base,
            median(&mut per_round)
        );
    }
}

fn bench_store(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, f: &Fixture) {
    let mut group = c.benchmark_group(format!("parity/{name}"));
    group.sample_size(10);
    let mut n = 0u64;
    for (case, username, password, clear) in f.cases.clone() {
        let password = pw(password);
        group.bench_function(case, |b| {
            b.to_async(rt).iter_custom(|iters| {
                let (auth, lockout, clear, password) = (
                    f.auth.clone(),
                    f.lockout.clone(),
                    clear.clone(),
                    password.clone(),
                );
                let start_n = n;
                n += iters;
                async move {
                    let mut total = Duration::ZERO;
                    for i in 0..iters {
                        let unknown;
                        let username = if username.is_empty() {
                            unknown = format!("nobody{}@example.org", start_n + i);
                            unknown.as_str()
                        } else {
                            username
                        };
                        let started = Instant::now();
                        let result = auth.authorize(username, &password, Ttl::DEFAULT).await;
                        total += started.elapsed();
                        assert!(
                            matches!(result, Err(authcore::Error::Unauthorized)),
                            "{case}: {result:?}"
                        );
                        if let Some(uid) = &clear {
                            lockout.clear(uid).await.unwrap();
                        }
                    }
                    total
                }
            });
        });
    }
    group.finish();
}

fn parity(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let rounds = std::env::var("PARITY_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(40);
    let memory = rt.block_on(fixture(Arc::new(authcore::memory::MemoryStore::new())));
    interleaved(&rt, "memory", &memory, rounds);
    bench_store(c, &rt, "memory", &memory);

    let dir = std::env::temp_dir().join(format!("authcore-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("parity.db").display());
    let sqlite = rt.block_on(async {
        let store = authcore_sql::SqlStore::connect(&url).await.unwrap();
        fixture(Arc::new(store)).await
    });
    interleaved(&rt, "sqlite", &sqlite, rounds);
    bench_store(c, &rt, "sqlite", &sqlite);
    drop(sqlite);

    match Slapd::get() {
        Ok(slapd) => {
            let memory = rt.block_on(directory_fixture(
                Arc::new(authcore::memory::MemoryStore::new()),
                &slapd,
            ));
            interleaved(&rt, "memory + directory", &memory, rounds);
            bench_store(c, &rt, "memory+directory", &memory);
            let url = format!("sqlite://{}?mode=rwc", dir.join("directory.db").display());
            let sqlite = rt.block_on(async {
                let store = authcore_sql::SqlStore::connect(&url).await.unwrap();
                directory_fixture(Arc::new(store), &slapd).await
            });
            interleaved(&rt, "sqlite + directory", &sqlite, rounds);
            bench_store(c, &rt, "sqlite+directory", &sqlite);
        }
        Err(e) => println!("\nthe directory cases are not measured: no slapd ({e})"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, parity);
criterion_main!(benches);
