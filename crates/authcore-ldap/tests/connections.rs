//! "User binds always use a fresh connection, never a pooled one" (the crate's README),
//! checked on the wire: a proxy in front of the real slapd records what each connection
//! carries. Needs the environment of `scripts/servers/start-slapd.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use authcore_core::{Error, Ttl};
use authcore_testkit::fixtures::password;
use common::{auth, env, store, template_config};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy saw: the bytes each client sent (by connection, in accept order) and how
/// many connections are open.
#[derive(Debug, Default)]
struct Seen {
    sent: Vec<Vec<u8>>,
    open: usize,
}

/// A TCP proxy to `upstream` that records each connection's client-to-server bytes.
struct RecordingProxy {
    port: u16,
    seen: watch::Receiver<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordingProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, seen) = watch::channel(Seen::default());
        let tx = Arc::new(tx);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                let mut index = 0;
                tx.send_modify(|s| {
                    index = s.sent.len();
                    s.sent.push(Vec::new());
                    s.open += 1;
                });
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                });
                let tx = Arc::clone(&tx);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        tx.send_modify(|s| s.sent[index].extend_from_slice(&buf[..n]));
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    tx.send_modify(|s| s.open -= 1);
                });
            }
        });
        Self { port, seen, task }
    }

    /// Waits until exactly `n` connections are open (a guard fails the test rather than
    /// letting it hang if that never happens).
    async fn wait_open(&mut self, n: usize) {
        let waited =
            tokio::time::timeout(Duration::from_secs(60), self.seen.wait_for(|s| s.open == n))
                .await
                .map(|r| r.map(|_| ()));
        let open = self.seen.borrow().open;
        assert!(
            matches!(waited, Ok(Ok(()))),
            "never {n} open connections ({open} open)"
        );
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn contains(haystack: &[u8], needle: &str) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

#[tokio::test]
#[ignore = "needs slapd: run scripts/test"]
async fn every_user_bind_is_on_a_fresh_connection_closed_after_it() {
    let e = env();
    let upstream = e.url.trim_start_matches("ldap://").to_owned();
    let mut proxy = RecordingProxy::start(upstream).await;
    // With the cache, repeated sign-ins need no search: only binds reach the directory.
    let config = template_config(
        &e,
        json!({"uris": [format!("ldap://127.0.0.1:{}", proxy.port)], "cache_ttl": 300}),
    );
    let (auth, _clock) = auth(store(config));
    let attempts = [
        "alicepw", "alicepw", "wrong-1", "alicepw", "wrong-2", "alicepw",
    ];
    for (i, pw) in attempts.iter().enumerate() {
        let result = auth.authorize("alice", &password(pw), Ttl::DEFAULT).await;
        if pw.starts_with("wrong") {
            assert!(matches!(result, Err(Error::Unauthorized)), "{result:?}");
        } else {
            assert_eq!(result.unwrap().claims.role.as_str(), "admin");
        }
        // The bind's connection is closed after it; the pooled service connection stays.
        proxy.wait_open(1).await;
        assert_eq!(
            proxy.seen.borrow().sent.len(),
            i + 2,
            "one new connection per bind"
        );
    }

    let seen = proxy.seen.borrow();
    // Connection 0: the service account's (its bind and the searches), never a user's.
    let service = &seen.sent[0];
    assert_eq!(contains(service, &e.bind_pass), 1);
    assert_eq!(
        contains(service, "uid=alice,ou=people"),
        2,
        "entry and groups read"
    );
    for pw in attempts {
        assert_eq!(
            contains(service, pw),
            0,
            "a user bind on the pooled connection"
        );
    }
    // Every other connection: exactly one user bind, with that attempt's password, and
    // nothing of the service account.
    for (conn, pw) in seen.sent[1..].iter().zip(attempts) {
        assert_eq!(contains(conn, pw), 1, "{pw}");
        assert_eq!(contains(conn, &e.bind_pass), 0);
        assert_eq!(contains(conn, "uid=alice,ou=people"), 1, "the bind DN only");
    }
}
