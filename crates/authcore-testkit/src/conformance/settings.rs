//! The settings store: named values, LDAP mappings, the version every change advances, the
//! seed that writes only what is absent; atomic under concurrent use, and two authenticators
//! on one store see each other's changes.
//!
//! Every case uses names of its own (values, mapping names, the seed's anchor), so cases run
//! concurrently on one shared database; versions are compared as "advanced", never as
//! absolute numbers.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
// Test support: a failed expectation is a panic, exactly as in `assert!`.

use std::sync::Arc;

use authcore_core::{
    AuthPolicy, Authenticator, CreateUser, LdapMappingUpdate, LockoutPolicy, LockoutStore,
    NewLdapMapping, PolicySection, Role, SettingsSeed, SettingsStore, Ttl, UserAdmin,
};
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::ManualClock;
use crate::fixtures::{fast_hashing, password, test_keys, unique_email};

/// Runs every settings case on `store`.
pub async fn run_settings_suite(store: Arc<dyn SettingsStore>) {
    values_are_written_and_loaded(Arc::clone(&store)).await;
    every_change_advances_the_version(Arc::clone(&store)).await;
    seed_writes_only_what_is_absent(Arc::clone(&store)).await;
    mappings_crud(Arc::clone(&store)).await;
    concurrent_writes_all_stand(Arc::clone(&store), 16).await;
    concurrent_creates_of_one_name_one_wins(Arc::clone(&store), 16).await;
    concurrent_seeds_create_the_mappings_once(store, 8).await;
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn new_mapping(name: &str) -> NewLdapMapping {
    NewLdapMapping {
        name: name.to_owned(),
        dn: format!("cn={name},ou=groups,dc=example,dc=org"),
        role: Role::DB_VIEWER,
        email: None,
        email_alerts: true,
    }
}

/// Written values are loaded back as written (strings, numbers, objects, `null`); writing
/// one name leaves the others.
pub async fn values_are_written_and_loaded(store: Arc<dyn SettingsStore>) {
    let (a, b) = (unique("a"), unique("b"));
    let obj = json!({"uris": ["ldap://x:389"], "nested": {"n": 1}, "s": "é \"q\""});
    let after = store
        .write(vec![(a.clone(), json!(7)), (b.clone(), obj.clone())])
        .await
        .unwrap();
    assert_eq!(after.values.get(&a), Some(&json!(7)));
    assert_eq!(after.values.get(&b), Some(&obj));
    store.write(vec![(a.clone(), Value::Null)]).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.values.get(&a), Some(&Value::Null), "null is a value");
    assert_eq!(loaded.values.get(&b), Some(&obj), "the other name stays");
    assert!(
        !format!("{loaded:?}").contains("ldap://x"),
        "Debug prints names only"
    );
}

/// Writes, mapping creations, updates and deletions each advance the version; reads and a
/// failed change do not.
pub async fn every_change_advances_the_version(store: Arc<dyn SettingsStore>) {
    let v0 = store.version().await.unwrap();
    let snap = store.write(vec![(unique("v"), json!(1))]).await.unwrap();
    assert!(snap.version > v0);
    let v1 = store.version().await.unwrap();
    assert!(v1 >= snap.version);
    let m = store
        .create_mapping(new_mapping(&unique("m")))
        .await
        .unwrap();
    let v2 = store.version().await.unwrap();
    assert!(v2 > v1);
    store
        .update_mapping(
            m.uid,
            LdapMappingUpdate {
                role: Some(Role::ADMIN),
                ..LdapMappingUpdate::default()
            },
        )
        .await
        .unwrap();
    let v3 = store.version().await.unwrap();
    assert!(v3 > v2);
    assert!(store.delete_mapping(m.uid).await.unwrap());
    let v4 = store.version().await.unwrap();
    assert!(v4 > v3);
    let loaded = store.load().await.unwrap();
    assert!(loaded.version >= v4);
}

/// A seed writes the names the store has no value for, and the mappings only when it writes
/// their anchor; a second seed writes nothing and duplicates nothing.
pub async fn seed_writes_only_what_is_absent(store: Arc<dyn SettingsStore>) {
    let (kept, fresh, anchor) = (unique("kept"), unique("fresh"), unique("anchor"));
    store
        .write(vec![(kept.clone(), json!("admin's"))])
        .await
        .unwrap();
    let names = [unique("seeded"), unique("seeded")];
    let seed = SettingsSeed {
        values: vec![
            (kept.clone(), json!("flag's")),
            (fresh.clone(), json!(3)),
            (anchor.clone(), json!({"uris": []})),
        ],
        mappings: names.iter().map(|n| new_mapping(n)).collect(),
        mappings_with: anchor.clone(),
    };
    let v0 = store.version().await.unwrap();
    let mut written = store.seed(seed.clone()).await.unwrap();
    written.sort();
    let mut expected = vec![fresh.clone(), anchor.clone()];
    expected.sort();
    assert_eq!(written, expected);
    assert!(store.version().await.unwrap() > v0);
    let loaded = store.load().await.unwrap();
    assert_eq!(
        loaded.values.get(&kept),
        Some(&json!("admin's")),
        "a stored value wins"
    );
    assert_eq!(loaded.values.get(&fresh), Some(&json!(3)));
    let seeded =
        |all: &[authcore_core::LdapMapping]| all.iter().filter(|m| names.contains(&m.name)).count();
    assert_eq!(seeded(&store.list_mappings().await.unwrap()), 2);

    let v1 = store.version().await.unwrap();
    assert!(store.seed(seed).await.unwrap().is_empty());
    assert_eq!(
        store.version().await.unwrap(),
        v1,
        "nothing written, no new version"
    );
    assert_eq!(seeded(&store.list_mappings().await.unwrap()), 2);

    // Mappings without their anchor being written are not created.
    let other = unique("other");
    let seed = SettingsSeed {
        values: vec![(anchor.clone(), json!(null))],
        mappings: vec![new_mapping(&other)],
        mappings_with: anchor,
    };
    assert!(store.seed(seed).await.unwrap().is_empty());
    assert!(
        !store
            .list_mappings()
            .await
            .unwrap()
            .iter()
            .any(|m| m.name == other)
    );

    // A seeded mapping whose name is taken: nothing of that seed is written.
    let (anchor2, value2) = (unique("anchor"), unique("value"));
    let seed = SettingsSeed {
        values: vec![(value2.clone(), json!(1)), (anchor2.clone(), json!(1))],
        mappings: vec![new_mapping(&names[0])],
        mappings_with: anchor2,
    };
    let err = store.seed(seed).await.unwrap_err();
    assert_eq!(err.error_code(), "name_already_exists");
    assert!(!store.load().await.unwrap().values.contains_key(&value2));
}

/// Create, read, list, partial update, unique names, not-found, delete; uids never reused.
pub async fn mappings_crud(store: Arc<dyn SettingsStore>) {
    let (n1, n2) = (unique("crud"), unique("crud"));
    let mut new = new_mapping(&n1);
    new.email = Some("ops@example.org".into());
    new.email_alerts = false;
    let a = store.create_mapping(new.clone()).await.unwrap();
    assert_eq!(
        (
            a.name.as_str(),
            a.dn.as_str(),
            &a.role,
            a.email.as_deref(),
            a.email_alerts
        ),
        (
            n1.as_str(),
            new.dn.as_str(),
            &Role::DB_VIEWER,
            Some("ops@example.org"),
            false
        )
    );
    let b = store.create_mapping(new_mapping(&n2)).await.unwrap();
    assert!(b.uid > a.uid, "uids increase");
    assert_eq!(store.mapping(a.uid).await.unwrap(), Some(a.clone()));
    let all = store.list_mappings().await.unwrap();
    let pos = |uid| all.iter().position(|m| m.uid == uid).unwrap();
    assert!(pos(a.uid) < pos(b.uid), "listed by uid");

    let err = store.create_mapping(new_mapping(&n1)).await.unwrap_err();
    assert_eq!(err.error_code(), "name_already_exists");

    let renamed = store
        .update_mapping(
            a.uid,
            LdapMappingUpdate {
                role: Some(Role::ADMIN),
                email: Some(None),
                ..LdapMappingUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.role, Role::ADMIN);
    assert_eq!(renamed.email, None);
    assert_eq!(
        (renamed.name.as_str(), renamed.dn.as_str()),
        (n1.as_str(), a.dn.as_str())
    );
    assert_eq!(store.mapping(a.uid).await.unwrap(), Some(renamed));

    let clash = LdapMappingUpdate {
        name: Some(n2.clone()),
        ..LdapMappingUpdate::default()
    };
    let err = store.update_mapping(a.uid, clash).await.unwrap_err();
    assert_eq!(err.error_code(), "name_already_exists");
    let same = LdapMappingUpdate {
        name: Some(n1.clone()),
        ..LdapMappingUpdate::default()
    };
    store.update_mapping(a.uid, same).await.unwrap();

    assert!(store.delete_mapping(a.uid).await.unwrap());
    assert!(!store.delete_mapping(a.uid).await.unwrap());
    assert_eq!(store.mapping(a.uid).await.unwrap(), None);
    let err = store
        .update_mapping(a.uid, LdapMappingUpdate::default())
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "ldap_mapping_not_exist");
    let c = store.create_mapping(new_mapping(&n1)).await.unwrap();
    assert!(c.uid > b.uid, "a deleted uid is not reused");
    assert!(store.delete_mapping(b.uid).await.unwrap());
    assert!(store.delete_mapping(c.uid).await.unwrap());
}

/// `n` writes of different names released at once: every one stands, and the version
/// advanced at least `n` times.
pub async fn concurrent_writes_all_stand(store: Arc<dyn SettingsStore>, n: usize) {
    let v0 = store.version().await.unwrap();
    let barrier = Arc::new(Barrier::new(n));
    let names: Vec<String> = (0..n).map(|_| unique("w")).collect();
    let tasks: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (store, barrier, name) = (Arc::clone(&store), Arc::clone(&barrier), name.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.write(vec![(name, json!(i))]).await.unwrap()
            })
        })
        .collect();
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await.unwrap().version);
    }
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), n, "each write got a version of its own");
    let loaded = store.load().await.unwrap();
    for (i, name) in names.iter().enumerate() {
        assert_eq!(loaded.values.get(name), Some(&json!(i)));
    }
    assert!(loaded.version >= v0 + u64::try_from(n).unwrap());
}

/// `n` creations of one name released at once: exactly one succeeds, the others are
/// `name_already_exists`.
pub async fn concurrent_creates_of_one_name_one_wins(store: Arc<dyn SettingsStore>, n: usize) {
    let name = unique("race");
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (store, barrier, name) = (Arc::clone(&store), Arc::clone(&barrier), name.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.create_mapping(new_mapping(&name)).await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.error_code(), "name_already_exists", "{e}"),
        }
    }
    assert_eq!(ok, 1);
    let all = store.list_mappings().await.unwrap();
    assert_eq!(all.iter().filter(|m| m.name == name).count(), 1);
}

/// `n` identical seeds released at once (processes starting together): the mappings are
/// created once.
pub async fn concurrent_seeds_create_the_mappings_once(store: Arc<dyn SettingsStore>, n: usize) {
    let anchor = unique("anchor");
    let names = [unique("seed"), unique("seed")];
    let seed = SettingsSeed {
        values: vec![(anchor.clone(), json!({"uris": ["ldap://x"]}))],
        mappings: names.iter().map(|n| new_mapping(n)).collect(),
        mappings_with: anchor,
    };
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (store, barrier, seed) = (Arc::clone(&store), Arc::clone(&barrier), seed.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.seed(seed).await
            })
        })
        .collect();
    let mut writers = 0;
    for t in tasks {
        // A seed that lost the race may see the other's mappings' names taken: that is
        // "nothing written" too.
        match t.await.unwrap() {
            Ok(w) if !w.is_empty() => writers += 1,
            Ok(_) => {}
            Err(e) => assert_eq!(e.error_code(), "name_already_exists", "{e}"),
        }
    }
    assert_eq!(writers, 1, "one seed wrote");
    let all = store.list_mappings().await.unwrap();
    for name in &names {
        assert_eq!(all.iter().filter(|m| &m.name == name).count(), 1, "{name}");
    }
}

/// Two authenticators on one settings store (two processes on one database): a policy
/// change made through one is in force in the other after its refresh, and a sign-in there
/// follows it (lockout threshold 1 locks at the first wrong password). The builder's policy
/// only fills fields the store has no value for.
///
/// `settings_a` and `settings_b` are two handles on one store (two connection pools on one
/// database: two processes). Needs a store whose policy fields no other test changes (a fresh
/// store or database).
pub async fn two_authenticators_share_the_policy(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
    settings_a: Arc<dyn SettingsStore>,
    settings_b: Arc<dyn SettingsStore>,
) {
    let clock = ManualClock::starting_now();
    let build = |policy: AuthPolicy, settings: &Arc<dyn SettingsStore>| {
        Authenticator::builder()
            .store(users.clone())
            .lockout_store(Arc::clone(&lockout))
            .settings_store(Arc::clone(settings))
            .hashing(fast_hashing())
            .keys(test_keys().unwrap())
            .clock(Arc::new(clock.clone()))
            .policy(policy)
            .build()
            .unwrap()
    };
    let a = build(AuthPolicy::default(), &settings_a);
    let b = build(
        AuthPolicy {
            lockout: LockoutPolicy {
                threshold: 9,
                ..LockoutPolicy::DEFAULT
            },
            ..AuthPolicy::default()
        },
        &settings_b,
    );
    a.seed_settings(None, Vec::new()).await.unwrap();
    b.seed_settings(None, Vec::new()).await.unwrap();
    assert_eq!(b.policy().lockout.threshold, 5, "the first seed stands");

    let email = unique_email("shared");
    a.create_user_unchecked(CreateUser {
        email: email.clone(),
        password: password("Right-Horse-7"),
        name: None,
        role: Role::DB_VIEWER,
    })
    .await
    .unwrap();

    let changes = json!({"login_lockout_threshold": 1, "login_lockout_duration": 60});
    let Value::Object(changes) = changes else {
        unreachable!()
    };
    let now = a
        .update_policy_settings(PolicySection::Policy, changes)
        .await
        .unwrap();
    assert_eq!(now["login_lockout_threshold"], json!(1));
    assert_eq!(
        now["login_lockout_counter_reset_after"],
        json!(900),
        "untouched field kept"
    );
    assert_eq!(
        a.policy().lockout.threshold,
        1,
        "in force at once where it was made"
    );
    assert!(b.refresh_settings().await.unwrap(), "b sees a new version");
    assert_eq!(b.policy().lockout.threshold, 1);
    assert_eq!(b.policy().lockout.duration_secs, 60);
    assert!(!b.refresh_settings().await.unwrap(), "nothing new");

    let wrong = b.authorize(&email, &password("wrong"), Ttl::DEFAULT).await;
    assert_eq!(wrong.unwrap_err().error_code(), "unauthorized");
    let right = b
        .authorize(&email, &password("Right-Horse-7"), Ttl::DEFAULT)
        .await;
    assert!(
        right.is_err(),
        "locked after one failure: threshold 1 is in force in b"
    );
}
