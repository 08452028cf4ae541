//! The user and administration stores: look-ups by name and uid, creation, updates,
//! deletion and each user's password list.

use async_trait::async_trait;
use authcore_core::{
    Credentials, Error, NewUser, PasswordHash, Result, Role, StoredPassword, User, UserAdmin,
    UserId, UserStatus, UserStore, UserUpdate, normalize_username,
};
use sqlx::Row as _;

use super::rows::{UserRow, group_users};
use super::{Backend, DbResult as _, SqlStore, decode, local_id};
use crate::dialect::to_micros;

/// The count the one-row query `$q` answers on `$executor` (a pool, or `&mut *tx`), with the
/// `$bind`s in order.
macro_rules! count_in {
    ($executor:expr, $q:expr $(, $bind:expr)* $(,)?) => {{
        let n: i64 = sqlx::query($q)
            $(.bind($bind))*
            .fetch_one($executor)
            .await
            .and_then(|r| r.try_get(0))
            .db()?;
        n
    }};
}

/// The number of active admins (role `admin`, stored status `active`) as `$tx` sees it.
macro_rules! count_active_admins {
    ($tx:expr, $e:ident) => {
        count_in!(&mut *$tx, $e::Q.count_with_role_status, ADMIN, ACTIVE)
    };
}

/// Inserts each of `$passwords` (`&StoredPassword`s) as a password of user `$id` in `$tx`.
macro_rules! insert_passwords {
    ($tx:expr, $e:ident, $id:expr, $passwords:expr) => {
        for p in $passwords {
            sqlx::query($e::Q.insert_password)
                .bind($id)
                .bind(p.hash.expose_phc())
                .bind($e::ts(p.issued_at))
                .execute(&mut *$tx)
                .await
                .db()?;
        }
    };
}

/// Takes the admin guard's lock in `$tx` (see `Queries::lock_admin_guard`) and returns the
/// number of active admins, which no other writer can change until `$tx` ends.
macro_rules! lock_admin_guard {
    ($tx:expr, $e:ident) => {{
        let guard = sqlx::query($e::Q.lock_admin_guard)
            .fetch_optional(&mut *$tx)
            .await
            .db()?;
        if guard.is_none() {
            return Err(Error::Internal(
                "the admin guard row of migration 20261128000001 is missing".into(),
            ));
        }
        count_active_admins!($tx, $e)
    }};
}

/// `Role::ADMIN` as stored.
const ADMIN: &str = "admin";
/// `UserStatus::Active` as stored.
const ACTIVE: &str = UserStatus::Active.as_str();

#[async_trait]
impl UserStore for SqlStore {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        self.timed("find_by_username", async move {
            let rows = on_engine!(self, |pool, e| {
                let rows = sqlx::query(e::Q.find_by_email_key)
                    .bind(username)
                    .fetch_all(pool)
                    .await
                    .db()?;
                decode(|| Ok(user_rows!(rows, e)))?
            });
            Ok(group_users(rows)?.into_iter().next())
        })
        .await
    }

    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        self.timed("find_by_uid", async move {
            let Some(id) = local_id(uid) else {
                return Ok(None);
            };
            let rows = on_engine!(self, |pool, e| {
                let rows = sqlx::query(e::Q.find_by_uid)
                    .bind(id)
                    .fetch_all(pool)
                    .await
                    .db()?;
                decode(|| Ok(user_rows!(rows, e)))?
            });
            Ok(group_users(rows)?.into_iter().next())
        })
        .await
    }

    fn admin(&self) -> Option<&dyn UserAdmin> {
        Some(self)
    }

    /// With its own session state: one statement (see `store/sessions.rs`).
    async fn find_fresh(
        &self,
        uid: &UserId,
        session_id: &str,
        sessions: &dyn authcore_core::SessionStore,
    ) -> Result<Option<authcore_core::FreshRecord>> {
        if !authcore_core::is_same_store(self, sessions) {
            return authcore_core::fresh_record_in_three_reads(self, uid, session_id, sessions)
                .await;
        }
        self.fresh_record(uid, session_id).await
    }

    /// With its own session state: one statement, the lookup with the user's epoch (see
    /// `store/sessions.rs`), for an unknown name too.
    async fn find_for_sign_in(
        &self,
        username: &str,
        sessions: &dyn authcore_core::SessionStore,
    ) -> Result<Option<authcore_core::SignInRecord>> {
        if !authcore_core::is_same_store(self, sessions) {
            return authcore_core::sign_in_record_in_two_reads(self, username, sessions).await;
        }
        self.sign_in_record(username).await
    }
}

#[async_trait]
impl UserAdmin for SqlStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.timed("create_user", async move {
            let now = self.clock.now();
            let email_key = normalize_username(&user.email);
            let uid: i64 = on_engine!(self, |pool, e| {
                let mut tx = e::begin(pool).await.db()?;
                sqlx::query(e::Q.insert_user)
                    .bind(user.email.as_str())
                    .bind(email_key.as_str())
                    .bind(user.name.as_deref())
                    .bind(user.role.as_str())
                    .bind(user.status.as_str())
                    .bind(e::ts(now))
                    .bind(e::ts(now))
                    .execute(&mut *tx)
                    .await
                    .db()?;
                let row = sqlx::query(e::Q.uid_by_email_key)
                    .bind(email_key.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .db()?;
                let uid: i64 = row.try_get(0).db()?;
                insert_passwords!(tx, e, uid, &user.passwords);
                tx.commit().await.db()?;
                uid
            });
            let uid = u64::try_from(uid)
                .map_err(|_| Error::Internal(format!("negative uid {uid} assigned")))?;
            Ok(User {
                uid: UserId::from(uid),
                email: user.email,
                name: user.name,
                role: user.role,
                status: user.status,
                credentials: Credentials::Passwords(
                    user.passwords
                        .into_iter()
                        .map(|p| StoredPassword {
                            hash: p.hash,
                            issued_at: to_micros(p.issued_at),
                        })
                        .collect(),
                ),
            })
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.timed("list_users", async move {
            let rows = on_engine!(self, |pool, e| {
                let rows = sqlx::query(e::Q.list_users).fetch_all(pool).await.db()?;
                decode(|| Ok(user_rows!(rows, e)))?
            });
            group_users(rows)
        })
        .await
    }

    async fn count_with_role(&self, role: &Role) -> Result<u64> {
        self.timed("count_with_role", async move {
            let n = on_engine!(self, |pool, e| count_in!(
                pool,
                e::Q.count_with_role,
                role.as_str()
            ));
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn count_active_admins(&self) -> Result<u64> {
        self.timed("count_active_admins", async move {
            let n = on_engine!(self, |pool, e| count_in!(
                pool,
                e::Q.count_with_role_status,
                ADMIN,
                ACTIVE
            ));
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn is_empty(&self) -> Result<bool> {
        self.timed("is_empty", async move {
            let any = on_engine!(self, |pool, e| {
                sqlx::query(e::Q.any_user)
                    .fetch_optional(pool)
                    .await
                    .db()?
                    .is_some()
            });
            Ok(!any)
        })
        .await
    }

    async fn update_user(&self, uid: &UserId, update: UserUpdate) -> Result<User> {
        self.timed("update_user", async move {
            let id = local_id(uid).ok_or(Error::NotFound)?;
            let now = self.clock.now();
            let email_key = update.email.as_deref().map(normalize_username);
            // Only a role or status change can affect the set of active admins: those take
            // the admin guard first, so the check below and the write are one step.
            let guarded = update.role.is_some() || update.status.is_some();
            let rows = on_engine!(self, |pool, e| {
                let mut tx = e::begin(pool).await.db()?;
                let before = if guarded { lock_admin_guard!(tx, e) } else { 0 };
                let done = sqlx::query(e::Q.update_user)
                    .bind(update.email.as_deref())
                    .bind(email_key.as_deref())
                    .bind(update.name.as_deref())
                    .bind(update.role.as_ref().map(Role::as_str))
                    .bind(update.status.map(UserStatus::as_str))
                    .bind(e::ts(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .db()?;
                if done.rows_affected() == 0 {
                    return Err(Error::NotFound);
                }
                if before > 0 && count_active_admins!(tx, e) == 0 {
                    // Dropping the transaction rolls the update back.
                    return Err(Error::ChangeLastAdminRoleNotAllowed);
                }
                let rows = sqlx::query(e::Q.find_by_uid)
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await
                    .db()?;
                let rows = decode(|| Ok(user_rows!(rows, e)))?;
                tx.commit().await.db()?;
                rows
            });
            group_users(rows)?.into_iter().next().ok_or(Error::NotFound)
        })
        .await
    }

    async fn delete_user(&self, uid: &UserId) -> Result<bool> {
        self.timed("delete_user", async move {
            let Some(id) = local_id(uid) else {
                return Ok(false);
            };
            on_engine!(self, |pool, e| {
                let mut tx = e::begin(pool).await.db()?;
                let before = lock_admin_guard!(tx, e);
                let done = sqlx::query(e::Q.delete_user)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .db()?;
                if before > 0 && count_active_admins!(tx, e) == 0 {
                    return Err(Error::ChangeLastAdminRoleNotAllowed);
                }
                // A later user never gets this uid, but stale lockout state has no use either.
                sqlx::query(e::Q.clear_lockout)
                    .bind(uid.as_str())
                    .execute(&mut *tx)
                    .await
                    .db()?;
                tx.commit().await.db()?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }

    async fn set_passwords(&self, uid: &UserId, passwords: Vec<StoredPassword>) -> Result<()> {
        self.timed("set_passwords", async move {
            let id = local_id(uid).ok_or(Error::NotFound)?;
            on_engine!(self, |pool, e| {
                let mut tx = begin_locked!(pool, e, id);
                sqlx::query(e::Q.delete_passwords)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .db()?;
                insert_passwords!(tx, e, id, &passwords);
                tx.commit().await.db()
            })
        })
        .await
    }

    async fn add_password(
        &self,
        uid: &UserId,
        password: StoredPassword,
        max_passwords: usize,
    ) -> Result<()> {
        self.timed("add_password", async move {
            let id = local_id(uid).ok_or(Error::NotFound)?;
            let max = i64::try_from(max_passwords).unwrap_or(i64::MAX);
            on_engine!(self, |pool, e| {
                // The user's row lock serialises this with every other change of the list, so
                // concurrent additions cannot both pass the count.
                let mut tx = begin_locked!(pool, e, id);
                if count_in!(&mut *tx, e::Q.count_passwords, id) >= max {
                    return Err(Error::TooManyPasswords);
                }
                insert_passwords!(tx, e, id, [&password]);
                tx.commit().await.db()
            })
        })
        .await
    }

    async fn remove_password(&self, uid: &UserId, hash: &PasswordHash) -> Result<()> {
        self.timed("remove_password", async move {
            let id = local_id(uid).ok_or(Error::NotFound)?;
            on_engine!(self, |pool, e| {
                // The user's row lock serialises this with every other change of the list, so
                // the count cannot change between the check and the delete.
                let mut tx = begin_locked!(pool, e, id);
                let total = count_in!(&mut *tx, e::Q.count_passwords, id);
                let matching = count_in!(
                    &mut *tx,
                    e::Q.count_matching_passwords,
                    id,
                    hash.expose_phc()
                );
                if matching == 0 {
                    return Err(Error::NotFound);
                }
                if total <= matching {
                    return Err(Error::CannotDeleteLastPassword);
                }
                sqlx::query(e::Q.delete_password)
                    .bind(id)
                    .bind(hash.expose_phc())
                    .execute(&mut *tx)
                    .await
                    .db()?;
                tx.commit().await.db()
            })
        })
        .await
    }

    async fn replace_hash(
        &self,
        uid: &UserId,
        old: &PasswordHash,
        new: PasswordHash,
    ) -> Result<bool> {
        self.timed("replace_hash", async move {
            let Some(id) = local_id(uid) else {
                return Ok(false);
            };
            on_engine!(self, |pool, e| {
                let done = sqlx::query(e::Q.replace_hash)
                    .bind(new.expose_phc())
                    .bind(id)
                    .bind(old.expose_phc())
                    .execute(pool)
                    .await
                    .db()?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }
}
