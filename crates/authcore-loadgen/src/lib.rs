//! The sign-in benchmark of authcore (issue #10): a closed-loop flood of
//! `POST /v1/users/authorize` from many connections while a token-protected route is probed at
//! a steady rate, measured from outside the server.
//!
//! - `authcore-loadgen t-verify` measures one argon2 `verify_password` (the physical limit of
//!   a host is `cores / t_verify` sign-ins per second);
//! - `authcore-loadgen flood` runs one flood against a running server and writes a
//!   [`FloodReport`] as JSON;
//! - `authcore-loadgen report` prints several reports side by side and draws the probe
//!   latency and the sign-in rate over time as SVG ([`svg`]);
//! - `authcore-naive-server` is the baseline: the same two routes, argon2 called on the async
//!   handler with no limit.
//!
//! `scripts/bench` at the root runs the whole set.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// One probe of the protected route.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Probe {
    /// When it was sent, in seconds since the flood started.
    pub at_s: f64,
    /// Its latency in milliseconds (the client's timeout for a request that failed).
    pub latency_ms: f64,
    /// The HTTP status (0 for a transport error).
    pub status: u16,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// How many samples.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// The percentiles of `samples` (nearest rank).
    #[must_use]
    pub fn of(samples: &[f64]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least q of the samples at or below it.
            let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
            sorted[rank.min(sorted.len()) - 1]
        };
        Self {
            count: sorted.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: sorted.last().copied().unwrap_or(0.0),
        }
    }
}

/// The server's memory, from `/proc/PID/status`, in KiB.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Memory {
    /// Resident set size before the first sign-in.
    pub idle_kib: u64,
    /// The largest resident set size sampled during the flood (every 20 ms).
    pub peak_sampled_kib: u64,
    /// The kernel's high-water mark of the resident set (`VmHWM`) at the end of the flood:
    /// catches a peak between two samples.
    pub hwm_kib: u64,
}

/// The result of one flood.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FloodReport {
    /// Which server (e.g. `reference`, `naive`).
    pub label: String,
    /// Concurrent flooding connections.
    pub connections: usize,
    /// Length of the flood in seconds.
    pub duration_s: f64,
    /// CPU cores of the machine.
    pub cores: usize,
    /// One argon2 `verify_password` with the server's parameters, measured in the same run.
    pub t_verify_ms: f64,
    /// Successful (200) sign-ins completed during the flood.
    pub signins_ok: u64,
    /// Refusals (503) during the flood.
    pub refused_503: u64,
    /// Other answers and transport errors during the flood.
    pub other: u64,
    /// The other answers by HTTP status (`"error"` for a transport error).
    #[serde(default)]
    pub other_statuses: BTreeMap<String, u64>,
    /// `t_verify` with every core verifying at once (`t-verify --threads cores`, the wall
    /// time per evaluation and thread), measured in the same run: what one evaluation costs
    /// when the workers run side by side, slow tail included. Absent when not measured.
    #[serde(default)]
    pub t_verify_parallel_ms: Option<f64>,
    /// Latency of the successful sign-ins.
    pub signin_latency: Percentiles,
    /// Latency of the refusals.
    pub refusal_latency: Percentiles,
    /// Latency of the protected-route probes.
    pub probe_latency: Percentiles,
    /// Probes that did not answer 200.
    pub probe_failures: usize,
    /// Every probe, for the plot.
    pub probes: Vec<Probe>,
    /// Successful sign-ins completed in each second of the flood.
    pub signins_per_second: Vec<u64>,
    /// The server's memory.
    pub memory: Memory,
    /// The hashing workers and argon2 memory (KiB) the memory budget is computed with.
    pub workers: usize,
    /// Argon2 memory per evaluation in KiB.
    pub m_cost_kib: u64,
}

impl FloodReport {
    /// Successful sign-ins per second.
    #[must_use]
    pub fn signins_per_s(&self) -> f64 {
        self.signins_ok as f64 / self.duration_s
    }

    /// The physical limit: `cores / t_verify`, in sign-ins per second.
    #[must_use]
    pub fn limit_per_s(&self) -> f64 {
        self.cores as f64 / (self.t_verify_ms / 1000.0)
    }

    /// Successful sign-ins per second as a fraction of the physical limit.
    #[must_use]
    pub fn fraction_of_limit(&self) -> f64 {
        self.signins_per_s() / self.limit_per_s()
    }

    /// What the cores can do when they all verify at once: `cores / t_verify_parallel`,
    /// in sign-ins per second (`None` when `t_verify_parallel_ms` was not measured).
    #[must_use]
    pub fn parallel_limit_per_s(&self) -> Option<f64> {
        self.t_verify_parallel_ms
            .filter(|t| *t > 0.0)
            .map(|t| self.cores as f64 / (t / 1000.0))
    }

    /// Successful sign-ins per second as a fraction of [`FloodReport::parallel_limit_per_s`].
    #[must_use]
    pub fn fraction_of_parallel_limit(&self) -> Option<f64> {
        self.parallel_limit_per_s()
            .map(|l| self.signins_per_s() / l)
    }

    /// The share of 503 answers among all answers during the flood.
    #[must_use]
    pub fn share_503(&self) -> f64 {
        let all = self.signins_ok + self.refused_503 + self.other;
        if all == 0 {
            0.0
        } else {
            self.refused_503 as f64 / all as f64
        }
    }

    /// The memory goal of issue #10: idle + workers x (m_cost + 1 MiB) + 32 MiB, in KiB.
    #[must_use]
    pub fn memory_budget_kib(&self) -> u64 {
        self.memory.idle_kib + self.workers as u64 * (self.m_cost_kib + 1024) + 32 * 1024
    }

    /// The peak resident set: the larger of the sampled peak and the high-water mark.
    #[must_use]
    pub fn peak_kib(&self) -> u64 {
        self.memory.peak_sampled_kib.max(self.memory.hwm_kib)
    }
}

/// Reads `VmRSS` and `VmHWM` (KiB) of a process from `/proc/PID/status`.
#[must_use]
pub fn proc_memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// A side-by-side table of reports, in Markdown.
#[must_use]
pub fn table(reports: &[FloodReport]) -> String {
    let mut out = String::new();
    let row = |out: &mut String, name: &str, cell: &dyn Fn(&FloodReport) -> String| {
        let _ = write!(out, "| {name} |");
        for r in reports {
            let _ = write!(out, " {} |", cell(r));
        }
        out.push('\n');
    };
    row(&mut out, "server", &|r| format!("**{}**", r.label));
    out.push_str("|---|");
    for _ in reports {
        out.push_str("---|");
    }
    out.push('\n');
    row(
        &mut out,
        "successful sign-ins/s / (cores / t_verify)",
        &|r| format!("**{:.2}**", r.fraction_of_limit()),
    );
    row(
        &mut out,
        "successful sign-ins/s / (cores / t_verify with all cores verifying)",
        &|r| {
            r.fraction_of_parallel_limit()
                .map_or_else(|| "-".to_owned(), |f| format!("**{f:.2}**"))
        },
    );
    row(&mut out, "successful sign-ins/s (limit)", &|r| {
        format!("{:.1} ({:.1})", r.signins_per_s(), r.limit_per_s())
    });
    row(&mut out, "503 share of answers", &|r| {
        format!(
            "{:.1}% ({} of {})",
            100.0 * r.share_503(),
            r.refused_503,
            r.signins_ok + r.refused_503 + r.other
        )
    });
    row(&mut out, "protected route p50 / p99 / max (ms)", &|r| {
        format!(
            "{:.1} / {:.1} / {:.1}",
            r.probe_latency.p50, r.probe_latency.p99, r.probe_latency.max
        )
    });
    row(&mut out, "probes not answered 200", &|r| {
        format!("{} of {}", r.probe_failures, r.probe_latency.count)
    });
    row(&mut out, "sign-in latency p50 / p99 (ms)", &|r| {
        format!("{:.0} / {:.0}", r.signin_latency.p50, r.signin_latency.p99)
    });
    row(&mut out, "503 latency p50 / p99 (ms)", &|r| {
        if r.refusal_latency.count == 0 {
            "-".to_owned()
        } else {
            format!(
                "{:.2} / {:.2}",
                r.refusal_latency.p50, r.refusal_latency.p99
            )
        }
    });
    row(&mut out, "peak RSS / budget (MiB)", &|r| {
        format!(
            "{:.1} / {:.1}",
            r.peak_kib() as f64 / 1024.0,
            r.memory_budget_kib() as f64 / 1024.0
        )
    });
    row(&mut out, "idle RSS (MiB)", &|r| {
        format!("{:.1}", r.memory.idle_kib as f64 / 1024.0)
    });
    row(&mut out, "other answers / errors", &|r| {
        if r.other_statuses.is_empty() {
            return r.other.to_string();
        }
        let by: Vec<String> = r
            .other_statuses
            .iter()
            .map(|(status, n)| format!("{n} x {status}"))
            .collect();
        format!("{} ({})", r.other, by.join(", "))
    });
    out
}

const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// Draws, for each report, the protected route's latency over time (log scale, one dot per
/// probe) and the successful sign-ins in each second, as a standalone SVG document.
#[must_use]
pub fn svg(reports: &[FloodReport]) -> String {
    const W: f64 = 900.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 20.0;
    const TOP1: f64 = 40.0;
    const H1: f64 = 260.0;
    const TOP2: f64 = TOP1 + H1 + 60.0;
    const H2: f64 = 160.0;
    let total_h = TOP2 + H2 + 50.0;
    let duration = reports.iter().map(|r| r.duration_s).fold(1.0_f64, f64::max);
    let x = |t: f64| LEFT + (t / duration).clamp(0.0, 1.0) * (W - LEFT - RIGHT);
    // Latency axis: 0.1 ms .. 10 s, log scale.
    let (lo, hi) = (0.1_f64.log10(), 10_000_f64.log10());
    let y1 = |ms: f64| TOP1 + H1 - ((ms.max(0.1).log10() - lo) / (hi - lo)).clamp(0.0, 1.0) * H1;
    let max_rate = reports
        .iter()
        .flat_map(|r| r.signins_per_second.iter().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.1;
    let y2 = |n: f64| TOP2 + H2 - (n / max_rate).clamp(0.0, 1.0) * H2;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{total_h}" viewBox="0 0 {W} {total_h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="{}" font-size="14">Protected route latency during the sign-in flood (one dot per probe, log scale)</text>"#,
        TOP1 - 15.0
    );
    for ms in [0.1, 1.0, 10.0, 100.0, 1000.0, 10_000.0] {
        let y = y1(ms);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{ms} ms</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="{}" font-size="14">Successful sign-ins per second</text>"#,
        TOP2 - 15.0
    );
    for i in 0..=4 {
        let n = max_rate * f64::from(i) / 4.0;
        let y = y2(n);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{n:.0}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let step = if duration > 30.0 { 10.0 } else { 5.0 };
    let mut t = 0.0;
    while t <= duration + 1e-9 {
        let xt = x(t);
        let _ = writeln!(
            s,
            r##"<text x="{xt:.1}" y="{:.1}" text-anchor="middle">{t:.0} s</text><text x="{xt:.1}" y="{:.1}" text-anchor="middle">{t:.0} s</text>"##,
            TOP1 + H1 + 16.0,
            TOP2 + H2 + 16.0
        );
        t += step;
    }
    for (i, r) in reports.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(s, r#"<g fill="{color}" fill-opacity="0.6">"#);
        for p in &r.probes {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="1.6"/>"#,
                x(p.at_s),
                y1(p.latency_ms)
            );
        }
        let _ = writeln!(s, "</g>");
        let mut points = String::new();
        for (sec, n) in r.signins_per_second.iter().enumerate() {
            let _ = write!(
                points,
                "{:.1},{:.1} {:.1},{:.1} ",
                x(sec as f64),
                y2(*n as f64),
                x(sec as f64 + 1.0),
                y2(*n as f64)
            );
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.trim_end()
        );
        let ly = total_h - 12.0;
        let lx = LEFT + 260.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{}" width="12" height="12" fill="{color}"/><text x="{}" y="{ly}">{}: p99 {:.1} ms, {:.0} sign-ins/s</text>"#,
            ly - 10.0,
            lx + 16.0,
            escape(&r.label),
            r.probe_latency.p99,
            r.signins_per_s()
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&samples);
        assert_eq!((p.count, p.p50, p.p99, p.max), (100, 50.0, 99.0, 100.0));
        let p = Percentiles::of(&[3.0]);
        assert_eq!((p.p50, p.p99), (3.0, 3.0));
        assert_eq!(Percentiles::of(&[]).count, 0);
    }

    #[test]
    fn reads_its_own_memory() {
        let (rss, hwm) = proc_memory(std::process::id()).unwrap();
        assert!(rss > 0 && hwm >= rss);
    }

    #[test]
    fn ratios_and_budget() {
        let r = FloodReport {
            label: "x<y".into(),
            connections: 200,
            duration_s: 10.0,
            cores: 2,
            t_verify_ms: 20.0,
            signins_ok: 950,
            refused_503: 50,
            other: 3,
            other_statuses: BTreeMap::from([("401".to_owned(), 2), ("error".to_owned(), 1)]),
            t_verify_parallel_ms: Some(25.0),
            signin_latency: Percentiles::default(),
            refusal_latency: Percentiles::default(),
            probe_latency: Percentiles::of(&[1.0, 2.0]),
            probe_failures: 0,
            probes: vec![Probe {
                at_s: 1.0,
                latency_ms: 2.0,
                status: 200,
            }],
            signins_per_second: vec![90, 100],
            memory: Memory {
                idle_kib: 10_000,
                peak_sampled_kib: 20_000,
                hwm_kib: 21_000,
            },
            workers: 2,
            m_cost_kib: 19_456,
        };
        assert!((r.limit_per_s() - 100.0).abs() < 1e-9);
        assert!((r.fraction_of_limit() - 0.95).abs() < 1e-9);
        assert!((r.share_503() - 50.0 / 1003.0).abs() < 1e-9);
        assert_eq!(
            r.memory_budget_kib(),
            10_000 + 2 * (19_456 + 1024) + 32 * 1024
        );
        assert_eq!(r.peak_kib(), 21_000);
        assert!((r.parallel_limit_per_s().unwrap() - 80.0).abs() < 1e-9);
        assert!((r.fraction_of_parallel_limit().unwrap() - 95.0 / 80.0).abs() < 1e-9);
        let svg = svg(std::slice::from_ref(&r));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("x&lt;y"));
        let t = table(&[r]);
        assert!(t.contains("| successful sign-ins/s / (cores / t_verify) | **0.95** |"));
        assert!(t.contains("all cores verifying) | **1.19** |"));
        assert!(t.contains("| other answers / errors | 3 (2 x 401, 1 x error) |"));
    }
}
