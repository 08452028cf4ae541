//! # authcore-axum
//!
//! The axum adapter of authcore: a [`Router`] serving the Redis Enterprise compatible users
//! API (`/v1/users/authorize`, `/v1/users/refresh_jwt`, `/v1/users/logout`,
//! `/v1/users/password`, `/v1/users`,
//! `/v1/users/{uid}`, `/v1/openapi.json`, and `/.well-known/jwks.json` with asymmetric keys),
//! and extractors for an application's own routes: [`Authenticated`] (a verified `JWT` or
//! `Bearer` token, the stateless check), [`Fresh`] (the token checked against current state:
//! logout, password change, demotion and deletion honoured at once) and [`RequireRole`] (403
//! unless the role is allowed; stateless by default, `RequireRole<R, FreshCheck>` for the
//! current role), and [`RequirePermission`] (403 unless the caller's *current* role holds a
//! permission of the authenticator's [`authcore_core::PermissionPolicy`]).
//!
//! This crate is glue: statuses, error codes and bodies come from
//! [`authcore_core::http`], so any other adapter built on it answers byte-for-byte the same
//! (its tests run `authcore_testkit::adapters`, the conformance suite for adapters).
//! Every error is JSON `{"error_code","message"}`, also unknown routes (404), wrong methods
//! (405), bodies over the limit (413) and malformed input (400). Each request runs in a
//! `tracing` span with its method, route template and status, never a header or a body.
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//! use authcore_axum::{Authenticated, UsersApi};
//! use authcore_core::{Authenticator, Key, KeyRing, HashingConfig};
//! use authcore_core::secrecy::SecretSlice;
//! use authcore_memory::MemoryStore;
//! use axum::{Router, routing::get};
//!
//! # fn main() -> authcore_core::Result<()> {
//! let store = Arc::new(MemoryStore::new());
//! let auth = Authenticator::builder()
//!     .store(store.clone())
//!     .lockout_store(store)
//!     .hashing(HashingConfig::insecure_fast()) // tests only
//!     .keys(KeyRing::new(Key::hs256("k1", &SecretSlice::from(vec![7u8; 32]))?)?)
//!     .build()?;
//!
//! // The application's own protected route, with the authenticator as its state.
//! async fn whoami(Authenticated(claims): Authenticated) -> String {
//!     format!("hello {}", claims.username)
//! }
//! let app: Router = Router::new()
//!     .route("/whoami", get(whoami))
//!     .with_state(auth.clone())
//!     .merge(UsersApi::new(auth).body_limit(16 * 1024).into_router());
//! # let _ = app;
//! // axum::serve(tokio::net::TcpListener::bind("127.0.0.1:8080").await?, app).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

use std::marker::PhantomData;
use std::time::Instant;

use authcore_core::http::{self as core_http, ApiResponse, RequestParts};
use authcore_core::{Access, Authenticator, Authorized, Claims, Error, FreshIdentity, Role};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{
    DefaultBodyLimit, FromRef, FromRequest, FromRequestParts, MatchedPath, Request, State,
};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tracing::Instrument as _;

pub use authcore_core::http::DEFAULT_BODY_LIMIT;

/// An [`ApiResponse`] as an axum response: status, headers and body copied as they are.
#[derive(Debug, Clone)]
pub struct Reply(pub ApiResponse);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let ApiResponse {
            status,
            headers,
            body,
        } = self.0;
        let mut res = Response::new(axum::body::Body::from(body));
        *res.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                res.headers_mut().append(n, v);
            }
        }
        res
    }
}

impl From<Error> for Reply {
    fn from(err: Error) -> Self {
        Self(ApiResponse::error(&err))
    }
}

/// The state of the users API routes.
#[derive(Debug, Clone)]
struct ApiState {
    auth: Authenticator,
    body_limit: usize,
}

impl FromRef<ApiState> for Authenticator {
    fn from_ref(state: &ApiState) -> Self {
        state.auth.clone()
    }
}

/// Builds the users API [`Router`].
#[derive(Debug, Clone)]
pub struct UsersApi {
    auth: Authenticator,
    body_limit: usize,
    fallback: bool,
    request_span: bool,
}

/// The users API with default options: `UsersApi::new(auth).into_router()`.
pub fn router(auth: Authenticator) -> Router {
    UsersApi::new(auth).into_router()
}

impl UsersApi {
    /// Defaults: a [`DEFAULT_BODY_LIMIT`] body limit and a JSON 404 fallback.
    #[must_use]
    pub fn new(auth: Authenticator) -> Self {
        Self {
            auth,
            body_limit: DEFAULT_BODY_LIMIT,
            fallback: true,
            request_span: true,
        }
    }

    /// Sets the largest request body, in bytes; larger ones get 413 `payload_too_large`.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Leaves out the JSON 404 fallback, for merging into an application that has its own
    /// (axum refuses to merge two routers that both have one).
    #[must_use]
    pub fn without_fallback(mut self) -> Self {
        self.fallback = false;
        self
    }

    /// Leaves out the request span and the "request finished" event, for an application that
    /// traces requests itself (the `authcore` server uses tower-http's `TraceLayer`).
    #[must_use]
    pub fn without_request_span(mut self) -> Self {
        self.request_span = false;
        self
    }

    /// The router, with its state applied: merge it into an application or serve it alone.
    pub fn into_router(self) -> Router {
        let state = ApiState {
            body_limit: self.body_limit,
            auth: self.auth,
        };
        // The paths come from the core's table so that `MatchedPath` names the route
        // template (for logs and metrics); routing itself is the core's `find_route`.
        let mut router = Router::new();
        for spec in core_http::routes(&state.auth) {
            router = router.route(spec.path, any(shuttle));
        }
        if self.fallback {
            router = router.fallback(shuttle);
        }
        router = router.layer(DefaultBodyLimit::max(self.body_limit));
        if self.request_span {
            router = router.layer(middleware::from_fn(trace_request));
        }
        router.with_state(state)
    }
}

/// Moves one request into the core's dispatch and its answer back: the core routes (404,
/// 405 with `Allow`, `{uid}`), the adapter only reads the body when the route wants it.
async fn shuttle(State(state): State<ApiState>, req: Request) -> Reply {
    let matched = match core_http::find_route(&state.auth, req.method().as_str(), req.uri().path())
    {
        Ok(matched) => matched,
        Err(res) => return Reply(res),
    };
    let (parts, body) = req.into_parts();
    let body = if matched.reads_body() {
        let req = Request::from_parts(parts.clone(), body);
        match body_or_reply(
            &matched,
            Bytes::from_request(req, &state).await,
            state.body_limit,
        ) {
            Ok(body) => body,
            Err(reply) => return reply,
        }
    } else {
        Bytes::new()
    };
    let parts = RequestParts {
        authorization: parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes),
        content_type: parts.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes),
        body: &body,
        query: parts.uri.query(),
    };
    Reply(matched.respond(&state.auth, parts).await)
}

/// The JSON 404 for unknown routes; usable as an application's own fallback.
pub async fn not_found() -> Reply {
    Reply(ApiResponse::not_found())
}

/// The JSON 405 for an application's own routes:
/// `Router::new().route(..).method_not_allowed_fallback(authcore_axum::method_not_allowed)`.
/// axum adds the `Allow` header.
pub async fn method_not_allowed() -> Reply {
    let mut res = ApiResponse::method_not_allowed(&[]);
    res.headers.retain(|(name, _)| *name != "allow");
    Reply(res)
}

/// A request span with the method and the route template (never a header, a query or a body),
/// and one event with the status and latency.
async fn trace_request(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!(
        "http_request",
        method = %req.method(),
        route = %route,
        status = tracing::field::Empty,
    );
    let started = Instant::now();
    async move {
        let res = next.run(req).await;
        let status = res.status().as_u16();
        tracing::Span::current().record("status", status);
        let latency_ms = started.elapsed().as_millis();
        if status == 503 {
            // Overload refusals come by the thousand in a flood; the hashing engine logs them
            // in aggregate, a store outage is logged with its cause where it is answered.
            tracing::debug!(status, latency_ms, "request finished");
        } else if status >= 500 {
            tracing::warn!(status, latency_ms, "request finished");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
        res
    }
    .instrument(span)
    .await
}

/// The raw body, or the route's JSON error for a body over the limit or unreadable.
fn body_or_reply(
    matched: &core_http::Matched,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Bytes, Reply> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Reply(matched.payload_too_large(limit))
        } else {
            Reply(matched.unreadable_body())
        }
    })
}

/// The verified claims of a `JWT <token>` or `Bearer <token>` `Authorization` header.
///
/// Rejects with 401 `unauthorized` (missing header, other scheme, invalid or expired token)
/// or 400 `invalid_request` (malformed header), as JSON. Only the token is checked (no store
/// lookup): a logged-out token, or one of a user since deleted, demoted or whose password
/// changed, is accepted until its `exp`, with the role it was minted with. Keep `ttl` short
/// where this is all you can do (a service holding only the JWKS), and use [`Fresh`] for
/// routes that change state. The state must give an [`Authenticator`] through [`FromRef`].
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

impl<S> FromRequestParts<S> for Authenticated
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Authenticator::from_ref(state);
        let header = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
        core_http::authenticate_token(&auth, header)
            .map(Self)
            .map_err(Reply::from)
    }
}

/// A token checked against current state ([`Authenticator::check_fresh`]): the user exists
/// and is active, the token is of the user's current session epoch, the password it was
/// minted with is still held, and it was not logged out. Carries the user's *current* role
/// ([`FreshIdentity::role`]), so a demoted or deleted admin loses its rights at once.
///
/// Rejects as [`Authenticated`] does, plus 401 `unauthorized` when current state refuses the
/// token and 503 when a store is down. Costs a few store reads per request. A lockout after
/// failed sign-ins does not end a live session.
#[derive(Debug, Clone)]
pub struct Fresh(pub FreshIdentity);

impl<S> FromRequestParts<S> for Fresh
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Authenticator::from_ref(state);
        let header = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
        core_http::authenticate_fresh(&auth, header)
            .await
            .map(Self)
            .map_err(Reply::from)
    }
}

/// How [`RequireRole`] checks a token: [`Stateless`] (the default) or [`FreshCheck`].
pub trait TokenCheck: Send + Sync + 'static {
    /// What the check yields.
    type Identity: Send;

    /// Checks the `Authorization` header value.
    ///
    /// # Errors
    /// The check's refusal.
    fn check(
        auth: &Authenticator,
        authorization: Option<&[u8]>,
    ) -> impl Future<Output = authcore_core::Result<Self::Identity>> + Send;

    /// The role to decide on.
    fn role(identity: &Self::Identity) -> &Role;
}

/// [`TokenCheck`] of the token alone (as [`Authenticated`]): the role in the token.
#[derive(Debug, Clone, Copy)]
pub struct Stateless;

impl TokenCheck for Stateless {
    type Identity = Claims;

    async fn check(
        auth: &Authenticator,
        authorization: Option<&[u8]>,
    ) -> authcore_core::Result<Claims> {
        core_http::authenticate_token(auth, authorization)
    }

    fn role(identity: &Claims) -> &Role {
        &identity.role
    }
}

/// [`TokenCheck`] against current state (as [`Fresh`]): the user's current role.
#[derive(Debug, Clone, Copy)]
pub struct FreshCheck;

impl TokenCheck for FreshCheck {
    type Identity = FreshIdentity;

    async fn check(
        auth: &Authenticator,
        authorization: Option<&[u8]>,
    ) -> authcore_core::Result<FreshIdentity> {
        core_http::authenticate_fresh(auth, authorization).await
    }

    fn role(identity: &FreshIdentity) -> &Role {
        identity.role()
    }
}

/// A set of roles allowed through [`RequireRole`].
pub trait RoleSet: Send + Sync + 'static {
    /// The allowed role names.
    const ROLES: &'static [&'static str];
}

/// [`RoleSet`] of Redis's `admin` role only.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl RoleSet for Admin {
    // `Role::ADMIN`'s name (a `Role` cannot be borrowed as a `&'static str` in a const).
    const ROLES: &'static [&'static str] = &["admin"];
}

/// A role guard: like [`Authenticated`] (or [`Fresh`] with `C` = [`FreshCheck`]), and 403
/// `forbidden` (JSON) unless the role is one of `R::ROLES`: the token's role with the default
/// [`Stateless`] check, the user's current role with [`FreshCheck`].
///
/// ```
/// use authcore_axum::{FreshCheck, RequireRole, RoleSet};
///
/// struct Operators;
/// impl RoleSet for Operators {
///     const ROLES: &'static [&'static str] = &["admin", "cluster_member"];
/// }
///
/// // Stateless: the role in the token.
/// async fn status(RequireRole(claims, ..): RequireRole<Operators>) -> String {
///     format!("status for {}", claims.username)
/// }
/// // Fresh: the user's current role, and a logged-out token is refused.
/// async fn restart(RequireRole(who, ..): RequireRole<Operators, FreshCheck>) -> String {
///     format!("restarted by {}", who.user.email)
/// }
/// # let _ = (status, restart);
/// ```
#[derive(Debug, Clone)]
pub struct RequireRole<R: RoleSet, C: TokenCheck = Stateless>(pub C::Identity, pub PhantomData<R>);

impl<S, R, C> FromRequestParts<S> for RequireRole<R, C>
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
    R: RoleSet,
    C: TokenCheck,
{
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Authenticator::from_ref(state);
        let header = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
        let identity = C::check(&auth, header).await.map_err(Reply::from)?;
        if R::ROLES.contains(&C::role(&identity).as_str()) {
            Ok(Self(identity, PhantomData))
        } else {
            Err(Reply::from(Error::Forbidden))
        }
    }
}

pub use authcore_core::PermissionMarker;

/// [`PermissionMarker`]s of the built-in permissions (defined in the core, next to
/// [`authcore_core::Permission`], from the same list).
pub mod permissions {
    pub use authcore_core::permission_markers::*;
}

/// A permission guard for an application's own routes: the `JWT`/`Bearer` token is checked
/// against current state (as [`Fresh`]) and the core decides ([`Authenticator::decide`]) on
/// the caller's *current* role with the authenticator's permission policy: a user promoted or
/// demoted gets the new answer on the next request, whatever role its token names.
///
/// Rejects with 401 `unauthorized` as [`Fresh`] does, 403 `forbidden` (JSON) when the current
/// role lacks `P::PERMISSION`, 503 when a store is down. Carries the [`Authorized`] caller.
///
/// ```
/// use authcore_axum::{RequirePermission, permissions::UpdateCluster};
///
/// async fn set_policy(RequirePermission(caller, ..): RequirePermission<UpdateCluster>) -> String {
///     format!("changed by {}", caller.user().email)
/// }
/// # let _ = set_policy;
/// ```
#[derive(Debug, Clone)]
pub struct RequirePermission<P: PermissionMarker>(pub Authorized, pub PhantomData<P>);

impl<S, P> FromRequestParts<S> for RequirePermission<P>
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
    P: PermissionMarker,
{
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Authenticator::from_ref(state);
        let header = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
        let claims = core_http::authenticate_token(&auth, header).map_err(Reply::from)?;
        auth.decide(&claims, Access::Permission(P::PERMISSION), None)
            .await
            .map(|authorized| Self(authorized, PhantomData))
            .map_err(Reply::from)
    }
}
