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

async fn check_database(args: &ServeArgs, report: &mut Report) {
    let url = args.stores.database_url();
    let config = SqlConfig::new(url).run_migrations(false);
    let masked = config.masked_url();
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
