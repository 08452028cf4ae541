#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::PasswordVerifier as _;
use argon2::password_hash::phc::PasswordHash as Phc;

use super::*;

fn config(concurrency: usize) -> HashingConfig {
    HashingConfig {
        concurrency,
        ..HashingConfig::insecure_fast()
    }
}

fn pool(concurrency: usize) -> HashingPool {
    HashingPool::new(config(concurrency)).unwrap()
}

fn pw(s: &str) -> Password {
    Password::from(s.to_owned())
}

const M64: Argon2Params = Argon2Params {
    m_cost: 64,
    t_cost: 1,
    p_cost: 1,
};

/// The evaluations run between two snapshots.
fn delta(
    before: &BTreeMap<Argon2Params, u64>,
    after: &BTreeMap<Argon2Params, u64>,
) -> BTreeMap<Argon2Params, u64> {
    after
        .iter()
        .map(|(p, n)| (*p, n - before.get(p).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test]
async fn hash_then_verify_among_several() {
    let pool = pool(2);
    let a = pool.hash(&pw("alpha")).await.unwrap();
    let b = pool.hash(&pw("bravo")).await.unwrap();
    assert!(a.expose_phc().starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
    assert_ne!(a, pool.hash(&pw("alpha")).await.unwrap(), "random salt");
    let out = pool.verify(&pw("bravo"), vec![a.clone(), b]).await.unwrap();
    assert_eq!(out.matched, Some(1));
    assert!(!out.needs_rehash);
    let out = pool.verify(&pw("charlie"), vec![a]).await.unwrap();
    assert_eq!(out.matched, None);
}

#[tokio::test]
async fn hashes_agree_with_the_argon2_crate_both_ways() {
    let pool = HashingPool::new(HashingConfig {
        params: M64,
        max_params: Argon2Params::MAX,
        ..config(1)
    })
    .unwrap();
    // Ours verifies with the argon2 crate's verify_password.
    let ours = pool.hash(&pw("s3cret")).await.unwrap();
    let phc = Phc::new(ours.expose_phc()).unwrap();
    Argon2::default()
        .verify_password(b"s3cret", &phc)
        .expect("the crate accepts our hash");
    assert!(Argon2::default().verify_password(b"other", &phc).is_err());
    // The crate's hashes (argon2id, argon2i, another output length) verify with ours.
    for (alg, out_len) in [
        (Algorithm::Argon2id, None),
        (Algorithm::Argon2i, None),
        (Algorithm::Argon2d, Some(16)),
    ] {
        use argon2::password_hash::PasswordHasher as _;
        let params = Params::new(32, 1, 1, out_len).unwrap();
        let theirs = Argon2::new(alg, Version::V0x13, params)
            .hash_password_with_salt(b"s3cret", b"saltsaltsalt")
            .unwrap()
            .to_string();
        let out = pool
            .verify(&pw("s3cret"), vec![PasswordHash::new(theirs.clone())])
            .await
            .unwrap();
        assert_eq!(out.matched, Some(0), "{alg:?}");
        assert!(out.needs_rehash, "weaker or not argon2id: re-hash");
        let out = pool
            .verify(&pw("s3creT"), vec![PasswordHash::new(theirs)])
            .await
            .unwrap();
        assert_eq!(out.matched, None, "{alg:?}");
    }
}

#[tokio::test]
async fn weaker_stored_hash_asks_for_rehash() {
    let weak = pool(1).hash(&pw("pw")).await.unwrap();
    let stronger = HashingPool::new(HashingConfig {
        params: M64,
        ..config(1)
    })
    .unwrap();
    let out = stronger.verify(&pw("pw"), vec![weak]).await.unwrap();
    assert_eq!(out.matched, Some(0));
    assert!(out.needs_rehash);
}

/// Real hashes of the right password, each above the caps on one axis (made by a pool whose
/// caps allow them, which verifies them): the capped pool never matches them, spends exactly
/// one evaluation at its current parameters on each (what an unknown user costs), and never
/// allocates the memory they would need.
#[tokio::test]
async fn hashes_above_the_caps_never_match_even_with_the_right_password() {
    let caps = Argon2Params {
        m_cost: 1024,
        t_cost: 3,
        p_cost: 1,
    };
    let capped = HashingPool::new(HashingConfig {
        params: M64,
        max_params: caps,
        ..config(1)
    })
    .unwrap();
    let above = [
        Argon2Params {
            m_cost: 2048,
            ..M64
        },
        Argon2Params { t_cost: 4, ..M64 },
        Argon2Params { p_cost: 2, ..M64 },
    ];
    for params in above {
        assert!(!params.within(&caps));
        let maker = HashingPool::new(HashingConfig {
            params,
            max_params: params,
            ..config(1)
        })
        .unwrap();
        let real = maker.hash(&pw("right")).await.unwrap();
        let check = maker
            .verify(&pw("right"), vec![real.clone()])
            .await
            .unwrap();
        assert_eq!(check.matched, Some(0), "a real hash at {params:?}");

        let (evaluations, allocations) = (capped.evaluations(), capped.memory_allocations());
        let out = capped.verify(&pw("right"), vec![real]).await.unwrap();
        assert_eq!(out.matched, None, "{params:?}");
        assert!(!out.needs_rehash);
        assert_eq!(
            delta(&evaluations, &capped.evaluations()),
            BTreeMap::from([(M64, 1)]),
            "{params:?}"
        );
        // The first job allocates the worker's memory for the current parameters, and nothing
        // else: a computed hash above them would need a buffer of its own.
        assert!(
            capped.memory_allocations() <= allocations.max(1),
            "{params:?}"
        );
    }
    assert_eq!(capped.memory_allocations(), 1);
}

#[tokio::test]
async fn a_hash_that_may_not_be_computed_costs_one_evaluation_at_current_params() {
    let pool = HashingPool::new(HashingConfig {
        params: M64,
        max_params: Argon2Params {
            m_cost: 1024,
            t_cost: 3,
            p_cost: 1,
        },
        ..config(1)
    })
    .unwrap();
    let inadmissible = [
        // m = 4 GiB: computing it would take seconds and gigabytes.
        "$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0$cWZc3ZXyR6TqO/TOhW/ipPtSQb/vt2FxBYp7wOGMyBM",
        // Above max_params on one axis only.
        "$argon2id$v=19$m=64,t=4,p=1$c2FsdHNhbHRzYWx0$cWZc3ZXyR6TqO/TOhW/ipPtSQb/vt2FxBYp7wOGMyBM",
        "not a phc string",
        // bcrypt above its default cap (cost 13); see legacy_hash for the admissible ones.
        "$2b$14$eBw4AK5ubxyTzPQ1fpzJfuJuztR/x1gEXkiep81eQvHUqgJbQusBW",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$cWZc3ZXyR6TqO/TOhW/ipPtSQb/vt2FxBYp7wOGMyBM", // 4-byte salt
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0", // no output
        "",
    ];
    // Reference: what an unknown user costs.
    let before = pool.evaluations();
    pool.verify_dummy(&pw("pw")).await.unwrap();
    let unknown = delta(&before, &pool.evaluations());
    assert_eq!(unknown, BTreeMap::from([(M64, 1)]));
    for text in inadmissible {
        let before = pool.evaluations();
        let out = pool
            .verify(&pw("pw"), vec![PasswordHash::new(text)])
            .await
            .unwrap();
        assert_eq!(out.matched, None, "{text}");
        assert_eq!(delta(&before, &pool.evaluations()), unknown, "{text}");
    }
    // Two inadmissible hashes cost two evaluations, as two wrong hashes would.
    let before = pool.evaluations();
    let good = pool.hash(&pw("right")).await.unwrap();
    let after_hash = pool.evaluations();
    assert_eq!(delta(&before, &after_hash), BTreeMap::from([(M64, 1)]));
    pool.verify(
        &pw("wrong"),
        vec![PasswordHash::new("garbage"), good.clone()],
    )
    .await
    .unwrap();
    assert_eq!(
        delta(&after_hash, &pool.evaluations()),
        BTreeMap::from([(M64, 2)])
    );
    // A stored hash of other (admissible) parameters is computed with its own.
    let weak = HashingPool::new(config(1))
        .unwrap()
        .hash(&pw("x"))
        .await
        .unwrap();
    let before = pool.evaluations();
    pool.verify(&pw("y"), vec![weak]).await.unwrap();
    assert_eq!(
        delta(&before, &pool.evaluations()),
        BTreeMap::from([(Argon2Params::MIN, 1)])
    );
}

#[tokio::test]
async fn workers_keep_their_memory_between_jobs() {
    let pool = HashingPool::new(HashingConfig {
        params: M64,
        max_params: Argon2Params::MAX,
        ..config(1)
    })
    .unwrap();
    assert_eq!(pool.memory_allocations(), 0, "allocated on the first job");
    let hash = pool.hash(&pw("pw")).await.unwrap();
    for _ in 0..10 {
        pool.verify(&pw("pw"), vec![hash.clone()]).await.unwrap();
        pool.verify_dummy(&pw("pw")).await.unwrap();
    }
    // A weaker stored hash fits in the same memory.
    let weak = self::pool(1).hash(&pw("pw")).await.unwrap();
    pool.verify(&pw("pw"), vec![weak]).await.unwrap();
    assert_eq!(pool.jobs_run(), 22);
    assert_eq!(pool.memory_allocations(), 1, "one buffer for 22 jobs");
    // A stronger stored hash needs a temporary buffer, which is not kept.
    let strong = HashingPool::new(HashingConfig {
        params: Argon2Params {
            m_cost: 128,
            t_cost: 1,
            p_cost: 1,
        },
        ..config(1)
    })
    .unwrap()
    .hash(&pw("pw"))
    .await
    .unwrap();
    let out = pool.verify(&pw("pw"), vec![strong]).await.unwrap();
    assert_eq!(out.matched, Some(0));
    assert_eq!(pool.memory_allocations(), 2);
    pool.verify(&pw("pw"), vec![hash]).await.unwrap();
    assert_eq!(pool.memory_allocations(), 2);
}

#[test]
fn comparison_is_constant_time() {
    // The comparison yields a `subtle::Choice`, not a `bool` from `==` (which may stop at the
    // first differing byte).
    let yes: subtle::Choice = engine::outputs_match(b"abcd", b"abcd");
    let no: subtle::Choice = engine::outputs_match(b"abcd", b"abce");
    let short: subtle::Choice = engine::outputs_match(b"abc", b"abcd");
    assert!(bool::from(yes));
    assert!(!bool::from(no));
    assert!(!bool::from(short));
}

fn fixed(concurrency: usize, t: Duration, max_wait: Duration) -> HashingPool {
    HashingPool::new(HashingConfig {
        cost_estimate: CostEstimate::Fixed(t),
        max_wait,
        ..config(concurrency)
    })
    .unwrap()
}

#[tokio::test]
async fn admission_follows_the_expected_wait_and_retry_after_is_that_wait() {
    // 2 workers, 100 ms a job, 1 s deadline: with n in flight a new job waits
    // (n + 1 - 2) x 100 ms / 2; n = 0..=21 are admitted (the 22nd waits exactly 1 s).
    let pool = fixed(2, Duration::from_millis(100), Duration::from_secs(1));
    let held: Vec<Admission> = (0..22).map(|_| pool.admit().unwrap()).collect();
    let err = pool.admit().unwrap_err();
    assert_eq!(
        err.retry_after(),
        Some(Duration::from_millis(1050)),
        "21 queued x 100 ms / 2 workers"
    );
    assert_eq!(err.http_status(), 503);
    let response = crate::http::ApiResponse::error(&err);
    assert!(
        response.headers.contains(&("retry-after", "2".to_owned())),
        "rounded up to whole seconds: {:?}",
        response.headers
    );
    assert_eq!(pool.jobs_rejected(), 1);
    // Refused calls through the other entry points too.
    assert!(matches!(
        pool.verify_dummy(&pw("x")).await,
        Err(Error::Overloaded { .. })
    ));
    assert!(matches!(
        pool.hash(&pw("x")).await,
        Err(Error::Overloaded { .. })
    ));
    assert_eq!(pool.jobs_rejected(), 3);
    // A place given back is a place taken again.
    drop(held);
    let again: Vec<Admission> = (0..22).map(|_| pool.admit().unwrap()).collect();
    assert!(pool.admit().is_err());
    drop(again);

    // Twice the cost, half the queue.
    let pool = fixed(2, Duration::from_millis(200), Duration::from_secs(1));
    let held: Vec<Admission> = (0..12).map(|_| pool.admit().unwrap()).collect();
    assert_eq!(
        pool.admit().unwrap_err().retry_after(),
        Some(Duration::from_millis(1100))
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admission_is_exact_when_many_ask_at_the_same_instant() {
    let pool = fixed(2, Duration::from_millis(100), Duration::from_secs(1));
    let barrier = Arc::new(tokio::sync::Barrier::new(300));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let (pool, barrier) = (pool.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let admission = pool.admit();
            // Hold the place until every task has tried.
            tokio::task::yield_now().await;
            admission
        });
    }
    let mut held = Vec::new();
    let mut refused = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(a) => held.push(a),
            Err(Error::Overloaded { .. }) => refused += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    // Tasks may finish (and drop nothing: the admissions are collected) in any order; the
    // count of places never exceeds the 22 of the expected-wait rule.
    assert_eq!(held.len(), 22);
    assert_eq!(refused, 278);
    assert_eq!(pool.jobs_rejected(), 278);
}

#[tokio::test]
async fn max_queued_bounds_admission_whatever_the_estimate() {
    let pool = HashingPool::new(HashingConfig {
        cost_estimate: CostEstimate::Fixed(Duration::ZERO),
        max_queued: 5,
        ..config(1)
    })
    .unwrap();
    let held: Vec<Admission> = (0..5).map(|_| pool.admit().unwrap()).collect();
    assert!(matches!(pool.admit(), Err(Error::Overloaded { .. })));
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_on_at_most_concurrency_workers_in_admission_order() {
    for workers in [1, 2, 3] {
        run_twenty_blocked_jobs(workers).await;
    }
}

async fn run_twenty_blocked_jobs(workers: usize) {
    let pool = fixed(workers, Duration::from_millis(10), Duration::from_secs(10));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = Arc::new(Mutex::new(gate));
    let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        // Admitted here, in order; queued in that order.
        let slot = pool.admit().unwrap().slot;
        let engine = Arc::clone(&pool.engine);
        let (running, peak, gate, order, started_tx) = (
            running.clone(),
            peak.clone(),
            gate.clone(),
            order.clone(),
            started_tx.clone(),
        );
        let job = move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            order.lock().unwrap().push(i);
            let _ = started_tx.send(());
            // Block until the test releases one job (a stand-in for argon2's cost).
            let _ = gate.lock().map(|g| g.recv());
            running.fetch_sub(1, Ordering::SeqCst);
        };
        // Queued here, before the next admission.
        tasks.spawn(engine.run_custom(slot, job));
    }
    // `workers` start; the next waits for a release.
    for _ in 0..workers {
        started.recv().await.unwrap();
    }
    assert_eq!(pool.engine.in_flight(), 20);
    for _ in 0..20 {
        release.send(()).unwrap();
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    assert!(
        peak.load(Ordering::SeqCst) <= workers,
        "never more than {workers} at once"
    );
    assert_eq!(pool.jobs_run(), 20);
    assert_eq!(pool.engine.in_flight(), 0, "every place given back");
    let mut order = order.lock().unwrap().clone();
    if workers == 1 {
        // One worker takes the jobs in the order they were admitted (FIFO).
        assert_eq!(order, (0..20).collect::<Vec<_>>());
    }
    order.sort_unstable();
    assert_eq!(order, (0..20).collect::<Vec<_>>(), "each job ran once");
}

#[tokio::test]
async fn a_cancelled_caller_gives_its_place_back() {
    let pool = fixed(1, Duration::from_millis(100), Duration::from_secs(10));
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let blocker = pool.admit().unwrap().slot;
    let engine = Arc::clone(&pool.engine);
    let blocked = tokio::spawn(async move {
        engine
            .run_custom(blocker, move || {
                let _ = started_tx.send(());
                let _ = gate.recv();
            })
            .await;
    });
    started.await.unwrap();
    // A verify queued behind the blocked job, then abandoned by its caller.
    let abandoned = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.verify_dummy(&pw("x")).await })
    };
    while pool.engine.in_flight() < 2 {
        tokio::task::yield_now().await;
    }
    abandoned.abort();
    let _ = abandoned.await;
    release.send(()).unwrap();
    blocked.await.unwrap();
    // The abandoned job is skipped (no evaluation) and its place is free again.
    pool.verify_dummy(&pw("y")).await.unwrap();
    assert_eq!(pool.engine.in_flight(), 0);
    assert_eq!(pool.evaluations().values().sum::<u64>(), 1);
}

#[tokio::test]
async fn measured_estimate_follows_the_jobs() {
    let pool = HashingPool::new(HashingConfig {
        params: M64,
        ..config(1)
    })
    .unwrap();
    // Prior: 0.4 µs per KiB and pass.
    assert_eq!(pool.cost_estimate(), Duration::from_nanos(64 * 400));
    let prior = pool.cost_estimate();
    for _ in 0..50 {
        pool.verify_dummy(&pw("x")).await.unwrap();
    }
    assert_ne!(
        pool.cost_estimate(),
        prior,
        "measurements replace the prior"
    );
    let fixed = fixed(1, Duration::from_millis(7), Duration::from_secs(1));
    fixed.verify_dummy(&pw("x")).await.unwrap();
    assert_eq!(fixed.cost_estimate(), Duration::from_millis(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_lower_their_os_priority_unless_told_not_to() {
    for (priority, expected) in [(WorkerPriority::Lowered, 3), (WorkerPriority::Normal, 0)] {
        let pool = HashingPool::new(HashingConfig {
            priority,
            ..config(3)
        })
        .unwrap();
        // Occupy all three workers at once, so that each has started.
        let all = Arc::new(std::sync::Barrier::new(3));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..3 {
            let (slot, engine, all) =
                (pool.admit().unwrap().slot, pool.engine.clone(), all.clone());
            tasks.spawn(async move {
                engine
                    .run_custom(slot, move || {
                        all.wait();
                    })
                    .await;
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        if cfg!(unix) {
            assert_eq!(pool.workers_lowered(), expected, "{priority:?}");
        }
    }
}

#[test]
fn refusals_are_logged_in_aggregate() {
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let pool = fixed(1, Duration::from_secs(1), Duration::ZERO);
            let _a = pool.admit().unwrap();
            let _b = pool.admit().unwrap_err();
            for _ in 0..10_000 {
                assert!(pool.admit().is_err());
            }
            assert_eq!(pool.jobs_rejected(), 10_001);
        });
    });
    let elapsed = started.elapsed();
    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The first refusal is reported at once; then at most one line a second.
    assert!(!lines.is_empty());
    assert!(lines[0].contains("refused=1 "), "{}", lines[0]);
    let bound = usize::try_from(elapsed.as_secs()).unwrap() + 1;
    assert!(lines.len() <= bound, "{} lines in {elapsed:?}", lines.len());
    assert!(
        lines
            .iter()
            .all(|l| l.contains("hashing engine overloaded"))
    );
}

#[test]
fn rejects_bad_config() {
    let weak = HashingConfig {
        params: Argon2Params {
            m_cost: 1,
            t_cost: 1,
            p_cost: 1,
        },
        ..HashingConfig::default()
    };
    assert!(matches!(
        HashingPool::new(weak),
        Err(Error::Configuration(_))
    ));
    for bad in [
        HashingConfig {
            concurrency: 0,
            ..HashingConfig::default()
        },
        HashingConfig {
            max_queued: 0,
            ..HashingConfig::default()
        },
    ] {
        assert!(matches!(
            HashingPool::new(bad),
            Err(Error::Configuration(_))
        ));
    }
}
