//! Sessions over HTTP: `POST /v1/users/logout` (both schemes, every body), a logout racing a
//! refresh, and two server processes on one PostgreSQL database agreeing on what ended.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::request::{Requests, user_path};
use crate::server_harness::{Backend, Server};
use crate::{ADMIN, ADMIN_PW, base_args, decode_hs256, sign_hs256, start, unix_now};

const LOGOUT: &str = "/v1/users/logout";
const REFRESH: &str = "/v1/users/refresh_jwt";

/// `POST /v1/users/logout` with `authorization`, then the body as given: `None` sends no body
/// at all, `Some(text)` sends it as `application/json`.
async fn logout(s: &Server, authorization: &str, body: Option<&str>) -> (u16, Value) {
    let mut req = s
        .client
        .post(s.url(LOGOUT))
        .header("authorization", authorization);
    if let Some(text) = body {
        req = req
            .header("content-type", "application/json")
            .body(text.to_owned());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// The token works under both schemes: refresh_jwt answers 200 and a users-API route
/// (`GET /v1/users`) too.
async fn assert_works(s: &Server, token: &str, what: &str) {
    for scheme in ["JWT", "Bearer"] {
        let auth = format!("{scheme} {token}");
        let (st, body) = s.post(REFRESH).auth(&auth).send().await;
        assert_eq!(st, 200, "{what}: {scheme}: refresh_jwt: {body}");
        let (st, body) = s.get("/v1/users").auth(&auth).send().await;
        assert_eq!(st, 200, "{what}: {scheme}: GET /v1/users: {body}");
    }
}

/// The token is refused with 401 `unauthorized`, under both schemes, by refresh_jwt and by
/// every users-API route that takes a token (the admin's uid 1 as the target; the writes
/// would succeed with a live admin token).
async fn assert_refused(s: &Server, token: &str, what: &str) {
    for scheme in ["JWT", "Bearer"] {
        let auth = format!("{scheme} {token}");
        let calls = [
            s.post(REFRESH),
            s.get("/v1/users"),
            s.post("/v1/users").json(json!({
                "email": "never-created@example.test", "password": "Never-Passw0rd!", "role": "db_viewer"
            })),
            s.get(&user_path(1)),
            s.put(&user_path(1)).json(json!({"name": "never renamed"})),
            s.delete(&user_path(999_999)),
        ];
        for call in calls {
            let (st, body) = call.auth(&auth).send().await;
            assert_eq!(
                (st, body["error_code"].as_str()),
                (401, Some("unauthorized")),
                "{what}: {scheme}: {body}"
            );
        }
    }
}

/// Each scheme (`JWT`, `Bearer`) with each body (none, `{}`): 200 `{}`, then that token gets
/// 401 from refresh_jwt and users-API routes while another token of the same user keeps
/// working. `{"all": true}` ends every token of the caller; a later sign-in works.
pub(crate) async fn logout_over_http(backend: Backend) {
    let s = start(&backend, &[]).await;
    let keeper = s.token(ADMIN, ADMIN_PW).await;
    for scheme in ["JWT", "Bearer"] {
        for body in [None, Some("{}")] {
            let what = format!("{scheme} with body {body:?}");
            let token = s.token(ADMIN, ADMIN_PW).await;
            assert_works(&s, &token, &what).await;
            let (st, answer) = logout(&s, &format!("{scheme} {token}"), body).await;
            assert_eq!((st, &answer), (200, &json!({})), "{what}");
            assert_refused(&s, &token, &what).await;
            // Logging out again is refused like any other use of the token.
            let (st, _) = logout(&s, &format!("{scheme} {token}"), body).await;
            assert_eq!(st, 401, "{what}: second logout");
            assert_works(&s, &keeper, &format!("{what}: another token")).await;
        }
    }
    // A token refreshed from the logged-out one belongs to its session and ends with it.
    let token = s.token(ADMIN, ADMIN_PW).await;
    let child = s
        .post(REFRESH)
        .auth(&format!("JWT {token}"))
        .status(200)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, _) = logout(&s, &format!("Bearer {token}"), None).await;
    assert_eq!(st, 200);
    assert_refused(&s, &child, "a token refreshed from a logged-out one").await;
    assert_works(&s, &keeper, "another session").await;

    // Sign out everywhere.
    let (a, b) = (
        s.token(ADMIN, ADMIN_PW).await,
        s.token(ADMIN, ADMIN_PW).await,
    );
    let (st, answer) = logout(&s, &format!("JWT {a}"), Some(r#"{"all": true}"#)).await;
    assert_eq!((st, &answer), (200, &json!({})));
    for (token, what) in [
        (&a, "its own token"),
        (&b, "another"),
        (&keeper, "the keeper"),
    ] {
        assert_refused(&s, token, &format!("all: {what}")).await;
    }
    assert_works(&s, &s.token(ADMIN, ADMIN_PW).await, "a later sign-in").await;
    // `{"all": false}` is a plain logout.
    let (c, d) = (
        s.token(ADMIN, ADMIN_PW).await,
        s.token(ADMIN, ADMIN_PW).await,
    );
    let (st, _) = logout(&s, &format!("JWT {c}"), Some(r#"{"all": false}"#)).await;
    assert_eq!(st, 200);
    assert_refused(&s, &c, "all: false").await;
    assert_works(&s, &d, "all: false, another token").await;
    // No token, or Basic credentials, is no logout.
    let (st, _) = logout(&s, &format!("JWT {d}x"), None).await;
    assert_eq!(st, 401);
    s.post(LOGOUT).basic(ADMIN, ADMIN_PW).status(401).await;
    s.post(LOGOUT).status(401).await;
    assert_works(&s, &d, "after refused logouts").await;
}

/// `rounds` times, over HTTP: a new sign-in, then `refresh_jwt` and `logout` of its token
/// released at the same instant. Once both answered, the logged-out token and whatever token
/// the refresh handed out (when it won the race) get 401 everywhere; a session that was not
/// logged out keeps working.
pub(crate) async fn logout_racing_refresh(backend: Backend) {
    let s = Arc::new(start(&backend, &[]).await);
    let bystander = s.token(ADMIN, ADMIN_PW).await;
    let (mut won, rounds) = (0, 30);
    for round in 0..rounds {
        let token = s.token(ADMIN, ADMIN_PW).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let refresh = {
            let (s, barrier, token) = (Arc::clone(&s), Arc::clone(&barrier), token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.post(REFRESH).auth(&format!("JWT {token}")).send().await
            })
        };
        let out = {
            let (s, barrier, token) = (Arc::clone(&s), Arc::clone(&barrier), token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                logout(&s, &format!("JWT {token}"), None).await
            })
        };
        let ((refresh_status, refreshed), (logout_status, _)) =
            (refresh.await.unwrap(), out.await.unwrap());
        assert_eq!(logout_status, 200, "round {round}");
        assert_refused(&s, &token, &format!("round {round}: the logged-out token")).await;
        match refresh_status {
            200 => {
                won += 1;
                let issued = refreshed["access_token"].as_str().unwrap();
                assert_refused(&s, issued, &format!("round {round}: the raced refresh")).await;
            }
            401 => {}
            other => panic!("round {round}: refresh answered {other}: {refreshed}"),
        }
    }
    assert_works(&s, &bystander, "a session that was not logged out").await;
    eprintln!("logout_racing_refresh: the refresh answered 200 in {won} of {rounds} rounds");
}

/// Item 5 of issue #9: two server processes on one PostgreSQL database. A logout, a password
/// change and a demotion through one are honoured by the other at once: the very next
/// request to it, with nothing cached in between.
pub(crate) async fn two_servers_share_sessions(backend: Backend) {
    let env = [
        ("AUTHCORE_ADMIN_EMAIL", ADMIN),
        ("AUTHCORE_ADMIN_PASSWORD", ADMIN_PW),
    ];
    let a = start(&backend, &[]).await;
    let b = a.start_sharing(&base_args(), &env).await;
    let admin = format!("JWT {}", a.token(ADMIN, ADMIN_PW).await);

    // A logout through A: B refuses that token at once, and still takes another one.
    let (t1, t2) = (
        a.token(ADMIN, ADMIN_PW).await,
        b.token(ADMIN, ADMIN_PW).await,
    );
    assert_works(&b, &t1, "before the logout").await;
    let (st, _) = logout(&a, &format!("JWT {t1}"), None).await;
    assert_eq!(st, 200);
    assert_refused(&b, &t1, "logged out through the other server").await;
    assert_works(&b, &t2, "another token, on the other server").await;
    // And the other way round, for sign out everywhere.
    let t3 = a.token(ADMIN, ADMIN_PW).await;
    let (st, _) = logout(&b, &format!("JWT {t2}"), Some(r#"{"all": true}"#)).await;
    assert_eq!(st, 200);
    assert_refused(&a, &t3, "signed out everywhere through the other server").await;
    assert_refused(&a, &admin["JWT ".len()..], "the admin's first token").await;
    let admin = format!("JWT {}", a.token(ADMIN, ADMIN_PW).await);

    // A password change through A: B refuses the tokens and the Basic credentials of before.
    let eve = a
        .post("/v1/users")
        .auth(&admin)
        .json(json!({"email": "eve@example.test", "password": "Eve-Passw0rd-1!", "role": "admin"}))
        .status(200)
        .await;
    let eve_uid = eve["uid"].as_u64().unwrap();
    let eve_on_b = b.token("eve@example.test", "Eve-Passw0rd-1!").await;
    b.get("/v1/users")
        .basic("eve@example.test", "Eve-Passw0rd-1!")
        .status(200)
        .await;
    a.put("/v1/users/password")
        .json(json!({"username": "eve@example.test", "old_password": "Eve-Passw0rd-1!", "new_password": "Eve-Passw0rd-2!"}))
        .status(200)
        .await;
    assert_refused(&b, &eve_on_b, "after a password change on the other server").await;
    b.get("/v1/users")
        .basic("eve@example.test", "Eve-Passw0rd-1!")
        .status(401)
        .await;
    b.get("/v1/users")
        .basic("eve@example.test", "Eve-Passw0rd-2!")
        .status(200)
        .await;

    // A demotion through A: Eve's admin token is refused by B at once, and a token she gets
    // from B afterwards carries the new role and no admin rights.
    let eve_admin = b.token("eve@example.test", "Eve-Passw0rd-2!").await;
    b.get("/v1/users")
        .auth(&format!("JWT {eve_admin}"))
        .status(200)
        .await;
    a.put(&user_path(eve_uid))
        .auth(&admin)
        .json(json!({"role": "db_viewer"}))
        .status(200)
        .await;
    assert_refused(&b, &eve_admin, "after a demotion on the other server").await;
    let eve_viewer = b.token("eve@example.test", "Eve-Passw0rd-2!").await;
    assert_eq!(crate::decode_hs256(&eve_viewer)["role"], "db_viewer");
    b.get("/v1/users")
        .auth(&format!("JWT {eve_viewer}"))
        .expect(403, "forbidden")
        .await;
}

/// What the issue leaves to the server, answered the way a client can rely on: a logout that
/// is refused ends nothing. An expired token (past its `exp` and the verifier's 5 s leeway)
/// and a logged-out one get 401; a body that is not JSON by its `Content-Type`, or that names
/// anything but a boolean `all`, gets 400 `invalid_request` (a misspelt `all` must not quietly
/// end less than asked); in each case the token presented still works afterwards.
pub(crate) async fn logout_edge_cases(backend: Backend) {
    let s = start(&backend, &[]).await;
    let token = s.token(ADMIN, ADMIN_PW).await;
    let other = s.token(ADMIN, ADMIN_PW).await;

    // Expired: the same claims, minted 10 minutes ago for 300 s.
    let mut claims = decode_hs256(&token);
    let then = unix_now() - 600;
    claims["iat"] = json!(then);
    claims["nbf"] = json!(then);
    claims["exp"] = json!(then + 300);
    let expired = sign_hs256(&token, &claims);
    for scheme in ["JWT", "Bearer"] {
        for body in [None, Some("{}"), Some(r#"{"all": true}"#)] {
            let (st, answer) = logout(&s, &format!("{scheme} {expired}"), body).await;
            assert_eq!(
                (st, answer["error_code"].as_str()),
                (401, Some("unauthorized")),
                "expired, {scheme}, {body:?}"
            );
        }
    }
    assert_works(&s, &token, "after logouts with an expired copy").await;

    // Bodies that are refused.
    let bearer = format!("Bearer {token}");
    for (content_type, body) in [
        (None, "{}"),
        (Some("text/plain"), "{}"),
        (
            Some("application/x-www-form-urlencoded"),
            r#"{"all": true}"#,
        ),
        (Some("application/json"), r#"{"al": true}"#),
        (
            Some("application/json"),
            r#"{"all": true, "everywhere": true}"#,
        ),
        (Some("application/json"), r#"{"all": "true"}"#),
        (Some("application/json"), r#"{"all": 1}"#),
        (Some("application/json"), r#"{"all": null}"#),
        (Some("application/json"), "[]"),
        (Some("application/json"), " "),
        (Some("application/json"), "{"),
    ] {
        let mut req = s
            .client
            .post(s.url(LOGOUT))
            .header("authorization", &bearer)
            .body(body.to_owned());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let answer: Value = res.json().await.unwrap();
        assert_eq!(
            (status, answer["error_code"].as_str()),
            (400, Some("invalid_request")),
            "{content_type:?} {body:?}: {answer}"
        );
    }
    assert_works(&s, &token, "after refused logout bodies").await;
    assert_works(&s, &other, "another token, after refused logout bodies").await;

    // Then a real one, and the same token again.
    let (st, answer) = logout(&s, &bearer, Some(r#"{"all": false}"#)).await;
    assert_eq!((st, &answer), (200, &json!({})));
    assert_refused(&s, &token, "logged out").await;
    for body in [None, Some(r#"{"all": true}"#)] {
        let (st, answer) = logout(&s, &bearer, body).await;
        assert_eq!(
            (st, answer["error_code"].as_str()),
            (401, Some("unauthorized")),
            "a logged-out token logs out again with {body:?}"
        );
    }
    // A logged-out token cannot end the user's other sessions either.
    assert_works(
        &s,
        &other,
        "another token, after the logged-out one tried all",
    )
    .await;
}
