//! The OpenAPI 3.0 document of the users API, generated from the code that serves it.
//!
//! - **Paths and methods** come from [`super::ROUTE_TABLE`], filtered as the dispatch filters
//!   it for this authenticator, so the document lists exactly the routes served.
//! - **Request and response schemas** come from the types that parse requests and write
//!   answers ([`super::CreateUserBody`], [`super::UserView`] and the others), through their [`schemars::JsonSchema`]
//!   derives: the same serde attributes decide what the parser accepts (required fields,
//!   refused unknown fields) and what the schema says, and the validation attributes on those
//!   types (patterns, lengths, ranges) are the constants the parser checks. What only the
//!   running configuration knows is filled in here: the accepted roles (an `enum`) and the
//!   shortest new password of the policy in force (`minLength`).
//! - **Statuses and error codes** come from each route's declared errors
//!   ([`super::Route::answers`]): [`crate::Error`] values whose status and code are
//!   [`crate::Error::http_status`] and [`crate::Error::error_code`], plus what the route's
//!   access and body imply. Each error status lists its codes as an `enum` of `error_code`.
//!
//! Why schemars and not utoipa: the core is framework-free and routes through its own table,
//! so it needs schemas of types, not a description of handler functions. utoipa's value is in
//! its `#[utoipa::path]` attributes on framework handlers and its own OpenAPI model; schemars
//! derives a JSON Schema from the serde attributes the parser already has and nothing else,
//! and its `openapi3` settings write OpenAPI 3.0 component schemas. The document around the
//! schemas (paths, responses, links) is a few lines of JSON built from the route table.

mod ldap_input;
pub mod operations;
mod settings;

use schemars::Schema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

pub use operations::{BodyDoc, Link, OkDoc, OperationDoc, SchemaFn, schema};

use super::response::ApiResponse;
use super::routes::{ROUTE_TABLE, Route};
use crate::authenticator::Authenticator;
use crate::permission::Access;

/// `GET /v1/openapi.json` for `auth`'s configuration: see [`document`].
#[must_use]
pub fn openapi(auth: &Authenticator) -> ApiResponse {
    ApiResponse::json(200, &document(auth))
}

/// The OpenAPI 3.0 document of what `auth` serves: exactly the paths and methods
/// [`super::routes`] lists (the JWKS route with public keys, the operations routes with the
/// embedding server's [`super::Operations`], the run-time settings routes with a settings
/// store), each with every status and error code it can answer.
#[must_use]
pub fn document(auth: &Authenticator) -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let mut paths = Map::new();
    for route in ROUTE_TABLE.iter().filter(|r| (r.enabled)(auth)) {
        let item = paths
            .entry(route.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            if let Some((schema, description)) = route.doc.uid
                && !item.contains_key("parameters")
            {
                item.insert(
                    "parameters".into(),
                    json!([{
                        "name": "uid", "in": "path", "required": true,
                        "description": description, "schema": schema(&mut generator),
                    }]),
                );
            }
            item.insert(
                route.method.to_ascii_lowercase(),
                operation(route, &mut generator),
            );
        }
    }
    let mut schemas = generator.take_definitions(true);
    settings::add_schemas(&mut schemas);
    fill_in_configuration(auth, &mut schemas);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "authcore users API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Redis Enterprise 7.4 compatible user, token and password endpoints. \
                Every error is `{\"error_code\",\"message\"}`; each response lists the codes it \
                can carry. A path no route serves is 404 `not_found`."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "jwt": {"type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "`JWT <token>` (Redis's scheme)"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": schemas,
        }
    })
}

/// One operation: summary, security, request body, the 200 answer and every error answer.
fn operation(route: &Route, generator: &mut SchemaGenerator) -> Value {
    let doc = route.doc;
    let mut op = Map::new();
    op.insert("operationId".into(), doc.operation_id.into());
    op.insert("tags".into(), json!([doc.tag]));
    op.insert("summary".into(), doc.summary.into());
    let mut description = doc.description.to_owned();
    if let Some(permission) = route.access.permission() {
        let who = match route.access {
            Access::PermissionOrSelf(_) => " (or the caller is the user `{uid}` names)",
            _ => "",
        };
        description.push_str(&format!(
            "\n\nNeeds the permission `{}`{who}, decided on the caller's current role.",
            permission.name()
        ));
    }
    op.insert("description".into(), description.trim().into());
    let security = if route.access.needs_caller() {
        json!([{"jwt": []}, {"bearer": []}, {"basic": []}])
    } else {
        let scheme = |s: &&str| {
            if s.is_empty() {
                json!({})
            } else {
                json!({ *s: [] })
            }
        };
        Value::Array(doc.security.iter().map(scheme).collect())
    };
    op.insert("security".into(), security);
    if doc.dry_run {
        op.insert(
            "parameters".into(),
            json!([{
                "name": super::DRY_RUN_PARAM, "in": "query", "required": false,
                "allowEmptyValue": true,
                "schema": {"type": "string",
                    "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[01])?$"},
                "description": "Validate only: `?dry_run`, `dry_run=true` or `dry_run=1` (`true` \
                    in any case) runs the same validation with the same 400 answers, saves \
                    nothing, and answers 200 with the object as it would stand. `false` or \
                    `0` is an ordinary PUT; any other value, or the parameter twice, is 400 \
                    `invalid_request`."
            }]),
        );
    }
    if let Some(body) = doc.body {
        op.insert(
            "requestBody".into(),
            json!({
                "required": body.required,
                "content": {"application/json": {"schema": (body.schema)(generator)}},
            }),
        );
    }
    let mut responses = Map::new();
    let mut ok = match doc.ok {
        OkDoc::Json(schema) => json!({
            "description": doc.ok_description,
            "content": {"application/json": {"schema": schema(generator)}},
        }),
        OkDoc::Text => json!({
            "description": doc.ok_description,
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }),
    };
    if !doc.links.is_empty() {
        let links: Map<String, Value> = doc
            .links
            .iter()
            .map(|link| {
                (
                    link.name.to_owned(),
                    json!({
                        "operationId": link.operation_id,
                        "parameters": {"uid": "$response.body#/uid"},
                    }),
                )
            })
            .collect();
        ok["links"] = Value::Object(links);
    }
    responses.insert("200".into(), ok);
    for (status, codes) in grouped(&route.answers()) {
        responses.insert(status.to_string(), error_response(status, &codes));
    }
    if let Some((status, description, schema)) = doc.other {
        responses.insert(
            status.to_string(),
            json!({
                "description": description,
                "content": {"application/json": {"schema": schema(generator)}},
            }),
        );
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The answers by status, codes in first-declared order.
fn grouped(answers: &[(u16, &'static str)]) -> Vec<(u16, Vec<&'static str>)> {
    let mut out: Vec<(u16, Vec<&'static str>)> = Vec::new();
    for &(status, code) in answers {
        match out.iter_mut().find(|(s, _)| *s == status) {
            Some((_, codes)) if !codes.contains(&code) => codes.push(code),
            Some(_) => {}
            None => out.push((status, vec![code])),
        }
    }
    out.sort_by_key(|(status, _)| *status);
    out
}

fn error_response(status: u16, codes: &[&str]) -> Value {
    let list: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
    let mut out = json!({
        "description": list.join(", "),
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["error_code", "message"],
            "properties": {
                "error_code": {"type": "string", "enum": codes},
                "message": {"type": "string"},
            },
        }}},
    });
    let header = match status {
        401 => Some(("WWW-Authenticate", "The scheme that would work")),
        405 => Some(("Allow", "The methods this path answers")),
        429 | 503 => Some(("Retry-After", "Seconds to wait before retrying")),
        _ => None,
    };
    if let Some((name, description)) = header {
        out["headers"] =
            json!({ name: {"description": description, "schema": {"type": "string"}} });
    }
    out
}

/// The roles this authenticator accepts, the shortest new password of the policy in force
/// and the DN syntax of its directory: the checks use them, so the schemas say them.
fn fill_in_configuration(auth: &Authenticator, schemas: &mut Map<String, Value>) {
    let role = match auth.allowed_roles() {
        Some(roles) => json!({
            "type": "string",
            "enum": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "description": "Management role",
        }),
        None => json!({"type": "string", "minLength": 1, "description": "Role"}),
    };
    for name in ["CreateUserBody", "UpdateUserBody"] {
        let Some(body) = schemas.get_mut(name).and_then(Value::as_object_mut) else {
            continue;
        };
        let mut all = Vec::new();
        // `password_hash_method: "1"` needs the cluster name and a password of 64 hex digits.
        if auth.cluster_name().is_some() {
            all.push(json!({"anyOf": [
                {"properties": {"password_hash_method": {"enum": [null], "nullable": true}}},
                {"required": ["password_hash_method", "password"], "properties": {
                    "password": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}}
            ]}));
        } else if let Some(method) = body
            .get_mut("properties")
            .and_then(|p| p.get_mut("password_hash_method"))
        {
            *method = json!({"enum": [null], "nullable": true, "description":
                "Always `null` here: this server has no cluster name for Redis pre-hashes."});
        }
        if !all.is_empty() {
            body.insert("allOf".into(), Value::Array(all));
        }
    }
    // A mapping's `dn`: with a directory, its DN syntax; without one, an `=` is the check.
    if auth.directory().is_ok() {
        for name in ["LdapMappingInput", "LdapMappingUpdate"] {
            if let Some(dn) = schemas
                .get_mut(name)
                .and_then(|s| s.pointer_mut("/properties/dn"))
            {
                dn["pattern"] = crate::settings::TRIMMED_DN_PATTERN.into();
            }
        }
    }
    let min = auth.policy().passwords.min_length;
    for (schema, field, what) in [
        ("CreateUserBody", "role", &role),
        ("UpdateUserBody", "role", &role),
        ("LdapMappingInput", "role", &role),
        ("LdapMappingUpdate", "role", &role),
    ] {
        if let Some(slot) = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
        {
            let nullable = slot.get("nullable").cloned();
            *slot = what.clone();
            if let Some(nullable) = nullable {
                slot["nullable"] = nullable;
            }
        }
    }
    for (schema, field) in [
        ("CreateUserBody", "password"),
        ("UpdateUserBody", "password"),
        ("PasswordChangeBody", "new_password"),
    ] {
        if let Some(slot) = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
        {
            slot["minLength"] = min.into();
        }
    }
}

/// A `$ref` to a component schema added by hand ([`settings`]).
fn component(name: &str) -> Schema {
    Schema::from(
        json!({"$ref": format!("#/components/schemas/{name}")})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
}
