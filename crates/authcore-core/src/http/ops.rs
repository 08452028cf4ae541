//! The operations routes, `GET /livez`, `GET /readyz` and `GET /metrics`: in the route table
//! (so the OpenAPI document and every adapter have them) and answered from the hooks an
//! embedding server fills in ([`Operations`], set with
//! [`crate::AuthenticatorBuilder::operations`]). Without hooks the routes do not exist (404),
//! so an application that merges the users API keeps its own health routes.

use std::fmt;

use async_trait::async_trait;
use serde::Serialize;

use super::response::ApiResponse;
use crate::authenticator::Authenticator;

/// The result of one readiness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// Answered in time.
    Ok,
    /// No answer within the deadline.
    Timeout,
    /// Answered with an error (its text is logged, never sent: it may name hosts or users).
    Unavailable,
}

/// One readiness check: its name (`user_store`, `lockout_store`, `directory`, ...) and result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadinessCheck {
    /// The name, a key of the `checks` object.
    pub name: &'static str,
    /// The result.
    pub result: CheckResult,
}

/// What the operations routes ask the embedding server (the `authcore` binary fills them with
/// its stores and its Prometheus recorder).
#[async_trait]
pub trait Operations: Send + Sync + fmt::Debug {
    /// `GET /readyz`: run the checks (each bounded by the server's own deadline). Ready when
    /// every result is [`CheckResult::Ok`].
    async fn readiness(&self, auth: &Authenticator) -> Vec<ReadinessCheck>;

    /// Whether `GET /metrics` is served by the users API's listener (`false` when the server
    /// serves its metrics elsewhere: the route is then a 404).
    fn serves_metrics(&self) -> bool;

    /// `GET /metrics`: the Prometheus text exposition.
    fn render_metrics(&self, auth: &Authenticator) -> String;
}

/// `GET /livez`: 200 `{"status":"ok"}` while the process answers.
#[must_use]
pub fn livez() -> ApiResponse {
    ApiResponse::json(200, &serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: 200 `{"status":"ready","checks":{..}}`, or 503
/// `{"status":"not_ready","failing":[..],"checks":{..}}`.
pub async fn readyz(auth: &Authenticator) -> ApiResponse {
    let Some(ops) = auth.operations() else {
        return ApiResponse::not_found();
    };
    let results = ops.readiness(auth).await;
    let mut checks = serde_json::Map::new();
    let mut failing = Vec::new();
    for check in &results {
        if check.result != CheckResult::Ok {
            failing.push(check.name);
        }
        checks.insert(check.name.to_owned(), serde_json::json!(check.result));
    }
    if failing.is_empty() {
        ApiResponse::json(
            200,
            &serde_json::json!({"status": "ready", "checks": checks}),
        )
    } else {
        tracing::warn!(?failing, "not ready");
        ApiResponse::json(
            503,
            &serde_json::json!({"status": "not_ready", "failing": failing, "checks": checks}),
        )
    }
}

/// `GET /metrics`: the embedding server's Prometheus text
/// (`text/plain; version=0.0.4; charset=utf-8`).
#[must_use]
pub fn metrics(auth: &Authenticator) -> ApiResponse {
    match auth.operations() {
        Some(ops) if ops.serves_metrics() => ApiResponse {
            status: 200,
            headers: vec![(
                "content-type",
                "text/plain; version=0.0.4; charset=utf-8".to_owned(),
            )],
            body: ops.render_metrics(auth).into_bytes(),
        },
        _ => ApiResponse::not_found(),
    }
}

pub(super) fn with_operations(auth: &Authenticator) -> bool {
    auth.operations().is_some()
}

pub(super) fn with_metrics(auth: &Authenticator) -> bool {
    auth.operations().is_some_and(|ops| ops.serves_metrics())
}
