//! `authcore import`, run as the real binary next to a running `authcore serve` on the same
//! SQLite file: mixed hash formats, bad rows, dry run, re-runs, then every user signs in and
//! ends up with an argon2id hash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use authcore_core::{HashFormat, UserStore as _};

const BIN: &str = env!("CARGO_BIN_EXE_authcore");

/// One user per format, with hashes made by the reference implementations (the same vectors
/// as crates/authcore-core/testdata/legacy_hash_vectors.json).
const HASHED: [(&str, &str); 9] = [
    (
        "bcrypt",
        "$2b$04$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G",
    ),
    (
        "bcrypt-2y",
        "$2y$04$HGKRJV9b.Z3mTngFeNojNuaOTFy.qxANyBmwpTFFVVq1Zpwyct6U6",
    ),
    (
        "pbkdf2",
        "$pbkdf2-sha256$i=1000,l=32$8pmS4ZaiHM7P0dRVeFOcTg$vj4VbJlwwgl/MyV6LcEhITHcf6JIxjqE+1gRnEe5iO8",
    ),
    (
        "passlib",
        "$pbkdf2-sha256$1000$Y.w9R4iREiLk/D8nhHCOsQ$T35RocIoVWevi32qy6Gp3ACTx8bfldsBGdv1zDS1a2g",
    ),
    (
        "django",
        "pbkdf2_sha256$1000$7akTvzMu8KosVXY27y9NF1$JSbSQjrTXpayHOFCcvNShTEhxlRD8FIsB0ILPfql8KY=",
    ),
    (
        "scrypt",
        "$scrypt$ln=4,r=8,p=1$bg3BOKcUAgDgnBOi1PofYw$dv+jwXoc7oBMT0C2CWhzHRFgr2zYUjOrK2PaF9cjeTg",
    ),
    (
        "sha256",
        "$5$pKM5PeUDlwKJCpjt$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt5",
    ),
    (
        "sha512",
        "$6$xi6u44.QfsZjuyBd$vElEDD72jXWTaRM3rA.9r.XCaWcZphCUFO76nzznFrolM0GVvmDfX0Asm/rtOQvFNHIEGbAawYLsdoLxW08o60",
    ),
    (
        "yescrypt",
        "$y$j75$GhXr7W2/KnM1EJuieqz2P1$iQ8DHqSEDV3gEzUv0VJvo6xsj4Hrf2Pr3s6y/NRgnE9",
    ),
];
const PASSWORD: &str = "correct horse";

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Dir {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("authcore-import-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    Dir(dir)
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("authcore.db").display())
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &db_url(dir),
        ])
        .args(["--argon2-memory-kib", "8", "--argon2-iterations", "1"])
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
    Server { child, addr }
}

fn import(dir: &Path, file: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("import")
        .arg(file)
        .args(["--database-url", &db_url(dir)])
        .args(["--argon2-memory-kib", "8", "--argon2-iterations", "1"])
        .args(extra)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn sign_in(addr: &str, user: &str, password: &str) -> u16 {
    let body = serde_json::json!({"username": user, "password": password}).to_string();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/users/authorize HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The formats of a user's stored hashes, or `None` when the user does not exist.
fn formats(dir: &Path, email: &str) -> Option<Vec<HashFormat>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = authcore_sql::SqlStore::connect(&db_url(dir)).await.unwrap();
        let user = store.find_by_username(email).await.unwrap();
        store.close().await;
        user.map(|u| {
            u.passwords()
                .iter()
                .map(|p| HashFormat::detect(p.hash.expose_phc()).unwrap())
                .collect()
        })
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn mixed_formats_import_next_to_a_running_server_and_upgrade_at_sign_in() {
    let dir = tempdir();
    let server = serve(&dir.0);

    let mut lines = Vec::new();
    for (name, hash) in HASHED {
        lines.push(serde_json::json!({"email": format!("{name}@example.org"), "password_hash": hash, "role": "db_member"}).to_string());
    }
    lines.push(r#"{"email": "plain@example.org", "password": "plain-Secret-1", "name": "Plain", "status": "active"}"#.to_owned());
    // Bad rows (lines 11-16): each reported, none written, the rest imported.
    lines.push(r#"{"email": "nohash@example.org"}"#.to_owned());
    lines.push(r#"{"email": "both@example.org", "password": "x-Secret-1", "password_hash": "$2b$04$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G"}"#.to_owned());
    lines.push(
        r#"{"email": "garbage@example.org", "password_hash": "$2b$04$not-a-real-hash"}"#.to_owned(),
    );
    lines.push(r#"{"email": "role@example.org", "password_hash": "$5$pKM5PeUDlwKJCpjt$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt5", "role": "emperor"}"#.to_owned());
    lines.push("{not json".to_owned());
    lines.push(
        r#"{"email": "extra@example.org", "password": "e-Secret-1", "shoe_size": "44"}"#.to_owned(),
    );
    lines.push(String::new()); // blank lines are skipped
    lines.push(r#"{"email": "last@example.org", "password_hash": "$6$xi6u44.QfsZjuyBd$vElEDD72jXWTaRM3rA.9r.XCaWcZphCUFO76nzznFrolM0GVvmDfX0Asm/rtOQvFNHIEGbAawYLsdoLxW08o60"}"#.to_owned());
    let file = dir.0.join("users.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();

    // A dry run writes nothing.
    let out = import(&dir.0, &file, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("dry run"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(formats(&dir.0, "bcrypt@example.org"), None);

    let out = import(&dir.0, &file, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad rows make the exit status 1: {stderr}"
    );
    for line in 11..=16 {
        assert!(
            stderr.contains(&format!("users.jsonl: line {line}: ")),
            "line {line} not reported:\n{stderr}"
        );
    }
    assert!(stderr.contains("shoe_size"), "{stderr}");
    assert!(stderr.contains("emperor"), "{stderr}");
    assert!(
        !stderr.contains("x-Secret-1") && !stderr.contains("e-Secret-1"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-real-hash"), "{stderr}");
    // The summary: per format and outcome.
    for needle in [
        "bcrypt",
        "yescrypt",
        "pbkdf2-sha256-django",
        "plain",
        "created",
        "failed",
    ] {
        assert!(stdout.contains(needle), "summary lacks {needle}:\n{stdout}");
    }
    for email in ["nohash", "both", "garbage", "role", "extra"] {
        assert_eq!(
            formats(&dir.0, &format!("{email}@example.org")),
            None,
            "{email}"
        );
    }

    // Stored as is, then upgraded at the first sign-in through the running server.
    for (name, _) in HASHED {
        let email = format!("{name}@example.org");
        let before = formats(&dir.0, &email).unwrap();
        assert!(before.iter().all(|f| f.is_legacy()), "{name}: {before:?}");
        assert_eq!(sign_in(&server.addr, &email, "wrong"), 401, "{name}");
        assert_eq!(sign_in(&server.addr, &email, PASSWORD), 200, "{name}");
        assert_eq!(
            formats(&dir.0, &email).unwrap(),
            [HashFormat::Argon2],
            "{name}"
        );
    }
    assert_eq!(sign_in(&server.addr, "last@example.org", PASSWORD), 200);
    assert_eq!(
        sign_in(&server.addr, "plain@example.org", "plain-Secret-1"),
        200
    );
    for email in ["last", "plain"] {
        let f = formats(&dir.0, &format!("{email}@example.org")).unwrap();
        assert_eq!(f, [HashFormat::Argon2], "{email}");
    }

    // A re-run skips every existing user (and still reports the bad rows).
    let out = import(&dir.0, &file, &["--on-conflict", "skip"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("skipped"), "{stdout}");
    assert_eq!(
        formats(&dir.0, "bcrypt@example.org").unwrap(),
        [HashFormat::Argon2]
    );
    drop(server);
}

#[test]
fn csv_import_with_updates() {
    let dir = tempdir();
    let file = dir.0.join("users.csv");
    std::fs::write(
        &file,
        "email,name,role,password_hash,password\n\
         a@example.org,Ann,db_viewer,$2b$04$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G,\n\
         b@example.org,,admin,,b-Secret-1\n\
         c@example.org,\"Quoted, Name\",db_viewer,$y$j75$GhXr7W2/KnM1EJuieqz2P1$iQ8DHqSEDV3gEzUv0VJvo6xsj4Hrf2Pr3s6y/NRgnE9,\n\
         d@example.org,Dee,db_viewer\n",
    )
    .unwrap();
    let out = import(&dir.0, &file, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("users.csv: line 5: "), "{stderr}");
    assert_eq!(
        formats(&dir.0, "a@example.org").unwrap(),
        [HashFormat::Bcrypt]
    );
    assert_eq!(
        formats(&dir.0, "b@example.org").unwrap(),
        [HashFormat::Argon2]
    );
    assert_eq!(
        formats(&dir.0, "c@example.org").unwrap(),
        [HashFormat::Yescrypt]
    );

    // --on-conflict update: a changed hash replaces the stored one; the same file again
    // changes nothing.
    std::fs::write(
        &file,
        "email,role,password_hash\n\
         a@example.org,cluster_viewer,$5$pKM5PeUDlwKJCpjt$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt5\n",
    )
    .unwrap();
    let out = import(&dir.0, &file, &["--on-conflict", "update"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("updated"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        formats(&dir.0, "a@example.org").unwrap(),
        [HashFormat::Sha256Crypt]
    );
    let out = import(&dir.0, &file, &["--on-conflict", "update"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("unchanged"),
        "{}",
        text(&out.stdout)
    );

    // An unknown column stops the import before any row.
    std::fs::write(
        &file,
        "email,password,shoe_size\nz@example.org,z-Secret-1,44\n",
    )
    .unwrap();
    let out = import(&dir.0, &file, &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("shoe_size"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(formats(&dir.0, "z@example.org"), None);
}
