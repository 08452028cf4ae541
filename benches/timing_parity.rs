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
//! An unknown *directory* user is not measured: that needs a directory (the LDAP store), and
//! its cost is the directory's search, which no local figure stands for.
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

use std::sync::Arc;
use std::time::{Duration, Instant};

use authcore::secrecy::SecretSlice;
use authcore::{
    Authenticator, CreateUser, HashingConfig, Key, KeyRing, LockoutStore, Password, PasswordHash,
    Role, StoredPassword, Ttl, UserAdmin, UserId, UserStatus, UserStore, UserUpdate,
    normalize_username,
};
use criterion::{Criterion, criterion_group, criterion_main};

const PASSWORD: &str = "Correct-Horse-9";
const WRONG: &str = "Wrong-Horse-99";
/// A well-formed argon2id hash above `Argon2Params::MAX` (m = 4 GiB): never computed.
const INADMISSIBLE: &str = "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                            aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

trait Store: UserStore + UserAdmin + LockoutStore + 'static {}
impl<T: UserStore + UserAdmin + LockoutStore + 'static> Store for T {}

struct Fixture {
    auth: Authenticator,
    lockout: Arc<dyn LockoutStore>,
    known: UserId,
    inadmissible: UserId,
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

async fn fixture<S: Store>(store: Arc<S>) -> Fixture {
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .hashing(HashingConfig::default())
        .keys(KeyRing::new(Key::hs256("b", &SecretSlice::from(vec![1u8; 32])).unwrap()).unwrap())
        .build()
        .unwrap();
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
    Fixture {
        auth,
        lockout: store,
        known,
        inadmissible,
    }
}

/// The refusal cases: name, username, password, and the account whose failures are cleared
/// after each call (outside the timing).
fn cases(f: &Fixture) -> Vec<(&'static str, &'static str, &'static str, Option<UserId>)> {
    vec![
        (
            "wrong_password",
            "known@example.org",
            WRONG,
            Some(f.known.clone()),
        ),
        ("unknown_user", "", PASSWORD, None),
        ("locked", "locked@example.org", PASSWORD, None),
        ("disabled", "disabled@example.org", PASSWORD, None),
        (
            "inadmissible_hash",
            "inadmissible@example.org",
            PASSWORD,
            Some(f.inadmissible.clone()),
        ),
    ]
}

/// One refusal of `case`, timed; its lockout bookkeeping reset afterwards (untimed).
async fn refuse_once(
    f: &Fixture,
    case: &(&'static str, &'static str, &'static str, Option<UserId>),
    n: u64,
) -> Duration {
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
    let cases = cases(f);
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
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len().is_multiple_of(2) {
            (v[m - 1] + v[m]) / 2.0
        } else {
            v[m]
        }
    };
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
    for (case, username, password, clear) in cases(f) {
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
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, parity);
criterion_main!(benches);
