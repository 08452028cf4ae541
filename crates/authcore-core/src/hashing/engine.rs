//! The worker threads, the queue and its admission, and the argon2 evaluations themselves.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use argon2::{Argon2, Block};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use secrecy::ExposeSecret;
use subtle::{Choice, ConstantTimeEq};
use tokio::sync::oneshot;
use zeroize::{Zeroize, Zeroizing};

use super::evaluation::{Started, Stored};
use super::{Argon2Params, CostEstimate, HashingConfig, VerifyOutcome, WorkerPriority};
use crate::error::{Error, Result};
use crate::legacy_hash::{self, LegacyVerdict};
use crate::user::{Password, PasswordHash};

/// Weight of the newest measurement in the moving average of `t_verify` (1/8).
const EWMA_SHIFT: u32 = 3;
/// Refusals are logged at most this often.
const REFUSAL_LOG_INTERVAL_MS: u64 = 1000;

/// A job for a worker.
pub(super) enum Work {
    Verify {
        password: Password,
        hashes: Vec<PasswordHash>,
    },
    Dummy {
        password: Password,
    },
    Hash {
        password: Password,
    },
    /// Test hook: runs a closure on a worker (a stand-in for argon2's cost that the test
    /// controls).
    #[cfg(test)]
    Custom(Box<dyn FnOnce() + Send>),
}

/// What a job produced.
pub(super) enum Done {
    Verified(VerifyOutcome),
    Hashed(PasswordHash),
    Nothing,
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Done>>,
    slot: Slot,
}

/// A place counted in `in_flight`, given back when dropped (by the admission's holder if
/// unused, by the worker once the job is done).
pub(super) struct Slot {
    shared: Arc<Shared>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The handle the pool holds: the sending end of the queue. When the last one is dropped the
/// workers see the queue closed and stop.
pub(super) struct Engine {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Job>,
}

/// What the workers share with the handle.
struct Shared {
    config: HashingConfig,
    /// The hasher for the current parameters.
    current: Argon2<'static>,
    current_blocks: usize,
    /// A random salt and result for the evaluation that stands in for a missing hash.
    dummy_salt: [u8; 16],
    dummy_expected: [u8; 32],
    in_flight: AtomicUsize,
    jobs: AtomicU64,
    rejected: AtomicU64,
    /// Refusals already reported in a log line, and when the last line was written
    /// (milliseconds since `started`, plus one; zero for never).
    rejected_logged: AtomicU64,
    last_log_ms: AtomicU64,
    started: Instant,
    /// Moving average of one evaluation at the current parameters, in nanoseconds.
    estimate_ns: AtomicU64,
    evaluations: Mutex<BTreeMap<Argon2Params, u64>>,
    allocations: AtomicU64,
    lowered: AtomicUsize,
    priority_warned: AtomicBool,
}

impl Engine {
    pub(super) fn start(config: HashingConfig) -> Result<Arc<Self>> {
        let current = config.params.to_argon2()?;
        let mut dummy_salt = [0u8; 16];
        let mut dummy_expected = [0u8; 32];
        getrandom::fill(&mut dummy_salt)
            .and_then(|()| getrandom::fill(&mut dummy_expected))
            .map_err(|e| Error::Internal(format!("no randomness for the dummy hash: {e}")))?;
        let shared = Arc::new(Shared {
            current_blocks: current.params().block_count(),
            current,
            config,
            dummy_salt,
            dummy_expected,
            in_flight: AtomicUsize::new(0),
            jobs: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            rejected_logged: AtomicU64::new(0),
            last_log_ms: AtomicU64::new(0),
            started: Instant::now(),
            estimate_ns: AtomicU64::new(duration_ns(config.params.prior_cost())),
            evaluations: Mutex::new(BTreeMap::new()),
            allocations: AtomicU64::new(0),
            lowered: AtomicUsize::new(0),
            priority_warned: AtomicBool::new(false),
        });
        let (queue, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..config.concurrency {
            let (shared, receiver) = (Arc::clone(&shared), Arc::clone(&receiver));
            std::thread::Builder::new()
                .name(format!("authcore-hash-{i}"))
                .spawn(move || worker(&shared, &receiver))
                .map_err(|e| Error::Internal(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Arc::new(Self { shared, queue }))
    }

    pub(super) fn config(&self) -> &HashingConfig {
        &self.shared.config
    }

    pub(super) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    pub(super) fn estimate(&self) -> Duration {
        self.shared.estimate()
    }

    pub(super) fn jobs_run(&self) -> u64 {
        self.shared.jobs.load(Ordering::Acquire)
    }

    pub(super) fn jobs_rejected(&self) -> u64 {
        self.shared.rejected.load(Ordering::Acquire)
    }

    pub(super) fn evaluations(&self) -> BTreeMap<Argon2Params, u64> {
        self.shared
            .evaluations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn memory_allocations(&self) -> u64 {
        self.shared.allocations.load(Ordering::Acquire)
    }

    pub(super) fn workers_lowered(&self) -> usize {
        self.shared.lowered.load(Ordering::Acquire)
    }

    /// Admission by expected wait: one compare-and-swap on the in-flight count, no lock, no
    /// I/O. With `n` jobs in flight on `w` workers, a new job waits for `(n + 1 - w)` of them
    /// to finish, about `(n + 1 - w) x t_verify / w`.
    pub(super) fn admit(&self) -> Result<Slot> {
        let s = &self.shared;
        let t = s.estimate();
        let mut n = s.in_flight.load(Ordering::Acquire);
        loop {
            let wait = s.expected_wait(n, t);
            if n >= s.config.max_queued || wait > s.config.max_wait {
                s.rejected.fetch_add(1, Ordering::AcqRel);
                s.log_refusals();
                return Err(Error::Overloaded { retry_after: wait });
            }
            match s
                .in_flight
                .compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Ok(Slot {
                        shared: Arc::clone(s),
                    });
                }
                Err(now) => n = now,
            }
        }
    }

    /// Queues a job under an admission at once (so queue order is call order) and returns
    /// the wait for its result.
    pub(super) fn run(
        &self,
        slot: Slot,
        work: Work,
    ) -> impl Future<Output = Result<Done>> + Send + 'static + use<> {
        let (reply, answer) = oneshot::channel();
        let queued = self
            .queue
            .send(Job { work, reply, slot })
            .map_err(|_| Error::Internal("the hashing workers are gone".into()));
        async move {
            queued?;
            answer
                .await
                .map_err(|_| Error::Internal("a hashing worker stopped".into()))?
        }
    }

    /// Test hook: queues a job that runs `f` on a worker.
    #[cfg(test)]
    pub(super) fn run_custom<F: FnOnce() + Send + 'static>(
        &self,
        slot: Slot,
        f: F,
    ) -> impl Future<Output = ()> + Send + 'static + use<F> {
        let run = self.run(slot, Work::Custom(Box::new(f)));
        async move {
            let _ = run.await;
        }
    }
}

impl Shared {
    fn estimate(&self) -> Duration {
        match self.config.cost_estimate {
            CostEstimate::Fixed(t) => t,
            CostEstimate::Measured => {
                Duration::from_nanos(self.estimate_ns.load(Ordering::Relaxed).max(1))
            }
        }
    }

    fn expected_wait(&self, in_flight: usize, t: Duration) -> Duration {
        let workers = self.config.concurrency.max(1) as u128;
        let ahead = (in_flight + 1).saturating_sub(self.config.concurrency) as u128;
        let ns = ahead * t.as_nanos() / workers;
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    fn observe(&self, took: Duration) {
        let x = duration_ns(took);
        let old = self.estimate_ns.load(Ordering::Relaxed);
        let new = old - (old >> EWMA_SHIFT) + (x >> EWMA_SHIFT);
        self.estimate_ns.store(new.max(1), Ordering::Relaxed);
    }

    /// Writes one line with the refusals since the last line, at most once a second.
    fn log_refusals(&self) {
        let total = self.rejected.load(Ordering::Acquire);
        if total == self.rejected_logged.load(Ordering::Acquire) {
            return;
        }
        let now = u64::try_from(self.started.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1);
        let last = self.last_log_ms.load(Ordering::Acquire);
        if last != 0 && now < last.saturating_add(REFUSAL_LOG_INTERVAL_MS) {
            return;
        }
        if self
            .last_log_ms
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return; // another thread writes this line
        }
        let total = self.rejected.load(Ordering::Acquire);
        let before = self.rejected_logged.swap(total, Ordering::AcqRel);
        let refused = total.saturating_sub(before);
        if refused > 0 {
            tracing::warn!(
                refused,
                refused_total = total,
                max_wait_ms = u64::try_from(self.config.max_wait.as_millis()).unwrap_or(u64::MAX),
                t_verify_us = u64::try_from(self.estimate().as_micros()).unwrap_or(u64::MAX),
                "hashing engine overloaded: jobs refused since the last report (at most one report a second)"
            );
        }
    }

    fn count(&self, params: Argon2Params) {
        *self
            .evaluations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(params)
            .or_insert(0) += 1;
    }

    fn execute(&self, memory: &mut Memory, work: Work) -> Result<Done> {
        match work {
            Work::Verify { password, hashes } => Ok(Done::Verified(self.verify(
                memory,
                password.expose_secret().as_bytes(),
                &hashes,
            ))),
            Work::Dummy { password } => {
                self.dummy(memory, password.expose_secret().as_bytes());
                Ok(Done::Nothing)
            }
            Work::Hash { password } => self
                .hash(memory, password.expose_secret().as_bytes())
                .map(Done::Hashed),
            #[cfg(test)]
            Work::Custom(f) => {
                f();
                Ok(Done::Nothing)
            }
        }
    }

    fn verify(
        &self,
        memory: &mut Memory,
        password: &[u8],
        hashes: &[PasswordHash],
    ) -> VerifyOutcome {
        for (i, stored) in hashes.iter().enumerate() {
            let Some(stored) = Stored::parse(stored, &self.config.max_params) else {
                // Hashes from other systems are replaced by argon2id at the first sign-in.
                if self.verify_legacy(memory, password, stored) {
                    return VerifyOutcome {
                        matched: Some(i),
                        needs_rehash: true,
                    };
                }
                continue;
            };
            if self.evaluate_stored(memory, password, &stored) {
                return VerifyOutcome {
                    matched: Some(i),
                    needs_rehash: !stored.current || stored.params.weaker_than(&self.config.params),
                };
            }
        }
        VerifyOutcome {
            matched: None,
            needs_rehash: false,
        }
    }

    /// A hash that is not argon2 (see [`crate::legacy_hash`]); one that may not be computed
    /// (unknown, malformed, above its caps) costs what an unknown user costs.
    fn verify_legacy(&self, memory: &mut Memory, password: &[u8], stored: &PasswordHash) -> bool {
        match legacy_hash::verify_stored(stored.expose_phc(), password, &self.config.legacy) {
            LegacyVerdict::Verified(matched) => matched,
            LegacyVerdict::Prehashed(pre) => {
                let inner = PasswordHash::new(pre.inner());
                match Stored::parse(&inner, &self.config.max_params) {
                    Some(inner) => {
                        self.evaluate_stored(memory, pre.prehash_of(password).as_bytes(), &inner)
                    }
                    None => {
                        self.dummy(memory, password);
                        false
                    }
                }
            }
            LegacyVerdict::Refused => {
                self.dummy(memory, password);
                false
            }
        }
    }

    fn evaluate_stored(&self, memory: &mut Memory, password: &[u8], stored: &Stored) -> bool {
        let expected = stored.phc.hash.as_ref().map_or(&[][..], AsRef::as_ref);
        let salt = stored.phc.salt.as_ref().map_or(&[][..], AsRef::as_ref);
        let mut buffer = Zeroizing::new([0u8; 64]);
        let Some(out) = buffer.get_mut(..expected.len()) else {
            return false;
        };
        let started = Started::now();
        let blocks = stored.argon.params().block_count();
        let computed = memory.with_blocks(self, blocks, |m| {
            stored
                .argon
                .hash_password_into_with_memory(password, salt, &mut *out, m)
        });
        self.count(stored.params);
        if stored.params == self.config.params {
            self.observe(started.elapsed());
        }
        computed.is_ok() && bool::from(outputs_match(out, expected))
    }

    /// One evaluation at the current parameters and one constant-time comparison, whose result
    /// is thrown away: the work of checking a wrong password.
    fn dummy(&self, memory: &mut Memory, password: &[u8]) {
        let started = Started::now();
        let mut out = Zeroizing::new([0u8; 32]);
        let computed = memory.with_blocks(self, self.current_blocks, |m| {
            self.current
                .hash_password_into_with_memory(password, &self.dummy_salt, &mut out[..], m)
        });
        std::hint::black_box(outputs_match(&out[..], &self.dummy_expected));
        self.count(self.config.params);
        if computed.is_ok() {
            self.observe(started.elapsed());
        }
    }

    fn hash(&self, memory: &mut Memory, password: &[u8]) -> Result<PasswordHash> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|e| Error::Internal(format!("no randomness for a salt: {e}")))?;
        let started = Started::now();
        let mut out = Zeroizing::new([0u8; 32]);
        memory
            .with_blocks(self, self.current_blocks, |m| {
                self.current
                    .hash_password_into_with_memory(password, &salt, &mut out[..], m)
            })
            .map_err(|e| Error::Internal(format!("hashing failed: {e}")))?;
        self.count(self.config.params);
        self.observe(started.elapsed());
        let p = self.config.params;
        Ok(PasswordHash::new(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            p.m_cost,
            p.t_cost,
            p.p_cost,
            B64.encode(salt),
            B64.encode(&out[..]),
        )))
    }

    fn lower_priority(&self) {
        if self.config.priority != WorkerPriority::Lowered {
            return;
        }
        match thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min) {
            Ok(()) => {
                self.lowered.fetch_add(1, Ordering::AcqRel);
            }
            Err(e) => {
                if !self.priority_warned.swap(true, Ordering::AcqRel) {
                    tracing::warn!(error = ?e, "cannot lower the hashing threads' OS priority; they run at normal priority");
                }
            }
        }
    }
}

/// The constant-time comparison of a computed argon2 output with the stored one (the length
/// is public: it is written in the stored hash).
pub(super) fn outputs_match(computed: &[u8], expected: &[u8]) -> Choice {
    computed.ct_eq(expected)
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A worker's argon2 memory: allocated on its first job for the current parameters and kept;
/// zeroed when the worker stops. A stored hash needing more (within the caps: a hash above
/// them is never computed) grows it once to that size, and it stays that size: a buffer
/// allocated and freed per job is kept by the C allocator in per-thread arenas anyway (a
/// sign-in flood on a 19 MiB hash with 8 KiB current parameters held 4 x 58 MiB of freed
/// buffers), and is a page-fault storm besides. So the engine's memory is at most
/// `workers x max_params.m_cost`, and `workers x m_cost` while every stored hash is at or
/// below the current parameters.
struct Memory {
    blocks: Zeroizing<Vec<Block>>,
}

impl Memory {
    fn with_blocks<R>(
        &mut self,
        shared: &Shared,
        needed: usize,
        f: impl FnOnce(&mut [Block]) -> R,
    ) -> R {
        let size = needed.max(shared.current_blocks);
        if self.blocks.len() < size {
            // The old buffer is zeroed and freed before the new one is allocated.
            self.blocks = Zeroizing::new(Vec::new());
            self.blocks = Zeroizing::new(vec![Block::new(); size]);
            shared.allocations.fetch_add(1, Ordering::AcqRel);
        }
        f(&mut self.blocks[..needed])
    }
}

fn worker(shared: &Shared, receiver: &Mutex<mpsc::Receiver<Job>>) {
    shared.lower_priority();
    let mut memory = Memory {
        blocks: Zeroizing::new(Vec::new()),
    };
    loop {
        let next = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(Job { work, reply, slot }) = next else {
            break; // every handle is gone
        };
        if reply.is_closed() {
            continue; // the caller went away: nobody waits for this result
        }
        let result = catch_unwind(AssertUnwindSafe(|| shared.execute(&mut memory, work)))
            .unwrap_or_else(|_| Err(Error::Internal("a hashing job panicked".into())));
        shared.jobs.fetch_add(1, Ordering::AcqRel);
        drop(slot);
        let _ = reply.send(result);
        shared.log_refusals();
    }
    memory.blocks.zeroize();
}
