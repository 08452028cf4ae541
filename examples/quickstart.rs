//! The smallest complete use of authcore: an in-memory user store, one user, a sign-in, and
//! the access token with its verified claims.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::sync::Arc;

use authcore::memory::MemoryStore;
use authcore::secrecy::SecretSlice;
use authcore::{Authenticator, CreateUser, Key, KeyRing, Password, Role, Ttl};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One store serves users and lockout bookkeeping.
    let store = Arc::new(MemoryStore::new());

    // A real deployment reads a 32+ byte secret from its configuration.
    let secret = SecretSlice::from(b"quickstart-secret-at-least-32-bytes!".to_vec());
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store)
        .keys(KeyRing::new(Key::hs256("quickstart", &secret)?)?)
        .build()?; // argon2id m=19456 KiB, t=2, p=1; Redis lockout defaults

    auth.create_user_unchecked(CreateUser {
        email: "ann@example.org".into(),
        password: Password::from("Correct-Horse-Battery-9".to_owned()),
        name: Some("Ann".into()),
        role: Role::ADMIN,
    })
    .await?;

    let issued = auth
        .authorize(
            "Ann@Example.org", // usernames compare case-insensitively
            &Password::from("Correct-Horse-Battery-9".to_owned()),
            Ttl::new(600)?,
        )
        .await?;
    println!("access_token: {}", issued.token);

    let claims = auth.verify_token(&issued.token)?;
    println!("claims: {}", serde_json::to_string_pretty(&claims)?);

    let wrong = auth
        .authorize(
            "ann@example.org",
            &Password::from("guess".to_owned()),
            Ttl::DEFAULT,
        )
        .await;
    if let Err(err) = wrong {
        println!(
            "wrong password: {} ({})",
            err.error_code(),
            err.http_status()
        );
    }
    Ok(())
}
