//! authcore-ldap against a real OpenLDAP slapd. Needs the environment printed by
//! `scripts/servers/start-slapd.sh` (scripts/test exports it).

mod common;

use std::sync::Arc;

use authcore_core::{
    Error, MAX_PASSWORD_LEN, MAX_USERNAME_LEN, Role, Ttl, User, UserId, UserStore,
    normalize_username,
};
use authcore_ldap::{LdapConfig, LdapStore};
use authcore_memory::MemoryStore;
use authcore_testkit::conformance::{DirectoryUser, ReadOnlyFixture, run_read_only_suite};
use authcore_testkit::fixtures::password;
use common::{NUL_LIKE, SPECIAL, auth, env, query_config, store, template_config};
use ldap3::{LdapConnAsync, Mod};
use serde_json::json;

const NEEDS: &str = "needs slapd: run scripts/test";

fn fixture() -> ReadOnlyFixture {
    let u = |username: &str, pw: &str, role: Role| DirectoryUser {
        username: username.to_owned(),
        password: pw.to_owned(),
        role,
    };
    ReadOnlyFixture {
        users: vec![
            u("alice", "alicepw", Role::ADMIN),
            u("bob", "bobpw", Role::CLUSTER_MEMBER),
            u(SPECIAL, "specialpw", Role::CLUSTER_VIEWER),
            u(NUL_LIKE, "nulpw", Role::DB_VIEWER),
        ],
        unknown_username: "nobody".to_owned(),
    }
}

async fn signs_in(store: Arc<LdapStore>, username: &str, pw: &str) -> Result<Role, Error> {
    let (auth, _clock) = auth(store);
    auth.authorize(username, &password(pw), Ttl::DEFAULT)
        .await
        .map(|issued| issued.claims.role)
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn conformance_template_and_group_attribute() {
    let e = env();
    let store = store(template_config(&e, json!({})));
    run_read_only_suite(store, Arc::new(MemoryStore::new()), &fixture()).await;
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn conformance_search_and_group_search() {
    let e = env();
    let store = store(query_config(&e, json!({})));
    run_read_only_suite(store, Arc::new(MemoryStore::new()), &fixture()).await;
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn conformance_without_cache_and_mixed_strategies() {
    let e = env();
    // Template with a group search, search with the group attribute; no cache at all.
    let a = template_config(
        &e,
        json!({
            "dn_group_attr": null, "cache_ttl": 0,
            "dn_group_query": {"base": format!("ou=groups,{}", e.base), "filter": "(member=%D)"}
        }),
    );
    run_read_only_suite(store(a), Arc::new(MemoryStore::new()), &fixture()).await;
    let b = query_config(
        &e,
        json!({"dn_group_query": null, "dn_group_attr": "memberOf", "cache_ttl": 0}),
    );
    run_read_only_suite(store(b), Arc::new(MemoryStore::new()), &fixture()).await;
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn users_look_right() {
    let e = env();
    for config in [template_config(&e, json!({})), query_config(&e, json!({}))] {
        let store = store(config);
        let alice = store
            .find_by_username("alice")
            .await
            .unwrap()
            .expect("alice");
        assert_eq!(alice.uid.as_str(), "uid=alice,ou=people,dc=example,dc=org");
        assert_eq!(alice.email, "alice");
        assert_eq!(alice.name.as_deref(), Some("Alice Liddell"));
        assert!(store.admin().is_none());
        let special = store
            .find_by_username(SPECIAL)
            .await
            .unwrap()
            .expect("special");
        assert_eq!(
            special.uid.as_str(),
            r"uid=sp*c(i)a\5cl\2cx\3dy\2bz,ou=people,dc=example,dc=org"
        );
        let by_uid = store
            .find_by_uid(&special.uid)
            .await
            .unwrap()
            .expect("by uid");
        assert_eq!(by_uid.email, SPECIAL);
        assert_eq!(by_uid.role.as_str(), Role::CLUSTER_VIEWER);
        // The uid in another spelling finds the same user.
        let shouting = UserId::new("UID=ALICE, OU=People, DC=Example, DC=Org");
        let again = store
            .find_by_uid(&shouting)
            .await
            .unwrap()
            .expect("same entry");
        assert_eq!(again.uid, alice.uid);
        assert_eq!(again.role.as_str(), Role::ADMIN);
    }
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn role_mapping_picks_the_most_privileged_or_the_first_custom() {
    let e = env();
    for config in [template_config(&e, json!({})), query_config(&e, json!({}))] {
        let s = store(config);
        assert_eq!(
            signs_in(s.clone(), "alice", "alicepw")
                .await
                .unwrap()
                .as_str(),
            "admin"
        );
        assert_eq!(
            signs_in(s.clone(), "bob", "bobpw").await.unwrap().as_str(),
            "cluster_member"
        );
    }
    // Custom roles: the first matching mapping in configuration order.
    let custom = json!({"ldap_mappings": [
        {"dn": format!("cn=viewers,ou=groups,{}", e.base), "role": "readers"},
        {"dn": format!("cn=operators,ou=groups,{}", e.base), "role": "operators"},
    ]});
    let s = store(template_config(&e, custom));
    assert_eq!(
        signs_in(s.clone(), "bob", "bobpw").await.unwrap().as_str(),
        "readers"
    );
    // A management role beats a custom one, whatever the order.
    let mixed = json!({"ldap_mappings": [
        {"dn": format!("cn=viewers,ou=groups,{}", e.base), "role": "readers"},
        {"dn": format!("cn=operators,ou=groups,{}", e.base), "role": "db_member"},
    ]});
    let s = store(template_config(&e, mixed));
    assert_eq!(
        signs_in(s, "bob", "bobpw").await.unwrap().as_str(),
        "db_member"
    );
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn unmapped_wrong_and_empty_passwords_are_refused() {
    let e = env();
    for config in [template_config(&e, json!({})), query_config(&e, json!({}))] {
        let s = store(config);
        // carol's password is right, but no group of hers is mapped.
        let carol = s
            .find_by_username("carol")
            .await
            .unwrap()
            .expect("carol exists");
        assert_eq!(
            s.verify_external(&carol, &password("carolpw"))
                .await
                .unwrap(),
            None
        );
        assert!(matches!(
            signs_in(s.clone(), "carol", "carolpw").await,
            Err(Error::Unauthorized)
        ));
        assert!(matches!(
            signs_in(s.clone(), "alice", "bobpw").await,
            Err(Error::Unauthorized)
        ));
        assert!(matches!(
            signs_in(s.clone(), "alice", "").await,
            Err(Error::Unauthorized)
        ));
        assert!(matches!(
            signs_in(s.clone(), "nobody", "x").await,
            Err(Error::Unauthorized)
        ));
        // No group mapped at all: nobody gets in.
    }
    let s = store(template_config(&e, json!({"ldap_mappings": []})));
    assert!(matches!(
        signs_in(s, "alice", "alicepw").await,
        Err(Error::Unauthorized)
    ));
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn empty_password_is_refused_before_any_traffic() {
    let e = env();
    // A directory that does not exist: any network use would be an error.
    let dead = store(template_config(&e, json!({"uris": ["ldap://127.0.0.1:1"]})));
    let user = User {
        uid: UserId::new(format!("uid=alice,ou=people,{}", e.base)),
        email: "alice".into(),
        name: Some("alice".into()),
        role: Role::NONE,
        status: authcore_core::UserStatus::Active,
        credentials: authcore_core::Credentials::External,
    };
    assert_eq!(
        dead.verify_external(&user, &password("")).await.unwrap(),
        None
    );
    let err = dead
        .verify_external(&user, &password("alicepw"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
    // Uids that are not DNs (a local store's) are not ours, without a round trip either.
    assert_eq!(dead.find_by_uid(&UserId::from(1)).await.unwrap(), None);
    assert_eq!(
        dead.find_by_uid(&UserId::new("not a dn")).await.unwrap(),
        None
    );
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn injection_attempts_never_authenticate() {
    let e = env();
    let usernames = [
        "*",
        "*)(uid=*",
        "*)(|(uid=*",
        "admin)(|(uid=*",
        "alice)(uid=*",
        "alic*",
        "a*e",
        "*alice*",
        "alice)(|(objectClass=*)",
        "alice\u{0}",
        r"alice\00",
        r"alic\2a",
        "alice,ou=people,dc=example,dc=org",
        "uid=alice,ou=people,dc=example,dc=org",
        "alice+sn=Liddell",
        "alice,ou=contractors",
        "#alice",
        r"\61lice",
        "alice\\",
        "(uid=alice)",
        "al%Dice",
        "%Dalice",
        "alice%D",
        "%u",
    ];
    let passwords = ["alicepw", "bobpw", "specialpw", "*", ""];
    let configs = [
        ("template", template_config(&e, json!({}))),
        ("query", query_config(&e, json!({}))),
        (
            "subtree query on uid or mail",
            query_config(
                &e,
                json!({"user_dn_query": {
                    "base": e.base, "scope": "subtree",
                    "filter": "(&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u)))"
                }}),
            ),
        ),
    ];
    for (name, config) in configs {
        let s = store(config);
        for username in usernames {
            let found = s
                .find_by_username(&normalize_username(username))
                .await
                .unwrap();
            assert_eq!(
                found, None,
                "{name}: {username:?} must not resolve to an entry"
            );
            // Every one of these is within the length limits, so it reaches the directory
            // (or, for the empty password, the store's refusal before any traffic) and is
            // refused as a failed sign-in: `Unauthorized`, never `InvalidRequest`.
            for pw in passwords {
                let result = signs_in(s.clone(), username, pw).await;
                assert!(
                    matches!(result, Err(Error::Unauthorized)),
                    "{name}: {username:?} / {pw:?} gave {result:?}"
                );
            }
        }
        // Only an input over a length limit is `InvalidRequest`, before any store I/O: a
        // wildcard username one byte too long, and a wildcard password one byte too long.
        let long_name = "*".repeat(MAX_USERNAME_LEN + 1);
        let result = signs_in(s.clone(), &long_name, "alicepw").await;
        assert!(
            matches!(&result, Err(Error::InvalidRequest(m)) if m == "username too long"),
            "{name}: {result:?}"
        );
        let long_password = "*".repeat(MAX_PASSWORD_LEN + 1);
        let result = signs_in(s.clone(), "alice", &long_password).await;
        assert!(
            matches!(&result, Err(Error::InvalidRequest(m)) if m == "password too long"),
            "{name}: {result:?}"
        );
        // At the limit, the same wildcard username is only a failed sign-in.
        let result = signs_in(s.clone(), &"*".repeat(MAX_USERNAME_LEN), "alicepw").await;
        assert!(
            matches!(result, Err(Error::Unauthorized)),
            "{name}: {result:?}"
        );
        // Stores are called with normalised (lowercase) names, but a placeholder spelled in
        // a username stays text even when one is not.
        assert_eq!(s.find_by_username("al%Dice").await.unwrap(), None, "{name}");
        // The awkward names themselves do work: escaping is right, not just restrictive.
        assert_eq!(
            signs_in(s.clone(), SPECIAL, "specialpw")
                .await
                .unwrap()
                .as_str(),
            "cluster_viewer"
        );
        assert_eq!(
            signs_in(s.clone(), NUL_LIKE, "nulpw")
                .await
                .unwrap()
                .as_str(),
            "db_viewer"
        );
    }
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn ambiguous_searches_are_refused() {
    let e = env();
    // uid=dup exists in ou=people and ou=contractors.
    let whole_tree = json!({"user_dn_query": {
        "base": e.base, "scope": "subtree", "filter": "(&(objectClass=inetOrgPerson)(uid=%u))"
    }});
    let s = store(query_config(&e, whole_tree));
    assert_eq!(s.find_by_username("dup").await.unwrap(), None);
    for pw in ["duppw", "dup2pw"] {
        assert!(matches!(
            signs_in(s.clone(), "dup", pw).await,
            Err(Error::Unauthorized)
        ));
    }
    // erin is unique in the whole tree.
    assert_eq!(
        signs_in(s.clone(), "erin", "erinpw")
            .await
            .unwrap()
            .as_str(),
        "cluster_member"
    );
    // Scoped to ou=people, dup is unique.
    let s = store(query_config(&e, json!({})));
    assert_eq!(
        signs_in(s.clone(), "dup", "duppw").await.unwrap().as_str(),
        "db_viewer"
    );
    assert!(matches!(
        signs_in(s, "dup", "dup2pw").await,
        Err(Error::Unauthorized)
    ));
    // A filter matching every person is always ambiguous.
    let everyone = json!({"user_dn_query": {
        "base": e.base, "filter": "(|(objectClass=inetOrgPerson)(uid=%u))"
    }});
    let s = store(query_config(&e, everyone));
    assert!(matches!(
        signs_in(s, "alice", "alicepw").await,
        Err(Error::Unauthorized)
    ));
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn starttls_and_ldaps_with_the_test_ca() {
    let e = env();
    let ca = std::fs::read_to_string(&e.ca).expect("CA file");
    for config in [
        template_config(&e, json!({"starttls": true, "ca_cert": ca})),
        query_config(&e, json!({"starttls": true, "ca_cert": ca})),
    ] {
        let s = store(config);
        s.check_connection()
            .await
            .expect("StartTLS handshake and service bind");
        run_read_only_suite(s, Arc::new(MemoryStore::new()), &fixture()).await;
    }
    // ldaps://: TLS from the first byte.
    let ldaps = template_config(&e, json!({"uris": [e.ldaps_url], "ca_cert": ca}));
    let s = store(ldaps);
    assert_eq!(
        signs_in(s, "alice", "alicepw").await.unwrap().as_str(),
        "admin"
    );
    let s = store(template_config(&e, json!({"uris": [e.ldaps_url]})));
    let err = s.find_by_username("alice").await.unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");

    // The system roots do not know the test CA: the connection fails, as an outage (503),
    // never as a fallback to clear text or a wrong password.
    let s = store(template_config(&e, json!({"starttls": true})));
    let err = s.find_by_username("alice").await.unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
    assert_eq!(err.http_status(), 503);
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn uris_are_tried_in_order() {
    let e = env();
    let s = store(template_config(
        &e,
        json!({"uris": ["ldap://127.0.0.1:1", e.url]}),
    ));
    assert_eq!(
        signs_in(s, "alice", "alicepw").await.unwrap().as_str(),
        "admin"
    );
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn a_refused_service_account_is_an_outage_not_a_wrong_password() {
    let e = env();
    let s = store(template_config(
        &e,
        json!({"bind_pass": "not-the-password"}),
    ));
    let err = s.check_connection().await.unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)));
    assert!(!format!("{err:?} {err}").contains("not-the-password"));
    let err = signs_in(s, "alice", "alicepw").await.unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn refresh_is_refused_once_the_groups_are_gone() {
    let e = env();
    let s = store(template_config(&e, json!({"cache_ttl": 0})));
    let (auth, _clock) = auth(s.clone());
    let issued = auth
        .authorize("frank", &password("frankpw"), Ttl::DEFAULT)
        .await
        .expect("frank signs in");
    assert_eq!(issued.claims.role.as_str(), Role::DB_VIEWER);
    auth.refresh(&issued.token, Ttl::DEFAULT)
        .await
        .expect("refresh while in the group");

    let (conn, mut root) = LdapConnAsync::new(&e.url).await.unwrap();
    ldap3::drive!(conn);
    root.simple_bind(&e.root_dn, &e.root_pass)
        .await
        .unwrap()
        .success()
        .unwrap();
    let group = format!("cn=viewers,ou=groups,{}", e.base);
    let frank = format!("uid=frank,ou=people,{}", e.base);
    let member = std::collections::HashSet::from([frank.as_str()]);
    root.modify(&group, vec![Mod::Delete("member", member.clone())])
        .await
        .unwrap()
        .success()
        .unwrap();
    let refreshed = auth.refresh(&issued.token, Ttl::DEFAULT).await;
    let signed_in = auth
        .authorize("frank", &password("frankpw"), Ttl::DEFAULT)
        .await;
    root.modify(&group, vec![Mod::Add("member", member)])
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(
        matches!(refreshed, Err(Error::Unauthorized)),
        "{refreshed:?}"
    );
    assert!(
        matches!(signed_in, Err(Error::Unauthorized)),
        "{signed_in:?}"
    );
    assert_eq!(
        s.find_by_uid(&UserId::new(frank))
            .await
            .unwrap()
            .map(|u| u.role)
            .as_ref()
            .map(Role::as_str),
        Some("db_viewer")
    );
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn uids_outside_the_configured_users_are_unknown() {
    let e = env();
    let t = store(template_config(&e, json!({})));
    let q = store(query_config(&e, json!({})));
    for s in [t, q] {
        // Real entries, but not users of this configuration.
        for dn in [
            format!("uid=erin,ou=contractors,{}", e.base),
            format!("cn=admins,ou=groups,{}", e.base),
            format!("cn=reader,{}", e.base),
            format!("uid=ghost,ou=people,{}", e.base),
            "uid=alice,ou=people,dc=other,dc=org".to_owned(),
        ] {
            assert_eq!(
                s.find_by_uid(&UserId::new(dn.clone())).await.unwrap(),
                None,
                "{dn}"
            );
        }
        // carol exists but has no mapped role: not refreshable.
        let carol = UserId::new(format!("uid=carol,ou=people,{}", e.base));
        assert_eq!(s.find_by_uid(&carol).await.unwrap(), None);
    }
}

#[test]
#[ignore = "needs slapd: run scripts/test"]
fn environment_is_there() {
    // Fails loudly (instead of skipping) when run without the server's environment.
    let e = env();
    assert!(e.url.starts_with("ldap://"), "{NEEDS}");
    let _: LdapConfig = template_config(&e, json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test"]
async fn concurrent_sign_ins_share_the_pool() {
    let e = env();
    for config in [
        template_config(&e, json!({"cache_ttl": 0})),
        query_config(&e, json!({"cache_ttl": 0})),
    ] {
        let (auth, _clock) = auth(store(config));
        let auth = Arc::new(auth);
        let mut tasks = Vec::new();
        for i in 0..60 {
            let auth = Arc::clone(&auth);
            tasks.push(tokio::spawn(async move {
                let (user, pw, role) = match i % 3 {
                    0 => ("alice", "alicepw", "admin"),
                    1 => ("bob", "bobpw", "cluster_member"),
                    // Wrong passwords for another user: they would lock bob out.
                    _ => ("carol", "wrong", ""),
                };
                let got = auth.authorize(user, &password(pw), Ttl::DEFAULT).await;
                match got {
                    Ok(issued) => assert_eq!(issued.claims.role.as_str(), role),
                    Err(e) => assert!(role.is_empty() && matches!(e, Error::Unauthorized), "{e:?}"),
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
}
