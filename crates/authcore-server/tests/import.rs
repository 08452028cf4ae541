//! `authcore import`, run as the real binary next to a running `authcore serve` on the same
//! SQLite file: mixed hash formats, bad rows, dry run, re-runs, then every user signs in and
//! ends up with an argon2id hash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::process::Output;

use authcore_core::HashFormat;
use common::{ADMIN, ADMIN_PW, FAST_ARGON2, Server, TempDir, authcore, run};

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

/// `authcore serve` on the SQLite file of `dir`, with a first admin.
fn serve(dir: &TempDir) -> Server {
    let db = dir.sqlite_url();
    let mut args = vec!["--database-url", db.as_str()];
    args.extend(FAST_ARGON2);
    Server::start(
        dir,
        &args,
        &[
            ("AUTHCORE_ADMIN_EMAIL", ADMIN),
            ("AUTHCORE_ADMIN_PASSWORD", ADMIN_PW),
        ],
    )
}

/// `authcore import FILE` on the SQLite file of `dir`.
fn import(dir: &TempDir, file: &Path, extra: &[&str]) -> Output {
    let db = dir.sqlite_url();
    let file = file.to_str().unwrap();
    let mut args = vec!["import", file, "--database-url", db.as_str()];
    args.extend(FAST_ARGON2);
    args.extend(extra);
    run(authcore(dir, &args))
}

/// The formats of a user's stored hashes, or `None` when the user does not exist.
async fn formats(dir: &TempDir, email: &str) -> Option<Vec<HashFormat>> {
    common::stored_formats(&dir.sqlite_url(), email).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn mixed_formats_import_next_to_a_running_server_and_upgrade_at_sign_in() {
    let dir = TempDir::new();
    let server = serve(&dir);

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
    let file = dir.path().join("users.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();

    // A dry run writes nothing.
    let out = import(&dir, &file, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("dry run"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(formats(&dir, "bcrypt@example.org").await, None);

    let out = import(&dir, &file, &[]);
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
            formats(&dir, &format!("{email}@example.org")).await,
            None,
            "{email}"
        );
    }

    // Stored as is, then upgraded at the first sign-in through the running server.
    for (name, _) in HASHED {
        let email = format!("{name}@example.org");
        let before = formats(&dir, &email).await.unwrap();
        assert!(before.iter().all(|f| f.is_legacy()), "{name}: {before:?}");
        assert_eq!(server.sign_in(&email, "wrong").await, 401, "{name}");
        assert_eq!(server.sign_in(&email, PASSWORD).await, 200, "{name}");
        assert_eq!(
            formats(&dir, &email).await.unwrap(),
            [HashFormat::Argon2],
            "{name}"
        );
    }
    assert_eq!(server.sign_in("last@example.org", PASSWORD).await, 200);
    assert_eq!(
        server.sign_in("plain@example.org", "plain-Secret-1").await,
        200
    );
    for email in ["last", "plain"] {
        let f = formats(&dir, &format!("{email}@example.org"))
            .await
            .unwrap();
        assert_eq!(f, [HashFormat::Argon2], "{email}");
    }

    // A re-run skips every existing user (and still reports the bad rows).
    let out = import(&dir, &file, &["--on-conflict", "skip"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("skipped"), "{stdout}");
    assert_eq!(
        formats(&dir, "bcrypt@example.org").await.unwrap(),
        [HashFormat::Argon2]
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_import_with_updates() {
    let dir = TempDir::new();
    let file = dir.path().join("users.csv");
    std::fs::write(
        &file,
        "email,name,role,password_hash,password\n\
         a@example.org,Ann,db_viewer,$2b$04$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G,\n\
         b@example.org,,admin,,b-Secret-1\n\
         c@example.org,\"Quoted, Name\",db_viewer,$y$j75$GhXr7W2/KnM1EJuieqz2P1$iQ8DHqSEDV3gEzUv0VJvo6xsj4Hrf2Pr3s6y/NRgnE9,\n\
         d@example.org,Dee,db_viewer\n",
    )
    .unwrap();
    let out = import(&dir, &file, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("users.csv: line 5: "), "{stderr}");
    assert_eq!(
        formats(&dir, "a@example.org").await.unwrap(),
        [HashFormat::Bcrypt]
    );
    assert_eq!(
        formats(&dir, "b@example.org").await.unwrap(),
        [HashFormat::Argon2]
    );
    assert_eq!(
        formats(&dir, "c@example.org").await.unwrap(),
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
    let out = import(&dir, &file, &["--on-conflict", "update"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("updated"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        formats(&dir, "a@example.org").await.unwrap(),
        [HashFormat::Sha256Crypt]
    );
    let out = import(&dir, &file, &["--on-conflict", "update"]);
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
    let out = import(&dir, &file, &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("shoe_size"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(formats(&dir, "z@example.org").await, None);
}
