//! User administration: create, list, show, update, delete, and who may do what.

use serde_json::{Value, json};

use crate::request::{Requests, user_path};
use crate::server_harness::Backend;
use crate::{ADMIN, ADMIN_PW, start};

pub(crate) async fn users_admin(backend: Backend) {
    let s = start(&backend, &[]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);

    // Create: 200 with Redis's user object, never a password or hash.
    let carol = s.post("/v1/users").auth(&admin).json(json!({"email": "carol@example.test", "password": "Carol-Passw0rd!", "name": "Carol", "role": "db_member", "email_alerts": true})).status(200).await;
    let uid = carol["uid"].as_u64().expect("local uids are integers");
    assert_eq!(carol["email"], "carol@example.test");
    assert_eq!(carol["name"], "Carol");
    assert_eq!(carol["role"], "db_member");
    assert_eq!(carol["status"], "active");
    assert_eq!(carol["auth_method"], "regular");
    assert!(
        carol["password_issue_date"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let text = carol.to_string();
    assert!(
        !text.contains("password\"")
            && !text.contains("argon2")
            && !text.contains("Carol-Passw0rd")
    );

    // Duplicates, bad input.
    let dup =
        json!({"email": "CAROL@example.test", "password": "x-Passw0rd!", "role": "db_viewer"});
    s.post("/v1/users")
        .auth(&admin)
        .json(dup)
        .expect(409, "email_already_exists")
        .await;
    s.post("/v1/users").auth(&admin).json(json!({"email": "x@example.test", "password": "x-Passw0rd!", "name": "Carol", "role": "db_viewer"})).expect(409, "name_already_exists").await;
    for bad in [
        json!({"email": "d@example.test", "password": "pw"}),
        json!({"email": "d@example.test", "role": "db_viewer"}),
        json!({"password": "pw", "role": "db_viewer"}),
        json!({"email": "d@example.test", "password": "pw", "role": "superuser"}),
        json!({"email": "d@example.test", "password": "pw", "role": 7}),
        json!({"email": "", "password": "pw", "role": "db_viewer"}),
    ] {
        let (st, body) = s
            .post("/v1/users")
            .auth(&admin)
            .json(bad.clone())
            .send()
            .await;
        assert_eq!(
            (st, body["error_code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }

    // Basic credentials work on the users API as on Redis's REST API.
    let res = s.get("/v1/users").basic(ADMIN, ADMIN_PW).response().await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);

    // A non-admin: 403 on admin routes, may read and rename themself.
    let carol_auth = format!(
        "Bearer {}",
        s.token("carol@example.test", "Carol-Passw0rd!").await
    );
    s.get("/v1/users")
        .auth(&carol_auth)
        .expect(403, "forbidden")
        .await;
    s.post("/v1/users")
        .auth(&carol_auth)
        .json(json!({"email": "e@example.test", "password": "pw", "role": "admin"}))
        .expect(403, "forbidden")
        .await;
    s.get(&user_path(uid)).auth(&carol_auth).status(200).await;
    s.get("/v1/users/1").auth(&carol_auth).status(403).await;
    let (st, body) = s
        .put(&user_path(uid))
        .auth(&carol_auth)
        .json(json!({"name": "Caroline"}))
        .send()
        .await;
    assert_eq!(
        (st, body["name"].as_str()),
        (200, Some("Caroline")),
        "{body}"
    );
    s.put(&user_path(uid))
        .auth(&carol_auth)
        .json(json!({"role": "admin"}))
        .status(403)
        .await;
    s.delete(&user_path(uid))
        .auth(&carol_auth)
        .status(403)
        .await;
    // Her own password, through PUT /v1/users/{uid}.
    s.put(&user_path(uid))
        .auth(&carol_auth)
        .json(json!({"password": "Carol-Passw0rd-2!"}))
        .status(200)
        .await;
    s.token("carol@example.test", "Carol-Passw0rd-2!").await;

    // Missing and invalid credentials on admin routes.
    s.get("/v1/users").expect(401, "unauthorized").await;
    s.get("/v1/users").auth("JWT garbage").status(401).await;

    // 404s.
    s.get("/v1/users/99999")
        .auth(&admin)
        .expect(404, "not_found")
        .await;
    s.get("/v1/users/not-a-number")
        .auth(&admin)
        .status(404)
        .await;
    s.put("/v1/users/99999")
        .auth(&admin)
        .json(json!({"name": "x"}))
        .status(404)
        .await;
    s.delete("/v1/users/99999").auth(&admin).status(404).await;

    // Update by the admin; malformed update bodies.
    let (st, body) = s
        .put(&user_path(uid))
        .auth(&admin)
        .json(json!({"role": "cluster_viewer", "email": "carol2@example.test"}))
        .send()
        .await;
    assert_eq!(
        (st, body["role"].as_str(), body["email"].as_str()),
        (200, Some("cluster_viewer"), Some("carol2@example.test"))
    );
    s.put(&user_path(uid))
        .auth(&admin)
        .json(json!({"status": "sleepy"}))
        .status(400)
        .await;
    s.put(&user_path(uid))
        .auth(&admin)
        .json(json!({"email": ADMIN}))
        .status(409)
        .await;
    let (st, bytes) = s
        .post_raw(
            &user_path(uid),
            Some("application/json"),
            "{}",
            Some(&admin),
        )
        .await;
    assert_eq!(st, 405, "{}", String::from_utf8_lossy(&bytes));

    // The last active admin can be neither demoted, disabled, locked nor deleted, by itself;
    // a disabled admin does not count.
    s.post("/v1/users")
        .auth(&admin)
        .json(json!({"email": "dora@example.test", "password": "Dora-Passw0rd!", "role": "admin"}))
        .status(200)
        .await;
    let dora = s.get("/v1/users").auth(&admin).status(200).await;
    let dora = dora
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "dora@example.test")
        .unwrap()["uid"]
        .as_u64()
        .unwrap();
    s.put(&user_path(dora))
        .auth(&admin)
        .json(json!({"status": "disabled"}))
        .status(200)
        .await;
    for change in [
        json!({"role": "db_viewer"}),
        json!({"status": "disabled"}),
        json!({"status": "locked"}),
        json!({"name": "Still Admin", "status": "disabled"}),
    ] {
        s.put("/v1/users/1")
            .auth(&admin)
            .json(change)
            .expect(406, "change_last_admin_role_not_allowed")
            .await;
    }
    let me = s.get("/v1/users/1").auth(&admin).status(200).await;
    assert_eq!(
        (me["role"].as_str(), me["status"].as_str()),
        (Some("admin"), Some("active")),
        "{me}"
    );
    assert_ne!(me["name"], "Still Admin", "a refused change writes nothing");
    s.delete(&user_path(dora)).auth(&admin).status(200).await;
    s.delete("/v1/users/1")
        .auth(&admin)
        .expect(406, "change_last_admin_role_not_allowed")
        .await;

    // Delete.
    let (st, body) = s.delete(&user_path(uid)).auth(&admin).send().await;
    assert_eq!((st, body), (200, json!({})));
    s.get(&user_path(uid)).auth(&admin).status(404).await;
}
