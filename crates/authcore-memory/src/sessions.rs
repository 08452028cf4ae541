//! [`SessionStore`] for [`MemoryStore`]: epochs and revoked token ids.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use authcore_core::{
    FreshRecord, PURGE_BATCH, Result, SessionStore, SignInRecord, UserId, normalize_username,
};
use time::OffsetDateTime;

use crate::MemoryStore;

/// Session state: one epoch per user that ever had one advanced, and revoked token ids with
/// their expiry (indexed both ways, so a purge takes the oldest first without a scan).
#[derive(Default)]
pub(crate) struct Sessions {
    epochs: HashMap<UserId, u64>,
    revoked: HashMap<String, OffsetDateTime>,
    by_expiry: BTreeSet<(OffsetDateTime, String)>,
}

impl Sessions {
    fn purge(&mut self, now: OffsetDateTime, limit: u32) -> u64 {
        let mut purged = 0;
        while purged < u64::from(limit) {
            match self.by_expiry.first() {
                Some((exp, _)) if *exp < now => {}
                _ => break,
            }
            if let Some((_, jti)) = self.by_expiry.pop_first() {
                self.revoked.remove(&jti);
                purged += 1;
            }
        }
        purged
    }
}

impl MemoryStore {
    /// The fresh check's reads at one instant: both locks held together.
    pub(crate) fn fresh_record(
        &self,
        uid: &UserId,
        session_id: &str,
    ) -> Result<Option<FreshRecord>> {
        let users = self.users()?;
        let sessions = self.session_state()?;
        let Some(user) = uid.as_u64().and_then(|id| users.by_uid.get(&id)) else {
            return Ok(None);
        };
        Ok(Some(FreshRecord {
            user: user.clone(),
            epoch: sessions.epochs.get(uid).copied().unwrap_or(0),
            revoked: sessions.revoked.contains_key(session_id),
        }))
    }
}

impl MemoryStore {
    /// A sign-in's reads at one instant: the user by normalised name and its epoch, both
    /// locks held together.
    pub(crate) fn sign_in_record(&self, username: &str) -> Result<Option<SignInRecord>> {
        let users = self.users()?;
        let sessions = self.session_state()?;
        let user = users
            .by_uid
            .values()
            .find(|u| normalize_username(&u.email) == username);
        Ok(user.map(|user| SignInRecord {
            user: user.clone(),
            epoch: sessions.epochs.get(&user.uid).copied().unwrap_or(0),
        }))
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn epoch(&self, uid: &UserId) -> Result<u64> {
        Ok(self.session_state()?.epochs.get(uid).copied().unwrap_or(0))
    }

    async fn advance_epoch(&self, uid: &UserId) -> Result<u64> {
        let mut sessions = self.session_state()?;
        let epoch = sessions.epochs.entry(uid.clone()).or_insert(0);
        *epoch = epoch.saturating_add(1);
        Ok(*epoch)
    }

    async fn revoke(
        &self,
        jti: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut sessions = self.session_state()?;
        if let Some(old) = sessions.revoked.insert(jti.to_owned(), expires_at) {
            sessions.by_expiry.remove(&(old, jti.to_owned()));
        }
        sessions.by_expiry.insert((expires_at, jti.to_owned()));
        sessions.purge(now, PURGE_BATCH);
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool> {
        Ok(self.session_state()?.revoked.contains_key(jti))
    }

    async fn purge_revoked(&self, now: OffsetDateTime, limit: u32) -> Result<u64> {
        Ok(self.session_state()?.purge(now, limit))
    }
}
