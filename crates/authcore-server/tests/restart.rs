//! What survives a restart of `authcore serve`, and what SIGINT lets finish: README's
//! "lockout state lives in the SQL database" and "SIGINT or SIGTERM shut it down gracefully".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{ADMIN, ADMIN_PW, Server, authcore, ok, run, with_admin};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// An account locked by failed sign-ins stays locked across a restart (the lock is in the
/// database, not in the process), until `authcore user unlock`.
#[tokio::test(flavor = "multi_thread")]
async fn a_lockout_survives_a_restart() {
    let (dir, db) = with_admin();
    let args = [
        "--database-url",
        db.as_str(),
        "--login-lockout-threshold",
        "2",
    ];
    let mut server = Server::start(&dir, &args, &[]);
    assert_eq!(server.sign_in(ADMIN, "wrong").await, 401);
    assert_eq!(server.sign_in(ADMIN, "wrong").await, 401);
    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 401, "locked");
    server.signal("TERM");
    assert!(server.wait().success(), "SIGTERM exits 0");

    let server = Server::start(&dir, &args, &[]);
    assert_eq!(
        server.sign_in(ADMIN, ADMIN_PW).await,
        401,
        "still locked after the restart"
    );
    ok(&run(authcore(
        &dir,
        &["user", "unlock", ADMIN, "--database-url", &db],
    )));
    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 200);
}

/// A sign-in in flight when SIGINT arrives (its headers read, its body not yet) is answered,
/// then the process exits 0; a new connection is no longer accepted.
#[tokio::test(flavor = "multi_thread")]
async fn sigint_lets_the_request_in_flight_finish() {
    let (dir, db) = with_admin();
    let mut server = Server::start(&dir, &["--database-url", &db], &[]);
    let body = format!(r#"{{"username":"{ADMIN}","password":"{ADMIN_PW}"}}"#);
    let mut conn = TcpStream::connect(&server.addr).await.unwrap();
    conn.write_all(
        format!(
            "POST /v1/users/authorize HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // The server has the request once it answers a request behind it on another connection.
    assert_eq!(server.get("/livez").await.0, 200);
    server.signal("INT");
    conn.write_all(body.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("access_token"), "{answer}");
    assert!(server.wait().success(), "SIGINT exits 0\n{}", server.log());
    assert!(TcpStream::connect(&server.addr).await.is_err());
}
