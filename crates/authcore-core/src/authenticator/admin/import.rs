//! Importing users from another system, one at a time (`authcore import`).
//!
//! Every row is checked fully (e-mail, name, role, password or hash) before anything is
//! written, and each user is written by one store call (a creation with its password is one
//! transaction), so a bad row leaves nothing behind and the other rows go on.

use super::super::check_password_len;
use super::{Authenticator, validate_email, validate_name};
use crate::error::{Error, Result};
use crate::legacy_hash::{HashFormat, check_hash_format};
use crate::store::UserAdmin;
use crate::user::{
    NewUser, Password, PasswordHash, Role, StoredPassword, User, UserStatus, UserUpdate,
    normalize_username,
};

/// The password of an imported user: a plain one (hashed with argon2id on import) or a hash
/// from the other system, stored as it is and replaced by argon2id at the first sign-in.
#[derive(Debug, Clone)]
pub enum ImportPassword {
    /// A plain password; the password complexity policy applies.
    Plain(Password),
    /// A hash in any format [`check_hash_format`] accepts.
    Hash(PasswordHash),
}

impl ImportPassword {
    /// The hash's format, or `None` for a plain password. Nothing is computed.
    #[must_use]
    pub fn format(&self) -> Option<HashFormat> {
        match self {
            Self::Plain(_) => None,
            Self::Hash(h) => HashFormat::detect(h.expose_phc()),
        }
    }
}

/// One user to import. Absent fields take the defaults of `POST /v1/users`: no name, the role
/// `db_viewer` (Redis's default), the status `active`.
#[derive(Debug, Clone)]
pub struct ImportUser {
    /// E-mail, the login name (required).
    pub email: String,
    /// Display name; `None`: the user has none (or, when updating, keeps theirs).
    pub name: Option<String>,
    /// Role.
    pub role: Option<Role>,
    /// Stored status.
    pub status: Option<UserStatus>,
    /// The password or hash.
    pub password: ImportPassword,
}

/// What to do with a row whose e-mail is already a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Leave the existing user as it is.
    #[default]
    Skip,
    /// Bring the existing user to the row: profile fields given in the row, and the password
    /// unless the user already has it.
    Update,
}

/// What importing one row did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImportOutcome {
    /// A new user.
    Created,
    /// An existing user was changed.
    Updated,
    /// An existing user already matched the row (`--on-conflict update`).
    Unchanged,
    /// An existing user was left alone (`--on-conflict skip`).
    Skipped,
}

impl ImportOutcome {
    /// A short, stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Skipped => "skipped",
        }
    }
}

/// A row checked and ready to write.
struct Checked {
    email: String,
    name: Option<String>,
    role: Option<Role>,
    status: Option<UserStatus>,
    password: ImportPassword,
}

impl Authenticator {
    /// Imports one user. The row is checked first (as `POST /v1/users` would check it; a
    /// password hash must parse in a supported format); then the user is created, or, when
    /// its e-mail is taken, skipped or updated as `on_conflict` says. With `dry_run` nothing
    /// is written (and nothing hashed): the answer says what would happen.
    ///
    /// No authorization check: this is for operators with access to the store (the
    /// `authcore import` command). A user created by someone else meanwhile (a server on the
    /// same database) counts as a conflict.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a bad e-mail, name, role, password or hash;
    /// [`Error::PasswordNotComplex`]; [`Error::NameAlreadyExists`];
    /// [`Error::ChangeLastAdminRoleNotAllowed`] for an update that would demote, disable or lock
    /// the last active admin;
    /// store errors.
    pub async fn import_user(
        &self,
        user: ImportUser,
        on_conflict: OnConflict,
        dry_run: bool,
    ) -> Result<ImportOutcome> {
        let row = self.check_import(user)?;
        let store = self.admin_store()?;
        let username = normalize_username(&row.email);
        // Two rounds at most: a creation that loses a race with another writer becomes a
        // conflict.
        for _ in 0..2 {
            if let Some(existing) = store.find_by_username(&username).await? {
                return match on_conflict {
                    OnConflict::Skip => Ok(ImportOutcome::Skipped),
                    OnConflict::Update => self.import_update(store, existing, row, dry_run).await,
                };
            }
            if dry_run {
                return Ok(ImportOutcome::Created);
            }
            let new = NewUser {
                email: row.email.clone(),
                name: row.name.clone(),
                role: row.role.clone().unwrap_or(Role::DB_VIEWER),
                status: row.status.unwrap_or_default(),
                passwords: vec![self.import_stored(&row.password).await?],
            };
            match store.create_user(new).await {
                Ok(_) => return Ok(ImportOutcome::Created),
                Err(Error::EmailAlreadyExists) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::EmailAlreadyExists)
    }

    fn check_import(&self, user: ImportUser) -> Result<Checked> {
        validate_email(&user.email)?;
        if let Some(name) = &user.name {
            validate_name(name)?;
        }
        if let Some(role) = &user.role {
            self.validate_role(role)?;
        } else {
            self.validate_role(&Role::DB_VIEWER)?;
        }
        match &user.password {
            ImportPassword::Plain(p) => {
                check_password_len(p)?;
                self.check_new_password(p, &user.email)?;
            }
            ImportPassword::Hash(h) => {
                check_hash_format(h.expose_phc())?;
            }
        }
        Ok(Checked {
            email: user.email,
            name: user.name,
            role: user.role,
            status: user.status,
            password: user.password,
        })
    }

    async fn import_stored(&self, password: &ImportPassword) -> Result<StoredPassword> {
        let hash = match password {
            ImportPassword::Plain(p) => self.inner.hashing.hash(p).await?,
            ImportPassword::Hash(h) => h.clone(),
        };
        Ok(StoredPassword {
            hash,
            issued_at: self.now(),
        })
    }

    async fn import_update(
        &self,
        store: &dyn UserAdmin,
        existing: User,
        row: Checked,
        dry_run: bool,
    ) -> Result<ImportOutcome> {
        let profile = UserUpdate {
            email: (existing.email != row.email).then(|| row.email.clone()),
            name: row
                .name
                .clone()
                .filter(|n| existing.name.as_ref() != Some(n)),
            role: row.role.clone().filter(|r| *r != existing.role),
            status: row.status.filter(|s| *s != existing.status),
        };
        super::precheck_last_admin(store, &existing, profile.role.as_ref(), profile.status).await?;
        let current: Vec<PasswordHash> = existing
            .passwords()
            .iter()
            .map(|p| p.hash.clone())
            .collect();
        let has_password = match &row.password {
            ImportPassword::Hash(h) => current.contains(h),
            // Checking costs one verify per stored hash, as a password change does.
            ImportPassword::Plain(p) => {
                !current.is_empty()
                    && self
                        .inner
                        .hashing
                        .verify(p, current)
                        .await?
                        .matched
                        .is_some()
            }
        };
        if profile == UserUpdate::default() && has_password {
            return Ok(ImportOutcome::Unchanged);
        }
        if dry_run {
            return Ok(ImportOutcome::Updated);
        }
        // Hash before writing; then the profile (which may still be refused, for a name taken
        // by another user) before the password, so a refused row writes nothing.
        let stored = if has_password {
            None
        } else {
            Some(self.import_stored(&row.password).await?)
        };
        if profile != UserUpdate::default() {
            store.update_user(&existing.uid, profile).await?;
        }
        if let Some(stored) = stored {
            store.set_passwords(&existing.uid, vec![stored]).await?;
        }
        Ok(ImportOutcome::Updated)
    }
}
