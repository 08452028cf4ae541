//! The route table and the one dispatch every adapter calls.
//!
//! An adapter hands over the method, the path (without the query), the `Authorization` and
//! `Content-Type` header values, the raw query string and the body; the core answers 404 for
//! an unknown path, 405 with `Allow` for a known path and another method, parses `{uid}`
//! (percent-decoded, UTF-8) and calls the endpoint, which reads the query it understands
//! (`?dry_run`). Adding a route is one [`Route`] row in [`ROUTE_TABLE`] (and the endpoint
//! function it names).
//!
//! ```
//! # async fn demo(auth: authcore_core::Authenticator) {
//! use authcore_core::http::{RequestParts, dispatch};
//! let res = dispatch(&auth, "GET", "/nope", RequestParts::default()).await;
//! assert_eq!(res.status, 404);
//! let res = dispatch(&auth, "PATCH", "/v1/users/7", RequestParts::default()).await;
//! assert_eq!((res.status, res.header("allow")), (405, Some("GET, PUT, DELETE")));
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;

use super::endpoints::{RequestParts, authenticate, into_response};
use super::header::{Authorization, parse_authorization};
use super::openapi::OperationDoc;
use super::path::{match_template, percent_decode, specificity};
use super::response::ApiResponse;
pub use super::table::ROUTE_TABLE;
use crate::authenticator::Authenticator;
use crate::error::Error;
use crate::permission::{Access, Authorized};
use crate::user::UserId;

/// The future an endpoint returns.
pub type EndpointFuture<'a> = Pin<Box<dyn Future<Output = ApiResponse> + Send + 'a>>;

/// An endpoint: the authenticator and the routed request in, the response out.
pub type Handler = for<'a> fn(&'a Authenticator, &'a RoutedRequest<'a>) -> EndpointFuture<'a>;

/// A request after routing: the parts the adapter read, the path parameters and, for a route
/// that names a permission, the caller the dispatch let through.
#[derive(Debug, Clone, Default)]
pub struct RoutedRequest<'a> {
    /// Headers and body.
    pub parts: RequestParts<'a>,
    /// The path parameters by name (`uid`), percent-decoded.
    pub params: Vec<(&'static str, String)>,
    /// The caller, decided by [`Authenticator::decide`] for the route's [`Route::access`]
    /// (`None` for a route that names no permission).
    pub caller: Option<Authorized>,
}

impl RoutedRequest<'_> {
    /// A path parameter (`""` when the route has none of that name).
    #[must_use]
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// One method on one path template, and the endpoint that answers it.
#[derive(Clone, Copy)]
pub struct Route {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template (`{param}` segments, as in OpenAPI and axum 0.8).
    pub path: &'static str,
    /// What the caller needs. For a permission, the dispatch authenticates the caller
    /// (token or Basic) and decides ([`Authenticator::decide`], on the current role, with
    /// `{uid}` as the self-service target) before the body is read and the endpoint runs.
    pub access: Access,
    /// Whether the endpoint itself checks a password from the request, whatever the caller
    /// (the sign-in and the password operations). With HTTP Basic credentials, a route whose
    /// access needs a caller checks one too: see [`Route::checks_password_with`].
    pub checks_password: bool,
    /// Whether the endpoint reads the body (the adapter reads it, within its limit, only
    /// then).
    pub reads_body: bool,
    /// Whether the route is served by this authenticator (the JWKS route needs public keys,
    /// the operations routes the embedding server's [`super::Operations`]).
    pub enabled: fn(&Authenticator) -> bool,
    /// Whether the answer is marked `Cache-Control: no-store` (every users-API answer; not
    /// the documents nor the operations routes).
    pub no_store: bool,
    /// The errors the endpoint can answer, beyond those [`Route::answers`] adds for the
    /// route's access and body: their status and code are [`Error::http_status`] and
    /// [`Error::error_code`] (the values carry no meaning beyond their kind).
    pub errors: &'static [Error],
    /// What the OpenAPI document says of the route beyond the table's facts.
    pub doc: &'static OperationDoc,
    /// The endpoint.
    pub handler: Handler,
}

/// What the dispatch answers for a route that names a permission, before the endpoint runs:
/// a malformed `Authorization` header, no or wrong credentials, an expired password or a
/// rate-limited sign-in (Basic), the permission refused, the store down.
const CALLER_ERRORS: &[Error] = &[
    Error::InvalidRequest(String::new()),
    Error::Unauthorized,
    Error::PasswordExpired,
    Error::Forbidden,
    Error::TooManyRequests {
        retry_after: std::time::Duration::ZERO,
    },
    Error::Overloaded {
        retry_after: std::time::Duration::ZERO,
    },
];

impl Route {
    /// Whether a request to this route with this `Authorization` header value checks a
    /// password (an argon2 evaluation, a guess like any other, which an embedding server's
    /// per-client limit counts): always for [`Route::checks_password`], and for a route
    /// whose [`Route::access`] needs a caller when the header holds HTTP Basic credentials
    /// (the dispatch signs them in). A token checks no password.
    #[must_use]
    pub fn checks_password_with(&self, authorization: Option<&[u8]>) -> bool {
        self.checks_password
            || (self.access.needs_caller()
                && authorization.is_some_and(|value| {
                    matches!(parse_authorization(value), Ok(Authorization::Basic { .. }))
                }))
    }

    /// Every error status and code this route can answer: its [`Route::errors`], those of
    /// the caller decision when it names a permission, `invalid_request` and the adapter's
    /// 413 `payload_too_large` when it reads a body, 405 `method_not_allowed` for another
    /// method on its path, and 500 `internal_error` (a response that failed to serialize).
    #[must_use]
    pub fn answers(&self) -> Vec<(u16, &'static str)> {
        let mut errors: Vec<&Error> = self.errors.iter().collect();
        if self.access.needs_caller() {
            errors.extend(CALLER_ERRORS);
        }
        let internal = Error::Internal(String::new());
        errors.push(&internal);
        let mut out: Vec<(u16, &'static str)> = errors
            .into_iter()
            .map(|e| (e.http_status(), e.error_code()))
            .collect();
        if self.reads_body {
            out.push((400, "invalid_request"));
            out.push((413, "payload_too_large"));
        }
        out.push((405, "method_not_allowed"));
        let mut seen = Vec::with_capacity(out.len());
        out.retain(|a| {
            let new = !seen.contains(a);
            seen.push(*a);
            new
        });
        out
    }
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("access", &self.access)
            .field("checks_password", &self.checks_password)
            .field("reads_body", &self.reads_body)
            .field("no_store", &self.no_store)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

/// The route a method and path resolved to, with its parameters: ask it whether to read the
/// body, then [`Matched::respond`] (or, for a body the adapter refuses,
/// [`Matched::payload_too_large`] or [`Matched::unreadable_body`]: every answer of a route
/// carries its headers).
#[derive(Debug, Clone)]
pub struct Matched {
    route: &'static Route,
    params: Vec<(&'static str, String)>,
}

impl Matched {
    /// The route's path template (for logs and metrics: never the raw path).
    #[must_use]
    pub fn template(&self) -> &'static str {
        self.route.path
    }

    /// Whether the endpoint reads the body.
    #[must_use]
    pub fn reads_body(&self) -> bool {
        self.route.reads_body
    }

    /// The route's access requirement.
    #[must_use]
    pub fn access(&self) -> Access {
        self.route.access
    }

    /// `413 payload_too_large` for a body over `limit` bytes, as the route answers it
    /// (`Cache-Control: no-store` on the users API): for an adapter that refuses the body
    /// itself.
    #[must_use]
    pub fn payload_too_large(&self, limit: usize) -> ApiResponse {
        finish(self.route, ApiResponse::payload_too_large(limit))
    }

    /// `400 invalid_request` for a body the transport could not read, as the route answers
    /// it (`Cache-Control: no-store` on the users API).
    #[must_use]
    pub fn unreadable_body(&self) -> ApiResponse {
        finish(self.route, ApiResponse::unreadable_body())
    }

    /// Whether the request checks a password ([`Route::checks_password_with`]).
    #[must_use]
    pub fn checks_password(&self, authorization: Option<&[u8]>) -> bool {
        self.route.checks_password_with(authorization)
    }

    /// Decides on the caller when the route names a permission (401 or 403 answered here,
    /// before the endpoint runs), then calls the endpoint.
    pub async fn respond(self, auth: &Authenticator, parts: RequestParts<'_>) -> ApiResponse {
        let caller = if self.route.access.needs_caller() {
            match decide(auth, self.route.access, &parts, &self.params).await {
                Ok(caller) => Some(caller),
                Err(res) => return finish(self.route, res),
            }
        } else {
            None
        };
        let req = RoutedRequest {
            parts,
            params: self.params,
            caller,
        };
        let res = (self.route.handler)(auth, &req).await;
        finish(self.route, res)
    }
}

/// Users-API answers are never cached (the documents are).
fn finish(route: &Route, mut res: ApiResponse) -> ApiResponse {
    if route.no_store {
        res.forbid_caching();
    }
    res
}

/// The one decision of a route that names a permission: the caller authenticated (token or
/// Basic), then [`Authenticator::decide`] on its current role, `{uid}` the self-service
/// target.
async fn decide(
    auth: &Authenticator,
    access: Access,
    parts: &RequestParts<'_>,
    params: &[(&'static str, String)],
) -> Result<Authorized, ApiResponse> {
    let claims = authenticate(auth, parts.authorization)
        .await
        .map_err(|e| into_response(Err(e)))?;
    let target = params
        .iter()
        .find(|(name, _)| *name == "uid")
        .map(|(_, uid)| UserId::new(uid.as_str()));
    auth.decide(&claims, access, target.as_ref())
        .await
        .map_err(|e| into_response(Err(e)))
}

/// Resolves a method and a path (without the query) against [`ROUTE_TABLE`]. `HEAD` is
/// answered as `GET` (the adapter drops the body).
///
/// # Errors
/// The response to send instead: 404 `not_found` for an unknown path, 405
/// `method_not_allowed` with `Allow`, 400 `invalid_request` for a parameter that is not UTF-8
/// once percent-decoded (the last two `Cache-Control: no-store` on a users-API path, as the
/// route's [`Route::no_store`] says).
pub fn find_route(auth: &Authenticator, method: &str, path: &str) -> Result<Matched, ApiResponse> {
    let method = if method == "HEAD" { "GET" } else { method };
    // The most specific template wins, as in axum: a literal segment beats a parameter
    // (`/v1/users/authorize` is never `/v1/users/{uid}` with uid "authorize").
    let Some(template) = ROUTE_TABLE
        .iter()
        .filter(|r| (r.enabled)(auth) && match_template(r.path, path).is_some())
        .map(|r| r.path)
        .max_by_key(|t| specificity(t))
    else {
        return Err(ApiResponse::not_found());
    };
    let candidates = || {
        ROUTE_TABLE
            .iter()
            .filter(move |r| r.path == template && (r.enabled)(auth))
    };
    let Some(route) = candidates().find(|r| r.method == method) else {
        let allowed: Vec<&str> = candidates().map(|r| r.method).collect();
        let mut res = ApiResponse::method_not_allowed(&allowed);
        // The path's answers are not cached, whatever the method.
        if candidates().any(|r| r.no_store) {
            res.forbid_caching();
        }
        return Err(res);
    };
    let mut params = Vec::new();
    for (name, value) in match_template(route.path, path).unwrap_or_default() {
        let decoded = percent_decode(value).ok_or_else(|| {
            finish(
                route,
                ApiResponse::error(&Error::InvalidRequest(format!(
                    "the {name} in the path is not valid UTF-8"
                ))),
            )
        })?;
        params.push((name, decoded));
    }
    Ok(Matched { route, params })
}

/// Whether a request checks a password ([`Route::checks_password_with`]), for a middleware
/// that knows the method and the route template the request matched (axum's `MatchedPath`)
/// but not the path: the route of [`ROUTE_TABLE`] with that method (`HEAD` as `GET`) and
/// template. `false` when there is none (a 404 or a 405 checks nothing).
#[must_use]
pub fn checks_password(method: &str, template: &str, authorization: Option<&[u8]>) -> bool {
    let method = if method == "HEAD" { "GET" } else { method };
    ROUTE_TABLE
        .iter()
        .find(|r| r.method == method && r.path == template)
        .is_some_and(|r| r.checks_password_with(authorization))
}

/// Routes and answers one request: [`find_route`], then the endpoint.
pub async fn dispatch(
    auth: &Authenticator,
    method: &str,
    path: &str,
    parts: RequestParts<'_>,
) -> ApiResponse {
    match find_route(auth, method, path) {
        Ok(matched) => matched.respond(auth, parts).await,
        Err(res) => res,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_method_pair_is_unique() {
        for (i, a) in ROUTE_TABLE.iter().enumerate() {
            for b in &ROUTE_TABLE[i + 1..] {
                assert!((a.method, a.path) != (b.method, b.path), "{a:?}");
            }
        }
    }

    /// Every route, against what it does: the sign-in and the password operations check the
    /// password in the request whatever the caller; a route whose access needs a caller signs
    /// in HTTP Basic credentials (a password check) but only verifies a token; nothing else
    /// checks a password. The rate limit of the `authcore` server counts exactly these.
    #[test]
    fn every_route_says_whether_it_checks_a_password() {
        use super::super::{AUTHORIZE_PATH, PASSWORD_PATH};
        let basic: &[u8] = b"Basic YW5uQGV4YW1wbGUub3JnOnMzY3JldA==";
        let token: &[u8] = b"JWT eyJ.x.y";
        let malformed: &[u8] = b"Basic !!!";
        for route in ROUTE_TABLE {
            let sign_in = (route.method, route.path) == ("POST", AUTHORIZE_PATH)
                || route.path == PASSWORD_PATH;
            let signs_in_basic = sign_in || route.access.needs_caller();
            assert_eq!(route.checks_password, sign_in, "{route:?}");
            assert_eq!(
                route.checks_password_with(Some(basic)),
                signs_in_basic,
                "{route:?}"
            );
            for other in [None, Some(token), Some(malformed)] {
                assert_eq!(route.checks_password_with(other), sign_in, "{route:?}");
            }
            // The lookup by method and template is the route's own answer.
            for auth in [None, Some(token), Some(basic)] {
                assert_eq!(
                    checks_password(route.method, route.path, auth),
                    route.checks_password_with(auth),
                    "{route:?}"
                );
            }
            // A route that can count documents the 429 of the limit, and only such a route.
            let documents_429 = route.answers().contains(&(429, "too_many_requests"));
            assert_eq!(documents_429, signs_in_basic, "{route:?}");
        }
        // HEAD is GET; a method or a template the table lacks (a 405, a 404) checks nothing.
        assert!(checks_password("HEAD", "/v1/users", Some(basic)));
        assert!(!checks_password("PATCH", "/v1/users/{uid}", Some(basic)));
        assert!(!checks_password(
            "POST",
            "/v1/users/authorize/x",
            Some(basic)
        ));
    }
}
