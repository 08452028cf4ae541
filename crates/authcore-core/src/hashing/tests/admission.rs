//! Admission to the queue, its bounds and order, and the workers' behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

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
