//! The store traits: where users and lockout state live.

use std::fmt::Debug;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::Result;
use crate::lockout::{AttemptOutcome, Reservation, ReservationPolicy, Reserve};
use crate::policy::{LockoutPolicy, LockoutState};
use crate::session::SessionStore;
use crate::user::{
    NewUser, Password, PasswordHash, Role, StoredPassword, User, UserId, UserUpdate,
};

/// Where users come from: the small, dyn-compatible surface every store implements.
///
/// A store answers `Ok(None)` for a user it does not know; `Err` means the store itself failed
/// (database down, directory unreachable) and must be an [`crate::Error::StoreUnavailable`],
/// never a made-up "not found", so that an outage is not mistaken for wrong credentials.
///
/// Stores that also manage users and local passwords (memory, SQL) return themselves from
/// [`UserStore::admin`]; read-only directories (LDAP) don't, and verify passwords themselves
/// through [`UserStore::verify_external`].
#[async_trait]
pub trait UserStore: Send + Sync + Debug {
    /// Finds a user by login name. `username` is already normalised with
    /// [`crate::normalize_username`]; stores compare it with their normalised form.
    ///
    /// # Errors
    /// [`crate::Error::StoreUnavailable`] when the backend fails.
    async fn find_by_username(&self, username: &str) -> Result<Option<User>>;

    /// Finds a user by uid.
    ///
    /// # Errors
    /// [`crate::Error::StoreUnavailable`] when the backend fails.
    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>>;

    /// Verifies `password` for a user with [`crate::Credentials::External`] (an LDAP bind).
    /// Returns the user as of the successful check (roles freshly resolved), or `None` when
    /// the password is wrong or the user may not sign in.
    ///
    /// The default refuses everything: stores with local passwords never get this call.
    ///
    /// # Errors
    /// [`crate::Error::StoreUnavailable`] when the backend fails.
    async fn verify_external(&self, user: &User, password: &Password) -> Result<Option<User>> {
        let _ = (user, password);
        Ok(None)
    }

    /// The user-administration interface, for stores that have one.
    fn admin(&self) -> Option<&dyn UserAdmin> {
        None
    }

    /// What the fresh check reads ([`crate::Authenticator::check_fresh`]): the user `uid` as
    /// [`UserStore::find_by_uid`] returns it, with the session state `sessions` keeps for it
    /// (the epoch, and whether the session `session_id` is revoked). `Ok(None)` when this
    /// store does not know `uid`.
    ///
    /// The default makes three calls: the epoch first (so that a change that writes the user
    /// and then advances the epoch can never pair the new epoch with the old user), then the
    /// user, then the revocation. A store that also keeps the session state overrides it to
    /// read all three in one round trip when `sessions` is itself; the conformance suite checks
    /// that both give the same answers.
    ///
    /// # Errors
    /// [`crate::Error::StoreUnavailable`] when a backend fails.
    async fn find_fresh(
        &self,
        uid: &UserId,
        session_id: &str,
        sessions: &dyn SessionStore,
    ) -> Result<Option<FreshRecord>> {
        fresh_record_in_three_reads(self, uid, session_id, sessions).await
    }

    /// What a password sign-in reads before it judges the password: the user found by
    /// `username` (normalised, as [`UserStore::find_by_username`] takes it) with the user's
    /// session epoch as `sessions` keeps it. `Ok(None)` when this store does not know the
    /// name.
    ///
    /// The default makes two calls: the lookup, then [`SessionStore::epoch`] of the uid
    /// found (the epoch cannot come first: the uid is not known before the lookup; for an
    /// unknown name, the epoch of a key no user has, so that it costs the same). A store
    /// that also keeps the session state overrides it to read both in one round trip (one
    /// snapshot) when `sessions` is itself; the conformance suite checks that both give the
    /// same answers. An unknown name must cost the same store work as a known one (one
    /// statement, or one lock, either way): the timing of a sign-in must not tell whether a
    /// name exists.
    ///
    /// # Errors
    /// [`crate::Error::StoreUnavailable`] when a backend fails.
    async fn find_for_sign_in(
        &self,
        username: &str,
        sessions: &dyn SessionStore,
    ) -> Result<Option<SignInRecord>> {
        sign_in_record_in_two_reads(self, username, sessions).await
    }
}

/// The user and session epoch a password sign-in starts from, as
/// [`UserStore::find_for_sign_in`] reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRecord {
    /// The user as the store knows it now.
    pub user: User,
    /// The user's current epoch ([`SessionStore::epoch`]): the generation a token minted by
    /// this sign-in carries.
    pub epoch: u64,
}

/// [`UserStore::find_for_sign_in`] in two reads: the lookup by name, then the epoch of the
/// uid found. The default implementation, and what an override falls back to when
/// `sessions` is another store.
///
/// # Errors
/// Store failures.
pub async fn sign_in_record_in_two_reads<S: UserStore + ?Sized>(
    users: &S,
    username: &str,
    sessions: &dyn SessionStore,
) -> Result<Option<SignInRecord>> {
    let user = users.find_by_username(username).await?;
    // An unknown name reads an epoch too (of a key no user has), so that it costs the same
    // two reads as a known one.
    let key = user
        .as_ref()
        .map_or_else(|| UserId::new(UNKNOWN_NAME_EPOCH_KEY), |u| u.uid.clone());
    let epoch = sessions.epoch(&key).await?;
    Ok(user.map(|user| SignInRecord { user, epoch }))
}

/// The key whose epoch [`sign_in_record_in_two_reads`] reads for an unknown name: no user
/// has it (store uids are decimals or directory DNs).
const UNKNOWN_NAME_EPOCH_KEY: &str = "authcore-decoy:epoch";

/// The user and session state the fresh check decides on, as [`UserStore::find_fresh`] reads
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshRecord {
    /// The user as the store knows it now.
    pub user: User,
    /// The user's current epoch ([`SessionStore::epoch`]).
    pub epoch: u64,
    /// Whether the session is revoked ([`SessionStore::is_revoked`]).
    pub revoked: bool,
}

/// [`UserStore::find_fresh`] in three reads: the epoch, the user, the revocation. The default
/// implementation, and what an override falls back to when `sessions` is another store.
///
/// # Errors
/// Store failures.
pub async fn fresh_record_in_three_reads<S: UserStore + ?Sized>(
    users: &S,
    uid: &UserId,
    session_id: &str,
    sessions: &dyn SessionStore,
) -> Result<Option<FreshRecord>> {
    let epoch = sessions.epoch(uid).await?;
    let Some(user) = users.find_by_uid(uid).await? else {
        return Ok(None);
    };
    let revoked = sessions.is_revoked(session_id).await?;
    Ok(Some(FreshRecord {
        user,
        epoch,
        revoked,
    }))
}

/// Whether `sessions` is the very object `store` (a store that keeps both users and session
/// state): what lets [`UserStore::find_fresh`] read both in one round trip.
#[must_use]
pub fn is_same_store<S>(store: &S, sessions: &dyn SessionStore) -> bool {
    std::ptr::addr_eq(std::ptr::from_ref(store), std::ptr::from_ref(sessions))
}

/// User administration and local password lists.
///
/// Implemented by stores that own their users (memory, SQL). Every method is atomic on its
/// own: replacing the password list is one transaction, removing a password never leaves a
/// user with none.
///
/// **The admin invariant.** An *active admin* is a user with role `admin` and stored status
/// `active` ([`User::is_active_admin`]; a lockout after failed sign-ins is not a status).
/// [`UserAdmin::update_user`] and [`UserAdmin::delete_user`] refuse, with
/// [`crate::Error::ChangeLastAdminRoleNotAllowed`] and without writing anything, a change that
/// would turn the store's last active admin into something else (another role, another status,
/// deleted). The check and the write are one atomic step, also across processes sharing a
/// database: of two admins demoting, disabling or deleting each other at the same moment,
/// exactly one succeeds. (A store without any active admin, before the first one is created,
/// accepts every change: the invariant holds from the first active admin on.)
#[async_trait]
pub trait UserAdmin: UserStore {
    /// Creates a user and assigns its uid.
    ///
    /// # Errors
    /// [`crate::Error::EmailAlreadyExists`] / [`crate::Error::NameAlreadyExists`] when another
    /// user has the same normalised e-mail or the same name; store failures.
    async fn create_user(&self, user: NewUser) -> Result<User>;

    /// All users, ordered by uid.
    ///
    /// # Errors
    /// Store failures.
    async fn list_users(&self) -> Result<Vec<User>>;

    /// How many users have `role`. The default lists every user; stores with many users
    /// override it with a count.
    ///
    /// # Errors
    /// Store failures.
    async fn count_with_role(&self, role: &Role) -> Result<u64> {
        let n = self
            .list_users()
            .await?
            .iter()
            .filter(|u| &u.role == role)
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    /// How many active admins ([`User::is_active_admin`]) the store holds. The default lists
    /// every user; stores with many users override it with a count.
    ///
    /// # Errors
    /// Store failures.
    async fn count_active_admins(&self) -> Result<u64> {
        let n = self
            .list_users()
            .await?
            .iter()
            .filter(|u| u.is_active_admin())
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    /// Whether the store holds no user at all (bootstrap of the first admin). The default
    /// lists every user; stores with many users override it.
    ///
    /// # Errors
    /// Store failures.
    async fn is_empty(&self) -> Result<bool> {
        Ok(self.list_users().await?.is_empty())
    }

    /// Applies `update` and returns the updated user.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`]; the duplicate errors of [`UserAdmin::create_user`];
    /// [`crate::Error::ChangeLastAdminRoleNotAllowed`] when the user is the last active admin
    /// and `update` changes its role or status (the admin invariant, checked atomically with
    /// the write); store failures.
    async fn update_user(&self, uid: &UserId, update: UserUpdate) -> Result<User>;

    /// Deletes a user (and its passwords). Returns whether it existed.
    ///
    /// # Errors
    /// [`crate::Error::ChangeLastAdminRoleNotAllowed`] when the user is the last active admin
    /// (the admin invariant, checked atomically with the delete); store failures.
    async fn delete_user(&self, uid: &UserId) -> Result<bool>;

    /// Replaces the user's whole password list, in one transaction.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`]; store failures.
    async fn set_passwords(&self, uid: &UserId, passwords: Vec<StoredPassword>) -> Result<()>;

    /// Adds one password to the user's list, unless the user already holds `max_passwords`
    /// (checked atomically with the insert: of concurrent additions, never more than
    /// `max_passwords` passwords result).
    ///
    /// # Errors
    /// [`crate::Error::NotFound`]; [`crate::Error::TooManyPasswords`] when the user already
    /// holds `max_passwords` passwords; store failures.
    async fn add_password(
        &self,
        uid: &UserId,
        password: StoredPassword,
        max_passwords: usize,
    ) -> Result<()>;

    /// Removes the password whose hash is `hash`.
    ///
    /// # Errors
    /// [`crate::Error::CannotDeleteLastPassword`] if it is the user's only password (checked
    /// atomically with the delete); [`crate::Error::NotFound`] if the user or that hash is
    /// gone; store failures.
    async fn remove_password(&self, uid: &UserId, hash: &PasswordHash) -> Result<()>;

    /// Replaces one hash by another, keeping its issue date (re-hash on login after the
    /// hashing parameters went up). Returns `false` when `old` is no longer stored (a
    /// concurrent change won), which is not an error.
    ///
    /// # Errors
    /// Store failures.
    async fn replace_hash(
        &self,
        uid: &UserId,
        old: &PasswordHash,
        new: PasswordHash,
    ) -> Result<bool>;
}

/// Failed sign-in bookkeeping, kept apart from users so that read-only directories can still be
/// locked.
///
/// Keys are canonical [`UserId`]s (and the authenticator's decoy keys for unknown names).
/// Every method is atomic per key, also across processes sharing a database:
/// [`LockoutStore::record_failure`]: `N` concurrent calls for one user count exactly `N`;
/// [`LockoutStore::reserve`] and [`LockoutStore::settle`] follow the reference semantics of
/// [`LockoutPolicy::expire_stale`], [`LockoutPolicy::decide`] and [`LockoutPolicy::settled`]
/// under one lock per key (see [`crate::lockout`]), so that at most `threshold` wrong passwords
/// are ever judged before an account locks, however many checks arrive at once.
#[async_trait]
pub trait LockoutStore: Send + Sync + Debug {
    /// Reserves one attempt for `reservation.uid` at `reservation.started_at`, in one atomic
    /// step: first every unsettled reservation of that key that is stale
    /// ([`ReservationPolicy::stale_before`]) is removed and counted as a failure
    /// ([`LockoutPolicy::expire_stale`]); then [`LockoutPolicy::decide`] on the state and the
    /// remaining reservations; on [`Reserve::Granted`] the reservation is recorded (it counts
    /// as in flight until settled).
    ///
    /// # Errors
    /// Store failures (nothing is recorded then).
    async fn reserve(
        &self,
        reservation: &Reservation,
        policy: &LockoutPolicy,
        reservations: &ReservationPolicy,
    ) -> Result<Reserve>;

    /// Settles a granted reservation at `now`, in one atomic step: removes it and applies
    /// [`LockoutPolicy::settled`] (a failure is counted only if the reservation was still on
    /// record, i.e. not already counted as stale; a success clears the failures unless the
    /// account is locked). Returns the new state (`None`: no failure on record).
    ///
    /// # Errors
    /// Store failures.
    async fn settle(
        &self,
        reservation: &Reservation,
        outcome: AttemptOutcome,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<Option<LockoutState>>;

    /// The current state, if the user has any failure on record.
    ///
    /// # Errors
    /// Store failures.
    async fn state(&self, uid: &UserId) -> Result<Option<LockoutState>>;

    /// Records one failure at `now`, applying [`LockoutPolicy::next_state`] atomically, and
    /// returns the new state.
    ///
    /// # Errors
    /// Store failures.
    async fn record_failure(
        &self,
        uid: &UserId,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<LockoutState>;

    /// Forgets the user's failures and lock (admin password reset, operator unlock, user
    /// deleted). Reservations in flight stay on record: they still count until settled.
    ///
    /// # Errors
    /// Store failures.
    async fn clear(&self, uid: &UserId) -> Result<()>;

    /// The session state kept beside this lockout state (epochs and revoked tokens), for
    /// stores that keep it; the authenticator uses it unless given another
    /// ([`crate::AuthenticatorBuilder::session_store`]). The default: none.
    fn sessions(&self) -> Option<&dyn crate::session::SessionStore> {
        None
    }
}
