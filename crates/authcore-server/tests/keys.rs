//! Key ids and key rotation from the command line, with the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use base64::Engine as _;
use common::{ADMIN, ADMIN_PW, Server, TempDir, authcore, ok, run, with_admin};
use serde_json::Value;

/// Two HS256 secrets, the first retired in favour of the second.
const S1: &str = "first-secret-of-at-least-32-bytes-long";
const S2: &str = "second-secret-of-at-least-32-bytes-long";

/// `authcore keygen KIND --out FILE` in `dir`, for each `(KIND, FILE)`.
fn keygen(dir: &TempDir, keys: &[(&str, &str)]) {
    for (kind, file) in keys {
        ok(&run(authcore(dir, &["keygen", kind, "--out", file])));
    }
}

async fn token(server: &Server) -> String {
    server.token(ADMIN, ADMIN_PW).await
}

fn kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn refresh(server: &Server, token: &str) -> u16 {
    server
        .client
        .post(server.url("/v1/users/refresh_jwt"))
        .header("authorization", format!("JWT {token}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn jwks_kids(server: &Server) -> Vec<String> {
    let jwks = server.get_json("/.well-known/jwks.json").await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_previous_secret_keeps_tokens_valid_across_a_rotation() {
    let (dir, _) = with_admin();
    let t1 = {
        let server = Server::sqlite(&dir, &["--jwt-secret", S1]);
        token(&server).await
    };
    let k1 = kid(&t1);
    assert!(k1.starts_with("hs256-") && k1.len() > 6, "{k1}");
    assert!(!k1.contains(S1));

    let server = Server::sqlite(&dir, &["--jwt-secret", S2, "--jwt-previous-secret", S1]);
    assert_eq!(
        refresh(&server, &t1).await,
        200,
        "an old token survives the rotation"
    );
    let t2 = token(&server).await;
    assert_ne!(kid(&t2), k1, "each secret has its own kid");
    drop(server);

    let server = Server::sqlite(&dir, &["--jwt-secret", S2]);
    assert_eq!(
        refresh(&server, &t1).await,
        401,
        "the retired secret is gone"
    );
    assert_eq!(refresh(&server, &t2).await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn key_ids_are_thumbprints_or_names_and_previous_keys_stay_in_the_jwks() {
    let (dir, db) = with_admin();
    keygen(&dir, &[("ed25519", "k1.pem"), ("p256", "k2.pem")]);
    let t1 = {
        let server = Server::sqlite(&dir, &["--jwt-key", "k1.pem"]);
        let kids = jwks_kids(&server).await;
        assert_eq!(kids.len(), 1);
        assert_eq!(
            kids[0].len(),
            43,
            "a SHA-256 thumbprint, base64url: {kids:?}"
        );
        let t = token(&server).await;
        assert_eq!(kid(&t), kids[0]);
        t
    };
    let server = Server::sqlite(
        &dir,
        &[
            "--jwt-key",
            "k2.pem",
            "--jwt-key-id",
            "2026-11",
            "--jwt-previous-key",
            "k1.pem",
        ],
    );
    let kids = jwks_kids(&server).await;
    assert_eq!(kids, vec!["2026-11".to_owned(), kid(&t1)]);
    assert_eq!(refresh(&server, &t1).await, 200);
    assert_eq!(kid(&token(&server).await), "2026-11");

    // The same key twice is refused (one kid, one key).
    let out = run(authcore(
        &dir,
        &[
            "check-config",
            "--database-url",
            &db,
            "--jwt-key",
            "k1.pem",
            "--jwt-previous-key",
            "k1.pem",
        ],
    ));
    assert_eq!(out.status.code(), Some(1));
}

/// `--jwt-previous-retire-at`: the previous secret's tokens verify until that instant and are
/// refused from it on; the current secret's tokens are unaffected.
#[tokio::test(flavor = "multi_thread")]
async fn previous_keys_retire_at_the_given_instant() {
    use authcore_core::time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};
    let (dir, db) = with_admin();
    let t1 = {
        let server = Server::sqlite(&dir, &["--jwt-secret", S1]);
        token(&server).await
    };
    let at = |offset: Duration| {
        (OffsetDateTime::now_utc() + offset)
            .format(&Rfc3339)
            .unwrap()
    };
    let start = |retire: &str| {
        Server::sqlite(
            &dir,
            &[
                "--jwt-secret",
                S2,
                "--jwt-previous-secret",
                S1,
                "--jwt-previous-retire-at",
                retire,
            ],
        )
    };
    let later = start(&at(Duration::hours(1)));
    assert_eq!(refresh(&later, &t1).await, 200, "not retired yet");
    drop(later);
    let past = start(&at(-Duration::seconds(1)));
    assert_eq!(refresh(&past, &t1).await, 401, "retired");
    let t2 = token(&past).await;
    assert_eq!(
        refresh(&past, &t2).await,
        200,
        "the signing key never retires"
    );
    drop(past);

    let out = run(authcore(
        &dir,
        &[
            "serve",
            "--jwt-previous-retire-at",
            "tomorrow",
            "--database-url",
            &db,
        ],
    ));
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("RFC 3339"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A key or secret served under an explicit name (--jwt-key-id, --jwt-secret-id) keeps that
/// name once retired (--jwt-previous-key-id, --jwt-previous-secret-id, paired by position):
/// its tokens survive the rotation. Without the name they would carry a `kid` the ring does
/// not know.
#[tokio::test(flavor = "multi_thread")]
async fn named_keys_keep_their_name_when_retired() {
    let (dir, db) = with_admin();
    keygen(&dir, &[("ed25519", "k1.pem"), ("p256", "k2.pem")]);
    let (t_key, t_secret) = {
        let server = Server::sqlite(&dir, &["--jwt-key", "k1.pem", "--jwt-key-id", "2026-10"]);
        let t_key = token(&server).await;
        drop(server);
        let server = Server::sqlite(&dir, &["--jwt-secret", S1, "--jwt-secret-id", "s-2026-10"]);
        (t_key, token(&server).await)
    };
    assert_eq!(
        (kid(&t_key), kid(&t_secret)),
        ("2026-10".into(), "s-2026-10".into())
    );

    // Retired without their names: their tokens are not recognised (what an operator would
    // see without the new flags).
    let server = Server::sqlite(
        &dir,
        &[
            "--jwt-key",
            "k2.pem",
            "--jwt-previous-key",
            "k1.pem",
            "--jwt-previous-secret",
            S1,
        ],
    );
    assert_eq!(refresh(&server, &t_key).await, 401);
    assert_eq!(refresh(&server, &t_secret).await, 401);
    drop(server);

    // With their names, flags and variables: both survive.
    let server = Server::start(
        &dir,
        &[
            "--database-url",
            &db,
            "--jwt-key",
            "k2.pem",
            "--jwt-secret",
            S2,
            "--jwt-previous-key",
            "k1.pem",
            "--jwt-previous-key-id",
            "2026-10",
        ],
        &[
            ("AUTHCORE_JWT_PREVIOUS_SECRET", S1),
            ("AUTHCORE_JWT_PREVIOUS_SECRET_ID", "s-2026-10"),
        ],
    );
    assert_eq!(refresh(&server, &t_key).await, 200);
    assert_eq!(refresh(&server, &t_secret).await, 200);
    assert!(jwks_kids(&server).await.contains(&"2026-10".to_owned()));
    drop(server);

    // One name per key: a count that does not match is refused before anything starts.
    let out = run(authcore(
        &dir,
        &[
            "check-config",
            "--database-url",
            &db,
            "--jwt-secret",
            S2,
            "--jwt-previous-secret",
            S1,
            "--jwt-previous-secret",
            "third-secret-of-at-least-32-bytes-long",
            "--jwt-previous-secret-id",
            "s-2026-10",
        ],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stdout(&out).contains("--jwt-previous-secret-id"),
        "{}",
        common::stdout(&out)
    );
}

/// The `kid` of a PEM key is its RFC 7638 thumbprint, computed here from the private key file
/// itself (the public key derived with the curve crates, the canonical JWK hashed with
/// SHA-256), not from what the server publishes.
#[tokio::test(flavor = "multi_thread")]
async fn pem_key_ids_are_rfc_7638_thumbprints_of_the_key_file() {
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use sha2::Digest as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let thumbprint = |jwk: String| b64(&sha2::Sha256::digest(jwk.as_bytes()));

    let (dir, _) = with_admin();
    keygen(&dir, &[("ed25519", "ed.pem"), ("p256", "p.pem")]);
    let ed = std::fs::read_to_string(dir.path().join("ed.pem")).unwrap();
    let ed = ed25519_dalek::SigningKey::from_pkcs8_pem(&ed).unwrap();
    // Members in lexicographic order, no whitespace (RFC 7638 section 3).
    let ed_kid = thumbprint(format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        b64(ed.verifying_key().as_bytes())
    ));
    let p = std::fs::read_to_string(dir.path().join("p.pem")).unwrap();
    let p = p256::SecretKey::from_pkcs8_pem(&p).unwrap();
    let point = p.public_key().to_encoded_point(false);
    let p_kid = thumbprint(format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        b64(point.x().unwrap()),
        b64(point.y().unwrap())
    ));
    let server = Server::sqlite(
        &dir,
        &["--jwt-key", "p.pem", "--jwt-previous-key", "ed.pem"],
    );
    assert_eq!(jwks_kids(&server).await, vec![p_kid.clone(), ed_kid]);
    assert_eq!(kid(&token(&server).await), p_kid);
}
