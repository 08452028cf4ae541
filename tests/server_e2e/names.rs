//! Issue #8 item 4 from outside: a user's name is optional and never the e-mail, so renaming
//! oneself tells nothing about which e-mails have accounts; a clash is still 409, with one
//! winner among renames sent at once.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::request::{Requests, user_path};
use crate::server_harness::{Backend, Server};
use crate::{ADMIN, ADMIN_PW, start};

const RACERS: usize = 16;

/// A user without a name as `GET /v1/users/{uid}` shows it: no `name` field at all.
fn assert_nameless(user: &Value) {
    assert!(user.is_object(), "{user}");
    assert!(
        user.get("name").is_none(),
        "a name that was never given: {user}"
    );
}

async fn create(s: &Server, admin: &str, email: &str, password: &str) -> u64 {
    let created = s
        .post("/v1/users")
        .auth(admin)
        .json(json!({"email": email, "password": password, "role": "db_viewer"}))
        .status(200)
        .await;
    assert_nameless(&created);
    created["uid"].as_u64().unwrap()
}

/// The first admin (from the environment) and users created without a name have none, in
/// every answer; any signed-in user may rename themselves to an e-mail, whether or not it has
/// an account (both 200); a name another user chose is 409 `name_already_exists`; 16 users
/// renaming themselves to one name at the same instant: one 200, fifteen 409.
pub(crate) async fn names_are_optional_and_not_logins(backend: Backend) {
    // Cheap hashing: 36 passwords are hashed or checked here, and the cost is not the point.
    let s = start(
        &backend,
        &["--argon2-memory-kib", "8", "--argon2-iterations", "1"],
    )
    .await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    let users = s.get("/v1/users").auth(&admin).status(200).await;
    let first = users.as_array().unwrap();
    assert_eq!(first.len(), 1);
    assert_nameless(&first[0]);
    let admin_uid = first[0]["uid"].as_u64().unwrap();

    let ann = create(&s, &admin, "ann@example.test", "Ann-Passw0rd-1").await;
    let bob = create(&s, &admin, "bob@example.test", "Bob-Passw0rd-1").await;
    for uid in [ann, bob] {
        assert_nameless(&s.get(&user_path(uid)).auth(&admin).status(200).await);
    }

    // Renaming oneself to an e-mail that has an account and to one that has none: the same
    // answer, so the rename tells nothing.
    let bob_auth = format!(
        "JWT {}",
        s.token("bob@example.test", "Bob-Passw0rd-1").await
    );
    for name in ["nobody@example.test", ADMIN] {
        let renamed = s
            .put(&user_path(bob))
            .auth(&bob_auth)
            .json(json!({"name": name}))
            .status(200)
            .await;
        assert_eq!(renamed["name"], name);
    }
    // Now bob chose that name: it is taken, for anyone, the admin whose e-mail it is included.
    let ann_auth = format!(
        "JWT {}",
        s.token("ann@example.test", "Ann-Passw0rd-1").await
    );
    s.put(&user_path(ann))
        .auth(&ann_auth)
        .json(json!({"name": ADMIN}))
        .expect(409, "name_already_exists")
        .await;
    s.put(&user_path(admin_uid))
        .auth(&admin)
        .json(json!({"name": ADMIN}))
        .expect(409, "name_already_exists")
        .await;
    assert_nameless(&s.get(&user_path(ann)).auth(&admin).status(200).await);

    // Simultaneous renames to one name.
    let mut racers = Vec::with_capacity(RACERS);
    for i in 0..RACERS {
        let email = format!("racer-{i}@example.test");
        let uid = create(&s, &admin, &email, "Racer-Passw0rd-1").await;
        racers.push((
            uid,
            format!("JWT {}", s.token(&email, "Racer-Passw0rd-1").await),
        ));
    }
    let client = reqwest::Client::new();
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for (uid, auth) in racers.clone() {
        let (client, barrier, url) = (client.clone(), Arc::clone(&barrier), s.url(&user_path(uid)));
        tasks.spawn(async move {
            barrier.wait().await;
            let res = client
                .put(url)
                .header("authorization", auth)
                .json(&json!({"name": "The Contested Name"}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (uid, status, res.json::<Value>().await.unwrap())
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (uid, status, body) = joined.unwrap();
        match status {
            200 => winners.push(uid),
            409 => assert_eq!(body["error_code"], "name_already_exists", "{body}"),
            other => panic!("uid {uid}: {other} {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rename wins: {winners:?}");
    for (uid, _) in &racers {
        let user = s.get(&user_path(uid)).auth(&admin).status(200).await;
        if *uid == winners[0] {
            assert_eq!(user["name"], "The Contested Name");
        } else {
            assert_nameless(&user);
        }
    }
}
