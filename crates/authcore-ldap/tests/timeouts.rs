//! A directory that accepts connections but never answers: every operation gives up after
//! `directory_timeout_s` with a store-unavailable error. No slapd needed.
//!
//! No wall-clock bound: the silent directory reports each request it receives, and once both
//! requests are waiting for an answer the test pauses Tokio's clock. From then on time only
//! moves to the next timer, so the time the operations took is exact, whatever the load of
//! the machine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use authcore_core::{Credentials, Error, Role, User, UserId, UserStatus, UserStore};
use authcore_ldap::{LdapConfig, LdapStore};
use authcore_testkit::fixtures::password;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Tokio's timers tick in whole milliseconds: a deadline is rounded up to the next tick, so
/// it fires up to one tick late, and the paused clock stops a moment after `paused_at` was
/// read. Two ticks cover both.
const TIMER_RESOLUTION: Duration = Duration::from_millis(2);

/// A directory timeout: 503, and the cause says after how long (whichever step of the call
/// was waiting when the call's deadline came: the service bind or the call itself, which end
/// at the same moment).
fn assert_timed_out(err: &Error, timeout: Duration) {
    assert_eq!(err.http_status(), 503, "{err:?}");
    let Error::StoreUnavailable(cause) = err else {
        panic!("{err:?}");
    };
    let cause = cause.to_string();
    assert!(
        cause.starts_with("LDAP ") && cause.ends_with(&format!(" timed out after {timeout:?}")),
        "{cause}"
    );
}

#[tokio::test]
async fn a_silent_directory_times_out_as_unavailable() {
    // Accepts TCP connections, reads what they send and never answers; reports each
    // connection's first request.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (heard, mut requests) = mpsc::unbounded_channel();
    let accepting = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let heard = heard.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let mut reported = false;
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if !reported {
                        reported = true;
                        let _ = heard.send(());
                    }
                }
            });
        }
    });

    let timeout = Duration::from_secs(5);
    let config = LdapConfig::from_json_str(&format!(
        r#"{{"uris": ["ldap://127.0.0.1:{port}"], "directory_timeout_s": 5,
            "bind_dn": "cn=reader,dc=example,dc=org", "bind_pass": "readerpw",
            "user_dn_template": "uid=%u,ou=people,dc=example,dc=org", "dn_group_attr": "memberOf"}}"#
    ))
    .unwrap();
    let store = LdapStore::new(config).unwrap();

    let user = User {
        uid: UserId::new("uid=alice,ou=people,dc=example,dc=org"),
        email: "alice".into(),
        name: Some("alice".into()),
        role: Role::NONE,
        status: UserStatus::Active,
        credentials: Credentials::External,
    };
    let pw = password("alicepw");
    let started = Instant::now();
    // A search on the service pool (its service bind goes unanswered) and a user bind on its
    // own connection, side by side; the clock stops once the directory has both requests.
    let pause = async {
        for _ in 0..2 {
            requests.recv().await.unwrap();
        }
        let paused_at = Instant::now();
        tokio::time::pause();
        paused_at
    };
    let (found, verified, paused_at) = tokio::join!(
        store.find_by_username("alice"),
        store.verify_external(&user, &pw),
        pause
    );
    let took = started.elapsed();
    for err in [found.unwrap_err(), verified.unwrap_err()] {
        assert_timed_out(&err, timeout);
    }
    // Each timeout was armed after `started` and before the clock stopped.
    let before_pause = paused_at - started;
    assert!(took >= timeout, "{took:?}");
    assert!(
        took <= before_pause + timeout + TIMER_RESOLUTION,
        "{took:?}, {before_pause:?} before the pause"
    );
    accepting.abort();
}

/// More lookups at once than the store has service connections (4): those that wait for a
/// connection do not get a timeout of their own after the wait: every one ends within one
/// directory timeout of its start.
#[tokio::test]
async fn lookups_waiting_for_a_service_connection_end_within_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (heard, mut requests) = mpsc::unbounded_channel();
    let accepting = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let heard = heard.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let mut reported = false;
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if !reported {
                        reported = true;
                        let _ = heard.send(());
                    }
                }
            });
        }
    });
    let timeout = Duration::from_secs(5);
    let config = LdapConfig::from_json_str(&format!(
        r#"{{"uris": ["ldap://127.0.0.1:{port}"], "directory_timeout_s": 5, "cache_ttl": 0,
            "bind_dn": "cn=reader,dc=example,dc=org", "bind_pass": "readerpw",
            "user_dn_template": "uid=%u,ou=people,dc=example,dc=org", "dn_group_attr": "memberOf"}}"#
    ))
    .unwrap();
    let store = LdapStore::new(config).unwrap();
    let started = Instant::now();
    let lookups = futures_join_all((0..6).map(|i| {
        let store = &store;
        async move { store.find_by_username(&format!("user{i}")).await }
    }));
    // Four service connections, each with its bind unanswered; two lookups wait for one.
    let pause = async {
        for _ in 0..4 {
            requests.recv().await.unwrap();
        }
        let paused_at = Instant::now();
        tokio::time::pause();
        paused_at
    };
    let (results, paused_at) = tokio::join!(lookups, pause);
    let took = started.elapsed();
    for r in results {
        assert_timed_out(&r.unwrap_err(), timeout);
    }
    let before_pause = paused_at - started;
    assert!(took >= timeout, "{took:?}");
    assert!(
        took <= before_pause + timeout + TIMER_RESOLUTION,
        "{took:?}, {before_pause:?} before the pause"
    );
    accepting.abort();
}

/// Runs the futures concurrently on this task; their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in set.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}
