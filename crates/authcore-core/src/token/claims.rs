//! The claims authcore mints, the minted token, and the token lifetime.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::user::{Role, UserId};

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
    /// Expires at (UNIX seconds): `iat + ttl`, or the end of the session
    /// (`auth_time + max_session_lifetime`) when that is sooner.
    pub exp: i64,
    /// Unique token id (what a logout revokes).
    pub jti: String,
    /// Issuer.
    pub iss: String,
    /// The user's session epoch when the token was minted (claim `gen`): a token whose
    /// generation is not the user's current epoch is refused by the fresh check. `0` in tokens
    /// minted before sessions existed.
    #[serde(rename = "gen", default)]
    pub generation: u64,
    /// An opaque id of the password that started the session (local users; see
    /// [`crate::password_id`]): never the hash, and stable across a re-hash. When that
    /// password is removed, the token is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pwd: Option<String>,
    /// When the password sign-in that started the session happened (UNIX seconds); a refresh
    /// keeps it. `0` in tokens minted before sessions existed.
    #[serde(default)]
    pub auth_time: i64,
    /// The session the token belongs to (claim `sid`): the `jti` of the token the password
    /// sign-in minted, kept by every refresh. A logout revokes the session, so a token
    /// refreshed from a logged-out one (before, during or after the logout) is refused too.
    /// Absent in the token of a sign-in itself: its `jti` is its session (see
    /// [`Claims::session_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The session a token belongs to, as [`crate::TokenIssuer::mint_session`] writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionClaims {
    /// The user's current epoch (claim `gen`).
    pub generation: u64,
    /// The id of the password that signed in (claim `pwd`), for local users.
    pub pwd: Option<String>,
    /// The instant of the password sign-in (UNIX seconds).
    pub auth_time: i64,
    /// When the session ends (UNIX seconds), if it is bounded: `exp` never goes past it.
    pub ends_at: Option<i64>,
    /// The session id (claim `sid`) a refresh keeps; `None` for a new session, whose id is
    /// the new token's `jti`.
    pub sid: Option<String>,
}

impl Claims {
    /// The uid in `sub`.
    #[must_use]
    pub fn uid(&self) -> UserId {
        UserId::new(self.sub.clone())
    }

    /// The session the token belongs to: its `sid`, or its `jti` when it has none (a token
    /// of a password sign-in minted before sessions had ids).
    #[must_use]
    pub fn session_id(&self) -> &str {
        self.sid.as_deref().unwrap_or(&self.jti)
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
