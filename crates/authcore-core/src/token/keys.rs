//! Signing and verification keys, the key ring with rotation, and the JWKS document.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretSlice};

use crate::error::{Error, Result};

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
    pub(super) fn jwt(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

/// One key: a `kid`, its pinned algorithm, and the material to verify (and maybe sign).
pub struct Key {
    pub(super) kid: String,
    pub(super) alg: SigningAlgorithm,
    pub(super) encoding: Option<EncodingKey>,
    pub(super) decoding: DecodingKey,
    pub(super) public_jwk: Option<Jwk>,
    /// From this instant on, tokens signed with this (verify-only) key are refused.
    pub(super) retires_at: Option<time::OffsetDateTime>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("can_sign", &self.encoding.is_some())
            .field("retires_at", &self.retires_at)
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
            retires_at: None,
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
            retires_at: None,
        })
    }

    /// An HS256 key whose `kid` is derived from the secret: `hs256-` and the first 128 bits of
    /// HMAC-SHA-256 of a fixed label under the secret, base64url. Two secrets never share a
    /// kid, and the kid reveals nothing of the secret.
    ///
    /// # Errors
    /// As [`Key::hs256`].
    pub fn hs256_with_derived_kid(secret: &SecretSlice<u8>) -> Result<Self> {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose_secret())
            .map_err(|e| Error::Configuration(format!("HS256 secret: {e}")))?;
        mac.update(b"authcore key id v1");
        let digest = mac.finalize().into_bytes();
        let kid = format!("hs256-{}", URL_SAFE_NO_PAD.encode(&digest[..16]));
        Self::hs256(kid, secret)
    }

    /// A signing key from a PKCS#8 PEM private key (as [`Key::from_private_pem`]) whose `kid`
    /// is the RFC 7638 thumbprint (SHA-256, base64url) of its public key.
    ///
    /// # Errors
    /// As [`Key::from_private_pem`].
    pub fn from_private_pem_with_derived_kid(pem: &[u8]) -> Result<Self> {
        let mut key = Self::from_private_pem("", pem)?;
        let kid = key
            .thumbprint()
            .ok_or_else(|| Error::Configuration("cannot compute the key's thumbprint".into()))?;
        key.kid.clone_from(&kid);
        if let Some(jwk) = &mut key.public_jwk {
            jwk.common.key_id = Some(kid);
        }
        Ok(key)
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url) of the public key; `None` for HS256.
    #[must_use]
    pub fn thumbprint(&self) -> Option<String> {
        use sha2::Digest as _;
        let jwk = serde_json::to_value(self.public_jwk.as_ref()?).ok()?;
        let member = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
        // The required members only, in lexicographic order, no whitespace (RFC 7638 §3.2).
        let canonical = match member("kty")? {
            "EC" => serde_json::json!({
                "crv": member("crv")?, "kty": "EC", "x": member("x")?, "y": member("y")?
            }),
            "OKP" => serde_json::json!({"crv": member("crv")?, "kty": "OKP", "x": member("x")?}),
            _ => return None,
        };
        // serde_json's map is ordered by key, so this is the canonical form.
        let text = serde_json::to_string(&canonical).ok()?;
        Some(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(text.as_bytes())))
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
            retires_at: None,
        })
    }

    /// Drops the private half: the key then only verifies (rotation).
    #[must_use]
    pub fn verify_only(mut self) -> Self {
        self.encoding = None;
        self
    }

    /// Retires this key at `at`: from that instant on, every token it signed is refused,
    /// whatever its `exp`. For verify-only keys (a key ring refuses a signing key with a
    /// retirement time): set it to when the last token signed before the rotation expires,
    /// or earlier to cut those tokens off.
    #[must_use]
    pub fn retire_at(mut self, at: time::OffsetDateTime) -> Self {
        self.retires_at = Some(at);
        self
    }

    /// When this key retires, if it does ([`Key::retire_at`]).
    #[must_use]
    pub fn retires_at(&self) -> Option<time::OffsetDateTime> {
        self.retires_at
    }

    /// Whether the key no longer vouches for any token at `now`.
    pub(super) fn is_retired(&self, now: time::OffsetDateTime) -> bool {
        self.retires_at.is_some_and(|at| now >= at)
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
    pub(super) signing: Key,
    verify_only: Vec<Key>,
}

impl KeyRing {
    /// A ring that signs with `signing`.
    ///
    /// # Errors
    /// [`Error::Configuration`] if `signing` is verify-only or has a retirement time.
    pub fn new(signing: Key) -> Result<Self> {
        if signing.encoding.is_none() {
            return Err(Error::Configuration(
                "the signing key has no private part".into(),
            ));
        }
        if signing.retires_at.is_some() {
            return Err(Error::Configuration(
                "the signing key cannot have a retirement time (only verify-only keys retire)"
                    .into(),
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

    pub(super) fn keys(&self) -> impl Iterator<Item = &Key> {
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
