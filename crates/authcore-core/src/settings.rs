//! Run-time settings: the policy of `/v1/cluster` and `/v1/cluster/policy`, the `ldap` object
//! of `/v1/cluster/ldap` and the `/v1/ldap_mappings`, kept in a [`SettingsStore`] shared by
//! every process of a deployment.
//!
//! A store holds named JSON values (one per policy field, Redis's names: a partial update
//! writes only the fields it names, so two concurrent updates of different fields both stand)
//! and the LDAP mappings, and a version that every change advances. An
//! [`Authenticator`](crate::Authenticator) given a store compares the version (one small read)
//! and reloads when it moved ([`Authenticator::refresh_settings`](crate::Authenticator::refresh_settings)).

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::user::Role;

mod ldap;
mod ldap_syntax;

pub use ldap::{
    DEFAULT_CACHE_TTL_S, DEFAULT_DIRECTORY_TIMEOUT_S, LDAP_URI_PATTERN, LdapQuerySettings,
    LdapScope, LdapSettings, MAX_DIRECTORY_TIMEOUT_S, MIN_DIRECTORY_TIMEOUT_S,
};
pub use ldap_syntax::{
    ATTRIBUTE_PATTERN, BLANK_OR_ATTRIBUTE_PATTERN, BLANK_OR_DN_PATTERN,
    BLANK_OR_DN_TEMPLATE_PATTERN, BLANK_OR_PEM_PATTERN, BLANK_PATTERN, DN_PATTERN,
    DN_TEMPLATE_PATTERN, GROUP_FILTER_PATTERN, TRIMMED_DN_PATTERN, USER_FILTER_PATTERN,
};

/// The setting that holds the `ldap` object (`null` once deleted).
pub const LDAP_SETTING: &str = "ldap";

/// The policy fields served on `/v1/cluster` (the rest of [`crate::AuthPolicy`]'s fields are
/// on `/v1/cluster/policy`).
pub const CLUSTER_FIELDS: &[&str] = &["password_complexity", "password_expiration_duration"];

/// Redis's other documented fields of the `cluster` object (7.4): `PUT /v1/cluster` accepts
/// and ignores them, `GET /v1/cluster` does not show them.
pub const IGNORED_CLUSTER_FIELDS: &[&str] = &[
    "alert_settings",
    "bigstore_driver",
    "cluster_ssh_public_key",
    "cm_port",
    "cm_session_timeout_minutes",
    "cnm_http_max_threads_per_worker",
    "cnm_http_port",
    "cnm_http_workers",
    "cnm_https_port",
    "control_cipher_suites",
    "control_cipher_suites_tls_1_3",
    "crdb_coordinator_port",
    "crdt_rest_client_retries",
    "crdt_rest_client_timeout",
    "created_time",
    "data_cipher_list",
    "data_cipher_suites_tls_1_3",
    "debuginfo_path",
    "default_non_sharded_proxy_policy",
    "default_sharded_proxy_policy",
    "email_alerts",
    "email_from",
    "encrypt_pkeys",
    "envoy_admin_port",
    "envoy_max_downstream_connections",
    "envoy_mgmt_server_port",
    "gossip_envoy_admin_port",
    "handle_redirects",
    "http_support",
    "min_control_TLS_version",
    "min_data_TLS_version",
    "min_sentinel_TLS_version",
    "name",
    "proxy_certificate",
    "proxy_max_ccs_disconnection_time",
    "rack_aware",
    "reserved_ports",
    "s3_ca_cert",
    "s3_url",
    "saslauthd_ldap_conf",
    "sentinel_cipher_suites",
    "sentinel_cipher_suites_tls_1_3",
    "sentinel_tls_mode",
    "slave_ha",
    "slave_ha_bdb_cooldown_period",
    "slave_ha_cooldown_period",
    "slave_ha_grace_period",
    "slowlog_in_sanitized_support",
    "smtp_host",
    "smtp_password",
    "smtp_port",
    "smtp_tls_mode",
    "smtp_use_tls",
    "smtp_username",
    "syncer_certificate",
    "upgrade_mode",
    "use_external_ipv6",
    "use_ipv6",
    "wait_command",
];

/// Redis's other documented fields of the `cluster_settings` object (7.4): `PUT
/// /v1/cluster/policy` accepts and ignores them, `GET /v1/cluster/policy` does not show them.
pub const IGNORED_POLICY_FIELDS: &[&str] = &[
    "acl_pubsub_default",
    "auto_recovery",
    "automatic_node_offload",
    "bigstore_migrate_node_threshold",
    "bigstore_migrate_node_threshold_p",
    "bigstore_provision_node_threshold",
    "bigstore_provision_node_threshold_p",
    "data_internode_encryption",
    "db_conns_auditing",
    "default_concurrent_restore_actions",
    "default_fork_evict_ram",
    "default_non_sharded_proxy_policy",
    "default_provisioned_redis_version",
    "default_sharded_proxy_policy",
    "default_shards_placement",
    "endpoint_rebind_propagation_grace_time",
    "failure_detection_sensitivity",
    "hide_user_data_from_log",
    "max_saved_events_per_type",
    "max_simultaneous_backups",
    "parallel_shards_upgrade",
    "persistence_cleanup_scan_interval",
    "persistent_node_removal",
    "rack_aware",
    "redis_migrate_node_threshold",
    "redis_migrate_node_threshold_p",
    "redis_provision_node_threshold",
    "redis_provision_node_threshold_p",
    "redis_upgrade_policy",
    "resp3_default",
    "shards_overbooking",
    "show_internals",
    "slave_ha",
    "slave_ha_bdb_cooldown_period",
    "slave_ha_cooldown_period",
    "slave_ha_grace_period",
];

/// Longest mapping name accepted, in bytes.
pub const MAX_MAPPING_NAME_LEN: usize = 255;
/// What [`check_mapping_name`] accepts, but the length: no control character (Unicode `Cc`),
/// and something that is not white space (Unicode `White_Space`, what `str::trim` removes).
/// Leading white space, then the first other character, then anything but a control
/// character (one way to match each name, so no backtracking).
pub const MAPPING_NAME_PATTERN: &str = concat!(
    r"^[\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*",
    r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
    r"[^\u0000-\u001f\u007f-\u009f]*$"
);
/// Longest mapping DN or e-mail accepted, in bytes.
pub const MAX_MAPPING_DN_LEN: usize = 1024;

/// Every stored setting and the version they are at.
///
/// `Debug` prints the names only: the `ldap` value holds the directory's `bind_pass`.
#[derive(Clone, Default, PartialEq)]
pub struct SettingsSnapshot {
    /// Advanced by every change (settings and mappings); `0` for a store never written.
    pub version: u64,
    /// The values by name.
    pub values: BTreeMap<String, Value>,
}

impl fmt::Debug for SettingsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettingsSnapshot")
            .field("version", &self.version)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An LDAP group to role mapping (Redis's `ldap_mapping` object, with a management role name
/// in `role` instead of `role_uids`), as `/v1/ldap_mappings` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LdapMapping {
    /// Assigned by the store, never reused.
    pub uid: u64,
    /// Unique name.
    pub name: String,
    /// The group's distinguished name.
    pub dn: String,
    /// The role members of the group get.
    #[schemars(with = "String")]
    pub role: Role,
    /// Where alerts would go (kept for Redis clients; authcore sends none).
    pub email: Option<String>,
    /// Redis's alert switch (kept for Redis clients; default `true`).
    pub email_alerts: bool,
}

/// A mapping to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLdapMapping {
    /// Unique name.
    pub name: String,
    /// The group's distinguished name.
    pub dn: String,
    /// The role members of the group get.
    pub role: Role,
    /// Alert e-mail.
    pub email: Option<String>,
    /// Alert switch.
    pub email_alerts: bool,
}

/// A change of a mapping: `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdapMappingUpdate {
    /// New name.
    pub name: Option<String>,
    /// New DN.
    pub dn: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New e-mail (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// New alert switch.
    pub email_alerts: Option<bool>,
}

impl LdapMapping {
    /// The mapping after `update`.
    #[must_use]
    pub fn updated(&self, update: &LdapMappingUpdate) -> Self {
        Self {
            uid: self.uid,
            name: update.name.clone().unwrap_or_else(|| self.name.clone()),
            dn: update.dn.clone().unwrap_or_else(|| self.dn.clone()),
            role: update.role.clone().unwrap_or_else(|| self.role.clone()),
            email: update.email.clone().unwrap_or_else(|| self.email.clone()),
            email_alerts: update.email_alerts.unwrap_or(self.email_alerts),
        }
    }
}

/// What a settings store is seeded with at start-up (the command-line flags and the
/// `--ldap-config` file): only what the store does not hold yet is written.
#[derive(Clone, Default)]
pub struct SettingsSeed {
    /// Values written under names the store has no value for.
    pub values: Vec<(String, Value)>,
    /// Mappings created when, and only when, this seed writes the value named
    /// `mappings_with` (the authenticator anchors them on [`LDAP_SETTING`]: the directory's
    /// configuration and its mappings are seeded together, once).
    pub mappings: Vec<NewLdapMapping>,
    /// The name of the value the mappings are seeded with.
    pub mappings_with: String,
}

impl fmt::Debug for SettingsSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettingsSeed")
            .field(
                "names",
                &self.values.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("mappings", &self.mappings)
            .field("mappings_with", &self.mappings_with)
            .finish()
    }
}

/// Where run-time settings live, shared by every process on the same database.
///
/// Every write is atomic and advances [`SettingsStore::version`] (also across processes), so
/// a reader that saw version `v` and reads `v` again has nothing new to load.
#[async_trait]
pub trait SettingsStore: Send + Sync + fmt::Debug {
    /// The current version: one small read, polled to notice changes.
    ///
    /// # Errors
    /// Store failures.
    async fn version(&self) -> Result<u64>;

    /// Every value and the version, read together.
    ///
    /// # Errors
    /// Store failures.
    async fn load(&self) -> Result<SettingsSnapshot>;

    /// Sets each value (replacing what is stored under its name), in one transaction that
    /// also advances the version; returns the snapshot after it.
    ///
    /// # Errors
    /// Store failures (nothing is written then).
    async fn write(&self, values: Vec<(String, Value)>) -> Result<SettingsSnapshot>;

    /// Writes the seed's values whose names hold nothing yet and, when that includes
    /// [`SettingsSeed::mappings_with`], creates the seed's mappings (in their order), all in one transaction (two processes
    /// seeding at once: one seed wins, name by name). Advances the version when it writes
    /// anything. Returns the names written.
    ///
    /// # Errors
    /// [`crate::Error::LdapMappingNameExists`] when a seeded mapping's name is taken (nothing
    /// is written then); store failures.
    async fn seed(&self, seed: SettingsSeed) -> Result<Vec<String>>;

    /// Every mapping, by uid.
    ///
    /// # Errors
    /// Store failures.
    async fn list_mappings(&self) -> Result<Vec<LdapMapping>>;

    /// One mapping.
    ///
    /// # Errors
    /// Store failures.
    async fn mapping(&self, uid: u64) -> Result<Option<LdapMapping>>;

    /// Creates a mapping (uids are never reused) and advances the version.
    ///
    /// # Errors
    /// [`crate::Error::LdapMappingNameExists`]; store failures.
    async fn create_mapping(&self, mapping: NewLdapMapping) -> Result<LdapMapping>;

    /// Changes a mapping and advances the version.
    ///
    /// # Errors
    /// [`crate::Error::LdapMappingNotExist`]; [`crate::Error::LdapMappingNameExists`]; store
    /// failures.
    async fn update_mapping(&self, uid: u64, update: LdapMappingUpdate) -> Result<LdapMapping>;

    /// Deletes a mapping and advances the version. Returns whether it existed.
    ///
    /// # Errors
    /// Store failures.
    async fn delete_mapping(&self, uid: u64) -> Result<bool>;
}

/// The directory side of the run-time LDAP settings: checks an `ldap` object and rebuilds the
/// directory store from the stored one. Implemented outside the core (the core knows no
/// LDAP); `authcore-ldap`'s `ReloadableLdapStore` is one.
pub trait DirectoryControl: Send + Sync + fmt::Debug {
    /// Checks an `ldap` object (`PUT /v1/cluster/ldap`, a seed) and returns it as it will be
    /// stored (defaults filled in).
    ///
    /// # Errors
    /// [`crate::Error::IllegalFieldsCombination`] for exclusive fields given together or a
    /// required one missing; [`crate::Error::InvalidRequest`] for anything else invalid.
    fn check(&self, ldap: &LdapSettings) -> Result<LdapSettings>;

    /// Whether `dn` is a distinguished name (a mapping's `dn`).
    fn is_dn(&self, dn: &str) -> bool;

    /// Rebuilds the directory from `ldap` (`None`: no directory) and `mappings`. Sign-ins
    /// already running finish on the directory they started with.
    ///
    /// # Errors
    /// [`crate::Error::Configuration`] when the stored object cannot be used (the previous
    /// directory then stays in force).
    fn apply(&self, ldap: Option<&LdapSettings>, mappings: &[LdapMapping]) -> Result<()>;
}

/// Checks a mapping's name.
///
/// # Errors
/// [`crate::Error::InvalidNameParam`] when it is empty, blank or too long.
pub fn check_mapping_name(name: &str) -> Result<()> {
    if name.trim().is_empty()
        || name.len() > MAX_MAPPING_NAME_LEN
        || name.chars().any(char::is_control)
    {
        return Err(crate::Error::InvalidNameParam(format!(
            "1 to {MAX_MAPPING_NAME_LEN} bytes, not blank, no control characters"
        )));
    }
    Ok(())
}
