//! Users brought over with a hash from another system sign in, and their first sign-in
//! replaces that hash by argon2id (the memory store and SQLite, through the facade).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures are panics

use std::sync::Arc;

use authcore::memory::MemoryStore;
use authcore::sql::SqlStore;
use authcore::{
    Authenticator, HashFormat, NewUser, Password, PasswordHash, Role, StoredPassword, Ttl,
    UserAdmin, UserStatus, time::OffsetDateTime,
};
use authcore_testkit::fixtures::{fast_hashing, test_keys};

/// One cheap vector per format, made by the reference implementations (see
/// crates/authcore-core/testdata/legacy_hash_vectors.json).
const VECTORS: [(&str, &str); 8] = [
    (
        "correct horse",
        "$2b$04$W6oSqw3GmSlQeYN37xpeCuf3grDHUYO7LHDRKauBKyZ.m/s8cNU.G",
    ),
    (
        "correct horse",
        "$pbkdf2-sha256$i=1000,l=32$8pmS4ZaiHM7P0dRVeFOcTg$vj4VbJlwwgl/MyV6LcEhITHcf6JIxjqE+1gRnEe5iO8",
    ),
    (
        "correct horse",
        "$pbkdf2-sha256$1000$Y.w9R4iREiLk/D8nhHCOsQ$T35RocIoVWevi32qy6Gp3ACTx8bfldsBGdv1zDS1a2g",
    ),
    (
        "correct horse",
        "pbkdf2_sha256$1000$7akTvzMu8KosVXY27y9NF1$JSbSQjrTXpayHOFCcvNShTEhxlRD8FIsB0ILPfql8KY=",
    ),
    (
        "correct horse",
        "$scrypt$ln=4,r=8,p=1$bg3BOKcUAgDgnBOi1PofYw$dv+jwXoc7oBMT0C2CWhzHRFgr2zYUjOrK2PaF9cjeTg",
    ),
    (
        "correct horse",
        "$5$pKM5PeUDlwKJCpjt$GLYgqBxsLb9teY6Gyz9VAkOburFsFsCKjWIGHZltxt5",
    ),
    (
        "correct horse",
        "$6$xi6u44.QfsZjuyBd$vElEDD72jXWTaRM3rA.9r.XCaWcZphCUFO76nzznFrolM0GVvmDfX0Asm/rtOQvFNHIEGbAawYLsdoLxW08o60",
    ),
    (
        "correct horse",
        "$y$j75$GhXr7W2/KnM1EJuieqz2P1$iQ8DHqSEDV3gEzUv0VJvo6xsj4Hrf2Pr3s6y/NRgnE9",
    ),
];

fn auth(store: Arc<dyn UserAdmin>, lockout: Arc<dyn authcore::LockoutStore>) -> Authenticator {
    Authenticator::builder()
        .store(store)
        .lockout_store(lockout)
        .hashing(fast_hashing())
        .keys(test_keys().unwrap())
        .build()
        .unwrap()
}

async fn seed(store: &dyn UserAdmin) {
    for (i, (_, hash)) in VECTORS.iter().enumerate() {
        store
            .create_user(NewUser {
                email: format!("user{i}@example.org"),
                name: Some(format!("User {i}")),
                role: Role::DB_VIEWER,
                status: UserStatus::Active,
                passwords: vec![StoredPassword {
                    hash: PasswordHash::new(*hash),
                    issued_at: OffsetDateTime::now_utc(),
                }],
            })
            .await
            .unwrap();
    }
}

/// Signs every user in: a wrong password fails and changes nothing, the right one succeeds and
/// leaves exactly one argon2id hash with the original issue date; a second sign-in verifies
/// that one.
async fn sign_in_upgrades_every_format(store: Arc<dyn UserAdmin>, auth: &Authenticator) {
    for (i, (password, hash)) in VECTORS.iter().enumerate() {
        let email = format!("user{i}@example.org");
        let format = HashFormat::detect(hash).unwrap();
        let before = store.find_by_username(&email).await.unwrap().unwrap();
        let issued_at = before.passwords()[0].issued_at;

        let wrong = Password::from("not it".to_owned());
        assert!(auth.authorize(&email, &wrong, Ttl::DEFAULT).await.is_err());
        let same = store.find_by_username(&email).await.unwrap().unwrap();
        assert_eq!(same.passwords()[0].hash.expose_phc(), *hash, "{format}");

        let right = Password::from((*password).to_owned());
        auth.authorize(&email, &right, Ttl::DEFAULT)
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let after = store.find_by_username(&email).await.unwrap().unwrap();
        assert_eq!(after.passwords().len(), 1, "{format}");
        let stored = &after.passwords()[0];
        assert!(
            stored.hash.expose_phc().starts_with("$argon2id$v=19$"),
            "{format} not upgraded"
        );
        assert_eq!(stored.issued_at, issued_at, "{format}: issue date kept");
        auth.authorize(&email, &right, Ttl::DEFAULT)
            .await
            .unwrap_or_else(|e| panic!("{format} after upgrade: {e}"));
    }
}

#[tokio::test]
async fn memory_store_upgrades_legacy_hashes_at_first_sign_in() {
    let store = Arc::new(MemoryStore::new());
    seed(store.as_ref()).await;
    let auth = auth(store.clone(), store.clone());
    sign_in_upgrades_every_format(store, &auth).await;
}

/// On a SQLite file, after the upgrades no byte of any legacy hash is left in the database
/// files (the main file and its write-ahead log).
#[tokio::test]
async fn sqlite_upgrades_legacy_hashes_and_keeps_no_copy() {
    let dir = std::env::temp_dir().join(format!("authcore-legacy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("users.db").display());
    let store = Arc::new(SqlStore::connect(&url).await.unwrap());
    seed(store.as_ref()).await;
    let auth = auth(store.clone(), store.clone());
    sign_in_upgrades_every_format(store.clone(), &auth).await;
    drop(auth);
    store.close().await;

    let mut contents = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        contents.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for (_, hash) in VECTORS {
        // The hash's last field: the part that an offline attack needs.
        let tail = hash.rsplit('$').next().unwrap();
        assert!(
            !contents.windows(tail.len()).any(|w| w == tail.as_bytes()),
            "a copy of {hash} is left in the SQLite files"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
