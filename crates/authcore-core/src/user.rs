//! Users, roles, statuses and stored passwords.

use std::borrow::Cow;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A user's canonical, store-assigned identifier.
///
/// Local stores (memory, SQL) assign decimal integers, as Redis Enterprise does; directory
/// stores use another stable form (the LDAP store uses the entry's DN). The value is opaque to
/// the core: it is the token's `sub` claim and the key of lockout state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Wraps an identifier.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identifier as an integer, when it is one (local users).
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<u64> for UserId {
    fn from(id: u64) -> Self {
        Self(id.to_string())
    }
}

/// A role: a string chosen by the embedding application.
///
/// The reference server uses Redis Enterprise's management roles, available as constants
/// ([`Role::ADMIN`] and friends). Only [`Role::ADMIN`] has a meaning to the core: user
/// administration requires it and the last admin cannot be demoted or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Role(Cow<'static, str>);

impl Role {
    /// Redis `admin`: full access, including user administration.
    pub const ADMIN: Role = Role::from_static("admin");
    /// Redis `cluster_member`.
    pub const CLUSTER_MEMBER: Role = Role::from_static("cluster_member");
    /// Redis `cluster_viewer`.
    pub const CLUSTER_VIEWER: Role = Role::from_static("cluster_viewer");
    /// Redis `db_member`.
    pub const DB_MEMBER: Role = Role::from_static("db_member");
    /// Redis `db_viewer` (Redis's default role for new users).
    pub const DB_VIEWER: Role = Role::from_static("db_viewer");
    /// Redis `none`.
    pub const NONE: Role = Role::from_static("none");
    /// Redis Enterprise's management roles, most privileged first.
    pub const REDIS_MANAGEMENT_ROLES: [Role; 6] = [
        Self::ADMIN,
        Self::CLUSTER_MEMBER,
        Self::CLUSTER_VIEWER,
        Self::DB_MEMBER,
        Self::DB_VIEWER,
        Self::NONE,
    ];

    /// Wraps a role name.
    pub fn new(role: impl Into<String>) -> Self {
        Self(Cow::Owned(role.into()))
    }

    /// A role named by a string constant (usable in `const` items).
    #[must_use]
    pub const fn from_static(role: &'static str) -> Self {
        Self(Cow::Borrowed(role))
    }

    /// The role name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is [`Role::ADMIN`].
    #[must_use]
    pub fn is_admin(&self) -> bool {
        *self == Self::ADMIN
    }
}

impl From<Role> for String {
    fn from(role: Role) -> Self {
        role.0.into_owned()
    }
}

impl PartialEq<str> for Role {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Role {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Role> for &str {
    fn eq(&self, other: &Role) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The account status kept by the store.
///
/// Lockout after failed sign-ins is kept apart, in a `LockoutStore`; an account locked that way
/// is *reported* as [`UserStatus::Locked`] by [`crate::UserView`] but stored as `Active`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// May sign in.
    #[default]
    Active,
    /// Locked by an administrator (or by lockout, when reported); an admin password reset
    /// makes the account active again.
    Locked,
    /// Disabled by an administrator; a password reset does not re-enable it.
    Disabled,
}

impl UserStatus {
    /// The snake_case name, as stored and as shown in the Redis user object.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Disabled => "disabled",
        }
    }

    /// Parses the snake_case name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "locked" => Some(Self::Locked),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A PHC password hash string (`$argon2id$v=19$m=...`).
///
/// A hash is a secret (it can be attacked offline), so `Debug` does not print it and the
/// memory is zeroized on drop.
#[derive(Clone)]
pub struct PasswordHash(SecretString);

impl PasswordHash {
    /// Wraps a PHC string read from a store. It is parsed and checked when used.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(SecretString::from(phc.into()))
    }

    /// The PHC string, for a store to persist.
    #[must_use]
    pub fn expose_phc(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for PasswordHash {
    fn eq(&self, other: &Self) -> bool {
        self.expose_phc() == other.expose_phc()
    }
}

impl Eq for PasswordHash {}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

/// One of a user's valid passwords, as stored: its hash and when it was set.
///
/// A user may hold several (Redis password rotation); expiry counts from each password's own
/// issue date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPassword {
    /// The argon2 PHC hash.
    pub hash: PasswordHash,
    /// When this password was set (UTC).
    pub issued_at: OffsetDateTime,
}

/// How a user proves who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Local passwords, verified by the core against these hashes (one or more).
    Passwords(Vec<StoredPassword>),
    /// Verified by the store itself (an LDAP bind): see
    /// [`crate::UserStore::verify_external`].
    External,
}

/// A user as a store returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Canonical identifier.
    pub uid: UserId,
    /// The login name. For local users it is their e-mail, compared case-insensitively (see
    /// [`normalize_username`]).
    pub email: String,
    /// Display name, unique among the local users that have one; `None` when the user has
    /// none (it never defaults to the e-mail: a default would make every login name a taken
    /// name, and renaming oneself a test of whether an e-mail has an account).
    pub name: Option<String>,
    /// The user's role.
    pub role: Role,
    /// Stored status.
    pub status: UserStatus,
    /// How the user authenticates.
    pub credentials: Credentials,
}

impl User {
    /// The user's stored passwords (empty for directory users).
    #[must_use]
    pub fn passwords(&self) -> &[StoredPassword] {
        match &self.credentials {
            Credentials::Passwords(p) => p,
            Credentials::External => &[],
        }
    }

    /// The most recent issue date among the user's passwords.
    #[must_use]
    pub fn password_issue_date(&self) -> Option<OffsetDateTime> {
        self.passwords().iter().map(|p| p.issued_at).max()
    }

    /// Whether this user counts for the admin invariant (see [`crate::UserAdmin`]): role
    /// `admin` and stored status `active`. A lockout after failed sign-ins is not a status: a
    /// locked-out active admin still counts; a `disabled` or `locked` one does not.
    #[must_use]
    pub fn is_active_admin(&self) -> bool {
        counts_as_active_admin(&self.role, self.status)
    }
}

/// Whether a user with this role and stored status counts as an active admin (see
/// [`User::is_active_admin`]).
#[must_use]
pub fn counts_as_active_admin(role: &Role, status: UserStatus) -> bool {
    role.is_admin() && status == UserStatus::Active
}

/// The canonical form of a username, used for every lookup and uniqueness check.
///
/// The rule: Unicode lowercase (`str::to_lowercase`), nothing else. No trimming, no Unicode
/// normalisation: `Alice@Example.org` and `alice@example.org` are the same user, `alice ` (with
/// a space) is another. Stores must compare normalised forms.
#[must_use]
pub fn normalize_username(username: &str) -> String {
    username.to_lowercase()
}

/// A user to create; the store assigns the uid.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The e-mail (login name), as given; stores also keep its normalised form.
    pub email: String,
    /// Display name, if any; stores enforce uniqueness only among names that are set.
    pub name: Option<String>,
    /// Role.
    pub role: Role,
    /// Initial status.
    pub status: UserStatus,
    /// The first password(s).
    pub passwords: Vec<StoredPassword>,
}

/// Changes to a user's profile; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// New e-mail (login name).
    pub email: Option<String>,
    /// New display name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New stored status.
    pub status: Option<UserStatus>,
}

/// A user's password, as presented by a client.
///
/// Zeroized on drop; `Debug` prints `[REDACTED]`.
pub type Password = SecretString;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_compare_case_insensitively() {
        assert_eq!(
            normalize_username("Alice@Example.ORG"),
            normalize_username("alice@example.org")
        );
        assert_ne!(normalize_username("alice "), normalize_username("alice"));
    }

    #[test]
    fn hashes_do_not_debug_print() {
        let h = PasswordHash::new("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA");
        assert!(!format!("{h:?}").contains("argon2"));
        let p = StoredPassword {
            hash: h,
            issued_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(!format!("{p:?}").contains("argon2"));
    }
}
