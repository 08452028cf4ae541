//! The OpenAPI 3 document of the users API, written by hand to say exactly what the endpoint
//! functions do.

use serde_json::{Value, json};

use super::body::IGNORED_USER_FIELDS;
use super::response::ApiResponse;
use super::{
    AUTHORIZE_PATH, JWKS_PATH, LIVEZ_PATH, LOGOUT_PATH, METRICS_PATH, OPENAPI_PATH, PASSWORD_PATH,
    READYZ_PATH, REFRESH_JWT_PATH, USER_PATH, USERS_PATH,
};
use crate::authenticator::Authenticator;

const IGNORED_DOC: &str = "Redis's other documented user fields (email_alerts, \
bdbs_email_alerts, cluster_email_alerts, account_id, action_uid, and the read-only uid, \
auth_method, password_issue_date) are accepted and ignored; any other field is refused with \
400 naming it.";

fn prehash_doc() -> Value {
    json!({
        "type": "string", "enum": ["1"],
        "description": "\"1\": `password` is Redis's pre-hash, the lowercase hex SHA-256 of \
            `username:clustername:password` (cluster name: the server's --cluster-name). It is \
            stored wrapped in argon2id; the user signs in with the plain password. Any other \
            value: 400."
    })
}

/// Adds [`IGNORED_USER_FIELDS`] to a body's properties, each marked as ignored.
fn with_ignored(mut properties: Value) -> Value {
    if let Some(map) = properties.as_object_mut() {
        for field in IGNORED_USER_FIELDS {
            map.insert(
                field.to_owned(),
                json!({"description": "Accepted for Redis compatibility and ignored."}),
            );
        }
    }
    properties
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn json_response(description: &str, schema: &Value) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": schema}}
    })
}

fn json_request(schema: &str, required: bool) -> Value {
    json!({
        "required": required,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Responses every route can give.
fn with_common(mut responses: Value) -> Value {
    if let Some(map) = responses.as_object_mut() {
        map.insert(
            "405".into(),
            error_response("Wrong method (`method_not_allowed`), with an `Allow` header"),
        );
        map.insert(
            "503".into(),
            error_response(
                "Store down or hashing saturated (`service_unavailable`), with `Retry-After`",
            ),
        );
    }
    responses
}

fn password_op(summary: &str, body_schema: &str, extra_400: &str) -> Value {
    json!({
        "tags": ["users"],
        "summary": summary,
        "description": "The caller proves who they are with `old_password` (an expired password is accepted). An unknown username gets the same 401 as a wrong password.",
        "requestBody": json_request(body_schema, true),
        "responses": with_common(json!({
            "200": json_response("Done", &json!({"type": "object"})),
            "400": error_response(&format!("`invalid_request`{extra_400}")),
            "401": error_response("`unauthorized`: wrong username or password"),
            "429": error_response("`too_many_requests`: this client's password checks are rate limited (when the server limits them), with `Retry-After`"),
            "413": error_response("`payload_too_large`"),
        })),
    })
}

fn admin_security() -> Value {
    json!([{"jwt": []}, {"bearer": []}, {"basic": []}])
}

/// The OpenAPI 3.0 document; `with_jwks` adds `GET /.well-known/jwks.json`.
#[must_use]
pub fn openapi_document(with_jwks: bool) -> Value {
    let uid_param = json!({
        "name": "uid", "in": "path", "required": true, "schema": {"type": "string"},
        "description": "The user's uid (an integer for local users)"
    });
    let user = schema_ref("User");
    let token = schema_ref("TokenResponse");
    let auth_errors = |mut v: Value| {
        if let Some(map) = v.as_object_mut() {
            map.insert(
                "401".into(),
                error_response("`unauthorized` (missing, invalid or expired credentials) or `password_expired`"),
            );
            map.insert(
                "403".into(),
                error_response("`forbidden`: the role may not do this"),
            );
        }
        with_common(v)
    };
    let mut paths = serde_json::Map::new();
    paths.insert(AUTHORIZE_PATH.into(), json!({
        "post": {
            "tags": ["tokens"],
            "summary": "Sign in and get a JWT",
            "description": "Credentials in the JSON body, or HTTP Basic credentials with an optional `{\"ttl\"}` body.",
            "security": [{}, {"basic": []}],
            "requestBody": json_request("Authorize", false),
            "responses": with_common(json!({
                "200": json_response("A token", &token),
                "400": error_response("`invalid_request`: malformed body or header, missing fields, ttl outside 1..=86400"),
                "401": error_response("`unauthorized` (wrong or unknown credentials, locked or disabled account) or `password_expired`"),
                "429": error_response("`too_many_requests`: this client's password checks are rate limited (when the server limits them), with `Retry-After`"),
                "413": error_response("`payload_too_large`"),
            })),
        }
    }));
    paths.insert(REFRESH_JWT_PATH.into(), json!({
        "post": {
            "tags": ["tokens"],
            "summary": "Exchange a valid token for a new one",
            "security": [{"jwt": []}, {"bearer": []}],
            "requestBody": json_request("Ttl", false),
            "responses": with_common(json!({
                "200": json_response("A new token", &token),
                "400": error_response("`invalid_request`"),
                "401": error_response("`unauthorized` (invalid, expired or revoked token; user gone or not active; session older than max_session_lifetime) or `password_expired`"),
                "413": error_response("`payload_too_large`"),
            })),
        }
    }));
    paths.insert(LOGOUT_PATH.into(), json!({
        "post": {
            "tags": ["tokens"],
            "summary": "Sign out: revoke this token, or with {\"all\": true} every token of the caller (extension)",
            "security": [{"jwt": []}, {"bearer": []}],
            "requestBody": json_request("Logout", false),
            "responses": with_common(json!({
                "200": json_response("Signed out", &json!({"type": "object"})),
                "400": error_response("`invalid_request`"),
                "401": error_response("`unauthorized` (invalid, expired or already revoked token; user gone or not active)"),
                "413": error_response("`payload_too_large`"),
            })),
        }
    }));
    paths.insert(PASSWORD_PATH.into(), json!({
        "put": password_op("Replace all passwords with a new one", "PasswordChange", ", `password_not_complex`, `new_password_same_as_current`"),
        "post": password_op("Add a password (rotation)", "PasswordChange", ", `password_not_complex`, `new_password_same_as_current`, `too_many_passwords` (the user already holds the most passwords allowed, default 3)"),
        "delete": password_op("Remove one password", "PasswordRemove", ", `cannot_delete_last_password`"),
    }));
    paths.insert(
        USERS_PATH.into(),
        json!({
            "get": {
                "tags": ["users"], "summary": "List users (admin)", "security": admin_security(),
                "responses": auth_errors(json!({
                    "200": json_response("All users", &json!({"type": "array", "items": user})),
                    "400": error_response("`invalid_request`: malformed Authorization header"),
                })),
            },
            "post": {
                "tags": ["users"], "summary": "Create a user (admin)", "security": admin_security(),
                "requestBody": json_request("CreateUser", true),
                "responses": auth_errors(json!({
                    "200": json_response("The new user", &user),
                    "400": error_response("`invalid_request` (also for a `dry_run` query: Redis's later docs have it here, authcore does not implement it and refuses it rather than write) or `password_not_complex`"),
                    "409": error_response("`email_already_exists` or `name_already_exists`"),
                    "413": error_response("`payload_too_large`"),
                })),
            },
        }),
    );
    paths.insert(USER_PATH.into(), json!({
        "parameters": [uid_param],
        "get": {
            "tags": ["users"], "summary": "Show a user (admin, or the user themself)",
            "security": admin_security(),
            "responses": auth_errors(json!({
                "200": json_response("The user", &user),
                "400": error_response("`invalid_request`"),
                "404": error_response("`not_found`"),
            })),
        },
        "put": {
            "tags": ["users"],
            "summary": "Update a user (admin; a user may change their own name and password)",
            "description": "An admin password reset unlocks a locked account. The last active admin can be neither demoted nor given another status (406 `change_last_admin_role_not_allowed`).",
            "security": admin_security(),
            "requestBody": json_request("UpdateUser", true),
            "responses": auth_errors(json!({
                "200": json_response("The updated user", &user),
                "400": error_response("`invalid_request` (also for a `dry_run` query: not implemented here, refused rather than ignored), `password_not_complex` or `new_password_same_as_current`"),
                "404": error_response("`not_found`"),
                "406": error_response("`change_last_admin_role_not_allowed`"),
                "409": error_response("`email_already_exists` or `name_already_exists`"),
                "413": error_response("`payload_too_large`"),
            })),
        },
        "delete": {
            "tags": ["users"], "summary": "Delete a user (admin)", "security": admin_security(),
            "responses": auth_errors(json!({
                "200": json_response("Deleted", &json!({"type": "object"})),
                "400": error_response("`invalid_request`"),
                "404": error_response("`not_found`"),
                "406": error_response("`change_last_admin_role_not_allowed`: the last admin cannot be deleted"),
            })),
        },
    }));
    paths.insert(OPENAPI_PATH.into(), json!({
        "get": {
            "tags": ["meta"], "summary": "This document",
            "responses": with_common(json!({"200": json_response("OpenAPI 3 document", &json!({"type": "object"}))})),
        }
    }));
    if with_jwks {
        paths.insert(JWKS_PATH.into(), json!({
            "get": {
                "tags": ["tokens"], "summary": "Public keys that verify tokens (JWKS)",
                "responses": with_common(json!({"200": json_response("A JWK set", &json!({"type": "object"}))})),
            }
        }));
    }
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "authcore users API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Redis Enterprise 7.4 compatible user, token and password endpoints. Every error is `{\"error_code\",\"message\"}`; unknown routes give 404 `not_found`."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "jwt": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`JWT <token>` (Redis's scheme)"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error_code", "message"],
                    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}}
                },
                "TokenResponse": {
                    "type": "object", "required": ["access_token"],
                    "properties": {"access_token": {"type": "string"}}
                },
                "Logout": {
                    "type": "object",
                    "properties": {"all": {"type": "boolean", "default": false, "description": "End every session of the caller"}}
                },
                "Ttl": {
                    "type": "object",
                    "properties": {"ttl": {"type": "integer", "minimum": 1, "maximum": 86400, "default": 300}}
                },
                "Authorize": {
                    "type": "object",
                    "properties": {
                        "username": {"type": "string"}, "password": {"type": "string"},
                        "ttl": {"type": "integer", "minimum": 1, "maximum": 86400, "default": 300}
                    }
                },
                "PasswordChange": {
                    "type": "object", "required": ["username", "old_password", "new_password"],
                    "properties": {
                        "username": {"type": "string"}, "old_password": {"type": "string"},
                        "new_password": {"type": "string"}
                    }
                },
                "PasswordRemove": {
                    "type": "object", "required": ["username", "old_password"],
                    "properties": {"username": {"type": "string"}, "old_password": {"type": "string"}}
                },
                "CreateUser": {
                    "type": "object", "required": ["email", "password", "role"],
                    "additionalProperties": false,
                    "description": IGNORED_DOC,
                    "properties": with_ignored(json!({
                        "email": {"type": "string"}, "password": {"type": "string"},
                        "name": {"type": "string"}, "role": {"type": "string"},
                        "password_hash_method": prehash_doc()
                    }))
                },
                "UpdateUser": {
                    "type": "object",
                    "additionalProperties": false,
                    "description": IGNORED_DOC,
                    "properties": with_ignored(json!({
                        "email": {"type": "string"}, "name": {"type": "string"},
                        "role": {"type": "string"},
                        "status": {"type": "string", "enum": ["active", "locked", "disabled"]},
                        "password": {"type": "string"},
                        "password_hash_method": prehash_doc()
                    }))
                },
                "User": {
                    "type": "object",
                    "required": ["uid", "email", "role", "status", "auth_method"],
                    "properties": {
                        "uid": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                        "email": {"type": "string"},
                        "name": {"type": "string", "description": "absent for a user without a name"},
                        "role": {"type": "string"},
                        "status": {"type": "string", "enum": ["active", "locked", "disabled"]},
                        "password_issue_date": {"type": "string", "format": "date-time"},
                        "auth_method": {"type": "string", "enum": ["regular", "external"]}
                    }
                }
            }
        }
    });
    super::cluster_openapi::extend(&mut doc);
    doc
}

/// `GET /v1/openapi.json` for `auth`'s configuration: the JWKS route with public keys, the
/// operations routes with the embedding server's [`super::Operations`], the run-time settings
/// routes with a settings store. The document lists exactly the paths [`super::routes`]
/// serves for `auth`, never one its router would answer with 404.
#[must_use]
pub fn openapi(auth: &Authenticator) -> ApiResponse {
    let mut doc = openapi_document(auth.tokens().keys().has_public_keys());
    if let Some(ops) = auth.operations() {
        add_operations(&mut doc, ops.serves_metrics());
    }
    let served = super::routes(auth);
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.retain(|path, _| served.iter().any(|r| r.path == path));
    }
    ApiResponse::json(200, &doc)
}

/// `GET /livez`, `GET /readyz` and (when served here) `GET /metrics`.
fn add_operations(doc: &mut Value, with_metrics: bool) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let health = |summary: &str, responses: Value| json!({"get": {"tags": ["operations"], "summary": summary, "security": [], "responses": responses}});
    paths.insert(
        LIVEZ_PATH.into(),
        health(
            "Liveness: the process answers",
            json!({"200": json_response("`{\"status\":\"ok\"}`", &json!({"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}}))}),
        ),
    );
    let readiness = json!({
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not_ready"]},
            "failing": {"type": "array", "items": {"type": "string"}},
            "checks": {"type": "object", "additionalProperties": {"type": "string", "enum": ["ok", "timeout", "unavailable"]}}
        }
    });
    paths.insert(
        READYZ_PATH.into(),
        health(
            "Readiness: every store answers within the deadline",
            json!({
                "200": json_response("Ready", &readiness),
                "503": json_response("Not ready: `failing` names the checks", &readiness),
            }),
        ),
    );
    if with_metrics {
        paths.insert(
            METRICS_PATH.into(),
            health(
                "Prometheus metrics (text exposition format 0.0.4)",
                json!({"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{JWKS_PATH, LIVEZ_PATH, METRICS_PATH, READYZ_PATH, ROUTE_TABLE, RouteSpec};

    #[test]
    fn lists_exactly_the_routes() {
        for (with_jwks, with_ops, with_metrics) in [
            (false, false, false),
            (true, false, false),
            (false, true, false),
            (true, true, true),
        ] {
            let mut doc = openapi_document(with_jwks);
            if with_ops {
                add_operations(&mut doc, with_metrics);
            }
            let paths = doc["paths"].as_object().unwrap();
            let mut expected: Vec<RouteSpec> = Vec::new();
            for route in ROUTE_TABLE {
                if (route.path == JWKS_PATH && !with_jwks)
                    || ([LIVEZ_PATH, READYZ_PATH].contains(&route.path) && !with_ops)
                    || (route.path == METRICS_PATH && !with_metrics)
                {
                    continue;
                }
                match expected.iter_mut().find(|s| s.path == route.path) {
                    Some(spec) => spec.methods.push(route.method),
                    None => expected.push(RouteSpec {
                        path: route.path,
                        methods: vec![route.method],
                    }),
                }
            }
            assert_eq!(paths.len(), expected.len());
            for route in expected {
                let item = paths[route.path].as_object().unwrap();
                let mut methods: Vec<_> = item
                    .keys()
                    .filter(|k| *k != "parameters")
                    .map(|k| k.to_uppercase())
                    .collect();
                methods.sort();
                let mut want: Vec<_> = route.methods.iter().map(|m| (*m).to_owned()).collect();
                want.sort();
                assert_eq!(methods, want, "{}", route.path);
            }
        }
    }
}
