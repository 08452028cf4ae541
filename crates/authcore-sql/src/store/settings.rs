//! [`SettingsStore`] for [`SqlStore`]: named JSON values, LDAP mappings and one version row
//! (migration `20261129000002_settings`).
//!
//! Every write first advances the version row in its transaction, which takes that row's lock
//! (on SQLite, `BEGIN IMMEDIATE` holds the database's write lock): writers are serialised
//! across every process on the database, so "is this name free" checks and the seed's "is
//! this value absent" checks hold until commit. Readers read the version before the values,
//! so the values they get are at least as new as the version they record.
//!
//! A child of the `store` module, so that it shares its engine dispatch and error mapping.

use std::collections::BTreeMap;

use async_trait::async_trait;
use authcore_core::{
    Error, LdapMapping, LdapMappingUpdate, NewLdapMapping, Result, Role, SettingsSeed,
    SettingsSnapshot, SettingsStore,
};
use serde_json::Value;
use sqlx::Row as _;

use super::{Backend, DbResult, SqlStore, decode};
use crate::config::Engine;

/// The settings statements of one engine.
struct SettingsQueries {
    /// `()` -> `version`.
    version: &'static str,
    /// `()`: advances the version, taking its row lock.
    bump: &'static str,
    /// `()` -> `name, value`.
    values: &'static str,
    /// `(name)` -> a row when the name holds a value.
    has_value: &'static str,
    /// `(name, value)`: inserts or replaces.
    upsert: &'static str,
    /// `(name, value)`.
    insert_value: &'static str,
    /// `()` -> mapping columns, by uid.
    mappings: &'static str,
    /// `(uid)` -> mapping columns.
    mapping: &'static str,
    /// `(name)` -> mapping columns.
    mapping_by_name: &'static str,
    /// `(name, dn, role, email, email_alerts)`.
    insert_mapping: &'static str,
    /// `(name, dn, role, email, email_alerts, uid)`.
    update_mapping: &'static str,
    /// `(uid)`.
    delete_mapping: &'static str,
}

const POSTGRES: SettingsQueries = SettingsQueries {
    version: "SELECT version FROM authcore_settings_version WHERE id = 1",
    bump: "UPDATE authcore_settings_version SET version = version + 1 WHERE id = 1",
    values: "SELECT name, value FROM authcore_settings",
    has_value: "SELECT 1 FROM authcore_settings WHERE name = $1",
    upsert: "INSERT INTO authcore_settings (name, value) VALUES ($1, $2) \
        ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
    insert_value: "INSERT INTO authcore_settings (name, value) VALUES ($1, $2)",
    mappings: "SELECT uid, name, dn, role, email, email_alerts FROM authcore_ldap_mappings \
        ORDER BY uid",
    mapping: "SELECT uid, name, dn, role, email, email_alerts FROM authcore_ldap_mappings \
        WHERE uid = $1",
    mapping_by_name: "SELECT uid, name, dn, role, email, email_alerts \
        FROM authcore_ldap_mappings WHERE name = $1",
    insert_mapping: "INSERT INTO authcore_ldap_mappings (name, dn, role, email, email_alerts) \
        VALUES ($1, $2, $3, $4, $5)",
    update_mapping: "UPDATE authcore_ldap_mappings SET name = $1, dn = $2, role = $3, \
        email = $4, email_alerts = $5 WHERE uid = $6",
    delete_mapping: "DELETE FROM authcore_ldap_mappings WHERE uid = $1",
};

const SQLITE: SettingsQueries = SettingsQueries {
    version: "SELECT version FROM authcore_settings_version WHERE id = 1",
    bump: "UPDATE authcore_settings_version SET version = version + 1 WHERE id = 1",
    values: "SELECT name, value FROM authcore_settings",
    has_value: "SELECT 1 FROM authcore_settings WHERE name = ?1",
    upsert: "INSERT INTO authcore_settings (name, value) VALUES (?1, ?2) \
        ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    insert_value: "INSERT INTO authcore_settings (name, value) VALUES (?1, ?2)",
    mappings: "SELECT uid, name, dn, role, email, email_alerts FROM authcore_ldap_mappings \
        ORDER BY uid",
    mapping: "SELECT uid, name, dn, role, email, email_alerts FROM authcore_ldap_mappings \
        WHERE uid = ?1",
    mapping_by_name: "SELECT uid, name, dn, role, email, email_alerts \
        FROM authcore_ldap_mappings WHERE name = ?1",
    insert_mapping: "INSERT INTO authcore_ldap_mappings (name, dn, role, email, email_alerts) \
        VALUES (?1, ?2, ?3, ?4, ?5)",
    update_mapping: "UPDATE authcore_ldap_mappings SET name = ?1, dn = ?2, role = ?3, \
        email = ?4, email_alerts = ?5 WHERE uid = ?6",
    delete_mapping: "DELETE FROM authcore_ldap_mappings WHERE uid = ?1",
};

const MYSQL: SettingsQueries = SettingsQueries {
    version: "SELECT version FROM authcore_settings_version WHERE id = 1",
    bump: "UPDATE authcore_settings_version SET version = version + 1 WHERE id = 1",
    values: "SELECT name, value FROM authcore_settings",
    has_value: "SELECT 1 FROM authcore_settings WHERE name = ?",
    upsert: "INSERT INTO authcore_settings (name, value) VALUES (?, ?) \
        ON DUPLICATE KEY UPDATE value = VALUES(value)",
    insert_value: "INSERT INTO authcore_settings (name, value) VALUES (?, ?)",
    mappings: "SELECT uid, name, dn, role, email, email_alerts FROM authcore_ldap_mappings \
        ORDER BY uid",
    mapping: "SELECT uid, name, dn, role, email, email_alerts FROM authcore_ldap_mappings \
        WHERE uid = ?",
    mapping_by_name: "SELECT uid, name, dn, role, email, email_alerts \
        FROM authcore_ldap_mappings WHERE name = ?",
    insert_mapping: "INSERT INTO authcore_ldap_mappings (name, dn, role, email, email_alerts) \
        VALUES (?, ?, ?, ?, ?)",
    update_mapping: "UPDATE authcore_ldap_mappings SET name = ?, dn = ?, role = ?, \
        email = ?, email_alerts = ? WHERE uid = ?",
    delete_mapping: "DELETE FROM authcore_ldap_mappings WHERE uid = ?",
};

/// The settings statements of `engine`.
const fn queries(engine: Engine) -> &'static SettingsQueries {
    match engine {
        Engine::Sqlite => &SQLITE,
        Engine::Postgres => &POSTGRES,
        Engine::MySql => &MYSQL,
    }
}

/// A mapping's columns as read.
struct MappingRow {
    uid: i64,
    name: String,
    dn: String,
    role: String,
    email: Option<String>,
    email_alerts: bool,
}

impl MappingRow {
    fn into_mapping(self) -> LdapMapping {
        LdapMapping {
            uid: u64::try_from(self.uid).unwrap_or(0),
            name: self.name,
            dn: self.dn,
            role: Role::new(self.role),
            email: self.email,
            email_alerts: self.email_alerts,
        }
    }
}

/// Decodes a row of `uid, name, dn, role, email, email_alerts`.
macro_rules! mapping_row {
    ($row:expr) => {{
        let row = &$row;
        decode(|| {
            Ok(MappingRow {
                uid: row.try_get(0)?,
                name: row.try_get(1)?,
                dn: row.try_get(2)?,
                role: row.try_get(3)?,
                email: row.try_get(4)?,
                email_alerts: row.try_get(5)?,
            })
        })?
    }};
}

/// Reads the version, then every value, on `$conn`.
/// Inserts the mapping `$m` in `$tx`; a name another mapping holds is refused by the unique
/// index, as [`Error::LdapMappingNameExists`] (one statement: no read before the write).
macro_rules! insert_mapping {
    ($tx:expr, $q:expr, $m:expr) => {{
        let m = $m;
        sqlx::query($q.insert_mapping)
            .bind(m.name.as_str())
            .bind(m.dn.as_str())
            .bind(m.role.as_str())
            .bind(m.email.as_deref())
            .bind(m.email_alerts)
            .execute(&mut *$tx)
            .await
            .db()
            .map_err(name_clash)?;
    }};
}

macro_rules! read_snapshot {
    ($conn:expr, $q:expr) => {{
        let version: i64 = {
            let row = sqlx::query($q.version).fetch_one(&mut *$conn).await.db()?;
            decode(|| row.try_get(0))?
        };
        let rows = sqlx::query($q.values).fetch_all(&mut *$conn).await.db()?;
        let mut values = BTreeMap::new();
        for row in &rows {
            let (name, text): (String, String) = decode(|| Ok((row.try_get(0)?, row.try_get(1)?)))?;
            values.insert(name, parse_value(&text)?);
        }
        SettingsSnapshot {
            version: u64::try_from(version).unwrap_or(0),
            values,
        }
    }};
}

fn parse_value(text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("a stored setting is not JSON: {e}")))
}

fn json_text(value: &Value) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::Internal(format!("cannot encode a setting: {e}")))
}

/// A uid as a key (uids above `i64::MAX` exist nowhere).
fn key(uid: u64) -> Option<i64> {
    i64::try_from(uid).ok()
}

/// A unique violation on the mappings' name (a writer outside this store's lock) reads as
/// the mapping error.
fn name_clash(err: Error) -> Error {
    match err {
        Error::NameAlreadyExists | Error::EmailAlreadyExists => Error::LdapMappingNameExists,
        other => other,
    }
}

#[async_trait]
impl SettingsStore for SqlStore {
    async fn version(&self) -> Result<u64> {
        self.timed("settings_version", async move {
            let version: i64 = on_engine!(self, |pool, e| {
                let row = sqlx::query(queries(self.engine).version)
                    .fetch_one(pool)
                    .await
                    .db()?;
                decode(|| row.try_get(0))?
            });
            Ok(u64::try_from(version).unwrap_or(0))
        })
        .await
    }

    async fn load(&self) -> Result<SettingsSnapshot> {
        self.timed("settings_load", async move {
            Ok(on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                let mut conn = pool.acquire().await.db()?;
                read_snapshot!(conn, q)
            }))
        })
        .await
    }

    async fn write(&self, values: Vec<(String, Value)>) -> Result<SettingsSnapshot> {
        let encoded = values
            .iter()
            .map(|(n, v)| Ok((n.clone(), json_text(v)?)))
            .collect::<Result<Vec<_>>>()?;
        self.timed("settings_write", async move {
            Ok(on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                let mut tx = e::begin(pool).await.db()?;
                sqlx::query(q.bump).execute(&mut *tx).await.db()?;
                for (name, text) in &encoded {
                    sqlx::query(q.upsert)
                        .bind(name.as_str())
                        .bind(text.as_str())
                        .execute(&mut *tx)
                        .await
                        .db()?;
                }
                let snapshot = read_snapshot!(tx, q);
                tx.commit().await.db()?;
                snapshot
            }))
        })
        .await
    }

    async fn seed(&self, seed: SettingsSeed) -> Result<Vec<String>> {
        let encoded = seed
            .values
            .iter()
            .map(|(n, v)| Ok((n.clone(), json_text(v)?)))
            .collect::<Result<Vec<_>>>()?;
        self.timed("settings_seed", async move {
            Ok(on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                let mut tx = e::begin(pool).await.db()?;
                sqlx::query(q.bump).execute(&mut *tx).await.db()?;
                let mut written = Vec::new();
                for (name, text) in &encoded {
                    let present = sqlx::query(q.has_value)
                        .bind(name.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .db()?
                        .is_some();
                    if !present {
                        sqlx::query(q.insert_value)
                            .bind(name.as_str())
                            .bind(text.as_str())
                            .execute(&mut *tx)
                            .await
                            .db()?;
                        written.push(name.clone());
                    }
                }
                if written.contains(&seed.mappings_with) {
                    for m in &seed.mappings {
                        insert_mapping!(tx, q, m);
                    }
                }
                if written.is_empty() {
                    // Nothing new: the version stays (dropping the transaction rolls it back).
                    tx.rollback().await.db()?;
                } else {
                    tx.commit().await.db()?;
                }
                written
            }))
        })
        .await
    }

    async fn list_mappings(&self) -> Result<Vec<LdapMapping>> {
        self.timed("list_ldap_mappings", async move {
            Ok(on_engine!(self, |pool, e| {
                let rows = sqlx::query(queries(self.engine).mappings)
                    .fetch_all(pool)
                    .await
                    .db()?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    out.push(mapping_row!(row).into_mapping());
                }
                out
            }))
        })
        .await
    }

    async fn mapping(&self, uid: u64) -> Result<Option<LdapMapping>> {
        let Some(id) = key(uid) else {
            return Ok(None);
        };
        self.timed("ldap_mapping", async move {
            Ok(on_engine!(self, |pool, e| {
                let row = sqlx::query(queries(self.engine).mapping)
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .db()?;
                match row {
                    Some(row) => Some(mapping_row!(row).into_mapping()),
                    None => None,
                }
            }))
        })
        .await
    }

    async fn create_mapping(&self, mapping: NewLdapMapping) -> Result<LdapMapping> {
        self.timed("create_ldap_mapping", async move {
            Ok(on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                let mut tx = e::begin(pool).await.db()?;
                sqlx::query(q.bump).execute(&mut *tx).await.db()?;
                insert_mapping!(tx, q, &mapping);
                let row = sqlx::query(q.mapping_by_name)
                    .bind(mapping.name.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .db()?;
                let created = mapping_row!(row).into_mapping();
                tx.commit().await.db()?;
                created
            }))
        })
        .await
    }

    async fn update_mapping(&self, uid: u64, update: LdapMappingUpdate) -> Result<LdapMapping> {
        let id = key(uid).ok_or(Error::LdapMappingNotExist)?;
        self.timed("update_ldap_mapping", async move {
            Ok(on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                let mut tx = e::begin(pool).await.db()?;
                sqlx::query(q.bump).execute(&mut *tx).await.db()?;
                let current = sqlx::query(q.mapping)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .db()?
                    .ok_or(Error::LdapMappingNotExist)?;
                let updated = mapping_row!(current).into_mapping().updated(&update);
                // A name held by another mapping: the unique index refuses it.
                sqlx::query(q.update_mapping)
                    .bind(updated.name.as_str())
                    .bind(updated.dn.as_str())
                    .bind(updated.role.as_str())
                    .bind(updated.email.as_deref())
                    .bind(updated.email_alerts)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .db()
                    .map_err(name_clash)?;
                tx.commit().await.db()?;
                updated
            }))
        })
        .await
    }

    async fn delete_mapping(&self, uid: u64) -> Result<bool> {
        let Some(id) = key(uid) else {
            return Ok(false);
        };
        self.timed("delete_ldap_mapping", async move {
            Ok(on_engine!(self, |pool, e| {
                let q = queries(self.engine);
                let mut tx = e::begin(pool).await.db()?;
                sqlx::query(q.bump).execute(&mut *tx).await.db()?;
                let deleted = sqlx::query(q.delete_mapping)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .db()?
                    .rows_affected();
                if deleted == 0 {
                    tx.rollback().await.db()?;
                    false
                } else {
                    tx.commit().await.db()?;
                    true
                }
            }))
        })
        .await
    }
}
