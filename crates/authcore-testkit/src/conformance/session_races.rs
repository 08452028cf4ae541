//! Logout and refresh: a session is a sign-in's token and every token refreshed from it, and a
//! logout ends all of them, whatever order refreshes and the logout run in.

use std::sync::Arc;

use authcore_core::Clock as _;
use authcore_core::{
    AuthPolicy, LockoutStore, Role, Ttl, UserAdmin, UserId, fresh_record_in_three_reads,
};

use super::sessions::{
    PW, assert_ended, assert_live, assert_refused, kept_sessions, member_on_fresh_auth,
    session_auth, sign_in, user_with_role,
};
use crate::ManualClock;

/// A logout ends the session of the token it is given: that token, the tokens refreshed from
/// it before the logout, and the ones refreshed from those; another sign-in of the same user
/// is another session and stays live. A second logout of the same session is refused.
pub async fn a_logout_ends_the_tokens_refreshed_from_it(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let auth = session_auth(users, lockout, &clock, AuthPolicy::default());
    let (email, _) = user_with_role(&auth, "chain", Role::DB_MEMBER).await;
    let first = sign_in(&auth, &email, PW).await;
    let other = sign_in(&auth, &email, PW).await;
    let child = auth.refresh(&first.token, Ttl::DEFAULT).await.unwrap();
    let grandchild = auth.refresh(&child.token, Ttl::DEFAULT).await.unwrap();
    assert_eq!(child.claims.session_id(), first.claims.jti);
    assert_eq!(grandchild.claims.session_id(), first.claims.jti);
    assert_ne!(other.claims.session_id(), first.claims.session_id());

    // Logging out the middle token ends the whole chain, the older token included.
    auth.logout(&child.token, false).await.unwrap();
    assert_ended(&auth, &first, "the token the session started with").await;
    assert_ended(&auth, &child, "the logged-out token").await;
    assert_ended(
        &auth,
        &grandchild,
        "a token refreshed from the logged-out one",
    )
    .await;
    assert_refused(
        &auth.logout(&grandchild.token, false).await,
        "a second logout",
    );
    assert_live(&auth, &other, "another session of the same user").await;
}

/// `rounds` times: a fresh sign-in, then a refresh of its token and a logout of it released
/// at the same instant. Whichever wins, once both returned, the token a successful refresh
/// handed out is refused by the fresh check and by refresh, like the logged-out token, while
/// a session of the same user that was not logged out stays live.
///
/// The guarantee tested: a refresh never yields a token that outlives a logout of its
/// session, whether the refresh ran before, during or after the logout.
pub async fn a_refresh_racing_a_logout_never_outlives_it(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
    rounds: usize,
) {
    let clock = ManualClock::starting_now();
    let auth = session_auth(users, lockout, &clock, AuthPolicy::default());
    let (email, _) = user_with_role(&auth, "logout-race", Role::DB_MEMBER).await;
    let bystander = sign_in(&auth, &email, PW).await;
    for round in 0..rounds {
        let token = sign_in(&auth, &email, PW).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let refresh = {
            let (auth, barrier, token) = (auth.clone(), Arc::clone(&barrier), token.token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                auth.refresh(&token, Ttl::DEFAULT).await
            })
        };
        let logout = {
            let (auth, barrier, token) = (auth.clone(), Arc::clone(&barrier), token.token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                auth.logout(&token, false).await
            })
        };
        let (refreshed, logged_out) = (refresh.await.unwrap(), logout.await.unwrap());
        logged_out.unwrap_or_else(|e| panic!("round {round}: logout failed: {e:?}"));
        assert_ended(&auth, &token, "the logged-out token").await;
        match refreshed {
            Ok(issued) => {
                assert_ended(
                    &auth,
                    &issued,
                    "a token refreshed in a race with its logout",
                )
                .await;
            }
            Err(e) => assert_refused(&Err::<(), _>(e), "a refresh losing to a logout"),
        }
    }
    assert_live(&auth, &bystander, "a session that was not logged out").await;
}

/// [`UserStore::find_fresh`](authcore_core::UserStore::find_fresh) (what the fresh check
/// reads, in one round trip where the store overrides it) answers exactly as the three
/// separate reads do ([`fresh_record_in_three_reads`]): for a new user, after epoch advances,
/// for a revoked and a live session, with several passwords, and `None` for uids the store
/// does not have.
pub async fn find_fresh_matches_three_reads(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let sessions = kept_sessions(&*lockout);
    let (clock, _auth, _, uid) = member_on_fresh_auth(&users, &lockout, "find-fresh").await;
    let (sid, other) = (
        format!("sid-{}", uuid::Uuid::new_v4()),
        format!("sid-{}", uuid::Uuid::new_v4()),
    );
    let check = |expected_epoch: u64, expected_revoked: bool, what: &'static str| {
        let (users, uid, sid) = (Arc::clone(&users), uid.clone(), sid.clone());
        async move {
            let one = users.find_fresh(&uid, &sid, sessions).await.unwrap();
            let three = fresh_record_in_three_reads(&*users, &uid, &sid, sessions)
                .await
                .unwrap();
            assert_eq!(one, three, "{what}");
            let record = one.unwrap_or_else(|| panic!("{what}: the user is there"));
            assert_eq!(
                Some(&record.user),
                users.find_by_uid(&uid).await.unwrap().as_ref()
            );
            assert_eq!(
                (record.epoch, record.revoked),
                (expected_epoch, expected_revoked),
                "{what}"
            );
        }
    };
    check(0, false, "a new user").await;
    sessions.advance_epoch(&uid).await.unwrap();
    sessions.advance_epoch(&uid).await.unwrap();
    check(2, false, "after two advances").await;
    let now = clock.now();
    sessions
        .revoke(&sid, now + time::Duration::hours(1), now)
        .await
        .unwrap();
    check(2, true, "a revoked session").await;
    let live = users.find_fresh(&uid, &other, sessions).await.unwrap();
    assert_eq!(live.map(|r| r.revoked), Some(false), "another session");
    users
        .add_password(&uid, super::stored(7, super::t(100)), 3)
        .await
        .unwrap();
    check(2, true, "with two passwords").await;
    assert_eq!(
        users
            .find_fresh(&uid, &sid, sessions)
            .await
            .unwrap()
            .map(|r| r.user.passwords().len()),
        Some(2)
    );
    for unknown in [
        UserId::from(u64::from(u32::MAX) * 7 + 1),
        UserId::new("cn=nobody,dc=example,dc=org"),
    ] {
        assert_eq!(
            users.find_fresh(&unknown, &sid, sessions).await.unwrap(),
            None,
            "{unknown:?}"
        );
        assert_eq!(
            fresh_record_in_three_reads(&*users, &unknown, &sid, sessions)
                .await
                .unwrap(),
            None
        );
    }
}

/// Refreshes of a logged-out token released at the same instant all fail, and none of the
/// refreshes racing a logout leaves a token that outlives it.
pub async fn concurrent_refreshes_after_a_logout_all_fail(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let clock = ManualClock::starting_now();
    let auth = session_auth(users, lockout, &clock, AuthPolicy::default());
    let (email, _) = user_with_role(&auth, "race", Role::DB_MEMBER).await;
    let token = sign_in(&auth, &email, PW).await;
    let n = 16;
    let barrier = Arc::new(tokio::sync::Barrier::new(n + 1));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (auth, barrier, token) = (auth.clone(), Arc::clone(&barrier), token.token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                auth.refresh(&token, Ttl::DEFAULT).await
            })
        })
        .collect();
    barrier.wait().await;
    auth.logout(&token.token, true).await.unwrap();
    for t in tasks {
        // Won or lost the race, every token minted from the logged-out one is dead now.
        if let Ok(issued) = t.await.unwrap() {
            assert_ended(&auth, &issued, "a refresh racing sign-out-everywhere").await;
        }
    }
    let after: Vec<_> = (0..n)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.token.clone());
            tokio::spawn(async move { auth.refresh(&token, Ttl::DEFAULT).await })
        })
        .collect();
    for t in after {
        assert_refused(&t.await.unwrap(), "refresh after sign-out-everywhere");
    }
}
