//! `LdapInput`, the body of `PUT /v1/cluster/ldap`: the `Ldap` schema (generated from
//! [`LdapSettings`], the type the body parses into, and the answer's schema) with what the
//! directory's check refuses stated as well, from the patterns of
//! [`crate::settings`]: at least one URI, the syntax of `bind_dn`, `user_dn_template`,
//! `dn_group_attr`, the query bases and the filters' placeholders, and the three
//! combinations answered 400 `illegal_fields_combination` (as `allOf` of three `anyOf`,
//! one per rule). A blank string, `null` or an empty query object counts as absent, as the
//! check counts it. What no schema states stays in the description: a filter that is not
//! RFC 4515, a `ca_cert` that is no certificate (400 `invalid_request`), a `bind_pass` of
//! `"***"` with no stored password to keep (400 `illegal_fields_combination`).

use schemars::generate::SchemaGenerator;
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

use super::component;
use crate::settings::{
    ATTRIBUTE_PATTERN, BLANK_OR_ATTRIBUTE_PATTERN, BLANK_OR_DN_PATTERN,
    BLANK_OR_DN_TEMPLATE_PATTERN, BLANK_OR_PEM_PATTERN, BLANK_PATTERN, DN_PATTERN,
    DN_TEMPLATE_PATTERN, GROUP_FILTER_PATTERN, LdapSettings, USER_FILTER_PATTERN,
};

/// The component's name.
pub(super) const LDAP_INPUT: &str = "LdapInput";

const DESCRIPTION: &str = "Redis's ldap object, as `PUT` takes it. A blank string, `null` or \
    an empty query object (blank `base` and `filter`) counts as absent. Exactly one of \
    `user_dn_template` and `user_dn_query`, at most one of `dn_group_attr` and \
    `dn_group_query`, and `bind_dn` with a non-empty `bind_pass` or neither: otherwise 400 \
    `illegal_fields_combination` (also for `bind_pass` `\"***\"` when no password is stored \
    to keep). A URI, DN, template, attribute or query the directory cannot use is 400 \
    `invalid_request`; the patterns say which, but for filters (RFC 4515, with the \
    placeholder: `%u` for `user_dn_query`, `%D` or `%u` for `dn_group_query`) and `ca_cert` \
    (PEM certificates), whose syntax they only outline. Mappings are managed at \
    /v1/ldap_mappings.";

/// A string counted as absent: blank, or `null`.
fn absent_string() -> Value {
    json!({"type": "string", "nullable": true, "pattern": BLANK_PATTERN})
}

/// A query counted as absent: `null`, or blank `base` and `filter`.
fn absent_query() -> Value {
    json!({"type": "object", "nullable": true, "properties": {
        "base": absent_string(), "filter": absent_string()}})
}

/// A query given: a DN `base` and a filter with one of its placeholders.
fn query(filter_pattern: &str) -> Value {
    json!({"type": "object", "required": ["base", "filter"], "properties": {
        "base": {"type": "string", "pattern": DN_PATTERN},
        "filter": {"type": "string", "pattern": filter_pattern}}})
}

/// The case of an either-or pair where `field` is given (as `given`) and `other` is absent
/// (as `absent`).
fn only(field: &str, given: Value, other: &str, absent: Value) -> Value {
    json!({"required": [field], "properties": {field: given, other: absent}})
}

/// The three combination rules, each an `anyOf` of its allowed cases.
fn combinations() -> Value {
    let (template, query_field) = ("user_dn_template", "user_dn_query");
    let (attr, group_query) = ("dn_group_attr", "dn_group_query");
    json!([
        {"description": "Exactly one of user_dn_template and user_dn_query", "anyOf": [
            only(template, json!({"type": "string", "pattern": DN_TEMPLATE_PATTERN}),
                query_field, absent_query()),
            only(query_field, query(USER_FILTER_PATTERN), template, absent_string()),
        ]},
        {"description": "At most one of dn_group_attr and dn_group_query", "anyOf": [
            only(attr, json!({"type": "string", "pattern": ATTRIBUTE_PATTERN}),
                group_query, absent_query()),
            only(group_query, query(GROUP_FILTER_PATTERN), attr, absent_string()),
            {"properties": {attr: absent_string(), group_query: absent_query()}},
        ]},
        {"description": "bind_dn and bind_pass together, or neither", "anyOf": [
            {"required": ["bind_dn", "bind_pass"], "properties": {
                "bind_dn": {"type": "string", "pattern": DN_PATTERN},
                "bind_pass": {"type": "string", "minLength": 1}}},
            {"properties": {
                "bind_dn": absent_string(),
                "bind_pass": {"type": "string", "nullable": true, "maxLength": 0}}},
        ]},
    ])
}

/// The `LdapInput` schema from the `Ldap` one.
fn input_schema(ldap: &Schema) -> Value {
    let mut input = ldap.as_value().clone();
    input["description"] = DESCRIPTION.into();
    if let Some(props) = input.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, key, value) in [
            ("uris", "minItems", json!(1)),
            ("bind_dn", "pattern", BLANK_OR_DN_PATTERN.into()),
            (
                "user_dn_template",
                "pattern",
                BLANK_OR_DN_TEMPLATE_PATTERN.into(),
            ),
            (
                "dn_group_attr",
                "pattern",
                BLANK_OR_ATTRIBUTE_PATTERN.into(),
            ),
            ("ca_cert", "pattern", BLANK_OR_PEM_PATTERN.into()),
        ] {
            if let Some(prop) = props.get_mut(name).and_then(Value::as_object_mut) {
                prop.insert(key.into(), value);
            }
        }
    }
    input["allOf"] = combinations();
    input["example"] = example();
    input
}

/// A body the check accepts (clients that start from the document's examples, such as
/// schemathesis's examples and coverage phases, send it).
fn example() -> Value {
    json!({
        "uris": ["ldaps://ldap.example.org:636"],
        "bind_dn": "cn=authcore,ou=services,dc=example,dc=org",
        "bind_pass": "service-account-password",
        "user_dn_query": {"base": "ou=people,dc=example,dc=org", "filter": "(uid=%u)",
            "scope": "subtree"},
        "dn_group_attr": "memberOf",
        "directory_timeout_s": 5,
    })
}

/// The body of `PUT /v1/cluster/ldap`: a `$ref` to `LdapInput`, added to the document's
/// components.
pub(super) fn ldap_input(generator: &mut SchemaGenerator) -> Schema {
    let ldap = LdapSettings::json_schema(generator);
    let input = input_schema(&ldap);
    generator
        .definitions_mut()
        .insert(LDAP_INPUT.to_owned(), input);
    component(LDAP_INPUT)
}
