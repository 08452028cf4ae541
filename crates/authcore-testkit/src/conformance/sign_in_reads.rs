//! What a password sign-in reads before it judges the password: the user with its session
//! epoch ([`authcore_core::UserStore::find_for_sign_in`]), and the session a sign-in opens carrying that
//! epoch, not one read later.

use std::sync::Arc;

use async_trait::async_trait;
use authcore_core::{
    AttemptOutcome, AuthPolicy, LockoutPolicy, LockoutState, LockoutStore, Reservation,
    ReservationPolicy, Reserve, Result, Role, SessionStore, UserAdmin, UserId, normalize_username,
    sign_in_record_in_two_reads,
};
use time::OffsetDateTime;

use super::sessions::{
    PW, assert_ended, kept_sessions, member_on_fresh_auth, session_auth, sign_in, user_with_role,
};
use crate::fixtures::password;

/// [`authcore_core::UserStore::find_for_sign_in`] (one round trip where the store overrides it) answers
/// exactly as the two separate reads do ([`sign_in_record_in_two_reads`]): for a new user,
/// after epoch advances, with several passwords, and `None` for names the store does not
/// have.
pub async fn find_for_sign_in_matches_two_reads(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let sessions = kept_sessions(&*lockout);
    let (_clock, auth, email, uid) = member_on_fresh_auth(&users, &lockout, "Sign-In-Reads").await;
    let name = normalize_username(&email);
    let check = |expected_epoch: u64, what: &'static str| {
        let (users, name) = (Arc::clone(&users), name.clone());
        async move {
            let one = users.find_for_sign_in(&name, sessions).await.unwrap();
            let two = sign_in_record_in_two_reads(&*users, &name, sessions)
                .await
                .unwrap();
            assert_eq!(one, two, "{what}");
            let record = one.unwrap_or_else(|| panic!("{what}: the user is there"));
            assert_eq!(
                Some(&record.user),
                users.find_by_username(&name).await.unwrap().as_ref(),
                "{what}"
            );
            assert_eq!(record.epoch, expected_epoch, "{what}");
        }
    };
    check(0, "a new user").await;
    sessions.advance_epoch(&uid).await.unwrap();
    sessions.advance_epoch(&uid).await.unwrap();
    check(2, "after two advances").await;
    users
        .add_password(&uid, super::stored(7, super::t(100)), 3)
        .await
        .unwrap();
    check(2, "with two passwords").await;
    assert_eq!(
        users
            .find_for_sign_in(&name, sessions)
            .await
            .unwrap()
            .map(|r| r.user.passwords().len()),
        Some(2)
    );
    // Another user's epoch is not this one's.
    let (other_email, other_uid) = user_with_role(&auth, "sign-in-reads-2", Role::DB_MEMBER).await;
    sessions.advance_epoch(&other_uid).await.unwrap();
    check(2, "after another user's advance").await;
    let other = users
        .find_for_sign_in(&normalize_username(&other_email), sessions)
        .await
        .unwrap()
        .expect("the other user");
    assert_eq!((other.user.uid, other.epoch), (other_uid, 1));
    for unknown in [
        format!("nobody-{}@example.test", uuid::Uuid::new_v4().simple()),
        String::new(),
        "x".repeat(300),
    ] {
        assert_eq!(
            users.find_for_sign_in(&unknown, sessions).await.unwrap(),
            None,
            "{unknown:?}"
        );
        assert_eq!(
            sign_in_record_in_two_reads(&*users, &unknown, sessions)
                .await
                .unwrap(),
            None
        );
    }
}

/// A lockout store that advances the user's epoch (a logout everywhere) when a successful
/// attempt is settled: a change that lands while the password is being judged.
#[derive(Debug)]
struct EpochAdvancesDuringTheCheck(Arc<dyn LockoutStore>);

#[async_trait]
impl LockoutStore for EpochAdvancesDuringTheCheck {
    async fn reserve(
        &self,
        reservation: &Reservation,
        policy: &LockoutPolicy,
        reservations: &ReservationPolicy,
    ) -> Result<Reserve> {
        self.0.reserve(reservation, policy, reservations).await
    }

    async fn settle(
        &self,
        reservation: &Reservation,
        outcome: AttemptOutcome,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<Option<LockoutState>> {
        if outcome == AttemptOutcome::Success
            && let Some(sessions) = self.0.sessions()
        {
            sessions.advance_epoch(&reservation.uid).await?;
        }
        self.0.settle(reservation, outcome, now, policy).await
    }

    async fn state(&self, uid: &UserId) -> Result<Option<LockoutState>> {
        self.0.state(uid).await
    }

    async fn record_failure(
        &self,
        uid: &UserId,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<LockoutState> {
        self.0.record_failure(uid, now, policy).await
    }

    async fn clear(&self, uid: &UserId) -> Result<()> {
        self.0.clear(uid).await
    }

    fn sessions(&self) -> Option<&dyn SessionStore> {
        self.0.sessions()
    }
}

/// A sign-in's session carries the epoch read with the user, before the password was
/// judged: a logout everywhere that lands during the check (here: just before the
/// settlement) ends the token that sign-in returns, and the identity Basic credentials
/// yield carries the epoch of before the change too. Without such a change the token is
/// live and carries the current epoch.
pub async fn a_change_during_the_check_ends_the_new_session(
    users: Arc<dyn UserAdmin>,
    lockout: Arc<dyn LockoutStore>,
) {
    let (clock, plain, email, uid) =
        member_on_fresh_auth(&users, &lockout, "epoch-during-check").await;
    let sessions = kept_sessions(&*lockout);
    sessions.advance_epoch(&uid).await.unwrap();
    let quiet = sign_in(&plain, &email, PW).await;
    assert_eq!(quiet.claims.generation, 1);
    assert!(plain.check_fresh(&quiet.token).await.is_ok());

    let racing = session_auth(
        users,
        Arc::new(EpochAdvancesDuringTheCheck(Arc::clone(&lockout))),
        &clock,
        AuthPolicy::default(),
    );
    let token = sign_in(&racing, &email, PW).await;
    assert_eq!(sessions.epoch(&uid).await.unwrap(), 2);
    assert_eq!(
        token.claims.generation, 1,
        "the epoch as of before the check"
    );
    assert_ended(&plain, &token, "a sign-in a logout everywhere overtook").await;
    // The earlier session ended with the same advance.
    assert_ended(&plain, &quiet, "a session before the logout everywhere").await;

    let claims = racing
        .authenticate_basic(&email, &password(PW))
        .await
        .unwrap();
    assert_eq!(sessions.epoch(&uid).await.unwrap(), 3);
    assert_eq!(
        claims.generation, 2,
        "Basic: the epoch as of before the check"
    );
}
