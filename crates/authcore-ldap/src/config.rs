//! The LDAP configuration, with Redis Enterprise's `ldap` object field names.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use authcore_core::Role;
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use crate::error::LdapConfigError;
use crate::escape::{AttrValue, Dn, normalize_dn, rdn_key};

/// The LDAP configuration: Redis Enterprise's `ldap` object (`GET /v1/cluster/ldap`, with the
/// real `bind_pass`) plus `ldap_mappings`.
///
/// Deserialize it from JSON ([`LdapConfig::from_json_str`], [`LdapConfig::from_json_file`]),
/// which also [validates](LdapConfig::validate) it. Unknown fields are refused; Redis's
/// `control_plane` and `data_plane` are accepted and ignored (the application decides where
/// the store is used). Empty strings, `null` and empty query objects count as absent, as Redis
/// prints unset fields that way.
///
/// `Debug` never prints `bind_pass`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LdapConfig {
    /// Directory URIs, `ldap://host:port` or `ldaps://host:port`, tried in order.
    pub uris: Vec<String>,
    /// DN of the service account used for searches; anonymous when absent.
    #[serde(default, deserialize_with = "non_empty")]
    pub bind_dn: Option<String>,
    /// The service account's password.
    #[serde(default, deserialize_with = "non_empty_secret")]
    pub bind_pass: Option<SecretString>,
    /// PEM CA bundle that the directory's certificate must chain to (`ldaps://` and
    /// StartTLS). Absent: the system's trust store.
    #[serde(default, deserialize_with = "non_empty")]
    pub ca_cert: Option<String>,
    /// Upgrade `ldap://` connections with StartTLS (a failed upgrade is a failed connection,
    /// never a fallback to clear text).
    #[serde(default, deserialize_with = "null_as_default")]
    pub starttls: bool,
    /// How long DN lookups and group memberships are cached, in seconds (`0`: no cache).
    /// Passwords and bind results are never cached.
    #[serde(default = "default_cache_ttl", deserialize_with = "null_as_cache_ttl")]
    pub cache_ttl: u64,
    /// Timeout of each directory connection and operation, in seconds
    /// ([`LdapConfig::MIN_TIMEOUT_S`]..=[`LdapConfig::MAX_TIMEOUT_S`]).
    #[serde(default = "default_timeout", deserialize_with = "null_as_timeout")]
    pub directory_timeout_s: u64,
    /// Username to DN by template: `%u` is replaced by the username, escaped for a DN
    /// (RFC 4514). Exactly one of this and `user_dn_query`.
    #[serde(default, deserialize_with = "non_empty")]
    pub user_dn_template: Option<String>,
    /// Username to DN by search: `%u` in the filter is replaced by the username, escaped for
    /// a filter (RFC 4515). The search must find exactly one entry.
    #[serde(default, deserialize_with = "non_empty_query")]
    pub user_dn_query: Option<LdapQuery>,
    /// Attribute of the user's entry that lists the DNs of their groups (e.g. `memberOf`).
    /// At most one of this and `dn_group_query`.
    #[serde(default, deserialize_with = "non_empty")]
    pub dn_group_attr: Option<String>,
    /// Search for the user's groups: `%D` in the filter is the user's DN (`%u` the
    /// username), escaped for a filter; each entry found is a group.
    #[serde(default, deserialize_with = "non_empty_query")]
    pub dn_group_query: Option<LdapQuery>,
    /// Group DN to role mappings (Redis `ldap_mappings`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub ldap_mappings: Vec<LdapMapping>,
    /// Redis's switch for control-plane LDAP: accepted, ignored.
    #[serde(default)]
    pub control_plane: Option<bool>,
    /// Redis's switch for data-plane LDAP: accepted, ignored.
    #[serde(default)]
    pub data_plane: Option<bool>,
}

/// A search: Redis's `user_dn_query` / `dn_group_query` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapQuery {
    /// Base DN of the search.
    #[serde(default)]
    pub base: String,
    /// RFC 4515 filter with its placeholder (`%u`, `%D`). Outer parentheses are optional
    /// (`member=%D` works).
    #[serde(default)]
    pub filter: String,
    /// Search scope (default `subtree`).
    #[serde(default)]
    pub scope: LdapScope,
}

/// A search scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum LdapScope {
    /// Only the base entry (`base`, also `baseObject`).
    #[serde(rename = "base", alias = "baseObject")]
    Base,
    /// The entries right below the base (`one`, also `singleLevel`).
    #[serde(rename = "one", alias = "singleLevel", alias = "onelevel")]
    One,
    /// The base and everything below it (`subtree`, also `wholeSubtree`).
    #[default]
    #[serde(rename = "subtree", alias = "wholeSubtree", alias = "sub")]
    Subtree,
}

impl LdapScope {
    pub(crate) fn to_ldap3(self) -> ldap3::Scope {
        match self {
            Self::Base => ldap3::Scope::Base,
            Self::One => ldap3::Scope::OneLevel,
            Self::Subtree => ldap3::Scope::Subtree,
        }
    }
}

/// One group DN to role mapping.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapMapping {
    /// The group's DN (compared case-insensitively, after DN normalisation).
    pub dn: String,
    /// The role members of the group get.
    pub role: Role,
    /// A label, for humans (Redis mappings have a `name`).
    #[serde(default)]
    pub name: Option<String>,
}

fn default_cache_ttl() -> u64 {
    LdapConfig::DEFAULT_CACHE_TTL_S
}

fn default_timeout() -> u64 {
    LdapConfig::DEFAULT_TIMEOUT_S
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn null_as_cache_ttl<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.unwrap_or(LdapConfig::DEFAULT_CACHE_TTL_S))
}

fn null_as_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.unwrap_or(LdapConfig::DEFAULT_TIMEOUT_S))
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()))
}

fn non_empty_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<SecretString>::deserialize(d)?.filter(|s| !s.expose_secret().is_empty()))
}

fn non_empty_query<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LdapQuery>, D::Error> {
    Ok(Option::<LdapQuery>::deserialize(d)?
        .filter(|q| !(q.base.trim().is_empty() && q.filter.trim().is_empty())))
}

impl LdapConfig {
    /// Default `cache_ttl` (Redis: 300 s).
    pub const DEFAULT_CACHE_TTL_S: u64 = 300;
    /// Default `directory_timeout_s` (Redis: 5 s).
    pub const DEFAULT_TIMEOUT_S: u64 = 5;
    /// Smallest `directory_timeout_s` (Redis: 5).
    pub const MIN_TIMEOUT_S: u64 = 5;
    /// Largest `directory_timeout_s` (Redis: 60).
    pub const MAX_TIMEOUT_S: u64 = 60;

    /// Parses and validates a JSON configuration.
    ///
    /// # Errors
    /// [`LdapConfigError::Json`] for malformed JSON, unknown or mistyped fields; the errors of
    /// [`LdapConfig::validate`].
    pub fn from_json_str(json: &str) -> Result<Self, LdapConfigError> {
        let config: Self = serde_json::from_str(json)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a JSON configuration file (the reference server's
    /// `--ldap-config FILE`).
    ///
    /// # Errors
    /// [`LdapConfigError::Io`] when the file cannot be read; the errors of
    /// [`LdapConfig::from_json_str`].
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self, LdapConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| LdapConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json_str(&text)
    }

    /// Checks the configuration as a whole.
    ///
    /// # Errors
    /// - [`LdapConfigError::IllegalFieldsCombination`] (`illegal_fields_combination`) when
    ///   both or neither of `user_dn_template` / `user_dn_query` are given, both of
    ///   `dn_group_attr` / `dn_group_query`, or only one of `bind_dn` / `bind_pass`;
    /// - [`LdapConfigError::InvalidField`] for an empty `uris` or a URI that is not
    ///   `ldap://host[:port]` / `ldaps://host[:port]`, a `directory_timeout_s` outside
    ///   5..=60, a template or filter without its placeholder or that does not parse, an
    ///   unparsable DN, a `ca_cert` without a certificate, the masked `bind_pass` `***`.
    pub fn validate(&self) -> Result<(), LdapConfigError> {
        self.resolve().map(|_| ())
    }

    /// Validates and precomputes what the store needs.
    pub(crate) fn resolve(&self) -> Result<Settings, LdapConfigError> {
        use LdapConfigError::IllegalFieldsCombination as Illegal;

        if self.uris.is_empty() {
            return Err(LdapConfigError::invalid(
                "uris",
                "at least one URI is needed",
            ));
        }
        for uri in &self.uris {
            check_uri(uri)?;
        }
        let service = match (&self.bind_dn, &self.bind_pass) {
            (Some(dn), Some(pass)) => {
                if Dn::parse(dn).is_none_or(|d| d.0.is_empty()) {
                    return Err(LdapConfigError::invalid("bind_dn", "not a DN"));
                }
                if pass.expose_secret() == "***" {
                    return Err(LdapConfigError::invalid(
                        "bind_pass",
                        "it is the masked value \"***\" from GET /v1/cluster/ldap: put the real password",
                    ));
                }
                Some((dn.clone(), pass.clone()))
            }
            (None, None) => None,
            _ => return Err(Illegal("bind_dn and bind_pass go together")),
        };
        if !(Self::MIN_TIMEOUT_S..=Self::MAX_TIMEOUT_S).contains(&self.directory_timeout_s) {
            return Err(LdapConfigError::invalid(
                "directory_timeout_s",
                format!(
                    "{} is outside {}..={}",
                    self.directory_timeout_s,
                    Self::MIN_TIMEOUT_S,
                    Self::MAX_TIMEOUT_S
                ),
            ));
        }
        let user_dn = match (&self.user_dn_template, &self.user_dn_query) {
            (Some(t), None) => UserDn::Template(DnTemplate::new(t)?),
            (None, Some(q)) => UserDn::Query(ResolvedQuery::new(q, "user_dn_query", &["%u"])?),
            (Some(_), Some(_)) => {
                return Err(Illegal(
                    "user_dn_template and user_dn_query are mutually exclusive",
                ));
            }
            (None, None) => {
                return Err(Illegal(
                    "one of user_dn_template and user_dn_query is required",
                ));
            }
        };
        let groups = match (&self.dn_group_attr, &self.dn_group_query) {
            (Some(a), None) => {
                if !is_attribute_description(a) {
                    return Err(LdapConfigError::invalid(
                        "dn_group_attr",
                        "not an attribute name",
                    ));
                }
                Groups::Attr(a.clone())
            }
            (None, Some(q)) => {
                Groups::Query(ResolvedQuery::new(q, "dn_group_query", &["%D", "%u"])?)
            }
            (None, None) => Groups::None,
            (Some(_), Some(_)) => {
                return Err(Illegal(
                    "dn_group_attr and dn_group_query are mutually exclusive",
                ));
            }
        };
        let mut mappings = Vec::with_capacity(self.ldap_mappings.len());
        for m in &self.ldap_mappings {
            let dn = normalize_dn(&m.dn)
                .filter(|d| !d.is_empty())
                .ok_or_else(|| {
                    LdapConfigError::invalid("ldap_mappings", format!("{:?} is not a DN", m.dn))
                })?;
            if m.role.as_str().is_empty() {
                return Err(LdapConfigError::invalid("ldap_mappings", "empty role"));
            }
            mappings.push((dn, m.role.clone()));
        }
        let tls = self.ca_cert.as_deref().map(tls_config).transpose()?;
        Ok(Settings {
            uris: self.uris.clone(),
            service,
            tls,
            starttls: self.starttls,
            cache_ttl: Duration::from_secs(self.cache_ttl),
            timeout: Duration::from_secs(self.directory_timeout_s),
            user_dn,
            groups,
            mappings,
        })
    }
}

/// A validated configuration, ready for the store.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) uris: Vec<String>,
    pub(crate) service: Option<(String, SecretString)>,
    pub(crate) tls: Option<Arc<ClientConfig>>,
    pub(crate) starttls: bool,
    pub(crate) cache_ttl: Duration,
    pub(crate) timeout: Duration,
    pub(crate) user_dn: UserDn,
    pub(crate) groups: Groups,
    /// (canonical group DN, role), in configuration order.
    pub(crate) mappings: Vec<(String, Role)>,
}

#[derive(Debug)]
pub(crate) enum UserDn {
    Template(DnTemplate),
    Query(ResolvedQuery),
}

#[derive(Debug)]
pub(crate) enum Groups {
    None,
    Attr(String),
    Query(ResolvedQuery),
}

/// A `user_dn_template`, and how to read the username back out of a DN it produced.
#[derive(Debug)]
pub(crate) struct DnTemplate {
    template: String,
    /// Set when `%u` appears once, as part of a single-valued RDN's value.
    inverse: Option<TemplateInverse>,
}

#[derive(Debug)]
struct TemplateInverse {
    /// The template's RDNs (lowercase), with the username's RDN at `slot`.
    rdns: Dn,
    slot: usize,
    attr: String,
    prefix: String,
    suffix: String,
}

/// Stands for `%u` while parsing a template (a private-use character no DN contains).
const MARKER: char = '\u{F8FF}';

impl DnTemplate {
    fn new(template: &str) -> Result<Self, LdapConfigError> {
        let field = "user_dn_template";
        if !template.contains("%u") {
            return Err(LdapConfigError::invalid(field, "no %u placeholder"));
        }
        let with_marker = template.replace("%u", &MARKER.to_string());
        let parsed = Dn::parse(&with_marker)
            .filter(|d| !d.0.is_empty())
            .ok_or_else(|| LdapConfigError::invalid(field, "not a DN once %u is replaced"))?;
        let inverse = (template.matches("%u").count() == 1)
            .then(|| {
                let slot = parsed.0.iter().position(|rdn| {
                    rdn.iter()
                        .any(|(_, v)| matches!(v, AttrValue::Text(s) if s.contains(MARKER)))
                })?;
                let [(attr, AttrValue::Text(value))] = parsed.0[slot].as_slice() else {
                    return None;
                };
                let (prefix, suffix) = value.split_once(MARKER)?;
                Some(TemplateInverse {
                    slot,
                    attr: attr.clone(),
                    prefix: prefix.to_lowercase(),
                    suffix: suffix.to_lowercase(),
                    rdns: parsed.clone(),
                })
            })
            .flatten();
        Ok(Self {
            template: template.to_owned(),
            inverse,
        })
    }

    /// The DN for `username`.
    pub(crate) fn dn_for(&self, username: &str) -> String {
        self.template
            .replace("%u", &crate::escape::escape_dn_value(username))
    }

    /// The username this template maps to `dn`, when it can tell. `None` when `dn` is not of
    /// the template's shape.
    pub(crate) fn username_of(&self, dn: &Dn) -> Option<String> {
        let inv = self.inverse.as_ref()?;
        if dn.0.len() != inv.rdns.0.len() {
            return None;
        }
        let others_match = inv
            .rdns
            .0
            .iter()
            .zip(&dn.0)
            .enumerate()
            .all(|(i, (a, b))| i == inv.slot || rdn_key(a) == rdn_key(b));
        let [(attr, AttrValue::Text(value))] = dn.0[inv.slot].as_slice() else {
            return None;
        };
        if !others_match || *attr != inv.attr {
            return None;
        }
        let value = value.to_lowercase();
        let middle = value.strip_prefix(&inv.prefix)?.strip_suffix(&inv.suffix)?;
        Some(middle.to_owned())
    }
}

/// A validated search.
#[derive(Debug)]
pub(crate) struct ResolvedQuery {
    pub(crate) base: String,
    pub(crate) base_dn: Dn,
    /// The filter, wrapped in parentheses.
    filter: String,
    pub(crate) scope: LdapScope,
    /// Attributes compared with exactly `%u` (`(uid=%u)` gives `uid`): where a username can
    /// be read back from an entry.
    pub(crate) username_attrs: Vec<String>,
}

impl ResolvedQuery {
    fn new(
        q: &LdapQuery,
        field: &'static str,
        placeholders: &[&str],
    ) -> Result<Self, LdapConfigError> {
        let base_dn = Dn::parse(&q.base)
            .filter(|d| !d.0.is_empty())
            .ok_or_else(|| LdapConfigError::invalid(field, "base is not a DN"))?;
        let trimmed = q.filter.trim();
        if trimmed.is_empty() {
            return Err(LdapConfigError::invalid(field, "no filter"));
        }
        if !placeholders.iter().any(|p| trimmed.contains(p)) {
            return Err(LdapConfigError::invalid(
                field,
                format!(
                    "the filter has no {} placeholder",
                    placeholders.join(" or ")
                ),
            ));
        }
        let filter = if trimmed.starts_with('(') {
            trimmed.to_owned()
        } else {
            format!("({trimmed})")
        };
        let sample = filter.replace("%u", "x").replace("%D", "cn=x");
        if ldap3::parse_filter(&sample).is_err() {
            return Err(LdapConfigError::invalid(
                field,
                "the filter does not parse (RFC 4515)",
            ));
        }
        let username_attrs = filter
            .match_indices("=%u)")
            .filter_map(|(at, _)| {
                let head = &filter[..at];
                let start = head.rfind('(')? + 1;
                let attr = &head[start..];
                is_attribute_description(attr).then(|| attr.to_owned())
            })
            .collect();
        Ok(Self {
            base: q.base.clone(),
            base_dn,
            filter,
            scope: q.scope,
            username_attrs,
        })
    }

    /// The filter with `%u` and `%D` replaced by escaped values.
    ///
    /// One pass over the template: a `%D` inside the username is text, never a placeholder.
    pub(crate) fn filter_for(&self, username: &str, dn: &str) -> String {
        use crate::escape::escape_filter_value as esc;
        let mut out = String::with_capacity(self.filter.len() + username.len() + dn.len());
        let mut rest = self.filter.as_str();
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("%u") {
                out.push_str(&esc(username));
                rest = after;
            } else if let Some(after) = tail.strip_prefix("%D") {
                out.push_str(&esc(dn));
                rest = after;
            } else {
                out.push('%');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        out
    }

    /// Whether an entry at `dn` is in this search's scope.
    pub(crate) fn covers(&self, dn: &Dn) -> bool {
        let depth = dn.0.len().checked_sub(self.base_dn.0.len());
        dn.is_within(&self.base_dn)
            && match self.scope {
                LdapScope::Base => depth == Some(0),
                LdapScope::One => depth == Some(1),
                LdapScope::Subtree => true,
            }
    }
}

fn check_uri(uri: &str) -> Result<(), LdapConfigError> {
    let lower = uri.to_ascii_lowercase();
    let bad = || {
        LdapConfigError::invalid(
            "uris",
            format!("{uri:?}: only ldap[s]://host[:port] is accepted"),
        )
    };
    let rest = lower
        .strip_prefix("ldap://")
        .or_else(|| lower.strip_prefix("ldaps://"))
        .ok_or_else(bad)?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        if !after.is_empty() && !after.starts_with(':') {
            return Err(bad());
        }
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// An attribute description: a name (letter, then letters, digits, hyphens) or a numeric
/// OID, with optional `;options`.
fn is_attribute_description(s: &str) -> bool {
    let mut parts = s.split(';');
    let Some(name) = parts.next() else {
        return false;
    };
    let name_ok = match name.as_bytes().first() {
        Some(b) if b.is_ascii_alphabetic() => {
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }
        Some(b) if b.is_ascii_digit() => name
            .split('.')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        _ => false,
    };
    name_ok
        && parts.all(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

fn tls_config(pem: &str) -> Result<Arc<ClientConfig>, LdapConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| LdapConfigError::invalid("ca_cert", e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| LdapConfigError::invalid("ca_cert", e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(LdapConfigError::invalid(
            "ca_cert",
            "no PEM certificate found",
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LdapConfigError::invalid("ca_cert", e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "uris": ["ldap://ldap.example.org:389"],
            "bind_dn": "cn=reader,dc=example,dc=org",
            "bind_pass": "s3cret-service-pw",
            "user_dn_template": "uid=%u,ou=people,dc=example,dc=org",
            "dn_group_attr": "memberOf",
            "ldap_mappings": [{"dn": "cn=admins,ou=groups,dc=example,dc=org", "role": "admin"}]
        })
    }

    fn parse(v: &serde_json::Value) -> Result<LdapConfig, LdapConfigError> {
        LdapConfig::from_json_str(&v.to_string())
    }

    fn with(mut v: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
        v[key] = value;
        v
    }

    fn code(v: &serde_json::Value) -> &'static str {
        parse(v).expect_err("must be refused").error_code()
    }

    #[test]
    fn defaults_follow_redis() {
        let c = parse(&base()).unwrap();
        assert_eq!(c.cache_ttl, 300);
        assert_eq!(c.directory_timeout_s, 5);
        assert!(!c.starttls);
    }

    #[test]
    fn redis_get_output_is_accepted_as_is() {
        // The shape of `GET /v1/cluster/ldap` (7.4 docs), with unset fields empty or null.
        let v = json!({
            "uris": ["ldap://ldap.example.org:636"],
            "bind_dn": "cn=reader,dc=example,dc=org",
            "bind_pass": "real-password",
            "ca_cert": "",
            "starttls": false,
            "cache_ttl": 600,
            "directory_timeout_s": 5,
            "control_plane": true,
            "data_plane": false,
            "user_dn_query": {},
            "user_dn_template": "cn=%u,ou=users,dc=example,dc=org",
            "dn_group_attr": null,
            "dn_group_query": {"base": "ou=groups,dc=example,dc=org", "filter": "member=%D", "scope": "subtree"}
        });
        let c = parse(&v).unwrap();
        assert_eq!(c.cache_ttl, 600);
        assert!(c.user_dn_query.is_none());
        assert!(c.ldap_mappings.is_empty());
    }

    #[test]
    fn exclusive_pairs_are_illegal_fields_combination() {
        let both_user = with(
            base(),
            "user_dn_query",
            json!({"base": "dc=example,dc=org", "filter": "(uid=%u)", "scope": "subtree"}),
        );
        assert_eq!(code(&both_user), "illegal_fields_combination");

        let mut neither = base();
        neither.as_object_mut().unwrap().remove("user_dn_template");
        assert_eq!(code(&neither), "illegal_fields_combination");

        let both_groups = with(
            base(),
            "dn_group_query",
            json!({"base": "dc=example,dc=org", "filter": "member=%D"}),
        );
        assert_eq!(code(&both_groups), "illegal_fields_combination");

        let mut half_bind = base();
        half_bind.as_object_mut().unwrap().remove("bind_pass");
        assert_eq!(code(&half_bind), "illegal_fields_combination");

        let err = parse(&both_user).unwrap_err();
        assert!(matches!(
            authcore_core::Error::from(err),
            authcore_core::Error::Configuration(_)
        ));
    }

    #[test]
    fn no_group_option_is_allowed() {
        let mut v = base();
        v.as_object_mut().unwrap().remove("dn_group_attr");
        parse(&v).unwrap();
    }

    #[test]
    fn timeout_range() {
        for ok in [5, 30, 60] {
            parse(&with(base(), "directory_timeout_s", json!(ok))).unwrap();
        }
        for bad in [0, 4, 61, 3600] {
            let v = with(base(), "directory_timeout_s", json!(bad));
            assert_eq!(code(&v), "invalid_request", "{bad}");
        }
        assert!(matches!(
            parse(&with(base(), "directory_timeout_s", json!(-1))),
            Err(LdapConfigError::Json(_))
        ));
    }

    #[test]
    fn debug_hides_bind_pass() {
        let c = parse(&base()).unwrap();
        let printed = format!("{c:?} {:?}", c.resolve().unwrap());
        assert!(!printed.contains("s3cret-service-pw"), "{printed}");
        assert!(printed.contains("cn=reader"));
    }

    #[test]
    fn masked_bind_pass_is_refused() {
        let err = parse(&with(base(), "bind_pass", json!("***"))).unwrap_err();
        assert!(err.to_string().contains("masked"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(matches!(
            parse(&with(base(), "user_dn_templat", json!("x"))),
            Err(LdapConfigError::Json(_))
        ));
        let bad_mapping = with(
            base(),
            "ldap_mappings",
            json!([{"dn": "cn=a", "rol": "admin"}]),
        );
        assert!(matches!(parse(&bad_mapping), Err(LdapConfigError::Json(_))));
    }

    #[test]
    fn uris_are_checked() {
        for ok in [
            "ldap://h",
            "ldaps://h:636",
            "LDAP://h:389/",
            "ldap://127.0.0.1:3890",
            "ldap://[::1]:389",
        ] {
            parse(&with(base(), "uris", json!([ok]))).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "h:389",
            "http://h",
            "ldap://",
            "ldap:///",
            "ldap://:389",
            "ldap://h:x",
            "ldap://h:99999",
            "ldap://h/dc=x",
            "ldap://u@h",
        ] {
            assert_eq!(
                code(&with(base(), "uris", json!([bad]))),
                "invalid_request",
                "{bad}"
            );
        }
        assert_eq!(code(&with(base(), "uris", json!([]))), "invalid_request");
    }

    #[test]
    fn templates_and_filters_are_checked() {
        for bad in ["uid=alice,dc=x", "uid=%u,,dc=x", "%u"] {
            let v = with(base(), "user_dn_template", json!(bad));
            assert_eq!(code(&v), "invalid_request", "{bad}");
        }
        let mut q = base();
        q.as_object_mut().unwrap().remove("user_dn_template");
        for (filter, ok) in [
            ("(uid=%u)", true),
            ("uid=%u", true),
            ("(&(objectClass=person)(|(uid=%u)(mail=%u)))", true),
            ("(uid=alice)", false),
            ("(uid=%u", false),
        ] {
            let v = with(
                q.clone(),
                "user_dn_query",
                json!({"base": "dc=example,dc=org", "filter": filter}),
            );
            assert_eq!(parse(&v).is_ok(), ok, "{filter}");
        }
        let v = with(
            q.clone(),
            "user_dn_query",
            json!({"base": "not a dn", "filter": "(uid=%u)"}),
        );
        assert_eq!(code(&v), "invalid_request");
        let v = with(
            base(),
            "dn_group_query",
            json!({"base": "dc=x", "filter": "(objectClass=*)"}),
        );
        let mut v = v;
        v.as_object_mut().unwrap().remove("dn_group_attr");
        assert_eq!(code(&v), "invalid_request");
        for (scope, want) in [
            ("base", LdapScope::Base),
            ("one", LdapScope::One),
            ("subtree", LdapScope::Subtree),
            ("wholeSubtree", LdapScope::Subtree),
        ] {
            let v = with(
                q.clone(),
                "user_dn_query",
                json!({"base": "dc=example,dc=org", "filter": "(uid=%u)", "scope": scope}),
            );
            assert_eq!(parse(&v).unwrap().user_dn_query.unwrap().scope, want);
        }
    }

    #[test]
    fn mappings_and_ca_cert_are_checked() {
        let v = with(
            base(),
            "ldap_mappings",
            json!([{"dn": "not a dn", "role": "admin"}]),
        );
        assert_eq!(code(&v), "invalid_request");
        let v = with(
            base(),
            "ldap_mappings",
            json!([{"dn": "cn=a,dc=b", "role": ""}]),
        );
        assert_eq!(code(&v), "invalid_request");
        let v = with(
            base(),
            "ca_cert",
            json!("-----BEGIN NOTHING-----\n-----END NOTHING-----\n"),
        );
        assert_eq!(code(&v), "invalid_request");
        let v = with(base(), "dn_group_attr", json!("member of"));
        assert_eq!(code(&v), "invalid_request");
    }

    #[test]
    fn template_inverse_reads_the_username_back() {
        let t = DnTemplate::new("uid=%u,ou=People,dc=example,dc=org").unwrap();
        for name in ["alice", r"sp*c(i)a\l,x=y+z", r"nul\00user", " lead", "#x"] {
            let dn = Dn::parse(&t.dn_for(name)).unwrap();
            assert_eq!(t.username_of(&dn).as_deref(), Some(name), "{name}");
        }
        let other = Dn::parse("uid=alice,ou=admins,dc=example,dc=org").unwrap();
        assert_eq!(t.username_of(&other), None);
        let other = Dn::parse("cn=alice,ou=people,dc=example,dc=org").unwrap();
        assert_eq!(t.username_of(&other), None);
        let t = DnTemplate::new("cn=user-%u-x,dc=org").unwrap();
        let dn = Dn::parse("CN=User-Bob-X,DC=org").unwrap();
        assert_eq!(t.username_of(&dn).as_deref(), Some("bob"));
    }

    #[test]
    fn query_username_attributes() {
        let q = LdapQuery {
            base: "dc=example,dc=org".into(),
            filter: "(&(objectClass=person)(|(uid=%u)(mail=%u)(cn=*%u*)))".into(),
            scope: LdapScope::Subtree,
        };
        let r = ResolvedQuery::new(&q, "user_dn_query", &["%u"]).unwrap();
        assert_eq!(r.username_attrs, ["uid", "mail"]);
        assert_eq!(
            r.filter_for("*)(uid=*", ""),
            r"(&(objectClass=person)(|(uid=\2a\29\28uid=\2a)(mail=\2a\29\28uid=\2a)(cn=*\2a\29\28uid=\2a*)))"
        );
        // Placeholders inside substituted values stay text.
        let g = ResolvedQuery::new(
            &LdapQuery {
                base: "dc=example,dc=org".into(),
                filter: "(|(member=%D)(memberUid=%u)(x=100%))".into(),
                scope: LdapScope::Subtree,
            },
            "dn_group_query",
            &["%D"],
        )
        .unwrap();
        assert_eq!(
            g.filter_for("a%Db%u", "uid=x%u,dc=y"),
            r"(|(member=uid=x%u,dc=y)(memberUid=a%Db%u)(x=100%))"
        );
        assert_eq!(
            r.filter_for("al%Dice", "uid=alice"),
            r.filter.replace("%u", "al%Dice")
        );
        let one = ResolvedQuery::new(
            &LdapQuery {
                scope: LdapScope::One,
                ..q.clone()
            },
            "user_dn_query",
            &["%u"],
        )
        .unwrap();
        assert!(one.covers(&Dn::parse("uid=a,dc=example,dc=org").unwrap()));
        assert!(!one.covers(&Dn::parse("uid=a,ou=x,dc=example,dc=org").unwrap()));
        assert!(r.covers(&Dn::parse("uid=a,ou=x,dc=example,dc=org").unwrap()));
        assert!(!r.covers(&Dn::parse("uid=a,dc=other").unwrap()));
    }
}
