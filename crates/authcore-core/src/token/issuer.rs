//! Minting and verifying tokens.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Claims, IssuedToken, KeyRing, SessionClaims, Ttl};
use crate::error::{Error, Result};
use crate::user::User;

/// Longest token [`TokenIssuer::verify`] decodes, in bytes. authcore's own tokens are a few
/// hundred bytes (a [`crate::MAX_USERNAME_LEN`] username included); anything longer is
/// refused before any of it is decoded, so a hostile token costs no allocation in proportion
/// to its size.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

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
    /// The signing key's JOSE header (`typ`, `alg`, `kid`), base64url-encoded once.
    signing_header: String,
}

impl TokenIssuer {
    /// Longest leeway accepted.
    pub const MAX_LEEWAY_SECS: u32 = 300;

    /// A token issuer.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an empty issuer or a leeway over [`Self::MAX_LEEWAY_SECS`];
    /// [`Error::Internal`] if the signing key's header cannot be encoded.
    pub fn new(keys: KeyRing, config: TokenConfig) -> Result<Self> {
        if config.issuer.is_empty() {
            return Err(Error::Configuration("the token issuer is empty".into()));
        }
        if config.leeway_secs > Self::MAX_LEEWAY_SECS {
            return Err(Error::Configuration("token leeway over 300 s".into()));
        }
        let key = &keys.signing;
        let mut header = Header::new(key.alg.jwt());
        header.kid = Some(key.kid.clone());
        let header = serde_json::to_vec(&header)
            .map_err(|e| Error::Internal(format!("token header encoding failed: {e}")))?;
        Ok(Self {
            signing_header: URL_SAFE_NO_PAD.encode(header),
            keys,
            config,
        })
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

    /// Mints a token for `user`, issued at `now`, valid for `ttl`, outside any session
    /// (generation 0, no password id, `auth_time` = `iat`). The [`crate::Authenticator`]
    /// mints with [`TokenIssuer::mint_session`]; a token from this one passes the stateless
    /// check only (and the fresh check of a user whose epoch is still 0 and who has no local
    /// password).
    ///
    /// # Errors
    /// [`Error::Internal`] if encoding fails.
    pub fn mint(&self, user: &User, now: OffsetDateTime, ttl: Ttl) -> Result<IssuedToken> {
        let session = SessionClaims {
            auth_time: now.unix_timestamp(),
            ..SessionClaims::default()
        };
        self.mint_session(user, now, ttl, &session)
    }

    /// Mints a token for `user` in `session`, issued at `now`: `exp` is `iat + ttl`, or the
    /// session's end when that is sooner.
    ///
    /// # Errors
    /// [`Error::Internal`] if encoding fails.
    pub fn mint_session(
        &self,
        user: &User,
        now: OffsetDateTime,
        ttl: Ttl,
        session: &SessionClaims,
    ) -> Result<IssuedToken> {
        self.sign(self.session_claims(user, now, ttl, session))
    }

    /// The claims [`TokenIssuer::mint_session`] would sign, without signing them: for a
    /// caller that needs the identity of a sign-in but no token (HTTP Basic credentials on a
    /// users-API call).
    #[must_use]
    pub fn session_claims(
        &self,
        user: &User,
        now: OffsetDateTime,
        ttl: Ttl,
        session: &SessionClaims,
    ) -> Claims {
        let iat = now.unix_timestamp();
        let by_ttl = iat.saturating_add(i64::from(ttl.secs()));
        Claims {
            sub: user.uid.as_str().to_owned(),
            username: user.email.clone(),
            role: user.role.clone(),
            iat,
            nbf: iat,
            exp: session.ends_at.map_or(by_ttl, |end| by_ttl.min(end)),
            jti: uuid::Uuid::new_v4().to_string(),
            sid: session.sid.clone(),
            iss: self.config.issuer.clone(),
            generation: session.generation,
            pwd: session.pwd.clone(),
            auth_time: session.auth_time,
        }
    }

    /// Signs `claims` with the signing key.
    fn sign(&self, claims: Claims) -> Result<IssuedToken> {
        let key = &self.keys.signing;
        let encoding = key
            .encoding
            .as_ref()
            .ok_or_else(|| Error::Internal("signing key without private part".into()))?;
        // header.payload, then the signature over it (the header was encoded once, in `new`).
        let payload = serde_json::to_vec(&claims)
            .map_err(|e| Error::Internal(format!("token encoding failed: {e}")))?;
        let mut token =
            String::with_capacity(self.signing_header.len() + payload.len() * 4 / 3 + 100);
        token.push_str(&self.signing_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = jsonwebtoken::crypto::sign(token.as_bytes(), encoding, key.alg.jwt())
            .map_err(|e| Error::Internal(format!("token signing failed: {e}")))?;
        token.push('.');
        token.push_str(&signature);
        Ok(IssuedToken { token, claims })
    }

    /// Verifies a token's signature (with the key its `kid` names, under that key's algorithm
    /// only), then `iss`, `nbf`, `iat` and `exp` against `now` with the configured leeway, and
    /// refuses a token whose `exp - iat` exceeds [`Ttl::MAX`] whatever key signed it, and a
    /// token whose key is retired at `now` ([`crate::Key::retire_at`]).
    /// A token longer than [`MAX_TOKEN_LEN`] is refused before decoding.
    ///
    /// The header is decoded once (only `alg`, `kid` and `crit` are read; a token with
    /// `crit` is refused, as RFC 7515 4.1.11 requires of extensions not understood), the
    /// signature is checked with `jsonwebtoken::crypto::verify` under the key's own
    /// algorithm, and only then is the payload decoded, once, into [`Claims`].
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for anything wrong with the token.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::InvalidToken);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::InvalidToken);
        };
        let message_len = header.len() + 1 + payload.len();
        let message = token
            .get(..message_len)
            .ok_or(Error::InvalidToken)?
            .as_bytes();
        let header_json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| Error::InvalidToken)?;
        let header: JoseHeader<'_> = json_object(&header_json)?;
        if header.crit.is_some() {
            return Err(Error::InvalidToken);
        }
        let kid = header.kid.ok_or(Error::InvalidToken)?;
        let key = self
            .keys
            .keys()
            .find(|k| k.kid == *kid)
            .ok_or(Error::InvalidToken)?;
        if key.is_retired(now) {
            return Err(Error::InvalidToken);
        }
        // Pin the algorithm to the key: a token cannot pick its own (no `none`, no HS/ES
        // swap). The signature is computed under the key's algorithm whatever the header says.
        let alg = key.alg.jwt();
        if header.alg != alg {
            return Err(Error::InvalidToken);
        }
        if !jsonwebtoken::crypto::verify(signature, message, &key.decoding, alg)
            .map_err(|_| Error::InvalidToken)?
        {
            return Err(Error::InvalidToken);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Error::InvalidToken)?;
        let claims: Claims = json_object(&payload)?;
        let leeway = i64::from(self.config.leeway_secs);
        let now = now.unix_timestamp();
        // Saturating: the claims are attacker-chosen integers (an `exp` of i64::MAX).
        if claims.iss != self.config.issuer
            || now >= claims.exp.saturating_add(leeway)
            || now.saturating_add(leeway) < claims.nbf
            || now.saturating_add(leeway) < claims.iat
            // No key, old or new, may vouch for a session longer than the longest ttl.
            || claims.exp.saturating_sub(claims.iat) > i64::from(Ttl::MAX)
        {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }
}

/// A JSON object (never an array: serde's derived structs would also read one positionally).
fn json_object<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Result<T> {
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(Error::InvalidToken);
    }
    serde_json::from_slice(json).map_err(|_| Error::InvalidToken)
}

/// The members of a JOSE header that verification reads; the others are ignored.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    alg: Algorithm,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}
