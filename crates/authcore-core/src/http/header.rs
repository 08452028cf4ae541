//! Parsing an `Authorization` header value.

use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::{Error, Result};
use crate::user::Password;

/// Credentials from an `Authorization` header.
pub enum Authorization {
    /// `Basic base64(username:password)`.
    Basic {
        /// The username (e-mail).
        username: String,
        /// The password.
        password: Password,
    },
    /// `JWT <token>` (Redis's scheme) or `Bearer <token>` (RFC 6750).
    Token(String),
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"[REDACTED]")
                .finish(),
            Self::Token(_) => f.debug_tuple("Token").field(&"[REDACTED]").finish(),
        }
    }
}

/// Standard base64, padding optional (some clients strip it).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parses an `Authorization` header value. The scheme is case-insensitive: `Basic`, `JWT` and
/// `Bearer` are understood.
///
/// # Errors
/// - [`Error::InvalidRequest`] for a malformed value of a known scheme (bad base64, no `:` in
///   Basic credentials, an empty token, Basic credentials that are not UTF-8);
/// - [`Error::InvalidToken`] for a `JWT`/`Bearer` token that is not UTF-8 (no token is);
/// - [`Error::Unauthorized`] for an empty value or any other scheme.
pub fn parse_authorization(value: &[u8]) -> Result<Authorization> {
    let value = std::str::from_utf8(value).map_err(|_| {
        let scheme = value.trim_ascii_start();
        let scheme = scheme
            .split(u8::is_ascii_whitespace)
            .next()
            .unwrap_or_default();
        if scheme.eq_ignore_ascii_case(b"jwt") || scheme.eq_ignore_ascii_case(b"bearer") {
            Error::InvalidToken
        } else {
            Error::InvalidRequest("the Authorization header is not UTF-8".into())
        }
    })?;
    let value = value.trim();
    let (scheme, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let malformed = || Error::InvalidRequest("malformed Basic credentials".into());
        let decoded = BASE64.decode(rest).map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (username, password) = decoded.split_once(':').ok_or_else(malformed)?;
        Ok(Authorization::Basic {
            username: username.to_owned(),
            password: Password::from(password.to_owned()),
        })
    } else if scheme.eq_ignore_ascii_case("jwt") || scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() || rest.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(Error::InvalidRequest(format!(
                "malformed {scheme} credentials: expected `{scheme} <token>`"
            )));
        }
        Ok(Authorization::Token(rest.to_owned()))
    } else {
        Err(Error::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn basic(v: &str) -> (String, String) {
        match parse_authorization(v.as_bytes()).unwrap() {
            Authorization::Basic { username, password } => {
                (username, password.expose_secret().to_owned())
            }
            Authorization::Token(_) => panic!("not basic"),
        }
    }

    #[test]
    fn basic_schemes_any_case_and_padding() {
        let enc = base64::engine::general_purpose::STANDARD.encode("ann@x.org:pa:ss");
        assert_eq!(
            basic(&format!("Basic {enc}")),
            ("ann@x.org".into(), "pa:ss".into())
        );
        assert_eq!(basic(&format!("BASIC   {enc}  ")).0, "ann@x.org");
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("a:b");
        assert_eq!(
            basic(&format!("basic {unpadded}")),
            ("a".into(), "b".into())
        );
        let empty_pw = base64::engine::general_purpose::STANDARD.encode("a:");
        assert_eq!(
            basic(&format!("Basic {empty_pw}")),
            ("a".into(), String::new())
        );
    }

    #[test]
    fn token_schemes() {
        for v in [
            "JWT abc.def.ghi",
            "jwt abc.def.ghi",
            "Bearer abc.def.ghi",
            "BEARER  abc.def.ghi",
        ] {
            assert!(
                matches!(parse_authorization(v.as_bytes()).unwrap(), Authorization::Token(t) if t == "abc.def.ghi"),
                "{v}"
            );
        }
    }

    #[test]
    fn malformed_values() {
        let code = |v: &[u8]| parse_authorization(v).unwrap_err().error_code();
        assert_eq!(code(b"Basic !!!"), "invalid_request");
        assert_eq!(code(b"Basic bm9jb2xvbg=="), "invalid_request"); // "nocolon"
        assert_eq!(code(b"Basic"), "invalid_request");
        assert_eq!(code(b"Bearer"), "invalid_request");
        assert_eq!(code(b"JWT a b"), "invalid_request");
        assert_eq!(code(b"Basic \xff\xfe"), "invalid_request");
        assert!(matches!(
            parse_authorization(b"JWT a.\xff.c"),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            parse_authorization(b" bearer \xfe"),
            Err(Error::InvalidToken)
        ));
        assert_eq!(code(b"Digest x=y"), "unauthorized");
        assert_eq!(code(b""), "unauthorized");
    }

    #[test]
    fn debug_hides_secrets() {
        let enc = base64::engine::general_purpose::STANDARD.encode("ann:hunter2");
        let a = parse_authorization(format!("Basic {enc}").as_bytes()).unwrap();
        assert!(!format!("{a:?}").contains("hunter2"));
        let t = parse_authorization(b"JWT secret.token.value").unwrap();
        assert!(!format!("{t:?}").contains("secret"));
    }
}
