//! No silent cleartext: a WARN at startup for a database off the loopback reached without
//! TLS, saying what travels in the clear. (A directory reached without TLS is reported by
//! `authcore_ldap::LdapStore::new` whenever one is built: at startup from `--ldap-config` and
//! after every `PUT /v1/cluster/ldap`.)

/// The warning for the database URL `url`, if it reaches a server off the loopback without
/// requiring TLS. SQLite (a local file) never warns. PostgreSQL needs `sslmode=require`,
/// `verify-ca` or `verify-full`; MySQL/MariaDB `ssl-mode=REQUIRED`, `VERIFY_CA` or
/// `VERIFY_IDENTITY` (sqlx's default, `prefer`/`PREFERRED`, falls back to cleartext).
pub fn database_warning(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(
        scheme.as_str(),
        "postgres" | "postgresql" | "mysql" | "mariadb"
    ) {
        return None;
    }
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = location.split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut host = host(host_port).to_owned();
    let mut tls = false;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = value.to_ascii_lowercase();
        match key.to_ascii_lowercase().as_str() {
            "sslmode" | "ssl-mode" | "ssl_mode" => {
                tls = matches!(
                    value.as_str(),
                    "require"
                        | "verify-ca"
                        | "verify-full"
                        | "required"
                        | "verify_ca"
                        | "verify_identity"
                );
            }
            // PostgreSQL: a host given as a parameter (a socket directory or a name).
            "host" if !value.is_empty() => host = value,
            _ => {}
        }
    }
    if tls || is_local(&host) {
        return None;
    }
    Some(format!(
        "the database {} on {host} is reached without TLS: user e-mails, password hashes, \
         lockout and session state and the database password travel in cleartext (add \
         sslmode=verify-full for PostgreSQL, ssl-mode=VERIFY_IDENTITY for MySQL/MariaDB)",
        authcore_sql::mask_url(url)
    ))
}

/// Logs the warning of [`database_warning`] at WARN.
pub fn warn(database_url: Option<&str>) {
    if let Some(message) = database_url.and_then(database_warning) {
        tracing::warn!("{message}");
    }
}

/// The host of `host[:port]` (IPv6 in brackets); empty when none is given.
fn host(host_port: &str) -> &str {
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

/// Loopback names and addresses, a Unix socket directory, or no host at all (the driver's
/// default: the local host).
fn is_local(host: &str) -> bool {
    let host = host.trim_matches(|c| c == '[' || c == ']');
    host.is_empty()
        || host.starts_with('/')
        || host.starts_with("%2f")
        || host.starts_with("%2F")
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use authcore_testkit::logs::LogCapture;

    use super::*;

    #[test]
    fn databases_off_the_loopback_without_tls_warn() {
        for url in [
            "postgres://auth:secretpw@db.example.org/authcore",
            "postgresql://auth:secretpw@10.0.0.5:5432/authcore?sslmode=prefer",
            "postgres://auth:secretpw@[2001:db8::1]:5432/a?sslmode=disable",
            "mysql://auth:secretpw@db.example.org:3306/authcore",
            "mysql://auth:secretpw@192.0.2.7/authcore?ssl-mode=PREFERRED",
            "postgres://auth:secretpw@localhost/a?host=db.example.org",
        ] {
            let warning = database_warning(url).unwrap_or_else(|| panic!("{url}"));
            assert!(warning.contains("without TLS"), "{warning}");
            assert!(warning.contains("password hashes"), "{warning}");
            assert!(
                !warning.contains("secretpw"),
                "the password is masked: {warning}"
            );
        }
        for url in [
            "sqlite://authcore.db?mode=rwc",
            "sqlite::memory:",
            "postgres://auth:pw@127.0.0.1:5432/a",
            "postgres://auth:pw@localhost/a",
            "postgres://auth:pw@[::1]:5432/a",
            "postgres:///authcore?host=/var/run/postgresql",
            "postgres://auth:pw@db.example.org/a?sslmode=verify-full",
            "postgres://auth:pw@db.example.org/a?sslmode=require",
            "mysql://auth:pw@db.example.org/a?ssl-mode=VERIFY_IDENTITY",
            "mysql://auth:pw@db.example.org/a?ssl-mode=required",
            "mysql://auth:pw@127.0.0.2:3306/a",
        ] {
            assert_eq!(database_warning(url), None, "{url}");
        }
    }

    #[test]
    fn the_warnings_are_logged_at_warn() {
        let logs = LogCapture::new();
        logs.run(|| {
            warn(Some("postgres://auth:secretpw@db.example.org/authcore"));
            warn(Some("postgres://auth:pw@127.0.0.1/a"));
        });
        let lines = logs.lines_at(tracing::Level::WARN);
        assert_eq!(lines.len(), 1, "{}", logs.text());
        assert!(lines[0].contains("db.example.org") && lines[0].contains("without TLS"));
        assert!(!logs.text().contains("secretpw"), "{}", logs.text());
    }
}
