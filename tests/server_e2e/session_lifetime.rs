//! Issue #9 item 3 against the binary: `--max-session-lifetime` and
//! `AUTHCORE_MAX_SESSION_LIFETIME` (default 86400, 0 unlimited). Every token's `exp` is
//! `min(iat + ttl, auth_time + lifetime)`, a `ttl` above the lifetime is no error, refresh keeps
//! `auth_time` and answers 401 once `now - auth_time` exceeds the lifetime.
//!
//! A session that started long ago is a token the server itself minted with its `auth_time`
//! moved back (signed with the server's secret, everything else as minted): the bound is then
//! checked to the second without waiting a day. One server also waits out a 2-second lifetime
//! for real.

use serde_json::{Value, json};

use crate::request::{Requests, lifetime};
use crate::server_harness::{Backend, Server};
use crate::{ADMIN, ADMIN_PW, base_args, decode_hs256, sign_hs256, start, unix_now};

const REFRESH: &str = "/v1/users/refresh_jwt";

/// A sign-in of the admin with `ttl`; the token.
async fn sign_in(s: &Server, ttl: i64) -> String {
    s.post("/v1/users/authorize")
        .json(json!({"username": ADMIN, "password": ADMIN_PW, "ttl": ttl}))
        .status(200)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `refresh_jwt` of `token` with `ttl` under `scheme`: the status and the new token's claims
/// (`Value::Null` when refused).
async fn refresh(s: &Server, scheme: &str, token: &str, ttl: i64) -> (u16, Value) {
    let (status, body) = s
        .post(REFRESH)
        .auth(&format!("{scheme} {token}"))
        .json(json!({"ttl": ttl}))
        .send()
        .await;
    let claims = body["access_token"]
        .as_str()
        .map_or(Value::Null, decode_hs256);
    (status, claims)
}

/// `token`'s session as if its password sign-in happened `ago` seconds before now: the same
/// claims (uid, epoch, password id, jti), `auth_time` moved back, minted now for 300 s.
fn started_ago(token: &str, ago: i64) -> String {
    let mut claims = decode_hs256(token);
    let now = unix_now();
    claims["auth_time"] = json!(now - ago);
    claims["iat"] = json!(now);
    claims["nbf"] = json!(now);
    claims["exp"] = json!(now + 300);
    sign_hs256(token, &claims)
}

fn int(claims: &Value, name: &str) -> i64 {
    claims[name]
        .as_i64()
        .unwrap_or_else(|| panic!("claim {name} in {claims}"))
}

/// What a server whose lifetime is `life` (`None`: unlimited) must do, as described above.
async fn check_bound(s: &Server, life: Option<i64>, what: &str) {
    let policy = s
        .get("/v1/cluster/policy")
        .auth(&format!("JWT {}", sign_in(s, 300).await))
        .status(200)
        .await;
    assert_eq!(
        policy["max_session_lifetime"],
        json!(life.unwrap_or(0)),
        "{what}: the policy in force"
    );
    let bound = |claims: &Value, ttl: i64| {
        let by_ttl = int(claims, "iat") + ttl;
        life.map_or(by_ttl, |l| by_ttl.min(int(claims, "auth_time") + l))
    };

    // A ttl above the lifetime is no error: the lifetime bounds `exp`.
    let token = sign_in(s, 86_400).await;
    let claims = decode_hs256(&token);
    assert_eq!(int(&claims, "auth_time"), int(&claims, "iat"), "{what}");
    assert_eq!(
        int(&claims, "exp"),
        bound(&claims, 86_400),
        "{what}: sign-in"
    );
    for scheme in ["JWT", "Bearer"] {
        let (status, refreshed) = refresh(s, scheme, &token, 86_400).await;
        assert_eq!(status, 200, "{what}: {scheme} refresh");
        assert_eq!(refreshed["auth_time"], claims["auth_time"], "{what}: kept");
        assert_eq!(refreshed["sid"], claims["jti"], "{what}: same session");
        assert_eq!(
            int(&refreshed, "exp"),
            bound(&refreshed, 86_400),
            "{what}: {scheme} refresh"
        );
    }

    if let Some(l) = life {
        // Short of the lifetime (by 3 s, so that a slow machine's clock cannot pass it before
        // the server reads it): refreshed, and `exp` stops at the session's end.
        let late = started_ago(&token, l - 3);
        let (status, refreshed) = refresh(s, "JWT", &late, 3600).await;
        assert_eq!(status, 200, "{what}: before the end");
        assert_eq!(
            int(&refreshed, "exp"),
            int(&refreshed, "auth_time") + l,
            "{what}: capped at the session's end"
        );
        assert!(lifetime(&refreshed) < 3600, "{what}: {refreshed}");
        // Past it (now - auth_time = l + 1 > l): 401 under either scheme.
        let over = started_ago(&token, l + 1);
        for scheme in ["JWT", "Bearer"] {
            let (status, _) = refresh(s, scheme, &over, 300).await;
            assert_eq!(status, 401, "{what}: {scheme} refresh past the lifetime");
        }
    } else {
        // Unlimited: a session of ten years still refreshes, for the full ttl.
        let old = started_ago(&token, 10 * 365 * 86_400);
        let (status, refreshed) = refresh(s, "Bearer", &old, 3600).await;
        assert_eq!(status, 200, "{what}: unlimited");
        assert_eq!(lifetime(&refreshed), 3600, "{what}: unlimited");
    }
}

/// The flag, the environment variable, the default and `0`, each on a new database; then a
/// 2-second lifetime waited out with the real clock.
pub(crate) async fn max_session_lifetime_flag_env_and_default(backend: Backend) {
    let s = start(&backend, &[]).await;
    check_bound(&s, Some(86_400), "default").await;
    drop(s);
    let s = start(&backend, &["--max-session-lifetime", "60"]).await;
    check_bound(&s, Some(60), "--max-session-lifetime 60").await;
    drop(s);
    let s = Server::start(
        &backend,
        &base_args(),
        &[
            ("AUTHCORE_ADMIN_EMAIL", ADMIN),
            ("AUTHCORE_ADMIN_PASSWORD", ADMIN_PW),
            ("AUTHCORE_MAX_SESSION_LIFETIME", "90"),
        ],
    )
    .await;
    check_bound(&s, Some(90), "AUTHCORE_MAX_SESSION_LIFETIME=90").await;
    drop(s);
    let s = start(&backend, &["--max-session-lifetime", "0"]).await;
    check_bound(&s, None, "--max-session-lifetime 0").await;
    drop(s);

    // For real: a 2-second session refreshes at once, and no longer once the server's clock
    // (this machine's, in whole seconds) is past auth_time + 2.
    let s = start(&backend, &["--max-session-lifetime", "2"]).await;
    let token = sign_in(&s, 300).await;
    let claims = decode_hs256(&token);
    assert_eq!(int(&claims, "exp"), int(&claims, "auth_time") + 2);
    let end = int(&claims, "auth_time") + 2;
    let (status, child) = refresh(&s, "Bearer", &token, 300).await;
    // On a loaded machine the answer may come after the session's end: the server decided
    // before the answer arrived, so only an answer that arrived within the session must be a
    // success.
    let in_time = unix_now() <= end;
    if in_time {
        assert_eq!(status, 200, "a refresh answered within the session");
        assert_eq!(int(&child, "exp"), end, "the refreshed token ends with it");
    }
    while unix_now() <= end {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for scheme in ["JWT", "Bearer"] {
        let (status, _) = refresh(&s, scheme, &token, 300).await;
        assert_eq!(status, 401, "{scheme}: refresh after the session's end");
    }

    // The flags seed an empty settings table only (issue #13): restarted on this database
    // with another lifetime, the stored one stays in force and the server says so; the
    // policy route changes it, at once.
    let mut args = base_args();
    args.extend(["--max-session-lifetime".to_owned(), "60".to_owned()]);
    let s = s.restart(&args).await;
    let log = s.log();
    assert!(
        log.lines()
            .any(|l| l.contains("the database's value is in force")
                && l.contains("setting=max_session_lifetime")
                && l.contains("in_force=2")
                && l.contains("given=60")),
        "{log}"
    );
    let claims = decode_hs256(&sign_in(&s, 300).await);
    assert_eq!(int(&claims, "exp"), int(&claims, "auth_time") + 2);
    let admin = format!("JWT {}", sign_in(&s, 300).await);
    s.put("/v1/cluster/policy")
        .auth(&admin)
        .json(json!({"max_session_lifetime": 60}))
        .status(200)
        .await;
    check_bound(&s, Some(60), "set through PUT /v1/cluster/policy").await;
}
