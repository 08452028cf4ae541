//! No silent cleartext: building a store for a directory reached without TLS logs one WARN
//! per such URI, saying what travels in the clear, whoever builds it (the server at start-up
//! or after `PUT /v1/cluster/ldap`). No secret is in the message.

#![allow(clippy::unwrap_used)]

use authcore_ldap::{LdapConfig, LdapStore};
use authcore_testkit::logs::LogCapture;

fn config(uris: &[&str], starttls: bool) -> LdapConfig {
    LdapConfig::from_json_str(
        &serde_json::json!({
            "uris": uris,
            "starttls": starttls,
            "bind_dn": "cn=query,dc=example,dc=org",
            "bind_pass": "query-pw",
            "user_dn_template": "uid=%u,ou=people,dc=example,dc=org",
            "dn_group_attr": "memberOf",
            "ldap_mappings": [{"dn": "cn=admins,ou=groups,dc=example,dc=org", "role": "admin"}]
        })
        .to_string(),
    )
    .unwrap()
}

/// The WARN lines logged while building a store from `config`.
fn warnings_of(config: LdapConfig) -> Vec<String> {
    let logs = LogCapture::new();
    logs.run(|| LdapStore::new(config).unwrap());
    logs.lines_at(tracing::Level::WARN)
}

#[test]
fn ldap_without_tls_warns_per_uri() {
    let config = config(&["ldap://a.example.org", "ldaps://b.example.org"], false);
    let warnings = config.cleartext_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("ldap://a.example.org"));
    assert!(warnings[0].contains("password"));
    assert!(
        self::config(&["ldap://a.example.org"], true)
            .cleartext_warnings()
            .is_empty()
    );
    assert!(
        self::config(&["LDAPS://a.example.org"], false)
            .cleartext_warnings()
            .is_empty()
    );
}

#[test]
fn building_a_store_logs_the_warnings() {
    let logged = warnings_of(config(
        &["ldap://a.example.org", "ldap://c.example.org:389"],
        false,
    ));
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert!(logged[0].contains("ldap://a.example.org") && logged[0].contains("cleartext"));
    assert!(logged[1].contains("ldap://c.example.org:389"));
    assert!(logged.iter().all(|l| !l.contains("query-pw")), "{logged:?}");
    // A directory reached over TLS builds silently.
    assert_eq!(
        warnings_of(config(&["ldap://a.example.org"], true)),
        Vec::<String>::new()
    );
}
