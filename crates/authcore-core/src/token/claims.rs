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
