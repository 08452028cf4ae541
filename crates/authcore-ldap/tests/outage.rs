//! The directory stopped mid-run, then restarted: the same store object works again.
//!
//! Its own test binary, so that stopping slapd cannot disturb the other tests (cargo runs
//! test binaries one after another).

#![allow(clippy::expect_used)]

mod common;

use std::process::Command;

use authcore_core::{Error, Ttl, UserStore};
use authcore_testkit::fixtures::password;
use common::{Env, auth, env, query_config, store, template_config};
use serde_json::json;

fn ctl(e: &Env, action: &str) {
    let out = Command::new(&e.ctl)
        .arg(action)
        .output()
        .expect("run the slapd control script");
    assert!(
        out.status.success(),
        "{} {action}: {}",
        e.ctl,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Restarts slapd even when an assertion fails half-way.
struct RestartOnDrop(Env);

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        let _ = Command::new(&self.0.ctl).arg("start").output();
    }
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn directory_outage_is_unavailable_then_recovers() {
    let e = env();
    let _guard = RestartOnDrop(e.clone());
    let cached = store(template_config(&e, json!({})));
    let uncached = store(query_config(&e, json!({"cache_ttl": 0})));
    let (auth_cached, _c1) = auth(cached.clone());
    let (auth_uncached, _c2) = auth(uncached.clone());

    // Both work, and their pooled service connections are open.
    for a in [&auth_cached, &auth_uncached] {
        let issued = a
            .authorize("alice", &password("alicepw"), Ttl::DEFAULT)
            .await
            .unwrap();
        assert_eq!(issued.claims.role.as_str(), "admin");
    }
    let token = auth_uncached
        .authorize("bob", &password("bobpw"), Ttl::DEFAULT)
        .await
        .unwrap()
        .token;

    ctl(&e, "stop");

    // An outage is a 503, never a wrong password (and never counts towards lockout).
    for a in [&auth_cached, &auth_uncached] {
        // More than Redis's default lockout threshold (5).
        for _ in 0..6 {
            let err = a
                .authorize("alice", &password("alicepw"), Ttl::DEFAULT)
                .await
                .unwrap_err();
            assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
            assert_eq!(err.http_status(), 503);
        }
    }
    let err = uncached.find_by_username("alice").await.unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
    // The cached lookup still answers; the bind cannot.
    assert!(cached.find_by_username("alice").await.unwrap().is_some());
    let err = auth_uncached
        .refresh(&token, Ttl::DEFAULT)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");

    ctl(&e, "start");

    // Same store objects, no restart: broken pooled connections are replaced.
    for a in [&auth_cached, &auth_uncached] {
        let issued = a
            .authorize("alice", &password("alicepw"), Ttl::DEFAULT)
            .await
            .expect("works again after the directory came back");
        assert_eq!(issued.claims.role.as_str(), "admin");
    }
    auth_uncached
        .refresh(&token, Ttl::DEFAULT)
        .await
        .expect("refresh works again");
    // The six failures during the outage did not lock alice out (see above).
}
