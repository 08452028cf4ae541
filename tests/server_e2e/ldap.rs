//! A directory (OpenLDAP from `scripts/servers/start-slapd.sh`) behind the server.

use serde_json::json;

use crate::request::Requests;
use crate::server_harness::{Backend, Server};
use crate::{ADMIN, ADMIN_PW, base_args, decode_hs256, start};

/// Writes an LDAP config for the test slapd (`scripts/servers/start-slapd.sh`): template DNs,
/// `memberOf` groups, admins -> admin, viewers -> db_viewer. Returns the file's path.
pub(crate) fn ldap_config_file() -> std::path::PathBuf {
    let var = |k: &str| {
        std::env::var(k)
            .unwrap_or_else(|_| panic!("{k} is not set: run scripts/test, which starts slapd"))
    };
    let base = var("AUTHCORE_TEST_LDAP_BASE_DN");
    let config = json!({
        "uris": [var("AUTHCORE_TEST_LDAP_URL")],
        "bind_dn": var("AUTHCORE_TEST_LDAP_BIND_DN"),
        "bind_pass": var("AUTHCORE_TEST_LDAP_BIND_PASS"),
        "user_dn_template": format!("uid=%u,ou=people,{base}"),
        "dn_group_attr": "memberOf",
        "ldap_mappings": [
            {"dn": format!("cn=admins,ou=groups,{base}"), "role": "admin"},
            {"dn": format!("cn=viewers,ou=groups,{base}"), "role": "db_viewer"}
        ]
    });
    let path = std::env::temp_dir().join(format!(
        "authcore-e2e-ldap-{}.json",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// Local users first, then the directory (`scripts/servers/start-slapd.sh` tree): directory
/// users sign in with roles from `ldap_mappings`, are locked out like local users and cannot
/// change their password here.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs OpenLDAP: run scripts/test"]
pub(crate) async fn ldap_directory_after_local_users() {
    let path = ldap_config_file();
    let s = start(
        &Backend::Sqlite,
        &[
            "--ldap-config",
            path.to_str().unwrap(),
            "--login-lockout-threshold",
            "2",
        ],
    )
    .await;

    // The local admin still signs in.
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    // Directory users, with mapped roles.
    let alice = decode_hs256(&s.token("alice", "alicepw").await);
    assert_eq!(alice["role"], "admin");
    let bob_token = s.token("bob", "bobpw").await;
    assert_eq!(decode_hs256(&bob_token)["role"], "db_viewer");
    s.post("/v1/users/refresh_jwt")
        .auth(&format!("JWT {bob_token}"))
        .status(200)
        .await;
    // No mapped group, wrong password, unknown user: the same 401.
    for (user, pw) in [("carol", "carolpw"), ("bob", "nope"), ("nobody", "x")] {
        let (st, body) = s.authorize(user, pw).await;
        assert_eq!(
            (st, body["error_code"].as_str()),
            (401, Some("unauthorized")),
            "{user}"
        );
    }
    // Lockout applies to directory users (bob failed once above).
    let (st, _) = s.authorize("bob", "nope").await;
    assert_eq!(st, 401);
    let (st, _) = s.authorize("bob", "bobpw").await;
    assert_eq!(st, 401, "bob is locked after two failures");
    // Directory passwords are changed in the directory.
    s.post("/v1/users/password")
        .json(json!({"username": "alice", "old_password": "alicepw", "new_password": "other-pw"}))
        .expect(400, "unsupported_operation")
        .await;
    // The users API lists local users only.
    let list = s.get("/v1/users").auth(&admin).status(200).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
pub(crate) async fn ldap_only_server() {
    let path = ldap_config_file();
    let mut args = base_args();
    args.extend(
        [
            "--ldap-config",
            path.to_str().unwrap(),
            "--login-lockout-threshold",
            "2",
        ]
        .map(str::to_owned),
    );
    let s = Server::start_without_database(&args).await;

    // Directory users sign in and refresh; roles come from their groups.
    let alice_token = s.token("alice", "alicepw").await;
    assert_eq!(decode_hs256(&alice_token)["role"], "admin");
    let alice = format!("JWT {alice_token}");
    s.post("/v1/users/refresh_jwt")
        .auth(&alice)
        .status(200)
        .await;

    // There are no local users: the list is empty and creating one is a clear error.
    let (st, list) = s.get("/v1/users").auth(&alice).send().await;
    assert_eq!((st, list), (200, json!([])));
    let (st, body) = s
        .post("/v1/users")
        .auth(&alice)
        .json(json!({"email": "x@example.test", "password": "X-Passw0rd!", "role": "db_viewer"}))
        .send()
        .await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (400, Some("unsupported_operation")),
        "{body}"
    );
    s.put("/v1/users/password")
        .json(json!({"username": "alice", "old_password": "alicepw", "new_password": "N3w-pass!"}))
        .expect(400, "unsupported_operation")
        .await;

    // Lockout is kept in the working directory's SQLite file.
    for _ in 0..2 {
        let (st, _) = s.authorize("bob", "nope").await;
        assert_eq!(st, 401);
    }
    let (st, _) = s.authorize("bob", "bobpw").await;
    assert_eq!(st, 401, "bob is locked after two failures");
    let _ = std::fs::remove_file(path);
}

/// `ldapmodify` as the directory manager of the test slapd, with `ldif` on its standard input
/// (ldap-utils comes with `scripts/servers/start-slapd.sh`).
fn ldap_modify(ldif: &str) {
    use std::io::Write as _;
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k}: run scripts/test"));
    let mut child = std::process::Command::new("ldapmodify")
        .args(["-x", "-H", &var("AUTHCORE_TEST_LDAP_URL")])
        .args(["-D", &var("AUTHCORE_TEST_LDAP_ROOT_DN")])
        .args(["-w", &var("AUTHCORE_TEST_LDAP_ROOT_PASS")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ldapmodify (ldap-utils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ldif.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "ldapmodify of:\n{ldif}");
}

/// Adds or removes `dn` as a member of the `viewers` group (mapped to `db_viewer`).
fn set_viewer(base: &str, dn: &str, member: bool) {
    let op = if member { "add" } else { "delete" };
    ldap_modify(&format!(
        "dn: cn=viewers,ou=groups,{base}\nchangetype: modify\n{op}: member\nmember: {dn}\n"
    ));
}

/// Issue #9 item 6 and the directory side of items 1, 2 and 4, against the binary and slapd
/// (`cache_ttl` 0: every refresh asks the directory; the bound with a cache is checked with a
/// manual clock in crates/authcore-ldap/tests/sessions.rs). A directory user's token refreshes
/// while the entry is in a mapped group; a logout ends that token only, `{"all": true}` every
/// one; failed guesses that lock the account stop new sign-ins but not a live session; losing
/// every mapped group, and the entry's deletion, end refresh at once.
#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
pub(crate) async fn directory_sessions_end_with_the_groups_or_the_entry() {
    let base = std::env::var("AUTHCORE_TEST_LDAP_BASE_DN").expect("run scripts/test");
    let uid = format!("e2e-session-{}", uuid::Uuid::new_v4().simple());
    let dn = format!("uid={uid},ou=people,{base}");
    ldap_modify(&format!(
        "dn: {dn}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\n\
         sn: Session\nuserPassword: sessionpw\n"
    ));
    set_viewer(&base, &dn, true);

    let path = ldap_config_file();
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["cache_ttl"] = json!(0);
    std::fs::write(&path, config.to_string()).unwrap();
    let s = start(
        &Backend::Sqlite,
        &[
            "--ldap-config",
            path.to_str().unwrap(),
            "--login-lockout-threshold",
            "2",
        ],
    )
    .await;
    let refresh = |token: String| {
        let s = &s;
        async move {
            let mut statuses = Vec::new();
            for scheme in ["JWT", "Bearer"] {
                let (st, _) = s
                    .post("/v1/users/refresh_jwt")
                    .auth(&format!("{scheme} {token}"))
                    .send()
                    .await;
                statuses.push(st);
            }
            statuses
        }
    };
    let logout = |token: String, body: serde_json::Value| {
        let s = &s;
        async move {
            s.post("/v1/users/logout")
                .auth(&format!("Bearer {token}"))
                .json(body)
                .status(200)
                .await
        }
    };

    let (a, b) = (
        s.token(&uid, "sessionpw").await,
        s.token(&uid, "sessionpw").await,
    );
    let claims = decode_hs256(&a);
    assert_eq!(
        (&claims["sub"], &claims["role"]),
        (&json!(dn), &json!("db_viewer"))
    );
    assert_eq!(refresh(a.clone()).await, [200, 200]);
    // Logout: that token only; then everywhere.
    assert_eq!(logout(b.clone(), json!({})).await, json!({}));
    assert_eq!(refresh(b.clone()).await, [401, 401], "logged out");
    assert_eq!(refresh(a.clone()).await, [200, 200], "another token");
    let c = s.token(&uid, "sessionpw").await;
    logout(c.clone(), json!({"all": true})).await;
    assert_eq!(
        refresh(a.clone()).await,
        [401, 401],
        "signed out everywhere"
    );
    assert_eq!(refresh(c).await, [401, 401], "signed out everywhere");

    // Lost every mapped group: refused at once; back in the group, a new sign-in works.
    let d = s.token(&uid, "sessionpw").await;
    set_viewer(&base, &dn, false);
    assert_eq!(refresh(d.clone()).await, [401, 401], "no mapped group");
    let (st, _) = s.authorize(&uid, "sessionpw").await;
    assert_eq!(st, 401, "no mapped group, no sign-in");
    set_viewer(&base, &dn, true);

    // A lockout stops sign-ins, not the live session.
    let e = s.token(&uid, "sessionpw").await;
    for _ in 0..2 {
        let (st, _) = s.authorize(&uid, "wrong").await;
        assert_eq!(st, 401);
    }
    let (st, _) = s.authorize(&uid, "sessionpw").await;
    assert_eq!(st, 401, "locked out");
    assert_eq!(
        refresh(e.clone()).await,
        [200, 200],
        "live through the lockout"
    );

    // The entry is gone: refused at once.
    set_viewer(&base, &dn, false);
    ldap_modify(&format!("dn: {dn}\nchangetype: delete\n"));
    assert_eq!(refresh(e).await, [401, 401], "entry deleted");
    let _ = std::fs::remove_file(path);
}
