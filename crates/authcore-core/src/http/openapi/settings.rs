//! The component schemas of the run-time settings endpoints. The two policy objects are
//! generated from [`AuthPolicy`], the type `PUT /v1/cluster*` parses into, split by
//! [`CLUSTER_FIELDS`]; Redis's other documented fields of each object (accepted and
//! ignored) are added, anything else is refused. The `ldap` object is checked by the
//! directory crate ([`crate::DirectoryControl::check`]) and the mapping bodies field by
//! field (`super::super::cluster`), with Redis's error codes: their schemas are written here
//! to say what those checks accept.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::policy::AuthPolicy;
use crate::settings::{CLUSTER_FIELDS, IGNORED_CLUSTER_FIELDS, IGNORED_POLICY_FIELDS};

/// The two policy objects: `ClusterSettings` (`/v1/cluster`) and `ClusterPolicy`
/// (`/v1/cluster/policy`).
fn policy_schemas() -> (Value, Value) {
    let policy = SchemaSettings::openapi3()
        .into_generator()
        .into_root_schema_for::<AuthPolicy>()
        .to_value();
    let fields = policy
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (cluster, rest): (Map<String, Value>, Map<String, Value>) = fields
        .into_iter()
        .partition(|(name, _)| CLUSTER_FIELDS.contains(&name.as_str()));
    let object = |mut properties: Map<String, Value>, ignored: &[&str]| {
        for field in ignored {
            properties.insert(
                (*field).to_owned(),
                json!({"description": "Redis's; accepted and ignored on PUT, absent on GET"}),
            );
        }
        json!({"type": "object", "additionalProperties": false, "properties": properties})
    };
    (
        object(cluster, IGNORED_CLUSTER_FIELDS),
        object(rest, IGNORED_POLICY_FIELDS),
    )
}

const IGNORED: &str = "Redis's; accepted and ignored";

/// Adds the settings schemas to `schemas`.
pub(super) fn add_schemas(schemas: &mut Map<String, Value>) {
    let (cluster, policy) = policy_schemas();
    schemas.insert("ClusterSettings".into(), cluster);
    schemas.insert("ClusterPolicy".into(), policy);
    let mapping_fields = json!({
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "dn": {"type": "string", "minLength": 1, "maxLength": 1024,
            "description": "A distinguished name (cn=admins,ou=groups,dc=example,dc=org)"},
        "role": {"type": "string", "minLength": 1},
        "email": {"type": "string", "nullable": true, "maxLength": 320,
            "description": "For alerts; `null` or `\"\"` clears it"},
        "email_alerts": {"type": "boolean", "default": true},
        "uid": {"type": "integer", "nullable": true, "description": IGNORED},
        "account_id": {"type": "integer", "nullable": true, "description": IGNORED},
        "action_uid": {"type": "string", "nullable": true, "description": IGNORED},
        "bdbs_email_alerts": {"type": "array", "items": {"type": "string"}, "nullable": true,
            "description": IGNORED},
        "cluster_email_alerts": {"type": "boolean", "nullable": true, "description": IGNORED},
    });
    schemas.insert(
        "LdapMappingInput".into(),
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["name", "dn", "role"],
            "description": "`role_uids` is 400 `invalid_role_uids_param`: give a management \
                role name in `role`.",
            "properties": mapping_fields,
        }),
    );
    schemas.insert(
        "LdapMappingUpdate".into(),
        json!({
            "type": "object",
            "additionalProperties": false,
            "description": "The fields given change. `role_uids` is 400 \
                `invalid_role_uids_param`.",
            "properties": mapping_fields,
        }),
    );
    schemas.insert(
        "LdapMapping".into(),
        json!({
            "type": "object",
            "required": ["uid", "name", "dn", "role", "email_alerts"],
            "properties": {
                "uid": {"type": "integer"}, "name": {"type": "string"},
                "dn": {"type": "string"}, "role": {"type": "string"},
                "email": {"type": "string", "nullable": true},
                "email_alerts": {"type": "boolean"}
            }
        }),
    );
    let query = json!({
        "type": "object",
        "properties": {
            "base": {"type": "string"}, "filter": {"type": "string"},
            "scope": {"type": "string", "enum": ["base", "one", "subtree"]}
        }
    });
    schemas.insert(
        "Ldap".into(),
        json!({
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
                "user_dn_query": query,
                "dn_group_attr": {"type": "string"},
                "dn_group_query": query,
            }
        }),
    );
}
