#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use argon2::password_hash::PasswordVerifier as _;
use argon2::password_hash::phc::PasswordHash as Phc;

use super::*;

fn config(concurrency: usize) -> HashingConfig {
    HashingConfig {
        concurrency,
        ..HashingConfig::insecure_fast()
    }
}

fn pool(concurrency: usize) -> HashingPool {
    HashingPool::new(config(concurrency)).unwrap()
}

fn pw(s: &str) -> Password {
    Password::from(s.to_owned())
}

const M64: Argon2Params = Argon2Params {
    m_cost: 64,
    t_cost: 1,
    p_cost: 1,
};

/// The evaluations run between two snapshots.
fn delta(
    before: &BTreeMap<Argon2Params, u64>,
    after: &BTreeMap<Argon2Params, u64>,
) -> BTreeMap<Argon2Params, u64> {
    after
        .iter()
        .map(|(p, n)| (*p, n - before.get(p).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test]
async fn hash_then_verify_among_several() {
    let pool = pool(2);
    let a = pool.hash(&pw("alpha")).await.unwrap();
    let b = pool.hash(&pw("bravo")).await.unwrap();
    assert!(a.expose_phc().starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
    assert_ne!(a, pool.hash(&pw("alpha")).await.unwrap(), "random salt");
    let out = pool.verify(&pw("bravo"), vec![a.clone(), b]).await.unwrap();
    assert_eq!(out.matched, Some(1));
    assert!(!out.needs_rehash);
    let out = pool.verify(&pw("charlie"), vec![a]).await.unwrap();
    assert_eq!(out.matched, None);
}

#[tokio::test]
async fn hashes_agree_with_the_argon2_crate_both_ways() {
    let pool = HashingPool::new(HashingConfig {
        params: M64,
        max_params: Argon2Params::MAX,
        ..config(1)
    })
    .unwrap();
    // Ours verifies with the argon2 crate's verify_password.
    let ours = pool.hash(&pw("s3cret")).await.unwrap();
    let phc = Phc::new(ours.expose_phc()).unwrap();
    Argon2::default()
        .verify_password(b"s3cret", &phc)
        .expect("the crate accepts our hash");
    assert!(Argon2::default().verify_password(b"other", &phc).is_err());
    // The crate's hashes (argon2id, argon2i, another output length) verify with ours.
    for (alg, out_len) in [
        (Algorithm::Argon2id, None),
        (Algorithm::Argon2i, None),
        (Algorithm::Argon2d, Some(16)),
    ] {
        use argon2::password_hash::PasswordHasher as _;
        let params = Params::new(32, 1, 1, out_len).unwrap();
        let theirs = Argon2::new(alg, Version::V0x13, params)
            .hash_password_with_salt(b"s3cret", b"saltsaltsalt")
            .unwrap()
            .to_string();
        let out = pool
            .verify(&pw("s3cret"), vec![PasswordHash::new(theirs.clone())])
            .await
            .unwrap();
        assert_eq!(out.matched, Some(0), "{alg:?}");
        assert!(out.needs_rehash, "weaker or not argon2id: re-hash");
        let out = pool
            .verify(&pw("s3creT"), vec![PasswordHash::new(theirs)])
            .await
            .unwrap();
        assert_eq!(out.matched, None, "{alg:?}");
    }
}

#[tokio::test]
async fn weaker_stored_hash_asks_for_rehash() {
    let weak = pool(1).hash(&pw("pw")).await.unwrap();
    let stronger = HashingPool::new(HashingConfig {
        params: M64,
        ..config(1)
    })
    .unwrap();
    let out = stronger.verify(&pw("pw"), vec![weak]).await.unwrap();
    assert_eq!(out.matched, Some(0));
    assert!(out.needs_rehash);
}

/// Real hashes of the right password, each above the caps on one axis (made by a pool whose
/// caps allow them, which verifies them): the capped pool never matches them, spends exactly
/// one evaluation at its current parameters on each (what an unknown user costs), and never
/// allocates the memory they would need.
#[tokio::test]
async fn hashes_above_the_caps_never_match_even_with_the_right_password() {
    let caps = Argon2Params {
        m_cost: 1024,
        t_cost: 3,
        p_cost: 1,
    };
    let capped = HashingPool::new(HashingConfig {
        params: M64,
        max_params: caps,
        ..config(1)
    })
    .unwrap();
    let above = [
        Argon2Params {
            m_cost: 2048,
            ..M64
        },
        Argon2Params { t_cost: 4, ..M64 },
        Argon2Params { p_cost: 2, ..M64 },
    ];
    for params in above {
        assert!(!params.within(&caps));
        let maker = HashingPool::new(HashingConfig {
            params,
            max_params: params,
            ..config(1)
        })
        .unwrap();
        let real = maker.hash(&pw("right")).await.unwrap();
        let check = maker
            .verify(&pw("right"), vec![real.clone()])
            .await
            .unwrap();
        assert_eq!(check.matched, Some(0), "a real hash at {params:?}");

        let (evaluations, allocations) = (capped.evaluations(), capped.memory_allocations());
        let out = capped.verify(&pw("right"), vec![real]).await.unwrap();
        assert_eq!(out.matched, None, "{params:?}");
        assert!(!out.needs_rehash);
        assert_eq!(
            delta(&evaluations, &capped.evaluations()),
            BTreeMap::from([(M64, 1)]),
            "{params:?}"
        );
        // The first job allocates the worker's memory for the current parameters, and nothing
        // else: a computed hash above them would need a buffer of its own.
        assert!(
            capped.memory_allocations() <= allocations.max(1),
            "{params:?}"
        );
    }
    assert_eq!(capped.memory_allocations(), 1);
}

#[tokio::test]
async fn a_hash_that_may_not_be_computed_costs_one_evaluation_at_current_params() {
    let pool = HashingPool::new(HashingConfig {
        params: M64,
        max_params: Argon2Params {
            m_cost: 1024,
            t_cost: 3,
            p_cost: 1,
        },
        ..config(1)
    })
    .unwrap();
    let inadmissible = [
        // m = 4 GiB: computing it would take seconds and gigabytes.
        "$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0$cWZc3ZXyR6TqO/TOhW/ipPtSQb/vt2FxBYp7wOGMyBM",
        // Above max_params on one axis only.
        "$argon2id$v=19$m=64,t=4,p=1$c2FsdHNhbHRzYWx0$cWZc3ZXyR6TqO/TOhW/ipPtSQb/vt2FxBYp7wOGMyBM",
        "not a phc string",
        // bcrypt above its default cap (cost 13); see legacy_hash for the admissible ones.
        "$2b$14$eBw4AK5ubxyTzPQ1fpzJfuJuztR/x1gEXkiep81eQvHUqgJbQusBW",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$cWZc3ZXyR6TqO/TOhW/ipPtSQb/vt2FxBYp7wOGMyBM", // 4-byte salt
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0", // no output
        "",
    ];
    // Reference: what an unknown user costs.
    let before = pool.evaluations();
    pool.verify_dummy(&pw("pw")).await.unwrap();
    let unknown = delta(&before, &pool.evaluations());
    assert_eq!(unknown, BTreeMap::from([(M64, 1)]));
    for text in inadmissible {
        let before = pool.evaluations();
        let out = pool
            .verify(&pw("pw"), vec![PasswordHash::new(text)])
            .await
            .unwrap();
        assert_eq!(out.matched, None, "{text}");
        assert_eq!(delta(&before, &pool.evaluations()), unknown, "{text}");
    }
    // Two inadmissible hashes cost two evaluations, as two wrong hashes would.
    let before = pool.evaluations();
    let good = pool.hash(&pw("right")).await.unwrap();
    let after_hash = pool.evaluations();
    assert_eq!(delta(&before, &after_hash), BTreeMap::from([(M64, 1)]));
    pool.verify(
        &pw("wrong"),
        vec![PasswordHash::new("garbage"), good.clone()],
    )
    .await
    .unwrap();
    assert_eq!(
        delta(&after_hash, &pool.evaluations()),
        BTreeMap::from([(M64, 2)])
    );
    // A stored hash of other (admissible) parameters is computed with its own.
    let weak = HashingPool::new(config(1))
        .unwrap()
        .hash(&pw("x"))
        .await
        .unwrap();
    let before = pool.evaluations();
    pool.verify(&pw("y"), vec![weak]).await.unwrap();
    assert_eq!(
        delta(&before, &pool.evaluations()),
        BTreeMap::from([(Argon2Params::MIN, 1)])
    );
}

#[tokio::test]
async fn workers_keep_their_memory_between_jobs() {
    let pool = HashingPool::new(HashingConfig {
        params: M64,
        max_params: Argon2Params::MAX,
        ..config(1)
    })
    .unwrap();
    assert_eq!(pool.memory_allocations(), 0, "allocated on the first job");
    let hash = pool.hash(&pw("pw")).await.unwrap();
    for _ in 0..10 {
        pool.verify(&pw("pw"), vec![hash.clone()]).await.unwrap();
        pool.verify_dummy(&pw("pw")).await.unwrap();
    }
    // A weaker stored hash fits in the same memory.
    let weak = self::pool(1).hash(&pw("pw")).await.unwrap();
    pool.verify(&pw("pw"), vec![weak]).await.unwrap();
    assert_eq!(pool.jobs_run(), 22);
    assert_eq!(pool.memory_allocations(), 1, "one buffer for 22 jobs");
    // A stronger stored hash (within the caps) grows the worker's buffer once; it is kept,
    // so more of them allocate nothing (a buffer per job would be kept by the C allocator's
    // arenas anyway: see `Memory`).
    let strong = HashingPool::new(HashingConfig {
        params: Argon2Params {
            m_cost: 128,
            t_cost: 1,
            p_cost: 1,
        },
        ..config(1)
    })
    .unwrap()
    .hash(&pw("pw"))
    .await
    .unwrap();
    for _ in 0..5 {
        let out = pool.verify(&pw("pw"), vec![strong.clone()]).await.unwrap();
        assert_eq!(out.matched, Some(0));
        let out = pool
            .verify(&pw("wrong"), vec![strong.clone()])
            .await
            .unwrap();
        assert_eq!(out.matched, None);
    }
    assert_eq!(pool.memory_allocations(), 2);
    pool.verify(&pw("pw"), vec![hash]).await.unwrap();
    assert_eq!(pool.memory_allocations(), 2);
}

#[test]
fn comparison_is_constant_time() {
    // The comparison yields a `subtle::Choice`, not a `bool` from `==` (which may stop at the
    // first differing byte).
    let yes: subtle::Choice = engine::outputs_match(b"abcd", b"abcd");
    let no: subtle::Choice = engine::outputs_match(b"abcd", b"abce");
    let short: subtle::Choice = engine::outputs_match(b"abc", b"abcd");
    assert!(bool::from(yes));
    assert!(!bool::from(no));
    assert!(!bool::from(short));
}

// Admission, the queue and the workers.
mod admission;
