//! Asking the permission policy of a real authenticator "may role R do P?".
//!
//! [`may`] goes the whole way a request goes: a user of role R is created in the
//! authenticator's store, signs in, and the core's one decision
//! ([`Authenticator::decide`]) is asked for the permission with that user's token. So a test of
//! an embedding server's policy checks what its routes will answer, not a copy of the table.
//!
//! ```
//! use std::sync::Arc;
//! use authcore_core::{AuthPolicy, CustomPermission, Permission, PermissionPolicy, Role};
//! use authcore_testkit::{ManualClock, fixtures, permissions::may};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> authcore_core::Result<()> {
//! const VIEW_REPORTS: Permission = Permission::Custom(CustomPermission::new("view_reports"));
//! let store = Arc::new(authcore_memory::MemoryStore::new());
//! let auth = fixtures::authenticator_with(
//!     store.clone(),
//!     store,
//!     &ManualClock::starting_now(),
//!     AuthPolicy::default(),
//!     PermissionPolicy::redis().grant(Role::new("auditor"), [VIEW_REPORTS]),
//! )?;
//! assert!(may(&auth, &Role::new("auditor"), VIEW_REPORTS).await?);
//! assert!(!may(&auth, &Role::new("auditor"), Permission::ViewAllUsersInfo).await?);
//! assert!(may(&auth, &Role::DB_VIEWER, Permission::ViewClusterInfo).await?);
//! # Ok(()) }
//! ```

use authcore_core::{Access, Authenticator, Error, Permission, Result, Role};

use crate::signed_in;

/// Whether a user of `role` may do `permission` on `auth`, decided by the core on a real
/// signed-in user of that role (created for the question, deleted after it when it can be:
/// the last admin stays).
///
/// # Errors
/// Creating or signing in the user (an `allowed_roles` that refuses `role`, a complexity
/// policy that refuses the probe's password), store errors; never [`Error::Forbidden`] (that
/// is `Ok(false)`).
pub async fn may(auth: &Authenticator, role: &Role, permission: Permission) -> Result<bool> {
    let who = signed_in(auth, role.clone()).await?;
    let answer = match auth
        .decide(&who.token.claims, Access::Permission(permission), None)
        .await
    {
        Ok(_) => Ok(true),
        Err(Error::Forbidden) => Ok(false),
        Err(e) => Err(e),
    };
    match auth.delete_user_as_operator(&who.uid).await {
        Ok(()) | Err(Error::ChangeLastAdminRoleNotAllowed) => {}
        Err(e) => return Err(e),
    }
    answer
}
