//! Who may do what: [`Permission`]s, the role -> permission [`PermissionPolicy`] (Redis
//! Enterprise's by default) and the [`Access`] each operation of the users API requires.
//!
//! The decision is made in one place, [`crate::Authenticator::decide`], on the caller's
//! *current* role in the store (never the role in its token). Every route of
//! [`crate::http::ROUTE_TABLE`] names its [`Access`]; the core's dispatch decides before the
//! endpoint runs (and before the body is read).
//!
//! An embedding server extends the policy with its own roles and permissions:
//!
//! ```
//! use authcore_core::{CustomPermission, Permission, PermissionPolicy, Role};
//!
//! const VIEW_REPORTS: Permission = Permission::Custom(CustomPermission::new("view_reports"));
//! const AUDITOR: Role = Role::from_static("auditor");
//!
//! let policy = PermissionPolicy::redis()
//!     .grant(AUDITOR, [VIEW_REPORTS, Permission::ViewClusterInfo])
//!     .grant(Role::ADMIN, [VIEW_REPORTS]);
//! assert!(policy.allows(&AUDITOR, &VIEW_REPORTS));
//! assert!(!policy.allows(&AUDITOR, &Permission::ViewAllUsersInfo));
//! assert!(policy.allows(&Role::ADMIN, &Permission::CreateNewUser));
//! assert!(!policy.allows(&Role::NONE, &Permission::ViewClusterInfo));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::user::Role;

/// The built-in permissions, each listed once: the [`Permission`] variants, their names,
/// [`Permission::BUILT_IN`] and the [`markers`] types are all generated from this list.
macro_rules! built_in_permissions {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// A permission of Redis Enterprise's management API (facts: the role/permission table
        /// of 7.4), or one an embedding server defines ([`Permission::Custom`]).
        ///
        /// Two permissions are equal when their names are: a custom permission named like a
        /// built-in one *is* that permission (so a policy can never hold two permissions of the
        /// same name).
        #[derive(Debug, Clone, Copy)]
        pub enum Permission {
            $($(#[doc = $doc])* $variant,)*
            /// A permission of the embedding server's own.
            Custom(CustomPermission),
        }

        impl Permission {
            /// Every built-in permission, in the facts file's order.
            pub const BUILT_IN: [Permission; [$(stringify!($variant)),*].len()] =
                [$(Self::$variant),*];

            /// The permission's name, as Redis spells it (`view_user_info`).
            #[must_use]
            pub const fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                    Self::Custom(c) => c.0,
                }
            }
        }

        /// A [`PermissionMarker`] type for each built-in permission (what a framework's
        /// permission guard, such as `authcore_axum::RequirePermission`, is parameterised by).
        pub mod markers {
            use super::{Permission, PermissionMarker};

            $(
                #[doc = concat!("[`Permission::", stringify!($variant), "`].")]
                #[derive(Debug, Clone, Copy)]
                pub struct $variant;

                impl PermissionMarker for $variant {
                    const PERMISSION: Permission = Permission::$variant;
                }
            )*
        }
    };
}

built_in_permissions! {
    /// `view_all_users_info`: list users.
    ViewAllUsersInfo => "view_all_users_info",
    /// `view_user_info`: show any user.
    ViewUserInfo => "view_user_info",
    /// `update_user`: change any user.
    UpdateUser => "update_user",
    /// `create_new_user`: create users.
    CreateNewUser => "create_new_user",
    /// `delete_user`: delete users.
    DeleteUser => "delete_user",
    /// `config_ldap`: change the LDAP configuration.
    ConfigLdap => "config_ldap",
    /// `view_ldap_config`: show the LDAP configuration.
    ViewLdapConfig => "view_ldap_config",
    /// `create_ldap_mapping`.
    CreateLdapMapping => "create_ldap_mapping",
    /// `update_ldap_mapping`.
    UpdateLdapMapping => "update_ldap_mapping",
    /// `delete_ldap_mapping`.
    DeleteLdapMapping => "delete_ldap_mapping",
    /// `view_all_ldap_mappings_info`.
    ViewAllLdapMappingsInfo => "view_all_ldap_mappings_info",
    /// `view_ldap_mapping_info`.
    ViewLdapMappingInfo => "view_ldap_mapping_info",
    /// `update_cluster`: change cluster settings (policies).
    UpdateCluster => "update_cluster",
    /// `view_cluster_info`: read cluster settings; every Redis role but `none` holds it.
    ViewClusterInfo => "view_cluster_info",
}

/// A permission, as a type: what a framework's permission guard requires
/// (`authcore_axum::RequirePermission<P>`). [`markers`] has one per built-in permission; an
/// application declares its own:
///
/// ```
/// use authcore_core::{CustomPermission, Permission, PermissionMarker};
///
/// struct ViewReports;
/// impl PermissionMarker for ViewReports {
///     const PERMISSION: Permission = Permission::Custom(CustomPermission::new("view_reports"));
/// }
/// assert_eq!(ViewReports::PERMISSION.name(), "view_reports");
/// assert_eq!(
///     <authcore_core::permission_markers::UpdateCluster as PermissionMarker>::PERMISSION,
///     Permission::UpdateCluster,
/// );
/// ```
pub trait PermissionMarker: Send + Sync + 'static {
    /// The permission required.
    const PERMISSION: Permission;
}

/// The name of a permission an embedding server defines: `CustomPermission::new("x")` in a
/// `const` item, so it is declared once and used as a value (never retyped as a string).
#[derive(Debug, Clone, Copy)]
pub struct CustomPermission(&'static str);

impl CustomPermission {
    /// A permission named `name` (snake case, by convention).
    #[must_use]
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.0
    }
}

impl Permission {
    /// The built-in permission of that name, if any.
    #[must_use]
    pub fn built_in(name: &str) -> Option<Self> {
        Self::BUILT_IN.into_iter().find(|p| p.name() == name)
    }
}

impl PartialEq for Permission {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Permission {}

impl Hash for Permission {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl PartialOrd for Permission {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Permission {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Which roles hold which permissions. A role the policy does not name holds none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionPolicy {
    grants: BTreeMap<Role, BTreeSet<Permission>>,
}

impl Default for PermissionPolicy {
    /// [`PermissionPolicy::redis`].
    fn default() -> Self {
        Self::redis()
    }
}

impl PermissionPolicy {
    /// No role holds anything.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            grants: BTreeMap::new(),
        }
    }

    /// Redis Enterprise 7.4's policy: `admin` holds every built-in permission, every other
    /// management role (`cluster_member`, `cluster_viewer`, `db_member`, `db_viewer`) holds
    /// `view_cluster_info`, `none` holds nothing.
    #[must_use]
    pub fn redis() -> Self {
        let mut policy = Self::empty().grant(Role::ADMIN, Permission::BUILT_IN);
        for role in Role::REDIS_MANAGEMENT_ROLES {
            if role != Role::ADMIN && role != Role::NONE {
                policy = policy.grant(role, [Permission::ViewClusterInfo]);
            }
        }
        policy.grants.entry(Role::NONE).or_default();
        policy
    }

    /// Grants `role` the permissions (added to what it holds).
    #[must_use]
    pub fn grant(mut self, role: Role, permissions: impl IntoIterator<Item = Permission>) -> Self {
        self.grants.entry(role).or_default().extend(permissions);
        self
    }

    /// Takes the permissions from `role`.
    #[must_use]
    pub fn revoke(
        mut self,
        role: &Role,
        permissions: impl IntoIterator<Item = Permission>,
    ) -> Self {
        if let Some(held) = self.grants.get_mut(role) {
            for p in permissions {
                held.remove(&p);
            }
        }
        self
    }

    /// Whether `role` holds `permission`.
    #[must_use]
    pub fn allows(&self, role: &Role, permission: &Permission) -> bool {
        self.grants
            .get(role)
            .is_some_and(|held| held.contains(permission))
    }

    /// The permissions `role` holds, by name.
    pub fn permissions_of(&self, role: &Role) -> impl Iterator<Item = &Permission> {
        self.grants.get(role).into_iter().flatten()
    }

    /// The roles the policy names (granted something, or named with nothing, as `none`).
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.grants.keys()
    }
}

/// What a request needs from its caller: named by every route of the route table and
/// decided by [`crate::Authenticator::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// No caller: the request carries what it needs (credentials to sign in), or the answer is
    /// public (documents, health).
    Public,
    /// Self-service by proof in the request: the caller acts on their own account only, and
    /// proves who they are with the token being refreshed or logged out, or with the old
    /// password.
    OwnAccount,
    /// The caller's current role must hold the permission.
    Permission(Permission),
    /// Self-service by `{uid}`: the permission, or the caller is the user the path names
    /// (then only what a user may do to their own account: see
    /// [`crate::Authenticator::update_user`]).
    PermissionOrSelf(Permission),
}

impl Access {
    /// `POST /v1/users`.
    pub const CREATE_USER: Access = Access::Permission(Permission::CreateNewUser);
    /// `GET /v1/users`.
    pub const LIST_USERS: Access = Access::Permission(Permission::ViewAllUsersInfo);
    /// `GET /v1/users/{uid}`: `view_user_info`, or the user themself.
    pub const GET_USER: Access = Access::PermissionOrSelf(Permission::ViewUserInfo);
    /// `PUT /v1/users/{uid}`: `update_user`, or the user themself (name and password only).
    pub const UPDATE_USER: Access = Access::PermissionOrSelf(Permission::UpdateUser);
    /// `DELETE /v1/users/{uid}`.
    pub const DELETE_USER: Access = Access::Permission(Permission::DeleteUser);

    /// The permission named, if any.
    #[must_use]
    pub const fn permission(&self) -> Option<Permission> {
        match self {
            Self::Permission(p) | Self::PermissionOrSelf(p) => Some(*p),
            Self::Public | Self::OwnAccount => None,
        }
    }

    /// Whether the dispatch authenticates the caller and decides before the endpoint runs.
    #[must_use]
    pub const fn needs_caller(&self) -> bool {
        self.permission().is_some()
    }
}

/// How a caller got through [`crate::Authenticator::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The caller's current role holds the permission.
    Permission,
    /// The caller is the user the request names, without the permission.
    OwnAccount,
}

/// A caller the core has let through: the user as the store knows it now, the access it was
/// decided for and how it was granted. Only [`crate::Authenticator::decide`] makes one.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub(crate) user: crate::user::User,
    pub(crate) access: Access,
    pub(crate) target: Option<crate::user::UserId>,
    pub(crate) grant: Grant,
}

impl Authorized {
    /// The caller as the store knows it now.
    #[must_use]
    pub fn user(&self) -> &crate::user::User {
        &self.user
    }

    /// The access decided.
    #[must_use]
    pub fn access(&self) -> Access {
        self.access
    }

    /// How it was granted.
    #[must_use]
    pub fn grant(&self) -> Grant {
        self.grant
    }

    /// Refuses (403) an authorization decided for another access or another target: an
    /// operation only accepts the decision made for it.
    pub(crate) fn ensure_for(
        &self,
        access: Access,
        target: Option<&crate::user::UserId>,
    ) -> crate::Result<()> {
        if self.access == access && self.target.as_ref() == target {
            Ok(())
        } else {
            Err(crate::Error::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide_equality() {
        let custom = Permission::Custom(CustomPermission::new("update_user"));
        assert_eq!(custom, Permission::UpdateUser);
        assert_eq!(
            Permission::built_in("update_user"),
            Some(Permission::UpdateUser)
        );
        assert_eq!(Permission::built_in("nope"), None);
        let policy = PermissionPolicy::empty().grant(Role::NONE, [custom]);
        assert!(policy.allows(&Role::NONE, &Permission::UpdateUser));
    }

    #[test]
    fn revoke_and_unknown_roles() {
        let policy = PermissionPolicy::redis().revoke(&Role::ADMIN, [Permission::DeleteUser]);
        assert!(!policy.allows(&Role::ADMIN, &Permission::DeleteUser));
        assert!(policy.allows(&Role::ADMIN, &Permission::UpdateUser));
        assert!(!policy.allows(&Role::new("stranger"), &Permission::ViewClusterInfo));
        assert_eq!(policy.permissions_of(&Role::new("stranger")).count(), 0);
        assert!(policy.roles().any(|r| *r == Role::NONE));
    }
}
