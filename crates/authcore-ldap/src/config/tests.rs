//! Validation of the configuration: defaults, Redis's field combinations, ranges, secrets.

use super::*;
use serde_json::json;

fn base() -> serde_json::Value {
    json!({
        "uris": ["ldap://ldap.example.org:389"],
        "bind_dn": "cn=reader,dc=example,dc=org",
        "bind_pass": "s3cret-service-pw",
        "user_dn_template": "uid=%u,ou=people,dc=example,dc=org",
        "dn_group_attr": "memberOf",
        "ldap_mappings": [{"dn": "cn=admins,ou=groups,dc=example,dc=org", "role": "admin"}]
    })
}

fn parse(v: &serde_json::Value) -> Result<LdapConfig, LdapConfigError> {
    LdapConfig::from_json_str(&v.to_string())
}

fn with(mut v: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    v[key] = value;
    v
}

fn code(v: &serde_json::Value) -> &'static str {
    parse(v).expect_err("must be refused").error_code()
}

#[test]
fn defaults_follow_redis() {
    let c = parse(&base()).unwrap();
    assert_eq!(c.cache_ttl, 300);
    assert_eq!(c.directory_timeout_s, 5);
    assert!(!c.starttls);
}

#[test]
fn redis_get_output_is_accepted_as_is() {
    // The shape of `GET /v1/cluster/ldap` (7.4 docs), with unset fields empty or null.
    let v = json!({
        "uris": ["ldap://ldap.example.org:636"],
        "bind_dn": "cn=reader,dc=example,dc=org",
        "bind_pass": "real-password",
        "ca_cert": "",
        "starttls": false,
        "cache_ttl": 600,
        "directory_timeout_s": 5,
        "control_plane": true,
        "data_plane": false,
        "user_dn_query": {},
        "user_dn_template": "cn=%u,ou=users,dc=example,dc=org",
        "dn_group_attr": null,
        "dn_group_query": {"base": "ou=groups,dc=example,dc=org", "filter": "member=%D", "scope": "subtree"}
    });
    let c = parse(&v).unwrap();
    assert_eq!(c.cache_ttl, 600);
    assert!(c.user_dn_query.is_none());
    assert!(c.ldap_mappings.is_empty());
}

#[test]
fn exclusive_pairs_are_illegal_fields_combination() {
    let both_user = with(
        base(),
        "user_dn_query",
        json!({"base": "dc=example,dc=org", "filter": "(uid=%u)", "scope": "subtree"}),
    );
    assert_eq!(code(&both_user), "illegal_fields_combination");

    let mut neither = base();
    neither.as_object_mut().unwrap().remove("user_dn_template");
    assert_eq!(code(&neither), "illegal_fields_combination");

    let both_groups = with(
        base(),
        "dn_group_query",
        json!({"base": "dc=example,dc=org", "filter": "member=%D"}),
    );
    assert_eq!(code(&both_groups), "illegal_fields_combination");

    let mut half_bind = base();
    half_bind.as_object_mut().unwrap().remove("bind_pass");
    assert_eq!(code(&half_bind), "illegal_fields_combination");

    let err = parse(&both_user).unwrap_err();
    assert!(matches!(
        authcore_core::Error::from(err),
        authcore_core::Error::Configuration(_)
    ));
}

#[test]
fn no_group_option_is_allowed() {
    let mut v = base();
    v.as_object_mut().unwrap().remove("dn_group_attr");
    parse(&v).unwrap();
}

#[test]
fn timeout_range() {
    for ok in [5, 30, 60] {
        parse(&with(base(), "directory_timeout_s", json!(ok))).unwrap();
    }
    for bad in [0, 4, 61, 3600] {
        let v = with(base(), "directory_timeout_s", json!(bad));
        assert_eq!(code(&v), "invalid_request", "{bad}");
    }
    assert!(matches!(
        parse(&with(base(), "directory_timeout_s", json!(-1))),
        Err(LdapConfigError::Json(_))
    ));
}

#[test]
fn debug_hides_bind_pass() {
    let c = parse(&base()).unwrap();
    let printed = format!("{c:?} {:?}", c.resolve().unwrap());
    assert!(!printed.contains("s3cret-service-pw"), "{printed}");
    assert!(printed.contains("cn=reader"));
}

#[test]
fn masked_bind_pass_is_refused() {
    let err = parse(&with(base(), "bind_pass", json!("***"))).unwrap_err();
    assert!(err.to_string().contains("masked"));
}

#[test]
fn unknown_fields_are_refused() {
    assert!(matches!(
        parse(&with(base(), "user_dn_templat", json!("x"))),
        Err(LdapConfigError::Json(_))
    ));
    let bad_mapping = with(
        base(),
        "ldap_mappings",
        json!([{"dn": "cn=a", "rol": "admin"}]),
    );
    assert!(matches!(parse(&bad_mapping), Err(LdapConfigError::Json(_))));
}

#[test]
fn uris_are_checked() {
    for ok in [
        "ldap://h",
        "ldaps://h:636",
        "LDAP://h:389/",
        "ldap://127.0.0.1:3890",
        "ldap://[::1]:389",
    ] {
        parse(&with(base(), "uris", json!([ok]))).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "h:389",
        "http://h",
        "ldap://",
        "ldap:///",
        "ldap://:389",
        "ldap://h:x",
        "ldap://h:99999",
        "ldap://h/dc=x",
        "ldap://u@h",
    ] {
        assert_eq!(
            code(&with(base(), "uris", json!([bad]))),
            "invalid_request",
            "{bad}"
        );
    }
    assert_eq!(code(&with(base(), "uris", json!([]))), "invalid_request");
}

#[test]
fn templates_and_filters_are_checked() {
    for bad in ["uid=alice,dc=x", "uid=%u,,dc=x", "%u"] {
        let v = with(base(), "user_dn_template", json!(bad));
        assert_eq!(code(&v), "invalid_request", "{bad}");
    }
    let mut q = base();
    q.as_object_mut().unwrap().remove("user_dn_template");
    for (filter, ok) in [
        ("(uid=%u)", true),
        ("uid=%u", true),
        ("(&(objectClass=person)(|(uid=%u)(mail=%u)))", true),
        ("(uid=alice)", false),
        ("(uid=%u", false),
    ] {
        let v = with(
            q.clone(),
            "user_dn_query",
            json!({"base": "dc=example,dc=org", "filter": filter}),
        );
        assert_eq!(parse(&v).is_ok(), ok, "{filter}");
    }
    let v = with(
        q.clone(),
        "user_dn_query",
        json!({"base": "not a dn", "filter": "(uid=%u)"}),
    );
    assert_eq!(code(&v), "invalid_request");
    let v = with(
        base(),
        "dn_group_query",
        json!({"base": "dc=x", "filter": "(objectClass=*)"}),
    );
    let mut v = v;
    v.as_object_mut().unwrap().remove("dn_group_attr");
    assert_eq!(code(&v), "invalid_request");
    for (scope, want) in [
        ("base", LdapScope::Base),
        ("one", LdapScope::One),
        ("subtree", LdapScope::Subtree),
        ("wholeSubtree", LdapScope::Subtree),
    ] {
        let v = with(
            q.clone(),
            "user_dn_query",
            json!({"base": "dc=example,dc=org", "filter": "(uid=%u)", "scope": scope}),
        );
        assert_eq!(parse(&v).unwrap().user_dn_query.unwrap().scope, want);
    }
}

#[test]
fn mappings_and_ca_cert_are_checked() {
    let v = with(
        base(),
        "ldap_mappings",
        json!([{"dn": "not a dn", "role": "admin"}]),
    );
    assert_eq!(code(&v), "invalid_request");
    let v = with(
        base(),
        "ldap_mappings",
        json!([{"dn": "cn=a,dc=b", "role": ""}]),
    );
    assert_eq!(code(&v), "invalid_request");
    let v = with(
        base(),
        "ca_cert",
        json!("-----BEGIN NOTHING-----\n-----END NOTHING-----\n"),
    );
    assert_eq!(code(&v), "invalid_request");
    let v = with(base(), "dn_group_attr", json!("member of"));
    assert_eq!(code(&v), "invalid_request");
}
