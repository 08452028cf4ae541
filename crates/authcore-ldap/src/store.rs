//! [`LdapStore`]: a read-only [`UserStore`] backed by an LDAP directory.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use authcore_core::{
    Clock, Credentials, Error, Password, Result, Role, SystemClock, User, UserId, UserStatus,
    UserStore,
};
use secrecy::ExposeSecret;

use crate::cache::TtlCache;
use crate::config::{LdapConfig, LdapScope, Settings};
use crate::connection::{BindOutcome, Connector, Directory, RawEntry};
use crate::error::DirectoryError;
use crate::escape::{Dn, normalize_dn};
use crate::mapping::{Groups, UserDn};

/// noSuchObject: the base or entry does not exist.
const NO_SUCH_OBJECT: u32 = 32;
/// invalidDNSyntax.
const INVALID_DN_SYNTAX: u32 = 34;
/// sizeLimitExceeded.
const SIZE_LIMIT_EXCEEDED: u32 = 4;

/// A read-only user store backed by an LDAP directory, configured like Redis Enterprise.
///
/// - [`UserStore::find_by_username`] maps the username to an entry (template or search) and
///   returns a [`User`] whose uid is the entry's DN in canonical form (lowercase, RFC 4514
///   escaping), whose `email` is the username, `name` the entry's `cn` (none without one),
///   role [`Role::NONE`] as a placeholder (the real role is resolved at verification) and
///   credentials [`Credentials::External`].
/// - [`UserStore::verify_external`] binds as the entry with the password, then maps the
///   user's groups to a role (see [`LdapStore::role_for_groups`]).
/// - [`UserStore::find_by_uid`] (refresh) reads the entry back and resolves its role again;
///   a user who lost every mapped group is `None`, so a refresh is refused.
/// - [`UserStore::admin`] is `None`: password changes answer `unsupported_operation`.
///
/// Wrong credentials, unknown, ambiguous and unmapped users are `Ok(None)`; an unreachable or
/// failing directory is [`Error::StoreUnavailable`] (503), never a refusal.
pub struct LdapStore {
    settings: Settings,
    directory: Directory,
    /// username -> entry.
    entries: TtlCache<Entry>,
    /// user DN (and username, for `%u` group filters) -> canonical group DNs.
    groups: TtlCache<Vec<String>>,
}

impl fmt::Debug for LdapStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapStore")
            .field("uris", &self.settings.uris)
            .field("user_dn", &self.settings.user_dn)
            .field("groups", &self.settings.groups)
            .finish_non_exhaustive()
    }
}

/// A user's entry, as cached.
#[derive(Debug, Clone)]
struct Entry {
    /// Canonical DN.
    dn: String,
    /// Display name (`cn`).
    name: Option<String>,
}

impl LdapStore {
    /// Builds a store from a configuration.
    ///
    /// Not `async`: no connection is opened here (the first lookup opens one), so this needs
    /// no runtime; the store's operations need a Tokio runtime (either flavour). Call
    /// [`LdapStore::check_connection`] to fail fast at start-up when the directory is down or
    /// refuses the service account.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the configuration is invalid (see
    /// [`LdapConfig::validate`]; the message carries the [`crate::LdapConfigError`]).
    pub fn new(config: LdapConfig) -> Result<Self> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// As [`LdapStore::new`], with the clock that ages cached DN lookups and group memberships
    /// (`cache_ttl`): give it the authenticator's clock, so that a test can move time past
    /// `cache_ttl` without waiting.
    ///
    /// # Errors
    /// As [`LdapStore::new`].
    pub fn with_clock(config: LdapConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let settings = config.resolve()?;
        for message in config.cleartext_warnings() {
            tracing::warn!("{message}");
        }
        let uses_tls = settings.starttls
            || settings
                .uris
                .iter()
                .any(|u| u.to_ascii_lowercase().starts_with("ldaps://"));
        if uses_tls && settings.tls.is_none() {
            // Without a `ca_cert`, ldap3 builds its TLS configuration from rustls's
            // process-wide provider: make sure there is one (ours is ring).
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let directory = Directory::new(
            Connector {
                uris: settings.uris.clone(),
                starttls: settings.starttls,
                tls: settings.tls.clone(),
                timeout: settings.timeout,
            },
            settings.service.clone(),
        );
        Ok(Self {
            entries: TtlCache::new(settings.cache_ttl, Arc::clone(&clock)),
            groups: TtlCache::new(settings.cache_ttl, clock),
            settings,
            directory,
        })
    }

    /// Connects to the directory and binds as the service account, keeping the connection.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] when no URI answers or the service bind is refused.
    pub async fn check_connection(&self) -> Result<()> {
        Ok(self.directory.ping().await?)
    }

    /// Forgets cached DN lookups and group memberships.
    pub fn clear_cache(&self) {
        self.entries.clear();
        self.groups.clear();
    }

    /// The role for a set of group DNs, by `ldap_mappings`.
    ///
    /// Groups and mapping DNs compare after DN normalisation, case-insensitively. When
    /// several mappings match, the role is the most privileged Redis management role among
    /// them, in the order of [`Role::REDIS_MANAGEMENT_ROLES`] (`admin` first); when none of
    /// the matching roles is a Redis management role, the first matching mapping in
    /// configuration order wins. `None` when no mapping matches.
    #[must_use]
    pub fn role_for_groups<S: AsRef<str>>(&self, groups: &[S]) -> Option<Role> {
        let canonical: Vec<String> = groups
            .iter()
            .filter_map(|g| normalize_dn(g.as_ref()))
            .collect();
        self.role_for_canonical(&canonical)
    }

    fn role_for_canonical(&self, groups: &[String]) -> Option<Role> {
        let matched: Vec<&Role> = self
            .settings
            .mappings
            .iter()
            .filter(|(dn, _)| groups.contains(dn))
            .map(|(_, role)| role)
            .collect();
        Role::REDIS_MANAGEMENT_ROLES
            .iter()
            .find_map(|name| matched.iter().find(|r| r.as_str() == *name))
            .or_else(|| matched.first())
            .map(|r| (*r).clone())
    }

    fn user(&self, entry: &Entry, username: &str, role: Role) -> User {
        User {
            uid: UserId::new(entry.dn.clone()),
            email: username.to_owned(),
            name: entry.name.clone(),
            role,
            status: UserStatus::Active,
            credentials: Credentials::External,
        }
    }

    /// The entry `username` maps to, if exactly one.
    async fn entry_for_username(&self, username: &str) -> Result<Option<Entry>, DirectoryError> {
        if let Some(entry) = self.entries.get(username) {
            return Ok(Some(entry));
        }
        let entry = match &self.settings.user_dn {
            UserDn::Template(t) => self.read_entry(&t.dn_for(username), &[]).await?,
            UserDn::Query(q) => {
                let filter = q.filter_for(username, "");
                // Two are enough to tell "exactly one" from "ambiguous".
                let found = self
                    .directory
                    .search(&q.base, q.scope, &filter, &["cn"], 2)
                    .await?;
                match found.rc {
                    0 | SIZE_LIMIT_EXCEEDED => {}
                    rc => {
                        return Err(DirectoryError::ResultCode {
                            op: "user_dn_query search",
                            rc,
                            text: found.text,
                        });
                    }
                }
                if found.entries.len() > 1 || found.rc == SIZE_LIMIT_EXCEEDED {
                    tracing::info!("user_dn_query matched several entries: refused as ambiguous");
                    return Ok(None);
                }
                found.entries.into_iter().next()
            }
        };
        let entry = entry.and_then(|raw| to_entry(&raw));
        if let Some(e) = &entry {
            self.entries.insert(username.to_owned(), e.clone());
        }
        Ok(entry)
    }

    /// Reads the entry at `dn` (`None` if there is none).
    async fn read_entry(
        &self,
        dn: &str,
        extra_attrs: &[&str],
    ) -> Result<Option<RawEntry>, DirectoryError> {
        let mut attrs = vec!["cn"];
        attrs.extend_from_slice(extra_attrs);
        let found = self
            .directory
            .search(dn, LdapScope::Base, "(objectClass=*)", &attrs, 1)
            .await?;
        match found.rc {
            0 => Ok(found.entries.into_iter().next()),
            NO_SUCH_OBJECT | INVALID_DN_SYNTAX => Ok(None),
            rc => Err(DirectoryError::ResultCode {
                op: "entry read",
                rc,
                text: found.text,
            }),
        }
    }

    /// The canonical DNs of the groups of the user at `dn` (canonical).
    async fn groups_of(&self, dn: &str, username: &str) -> Result<Vec<String>, DirectoryError> {
        let key = format!("{dn}\u{0}{username}");
        if let Some(groups) = self.groups.get(&key) {
            return Ok(groups);
        }
        let groups: Vec<String> = match &self.settings.groups {
            Groups::None => Vec::new(),
            Groups::Attr(attr) => match self.read_entry(dn, &[attr.as_str()]).await? {
                Some(entry) => entry.values(attr).filter_map(normalize_dn).collect(),
                None => Vec::new(),
            },
            Groups::Query(q) => {
                let filter = q.filter_for(username, dn);
                let found = self
                    .directory
                    .search(&q.base, q.scope, &filter, &["1.1"], 0)
                    .await?;
                match found.rc {
                    0 => {}
                    SIZE_LIMIT_EXCEEDED => {
                        tracing::warn!(
                            "dn_group_query hit the server's size limit: groups beyond it are ignored"
                        );
                    }
                    rc => {
                        return Err(DirectoryError::ResultCode {
                            op: "dn_group_query search",
                            rc,
                            text: found.text,
                        });
                    }
                }
                found
                    .entries
                    .iter()
                    .filter_map(|e| normalize_dn(&e.dn))
                    .collect()
            }
        };
        self.groups.insert(key, groups.clone());
        Ok(groups)
    }

    /// The username that maps to the entry at `dn`, checked by mapping it again.
    async fn username_of(
        &self,
        dn: &Dn,
        canonical: &str,
    ) -> Result<Option<String>, DirectoryError> {
        let candidates: Vec<String> = match &self.settings.user_dn {
            UserDn::Template(t) => match t.username_of(dn) {
                Some(username) => vec![username],
                None => return Ok(None),
            },
            UserDn::Query(q) => {
                if !q.covers(dn) || q.username_attrs.is_empty() {
                    return Ok(None);
                }
                let attrs: Vec<&str> = q.username_attrs.iter().map(String::as_str).collect();
                let Some(entry) = self.read_entry(canonical, &attrs).await? else {
                    return Ok(None);
                };
                q.username_attrs
                    .iter()
                    .flat_map(|a| entry.values(a))
                    .map(authcore_core::normalize_username)
                    .collect()
            }
        };
        for username in candidates {
            if self
                .entry_for_username(&username)
                .await?
                .is_some_and(|e| e.dn == canonical)
            {
                return Ok(Some(username));
            }
        }
        Ok(None)
    }
}

fn to_entry(raw: &RawEntry) -> Option<Entry> {
    let Some(dn) = normalize_dn(&raw.dn).filter(|d| !d.is_empty()) else {
        tracing::warn!(dn = %raw.dn, "the directory returned a DN that does not parse: ignored");
        return None;
    };
    Some(Entry {
        dn,
        name: raw.values("cn").next().map(str::to_owned),
    })
}

#[async_trait]
impl UserStore for LdapStore {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        if username.is_empty() {
            return Ok(None);
        }
        let entry = self.entry_for_username(username).await?;
        Ok(entry.map(|e| self.user(&e, username, Role::NONE)))
    }

    async fn find_by_uid(&self, uid: &UserId) -> Result<Option<User>> {
        // Not a DN (a local store's numeric uid, garbage): not ours, and no network needed.
        let Some(dn) = Dn::parse(uid.as_str()).filter(|d| !d.0.is_empty()) else {
            return Ok(None);
        };
        let canonical = dn.canonical();
        let Some(username) = self.username_of(&dn, &canonical).await? else {
            return Ok(None);
        };
        let Some(entry) = self.entry_for_username(&username).await? else {
            return Ok(None);
        };
        let groups = self.groups_of(&entry.dn, &username).await?;
        Ok(self
            .role_for_canonical(&groups)
            .map(|role| self.user(&entry, &username, role)))
    }

    async fn verify_external(&self, user: &User, password: &Password) -> Result<Option<User>> {
        // An empty simple bind is an unauthenticated bind, which some servers accept.
        if password.expose_secret().is_empty() {
            return Ok(None);
        }
        if !matches!(user.credentials, Credentials::External)
            || Dn::parse(user.uid.as_str()).is_none_or(|d| d.0.is_empty())
        {
            return Ok(None);
        }
        let dn = user.uid.as_str();
        match self
            .directory
            .bind_as(dn, password)
            .await
            .map_err(Error::from)?
        {
            BindOutcome::Accepted => {}
            BindOutcome::Refused(rc) => {
                tracing::debug!(uid = %user.uid, rc, "LDAP bind refused");
                return Ok(None);
            }
        }
        let groups = self.groups_of(dn, &user.email).await?;
        let Some(role) = self.role_for_canonical(&groups) else {
            tracing::info!(uid = %user.uid, "LDAP user has no group mapped to a role: refused");
            return Ok(None);
        };
        Ok(Some(User {
            role,
            ..user.clone()
        }))
    }
}
