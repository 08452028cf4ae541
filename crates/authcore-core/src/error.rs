//! The one public error type, its stable machine codes and its HTTP status.
//!
//! Every error that can reach a client has a stable snake_case [`Error::error_code`] (Redis
//! Enterprise's codes where Redis has one) and a [`StatusClass`]. The mapping from error to HTTP
//! status lives here and nowhere else, so every framework adapter answers the same way.

use std::time::Duration;

/// A boxed error from a store's backend (a database driver, an LDAP client).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in authcore.
///
/// Wrong credentials are deliberately collapsed: an unknown user, a wrong password, a disabled
/// or locked account all give [`Error::Unauthorized`], so a caller learns nothing it did not
/// already know. Only a caller who presented a correct password can see
/// [`Error::PasswordExpired`].
///
/// Messages never contain a password, a hash, a key or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is malformed or a value is out of range (`ttl` outside 1..=86400, a missing
    /// field, an unparsable `Authorization` header...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The credentials were not accepted (or the account may not sign in).
    #[error("unauthorized")]
    Unauthorized,

    /// The presented token is malformed, expired, not yet valid, signed by an unknown key or
    /// with an unexpected algorithm, or was issued by someone else.
    #[error("invalid token")]
    InvalidToken,

    /// The password was correct but has expired; it must be changed through the password
    /// endpoints, which accept an expired password as the old one.
    #[error("the password has expired and must be changed")]
    PasswordExpired,

    /// The caller is authenticated but its role does not allow the operation.
    #[error("forbidden")]
    Forbidden,

    /// The addressed resource (a user by uid) does not exist.
    #[error("not found")]
    NotFound,

    /// Another user already has this e-mail address (username).
    #[error("a user with this email already exists")]
    EmailAlreadyExists,

    /// Another user already has this name.
    #[error("a user with this name already exists")]
    NameAlreadyExists,

    /// The password does not meet the complexity rules; the text says which rule.
    #[error("password is not complex enough: {0}")]
    PasswordNotComplex(&'static str),

    /// The new password is already one of the user's current passwords.
    #[error("the new password is one of the current passwords")]
    NewPasswordSameAsCurrent,

    /// Removing this password would leave the user without any.
    #[error("cannot delete the last password of a user")]
    CannotDeleteLastPassword,

    /// The user already holds as many passwords as the policy allows
    /// ([`crate::PasswordRules::max_passwords`]); remove one first.
    #[error("the user already holds the most passwords allowed")]
    TooManyPasswords,

    /// The operation would leave the store without an active admin (role `admin`, status
    /// `active`): the last one may be neither demoted, disabled, locked nor deleted.
    #[error("at least one active admin must remain: this change would leave none")]
    ChangeLastAdminRoleNotAllowed,

    /// The store that owns this user cannot perform the operation (for example a password
    /// change for a directory user).
    #[error("operation not supported for this user: {0}")]
    Unsupported(&'static str),

    /// Too many password hashing jobs are queued; retry after the given delay.
    #[error("overloaded, retry later")]
    Overloaded {
        /// A suggested delay before retrying: the expected wait of the jobs already queued.
        retry_after: Duration,
    },

    /// This client made too many password checks (a per-client rate limit, in front of the
    /// sign-in); retry after the given delay.
    #[error("too many requests, retry later")]
    TooManyRequests {
        /// When the client may try again.
        retry_after: Duration,
    },

    /// A store's backend (database, directory) failed or is unreachable.
    ///
    /// This is never reported as [`Error::Unauthorized`]: a database outage must not look like
    /// a wrong password.
    #[error("user store unavailable")]
    StoreUnavailable(#[source] BoxError),

    /// authcore is misconfigured (a signing secret too short, bad hashing parameters...).
    #[error("configuration error: {0}")]
    Configuration(String),

    /// An unexpected internal failure (a hashing thread panicked, a token failed to encode).
    #[error("internal error: {0}")]
    Internal(String),

    /// No LDAP mapping has this uid (Redis `ldap_mapping_not_exist`, 404).
    #[error("ldap mapping does not exist")]
    LdapMappingNotExist,

    /// Another LDAP mapping already has this name (Redis `name_already_exists` on
    /// `/v1/ldap_mappings`: a 400 there, unlike the users' 409).
    #[error("an ldap mapping with this name already exists")]
    LdapMappingNameExists,

    /// A mapping's `dn` is not a distinguished name (Redis `invalid_dn_param`).
    #[error("invalid dn: {0}")]
    InvalidDnParam(String),

    /// A mapping's `name` is empty or too long (Redis `invalid_name_param`).
    #[error("invalid name: {0}")]
    InvalidNameParam(String),

    /// `role_uids` was given: roles are names here, not role objects (Redis
    /// `invalid_role_uids_param`).
    #[error("role_uids is not supported: give a management role name in `role`")]
    InvalidRoleUidsParam,

    /// A required field is missing (Redis `missing_field`).
    #[error("missing field: {0}")]
    MissingField(&'static str),

    /// Mutually exclusive fields were given together, or a required one is missing, in an
    /// `ldap` object (Redis `illegal_fields_combination`).
    #[error("illegal fields combination: {0}")]
    IllegalFieldsCombination(String),
}

/// The class of an error, from which a transport picks its status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusClass {
    /// 400
    BadRequest,
    /// 401
    Unauthorized,
    /// 403
    Forbidden,
    /// 404
    NotFound,
    /// 406: the request is understood but refused by policy (Redis uses it on user updates).
    NotAcceptable,
    /// 409
    Conflict,
    /// 429, with a `Retry-After` hint.
    TooManyRequests,
    /// 500
    Internal,
    /// 503, with a `Retry-After` hint.
    Unavailable,
}

impl StatusClass {
    /// The HTTP status code for this class.
    #[must_use]
    pub const fn http_status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::NotAcceptable => 406,
            Self::Conflict => 409,
            Self::TooManyRequests => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }
}

/// Default `Retry-After` for a store outage.
const STORE_RETRY_AFTER: Duration = Duration::from_secs(5);

impl Error {
    /// The stable, snake_case machine code for this error.
    ///
    /// Codes are Redis Enterprise's where Redis has one (`password_expired`,
    /// `password_not_complex`, `email_already_exists`...). Token errors use `unauthorized` like
    /// wrong credentials; overload and store outages share `service_unavailable`.
    #[must_use]
    pub const fn error_code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::Unauthorized | Self::InvalidToken => "unauthorized",
            Self::PasswordExpired => "password_expired",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::EmailAlreadyExists => "email_already_exists",
            Self::NameAlreadyExists => "name_already_exists",
            Self::PasswordNotComplex(_) => "password_not_complex",
            Self::NewPasswordSameAsCurrent => "new_password_same_as_current",
            Self::CannotDeleteLastPassword => "cannot_delete_last_password",
            Self::TooManyPasswords => "too_many_passwords",
            Self::ChangeLastAdminRoleNotAllowed => "change_last_admin_role_not_allowed",
            Self::Unsupported(_) => "unsupported_operation",
            Self::Overloaded { .. } | Self::StoreUnavailable(_) => "service_unavailable",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Configuration(_) | Self::Internal(_) => "internal_error",
            Self::LdapMappingNotExist => "ldap_mapping_not_exist",
            Self::LdapMappingNameExists => "name_already_exists",
            Self::InvalidDnParam(_) => "invalid_dn_param",
            Self::InvalidNameParam(_) => "invalid_name_param",
            Self::InvalidRoleUidsParam => "invalid_role_uids_param",
            Self::MissingField(_) => "missing_field",
            Self::IllegalFieldsCombination(_) => "illegal_fields_combination",
        }
    }

    /// The status class (and so the HTTP status) for this error.
    #[must_use]
    pub const fn status_class(&self) -> StatusClass {
        match self {
            Self::InvalidRequest(_)
            | Self::PasswordNotComplex(_)
            | Self::NewPasswordSameAsCurrent
            | Self::CannotDeleteLastPassword
            | Self::TooManyPasswords
            | Self::Unsupported(_)
            | Self::LdapMappingNameExists
            | Self::InvalidDnParam(_)
            | Self::InvalidNameParam(_)
            | Self::InvalidRoleUidsParam
            | Self::MissingField(_)
            | Self::IllegalFieldsCombination(_) => StatusClass::BadRequest,

            Self::Unauthorized | Self::InvalidToken | Self::PasswordExpired => {
                StatusClass::Unauthorized
            }
            Self::Forbidden => StatusClass::Forbidden,
            Self::NotFound | Self::LdapMappingNotExist => StatusClass::NotFound,
            Self::ChangeLastAdminRoleNotAllowed => StatusClass::NotAcceptable,
            Self::EmailAlreadyExists | Self::NameAlreadyExists => StatusClass::Conflict,
            Self::Overloaded { .. } | Self::StoreUnavailable(_) => StatusClass::Unavailable,
            Self::TooManyRequests { .. } => StatusClass::TooManyRequests,
            Self::Configuration(_) | Self::Internal(_) => StatusClass::Internal,
        }
    }

    /// The HTTP status code for this error (shorthand for `status_class().http_status()`).
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        self.status_class().http_status()
    }

    /// How long a client should wait before retrying, for errors where retrying helps.
    #[must_use]
    pub const fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Overloaded { retry_after } | Self::TooManyRequests { retry_after } => {
                Some(*retry_after)
            }
            Self::StoreUnavailable(_) => Some(STORE_RETRY_AFTER),
            _ => None,
        }
    }

    /// The message shown to clients.
    ///
    /// For server-side failures it is generic: the cause (a database error text) stays in
    /// logs, where it may be examined, and never reaches the client.
    #[must_use]
    pub fn client_message(&self) -> String {
        match self {
            Self::StoreUnavailable(_) => "the user store is unavailable, retry later".to_owned(),
            Self::Configuration(_) | Self::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    /// Wraps a backend failure as [`Error::StoreUnavailable`].
    pub fn store<E>(err: E) -> Self
    where
        E: Into<BoxError>,
    {
        Self::StoreUnavailable(err.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_code_and_status() {
        let cases: Vec<(Error, &str, u16)> = vec![
            (Error::InvalidRequest("x".into()), "invalid_request", 400),
            (Error::Unauthorized, "unauthorized", 401),
            (Error::InvalidToken, "unauthorized", 401),
            (Error::PasswordExpired, "password_expired", 401),
            (Error::Forbidden, "forbidden", 403),
            (Error::NotFound, "not_found", 404),
            (Error::LdapMappingNotExist, "ldap_mapping_not_exist", 404),
            (Error::LdapMappingNameExists, "name_already_exists", 400),
            (Error::InvalidDnParam("x".into()), "invalid_dn_param", 400),
            (
                Error::InvalidNameParam("x".into()),
                "invalid_name_param",
                400,
            ),
            (Error::InvalidRoleUidsParam, "invalid_role_uids_param", 400),
            (Error::MissingField("dn"), "missing_field", 400),
            (
                Error::IllegalFieldsCombination("x".into()),
                "illegal_fields_combination",
                400,
            ),
            (Error::EmailAlreadyExists, "email_already_exists", 409),
            (Error::NameAlreadyExists, "name_already_exists", 409),
            (Error::PasswordNotComplex("x"), "password_not_complex", 400),
            (
                Error::NewPasswordSameAsCurrent,
                "new_password_same_as_current",
                400,
            ),
            (
                Error::CannotDeleteLastPassword,
                "cannot_delete_last_password",
                400,
            ),
            (Error::TooManyPasswords, "too_many_passwords", 400),
            (
                Error::ChangeLastAdminRoleNotAllowed,
                "change_last_admin_role_not_allowed",
                406,
            ),
            (Error::Unsupported("x"), "unsupported_operation", 400),
            (
                Error::Overloaded {
                    retry_after: Duration::from_secs(1),
                },
                "service_unavailable",
                503,
            ),
            (Error::store("db down"), "service_unavailable", 503),
            (
                Error::TooManyRequests {
                    retry_after: Duration::from_secs(3),
                },
                "too_many_requests",
                429,
            ),
            (Error::Configuration("x".into()), "internal_error", 500),
            (Error::Internal("x".into()), "internal_error", 500),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.error_code(), code, "{err:?}");
            assert_eq!(err.http_status(), status, "{err:?}");
        }
    }

    #[test]
    fn store_failures_keep_their_cause_out_of_client_messages() {
        let err = Error::store("connection refused to postgres://u:secret@db");
        assert!(!err.client_message().contains("secret"));
        assert_eq!(err.retry_after(), Some(STORE_RETRY_AFTER));
    }
}
