//! The route table: every route of the users API, with its access, its errors and its
//! document. A new route is one row here (and the endpoint function it names).

use std::time::Duration;

use super::cluster;
use super::endpoints::{
    PasswordOp, authorize, create_user, delete_user, get_user, jwks, list_users, logout, password,
    refresh_jwt, update_user,
};
use super::openapi::{openapi, operations as doc};
use super::ops::{livez, metrics, readyz, with_metrics, with_operations};
use super::response::ApiResponse;
use super::routes::{EndpointFuture, Route};
use super::{
    AUTHORIZE_PATH, CLUSTER_LDAP_PATH, CLUSTER_PATH, CLUSTER_POLICY_PATH, JWKS_PATH,
    LDAP_MAPPING_PATH, LDAP_MAPPINGS_PATH, LIVEZ_PATH, LOGOUT_PATH, METRICS_PATH, OPENAPI_PATH,
    PASSWORD_PATH, READYZ_PATH, REFRESH_JWT_PATH, USER_PATH, USERS_PATH,
};
use crate::authenticator::{Authenticator, PolicySection};
use crate::error::Error;
use crate::permission::{Access, Permission};

/// `invalid_request` (400): a malformed header, body or value.
const INVALID: Error = Error::InvalidRequest(String::new());
/// `unauthorized` (401): wrong or unknown credentials, an invalid token.
const UNAUTHORIZED: Error = Error::Unauthorized;
/// `password_expired` (401).
const EXPIRED: Error = Error::PasswordExpired;
/// `too_many_requests` (429): the embedding server's per-client limit on password checks.
const RATE_LIMITED: Error = Error::TooManyRequests {
    retry_after: Duration::ZERO,
};
/// `service_unavailable` (503): the store is down ([`Error::StoreUnavailable`], which holds
/// its cause and so has no constant) or the hashing pool is saturated, same code and status.
const UNAVAILABLE: Error = Error::Overloaded {
    retry_after: Duration::ZERO,
};
/// `unsupported_operation` (400): the store that owns the user cannot do it.
const UNSUPPORTED: Error = Error::Unsupported("");

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
        errors: &[INVALID, UNAUTHORIZED, EXPIRED, RATE_LIMITED, UNAVAILABLE],
        doc: &doc::AUTHORIZE,
        handler: |auth, req| Box::pin(authorize(auth, &req.parts)),
    },
    Route {
        method: "POST",
        path: REFRESH_JWT_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        errors: &[INVALID, UNAUTHORIZED, EXPIRED, UNAVAILABLE],
        doc: &doc::REFRESH_JWT,
        handler: |auth, req| Box::pin(refresh_jwt(auth, &req.parts)),
    },
    Route {
        method: "POST",
        path: LOGOUT_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        errors: &[INVALID, UNAUTHORIZED, UNAVAILABLE],
        doc: &doc::LOGOUT,
        handler: |auth, req| Box::pin(logout(auth, &req.parts)),
    },
    Route {
        method: "PUT",
        path: PASSWORD_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        errors: &[
            INVALID,
            UNAUTHORIZED,
            RATE_LIMITED,
            Error::PasswordNotComplex(""),
            Error::NewPasswordSameAsCurrent,
            UNSUPPORTED,
            UNAVAILABLE,
        ],
        doc: &doc::REPLACE_PASSWORDS,
        handler: |auth, req| Box::pin(password(auth, PasswordOp::Replace, &req.parts)),
    },
    Route {
        method: "POST",
        path: PASSWORD_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        errors: &[
            INVALID,
            UNAUTHORIZED,
            RATE_LIMITED,
            Error::PasswordNotComplex(""),
            Error::NewPasswordSameAsCurrent,
            Error::TooManyPasswords,
            UNSUPPORTED,
            UNAVAILABLE,
        ],
        doc: &doc::ADD_PASSWORD,
        handler: |auth, req| Box::pin(password(auth, PasswordOp::Add, &req.parts)),
    },
    Route {
        method: "DELETE",
        path: PASSWORD_PATH,
        access: Access::OwnAccount,
        reads_body: true,
        enabled: always,
        no_store: true,
        errors: &[
            INVALID,
            UNAUTHORIZED,
            RATE_LIMITED,
            Error::CannotDeleteLastPassword,
            UNSUPPORTED,
            UNAVAILABLE,
        ],
        doc: &doc::REMOVE_PASSWORD,
        handler: |auth, req| Box::pin(password(auth, PasswordOp::Remove, &req.parts)),
    },
    Route {
        method: "GET",
        path: USERS_PATH,
        access: Access::LIST_USERS,
        reads_body: false,
        enabled: always,
        no_store: true,
        errors: &[UNAVAILABLE],
        doc: &doc::LIST_USERS,
        handler: |auth, req| Box::pin(list_users(auth, req)),
    },
    Route {
        method: "POST",
        path: USERS_PATH,
        access: Access::CREATE_USER,
        reads_body: true,
        enabled: always,
        no_store: true,
        errors: &[
            INVALID,
            Error::PasswordNotComplex(""),
            Error::EmailAlreadyExists,
            Error::NameAlreadyExists,
            UNSUPPORTED,
            UNAVAILABLE,
        ],
        doc: &doc::CREATE_USER,
        handler: |auth, req| Box::pin(create_user(auth, req)),
    },
    Route {
        method: "GET",
        path: USER_PATH,
        access: Access::GET_USER,
        reads_body: false,
        enabled: always,
        no_store: true,
        errors: &[Error::NotFound, UNAVAILABLE],
        doc: &doc::GET_USER,
        handler: |auth, req| Box::pin(get_user(auth, req)),
    },
    Route {
        method: "PUT",
        path: USER_PATH,
        access: Access::UPDATE_USER,
        reads_body: true,
        enabled: always,
        no_store: true,
        errors: &[
            INVALID,
            Error::NotFound,
            Error::PasswordNotComplex(""),
            Error::NewPasswordSameAsCurrent,
            Error::ChangeLastAdminRoleNotAllowed,
            Error::EmailAlreadyExists,
            Error::NameAlreadyExists,
            UNSUPPORTED,
            UNAVAILABLE,
        ],
        doc: &doc::UPDATE_USER,
        handler: |auth, req| Box::pin(update_user(auth, req)),
    },
    Route {
        method: "DELETE",
        path: USER_PATH,
        access: Access::DELETE_USER,
        reads_body: false,
        enabled: always,
        no_store: true,
        errors: &[
            Error::NotFound,
            Error::ChangeLastAdminRoleNotAllowed,
            UNSUPPORTED,
            UNAVAILABLE,
        ],
        doc: &doc::DELETE_USER,
        handler: |auth, req| Box::pin(delete_user(auth, req)),
    },
    Route {
        method: "GET",
        path: CLUSTER_PATH,
        access: Access::Permission(Permission::ViewClusterInfo),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        errors: &[UNAVAILABLE],
        doc: &doc::GET_CLUSTER,
        handler: |auth, _| Box::pin(cluster::get_policy(auth, PolicySection::Cluster)),
    },
    Route {
        method: "PUT",
        path: CLUSTER_PATH,
        access: Access::Permission(Permission::UpdateCluster),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        errors: &[INVALID, UNAVAILABLE],
        doc: &doc::PUT_CLUSTER,
        handler: |auth, req| Box::pin(cluster::put_policy(auth, PolicySection::Cluster, req)),
    },
    Route {
        method: "GET",
        path: CLUSTER_POLICY_PATH,
        access: Access::Permission(Permission::ViewClusterInfo),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        errors: &[UNAVAILABLE],
        doc: &doc::GET_POLICY,
        handler: |auth, _| Box::pin(cluster::get_policy(auth, PolicySection::Policy)),
    },
    Route {
        method: "PUT",
        path: CLUSTER_POLICY_PATH,
        access: Access::Permission(Permission::UpdateCluster),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        errors: &[INVALID, UNAVAILABLE],
        doc: &doc::PUT_POLICY,
        handler: |auth, req| Box::pin(cluster::put_policy(auth, PolicySection::Policy, req)),
    },
    Route {
        method: "GET",
        path: CLUSTER_LDAP_PATH,
        access: Access::Permission(Permission::ViewLdapConfig),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        errors: &[UNAVAILABLE],
        doc: &doc::GET_LDAP,
        handler: |auth, _| Box::pin(cluster::get_ldap(auth)),
    },
    Route {
        method: "PUT",
        path: CLUSTER_LDAP_PATH,
        access: Access::Permission(Permission::ConfigLdap),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        errors: &[
            INVALID,
            Error::IllegalFieldsCombination(String::new()),
            UNSUPPORTED,
            UNAVAILABLE,
        ],
        doc: &doc::PUT_LDAP,
        handler: |auth, req| Box::pin(cluster::put_ldap(auth, req)),
    },
    Route {
        method: "DELETE",
        path: CLUSTER_LDAP_PATH,
        access: Access::Permission(Permission::ConfigLdap),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        errors: &[UNSUPPORTED, UNAVAILABLE],
        doc: &doc::DELETE_LDAP,
        handler: |auth, _| Box::pin(cluster::delete_ldap(auth)),
    },
    Route {
        method: "GET",
        path: LDAP_MAPPINGS_PATH,
        access: Access::Permission(Permission::ViewAllLdapMappingsInfo),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        errors: &[UNAVAILABLE],
        doc: &doc::LIST_MAPPINGS,
        handler: |auth, _| Box::pin(cluster::list_mappings(auth)),
    },
    Route {
        method: "POST",
        path: LDAP_MAPPINGS_PATH,
        access: Access::Permission(Permission::CreateLdapMapping),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        errors: &[
            INVALID,
            Error::MissingField(""),
            Error::InvalidDnParam(String::new()),
            Error::InvalidNameParam(String::new()),
            Error::InvalidRoleUidsParam,
            Error::LdapMappingNameExists,
            UNAVAILABLE,
        ],
        doc: &doc::CREATE_MAPPING,
        handler: |auth, req| Box::pin(cluster::create_mapping(auth, req)),
    },
    Route {
        method: "GET",
        path: LDAP_MAPPING_PATH,
        access: Access::Permission(Permission::ViewLdapMappingInfo),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        errors: &[Error::LdapMappingNotExist, UNAVAILABLE],
        doc: &doc::GET_MAPPING,
        handler: |auth, req| Box::pin(cluster::get_mapping(auth, req)),
    },
    Route {
        method: "PUT",
        path: LDAP_MAPPING_PATH,
        access: Access::Permission(Permission::UpdateLdapMapping),
        reads_body: true,
        enabled: with_settings,
        no_store: true,
        errors: &[
            INVALID,
            Error::LdapMappingNotExist,
            Error::InvalidDnParam(String::new()),
            Error::InvalidNameParam(String::new()),
            Error::InvalidRoleUidsParam,
            Error::LdapMappingNameExists,
            UNAVAILABLE,
        ],
        doc: &doc::UPDATE_MAPPING,
        handler: |auth, req| Box::pin(cluster::update_mapping(auth, req)),
    },
    Route {
        method: "DELETE",
        path: LDAP_MAPPING_PATH,
        access: Access::Permission(Permission::DeleteLdapMapping),
        reads_body: false,
        enabled: with_settings,
        no_store: true,
        errors: &[Error::LdapMappingNotExist, UNAVAILABLE],
        doc: &doc::DELETE_MAPPING,
        handler: |auth, req| Box::pin(cluster::delete_mapping(auth, req)),
    },
    Route {
        method: "GET",
        path: OPENAPI_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: always,
        no_store: false,
        errors: &[],
        doc: &doc::OPENAPI,
        handler: |auth, _| ready(openapi(auth)),
    },
    Route {
        method: "GET",
        path: LIVEZ_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: with_operations,
        no_store: false,
        errors: &[],
        doc: &doc::LIVEZ,
        handler: |_, _| ready(livez()),
    },
    Route {
        method: "GET",
        path: READYZ_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: with_operations,
        no_store: false,
        errors: &[],
        doc: &doc::READYZ,
        handler: |auth, _| Box::pin(readyz(auth)),
    },
    Route {
        method: "GET",
        path: METRICS_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: with_metrics,
        no_store: false,
        errors: &[],
        doc: &doc::METRICS,
        handler: |auth, _| ready(metrics(auth)),
    },
    Route {
        method: "GET",
        path: JWKS_PATH,
        access: Access::Public,
        reads_body: false,
        enabled: with_public_keys,
        no_store: false,
        errors: &[],
        doc: &doc::JWKS,
        handler: |auth, _| ready(jwks(auth)),
    },
];
