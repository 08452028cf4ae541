//! The users API's request commands and client view: what an administrator asks for and
//! what a client sees of a user.

use schemars::JsonSchema;
use serde::Serialize;

use crate::user::{Password, Role, UserId, UserStatus};

/// A new user, as an administrator asks for it (`POST /v1/users`).
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// E-mail, the login name.
    pub email: String,
    /// Initial password.
    pub password: Password,
    /// Display name; without one the user has none (never a copy of the e-mail).
    pub name: Option<String>,
    /// Role.
    pub role: Role,
}

/// Changes to a user (`PUT /v1/users/{uid}`); `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct UpdateUser {
    /// New e-mail (admin only).
    pub email: Option<String>,
    /// New display name (admin, or the user themself).
    pub name: Option<String>,
    /// New role (admin only).
    pub role: Option<Role>,
    /// New stored status (admin only).
    pub status: Option<UserStatus>,
    /// New password, replacing all current ones (admin, or the user themself). An admin reset
    /// also unlocks the account.
    pub password: Option<Password>,
}

/// A user as shown to clients: Redis Enterprise's user object, never with a password or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(rename = "User")]
pub struct UserView {
    /// The uid: a JSON number for local users, a string otherwise.
    pub uid: UidValue,
    /// E-mail (login name).
    pub email: String,
    /// Display name; the field is absent for a user without one (Redis's user object leaves
    /// out fields that have no value; `name` is a string, never `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Role.
    #[schemars(with = "String")]
    pub role: Role,
    /// Effective status: `locked` while a lockout is in force.
    pub status: UserStatus,
    /// Latest password issue date, RFC 3339 in UTC (`2017-03-02T09:43:34Z`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub password_issue_date: Option<String>,
    /// `regular` for local users, `external` for directory users.
    #[schemars(extend("enum" = ["regular", "external"]))]
    pub auth_method: &'static str,
}

/// A uid as it appears in JSON: Redis's integer where possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum UidValue {
    /// A decimal uid.
    Number(u64),
    /// Any other uid.
    Text(String),
}

impl From<&UserId> for UidValue {
    fn from(uid: &UserId) -> Self {
        uid.as_u64()
            .map_or_else(|| Self::Text(uid.as_str().to_owned()), Self::Number)
    }
}
