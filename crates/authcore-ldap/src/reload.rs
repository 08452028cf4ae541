//! [`ReloadableLdapStore`]: the directory of the run-time LDAP settings, rebuilt without a
//! restart when `PUT`/`DELETE /v1/cluster/ldap` or `/v1/ldap_mappings` change them.

use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use authcore_core::settings::LdapSettings;
use authcore_core::{
    DirectoryControl, Error, LdapMapping as SettingsMapping, NewLdapMapping, Password, Result,
    User, UserId, UserStore,
};
use serde_json::Value;

use crate::config::{LdapConfig, LdapMapping};
use crate::error::LdapConfigError;
use crate::escape::Dn;
use crate::store::LdapStore;

/// A directory store that can be replaced while the service runs: a [`UserStore`] that
/// answers through the [`LdapStore`] currently configured (none: it knows no user), and the
/// [`DirectoryControl`] the authenticator rebuilds it through.
///
/// Every lookup takes the current store (an `Arc` clone under a lock held for no longer than
/// that), so a sign-in already running finishes on the directory it started with, and a
/// rebuild never waits for a bind.
#[derive(Debug, Default)]
pub struct ReloadableLdapStore {
    current: RwLock<Option<Arc<LdapStore>>>,
}

impl ReloadableLdapStore {
    /// A store with no directory configured yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The directory in force, if one is configured.
    #[must_use]
    pub fn current(&self) -> Option<Arc<LdapStore>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, store: Option<Arc<LdapStore>>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = store;
    }
}

/// A configuration file's `ldap` object and its mappings as settings: the object without
/// `ldap_mappings`, and each mapping with a name (a mapping without one is named after its
/// DN, or `ldap-mapping-N` when the DN is taken or too long for a name).
///
/// # Errors
/// [`LdapConfigError::Json`] when `file` is not a JSON object; the errors of
/// [`LdapConfig::from_json_str`].
pub fn settings_from_file(file: &str) -> Result<(Value, Vec<NewLdapMapping>), LdapConfigError> {
    let config = LdapConfig::from_json_str(file)?;
    let mut ldap: Value = serde_json::from_str(file)?;
    let Value::Object(map) = &mut ldap else {
        return Err(LdapConfigError::invalid("ldap", "not a JSON object"));
    };
    map.remove("ldap_mappings");
    let given: Vec<&str> = config
        .ldap_mappings
        .iter()
        .filter_map(|m| m.name.as_deref())
        .collect();
    let mut taken: Vec<String> = given.iter().map(|n| (*n).to_owned()).collect();
    let mut mappings = Vec::with_capacity(config.ldap_mappings.len());
    for (i, m) in config.ldap_mappings.iter().enumerate() {
        let name = match &m.name {
            Some(name) => name.clone(),
            None => {
                let mut candidate = m.dn.clone();
                let mut n = i + 1;
                while candidate.len() > authcore_core::settings::MAX_MAPPING_NAME_LEN
                    || taken.contains(&candidate)
                {
                    candidate = format!("ldap-mapping-{n}");
                    n += config.ldap_mappings.len();
                }
                taken.push(candidate.clone());
                candidate
            }
        };
        mappings.push(NewLdapMapping {
            name,
            dn: m.dn.clone(),
            role: m.role.clone(),
            email: None,
            email_alerts: true,
        });
    }
    Ok((ldap, mappings))
}

fn to_core(e: LdapConfigError) -> Error {
    match e {
        LdapConfigError::IllegalFieldsCombination(why) => {
            Error::IllegalFieldsCombination(why.to_owned())
        }
        other => Error::InvalidRequest(other.to_string()),
    }
}

/// `ldap` with `mappings` as its `ldap_mappings`, validated.
fn config_with(
    ldap: &LdapSettings,
    mappings: &[SettingsMapping],
) -> Result<LdapConfig, LdapConfigError> {
    let list = mappings
        .iter()
        .map(|m| LdapMapping {
            dn: m.dn.clone(),
            role: m.role.clone(),
            name: Some(m.name.clone()),
        })
        .collect();
    let config = LdapConfig::from_settings(ldap, list);
    config.validate()?;
    Ok(config)
}

impl DirectoryControl for ReloadableLdapStore {
    fn check(&self, ldap: &LdapSettings) -> Result<LdapSettings> {
        let config = config_with(ldap, &[]).map_err(to_core)?;
        let mut stored = ldap.clone();
        stored.starttls.get_or_insert(config.starttls);
        stored.cache_ttl.get_or_insert(config.cache_ttl);
        stored
            .directory_timeout_s
            .get_or_insert(config.directory_timeout_s);
        Ok(stored)
    }

    fn is_dn(&self, dn: &str) -> bool {
        Dn::parse(dn).is_some_and(|d| !d.0.is_empty())
    }

    fn apply(&self, ldap: Option<&LdapSettings>, mappings: &[SettingsMapping]) -> Result<()> {
        let Some(ldap) = ldap else {
            self.replace(None);
            tracing::info!("LDAP directory removed");
            return Ok(());
        };
        let store = LdapStore::new(config_with(ldap, mappings)?)?;
        self.replace(Some(Arc::new(store)));
        tracing::info!(mappings = mappings.len(), "LDAP directory rebuilt");
        Ok(())
    }
}

#[async_trait]
impl UserStore for ReloadableLdapStore {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        match self.current() {
            Some(store) => store.find_by_username(username).await,
            None => Ok(None),
        }
    }

    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        match self.current() {
            Some(store) => store.find_by_uid(uid).await,
            None => Ok(None),
        }
    }

    async fn verify_external(&self, user: &User, password: &Password) -> Result<Option<User>> {
        match self.current() {
            Some(store) => store.verify_external(user, password).await,
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use authcore_core::Role;
    use serde_json::json;

    const BASE: &str =
        r#"{"uris": ["ldap://127.0.0.1:1"], "user_dn_template": "uid=%u,dc=example,dc=org"}"#;

    fn ldap(v: Value) -> LdapSettings {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn check_fills_defaults_and_maps_errors() {
        let r = ReloadableLdapStore::new();
        let stored = r.check(&serde_json::from_str(BASE).unwrap()).unwrap();
        assert_eq!(stored.cache_ttl, Some(300));
        assert_eq!(stored.directory_timeout_s, Some(5));
        assert_eq!(stored.starttls, Some(false));
        let given = r
            .check(&ldap(
                json!({"uris": ["ldap://h"], "user_dn_template": "uid=%u,dc=x",
                "cache_ttl": 0, "starttls": true, "directory_timeout_s": 60}),
            ))
            .unwrap();
        assert_eq!(
            (given.cache_ttl, given.starttls, given.directory_timeout_s),
            (Some(0), Some(true), Some(60))
        );
        let both = ldap(
            json!({"uris": ["ldap://h"], "user_dn_template": "uid=%u,dc=x",
            "user_dn_query": {"base": "dc=x", "filter": "(uid=%u)"}}),
        );
        assert_eq!(
            r.check(&both).unwrap_err().error_code(),
            "illegal_fields_combination"
        );
        for invalid in [
            json!({"uris": ["http://h"], "user_dn_template": "uid=%u,dc=x"}),
            json!({"uris": [], "user_dn_template": "uid=%u,dc=x"}),
            json!({"uris": ["ldap://h"], "user_dn_template": "uid=%u,dc=x", "directory_timeout_s": 4}),
            json!({"uris": ["ldap://h"], "user_dn_template": "uid=x,dc=x"}),
        ] {
            assert_eq!(
                r.check(&ldap(invalid.clone())).unwrap_err().error_code(),
                "invalid_request",
                "{invalid}"
            );
        }
        assert!(r.is_dn("cn=admins,ou=groups,dc=example,dc=org"));
        assert!(!r.is_dn("not a dn"));
        assert!(!r.is_dn(""));
    }

    #[test]
    fn apply_builds_and_removes_the_directory() {
        let r = ReloadableLdapStore::new();
        assert!(r.current().is_none());
        let mapping = SettingsMapping {
            uid: 1,
            name: "admins".into(),
            dn: "cn=Admins,dc=example,dc=org".into(),
            role: Role::ADMIN,
            email: None,
            email_alerts: true,
        };
        r.apply(Some(&serde_json::from_str(BASE).unwrap()), &[mapping])
            .unwrap();
        let store = r.current().unwrap();
        assert_eq!(
            store.role_for_groups(&["cn=admins,dc=example,dc=org"]),
            Some(Role::ADMIN)
        );
        r.apply(None, &[]).unwrap();
        assert!(r.current().is_none());
    }

    #[test]
    fn file_mappings_get_names() {
        let file = r#"{"uris": ["ldap://h"], "user_dn_template": "uid=%u,dc=x",
            "ldap_mappings": [
                {"dn": "cn=a,dc=x", "role": "admin"},
                {"dn": "cn=a,dc=x", "role": "db_viewer"},
                {"dn": "cn=b,dc=x", "role": "db_member", "name": "bees"}
            ]}"#;
        let (ldap, mappings) = settings_from_file(file).unwrap();
        assert!(ldap.get("ldap_mappings").is_none());
        let names: Vec<_> = mappings.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["cn=a,dc=x", "ldap-mapping-2", "bees"]);
    }
}
