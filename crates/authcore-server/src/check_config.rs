//! `authcore check-config`: validates what `authcore serve` would be started with, connects
//! to the database and the directory, and says what it found. It changes nothing (no
//! migration is applied).

use std::process::ExitCode;

use authcore_core::{Role, UserAdmin as _};
use authcore_sql::{SqlConfig, SqlStore};

use crate::cli::BoxError;
use crate::serve::ServeArgs;

/// A report: one line per check, `ok` or `FAIL`.
#[derive(Debug, Default)]
struct Report {
    failed: bool,
}

impl Report {
    fn ok(&mut self, what: &str, detail: impl std::fmt::Display) {
        println!("ok    {what}: {detail}");
    }
    fn warn(&mut self, what: &str, detail: impl std::fmt::Display) {
        println!("warn  {what}: {detail}");
    }
    fn fail(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.failed = true;
        println!("FAIL  {what}: {detail}");
    }
}

/// Runs every check; exit status 1 when one failed.
pub async fn run(args: ServeArgs) -> Result<ExitCode, BoxError> {
    let mut report = Report::default();

    match tokio::net::lookup_host(&args.listen).await {
        Ok(mut addrs) => match addrs.next() {
            Some(addr) => report.ok("listen", format!("{} ({addr})", args.listen)),
            None => report.fail("listen", format!("{} resolves to no address", args.listen)),
        },
        Err(e) => report.fail("listen", format!("{}: {e}", args.listen)),
    }

    match &args.metrics_listen {
        None => {}
        Some(addr) => match tokio::net::lookup_host(addr).await {
            Ok(mut addrs) => match addrs.next() {
                Some(resolved) => report.ok("metrics listen", format!("{addr} ({resolved})")),
                None => report.fail("metrics listen", format!("{addr} resolves to no address")),
            },
            Err(e) => report.fail("metrics listen", format!("{addr}: {e}")),
        },
    }

    match args.listener.tls() {
        Ok(None) => report.ok(
            "TLS",
            "off: plain HTTP (give --tls-cert and --tls-key for HTTPS)",
        ),
        Ok(Some(_)) => report.ok(
            "TLS",
            format!(
                "the certificate in {} and the key in {} load and match",
                args.listener
                    .tls_cert
                    .as_deref()
                    .unwrap_or_else(|| std::path::Path::new("-"))
                    .display(),
                args.listener
                    .tls_key
                    .as_deref()
                    .unwrap_or_else(|| std::path::Path::new("-"))
                    .display(),
            ),
        ),
        Err(e) => report.fail("TLS", e),
    }

    match args.rate_limit.limiter() {
        Ok(Some(_)) => report.ok(
            "rate limit",
            format!(
                "{} password checks per minute per client, burst {}",
                args.rate_limit.rate_limit_per_minute, args.rate_limit.rate_limit_burst
            ),
        ),
        Ok(None) => report.warn("rate limit", "off"),
        Err(e) => report.fail("rate limit", e),
    }

    match args.keys.key_ring() {
        Ok(_) => {
            let what = match (&args.keys.jwt_key, &args.keys.jwt_secret) {
                (Some(path), Some(_)) => format!(
                    "signing with the key in {}, the secret verify-only",
                    path.display()
                ),
                (Some(path), None) => format!("signing with the key in {}", path.display()),
                (None, Some(_)) => "signing with the HS256 secret".to_owned(),
                (None, None) => {
                    "no --jwt-secret or --jwt-key: a random key, tokens die with the process"
                        .to_owned()
                }
            };
            if args.keys.jwt_key.is_none() && args.keys.jwt_secret.is_none() {
                report.warn("token keys", what);
            } else {
                report.ok("token keys", what);
            }
        }
        Err(e) => report.fail("token keys", e),
    }

    match args.hashing.config() {
        Ok(config) => report.ok(
            "argon2id",
            format!(
                "m={} KiB, t={}, p={}",
                config.params.m_cost, config.params.t_cost, config.params.p_cost
            ),
        ),
        Err(e) => report.fail("argon2id", e),
    }
    let policy = args.policy.policy();
    report.ok(
        "policy",
        format!(
            "password expiry {} days, lockout after {} failures for {} s (counter reset after {} s), complexity {}",
            args.policy.password_expiration_days,
            policy.lockout.threshold,
            policy.lockout.duration_secs,
            policy.lockout.counter_reset_after_secs,
            if policy.complexity.enabled { "on" } else { "off" },
        ),
    );

    check_database(&args, &mut report).await;

    match args.stores.ldap_config() {
        Ok(None) => {}
        Ok(Some(config)) => match authcore_ldap::LdapStore::new(config) {
            Ok(ldap) => match ldap.check_connection().await {
                Ok(()) => report.ok("LDAP", "the directory answers and the bind DN binds"),
                Err(e) => report.fail("LDAP", format!("the directory does not answer: {e}")),
            },
            Err(e) => report.fail("LDAP", e),
        },
        Err(e) => report.fail("LDAP", e),
    }

    Ok(if report.failed {
        println!("configuration has errors");
        ExitCode::FAILURE
    } else {
        println!("configuration ok");
        ExitCode::SUCCESS
    })
}

/// The file of a SQLite URL (`sqlite://FILE?...`, `sqlite:FILE`), unless it is in memory.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory =
        path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
    (!in_memory).then_some(path)
}

async fn check_database(args: &ServeArgs, report: &mut Report) {
    let url = args.stores.database_url();
    let config = SqlConfig::new(url).run_migrations(false);
    let masked = config.masked_url();
    // Connecting would create a missing SQLite file: say what serve would do instead.
    if let Some(file) = sqlite_file(url)
        && !std::path::Path::new(file).exists()
    {
        if url.contains("mode=rwc") {
            return report.ok(
                "database",
                format!("{masked}: {file} does not exist yet; `authcore serve` creates it"),
            );
        }
        return report.fail(
            "database",
            format!("{masked}: {file} does not exist (`?mode=rwc` creates it)"),
        );
    }
    let store = match SqlStore::connect_with(config).await {
        Ok(store) => store,
        Err(e) => return report.fail("database", format!("{masked}: {e}")),
    };
    report.ok(
        "database",
        format!("{masked}: connected ({:?})", store.engine()),
    );
    if !args.stores.local_users() {
        report.ok(
            "database",
            "directory-only: it keeps the lockout state only",
        );
    }
    match (
        store.count_with_role(&Role::ADMIN).await,
        store.is_empty().await,
    ) {
        (Ok(admins), Ok(empty)) => {
            let users = if empty { "no user" } else { "users present" };
            if admins == 0 && args.stores.local_users() {
                report.warn(
                    "users",
                    format!(
                        "{users}, no admin: create one with `authcore user add EMAIL --role admin`"
                    ),
                );
            } else {
                report.ok("users", format!("{users}, {admins} admin(s)"));
            }
        }
        (Err(e), _) | (_, Err(e)) => report.warn(
            "users",
            format!(
                "cannot read the users ({e}): a new database? `authcore serve` creates the schema"
            ),
        ),
    }
    store.close().await;
}
