//! Tests of the legacy hash formats: reference vectors, cost caps, malformed input.
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
        serde_json::from_str(include_str!("../../testdata/legacy_hash_vectors.json")).unwrap();
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
    let scrypt =
        "$scrypt$ln=4,r=8,p=17$c2FsdHNhbHRzYWx0c2FsdA$dv+jwXoc7oBMT0C2CWhzHRFgr2zYUjOrK2PaF9cjeTg";
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
    let hash = format!("$y${s}$GhXr7W2/KnM1EJuieqz2P1$iQ8DHqSEDV3gEzUv0VJvo6xsj4Hrf2Pr3s6y/NRgnE9");
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
