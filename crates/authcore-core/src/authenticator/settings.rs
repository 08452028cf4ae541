//! Run-time settings: the policy, the LDAP configuration and mappings read from a
//! [`SettingsStore`], swapped in while sign-ins run.
//!
//! The policy in force sits behind a `std::sync::RwLock` that is only held to copy it in or
//! out (it is `Copy`), never across an await, so a sign-in waiting on argon2 holds nothing.
//! Refreshes are serialised by an async mutex and apply a version only if it is newer than
//! the one in force, so a slow reload never replaces a newer one.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Authenticator, Inner};
use crate::error::{Error, Result};
use crate::policy::AuthPolicy;
use crate::settings::{
    CLUSTER_FIELDS, DirectoryControl, IGNORED_CLUSTER_FIELDS, IGNORED_POLICY_FIELDS, LDAP_SETTING,
    LdapMapping, LdapMappingUpdate, LdapSettings, MAX_MAPPING_DN_LEN, NewLdapMapping, SettingsSeed,
    SettingsSnapshot, SettingsStore, check_mapping_name,
};

/// What `bind_pass` reads as on `GET /v1/cluster/ldap`; a `PUT` carrying it keeps the stored
/// password.
pub const MASKED_BIND_PASS: &str = "***";

/// The two policy objects of the users API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySection {
    /// `/v1/cluster`: `password_complexity`, `password_expiration_duration`.
    Cluster,
    /// `/v1/cluster/policy`: the lockout fields and the other policy extensions.
    Policy,
}

impl PolicySection {
    fn owns(self, field: &str) -> bool {
        CLUSTER_FIELDS.contains(&field) == (self == Self::Cluster)
    }

    fn ignores(self, field: &str) -> bool {
        match self {
            Self::Cluster => IGNORED_CLUSTER_FIELDS.contains(&field),
            Self::Policy => IGNORED_POLICY_FIELDS.contains(&field),
        }
    }
}

/// The run-time settings state of an authenticator.
pub(super) struct RuntimeSettings {
    /// The builder's policy: the value of every field the store has none for.
    base: AuthPolicy,
    store: Option<Arc<dyn SettingsStore>>,
    directory: Option<Arc<dyn DirectoryControl>>,
    /// The version in force and the directory settings last applied.
    applied: tokio::sync::Mutex<Applied>,
}

#[derive(Default)]
struct Applied {
    version: Option<u64>,
    directory: Option<(Option<LdapSettings>, Vec<LdapMapping>)>,
}

impl RuntimeSettings {
    pub(super) fn new(
        base: AuthPolicy,
        store: Option<Arc<dyn SettingsStore>>,
        directory: Option<Arc<dyn DirectoryControl>>,
    ) -> Self {
        Self {
            base,
            store,
            directory,
            applied: tokio::sync::Mutex::new(Applied::default()),
        }
    }
}

/// The policy as a JSON object with Redis's field names.
fn policy_map(policy: &AuthPolicy) -> Result<Map<String, Value>> {
    match serde_json::to_value(policy) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Internal("the policy is not a JSON object".into())),
        Err(e) => Err(Error::Internal(format!("cannot serialize the policy: {e}"))),
    }
}

/// `base` with the stored values of its fields.
fn compose(base: &AuthPolicy, values: &BTreeMap<String, Value>) -> Result<AuthPolicy> {
    let mut map = policy_map(base)?;
    for (name, value) in values {
        if let Some(slot) = map.get_mut(name) {
            slot.clone_from(value);
        }
    }
    let policy: AuthPolicy = serde_json::from_value(Value::Object(map))
        .map_err(|e| Error::InvalidRequest(format!("invalid policy value: {e}")))?;
    policy
        .lockout
        .validate()
        .map_err(|e| Error::InvalidRequest(e.to_string()))?;
    if usize::try_from(policy.passwords.min_length).unwrap_or(usize::MAX) > super::MAX_PASSWORD_LEN
    {
        return Err(Error::InvalidRequest(format!(
            "password_min_length must not exceed {}",
            super::MAX_PASSWORD_LEN
        )));
    }
    Ok(policy)
}

/// The stored `ldap` object, if a directory is configured.
fn stored_ldap(snapshot: &SettingsSnapshot) -> Result<Option<LdapSettings>> {
    match snapshot.values.get(LDAP_SETTING).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(value) => LdapSettings::deserialize(value).map(Some).map_err(|e| {
            Error::Configuration(format!("the stored ldap object cannot be read: {e}"))
        }),
    }
}

/// Stores `ldap` as the settings store keeps it: a JSON object.
fn ldap_value(ldap: &LdapSettings) -> Result<Value> {
    serde_json::to_value(ldap)
        .map_err(|e| Error::Internal(format!("cannot serialize the ldap object: {e}")))
}

impl Authenticator {
    fn settings_store(&self) -> Result<&Arc<dyn SettingsStore>> {
        self.inner
            .settings
            .store
            .as_ref()
            .ok_or(Error::Unsupported("no settings store is configured"))
    }

    /// Whether run-time settings are kept in a [`SettingsStore`] (the `/v1/cluster*` and
    /// `/v1/ldap_mappings` routes are served only then).
    #[must_use]
    pub fn has_settings_store(&self) -> bool {
        self.inner.settings.store.is_some()
    }

    /// Seeds the settings store with the builder's policy (every field) and, when given, an
    /// `ldap` object and its mappings: only what the store holds nothing for is written
    /// (see [`SettingsStore::seed`]). Then loads the store ([`Authenticator::refresh_settings`]).
    ///
    /// # Errors
    /// [`Error::Unsupported`] without a settings store (or, with `ldap`, without a
    /// [`DirectoryControl`]); the `ldap` object's check errors; mapping errors; store failures.
    pub async fn seed_settings(
        &self,
        ldap: Option<Value>,
        mappings: Vec<NewLdapMapping>,
    ) -> Result<()> {
        let store = self.settings_store()?;
        let mut values: Vec<(String, Value)> =
            policy_map(&self.inner.settings.base)?.into_iter().collect();
        if let Some(ldap) = ldap {
            let ldap = LdapSettings::deserialize(&ldap)
                .map_err(|e| Error::InvalidRequest(format!("the ldap object: {e}")))?;
            let checked = self.directory()?.check(&ldap)?;
            values.push((LDAP_SETTING.to_owned(), ldap_value(&checked)?));
        }
        for m in &mappings {
            self.check_new_mapping(m)?;
        }
        let written = store
            .seed(SettingsSeed {
                values,
                mappings,
                mappings_with: LDAP_SETTING.to_owned(),
            })
            .await?;
        if !written.is_empty() {
            tracing::info!(names = ?written, "settings store seeded");
        }
        self.refresh_settings().await?;
        // The store already held some values: say which of the builder's (the command line's)
        // are not in force, so that a flag given to a server on an existing database is not
        // silently ignored.
        let given = policy_map(&self.inner.settings.base)?;
        let in_force = policy_map(&self.policy())?;
        for (name, value) in &given {
            if let Some(stored) = in_force.get(name).filter(|v| *v != value) {
                tracing::info!(
                    setting = %name, in_force = %stored, given = %value,
                    "the database's value is in force, not the one given at start or its default \
                     (change it with PUT /v1/cluster or /v1/cluster/policy)"
                );
            }
        }
        Ok(())
    }

    /// Loads the settings store when its version moved since the last load, and puts what it
    /// holds in force: the policy at once (sign-ins already past their policy read finish
    /// with the old one), the directory rebuilt when its settings changed. Returns whether a
    /// new version was applied. Without a settings store: `Ok(false)`.
    ///
    /// # Errors
    /// Store failures; a stored value that cannot be used (the settings in force stay).
    pub async fn refresh_settings(&self) -> Result<bool> {
        let Some(store) = &self.inner.settings.store else {
            return Ok(false);
        };
        let mut applied = self.inner.settings.applied.lock().await;
        let version = store.version().await?;
        if applied.version == Some(version) {
            return Ok(false);
        }
        let snapshot = store.load().await?;
        if applied.version.is_some_and(|v| snapshot.version <= v) {
            return Ok(false);
        }
        let policy = compose(&self.inner.settings.base, &snapshot.values)?;
        if let Some(directory) = &self.inner.settings.directory {
            let mappings = store.list_mappings().await?;
            let wanted = (stored_ldap(&snapshot)?, mappings);
            if applied.directory.as_ref() != Some(&wanted) {
                directory.apply(wanted.0.as_ref(), &wanted.1)?;
                applied.directory = Some(wanted);
            }
        }
        *self
            .inner
            .policy
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = policy;
        applied.version = Some(snapshot.version);
        tracing::debug!(version = snapshot.version, "settings applied");
        Ok(true)
    }

    /// Spawns a task that calls [`Authenticator::refresh_settings`] every `every` (so a
    /// change made through another process is in force here within `every` plus one load),
    /// until the authenticator is dropped. Failures are logged and retried at the next tick.
    /// Needs a Tokio runtime.
    pub fn watch_settings(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let auth = Authenticator { inner };
                if let Err(e) = auth.refresh_settings().await {
                    tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "cannot refresh the run-time settings");
                }
            }
        })
    }

    /// The stored policy fields of `section` (Redis's names), the builder's policy filling
    /// the fields the store has no value for.
    ///
    /// # Errors
    /// [`Error::Unsupported`] without a settings store; store failures.
    pub async fn policy_settings(&self, section: PolicySection) -> Result<Map<String, Value>> {
        let snapshot = self.settings_store()?.load().await?;
        self.section_fields(section, &snapshot.values)
    }

    /// The fields of `section` with `values` over the builder's policy.
    fn section_fields(
        &self,
        section: PolicySection,
        values: &BTreeMap<String, Value>,
    ) -> Result<Map<String, Value>> {
        let policy = compose(&self.inner.settings.base, values)?;
        Ok(policy_map(&policy)?
            .into_iter()
            .filter(|(k, _)| section.owns(k))
            .collect())
    }

    /// Changes the policy fields of `section` given in `changes` (a partial update: the
    /// others keep their stored values), in one store transaction, puts the result in force
    /// here at once and returns the whole section as it now stands. Redis's other documented
    /// fields of the object are ignored.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] naming the first unknown field or invalid value (nothing is
    /// written then); [`Error::Unsupported`] without a settings store; store failures.
    pub async fn update_policy_settings(
        &self,
        section: PolicySection,
        changes: Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let store = self.settings_store()?;
        let writes = self.checked_policy_changes(section, changes)?;
        if !writes.is_empty() {
            store.write(writes).await?;
            self.refresh_settings().await?;
        }
        self.policy_settings(section).await
    }

    /// The dry run of [`Authenticator::update_policy_settings`] (`?dry_run`): the same
    /// validation, the same errors, nothing written and nothing put in force. Returns the
    /// whole section as it would stand after the change.
    ///
    /// # Errors
    /// As [`Authenticator::update_policy_settings`].
    pub async fn preview_policy_settings(
        &self,
        section: PolicySection,
        changes: Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let store = self.settings_store()?;
        let writes = self.checked_policy_changes(section, changes)?;
        let mut values = store.load().await?.values;
        values.extend(writes);
        self.section_fields(section, &values)
    }

    /// The writes a partial update of `section` makes, each field validated.
    fn checked_policy_changes(
        &self,
        section: PolicySection,
        changes: Map<String, Value>,
    ) -> Result<Vec<(String, Value)>> {
        let base = &self.inner.settings.base;
        let fields = policy_map(base)?;
        let mut writes = Vec::new();
        for (name, value) in changes {
            if fields.contains_key(&name) && section.owns(&name) {
                let one = BTreeMap::from([(name.clone(), value.clone())]);
                if value.is_null() {
                    return Err(Error::InvalidRequest(format!("{name}: must not be null")));
                }
                compose(base, &one).map_err(|e| {
                    let detail = match e {
                        Error::InvalidRequest(detail) => detail,
                        other => other.client_message(),
                    };
                    Error::InvalidRequest(format!("{name}: {detail}"))
                })?;
                writes.push((name, value));
            } else if !section.ignores(&name) {
                return Err(Error::InvalidRequest(format!("unknown field `{name}`")));
            }
        }
        Ok(writes)
    }

    /// The directory control, if this server has one (the OpenAPI document states its DN
    /// syntax for mappings).
    pub(crate) fn directory(&self) -> Result<&Arc<dyn DirectoryControl>> {
        self.inner
            .settings
            .directory
            .as_ref()
            .ok_or(Error::Unsupported("this server has no LDAP support"))
    }

    /// The stored `ldap` object with `bind_pass` masked as `"***"`, or `None` when no
    /// directory is configured.
    ///
    /// # Errors
    /// [`Error::Unsupported`] without a settings store; store failures.
    pub async fn ldap_settings(&self) -> Result<Option<LdapSettings>> {
        let snapshot = self.settings_store()?.load().await?;
        Ok(stored_ldap(&snapshot)?.map(|l| l.masked(MASKED_BIND_PASS)))
    }

    /// Replaces the `ldap` object (a `bind_pass` of `"***"` keeps the stored password),
    /// rebuilds the directory and returns the stored object, masked.
    ///
    /// # Errors
    /// The [`DirectoryControl::check`] errors; [`Error::Unsupported`] without a settings
    /// store or a directory control; store failures.
    pub async fn set_ldap_settings(&self, mut ldap: LdapSettings) -> Result<LdapSettings> {
        let store = self.settings_store()?;
        let directory = self.directory()?;
        if ldap.bind_pass.as_deref() == Some(MASKED_BIND_PASS) {
            let snapshot = store.load().await?;
            ldap.bind_pass = stored_ldap(&snapshot)?.and_then(|l| l.bind_pass);
        }
        let checked = directory.check(&ldap)?;
        store
            .write(vec![(LDAP_SETTING.to_owned(), ldap_value(&checked)?)])
            .await?;
        self.refresh_settings().await?;
        Ok(checked.masked(MASKED_BIND_PASS))
    }

    /// Removes the LDAP configuration (stored as `null`, so a later start does not seed it
    /// again from `--ldap-config`); the directory stops answering at once. Mappings stay.
    ///
    /// # Errors
    /// [`Error::Unsupported`] without a settings store; store failures.
    pub async fn delete_ldap_settings(&self) -> Result<()> {
        self.settings_store()?
            .write(vec![(LDAP_SETTING.to_owned(), Value::Null)])
            .await?;
        self.refresh_settings().await?;
        Ok(())
    }

    /// Every LDAP mapping, by uid.
    ///
    /// # Errors
    /// [`Error::Unsupported`] without a settings store; store failures.
    pub async fn ldap_mappings(&self) -> Result<Vec<LdapMapping>> {
        self.settings_store()?.list_mappings().await
    }

    /// One LDAP mapping.
    ///
    /// # Errors
    /// [`Error::LdapMappingNotExist`]; [`Error::Unsupported`] without a settings store;
    /// store failures.
    pub async fn ldap_mapping(&self, uid: u64) -> Result<LdapMapping> {
        self.settings_store()?
            .mapping(uid)
            .await?
            .ok_or(Error::LdapMappingNotExist)
    }

    fn check_dn(&self, dn: &str) -> Result<()> {
        let syntax = match &self.inner.settings.directory {
            Some(d) => d.is_dn(dn),
            None => dn.contains('='),
        };
        if dn.trim().is_empty() || dn.len() > MAX_MAPPING_DN_LEN || !syntax {
            return Err(Error::InvalidDnParam(
                "not a distinguished name (e.g. cn=admins,ou=groups,dc=example,dc=org)".into(),
            ));
        }
        Ok(())
    }

    fn check_email(email: Option<&str>) -> Result<()> {
        if email.is_some_and(|e| e.len() > super::MAX_USERNAME_LEN) {
            return Err(Error::InvalidRequest("email too long".into()));
        }
        Ok(())
    }

    fn check_new_mapping(&self, m: &NewLdapMapping) -> Result<()> {
        check_mapping_name(&m.name)?;
        self.check_dn(&m.dn)?;
        self.validate_role(&m.role)?;
        Self::check_email(m.email.as_deref())
    }

    /// Creates an LDAP mapping; the directory maps with it at once.
    ///
    /// # Errors
    /// [`Error::InvalidNameParam`], [`Error::InvalidDnParam`], an unknown role,
    /// [`Error::LdapMappingNameExists`]; [`Error::Unsupported`] without a settings store;
    /// store failures.
    pub async fn create_ldap_mapping(&self, mapping: NewLdapMapping) -> Result<LdapMapping> {
        self.check_new_mapping(&mapping)?;
        let created = self.settings_store()?.create_mapping(mapping).await?;
        self.refresh_settings().await?;
        Ok(created)
    }

    /// Changes an LDAP mapping; the directory maps with it at once.
    ///
    /// # Errors
    /// As [`Authenticator::create_ldap_mapping`]; [`Error::LdapMappingNotExist`].
    pub async fn update_ldap_mapping(
        &self,
        uid: u64,
        update: LdapMappingUpdate,
    ) -> Result<LdapMapping> {
        if let Some(name) = &update.name {
            check_mapping_name(name)?;
        }
        if let Some(dn) = &update.dn {
            self.check_dn(dn)?;
        }
        if let Some(role) = &update.role {
            self.validate_role(role)?;
        }
        if let Some(email) = &update.email {
            Self::check_email(email.as_deref())?;
        }
        let updated = self.settings_store()?.update_mapping(uid, update).await?;
        self.refresh_settings().await?;
        Ok(updated)
    }

    /// Deletes an LDAP mapping; members of only that group lose their role at once.
    ///
    /// # Errors
    /// [`Error::LdapMappingNotExist`]; [`Error::Unsupported`] without a settings store;
    /// store failures.
    pub async fn delete_ldap_mapping(&self, uid: u64) -> Result<()> {
        if !self.settings_store()?.delete_mapping(uid).await? {
            return Err(Error::LdapMappingNotExist);
        }
        self.refresh_settings().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split_the_policy_fields() {
        let fields = policy_map(&AuthPolicy::default()).unwrap();
        let cluster: Vec<_> = fields
            .keys()
            .filter(|k| PolicySection::Cluster.owns(k))
            .collect();
        assert_eq!(
            cluster,
            ["password_complexity", "password_expiration_duration"]
        );
        for lockout in [
            "login_lockout_threshold",
            "login_lockout_duration",
            "login_lockout_counter_reset_after",
            "max_session_lifetime",
        ] {
            assert!(fields.contains_key(lockout) && PolicySection::Policy.owns(lockout));
        }
    }

    #[test]
    fn compose_overlays_only_known_fields_and_validates() {
        let base = AuthPolicy::default();
        let values = BTreeMap::from([
            ("login_lockout_threshold".to_owned(), Value::from(3)),
            ("ldap".to_owned(), Value::from("ignored")),
        ]);
        assert_eq!(compose(&base, &values).unwrap().lockout.threshold, 3);
        for bad in [
            Value::from(-1),
            Value::from(1.5),
            Value::from("3"),
            Value::from(u64::MAX),
        ] {
            let values = BTreeMap::from([("login_lockout_threshold".to_owned(), bad)]);
            assert!(compose(&base, &values).is_err());
        }
        let too_long = BTreeMap::from([(
            "login_lockout_duration".to_owned(),
            Value::from(400 * 86_400),
        )]);
        assert_eq!(
            compose(&base, &too_long).unwrap_err().error_code(),
            "invalid_request"
        );
    }
}
