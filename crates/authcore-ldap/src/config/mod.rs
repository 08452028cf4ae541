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
use crate::escape::{Dn, normalize_dn};
use crate::mapping::{DnTemplate, Groups, ResolvedQuery, UserDn, is_attribute_description};

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
