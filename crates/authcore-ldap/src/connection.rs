//! Connections: a small pool of service-account connections for searches, and a fresh
//! connection for every user bind.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ldap3::asn1::StructureTag;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, ResultEntry, SearchOptions, SearchResult};
use rustls::ClientConfig;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use crate::config::{LdapScope, ldap3_scope};
use crate::error::DirectoryError;

/// Idle service connections kept, and concurrent service operations allowed.
const SERVICE_POOL_SIZE: usize = 4;
/// Concurrent user binds (each on its own connection).
const MAX_CONCURRENT_BINDS: usize = 32;

/// Opens connections: each URI in order, StartTLS or `ldaps://` with the configured CA.
#[derive(Debug)]
pub(crate) struct Connector {
    pub(crate) uris: Vec<String>,
    pub(crate) starttls: bool,
    pub(crate) tls: Option<Arc<ClientConfig>>,
    pub(crate) timeout: Duration,
}

impl Connector {
    async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let mut last = None;
        for uri in &self.uris {
            let mut settings = LdapConnSettings::new()
                .set_conn_timeout(self.timeout)
                .set_starttls(self.starttls);
            if let Some(tls) = &self.tls {
                settings = settings.set_config(Arc::clone(tls));
            }
            // The connect timeout above covers TCP and TLS; this one is a backstop.
            let attempt = timeout(
                self.timeout + Duration::from_secs(1),
                LdapConnAsync::with_settings(settings, uri),
            )
            .await;
            let err = match attempt {
                Ok(Ok((conn, ldap))) => {
                    let uri = uri.clone();
                    tokio::spawn(async move {
                        if let Err(e) = conn.drive().await {
                            tracing::debug!(%uri, error = %e, "LDAP connection closed");
                        }
                    });
                    return Ok(ldap);
                }
                Ok(Err(source)) => DirectoryError::Connect {
                    uri: uri.clone(),
                    source,
                },
                Err(_) => DirectoryError::Timeout {
                    op: "connect",
                    after: self.timeout,
                },
            };
            tracing::warn!(%uri, error = %err, "LDAP server unreachable, trying the next URI");
            last = Some(err);
        }
        Err(last.unwrap_or(DirectoryError::Malformed("no URI configured")))
    }
}

/// An entry as read from a search: its DN and its textual attributes.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub(crate) dn: String,
    pub(crate) attrs: Vec<(String, Vec<String>)>,
}

impl RawEntry {
    /// The values of `attr` (attribute names compare case-insensitively).
    pub(crate) fn values(&self, attr: &str) -> impl Iterator<Item = &str> {
        self.attrs
            .iter()
            .filter(move |(name, _)| name.eq_ignore_ascii_case(attr))
            .flat_map(|(_, values)| values.iter().map(String::as_str))
    }
}

/// A finished search: entries and the result code (the caller decides what a non-zero code
/// means: `noSuchObject` is often "no such user").
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) entries: Vec<RawEntry>,
    pub(crate) rc: u32,
    pub(crate) text: String,
}

/// The service account's connections, and the user binds.
#[derive(Debug)]
pub(crate) struct Directory {
    connector: Connector,
    service: Option<(String, SecretString)>,
    idle: Mutex<Vec<IdleConn>>,
    searches: Semaphore,
    binds: Semaphore,
}

/// A pooled handle (`Ldap` has no `Debug`).
struct IdleConn(Ldap);

impl std::fmt::Debug for IdleConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdleConn")
    }
}

/// The result of a user's simple bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BindOutcome {
    Accepted,
    /// Refused for this user (wrong password, no such entry, account disabled...).
    Refused(u32),
}

impl Directory {
    pub(crate) fn new(connector: Connector, service: Option<(String, SecretString)>) -> Self {
        Self {
            connector,
            service,
            idle: Mutex::new(Vec::new()),
            searches: Semaphore::new(SERVICE_POOL_SIZE),
            binds: Semaphore::new(MAX_CONCURRENT_BINDS),
        }
    }

    fn timeout(&self) -> Duration {
        self.connector.timeout
    }

    /// The bound of one directory call, all its steps together: the directory timeout per
    /// configured URI (a URI that does not answer may use its whole connect timeout before
    /// the next is tried).
    fn call_budget(&self) -> Duration {
        let uris = u32::try_from(self.connector.uris.len()).unwrap_or(u32::MAX);
        self.timeout().saturating_mul(uris.max(1))
    }

    /// Searches as the service account. `sizelimit` 0 means the server's limit.
    pub(crate) async fn search(
        &self,
        base: &str,
        scope: LdapScope,
        filter: &str,
        attrs: &[&str],
        sizelimit: i32,
    ) -> Result<Found, DirectoryError> {
        let base = base.to_owned();
        let filter = filter.to_owned();
        let attrs: Vec<String> = attrs.iter().map(|a| (*a).to_owned()).collect();
        let secs = i32::try_from(self.timeout().as_secs()).unwrap_or(i32::MAX);
        self.with_service("search", move |mut ldap| {
            let (base, filter, attrs) = (base.clone(), filter.clone(), attrs.clone());
            async move {
                ldap.with_search_options(SearchOptions::new().sizelimit(sizelimit).timelimit(secs));
                let SearchResult(entries, result) = ldap
                    .search(&base, ldap3_scope(scope), &filter, attrs)
                    .await
                    .map_err(|source| DirectoryError::Operation {
                        op: "search",
                        source,
                    })?;
                let entries = entries
                    .into_iter()
                    .map(parse_entry)
                    .collect::<Option<Vec<_>>>()
                    .ok_or(DirectoryError::Malformed("search entry"))?;
                Ok(Found {
                    entries,
                    rc: result.rc,
                    text: result.text,
                })
            }
        })
        .await
    }

    /// Opens a service connection (checks that the directory answers and accepts the service
    /// account) and keeps it for later.
    pub(crate) async fn ping(&self) -> Result<(), DirectoryError> {
        self.with_service("connect", |_| async { Ok(()) }).await
    }

    /// Runs `op` on a pooled service connection. A pooled connection found broken (the
    /// directory restarted since) is replaced and `op` retried once on a new one.
    ///
    /// The whole call (the wait for a pooled connection, a new connection and its service
    /// bind, the operation, the retry) ends within [`Directory::call_budget`]: the directory
    /// timeout with one URI. Each step also has the timeout, but steps one after the other
    /// would add up (a frozen directory held sign-ins for twice the timeout: the wait for a
    /// connection, then the operation).
    async fn with_service<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T, DirectoryError>
    where
        F: Fn(Ldap) -> Fut,
        Fut: Future<Output = Result<T, DirectoryError>>,
    {
        let after = self.call_budget();
        timeout(after, self.with_service_steps(op, f))
            .await
            .unwrap_or(Err(DirectoryError::Timeout { op, after }))
    }

    async fn with_service_steps<T, F, Fut>(
        &self,
        op: &'static str,
        f: F,
    ) -> Result<T, DirectoryError>
    where
        F: Fn(Ldap) -> Fut,
        Fut: Future<Output = Result<T, DirectoryError>>,
    {
        let after = self.timeout();
        let _permit = timeout(after, self.searches.acquire())
            .await
            .map_err(|_| DirectoryError::Timeout { op, after })?
            .map_err(|_| DirectoryError::Malformed("connection pool closed"))?;
        let mut retried = false;
        loop {
            let (ldap, reused) = match self.take_idle() {
                Some(ldap) => (ldap, true),
                None => (self.open_service().await?, false),
            };
            match timeout(after, f(ldap.clone())).await {
                Ok(Ok(v)) => {
                    self.give_back(ldap);
                    return Ok(v);
                }
                Ok(Err(e)) if e.breaks_connection() => {
                    if reused && !retried {
                        tracing::debug!(error = %e, "pooled LDAP connection broken, reconnecting");
                        retried = true;
                        continue;
                    }
                    return Err(e);
                }
                Ok(Err(e)) => {
                    self.give_back(ldap);
                    return Err(e);
                }
                Err(_) => return Err(DirectoryError::Timeout { op, after }),
            }
        }
    }

    fn take_idle(&self) -> Option<Ldap> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(IdleConn(mut ldap)) = idle.pop() {
            if !ldap.is_closed() {
                return Some(ldap);
            }
        }
        None
    }

    fn give_back(&self, ldap: Ldap) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < SERVICE_POOL_SIZE {
            idle.push(IdleConn(ldap));
        }
    }

    async fn open_service(&self) -> Result<Ldap, DirectoryError> {
        let mut ldap = self.connector.connect().await?;
        if let Some((dn, pass)) = &self.service {
            let after = self.timeout();
            let result = timeout(after, ldap.simple_bind(dn, pass.expose_secret()))
                .await
                .map_err(|_| DirectoryError::Timeout {
                    op: "service bind",
                    after,
                })?
                .map_err(|source| DirectoryError::Operation {
                    op: "service bind",
                    source,
                })?;
            if result.rc != 0 {
                return Err(DirectoryError::ServiceBind { rc: result.rc });
            }
        }
        Ok(ldap)
    }

    /// A simple bind as `dn` on a fresh connection (never a pooled one), then unbind.
    ///
    /// The caller has checked that `password` is not empty: an empty simple bind is an
    /// unauthenticated bind that some servers accept. The wait for a bind slot, the
    /// connection and the bind end within [`Directory::call_budget`], all together.
    pub(crate) async fn bind_as(
        &self,
        dn: &str,
        password: &SecretString,
    ) -> Result<BindOutcome, DirectoryError> {
        let after = self.call_budget();
        let bound = timeout(after, async {
            let _permit = self
                .binds
                .acquire()
                .await
                .map_err(|_| DirectoryError::Malformed("bind limiter closed"))?;
            let mut ldap = self.connector.connect().await?;
            let result = ldap
                .simple_bind(dn, password.expose_secret())
                .await
                .map_err(|source| DirectoryError::Operation { op: "bind", source })?;
            Ok::<_, DirectoryError>((ldap, result))
        })
        .await;
        let (mut ldap, result) =
            bound.unwrap_or(Err(DirectoryError::Timeout { op: "bind", after }))?;
        // Best effort, and not waited for: the connection closes when `ldap` is dropped
        // anyway.
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(1), ldap.unbind()).await;
        });
        match result.rc {
            0 => Ok(BindOutcome::Accepted),
            // invalidCredentials, inappropriateAuthentication, noSuchObject, invalidDNSyntax,
            // insufficientAccessRights, unwillingToPerform (disabled account, empty
            // password), constraintViolation (password policy): about this user, not an
            // outage.
            rc @ (49 | 48 | 32 | 34 | 50 | 53 | 19) => Ok(BindOutcome::Refused(rc)),
            rc => Err(DirectoryError::ResultCode {
                op: "bind",
                rc,
                text: result.text,
            }),
        }
    }
}

/// Reads a SearchResultEntry without panicking on malformed input (ldap3's
/// `SearchEntry::construct` panics). Binary (non-UTF-8) values are skipped.
fn parse_entry(entry: ResultEntry) -> Option<RawEntry> {
    let mut parts = entry.0.match_id(4)?.expect_constructed()?.into_iter();
    let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
    let mut attrs = Vec::new();
    for attr in parts.next()?.expect_constructed()? {
        let mut attr = attr.expect_constructed()?.into_iter();
        let name = String::from_utf8(attr.next()?.expect_primitive()?).ok()?;
        let values = attr
            .next()?
            .expect_constructed()?
            .into_iter()
            .filter_map(StructureTag::expect_primitive)
            .filter_map(|v| String::from_utf8(v).ok())
            .collect();
        attrs.push((name, values));
    }
    Some(RawEntry { dn, attrs })
}
