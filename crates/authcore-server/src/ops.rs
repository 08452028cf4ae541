//! Operations of `authcore serve`: the readiness checks and the Prometheus text behind
//! `GET /readyz` and `GET /metrics` (routed by the core's route table, which calls [`Ops`]
//! through [`authcore_core::http::Operations`]; `GET /livez` is the core's), the separate
//! metrics listener, and the request metrics middleware.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authcore_core::http::{CheckResult, Operations, ReadinessCheck};
use authcore_core::{Authenticator, LockoutStore as _, UserAdmin as _, UserId};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::cli::BoxError;
use crate::options::Stores;

/// Request latency histogram: seconds, by route template, method and status.
const REQUEST_DURATION: &str = "authcore_http_request_duration_seconds";
/// Sign-in attempts (`POST /v1/users/authorize`), by outcome.
const SIGN_INS: &str = "authcore_sign_ins_total";
/// Errors logged by a store (`sql`) or the directory (`ldap`).
pub const STORE_ERRORS: &str = "authcore_store_errors_total";

/// What the operations endpoints look at.
#[derive(Debug, Clone)]
pub struct Ops {
    stores: Arc<Stores>,
    metrics: PrometheusHandle,
    ready_timeout: Duration,
    /// Whether `/metrics` is served on the users API's listener (not with `--metrics-listen`).
    metrics_here: bool,
}

/// Installs the process-wide Prometheus recorder (once per process).
///
/// # Errors
/// When a recorder is installed already.
pub fn install_recorder() -> Result<PrometheusHandle, BoxError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(REQUEST_DURATION.to_owned()),
            &[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
        )?
        .install_recorder()?;
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by route template, method and status"
    );
    metrics::describe_counter!(SIGN_INS, "Sign-in attempts by outcome");
    metrics::describe_counter!(
        STORE_ERRORS,
        "Errors reported by the SQL store (sql) or the directory (ldap)"
    );
    metrics::describe_gauge!("authcore_hashing_workers", "argon2 worker threads");
    metrics::describe_gauge!("authcore_hashing_busy", "argon2 workers running a job");
    metrics::describe_gauge!(
        "authcore_hashing_queue_depth",
        "argon2 jobs waiting for a worker"
    );
    metrics::describe_counter!(
        "authcore_hashing_rejections_total",
        "argon2 jobs refused (503) because their expected wait in the queue was over the deadline \
         (--hashing-max-wait-ms)"
    );
    metrics::describe_counter!(
        "authcore_sign_in_busy_refusals_total",
        "sign-in attempts refused unjudged (401) because their account already had the most \
         attempts in flight and waiting"
    );
    metrics::describe_counter!("authcore_hashing_jobs_total", "argon2 jobs run");
    // Present from the start, at zero.
    metrics::counter!(STORE_ERRORS, "store" => "sql").absolute(0);
    for outcome in [
        "success",
        "unauthorized",
        "password_expired",
        "invalid_request",
        "rate_limited",
        "unavailable",
        "error",
    ] {
        metrics::counter!(SIGN_INS, "outcome" => outcome).absolute(0);
    }
    Ok(handle)
}

impl Ops {
    /// The operations state; `ready_timeout` bounds each readiness check; `metrics_here`:
    /// `/metrics` on the users API's listener.
    pub fn new(
        stores: Arc<Stores>,
        metrics: PrometheusHandle,
        ready_timeout: Duration,
        metrics_here: bool,
    ) -> Self {
        metrics::counter!(STORE_ERRORS, "store" => "ldap").absolute(0);
        Self {
            stores,
            metrics,
            ready_timeout,
            metrics_here,
        }
    }

    /// `/metrics` alone, for the `--metrics-listen` listener.
    pub fn metrics_router(&self, auth: Authenticator) -> Router {
        Router::new()
            .route("/metrics", get(metrics_text))
            .with_state((self.clone(), auth))
    }
}

#[authcore_core::async_trait]
impl Operations for Ops {
    async fn readiness(&self, _auth: &Authenticator) -> Vec<ReadinessCheck> {
        readiness(self).await
    }

    fn serves_metrics(&self) -> bool {
        self.metrics_here
    }

    fn render_metrics(&self, auth: &Authenticator) -> String {
        render_metrics(self, auth)
    }
}

/// Each part must answer within the deadline: the user store (a read of the users table),
/// the lockout store (a read of the lockout table) and the directory (a bind), at once.
async fn readiness(ops: &Ops) -> Vec<ReadinessCheck> {
    let deadline = ops.ready_timeout;
    let sql = ops.stores.sql.clone();
    let users = async {
        if ops.stores.local_users {
            Some(check(deadline, "sql", async { sql.is_empty().await.map(|_| ()) }).await)
        } else {
            None
        }
    };
    let lockout = check(deadline, "sql", async {
        ops.stores.sql.state(&UserId::from(0)).await.map(|_| ())
    });
    let directory = async {
        match ops.stores.ldap.current() {
            Some(ldap) => Some(check(deadline, "ldap", ldap.check_connection()).await),
            None => None,
        }
    };
    let (users, lockout, directory) = tokio::join!(users, lockout, directory);
    [
        ("user_store", users),
        ("lockout_store", Some(lockout)),
        ("directory", directory),
    ]
    .into_iter()
    .filter_map(|(name, result)| result.map(|result| ReadinessCheck { name, result }))
    .collect()
}

/// `ok`, `timeout` or `unavailable` (no error text: it may name hosts or users). A probe cut
/// short by the deadline counts as an error of `store` here (the store had nothing to log
/// yet); a failed probe is counted here only for the directory: the SQL store logs every
/// failure it reports (a WARN of `authcore_sql`, counted like any other), the directory not
/// every one (a refused service bind, a timeout).
async fn check<E: std::fmt::Display>(
    deadline: Duration,
    store: &'static str,
    probe: impl Future<Output = Result<(), E>>,
) -> CheckResult {
    match tokio::time::timeout(deadline, probe).await {
        Ok(Ok(())) => CheckResult::Ok,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "readiness probe failed");
            if store != "sql" {
                metrics::counter!(STORE_ERRORS, "store" => store).increment(1);
            }
            CheckResult::Unavailable
        }
        Err(_) => {
            metrics::counter!(STORE_ERRORS, "store" => store).increment(1);
            CheckResult::Timeout
        }
    }
}

/// The separate listener's `/metrics` (the same text as the core's route).
async fn metrics_text(State((ops, auth)): State<(Ops, Authenticator)>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render_metrics(&ops, &auth),
    )
        .into_response()
}

fn render_metrics(ops: &Ops, auth: &Authenticator) -> String {
    let hashing = auth.hashing();
    let workers = hashing.config().concurrency;
    let in_flight = hashing.in_flight();
    let busy = in_flight.min(workers);
    metrics::gauge!("authcore_hashing_workers").set(workers as f64);
    metrics::gauge!("authcore_hashing_busy").set(busy as f64);
    metrics::gauge!("authcore_hashing_queue_depth").set((in_flight - busy) as f64);
    metrics::counter!("authcore_hashing_rejections_total").absolute(hashing.jobs_rejected());
    metrics::counter!("authcore_hashing_jobs_total").absolute(hashing.jobs_run());
    metrics::counter!("authcore_sign_in_busy_refusals_total").absolute(auth.busy_refusals());
    ops.metrics.render()
}

/// Records each request's latency by route template (never the raw path: it may hold a
/// uid), method and status, and the outcome of each sign-in.
pub async fn record(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    metrics::histogram!(
        REQUEST_DURATION,
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status.to_string()
    )
    .record(start.elapsed().as_secs_f64());
    if route == "/v1/users/authorize" && method == "POST" {
        return count_sign_in(res).await;
    }
    res
}

/// Counts a sign-in by outcome: `success`, or the error code of the answer (the core decides
/// it, in one place), read from the small JSON body of a refusal.
async fn count_sign_in(res: Response) -> Response {
    if res.status().is_success() {
        metrics::counter!(SIGN_INS, "outcome" => "success").increment(1);
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("error_code")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
        });
    // A fixed set of labels, whatever the body says.
    let outcome = match code.as_deref() {
        Some("unauthorized") => "unauthorized",
        Some("password_expired") => "password_expired",
        Some("invalid_request") => "invalid_request",
        Some("too_many_requests") => "rate_limited",
        Some("service_unavailable") => "unavailable",
        _ => "error",
    };
    metrics::counter!(SIGN_INS, "outcome" => outcome).increment(1);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
