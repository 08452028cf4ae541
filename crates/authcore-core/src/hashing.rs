//! Argon2id hashing on blocking threads, behind a concurrency limit and a bounded queue.
//!
//! Argon2 costs ~14 ms of a core and ~19 MiB of memory per call with the default parameters.
//! Running it on async threads stalls every other request; running it in an unbounded
//! `spawn_blocking` lets a login flood thrash memory. [`HashingPool`] runs at most
//! `concurrency` jobs at once and lets at most `queue` more wait; anything beyond fails fast
//! with [`Error::Overloaded`] (HTTP 503 + `Retry-After`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, Semaphore};

use crate::error::{Error, Result};
use crate::user::{Password, PasswordHash};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Argon2Params {
    /// OWASP's recommendation and the argon2 crate's default: 19 MiB, 2 iterations, 1 lane.
    pub const DEFAULT: Self = Self {
        m_cost: 19_456,
        t_cost: 2,
        p_cost: 1,
    };
    /// The weakest parameters accepted: fit for tests that check behaviour, not cost.
    pub const MIN: Self = Self {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    };
    /// The strongest parameters accepted by default (256 MiB, 10 iterations, 8 lanes). A stored
    /// hash above any of these is refused without being computed, so a crafted hash cannot make
    /// one sign-in cost gigabytes.
    pub const MAX: Self = Self {
        m_cost: 262_144,
        t_cost: 10,
        p_cost: 8,
    };

    /// Whether every parameter is at most `other`'s.
    #[must_use]
    pub const fn within(&self, other: &Self) -> bool {
        self.m_cost <= other.m_cost && self.t_cost <= other.t_cost && self.p_cost <= other.p_cost
    }

    /// Whether any parameter is below `other`'s (the hash is weaker and should be re-hashed).
    #[must_use]
    pub const fn weaker_than(&self, other: &Self) -> bool {
        self.m_cost < other.m_cost || self.t_cost < other.t_cost || self.p_cost < other.p_cost
    }

    fn to_argon2(self) -> Result<Argon2<'static>> {
        let params = Params::new(self.m_cost, self.t_cost, self.p_cost, None)
            .map_err(|e| Error::Configuration(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Configuration of a [`HashingPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingConfig {
    /// Parameters for new hashes (and the dummy hash of unknown users).
    pub params: Argon2Params,
    /// The strongest stored hash that will be computed.
    pub max_params: Argon2Params,
    /// Jobs running at once. Default: the number of available cores.
    pub concurrency: usize,
    /// Jobs allowed to wait for a slot; more fail with [`Error::Overloaded`]. Default:
    /// 32 per running slot.
    pub queue: usize,
    /// The `Retry-After` given with [`Error::Overloaded`].
    pub retry_after: Duration,
}

impl Default for HashingConfig {
    fn default() -> Self {
        let concurrency = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            params: Argon2Params::DEFAULT,
            max_params: Argon2Params::MAX,
            concurrency,
            queue: concurrency * 32,
            retry_after: Duration::from_secs(1),
        }
    }
}

impl HashingConfig {
    /// The cheapest parameters, for tests of behaviour (never for production).
    #[must_use]
    pub fn insecure_fast() -> Self {
        Self {
            params: Argon2Params::MIN,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Configuration(m.to_owned()));
        if !Argon2Params::MIN.within(&self.params) || !self.params.within(&self.max_params) {
            return bad("argon2 params must lie between Argon2Params::MIN and max_params");
        }
        if !self.max_params.within(&Argon2Params {
            m_cost: 4 * 1024 * 1024,
            t_cost: 100,
            p_cost: 64,
        }) {
            return bad("argon2 max_params is unreasonably high");
        }
        if self.concurrency == 0 {
            return bad("hashing concurrency must be at least 1");
        }
        self.params.to_argon2().map(|_| ())
    }
}

/// What checking a password against a list of stored hashes found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOutcome {
    /// Index of the first hash that matched.
    pub matched: Option<usize>,
    /// Whether the matching hash is weaker than the current parameters (or not argon2id).
    pub needs_rehash: bool,
}

/// Bounded argon2 worker pool. Cheap to clone (shared state).
#[derive(Clone)]
pub struct HashingPool {
    inner: Arc<Inner>,
}

struct Inner {
    config: HashingConfig,
    hasher: Argon2<'static>,
    admission: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    dummy: OnceCell<PasswordHash>,
    jobs: AtomicU64,
    rejected: AtomicU64,
}

impl fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashingPool")
            .field("config", &self.inner.config)
            .field("available_workers", &self.inner.workers.available_permits())
            .finish_non_exhaustive()
    }
}

impl HashingPool {
    /// Builds a pool.
    ///
    /// # Errors
    /// [`Error::Configuration`] for parameters outside [`Argon2Params::MIN`]..=`max_params` or a
    /// zero concurrency.
    pub fn new(config: HashingConfig) -> Result<Self> {
        config.validate()?;
        let hasher = config.params.to_argon2()?;
        let admitted = config.concurrency.saturating_add(config.queue);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                hasher,
                admission: Arc::new(Semaphore::new(admitted.min(Semaphore::MAX_PERMITS))),
                workers: Arc::new(Semaphore::new(config.concurrency)),
                dummy: OnceCell::new(),
                jobs: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &HashingConfig {
        &self.inner.config
    }

    /// Argon2 jobs (hash or verify calls) run so far: a metric, and the way tests check that
    /// an unknown user costs the same work as a wrong password.
    #[must_use]
    pub fn jobs_run(&self) -> u64 {
        self.inner.jobs.load(Ordering::Relaxed)
    }

    /// Jobs refused with [`Error::Overloaded`] so far.
    #[must_use]
    pub fn jobs_rejected(&self) -> u64 {
        self.inner.rejected.load(Ordering::Relaxed)
    }

    /// Hashes a new password with the current parameters and a random salt.
    ///
    /// # Errors
    /// [`Error::Overloaded`] when the queue is full; [`Error::Internal`] if hashing fails.
    pub async fn hash(&self, password: &Password) -> Result<PasswordHash> {
        let password = password.clone();
        let inner = Arc::clone(&self.inner);
        self.run(move || inner.hash_now(password.expose_secret().as_bytes()))
            .await?
    }

    /// Checks `password` against each stored hash in turn, on one blocking thread.
    ///
    /// Hashes that do not parse, are not argon2, or whose parameters exceed `max_params` never
    /// match and are not computed.
    ///
    /// # Errors
    /// [`Error::Overloaded`] when the queue is full; [`Error::Internal`] if a thread fails.
    pub async fn verify(
        &self,
        password: &Password,
        hashes: Vec<PasswordHash>,
    ) -> Result<VerifyOutcome> {
        let password = password.clone();
        let inner = Arc::clone(&self.inner);
        self.run(move || inner.verify_now(password.expose_secret().as_bytes(), &hashes))
            .await
    }

    /// Spends the same work as checking one wrong password, so that an unknown username costs
    /// as much as a known one (the dummy hash uses the current parameters).
    ///
    /// # Errors
    /// [`Error::Overloaded`] when the queue is full; [`Error::Internal`] if a thread fails.
    pub async fn verify_dummy(&self, password: &Password) -> Result<()> {
        let dummy = self
            .inner
            .dummy
            .get_or_try_init(|| async {
                let random = Password::from(uuid::Uuid::new_v4().to_string());
                self.hash(&random).await
            })
            .await?
            .clone();
        self.verify(password, vec![dummy]).await.map(|_| ())
    }

    /// Runs `job` on a blocking thread once a worker slot is free, or fails fast when the
    /// queue is full. The permits travel with the job, so a cancelled caller does not free a
    /// slot that is still computing.
    async fn run<T, F>(&self, job: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted = Arc::clone(&self.inner.admission)
            .try_acquire_owned()
            .map_err(|_| {
                self.inner.rejected.fetch_add(1, Ordering::Relaxed);
                Error::Overloaded {
                    retry_after: self.inner.config.retry_after,
                }
            })?;
        let worker = Arc::clone(&self.inner.workers)
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal("hashing pool closed".into()))?;
        self.inner.jobs.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let out = job();
            drop((worker, admitted));
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("hashing thread failed: {e}")))
    }
}

impl Inner {
    fn hash_now(&self, password: &[u8]) -> Result<PasswordHash> {
        self.hasher
            .hash_password(password)
            .map(|h| PasswordHash::new(h.to_string()))
            .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
    }

    fn verify_now(&self, password: &[u8], hashes: &[PasswordHash]) -> VerifyOutcome {
        for (i, stored) in hashes.iter().enumerate() {
            let Some((phc, params, current_alg)) = self.admissible(stored) else {
                continue;
            };
            if self.hasher.verify_password(password, &phc).is_ok() {
                return VerifyOutcome {
                    matched: Some(i),
                    needs_rehash: !current_alg || params.weaker_than(&self.config.params),
                };
            }
        }
        VerifyOutcome {
            matched: None,
            needs_rehash: false,
        }
    }

    /// Parses a stored hash and checks it may be computed: argon2 and within `max_params`.
    fn admissible(&self, stored: &PasswordHash) -> Option<(Phc, Argon2Params, bool)> {
        let phc = Phc::new(stored.expose_phc()).ok()?;
        let alg = Algorithm::try_from(phc.algorithm.as_str()).ok()?;
        let p = Params::try_from(&phc).ok()?;
        let params = Argon2Params {
            m_cost: p.m_cost(),
            t_cost: p.t_cost(),
            p_cost: p.p_cost(),
        };
        if !params.within(&self.config.max_params) {
            tracing::warn!(
                m_cost = params.m_cost,
                t_cost = params.t_cost,
                p_cost = params.p_cost,
                "stored password hash exceeds the configured maximum parameters; refused"
            );
            return None;
        }
        let current = alg == Algorithm::Argon2id && phc.version == Some(Version::V0x13.into());
        Some((phc, params, current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(concurrency: usize, queue: usize) -> HashingPool {
        HashingPool::new(HashingConfig {
            concurrency,
            queue,
            ..HashingConfig::insecure_fast()
        })
        .unwrap()
    }

    fn pw(s: &str) -> Password {
        Password::from(s.to_owned())
    }

    #[tokio::test]
    async fn hash_then_verify_among_several() {
        let pool = pool(2, 4);
        let a = pool.hash(&pw("alpha")).await.unwrap();
        let b = pool.hash(&pw("bravo")).await.unwrap();
        assert!(a.expose_phc().starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
        let out = pool.verify(&pw("bravo"), vec![a.clone(), b]).await.unwrap();
        assert_eq!(out.matched, Some(1));
        assert!(!out.needs_rehash);
        let out = pool.verify(&pw("charlie"), vec![a]).await.unwrap();
        assert_eq!(out.matched, None);
    }

    #[tokio::test]
    async fn weaker_stored_hash_asks_for_rehash() {
        let weak = pool(1, 1).hash(&pw("pw")).await.unwrap();
        let stronger = HashingPool::new(HashingConfig {
            params: Argon2Params {
                m_cost: 64,
                t_cost: 1,
                p_cost: 1,
            },
            ..HashingConfig::insecure_fast()
        })
        .unwrap();
        let out = stronger.verify(&pw("pw"), vec![weak]).await.unwrap();
        assert_eq!(out.matched, Some(0));
        assert!(out.needs_rehash);
    }

    #[tokio::test]
    async fn hashes_above_max_are_refused_without_running() {
        // m = 4 GiB: computing it would take seconds and gigabytes; it must be refused at once.
        let huge = PasswordHash::new(
            "$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0$cWZc3ZXyR6TqO/TOhW/ipPtSQb/vt2FxBYp7wOGMyBM",
        );
        let out = pool(1, 1).verify(&pw("pw"), vec![huge]).await.unwrap();
        assert_eq!(out.matched, None);
        let garbage = PasswordHash::new("not a phc string");
        let out = pool(1, 1).verify(&pw("pw"), vec![garbage]).await.unwrap();
        assert_eq!(out.matched, None);
    }

    #[tokio::test]
    async fn full_queue_fails_fast_with_overloaded() {
        let pool = pool(1, 0);
        // Hold the only admission slot from the outside.
        let held = Arc::clone(&pool.inner.admission)
            .try_acquire_owned()
            .unwrap();
        let err = pool.hash(&pw("x")).await.unwrap_err();
        assert!(matches!(err, Error::Overloaded { .. }), "{err:?}");
        assert_eq!(err.http_status(), 503);
        drop(held);
        assert!(pool.hash(&pw("x")).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrency_is_bounded_and_excess_callers_fail_fast() {
        use std::sync::atomic::AtomicUsize;
        let pool = pool(2, 3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (pool, running, peak, gate) =
                (pool.clone(), running.clone(), peak.clone(), gate.clone());
            tasks.spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    // Block until the test releases one job (a stand-in for argon2's cost).
                    let _ = gate.lock().map(|g| g.recv());
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            });
        }
        // 2 running + 3 queued are admitted; the other 45 are refused at once, while the
        // admitted ones are still blocked.
        let mut refused = 0;
        while refused < 45 {
            match tasks.join_next().await {
                Some(Ok(Err(Error::Overloaded { .. }))) => refused += 1,
                other => panic!("unexpected: {other:?}"),
            }
        }
        // Both workers pick up a job and block; no third one starts.
        for _ in 0..5000 {
            if running.load(Ordering::SeqCst) == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(running.load(Ordering::SeqCst), 2, "both workers busy");
        for _ in 0..5 {
            release.send(()).unwrap();
        }
        let mut done = 0;
        while let Some(r) = tasks.join_next().await {
            r.unwrap().unwrap();
            done += 1;
        }
        assert_eq!(done, 5);
        assert_eq!(
            peak.load(Ordering::SeqCst),
            2,
            "never more than `concurrency` at once"
        );
        assert_eq!(pool.jobs_rejected(), 45);
        assert_eq!(pool.jobs_run(), 5);
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
        let zero = HashingConfig {
            concurrency: 0,
            ..HashingConfig::default()
        };
        assert!(HashingPool::new(zero).is_err());
    }
}
