//! The OpenAPI paths and schemas of the run-time settings endpoints (`/v1/cluster*`,
//! `/v1/ldap_mappings*`), added to the document by [`super::openapi::openapi_document`].

use serde_json::{Map, Value, json};

use super::{
    CLUSTER_LDAP_PATH, CLUSTER_PATH, CLUSTER_POLICY_PATH, LDAP_MAPPING_PATH, LDAP_MAPPINGS_PATH,
};
use crate::settings::{IGNORED_CLUSTER_FIELDS, IGNORED_POLICY_FIELDS};

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": schema_ref("Error")}}
    })
}

fn ok(description: &str, schema: &Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema_ref(schema)}}})
}

/// The responses of every operation here: auth errors, 405 and 503.
fn responses(mut own: Value, permission: &str) -> Value {
    if let Some(map) = own.as_object_mut() {
        map.insert(
            "401".into(),
            error("`unauthorized`: missing, invalid or expired credentials"),
        );
        map.insert(
            "403".into(),
            error(&format!(
                "`forbidden`: the caller's role lacks `{permission}`"
            )),
        );
        map.insert("405".into(), error("`method_not_allowed`, with `Allow`"));
        map.insert(
            "503".into(),
            error("`service_unavailable`: the database is down, with `Retry-After`"),
        );
    }
    own
}

fn op(summary: &str, description: &str, permission: &str, own: Value) -> Value {
    json!({
        "tags": ["cluster"],
        "summary": summary,
        "description": format!("{description} Needs `{permission}`."),
        "security": [{"jwt": []}, {"bearer": []}, {"basic": []}],
        "responses": responses(own, permission),
    })
}

fn with_body(mut operation: Value, schema: &str) -> Value {
    if let Some(map) = operation.as_object_mut() {
        map.insert("requestBody".into(), body(schema));
    }
    operation
}

/// The `dry_run` query parameter of the policy PUTs.
fn with_dry_run(mut operation: Value) -> Value {
    if let Some(map) = operation.as_object_mut() {
        map.insert(
            "parameters".into(),
            json!([{
                "name": super::DRY_RUN_PARAM, "in": "query", "required": false,
                "allowEmptyValue": true,
                "schema": {"type": "string", "enum": ["", "true", "1", "false", "0"]},
                "description": "Validate only: `?dry_run`, `dry_run=true` or `dry_run=1` (`true` \
                    in any case) runs the same validation with the same 400 answers, saves \
                    nothing, and answers 200 with the object as it would stand. `false` or \
                    `0` is an ordinary PUT; any other value, or the parameter twice, is 400 \
                    `invalid_request`."
            }]),
        );
    }
    operation
}

fn ignored_note(fields: &[&str]) -> String {
    format!(
        "Redis's other documented fields of this object are accepted and ignored on PUT and \
         absent on GET: {}. Any other field is 400 `invalid_request` naming it.",
        fields.join(", ")
    )
}

/// Adds the paths and schemas to `doc` (an OpenAPI document with `paths` and
/// `components.schemas` objects).
pub(super) fn extend(doc: &mut Value) {
    let mut paths = Map::new();
    let policy_put = "A partial update: only the fields given change (in one transaction), and \
        the answer is the whole object as it now stands. The change is in force in every \
        server process on the same database within a second.";
    paths.insert(
        CLUSTER_PATH.into(),
        json!({
            "get": op("The password policy fields of the cluster object",
                &ignored_note(IGNORED_CLUSTER_FIELDS), "view_cluster_info",
                json!({"200": ok("The fields", &schema_ref("ClusterSettings"))})),
            "put": with_dry_run(with_body(op("Change the password policy fields", policy_put, "update_cluster",
                json!({
                    "200": ok("The fields as they now stand", &schema_ref("ClusterSettings")),
                    "400": error("`invalid_request`: not an object, an unknown field, a value of the wrong type or out of range"),
                })), "ClusterSettings")),
        }),
    );
    paths.insert(
        CLUSTER_POLICY_PATH.into(),
        json!({
            "get": op("The sign-in policy (Redis's cluster_settings lockout fields and extensions)",
                &ignored_note(IGNORED_POLICY_FIELDS), "view_cluster_info",
                json!({"200": ok("The policy", &schema_ref("ClusterPolicy"))})),
            "put": with_dry_run(with_body(op("Change the sign-in policy", policy_put, "update_cluster",
                json!({
                    "200": ok("The policy as it now stands", &schema_ref("ClusterPolicy")),
                    "400": error("`invalid_request`: not an object, an unknown field, a value of the wrong type or out of range"),
                })), "ClusterPolicy")),
        }),
    );
    paths.insert(
        CLUSTER_LDAP_PATH.into(),
        json!({
            "get": op("The LDAP configuration",
                "`bind_pass` reads as `\"***\"`. With no directory configured: `{\"uris\": []}`.",
                "view_ldap_config", json!({"200": ok("The ldap object", &schema_ref("Ldap"))})),
            "put": with_body(op("Replace the LDAP configuration",
                "The whole object (fields left out take their defaults); a `bind_pass` of \
                 `\"***\"` keeps the stored password. The directory is rebuilt without a \
                 restart, in every server process on the database within a second. Mappings \
                 are managed at /v1/ldap_mappings (`ldap_mappings` here is refused).",
                "config_ldap",
                json!({
                    "200": ok("The stored object, bind_pass masked", &schema_ref("Ldap")),
                    "400": error("`illegal_fields_combination` (user_dn_template with user_dn_query, dn_group_attr with dn_group_query, bind_dn without bind_pass, neither user DN field) or `invalid_request`"),
                })), "Ldap"),
            "delete": op("Remove the LDAP configuration",
                "Directory users can no longer sign in; the mappings stay.", "config_ldap",
                json!({"200": ok("Done", &json!({"type": "object"}))})),
        }),
    );
    let uid = json!({
        "name": "uid", "in": "path", "required": true, "schema": {"type": "integer"},
        "description": "The mapping's uid"
    });
    let mapping_400 = "`invalid_dn_param`, `invalid_name_param`, `invalid_role_uids_param` \
        (role_uids is refused: give a management role name in `role`), `name_already_exists` \
        or `invalid_request`";
    paths.insert(
        LDAP_MAPPINGS_PATH.into(),
        json!({
            "get": op("Every LDAP mapping", "By uid.", "view_all_ldap_mappings_info",
                json!({"200": ok("The mappings", &json!({"type": "array", "items": schema_ref("LdapMapping")}))})),
            "post": with_body(op("Create an LDAP mapping",
                "`name`, `dn` and `role` are required. Works whether or not a directory is configured.",
                "create_ldap_mapping",
                json!({
                    "200": ok("The new mapping", &schema_ref("LdapMapping")),
                    "400": error(&format!("`missing_field`, {mapping_400}")),
                })), "LdapMappingInput"),
        }),
    );
    paths.insert(
        LDAP_MAPPING_PATH.into(),
        json!({
            "parameters": [uid],
            "get": op("One LDAP mapping", "", "view_ldap_mapping_info",
                json!({
                    "200": ok("The mapping", &schema_ref("LdapMapping")),
                    "404": error("`ldap_mapping_not_exist`"),
                })),
            "put": with_body(op("Change an LDAP mapping", "The fields given change.",
                "update_ldap_mapping",
                json!({
                    "200": ok("The mapping", &schema_ref("LdapMapping")),
                    "400": error(mapping_400),
                    "404": error("`ldap_mapping_not_exist`"),
                })), "LdapMappingInput"),
            "delete": op("Delete an LDAP mapping", "", "delete_ldap_mapping",
                json!({
                    "200": ok("Done", &json!({"type": "object"})),
                    "404": error("`ldap_mapping_not_exist`"),
                })),
        }),
    );

    let schemas = json!({
        "ClusterSettings": {
            "type": "object",
            "properties": {
                "password_complexity": {"type": "boolean", "default": false},
                "password_expiration_duration": {"type": "integer", "minimum": 0, "default": 0,
                    "description": "Days a password stays valid; 0 = never expires"}
            }
        },
        "ClusterPolicy": {
            "type": "object",
            "properties": {
                "login_lockout_threshold": {"type": "integer", "minimum": 0, "default": 5,
                    "description": "Failed sign-ins that lock an account; 0 = lockout off"},
                "login_lockout_duration": {"type": "integer", "minimum": 0, "maximum": 31_622_400, "default": 1800,
                    "description": "Seconds a lock lasts; 0 = until an admin resets the password"},
                "login_lockout_counter_reset_after": {"type": "integer", "minimum": 0, "maximum": 31_622_400, "default": 900,
                    "description": "Seconds without a failure after which the count starts again"},
                "max_session_lifetime": {"type": "integer", "minimum": 0, "default": 86400,
                    "description": "Extension: seconds a session may be refreshed from its sign-in; 0 = unlimited"},
                "password_min_length": {"type": "integer", "minimum": 0, "maximum": 4096, "default": 8,
                    "description": "Extension: shortest new password; 0 = off"},
                "max_passwords_per_user": {"type": "integer", "minimum": 0, "default": 3,
                    "description": "Extension: most passwords a user may hold at once"}
            }
        },
        "Ldap": {
            "type": "object",
            "description": "Redis's ldap object.",
            "properties": {
                "uris": {"type": "array", "items": {"type": "string"}},
                "bind_dn": {"type": "string"},
                "bind_pass": {"type": "string", "description": "\"***\" on GET"},
                "ca_cert": {"type": "string"},
                "starttls": {"type": "boolean", "default": false},
                "cache_ttl": {"type": "integer", "default": 300},
                "directory_timeout_s": {"type": "integer", "minimum": 5, "maximum": 60, "default": 5},
                "control_plane": {"type": "boolean", "description": "Accepted and ignored"},
                "data_plane": {"type": "boolean", "description": "Accepted and ignored"},
                "user_dn_template": {"type": "string"},
                "user_dn_query": schema_ref("LdapQuery"),
                "dn_group_attr": {"type": "string"},
                "dn_group_query": schema_ref("LdapQuery")
            }
        },
        "LdapQuery": {
            "type": "object",
            "properties": {
                "base": {"type": "string"}, "filter": {"type": "string"},
                "scope": {"type": "string", "enum": ["base", "one", "subtree"]}
            }
        },
        "LdapMapping": {
            "type": "object",
            "required": ["uid", "name", "dn", "role", "email_alerts"],
            "properties": {
                "uid": {"type": "integer"}, "name": {"type": "string"},
                "dn": {"type": "string"}, "role": {"type": "string"},
                "email": {"type": "string", "nullable": true},
                "email_alerts": {"type": "boolean"}
            }
        },
        "LdapMappingInput": {
            "type": "object",
            "description": "Redis's account_id, action_uid, bdbs_email_alerts, cluster_email_alerts and uid are accepted and ignored; role_uids is 400 invalid_role_uids_param.",
            "properties": {
                "name": {"type": "string", "maxLength": 255}, "dn": {"type": "string", "maxLength": 1024},
                "role": {"type": "string"}, "email": {"type": "string"},
                "email_alerts": {"type": "boolean", "default": true}
            }
        }
    });

    if let Some(map) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        map.extend(paths);
    }
    if let (Some(map), Value::Object(new)) = (
        doc.pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut),
        schemas,
    ) {
        map.extend(new);
    }
}
