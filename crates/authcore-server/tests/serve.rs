//! `authcore serve` and `authcore --help`, run as the real binary. The users API itself is
//! tested end to end by the workspace's `tests/server_e2e` against this same binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_authcore");

#[test]
fn help_lists_the_subcommands_and_serve_documents_its_env_vars() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("serve"), "{text}");

    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "AUTHCORE_LISTEN",
        "--database-url",
        "AUTHCORE_DATABASE_URL",
        "--ldap-config",
        "--jwt-secret",
        "--jwt-key",
        "--password-expiration-days",
        "--login-lockout-threshold",
        "--login-lockout-duration",
        "--login-lockout-counter-reset-after",
        "--password-complexity",
        "--token-issuer",
        "AUTHCORE_ADMIN_EMAIL",
    ] {
        assert!(text.contains(flag), "serve --help lacks {flag}:\n{text}");
    }
}

#[test]
fn no_subcommand_is_a_usage_error() {
    let out = Command::new(BIN).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `authcore serve` with no options on an empty directory: the SQLite file appears there and
/// the first admin can sign in.
#[test]
fn serve_with_defaults_keeps_users_in_authcore_db_of_the_working_directory() {
    let dir = tempdir();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .env_clear()
        .env("AUTHCORE_ADMIN_EMAIL", "admin@example.org")
        .env("AUTHCORE_ADMIN_PASSWORD", "Adm1n-Secret!")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line {line:?}"))
        .to_owned();
    let (status, body) = http_post_json(
        &addr,
        "/v1/users/authorize",
        r#"{"username":"admin@example.org","password":"Adm1n-Secret!"}"#,
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("access_token"), "{body}");
    assert!(dir.join("authcore.db").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempdir() -> std::path::PathBuf {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("authcore-server-test-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A minimal HTTP/1.1 POST over a std TCP stream: status and body.
fn http_post_json(addr: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
