//! What a sign-in costs, against the cost of the primitives it is made of.
//!
//! - `sign_in/argon2_verify_direct` is the baseline: one argon2id verification with the
//!   default parameters, called directly on the bench thread.
//! - `sign_in/authorize_memory` is the whole `Authenticator::authorize` path on the memory
//!   store: lookup, lockout bookkeeping, the same verification on a blocking thread through
//!   the bounded pool, and minting an HS256 token. The ratio to the baseline is the overhead
//!   of everything that is not argon2.
//! - `token/*`: verifying a token with each algorithm, with HS256 as the baseline.
//!
//! Run: `cargo bench --bench authorize`. Results: `benches/README.md`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // bench code

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::PasswordVerifier as _;
use argon2::password_hash::phc::PasswordHash as Phc;
use authcore::memory::MemoryStore;
use authcore::secrecy::{ExposeSecret, SecretSlice};
use authcore::{
    Authenticator, CreateUser, HashingConfig, Key, KeyRing, Password, Role, TokenConfig,
    TokenIssuer, Ttl, User, UserStore, normalize_username,
};
use criterion::{Criterion, criterion_group, criterion_main};
use time::OffsetDateTime;

const ED25519_PEM: &[u8] = include_bytes!("../crates/authcore-core/testdata/ed25519.pem");
const P256_PEM: &[u8] = include_bytes!("../crates/authcore-core/testdata/p256.pem");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
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
        role: Role::new(Role::ADMIN),
    }))
    .unwrap();
    let user: User = rt
        .block_on(store.find_by_username(&normalize_username("bench@example.org")))
        .unwrap()
        .unwrap();
    let phc_text = user.passwords()[0].hash.expose_phc().to_owned();

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

fn tokens(c: &mut Criterion) {
    let user = User {
        uid: authcore::UserId::from(1),
        email: "bench@example.org".into(),
        name: "Bench".into(),
        role: Role::new(Role::ADMIN),
        status: authcore::UserStatus::Active,
        credentials: authcore::Credentials::External,
    };
    let now = OffsetDateTime::now_utc();
    let mut group = c.benchmark_group("token");
    for (name, key) in [
        (
            "verify_hs256",
            Key::hs256("k", &SecretSlice::from(vec![1u8; 32])).unwrap(),
        ),
        (
            "verify_eddsa",
            Key::from_private_pem("k", ED25519_PEM).unwrap(),
        ),
        (
            "verify_es256",
            Key::from_private_pem("k", P256_PEM).unwrap(),
        ),
    ] {
        let issuer = TokenIssuer::new(KeyRing::new(key).unwrap(), TokenConfig::default()).unwrap();
        let token = issuer.mint(&user, now, Ttl::DEFAULT).unwrap().token;
        group.bench_function(name, |b| b.iter(|| issuer.verify(&token, now).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, sign_in, tokens);
criterion_main!(benches);
