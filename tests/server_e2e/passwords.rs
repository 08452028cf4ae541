//! Password rotation, lockout and admin unlock, expiry, complexity.

use serde_json::json;

use crate::request::{Requests, user_path};
use crate::server_harness::Backend;
use crate::{ADMIN, ADMIN_PW, start};

pub(crate) async fn password_rotation(backend: Backend) {
    let s = start(&backend, &[]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    s.post("/v1/users")
        .auth(&admin)
        .json(
            json!({"email": "dan@example.test", "password": "old-Passw0rd!", "role": "db_viewer"}),
        )
        .status(200)
        .await;
    let change = |old: &str, new: Option<&str>| {
        let mut v = json!({"username": "dan@example.test", "old_password": old});
        if let Some(n) = new {
            v["new_password"] = json!(n);
        }
        v
    };
    let works = |pw: &'static str| {
        let s = &s;
        async move {
            let (st, _) = s.authorize("dan@example.test", pw).await;
            st == 200
        }
    };

    // Add a second password: both work.
    let (st, body) = s
        .post("/v1/users/password")
        .json(change("old-Passw0rd!", Some("new-Passw0rd!")))
        .send()
        .await;
    assert_eq!((st, &body), (200, &json!({})));
    assert!(works("old-Passw0rd!").await && works("new-Passw0rd!").await);
    // Adding one already held is refused.
    s.post("/v1/users/password")
        .json(change("old-Passw0rd!", Some("new-Passw0rd!")))
        .expect(400, "new_password_same_as_current")
        .await;
    // Remove the old one: only the new works.
    s.delete("/v1/users/password")
        .json(change("old-Passw0rd!", None))
        .status(200)
        .await;
    assert!(!works("old-Passw0rd!").await && works("new-Passw0rd!").await);
    // The last one cannot be removed.
    s.delete("/v1/users/password")
        .json(change("new-Passw0rd!", None))
        .expect(400, "cannot_delete_last_password")
        .await;
    // Replace all.
    s.post("/v1/users/password")
        .json(change("new-Passw0rd!", Some("third-Passw0rd!")))
        .status(200)
        .await;
    s.put("/v1/users/password")
        .json(change("new-Passw0rd!", Some("fourth-Passw0rd!")))
        .status(200)
        .await;
    assert!(
        !works("new-Passw0rd!").await
            && !works("third-Passw0rd!").await
            && works("fourth-Passw0rd!").await
    );
    s.put("/v1/users/password")
        .json(change("fourth-Passw0rd!", Some("fourth-Passw0rd!")))
        .expect(400, "new_password_same_as_current")
        .await;

    // Wrong old password and unknown user: the same 401 on every method.
    for method in ["PUT", "POST", "DELETE"] {
        let (st1, wrong) = s
            .call(method, "/v1/users/password")
            .json(change("nope", Some("x-Passw0rd!")))
            .send()
            .await;
        let mut ghost = change("nope", Some("x-Passw0rd!"));
        ghost["username"] = json!("ghost@example.test");
        let (st2, unknown) = s
            .call(method, "/v1/users/password")
            .json(ghost)
            .send()
            .await;
        assert_eq!((st1, st2), (401, 401), "{method}");
        assert_eq!(wrong, unknown, "{method}");
        assert_eq!(wrong["error_code"], "unauthorized");
    }
}

pub(crate) async fn lockout_and_admin_unlock(backend: Backend) {
    let s = start(
        &backend,
        &[
            "--login-lockout-threshold",
            "3",
            "--login-lockout-duration",
            "0",
        ],
    )
    .await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    let user = s
        .post("/v1/users")
        .auth(&admin)
        .json(
            json!({"email": "eve@example.test", "password": "Eve-Passw0rd!", "role": "db_viewer"}),
        )
        .status(200)
        .await;
    let uid = user["uid"].as_u64().unwrap();
    for _ in 0..3 {
        let (st, _) = s.authorize("eve@example.test", "wrong").await;
        assert_eq!(st, 401);
    }
    // Locked: even the right password is refused, with the same answer as a wrong one.
    let (st, body) = s.authorize("eve@example.test", "Eve-Passw0rd!").await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (st, body) = s.get(&user_path(uid)).auth(&admin).send().await;
    assert_eq!((st, body["status"].as_str()), (200, Some("locked")));
    // An admin password reset unlocks.
    let (st, body) = s
        .put(&user_path(uid))
        .auth(&admin)
        .json(json!({"password": "Eve-Passw0rd-2!"}))
        .send()
        .await;
    assert_eq!(
        (st, body["status"].as_str()),
        (200, Some("active")),
        "{body}"
    );
    s.token("eve@example.test", "Eve-Passw0rd-2!").await;
}

pub(crate) async fn expiry_and_rotation_of_expired(backend: Backend) {
    let s = start(&backend, &["--password-expiration-days", "90"]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    s.post("/v1/users")
        .auth(&admin)
        .json(
            json!({"email": "fay@example.test", "password": "Fay-Passw0rd!", "role": "db_viewer"}),
        )
        .status(200)
        .await;
    let fay = s.token("fay@example.test", "Fay-Passw0rd!").await;
    // Age Fay's password by 91 days, in the database.
    s.sql(&format!(
        "UPDATE authcore_passwords SET issued_at = {} \
         WHERE uid = (SELECT uid FROM authcore_users WHERE email_key = 'fay@example.test')",
        backend.old_timestamp()
    ))
    .await;
    let (st, body) = s.authorize("fay@example.test", "Fay-Passw0rd!").await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("password_expired"))
    );
    // Rewriting `issued_at` in the database changes the password's identity (a token's `pwd`
    // derives from the uid and the issue date), so Fay's token counts as minted with a password
    // she no longer holds. A password that expires with time, its token still refreshing to
    // `password_expired`, is `expiry_and_change_of_expired_password` of the conformance suite.
    s.post("/v1/users/refresh_jwt")
        .auth(&format!("JWT {fay}"))
        .expect(401, "unauthorized")
        .await;
    // A wrong password still says only "unauthorized".
    let (st, body) = s.authorize("fay@example.test", "nope").await;
    assert_eq!(
        (st, body["error_code"].as_str()),
        (401, Some("unauthorized"))
    );
    // The expired password still changes the password.
    s.put("/v1/users/password").json(json!({"username": "fay@example.test", "old_password": "Fay-Passw0rd!", "new_password": "Fay-Passw0rd-2!"})).status(200).await;
    s.token("fay@example.test", "Fay-Passw0rd-2!").await;
}

pub(crate) async fn complexity(backend: Backend) {
    let s = start(&backend, &["--password-complexity"]).await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    s.post("/v1/users")
        .auth(&admin)
        .json(json!({"email": "gus@example.test", "password": "weak", "role": "db_viewer"}))
        .expect(400, "password_not_complex")
        .await;
    s.post("/v1/users")
        .auth(&admin)
        .json(
            json!({"email": "gus@example.test", "password": "Str0ng-Enough!", "role": "db_viewer"}),
        )
        .status(200)
        .await;
    s.post("/v1/users/password").json(json!({"username": "gus@example.test", "old_password": "Str0ng-Enough!", "new_password": "weak"})).expect(400, "password_not_complex").await;
}

/// Issue #8 item 3: a new password shorter than `--password-min-length` (default 8) is 400
/// `password_not_complex` even with complexity off, and a user holds at most 3 passwords by
/// default: one more is 400 `too_many_passwords`, also when ten additions arrive at once.
pub(crate) async fn min_length_and_password_cap(backend: Backend) {
    let s = std::sync::Arc::new(start(&backend, &[]).await);
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    let user = |email: &str, password: &str| json!({"email": email, "password": password, "role": "db_viewer"});
    s.post("/v1/users")
        .auth(&admin)
        .json(user("hal@example.test", "seven77"))
        .expect(400, "password_not_complex")
        .await;
    s.post("/v1/users")
        .auth(&admin)
        .json(user("hal@example.test", "eight888"))
        .status(200)
        .await;
    let change = |new: &str| json!({"username": "hal@example.test", "old_password": "eight888", "new_password": new});
    s.put("/v1/users/password")
        .json(change("short"))
        .expect(400, "password_not_complex")
        .await;
    s.post("/v1/users/password")
        .json(change("short"))
        .expect(400, "password_not_complex")
        .await;

    // The cap: 1 + 2 added = 3; a fourth is refused and changes nothing.
    s.post("/v1/users/password")
        .json(change("second-pw"))
        .status(200)
        .await;
    s.post("/v1/users/password")
        .json(change("third-pw"))
        .status(200)
        .await;
    s.post("/v1/users/password")
        .json(change("fourth-pw"))
        .expect(400, "too_many_passwords")
        .await;
    for pw in ["eight888", "second-pw", "third-pw"] {
        s.token("hal@example.test", pw).await;
    }
    let (st, _) = s
        .post("/v1/users/authorize")
        .json(json!({"username": "hal@example.test", "password": "fourth-pw"}))
        .send()
        .await;
    assert_eq!(st, 401, "the refused password was not stored");
    // After a removal there is room again.
    s.delete("/v1/users/password")
        .json(json!({"username": "hal@example.test", "old_password": "second-pw"}))
        .status(200)
        .await;
    s.post("/v1/users/password")
        .json(change("fourth-pw"))
        .status(200)
        .await;

    // Ten additions at once for a user with one password: exactly two pass.
    s.post("/v1/users")
        .auth(&admin)
        .json(user("ivy@example.test", "Ivy-first-pw"))
        .status(200)
        .await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (s, barrier) = (std::sync::Arc::clone(&s), std::sync::Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                let body = json!({"username": "ivy@example.test", "old_password": "Ivy-first-pw", "new_password": format!("Ivy-new-pw-{i}")});
                s.post("/v1/users/password").json(body).send().await
            })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        let (st, body) = task.await.unwrap();
        match (st, body["error_code"].as_str()) {
            (200, _) => added += 1,
            (400, Some("too_many_passwords")) => {}
            other => panic!("unexpected answer {other:?}: {body}"),
        }
    }
    assert_eq!(added, 2, "1 held + 2 added = the cap of 3");

    // --password-min-length 0 turns the minimum off; --max-passwords-per-user moves the cap.
    let s = start(
        &backend,
        &[
            "--password-min-length",
            "0",
            "--max-passwords-per-user",
            "2",
        ],
    )
    .await;
    let admin = format!("JWT {}", s.token(ADMIN, ADMIN_PW).await);
    s.post("/v1/users")
        .auth(&admin)
        .json(user("jo@example.test", "abc"))
        .status(200)
        .await;
    let change = |new: &str| json!({"username": "jo@example.test", "old_password": "abc", "new_password": new});
    s.post("/v1/users/password")
        .json(change("de"))
        .status(200)
        .await;
    s.post("/v1/users/password")
        .json(change("fgh"))
        .expect(400, "too_many_passwords")
        .await;
}
