//! Request ids, the request span (tower-http's `TraceLayer`) and the audit events of
//! administrative requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use authcore_core::Authenticator;
use authcore_core::http::{Authorization, parse_authorization};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::ratelimit::ClientResolver;

/// The request id header, read and answered.
pub const REQUEST_ID: &str = "x-request-id";

/// The request id of a request, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Takes the client's `X-Request-Id` when it is 1 to 128 visible ASCII characters, else
/// makes one (a UUID v4); puts it in the request (for the span) and on the response.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned);
    let id = given.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let value = HeaderValue::from_str(&id).ok();
    if let Some(v) = &value {
        req.headers_mut().insert(REQUEST_ID, v.clone());
    }
    req.extensions_mut().insert(RequestId(id));
    let mut res = next.run(req).await;
    if let Some(v) = value {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

/// The request span: `http_request` with the method, the route template and the request id
/// (never a header, a query or a body), and one "request finished" event with the status and
/// the latency.
#[allow(clippy::type_complexity)]
pub fn trace_layer() -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    impl Fn(&Request) -> Span + Clone,
    (),
    impl Fn(&Response, Duration, &Span) + Clone,
    (),
    (),
    (),
> {
    TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("<unmatched>", MatchedPath::as_str);
            let id = req
                .extensions()
                .get::<RequestId>()
                .map_or("", |r| r.0.as_str());
            tracing::info_span!(
                "http_request",
                method = %req.method(),
                route = %route,
                request_id = %id,
                status = tracing::field::Empty,
            )
        })
        .on_request(())
        .on_response(|res: &Response, latency: Duration, span: &Span| {
            let status = res.status().as_u16();
            span.record("status", status);
            let latency_ms = latency.as_millis();
            if status == 503 {
                // Overload refusals come by the thousand in a flood; the hashing engine logs
                // them in aggregate.
                tracing::debug!(status, latency_ms, "request finished");
            } else if status >= 500 {
                tracing::warn!(status, latency_ms, "request finished");
            } else {
                tracing::info!(status, latency_ms, "request finished");
            }
        })
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// What the audit middleware needs.
#[derive(Debug, Clone)]
pub struct Audit {
    /// To name the actor from its token.
    pub auth: Authenticator,
    /// To name the client address.
    pub clients: Arc<ClientResolver>,
}

/// Whether a request is an administrative act: any change under `/v1/users` except signing
/// in and refreshing a token (user created, updated — role, status, password reset —,
/// deleted, passwords changed, logouts), and any change of the run-time settings under
/// `/v1/cluster` (password and lockout policy, the directory) and `/v1/ldap_mappings`, and
/// whatever routes are added there later.
fn administrative(method: &Method, route: &str) -> bool {
    let under = |prefix: &str| {
        route == prefix
            || route
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    method != Method::GET
        && method != Method::HEAD
        && method != Method::OPTIONS
        && (under("/v1/users") || under("/v1/cluster") || under("/v1/ldap_mappings"))
        && route != "/v1/users/authorize"
        && route != "/v1/users/refresh_jwt"
}

/// One event on target `authcore::audit` per administrative request: the act (method and
/// route; a `?dry_run` is named, as it changes nothing), the actor (the token's uid and username; `anonymous` without a valid token; the
/// username of a password change is in its body and is not read here), the target uid from
/// the path, the client address, the request id and the outcome (status). Never a header
/// value, a body or a token.
pub async fn audit(State(audit): State<Audit>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let Some(route) = route.filter(|r| administrative(req.method(), r)) else {
        return next.run(req).await;
    };
    let method = req.method().clone();
    let actor = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| match parse_authorization(v.as_bytes()) {
            Ok(Authorization::Token(token)) => audit
                .auth
                .verify_token(&token)
                .ok()
                .map(|c| format!("uid {} ({})", c.sub, c.username)),
            // Checked by the handler; named here as claimed.
            Ok(Authorization::Basic { username, .. }) => Some(format!(
                "basic {}",
                username.chars().take(256).collect::<String>()
            )),
            Err(_) => None,
        })
        .unwrap_or_else(|| "anonymous".to_owned());
    let target = if route.contains("{uid}") {
        req.uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .chars()
            .take(64)
            .collect::<String>()
    } else {
        "-".to_owned()
    };
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| audit.clients.client(peer.ip(), req.headers()).to_string())
        .unwrap_or_default();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let dry_run = req.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next() == Some("dry_run"))
    });
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let outcome = if res.status().is_success() {
        "success"
    } else {
        "refused"
    };
    tracing::info!(
        target: "authcore::audit",
        act = %format!("{method} {route}{}", if dry_run { "?dry_run" } else { "" }),
        actor = %actor,
        target_uid = %target,
        client = %client,
        request_id = %request_id,
        outcome,
        status,
        "administrative request"
    );
    res
}
