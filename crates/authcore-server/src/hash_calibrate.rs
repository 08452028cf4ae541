//! `authcore hash-calibrate`: measures argon2id on this host and proposes parameters.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use authcore_core::Argon2Params;
use clap::Args;

use crate::cli::BoxError;

/// Options of `authcore hash-calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The time one hash may take on one core, in milliseconds.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub target_ms: u64,

    /// The memory one hash may use, in MiB (each sign-in in flight holds this much).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_memory_mib: u32,
}

/// One measured setting.
#[derive(Debug, Clone, Copy)]
struct Measured {
    params: Argon2Params,
    time: Duration,
}

/// Measures and prints the strongest parameters within the target: all the memory allowed,
/// then as many iterations as fit; less memory when one iteration over all of it is too slow.
pub async fn run(args: CalibrateArgs) -> Result<ExitCode, BoxError> {
    let target = Duration::from_millis(args.target_ms);
    let max_kib = (args.max_memory_mib * 1024).min(Argon2Params::MAX.m_cost);
    let best = tokio::task::spawn_blocking(move || calibrate(target, max_kib)).await??;
    let p = best.params;
    let ms = best.time.as_secs_f64() * 1000.0;
    println!(
        "argon2id m={} KiB ({} MiB), t={}, p={}: {ms:.1} ms per hash on one core (target {} ms)",
        p.m_cost,
        p.m_cost / 1024,
        p.t_cost,
        p.p_cost,
        args.target_ms
    );
    println!(
        "about {:.0} sign-ins per second per core",
        1000.0 / ms.max(0.001)
    );
    println!(
        "flags: --argon2-memory-kib {} --argon2-iterations {} --argon2-parallelism {}",
        p.m_cost, p.t_cost, p.p_cost
    );
    if best.time > target {
        println!("note: even the weakest setting tried takes longer than the target on this host");
    }
    Ok(ExitCode::SUCCESS)
}

fn calibrate(target: Duration, max_kib: u32) -> Result<Measured, BoxError> {
    // OWASP's floor (19 MiB with t=2) or the memory allowed, whichever is less, as the
    // least memory tried before giving up on the target.
    let floor_kib = Argon2Params::DEFAULT.m_cost.min(max_kib);
    let mut m = max_kib;
    let mut best = measure(Argon2Params {
        m_cost: m,
        t_cost: 1,
        p_cost: 1,
    })?;
    while best.time > target && m > floor_kib {
        m = (m / 2).max(floor_kib);
        best = measure(Argon2Params {
            m_cost: m,
            t_cost: 1,
            p_cost: 1,
        })?;
    }
    while best.params.t_cost < Argon2Params::MAX.t_cost {
        let next = measure(Argon2Params {
            t_cost: best.params.t_cost + 1,
            ..best.params
        })?;
        if next.time > target {
            break;
        }
        best = next;
    }
    Ok(best)
}

/// The median of three hashes with `params`.
fn measure(params: Argon2Params) -> Result<Measured, BoxError> {
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(params.m_cost, params.t_cost, params.p_cost, Some(32))
            .map_err(|e| format!("argon2 parameters: {e}"))?,
    );
    let mut out = [0u8; 32];
    let mut times = [Duration::ZERO; 3];
    for t in &mut times {
        let start = Instant::now();
        argon
            .hash_password_into(b"calibration password", b"calibration salt", &mut out)
            .map_err(|e| format!("argon2: {e}"))?;
        *t = start.elapsed();
    }
    times.sort();
    Ok(Measured {
        params,
        time: times[1],
    })
}
