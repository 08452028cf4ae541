//! Display names: optional, never a copy of the e-mail, unique only among the names that are
//! set, and a clash decided atomically by the store.
//!
//! Why it matters: were a user's name their e-mail by default, every login name would be a
//! taken name, and any signed-in user could learn whether an e-mail has an account by renaming
//! themselves to it (409 `name_already_exists`).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
// Test support: a failed expectation is a panic, exactly as in `assert!`.

use std::sync::Arc;

use authcore_core::{
    CreateUser, Error, LockoutStore, NewUser, Role, Ttl, UidValue, UpdateUser, User, UserAdmin,
    UserId, UserStatus, UserUpdate,
};
use tokio::sync::Barrier;

use super::{stored, t};
use crate::ManualClock;
use crate::fixtures::{authenticator, password, unique_email};

/// How many writers race for one name.
pub const NAME_RACERS: usize = 16;

/// Runs every store-level name case (part of [`super::run_user_admin_suite`]).
pub async fn run_name_suite(store: Arc<dyn UserAdmin>) {
    users_without_a_name_have_none(&*store).await;
    a_login_name_is_not_a_taken_name(&*store).await;
    simultaneous_renames_have_one_winner(Arc::clone(&store)).await;
    simultaneous_creations_with_one_name_have_one_winner(store).await;
}

async fn create(store: &dyn UserAdmin, email: &str, name: Option<String>) -> Result<User, Error> {
    store
        .create_user(NewUser {
            email: email.to_owned(),
            name,
            role: Role::DB_VIEWER,
            status: UserStatus::Active,
            passwords: vec![stored(1, t(0))],
        })
        .await
}

async fn rename(store: &dyn UserAdmin, uid: &UserId, name: &str) -> Result<User, Error> {
    store
        .update_user(
            uid,
            UserUpdate {
                name: Some(name.to_owned()),
                ..UserUpdate::default()
            },
        )
        .await
}

async fn name_of(store: &dyn UserAdmin, uid: &UserId) -> Option<String> {
    store
        .find_by_uid(uid)
        .await
        .unwrap()
        .expect("the user exists")
        .name
}

/// A user created without a name has none (not the e-mail), as created and as read back; any
/// number of users have none; other changes leave it absent; a name can be given later.
pub async fn users_without_a_name_have_none(store: &dyn UserAdmin) {
    let first = create(store, &unique_email("nameless"), None)
        .await
        .unwrap();
    let second = create(store, &unique_email("nameless"), None)
        .await
        .expect("a second user without a name");
    let third = create(store, &unique_email("nameless"), None)
        .await
        .expect("a third user without a name");
    for user in [&first, &second, &third] {
        assert_eq!(user.name, None, "created without a name");
        assert_eq!(name_of(store, &user.uid).await, None, "read back");
    }
    let listed = store.list_users().await.unwrap();
    assert!(
        listed
            .iter()
            .filter(|u| [&first.uid, &second.uid, &third.uid].contains(&&u.uid))
            .all(|u| u.name.is_none()),
        "listed without a name"
    );

    let new_email = unique_email("nameless-moved");
    let moved = store
        .update_user(
            &second.uid,
            UserUpdate {
                email: Some(new_email.clone()),
                role: Some(Role::DB_MEMBER),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.email, new_email);
    assert_eq!(moved.name, None, "a change of e-mail or role gives no name");

    let named = format!("Named {}", first.uid);
    let renamed = rename(store, &first.uid, &named).await.unwrap();
    assert_eq!(renamed.name.as_deref(), Some(named.as_str()));
    assert_eq!(name_of(store, &first.uid).await, Some(named));
    assert_eq!(name_of(store, &third.uid).await, None);
}

/// Another user's e-mail is a free name unless some user has it as their explicit name: a
/// rename to it succeeds, and only a second explicit holder is refused.
pub async fn a_login_name_is_not_a_taken_name(store: &dyn UserAdmin) {
    let login = unique_email("Login.Holder");
    let holder = create(store, &login, None).await.unwrap();
    let renamer = create(store, &unique_email("renamer"), None).await.unwrap();
    let other = create(store, &unique_email("other"), None).await.unwrap();

    // Creating a user named after someone's e-mail: accepted.
    let named_after = unique_email("named-after");
    let namesake_login = create(store, &named_after, None).await.unwrap();
    let namesake = create(store, &unique_email("namesake"), Some(named_after.clone()))
        .await
        .expect("another user's e-mail as the name of a new user");
    assert_eq!(namesake.name.as_deref(), Some(named_after.as_str()));
    assert_eq!(name_of(store, &namesake_login.uid).await, None);

    // Renaming oneself to someone's e-mail (in its own spelling and in another case):
    // accepted, and the holder of that e-mail is untouched.
    let renamed = rename(store, &renamer.uid, &login)
        .await
        .expect("renaming oneself to another user's e-mail");
    assert_eq!(renamed.name.as_deref(), Some(login.as_str()));
    rename(store, &other.uid, &login.to_lowercase())
        .await
        .expect("the e-mail in another case is another name");
    assert_eq!(name_of(store, &holder.uid).await, None);

    // Now the e-mail is a name someone chose: that exact name is taken, for renames and for
    // new users alike, even for the user whose e-mail it is.
    let err = rename(store, &holder.uid, &login).await.unwrap_err();
    assert!(matches!(err, Error::NameAlreadyExists), "{err:?}");
    let err = create(store, &unique_email("late"), Some(login.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NameAlreadyExists), "{err:?}");
    assert_eq!(
        name_of(store, &holder.uid).await,
        None,
        "a refusal writes nothing"
    );

    // A user may take their own e-mail as their name, and set their current name again.
    let own = create(store, &unique_email("own"), None).await.unwrap();
    let kept = rename(store, &own.uid, &own.email).await.unwrap();
    assert_eq!(kept.name.as_deref(), Some(own.email.as_str()));
    rename(store, &own.uid, &own.email)
        .await
        .expect("one's own name is not taken by oneself");
}

/// [`NAME_RACERS`] users without a name rename themselves to one name at the same instant:
/// exactly one wins, every other gets `NameAlreadyExists` and keeps no name.
pub async fn simultaneous_renames_have_one_winner(store: Arc<dyn UserAdmin>) {
    let mut uids = Vec::with_capacity(NAME_RACERS);
    for _ in 0..NAME_RACERS {
        uids.push(
            create(&*store, &unique_email("racer"), None)
                .await
                .unwrap()
                .uid,
        );
    }
    let contested = format!("Contested {}", uuid::Uuid::new_v4().simple());
    let barrier = Arc::new(Barrier::new(NAME_RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for uid in uids.clone() {
        let (store, barrier, contested) =
            (Arc::clone(&store), Arc::clone(&barrier), contested.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            (uid.clone(), rename(&*store, &uid, &contested).await)
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (uid, Ok(user)) => {
                assert_eq!(user.name.as_deref(), Some(contested.as_str()));
                winners.push(uid);
            }
            (_, Err(Error::NameAlreadyExists)) => {}
            (_, Err(e)) => panic!("a losing rename must be NameAlreadyExists, got {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rename wins: {winners:?}");
    for uid in &uids {
        let expected = (uid == &winners[0]).then(|| contested.clone());
        assert_eq!(name_of(&*store, uid).await, expected, "uid {uid}");
    }
}

/// [`NAME_RACERS`] new users with one name created at the same instant: exactly one is
/// created, every other is refused with `NameAlreadyExists` and not created.
pub async fn simultaneous_creations_with_one_name_have_one_winner(store: Arc<dyn UserAdmin>) {
    let contested = format!("Contested {}", uuid::Uuid::new_v4().simple());
    let emails: Vec<String> = (0..NAME_RACERS)
        .map(|_| unique_email("create-racer"))
        .collect();
    let barrier = Arc::new(Barrier::new(NAME_RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for email in emails.clone() {
        let (store, barrier, contested) =
            (Arc::clone(&store), Arc::clone(&barrier), contested.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            create(&*store, &email, Some(contested)).await
        });
    }
    let mut created = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            Ok(_) => created += 1,
            Err(Error::NameAlreadyExists) => {}
            Err(e) => panic!("a losing creation must be NameAlreadyExists, got {e:?}"),
        }
    }
    assert_eq!(created, 1, "exactly one creation wins");
    let mut found = 0;
    for email in &emails {
        let key = authcore_core::normalize_username(email);
        found += usize::from(store.find_by_username(&key).await.unwrap().is_some());
    }
    assert_eq!(found, 1, "the refused users do not exist");
}

/// Through the [`authcore_core::Authenticator`]: a user created without a name has none in
/// its [`authcore_core::UserView`] and no `name` field in its JSON; a signed-in user may rename
/// themselves to another user's e-mail; an explicit name of another user is refused with
/// `name_already_exists` (409).
pub async fn names_through_the_authenticator(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    const PW: &str = "Correct-Horse-1";
    let clock = ManualClock::starting_now();
    let auth = authenticator(users, lockout, &clock, authcore_core::AuthPolicy::default())
        .expect("authenticator");
    let create = |prefix: &str, name: Option<String>| {
        let email = unique_email(prefix);
        let auth = &auth;
        async move {
            let view = auth
                .create_user_unchecked(CreateUser {
                    email: email.clone(),
                    password: password(PW),
                    name,
                    role: Role::DB_MEMBER,
                })
                .await
                .expect("create user");
            let uid = match &view.uid {
                UidValue::Number(n) => UserId::from(*n),
                UidValue::Text(s) => UserId::new(s.clone()),
            };
            (email, uid, view)
        }
    };

    let (holder, _, view) = create("view-holder", None).await;
    assert_eq!(view.name, None);
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["email"], holder.as_str());
    assert!(
        json.get("name").is_none(),
        "a user without a name has no name field: {json}"
    );
    let (_, _, named) = create("view-named", Some("Named User".to_owned())).await;
    let json = serde_json::to_value(&named).unwrap();
    assert_eq!(json["name"], "Named User");
    let (_, _, second) = create("view-nameless", None).await;
    assert_eq!(second.name, None, "a second user without a name");

    let (email, uid, _) = create("view-renamer", None).await;
    let me = auth
        .authorize(&email, &password(PW), Ttl::DEFAULT)
        .await
        .expect("sign-in")
        .claims;
    let to = |name: &str| UpdateUser {
        name: Some(name.to_owned()),
        ..UpdateUser::default()
    };
    let renamed = auth
        .update_user(&me, &uid, to(&holder))
        .await
        .expect("renaming oneself to another user's e-mail");
    assert_eq!(renamed.name.as_deref(), Some(holder.as_str()));

    let explicit = format!("Explicit {}", uuid::Uuid::new_v4().simple());
    create("view-explicit", Some(explicit.clone())).await;
    let err = auth
        .update_user(&me, &uid, to(&explicit))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NameAlreadyExists), "{err:?}");
    assert_eq!(err.error_code(), "name_already_exists");
    assert_eq!(err.http_status(), 409);
}
