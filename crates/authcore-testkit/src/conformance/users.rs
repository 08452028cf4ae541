//! The [`UserAdmin`] suite: user administration and lookup.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
// Test support: a failed expectation is a panic, exactly as in `assert!`.

use std::sync::Arc;

use authcore_core::{
    Credentials, Error, NewUser, Role, StoredPassword, User, UserAdmin, UserId, UserStatus,
    UserUpdate, normalize_username,
};

use super::{fake_hash, stored, t};
use crate::fixtures::unique_email;

/// Runs every [`UserAdmin`] case.
pub async fn run_user_admin_suite(store: Arc<dyn UserAdmin>) {
    create_and_find(&*store).await;
    usernames_are_case_insensitive(&*store).await;
    duplicate_email_and_name_are_refused(&*store).await;
    several_passwords_keep_their_issue_dates(&*store).await;
    remove_password_never_removes_the_last(&*store).await;
    set_passwords_replaces_the_list(&*store).await;
    replace_hash_writes_back(&*store).await;
    update_user_changes_profile(&*store).await;
    delete_user_removes_it(&*store).await;
    list_users_is_ordered_by_uid(&*store).await;
    unknown_uids_are_not_found(&*store).await;
    counts_users_by_role(&*store).await;
    add_password_respects_the_cap(&*store).await;
    concurrent_additions_never_exceed_the_cap(store.clone()).await;
    super::run_name_suite(store).await;
}

async fn create(store: &dyn UserAdmin, email: &str, passwords: Vec<StoredPassword>) -> User {
    store
        .create_user(NewUser {
            email: email.to_owned(),
            name: Some(format!("name {email}")),
            role: Role::DB_VIEWER,
            status: UserStatus::Active,
            passwords,
        })
        .await
        .expect("create_user")
}

/// A created user is found by normalised username and by uid, with every field intact.
pub async fn create_and_find(store: &dyn UserAdmin) {
    let email = unique_email("find");
    let pw = stored(1, t(0));
    let user = create(store, &email, vec![pw.clone()]).await;
    assert_eq!(user.email, email);
    assert_eq!(user.name, Some(format!("name {email}")));
    assert_eq!(user.role.as_str(), Role::DB_VIEWER);
    assert_eq!(user.status, UserStatus::Active);
    assert!(user.uid.as_u64().is_some(), "local uids are integers");
    assert_eq!(user.credentials, Credentials::Passwords(vec![pw]));

    let by_name = store
        .find_by_username(&normalize_username(&email))
        .await
        .unwrap()
        .expect("found by username");
    assert_eq!(by_name, user);
    let by_uid = store
        .find_by_uid(&user.uid)
        .await
        .unwrap()
        .expect("found by uid");
    assert_eq!(by_uid, user);
    assert!(store.admin().is_some(), "admin() returns the store itself");
    let unknown = normalize_username(&unique_email("nobody"));
    assert_eq!(store.find_by_username(&unknown).await.unwrap(), None);
}

/// Lookups compare normalised usernames; the e-mail is kept as given.
pub async fn usernames_are_case_insensitive(store: &dyn UserAdmin) {
    let email = unique_email("Mixed.Case").replace("example.test", "Example.TEST");
    let user = create(store, &email, vec![stored(1, t(0))]).await;
    let found = store
        .find_by_username(&normalize_username(&email.to_uppercase()))
        .await
        .unwrap()
        .expect("found case-insensitively");
    assert_eq!(found.uid, user.uid);
    assert_eq!(found.email, email, "the e-mail keeps its case");
}

/// A second user with the same e-mail (in any case) or the same name is refused.
pub async fn duplicate_email_and_name_are_refused(store: &dyn UserAdmin) {
    let email = unique_email("dup");
    let first = create(store, &email, vec![stored(1, t(0))]).await;
    let err = store
        .create_user(NewUser {
            email: email.to_uppercase(),
            name: Some(format!("other {email}")),
            role: Role::DB_VIEWER,
            status: UserStatus::Active,
            passwords: vec![stored(2, t(0))],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmailAlreadyExists), "{err:?}");
    let err = store
        .create_user(NewUser {
            email: unique_email("dup2"),
            name: first.name.clone(),
            role: Role::DB_VIEWER,
            status: UserStatus::Active,
            passwords: vec![stored(3, t(0))],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NameAlreadyExists), "{err:?}");

    let other = create(store, &unique_email("dup3"), vec![stored(4, t(0))]).await;
    let err = store
        .update_user(
            &other.uid,
            UserUpdate {
                email: Some(email.clone()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmailAlreadyExists), "{err:?}");
    let err = store
        .update_user(
            &other.uid,
            UserUpdate {
                name: first.name.clone(),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NameAlreadyExists), "{err:?}");
}

/// A user holds several passwords, each with its own issue date.
pub async fn several_passwords_keep_their_issue_dates(store: &dyn UserAdmin) {
    let first = stored(1, t(0));
    let second = stored(2, t(86_400));
    let user = create(store, &unique_email("several"), vec![first.clone()]).await;
    store
        .add_password(&user.uid, second.clone(), 3)
        .await
        .unwrap();
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    let mut got = found.passwords().to_vec();
    got.sort_by_key(|p| p.issued_at);
    assert_eq!(got, vec![first, second]);
    assert_eq!(found.password_issue_date(), Some(t(86_400)));
}

/// Removing a password works while another remains; the last one cannot go.
pub async fn remove_password_never_removes_the_last(store: &dyn UserAdmin) {
    let a = stored(1, t(0));
    let b = stored(2, t(10));
    let user = create(store, &unique_email("remove"), vec![a.clone(), b.clone()]).await;
    store.remove_password(&user.uid, &a.hash).await.unwrap();
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.passwords(), std::slice::from_ref(&b));
    let err = store.remove_password(&user.uid, &b.hash).await.unwrap_err();
    assert!(matches!(err, Error::CannotDeleteLastPassword), "{err:?}");
    // A hash the user no longer holds is not found, whatever else remains.
    let err = store.remove_password(&user.uid, &a.hash).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.passwords().len(), 1);
}

/// `set_passwords` replaces the whole list.
pub async fn set_passwords_replaces_the_list(store: &dyn UserAdmin) {
    let user = create(
        store,
        &unique_email("set"),
        vec![stored(1, t(0)), stored(2, t(1))],
    )
    .await;
    let fresh = stored(3, t(100));
    store
        .set_passwords(&user.uid, vec![fresh.clone()])
        .await
        .unwrap();
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.passwords(), &[fresh]);
}

/// Re-hash on login writes the new hash back and keeps the issue date; a stale `old` is a
/// no-op.
pub async fn replace_hash_writes_back(store: &dyn UserAdmin) {
    let old = stored(1, t(5));
    let user = create(store, &unique_email("rehash"), vec![old.clone()]).await;
    let new = fake_hash(2);
    assert!(
        store
            .replace_hash(&user.uid, &old.hash, new.clone())
            .await
            .unwrap()
    );
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(
        found.passwords(),
        &[StoredPassword {
            hash: new,
            issued_at: t(5)
        }]
    );
    assert!(
        !store
            .replace_hash(&user.uid, &old.hash, fake_hash(3))
            .await
            .unwrap()
    );
}

/// Profile updates change only what they name.
pub async fn update_user_changes_profile(store: &dyn UserAdmin) {
    let user = create(store, &unique_email("update"), vec![stored(1, t(0))]).await;
    let new_email = unique_email("Updated");
    let updated = store
        .update_user(
            &user.uid,
            UserUpdate {
                email: Some(new_email.clone()),
                name: Some(format!("renamed {new_email}")),
                role: Some(Role::ADMIN),
                status: Some(UserStatus::Disabled),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.email, new_email);
    assert_eq!(updated.name, Some(format!("renamed {new_email}")));
    assert!(updated.role.is_admin());
    assert_eq!(updated.status, UserStatus::Disabled);
    assert_eq!(updated.passwords(), user.passwords());
    let again = store
        .find_by_username(&normalize_username(&new_email))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, updated);
    assert_eq!(
        store
            .find_by_username(&normalize_username(&user.email))
            .await
            .unwrap(),
        None
    );
    let same = store
        .update_user(&user.uid, UserUpdate::default())
        .await
        .unwrap();
    assert_eq!(same, updated);
}

/// A deleted user is gone; deleting again reports `false`; its uid is never handed out again.
pub async fn delete_user_removes_it(store: &dyn UserAdmin) {
    let user = create(store, &unique_email("delete"), vec![stored(1, t(0))]).await;
    assert!(store.delete_user(&user.uid).await.unwrap());
    assert_eq!(store.find_by_uid(&user.uid).await.unwrap(), None);
    assert_eq!(
        store
            .find_by_username(&normalize_username(&user.email))
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete_user(&user.uid).await.unwrap());
    // The e-mail is free again, and the uid is never reused (a token's `sub` is the uid):
    // the deleted user had the highest uid, which is the one a store would hand out again.
    let again = create(store, &user.email, vec![stored(2, t(0))]).await;
    assert!(
        again.uid.as_u64() > user.uid.as_u64(),
        "uid {} of a deleted user handed out again",
        user.uid
    );
    assert_eq!(store.find_by_uid(&user.uid).await.unwrap(), None);
}

/// `list_users` includes every user, ordered by uid.
pub async fn list_users_is_ordered_by_uid(store: &dyn UserAdmin) {
    let a = create(store, &unique_email("list-a"), vec![stored(1, t(0))]).await;
    let b = create(store, &unique_email("list-b"), vec![stored(2, t(0))]).await;
    let all = store.list_users().await.unwrap();
    let ids: Vec<u64> = all.iter().filter_map(|u| u.uid.as_u64()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "ordered by uid");
    assert!(all.contains(&a) && all.contains(&b));
    assert!(a.uid.as_u64() < b.uid.as_u64(), "uids increase");
}

/// Operations on a uid that does not exist answer `NotFound` (or `None`/`false`).
pub async fn unknown_uids_are_not_found(store: &dyn UserAdmin) {
    let ghost = UserId::new("987654321012");
    assert_eq!(store.find_by_uid(&ghost).await.unwrap(), None);
    assert_eq!(
        store
            .find_by_uid(&UserId::new("not-a-number"))
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store
            .update_user(
                &ghost,
                UserUpdate {
                    name: Some("x".into()),
                    ..UserUpdate::default()
                }
            )
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.set_passwords(&ghost, vec![stored(1, t(0))]).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.add_password(&ghost, stored(1, t(0)), 3).await,
        Err(Error::NotFound)
    ));
    assert!(!store.delete_user(&ghost).await.unwrap());
}

/// `count_with_role` counts exactly the users holding a role; `is_empty` is false once a user
/// exists.
pub async fn counts_users_by_role(store: &dyn UserAdmin) {
    let role = Role::new(format!("role-{}", uuid::Uuid::new_v4().simple()));
    assert_eq!(store.count_with_role(&role).await.unwrap(), 0);
    for tag in 0..2 {
        let user = create(store, &unique_email("count"), vec![stored(tag, t(0))]).await;
        store
            .update_user(
                &user.uid,
                UserUpdate {
                    role: Some(role.clone()),
                    ..UserUpdate::default()
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(store.count_with_role(&role).await.unwrap(), 2);
    assert!(!store.is_empty().await.unwrap());
}

/// `add_password` refuses a password beyond `max_passwords` with `TooManyPasswords` and
/// writes nothing; after a removal there is room again.
pub async fn add_password_respects_the_cap(store: &dyn UserAdmin) {
    let user = create(store, &unique_email("cap"), vec![stored(1, t(0))]).await;
    store
        .add_password(&user.uid, stored(2, t(1)), 3)
        .await
        .unwrap();
    store
        .add_password(&user.uid, stored(3, t(2)), 3)
        .await
        .unwrap();
    let extra = stored(4, t(3));
    let err = store
        .add_password(&user.uid, extra.clone(), 3)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooManyPasswords), "{err:?}");
    assert_eq!(err.error_code(), "too_many_passwords");
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.passwords().len(), 3);
    assert!(!found.passwords().contains(&extra));
    // A smaller cap than the list already held refuses too, and removes nothing.
    assert!(matches!(
        store.add_password(&user.uid, extra.clone(), 1).await,
        Err(Error::TooManyPasswords)
    ));
    store
        .remove_password(&user.uid, &found.passwords()[0].hash)
        .await
        .unwrap();
    store.add_password(&user.uid, extra, 3).await.unwrap();
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.passwords().len(), 3);
}

/// Sixteen additions released together by a barrier for a user holding one password with a
/// cap of 3: exactly two succeed, the rest are `TooManyPasswords`, the user holds 3.
pub async fn concurrent_additions_never_exceed_the_cap(store: Arc<dyn UserAdmin>) {
    const N: u32 = 16;
    let user = create(&*store, &unique_email("cap-race"), vec![stored(0, t(0))]).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(N as usize));
    let tasks: Vec<_> = (1..=N)
        .map(|tag| {
            let (store, barrier, uid) = (store.clone(), barrier.clone(), user.uid.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .add_password(&uid, stored(tag, t(i64::from(tag))), 3)
                    .await
            })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => added += 1,
            Err(Error::TooManyPasswords) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(added, 2, "one held + two added = the cap");
    let found = store.find_by_uid(&user.uid).await.unwrap().unwrap();
    assert_eq!(found.passwords().len(), 3);
}
