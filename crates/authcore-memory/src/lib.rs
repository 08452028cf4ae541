//! # authcore-memory
//!
//! In-memory implementations of authcore's store traits: [`MemoryStore`] keeps users and
//! their passwords ([`UserStore`] + [`UserAdmin`]) and failed sign-in bookkeeping
//! ([`LockoutStore`]) and session state: epochs and revoked tokens ([`SessionStore`]), and
//! the run-time settings ([`authcore_core::SettingsStore`]). It is for tests, examples and single-process services whose users fit
//! in memory and may vanish on restart.
//!
//! Lookups scan all users (O(n)). Every operation takes one mutex for its whole duration, so
//! each is atomic: `N` concurrent failures for one user count exactly `N`; the admin invariant
//! (see [`UserAdmin`]) is checked under that lock, in the same step as the write. It passes the
//! same conformance suite (`authcore-testkit`) as the SQL and LDAP stores.
//!
//! ```
//! use std::sync::Arc;
//! use authcore_core::{Authenticator, CreateUser, HashingConfig, Key, KeyRing, Password, Role, Ttl};
//! use authcore_core::secrecy::SecretSlice;
//! use authcore_memory::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> authcore_core::Result<()> {
//! let store = Arc::new(MemoryStore::new());
//! let auth = Authenticator::builder()
//!     .store(store.clone())
//!     .lockout_store(store)
//!     .hashing(HashingConfig::insecure_fast()) // tests only: real deployments keep the default
//!     .keys(KeyRing::new(Key::hs256("k1", &SecretSlice::from(vec![42u8; 32]))?)?)
//!     .build()?;
//!
//! auth.create_user_unchecked(CreateUser {
//!     email: "ann@example.org".into(),
//!     password: Password::from("correct horse".to_owned()),
//!     name: Some("Ann".into()),
//!     role: Role::ADMIN,
//! })
//! .await?;
//!
//! let issued = auth
//!     .authorize("ann@example.org", &Password::from("correct horse".to_owned()), Ttl::DEFAULT)
//!     .await?;
//! assert_eq!(auth.verify_token(&issued.token)?.role.as_str(), "admin");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

mod sessions;
mod settings;

use async_trait::async_trait;
use authcore_core::{
    AttemptOutcome, Credentials, Error, LockoutPolicy, LockoutState, LockoutStore, NewUser,
    PasswordHash, Reservation, ReservationPolicy, Reserve, Result, SessionStore, StoredPassword,
    User, UserAdmin, UserId, UserStore, UserUpdate, counts_as_active_admin, normalize_username,
};
use time::OffsetDateTime;

/// Users and lockout state in memory.
#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<Users>,
    lockout: Mutex<HashMap<UserId, LockoutEntry>>,
    sessions: Mutex<sessions::Sessions>,
    settings: Mutex<settings::Settings>,
}

/// One key's failures and its reservations in flight (id -> start time).
#[derive(Default)]
struct LockoutEntry {
    state: Option<LockoutState>,
    in_flight: HashMap<String, OffsetDateTime>,
}

#[derive(Default)]
struct Users {
    next_uid: u64,
    by_uid: BTreeMap<u64, User>,
}

impl Users {
    fn conflict(&self, except: Option<u64>, email: Option<&str>, name: Option<&str>) -> Result<()> {
        let email = email.map(normalize_username);
        for (uid, u) in &self.by_uid {
            if Some(*uid) == except {
                continue;
            }
            if email.as_deref() == Some(normalize_username(&u.email).as_str()) {
                return Err(Error::EmailAlreadyExists);
            }
            // Only names that are set are unique: any number of users may have none.
            if name.is_some() && name == u.name.as_deref() {
                return Err(Error::NameAlreadyExists);
            }
        }
        Ok(())
    }

    /// The admin invariant: refuses unless an active admin other than `id` exists. Called
    /// under the users lock, with the write that follows.
    fn ensure_other_active_admin(&self, id: u64) -> Result<()> {
        if self
            .by_uid
            .iter()
            .any(|(uid, u)| *uid != id && u.is_active_admin())
        {
            Ok(())
        } else {
            Err(Error::ChangeLastAdminRoleNotAllowed)
        }
    }

    fn get_mut(&mut self, uid: &UserId) -> Result<&mut User> {
        uid.as_u64()
            .and_then(|id| self.by_uid.get_mut(&id))
            .ok_or(Error::NotFound)
    }

    fn passwords_mut(&mut self, uid: &UserId) -> Result<&mut Vec<StoredPassword>> {
        match &mut self.get_mut(uid)?.credentials {
            Credentials::Passwords(list) => Ok(list),
            Credentials::External => Err(Error::Unsupported("user has no local passwords")),
        }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users = self.users.lock().map(|u| u.by_uid.len()).unwrap_or(0);
        f.debug_struct("MemoryStore")
            .field("users", &users)
            .finish_non_exhaustive()
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::Internal("memory store lock poisoned".into())
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn users(&self) -> Result<MutexGuard<'_, Users>> {
        self.users.lock().map_err(poisoned)
    }

    fn lockout(&self) -> Result<MutexGuard<'_, HashMap<UserId, LockoutEntry>>> {
        self.lockout.lock().map_err(poisoned)
    }

    fn session_state(&self) -> Result<MutexGuard<'_, sessions::Sessions>> {
        self.sessions.lock().map_err(poisoned)
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok(self
            .users()?
            .by_uid
            .values()
            .find(|u| normalize_username(&u.email) == username)
            .cloned())
    }

    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        let users = self.users()?;
        Ok(uid.as_u64().and_then(|id| users.by_uid.get(&id).cloned()))
    }

    fn admin(&self) -> Option<&dyn UserAdmin> {
        Some(self)
    }

    /// With its own session state: the user, the epoch and the revocation under one lock
    /// each, taken together (users first, the only order in which both are ever held).
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
        self.fresh_record(uid, session_id)
    }

    /// With its own session state: the lookup and the epoch under both locks taken together
    /// (users first), taken for an unknown name too.
    async fn find_for_sign_in(
        &self,
        username: &str,
        sessions: &dyn authcore_core::SessionStore,
    ) -> Result<Option<authcore_core::SignInRecord>> {
        if !authcore_core::is_same_store(self, sessions) {
            return authcore_core::sign_in_record_in_two_reads(self, username, sessions).await;
        }
        self.sign_in_record(username)
    }
}

#[async_trait]
impl UserAdmin for MemoryStore {
    async fn create_user(&self, new: NewUser) -> Result<User> {
        let mut users = self.users()?;
        users.conflict(None, Some(&new.email), new.name.as_deref())?;
        users.next_uid += 1;
        let uid = users.next_uid;
        let user = User {
            uid: UserId::from(uid),
            email: new.email,
            name: new.name,
            role: new.role,
            status: new.status,
            credentials: Credentials::Passwords(new.passwords),
        };
        users.by_uid.insert(uid, user.clone());
        Ok(user)
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        Ok(self.users()?.by_uid.values().cloned().collect())
    }

    async fn count_active_admins(&self) -> Result<u64> {
        let n = self
            .users()?
            .by_uid
            .values()
            .filter(|u| u.is_active_admin())
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    async fn update_user(&self, uid: &UserId, update: UserUpdate) -> Result<User> {
        let mut users = self.users()?;
        let id = uid.as_u64().ok_or(Error::NotFound)?;
        if !users.by_uid.contains_key(&id) {
            return Err(Error::NotFound);
        }
        users.conflict(Some(id), update.email.as_deref(), update.name.as_deref())?;
        if let Some(user) = users.by_uid.get(&id) {
            let stays = counts_as_active_admin(
                update.role.as_ref().unwrap_or(&user.role),
                update.status.unwrap_or(user.status),
            );
            if user.is_active_admin() && !stays {
                users.ensure_other_active_admin(id)?;
            }
        }
        let user = users.get_mut(uid)?;
        if let Some(email) = update.email {
            user.email = email;
        }
        if let Some(name) = update.name {
            user.name = Some(name);
        }
        if let Some(role) = update.role {
            user.role = role;
        }
        if let Some(status) = update.status {
            user.status = status;
        }
        Ok(user.clone())
    }

    async fn delete_user(&self, uid: &UserId) -> Result<bool> {
        let mut users = self.users()?;
        let Some(id) = uid.as_u64() else {
            return Ok(false);
        };
        if users.by_uid.get(&id).is_some_and(User::is_active_admin) {
            users.ensure_other_active_admin(id)?;
        }
        Ok(users.by_uid.remove(&id).is_some())
    }

    async fn set_passwords(&self, uid: &UserId, passwords: Vec<StoredPassword>) -> Result<()> {
        *self.users()?.passwords_mut(uid)? = passwords;
        Ok(())
    }

    async fn add_password(
        &self,
        uid: &UserId,
        password: StoredPassword,
        max_passwords: usize,
    ) -> Result<()> {
        let mut users = self.users()?;
        let list = users.passwords_mut(uid)?;
        if list.len() >= max_passwords {
            return Err(Error::TooManyPasswords);
        }
        list.push(password);
        Ok(())
    }

    async fn remove_password(&self, uid: &UserId, hash: &PasswordHash) -> Result<()> {
        let mut users = self.users()?;
        let list = users.passwords_mut(uid)?;
        let index = list
            .iter()
            .position(|p| &p.hash == hash)
            .ok_or(Error::NotFound)?;
        if list.len() == 1 {
            return Err(Error::CannotDeleteLastPassword);
        }
        list.remove(index);
        Ok(())
    }

    async fn replace_hash(
        &self,
        uid: &UserId,
        old: &PasswordHash,
        new: PasswordHash,
    ) -> Result<bool> {
        let mut users = self.users()?;
        let Ok(list) = users.passwords_mut(uid) else {
            return Ok(false);
        };
        Ok(match list.iter_mut().find(|p| &p.hash == old) {
            Some(p) => {
                p.hash = new;
                true
            }
            None => false,
        })
    }
}

#[async_trait]
impl LockoutStore for MemoryStore {
    async fn state(&self, uid: &UserId) -> Result<Option<LockoutState>> {
        Ok(self.lockout()?.get(uid).and_then(|e| e.state))
    }

    async fn record_failure(
        &self,
        uid: &UserId,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<LockoutState> {
        let mut map = self.lockout()?;
        let entry = map.entry(uid.clone()).or_default();
        let next = policy.next_state(entry.state.as_ref(), now);
        entry.state = Some(next);
        Ok(next)
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        policy: &LockoutPolicy,
        reservations: &ReservationPolicy,
    ) -> Result<Reserve> {
        let now = reservation.started_at;
        let mut map = self.lockout()?;
        let entry = map.entry(reservation.uid.clone()).or_default();
        let stale_before = reservations.stale_before(now);
        let (state, _) = policy.expire_stale(
            entry.state,
            entry.in_flight.values().copied(),
            stale_before,
            now,
        );
        entry.state = state;
        entry.in_flight.retain(|_, t| *t >= stale_before);
        let answer = policy.decide(entry.state.as_ref(), entry.in_flight.len(), now);
        if answer == Reserve::Granted {
            entry.in_flight.insert(reservation.id.clone(), now);
        }
        Ok(answer)
    }

    async fn settle(
        &self,
        reservation: &Reservation,
        outcome: AttemptOutcome,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<Option<LockoutState>> {
        let mut map = self.lockout()?;
        let entry = map.entry(reservation.uid.clone()).or_default();
        let was_in_flight = entry.in_flight.remove(&reservation.id).is_some();
        entry.state = policy.settled(entry.state.as_ref(), outcome, was_in_flight, now);
        let state = entry.state;
        if state.is_none() && entry.in_flight.is_empty() {
            map.remove(&reservation.uid);
        }
        Ok(state)
    }

    async fn clear(&self, uid: &UserId) -> Result<()> {
        let mut map = self.lockout()?;
        if let Some(entry) = map.get_mut(uid) {
            entry.state = None;
            if entry.in_flight.is_empty() {
                map.remove(uid);
            }
        }
        Ok(())
    }

    fn sessions(&self) -> Option<&dyn SessionStore> {
        Some(self)
    }
}
