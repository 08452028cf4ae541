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
