//! Minting and verifying tokens.

use jsonwebtoken::{Header, Validation};
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
        let iat = now.unix_timestamp();
        let by_ttl = iat.saturating_add(i64::from(ttl.secs()));
        let claims = Claims {
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
    /// only), then `iss`, `nbf`, `iat` and `exp` against `now` with the configured leeway, and
    /// refuses a token whose `exp - iat` exceeds [`Ttl::MAX`] whatever key signed it, and a
    /// token whose key is retired at `now` ([`crate::Key::retire_at`]).
    /// A token longer than [`MAX_TOKEN_LEN`] is refused before decoding.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for anything wrong with the token.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::InvalidToken);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::InvalidToken)?;
        let key = match &header.kid {
            Some(kid) => self.keys.keys().find(|k| &k.kid == kid),
            None => None,
        }
        .ok_or(Error::InvalidToken)?;
        if key.is_retired(now) {
            return Err(Error::InvalidToken);
        }
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
