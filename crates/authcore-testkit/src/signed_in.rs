//! Acting as a signed-in user in an application's own tests.

use std::fmt;

use authcore_core::{Authenticator, CreateUser, IssuedToken, Password, Result, Role, Ttl, UserId};

use crate::fixtures::unique_email;

/// A user created for a test and signed in with a password, the way a real client would be:
/// its token passes the stateless and the fresh checks until the test changes the user (or
/// logs the token out). Made by [`signed_in`].
#[derive(Clone)]
pub struct SignedIn {
    /// The user's uid.
    pub uid: UserId,
    /// The user's e-mail (login name), unique to this test.
    pub email: String,
    /// The user's password (random), for tests that sign in again.
    pub password: Password,
    /// The token of the sign-in.
    pub token: IssuedToken,
}

impl SignedIn {
    /// The `Authorization` header value for the token: `Bearer <token>`.
    #[must_use]
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token.token)
    }

    /// The `Authorization` header value in Redis's scheme: `JWT <token>`.
    #[must_use]
    pub fn jwt(&self) -> String {
        format!("JWT {}", self.token.token)
    }
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("uid", &self.uid)
            .field("email", &self.email)
            .field("password", &"[REDACTED]")
            .field("token", &self.token)
            .finish()
    }
}

/// Creates a user with `role` (a unique e-mail, a random password that meets any complexity
/// policy) through `auth` and signs it in with that password: one line to act as a signed-in
/// user in a test of a protected route, with no hand-made JWT.
///
/// ```
/// use std::sync::Arc;
/// use authcore_core::{AuthPolicy, Role};
/// use authcore_testkit::{ManualClock, fixtures::authenticator, signed_in};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> authcore_core::Result<()> {
/// let store = Arc::new(authcore_memory::MemoryStore::new());
/// let auth = authenticator(store.clone(), store, &ManualClock::starting_now(), AuthPolicy::default())?;
///
/// let admin = signed_in(&auth, Role::ADMIN).await?;
/// // Send `admin.bearer()` as the `Authorization` header of a request to the route under test.
/// assert!(admin.bearer().starts_with("Bearer "));
/// let fresh = auth.check_fresh(&admin.token.token).await?;
/// assert_eq!(fresh.role(), &Role::ADMIN);
///
/// // Logged out, the same token is refused by the fresh check.
/// auth.logout(&admin.token.token, false).await?;
/// assert!(auth.check_fresh(&admin.token.token).await.is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
/// What [`Authenticator::create_user_unchecked`] and [`Authenticator::authorize`] return,
/// such as [`authcore_core::Error::InvalidRequest`] for a role the authenticator does not
/// allow.
pub async fn signed_in(auth: &Authenticator, role: Role) -> Result<SignedIn> {
    let email = unique_email("signed-in");
    // Upper and lower case, digits and a symbol: passes any complexity policy.
    let password = Password::from(format!("Tk-{}-9Az!", uuid::Uuid::new_v4().simple()));
    auth.create_user_unchecked(CreateUser {
        email: email.clone(),
        password: password.clone(),
        name: None,
        role,
    })
    .await?;
    let token = auth.authorize(&email, &password, Ttl::DEFAULT).await?;
    Ok(SignedIn {
        uid: token.claims.uid(),
        email,
        password,
        token,
    })
}
