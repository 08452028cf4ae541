//! Redis Enterprise's pre-hashed passwords (`password_hash_method: "1"`).

use std::fmt;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::parse::{PHC_B64, decode};
use crate::error::{Error, Result};

pub(super) const REDIS_PREHASH_PREFIX: &str = "$authcore-redis-sha256$";

/// How a password given to user administration is to be read: Redis's
/// `password_hash_method` (absent, or `"1"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordForm {
    /// The password itself (no `password_hash_method`).
    #[default]
    Plain,
    /// `password_hash_method: "1"`: the lowercase hex SHA-256 of
    /// `username:clustername:password` (see [`redis_prehash`]). It is stored wrapped in
    /// argon2id, never bare, and the user signs in with the plain password.
    RedisPrehash,
}

impl PasswordForm {
    /// Reads Redis's `password_hash_method` field: absent is [`PasswordForm::Plain`], `"1"`
    /// is [`PasswordForm::RedisPrehash`].
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for any other value.
    pub fn from_redis_method(method: Option<&str>) -> Result<Self> {
        match method {
            None => Ok(Self::Plain),
            Some("1") => Ok(Self::RedisPrehash),
            Some(_) => Err(Error::InvalidRequest(
                "password_hash_method must be \"1\" (a SHA-256 pre-hash) when given".into(),
            )),
        }
    }
}

/// Redis Enterprise's password pre-hash (`password_hash_method: "1"`): the lowercase hex
/// SHA-256 of `username:clustername:password`.
#[must_use]
pub fn redis_prehash(username: &str, cluster_name: &str, password: &str) -> String {
    hex_sha256(username, cluster_name, password.as_bytes()).to_string()
}

/// Whether `s` has the shape of a Redis pre-hash: 64 hexadecimal digits.
#[must_use]
pub fn is_redis_prehash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn hex_sha256(username: &str, cluster_name: &str, password: &[u8]) -> Zeroizing<String> {
    use pbkdf2::sha2::{Digest as _, Sha256};
    let mut sha = Sha256::new();
    sha.update(username.as_bytes());
    sha.update(b":");
    sha.update(cluster_name.as_bytes());
    sha.update(b":");
    sha.update(password);
    let digest: Zeroizing<[u8; 32]> = Zeroizing::new(sha.finalize().into());
    let mut hex = Zeroizing::new(String::with_capacity(64));
    for b in digest.iter() {
        for nibble in [b >> 4, b & 0x0f] {
            hex.push(char::from(b"0123456789abcdef"[usize::from(nibble)]));
        }
    }
    hex
}

/// A stored Redis pre-hash: argon2id over `hex(SHA-256(username:cluster:password))`, with the
/// username and cluster name it was computed with (so a later change of e-mail or cluster name
/// does not lock the user out before their first sign-in replaces it by a plain argon2id hash).
pub(crate) struct RedisPrehashed {
    pub(super) username: String,
    pub(super) cluster_name: String,
    inner: Zeroizing<String>,
}

impl fmt::Debug for RedisPrehashed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPrehashed")
            .field("cluster_name", &self.cluster_name)
            .finish_non_exhaustive()
    }
}

impl RedisPrehashed {
    /// The stored form of a pre-hash whose argon2id hash (of the hex pre-hash) is `inner`.
    pub(crate) fn wrap(username: &str, cluster_name: &str, inner: &str) -> String {
        format!(
            "{REDIS_PREHASH_PREFIX}u={},c={}${}",
            PHC_B64.encode(username),
            PHC_B64.encode(cluster_name),
            inner.strip_prefix('$').unwrap_or(inner)
        )
    }

    pub(crate) fn parse(hash: &str) -> Option<Self> {
        let rest = hash.strip_prefix(REDIS_PREHASH_PREFIX)?;
        let (params, inner) = rest.split_once('$')?;
        let (u, c) = params.split_once(',')?;
        let text = |field: &str, name: &str| {
            let b64 = field.strip_prefix(name)?;
            String::from_utf8(decode(&PHC_B64, b64, 1024)?.to_vec()).ok()
        };
        let inner = format!("${inner}");
        if !inner.starts_with("$argon2id$") {
            return None;
        }
        Some(Self {
            username: text(u, "u=")?,
            cluster_name: text(c, "c=")?,
            inner: Zeroizing::new(inner),
        })
    }

    /// The argon2id PHC string inside.
    pub(crate) fn inner(&self) -> &str {
        &self.inner
    }

    /// What the inner argon2id hash was computed over, for `password`.
    pub(crate) fn prehash_of(&self, password: &[u8]) -> Zeroizing<String> {
        hex_sha256(&self.username, &self.cluster_name, password)
    }
}
