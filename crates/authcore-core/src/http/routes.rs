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

use super::cluster;
use super::endpoints::{
    PasswordOp, RequestParts, authenticate, authorize, create_user, delete_user, get_user,
    into_response, jwks, list_users, logout, password, refresh_jwt, update_user,
};
use super::openapi::openapi;
use super::ops::{livez, metrics, readyz, with_metrics, with_operations};
use super::path::{match_template, percent_decode, specificity};
use super::response::ApiResponse;
use super::{
    AUTHORIZE_PATH, JWKS_PATH, LIVEZ_PATH, LOGOUT_PATH, METRICS_PATH, OPENAPI_PATH, PASSWORD_PATH,
    READYZ_PATH, REFRESH_JWT_PATH, USER_PATH, USERS_PATH,
};
use super::{
    CLUSTER_LDAP_PATH, CLUSTER_PATH, CLUSTER_POLICY_PATH, LDAP_MAPPING_PATH, LDAP_MAPPINGS_PATH,
};
use crate::authenticator::Authenticator;
use crate::authenticator::PolicySection;
use crate::error::Error;
use crate::permission::{Access, Authorized, Permission};
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
    /// Whether the endpoint reads the body (the adapter reads it, within its limit, only
    /// then).
    pub reads_body: bool,
    /// Whether the route is served by this authenticator (the JWKS route needs public keys,
    /// the operations routes the embedding server's [`super::Operations`]).
    pub enabled: fn(&Authenticator) -> bool,
    /// Whether the answer is marked `Cache-Control: no-store` (every users-API answer; not
    /// the documents nor the operations routes).
    pub no_store: bool,
    /// The endpoint.
    pub handler: Handler,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("access", &self.access)
            .field("reads_body", &self.reads_body)
            .field("no_store", &self.no_store)
            .finish_non_exhaustive()
    }
}

fn always(_: &Authenticator) -> bool {
    true
}

fn with_public_keys(auth: &Authenticator) -> bool {
    auth.tokens().keys().has_public_keys()
}

/// The run-time settings routes need a settings store.
fn with_settings(auth: &Authenticator) -> bool {
    auth.has_settings_store()
}

fn ready(res: ApiResponse) -> EndpointFuture<'static> {
    Box::pin(std::future::ready(res))
}

/// Every route of the users API, in the order the `Allow` header lists methods.
pub const ROUTE_TABLE: &[Route] = &[
    Route {
        method: "POST",
        path: AUTHORIZE_PATH,
        access: Access::Public,
        reads_body: true,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(authorize(auth, &req.parts)),
    },
    Route {
        method: "POST",
        path: REFRESH_JWT_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(refresh_jwt(auth, &req.parts)),
    },
    Route {
        method: "POST",
        path: LOGOUT_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(logout(auth, &req.parts)),
    },
    Route {
        method: "PUT",
        path: PASSWORD_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(password(auth, PasswordOp::Replace, &req.parts)),
    },
    Route {
        method: "POST",
        path: PASSWORD_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(password(auth, PasswordOp::Add, &req.parts)),
    },
    Route {
        method: "DELETE",
        path: PASSWORD_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(password(auth, PasswordOp::Remove, &req.parts)),
    },
    Route {
        method: "GET",
        path: USERS_PATH,
        access: Access::LIST_USERS,
        reads_body: false,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(list_users(auth, req)),
    },
    Route {
        method: "POST",
        path: USERS_PATH,
        access: Access::CREATE_USER,
        reads_body: true,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(create_user(auth, req)),
    },
    Route {
        method: "GET",
        path: USER_PATH,
        access: Access::GET_USER,
        reads_body: false,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(get_user(auth, req)),
    },
    Route {
        method: "PUT",
        path: USER_PATH,
        access: Access::UPDATE_USER,
        reads_body: true,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(update_user(auth, req)),
    },
    Route {
        method: "DELETE",
        path: USER_PATH,
        access: Access::DELETE_USER,
        reads_body: false,
        enabled: always,
        no_store: true,
        handler: |auth, req| Box::pin(delete_user(auth, req)),
    },
    Route {
        method: "GET",
        path: CLUSTER_PATH,
        access: Access::Permission(Permission::ViewClusterInfo),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        handler: |auth, _| Box::pin(cluster::get_policy(auth, PolicySection::Cluster)),
    },
    Route {
        method: "PUT",
        path: CLUSTER_PATH,
        access: Access::Permission(Permission::UpdateCluster),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        handler: |auth, req| Box::pin(cluster::put_policy(auth, PolicySection::Cluster, req)),
    },
    Route {
        method: "GET",
        path: CLUSTER_POLICY_PATH,
        access: Access::Permission(Permission::ViewClusterInfo),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        handler: |auth, _| Box::pin(cluster::get_policy(auth, PolicySection::Policy)),
    },
    Route {
        method: "PUT",
        path: CLUSTER_POLICY_PATH,
        access: Access::Permission(Permission::UpdateCluster),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        handler: |auth, req| Box::pin(cluster::put_policy(auth, PolicySection::Policy, req)),
    },
    Route {
        method: "GET",
        path: CLUSTER_LDAP_PATH,
        access: Access::Permission(Permission::ViewLdapConfig),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        handler: |auth, _| Box::pin(cluster::get_ldap(auth)),
    },
    Route {
        method: "PUT",
        path: CLUSTER_LDAP_PATH,
        access: Access::Permission(Permission::ConfigLdap),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        handler: |auth, req| Box::pin(cluster::put_ldap(auth, req)),
    },
    Route {
        method: "DELETE",
        path: CLUSTER_LDAP_PATH,
        access: Access::Permission(Permission::ConfigLdap),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        handler: |auth, _| Box::pin(cluster::delete_ldap(auth)),
    },
    Route {
        method: "GET",
        path: LDAP_MAPPINGS_PATH,
        access: Access::Permission(Permission::ViewAllLdapMappingsInfo),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        handler: |auth, _| Box::pin(cluster::list_mappings(auth)),
    },
    Route {
        method: "POST",
        path: LDAP_MAPPINGS_PATH,
        access: Access::Permission(Permission::CreateLdapMapping),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        handler: |auth, req| Box::pin(cluster::create_mapping(auth, req)),
    },
    Route {
        method: "GET",
        path: LDAP_MAPPING_PATH,
        access: Access::Permission(Permission::ViewLdapMappingInfo),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        handler: |auth, req| Box::pin(cluster::get_mapping(auth, req)),
    },
    Route {
        method: "PUT",
        path: LDAP_MAPPING_PATH,
        access: Access::Permission(Permission::UpdateLdapMapping),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        handler: |auth, req| Box::pin(cluster::update_mapping(auth, req)),
    },
    Route {
        method: "DELETE",
        path: LDAP_MAPPING_PATH,
        access: Access::Permission(Permission::DeleteLdapMapping),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        handler: |auth, req| Box::pin(cluster::delete_mapping(auth, req)),
    },
    Route {
        method: "GET",
        path: OPENAPI_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: always,
        no_store: false,
        handler: |auth, _| ready(openapi(auth)),
    },
    Route {
        method: "GET",
        path: LIVEZ_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: with_operations,
        no_store: false,
        handler: |_, _| ready(livez()),
    },
    Route {
        method: "GET",
        path: READYZ_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: with_operations,
        no_store: false,
        handler: |auth, _| Box::pin(readyz(auth)),
    },
    Route {
        method: "GET",
        path: METRICS_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: with_metrics,
        no_store: false,
        handler: |auth, _| ready(metrics(auth)),
    },
    Route {
        method: "GET",
        path: JWKS_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: with_public_keys,
        no_store: false,
        handler: |auth, _| ready(jwks(auth)),
    },
];

/// The route a method and path resolved to, with its parameters: ask it whether to read the
/// body, then [`Matched::respond`].
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
/// once percent-decoded.
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
        return Err(ApiResponse::method_not_allowed(&allowed));
    };
    let mut params = Vec::new();
    for (name, value) in match_template(route.path, path).unwrap_or_default() {
        let decoded = percent_decode(value).ok_or_else(|| {
            ApiResponse::error(&Error::InvalidRequest(format!(
                "the {name} in the path is not valid UTF-8"
            )))
        })?;
        params.push((name, decoded));
    }
    Ok(Matched { route, params })
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
}
