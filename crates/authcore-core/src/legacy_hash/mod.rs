//! Password hashes brought over from other systems: parsed, checked against cost caps, verified.
//!
//! authcore writes argon2id only. So that users migrated from elsewhere can still sign in, the
//! hashing pool also verifies these formats (all pure Rust, RustCrypto and `bcrypt`):
//!
//! | format | example prefix | where it comes from |
//! |---|---|---|
//! | [`HashFormat::Bcrypt`] | `$2a$`, `$2b$`, `$2y$` | OpenBSD, PHP, Python `bcrypt`, most web frameworks |
//! | [`HashFormat::Pbkdf2Sha256`] | `$pbkdf2-sha256$i=600000,l=32$` | PHC string format (RustCrypto `pbkdf2`) |
//! | [`HashFormat::Pbkdf2Sha256Passlib`] | `$pbkdf2-sha256$29000$` | passlib, with its adapted base64 (`.` for `+`) |
//! | [`HashFormat::Pbkdf2Sha256Django`] | `pbkdf2_sha256$1000000$` | Django's default hasher |
//! | [`HashFormat::Scrypt`] | `$scrypt$ln=16,r=8,p=1$` | PHC string format (passlib, RustCrypto `scrypt`) |
//! | [`HashFormat::Sha256Crypt`], [`HashFormat::Sha512Crypt`] | `$5$`, `$6$` | glibc `crypt(3)`, older `/etc/shadow` |
//! | [`HashFormat::Yescrypt`] | `$y$` | libxcrypt `crypt(3)`, today's `/etc/shadow` default |
//!
//! A stored hash is parsed first; its cost parameters are then compared with [`LegacyLimits`]
//! and a hash above them is refused **without being computed**, so a crafted hash cannot make a
//! sign-in cost seconds of CPU or gigabytes of memory. Only then is the password checked, with
//! a constant-time comparison.
//!
//! The first successful sign-in replaces a legacy hash by argon2id (the re-hash path of
//! [`crate::Authenticator`]). Until then a legacy account costs what its hash costs: this is the
//! one exception to timing parity between accounts (a bcrypt cost-4 account answers faster than
//! an argon2id one, a 64 MiB yescrypt account slower), and it ends at the user's first sign-in.

use std::fmt;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

const MIB: u64 = 1024 * 1024;

/// The longest salt accepted in a PBKDF2 or scrypt hash (bytes). Longer ones are malformed.
const MAX_SALT_LEN: usize = 1024;
/// The longest PBKDF2 or scrypt output accepted (bytes). Each further 32 bytes of PBKDF2 output
/// costs the whole iteration count again, so the length is capped with the iterations.
const MAX_OUTPUT_LEN: usize = 64;
/// The shortest output accepted (bytes): shorter ones are trivially forgeable.
const MIN_OUTPUT_LEN: usize = 16;

/// Cost caps for legacy hashes. A stored hash above any of them is refused without being
/// computed (the user cannot sign in with it; an administrator must reset the password).
///
/// The defaults allow what the usual libraries produce today (bcrypt cost 12-13, Django's
/// 1,000,000 PBKDF2 iterations, yescrypt's 16 MiB `/etc/shadow` default) and refuse anything
/// that would cost much more than an argon2id verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LegacyLimits {
    /// Highest bcrypt cost (log2 of the rounds). Default 13.
    pub bcrypt_cost: u32,
    /// Most PBKDF2-SHA256 iterations. Default 1,000,000.
    pub pbkdf2_iterations: u32,
    /// Most scrypt memory, in bytes (128 · r · N). Default 64 MiB.
    pub scrypt_memory: u64,
    /// Most yescrypt memory, in bytes (128 · r · N). Default 64 MiB.
    pub yescrypt_memory: u64,
    /// Most SHA-crypt rounds (`$5$`, `$6$`). Default 1,000,000.
    pub sha_crypt_rounds: u32,
    /// Highest scrypt and yescrypt parallelism `p`: the work is done `p` times over on one
    /// thread. Default 16.
    pub parallelism: u32,
    /// Highest yescrypt time parameter `t` (each step adds about one more pass over memory).
    /// Default 4.
    pub yescrypt_time: u32,
}

impl Default for LegacyLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl LegacyLimits {
    /// The default caps.
    pub const DEFAULT: Self = Self {
        bcrypt_cost: 13,
        pbkdf2_iterations: 1_000_000,
        scrypt_memory: 64 * MIB,
        yescrypt_memory: 64 * MIB,
        sha_crypt_rounds: 1_000_000,
        parallelism: 16,
        yescrypt_time: 4,
    };

    /// Checks the caps themselves are sane: raising them past these bounds would let one stored
    /// hash cost minutes or gigabytes.
    ///
    /// # Errors
    /// [`Error::Configuration`] naming the cap that is too high.
    pub fn validate(&self) -> Result<()> {
        let checks = [
            (self.bcrypt_cost <= 20, "bcrypt_cost must be at most 20"),
            (
                self.pbkdf2_iterations <= 100_000_000,
                "pbkdf2_iterations must be at most 100,000,000",
            ),
            (
                self.scrypt_memory <= 4096 * MIB,
                "scrypt_memory must be at most 4 GiB",
            ),
            (
                self.yescrypt_memory <= 4096 * MIB,
                "yescrypt_memory must be at most 4 GiB",
            ),
            (
                self.sha_crypt_rounds <= 100_000_000,
                "sha_crypt_rounds must be at most 100,000,000",
            ),
            (
                (1..=1024).contains(&self.parallelism),
                "parallelism must be between 1 and 1024",
            ),
            (self.yescrypt_time <= 64, "yescrypt_time must be at most 64"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, msg)) => Err(Error::Configuration(format!("legacy hash limits: {msg}"))),
            None => Ok(()),
        }
    }
}

/// The format of a stored password hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum HashFormat {
    /// argon2 (`$argon2id$`, `$argon2i$`, `$argon2d$`): what authcore writes.
    Argon2,
    /// bcrypt, `$2a$`, `$2b$` or `$2y$`.
    Bcrypt,
    /// PBKDF2-HMAC-SHA256 in the PHC string format: `$pbkdf2-sha256$i=N,l=32$salt$hash`.
    Pbkdf2Sha256,
    /// passlib's `pbkdf2_sha256`: `$pbkdf2-sha256$N$salt$hash` in its adapted base64.
    Pbkdf2Sha256Passlib,
    /// Django's `pbkdf2_sha256$N$salt$hash`.
    Pbkdf2Sha256Django,
    /// scrypt in the PHC string format: `$scrypt$ln=..,r=..,p=..$salt$hash`.
    Scrypt,
    /// SHA-256-crypt, `$5$`.
    Sha256Crypt,
    /// SHA-512-crypt, `$6$`.
    Sha512Crypt,
    /// yescrypt, `$y$`.
    Yescrypt,
    /// A Redis Enterprise pre-hash (`password_hash_method: "1"`: SHA-256 of
    /// `username:clustername:password`) wrapped in argon2id, with the username and cluster name
    /// it was computed with: `$authcore-redis-sha256$u=..,c=..$argon2id$...`. Never a bare
    /// SHA-256.
    RedisPrehash,
}

impl HashFormat {
    /// Every format, argon2 first.
    pub const ALL: [Self; 10] = [
        Self::Argon2,
        Self::Bcrypt,
        Self::Pbkdf2Sha256,
        Self::Pbkdf2Sha256Passlib,
        Self::Pbkdf2Sha256Django,
        Self::Scrypt,
        Self::Sha256Crypt,
        Self::Sha512Crypt,
        Self::Yescrypt,
        Self::RedisPrehash,
    ];

    /// A short, stable name (`bcrypt`, `pbkdf2-sha256-django`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Argon2 => "argon2",
            Self::Bcrypt => "bcrypt",
            Self::Pbkdf2Sha256 => "pbkdf2-sha256",
            Self::Pbkdf2Sha256Passlib => "pbkdf2-sha256-passlib",
            Self::Pbkdf2Sha256Django => "pbkdf2-sha256-django",
            Self::Scrypt => "scrypt",
            Self::Sha256Crypt => "sha256-crypt",
            Self::Sha512Crypt => "sha512-crypt",
            Self::Yescrypt => "yescrypt",
            Self::RedisPrehash => "redis-prehash",
        }
    }

    /// Whether authcore replaces this format by argon2id at the next sign-in.
    #[must_use]
    pub const fn is_legacy(self) -> bool {
        !matches!(self, Self::Argon2)
    }

    /// Which format a stored hash claims to be, from its prefix alone (nothing is decoded).
    #[must_use]
    pub fn detect(hash: &str) -> Option<Self> {
        let format = if hash.starts_with("$argon2") {
            Self::Argon2
        } else if hash.starts_with(REDIS_PREHASH_PREFIX) {
            Self::RedisPrehash
        } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
            Self::Bcrypt
        } else if let Some(rest) = hash.strip_prefix("$pbkdf2-sha256$") {
            if rest.starts_with("i=") {
                Self::Pbkdf2Sha256
            } else {
                Self::Pbkdf2Sha256Passlib
            }
        } else if hash.starts_with("pbkdf2_sha256$") {
            Self::Pbkdf2Sha256Django
        } else if hash.starts_with("$scrypt$") {
            Self::Scrypt
        } else if hash.starts_with("$5$") {
            Self::Sha256Crypt
        } else if hash.starts_with("$6$") {
            Self::Sha512Crypt
        } else if hash.starts_with("$y$") {
            Self::Yescrypt
        } else {
            return None;
        };
        Some(format)
    }
}

impl fmt::Display for HashFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a stored legacy hash will not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// Not a legacy format at all.
    #[error("not a legacy hash format")]
    Unknown,
    /// A legacy prefix, but the rest does not parse.
    #[error("malformed {0} hash")]
    Malformed(HashFormat),
    /// Parses, but costs more than [`LegacyLimits`] allow.
    #[error("{format} hash above the configured limit: {what}")]
    OverLimit {
        format: HashFormat,
        what: &'static str,
    },
}

/// A parsed legacy hash, ready to verify. Its `Debug` shows the format and costs only.
pub(crate) struct LegacyHash {
    kind: Kind,
}

enum Kind {
    Bcrypt {
        cost: u32,
        encoded: Zeroizing<String>,
    },
    Pbkdf2 {
        format: HashFormat,
        iterations: u32,
        salt: Zeroizing<Vec<u8>>,
        expected: Zeroizing<Vec<u8>>,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: Zeroizing<Vec<u8>>,
        expected: Zeroizing<Vec<u8>>,
    },
    ShaCrypt {
        format: HashFormat,
        rounds: u32,
        encoded: Zeroizing<String>,
    },
    Yescrypt {
        params: YescryptParams,
        encoded: Zeroizing<String>,
    },
}

impl fmt::Debug for LegacyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("LegacyHash");
        d.field("format", &self.format());
        match &self.kind {
            Kind::Bcrypt { cost, .. } => d.field("cost", cost),
            Kind::Pbkdf2 { iterations, .. } => d.field("iterations", iterations),
            Kind::Scrypt { log_n, r, p, .. } => d.field("log_n", log_n).field("r", r).field("p", p),
            Kind::ShaCrypt { rounds, .. } => d.field("rounds", rounds),
            Kind::Yescrypt { params, .. } => d.field("params", params),
        };
        d.finish_non_exhaustive()
    }
}

impl LegacyHash {
    /// Parses a stored hash in one of the legacy formats. Cheap: nothing is computed.
    pub(crate) fn parse(hash: &str) -> std::result::Result<Self, Refusal> {
        let format = HashFormat::detect(hash).ok_or(Refusal::Unknown)?;
        let malformed = || Refusal::Malformed(format);
        let kind = match format {
            HashFormat::Argon2 | HashFormat::RedisPrehash => return Err(Refusal::Unknown),
            HashFormat::Bcrypt => parse_bcrypt(hash),
            HashFormat::Pbkdf2Sha256 => parse_pbkdf2_phc(hash),
            HashFormat::Pbkdf2Sha256Passlib => parse_pbkdf2_passlib(hash),
            HashFormat::Pbkdf2Sha256Django => parse_pbkdf2_django(hash),
            HashFormat::Scrypt => parse_scrypt(hash),
            HashFormat::Sha256Crypt | HashFormat::Sha512Crypt => parse_sha_crypt(hash, format),
            HashFormat::Yescrypt => parse_yescrypt(hash),
        }
        .ok_or_else(malformed)?;
        Ok(Self { kind })
    }

    /// The hash's format.
    pub(crate) fn format(&self) -> HashFormat {
        match &self.kind {
            Kind::Bcrypt { .. } => HashFormat::Bcrypt,
            Kind::Pbkdf2 { format, .. } | Kind::ShaCrypt { format, .. } => *format,
            Kind::Scrypt { .. } => HashFormat::Scrypt,
            Kind::Yescrypt { .. } => HashFormat::Yescrypt,
        }
    }

    /// Checks the hash's cost against `limits`.
    pub(crate) fn check_limits(&self, limits: &LegacyLimits) -> std::result::Result<(), Refusal> {
        let format = self.format();
        let over = |what| Err(Refusal::OverLimit { format, what });
        match &self.kind {
            Kind::Bcrypt { cost, .. } if *cost > limits.bcrypt_cost => over("bcrypt cost"),
            Kind::Pbkdf2 { iterations, .. } if *iterations > limits.pbkdf2_iterations => {
                over("PBKDF2 iterations")
            }
            Kind::Scrypt { log_n, r, .. }
                if scrypt_memory(*log_n, *r) > u128::from(limits.scrypt_memory) =>
            {
                over("scrypt memory")
            }
            Kind::Scrypt { p, .. } if *p > limits.parallelism => over("scrypt parallelism"),
            Kind::ShaCrypt { rounds, .. } if *rounds > limits.sha_crypt_rounds => {
                over("SHA-crypt rounds")
            }
            Kind::Yescrypt { params, .. }
                if params.memory() > u128::from(limits.yescrypt_memory) =>
            {
                over("yescrypt memory")
            }
            Kind::Yescrypt { params, .. } if params.p > limits.parallelism => {
                over("yescrypt parallelism")
            }
            Kind::Yescrypt { params, .. } if params.t > limits.yescrypt_time => {
                over("yescrypt time")
            }
            _ => Ok(()),
        }
    }

    /// Checks `password` against the hash: the expensive part, to run on a hashing thread and
    /// only after [`LegacyHash::check_limits`]. Comparisons are constant-time.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        use sha_crypt::PasswordVerifier as _;
        match &self.kind {
            Kind::Bcrypt { encoded, .. } => bcrypt::verify(password, encoded).unwrap_or(false),
            Kind::Pbkdf2 {
                iterations,
                salt,
                expected,
                ..
            } => {
                let mut out = Zeroizing::new(vec![0u8; expected.len()]);
                pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(password, salt, *iterations, &mut out);
                bool::from(out.ct_eq(expected))
            }
            Kind::Scrypt {
                log_n,
                r,
                p,
                salt,
                expected,
            } => {
                let Ok(params) = scrypt::Params::new(*log_n, *r, *p) else {
                    return false;
                };
                let mut out = Zeroizing::new(vec![0u8; expected.len()]);
                scrypt::scrypt(password, salt, &params, &mut out).is_ok()
                    && bool::from(out.ct_eq(expected))
            }
            Kind::ShaCrypt { encoded, .. } => sha_crypt::ShaCrypt::default()
                .verify_password(password, encoded.as_str())
                .is_ok(),
            Kind::Yescrypt { encoded, .. } => yescrypt::Yescrypt::default()
                .verify_password(password, encoded.as_str())
                .is_ok(),
        }
    }
}

/// What the hashing engine does with a stored hash that is not a plain argon2 PHC string.
pub(crate) enum LegacyVerdict {
    /// A legacy hash, computed: whether the password matched.
    Verified(bool),
    /// A Redis pre-hash: the engine checks the argon2id hash inside against the pre-hash.
    Prehashed(RedisPrehashed),
    /// Unknown, malformed or above the caps: not computed (the engine spends one dummy
    /// evaluation instead, as for an unknown user).
    Refused,
}

/// Parses `stored`, checks its cost against `limits` and, if admissible, verifies `password`.
/// To be called on a hashing thread.
pub(crate) fn verify_stored(stored: &str, password: &[u8], limits: &LegacyLimits) -> LegacyVerdict {
    if let Some(pre) = RedisPrehashed::parse(stored) {
        return LegacyVerdict::Prehashed(pre);
    }
    let refused = |e: Refusal| {
        if matches!(e, Refusal::OverLimit { .. }) {
            tracing::warn!(reason = %e, "stored password hash refused without being computed");
        }
        LegacyVerdict::Refused
    };
    match LegacyHash::parse(stored).and_then(|h| h.check_limits(limits).map(|()| h)) {
        Ok(hash) => LegacyVerdict::Verified(hash.verify(password)),
        Err(e) => refused(e),
    }
}

/// Checks a stored hash fully (argon2 PHC or a legacy format) and names its format: for tools
/// that take hashes from elsewhere, such as an import. Nothing is computed and no cost cap is
/// applied.
///
/// # Errors
/// [`Error::InvalidRequest`] when the hash is in no supported format or does not parse.
pub fn check_hash_format(hash: &str) -> Result<HashFormat> {
    match HashFormat::detect(hash) {
        Some(HashFormat::Argon2) if argon2_parses(hash) => Ok(HashFormat::Argon2),
        Some(HashFormat::Argon2) => Err(Error::InvalidRequest("malformed argon2 hash".into())),
        Some(HashFormat::RedisPrehash) => match RedisPrehashed::parse(hash) {
            Some(p) if argon2_parses(p.inner()) => Ok(HashFormat::RedisPrehash),
            _ => Err(Error::InvalidRequest("malformed redis-prehash hash".into())),
        },
        Some(_) => LegacyHash::parse(hash)
            .map(|h| h.format())
            .map_err(|e| Error::InvalidRequest(e.to_string())),
        None => Err(Error::InvalidRequest(
            "unsupported password hash format".into(),
        )),
    }
}

fn argon2_parses(hash: &str) -> bool {
    let phc = argon2::password_hash::phc::PasswordHash::new(hash).ok();
    phc.as_ref().is_some_and(|phc| {
        argon2::Algorithm::try_from(phc.algorithm.as_str()).is_ok()
            && argon2::Params::try_from(phc).is_ok()
            && phc.hash.is_some()
    })
}

mod parse;
mod prehash;

use parse::*;
use prehash::REDIS_PREHASH_PREFIX;
pub(crate) use prehash::RedisPrehashed;
pub use prehash::{PasswordForm, is_redis_prehash, redis_prehash};
#[cfg(test)]
mod tests;
