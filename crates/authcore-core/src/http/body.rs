//! Request and response bodies of the users API (Redis Enterprise field names).
//!
//! These types are the parser ([`serde::Deserialize`]) and the OpenAPI schema
//! ([`schemars::JsonSchema`]) at once: required fields, refused unknown fields, patterns,
//! lengths and ranges are written once, here, and [`super::openapi`] reads them.
//!
//! The user bodies (`POST /v1/users`, `PUT /v1/users/{uid}`) know three kinds of fields: the
//! ones authcore implements; Redis's other documented fields of the user object (with
//! Redis's types), accepted and ignored, as clients written for Redis send them; anything
//! else, refused with 400 naming the field.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::authenticator::{MAX_PASSWORD_LEN, MAX_USERNAME_LEN};
use crate::user::{Password, UserStatus};

/// Redis's e-mail pattern, as the parser applies it: printable ASCII, no spaces.
pub const EMAIL_PATTERN: &str = "^[!-~]+$";
/// Redis's name pattern, as the parser applies it: ASCII without control characters and
/// without `&`, `<`, `>` and `"`.
pub const NAME_PATTERN: &str = "^[ !#-%'-;=?-~]+$";
/// Longest display name, in characters.
pub const MAX_NAME_LEN: usize = 255;
/// Longest token lifetime, in seconds.
pub const MAX_TTL: i64 = 86_400;

/// `POST /v1/users/authorize` body (Redis's `jwt_authorize` object). `username` and
/// `password` are required, as in Redis 7.4; with HTTP Basic credentials (Redis's later
/// form) they come from the header and only `ttl` is read.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct AuthorizeBody {
    /// The login name (e-mail).
    #[schemars(required, with = "String", length(max = MAX_USERNAME_LEN))]
    pub username: Option<String>,
    /// The password.
    #[schemars(required, with = "String", length(max = MAX_PASSWORD_LEN))]
    pub password: Option<Password>,
    /// Token lifetime in seconds (default 300).
    #[schemars(range(min = 1, max = MAX_TTL))]
    pub ttl: Option<i64>,
}

/// A body holding only an optional `ttl` (`POST /v1/users/refresh_jwt`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct TtlBody {
    /// Token lifetime in seconds (default 300).
    #[schemars(range(min = 1, max = MAX_TTL))]
    pub ttl: Option<i64>,
}

/// The optional body of `POST /v1/users/logout`: `{"all": true}` ends every session of the
/// caller; none, `{}` or `{"all": false}` only the session of the token presented. Any other
/// field is refused (400): a misspelt `all` must not quietly end less than was asked.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutBody {
    /// End every session of the caller (default `false`).
    #[serde(default)]
    pub all: bool,
}

/// `{"access_token": "..."}`, the answer of authorize and refresh.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[REDACTED]")
            .finish()
    }
}

/// `PUT`/`POST /v1/users/password` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PasswordChangeBody {
    /// The login name (e-mail).
    #[schemars(length(max = MAX_USERNAME_LEN))]
    pub username: String,
    /// One of the user's current passwords (also an expired one).
    #[schemars(with = "String", length(max = MAX_PASSWORD_LEN))]
    pub old_password: Password,
    /// The new password.
    #[schemars(required, with = "String", length(max = MAX_PASSWORD_LEN))]
    pub new_password: Option<Password>,
}

/// `DELETE /v1/users/password` body: the password to remove (`new_password` is ignored).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PasswordRemoveBody {
    /// The login name (e-mail).
    #[schemars(length(max = MAX_USERNAME_LEN))]
    pub username: String,
    /// The password to remove; it also proves who the caller is.
    #[schemars(with = "String", length(max = MAX_PASSWORD_LEN))]
    pub old_password: Password,
}

/// Declares a user body: the fields authcore implements, then Redis's other documented fields
/// of the user object (with Redis's types), accepted and ignored: one list for
/// `POST /v1/users` and `PUT /v1/users/{uid}` (serde's `flatten` cannot be combined with
/// `deny_unknown_fields`, which refuses any other field with 400).
macro_rules! user_body {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
            /// Redis's; accepted and ignored.
            pub email_alerts: Option<bool>,
            /// Redis's (database uids as strings, or `["all"]`); accepted and ignored.
            pub bdbs_email_alerts: Option<Vec<String>>,
            /// Redis's; accepted and ignored.
            pub cluster_email_alerts: Option<bool>,
            /// Redis's; accepted and ignored.
            pub account_id: Option<i64>,
            /// Redis's (read-only there); accepted and ignored.
            pub action_uid: Option<String>,
            /// Redis's (read-only there); accepted and ignored.
            pub uid: Option<i64>,
            /// Redis's (read-only there); accepted and ignored.
            pub auth_method: Option<String>,
            /// Redis's (read-only there); accepted and ignored.
            pub password_issue_date: Option<String>,
        }
    };
}

user_body! {
    /// `POST /v1/users` body.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct CreateUserBody {
        /// E-mail: the login name (printable ASCII, Redis's pattern).
        #[schemars(pattern(EMAIL_PATTERN), length(min = 1, max = MAX_USERNAME_LEN))]
        pub email: String,
        /// Initial password.
        #[schemars(with = "String", length(max = MAX_PASSWORD_LEN))]
        pub password: Password,
        /// Display name; without one the user has none. ASCII without `&`, `<`, `>`, `"`.
        #[schemars(pattern(NAME_PATTERN), length(min = 1, max = MAX_NAME_LEN))]
        pub name: Option<String>,
        /// Management role.
        pub role: String,
        /// `"1"`: `password` is Redis's pre-hash, the lowercase hex SHA-256 of
        /// `username:clustername:password` (cluster name: the server's `--cluster-name`), stored
        /// wrapped in argon2id; the user signs in with the plain password.
        #[schemars(extend("enum" = ["1", null]))]
        pub password_hash_method: Option<String>,
    }
}

user_body! {
    /// `PUT /v1/users/{uid}` body; absent fields stay unchanged.
    #[derive(Debug, Default, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct UpdateUserBody {
        /// New e-mail (admin only).
        #[schemars(pattern(EMAIL_PATTERN), length(min = 1, max = MAX_USERNAME_LEN))]
        pub email: Option<String>,
        /// New display name.
        #[schemars(pattern(NAME_PATTERN), length(min = 1, max = MAX_NAME_LEN))]
        pub name: Option<String>,
        /// New role (admin only).
        pub role: Option<String>,
        /// New status (admin only): `active`, `locked` or `disabled`.
        pub status: Option<UserStatus>,
        /// New password, replacing all current ones; an admin reset unlocks the account.
        #[schemars(with = "Option<String>", length(max = MAX_PASSWORD_LEN))]
        pub password: Option<Password>,
        /// `"1"`: `password` is Redis's pre-hash (see [`CreateUserBody::password_hash_method`]).
        #[schemars(extend("enum" = ["1", null]))]
        pub password_hash_method: Option<String>,
    }
}
