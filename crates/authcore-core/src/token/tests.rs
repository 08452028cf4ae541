//! Tests of minting, verification, rotation and every supported algorithm.

use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretSlice;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::error::Error;
use crate::user::{Credentials, Role, User, UserId, UserStatus};

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
// Test-only keys made with `openssl genpkey -algorithm ed25519` and
// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
const ED25519_PEM: &[u8] = include_bytes!("../../testdata/ed25519.pem");
const ED25519_OLD_PEM: &[u8] = include_bytes!("../../testdata/ed25519-old.pem");
const P256_PEM: &[u8] = include_bytes!("../../testdata/p256.pem");

fn user() -> User {
    User {
        uid: UserId::new("7"),
        email: "ann@example.org".into(),
        name: Some("Ann".into()),
        role: Role::new("db_viewer"),
        status: UserStatus::Active,
        credentials: Credentials::External,
    }
}

fn secret(b: &[u8]) -> SecretSlice<u8> {
    SecretSlice::from(b.to_vec())
}

fn hs(kid: &str, byte: u8) -> Key {
    Key::hs256(kid, &secret(&[byte; 32])).unwrap()
}

fn issuer(ring: KeyRing) -> TokenIssuer {
    TokenIssuer::new(ring, TokenConfig::default()).unwrap()
}

#[test]
fn hs256_round_trip_and_claims() {
    let t = issuer(KeyRing::new(hs("k1", 1)).unwrap());
    let issued = t.mint(&user(), NOW, Ttl::new(60).unwrap()).unwrap();
    let c = t.verify(&issued.token, NOW).unwrap();
    assert_eq!(c, issued.claims);
    assert_eq!(c.sub, "7");
    assert_eq!(c.username, "ann@example.org");
    assert_eq!(c.exp - c.iat, 60);
    assert_eq!(c.iss, "authcore");
    assert!(!format!("{issued:?}").contains(&issued.token));
}

#[test]
fn short_secret_is_a_configuration_error() {
    assert!(matches!(
        Key::hs256("k", &secret(&[0; 31])),
        Err(Error::Configuration(_))
    ));
}

#[test]
fn ttl_bounds() {
    assert!(Ttl::new(0).is_err());
    assert!(Ttl::new(86_401).is_err());
    assert!(Ttl::new(-5).is_err());
    assert_eq!(Ttl::new(86_400).unwrap().secs(), 86_400);
    assert_eq!(Ttl::or_default(None).unwrap(), Ttl::DEFAULT);
}

/// Whether a verification was refused with exactly [`Error::InvalidToken`].
fn invalid(result: std::result::Result<Claims, Error>) -> bool {
    matches!(result, Err(Error::InvalidToken))
}

#[test]
fn expiry_nbf_and_leeway_follow_the_given_clock() {
    let t = issuer(KeyRing::new(hs("k1", 1)).unwrap());
    let issued = t.mint(&user(), NOW, Ttl::new(10).unwrap()).unwrap();
    let at = |s: i64| NOW + time::Duration::seconds(s);
    assert!(t.verify(&issued.token, at(14)).is_ok(), "within leeway");
    assert!(matches!(
        t.verify(&issued.token, at(15)),
        Err(Error::InvalidToken)
    ));
    assert!(t.verify(&issued.token, at(-5)).is_ok());
    assert!(invalid(t.verify(&issued.token, at(-6))), "not yet valid");
}

#[test]
fn rejects_tampering_foreign_issuer_unknown_kid_and_alg_none() {
    let t = issuer(KeyRing::new(hs("k1", 1)).unwrap());
    let token = t.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token;
    let parts: Vec<&str> = token.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    // Payload swapped for an admin one, signature kept.
    let forged_payload = b64.encode(
        String::from_utf8(b64.decode(parts[1]).unwrap())
            .unwrap()
            .replace("db_viewer", "admin"),
    );
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert!(invalid(t.verify(&forged, NOW)));

    // alg none, no signature.
    let none_header = b64.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    assert!(invalid(
        t.verify(&format!("{none_header}.{}.", parts[1]), NOW)
    ));

    // Same secret under another kid, or another issuer.
    let other = issuer(KeyRing::new(hs("k2", 1)).unwrap());
    assert!(invalid(t.verify(
        &other.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token,
        NOW
    )));
    let foreign = TokenIssuer::new(
        KeyRing::new(hs("k1", 1)).unwrap(),
        TokenConfig {
            issuer: "someone-else".into(),
            ..TokenConfig::default()
        },
    )
    .unwrap();
    assert!(invalid(t.verify(
        &foreign.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token,
        NOW
    )));
    assert!(invalid(t.verify("not.a.token", NOW)));
    assert!(invalid(t.verify("", NOW)));
}

#[test]
fn rotation_keeps_old_tokens_valid() {
    let old = issuer(KeyRing::new(hs("2025", 1)).unwrap());
    let old_token = old.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token;
    let new = issuer(
        KeyRing::new(hs("2026", 2))
            .unwrap()
            .with_verify_only(hs("2025", 1))
            .unwrap(),
    );
    assert!(new.verify(&old_token, NOW).is_ok());
    let fresh = new.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token;
    assert_eq!(
        jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(),
        Some("2026")
    );
    assert!(invalid(old.verify(&fresh, NOW)));
    assert!(
        KeyRing::new(hs("a", 1))
            .unwrap()
            .with_verify_only(hs("a", 2))
            .is_err()
    );
}

#[test]
fn eddsa_and_es256_sign_verify_and_publish_jwks() {
    for (pem, alg, kty) in [
        (ED25519_PEM, SigningAlgorithm::EdDsa, "OKP"),
        (P256_PEM, SigningAlgorithm::Es256, "EC"),
    ] {
        let key = Key::from_private_pem("main", pem).unwrap();
        assert_eq!(key.algorithm(), alg);
        let t = issuer(KeyRing::new(key).unwrap());
        let issued = t.mint(&user(), NOW, Ttl::DEFAULT).unwrap();
        assert_eq!(t.verify(&issued.token, NOW).unwrap(), issued.claims);

        // A client holding only the published JWKS verifies the token independently.
        let jwks = serde_json::to_value(t.keys().jwks()).unwrap();
        assert_eq!(jwks["keys"][0]["kty"], kty);
        assert_eq!(jwks["keys"][0]["kid"], "main");
        assert!(
            jwks["keys"][0].get("d").is_none(),
            "no private part in the JWKS"
        );
        let jwk: Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
        let verifier = issuer(
            KeyRing::new(hs("hs", 1))
                .unwrap()
                .with_verify_only(Key::from_public_jwk(&jwk).unwrap())
                .unwrap(),
        );
        assert!(verifier.verify(&issued.token, NOW).is_ok());
    }
    assert!(Key::from_private_pem("x", b"not a key").is_err());
}

#[test]
fn hs256_is_never_exported_and_alg_confusion_fails() {
    let hs_ring = KeyRing::new(hs("k", 1)).unwrap();
    assert!(hs_ring.jwks().keys.is_empty());
    assert!(!hs_ring.has_public_keys());

    // An attacker signs HS256 with the *public* Ed25519 key as the HMAC secret, under the
    // Ed25519 key's kid: the key is pinned to EdDSA, so this must fail.
    let ed = Key::from_private_pem("ed", ED25519_PEM).unwrap();
    let jwks = serde_json::to_value(
        KeyRing::new(Key::from_private_pem("ed", ED25519_PEM).unwrap())
            .unwrap()
            .jwks(),
    )
    .unwrap();
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let t = issuer(KeyRing::new(ed).unwrap());
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("ed".into());
    let claims = t.mint(&user(), NOW, Ttl::DEFAULT).unwrap().claims;
    let forged =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(x.as_bytes())).unwrap();
    assert!(matches!(t.verify(&forged, NOW), Err(Error::InvalidToken)));
}

#[test]
fn asymmetric_rotation() {
    let old = issuer(KeyRing::new(Key::from_private_pem("old", ED25519_OLD_PEM).unwrap()).unwrap());
    let old_token = old.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token;
    let ring = KeyRing::new(Key::from_private_pem("new", P256_PEM).unwrap())
        .unwrap()
        .with_verify_only(Key::from_private_pem("old", ED25519_OLD_PEM).unwrap())
        .unwrap();
    assert_eq!(ring.jwks().keys.len(), 2);
    let t = issuer(ring);
    assert!(t.verify(&old_token, NOW).is_ok());
}

/// RFC 8037 appendix A: the Ed25519 key of A.1 has the RFC 7638 thumbprint of A.3.
#[test]
fn derived_kid_of_an_ed25519_key_is_its_rfc7638_thumbprint() {
    let d = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
        .unwrap();
    // PKCS#8 v1 wrapping of an Ed25519 private key (RFC 8410).
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&d);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    let key = Key::from_private_pem_with_derived_kid(pem.as_bytes()).unwrap();
    assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    let ring = KeyRing::new(key).unwrap();
    assert_eq!(
        ring.jwks().keys[0].common.key_id.as_deref(),
        Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    );
}

#[test]
fn derived_kids_differ_per_key_and_never_show_a_secret() {
    let a = Key::from_private_pem_with_derived_kid(ED25519_PEM).unwrap();
    let b = Key::from_private_pem_with_derived_kid(ED25519_OLD_PEM).unwrap();
    let c = Key::from_private_pem_with_derived_kid(P256_PEM).unwrap();
    assert!(a.kid() != b.kid() && b.kid() != c.kid() && a.kid() != c.kid());
    assert_eq!(a.kid(), a.thumbprint().unwrap());
    let s1 = SecretSlice::from(vec![1u8; 32]);
    let s2 = SecretSlice::from(vec![2u8; 32]);
    let k1 = Key::hs256_with_derived_kid(&s1).unwrap();
    let k1_again = Key::hs256_with_derived_kid(&s1).unwrap();
    let k2 = Key::hs256_with_derived_kid(&s2).unwrap();
    assert_eq!(k1.kid(), k1_again.kid());
    assert_ne!(k1.kid(), k2.kid());
    assert!(
        k1.kid().starts_with("hs256-") && k1.kid().len() == 6 + 22,
        "{}",
        k1.kid()
    );
    assert!(k1.thumbprint().is_none());
    // A token of one secret names its key: a ring with both verifies it with the right one.
    let ring = KeyRing::new(k2).unwrap().with_verify_only(k1).unwrap();
    assert!(!ring.has_public_keys());
}

#[test]
fn session_claims_are_minted_and_exp_is_capped_by_the_session_end() {
    let t = issuer(KeyRing::new(hs("k1", 1)).unwrap());
    let iat = NOW.unix_timestamp();
    let session = SessionClaims {
        generation: 7,
        pwd: Some("0123456789abcdef".into()),
        auth_time: iat - 50,
        ends_at: Some(iat + 10),
        sid: Some("the-session".into()),
    };
    let issued = t
        .mint_session(&user(), NOW, Ttl::new(60).unwrap(), &session)
        .unwrap();
    let c = t.verify(&issued.token, NOW).unwrap();
    assert_eq!(c.generation, 7);
    assert_eq!(c.pwd.as_deref(), Some("0123456789abcdef"));
    assert_eq!(c.auth_time, iat - 50);
    assert_eq!(c.exp, iat + 10, "min(iat + ttl, session end)");
    let payload = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&issued.token)
        .unwrap()
        .claims;
    assert_eq!(payload["gen"], 7);
    assert_eq!(payload["auth_time"], iat - 50);
    assert_eq!(payload["sid"], "the-session");
    assert_eq!(c.session_id(), "the-session");

    let unbounded = SessionClaims {
        ends_at: None,
        ..session
    };
    let issued = t
        .mint_session(&user(), NOW, Ttl::new(60).unwrap(), &unbounded)
        .unwrap();
    assert_eq!(issued.claims.exp, iat + 60);
    // Plain `mint`: generation 0, no password id, the session starting now and named by the
    // token's own jti (no `sid` claim).
    let plain = t.mint(&user(), NOW, Ttl::DEFAULT).unwrap();
    let payload = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&plain.token)
        .unwrap()
        .claims;
    assert!(payload.get("sid").is_none(), "{payload}");
    let plain = plain.claims;
    assert_eq!(plain.session_id(), plain.jti);
    assert_eq!(
        (plain.generation, plain.pwd, plain.auth_time),
        (0, None, iat)
    );
}

/// Issue #8 item 7: whatever key signed it, a token that claims a session longer than the
/// longest ttl is refused, and so is one issued in the future.
#[test]
fn tokens_longer_than_the_maximum_ttl_are_refused_whatever_signed_them() {
    let issuer = issuer(KeyRing::new(hs("k", 9)).unwrap());
    let issued = issuer
        .mint(&user(), NOW, Ttl::new(i64::from(Ttl::MAX)).unwrap())
        .unwrap();
    assert!(issuer.verify(&issued.token, NOW).is_ok());
    let header = Header {
        kid: Some("k".into()),
        ..Header::new(Algorithm::HS256)
    };
    let enc = EncodingKey::from_secret(&[9u8; 32]);
    let base = issued.claims;
    for (iat, exp) in [
        (base.iat, base.iat + i64::from(Ttl::MAX) + 1),
        (base.iat, i64::MAX),
        (i64::MIN, base.exp),
        (base.iat + 60, base.exp),
    ] {
        let mut claims = base.clone();
        claims.iat = iat;
        claims.exp = exp;
        claims.nbf = base.nbf.min(iat);
        let token = jsonwebtoken::encode(&header, &claims, &enc).unwrap();
        assert!(
            matches!(issuer.verify(&token, NOW), Err(Error::InvalidToken)),
            "iat {iat} exp {exp} accepted"
        );
    }
}

#[test]
fn a_retired_verify_only_key_vouches_for_nothing() {
    let old = issuer(KeyRing::new(hs("2025", 1)).unwrap());
    let old_token = old.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token;
    let retire = NOW + time::Duration::seconds(60);
    let new = issuer(
        KeyRing::new(hs("2026", 2))
            .unwrap()
            .with_verify_only(hs("2025", 1).retire_at(retire))
            .unwrap(),
    );
    // Before the retirement the old token is valid; from it on (its exp is later) it is not.
    assert!(new.verify(&old_token, NOW).is_ok());
    assert!(
        new.verify(&old_token, retire - time::Duration::seconds(1))
            .is_ok()
    );
    assert!(matches!(
        new.verify(&old_token, retire),
        Err(Error::InvalidToken)
    ));
    assert!(
        new.verify(&old_token, retire + time::Duration::hours(1))
            .is_err()
    );
    // Tokens of the signing key are unaffected.
    let fresh = new.mint(&user(), retire, Ttl::DEFAULT).unwrap().token;
    assert!(
        new.verify(&fresh, retire + time::Duration::seconds(1))
            .is_ok()
    );
    // The signing key itself cannot retire.
    assert!(matches!(
        KeyRing::new(hs("2026", 2).retire_at(retire)),
        Err(Error::Configuration(_))
    ));
    assert_eq!(hs("x", 3).retire_at(retire).retires_at(), Some(retire));
}

/// The token path decodes the header itself: what it refuses and what it accepts must match
/// what jsonwebtoken's own `decode` would, and its tokens must be standard JWS.
#[test]
fn own_token_parsing_interoperates_with_jsonwebtoken_and_refuses_malformed_structure() {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for (key, alg) in [
        (hs("k1", 1), Algorithm::HS256),
        (
            Key::from_private_pem("k1", ED25519_PEM).unwrap(),
            Algorithm::EdDSA,
        ),
        (
            Key::from_private_pem("k1", P256_PEM).unwrap(),
            Algorithm::ES256,
        ),
    ] {
        let decoding = match &key.public_jwk {
            Some(jwk) => jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            None => jsonwebtoken::DecodingKey::from_secret(&[1; 32]),
        };
        let t = issuer(KeyRing::new(key).unwrap());
        let issued = t.mint(&user(), NOW, Ttl::DEFAULT).unwrap();
        // Ours decodes with jsonwebtoken, header included.
        let mut validation = jsonwebtoken::Validation::new(alg);
        validation.validate_exp = false;
        validation.set_issuer(&["authcore"]);
        let data = jsonwebtoken::decode::<Claims>(&issued.token, &decoding, &validation).unwrap();
        assert_eq!(data.claims, issued.claims);
        assert_eq!(data.header.kid.as_deref(), Some("k1"));
        assert_eq!(data.header.alg, alg);
        assert_eq!(data.header.typ.as_deref(), Some("JWT"));

        let parts: Vec<&str> = issued.token.split('.').collect();
        let header: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
        // Signed with the right key, so that only the structure is wrong.
        let encoding = t.keys().signing.encoding.as_ref().unwrap();
        let signed = |header_json: &str, payload: &str| {
            let message = format!("{}.{payload}", b64.encode(header_json));
            let sig = jsonwebtoken::crypto::sign(message.as_bytes(), encoding, alg).unwrap();
            format!("{message}.{sig}")
        };
        let with_header = |h: serde_json::Value| signed(&h.to_string(), parts[1]);
        assert!(t.verify(&with_header(header.clone()), NOW).is_ok());
        // A header rewritten (even to an equivalent one) breaks the signature.
        let mut same = header.clone();
        same["typ"] = "jwt".into();
        let resigned = with_header(same);
        let sig = resigned.rsplit('.').next().unwrap();
        let tampered = format!("{}.{}.{sig}", parts[0], parts[1]);
        assert!(t.verify(&tampered, NOW).is_err());
        // No kid, a crit member, a header or payload that is an array, a token with 4 or 2
        // parts, padding, a trailing dot.
        let tok = &issued.token;
        let payload: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        let as_array: Vec<serde_json::Value> = [
            "sub",
            "username",
            "role",
            "iat",
            "nbf",
            "exp",
            "jti",
            "iss",
            "gen",
            "pwd",
            "auth_time",
        ]
        .iter()
        .map(|k| payload.get(*k).cloned().unwrap_or(serde_json::Value::Null))
        .collect();
        for bad in [
            signed(&format!(r#"{{"alg":"{alg:?}","typ":"JWT"}}"#), parts[1]),
            {
                let mut h = header.clone();
                h["crit"] = serde_json::json!(["exp"]);
                with_header(h)
            },
            signed(&format!(r#"["{alg:?}","k1"]"#), parts[1]),
            signed(
                &header.to_string(),
                &b64.encode(serde_json::Value::Array(as_array.clone()).to_string()),
            ),
            format!("{tok}.x"),
            format!("{}.{}", parts[0], parts[1]),
            format!("{tok}."),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}=.{}", parts[0], parts[1], parts[2]),
            format!(".{tok}"),
            tok.replacen('.', "..", 1),
        ] {
            assert!(
                matches!(t.verify(&bad, NOW), Err(Error::InvalidToken)),
                "{bad}"
            );
        }
        assert!(t.verify(tok, NOW).is_ok());

        // A token signed by jsonwebtoken with the same key verifies too.
        let mut h = Header::new(alg);
        h.kid = Some("k1".into());
        let theirs = jsonwebtoken::encode(
            &h,
            &issued.claims,
            t.keys().signing.encoding.as_ref().unwrap(),
        )
        .unwrap();
        assert_eq!(t.verify(&theirs, NOW).unwrap(), issued.claims);
        // The same claims under a header naming another algorithm are refused.
        let other_alg = if alg == Algorithm::HS256 {
            Algorithm::HS384
        } else {
            Algorithm::HS256
        };
        let mut h = Header::new(other_alg);
        h.kid = Some("k1".into());
        let forged =
            jsonwebtoken::encode(&h, &issued.claims, &EncodingKey::from_secret(&[1; 32])).unwrap();
        assert!(matches!(t.verify(&forged, NOW), Err(Error::InvalidToken)));
    }
}
