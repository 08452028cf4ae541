//! Request and response bodies of the users API (Redis Enterprise field names).
//!
//! The user bodies (`POST /v1/users`, `PUT /v1/users/{uid}`) know three kinds of fields: the
//! ones authcore implements; Redis's other documented fields of the user object
//! ([`IGNORED_USER_FIELDS`]), accepted and ignored, as clients written for Redis send them;
//! anything else, refused with 400 naming the field.

use serde::{Deserialize, Serialize};

use crate::user::{Password, UserStatus};

/// `POST /v1/users/authorize` body (Redis's `jwt_authorize` object). With HTTP Basic
/// credentials only `ttl` is read.
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeBody {
    /// The login name (e-mail).
    pub username: Option<String>,
    /// The password.
    pub password: Option<Password>,
    /// Token lifetime in seconds, 1..=86400 (default 300).
    pub ttl: Option<i64>,
}

/// A body holding only an optional `ttl` (`POST /v1/users/refresh_jwt`).
#[derive(Debug, Default, Deserialize)]
pub struct TtlBody {
    /// Token lifetime in seconds, 1..=86400 (default 300).
    pub ttl: Option<i64>,
}

/// The optional body of `POST /v1/users/logout`: `{"all": true}` ends every session of the
/// caller, anything else only the token presented.
#[derive(Debug, Default, Deserialize)]
pub struct LogoutBody {
    /// End every session of the caller (default `false`).
    #[serde(default)]
    pub all: bool,
}

/// `{"access_token": "..."}`, the answer of authorize and refresh.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// `PUT`/`POST`/`DELETE /v1/users/password` body. `new_password` is required for `PUT` and
/// `POST` and ignored by `DELETE`.
#[derive(Debug, Deserialize)]
pub struct PasswordChangeBody {
    /// The login name (e-mail).
    pub username: String,
    /// One of the user's current passwords (also an expired one); for `DELETE`, the password
    /// to remove.
    pub old_password: Password,
    /// The new password.
    pub new_password: Option<Password>,
}

/// Redis's documented user-object fields that authcore does not keep: accepted in user bodies
/// and ignored (`uid`, `auth_method` and `password_issue_date` are read-only in Redis).
pub const IGNORED_USER_FIELDS: [&str; 8] = [
    "email_alerts",
    "bdbs_email_alerts",
    "cluster_email_alerts",
    "account_id",
    "action_uid",
    "uid",
    "auth_method",
    "password_issue_date",
];

/// `POST /v1/users` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserBody {
    /// E-mail: the login name.
    pub email: String,
    /// Initial password.
    pub password: Password,
    /// Display name; without one the user has none.
    pub name: Option<String>,
    /// Management role.
    pub role: String,
    /// `"1"`: `password` is Redis's pre-hash, the hex SHA-256 of
    /// `username:clustername:password`. Any other value is refused.
    pub password_hash_method: Option<String>,
}

/// `PUT /v1/users/{uid}` body; absent fields stay unchanged.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserBody {
    /// New e-mail (admin only).
    pub email: Option<String>,
    /// New display name.
    pub name: Option<String>,
    /// New role (admin only).
    pub role: Option<String>,
    /// New status (admin only): `active`, `locked` or `disabled`.
    pub status: Option<UserStatus>,
    /// New password, replacing all current ones; an admin reset unlocks the account.
    pub password: Option<Password>,
    /// `"1"`: `password` is Redis's pre-hash (see [`CreateUserBody::password_hash_method`]).
    pub password_hash_method: Option<String>,
}
