//! The listener of `authcore serve`: TLS with a certificate reloaded on SIGHUP, read timeouts,
//! the connection cap and the open-file limit. Real binary, real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Server, TempDir};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Longest a test waits for something that must happen; reaching it fails the test.
const PATIENCE: Duration = Duration::from_secs(30);

/// A CA and a `localhost` certificate it issued; PEM files written in `dir` as `name.crt`
/// and `name.key`.
struct Issued {
    ca: CertificateDer<'static>,
    leaf: CertificateDer<'static>,
}

fn issue(dir: &TempDir, name: &str) -> Issued {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("test CA {name}"));
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    std::fs::write(dir.path().join(format!("{name}.crt")), leaf.pem()).unwrap();
    std::fs::write(
        dir.path().join(format!("{name}.key")),
        leaf_key.serialize_pem(),
    )
    .unwrap();
    Issued {
        ca: ca.der().clone(),
        leaf: leaf.der().clone(),
    }
}

/// One HTTPS request trusting only `ca`: the raw answer and the certificate the server showed.
async fn https_get(
    addr: &str,
    ca: &CertificateDer<'static>,
    path: &str,
) -> (String, CertificateDer<'static>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let shown = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    (String::from_utf8_lossy(&out).into_owned(), shown)
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_hsts_and_a_certificate_replaced_on_sighup() {
    let dir = TempDir::new();
    let first = issue(&dir, "first");
    let server = Server::sqlite(&dir, &["--tls-cert", "first.crt", "--tls-key", "first.key"]);
    let (answer, shown) = https_get(&server.addr, &first.ca, "/v1/openapi.json").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{answer}"
    );
    assert_eq!(shown, first.leaf);

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(&server.addr).await.unwrap();
    plain
        .write_all(b"GET /v1/openapi.json HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, plain.read_to_end(&mut out))
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&out).contains("200 OK"));

    // Replace the files (as a renewal does) and send SIGHUP.
    let second = issue(&dir, "second");
    std::fs::copy(dir.path().join("second.crt"), dir.path().join("first.crt")).unwrap();
    std::fs::copy(dir.path().join("second.key"), dir.path().join("first.key")).unwrap();
    server.signal("HUP");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        // Trusting only the new CA: fails until the new certificate is served.
        let attempt = tokio::spawn({
            let addr = server.addr.clone();
            let ca = second.ca.clone();
            async move { https_get(&addr, &ca, "/v1/openapi.json").await }
        })
        .await;
        if let Ok((answer, shown)) = attempt {
            assert_eq!(shown, second.leaf);
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate was not served after SIGHUP; log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.log().contains("TLS certificate loaded"));

    // A broken file keeps the certificate in use.
    std::fs::write(dir.path().join("first.crt"), "not a certificate").unwrap();
    server.signal("HUP");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !server.log().contains("keeping the one in use") {
        assert!(tokio::time::Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (answer, shown) = https_get(&server.addr, &second.ca, "/v1/openapi.json").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(shown, second.leaf);
}

/// `authcore COMMAND --database-url (the SQLite file of dir) --tls-cert CERT --tls-key KEY`.
fn with_tls(dir: &TempDir, command: &[&str], cert: &str, key: &str) -> std::process::Output {
    let db = dir.sqlite_url();
    let mut args = command.to_vec();
    args.extend(["--database-url", &db, "--tls-cert", cert, "--tls-key", key]);
    common::run(common::authcore(dir, &args))
}

#[test]
fn tls_files_are_checked_at_start() {
    let dir = TempDir::new();
    issue(&dir, "a");
    issue(&dir, "b");
    for (cert, key) in [
        ("a.crt", "b.key"),
        ("a.crt", "missing.key"),
        ("a.key", "a.key"),
    ] {
        let out = with_tls(&dir, &["serve", "--listen", "127.0.0.1:0"], cert, key);
        assert_eq!(out.status.code(), Some(1), "{cert} {key}");
        assert!(
            common::stderr(&out).contains("--tls-"),
            "{}",
            common::stderr(&out)
        );
        // check-config finds the same fault (it once said "configuration ok" here).
        let out = with_tls(&dir, &["check-config"], cert, key);
        assert_eq!(out.status.code(), Some(1), "{cert} {key}");
        assert!(
            common::stdout(&out).contains("FAIL  TLS"),
            "{}",
            common::stdout(&out)
        );
    }
    let out = with_tls(&dir, &["check-config"], "a.crt", "a.key");
    assert!(
        common::stdout(&out).contains("ok    TLS"),
        "{}",
        common::stdout(&out)
    );
    // One without the other is a usage error.
    let out = common::run(common::authcore(&dir, &["serve", "--tls-cert", "a.crt"]));
    assert_eq!(out.status.code(), Some(2));
}

/// A client that sends its headers too slowly is cut off; so is one that sends a body too
/// slowly.
#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_are_cut_off() {
    let dir = TempDir::new();
    let server = Server::sqlite(
        &dir,
        &["--header-read-timeout", "1", "--body-read-timeout", "1"],
    );
    let mut slow = TcpStream::connect(&server.addr).await.unwrap();
    slow.write_all(b"POST /v1/users/authorize HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, slow.read_to_end(&mut out))
        .await
        .expect("the server kept a connection with unfinished headers open")
        .unwrap();

    let mut slow = TcpStream::connect(&server.addr).await.unwrap();
    slow.write_all(
        b"POST /v1/users/authorize HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, slow.read_to_end(&mut out))
        .await
        .expect("the server waited for the rest of the body forever")
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(!text.starts_with("HTTP/1.1 2"), "{text}");
}

/// A body that keeps coming, one byte at a time, is still cut off at --body-read-timeout
/// counted from the end of the headers (a per-read idle timer never fires on it): the server
/// answers 400 and closes the connection long before the client has sent it all.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_trickled_byte_by_byte_is_cut_off_at_the_deadline() {
    let dir = TempDir::new();
    let server = Server::sqlite(&dir, &["--body-read-timeout", "1"]);
    // A complete, valid sign-in once it is all there: without the deadline the server
    // would wait for every byte and then answer 401.
    let mut body =
        br#"{"username": "nobody@example.org", "password": "not-the-password"}"#.to_vec();
    body.resize(200, b' ');
    let stream = TcpStream::connect(&server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(
            format!(
                "POST /v1/users/authorize HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let answer = tokio::spawn(async move {
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    });
    let mut sent = 0;
    for byte in &body {
        if answer.is_finished() {
            break;
        }
        if writer.write_all(std::slice::from_ref(byte)).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sent < body.len(),
        "the server read a trickled body to its end ({sent} bytes over {} s)",
        sent / 10
    );
    let answer = tokio::time::timeout(PATIENCE, answer)
        .await
        .expect("the connection stayed open after the body deadline")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

/// With `--max-connections 2`, a third connection is not served until one of the first two
/// closes.
#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_cap_wait() {
    let dir = TempDir::new();
    let server = Server::sqlite(
        &dir,
        &["--max-connections", "2", "--header-read-timeout", "600"],
    );
    // Two connections that hold their slot (headers never finished).
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(&server.addr).await.unwrap();
        c.write_all(b"GET /v1/openapi.json HTTP/1.1\r\n")
            .await
            .unwrap();
        held.push(c);
    }
    let addr = server.addr.clone();
    let third = tokio::spawn(async move {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /v1/openapi.json HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    });
    // Not served while both slots are held (a wait that can only make this pass wrongly,
    // never fail wrongly).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!third.is_finished(), "a third connection was served");
    drop(held.pop());
    let answer = tokio::time::timeout(PATIENCE, third)
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// The soft open-file limit is raised to what `--max-connections` needs (up to the hard
/// limit).
#[cfg(target_os = "linux")]
#[test]
fn open_file_limit_is_raised_for_the_connection_cap() {
    let dir = TempDir::new();
    let server = Server::sqlite(&dir, &["--max-connections", "20000"]);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    let soft: u64 = numbers[0].parse().unwrap();
    let hard: u64 = numbers[1].parse().unwrap_or(u64::MAX);
    assert!(soft >= 20_256u64.min(hard), "{line}");
}
