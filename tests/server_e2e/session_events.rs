//! Issue #9 item 1 against the binary, event by event, starting with the issue's own
//! reproduction: a token issued before the owner's password change (`PUT /v1/users/password`),
//! or before an admin's reset (`PUT /v1/users/{uid}` with `password`), must no longer refresh
//! nor read the user's record; a token minted right after the change works (most often in the
//! same second; the conformance suite holds the clock still for that). What is no password or
//! account change ends nothing.

use serde_json::{Value, json};

use crate::request::{Requests, user_path};
use crate::server_harness::{Backend, Server};
use crate::{ADMIN, ADMIN_PW, decode_hs256, start};

const PW1: &str = "Event-Passw0rd-1!";
const PW2: &str = "Event-Passw0rd-2!";
const PW3: &str = "Event-Passw0rd-3!";
const PW4: &str = "Event-Passw0rd-4!";

/// `refresh_jwt` and `GET /v1/users/{uid}` (the user's own record) with `token`, under both
/// schemes: the four statuses.
async fn use_token(s: &Server, token: &str, uid: u64) -> Vec<u16> {
    let mut statuses = Vec::new();
    for scheme in ["JWT", "Bearer"] {
        let auth = format!("{scheme} {token}");
        statuses.push(s.post("/v1/users/refresh_jwt").auth(&auth).send().await.0);
        statuses.push(s.get(&user_path(uid)).auth(&auth).send().await.0);
    }
    statuses
}

async fn assert_live(s: &Server, token: &str, uid: u64, what: &str) {
    assert_eq!(use_token(s, token, uid).await, [200; 4], "{what}");
}

async fn assert_ended(s: &Server, token: &str, uid: u64, what: &str) {
    assert_eq!(use_token(s, token, uid).await, [401; 4], "{what}");
}

/// `PUT /v1/users/{uid}` by the admin with `body`; 200.
async fn admin_put(s: &Server, admin: &str, uid: u64, body: Value) {
    s.put(&user_path(uid))
        .auth(admin)
        .json(body)
        .status(200)
        .await;
}

pub(crate) async fn each_event_ends_exactly_its_sessions(backend: Backend) {
    let s = start(&backend, &["--login-lockout-threshold", "2"]).await;
    let admin = format!("JWT {}", s.long_token(ADMIN, ADMIN_PW).await);
    let email = "events@example.test";
    let created = s
        .post("/v1/users")
        .auth(&admin)
        .json(json!({"email": email, "password": PW1, "role": "db_viewer"}))
        .status(200)
        .await;
    let uid = created["uid"].as_u64().unwrap();

    // The owner replaces the passwords: the old token ends, a sign-in right after works.
    let before = s.long_token(email, PW1).await;
    assert_live(&s, &before, uid, "before any change").await;
    s.put("/v1/users/password")
        .json(json!({"username": email, "old_password": PW1, "new_password": PW2}))
        .status(200)
        .await;
    let after = s.long_token(email, PW2).await;
    assert_ended(&s, &before, uid, "after PUT /v1/users/password").await;
    assert_live(&s, &after, uid, "minted right after PUT /v1/users/password").await;
    assert!(
        decode_hs256(&after)["gen"].as_u64() > decode_hs256(&before)["gen"].as_u64(),
        "the epoch advanced"
    );

    // An added password ends nothing; removing one ends only the sessions it started.
    s.post("/v1/users/password")
        .json(json!({"username": email, "old_password": PW2, "new_password": PW3}))
        .status(200)
        .await;
    assert_live(&s, &after, uid, "after POST /v1/users/password").await;
    let with3 = s.long_token(email, PW3).await;
    assert_ne!(decode_hs256(&with3)["pwd"], decode_hs256(&after)["pwd"]);
    assert_eq!(decode_hs256(&with3)["gen"], decode_hs256(&after)["gen"]);
    s.delete("/v1/users/password")
        .json(json!({"username": email, "old_password": PW2}))
        .status(200)
        .await;
    assert_ended(&s, &after, uid, "its password removed").await;
    assert_live(&s, &with3, uid, "the other password's session").await;

    // An admin's reset: the same as the owner's change.
    admin_put(&s, &admin, uid, json!({"password": PW4})).await;
    let reset = s.long_token(email, PW4).await;
    assert_ended(&s, &with3, uid, "after the admin's reset").await;
    assert_live(&s, &reset, uid, "minted right after the admin's reset").await;

    // Renaming, and a PUT that changes nothing of role or status, end nothing.
    admin_put(&s, &admin, uid, json!({"name": "Renamed"})).await;
    admin_put(
        &s,
        &admin,
        uid,
        json!({"role": "db_viewer", "status": "active"}),
    )
    .await;
    assert_live(&s, &reset, uid, "after a rename and a no-op role/status").await;

    // A role change ends every session; so does a status change, even when undone.
    admin_put(&s, &admin, uid, json!({"role": "db_member"})).await;
    assert_ended(&s, &reset, uid, "after a role change").await;
    let member = s.long_token(email, PW4).await;
    assert_eq!(decode_hs256(&member)["role"], "db_member");
    admin_put(&s, &admin, uid, json!({"status": "disabled"})).await;
    admin_put(&s, &admin, uid, json!({"status": "active"})).await;
    assert_ended(&s, &member, uid, "after disabled and active again").await;

    // A lockout stops sign-ins, not the live session.
    let live = s.long_token(email, PW4).await;
    for _ in 0..2 {
        let (st, _) = s.authorize(email, "wrong").await;
        assert_eq!(st, 401);
    }
    let (st, _) = s.authorize(email, PW4).await;
    assert_eq!(st, 401, "locked out");
    assert_live(&s, &live, uid, "through a lockout").await;

    // Deletion ends it.
    s.delete(&user_path(uid)).auth(&admin).status(200).await;
    assert_ended(&s, &live, uid, "after the deletion").await;
    assert_live(&s, &admin["JWT ".len()..], 1, "the admin who did it all").await;
}
