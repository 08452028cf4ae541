//! The cache of recent successful Basic-credential checks (issue #10 item 5).
//!
//! Redis clients send HTTP Basic credentials on every users-API call; without a cache each
//! call costs a full argon2 verification. A successful check of a *local* password is
//! remembered for a short time, keyed by a keyed hash (HMAC-SHA-256 under a random key of this
//! process) of the normalized username and the password: neither is stored, nor is anything
//! that can be checked offline without the process's key.
//!
//! A remembered success only skips the argon2 evaluation. Everything else of a sign-in still
//! runs on every call: the user is looked up, the lockout reservation is taken and settled,
//! the status and expiry are checked. And the entry is used only while it is still true:
//!
//! - the stored hash that matched is still one of the user's (a password change, removal,
//!   admin reset or re-hash replaces it: the entry no longer matches);
//! - the user's session epoch is the one read when the entry was made (logout everywhere, a
//!   role or status change and a password change advance it);
//! - the uid is the same (a user deleted and re-created under the name is another user);
//! - the account is neither locked nor disabled (the sign-in gate and the status check
//!   refuse those, and the entry is dropped).
//!
//! In this process the entries of a user are also dropped at once when its epoch is advanced
//! or its passwords change. Directory users are never cached: a password changed in the
//! directory would not be seen. The map is bounded ([`BasicCacheConfig::max_entries`]); the
//! process key is zeroized on drop, and so is each entry's key when it is removed.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::user::{Password, PasswordHash, UserId};

/// Settings of the Basic-credential cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BasicCacheConfig {
    /// Entries kept at most; `0` turns the cache off. Default 1024.
    pub max_entries: usize,
    /// How long a success is reused, in seconds (1..=[`Self::MAX_TTL_SECS`]). Default 60.
    pub ttl_secs: u64,
}

impl Default for BasicCacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 1024,
            ttl_secs: 60,
        }
    }
}

impl BasicCacheConfig {
    /// The cache turned off.
    pub const OFF: Self = Self {
        max_entries: 0,
        ttl_secs: 60,
    };
    /// Longest accepted time to live: 10 minutes.
    pub const MAX_TTL_SECS: u64 = 600;
    /// Largest accepted size.
    pub const MAX_ENTRIES: usize = 1 << 20;

    /// Whether the cache is on.
    #[must_use]
    pub const fn enabled(&self) -> bool {
        self.max_entries > 0
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::Configuration`] for a time to live outside 1..=600 s or a size above
    /// [`Self::MAX_ENTRIES`].
    pub fn validate(&self) -> Result<()> {
        if !(1..=Self::MAX_TTL_SECS).contains(&self.ttl_secs)
            || self.max_entries > Self::MAX_ENTRIES
        {
            return Err(Error::Configuration(format!(
                "basic credential cache: ttl must be 1..={} s and size at most {}",
                Self::MAX_TTL_SECS,
                Self::MAX_ENTRIES
            )));
        }
        Ok(())
    }
}

/// A keyed hash, zeroized when dropped.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Digest([u8; 32]);

impl Drop for Digest {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// What a success left behind.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// The user it was for.
    pub(super) uid: UserId,
    /// The keyed hash of the stored hash (PHC string) that matched.
    pub(super) hash: Digest,
    /// The user's session epoch, read before the password was checked.
    pub(super) epoch: u64,
    expires_at: OffsetDateTime,
}

/// The cache: a bounded map from keyed hashes of credentials to entries.
pub(super) struct BasicCache {
    config: BasicCacheConfig,
    key: Zeroizing<[u8; 64]>,
    map: Mutex<HashMap<Digest, Entry>>,
}

impl fmt::Debug for BasicCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCache")
            .field("config", &self.config)
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl BasicCache {
    /// A cache with a fresh random key; `None` when the configuration turns it off.
    pub(super) fn new(config: BasicCacheConfig) -> Result<Option<Self>> {
        config.validate()?;
        if !config.enabled() {
            return Ok(None);
        }
        let mut key = Zeroizing::new([0u8; 64]);
        getrandom::fill(&mut key[..])
            .map_err(|e| Error::Internal(format!("no randomness for the Basic cache key: {e}")))?;
        Ok(Some(Self {
            config,
            key,
            map: Mutex::new(HashMap::new()),
        }))
    }

    fn mac(&self, domain: &[u8]) -> Result<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key[..])
            .map_err(|e| Error::Internal(format!("Basic cache key: {e}")))?;
        mac.update(domain);
        Ok(mac)
    }

    /// The map key of a username (normalized) and a password.
    pub(super) fn credentials(&self, username: &str, password: &Password) -> Result<Digest> {
        let mut mac = self.mac(b"authcore basic cache v1 credentials\0")?;
        mac.update(&(username.len() as u64).to_be_bytes());
        mac.update(username.as_bytes());
        mac.update(password.expose_secret().as_bytes());
        Ok(Digest(mac.finalize().into_bytes().into()))
    }

    /// The keyed hash of a stored hash.
    pub(super) fn stored(&self, hash: &PasswordHash) -> Result<Digest> {
        let mut mac = self.mac(b"authcore basic cache v1 stored hash\0")?;
        mac.update(hash.expose_phc().as_bytes());
        Ok(Digest(mac.finalize().into_bytes().into()))
    }

    fn ttl(&self) -> time::Duration {
        time::Duration::try_from(Duration::from_secs(self.config.ttl_secs))
            .unwrap_or(time::Duration::MINUTE)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, Entry>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live entry for `key`, if any (an expired one is dropped).
    pub(super) fn get(&self, key: &Digest, now: OffsetDateTime) -> Option<Entry> {
        let mut map = self.lock();
        match map.get(key) {
            Some(e) if now < e.expires_at => Some(e.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers a success at `now`. When full, expired entries go first, then the entry
    /// closest to expiry.
    pub(super) fn insert(
        &self,
        key: Digest,
        uid: UserId,
        hash: Digest,
        epoch: u64,
        now: OffsetDateTime,
    ) {
        let entry = Entry {
            uid,
            hash,
            epoch,
            expires_at: now + self.ttl(),
        };
        let mut map = self.lock();
        if !map.contains_key(&key) && map.len() >= self.config.max_entries {
            map.retain(|_, e| now < e.expires_at);
            if map.len() >= self.config.max_entries
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, e)| e.expires_at)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(key, entry);
    }

    /// Forgets `key`.
    pub(super) fn remove(&self, key: &Digest) {
        self.lock().remove(key);
    }

    /// Forgets every entry of `uid`.
    pub(super) fn forget_user(&self, uid: &UserId) {
        self.lock().retain(|_, e| e.uid != *uid);
    }

    /// Number of entries (expired ones included until they are touched).
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}
