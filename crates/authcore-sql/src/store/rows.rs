//! Row decoding: user rows folded into users, lockout rows into lockout state.

use authcore_core::{
    Credentials, Error, LockedUntil, LockoutState, PasswordHash, Result, Role, StoredPassword,
    User, UserId, UserStatus,
};
use time::OffsetDateTime;

/// One row of the user-and-passwords join.
pub(super) struct UserRow {
    pub(super) uid: i64,
    pub(super) email: String,
    pub(super) name: Option<String>,
    pub(super) role: String,
    pub(super) status: String,
    pub(super) phc: Option<String>,
    pub(super) issued_at: Option<OffsetDateTime>,
}

/// Folds join rows (ordered by uid) into users.
pub(super) fn group_users(rows: Vec<UserRow>) -> Result<Vec<User>> {
    let mut users: Vec<User> = Vec::new();
    for row in rows {
        let password = match (row.phc, row.issued_at) {
            (Some(phc), Some(issued_at)) => Some(StoredPassword {
                hash: PasswordHash::new(phc),
                issued_at,
            }),
            _ => None,
        };
        let uid =
            UserId::from(u64::try_from(row.uid).map_err(|_| {
                Error::Internal(format!("negative uid {} in the database", row.uid))
            })?);
        if let Some(last) = users.last_mut().filter(|u| u.uid == uid) {
            if let (Some(p), Credentials::Passwords(list)) = (password, &mut last.credentials) {
                list.push(p);
            }
            continue;
        }
        let status = UserStatus::parse(&row.status).ok_or_else(|| {
            Error::Internal(format!(
                "unknown user status {:?} in the database",
                row.status
            ))
        })?;
        users.push(User {
            uid,
            email: row.email,
            name: row.name,
            role: Role::new(row.role),
            status,
            credentials: Credentials::Passwords(password.into_iter().collect()),
        });
    }
    Ok(users)
}

/// One lockout row.
pub(super) struct LockoutRow {
    pub(super) failures: i64,
    pub(super) last_failure_at: Option<OffsetDateTime>,
    pub(super) locked_until: Option<OffsetDateTime>,
    pub(super) locked_by_admin: bool,
}

impl LockoutRow {
    /// The state the row holds; `None` for a placeholder without failures (a row kept for its
    /// lock, see `LockoutQueries`).
    pub(super) fn into_state(self) -> Result<Option<LockoutState>> {
        let locked_until = if self.locked_by_admin {
            Some(LockedUntil::AdminReset)
        } else {
            self.locked_until.map(LockedUntil::Time)
        };
        if self.failures <= 0 && locked_until.is_none() {
            return Ok(None);
        }
        let last_failure_at = self
            .last_failure_at
            .ok_or_else(|| Error::Internal("lockout row without a failure time".into()))?;
        Ok(Some(LockoutState {
            failures: u32::try_from(self.failures.max(0)).unwrap_or(u32::MAX),
            last_failure_at,
            locked_until,
        }))
    }
}
