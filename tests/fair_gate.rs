//! The wait of sign-in attempts on one account is first come first served (issues #8, #10):
//! newcomers do not barge ahead of attempts already waiting, only the first waiting attempt
//! asks the store, a cancelled waiter leaves the queue without stranding the others, and
//! waiters in one process are granted when another process sharing the database settles.
//!
//! Time-dependent cases run on tokio's paused clock: the directory's "work" is a virtual
//! sleep, so nothing depends on the speed of the machine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use authcore::memory::MemoryStore;
use authcore::{
    AuthPolicy, Authenticator, Credentials, Error, LockoutPolicy, LockoutStore, Password, Result,
    Role, SignInLimits, Ttl, User, UserId, UserStatus, UserStore,
};
use authcore_sql::SqlStore;
use authcore_testkit::conformance::CountingLockout;
use authcore_testkit::fixtures::{fast_hashing, password, test_keys};
use secrecy::ExposeSecret;
use tokio::sync::{Barrier, Semaphore};

const NAME: &str = "service@example.org";

fn uid() -> UserId {
    UserId::new("dir:service")
}

/// A directory with one user whose passwords are every `right-*`; each bind records the
/// password it judges, then waits for a permit of `open` (when given) and takes `work` of
/// (virtual) time.
#[derive(Debug)]
struct Directory {
    open: Option<Arc<Semaphore>>,
    work: Duration,
    judged: Arc<Mutex<Vec<String>>>,
}

impl Directory {
    fn new(open: Option<Arc<Semaphore>>, work: Duration) -> Self {
        Self {
            open,
            work,
            judged: Arc::default(),
        }
    }
}

#[async_trait]
impl UserStore for Directory {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok((username == NAME).then(service))
    }
    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        Ok((uid.as_str() == "dir:service").then(service))
    }
    async fn verify_external(&self, user: &User, password: &Password) -> Result<Option<User>> {
        self.judged
            .lock()
            .unwrap()
            .push(password.expose_secret().to_owned());
        if let Some(open) = &self.open {
            open.acquire()
                .await
                .map_err(|e| Error::store(e.to_string()))?
                .forget();
        }
        if !self.work.is_zero() {
            tokio::time::sleep(self.work).await;
        }
        Ok(password
            .expose_secret()
            .starts_with("right-")
            .then(|| user.clone()))
    }
}

fn service() -> User {
    User {
        uid: uid(),
        email: NAME.into(),
        name: None,
        role: Role::DB_VIEWER,
        status: UserStatus::Active,
        credentials: Credentials::External,
    }
}

fn auth(
    directory: Directory,
    lockout: Arc<dyn LockoutStore>,
    threshold: u32,
    busy_wait: Duration,
) -> Authenticator {
    Authenticator::builder()
        .store(Arc::new(directory))
        .lockout_store(lockout)
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .sign_in_limits(SignInLimits {
            busy_wait,
            ..SignInLimits::default()
        })
        .policy(AuthPolicy {
            lockout: LockoutPolicy {
                threshold,
                ..LockoutPolicy::default()
            },
            ..AuthPolicy::default()
        })
        .build()
        .unwrap()
}

fn attempt(auth: &Authenticator, pass: String) -> tokio::task::JoinHandle<Result<()>> {
    let auth = auth.clone();
    tokio::spawn(async move {
        auth.authorize(NAME, &password(&pass), Ttl::DEFAULT)
            .await
            .map(|_| ())
    })
}

/// Yields until `auth` reports `n` attempts waiting on the account.
async fn until_waiting(auth: &Authenticator, n: usize) {
    while auth.waiting_sign_ins(&uid()) != n {
        tokio::task::yield_now().await;
    }
}

/// Yields until the directory judged `n` passwords.
async fn until_judged(judged: &Mutex<Vec<String>>, n: usize) {
    while judged.lock().unwrap().len() < n {
        tokio::task::yield_now().await;
    }
}

/// Threshold 1 and a `busy_wait` of an hour over `lockout`, with a directory whose binds each
/// wait for a permit of the semaphore returned: the authenticator, the semaphore, and the
/// passwords the directory judged.
fn one_in_flight_held(
    lockout: Arc<dyn LockoutStore>,
) -> (Authenticator, Arc<Semaphore>, Arc<Mutex<Vec<String>>>) {
    let open = Arc::new(Semaphore::new(0));
    let directory = Directory::new(Some(open.clone()), Duration::ZERO);
    let judged = directory.judged.clone();
    let auth = auth(directory, lockout, 1, Duration::from_secs(3600));
    (auth, open, judged)
}

/// Spawns `n` tasks, the `i`th running `task(i)`, all released at the same instant.
fn released_together<F, Fut>(n: usize, task: F) -> Vec<tokio::task::JoinHandle<Fut::Output>>
where
    F: Fn(usize) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    (0..n)
        .map(|i| {
            let (barrier, work) = (barrier.clone(), task(i));
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect()
}

/// Threshold 1 (one attempt in flight): attempts arriving one after the other, some virtual
/// milliseconds apart, while one is held in flight for a long time (their poll timers fire
/// many times), are judged in arrival order once it is let through.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn waiting_attempts_are_granted_in_arrival_order() {
    let (auth, open, judged) = one_in_flight_held(Arc::new(MemoryStore::new()));
    let k = 12;
    let mut tasks = vec![attempt(&auth, "right-0".into())];
    until_judged(&judged, 1).await;
    for i in 1..=k {
        tasks.push(attempt(&auth, format!("right-{i}")));
        until_waiting(&auth, i).await;
        tokio::time::sleep(Duration::from_millis(7 * i as u64)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(judged.lock().unwrap().len(), 1, "one attempt in flight");
    open.add_permits(k + 1);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let expected: Vec<String> = (0..=k).map(|i| format!("right-{i}")).collect();
    assert_eq!(*judged.lock().unwrap(), expected);
    assert_eq!(auth.waiting_sign_ins(&uid()), 0);
}

/// Clients signing in to one account in a closed loop (each starts its next sign-in as soon
/// as the last one answered): with a fair wait none is refused, although each check takes
/// 10 ms (virtual) with one in flight and 20 clients; a newcomer that took the place ahead of
/// the waiters would starve them past `busy_wait` (1 s, five times a full turn of the queue).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn closed_loop_clients_are_never_refused_by_the_wait() {
    let auth = auth(
        Directory::new(None, Duration::from_millis(10)),
        Arc::new(MemoryStore::new()),
        1,
        Duration::from_secs(1),
    );
    let rounds = 15;
    let tasks = released_together(20, |c| {
        let auth = auth.clone();
        async move {
            let mut refused = 0;
            for r in 0..rounds {
                let pass = password(&format!("right-{c}-{r}"));
                if auth.authorize(NAME, &pass, Ttl::DEFAULT).await.is_err() {
                    refused += 1;
                }
            }
            refused
        }
    });
    let mut refused = 0;
    for task in tasks {
        refused += task.await.unwrap();
    }
    assert_eq!(refused, 0, "right sign-ins refused because of each other");
    assert_eq!(auth.busy_refusals(), 0);
    assert_eq!(auth.waiting_sign_ins(&uid()), 0);
}

/// Threshold 2, 200 right sign-ins released at once, each check 5 ms (virtual): every one
/// gets a token.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_burst_of_right_sign_ins_all_get_tokens() {
    let auth = auth(
        Directory::new(None, Duration::from_millis(5)),
        Arc::new(MemoryStore::new()),
        2,
        Duration::from_secs(3),
    );
    let tasks = released_together(200, |i| {
        let auth = auth.clone();
        async move {
            auth.authorize(NAME, &password(&format!("right-{i}")), Ttl::DEFAULT)
                .await
                .map(|_| ())
        }
    });
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(auth.busy_refusals(), 0);
}

/// While one attempt is held in flight for 10 s (virtual) and 20 wait, only the first waiting
/// attempt asks the store: at most one reservation per poll interval for the whole queue
/// (every waiter polling would be 20 times that).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn only_the_first_waiting_attempt_asks_the_store() {
    let lockout = Arc::new(CountingLockout::new(Arc::new(MemoryStore::new())));
    let (auth, open, judged) = one_in_flight_held(lockout.clone());
    let mut tasks = vec![attempt(&auth, "right-0".into())];
    until_judged(&judged, 1).await;
    let k = 20;
    for i in 1..=k {
        tasks.push(attempt(&auth, format!("right-{i}")));
    }
    until_waiting(&auth, k).await;
    let before = lockout.reserves_asked();
    let hold = Duration::from_secs(10);
    tokio::time::sleep(hold).await;
    let asked = lockout.reserves_asked() - before;
    let poll = SignInLimits::default().poll_interval;
    let bound = (hold.as_millis() / poll.as_millis()) as usize + 1;
    assert!(
        asked <= bound,
        "{asked} reservations asked in {hold:?} (at most {bound})"
    );
    assert!(asked > 0, "the first waiter polls the store");
    open.add_permits(k + 1);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
}

/// A waiting attempt whose client went away (its future dropped), the first one included,
/// leaves the queue; the next ones still get their turn, in order.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_cancelled_waiter_leaves_the_queue_and_strands_nobody() {
    let (auth, open, judged) = one_in_flight_held(Arc::new(MemoryStore::new()));
    let held = attempt(&auth, "right-0".into());
    until_judged(&judged, 1).await;
    let mut waiting = Vec::new();
    for i in 1..=5 {
        waiting.push(attempt(&auth, format!("right-{i}")));
        until_waiting(&auth, i).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The first waiter (asking the store) and one in the middle go away.
    let first = waiting.remove(0);
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    let middle = waiting.remove(1);
    middle.abort();
    assert!(middle.await.unwrap_err().is_cancelled());
    assert_eq!(auth.waiting_sign_ins(&uid()), 3);
    open.add_permits(4);
    held.await.unwrap().unwrap();
    for task in waiting {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        *judged.lock().unwrap(),
        ["right-0", "right-2", "right-4", "right-5"]
    );
    assert_eq!(auth.waiting_sign_ins(&uid()), 0);
    // The account's queue is gone: a new attempt takes the fast path.
    open.add_permits(1);
    attempt(&auth, "right-6".into()).await.unwrap().unwrap();
}

/// Two authenticators ("processes") on one SQLite database, threshold 3: three attempts held
/// in flight in A, ten waiting in B. Once A's are let through, B's first waiter sees the
/// freed budget on its poll and B's waiters all get their turn; the lockout count stays
/// exact (A's one wrong password then B's right ones: no failure left on record, and every
/// attempt judged exactly once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_in_one_process_are_granted_when_another_settles() {
    let dir = std::env::temp_dir().join(format!("authcore-fair-gate-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("users.db").display());
    let store_a = Arc::new(SqlStore::connect(&url).await.unwrap());
    let store_b = Arc::new(SqlStore::connect(&url).await.unwrap());
    let open = Arc::new(Semaphore::new(0));
    let dir_a = Directory::new(Some(open.clone()), Duration::ZERO);
    let judged_a = dir_a.judged.clone();
    let dir_b = Directory::new(None, Duration::ZERO);
    let judged_b = dir_b.judged.clone();
    let a = auth(dir_a, store_a.clone(), 3, Duration::from_secs(60));
    let b = auth(dir_b, store_b.clone(), 3, Duration::from_secs(60));
    let held: Vec<_> = ["right-a0", "wrong-a1", "right-a2"]
        .into_iter()
        .map(|p| attempt(&a, p.into()))
        .collect();
    until_judged(&judged_a, 3).await;
    let waiting: Vec<_> = (0..10)
        .map(|i| attempt(&b, format!("right-b{i}")))
        .collect();
    until_waiting(&b, 10).await;
    assert!(judged_b.lock().unwrap().is_empty(), "B's attempts wait");
    open.add_permits(3);
    let results: Vec<_> = {
        let mut r = Vec::new();
        for task in held {
            r.push(task.await.unwrap().is_ok());
        }
        r
    };
    assert_eq!(results, [true, false, true]);
    for task in waiting {
        task.await.unwrap().unwrap();
    }
    assert_eq!(judged_b.lock().unwrap().len(), 10);
    assert_eq!(b.waiting_sign_ins(&uid()), 0);
    assert_eq!(b.busy_refusals(), 0);
    let state = store_b.state(&uid()).await.unwrap();
    assert!(
        state.as_ref().is_none_or(|s| s.failures == 0),
        "a right sign-in after the wrong one clears it: {state:?}"
    );
    store_a.close().await;
    store_b.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
