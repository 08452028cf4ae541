//! The LDAP configuration, with Redis Enterprise's `ldap` object field names.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use authcore_core::Role;
pub use authcore_core::settings::LdapScope;
use authcore_core::settings::{
    DEFAULT_CACHE_TTL_S, DEFAULT_DIRECTORY_TIMEOUT_S, LdapQuerySettings, LdapSettings,
    MAX_DIRECTORY_TIMEOUT_S, MIN_DIRECTORY_TIMEOUT_S,
};
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::{ExposeSecret, SecretString};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::LdapConfigError;
use crate::escape::{Dn, normalize_dn};
use crate::mapping::{DnTemplate, Groups, ResolvedQuery, UserDn, is_attribute_description};

/// The LDAP configuration: Redis Enterprise's `ldap` object (`GET /v1/cluster/ldap`, with the
/// real `bind_pass`) plus `ldap_mappings`.
///
/// The `ldap` object's fields are [`authcore_core::settings::LdapSettings`]'s, the type the
/// users API parses `PUT /v1/cluster/ldap` into and derives its OpenAPI schema from: a
/// configuration file is that object plus `ldap_mappings`. Deserialize it from JSON
/// ([`LdapConfig::from_json_str`], [`LdapConfig::from_json_file`], which also
/// [validate](LdapConfig::validate) it) or build it from the object
/// ([`LdapConfig::from_settings`]). Unknown fields are refused; Redis's `control_plane` and
/// `data_plane` are accepted and ignored (the application decides where the store is used).
/// Empty strings, `null` and empty query objects count as absent, as Redis prints unset
/// fields that way.
///
/// `Debug` never prints `bind_pass`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LdapConfig {
    /// Directory URIs, `ldap://host:port` or `ldaps://host:port`, tried in order.
    pub uris: Vec<String>,
    /// DN of the service account used for searches; anonymous when absent.
    pub bind_dn: Option<String>,
    /// The service account's password.
    pub bind_pass: Option<SecretString>,
    /// PEM CA bundle that the directory's certificate must chain to (`ldaps://` and
    /// StartTLS). Absent: the system's trust store.
    pub ca_cert: Option<String>,
    /// Upgrade `ldap://` connections with StartTLS (a failed upgrade is a failed connection,
    /// never a fallback to clear text).
    pub starttls: bool,
    /// How long DN lookups and group memberships are cached, in seconds (`0`: no cache).
    /// Passwords and bind results are never cached.
    pub cache_ttl: u64,
    /// Timeout of each directory connection and operation, in seconds
    /// ([`LdapConfig::MIN_TIMEOUT_S`]..=[`LdapConfig::MAX_TIMEOUT_S`]).
    pub directory_timeout_s: u64,
    /// Username to DN by template: `%u` is replaced by the username, escaped for a DN
    /// (RFC 4514). Exactly one of this and `user_dn_query`.
    pub user_dn_template: Option<String>,
    /// Username to DN by search: `%u` in the filter is replaced by the username, escaped for
    /// a filter (RFC 4515). The search must find exactly one entry.
    pub user_dn_query: Option<LdapQuery>,
    /// Attribute of the user's entry that lists the DNs of their groups (e.g. `memberOf`).
    /// At most one of this and `dn_group_query`.
    pub dn_group_attr: Option<String>,
    /// Search for the user's groups: `%D` in the filter is the user's DN (`%u` the
    /// username), escaped for a filter; each entry found is a group.
    pub dn_group_query: Option<LdapQuery>,
    /// Group DN to role mappings (Redis `ldap_mappings`).
    pub ldap_mappings: Vec<LdapMapping>,
    /// Redis's switch for control-plane LDAP: accepted, ignored.
    pub control_plane: Option<bool>,
    /// Redis's switch for data-plane LDAP: accepted, ignored.
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

/// ldap3's scope for `scope`.
pub(crate) fn ldap3_scope(scope: LdapScope) -> ldap3::Scope {
    match scope {
        LdapScope::Base => ldap3::Scope::Base,
        LdapScope::One => ldap3::Scope::OneLevel,
        LdapScope::Subtree => ldap3::Scope::Subtree,
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

/// A configuration file: the `ldap` object's fields ([`LdapSettings`]) and `ldap_mappings`.
impl<'de> Deserialize<'de> for LdapConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut object = Map::<String, Value>::deserialize(d)?;
        let mappings = match object.remove("ldap_mappings") {
            None | Some(Value::Null) => Vec::new(),
            Some(list) => Vec::<LdapMapping>::deserialize(list).map_err(D::Error::custom)?,
        };
        let ldap = LdapSettings::deserialize(Value::Object(object)).map_err(D::Error::custom)?;
        Ok(Self::from_settings(&ldap, mappings))
    }
}

/// `s` unless it is empty or blank.
fn non_empty(s: Option<&String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).cloned()
}

/// The query unless both its base and its filter are empty or blank.
fn non_empty_query(q: Option<&LdapQuerySettings>) -> Option<LdapQuery> {
    let q = q?;
    let query = LdapQuery {
        base: q.base.clone().unwrap_or_default(),
        filter: q.filter.clone().unwrap_or_default(),
        scope: q.scope.unwrap_or_default(),
    };
    (!(query.base.trim().is_empty() && query.filter.trim().is_empty())).then_some(query)
}

impl LdapConfig {
    /// Default `cache_ttl` (Redis: 300 s).
    pub const DEFAULT_CACHE_TTL_S: u64 = DEFAULT_CACHE_TTL_S;
    /// Default `directory_timeout_s` (Redis: 5 s).
    pub const DEFAULT_TIMEOUT_S: u64 = DEFAULT_DIRECTORY_TIMEOUT_S;
    /// Smallest `directory_timeout_s` (Redis: 5).
    pub const MIN_TIMEOUT_S: u64 = MIN_DIRECTORY_TIMEOUT_S;
    /// Largest `directory_timeout_s` (Redis: 60).
    pub const MAX_TIMEOUT_S: u64 = MAX_DIRECTORY_TIMEOUT_S;

    /// The configuration of an `ldap` object (as `PUT /v1/cluster/ldap` parses it) with
    /// `ldap_mappings`: empty strings and empty query objects are absent, absent fields take
    /// their defaults. Not validated: see [`LdapConfig::validate`].
    #[must_use]
    pub fn from_settings(ldap: &LdapSettings, ldap_mappings: Vec<LdapMapping>) -> Self {
        Self {
            uris: ldap.uris.clone(),
            bind_dn: non_empty(ldap.bind_dn.as_ref()),
            bind_pass: ldap
                .bind_pass
                .as_ref()
                .filter(|p| !p.is_empty())
                .map(|p| SecretString::from(p.clone())),
            ca_cert: non_empty(ldap.ca_cert.as_ref()),
            starttls: ldap.starttls.unwrap_or(false),
            cache_ttl: ldap.cache_ttl.unwrap_or(Self::DEFAULT_CACHE_TTL_S),
            directory_timeout_s: ldap.directory_timeout_s.unwrap_or(Self::DEFAULT_TIMEOUT_S),
            user_dn_template: non_empty(ldap.user_dn_template.as_ref()),
            user_dn_query: non_empty_query(ldap.user_dn_query.as_ref()),
            dn_group_attr: non_empty(ldap.dn_group_attr.as_ref()),
            dn_group_query: non_empty_query(ldap.dn_group_query.as_ref()),
            ldap_mappings,
            control_plane: ldap.control_plane,
            data_plane: ldap.data_plane,
        }
    }

    /// One warning per URI reached without TLS (`ldap://` without `starttls`), saying what
    /// travels in cleartext; empty when every URI is protected. [`crate::LdapStore::new`]
    /// logs them at WARN, so a directory configured at start-up and one configured later
    /// (`PUT /v1/cluster/ldap`) are reported alike.
    #[must_use]
    pub fn cleartext_warnings(&self) -> Vec<String> {
        if self.starttls {
            return Vec::new();
        }
        self.uris
            .iter()
            .filter(|uri| !uri.to_ascii_lowercase().starts_with("ldaps://"))
            .map(|uri| {
                format!(
                    "the LDAP directory {uri} is reached without TLS: every directory user's \
                     password (each sign-in is a bind) and the query user's password travel in \
                     cleartext (use ldaps:// or \"starttls\": true)"
                )
            })
            .collect()
    }

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
mod tests;
