//! Parsers of the legacy formats: each turns a stored string into a [`Kind`] or nothing.

use base64::Engine as _;
use base64::alphabet::Alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use zeroize::Zeroizing;

use super::{HashFormat, Kind, MAX_OUTPUT_LEN, MAX_SALT_LEN, MIN_OUTPUT_LEN};

pub(super) fn scrypt_memory(log_n: u8, r: u32) -> u128 {
    (128u128 * u128::from(r)) << log_n
}

/// PHC base64: the standard alphabet without padding.
pub(super) const PHC_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// passlib's "adapted base64": the standard alphabet with `.` in place of `+`, no padding.
pub(super) const PASSLIB_AB64: GeneralPurpose = GeneralPurpose::new(
    &AB64_ALPHABET,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

// Evaluated at compile time: a bad literal fails the build, never a run.
#[allow(clippy::panic)]
pub(super) const AB64_ALPHABET: Alphabet =
    match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./") {
        Ok(a) => a,
        Err(_) => panic!("invalid base64 alphabet literal"),
    };

pub(super) fn decode(engine: &GeneralPurpose, s: &str, max: usize) -> Option<Zeroizing<Vec<u8>>> {
    // Reject before decoding anything huge.
    if s.len() > max.div_ceil(3) * 4 + 4 {
        return None;
    }
    engine.decode(s).ok().map(Zeroizing::new)
}

pub(super) fn output_ok(out: &[u8]) -> bool {
    (MIN_OUTPUT_LEN..=MAX_OUTPUT_LEN).contains(&out.len())
}

/// A decimal without sign, leading `+` or leading zeros.
pub(super) fn parse_decimal(s: &str) -> Option<u32> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

pub(super) fn parse_bcrypt(hash: &str) -> Option<Kind> {
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

pub(super) fn parse_pbkdf2_phc(hash: &str) -> Option<Kind> {
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

pub(super) fn parse_pbkdf2_passlib(hash: &str) -> Option<Kind> {
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

pub(super) fn parse_pbkdf2_django(hash: &str) -> Option<Kind> {
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

pub(super) fn parse_scrypt(hash: &str) -> Option<Kind> {
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

pub(super) const CRYPT_ALPHABET: &[u8] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub(super) fn crypt_b64(s: &str) -> bool {
    s.bytes().all(|b| CRYPT_ALPHABET.contains(&b))
}

pub(super) fn parse_sha_crypt(hash: &str, format: HashFormat) -> Option<Kind> {
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
pub(super) struct YescryptParams {
    pub(super) n_log2: u32,
    pub(super) r: u32,
    pub(super) p: u32,
    pub(super) t: u32,
}

impl YescryptParams {
    pub(super) fn memory(&self) -> u128 {
        (128u128 * u128::from(self.r)) << self.n_log2
    }

    /// The variable-width encoding of libxcrypt's `yescrypt-common.c` (`decode64_uint32`).
    pub(super) fn parse(s: &str) -> Option<Self> {
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

pub(super) fn decode64_uint32(src: &mut &[u8], min: u32) -> Option<u32> {
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

pub(super) fn parse_yescrypt(hash: &str) -> Option<Kind> {
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
