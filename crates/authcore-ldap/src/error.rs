//! This crate's errors: configuration errors (public, with a stable `error_code()`) and
//! directory failures (private, surfaced as [`authcore_core::Error::StoreUnavailable`]).

use std::time::Duration;

/// An invalid LDAP configuration.
///
/// Converted into [`authcore_core::Error::Configuration`] when a store is built from it; an
/// application that validates a configuration sent by a client (Redis's
/// `PUT /v1/cluster/ldap`) can answer with [`LdapConfigError::error_code`] instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LdapConfigError {
    /// Mutually exclusive fields given together, or a required one of a pair missing
    /// (`user_dn_template` / `user_dn_query`, `dn_group_attr` / `dn_group_query`,
    /// `bind_dn` / `bind_pass`).
    #[error("illegal fields combination: {0}")]
    IllegalFieldsCombination(&'static str),

    /// A field has an invalid value.
    #[error("invalid `{field}`: {reason}")]
    InvalidField {
        /// The Redis field name.
        field: &'static str,
        /// What is wrong with it (never the value of `bind_pass`).
        reason: String,
    },

    /// The configuration file could not be read.
    #[error("cannot read the LDAP configuration {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// The configuration is not valid JSON or has unknown or mistyped fields.
    #[error("cannot parse the LDAP configuration: {0}")]
    Json(#[from] serde_json::Error),
}

impl LdapConfigError {
    /// The stable machine code: Redis's `illegal_fields_combination` for
    /// [`LdapConfigError::IllegalFieldsCombination`], `invalid_request` otherwise.
    #[must_use]
    pub const fn error_code(&self) -> &'static str {
        match self {
            Self::IllegalFieldsCombination(_) => "illegal_fields_combination",
            Self::InvalidField { .. } | Self::Io { .. } | Self::Json(_) => "invalid_request",
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}

impl From<LdapConfigError> for authcore_core::Error {
    fn from(e: LdapConfigError) -> Self {
        Self::Configuration(format!("LDAP: {e}"))
    }
}

/// Why the directory could not answer. Never contains a password.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DirectoryError {
    /// Connecting, TLS, or the protocol failed (the last URI's error when all failed).
    #[error("LDAP connection to {uri} failed: {source}")]
    Connect {
        uri: String,
        #[source]
        source: ldap3::LdapError,
    },
    /// An operation failed on an open connection.
    #[error("LDAP {op} failed: {source}")]
    Operation {
        op: &'static str,
        #[source]
        source: ldap3::LdapError,
    },
    /// The directory answered with an unexpected result code.
    #[error("LDAP {op} answered rc={rc} ({text})")]
    ResultCode {
        op: &'static str,
        rc: u32,
        text: String,
    },
    /// The service account's bind was refused.
    #[error(
        "the service account bind_dn was refused by the directory (rc={rc}): check bind_dn and bind_pass"
    )]
    ServiceBind { rc: u32 },
    /// No answer within `directory_timeout_s`.
    #[error("LDAP {op} timed out after {after:?}")]
    Timeout { op: &'static str, after: Duration },
    /// The directory sent something this client cannot read.
    #[error("malformed LDAP response: {0}")]
    Malformed(&'static str),
}

impl DirectoryError {
    /// Whether the connection it happened on can no longer be trusted (so it must not go
    /// back to the pool, and the operation may be retried on a new one).
    pub(crate) fn breaks_connection(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Timeout { .. } | Self::Malformed(_) => true,
            Self::Operation { source, .. } => !matches!(
                source,
                ldap3::LdapError::LdapResult { .. } | ldap3::LdapError::FilterParsing
            ),
            Self::ResultCode { .. } | Self::ServiceBind { .. } => false,
        }
    }
}

impl From<DirectoryError> for authcore_core::Error {
    fn from(e: DirectoryError) -> Self {
        Self::store(e)
    }
}
