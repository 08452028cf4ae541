//! The HTTP conformance suite for adapters: an adapter of a web framework (axum, hyper,
//! actix-web, ...) must answer every route of the core's route table exactly as the core's
//! own dispatch does.
//!
//! An adapter crate's test hands [`AdapterSuite::run`] a way to build the adapter around an
//! [`Authenticator`] and to send one request through it ([`Adapter`]: an `http::Request<Bytes>`
//! in, the whole `http::Response<Bytes>` out; in process, or over a real listener). The suite
//! builds two identical worlds over fresh stores from the factory it was given (the same users
//! created in the same order, one frozen clock, an Ed25519 key, a settings store and
//! operations hooks, so that every route of [`authcore_core::http::ROUTE_TABLE`] is served):
//! one behind the adapter, one answered by [`authcore_core::http::find_route`] and
//! [`authcore_core::http::Matched::respond`] directly. It then sends its cases (every route,
//! and 404, 405 with `Allow`, a trailing slash, bad and percent-encoded `{uid}`s, malformed
//! JSON, a wrong `Content-Type`, a body over the limit, missing, malformed and wrong
//! credentials, permission refusals, `HEAD`, `?dry_run`, ...) to both, in order, and compares:
//!
//! - the status, and each header the core sets (same values, same order); the adapter may add
//!   only transport headers (`content-length`, which must be right, `date`, `connection`,
//!   `keep-alive`, `transfer-encoding`) and the ones named with
//!   [`AdapterSuite::allow_header`];
//! - the body, byte for byte, with an `access_token` compared by what it means: the same JOSE
//!   header, and the same claims once verified by the world that minted it, `jti` and `sid`
//!   replaced by the name of the token they refer to (a refresh must name the session it was
//!   given). `HEAD` answers must have no body;
//! - the status and `error_code` each case states, so a bug every adapter shares (or the core
//!   has) fails too;
//! - coverage: every route the reference world serves gets requests. A route of the core's
//!   table that no case covers with a success (one added to the core after this suite) gets a
//!   probe made from the table: the admin's token, `{uid}` = `1`, `{}` as the body of a route
//!   that reads one. The probe must be routed and let through (no 401, 403, 404 or 405 from
//!   the core) and the adapter must answer it exactly as the core does, so a new route is an
//!   edit in the core alone and every adapter is tested on it at once
//!   ([`Report::probed`] counts the probes).
//!
//! Every difference is collected; the run goes on to the end (both worlds get every request,
//! so one failure may cause later ones: the first is the cause).
//!
//! ## Example: the test of an adapter crate
//!
//! A minimal adapter (here the whole of it: it hands the method, path, query, two headers and
//! the body to the core, reads the body only when the route reads one, and copies the answer
//! back), run through the suite:
//!
//! ```
//! use std::sync::Arc;
//! use authcore_core::Authenticator;
//! use authcore_core::http::{self, RequestParts};
//! use authcore_testkit::adapters::AdapterSuite;
//! use bytes::Bytes;
//!
//! async fn shuttle(auth: &Authenticator, req: ::http::Request<Bytes>) -> ::http::Response<Bytes> {
//!     let res = match http::find_route(auth, req.method().as_str(), req.uri().path()) {
//!         Err(res) => res,
//!         Ok(route) if route.reads_body() && req.body().len() > http::DEFAULT_BODY_LIMIT => {
//!             route.payload_too_large(http::DEFAULT_BODY_LIMIT)
//!         }
//!         Ok(route) => {
//!             let header = |name| req.headers().get(name).map(|v: &::http::HeaderValue| v.as_bytes());
//!             let body: &[u8] = if route.reads_body() { req.body() } else { &[] };
//!             let parts = RequestParts {
//!                 authorization: header(::http::header::AUTHORIZATION),
//!                 content_type: header(::http::header::CONTENT_TYPE),
//!                 body,
//!                 query: req.uri().query(),
//!             };
//!             route.respond(auth, parts).await
//!         }
//!     };
//!     let mut out = ::http::Response::builder().status(res.status);
//!     for (name, value) in &res.headers {
//!         out = out.header(*name, value.as_str());
//!     }
//!     let body = if req.method() == ::http::Method::HEAD { Bytes::new() } else { Bytes::from(res.body) };
//!     out.body(body).unwrap()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), authcore_testkit::adapters::Failures> {
//! let report = AdapterSuite::new(|| Arc::new(authcore_memory::MemoryStore::new()))
//!     .run(|auth: Authenticator| async move {
//!         move |req| {
//!             let auth = auth.clone();
//!             async move { shuttle(&auth, req).await }
//!         }
//!     })
//!     .await?;
//! assert!(report.cases > 100);
//! # Ok(()) }
//! ```
//!
//! An adapter behind a real listener sends each request with an HTTP client instead (the
//! workspace's `tests/http_adapters.rs` does so for axum and for the plain-hyper example).

mod cases;
mod compare;
mod probe;
mod world;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use authcore_core::http::{ApiResponse, DEFAULT_BODY_LIMIT, ROUTE_TABLE, RequestParts, find_route};
use authcore_core::{Authenticator, LockoutStore, SettingsStore, UserStore};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, Request, Response};

use crate::ManualClock;
use cases::{Auth, Body, Case};
use compare::Judge;
use world::{Who, World};

/// Sends one request through the adapter under test and returns its whole answer.
///
/// Implemented for every `Fn(Request<Bytes>) -> impl Future<Output = Response<Bytes>>`.
pub trait Adapter {
    /// Sends `request` (method, target with the query, headers, body) through the adapter.
    fn send(&self, request: Request<Bytes>) -> impl Future<Output = Response<Bytes>>;
}

impl<F, Fut> Adapter for F
where
    F: Fn(Request<Bytes>) -> Fut,
    Fut: Future<Output = Response<Bytes>>,
{
    fn send(&self, request: Request<Bytes>) -> impl Future<Output = Response<Bytes>> {
        self(request)
    }
}

/// The suite, configured: see the [module documentation](self).
pub struct AdapterSuite<S> {
    new_store: Box<dyn Fn() -> Arc<S>>,
    body_limit: usize,
    extra_headers: Vec<HeaderName>,
    without: Vec<(&'static str, &'static str)>,
}

impl<S> fmt::Debug for AdapterSuite<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdapterSuite")
            .field("body_limit", &self.body_limit)
            .field("extra_headers", &self.extra_headers)
            .field("without", &self.without)
            .finish_non_exhaustive()
    }
}

impl<S> AdapterSuite<S>
where
    S: UserStore + LockoutStore + SettingsStore + 'static,
{
    /// A suite whose two worlds each get a fresh, empty store from `new_store` (the memory
    /// store is the usual choice: the adapter is under test, not the store). The cases name
    /// users and LDAP mappings by uid, so the store must number them 1, 2, ... in the order
    /// they are created, as the memory store and a fresh SQL database do.
    #[must_use]
    pub fn new(new_store: impl Fn() -> Arc<S> + 'static) -> Self {
        Self {
            new_store: Box::new(new_store),
            body_limit: DEFAULT_BODY_LIMIT,
            extra_headers: Vec::new(),
            without: Vec::new(),
        }
    }

    /// Runs as if the suite had no case for the route `method` `path_template` (as for a
    /// route added to the core after the suite): its cases are not sent, and the route gets
    /// the probe instead (see the [module documentation](self)). For trying out how a new
    /// route reaches an adapter; an adapter's own test has no need of it.
    #[must_use]
    pub fn without_cases_for(mut self, method: &'static str, path_template: &'static str) -> Self {
        self.without.push((method, path_template));
        self
    }

    /// The adapter's body limit (default [`DEFAULT_BODY_LIMIT`]): a body one byte over it
    /// must get 413 `payload_too_large`.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// A header the adapter adds of its own (a request id, say): allowed in its answers.
    #[must_use]
    pub fn allow_header(mut self, name: HeaderName) -> Self {
        self.extra_headers.push(name);
        self
    }

    /// Builds the two worlds, the adapter around the second one's authenticator
    /// (`make_adapter`), and runs every case.
    ///
    /// # Errors
    /// [`Failures`], one for each difference found (or for a world that could not be set
    /// up).
    pub async fn run<F, Fut, A>(&self, make_adapter: F) -> Result<Report, Failures>
    where
        F: FnOnce(Authenticator) -> Fut,
        Fut: Future<Output = A>,
        A: Adapter,
    {
        let clock = ManualClock::starting_now();
        let set_up = |e: authcore_core::Error| Failures {
            failures: vec![Failure {
                case: "set-up".into(),
                problem: e.to_string(),
            }],
        };
        let mut reference = World::build((self.new_store)(), &clock)
            .await
            .map_err(set_up)?;
        let mut tested = World::build((self.new_store)(), &clock)
            .await
            .map_err(set_up)?;
        let adapter = make_adapter(tested.auth.clone()).await;
        let mut failures = Vec::new();
        let mut sent = 0;
        let kept = |case: &&Case| !self.is_without(&reference.auth, case);
        let kept: Vec<&Case> = cases::all().filter(kept).collect();
        for case in kept.iter().copied() {
            sent += 1;
            let label = format!("case {sent} ({})", case.name());
            let want = self.reference_answer(&reference, case).await;
            self.check(&adapter, &mut reference, &mut tested, case, &label, &want)
                .await
                .into_iter()
                .for_each(|f| failures.push(f));
        }
        // A route no case covers (a route added to the core's table since this suite was
        // written) still goes through the adapter: one probe each, as the admin.
        let probes = probe::routes_without_case(&reference.auth, &kept);
        if !probes.is_empty() {
            // The cases may have ended the admin's sessions: the probes get a new token.
            for world in [&mut reference, &mut tested] {
                if let Err(e) = world.sign_in(Who::Admin, "probe sign-in").await {
                    failures.push(Failure {
                        case: "probes".into(),
                        problem: format!("the admin cannot sign in for the probes: {e}"),
                    });
                }
            }
        }
        for route in &probes {
            sent += 1;
            let mut case = probe::case(route);
            let label = format!("probe {sent} ({})", case.name());
            let want = self.reference_answer(&reference, &case).await;
            if let Some(problem) = probe::refusal(&reference.auth, &case, &want) {
                failures.push(Failure {
                    case: label,
                    problem,
                });
                continue;
            }
            case.status = want.status;
            self.check(&adapter, &mut reference, &mut tested, &case, &label, &want)
                .await
                .into_iter()
                .for_each(|f| failures.push(f));
        }
        if failures.is_empty() {
            Ok(Report {
                cases: sent,
                routes: served(&reference.auth).count(),
                probed: probes.len(),
            })
        } else {
            Err(Failures { failures })
        }
    }

    /// Whether `case` is left out by [`AdapterSuite::without_cases_for`].
    fn is_without(&self, auth: &Authenticator, case: &Case) -> bool {
        let path = case.target.split('?').next().unwrap_or_default();
        let Ok(matched) = find_route(auth, case.method, path) else {
            return false;
        };
        self.without
            .iter()
            .any(|(method, template)| *method == case.method && *template == matched.template())
    }

    /// Sends `case` through the adapter and compares its answer with the core's `want`.
    async fn check<A: Adapter>(
        &self,
        adapter: &A,
        reference: &mut World,
        tested: &mut World,
        case: &Case,
        label: &str,
        want: &ApiResponse,
    ) -> Vec<Failure> {
        let got = match self.request(tested, case) {
            Ok(request) => adapter.send(request).await,
            Err(problem) => {
                return vec![Failure {
                    case: label.to_owned(),
                    problem,
                }];
            }
        };
        let mut judge = Judge {
            reference,
            tested,
            extra_headers: &self.extra_headers,
        };
        judge
            .problems(case, label, want, &got)
            .into_iter()
            .map(|problem| Failure {
                case: label.to_owned(),
                problem,
            })
            .collect()
    }

    /// The `Authorization` value, `Content-Type` and body of `case` in `world`.
    fn parts(&self, world: &World, case: &Case) -> (Option<String>, Option<&'static str>, Bytes) {
        let token = |who| world.tokens.get(&who).cloned().unwrap_or_default();
        let authorization = match case.auth {
            Auth::None => None,
            Auth::Jwt(who) => Some(format!("JWT {}", token(who))),
            Auth::Bearer(who) => Some(format!("Bearer {}", token(who))),
            Auth::Basic(who) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    who.email(),
                    who.password()
                ))
            )),
            Auth::Raw(value) => Some(value.to_owned()),
        };
        let body = match case.body {
            Body::Empty => Bytes::new(),
            Body::Text(text) => Bytes::from_static(text.as_bytes()),
            Body::OverLimit => Bytes::from(vec![b' '; self.body_limit.saturating_add(1)]),
        };
        (authorization, case.content_type, body)
    }

    fn request(&self, world: &World, case: &Case) -> Result<Request<Bytes>, String> {
        let (authorization, content_type, body) = self.parts(world, case);
        let mut request = Request::builder()
            .method(case.method)
            .uri(case.target.as_ref());
        if let Some(value) = authorization {
            request = request.header(http::header::AUTHORIZATION, value);
        }
        if let Some(value) = content_type {
            request = request.header(http::header::CONTENT_TYPE, value);
        }
        request
            .body(body)
            .map_err(|e| format!("the suite cannot build the request: {e}"))
    }

    /// The core's own answer to `case` in `world`: what an adapter must answer.
    async fn reference_answer(&self, world: &World, case: &Case) -> ApiResponse {
        let (authorization, content_type, body) = self.parts(world, case);
        let (path, query) = match case.target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (case.target.as_ref(), None),
        };
        let matched = match find_route(&world.auth, case.method, path) {
            Ok(matched) => matched,
            Err(res) => return res,
        };
        let body: &[u8] = if matched.reads_body() {
            if body.len() > self.body_limit {
                return matched.payload_too_large(self.body_limit);
            }
            &body
        } else {
            &[]
        };
        let parts = RequestParts {
            authorization: authorization.as_deref().map(str::as_bytes),
            content_type: content_type.map(str::as_bytes),
            body,
            query,
        };
        matched.respond(&world.auth, parts).await
    }
}

/// The routes `auth` serves.
fn served(auth: &Authenticator) -> impl Iterator<Item = &'static authcore_core::http::Route> {
    ROUTE_TABLE
        .iter()
        .filter(move |route| (route.enabled)(auth))
}

/// What a successful run covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Requests sent.
    pub cases: usize,
    /// Routes of the route table served: each got at least one successful case, or a probe.
    pub routes: usize,
    /// Routes no case covers, each sent one probe made from the route table (the admin's
    /// credentials, `{uid}` = `1`, `{}` as the body of a route that reads one): answered as
    /// the core answers, but not shown to succeed. A new route of the core is probed until the
    /// suite gets a case for it.
    pub probed: usize,
}

/// One difference found by a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The case (`case N (METHOD target ...)`), or the route or `set-up`.
    pub case: String,
    /// What differs.
    pub problem: String,
}

/// Every difference a run found: an adapter passes when there are none.
#[derive(Clone, PartialEq, Eq)]
pub struct Failures {
    /// In the order found.
    pub failures: Vec<Failure>,
}

impl fmt::Display for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the adapter differs from the core's dispatch in {} place(s) (the first is the cause of \
             any that follow):",
            self.failures.len()
        )?;
        for failure in &self.failures {
            writeln!(f, "- {}: {}", failure.case, failure.problem)?;
        }
        Ok(())
    }
}

// Debug as Display: `run(..).await.unwrap()` in a test prints the list readably.
impl fmt::Debug for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Failures {}
