//! A directory that accepts connections but never answers: every operation gives up after
//! `directory_timeout_s` with a store-unavailable error. No slapd needed.

use std::time::{Duration, Instant};

use authcore_core::{Credentials, Error, Role, User, UserId, UserStatus, UserStore};
use authcore_ldap::{LdapConfig, LdapStore};
use authcore_testkit::fixtures::password;
use tokio::net::TcpListener;

#[tokio::test]
async fn a_silent_directory_times_out_as_unavailable() {
    // Accepts TCP connections and keeps them open without ever answering.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepting = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });

    let config = LdapConfig::from_json_str(&format!(
        r#"{{"uris": ["ldap://127.0.0.1:{port}"], "directory_timeout_s": 5,
            "bind_dn": "cn=reader,dc=example,dc=org", "bind_pass": "readerpw",
            "user_dn_template": "uid=%u,ou=people,dc=example,dc=org", "dn_group_attr": "memberOf"}}"#
    ))
    .unwrap();
    let store = LdapStore::new(config).unwrap();

    let user = User {
        uid: UserId::new("uid=alice,ou=people,dc=example,dc=org"),
        email: "alice".into(),
        name: "alice".into(),
        role: Role::NONE,
        status: UserStatus::Active,
        credentials: Credentials::External,
    };
    let pw = password("alicepw");
    let started = Instant::now();
    // A search on the service pool and a user bind on its own connection, side by side.
    let (found, verified) = tokio::join!(
        store.find_by_username("alice"),
        store.verify_external(&user, &pw)
    );
    let took = started.elapsed();
    for err in [found.unwrap_err(), verified.unwrap_err()] {
        assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
        assert_eq!(err.http_status(), 503);
    }
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(12),
        "{took:?}"
    );
    accepting.abort();
}
