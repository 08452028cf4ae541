//! Shared set-up of the tests against a real slapd (started by
//! `scripts/servers/start-slapd.sh`, which `scripts/test` runs).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use authcore_core::{AuthPolicy, Authenticator, LockoutStore, UserStore};
use authcore_ldap::{LdapConfig, LdapStore};
use authcore_memory::MemoryStore;
use authcore_testkit::ManualClock;
use serde_json::{Value, json};

/// What start-slapd.sh exports.
#[derive(Debug, Clone)]
pub struct Env {
    pub url: String,
    pub ldaps_url: String,
    pub ca: String,
    pub base: String,
    pub bind_dn: String,
    pub bind_pass: String,
    pub root_dn: String,
    pub root_pass: String,
    pub ctl: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need the throwaway slapd of \
             scripts/servers/start-slapd.sh. Run scripts/test, or \
             `set -a; eval \"$(scripts/servers/start-slapd.sh)\"; set +a` first"
        )
    })
}

pub fn env() -> Env {
    Env {
        url: var("AUTHCORE_TEST_LDAP_URL"),
        ldaps_url: var("AUTHCORE_TEST_LDAPS_URL"),
        ca: var("AUTHCORE_TEST_LDAP_CA"),
        base: var("AUTHCORE_TEST_LDAP_BASE_DN"),
        bind_dn: var("AUTHCORE_TEST_LDAP_BIND_DN"),
        bind_pass: var("AUTHCORE_TEST_LDAP_BIND_PASS"),
        root_dn: var("AUTHCORE_TEST_LDAP_ROOT_DN"),
        root_pass: var("AUTHCORE_TEST_LDAP_ROOT_PASS"),
        ctl: var("AUTHCORE_TEST_SLAPD_CTL"),
    }
}

pub const SPECIAL: &str = r"sp*c(i)a\l,x=y+z";
pub const NUL_LIKE: &str = r"nul\00user";

/// The mappings of the test tree; the special group is written in another (equivalent)
/// escaping and case than the directory's, on purpose.
pub fn mappings(base: &str) -> Value {
    json!([
        {"dn": format!("cn=admins,ou=groups,{base}"), "role": "admin"},
        {"dn": format!("CN=Viewers,OU=Groups,{}", base.to_uppercase()), "role": "db_viewer"},
        {"dn": format!("cn=operators,ou=groups,{base}"), "role": "cluster_member"},
        {"dn": format!(r"cn=ops\, special (\+),ou=groups,{base}"), "role": "cluster_viewer"},
    ])
}

/// Template + memberOf, merged with `extra`.
pub fn template_config(e: &Env, extra: Value) -> LdapConfig {
    let mut v = json!({
        "uris": [e.url],
        "bind_dn": e.bind_dn,
        "bind_pass": e.bind_pass,
        "user_dn_template": format!("uid=%u,ou=people,{}", e.base),
        "dn_group_attr": "memberOf",
        "ldap_mappings": mappings(&e.base),
    });
    merge(&mut v, extra);
    LdapConfig::from_json_str(&v.to_string()).expect("valid test config")
}

/// Search + group search, merged with `extra`.
pub fn query_config(e: &Env, extra: Value) -> LdapConfig {
    let mut v = json!({
        "uris": [e.url],
        "bind_dn": e.bind_dn,
        "bind_pass": e.bind_pass,
        "user_dn_query": {
            "base": format!("ou=people,{}", e.base),
            "filter": "(&(objectClass=inetOrgPerson)(uid=%u))",
            "scope": "one"
        },
        "dn_group_query": {
            "base": format!("ou=groups,{}", e.base),
            "filter": "member=%D",
            "scope": "subtree"
        },
        "ldap_mappings": mappings(&e.base),
    });
    merge(&mut v, extra);
    LdapConfig::from_json_str(&v.to_string()).expect("valid test config")
}

pub fn merge(v: &mut Value, extra: Value) {
    if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
        for (k, x) in extra {
            if x.is_null() {
                v.remove(&k);
            } else {
                v.insert(k, x);
            }
        }
    }
}

pub fn store(config: LdapConfig) -> Arc<LdapStore> {
    Arc::new(LdapStore::new(config).expect("store"))
}

/// An authenticator over `store` with a fresh in-memory lockout store.
pub fn auth(store: Arc<dyn UserStore>) -> (Authenticator, ManualClock) {
    let clock = ManualClock::starting_now();
    let lockout: Arc<dyn LockoutStore> = Arc::new(MemoryStore::new());
    let auth =
        authcore_testkit::fixtures::authenticator(store, lockout, &clock, AuthPolicy::default())
            .expect("authenticator");
    (auth, clock)
}
