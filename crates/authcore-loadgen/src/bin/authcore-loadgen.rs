//! The load generator: `t-verify`, `flood` and `report` (see the crate docs).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use authcore_loadgen::{FloodReport, Memory, Percentiles, Probe, proc_memory, svg, table};
use clap::{Parser, Subcommand};
use serde_json::json;
use tokio::task::JoinSet;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// authcore's sign-in benchmark, measured from outside the server.
#[derive(Debug, Parser)]
#[command(about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measures one argon2 `verify_password` (argon2 crate, argon2id) and prints the median
    /// in milliseconds as JSON (`t_verify_ms`). With `--threads N`, N threads verify at once
    /// (started together) and the median is over all their evaluations: what one costs when
    /// N cores are busy with argon2 side by side (memory bandwidth and caches are shared).
    /// `mean_ms` is the wall time per evaluation and thread (`threads x wall / evaluations`):
    /// with the slow tail a shared machine has, `threads / mean_ms` is what the cores
    /// actually verify per millisecond.
    TVerify {
        /// Verifications to time (per thread).
        #[arg(long, default_value_t = 40)]
        iterations: u32,
        /// Threads verifying at once.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Argon2 memory in KiB.
        #[arg(long, default_value_t = 19_456)]
        m_cost: u32,
        /// Argon2 iterations.
        #[arg(long, default_value_t = 2)]
        t_cost: u32,
    },
    /// Floods `POST /v1/users/authorize` with correct credentials from many connections while
    /// probing a token-protected route at a steady rate; writes a JSON report.
    Flood(FloodArgs),
    /// Prints reports side by side (Markdown) and draws them as SVG.
    Report {
        /// JSON reports written by `flood`.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where to write the SVG plot.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct FloodArgs {
    /// The server's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: String,
    /// A user that exists, with its password.
    #[arg(long)]
    username: String,
    #[arg(long)]
    password: String,
    /// The server's process id, for its memory.
    #[arg(long)]
    pid: u32,
    /// Label of this server in the report.
    #[arg(long)]
    label: String,
    /// Flooding connections (each sends its next sign-in as soon as the last one answers).
    #[arg(long, default_value_t = 200)]
    connections: usize,
    /// Seconds of flood.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Milliseconds between two probes of the protected route.
    #[arg(long, default_value_t = 20)]
    probe_interval_ms: u64,
    /// The protected route probed with the token.
    #[arg(long, default_value = "/v1/users/1")]
    probe_path: String,
    /// t_verify measured by `t-verify` in this run, in milliseconds.
    #[arg(long)]
    t_verify_ms: f64,
    /// t_verify with every core verifying at once (`t-verify --threads CORES`, its
    /// `mean_ms`) in this run, in milliseconds.
    #[arg(long)]
    t_verify_parallel_ms: Option<f64>,
    /// Hashing workers of the server (for the memory budget). Default: the number of cores.
    #[arg(long)]
    workers: Option<usize>,
    /// Argon2 memory of the server in KiB (for the memory budget).
    #[arg(long, default_value_t = 19_456)]
    m_cost: u64,
    /// Where to write the JSON report.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::TVerify {
            iterations,
            threads,
            m_cost,
            t_cost,
        } => t_verify(iterations, threads, m_cost, t_cost),
        Command::Flood(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(BoxError::from)
            .and_then(|rt| rt.block_on(flood(args))),
        Command::Report { reports, svg } => report(&reports, svg.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn t_verify(iterations: u32, threads: usize, m_cost: u32, t_cost: u32) -> Result<(), BoxError> {
    let params = Params::new(m_cost, t_cost, 1, None).map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let hash = argon
        .hash_password_with_salt(b"benchmark password", b"benchmark-salt16")
        .map_err(|e| e.to_string())?
        .to_string();
    let threads = threads.max(1);
    let start = std::sync::Barrier::new(threads);
    let started = Instant::now();
    let samples = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<Vec<f64>, String> {
                    let phc = Phc::new(&hash).map_err(|e| e.to_string())?;
                    start.wait();
                    let mut samples = Vec::new();
                    for _ in 0..iterations.max(1) {
                        let started = Instant::now();
                        argon
                            .verify_password(b"benchmark password", &phc)
                            .map_err(|e| e.to_string())?;
                        samples.push(started.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(samples)
                })
            })
            .collect();
        let mut all = Vec::new();
        for run in runs {
            all.extend(run.join().map_err(|_| "a verifying thread panicked")??);
        }
        Ok::<_, BoxError>(all)
    })?;
    let wall_s = started.elapsed().as_secs_f64();
    let p = Percentiles::of(&samples);
    println!(
        "{}",
        json!({
            "t_verify_ms": p.p50,
            "p99_ms": p.p99,
            "iterations": p.count,
            "threads": threads,
            "verifications_per_s": p.count as f64 / wall_s,
            "mean_ms": threads as f64 * wall_s * 1000.0 / p.count.max(1) as f64,
        })
    );
    Ok(())
}

fn report(paths: &[PathBuf], svg_path: Option<&std::path::Path>) -> Result<(), BoxError> {
    let mut reports = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let r: FloodReport = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a flood report: {e}", path.display()))?;
        reports.push(r);
    }
    print!("{}", table(&reports));
    if let Some(path) = svg_path {
        std::fs::write(path, svg(&reports))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn client() -> Result<reqwest::Client, BoxError> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1)
        .build()?)
}

/// Signs in until it works (the server may still be starting) and returns the token.
async fn token(args: &FloodArgs) -> Result<String, BoxError> {
    let client = client()?;
    let url = format!("{}/v1/users/authorize", args.url);
    let body = json!({ "username": args.username, "password": args.password });
    let mut last = String::new();
    for _ in 0..100 {
        match client.post(&url).json(&body).send().await {
            Ok(resp) if resp.status().as_u16() == 200 => {
                let v: serde_json::Value = resp.json().await?;
                if let Some(t) = v.get("access_token").and_then(|t| t.as_str()) {
                    return Ok(t.to_owned());
                }
                last = "no access_token in the answer".into();
            }
            Ok(resp) => last = format!("status {}", resp.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("cannot sign in to {url}: {last}").into())
}

#[derive(Default)]
struct ConnectionResult {
    ok_latency_ms: Vec<f64>,
    refused_latency_ms: Vec<f64>,
    other: u64,
    /// The other answers by status (0: transport error).
    other_statuses: std::collections::BTreeMap<u16, u64>,
    /// Completion second of each success.
    ok_at_s: Vec<u32>,
}

async fn flood(args: FloodArgs) -> Result<(), BoxError> {
    let (idle_kib, _) =
        proc_memory(args.pid).ok_or_else(|| format!("no process {} to measure", args.pid))?;
    let token = token(&args).await?;
    let duration = Duration::from_secs_f64(args.duration);
    let started = Instant::now();
    let end = started + duration;

    // Memory sampler.
    let peak = Arc::new(AtomicU64::new(idle_kib));
    let sampler = {
        let peak = Arc::clone(&peak);
        let pid = args.pid;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            while Instant::now() < end {
                tick.tick().await;
                if let Some((rss, _)) = proc_memory(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
            }
        })
    };

    // The flood: each connection sends its next sign-in as soon as the last one answers.
    let mut flooders = JoinSet::new();
    let url = format!("{}/v1/users/authorize", args.url);
    let body =
        serde_json::to_vec(&json!({ "username": args.username, "password": args.password }))?;
    for _ in 0..args.connections {
        let (url, body, client) = (url.clone(), body.clone(), client()?);
        flooders.spawn(async move {
            let mut out = ConnectionResult::default();
            while Instant::now() < end {
                let sent = Instant::now();
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let status = match resp {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                let done = Instant::now();
                if done > end {
                    break; // answered after the flood: not counted
                }
                let ms = (done - sent).as_secs_f64() * 1000.0;
                match status {
                    200 => {
                        out.ok_latency_ms.push(ms);
                        out.ok_at_s.push((done - started).as_secs_f64() as u32);
                    }
                    503 => out.refused_latency_ms.push(ms),
                    0 => {
                        out.other += 1;
                        *out.other_statuses.entry(0).or_default() += 1;
                        // A refused connection answers at once: do not spin on it.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    status => {
                        out.other += 1;
                        *out.other_statuses.entry(status).or_default() += 1;
                    }
                }
            }
            out
        });
    }

    // The probes: one request every interval, each on its own task so that a slow answer
    // does not delay the next probe.
    let probe_client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let probe_url = format!("{}{}", args.url, args.probe_path);
    let mut probes = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(args.probe_interval_ms.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while Instant::now() < end {
        tick.tick().await;
        let (client, url, token) = (probe_client.clone(), probe_url.clone(), token.clone());
        let at_s = started.elapsed().as_secs_f64();
        probes.spawn(async move {
            let sent = Instant::now();
            let status = match client.get(&url).bearer_auth(&token).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status
                }
                Err(_) => 0,
            };
            Probe {
                at_s,
                latency_ms: sent.elapsed().as_secs_f64() * 1000.0,
                status,
            }
        });
    }

    let mut all = ConnectionResult::default();
    while let Some(r) = flooders.join_next().await {
        let r = r?;
        all.ok_latency_ms.extend(r.ok_latency_ms);
        all.refused_latency_ms.extend(r.refused_latency_ms);
        all.ok_at_s.extend(r.ok_at_s);
        all.other += r.other;
        for (status, n) in r.other_statuses {
            *all.other_statuses.entry(status).or_default() += n;
        }
    }
    let mut probe_list = Vec::new();
    while let Some(p) = probes.join_next().await {
        probe_list.push(p?);
    }
    probe_list.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    sampler.abort();
    let (_, hwm_kib) = proc_memory(args.pid).unwrap_or((0, 0));

    let seconds = args.duration.ceil() as usize;
    let mut per_second = vec![0u64; seconds.max(1)];
    for s in &all.ok_at_s {
        if let Some(n) = per_second.get_mut(*s as usize) {
            *n += 1;
        }
    }
    let probe_ms: Vec<f64> = probe_list.iter().map(|p| p.latency_ms).collect();
    let report = FloodReport {
        label: args.label.clone(),
        connections: args.connections,
        duration_s: args.duration,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        t_verify_ms: args.t_verify_ms,
        signins_ok: all.ok_latency_ms.len() as u64,
        refused_503: all.refused_latency_ms.len() as u64,
        other: all.other,
        other_statuses: all
            .other_statuses
            .iter()
            .map(|(status, n)| {
                let name = if *status == 0 {
                    "error".to_owned()
                } else {
                    status.to_string()
                };
                (name, *n)
            })
            .collect(),
        t_verify_parallel_ms: args.t_verify_parallel_ms,
        signin_latency: Percentiles::of(&all.ok_latency_ms),
        refusal_latency: Percentiles::of(&all.refused_latency_ms),
        probe_latency: Percentiles::of(&probe_ms),
        probe_failures: probe_list.iter().filter(|p| p.status != 200).count(),
        probes: probe_list,
        signins_per_second: per_second,
        memory: Memory {
            idle_kib,
            peak_sampled_kib: peak.load(Ordering::Relaxed),
            hwm_kib,
        },
        workers: args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        m_cost_kib: args.m_cost,
    };
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    eprintln!(
        "{}: {:.1} sign-ins/s ({:.2} of the limit), {} refused, probe p99 {:.1} ms",
        report.label,
        report.signins_per_s(),
        report.fraction_of_limit(),
        report.refused_503,
        report.probe_latency.p99
    );
    Ok(())
}
