//! Redis Enterprise's `ldap` object (`GET`/`PUT /v1/cluster/ldap`), typed: the one definition
//! of its fields. `PUT /v1/cluster/ldap` parses into [`LdapSettings`], the settings store keeps
//! it as JSON, `GET` writes it back, the OpenAPI document's `Ldap` schema is derived from it,
//! and the directory crate builds its configuration from it (its configuration file is this
//! object plus `ldap_mappings`).
//!
//! What the type checks is what the wire format says: field names (anything else is refused),
//! JSON types, ranges. Whether the fields make a usable directory configuration (exactly one
//! of `user_dn_template` / `user_dn_query`, URIs, DN and filter syntax, the CA bundle) is the
//! directory's check ([`super::DirectoryControl::check`]), answered with Redis's
//! `illegal_fields_combination` or `invalid_request`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// What a URI of `uris` looks like: `ldap://` or `ldaps://` (any case), a host name or address
/// (IPv6 in brackets), an optional port (1 to 65535, as Rust reads a `u16`: leading `+` and
/// zeros allowed) and an optional trailing `/`. The directory's check refuses anything else
/// with `invalid_request`.
pub const LDAP_URI_PATTERN: &str = concat!(
    r"^[Ll][Dd][Aa][Pp][Ss]?://(\[[0-9A-Za-z._:-]+\]|[0-9A-Za-z._-]+)",
    r"(:\+?0*([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"/?$"
);

/// Smallest `directory_timeout_s` (Redis: 5).
pub const MIN_DIRECTORY_TIMEOUT_S: u64 = 5;
/// Largest `directory_timeout_s` (Redis: 60).
pub const MAX_DIRECTORY_TIMEOUT_S: u64 = 60;
/// Default `directory_timeout_s` (Redis: 5).
pub const DEFAULT_DIRECTORY_TIMEOUT_S: u64 = 5;
/// Default `cache_ttl` (Redis: 300 s).
pub const DEFAULT_CACHE_TTL_S: u64 = 300;

/// Redis Enterprise's `ldap` object.
///
/// Absent and `null` fields are `None`. Strings are kept as given: an empty string, as Redis
/// prints an unset field, is stored and shown as given, and the directory treats it as absent
/// (an empty query object too). `Debug` never prints `bind_pass`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "Ldap",
    description = "Redis's ldap object. Exactly one of `user_dn_template` and \
        `user_dn_query`, at most one of `dn_group_attr` and `dn_group_query`, and `bind_dn` \
        with `bind_pass` or neither (an empty string or an empty query object counts as \
        absent): otherwise 400 `illegal_fields_combination`. A URI, DN, template or filter \
        the directory cannot use, or a `ca_cert` without a PEM certificate, is 400 \
        `invalid_request`. Mappings are managed at /v1/ldap_mappings."
)]
pub struct LdapSettings {
    /// Directory URIs, `ldap://host[:port]` or `ldaps://host[:port]`, tried in order: at least
    /// one on `PUT` (`[]` is 400 `invalid_request`); `GET` shows `[]` when no directory is
    /// configured.
    #[schemars(inner(pattern(LDAP_URI_PATTERN)))]
    pub uris: Vec<String>,
    /// DN of the service account that searches; anonymous without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_dn: Option<String>,
    /// The service account's password: `"***"` on `GET`; a `PUT` carrying `"***"` keeps the
    /// stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_pass: Option<String>,
    /// PEM CA bundle the directory's certificate must chain to (`ldaps://` and StartTLS);
    /// without one, the system's trust store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    /// Upgrade `ldap://` connections with StartTLS (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<bool>,
    /// How long DN lookups and group memberships are cached, in seconds (default 300; `0`:
    /// no cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_ttl: Option<u64>,
    /// Timeout of each directory call, in seconds (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_DIRECTORY_TIMEOUT_S, max = MAX_DIRECTORY_TIMEOUT_S))]
    pub directory_timeout_s: Option<u64>,
    /// Redis's switch for control-plane LDAP: accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<bool>,
    /// Redis's switch for data-plane LDAP: accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_plane: Option<bool>,
    /// Username to DN by template: `%u` is the username, escaped for a DN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_dn_template: Option<String>,
    /// Username to DN by search: `%u` in the filter is the username, escaped for a filter;
    /// exactly one entry must match.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "query_object"
    )]
    pub user_dn_query: Option<LdapQuerySettings>,
    /// Attribute of the user's entry that lists the DNs of their groups (e.g. `memberOf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn_group_attr: Option<String>,
    /// Search for the user's groups: `%D` in the filter is the user's DN, `%u` the username.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "query_object"
    )]
    pub dn_group_query: Option<LdapQuerySettings>,
}

/// A query object, or `null`: serde would also read the struct from a JSON array.
fn query_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LdapQuerySettings>, D::Error> {
    match Option::<Map<String, Value>>::deserialize(d)? {
        None => Ok(None),
        Some(map) => LdapQuerySettings::deserialize(Value::Object(map))
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

impl fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapSettings")
            .field("uris", &self.uris)
            .field("bind_dn", &self.bind_dn)
            .field("bind_pass", &self.bind_pass.as_ref().map(|_| "[REDACTED]"))
            .field("ca_cert", &self.ca_cert.as_ref().map(|c| c.len()))
            .field("starttls", &self.starttls)
            .field("cache_ttl", &self.cache_ttl)
            .field("directory_timeout_s", &self.directory_timeout_s)
            .field("user_dn_template", &self.user_dn_template)
            .field("user_dn_query", &self.user_dn_query)
            .field("dn_group_attr", &self.dn_group_attr)
            .field("dn_group_query", &self.dn_group_query)
            .finish_non_exhaustive()
    }
}

impl LdapSettings {
    /// `self` with a non-empty `bind_pass` replaced by `mask` (`GET /v1/cluster/ldap` shows
    /// `"***"`).
    #[must_use]
    pub fn masked(&self, mask: &str) -> Self {
        let mut masked = self.clone();
        if masked.bind_pass.as_ref().is_some_and(|p| !p.is_empty()) {
            masked.bind_pass = Some(mask.to_owned());
        }
        masked
    }
}

/// A search: Redis's `user_dn_query` / `dn_group_query` object. Absent fields: an empty base
/// and filter, the `subtree` scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "LdapQuery")]
pub struct LdapQuerySettings {
    /// Base DN of the search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// RFC 4515 filter with its placeholder (`%u`, `%D`); the outer parentheses are optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Search scope (default `subtree`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<LdapScope>,
}

/// A search scope, by Redis's names; the LDAP names (`baseObject`, `singleLevel`,
/// `wholeSubtree`) and `onelevel` / `sub` are accepted and shown as Redis's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LdapScope {
    /// Only the base entry (`base`, also `baseObject`).
    #[serde(rename = "base", alias = "baseObject")]
    Base,
    /// The entries right below the base (`one`, also `singleLevel`, `onelevel`).
    #[serde(rename = "one", alias = "singleLevel", alias = "onelevel")]
    One,
    /// The base and everything below it (`subtree`, also `wholeSubtree`, `sub`).
    #[default]
    #[serde(rename = "subtree", alias = "wholeSubtree", alias = "sub")]
    Subtree,
}

impl LdapScope {
    /// Every name the parser accepts, Redis's first.
    pub const NAMES: &[&str] = &[
        "base",
        "one",
        "subtree",
        "baseObject",
        "singleLevel",
        "onelevel",
        "wholeSubtree",
        "sub",
    ];
}

impl JsonSchema for LdapScope {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LdapScope".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": Self::NAMES,
            "description": "`base`, `one` or `subtree` (shown so); the LDAP names \
                `baseObject`, `singleLevel`, `wholeSubtree`, and `onelevel`, `sub` are \
                accepted",
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn every_scope_name_parses_and_is_shown_as_redis_names_it() {
        for name in LdapScope::NAMES {
            let scope: LdapScope = serde_json::from_value(json!(name)).unwrap();
            let shown = serde_json::to_value(scope).unwrap();
            assert!(["base", "one", "subtree"].contains(&shown.as_str().unwrap()));
        }
        assert!(serde_json::from_value::<LdapScope>(json!("Subtree")).is_err());
    }

    #[test]
    fn nulls_are_absent_and_strings_are_kept() {
        let ldap: LdapSettings = serde_json::from_value(json!({
            "uris": ["ldap://h"], "bind_dn": "", "bind_pass": null, "starttls": null,
            "user_dn_query": {"base": "dc=x", "scope": "sub"}
        }))
        .unwrap();
        assert_eq!(ldap.bind_dn.as_deref(), Some(""));
        assert_eq!(ldap.bind_pass, None);
        assert_eq!(
            serde_json::to_value(&ldap).unwrap(),
            json!({"uris": ["ldap://h"], "bind_dn": "",
                "user_dn_query": {"base": "dc=x", "scope": "subtree"}})
        );
        for bad in [
            json!({"uris": "ldap://h"}),
            json!({}),
            json!({"uris": ["ldap://h"], "ldap_mappings": []}),
            json!({"uris": ["ldap://h"], "cache_ttl": -1}),
            json!({"uris": ["ldap://h"], "user_dn_query": {"bse": "x"}}),
            json!({"uris": ["ldap://h"], "user_dn_query": []}),
            json!({"uris": ["ldap://h"], "dn_group_query": ["dc=x", "(member=%D)"]}),
        ] {
            assert!(serde_json::from_value::<LdapSettings>(bad).is_err());
        }
    }

    #[test]
    fn debug_and_masking_hide_the_bind_password() {
        let ldap = LdapSettings {
            uris: vec!["ldap://h".into()],
            bind_pass: Some("s3cret-pass".into()),
            ..LdapSettings::default()
        };
        assert!(!format!("{ldap:?}").contains("s3cret"));
        assert_eq!(ldap.masked("***").bind_pass.as_deref(), Some("***"));
        let empty = LdapSettings {
            bind_pass: Some(String::new()),
            ..LdapSettings::default()
        };
        assert_eq!(empty.masked("***").bind_pass.as_deref(), Some(""));
    }
}
