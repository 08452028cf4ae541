//! The argon2id hashing engine: dedicated worker threads, admission by expected wait.
//!
//! Argon2 costs about 14 ms of a core and 19 MiB of memory per call with the default
//! parameters, so a host's sign-in rate is bounded by `cores / t_verify`. [`HashingPool`] is
//! built to reach that bound and stay there under a flood:
//!
//! - **Dedicated workers.** `concurrency` OS threads (one per core by default) run every
//!   argon2 evaluation. Each keeps its argon2 memory between jobs
//!   ([`argon2::Argon2::hash_password_into_with_memory`]), so a flood costs no page faults and
//!   the memory of the engine is bounded by `workers x m_cost` (a worker that evaluates a
//!   stored hash above the current parameters, within `max_params`, grows its buffer to that
//!   hash's `m_cost` once and keeps it). The result is compared with the
//!   stored one in constant time ([`subtle`]).
//! - **Lower OS priority.** The workers lower their own scheduling priority (nice 19 on Linux,
//!   through the `thread-priority` crate), so the async threads that serve every other request
//!   win the CPU whenever they have work: while every worker is busy, a token-protected request
//!   still answers in microseconds of CPU instead of waiting for a time slice behind argon2.
//!   The sign-in rate is unchanged (the workers still get every cycle nobody else wants).
//!   [`WorkerPriority::Normal`] turns this off.
//! - **Admission by expected wait.** A job is admitted while the time it is expected to wait,
//!   `queued x t_verify / workers`, stays within [`HashingConfig::max_wait`] (2 s by default);
//!   `t_verify` is the CPU time of recent evaluations ([`CostEstimate::Measured`]). A burst of clients thus
//!   waits its turn instead of spinning on refusals, and a refusal ([`Error::Overloaded`], HTTP
//!   503) carries the expected wait as its `Retry-After`.
//! - **Admission first.** [`HashingPool::admit`] takes a ticket without blocking, in
//!   microseconds, before any store I/O; the sign-in path asks for it first, so a request that
//!   will be refused costs next to nothing. Refusals are counted ([`HashingPool::jobs_rejected`])
//!   and logged in aggregate, at most one line per second with the count.
//! - **Equal work.** Checking a password always costs one argon2 evaluation per stored hash:
//!   a hash that may not be computed (unparsable, not argon2, above `max_params`) costs one
//!   evaluation at the current parameters, as an unknown user does
//!   ([`HashingPool::verify_dummy`]). [`HashingPool::evaluations`] counts evaluations by
//!   parameters, which is how the tests prove it.

mod engine;
mod evaluation;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::legacy_hash::LegacyLimits;
use crate::user::{Password, PasswordHash};

use engine::{Engine, Slot, Work};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// hash above any of these is never computed (it costs one evaluation at the current
    /// parameters instead), so a crafted hash cannot make one sign-in cost gigabytes.
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

    /// The parameters of `stored` when the engine would compute it with at most `max`: an
    /// argon2 PHC string (any variant and version) with a salt of at least 8 bytes and an
    /// output, every parameter within `max`. `None` when the engine would instead spend one
    /// evaluation at the current parameters (unparsable, not argon2, above `max`). Pure: no
    /// evaluation runs (the fuzz target `stored_hash` calls this).
    #[must_use]
    pub fn of_stored_hash(stored: &PasswordHash, max: &Self) -> Option<Self> {
        evaluation::Stored::parse(stored, max).map(|s| s.params)
    }

    /// A first guess of one evaluation's duration, used until jobs have been measured: about
    /// 0.4 µs per KiB block and pass on one core of a 2020s server (14 ms for the defaults).
    fn prior_cost(self) -> Duration {
        Duration::from_nanos(u64::from(self.m_cost) * u64::from(self.t_cost) * 400)
    }
}

/// How the engine estimates the duration of one argon2 evaluation (`t_verify`), from which
/// it derives the expected wait of a new job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CostEstimate {
    /// A moving average of the evaluations run at the current parameters: the CPU time of
    /// each on its worker (Linux; wall time elsewhere). CPU time, not wall time, so that a
    /// flood of refusals competing with the workers for the cores does not make the queue
    /// shrink and refuse even more. Until the first is measured, a prior from the parameters
    /// (about 0.4 µs per KiB and pass).
    Measured,
    /// A fixed duration: deterministic admission, for tests and for operators who want it.
    Fixed(Duration),
}

/// The OS scheduling priority of the hashing workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerPriority {
    /// The lowest normal priority (nice 19 on Linux and the BSDs, through the
    /// `thread-priority` crate): the async threads win the CPU whenever they have work. If the
    /// OS refuses, the workers run at normal priority and one warning is logged.
    Lowered,
    /// The priority the threads inherit from the process.
    Normal,
}

/// Configuration of a [`HashingPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingConfig {
    /// Parameters for new hashes (and for the evaluation that stands in for an unknown user or
    /// a hash that may not be computed).
    pub params: Argon2Params,
    /// The strongest stored hash that will be computed.
    pub max_params: Argon2Params,
    /// Worker threads, each running one evaluation at a time. Default: the number of available
    /// cores.
    pub concurrency: usize,
    /// The longest expected wait a job is admitted with: a job is admitted while
    /// `queued x t_verify / concurrency` stays within it. Default: 2 s.
    pub max_wait: Duration,
    /// A hard bound on jobs admitted and not finished (queued or running), whatever the
    /// estimate says: with very cheap parameters the expected wait alone would admit millions.
    /// Default: 4096.
    pub max_queued: usize,
    /// How `t_verify` is estimated. Default: [`CostEstimate::Measured`].
    pub cost_estimate: CostEstimate,
    /// The workers' OS scheduling priority. Default: [`WorkerPriority::Lowered`].
    pub priority: WorkerPriority,
    /// Cost caps for hashes from other systems (bcrypt, PBKDF2, scrypt, SHA-crypt, yescrypt),
    /// verified until the first sign-in replaces them by argon2id. Default:
    /// [`LegacyLimits::DEFAULT`].
    pub legacy: LegacyLimits,
}

impl Default for HashingConfig {
    fn default() -> Self {
        Self {
            params: Argon2Params::DEFAULT,
            max_params: Argon2Params::MAX,
            concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_wait: Duration::from_secs(2),
            max_queued: 4096,
            cost_estimate: CostEstimate::Measured,
            priority: WorkerPriority::Lowered,
            legacy: LegacyLimits::DEFAULT,
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
        if self.concurrency == 0 || self.concurrency > 1024 {
            return bad("hashing concurrency must be between 1 and 1024");
        }
        if self.max_queued == 0 {
            return bad("hashing max_queued must be at least 1");
        }
        self.legacy.validate()?;
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

/// The argon2 engine: worker threads behind admission by expected wait. Cheap to clone
/// (shared state); the workers stop when the last clone (and the last [`Admission`]) is
/// dropped.
#[derive(Clone)]
pub struct HashingPool {
    engine: Arc<Engine>,
}

impl fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashingPool")
            .field("config", self.engine.config())
            .field("in_flight", &self.engine.in_flight())
            .field("t_verify", &self.engine.estimate())
            .finish_non_exhaustive()
    }
}

/// A place in the hashing queue, taken by [`HashingPool::admit`] before any other work and
/// consumed by one job. Dropping it unused gives the place back.
#[must_use = "an admission holds a place in the hashing queue until it is used or dropped"]
pub struct Admission {
    engine: Arc<Engine>,
    slot: Slot,
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission").finish_non_exhaustive()
    }
}

impl Admission {
    /// Checks `password` against each stored hash in turn (see [`HashingPool::verify`]).
    ///
    /// # Errors
    /// [`Error::Internal`] if the workers are gone.
    pub async fn verify(
        self,
        password: &Password,
        hashes: Vec<PasswordHash>,
    ) -> Result<VerifyOutcome> {
        let work = Work::Verify {
            password: password.clone(),
            hashes,
        };
        match self.engine.run(self.slot, work).await? {
            engine::Done::Verified(outcome) => Ok(outcome),
            _ => Err(Error::Internal(
                "hashing engine answered the wrong job".into(),
            )),
        }
    }

    /// Spends the work of checking one wrong password (see [`HashingPool::verify_dummy`]).
    ///
    /// # Errors
    /// [`Error::Internal`] if the workers are gone.
    pub async fn verify_dummy(self, password: &Password) -> Result<()> {
        let work = Work::Dummy {
            password: password.clone(),
        };
        self.engine.run(self.slot, work).await.map(|_| ())
    }

    /// Hashes a new password (see [`HashingPool::hash`]).
    ///
    /// # Errors
    /// [`Error::Internal`] if hashing fails or the workers are gone.
    pub async fn hash(self, password: &Password) -> Result<PasswordHash> {
        let work = Work::Hash {
            password: password.clone(),
        };
        match self.engine.run(self.slot, work).await? {
            engine::Done::Hashed(hash) => Ok(hash),
            _ => Err(Error::Internal(
                "hashing engine answered the wrong job".into(),
            )),
        }
    }
}

impl HashingPool {
    /// Builds a pool and starts its worker threads.
    ///
    /// # Errors
    /// [`Error::Configuration`] for parameters outside [`Argon2Params::MIN`]..=`max_params`, a
    /// concurrency outside 1..=1024 or a zero `max_queued`; [`Error::Internal`] if the OS
    /// refuses a thread.
    pub fn new(config: HashingConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            engine: Engine::start(config)?,
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &HashingConfig {
        self.engine.config()
    }

    /// Takes a place in the hashing queue, without blocking and without any I/O: the first
    /// thing a sign-in does, so that a request that will be refused costs microseconds.
    ///
    /// # Errors
    /// [`Error::Overloaded`] (HTTP 503) when the new job's expected wait would exceed
    /// [`HashingConfig::max_wait`] or `max_queued` jobs are in flight; its `retry_after` is
    /// the expected wait of the jobs already queued.
    pub fn admit(&self) -> Result<Admission> {
        let slot = self.engine.admit()?;
        Ok(Admission {
            engine: Arc::clone(&self.engine),
            slot,
        })
    }

    /// Argon2 jobs (hash or verify calls) run so far: a metric, and one way tests check that
    /// an unknown user costs the same work as a wrong password.
    #[must_use]
    pub fn jobs_run(&self) -> u64 {
        self.engine.jobs_run()
    }

    /// Jobs admitted and not finished: running on a worker or waiting for one. The workers
    /// busy are `in_flight().min(config().concurrency)`, the rest is the queue.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.engine.in_flight()
    }

    /// Jobs refused with [`Error::Overloaded`] so far.
    #[must_use]
    pub fn jobs_rejected(&self) -> u64 {
        self.engine.jobs_rejected()
    }

    /// Argon2 evaluations run so far, by parameters: one per stored hash checked (the hash's
    /// own parameters, or the current ones when it may not be computed), one per dummy
    /// verify and one per new hash. Tests compare two snapshots to prove equal work.
    #[must_use]
    pub fn evaluations(&self) -> BTreeMap<Argon2Params, u64> {
        self.engine.evaluations()
    }

    /// The current estimate of one evaluation's duration at the current parameters
    /// (`t_verify`), from which admission derives the expected wait.
    #[must_use]
    pub fn cost_estimate(&self) -> Duration {
        self.engine.estimate()
    }

    /// How many times a worker allocated argon2 memory: once per worker for the current
    /// parameters (on its first job), plus once each time a worker evaluates a stored hash
    /// needing more memory than it holds (its buffer grows to that size and stays).
    #[must_use]
    pub fn memory_allocations(&self) -> u64 {
        self.engine.memory_allocations()
    }

    /// Workers whose OS priority was lowered ([`WorkerPriority::Lowered`]). The workers set it
    /// when they start, so this may lag [`HashingPool::new`] by a moment.
    #[must_use]
    pub fn workers_lowered(&self) -> usize {
        self.engine.workers_lowered()
    }

    /// Hashes a new password with the current parameters and a random salt.
    ///
    /// # Errors
    /// [`Error::Overloaded`] when the queue is full; [`Error::Internal`] if hashing fails.
    pub async fn hash(&self, password: &Password) -> Result<PasswordHash> {
        self.admit()?.hash(password).await
    }

    /// Checks `password` against each stored hash in turn, in one job on one worker.
    ///
    /// Every stored hash costs one evaluation: hashes that do not parse, are not argon2, or
    /// whose parameters exceed `max_params` never match and cost one evaluation at the current
    /// parameters instead of their own.
    ///
    /// # Errors
    /// [`Error::Overloaded`] when the queue is full; [`Error::Internal`] if the workers are
    /// gone.
    pub async fn verify(
        &self,
        password: &Password,
        hashes: Vec<PasswordHash>,
    ) -> Result<VerifyOutcome> {
        self.admit()?.verify(password, hashes).await
    }

    /// Spends the same work as checking one wrong password (one evaluation at the current
    /// parameters and a constant-time comparison), so that an unknown username costs as much
    /// as a known one.
    ///
    /// # Errors
    /// [`Error::Overloaded`] when the queue is full; [`Error::Internal`] if the workers are
    /// gone.
    pub async fn verify_dummy(&self, password: &Password) -> Result<()> {
        self.admit()?.verify_dummy(password).await
    }
}

#[cfg(test)]
mod tests;
