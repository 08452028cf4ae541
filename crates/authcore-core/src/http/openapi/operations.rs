//! What the document says of each route beyond what the route table decides: operation id,
//! summary, the request and 200 schemas (from the parsing and answering types), links for
//! clients that chain calls. One constant per endpoint, named by its [`super::super::Route`].

use schemars::generate::SchemaGenerator;
use schemars::{JsonSchema, Schema};
use serde_json::json;

use super::component;
use crate::http::body::{
    AuthorizeBody, CreateUserBody, LogoutBody, PasswordChangeBody, PasswordRemoveBody,
    TokenResponse, TtlBody, UpdateUserBody,
};
use crate::http::mapping_body::{LdapMappingBody, NewLdapMappingBody};
use crate::http::view::UserView;
use crate::settings::{LdapMapping, LdapSettings};

/// Makes a schema with the document's generator (a `$ref` for a named type).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T`, as the document's generator makes it.
pub fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

fn object_schema(value: &serde_json::Value) -> Schema {
    Schema::from(value.as_object().cloned().unwrap_or_default())
}

fn empty(_: &mut SchemaGenerator) -> Schema {
    object_schema(&json!({"type": "object", "maxProperties": 0}))
}

fn users(generator: &mut SchemaGenerator) -> Schema {
    let item = generator.subschema_for::<UserView>();
    object_schema(&json!({"type": "array", "items": item}))
}

fn user_uid(_: &mut SchemaGenerator) -> Schema {
    object_schema(&json!({"type": "string", "minLength": 1}))
}

fn mapping_uid(_: &mut SchemaGenerator) -> Schema {
    object_schema(&json!({"type": "integer", "minimum": 0}))
}

fn any_object(_: &mut SchemaGenerator) -> Schema {
    object_schema(&json!({"type": "object"}))
}

/// The request body of an operation.
#[derive(Debug, Clone, Copy)]
pub struct BodyDoc {
    /// Its schema.
    pub schema: SchemaFn,
    /// Whether a body is required (an optional one may be empty).
    pub required: bool,
}

/// The 200 answer.
#[derive(Debug, Clone, Copy)]
pub enum OkDoc {
    /// A JSON body of this schema.
    Json(SchemaFn),
    /// A text body (Prometheus metrics).
    Text,
}

/// An OpenAPI link from a 200 answer holding a `uid` to an operation taking `{uid}`.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// The link's name.
    pub name: &'static str,
    /// The target's operation id.
    pub operation_id: &'static str,
}

/// What the document says of one route.
#[derive(Debug, Clone, Copy)]
pub struct OperationDoc {
    /// The unique operation id.
    pub operation_id: &'static str,
    /// The tag that groups it.
    pub tag: &'static str,
    /// One line.
    pub summary: &'static str,
    /// More, in Markdown (the permission is added from the route's access).
    pub description: &'static str,
    /// The security schemes of a route that names no permission (a route that does accepts
    /// a token or Basic credentials).
    pub security: &'static [&'static str],
    /// The `{uid}` path parameter: its schema and description.
    pub uid: Option<(SchemaFn, &'static str)>,
    /// The request body.
    pub body: Option<BodyDoc>,
    /// What a 200 means.
    pub ok_description: &'static str,
    /// The 200 body.
    pub ok: OkDoc,
    /// Another non-error answer (the readiness probe's 503).
    pub other: Option<(u16, &'static str, SchemaFn)>,
    /// Links from the 200 answer.
    pub links: &'static [Link],
    /// Whether the route takes the `?dry_run` query parameter.
    pub dry_run: bool,
}

const BASE: OperationDoc = OperationDoc {
    operation_id: "",
    tag: "users",
    summary: "",
    description: "",
    security: &[],
    uid: None,
    body: None,
    ok_description: "Done",
    ok: OkDoc::Json(empty),
    other: None,
    links: &[],
    dry_run: false,
};

const USER_UID: Option<(SchemaFn, &str)> =
    Some((user_uid, "The user's uid (an integer for local users)"));
const MAPPING_UID: Option<(SchemaFn, &str)> = Some((mapping_uid, "The mapping's uid"));

const USER_LINKS: &[Link] = &[
    Link {
        name: "GetUser",
        operation_id: "getUser",
    },
    Link {
        name: "UpdateUser",
        operation_id: "updateUser",
    },
    Link {
        name: "DeleteUser",
        operation_id: "deleteUser",
    },
];

/// `POST /v1/users/authorize`.
pub const AUTHORIZE: OperationDoc = OperationDoc {
    operation_id: "authorize",
    tag: "tokens",
    summary: "Sign in and get a JWT",
    description: "Credentials in the JSON body (Redis 7.4). Redis's later form, HTTP Basic \
        credentials with an optional `{\"ttl\"}` body, is accepted too: the header's \
        credentials are then used and the body's `username` and `password` are not read.",
    security: &["", "basic"],
    body: Some(BodyDoc {
        schema: schema::<AuthorizeBody>,
        required: true,
    }),
    ok_description: "A token",
    ok: OkDoc::Json(schema::<TokenResponse>),
    ..BASE
};

/// `POST /v1/users/refresh_jwt`.
pub const REFRESH_JWT: OperationDoc = OperationDoc {
    operation_id: "refreshJwt",
    tag: "tokens",
    summary: "Exchange a valid token for a new one",
    security: &["jwt", "bearer"],
    body: Some(BodyDoc {
        schema: schema::<TtlBody>,
        required: false,
    }),
    ok_description: "A new token",
    ok: OkDoc::Json(schema::<TokenResponse>),
    ..BASE
};

/// `POST /v1/users/logout`.
pub const LOGOUT: OperationDoc = OperationDoc {
    operation_id: "logout",
    tag: "tokens",
    summary: "Sign out: this token, or with `{\"all\": true}` every token of the caller \
        (an extension: Redis has no logout)",
    security: &["jwt", "bearer"],
    body: Some(BodyDoc {
        schema: schema::<LogoutBody>,
        required: false,
    }),
    ok_description: "Signed out",
    ..BASE
};

const PASSWORD_PROOF: &str = "The caller proves who they are with `old_password` (an expired \
    password is accepted). An unknown username gets the same 401 as a wrong password.";

/// `PUT /v1/users/password`.
pub const REPLACE_PASSWORDS: OperationDoc = OperationDoc {
    operation_id: "replacePasswords",
    summary: "Replace all passwords with a new one",
    description: PASSWORD_PROOF,
    body: Some(BodyDoc {
        schema: schema::<PasswordChangeBody>,
        required: true,
    }),
    ..BASE
};

/// `POST /v1/users/password`.
pub const ADD_PASSWORD: OperationDoc = OperationDoc {
    operation_id: "addPassword",
    summary: "Add a password (rotation)",
    description: PASSWORD_PROOF,
    body: Some(BodyDoc {
        schema: schema::<PasswordChangeBody>,
        required: true,
    }),
    ..BASE
};

/// `DELETE /v1/users/password`.
pub const REMOVE_PASSWORD: OperationDoc = OperationDoc {
    operation_id: "removePassword",
    summary: "Remove one password",
    description: PASSWORD_PROOF,
    body: Some(BodyDoc {
        schema: schema::<PasswordRemoveBody>,
        required: true,
    }),
    ..BASE
};

/// `GET /v1/users`.
pub const LIST_USERS: OperationDoc = OperationDoc {
    operation_id: "listUsers",
    summary: "List users",
    ok_description: "All users",
    ok: OkDoc::Json(users),
    ..BASE
};

/// `POST /v1/users`.
pub const CREATE_USER: OperationDoc = OperationDoc {
    operation_id: "createUser",
    summary: "Create a user",
    description: "Redis's other documented user fields are accepted and ignored; any other \
        field is 400 naming it. With `password_complexity` on, a password must also pass \
        Redis's complexity rules (`password_not_complex`).",
    body: Some(BodyDoc {
        schema: schema::<CreateUserBody>,
        required: true,
    }),
    ok_description: "The new user",
    ok: OkDoc::Json(schema::<UserView>),
    links: USER_LINKS,
    ..BASE
};

/// `GET /v1/users/{uid}`.
pub const GET_USER: OperationDoc = OperationDoc {
    operation_id: "getUser",
    summary: "Show a user",
    uid: USER_UID,
    ok_description: "The user",
    ok: OkDoc::Json(schema::<UserView>),
    ..BASE
};

/// `PUT /v1/users/{uid}`.
pub const UPDATE_USER: OperationDoc = OperationDoc {
    operation_id: "updateUser",
    summary: "Update a user (a user may change their own name and password)",
    description: "An admin password reset unlocks a locked account. The last active admin \
        can be neither demoted nor given another status (406).",
    uid: USER_UID,
    body: Some(BodyDoc {
        schema: schema::<UpdateUserBody>,
        required: true,
    }),
    ok_description: "The updated user",
    ok: OkDoc::Json(schema::<UserView>),
    ..BASE
};

/// `DELETE /v1/users/{uid}`.
pub const DELETE_USER: OperationDoc = OperationDoc {
    operation_id: "deleteUser",
    summary: "Delete a user",
    description: "The last active admin cannot be deleted (406).",
    uid: USER_UID,
    ok_description: "Deleted",
    ..BASE
};

/// `GET /v1/openapi.json`.
pub const OPENAPI: OperationDoc = OperationDoc {
    operation_id: "openapi",
    tag: "meta",
    summary: "This document",
    ok_description: "OpenAPI 3.0 document",
    ok: OkDoc::Json(any_object),
    ..BASE
};

/// `GET /.well-known/jwks.json`.
pub const JWKS: OperationDoc = OperationDoc {
    operation_id: "jwks",
    tag: "tokens",
    summary: "Public keys that verify tokens (JWKS)",
    ok_description: "A JWK set",
    ok: OkDoc::Json(any_object),
    ..BASE
};

fn liveness(_: &mut SchemaGenerator) -> Schema {
    object_schema(&json!({
        "type": "object", "required": ["status"],
        "properties": {"status": {"type": "string", "enum": ["ok"]}}
    }))
}

fn readiness(_: &mut SchemaGenerator) -> Schema {
    object_schema(&json!({
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not_ready"]},
            "failing": {"type": "array", "items": {"type": "string"}},
            "checks": {"type": "object", "additionalProperties":
                {"type": "string", "enum": ["ok", "timeout", "unavailable"]}}
        }
    }))
}

/// `GET /livez`.
pub const LIVEZ: OperationDoc = OperationDoc {
    operation_id: "livez",
    tag: "operations",
    summary: "Liveness: the process answers",
    ok_description: "`{\"status\":\"ok\"}`",
    ok: OkDoc::Json(liveness),
    ..BASE
};

/// `GET /readyz`.
pub const READYZ: OperationDoc = OperationDoc {
    operation_id: "readyz",
    tag: "operations",
    summary: "Readiness: every store answers within the deadline",
    ok_description: "Ready",
    ok: OkDoc::Json(readiness),
    other: Some((503, "Not ready: `failing` names the checks", readiness)),
    ..BASE
};

/// `GET /metrics`.
pub const METRICS: OperationDoc = OperationDoc {
    operation_id: "metrics",
    tag: "operations",
    summary: "Prometheus metrics (text exposition format 0.0.4)",
    ok_description: "Metrics",
    ok: OkDoc::Text,
    ..BASE
};

const POLICY_PUT: &str = "A partial update: only the fields given change (in one \
    transaction), and the answer is the whole object as it now stands. The change is in force \
    in every server process on the same database within a second.";

/// `GET /v1/cluster`.
pub const GET_CLUSTER: OperationDoc = OperationDoc {
    operation_id: "getCluster",
    tag: "cluster",
    summary: "The password policy fields of the cluster object",
    description: "Redis's other documented fields of the cluster object are absent.",
    ok_description: "The fields",
    ok: OkDoc::Json(|_| component("ClusterSettings")),
    ..BASE
};

/// `PUT /v1/cluster`.
pub const PUT_CLUSTER: OperationDoc = OperationDoc {
    operation_id: "putCluster",
    tag: "cluster",
    summary: "Change the password policy fields",
    description: POLICY_PUT,
    body: Some(BodyDoc {
        schema: |_| component("ClusterSettings"),
        required: true,
    }),
    ok_description: "The fields as they now stand",
    ok: OkDoc::Json(|_| component("ClusterSettings")),
    dry_run: true,
    ..BASE
};

/// `GET /v1/cluster/policy`.
pub const GET_POLICY: OperationDoc = OperationDoc {
    operation_id: "getClusterPolicy",
    tag: "cluster",
    summary: "The sign-in policy (Redis's cluster_settings lockout fields and extensions)",
    ok_description: "The policy",
    ok: OkDoc::Json(|_| component("ClusterPolicy")),
    ..BASE
};

/// `PUT /v1/cluster/policy`.
pub const PUT_POLICY: OperationDoc = OperationDoc {
    operation_id: "putClusterPolicy",
    tag: "cluster",
    summary: "Change the sign-in policy",
    description: POLICY_PUT,
    body: Some(BodyDoc {
        schema: |_| component("ClusterPolicy"),
        required: true,
    }),
    ok_description: "The policy as it now stands",
    ok: OkDoc::Json(|_| component("ClusterPolicy")),
    dry_run: true,
    ..BASE
};

/// `GET /v1/cluster/ldap`.
pub const GET_LDAP: OperationDoc = OperationDoc {
    operation_id: "getLdap",
    tag: "cluster",
    summary: "The LDAP configuration",
    description: "`bind_pass` reads as `\"***\"`. With no directory configured: `{\"uris\": []}`.",
    ok_description: "The ldap object",
    ok: OkDoc::Json(schema::<LdapSettings>),
    ..BASE
};

/// `PUT /v1/cluster/ldap`.
pub const PUT_LDAP: OperationDoc = OperationDoc {
    operation_id: "putLdap",
    tag: "cluster",
    summary: "Replace the LDAP configuration",
    description: "The whole object (fields left out take their defaults); a `bind_pass` of \
        `\"***\"` keeps the stored password. The directory is rebuilt without a restart, in \
        every server process on the database within a second. Mappings are managed at \
        /v1/ldap_mappings (`ldap_mappings` here is refused).",
    body: Some(BodyDoc {
        schema: super::ldap_input::ldap_input,
        required: true,
    }),
    ok_description: "The stored object, bind_pass masked",
    ok: OkDoc::Json(schema::<LdapSettings>),
    ..BASE
};

/// `DELETE /v1/cluster/ldap`.
pub const DELETE_LDAP: OperationDoc = OperationDoc {
    operation_id: "deleteLdap",
    tag: "cluster",
    summary: "Remove the LDAP configuration",
    description: "Directory users can no longer sign in; the mappings stay.",
    ..BASE
};

const MAPPING_LINKS: &[Link] = &[
    Link {
        name: "GetMapping",
        operation_id: "getLdapMapping",
    },
    Link {
        name: "UpdateMapping",
        operation_id: "updateLdapMapping",
    },
    Link {
        name: "DeleteMapping",
        operation_id: "deleteLdapMapping",
    },
];

fn mappings(generator: &mut SchemaGenerator) -> Schema {
    let item = generator.subschema_for::<LdapMapping>();
    object_schema(&json!({"type": "array", "items": item}))
}

/// `GET /v1/ldap_mappings`.
pub const LIST_MAPPINGS: OperationDoc = OperationDoc {
    operation_id: "listLdapMappings",
    tag: "cluster",
    summary: "Every LDAP mapping, by uid",
    ok_description: "The mappings",
    ok: OkDoc::Json(mappings),
    ..BASE
};

/// `POST /v1/ldap_mappings`.
pub const CREATE_MAPPING: OperationDoc = OperationDoc {
    operation_id: "createLdapMapping",
    tag: "cluster",
    summary: "Create an LDAP mapping",
    description: "`name`, `dn` and `role` are required. Works whether or not a directory is \
        configured.",
    body: Some(BodyDoc {
        schema: schema::<NewLdapMappingBody>,
        required: true,
    }),
    ok_description: "The new mapping",
    ok: OkDoc::Json(schema::<LdapMapping>),
    links: MAPPING_LINKS,
    ..BASE
};

/// `GET /v1/ldap_mappings/{uid}`.
pub const GET_MAPPING: OperationDoc = OperationDoc {
    operation_id: "getLdapMapping",
    tag: "cluster",
    summary: "One LDAP mapping",
    uid: MAPPING_UID,
    ok_description: "The mapping",
    ok: OkDoc::Json(schema::<LdapMapping>),
    ..BASE
};

/// `PUT /v1/ldap_mappings/{uid}`.
pub const UPDATE_MAPPING: OperationDoc = OperationDoc {
    operation_id: "updateLdapMapping",
    tag: "cluster",
    summary: "Change an LDAP mapping: the fields given change",
    uid: MAPPING_UID,
    body: Some(BodyDoc {
        schema: schema::<LdapMappingBody>,
        required: true,
    }),
    ok_description: "The mapping",
    ok: OkDoc::Json(schema::<LdapMapping>),
    ..BASE
};

/// `DELETE /v1/ldap_mappings/{uid}`.
pub const DELETE_MAPPING: OperationDoc = OperationDoc {
    operation_id: "deleteLdapMapping",
    tag: "cluster",
    summary: "Delete an LDAP mapping",
    uid: MAPPING_UID,
    ..BASE
};
