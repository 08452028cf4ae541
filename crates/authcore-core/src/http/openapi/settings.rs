//! The component schemas of the policy endpoints: the two policy objects are generated from
//! [`AuthPolicy`], the type `PUT /v1/cluster*` parses into, split by [`CLUSTER_FIELDS`];
//! Redis's other documented fields of each object (accepted and ignored) are added, anything
//! else is refused. The `ldap` object ([`crate::settings::LdapSettings`]) and the mapping
//! bodies ([`crate::http::LdapMappingBody`], [`crate::http::NewLdapMappingBody`],
//! [`crate::settings::LdapMapping`]) need nothing here: the generator derives them from the
//! types that parse and answer (see [`super::operations`]; the `PUT` body of the `ldap`
//! object adds the directory's rules to it, see `ldap_input`).

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

/// Adds the settings schemas to `schemas` (the `ldap` object and the mapping bodies are the
/// generator's, from their types).
pub(super) fn add_schemas(schemas: &mut Map<String, Value>) {
    let (cluster, policy) = policy_schemas();
    schemas.insert("ClusterSettings".into(), cluster);
    schemas.insert("ClusterPolicy".into(), policy);
}
