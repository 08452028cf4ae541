//! JWT access tokens: a key ring with rotation, minting, verification and JWKS.
//!
//! The crypto backend of `jsonwebtoken` 11 is chosen here and only here (`rust_crypto`, in
//! this crate's `Cargo.toml`): with none, or two, it panics at first use. The tests in this
//! module encode and decode with every supported algorithm, so a wrong selection fails them.
//!
//! `claims` holds what a token says, `keys` the keys, key ring and JWKS, `issuer` minting and
//! verification.

mod claims;
mod issuer;
mod keys;

pub use claims::{Claims, IssuedToken, SessionClaims, Ttl};
pub use issuer::{MAX_TOKEN_LEN, TokenConfig, TokenIssuer};
pub use keys::{Key, KeyRing, MIN_HMAC_SECRET_LEN, SigningAlgorithm};

#[cfg(test)]
mod tests;
