//! Framework-free HTTP for adapters: the route table ([`ROUTE_TABLE`]) and the one dispatch
//! ([`find_route`] / [`dispatch`]), `Authorization` header parsing, the request and response
//! bodies of the Redis-compatible users API, the JSON error body, and one function per
//! endpoint.
//!
//! An adapter for a web framework (`authcore-axum`, or a few lines of plain hyper) is a byte
//! shuttle: it hands the method, the path, the `Authorization` and `Content-Type` header
//! values, the raw query string and the body (read within its limit, only when
//! [`Matched::reads_body`]) to the core and writes the [`ApiResponse`] back. Routing (404, 405 with `Allow`, `{uid}`),
//! statuses, error codes and bodies are decided here (statuses through
//! [`crate::Error::http_status`]), so every adapter answers byte-for-byte the same.
//!
//! ```
//! use authcore_core::http::{Authorization, parse_authorization};
//!
//! let parsed = parse_authorization(b"Basic YW5uQGV4YW1wbGUub3JnOnMzY3JldA==").unwrap();
//! assert!(matches!(parsed, Authorization::Basic { ref username, .. } if username == "ann@example.org"));
//! let parsed = parse_authorization(b"bearer eyJ.x.y").unwrap();
//! assert!(matches!(parsed, Authorization::Token(ref t) if t == "eyJ.x.y"));
//! ```

mod body;
mod cluster;
mod endpoints;
mod header;
mod mapping_body;
pub mod openapi;
mod ops;
mod path;
mod query;
mod response;
mod routes;
mod table;
mod view;

pub use body::{
    AuthorizeBody, CreateUserBody, EMAIL_PATTERN, LogoutBody, MAX_NAME_LEN, MAX_TTL, NAME_PATTERN,
    PasswordChangeBody, PasswordRemoveBody, TokenResponse, TtlBody, UpdateUserBody,
};
pub use endpoints::{
    PasswordOp, RequestParts, authenticate, authenticate_fresh, authenticate_token, authorize,
    jwks, logout, password, refresh_jwt,
};
pub use header::{Authorization, parse_authorization};
pub use mapping_body::{LdapMappingBody, MAPPING_DN_PATTERN, NewLdapMappingBody};
pub use openapi::{BodyDoc, Link, OkDoc, OperationDoc, SchemaFn, document, openapi, schema};
pub use ops::{CheckResult, Operations, ReadinessCheck, livez, metrics, readyz};
pub use query::DRY_RUN_PARAM;
pub use response::{ApiResponse, ErrorBody};
pub use routes::{
    EndpointFuture, Handler, Matched, ROUTE_TABLE, Route, RoutedRequest, checks_password, dispatch,
    find_route,
};
pub use view::{CreateUser, UidValue, UpdateUser, UserView};

/// Default largest request body accepted, in bytes (64 KiB: the largest legitimate body is a
/// user object with a [`crate::MAX_PASSWORD_LEN`] password).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// `POST /v1/users/authorize`.
pub const AUTHORIZE_PATH: &str = "/v1/users/authorize";
/// `POST /v1/users/refresh_jwt`.
pub const REFRESH_JWT_PATH: &str = "/v1/users/refresh_jwt";
/// `POST /v1/users/logout` (an extension: Redis has no logout).
pub const LOGOUT_PATH: &str = "/v1/users/logout";
/// `PUT`/`POST`/`DELETE /v1/users/password`.
pub const PASSWORD_PATH: &str = "/v1/users/password";
/// `GET`/`POST /v1/users`.
pub const USERS_PATH: &str = "/v1/users";
/// `GET`/`PUT`/`DELETE /v1/users/{uid}`.
pub const USER_PATH: &str = "/v1/users/{uid}";
/// `GET /.well-known/jwks.json` (only with asymmetric keys).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// `GET /livez` (with [`Operations`]).
pub const LIVEZ_PATH: &str = "/livez";
/// `GET /readyz` (with [`Operations`]).
pub const READYZ_PATH: &str = "/readyz";
/// `GET /metrics` (with [`Operations`] that serve metrics on this listener).
pub const METRICS_PATH: &str = "/metrics";
/// `GET /v1/openapi.json`.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";
/// `GET`/`PUT /v1/cluster`: `password_complexity`, `password_expiration_duration`.
pub const CLUSTER_PATH: &str = "/v1/cluster";
/// `GET`/`PUT /v1/cluster/policy`: the lockout fields and the other policy fields.
pub const CLUSTER_POLICY_PATH: &str = "/v1/cluster/policy";
/// `GET`/`PUT`/`DELETE /v1/cluster/ldap`: Redis's `ldap` object.
pub const CLUSTER_LDAP_PATH: &str = "/v1/cluster/ldap";
/// `GET`/`POST /v1/ldap_mappings`.
pub const LDAP_MAPPINGS_PATH: &str = "/v1/ldap_mappings";
/// `GET`/`PUT`/`DELETE /v1/ldap_mappings/{uid}`.
pub const LDAP_MAPPING_PATH: &str = "/v1/ldap_mappings/{uid}";

/// One path of the users API: a path (`{param}` syntax, as in OpenAPI and axum 0.8) and the
/// methods it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The path template.
    pub path: &'static str,
    /// The HTTP methods, upper case.
    pub methods: Vec<&'static str>,
}

/// The paths `auth` serves and their methods, in [`ROUTE_TABLE`] order (the JWKS route only
/// when the key ring has public keys).
#[must_use]
pub fn routes(auth: &crate::Authenticator) -> Vec<RouteSpec> {
    let mut out: Vec<RouteSpec> = Vec::new();
    for route in ROUTE_TABLE.iter().filter(|r| (r.enabled)(auth)) {
        match out.iter_mut().find(|s| s.path == route.path) {
            Some(spec) => spec.methods.push(route.method),
            None => out.push(RouteSpec {
                path: route.path,
                methods: vec![route.method],
            }),
        }
    }
    out
}
