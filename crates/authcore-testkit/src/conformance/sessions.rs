//! The [`SessionStore`] cases: epochs and revoked token ids.

use std::collections::BTreeSet;
use std::sync::Arc;

use authcore_core::{
    AuthPolicy, Authenticator, CreateUser, Error, IssuedToken, LockoutPolicy, LockoutStore,
    PURGE_BATCH, Role, SessionPolicy, SessionStore, Ttl, UidValue, UpdateUser, UserAdmin, UserId,
    UserStatus, password_id,
};
use time::{Duration, OffsetDateTime};

use super::session_hashes::hash_upgrades_at_sign_in_end_nothing;
use super::session_races::{
    a_logout_ends_the_tokens_refreshed_from_it, a_refresh_racing_a_logout_never_outlives_it,
    concurrent_refreshes_after_a_logout_all_fail, find_fresh_matches_three_reads,
};
use super::sign_in_reads::{
    a_change_during_the_check_ends_the_new_session, find_for_sign_in_matches_two_reads,
};
use crate::ManualClock;
use crate::fixtures::{authenticator, password, unique_email};

/// Runs every [`SessionStore`] case.
pub async fn run_session_suite(store: Arc<dyn SessionStore>) {
    epochs_start_at_zero_and_advance_by_one(&*store).await;
    directory_uids_have_epochs(&*store).await;
    concurrent_advances_count_exactly(Arc::clone(&store), 24).await;
    revocation_is_kept_until_purged(&*store).await;
    revoking_twice_is_not_an_error(&*store).await;
    revoke_purges_a_bounded_batch(&*store).await;
    purge_takes_the_oldest_first_and_respects_its_limit(&*store).await;
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600 + secs).unwrap()
}

/// A user's epoch is 0 until advanced, then goes up by exactly one per advance; users are
/// independent.
pub async fn epochs_start_at_zero_and_advance_by_one(store: &dyn SessionStore) {
    let (a, b) = (UserId::new(unique("9000")), UserId::new(unique("9001")));
    assert_eq!(store.epoch(&a).await.unwrap(), 0);
    assert_eq!(store.advance_epoch(&a).await.unwrap(), 1);
    assert_eq!(store.advance_epoch(&a).await.unwrap(), 2);
    assert_eq!(store.epoch(&a).await.unwrap(), 2);
    assert_eq!(
        store.epoch(&b).await.unwrap(),
        0,
        "another user is untouched"
    );
    assert_eq!(store.advance_epoch(&b).await.unwrap(), 1);
    assert_eq!(store.epoch(&a).await.unwrap(), 2);
}

/// Keys are canonical uids of any form: a directory DN with commas, spaces and non-ASCII.
pub async fn directory_uids_have_epochs(store: &dyn SessionStore) {
    let dn = UserId::new(format!(
        "uid=Zoë {},ou=people,dc=example,dc=org",
        uuid::Uuid::new_v4()
    ));
    let upper = UserId::new(dn.as_str().to_uppercase());
    assert_eq!(store.advance_epoch(&dn).await.unwrap(), 1);
    assert_eq!(store.epoch(&dn).await.unwrap(), 1);
    assert_eq!(
        store.epoch(&upper).await.unwrap(),
        0,
        "keys compare byte for byte"
    );
}

/// `n` advances released at the same instant advance the epoch by exactly `n`, and each
/// caller sees a different new value.
pub async fn concurrent_advances_count_exactly(store: Arc<dyn SessionStore>, n: u32) {
    let uid = UserId::new(unique("9002"));
    let barrier = Arc::new(tokio::sync::Barrier::new(n as usize));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (store, barrier, uid) = (Arc::clone(&store), Arc::clone(&barrier), uid.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.advance_epoch(&uid).await.unwrap()
            })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for t in tasks {
        seen.insert(t.await.unwrap());
    }
    assert_eq!(seen, (1..=u64::from(n)).collect(), "one value per advance");
    assert_eq!(store.epoch(&uid).await.unwrap(), u64::from(n));
}

/// A revoked jti is reported until a purge after its expiry; others are not revoked.
pub async fn revocation_is_kept_until_purged(store: &dyn SessionStore) {
    let (jti, other) = (unique("jti"), unique("jti"));
    assert!(!store.is_revoked(&jti).await.unwrap());
    store.revoke(&jti, at(100), at(0)).await.unwrap();
    assert!(store.is_revoked(&jti).await.unwrap());
    assert!(!store.is_revoked(&other).await.unwrap());
    // Before its expiry no purge touches it.
    for _ in 0..3 {
        store.purge_revoked(at(99), u32::MAX).await.unwrap();
    }
    assert!(store.is_revoked(&jti).await.unwrap());
    // After it, purges remove it (other cases' rows may go first: purge until it is gone).
    let mut rounds = 0;
    while store.is_revoked(&jti).await.unwrap() {
        let purged = store.purge_revoked(at(101), 1000).await.unwrap();
        assert!(purged <= 1000);
        rounds += 1;
        assert!(rounds < 1000, "an expired revocation is never purged");
    }
}

/// Revoking the same token twice (a double logout) is fine and keeps it revoked.
pub async fn revoking_twice_is_not_an_error(store: &dyn SessionStore) {
    let jti = unique("jti");
    store.revoke(&jti, at(10_000), at(0)).await.unwrap();
    store.revoke(&jti, at(10_000), at(0)).await.unwrap();
    assert!(store.is_revoked(&jti).await.unwrap());
    // A 255-byte id of odd characters is stored and found as it is.
    let long: String = std::iter::repeat_n('é', 100)
        .chain(unique("x").chars())
        .take(127)
        .collect();
    store.revoke(&long, at(10_000), at(0)).await.unwrap();
    assert!(store.is_revoked(&long).await.unwrap());
    assert!(!store.is_revoked(&long.to_uppercase()).await.unwrap());
}

/// One revoke purges at most [`PURGE_BATCH`] expired records: the work a logout does is
/// bounded however many expired records wait.
pub async fn revoke_purges_a_bounded_batch(store: &dyn SessionStore) {
    // Far in the past, so that they are the oldest records of the store.
    let base = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
    let extra = 10;
    let jtis: Vec<String> = (0..PURGE_BATCH + extra).map(|_| unique("old")).collect();
    for (i, jti) in jtis.iter().enumerate() {
        // `now` before every expiry: nothing of these is purged while they go in.
        store
            .revoke(
                jti,
                base + Duration::seconds(i64::try_from(i).unwrap()),
                base,
            )
            .await
            .unwrap();
    }
    let trigger = unique("jti");
    store.revoke(&trigger, at(10_000), at(0)).await.unwrap();
    let mut left = 0;
    for jti in &jtis {
        if store.is_revoked(jti).await.unwrap() {
            left += 1;
        }
    }
    assert!(
        left >= extra,
        "one revoke purged more than {PURGE_BATCH} records ({} left of {})",
        left,
        jtis.len()
    );
    assert!(store.is_revoked(&trigger).await.unwrap());
    // The oldest go first: the first of these (the oldest) is gone.
    assert!(!store.is_revoked(&jtis[0]).await.unwrap());
    while store.purge_revoked(at(0), PURGE_BATCH).await.unwrap() > 0 {}
    for jti in &jtis {
        assert!(!store.is_revoked(jti).await.unwrap());
    }
}

/// `purge_revoked` never deletes more than its limit, nor anything not yet expired.
pub async fn purge_takes_the_oldest_first_and_respects_its_limit(store: &dyn SessionStore) {
    let live = unique("live");
    store.revoke(&live, at(1_000_000), at(0)).await.unwrap();
    let old: Vec<String> = (0..5).map(|_| unique("old")).collect();
    for jti in &old {
        store.revoke(jti, at(1), at(0)).await.unwrap();
    }
    loop {
        let purged = store.purge_revoked(at(500), 2).await.unwrap();
        assert!(purged <= 2, "purged {purged} with a limit of 2");
        if purged == 0 {
            break;
        }
    }
    for jti in &old {
        assert!(!store.is_revoked(jti).await.unwrap());
    }
    assert!(
        store.is_revoked(&live).await.unwrap(),
        "a record not yet expired is never purged"
    );
    assert_eq!(store.purge_revoked(at(500), 0).await.unwrap(), 0);
}

// ------------------------------------------------------------------------------------------
// Sessions through a real Authenticator
// ------------------------------------------------------------------------------------------

pub(super) const PW: &str = "Correct-Horse-1";
pub(super) const PW2: &str = "Battery-Staple-2";

/// Runs every session case through a real [`Authenticator`] with a manual clock: what ends a
/// session and what does not, exactly (the clock never moves between a change and the
/// sign-ins around it, so "the same second" is what is tested).
pub async fn run_authenticator_session_suite(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    password_replace_ends_sessions_in_the_same_second(Arc::clone(&users), Arc::clone(&lockout))
        .await;
    admin_changes_and_deletion_end_sessions(Arc::clone(&users), Arc::clone(&lockout)).await;
    removing_a_password_ends_only_its_sessions(Arc::clone(&users), Arc::clone(&lockout)).await;
    a_rehash_ends_nothing(Arc::clone(&users), Arc::clone(&lockout)).await;
    hash_upgrades_at_sign_in_end_nothing(Arc::clone(&users), Arc::clone(&lockout)).await;
    logout_and_sign_out_everywhere(Arc::clone(&users), Arc::clone(&lockout)).await;
    lockout_does_not_end_sessions(Arc::clone(&users), Arc::clone(&lockout)).await;
    refresh_is_bounded_by_the_session_lifetime(Arc::clone(&users), Arc::clone(&lockout)).await;
    concurrent_refreshes_after_a_logout_all_fail(Arc::clone(&users), Arc::clone(&lockout)).await;
    a_logout_ends_the_tokens_refreshed_from_it(Arc::clone(&users), Arc::clone(&lockout)).await;
    a_refresh_racing_a_logout_never_outlives_it(Arc::clone(&users), Arc::clone(&lockout), 24).await;
    find_fresh_matches_three_reads(Arc::clone(&users), Arc::clone(&lockout)).await;
    find_for_sign_in_matches_two_reads(Arc::clone(&users), Arc::clone(&lockout)).await;
    a_change_during_the_check_ends_the_new_session(users, lockout).await;
}

pub(super) fn session_auth(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
    clock: &ManualClock,
    policy: AuthPolicy,
) -> Authenticator {
    authenticator(users, lockout, clock, policy).expect("authenticator")
}

/// The session state `lockout` keeps (the session cases need it).
pub(super) fn kept_sessions(lockout: &dyn LockoutStore) -> &dyn SessionStore {
    lockout
        .sessions()
        .expect("the lockout store keeps session state")
}

/// A member named after `prefix`, created through an authenticator over `users` and `lockout`
/// (default policy, own manual clock): the clock, the authenticator, the email and the uid.
pub(super) async fn member_on_fresh_auth(
    users: &Arc<dyn UserAdmin>,
    lockout: &Arc<dyn LockoutStore>,
    prefix: &str,
) -> (ManualClock, Authenticator, String, UserId) {
    let clock = ManualClock::starting_now();
    let auth = session_auth(
        Arc::clone(users),
        Arc::clone(lockout),
        &clock,
        AuthPolicy::default(),
    );
    let (email, uid) = user_with_role(&auth, prefix, Role::DB_MEMBER).await;
    (clock, auth, email, uid)
}

pub(super) async fn user_with_role(
    auth: &Authenticator,
    prefix: &str,
    role: Role,
) -> (String, UserId) {
    let email = unique_email(prefix);
    let view = auth
        .create_user_unchecked(CreateUser {
            email: email.clone(),
            password: password(PW),
            name: None,
            role,
        })
        .await
        .expect("create user");
    let uid = match view.uid {
        UidValue::Number(n) => UserId::from(n),
        UidValue::Text(s) => UserId::new(s),
    };
    (email, uid)
}

pub(super) async fn sign_in(auth: &Authenticator, email: &str, pw: &str) -> IssuedToken {
    auth.authorize(email, &password(pw), Ttl::DEFAULT)
        .await
        .expect("sign-in")
}

#[track_caller]
pub(super) fn assert_refused(result: &authcore_core::Result<impl std::fmt::Debug>, what: &str) {
    assert!(
        matches!(result, Err(Error::Unauthorized)),
        "{what}: expected 401, got {result:?}"
    );
}

pub(super) async fn assert_ended(auth: &Authenticator, token: &IssuedToken, what: &str) {
    assert_refused(&auth.check_fresh(&token.token).await, what);
    assert_refused(&auth.refresh(&token.token, Ttl::DEFAULT).await, what);
    // The stateless check cannot know: the token verifies until its `exp`.
    assert!(auth.verify_token(&token.token).is_ok());
}

pub(super) async fn assert_live(auth: &Authenticator, token: &IssuedToken, what: &str) {
    let fresh = auth.check_fresh(&token.token).await;
    assert!(fresh.is_ok(), "{what}: fresh check refused: {fresh:?}");
    let refreshed = auth.refresh(&token.token, Ttl::DEFAULT).await;
    assert!(refreshed.is_ok(), "{what}: refresh refused: {refreshed:?}");
}

/// `PUT /v1/users/password` ends every session of the user: a token minted before the change
/// is refused, one minted after it accepted, within the same instant. The password's issue
/// date is the new one; tokens carry the epoch and the id of their password.
pub async fn password_replace_ends_sessions_in_the_same_second(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let auth = session_auth(users, lockout, &clock, AuthPolicy::default());
    let (email, uid) = user_with_role(&auth, "replace", Role::DB_MEMBER).await;
    let before = sign_in(&auth, &email, PW).await;
    assert_eq!(before.claims.auth_time, before.claims.iat);
    assert!(before.claims.pwd.is_some());
    assert_live(&auth, &before, "a fresh sign-in").await;

    auth.replace_passwords(&email, &password(PW), &password(PW2))
        .await
        .unwrap();
    let after = sign_in(&auth, &email, PW2).await;
    assert_eq!(after.claims.iat, before.claims.iat, "same second");
    assert!(after.claims.generation > before.claims.generation);
    // The clock stood still, so the new password's id may equal the old one's: the epoch
    // alone must end the old session.
    assert_ended(&auth, &before, "token minted before the password change").await;
    assert_live(&auth, &after, "token minted after the password change").await;
    let fresh = auth.check_fresh(&after.token).await.unwrap();
    assert_eq!(fresh.uid(), &uid);
}

/// An admin password reset, a role change, a status change and deletion each end the user's
/// sessions (also through the operator methods); a change of name alone does not. The fresh
/// check returns the current role.
pub async fn admin_changes_and_deletion_end_sessions(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let auth = session_auth(users, lockout, &clock, AuthPolicy::default());
    let admin = {
        let (email, _) = user_with_role(&auth, "sess-admin", Role::ADMIN).await;
        sign_in(&auth, &email, PW).await.claims
    };
    let (email, uid) = user_with_role(&auth, "changes", Role::ADMIN).await;

    // A new name is no reason to end a session.
    let t = sign_in(&auth, &email, PW).await;
    let renamed = UpdateUser {
        name: Some(format!("Renamed {}", uuid::Uuid::new_v4().simple())),
        ..UpdateUser::default()
    };
    auth.update_user(&admin, &uid, renamed).await.unwrap();
    assert_live(&auth, &t, "after a rename").await;

    // Demotion: the token still says admin, the fresh check says the current role.
    let t = sign_in(&auth, &email, PW).await;
    let demote = UpdateUser {
        role: Some(Role::DB_VIEWER),
        ..UpdateUser::default()
    };
    auth.update_user(&admin, &uid, demote).await.unwrap();
    assert_eq!(t.claims.role.as_str(), Role::ADMIN);
    assert_ended(&auth, &t, "token minted before a demotion").await;
    let t = sign_in(&auth, &email, PW).await;
    let fresh = auth.check_fresh(&t.token).await.unwrap();
    assert_eq!(fresh.role().as_str(), Role::DB_VIEWER);

    // Admin password reset.
    let reset = UpdateUser {
        password: Some(password(PW2)),
        ..UpdateUser::default()
    };
    auth.update_user(&admin, &uid, reset).await.unwrap();
    assert_ended(&auth, &t, "token minted before an admin reset").await;

    // Status change through the operator method, then back.
    let t = sign_in(&auth, &email, PW2).await;
    let disable = UpdateUser {
        status: Some(UserStatus::Disabled),
        ..UpdateUser::default()
    };
    auth.update_user_as_operator(&uid, disable).await.unwrap();
    let enable = UpdateUser {
        status: Some(UserStatus::Active),
        ..UpdateUser::default()
    };
    auth.update_user_as_operator(&uid, enable).await.unwrap();
    assert_ended(&auth, &t, "token minted before a disable/enable").await;

    // Deletion.
    let t = sign_in(&auth, &email, PW2).await;
    auth.delete_user_as_operator(&uid).await.unwrap();
    assert_ended(&auth, &t, "token of a deleted user").await;
}

/// `DELETE /v1/users/password` ends the sessions started with the removed password only.
pub async fn removing_a_password_ends_only_its_sessions(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let auth = session_auth(users, lockout, &clock, AuthPolicy::default());
    let (email, _) = user_with_role(&auth, "rotate", Role::DB_MEMBER).await;
    clock.advance(Duration::seconds(1));
    auth.add_password(&email, &password(PW), &password(PW2))
        .await
        .unwrap();
    let with_old = sign_in(&auth, &email, PW).await;
    let with_new = sign_in(&auth, &email, PW2).await;
    assert_ne!(with_old.claims.pwd, with_new.claims.pwd);
    assert_eq!(with_old.claims.generation, with_new.claims.generation);

    auth.remove_password(&email, &password(PW)).await.unwrap();
    assert_ended(&auth, &with_old, "token minted with the removed password").await;
    assert_live(&auth, &with_new, "token minted with the kept password").await;
    // The refreshed token keeps its password id, so it lives on as well.
    let refreshed = auth.refresh(&with_new.token, Ttl::DEFAULT).await.unwrap();
    assert_eq!(refreshed.claims.pwd, with_new.claims.pwd);
    assert_eq!(refreshed.claims.auth_time, with_new.claims.auth_time);
    assert_eq!(refreshed.claims.generation, with_new.claims.generation);

    // Two passwords set at the same instant share their id: removing one then ends every
    // session (over-revoking rather than keeping the removed password's sessions).
    let (email, _) = user_with_role(&auth, "same-instant", Role::DB_MEMBER).await;
    auth.add_password(&email, &password(PW), &password(PW2))
        .await
        .unwrap();
    let with_old = sign_in(&auth, &email, PW).await;
    let with_new = sign_in(&auth, &email, PW2).await;
    auth.remove_password(&email, &password(PW)).await.unwrap();
    assert_ended(&auth, &with_old, "same-instant: removed password").await;
    assert_ended(&auth, &with_new, "same-instant: kept password").await;
    assert_live(&auth, &sign_in(&auth, &email, PW2).await, "new sign-in").await;
}

/// A re-hash (what a sign-in does after the hashing parameters went up, or a legacy hash is
/// upgraded) changes the stored hash only: the epoch, the password id, the issue date and
/// live sessions stay.
pub async fn a_rehash_ends_nothing(users: Arc<dyn UserAdmin>, lockout: Arc<dyn LockoutStore>) {
    let clock = ManualClock::starting_now();
    let auth = session_auth(Arc::clone(&users), lockout, &clock, AuthPolicy::default());
    let (email, uid) = user_with_role(&auth, "rehash", Role::DB_MEMBER).await;
    let token = sign_in(&auth, &email, PW).await;
    let before = users.find_by_uid(&uid).await.unwrap().unwrap();
    let old = before.passwords()[0].hash.clone();
    let new = auth.hashing().hash(&password(PW)).await.unwrap();
    assert!(users.replace_hash(&uid, &old, new).await.unwrap());
    let after = users.find_by_uid(&uid).await.unwrap().unwrap();
    assert_ne!(after.passwords()[0].hash, old);
    assert_eq!(after.password_issue_date(), before.password_issue_date());
    assert_eq!(
        password_id(&uid, after.passwords()[0].issued_at),
        password_id(&uid, before.passwords()[0].issued_at)
    );
    assert_live(&auth, &token, "after a re-hash").await;
    let again = sign_in(&auth, &email, PW).await;
    assert_eq!(again.claims.generation, token.claims.generation);
    assert_eq!(again.claims.pwd, token.claims.pwd);
}

/// Logout revokes that token only; `all` ends every session; a logged-out token cannot log
/// out again.
pub async fn logout_and_sign_out_everywhere(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let auth = session_auth(users, lockout, &clock, AuthPolicy::default());
    let (email, _) = user_with_role(&auth, "logout", Role::DB_MEMBER).await;
    let (a, b) = (
        sign_in(&auth, &email, PW).await,
        sign_in(&auth, &email, PW).await,
    );
    auth.logout(&a.token, false).await.unwrap();
    assert_ended(&auth, &a, "the logged-out token").await;
    assert_refused(&auth.logout(&a.token, false).await, "second logout");
    assert_live(&auth, &b, "another token of the same user").await;

    let c = sign_in(&auth, &email, PW).await;
    auth.logout(&b.token, true).await.unwrap();
    assert_ended(&auth, &b, "sign out everywhere: its own token").await;
    assert_ended(&auth, &c, "sign out everywhere: another token").await;
    assert_live(&auth, &sign_in(&auth, &email, PW).await, "a later sign-in").await;
}

/// Failed sign-ins that lock an account stop new password sign-ins, not live sessions.
pub async fn lockout_does_not_end_sessions(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let policy = AuthPolicy {
        lockout: LockoutPolicy {
            threshold: 3,
            duration_secs: 600,
            counter_reset_after_secs: 600,
        },
        ..AuthPolicy::default()
    };
    let auth = session_auth(users, lockout, &clock, policy);
    let (email, _) = user_with_role(&auth, "locked", Role::DB_MEMBER).await;
    let live = sign_in(&auth, &email, PW).await;
    for _ in 0..3 {
        let _ = auth
            .authorize(&email, &password("wrong"), Ttl::DEFAULT)
            .await;
    }
    assert_refused(
        &auth.authorize(&email, &password(PW), Ttl::DEFAULT).await,
        "sign-in while locked",
    );
    assert_live(&auth, &live, "a session started before the lockout").await;
}

/// `exp` is `min(iat + ttl, auth_time + max_session_lifetime)`; refresh keeps `auth_time`
/// and is refused once the lifetime is exceeded; `0` is unlimited.
pub async fn refresh_is_bounded_by_the_session_lifetime(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let policy = AuthPolicy {
        session: SessionPolicy {
            max_session_lifetime_secs: 100,
        },
        ..AuthPolicy::default()
    };
    let auth = session_auth(Arc::clone(&users), Arc::clone(&lockout), &clock, policy);
    let (email, _) = user_with_role(&auth, "lifetime", Role::DB_MEMBER).await;
    let first = auth
        .authorize(&email, &password(PW), Ttl::new(300).unwrap())
        .await
        .expect("a ttl above the lifetime is no error");
    assert_eq!(first.claims.exp, first.claims.auth_time + 100);
    let short = auth
        .authorize(&email, &password(PW), Ttl::new(30).unwrap())
        .await
        .unwrap();
    assert_eq!(short.claims.exp, short.claims.iat + 30);

    clock.advance(Duration::seconds(60));
    let second = auth
        .refresh(&first.token, Ttl::new(30).unwrap())
        .await
        .unwrap();
    assert_eq!(second.claims.auth_time, first.claims.auth_time);
    assert_eq!(second.claims.exp, second.claims.iat + 30);
    let third = auth
        .refresh(&second.token, Ttl::new(300).unwrap())
        .await
        .unwrap();
    assert_eq!(third.claims.exp, first.claims.auth_time + 100, "capped");

    clock.advance(Duration::seconds(40)); // now - auth_time = 100: not exceeded
    assert!(auth.refresh(&third.token, Ttl::DEFAULT).await.is_ok());
    clock.advance(Duration::seconds(1)); // 101 > 100, and the token still verifies (leeway)
    assert!(auth.verify_token(&third.token).is_ok());
    assert_refused(
        &auth.refresh(&third.token, Ttl::DEFAULT).await,
        "refresh past the session lifetime",
    );

    let unlimited = AuthPolicy {
        session: SessionPolicy {
            max_session_lifetime_secs: 0,
        },
        ..AuthPolicy::default()
    };
    let auth = session_auth(users, lockout, &clock, unlimited);
    let t = auth
        .authorize(&email, &password(PW), Ttl::new(86_400).unwrap())
        .await
        .unwrap();
    assert_eq!(t.claims.exp, t.claims.iat + 86_400);
    // 60 hours of refreshes, each within its token's day: no bound.
    let mut token = t;
    for _ in 0..3 {
        clock.advance(Duration::hours(20));
        token = auth
            .refresh(&token.token, Ttl::new(86_400).unwrap())
            .await
            .unwrap();
    }
}
