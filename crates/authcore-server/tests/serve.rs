//! `authcore serve` and `authcore --help`, run as the real binary. The users API itself is
//! tested end to end by the workspace's `tests/server_e2e` against this same binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{ADMIN, ADMIN_PW, Server, TempDir, authcore, ok, run};

#[test]
fn help_lists_the_subcommands_and_serve_documents_its_env_vars() {
    let dir = TempDir::new();
    let text = ok(&run(authcore(&dir, &["--help"])));
    assert!(text.contains("serve"), "{text}");

    let text = ok(&run(authcore(&dir, &["serve", "--help"])));
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

/// The README's flag table of `authcore serve` names every option `serve --help` shows, with
/// its environment variable (two were missing once). Reads the workspace's README.md.
#[test]
fn the_readme_documents_every_serve_flag_and_variable() {
    let dir = TempDir::new();
    let help = ok(&run(authcore(&dir, &["serve", "--help"])));
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .unwrap();
    let table: String = readme
        .lines()
        .filter(|l| l.starts_with("| `--"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut missing = Vec::new();
    for line in help.lines() {
        let line = line.trim_start();
        if let Some(flag) = line.strip_prefix("--") {
            let flag: String = flag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if flag != "help" && !table.contains(&format!("`--{flag}")) {
                missing.push(format!("--{flag}"));
            }
        }
        if let Some(rest) = line.strip_prefix("[env: ") {
            let var: String = rest
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if !table.contains(&var) {
                missing.push(var);
            }
        }
    }
    assert!(missing.is_empty(), "not in the README's table: {missing:?}");
}

#[test]
fn no_subcommand_is_a_usage_error() {
    let dir = TempDir::new();
    assert_eq!(run(authcore(&dir, &[])).status.code(), Some(2));
}

/// `authcore serve` with no options on an empty directory: the SQLite file appears there and
/// the first admin can sign in.
#[tokio::test(flavor = "multi_thread")]
async fn serve_with_defaults_keeps_users_in_authcore_db_of_the_working_directory() {
    let dir = TempDir::new();
    let server = Server::start(
        &dir,
        &[],
        &[
            ("AUTHCORE_ADMIN_EMAIL", ADMIN),
            ("AUTHCORE_ADMIN_PASSWORD", ADMIN_PW),
        ],
    );
    let token = server.token(ADMIN, ADMIN_PW).await;
    assert!(!token.is_empty());
    assert!(dir.path().join("authcore.db").exists());
}
