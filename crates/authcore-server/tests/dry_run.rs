//! `PUT /v1/cluster?dry_run` (and `/v1/cluster/policy`) against the real `authcore serve`:
//! the same validation and 400 answers as the real PUT, 200 with nothing saved (read back
//! here and through a second server process on the same database); `dry_run` refused on the
//! user routes rather than ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{ADMIN, ADMIN_PW, FAST_ARGON2, Server, TempDir, add_user};
use serde_json::{Value, json};

const PW: &str = "Some-Passw0rd!";

fn lifetime(token: &str) -> i64 {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&bytes).unwrap();
    claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_validates_like_the_real_put_and_saves_nothing() {
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    add_user(&dir, &db, "ann@example.org", "db_viewer", PW);
    add_user(&dir, &db, "bob@example.org", "db_viewer", PW);
    let mut args = vec![
        "--database-url",
        db.as_str(),
        "--login-lockout-threshold",
        "5",
    ];
    args.extend(FAST_ARGON2);
    let a = Server::start(&dir, &args, &[]);
    let b = Server::start(&dir, &args, &[]);
    let admin = a.token(ADMIN, ADMIN_PW).await;
    let admin_b = b.token(ADMIN, ADMIN_PW).await;
    let viewer = a.token("ann@example.org", PW).await;

    let (st, cluster_before) = a.request("GET", "/v1/cluster", Some(&admin), None).await;
    assert_eq!(st, 200);
    assert_eq!(
        cluster_before,
        json!({"password_complexity": false, "password_expiration_duration": 0})
    );
    let (st, policy_before) = a
        .request("GET", "/v1/cluster/policy", Some(&admin), None)
        .await;
    assert_eq!(st, 200);

    // Every spelling of a dry run: 200 with the object as it would stand, nothing saved.
    let change = json!({"password_complexity": true, "password_expiration_duration": 30});
    let preview = json!({"password_complexity": true, "password_expiration_duration": 30});
    for query in [
        "dry_run",
        "dry_run=",
        "dry_run=true",
        "dry_run=TRUE",
        "dry_run=1",
        "other=x&dry_run",
        "dry%5Frun=%31",
    ] {
        let path = format!("/v1/cluster?{query}");
        let (st, answer) = a.request("PUT", &path, Some(&admin), Some(&change)).await;
        assert_eq!((st, &answer), (200, &preview), "PUT {path}");
        for (server, token) in [(&a, &admin), (&b, &admin_b)] {
            let (st, now) = server
                .request("GET", "/v1/cluster", Some(token), None)
                .await;
            assert_eq!((st, &now), (200, &cluster_before), "after PUT {path}");
        }
    }
    // A partial dry run previews the other fields as stored.
    let (st, answer) = a
        .request(
            "PUT",
            "/v1/cluster?dry_run",
            Some(&admin),
            Some(&json!({"password_expiration_duration": 7, "cm_session_timeout_minutes": 20})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        answer,
        json!({"password_complexity": false, "password_expiration_duration": 7})
    );

    // Validation: exactly the real PUT's answers (statuses, codes and messages).
    for bad in [
        json!({"password_expiration_duration": -1}),
        json!({"password_expiration_duration": "30"}),
        json!({"password_complexity": null}),
        json!({"no_such_field": 1}),
        json!({"login_lockout_threshold": 3}),
        json!([1, 2]),
    ] {
        let (real_st, real) = a
            .request("PUT", "/v1/cluster", Some(&admin), Some(&bad))
            .await;
        let (dry_st, dry) = a
            .request("PUT", "/v1/cluster?dry_run", Some(&admin), Some(&bad))
            .await;
        assert_eq!(real_st, 400, "{bad}: {real}");
        assert_eq!(real["error_code"], "invalid_request", "{bad}");
        assert_eq!((dry_st, &dry), (real_st, &real), "{bad}");
    }
    // Malformed JSON and a missing body, as the real PUT.
    let res = a
        .client
        .put(a.url("/v1/cluster?dry_run=1"))
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);

    // The permission comes first: a viewer gets 403 with or without dry_run.
    let (st, answer) = a
        .request("PUT", "/v1/cluster?dry_run", Some(&viewer), Some(&change))
        .await;
    assert_eq!(
        (st, answer["error_code"].as_str()),
        (403, Some("forbidden"))
    );
    let (st, _) = a
        .request("PUT", "/v1/cluster?dry_run", None, Some(&change))
        .await;
    assert_eq!(st, 401);

    // A value that is neither a yes nor a no, or the parameter twice: 400, nothing saved.
    for query in [
        "dry_run=yes",
        "dry_run=2",
        "dry_run=%ff",
        "dry_run&dry_run=0",
    ] {
        let path = format!("/v1/cluster?{query}");
        let (st, answer) = a.request("PUT", &path, Some(&admin), Some(&change)).await;
        assert_eq!(st, 400, "PUT {path}: {answer}");
        assert_eq!(answer["error_code"], "invalid_request", "PUT {path}");
    }
    let (_, now) = b.request("GET", "/v1/cluster", Some(&admin_b), None).await;
    assert_eq!(now, cluster_before);

    // The user routes Redis's later docs give dry_run refuse it rather than write.
    let new_user = json!({"email": "carol@example.org", "password": PW, "role": "db_viewer"});
    let (st, answer) = a
        .request("POST", "/v1/users?dry_run", Some(&admin), Some(&new_user))
        .await;
    assert_eq!(
        (st, answer["error_code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (st, answer) = a
        .request(
            "PUT",
            "/v1/users/2?dry_run=1",
            Some(&admin),
            Some(&json!({"name": "Ann"})),
        )
        .await;
    assert_eq!(
        (st, answer["error_code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (_, users) = a.request("GET", "/v1/users", Some(&admin), None).await;
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 3, "{users:?}");
    assert!(users.iter().all(|u| u["email"] != "carol@example.org"));
    assert!(users.iter().all(|u| u["name"] != "Ann"));

    // dry_run=false and =0 are ordinary PUTs.
    let (st, _) = a
        .request(
            "PUT",
            "/v1/cluster?dry_run=false",
            Some(&admin),
            Some(&json!({"password_expiration_duration": 30})),
        )
        .await;
    assert_eq!(st, 200);
    let (_, now) = b.request("GET", "/v1/cluster", Some(&admin_b), None).await;
    assert_eq!(now["password_expiration_duration"], 30);
    let (st, now) = a
        .request(
            "PUT",
            "/v1/cluster?dry_run=0",
            Some(&admin),
            Some(&json!({"password_expiration_duration": 0})),
        )
        .await;
    assert_eq!((st, &now), (200, &cluster_before));

    // In force, not only stored: a dry run of a lockout threshold of 1 on /v1/cluster/policy,
    // then a real change (a session lifetime cap) that server B must pick up. Once B follows
    // the later real change, the dry run's threshold would be in force there too if it had
    // been written: one failed sign-in must not lock bob out.
    let (st, answer) = a
        .request(
            "PUT",
            "/v1/cluster/policy?dry_run",
            Some(&admin),
            Some(&json!({"login_lockout_threshold": 1})),
        )
        .await;
    assert_eq!(st, 200, "{answer}");
    assert_eq!(answer["login_lockout_threshold"], 1);
    let (st, _) = a
        .request(
            "PUT",
            "/v1/cluster/policy",
            Some(&admin),
            Some(&json!({"max_session_lifetime": 120})),
        )
        .await;
    assert_eq!(st, 200);
    let changed = Instant::now();
    loop {
        let body = json!({"username": "ann@example.org", "password": PW, "ttl": 3600});
        let (st, answer) = b
            .request("POST", "/v1/users/authorize", None, Some(&body))
            .await;
        assert_eq!(st, 200, "{answer}");
        if lifetime(answer["access_token"].as_str().unwrap()) <= 120 {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(5),
            "server B never picked up the real change"
        );
    }
    assert_eq!(b.sign_in("bob@example.org", "wrong-password").await, 401);
    assert_eq!(
        b.sign_in("bob@example.org", PW).await,
        200,
        "one failure locked bob out"
    );
    let (_, policy_now) = b
        .request("GET", "/v1/cluster/policy", Some(&admin_b), None)
        .await;
    let mut expected = policy_before;
    expected["max_session_lifetime"] = json!(120);
    assert_eq!(policy_now, expected);
}
