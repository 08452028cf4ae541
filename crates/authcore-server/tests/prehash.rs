//! Redis's pre-hashed passwords (`password_hash_method: "1"`) and the three classes of user
//! fields, against the real `authcore serve` binary on a SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use authcore_core::HashFormat;
use common::{ADMIN, ADMIN_PW, FAST_ARGON2, Server, TempDir, stored_formats};
use serde_json::json;

const CLUSTER: &str = "cluster.example.test";

/// A server with `--cluster-name CLUSTER` on the default SQLite file of `dir`, its first admin
/// created from the environment, and that admin's token.
async fn start(dir: &TempDir) -> (Server, String) {
    let mut args = vec!["--cluster-name", CLUSTER];
    args.extend(FAST_ARGON2);
    let server = Server::start(
        dir,
        &args,
        &[
            ("AUTHCORE_ADMIN_EMAIL", ADMIN),
            ("AUTHCORE_ADMIN_PASSWORD", ADMIN_PW),
        ],
    );
    let token = server.token(ADMIN, ADMIN_PW).await;
    (server, token)
}

/// The formats of a user's stored hashes, read from the server's SQLite file by a second store
/// (the server keeps running).
async fn formats(dir: &TempDir, email: &str) -> Vec<HashFormat> {
    stored_formats(&dir.sqlite_url(), email).await.unwrap()
}

/// Every byte of the server's database files (main file and write-ahead log).
fn database_bytes(dir: &TempDir) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("authcore.db")
        {
            all.extend(std::fs::read(path).unwrap_or_default());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn prehashed_passwords_sign_in_with_the_plain_password_and_are_upgraded() {
    let dir = TempDir::new();
    let (server, token) = start(&dir).await;

    // POST with a pre-hash: the user signs in with the plain password, not the pre-hash.
    let prehash = authcore_core::redis_prehash("Pat@Example.org", CLUSTER, "pat-Secret-1");
    let body = json!({
        "email": "Pat@Example.org", "password": prehash, "name": "Pat", "role": "db_viewer",
        "password_hash_method": "1",
        // Redis's other documented fields: accepted and ignored.
        "email_alerts": true, "bdbs_email_alerts": ["1"], "cluster_email_alerts": false,
        "account_id": 7, "action_uid": "a-1", "uid": 99, "auth_method": "regular",
        "password_issue_date": "2017-03-02T09:43:34Z"
    });
    let (status, user) = server
        .request("POST", "/v1/users", Some(&token), Some(&body))
        .await;
    assert_eq!(status, 200, "{user}");
    let uid = user["uid"].as_u64().unwrap();
    assert_ne!(uid, 99, "a read-only uid is ignored");
    assert!(user.get("password").is_none());
    // Never a bare SHA-256 at rest.
    assert!(!contains(&database_bytes(&dir), &prehash));
    assert_eq!(server.sign_in("pat@example.org", &prehash).await, 401);
    assert_eq!(server.sign_in("pat@example.org", "pat-Secret-2").await, 401);
    assert_eq!(
        formats(&dir, "pat@example.org").await,
        [HashFormat::RedisPrehash]
    );
    assert_eq!(server.sign_in("pat@example.org", "pat-Secret-1").await, 200);
    // Upgraded to a plain argon2id hash at the first sign-in.
    assert_eq!(formats(&dir, "pat@example.org").await, [HashFormat::Argon2]);
    assert_eq!(server.sign_in("PAT@example.org", "pat-Secret-1").await, 200);

    // PUT with a pre-hash, computed over the e-mail as it is after the update.
    let prehash = authcore_core::redis_prehash("pat2@example.org", CLUSTER, "new-Secret-3");
    let body = json!({
        "email": "pat2@example.org", "password": prehash, "password_hash_method": "1",
        "email_alerts": false
    });
    let (status, user) = server
        .request(
            "PUT",
            &format!("/v1/users/{uid}"),
            Some(&token),
            Some(&body),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        formats(&dir, "pat2@example.org").await,
        [HashFormat::RedisPrehash]
    );
    assert!(!contains(&database_bytes(&dir), &prehash));
    assert_eq!(
        server.sign_in("pat2@example.org", "pat-Secret-1").await,
        401
    );
    assert_eq!(
        server.sign_in("pat2@example.org", "new-Secret-3").await,
        200
    );
    assert_eq!(
        formats(&dir, "pat2@example.org").await,
        [HashFormat::Argon2]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_methods_prehashes_and_unknown_fields_are_400() {
    let dir = TempDir::new();
    let (server, token) = start(&dir).await;
    let prehash = authcore_core::redis_prehash("q@example.org", CLUSTER, "q-Secret-1");
    let base = json!({"email": "q@example.org", "password": prehash, "role": "db_viewer"});
    let with = |extra: serde_json::Value| {
        let mut b = base.clone();
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    for (body, needle) in [
        (
            with(json!({"password_hash_method": "2"})),
            "password_hash_method",
        ),
        (
            with(json!({"password_hash_method": ""})),
            "password_hash_method",
        ),
        (with(json!({"password_hash_method": 1})), "invalid type"),
        (
            json!({"email": "q@example.org", "password": "not-hex", "role": "db_viewer", "password_hash_method": "1"}),
            "64 hex",
        ),
        (with(json!({"role_uids": [1]})), "role_uids"),
        (
            with(json!({"favourite_colour": "blue"})),
            "favourite_colour",
        ),
    ] {
        let (status, answer) = server
            .request("POST", "/v1/users", Some(&token), Some(&body))
            .await;
        assert_eq!(status, 400, "{body} -> {answer}");
        let text = answer.to_string();
        assert!(text.contains(needle), "{body} -> {text}");
        assert!(
            !text.contains(&prehash[..16]),
            "no password in the answer: {text}"
        );
    }
    // Nothing was created by the refused requests.
    assert_eq!(server.sign_in("q@example.org", "q-Secret-1").await, 401);

    for (body, needle) in [
        (
            json!({"password_hash_method": "0", "password": prehash}),
            "password_hash_method",
        ),
        (json!({"role_uids": [1]}), "role_uids"),
        (json!({"nmae": "typo"}), "nmae"),
    ] {
        let (status, answer) = server
            .request("PUT", "/v1/users/1", Some(&token), Some(&body))
            .await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(answer.to_string().contains(needle), "{body} -> {answer}");
    }
}
