//! Run-time settings against the real `authcore serve`: `/v1/cluster`, `/v1/cluster/policy`,
//! `/v1/cluster/ldap` and `/v1/ldap_mappings` (permissions, validation, partial updates, the
//! flags as seeds), two servers on one database, and a directory configured without a
//! restart (slapd).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{ADMIN, ADMIN_PW, Db, FAST_ARGON2, NEEDS_POSTGRES, Server, TempDir, add_user};
use serde_json::{Value, json};

const PW: &str = "Some-Passw0rd!";

fn args<'a>(db: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--database-url", db];
    all.extend(FAST_ARGON2);
    all.extend(extra);
    all
}

/// The claims of a token (not verified: the server issued it).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_endpoints_permissions_validation_and_seed() {
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    add_user(&dir, &db, "viewer@example.org", "db_viewer", PW);
    add_user(&dir, &db, "nobody@example.org", "none", PW);
    let s = Server::start(&dir, &args(&db, &["--login-lockout-threshold", "7"]), &[]);
    let admin = s.token(ADMIN, ADMIN_PW).await;
    let viewer = s.token("viewer@example.org", PW).await;
    let nobody = s.token("nobody@example.org", PW).await;

    // The flag seeded the empty settings table.
    let (st, policy) = s
        .request("GET", "/v1/cluster/policy", Some(&viewer), None)
        .await;
    assert_eq!(st, 200, "{policy}");
    assert_eq!(policy["login_lockout_threshold"], 7);
    assert_eq!(policy["login_lockout_duration"], 1800);
    assert_eq!(policy["login_lockout_counter_reset_after"], 900);
    assert_eq!(policy["max_session_lifetime"], 86400);
    assert_eq!(policy["password_min_length"], 8);
    assert!(policy.get("password_complexity").is_none());
    let (st, cluster) = s.request("GET", "/v1/cluster", Some(&viewer), None).await;
    assert_eq!(st, 200);
    assert_eq!(
        cluster,
        json!({"password_complexity": false, "password_expiration_duration": 0})
    );

    // view_cluster_info: every role but none; update_cluster: admin only.
    for path in ["/v1/cluster", "/v1/cluster/policy"] {
        let (st, body) = s.request("GET", path, Some(&nobody), None).await;
        assert_eq!((st, body["error_code"].as_str()), (403, Some("forbidden")));
        let (st, _) = s.request("GET", path, None, None).await;
        assert_eq!(st, 401);
        let (st, _) = s
            .request("PUT", path, Some(&viewer), Some(&json!({})))
            .await;
        assert_eq!(st, 403, "{path}");
    }
    for path in ["/v1/cluster/ldap", "/v1/ldap_mappings"] {
        let (st, _) = s.request("GET", path, Some(&viewer), None).await;
        assert_eq!(st, 403, "{path}");
    }

    // A partial PUT changes only its fields and answers the whole object.
    let (st, now) = s
        .request(
            "PUT",
            "/v1/cluster/policy",
            Some(&admin),
            Some(&json!({"login_lockout_duration": 60, "auto_recovery": true})),
        )
        .await;
    assert_eq!(st, 200, "{now}");
    assert_eq!(now["login_lockout_duration"], 60);
    assert_eq!(now["login_lockout_threshold"], 7);
    assert!(
        now.get("auto_recovery").is_none(),
        "Redis's field is ignored"
    );
    let (st, now) = s
        .request(
            "PUT",
            "/v1/cluster",
            Some(&admin),
            Some(&json!({"password_complexity": true, "cm_port": 8443, "name": "x"})),
        )
        .await;
    assert_eq!(st, 200, "{now}");
    assert_eq!(
        now,
        json!({"password_complexity": true, "password_expiration_duration": 0})
    );

    // Complexity is in force at once: a simple password is refused.
    let (st, body) = s
        .request(
            "POST",
            "/v1/users",
            Some(&admin),
            Some(&json!({"email": "new@example.org", "password": "simplepassword", "role": "db_viewer"})),
        )
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("password_not_complex"))
    );

    // Validation: 400 and nothing written.
    for bad in [
        json!({"login_lockout_threshold": -1}),
        json!({"login_lockout_threshold": "5"}),
        json!({"login_lockout_threshold": 1.5}),
        json!({"login_lockout_threshold": null}),
        json!({"login_lockout_duration": 40_000_000}),
        json!({"login_lockout_threshold": 3, "no_such_field": 1}),
        json!({"password_complexity": false}),
        json!([1, 2]),
    ] {
        let (st, body) = s
            .request("PUT", "/v1/cluster/policy", Some(&admin), Some(&bad))
            .await;
        assert_eq!(
            (st, body["error_code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
        // One "invalid request" prefix, not one per layer of validation.
        assert!(
            body.to_string().matches("invalid request").count() <= 1,
            "{body}"
        );
    }
    let (st, body) = s
        .request(
            "PUT",
            "/v1/cluster",
            Some(&admin),
            Some(&json!({"password_expiration_duration": "90"})),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    let (_, policy) = s
        .request("GET", "/v1/cluster/policy", Some(&admin), None)
        .await;
    assert_eq!(policy["login_lockout_threshold"], 7, "nothing written");

    // A restart with other flags: the database's settings stand.
    drop(s);
    let s = Server::start(&dir, &args(&db, &["--login-lockout-threshold", "2"]), &[]);
    let admin = s.token(ADMIN, ADMIN_PW).await;
    let (_, policy) = s
        .request("GET", "/v1/cluster/policy", Some(&admin), None)
        .await;
    assert_eq!(policy["login_lockout_threshold"], 7);
    assert_eq!(policy["login_lockout_duration"], 60);
}

#[tokio::test(flavor = "multi_thread")]
async fn ldap_mappings_crud_without_a_directory() {
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    let s = Server::start(&dir, &args(&db, &[]), &[]);
    let admin = s.token(ADMIN, ADMIN_PW).await;
    let call = |method: &'static str, path: String, body: Option<Value>| {
        let (s, admin) = (&s, admin.clone());
        async move { s.request(method, &path, Some(&admin), body.as_ref()).await }
    };

    let (st, ldap) = call("GET", "/v1/cluster/ldap".into(), None).await;
    assert_eq!((st, ldap), (200, json!({"uris": []})));
    let (st, list) = call("GET", "/v1/ldap_mappings".into(), None).await;
    assert_eq!((st, list), (200, json!([])));

    let new = json!({"name": "admins", "dn": "cn=admins,ou=groups,dc=example,dc=org",
        "role": "admin", "email": "ops@example.org", "account_id": 1, "action_uid": "x"});
    let (st, created) = call("POST", "/v1/ldap_mappings".into(), Some(new.clone())).await;
    assert_eq!(st, 200, "{created}");
    let uid = created["uid"].as_u64().unwrap();
    assert_eq!(created["name"], "admins");
    assert_eq!(created["role"], "admin");
    assert_eq!(created["email_alerts"], true);
    let (st, body) = call("POST", "/v1/ldap_mappings".into(), Some(new)).await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("name_already_exists"))
    );

    for (body, code) in [
        (
            json!({"name": "x", "dn": "not a dn", "role": "admin"}),
            "invalid_dn_param",
        ),
        (
            json!({"name": "", "dn": "cn=x,dc=y", "role": "admin"}),
            "invalid_name_param",
        ),
        (
            json!({"name": "x", "dn": "cn=x,dc=y", "role_uids": [1]}),
            "invalid_role_uids_param",
        ),
        (json!({"dn": "cn=x,dc=y", "role": "admin"}), "missing_field"),
        (json!({"name": "x", "dn": "cn=x,dc=y"}), "missing_field"),
        (
            json!({"name": "x", "dn": "cn=x,dc=y", "role": "admin", "bogus": 1}),
            "invalid_request",
        ),
        (
            json!({"name": "x", "dn": "cn=x,dc=y", "role": "emperor"}),
            "invalid_request",
        ),
    ] {
        let (st, answer) = call("POST", "/v1/ldap_mappings".into(), Some(body.clone())).await;
        assert_eq!(
            (st, answer["error_code"].as_str()),
            (400, Some(code)),
            "{body}: {answer}"
        );
    }

    let (st, updated) = call(
        "PUT",
        format!("/v1/ldap_mappings/{uid}"),
        Some(json!({"role": "db_viewer"})),
    )
    .await;
    assert_eq!(st, 200, "{updated}");
    assert_eq!(
        (updated["uid"].as_u64(), &updated["name"], &updated["role"]),
        (Some(uid), &json!("admins"), &json!("db_viewer"))
    );
    let (_, one) = call("GET", format!("/v1/ldap_mappings/{uid}"), None).await;
    assert_eq!(one, updated);
    let (_, list) = call("GET", "/v1/ldap_mappings".into(), None).await;
    assert_eq!(list, json!([updated]));
    let (st, _) = call("DELETE", format!("/v1/ldap_mappings/{uid}"), None).await;
    assert_eq!(st, 200);
    for method in ["GET", "DELETE"] {
        let (st, body) = call(method, format!("/v1/ldap_mappings/{uid}"), None).await;
        assert_eq!(
            (st, body["error_code"].as_str()),
            (404, Some("ldap_mapping_not_exist"))
        );
    }
    let (st, body) = call(
        "PUT",
        format!("/v1/ldap_mappings/{uid}"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (404, Some("ldap_mapping_not_exist"))
    );
    let (st, _) = call("GET", "/v1/ldap_mappings/abc".into(), None).await;
    assert_eq!(st, 404);
}

/// Two servers on one database: a change through one is in force in the other (its sign-ins
/// follow it) within a second, polled.
async fn two_servers_share_the_policy(db: Db) {
    let dir = TempDir::new();
    let url = db.fresh_url(&dir).await;
    add_user(&dir, &url, ADMIN, "admin", ADMIN_PW);
    add_user(&dir, &url, "ann@example.org", "db_viewer", PW);
    let a = Server::start(&dir, &args(&url, &[]), &[]);
    let b = Server::start(&dir, &args(&url, &[]), &[]);
    let admin = a.token(ADMIN, ADMIN_PW).await;
    let lifetime = |token: &str| {
        let c = claims(token);
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap()
    };
    let sign_in = || async {
        let body = json!({"username": "ann@example.org", "password": PW, "ttl": 3600});
        let (st, answer) = b
            .request("POST", "/v1/users/authorize", None, Some(&body))
            .await;
        assert_eq!(st, 200, "{answer}");
        answer["access_token"].as_str().unwrap().to_owned()
    };
    assert_eq!(lifetime(&sign_in().await), 3600);

    let (st, now) = a
        .request(
            "PUT",
            "/v1/cluster/policy",
            Some(&admin),
            Some(&json!({"max_session_lifetime": 120})),
        )
        .await;
    assert_eq!(st, 200, "{now}");
    let changed = Instant::now();
    loop {
        if lifetime(&sign_in().await) <= 120 {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "the change made through server A is not in force in server B after 1 s"
        );
    }
    // And back, through B this time: in force in A.
    let admin_b = b.token(ADMIN, ADMIN_PW).await;
    let (st, _) = b
        .request(
            "PUT",
            "/v1/cluster/policy",
            Some(&admin_b),
            Some(&json!({"max_session_lifetime": 0})),
        )
        .await;
    assert_eq!(st, 200);
    let changed = Instant::now();
    loop {
        let body = json!({"username": "ann@example.org", "password": PW, "ttl": 3600});
        let (st, answer) = a
            .request("POST", "/v1/users/authorize", None, Some(&body))
            .await;
        assert_eq!(st, 200, "{answer}");
        if lifetime(answer["access_token"].as_str().unwrap()) == 3600 {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "B's change not in force in A"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_on_one_sqlite_file_share_the_policy() {
    two_servers_share_the_policy(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn two_servers_on_one_postgres_database_share_the_policy() {
    let _ = NEEDS_POSTGRES;
    two_servers_share_the_policy(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs MariaDB: run scripts/test"]
async fn two_servers_on_one_mariadb_database_share_the_policy() {
    two_servers_share_the_policy(Db::MySql).await;
}

/// A server started without a directory: `PUT /v1/cluster/ldap` and a mapping make a
/// directory user sign in, without a restart; `bind_pass` is masked and `"***"` keeps it;
/// `DELETE` ends directory sign-ins.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs OpenLDAP: run scripts/test"]
async fn put_cluster_ldap_lets_directory_users_in_without_a_restart() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k}: run scripts/test"));
    let base = var("AUTHCORE_TEST_LDAP_BASE_DN");
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    let s = Server::start(&dir, &args(&db, &[]), &[]);
    let admin = s.token(ADMIN, ADMIN_PW).await;
    assert_eq!(s.sign_in("bob", "bobpw").await, 401, "no directory yet");

    let ldap = json!({
        "uris": [var("AUTHCORE_TEST_LDAP_URL")],
        "bind_dn": var("AUTHCORE_TEST_LDAP_BIND_DN"),
        "bind_pass": var("AUTHCORE_TEST_LDAP_BIND_PASS"),
        "user_dn_template": format!("uid=%u,ou=people,{base}"),
        "dn_group_attr": "memberOf",
        "control_plane": true
    });
    let (st, stored) = s
        .request("PUT", "/v1/cluster/ldap", Some(&admin), Some(&ldap))
        .await;
    assert_eq!(st, 200, "{stored}");
    assert_eq!(stored["bind_pass"], "***");
    assert_eq!(stored["directory_timeout_s"], 5);
    // A directory configured at run time is no more silent about cleartext than one given
    // at start-up (the test slapd listens on ldap:// without StartTLS).
    let url = var("AUTHCORE_TEST_LDAP_URL");
    assert!(
        s.log().lines().any(|l| l.contains(" WARN ")
            && l.contains(&format!("the LDAP directory {url} is reached without TLS"))),
        "{}",
        s.log()
    );
    assert!(!s.log().contains(&var("AUTHCORE_TEST_LDAP_BIND_PASS")));
    let (_, shown) = s
        .request("GET", "/v1/cluster/ldap", Some(&admin), None)
        .await;
    assert_eq!(shown, stored);
    assert!(
        !shown
            .to_string()
            .contains(&var("AUTHCORE_TEST_LDAP_BIND_PASS"))
    );
    // No mapping yet: bob's group maps to nothing.
    assert_eq!(s.sign_in("bob", "bobpw").await, 401);
    let (st, m) = s
        .request(
            "POST",
            "/v1/ldap_mappings",
            Some(&admin),
            Some(&json!({"name": "viewers", "dn": format!("cn=viewers,ou=groups,{base}"), "role": "db_viewer"})),
        )
        .await;
    assert_eq!(st, 200, "{m}");
    let token = s.token("bob", "bobpw").await;
    assert_eq!(claims(&token)["role"], "db_viewer");

    // GET, change a field, PUT back with "***": the stored password is kept (bob still in).
    let mut again = shown.clone();
    again["cache_ttl"] = json!(0);
    let (st, body) = s
        .request("PUT", "/v1/cluster/ldap", Some(&admin), Some(&again))
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(s.sign_in("bob", "bobpw").await, 200);
    // Mutually exclusive fields: Redis's code.
    let mut both = again.clone();
    both["user_dn_query"] = json!({"base": base, "filter": "(uid=%u)"});
    let (st, body) = s
        .request("PUT", "/v1/cluster/ldap", Some(&admin), Some(&both))
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("illegal_fields_combination"))
    );

    let (st, _) = s
        .request("DELETE", "/v1/cluster/ldap", Some(&admin), None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(s.sign_in("bob", "bobpw").await, 401, "directory removed");
    let (_, shown) = s
        .request("GET", "/v1/cluster/ldap", Some(&admin), None)
        .await;
    assert_eq!(shown, json!({"uris": []}));
    let (_, list) = s
        .request("GET", "/v1/ldap_mappings", Some(&admin), None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "mappings stay");
}
