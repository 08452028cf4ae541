//! Issue #9 item 1 against the binary: a re-hash (the hashing parameters went up) and a
//! legacy-hash upgrade (Redis's `password_hash_method: "1"`) happen at a sign-in and are no
//! password change: the session epoch (`gen`) and the password id (`pwd`) stay, every token of
//! before keeps working, and `password_issue_date` is unchanged.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::request::{Requests, user_path};
use crate::server_harness::{Backend, Server};
use crate::{ADMIN, ADMIN_PW, base_args, decode_hs256, start};

const CLUSTER: &str = "e2e.example";
const REHASHED: &str = "password re-hashed with current parameters";

/// The user's `password_issue_date`, read by the admin.
async fn issue_date(s: &Server, uid: u64) -> Value {
    let admin = format!("JWT {}", s.long_token(ADMIN, ADMIN_PW).await);
    let user = s.get(&user_path(uid)).auth(&admin).status(200).await;
    assert!(user["password_issue_date"].is_string(), "{user}");
    user["password_issue_date"].clone()
}

/// `token` still works: refresh_jwt and the user's own record, under both schemes.
async fn assert_live(s: &Server, token: &str, uid: u64, what: &str) {
    for scheme in ["JWT", "Bearer"] {
        let auth = format!("{scheme} {token}");
        s.post("/v1/users/refresh_jwt")
            .auth(&auth)
            .status(200)
            .await;
        let (st, body) = s.get(&user_path(uid)).auth(&auth).send().await;
        assert_eq!(st, 200, "{what}: {scheme}: {body}");
    }
}

/// How many re-hashes the server has logged for `uid` so far.
fn rehashes(s: &Server, uid: u64) -> usize {
    let field = format!("uid={uid}");
    s.log()
        .lines()
        .filter(|l| l.contains(REHASHED) && l.split_whitespace().any(|w| w == field))
        .count()
}

/// Both tokens are of the same session epoch and password.
fn same_session_state(before: &str, after: &str, what: &str) {
    let (a, b) = (decode_hs256(before), decode_hs256(after));
    assert_eq!((&a["gen"], &a["pwd"]), (&b["gen"], &b["pwd"]), "{what}");
    assert!(a["pwd"].is_string(), "{what}: {a}");
}

pub(crate) async fn rehash_and_legacy_upgrade_end_no_session(backend: Backend) {
    let weak = ["--argon2-memory-kib", "8", "--argon2-iterations", "1"];
    let mut args = vec!["--cluster-name", CLUSTER];
    args.extend(weak);
    let s = start(&backend, &args).await;
    let admin = format!("JWT {}", s.long_token(ADMIN, ADMIN_PW).await);

    // A legacy pre-hash: SHA-256 of username:cluster:password, upgraded at the first sign-in.
    let (legacy, legacy_pw) = ("legacy@example.test", "Legacy-Passw0rd-1!");
    let pre_hash: String = Sha256::digest(format!("{legacy}:{CLUSTER}:{legacy_pw}"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let created = s
        .post("/v1/users")
        .auth(&admin)
        .json(json!({"email": legacy, "password": pre_hash, "password_hash_method": "1", "role": "db_viewer"}))
        .status(200)
        .await;
    let legacy_uid = created["uid"].as_u64().unwrap();
    let date = issue_date(&s, legacy_uid).await;
    let first = s.long_token(legacy, legacy_pw).await;
    assert_eq!(
        rehashes(&s, legacy_uid),
        1,
        "the first sign-in upgrades the hash"
    );
    let second = s.long_token(legacy, legacy_pw).await;
    assert_eq!(rehashes(&s, legacy_uid), 1, "once");
    same_session_state(&first, &second, "across the legacy upgrade");
    assert_live(&s, &first, legacy_uid, "the token of the upgrading sign-in").await;
    assert_eq!(issue_date(&s, legacy_uid).await, date, "legacy upgrade");

    // An argon2id hash made with weak parameters, re-hashed after a restart with the default
    // ones: the token of before works on the new process too.
    let (user, user_pw) = ("rehash@example.test", "Rehash-Passw0rd-1!");
    let created = s
        .post("/v1/users")
        .auth(&admin)
        .json(json!({"email": user, "password": user_pw, "role": "db_viewer"}))
        .status(200)
        .await;
    let uid = created["uid"].as_u64().unwrap();
    let before = s.long_token(user, user_pw).await;
    let date = issue_date(&s, uid).await;
    let mut strong = base_args();
    strong.extend(["--cluster-name".to_owned(), CLUSTER.to_owned()]);
    let s = s.restart(&strong).await;
    assert_eq!(rehashes(&s, uid), 0);
    let after = s.long_token(user, user_pw).await;
    assert_eq!(
        rehashes(&s, uid),
        1,
        "the sign-in re-hashes with the new parameters"
    );
    same_session_state(&before, &after, "across the re-hash");
    assert_live(&s, &before, uid, "the token of before the re-hash").await;
    assert_live(&s, &after, uid, "the token of the re-hashing sign-in").await;
    assert_eq!(issue_date(&s, uid).await, date, "re-hash");
    assert_live(
        &s,
        &first,
        legacy_uid,
        "the legacy user's first token, after it all",
    )
    .await;
}
