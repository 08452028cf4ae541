//! The one authorization decision: may this caller, as the store knows it now, do this?

use super::Authenticator;
use crate::error::{Error, Result};
use crate::permission::{Access, Authorized, Grant, Permission, PermissionPolicy};
use crate::token::Claims;
use crate::user::{Role, UserId};

impl Authenticator {
    /// The permission policy in force.
    #[must_use]
    pub fn permissions(&self) -> &PermissionPolicy {
        &self.inner.permissions
    }

    /// Whether `role` holds `permission` under the policy in force (no store is read).
    #[must_use]
    pub fn may(&self, role: &Role, permission: &Permission) -> bool {
        self.inner.permissions.allows(role, permission)
    }

    /// Decides whether the caller named by `claims` may do what `access` requires, on
    /// `target` (the `{uid}` of the request, for self-service). This is the only place the
    /// permission policy is consulted: the users API's dispatch calls it for every route that
    /// names a permission, before the endpoint runs, and every administration method calls it.
    ///
    /// The caller is looked up as the stores know it now (the fresh check,
    /// [`Authenticator::check_claims_fresh`]): its *current* role decides, never the role in
    /// its token, so a promotion or demotion takes effect on the next request. A lockout
    /// after failed sign-ins does not end a live session.
    ///
    /// [`Access::Public`] and [`Access::OwnAccount`] need nothing from the policy: the caller
    /// is still checked fresh and granted [`Grant::OwnAccount`].
    ///
    /// # Errors
    /// [`Error::Unauthorized`] when the caller is gone, not active, or its token is logged out
    /// or of an ended session; [`Error::Forbidden`] when its current role lacks the
    /// permission (and, for [`Access::PermissionOrSelf`], it is not the target); store
    /// errors.
    pub async fn decide(
        &self,
        claims: &Claims,
        access: Access,
        target: Option<&UserId>,
    ) -> Result<Authorized> {
        let user = self.check_claims_fresh(claims).await?;
        let grant = match access {
            Access::Public | Access::OwnAccount => Grant::OwnAccount,
            Access::Permission(p) => {
                if self.may(&user.role, &p) {
                    Grant::Permission
                } else {
                    return Err(Error::Forbidden);
                }
            }
            Access::PermissionOrSelf(p) => {
                if self.may(&user.role, &p) {
                    Grant::Permission
                } else if target == Some(&user.uid) {
                    Grant::OwnAccount
                } else {
                    return Err(Error::Forbidden);
                }
            }
        };
        Ok(Authorized {
            user,
            access,
            target: target.cloned(),
            grant,
        })
    }
}
