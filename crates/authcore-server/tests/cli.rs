//! Every admin subcommand, run as the real binary, against a real database: the `authcore user`
//! commands on SQLite, PostgreSQL (`AUTHCORE_TEST_POSTGRES_URL`) and MariaDB
//! (`AUTHCORE_TEST_MYSQL_URL`), the others on SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{
    ADMIN, ADMIN_PW, Db, Server, TempDir, add_user, authcore, ok, run, run_with_stdin, stderr,
    stdout, user_add,
};

/// `authcore user ARGS --database-url DB`.
fn user(dir: &TempDir, db: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["user"];
    all.extend(args);
    all.extend(["--database-url", db]);
    run(authcore(dir, &all))
}

/// Each named `async fn(Db)` becomes a module of three tests, one per engine: `sqlite`, and
/// `postgres` and `mariadb` on the servers `scripts/test` starts (ignored without them).
macro_rules! on_every_engine {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::Db;

            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$name(Db::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            #[ignore = "needs PostgreSQL: run scripts/test"]
            async fn postgres() {
                super::$name(Db::Postgres).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            #[ignore = "needs MariaDB: run scripts/test"]
            async fn mariadb() {
                super::$name(Db::MySql).await;
            }
        }
    )*};
}

on_every_engine!(
    user_commands_act_at_once_on_a_running_server,
    the_last_admin_cannot_be_demoted_disabled_or_deleted_from_the_cli,
    passwd_recovers_a_locked_out_admin,
    unlock_forgets_failed_sign_ins,
    passwords_follow_the_rules_and_are_never_arguments,
    the_stored_policy_applies_to_user_commands,
);

/// Every change made by `authcore user` is in force at once for a server running on the same
/// database: there is no cache between them.
async fn user_commands_act_at_once_on_a_running_server(engine: Db) {
    let dir = TempDir::new();
    let db = engine.fresh_url(&dir).await;
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    let server = Server::start(&dir, &["--database-url", &db], &[]);
    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 200);

    add_user(&dir, &db, "Bob@Example.org", "db_viewer", "Bob-Passw0rd");
    assert_eq!(server.sign_in("bob@example.org", "Bob-Passw0rd").await, 200);

    let list = ok(&user(&dir, &db, &["list"]));
    assert!(
        list.contains("Bob@Example.org") && list.contains("db_viewer"),
        "{list}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&user(&dir, &db, &["list", "--json"]))).unwrap();
    let users = json.as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert!(users.iter().all(|u| u.get("password").is_none()), "{json}");

    ok(&user(&dir, &db, &["disable", "bob@example.org"]));
    assert_eq!(server.sign_in("bob@example.org", "Bob-Passw0rd").await, 401);
    ok(&user(&dir, &db, &["enable", "2"]));
    assert_eq!(server.sign_in("bob@example.org", "Bob-Passw0rd").await, 200);

    let out = ok(&user(&dir, &db, &["set-role", "bob@example.org", "admin"]));
    assert!(out.contains("role admin"), "{out}");
    // Now there are two admins: the first may be demoted.
    ok(&user(&dir, &db, &["set-role", ADMIN, "db_member"]));

    // Bob is now the only admin: he cannot be deleted until there is another.
    let out = user(&dir, &db, &["delete", "bob@example.org"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    ok(&user(&dir, &db, &["set-role", ADMIN, "admin"]));
    ok(&user(&dir, &db, &["delete", "bob@example.org"]));
    assert_eq!(server.sign_in("bob@example.org", "Bob-Passw0rd").await, 401);
    let list = ok(&user(&dir, &db, &["list"]));
    assert!(!list.contains("Bob@"), "{list}");
}

async fn the_last_admin_cannot_be_demoted_disabled_or_deleted_from_the_cli(engine: Db) {
    let dir = TempDir::new();
    let db = engine.fresh_url(&dir).await;
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    for args in [
        vec!["user", "set-role", ADMIN, "db_viewer"],
        vec!["user", "disable", ADMIN],
        vec!["user", "delete", ADMIN],
    ] {
        let mut args = args.clone();
        args.extend(["--database-url", &db]);
        let out = run(authcore(&dir, &args));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("at least one active admin must remain"),
            "{}",
            stderr(&out)
        );
    }
    let list = ok(&user(&dir, &db, &["list"]));
    assert!(list.contains(ADMIN) && list.contains(" admin "), "{list}");
}

/// `passwd` is the way back in for an admin locked out for good (lockout duration 0), while
/// the server keeps running.
async fn passwd_recovers_a_locked_out_admin(engine: Db) {
    let dir = TempDir::new();
    let db = engine.fresh_url(&dir).await;
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    let server = Server::start(
        &dir,
        &[
            "--database-url",
            &db,
            "--login-lockout-threshold",
            "2",
            "--login-lockout-duration",
            "0",
        ],
        &[],
    );
    assert_eq!(server.sign_in(ADMIN, "wrong").await, 401);
    assert_eq!(server.sign_in(ADMIN, "wrong").await, 401);
    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 401, "locked out");
    let list = ok(&user(&dir, &db, &["list"]));
    assert!(list.contains("locked"), "{list}");

    // One trailing newline is stripped; the rest of the line is the password.
    let cmd = authcore(
        &dir,
        &[
            "user",
            "passwd",
            ADMIN,
            "--password-stdin",
            "--database-url",
            &db,
        ],
    );
    ok(&run_with_stdin(cmd, "New Adm1n Secret \n"));
    assert_eq!(
        server.sign_in(ADMIN, ADMIN_PW).await,
        401,
        "the old password is gone"
    );
    assert_eq!(server.sign_in(ADMIN, "New Adm1n Secret ").await, 200);
}

async fn unlock_forgets_failed_sign_ins(engine: Db) {
    let dir = TempDir::new();
    let db = engine.fresh_url(&dir).await;
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    let server = Server::start(
        &dir,
        &["--database-url", &db, "--login-lockout-threshold", "1"],
        &[],
    );
    assert_eq!(server.sign_in(ADMIN, "wrong").await, 401);
    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 401, "locked out");
    let out = ok(&user(&dir, &db, &["unlock", ADMIN]));
    assert!(out.contains("status active"), "{out}");
    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 200);
}

async fn passwords_follow_the_rules_and_are_never_arguments(engine: Db) {
    let dir = TempDir::new();
    let db = engine.fresh_url(&dir).await;
    // Complexity, as the API applies it.
    let cmd = user_add(&dir, &db, ADMIN, &["--password-complexity"]);
    let out = run_with_stdin(cmd, "simple\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("complex"), "{}", stderr(&out));
    // No flag takes a password.
    let out = user(&dir, &db, &["add", ADMIN, "--password", "Adm1n-Secret!"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Not a terminal and no --password-stdin: refused, not read.
    let out = user(&dir, &db, &["add", ADMIN]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--password-stdin"),
        "{}",
        stderr(&out)
    );
    // A bad role or e-mail.
    for args in [
        ["add", ADMIN, "--role", "root", "--password-stdin"].as_slice(),
        &["add", "not an e-mail", "--password-stdin"],
    ] {
        let mut all = vec!["user"];
        all.extend(args);
        all.extend(["--database-url", &db]);
        let out = run_with_stdin(authcore(&dir, &all), "Adm1n-Secret!\n");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
    // Unknown users.
    for action in ["passwd", "unlock", "disable", "enable", "delete"] {
        let out = user(&dir, &db, &[action, "nobody@example.org"]);
        assert_eq!(out.status.code(), Some(1), "{action}");
        assert!(
            stderr(&out).contains("no user"),
            "{action}: {}",
            stderr(&out)
        );
    }
}

/// A policy changed through `PUT /v1/cluster` is in force for `authcore user` as for the
/// server: the flags are only defaults for what the database does not hold.
async fn the_stored_policy_applies_to_user_commands(engine: Db) {
    let dir = TempDir::new();
    let db = engine.fresh_url(&dir).await;
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    let add = |email: &str| {
        let cmd = user_add(&dir, &db, email, &[]);
        run_with_stdin(cmd, "simplepassword\n")
    };
    // Complexity is off by default: a long simple password is accepted.
    ok(&add("before@example.org"));

    let server = Server::start(&dir, &["--database-url", &db], &[]);
    let token = server.token(ADMIN, ADMIN_PW).await;
    let body = serde_json::json!({"password_complexity": true});
    let (status, answer) = server
        .request("PUT", "/v1/cluster", Some(&token), Some(&body))
        .await;
    assert_eq!(status, 200, "{answer}");

    let out = add("after@example.org");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("complex"), "{}", stderr(&out));
    let list = ok(&user(&dir, &db, &["list"]));
    assert!(!list.contains("after@"), "{list}");
}

#[test]
fn user_commands_take_the_database_url_from_the_environment_and_default_to_authcore_db() {
    let dir = TempDir::new();
    let mut cmd = authcore(&dir, &["user", "add", ADMIN, "--password-stdin"]);
    cmd.env("AUTHCORE_DATABASE_URL", dir.sqlite_url());
    ok(&run_with_stdin(cmd, "Adm1n-Secret!\n"));
    assert!(dir.path().join("authcore.db").exists());
    // The default: authcore.db in the working directory, the same file.
    let list = ok(&run(authcore(&dir, &["user", "list"])));
    assert!(list.contains(ADMIN), "{list}");
}

#[test]
fn every_subcommand_has_help() {
    let dir = TempDir::new();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["user", "--help"],
        vec!["user", "add", "--help"],
        vec!["user", "list", "--help"],
        vec!["user", "passwd", "--help"],
        vec!["user", "unlock", "--help"],
        vec!["user", "set-role", "--help"],
        vec!["user", "disable", "--help"],
        vec!["user", "enable", "--help"],
        vec!["user", "delete", "--help"],
        vec!["keygen", "--help"],
        vec!["check-config", "--help"],
        vec!["hash-calibrate", "--help"],
    ] {
        let text = ok(&run(authcore(&dir, &args)));
        assert!(text.contains("Usage: authcore"), "{args:?}: {text}");
    }
    let text = ok(&run(authcore(&dir, &["user", "--help"])));
    assert!(text.contains("--password-stdin"), "{text}");
    assert!(text.contains("--database-url"), "{text}");
}

#[test]
fn keygen_writes_private_files_that_serve_accepts_and_never_overwrites() {
    let dir = TempDir::new();
    for kind in ["ed25519", "p256"] {
        let file = format!("{kind}.pem");
        ok(&run(authcore(&dir, &["keygen", kind, "--out", &file])));
        let path = dir.path().join(&file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{kind}");
        }
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        // The core takes it as a signing key.
        let out = ok(&run(authcore(
            &dir,
            &[
                "check-config",
                "--jwt-key",
                &file,
                "--database-url",
                &dir.sqlite_url(),
            ],
        )));
        assert!(out.contains("ok    token keys"), "{out}");
        // Refuses to overwrite, and leaves the file alone.
        let out = run(authcore(&dir, &["keygen", kind, "--out", &file]));
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);
    }
    // Two keys are never the same.
    let a = ok(&run(authcore(&dir, &["keygen", "ed25519"])));
    let b = ok(&run(authcore(&dir, &["keygen", "ed25519"])));
    assert_ne!(a, b);

    let secret = ok(&run(authcore(&dir, &["keygen", "hs256"])));
    let secret = secret.trim_end();
    assert!(
        secret.len() >= 32 && !secret.contains(char::is_whitespace),
        "{secret:?}"
    );
    let out = ok(&run(authcore(
        &dir,
        &[
            "check-config",
            "--jwt-secret",
            secret,
            "--database-url",
            &dir.sqlite_url(),
        ],
    )));
    assert!(out.contains("signing with the HS256 secret"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_key_signs_tokens_the_server_publishes() {
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    ok(&run(authcore(
        &dir,
        &["keygen", "ed25519", "--out", "k.pem"],
    )));
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    let server = Server::start(&dir, &["--database-url", &db, "--jwt-key", "k.pem"], &[]);
    assert_eq!(server.sign_in(ADMIN, ADMIN_PW).await, 200);
    let jwks = server.get_json("/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519", "{jwks}");
}

#[test]
fn check_config_reports_and_fails_on_each_broken_part() {
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    let secret = "s".repeat(32);
    let check = || {
        ok(&run(authcore(
            &dir,
            &[
                "check-config",
                "--database-url",
                &db,
                "--jwt-secret",
                &secret,
            ],
        )))
    };
    // It changes nothing: a SQLite file that does not exist yet is not created.
    let text = check();
    assert!(
        text.contains("ok    database") && text.contains("does not exist yet"),
        "{text}"
    );
    assert!(text.contains("configuration ok"), "{text}");
    assert!(
        !dir.path().join("authcore.db").exists(),
        "check-config created the database file"
    );
    let missing = format!("sqlite://{}/other.db", dir.path().display());
    let out = run(authcore(
        &dir,
        &[
            "check-config",
            "--database-url",
            &missing,
            "--jwt-secret",
            &secret,
        ],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("FAIL  database"), "{}", stdout(&out));
    // It applies no migration: on a new database it says so.
    std::fs::write(dir.path().join("authcore.db"), b"").unwrap();
    let text = check();
    assert!(text.contains("a new database?"), "{text}");
    // With the schema and no admin, it says how to create one.
    ok(&user(&dir, &db, &["list"]));
    let text = check();
    assert!(
        text.contains("no admin: create one with `authcore user add"),
        "{text}"
    );

    std::fs::write(dir.path().join("ldap.json"), "{\"uris\": []}").unwrap();
    std::fs::write(dir.path().join("not-a.crt"), "not a certificate").unwrap();
    std::fs::write(dir.path().join("not-a.key"), "not a key").unwrap();
    for (args, part) in [
        (vec!["--jwt-secret", "short"], "token keys"),
        (vec!["--jwt-key", "missing.pem"], "token keys"),
        (vec!["--database-url", "nosuch://x"], "database"),
        (
            vec!["--database-url", "postgres://nobody@127.0.0.1:1/none"],
            "database",
        ),
        (vec!["--ldap-config", "ldap.json"], "LDAP"),
        (vec!["--ldap-config", "missing.json"], "LDAP"),
        (vec!["--argon2-memory-kib", "1"], "argon2id"),
        (vec!["--listen", "nonsense"], "listen"),
        (vec!["--metrics-listen", "nonsense"], "metrics listen"),
        (
            vec!["--tls-cert", "not-a.crt", "--tls-key", "not-a.key"],
            "TLS",
        ),
        (
            vec!["--tls-cert", "missing.crt", "--tls-key", "missing.key"],
            "TLS",
        ),
    ] {
        let mut all = vec!["check-config"];
        if !args.contains(&"--database-url") {
            all.extend(["--database-url", &db]);
        }
        all.extend(args.iter().copied());
        let out = run(authcore(&dir, &all));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert!(
            stdout(&out).contains(&format!("FAIL  {part}")),
            "{args:?}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn hash_calibrate_prints_flags_that_serve_and_user_accept() {
    let dir = TempDir::new();
    let out = ok(&run(authcore(
        &dir,
        &[
            "hash-calibrate",
            "--target-ms",
            "200",
            "--max-memory-mib",
            "8",
        ],
    )));
    assert!(out.contains("sign-ins per second per core"), "{out}");
    let flags = out
        .lines()
        .find_map(|l| l.strip_prefix("flags: "))
        .unwrap_or_else(|| panic!("no flags line: {out}"));
    let words: Vec<&str> = flags.split_whitespace().collect();
    assert_eq!(words[0], "--argon2-memory-kib");
    let m: u32 = words[1].parse().unwrap();
    assert!(m <= 8 * 1024, "{out}");
    // The flags are accepted as they are printed.
    let mut args = vec!["check-config", "--database-url"];
    let db = dir.sqlite_url();
    args.push(&db);
    args.extend(words.iter().copied());
    let text = ok(&run(authcore(&dir, &args)));
    assert!(text.contains(&format!("m={m} KiB")), "{text}");
    ok(&run_with_stdin(
        user_add(&dir, &db, ADMIN, &words),
        "Adm1n-Secret!\n",
    ));

    for bad in [
        vec!["hash-calibrate", "--target-ms", "0"],
        vec!["hash-calibrate", "--max-memory-mib", "100000"],
    ] {
        assert_eq!(run(authcore(&dir, &bad)).status.code(), Some(2), "{bad:?}");
    }
}

/// Reads a child's standard output in a thread, so a test can wait for a prompt.
struct Prompts {
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Prompts {
    fn new(mut out: impl std::io::Read + Send + 'static) -> Self {
        let (tx, chunks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            chunks,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 60 s, then fails) until everything seen so far contains `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !String::from_utf8_lossy(&self.seen).contains(text) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(_) => panic!("no {text:?} in {:?}", String::from_utf8_lossy(&self.seen)),
            }
        }
    }

    fn rest(mut self) -> String {
        while let Ok(chunk) = self.chunks.recv_timeout(std::time::Duration::from_secs(60)) {
            self.seen.extend(chunk);
        }
        String::from_utf8_lossy(&self.seen).into_owned()
    }
}

/// On a terminal the password is prompted for twice without echo (a pseudo-terminal from
/// util-linux's `script`: with echo on, the typed password would come back in its output);
/// with --password-stdin exactly one trailing newline is stripped (`\n` or `\r\n`), so a
/// password that ends in a newline of its own keeps it. Each is checked by signing in.
#[tokio::test(flavor = "multi_thread")]
async fn the_password_prompt_does_not_echo_and_stdin_loses_one_newline() {
    use std::io::Write as _;
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    let typed = "Typed-On-A-Tty-1";
    let shell_command = format!(
        "'{}' user add tty@example.org --database-url '{db}'",
        env!("CARGO_BIN_EXE_authcore")
    );
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &shell_command, "/dev/null"])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` (Debian: bsdutils) runs the prompt on a pseudo-terminal");
    let mut stdin = child.stdin.take().unwrap();
    let mut prompts = Prompts::new(child.stdout.take().unwrap());
    prompts.wait_for("New password: ");
    stdin.write_all(format!("{typed}\n").as_bytes()).unwrap();
    prompts.wait_for("Repeat it: ");
    stdin.write_all(format!("{typed}\n").as_bytes()).unwrap();
    prompts.wait_for("created tty@example.org");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let shown = prompts.rest();
    assert!(!shown.contains(typed), "the password was echoed: {shown:?}");

    for (email, input) in [
        ("two@example.org", "Ends-In-Newline-1\n\n"),
        ("crlf@example.org", "Crlf-Password-1\r\n"),
    ] {
        let cmd = user_add(&dir, &db, email, &[]);
        ok(&run_with_stdin(cmd, input));
    }
    let server = Server::start(&dir, &["--database-url", &db], &[]);
    assert_eq!(server.sign_in("tty@example.org", typed).await, 200);
    assert_eq!(
        server
            .sign_in("two@example.org", "Ends-In-Newline-1\n")
            .await,
        200
    );
    assert_eq!(
        server.sign_in("two@example.org", "Ends-In-Newline-1").await,
        401
    );
    assert_eq!(
        server.sign_in("crlf@example.org", "Crlf-Password-1").await,
        200
    );
}

/// The example in `authcore import --help`, run as printed in an empty directory, works (it
/// named a SQLite URL without `?mode=rwc`, which cannot create the file).
#[test]
fn the_import_help_example_works_as_printed() {
    let dir = TempDir::new();
    let help = ok(&run(authcore(&dir, &["import", "--help"])));
    let example = help
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("authcore import "))
        .unwrap_or_else(|| panic!("no example in:\n{help}"));
    let args: Vec<String> = example
        .split_whitespace()
        .skip(1)
        .map(|w| w.trim_matches('\'').to_owned())
        .collect();
    let file = &args[1];
    std::fs::write(
        dir.path().join(file),
        "{\"email\":\"imported@example.org\",\"password\":\"Imported-Pass-1\",\"role\":\"admin\"}\n",
    )
    .unwrap();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&run(authcore(&dir, &args)));
    assert!(dir.path().join("authcore.db").exists());
}
