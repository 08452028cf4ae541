//! [`SettingsStore`] for [`MemoryStore`]: named values, mappings and a version under one
//! mutex, so every operation is atomic.

use std::collections::BTreeMap;

use async_trait::async_trait;
use authcore_core::{
    Error, LdapMapping, LdapMappingUpdate, NewLdapMapping, Result, SettingsSeed, SettingsSnapshot,
    SettingsStore,
};
use serde_json::Value;

use crate::{MemoryStore, poisoned};

#[derive(Default)]
pub(crate) struct Settings {
    version: u64,
    values: BTreeMap<String, Value>,
    next_mapping: u64,
    mappings: BTreeMap<u64, LdapMapping>,
}

impl Settings {
    fn name_taken(&self, name: &str, except: Option<u64>) -> bool {
        self.mappings
            .values()
            .any(|m| m.name == name && Some(m.uid) != except)
    }

    fn insert_mapping(&mut self, new: NewLdapMapping) -> Result<LdapMapping> {
        if self.name_taken(&new.name, None) {
            return Err(Error::LdapMappingNameExists);
        }
        self.next_mapping += 1;
        let mapping = LdapMapping {
            uid: self.next_mapping,
            name: new.name,
            dn: new.dn,
            role: new.role,
            email: new.email,
            email_alerts: new.email_alerts,
        };
        self.mappings.insert(mapping.uid, mapping.clone());
        Ok(mapping)
    }

    fn snapshot(&self) -> SettingsSnapshot {
        SettingsSnapshot {
            version: self.version,
            values: self.values.clone(),
        }
    }
}

impl MemoryStore {
    fn settings(&self) -> Result<std::sync::MutexGuard<'_, Settings>> {
        self.settings.lock().map_err(poisoned)
    }
}

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn version(&self) -> Result<u64> {
        Ok(self.settings()?.version)
    }

    async fn load(&self) -> Result<SettingsSnapshot> {
        Ok(self.settings()?.snapshot())
    }

    async fn write(&self, values: Vec<(String, Value)>) -> Result<SettingsSnapshot> {
        let mut s = self.settings()?;
        s.values.extend(values);
        s.version += 1;
        Ok(s.snapshot())
    }

    async fn seed(&self, seed: SettingsSeed) -> Result<Vec<String>> {
        let mut s = self.settings()?;
        let written: Vec<String> = seed
            .values
            .iter()
            .filter(|(name, _)| !s.values.contains_key(name))
            .map(|(name, _)| name.clone())
            .collect();
        let mut next = Settings {
            version: s.version,
            values: s.values.clone(),
            next_mapping: s.next_mapping,
            mappings: s.mappings.clone(),
        };
        for (name, value) in seed.values {
            next.values.entry(name).or_insert(value);
        }
        if written.contains(&seed.mappings_with) {
            for m in seed.mappings {
                next.insert_mapping(m)?;
            }
        }
        if !written.is_empty() {
            next.version += 1;
            *s = next;
        }
        Ok(written)
    }

    async fn list_mappings(&self) -> Result<Vec<LdapMapping>> {
        Ok(self.settings()?.mappings.values().cloned().collect())
    }

    async fn mapping(&self, uid: u64) -> Result<Option<LdapMapping>> {
        Ok(self.settings()?.mappings.get(&uid).cloned())
    }

    async fn create_mapping(&self, mapping: NewLdapMapping) -> Result<LdapMapping> {
        let mut s = self.settings()?;
        let created = s.insert_mapping(mapping)?;
        s.version += 1;
        Ok(created)
    }

    async fn update_mapping(&self, uid: u64, update: LdapMappingUpdate) -> Result<LdapMapping> {
        let mut s = self.settings()?;
        let current = s.mappings.get(&uid).ok_or(Error::LdapMappingNotExist)?;
        let updated = current.updated(&update);
        if s.name_taken(&updated.name, Some(uid)) {
            return Err(Error::LdapMappingNameExists);
        }
        s.mappings.insert(uid, updated.clone());
        s.version += 1;
        Ok(updated)
    }

    async fn delete_mapping(&self, uid: u64) -> Result<bool> {
        let mut s = self.settings()?;
        let existed = s.mappings.remove(&uid).is_some();
        if existed {
            s.version += 1;
        }
        Ok(existed)
    }
}
