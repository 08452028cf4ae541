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

use base64::Engine as _;
use base64::alphabet::Alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
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

const REDIS_PREHASH_PREFIX: &str = "$authcore-redis-sha256$";

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
    username: String,
    cluster_name: String,
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

fn scrypt_memory(log_n: u8, r: u32) -> u128 {
    (128u128 * u128::from(r)) << log_n
}

/// PHC base64: the standard alphabet without padding.
const PHC_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// passlib's "adapted base64": the standard alphabet with `.` in place of `+`, no padding.
const PASSLIB_AB64: GeneralPurpose = GeneralPurpose::new(
    &AB64_ALPHABET,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

// Evaluated at compile time: a bad literal fails the build, never a run.
#[allow(clippy::panic)]
const AB64_ALPHABET: Alphabet =
    match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./") {
        Ok(a) => a,
        Err(_) => panic!("invalid base64 alphabet literal"),
    };

fn decode(engine: &GeneralPurpose, s: &str, max: usize) -> Option<Zeroizing<Vec<u8>>> {
    // Reject before decoding anything huge.
    if s.len() > max.div_ceil(3) * 4 + 4 {
        return None;
    }
    engine.decode(s).ok().map(Zeroizing::new)
}

fn output_ok(out: &[u8]) -> bool {
    (MIN_OUTPUT_LEN..=MAX_OUTPUT_LEN).contains(&out.len())
}

/// A decimal without sign, leading `+` or leading zeros.
fn parse_decimal(s: &str) -> Option<u32> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

fn parse_bcrypt(hash: &str) -> Option<Kind> {
    let version = hash.get(1..3)?;
    if !matches!(version, "2a" | "2b" | "2y") {
        return None;
    }
    let parts: bcrypt::HashParts = hash.parse().ok()?;
    let cost = parts.get_cost();
    // Cost is two digits; bcrypt itself only defines 4..=31.
    if !(4..=31).contains(&cost) || hash.get(4..6) != Some(format!("{cost:02}").as_str()) {
        return None;
    }
    Some(Kind::Bcrypt {
        cost,
        encoded: Zeroizing::new(hash.to_owned()),
    })
}

fn parse_pbkdf2_phc(hash: &str) -> Option<Kind> {
    let rest = hash.strip_prefix("$pbkdf2-sha256$")?;
    let mut fields = rest.split('$');
    let (params, salt, out) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    let mut iterations = None;
    let mut len = None;
    for pair in params.split(',') {
        let (k, v) = pair.split_once('=')?;
        let slot = match k {
            "i" => &mut iterations,
            "l" => &mut len,
            _ => return None,
        };
        if slot.replace(parse_decimal(v)?).is_some() {
            return None;
        }
    }
    let iterations = iterations.filter(|&i| i > 0)?;
    let salt = decode(&PHC_B64, salt, MAX_SALT_LEN)?;
    let expected = decode(&PHC_B64, out, MAX_OUTPUT_LEN)?;
    if len.is_some_and(|l| usize::try_from(l).ok() != Some(expected.len())) || !output_ok(&expected)
    {
        return None;
    }
    Some(Kind::Pbkdf2 {
        format: HashFormat::Pbkdf2Sha256,
        iterations,
        salt,
        expected,
    })
}

fn parse_pbkdf2_passlib(hash: &str) -> Option<Kind> {
    let rest = hash.strip_prefix("$pbkdf2-sha256$")?;
    let mut fields = rest.split('$');
    let (rounds, salt, out) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    let iterations = parse_decimal(rounds).filter(|&i| i > 0)?;
    let salt = decode(&PASSLIB_AB64, salt, MAX_SALT_LEN)?;
    let expected = decode(&PASSLIB_AB64, out, MAX_OUTPUT_LEN)?;
    if expected.len() != 32 {
        return None;
    }
    Some(Kind::Pbkdf2 {
        format: HashFormat::Pbkdf2Sha256Passlib,
        iterations,
        salt,
        expected,
    })
}

fn parse_pbkdf2_django(hash: &str) -> Option<Kind> {
    let rest = hash.strip_prefix("pbkdf2_sha256$")?;
    let mut fields = rest.split('$');
    let (iterations, salt, out) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || salt.is_empty() || salt.len() > MAX_SALT_LEN {
        return None;
    }
    let iterations = parse_decimal(iterations).filter(|&i| i > 0)?;
    // Django uses the salt's text as the PBKDF2 salt and standard, padded base64 for the hash.
    let expected = decode(&STANDARD, out, MAX_OUTPUT_LEN)?;
    if expected.len() != 32 {
        return None;
    }
    Some(Kind::Pbkdf2 {
        format: HashFormat::Pbkdf2Sha256Django,
        iterations,
        salt: Zeroizing::new(salt.as_bytes().to_vec()),
        expected,
    })
}

fn parse_scrypt(hash: &str) -> Option<Kind> {
    let rest = hash.strip_prefix("$scrypt$")?;
    let mut fields = rest.split('$');
    let (params, salt, out) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    let (mut ln, mut r, mut p) = (None, None, None);
    for pair in params.split(',') {
        let (k, v) = pair.split_once('=')?;
        let slot = match k {
            "ln" => &mut ln,
            "r" => &mut r,
            "p" => &mut p,
            _ => return None,
        };
        if slot.replace(parse_decimal(v)?).is_some() {
            return None;
        }
    }
    let log_n = u8::try_from(ln?).ok().filter(|l| (1..64).contains(l))?;
    let (r, p) = (r?, p?);
    if r == 0 || p == 0 || u64::from(r) * u64::from(p) >= 1 << 30 {
        return None;
    }
    scrypt::Params::new(log_n, r, p).ok()?;
    let salt = decode(&PHC_B64, salt, MAX_SALT_LEN)?;
    let expected = decode(&PHC_B64, out, MAX_OUTPUT_LEN)?;
    if !output_ok(&expected) {
        return None;
    }
    Some(Kind::Scrypt {
        log_n,
        r,
        p,
        salt,
        expected,
    })
}

const CRYPT_ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn crypt_b64(s: &str) -> bool {
    s.bytes().all(|b| CRYPT_ALPHABET.contains(&b))
}

fn parse_sha_crypt(hash: &str, format: HashFormat) -> Option<Kind> {
    let (rest, out_len) = match format {
        HashFormat::Sha256Crypt => (hash.strip_prefix("$5$")?, 43),
        _ => (hash.strip_prefix("$6$")?, 86),
    };
    let fields: Vec<&str> = rest.split('$').collect();
    let (rounds, salt, out) = match fields.as_slice() {
        [salt, out] => (5_000, *salt, *out),
        [rounds, salt, out] => (parse_decimal(rounds.strip_prefix("rounds=")?)?, *salt, *out),
        _ => return None,
    };
    // glibc's bounds; glibc clamps but never writes a value outside them.
    let in_range = (1_000..=999_999_999).contains(&rounds);
    let salt_ok = !salt.is_empty() && salt.len() <= 16 && crypt_b64(salt);
    if !in_range || !salt_ok || out.len() != out_len || !crypt_b64(out) {
        return None;
    }
    Some(Kind::ShaCrypt {
        format,
        rounds,
        encoded: Zeroizing::new(hash.to_owned()),
    })
}

/// yescrypt's parameters, decoded from the `$y$` string's parameter field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct YescryptParams {
    n_log2: u32,
    r: u32,
    p: u32,
    t: u32,
}

impl YescryptParams {
    fn memory(&self) -> u128 {
        (128u128 * u128::from(self.r)) << self.n_log2
    }

    /// The variable-width encoding of libxcrypt's `yescrypt-common.c` (`decode64_uint32`).
    fn parse(s: &str) -> Option<Self> {
        let mut src = s.as_bytes();
        let _flavor = decode64_uint32(&mut src, 0)?;
        let n_log2 = decode64_uint32(&mut src, 1)?;
        let r = decode64_uint32(&mut src, 1)?;
        let (mut p, mut t) = (1, 0);
        if !src.is_empty() {
            let have = decode64_uint32(&mut src, 1)?;
            // Only p and t are supported: g (cost upgrades) and a ROM are not.
            if have & !0x03 != 0 {
                return None;
            }
            if have & 0x01 != 0 {
                p = decode64_uint32(&mut src, 2)?;
            }
            if have & 0x02 != 0 {
                t = decode64_uint32(&mut src, 1)?;
            }
        }
        if !src.is_empty() || !(1..=63).contains(&n_log2) || r == 0 {
            return None;
        }
        Some(Self { n_log2, r, p, t })
    }
}

fn decode64_uint32(src: &mut &[u8], min: u32) -> Option<u32> {
    let value = |c: u8| {
        CRYPT_ALPHABET
            .iter()
            .position(|&a| a == c)
            .map(|i| i as u32)
    };
    let (&first, rest) = src.split_first()?;
    *src = rest;
    let c = value(first)?;
    let (mut start, mut end, mut chars, mut bits) = (0u32, 47u32, 1u32, 0u32);
    let mut dst = min;
    while c > end {
        dst = dst.checked_add((end + 1 - start).checked_shl(bits)?)?;
        start = end + 1;
        end = start + (62 - end) / 2;
        chars += 1;
        bits += 6;
    }
    dst = dst.checked_add((c - start).checked_shl(bits)?)?;
    while chars > 1 {
        chars -= 1;
        let (&next, rest) = src.split_first()?;
        *src = rest;
        bits -= 6;
        dst = dst.checked_add(value(next)?.checked_shl(bits)?)?;
    }
    Some(dst)
}

fn parse_yescrypt(hash: &str) -> Option<Kind> {
    let rest = hash.strip_prefix("$y$")?;
    let fields: Vec<&str> = rest.split('$').collect();
    let [params, salt, out] = fields.as_slice() else {
        return None;
    };
    // The crate checks the flavor and the combination of parameters; ours reads t as well.
    params.parse::<yescrypt::Params>().ok()?;
    let params = YescryptParams::parse(params)?;
    if salt.is_empty() || salt.len() > 86 || !crypt_b64(salt) || out.len() != 43 || !crypt_b64(out)
    {
        return None;
    }
    Some(Kind::Yescrypt {
        params,
        encoded: Zeroizing::new(hash.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[derive(Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
    }

    #[derive(Deserialize)]
    struct Vector {
        format: HashFormat,
        password: String,
        hash: String,
        within_limits: bool,
    }

    fn vectors() -> Vec<Vector> {
        let v: Vectors =
            serde_json::from_str(include_str!("../testdata/legacy_hash_vectors.json")).unwrap();
        v.vectors
    }

    /// The costly vectors, exactly at a default cap.
    fn is_at_cap(v: &Vector) -> bool {
        v.password == "at the cap"
    }

    #[test]
    fn every_format_has_vectors_within_and_above_the_caps() {
        let vectors = vectors();
        for format in HashFormat::ALL
            .iter()
            .filter(|f| f.is_legacy() && **f != HashFormat::RedisPrehash)
        {
            let of: Vec<_> = vectors.iter().filter(|v| v.format == *format).collect();
            assert!(of.iter().any(|v| v.within_limits), "{format}: none within");
            // SHA-256-crypt and SHA-512-crypt share one cap; bcrypt's 2a/2b/2y one.
            assert!(of.iter().any(|v| !v.within_limits), "{format}: none above");
        }
    }

    #[test]
    fn reference_vectors_parse_with_their_format_and_costs() {
        for v in vectors() {
            let parsed = LegacyHash::parse(&v.hash).unwrap_or_else(|e| panic!("{}: {e}", v.hash));
            assert_eq!(parsed.format(), v.format, "{}", v.hash);
            assert_eq!(HashFormat::detect(&v.hash), Some(v.format));
            assert_eq!(check_hash_format(&v.hash).unwrap(), v.format);
            assert_eq!(
                parsed.check_limits(&LegacyLimits::DEFAULT).is_ok(),
                v.within_limits,
                "{}",
                v.hash
            );
        }
    }

    /// Verifies every vector within the caps (except the costly at-cap ones, which
    /// `vectors_at_the_caps_verify` covers), with the right and a wrong password.
    #[test]
    fn reference_vectors_verify() {
        for v in vectors()
            .iter()
            .filter(|v| v.within_limits && !is_at_cap(v))
        {
            let parsed = LegacyHash::parse(&v.hash).unwrap();
            assert!(parsed.verify(v.password.as_bytes()), "{}", v.hash);
            assert!(!parsed.verify(b"wrong password"), "{}", v.hash);
            let mut almost = v.password.clone().into_bytes();
            almost[0] ^= 1;
            assert!(!parsed.verify(&almost), "{}", v.hash);
        }
    }

    /// The vectors exactly at a default cap verify: the caps are inclusive. PBKDF2's is left out
    /// here (a million HMAC rounds take seconds in an unoptimised test build, where the generic
    /// code is instantiated); its limit check is covered by
    /// `reference_vectors_parse_with_their_format_and_costs` and its computation by the cheaper
    /// vectors.
    #[test]
    fn vectors_at_the_caps_verify() {
        let at_cap: Vec<_> = vectors().into_iter().filter(is_at_cap).collect();
        assert_eq!(at_cap.len(), 5, "one per capped cost");
        for v in at_cap
            .iter()
            .filter(|v| v.format != HashFormat::Pbkdf2Sha256Django)
        {
            let parsed = LegacyHash::parse(&v.hash).unwrap();
            parsed.check_limits(&LegacyLimits::DEFAULT).unwrap();
            assert!(parsed.verify(v.password.as_bytes()), "{}", v.hash);
        }
    }

    #[test]
    fn bcrypt_truncates_at_72_bytes_like_the_reference() {
        let v = vectors()
            .into_iter()
            .find(|v| v.password.len() > 72 && v.format == HashFormat::Bcrypt)
            .unwrap();
        let parsed = LegacyHash::parse(&v.hash).unwrap();
        assert!(parsed.verify(&v.password.as_bytes()[..72]));
        assert!(!parsed.verify(&v.password.as_bytes()[..71]));
    }

    #[test]
    fn raised_caps_admit_what_the_defaults_refuse() {
        let raised = LegacyLimits {
            bcrypt_cost: 14,
            pbkdf2_iterations: 1_200_000,
            scrypt_memory: 128 * MIB,
            yescrypt_memory: 128 * MIB,
            sha_crypt_rounds: 1_000_001,
            ..LegacyLimits::DEFAULT
        };
        raised.validate().unwrap();
        for v in vectors().iter().filter(|v| !v.within_limits) {
            let parsed = LegacyHash::parse(&v.hash).unwrap();
            assert!(parsed.check_limits(&raised).is_ok(), "{}", v.hash);
        }
        // And lowered caps refuse what the defaults admit.
        let lowered = LegacyLimits {
            bcrypt_cost: 3,
            pbkdf2_iterations: 999,
            scrypt_memory: 1024,
            yescrypt_memory: 1024,
            sha_crypt_rounds: 999,
            ..LegacyLimits::DEFAULT
        };
        for v in vectors() {
            let parsed = LegacyHash::parse(&v.hash).unwrap();
            let refused = parsed.check_limits(&lowered).unwrap_err();
            assert!(matches!(refused, Refusal::OverLimit { .. }), "{}", v.hash);
        }
    }

    #[test]
    fn parallelism_and_yescrypt_time_are_capped() {
        let scrypt = "$scrypt$ln=4,r=8,p=17$c2FsdHNhbHRzYWx0c2FsdA$dv+jwXoc7oBMT0C2CWhzHRFgr2zYUjOrK2PaF9cjeTg";
        let parsed = LegacyHash::parse(scrypt).unwrap();
        assert!(matches!(
            parsed.check_limits(&LegacyLimits::DEFAULT),
            Err(Refusal::OverLimit {
                what: "scrypt parallelism",
                ..
            })
        ));
        // j75 with have = p|t, p = 2, t = 5: "j75" + have(3) + p(2) + t(5).
        let mut s = String::from("j75");
        for (v, min) in [(3u32, 1u32), (2, 2), (5, 1)] {
            s.push(CRYPT_ALPHABET[(v - min) as usize] as char);
        }
        let y = YescryptParams::parse(&s).unwrap();
        assert_eq!((y.n_log2, y.r, y.p, y.t), (10, 8, 2, 5));
        let hash =
            format!("$y${s}$GhXr7W2/KnM1EJuieqz2P1$iQ8DHqSEDV3gEzUv0VJvo6xsj4Hrf2Pr3s6y/NRgnE9");
        let parsed = LegacyHash::parse(&hash).unwrap();
        assert!(matches!(
            parsed.check_limits(&LegacyLimits::DEFAULT),
            Err(Refusal::OverLimit {
                what: "yescrypt time",
                ..
            })
        ));
    }

    #[test]
    fn yescrypt_params_decode_like_libxcrypt() {
        // crypt_gensalt("$y$", 5): N = 4096, r = 32, the /etc/shadow default.
        let p = YescryptParams::parse("j9T").unwrap();
        assert_eq!((p.n_log2, p.r, p.p, p.t), (12, 32, 1, 0));
        assert_eq!(p.memory(), 16 * u128::from(MIB));
        let p = YescryptParams::parse("jBT").unwrap();
        assert_eq!(p.memory(), 64 * u128::from(MIB));
    }

    #[test]
    fn malformed_hashes_are_refused_without_panicking() {
        let cases = [
            "$2b$04$short",
            "$2b$4$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.GG",
            "$2b$03$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G",
            "$2b$99$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G",
            "$2b$04$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.é",
            "$pbkdf2-sha256$i=0,l=32$8pmS4ZaiHM7P0dRVeFOcTg$vj4VbJlwwgl/MyV6LcEhITHcf6JIxjqE+1gRnEe5iO8",
            "$pbkdf2-sha256$i=1000,l=31$8pmS4ZaiHM7P0dRVeFOcTg$vj4VbJlwwgl/MyV6LcEhITHcf6JIxjqE+1gRnEe5iO8",
            "$pbkdf2-sha256$i=1000,i=2$8pmS4ZaiHM7P0dRVeFOcTg$vj4VbJlwwgl/MyV6LcEhITHcf6JIxjqE+1gRnEe5iO8",
            "$pbkdf2-sha256$i=99999999999$8pmS4ZaiHM7P0dRVeFOcTg$vj4VbJlwwgl/MyV6LcEhITHcf6JIxjqE+1gRnEe5iO8",
            "$pbkdf2-sha256$i=1000$8pmS4ZaiHM7P0dRVeFOcTg$AAAA",
            "$pbkdf2-sha256$-1$Y.w9R4iREiLk/D8nhHCOsQ$T35RocIoVWevi32qy6Gp3ACTx8bfldsBGdv1zDS1a2g",
            "$pbkdf2-sha256$01000$Y.w9R4iREiLk/D8nhHCOsQ$T35RocIoVWevi32qy6Gp3ACTx8bfldsBGdv1zDS1a2g",
            "$pbkdf2-sha256$1000$Y+w9R4iREiLk/D8nhHCOsQ$T35RocIoVWevi32qy6Gp3ACTx8bfldsBGdv1zDS1a2g",
            "pbkdf2_sha256$1000$$JSbSQjrTXpayHOFCcvNShTEhxlRD8FIsB0ILPfql8KY=",
            "pbkdf2_sha256$1000$salt$JSbSQjrTXpayHOFCcvNShTEhxlRD8FIsB0ILPfql8KY",
            "pbkdf2_sha256$1000$salt$JSbSQjrTXpayHOFCcvNShTEhxlRD8FIsB0ILPfql8KY=$x",
            "$scrypt$ln=0,r=8,p=1$bg3BOKcUAgDgnBOi1PofYw$dv+jwXoc7oBMT0C2CWhzHRFgr2zYUjOrK2PaF9cjeTg",
            "$scrypt$ln=64,r=8,p=1$bg3BOKcUAgDgnBOi1PofYw$dv+jwXoc7oBMT0C2CWhzHRFgr2zYUjOrK2PaF9cjeTg",
            "$scrypt$ln=4,r=4294967295,p=4294967295$bg3BOKcUAgDgnBOi1PofYw$dv+jwXoc7oBMT0C2CWhzHRFgr2zYUjOrK2PaF9cjeTg",
            "$scrypt$ln=4,r=8$bg3BOKcUAgDgnBOi1PofYw$dv+jwXoc7oBMT0C2CWhzHRFgr2zYUjOrK2PaF9cjeTg",
            "$scrypt$ln=4,r=8,p=1,x=1$bg3BOKcUAgDgnBOi1PofYw$dv+jwXoc7oBMT0C2CWhzHRFgr2zYUjOrK2PaF9cjeTg",
            "$5$rounds=999$pKM5PeUDlwKJCpjt$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt5",
            "$5$rounds=$pKM5PeUDlwKJCpjt$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt5",
            "$5$pKM5PeUDlwKJCpjtX$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt5",
            "$5$pKM5PeUDlwKJCpjt$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt",
            "$5$$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt5",
            "$6$xi6u44.QfsZjuyBd$vElEDD72jXWTaRM3rA",
            "$y$j9T$B.mGoNRgDCvttHv80jLXe.",
            "$y$$B.mGoNRgDCvttHv80jLXe.$Cvl1KYVGa1bTsp4TirWVshT5Wk/O3ImG1zqw9pI4o/0",
            "$y$j9T$$Cvl1KYVGa1bTsp4TirWVshT5Wk/O3ImG1zqw9pI4o/0",
            "$y$j9T!$B.mGoNRgDCvttHv80jLXe.$Cvl1KYVGa1bTsp4TirWVshT5Wk/O3ImG1zqw9pI4o/0",
            "$y$jzzzzzzz$B.mGoNRgDCvttHv80jLXe.$Cvl1KYVGa1bTsp4TirWVshT5Wk/O3ImG1zqw9pI4o/0",
            "$y$j9T5$B.mGoNRgDCvttHv80jLXe.$Cvl1KYVGa1bTsp4TirWVshT5Wk/O3ImG1zqw9pI4o/0",
        ];
        for case in cases {
            let err = LegacyHash::parse(case).unwrap_err();
            assert!(matches!(err, Refusal::Malformed(_)), "{case}: {err:?}");
            assert!(check_hash_format(case).is_err(), "{case}");
        }
        for unknown in [
            "",
            "$",
            "$2x$04$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G",
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
            "$1$abc$def",
            "plain",
        ] {
            assert_eq!(LegacyHash::parse(unknown).unwrap_err(), Refusal::Unknown);
        }
        // Huge inputs are refused before any big allocation or computation.
        let huge = format!("$pbkdf2-sha256$i=1,l=32${}$aGFzaA", "A".repeat(10_000_000));
        assert!(LegacyHash::parse(&huge).is_err());
    }

    #[test]
    fn arbitrary_input_never_panics() {
        use proptest::prelude::*;
        let prefixes = [
            "$2b$04$",
            "$pbkdf2-sha256$",
            "$pbkdf2-sha256$i=",
            "pbkdf2_sha256$",
            "$scrypt$ln=",
            "$5$",
            "$6$rounds=",
            "$y$",
            "$y$j",
        ];
        proptest!(ProptestConfig::with_cases(2000), |(i in 0..prefixes.len(), tail in "[ -~]{0,100}")| {
            let s = format!("{}{tail}", prefixes[i]);
            if let Ok(h) = LegacyHash::parse(&s) {
                // A parsed hash within tiny caps may be computed; it must not match a random
                // password, and must not panic.
                let tiny = LegacyLimits { bcrypt_cost: 4, pbkdf2_iterations: 10, scrypt_memory: 1 << 16,
                    yescrypt_memory: 1 << 16, sha_crypt_rounds: 1000, parallelism: 1, yescrypt_time: 0 };
                if h.check_limits(&tiny).is_ok() {
                    let _ = h.verify(b"pw");
                }
            }
        });
    }

    #[test]
    fn debug_shows_no_hash() {
        for v in vectors() {
            let parsed = LegacyHash::parse(&v.hash).unwrap();
            let shown = format!("{parsed:?}");
            let tail = v.hash.rsplit('$').next().unwrap();
            assert!(!shown.contains(tail), "{shown}");
        }
    }

    #[test]
    fn redis_prehash_matches_sha256_of_the_triple() {
        // printf 'ann@example.org:cluster.local:pw' | sha256sum
        assert_eq!(
            redis_prehash("ann@example.org", "cluster.local", "pw"),
            "e7fbc1721c9ae0deb97df3bc0915da4a6299afda487b4588693cd417561da075"
        );
    }

    #[test]
    fn redis_prehash_wrapping_round_trips() {
        let inner = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        let stored = RedisPrehashed::wrap("Ann$,:@example.org", "c:l$u", inner);
        assert_eq!(HashFormat::detect(&stored), Some(HashFormat::RedisPrehash));
        assert!(!stored.contains("Ann"), "names are encoded: {stored}");
        let parsed = RedisPrehashed::parse(&stored).unwrap();
        assert_eq!(parsed.inner(), inner);
        assert_eq!(parsed.username, "Ann$,:@example.org");
        assert_eq!(parsed.cluster_name, "c:l$u");
        assert_eq!(
            parsed.prehash_of(b"pw").as_str(),
            redis_prehash("Ann$,:@example.org", "c:l$u", "pw")
        );
        assert_eq!(
            check_hash_format(&stored).unwrap(),
            HashFormat::RedisPrehash
        );
        for bad in [
            "$authcore-redis-sha256$u=YQ,c=Yg$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            "$authcore-redis-sha256$u=YQ$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            "$authcore-redis-sha256$u=Y!,c=Yg$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            "$authcore-redis-sha256$u=YQ,c=Yg$",
        ] {
            assert!(
                RedisPrehashed::parse(bad).is_none() || check_hash_format(bad).is_err(),
                "{bad}"
            );
        }
        assert!(is_redis_prehash(&redis_prehash("a", "b", "c")));
        assert!(!is_redis_prehash("abc"));
        assert!(!is_redis_prehash(&"g".repeat(64)));
    }

    fn pool() -> crate::HashingPool {
        crate::HashingPool::new(crate::HashingConfig::insecure_fast()).unwrap()
    }

    fn current_evaluations(pool: &crate::HashingPool) -> u64 {
        let params = pool.config().params;
        pool.evaluations().get(&params).copied().unwrap_or(0)
    }

    fn pw(s: &str) -> crate::Password {
        crate::Password::from(s.to_owned())
    }

    /// Through the hashing engine: each cheap vector matches with its password, asks for a
    /// re-hash, and refuses a wrong password; none costs an argon2 evaluation.
    #[tokio::test]
    async fn the_engine_verifies_legacy_hashes_and_asks_for_a_rehash() {
        let pool = pool();
        for v in vectors()
            .iter()
            .filter(|v| v.within_limits && !is_at_cap(v))
        {
            let other = crate::PasswordHash::new(
                "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            );
            let hashes = vec![other, crate::PasswordHash::new(v.hash.clone())];
            let out = pool.verify(&pw(&v.password), hashes.clone()).await.unwrap();
            assert_eq!(out.matched, Some(1), "{}", v.hash);
            assert!(out.needs_rehash, "{}", v.hash);
            let out = pool.verify(&pw("wrong password"), hashes).await.unwrap();
            assert_eq!(out.matched, None, "{}", v.hash);
        }
    }

    /// A hash above its cap is refused without being computed, even with the right password,
    /// and costs exactly one argon2 evaluation at the current parameters, as an unknown user.
    #[tokio::test]
    async fn the_engine_refuses_hashes_above_the_caps_at_the_cost_of_an_unknown_user() {
        let pool = pool();
        for v in vectors().iter().filter(|v| !v.within_limits) {
            let before = current_evaluations(&pool);
            let hashes = vec![crate::PasswordHash::new(v.hash.clone())];
            let out = pool.verify(&pw(&v.password), hashes).await.unwrap();
            assert_eq!(out.matched, None, "{}", v.hash);
            assert_eq!(current_evaluations(&pool), before + 1, "{}", v.hash);
        }
        // So does a malformed legacy hash.
        let before = current_evaluations(&pool);
        let out = pool
            .verify(&pw("pw"), vec![crate::PasswordHash::new("$2b$04$garbage")])
            .await
            .unwrap();
        assert_eq!(out.matched, None);
        assert_eq!(current_evaluations(&pool), before + 1);
    }

    /// Raised caps let the engine compute what the defaults refuse.
    #[tokio::test]
    async fn the_engine_applies_configured_caps() {
        let v = vectors()
            .into_iter()
            .find(|v| !v.within_limits && v.format == HashFormat::Sha256Crypt)
            .unwrap();
        let pool = crate::HashingPool::new(crate::HashingConfig {
            legacy: LegacyLimits {
                sha_crypt_rounds: 2_000_000,
                ..LegacyLimits::DEFAULT
            },
            ..crate::HashingConfig::insecure_fast()
        })
        .unwrap();
        let out = pool
            .verify(&pw(&v.password), vec![crate::PasswordHash::new(v.hash)])
            .await
            .unwrap();
        assert_eq!(out.matched, Some(0));
        let bad = crate::HashingConfig {
            legacy: LegacyLimits {
                bcrypt_cost: 25,
                ..LegacyLimits::DEFAULT
            },
            ..crate::HashingConfig::insecure_fast()
        };
        assert!(crate::HashingPool::new(bad).is_err());
    }

    #[tokio::test]
    async fn the_engine_verifies_a_wrapped_redis_prehash_with_the_plain_password() {
        let pool = pool();
        let prehash = redis_prehash("ann@example.org", "cluster.local", "s3cret!");
        let inner = pool.hash(&pw(&prehash)).await.unwrap();
        let stored = RedisPrehashed::wrap("ann@example.org", "cluster.local", inner.expose_phc());
        assert!(!stored.contains(&prehash), "no bare SHA-256 at rest");
        let hashes = vec![crate::PasswordHash::new(stored)];
        let out = pool.verify(&pw("s3cret!"), hashes.clone()).await.unwrap();
        assert_eq!(out.matched, Some(0));
        assert!(out.needs_rehash);
        // The pre-hash itself is not the password.
        let out = pool.verify(&pw(&prehash), hashes.clone()).await.unwrap();
        assert_eq!(out.matched, None);
        let out = pool.verify(&pw("s3cret?"), hashes).await.unwrap();
        assert_eq!(out.matched, None);
    }

    #[test]
    fn limits_validate() {
        LegacyLimits::DEFAULT.validate().unwrap();
        let bad = LegacyLimits {
            bcrypt_cost: 31,
            ..LegacyLimits::DEFAULT
        };
        assert!(bad.validate().is_err());
        let bad = LegacyLimits {
            parallelism: 0,
            ..LegacyLimits::DEFAULT
        };
        assert!(bad.validate().is_err());
    }
}
