//! JWT access tokens: a key ring with rotation, minting, verification and JWKS.
//!
//! The crypto backend of `jsonwebtoken` 11 is chosen here and only here (`rust_crypto`, in
//! this crate's `Cargo.toml`): with none, or two, it panics at first use. The tests in this
//! module encode and decode with every supported algorithm, so a wrong selection fails them.

use std::fmt;

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::user::{Role, User, UserId};

/// The token claims authcore mints and verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's uid.
    pub sub: String,
    /// The user's login name (e-mail for local users).
    pub username: String,
    /// The user's role.
    pub role: Role,
    /// Issued at (UNIX seconds).
    pub iat: i64,
    /// Not before (UNIX seconds; equal to `iat`).
    pub nbf: i64,
    /// Expires at (UNIX seconds; `iat + ttl`).
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// Issuer.
    pub iss: String,
}

impl Claims {
    /// The uid in `sub`.
    #[must_use]
    pub fn uid(&self) -> UserId {
        UserId::new(self.sub.clone())
    }

    /// Whether the token's role is [`Role::ADMIN`].
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }
}

/// A freshly minted token.
#[derive(Clone)]
pub struct IssuedToken {
    /// The compact JWS (`header.payload.signature`).
    pub token: String,
    /// Its claims.
    pub claims: Claims,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[REDACTED]")
            .field("claims", &self.claims)
            .finish()
    }
}

/// A token lifetime in seconds, checked against Redis's range 1..=86400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Ttl(u32);

impl Ttl {
    /// Redis's default: 300 s.
    pub const DEFAULT: Self = Self(300);
    /// Shortest: 1 s.
    pub const MIN: u32 = 1;
    /// Longest: 86400 s (a day).
    pub const MAX: u32 = 86_400;

    /// Checks a requested lifetime.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] outside 1..=86400.
    pub fn new(secs: i64) -> Result<Self> {
        u32::try_from(secs)
            .ok()
            .filter(|s| (Self::MIN..=Self::MAX).contains(s))
            .map(Self)
            .ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "ttl must be an integer between {} and {}",
                    Self::MIN,
                    Self::MAX
                ))
            })
    }

    /// Checks an optional lifetime; `None` gives [`Ttl::DEFAULT`].
    ///
    /// # Errors
    /// As [`Ttl::new`].
    pub fn or_default(secs: Option<i64>) -> Result<Self> {
        secs.map_or(Ok(Self::DEFAULT), Self::new)
    }

    /// Seconds.
    #[must_use]
    pub const fn secs(self) -> u32 {
        self.0
    }
}

impl Default for Ttl {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Shortest HS256 secret accepted (bytes).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

/// The signature algorithms authcore signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 with a shared secret of at least 32 bytes.
    Hs256,
    /// Ed25519.
    EdDsa,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

impl SigningAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

/// One key: a `kid`, its pinned algorithm, and the material to verify (and maybe sign).
pub struct Key {
    kid: String,
    alg: SigningAlgorithm,
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    public_jwk: Option<Jwk>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("can_sign", &self.encoding.is_some())
            .finish_non_exhaustive()
    }
}

fn key_error(what: &str) -> impl FnOnce(jsonwebtoken::errors::Error) -> Error + '_ {
    move |e| Error::Configuration(format!("{what}: {e}"))
}

impl Key {
    /// An HS256 key from a shared secret.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the secret is shorter than [`MIN_HMAC_SECRET_LEN`].
    pub fn hs256(kid: impl Into<String>, secret: &SecretSlice<u8>) -> Result<Self> {
        let bytes = secret.expose_secret();
        if bytes.len() < MIN_HMAC_SECRET_LEN {
            return Err(Error::Configuration(format!(
                "the HS256 secret must be at least {MIN_HMAC_SECRET_LEN} bytes"
            )));
        }
        Ok(Self {
            kid: kid.into(),
            alg: SigningAlgorithm::Hs256,
            encoding: Some(EncodingKey::from_secret(bytes)),
            decoding: DecodingKey::from_secret(bytes),
            public_jwk: None,
        })
    }

    /// A signing key from a PKCS#8 PEM private key: Ed25519 (EdDSA) or P-256 (ES256), detected
    /// from the key.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the PEM is neither.
    pub fn from_private_pem(kid: impl Into<String>, pem: &[u8]) -> Result<Self> {
        let kid = kid.into();
        let (alg, encoding) = if let Ok(k) = EncodingKey::from_ed_pem(pem) {
            (SigningAlgorithm::EdDsa, k)
        } else {
            let k = EncodingKey::from_ec_pem(pem).map_err(key_error(
                "the private key is neither an Ed25519 nor a P-256 PKCS#8 PEM key",
            ))?;
            (SigningAlgorithm::Es256, k)
        };
        let mut jwk = Jwk::from_encoding_key(&encoding, alg.jwt())
            .map_err(key_error("cannot derive the public key"))?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(key_error("public key"))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Self {
            kid,
            alg,
            encoding: Some(encoding),
            decoding,
            public_jwk: Some(jwk),
        })
    }

    /// A verify-only key from a public JWK (an asymmetric key retired from signing but whose
    /// tokens are still valid). The JWK's `kid` and `alg` must be set.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an unsupported or incomplete JWK.
    pub fn from_public_jwk(jwk: &Jwk) -> Result<Self> {
        let kid = jwk
            .common
            .key_id
            .clone()
            .ok_or_else(|| Error::Configuration("the JWK has no kid".into()))?;
        let alg = match jwk.common.key_algorithm {
            Some(KeyAlgorithm::EdDSA) => SigningAlgorithm::EdDsa,
            Some(KeyAlgorithm::ES256) => SigningAlgorithm::Es256,
            _ => {
                return Err(Error::Configuration(
                    "only EdDSA and ES256 public JWKs are supported".into(),
                ));
            }
        };
        Ok(Self {
            kid,
            alg,
            encoding: None,
            decoding: DecodingKey::from_jwk(jwk).map_err(key_error("public JWK"))?,
            public_jwk: Some(jwk.clone()),
        })
    }

    /// Drops the private half: the key then only verifies (rotation).
    #[must_use]
    pub fn verify_only(mut self) -> Self {
        self.encoding = None;
        self
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.alg
    }
}

/// The signing key plus older keys that still verify.
#[derive(Debug)]
pub struct KeyRing {
    signing: Key,
    verify_only: Vec<Key>,
}

impl KeyRing {
    /// A ring that signs with `signing`.
    ///
    /// # Errors
    /// [`Error::Configuration`] if `signing` is verify-only.
    pub fn new(signing: Key) -> Result<Self> {
        if signing.encoding.is_none() {
            return Err(Error::Configuration(
                "the signing key has no private part".into(),
            ));
        }
        Ok(Self {
            signing,
            verify_only: Vec::new(),
        })
    }

    /// Adds an older key whose tokens stay valid (it never signs).
    ///
    /// # Errors
    /// [`Error::Configuration`] if its kid is already in the ring.
    pub fn with_verify_only(mut self, key: Key) -> Result<Self> {
        if self.keys().any(|k| k.kid == key.kid) {
            return Err(Error::Configuration(format!(
                "duplicate kid {:?} in the key ring",
                key.kid
            )));
        }
        self.verify_only.push(key.verify_only());
        Ok(self)
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.signing).chain(&self.verify_only)
    }

    /// The public keys, as a JWKS document (`/.well-known/jwks.json`). Shared HS256 secrets
    /// are never exported: with only HS256 keys the set is empty.
    #[must_use]
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys().filter_map(|k| k.public_jwk.clone()).collect(),
        }
    }

    /// Whether any key is asymmetric (so a JWKS is worth publishing).
    #[must_use]
    pub fn has_public_keys(&self) -> bool {
        self.keys().any(|k| k.public_jwk.is_some())
    }
}

/// Token settings: issuer, clock leeway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenConfig {
    /// The `iss` claim minted and required.
    pub issuer: String,
    /// Seconds of clock skew tolerated on `exp` and `nbf`. Default 5, at most 300.
    pub leeway_secs: u32,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            issuer: "authcore".to_owned(),
            leeway_secs: 5,
        }
    }
}

/// Mints and verifies access tokens.
#[derive(Debug)]
pub struct TokenIssuer {
    keys: KeyRing,
    config: TokenConfig,
}

impl TokenIssuer {
    /// Longest leeway accepted.
    pub const MAX_LEEWAY_SECS: u32 = 300;

    /// A token issuer.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an empty issuer or a leeway over [`Self::MAX_LEEWAY_SECS`].
    pub fn new(keys: KeyRing, config: TokenConfig) -> Result<Self> {
        if config.issuer.is_empty() {
            return Err(Error::Configuration("the token issuer is empty".into()));
        }
        if config.leeway_secs > Self::MAX_LEEWAY_SECS {
            return Err(Error::Configuration("token leeway over 300 s".into()));
        }
        Ok(Self { keys, config })
    }

    /// The key ring.
    #[must_use]
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    /// Mints a token for `user`, issued at `now`, valid for `ttl`.
    ///
    /// # Errors
    /// [`Error::Internal`] if encoding fails.
    pub fn mint(&self, user: &User, now: OffsetDateTime, ttl: Ttl) -> Result<IssuedToken> {
        let iat = now.unix_timestamp();
        let claims = Claims {
            sub: user.uid.as_str().to_owned(),
            username: user.email.clone(),
            role: user.role.clone(),
            iat,
            nbf: iat,
            exp: iat + i64::from(ttl.secs()),
            jti: uuid::Uuid::new_v4().to_string(),
            iss: self.config.issuer.clone(),
        };
        let key = &self.keys.signing;
        let encoding = key
            .encoding
            .as_ref()
            .ok_or_else(|| Error::Internal("signing key without private part".into()))?;
        let mut header = Header::new(key.alg.jwt());
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, encoding)
            .map_err(|e| Error::Internal(format!("token encoding failed: {e}")))?;
        Ok(IssuedToken { token, claims })
    }

    /// Verifies a token's signature (with the key its `kid` names, under that key's algorithm
    /// only), then `iss`, `nbf` and `exp` against `now` with the configured leeway.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for anything wrong with the token.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::InvalidToken)?;
        let key = match &header.kid {
            Some(kid) => self.keys.keys().find(|k| &k.kid == kid),
            None => None,
        }
        .ok_or(Error::InvalidToken)?;
        // Pin the algorithm to the key: a token cannot pick its own (no `none`, no HS/RS swap).
        let mut validation = Validation::new(key.alg.jwt());
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|_| Error::InvalidToken)?;
        let claims = data.claims;
        let leeway = i64::from(self.config.leeway_secs);
        let now = now.unix_timestamp();
        if claims.iss != self.config.issuer
            || now >= claims.exp + leeway
            || now + leeway < claims.nbf
        {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::{Credentials, UserStatus};
    use base64::Engine as _;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
    // Test-only keys made with `openssl genpkey -algorithm ed25519` and
    // `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
    const ED25519_PEM: &[u8] = include_bytes!("../testdata/ed25519.pem");
    const ED25519_OLD_PEM: &[u8] = include_bytes!("../testdata/ed25519-old.pem");
    const P256_PEM: &[u8] = include_bytes!("../testdata/p256.pem");

    fn user() -> User {
        User {
            uid: UserId::new("7"),
            email: "ann@example.org".into(),
            name: "Ann".into(),
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
        assert!(t.verify(&issued.token, at(-6)).is_err(), "not yet valid");
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
        assert!(t.verify(&forged, NOW).is_err());

        // alg none, no signature.
        let none_header = b64.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        assert!(
            t.verify(&format!("{none_header}.{}.", parts[1]), NOW)
                .is_err()
        );

        // Same secret under another kid, or another issuer.
        let other = issuer(KeyRing::new(hs("k2", 1)).unwrap());
        assert!(
            t.verify(&other.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token, NOW)
                .is_err()
        );
        let foreign = TokenIssuer::new(
            KeyRing::new(hs("k1", 1)).unwrap(),
            TokenConfig {
                issuer: "someone-else".into(),
                ..TokenConfig::default()
            },
        )
        .unwrap();
        assert!(
            t.verify(
                &foreign.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token,
                NOW
            )
            .is_err()
        );
        assert!(t.verify("not.a.token", NOW).is_err());
        assert!(t.verify("", NOW).is_err());
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
        assert!(old.verify(&fresh, NOW).is_err());
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
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(x.as_bytes()))
                .unwrap();
        assert!(matches!(t.verify(&forged, NOW), Err(Error::InvalidToken)));
    }

    #[test]
    fn asymmetric_rotation() {
        let old =
            issuer(KeyRing::new(Key::from_private_pem("old", ED25519_OLD_PEM).unwrap()).unwrap());
        let old_token = old.mint(&user(), NOW, Ttl::DEFAULT).unwrap().token;
        let ring = KeyRing::new(Key::from_private_pem("new", P256_PEM).unwrap())
            .unwrap()
            .with_verify_only(Key::from_private_pem("old", ED25519_OLD_PEM).unwrap())
            .unwrap();
        assert_eq!(ring.jwks().keys.len(), 2);
        let t = issuer(ring);
        assert!(t.verify(&old_token, NOW).is_ok());
    }
}
