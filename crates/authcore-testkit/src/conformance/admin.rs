//! The admin invariant of [`UserAdmin`]: at every moment at least one active admin (role
//! `admin`, stored status `active`) exists, and the check is atomic with the write.
//!
//! Unlike the other suites, this one needs the store to itself: it reasons about *the* last
//! active admin, so give it a fresh store (no active admin yet) that nothing else writes to
//! while it runs. It leaves exactly one active admin behind.

use std::sync::Arc;

use authcore_core::{
    Error, NewUser, Role, User, UserAdmin, UserId, UserStatus, UserUpdate, counts_as_active_admin,
};
use tokio::sync::Barrier;

use super::{stored, t};
use crate::fixtures::unique_email;

/// How many rounds each race runs.
pub const ADMIN_RACE_ROUNDS: usize = 24;

/// Runs every case of the admin invariant on `store`, which must hold no active admin when it
/// starts and must not be written by anyone else meanwhile (see the module docs). Run it on a
/// multi-threaded runtime so that the racing changes really run in parallel.
pub async fn run_admin_invariant_suite(store: Arc<dyn UserAdmin>) {
    assert_eq!(
        store.count_active_admins().await.unwrap(),
        0,
        "the admin suite needs a store without any active admin"
    );
    changes_are_free_before_the_first_active_admin(&*store).await;
    let survivor = create_admin(&*store, "first-admin", UserStatus::Active).await;
    admins_changing_each_other_at_once_leave_one(store.clone(), store.clone(), survivor.uid).await;
    let survivor = only_active_admin(&*store).await;
    last_active_admin_cannot_leave(&*store, &survivor).await;
    counts_follow_demotion_and_deletion(&*store, &survivor).await;
    many_admins_leaving_at_once_leave_one(store.clone()).await;
    let survivor = only_active_admin(&*store).await;
    last_active_admin_cannot_leave(&*store, &survivor).await;
}

/// The ways an active admin can stop being one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leave {
    Demote,
    Disable,
    Lock,
    Delete,
}

const LEAVES: [Leave; 4] = [Leave::Demote, Leave::Disable, Leave::Lock, Leave::Delete];

impl Leave {
    async fn apply(self, store: &dyn UserAdmin, uid: &UserId) -> Result<(), Error> {
        let status = |s| UserUpdate {
            status: Some(s),
            ..UserUpdate::default()
        };
        match self {
            Self::Demote => store
                .update_user(
                    uid,
                    UserUpdate {
                        role: Some(Role::DB_VIEWER),
                        ..UserUpdate::default()
                    },
                )
                .await
                .map(drop),
            Self::Disable => store
                .update_user(uid, status(UserStatus::Disabled))
                .await
                .map(drop),
            Self::Lock => store
                .update_user(uid, status(UserStatus::Locked))
                .await
                .map(drop),
            Self::Delete => match store.delete_user(uid).await {
                Ok(true) => Ok(()),
                Ok(false) => panic!("{uid} vanished"),
                Err(e) => Err(e),
            },
        }
    }
}

/// Creates an admin with a unique e-mail and the given status.
pub async fn create_admin(store: &dyn UserAdmin, tag: &str, status: UserStatus) -> User {
    let email = unique_email(tag);
    store
        .create_user(NewUser {
            name: Some(format!("name {email}")),
            email,
            role: Role::ADMIN,
            status,
            passwords: vec![stored(1, t(0))],
        })
        .await
        .expect("create_user")
}

/// The one active admin of the store (panics unless there is exactly one).
pub async fn only_active_admin(store: &dyn UserAdmin) -> User {
    let active: Vec<User> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .filter(User::is_active_admin)
        .collect();
    assert_eq!(active.len(), 1, "exactly one active admin: {active:?}");
    assert_eq!(store.count_active_admins().await.unwrap(), 1);
    active.into_iter().next().unwrap()
}

/// `count_with_role(admin)` and `count_active_admins` agree with the list of users.
async fn assert_counts_match_the_list(store: &dyn UserAdmin) {
    let users = store.list_users().await.unwrap();
    let admins = users.iter().filter(|u| u.role.is_admin()).count() as u64;
    let active = users.iter().filter(|u| u.is_active_admin()).count() as u64;
    assert_eq!(store.count_with_role(&Role::ADMIN).await.unwrap(), admins);
    assert_eq!(store.count_active_admins().await.unwrap(), active);
}

/// Before any active admin exists (bootstrap), nothing is refused: a disabled admin may be
/// demoted, deleted, re-enabled... and enabling one starts the invariant.
pub async fn changes_are_free_before_the_first_active_admin(store: &dyn UserAdmin) {
    let disabled = create_admin(store, "bootstrap-disabled", UserStatus::Disabled).await;
    assert!(!disabled.is_active_admin());
    assert_eq!(store.count_active_admins().await.unwrap(), 0);
    store
        .update_user(
            &disabled.uid,
            UserUpdate {
                status: Some(UserStatus::Locked),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(store.delete_user(&disabled.uid).await.unwrap());
    let plain = create_admin(store, "bootstrap-demoted", UserStatus::Disabled).await;
    store
        .update_user(
            &plain.uid,
            UserUpdate {
                role: Some(Role::DB_VIEWER),
                status: Some(UserStatus::Active),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(store.count_active_admins().await.unwrap(), 0);
    assert_counts_match_the_list(store).await;
}

/// Two active admins, each changed (demoted, disabled, locked or deleted, in every mix) at
/// the same instant by a task released with the other by a barrier: exactly one change wins,
/// the other is refused with `change_last_admin_role_not_allowed` and writes nothing. Repeated
/// for [`ADMIN_RACE_ROUNDS`] rounds; each round races the previous round's survivor against a
/// new admin. `survivor` must be the store's only active admin. `store` and `other` are the
/// same store, or two stores on one database (two processes): each change goes through one of
/// them.
pub async fn admins_changing_each_other_at_once_leave_one(
    store: Arc<dyn UserAdmin>,
    other: Arc<dyn UserAdmin>,
    survivor: UserId,
) {
    let mut survivor = survivor;
    for round in 0..ADMIN_RACE_ROUNDS {
        assert_eq!(
            store.count_active_admins().await.unwrap(),
            1,
            "round {round}"
        );
        let newcomer = create_admin(&*store, "race", UserStatus::Active).await;
        let first = LEAVES[round % LEAVES.len()];
        let second = LEAVES[(round / LEAVES.len()) % LEAVES.len()];
        let barrier = Arc::new(Barrier::new(2));
        let race = |leave: Leave, uid: UserId, store: &Arc<dyn UserAdmin>| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                leave.apply(&*store, &uid).await
            })
        };
        let a = race(first, survivor.clone(), &store);
        let b = race(second, newcomer.uid.clone(), &other);
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let refused =
            |r: &Result<(), Error>| matches!(r, Err(Error::ChangeLastAdminRoleNotAllowed));
        match (&a, &b) {
            (Ok(()), r) if refused(r) => survivor = newcomer.uid.clone(),
            (r, Ok(())) if refused(r) => {}
            _ => panic!(
                "round {round} ({first:?} vs {second:?}): exactly one must win, got {a:?} and {b:?}"
            ),
        }
        let left = only_active_admin(&*store).await;
        assert_eq!(
            left.uid, survivor,
            "round {round}: the refused change wrote nothing"
        );
        assert_counts_match_the_list(&*store).await;
    }
}

/// The last active admin can be neither demoted, disabled, locked nor deleted, not even when
/// admins with another status exist (they do not count); other changes of it still work.
pub async fn last_active_admin_cannot_leave(store: &dyn UserAdmin, last: &User) {
    let disabled = create_admin(store, "disabled-admin", UserStatus::Disabled).await;
    let locked = create_admin(store, "locked-admin", UserStatus::Locked).await;
    for leave in LEAVES {
        let err = leave.apply(store, &last.uid).await.unwrap_err();
        assert!(
            matches!(err, Error::ChangeLastAdminRoleNotAllowed),
            "{leave:?}: {err:?}"
        );
        assert_eq!(err.error_code(), "change_last_admin_role_not_allowed");
    }
    // Also when the change comes with others, and a no-op role/status change is fine.
    let err = store
        .update_user(
            &last.uid,
            UserUpdate {
                name: Some(format!("renamed {}", last.email)),
                status: Some(UserStatus::Disabled),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ChangeLastAdminRoleNotAllowed),
        "{err:?}"
    );
    assert_eq!(
        store.find_by_uid(&last.uid).await.unwrap().as_ref(),
        Some(last),
        "a refused change writes nothing"
    );
    let kept = store
        .update_user(
            &last.uid,
            UserUpdate {
                role: Some(Role::ADMIN),
                status: Some(UserStatus::Active),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(kept.is_active_admin());
    // The admins that do not count may go.
    assert!(store.delete_user(&disabled.uid).await.unwrap());
    Leave::Demote.apply(store, &locked.uid).await.unwrap();
    assert!(store.delete_user(&locked.uid).await.unwrap());
    assert_eq!(only_active_admin(store).await.uid, last.uid);
}

/// `count_with_role(admin)` and `count_active_admins` after a demotion and after a deletion;
/// with two active admins either may go, the last may not.
pub async fn counts_follow_demotion_and_deletion(store: &dyn UserAdmin, last: &User) {
    let admins = store.count_with_role(&Role::ADMIN).await.unwrap();
    let a = create_admin(store, "count-a", UserStatus::Active).await;
    let b = create_admin(store, "count-b", UserStatus::Active).await;
    assert_eq!(
        store.count_with_role(&Role::ADMIN).await.unwrap(),
        admins + 2
    );
    assert_eq!(store.count_active_admins().await.unwrap(), 3);

    Leave::Demote.apply(store, &a.uid).await.unwrap();
    assert_eq!(
        store.count_with_role(&Role::ADMIN).await.unwrap(),
        admins + 1
    );
    assert_eq!(store.count_active_admins().await.unwrap(), 2);

    assert!(store.delete_user(&b.uid).await.unwrap());
    assert_eq!(store.count_with_role(&Role::ADMIN).await.unwrap(), admins);
    assert_eq!(store.count_active_admins().await.unwrap(), 1);
    assert_counts_match_the_list(store).await;

    // A demoted admin may come back; then the other may leave.
    let back = store
        .update_user(
            &a.uid,
            UserUpdate {
                role: Some(Role::ADMIN),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(counts_as_active_admin(&back.role, back.status));
    assert_eq!(store.count_active_admins().await.unwrap(), 2);
    Leave::Disable.apply(store, &last.uid).await.unwrap();
    assert!(matches!(
        Leave::Delete.apply(store, &a.uid).await,
        Err(Error::ChangeLastAdminRoleNotAllowed)
    ));
    // Restore the previous last admin as the only active one.
    store
        .update_user(
            &last.uid,
            UserUpdate {
                status: Some(UserStatus::Active),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(store.delete_user(&a.uid).await.unwrap());
    assert_eq!(only_active_admin(store).await.uid, last.uid);
}

/// Eight active admins all leaving at the same instant (each demoted, disabled, locked or
/// deleted): exactly seven changes win, one admin stays active.
pub async fn many_admins_leaving_at_once_leave_one(store: Arc<dyn UserAdmin>) {
    const N: usize = 8;
    let existing = only_active_admin(&*store).await;
    let mut uids = vec![existing.uid];
    for _ in 1..N {
        uids.push(create_admin(&*store, "crowd", UserStatus::Active).await.uid);
    }
    assert_eq!(store.count_active_admins().await.unwrap(), N as u64);
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = uids
        .iter()
        .enumerate()
        .map(|(i, uid)| {
            let store = store.clone();
            let barrier = barrier.clone();
            let uid = uid.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                LEAVES[i % LEAVES.len()].apply(&*store, &uid).await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(Error::ChangeLastAdminRoleNotAllowed) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(won, N - 1, "all but one leave");
    let left = only_active_admin(&*store).await;
    assert!(uids.contains(&left.uid));
    assert_counts_match_the_list(&*store).await;
}
