//! What a sign-in costs, against the cost of the primitives it is made of.
//!
//! - `sign_in/argon2_verify_direct` is the baseline: one argon2id verification with the
//!   default parameters, called directly on the bench thread.
//! - `sign_in/authorize_memory` is the whole `Authenticator::authorize` path on the memory
//!   store: lookup, lockout bookkeeping, the same verification on a blocking thread through
//!   the bounded pool, and minting an HS256 token. The ratio to the baseline is the overhead
//!   of everything that is not argon2.
//! - `token/<alg>/verify_path` is what every protected request costs: the `Authorization`
//!   header parsed as the extractors do, the key chosen from the ring by `kid` with its
//!   algorithm pinned, the claims checked; its baseline `token/<alg>/bare_decode` is a bare
//!   `jsonwebtoken::decode` with the default validation, for HS256, EdDSA and ES256.
//! - `token/<alg>/mint` is what minting costs (`TokenIssuer::mint`: claims built, a fresh
//!   `jti`, the header encoded once per key, the signature); its baseline
//!   `token/<alg>/bare_encode` is a bare `jsonwebtoken::encode` of the same claims with a
//!   header built per call.
//!
//! Before criterion measures the two `sign_in` cases one after the other, an interleaved pass
//! (`SIGN_IN_ROUNDS` rounds, default 60; each round one of each, the order alternating)
//! prints the median of the per-round ratios authorize / verify_password: on a machine whose
//! speed drifts (a shared VM), two cases measured a minute apart see different machines,
//! while the two halves of a round see the same one. A line `sign_in_ratio {json}` carries
//! the figures for `scripts/bench-summary`.
//!
//! Run: `cargo bench --bench authorize` (or `scripts/bench`, which runs it with the HTTP
//! flood). Results: `BENCHMARKS.md`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // bench code

mod support;

use std::sync::Arc;
use std::time::Instant;

use argon2::Argon2;
use argon2::password_hash::PasswordVerifier as _;
use argon2::password_hash::phc::PasswordHash as Phc;
use authcore::http::{Authorization, parse_authorization};
use authcore::memory::MemoryStore;
use authcore::secrecy::{ExposeSecret, SecretSlice};
use authcore::{
    Authenticator, CreateUser, HashingConfig, JwkSet, Key, KeyRing, Password, Role, Ttl, User,
    UserStore, normalize_username,
};
use criterion::{Criterion, criterion_group, criterion_main};
use support::median;

const ED25519_PEM: &[u8] = include_bytes!("../crates/authcore-core/testdata/ed25519.pem");
const P256_PEM: &[u8] = include_bytes!("../crates/authcore-core/testdata/p256.pem");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The interleaved pass: each round times one direct verification and one `authorize`, in
/// alternating order; prints medians, the ratio of the medians and the median of the
/// per-round ratios.
fn interleaved(direct: &dyn Fn(), authorize: &dyn Fn()) {
    let rounds: usize = std::env::var("SIGN_IN_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(60);
    let time = |f: &dyn Fn()| {
        let started = Instant::now();
        f();
        started.elapsed().as_secs_f64() * 1000.0
    };
    direct();
    authorize(); // warm up: the worker's argon2 memory, the runtime
    let (mut d, mut a) = (Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        if round % 2 == 0 {
            d.push(time(direct));
            a.push(time(authorize));
        } else {
            a.push(time(authorize));
            d.push(time(direct));
        }
    }
    let mut per_round: Vec<f64> = a.iter().zip(&d).map(|(x, y)| x / y).collect();
    let ratio_per_round = median(&mut per_round);
    let (md, ma) = (median(&mut d.clone()), median(&mut a.clone()));
    println!(
        "\ninterleaved sign-in, {rounds} rounds: verify_password median {md:.2} ms, authorize \
         median {ma:.2} ms, ratio of medians {:.3}, median of per-round ratios \
         {ratio_per_round:.3}",
        ma / md
    );
    println!(
        "sign_in_ratio {{\"rounds\":{rounds},\"verify_ms\":{md:.4},\"authorize_ms\":{ma:.4},\
         \"ratio_of_medians\":{:.4},\"median_of_ratios\":{ratio_per_round:.4}}}",
        ma / md
    );
}

fn sign_in(c: &mut Criterion) {
    let rt = runtime();
    let store = Arc::new(MemoryStore::new());
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .hashing(HashingConfig::default())
        .keys(KeyRing::new(Key::hs256("b", &SecretSlice::from(vec![1u8; 32])).unwrap()).unwrap())
        .build()
        .unwrap();
    let pw = Password::from("Correct-Horse-9".to_owned());
    rt.block_on(auth.create_user_unchecked(CreateUser {
        email: "bench@example.org".into(),
        password: pw.clone(),
        name: None,
        role: Role::ADMIN,
    }))
    .unwrap();
    let user: User = rt
        .block_on(store.find_by_username(&normalize_username("bench@example.org")))
        .unwrap()
        .unwrap();
    let phc_text = user.passwords()[0].hash.expose_phc().to_owned();
    let direct = || {
        let phc = Phc::new(&phc_text).unwrap();
        Argon2::default()
            .verify_password(pw.expose_secret().as_bytes(), &phc)
            .unwrap();
    };
    let authorize = || {
        rt.block_on(auth.authorize("bench@example.org", &pw, Ttl::DEFAULT))
            .unwrap();
    };
    interleaved(&direct, &authorize);

    let mut group = c.benchmark_group("sign_in");
    group.sample_size(20);
    group.bench_function("argon2_verify_direct", |b| {
        let phc = Phc::new(&phc_text).unwrap();
        b.iter(|| {
            Argon2::default()
                .verify_password(pw.expose_secret().as_bytes(), &phc)
                .unwrap();
        });
    });
    group.bench_function("authorize_memory", |b| {
        b.to_async(&rt).iter(|| async {
            auth.authorize("bench@example.org", &pw, Ttl::DEFAULT)
                .await
                .unwrap()
        });
    });
    group.finish();
}

/// An authenticator on the memory store with one user and the given signing key, and a token
/// it issued (cheap hashing: only the token path is measured here).
fn token_fixture(rt: &tokio::runtime::Runtime, key: Key) -> (Authenticator, String, JwkSet) {
    let ring = KeyRing::new(key).unwrap();
    let jwks = ring.jwks();
    let store = Arc::new(MemoryStore::new());
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store)
        .hashing(HashingConfig::insecure_fast())
        .keys(ring)
        .build()
        .unwrap();
    let pw = Password::from("Correct-Horse-9".to_owned());
    rt.block_on(auth.create_user_unchecked(CreateUser {
        email: "bench@example.org".into(),
        password: pw.clone(),
        name: None,
        role: Role::ADMIN,
    }))
    .unwrap();
    let token = rt
        .block_on(auth.authorize("bench@example.org", &pw, Ttl::DEFAULT))
        .unwrap()
        .token;
    (auth, token, jwks)
}

fn tokens(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("token");
    let secret = vec![7u8; 32];
    for (name, key, alg) in [
        (
            "hs256",
            Key::hs256("k", &SecretSlice::from(secret.clone())).unwrap(),
            jsonwebtoken::Algorithm::HS256,
        ),
        (
            "eddsa",
            Key::from_private_pem("k", ED25519_PEM).unwrap(),
            jsonwebtoken::Algorithm::EdDSA,
        ),
        (
            "es256",
            Key::from_private_pem("k", P256_PEM).unwrap(),
            jsonwebtoken::Algorithm::ES256,
        ),
    ] {
        let (auth, token, jwks) = token_fixture(&rt, key);
        let decoding = match alg {
            jsonwebtoken::Algorithm::HS256 => jsonwebtoken::DecodingKey::from_secret(&secret),
            _ => jsonwebtoken::DecodingKey::from_jwk(&jwks.keys[0]).unwrap(),
        };
        // Baseline: a bare decode with jsonwebtoken's default validation (signature, exp).
        let validation = jsonwebtoken::Validation::new(alg);
        group.bench_function(format!("{name}/bare_decode"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).unwrap()
            });
        });
        // The path of every protected request: the Authorization header parsed as the
        // extractors do, the key picked from the ring by kid with its algorithm pinned, the
        // claims checked (iss, nbf, exp with leeway).
        // Minting: the same claims (a fresh jti each time) encoded by the issuer vs a bare
        // `jsonwebtoken::encode` with a header built per call.
        let user = rt.block_on(auth.check_fresh(&token)).unwrap().user;
        let claims = auth.verify_token(&token).unwrap();
        let encoding = match alg {
            jsonwebtoken::Algorithm::HS256 => jsonwebtoken::EncodingKey::from_secret(&secret),
            jsonwebtoken::Algorithm::EdDSA => {
                jsonwebtoken::EncodingKey::from_ed_pem(ED25519_PEM).unwrap()
            }
            _ => jsonwebtoken::EncodingKey::from_ec_pem(P256_PEM).unwrap(),
        };
        group.bench_function(format!("{name}/bare_encode"), |b| {
            b.iter(|| {
                let mut header = jsonwebtoken::Header::new(alg);
                header.kid = Some("k".to_owned());
                jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
            });
        });
        let now = time::OffsetDateTime::now_utc();
        group.bench_function(format!("{name}/mint"), |b| {
            b.iter(|| auth.tokens().mint(&user, now, Ttl::DEFAULT).unwrap());
        });
        let header = format!("Bearer {token}");
        group.bench_function(format!("{name}/verify_path"), |b| {
            b.iter(|| match parse_authorization(header.as_bytes()).unwrap() {
                Authorization::Token(t) => auth.verify_token(&t).unwrap(),
                Authorization::Basic { .. } => unreachable!(),
            });
        });
    }
    group.finish();
}

criterion_group!(benches, sign_in, tokens);
criterion_main!(benches);
