//! One argon2 evaluation: a stored hash checked against the maximum parameters and ready to
//! compute, and the measurement of what computing it cost.

use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::{Algorithm, Argon2, Params, Version};

use super::Argon2Params;
use crate::user::PasswordHash;

/// The start of an evaluation, to measure its cost: the CPU time of the worker thread where
/// the OS tells it (Linux: `/proc/thread-self/schedstat`, in nanoseconds), else wall time.
///
/// CPU time, because wall time includes the time the worker waited for a core: under a
/// flood of refusals (or another busy process) wall time grows, the expected wait with it,
/// the queue shrinks and refuses more, which feeds the flood. The cost of the work itself is
/// what `t_verify` means.
pub(super) struct Started {
    wall: Instant,
    cpu_ns: Option<u64>,
}

impl Started {
    pub(super) fn now() -> Self {
        Self {
            cpu_ns: thread_cpu_ns(),
            wall: Instant::now(),
        }
    }

    pub(super) fn elapsed(&self) -> Duration {
        match (self.cpu_ns, thread_cpu_ns()) {
            (Some(a), Some(b)) if b >= a => Duration::from_nanos(b - a),
            _ => self.wall.elapsed(),
        }
    }
}

/// The CPU time of the calling thread in nanoseconds (Linux), from its scheduler statistics.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// A stored hash that may be computed: argon2, parameters within the maximum, salt and
/// output present.
pub(super) struct Stored {
    pub(super) phc: Phc,
    pub(super) argon: Argon2<'static>,
    pub(super) params: Argon2Params,
    /// argon2id v1.3: no re-hash needed for the algorithm's sake.
    pub(super) current: bool,
}

impl Stored {
    pub(super) fn parse(stored: &PasswordHash, max: &Argon2Params) -> Option<Self> {
        let phc = Phc::new(stored.expose_phc()).ok()?;
        let algorithm = Algorithm::try_from(phc.algorithm.as_str()).ok()?;
        let version = match phc.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let p = Params::try_from(&phc).ok()?;
        let params = Argon2Params {
            m_cost: p.m_cost(),
            t_cost: p.t_cost(),
            p_cost: p.p_cost(),
        };
        if !params.within(max) {
            tracing::warn!(
                m_cost = params.m_cost,
                t_cost = params.t_cost,
                p_cost = params.p_cost,
                "stored password hash exceeds the configured maximum parameters; not computed"
            );
            return None;
        }
        if phc.salt.as_ref()?.as_ref().len() < argon2::MIN_SALT_LEN || phc.hash.is_none() {
            return None;
        }
        Some(Self {
            argon: Argon2::new(algorithm, version, p),
            current: algorithm == Algorithm::Argon2id && version == Version::V0x13,
            params,
            phc,
        })
    }
}
