//! The framework-free response and the JSON error body.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// `{"error_code": "...", "message": "..."}`, the body of every error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine code (`invalid_request`, `unauthorized`, `password_expired`, ...).
    pub error_code: String,
    /// Human-readable text; never a secret.
    pub message: String,
}

/// An HTTP response, framework-free: an adapter copies status, headers and body as they are.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(&'static str, String)>,
    /// The body (JSON; empty only for `HEAD`-like cases an adapter handles itself).
    pub body: Vec<u8>,
}

impl fmt::Debug for ApiResponse {
    // The body may hold a token: show only its size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

const JSON: &str = "application/json";

impl ApiResponse {
    /// A JSON response.
    #[must_use]
    pub fn json<T: Serialize + ?Sized>(status: u16, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(body) => Self {
                status,
                headers: vec![("content-type", JSON.to_owned())],
                body,
            },
            Err(e) => Self::error(&Error::Internal(format!("response serialization: {e}"))),
        }
    }

    /// Marks the response as not to be stored by any cache (`Cache-Control: no-store` and, for
    /// HTTP/1.0 caches, `Pragma: no-cache`): every answer of the users API may carry a token or
    /// user data (RFC 6749 section 5.1). Only the JWKS and the OpenAPI document stay cacheable.
    pub fn forbid_caching(&mut self) {
        if self.header("cache-control").is_none() {
            self.headers.push(("cache-control", "no-store".to_owned()));
        }
        if self.header("pragma").is_none() {
            self.headers.push(("pragma", "no-cache".to_owned()));
        }
    }

    /// `200 {}`: success without anything to return (password changes, user deletion).
    #[must_use]
    pub fn ok_empty() -> Self {
        Self::json(200, &serde_json::Map::new())
    }

    /// The response for an error: its status, `{"error_code","message"}`, and `Retry-After`
    /// when retrying helps. Server-side failures are logged here, with their cause, which
    /// never reaches the client.
    #[must_use]
    pub fn error(err: &Error) -> Self {
        let status = err.http_status();
        // Overload refusals are counted and logged in aggregate by the hashing engine: one
        // line each would let a flood fill the disk.
        if status >= 500 && !matches!(err, Error::Overloaded { .. }) {
            let cause = std::error::Error::source(err).map(ToString::to_string);
            tracing::warn!(error = %err, cause = cause.as_deref().unwrap_or(""), "request failed on the server side");
        }
        let mut out = Self::error_parts(status, err.error_code(), &err.client_message());
        if status == 401 {
            // RFC 9110: a 401 names the schemes that would work.
            out.headers
                .push(("www-authenticate", r#"Bearer realm="authcore""#.to_owned()));
        }
        if let Some(after) = err.retry_after() {
            // Whole seconds, rounded up (an expected wait of 1.05 s is "2"), at least 1.
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            out.headers.push(("retry-after", secs.max(1).to_string()));
        }
        out
    }

    fn error_parts(status: u16, code: &str, message: &str) -> Self {
        let body = ErrorBody {
            error_code: code.to_owned(),
            message: message.to_owned(),
        };
        // An ErrorBody always serializes; the fallback keeps this infallible without a panic.
        let body = serde_json::to_vec(&body).unwrap_or_default();
        Self {
            status,
            headers: vec![("content-type", JSON.to_owned())],
            body,
        }
    }

    /// `404 not_found` for a path no route serves.
    #[must_use]
    pub fn not_found() -> Self {
        Self::error_parts(404, "not_found", "no such route")
    }

    /// `405 method_not_allowed` with an `Allow` header listing `allowed`.
    #[must_use]
    pub fn method_not_allowed(allowed: &[&str]) -> Self {
        let mut out = Self::error_parts(405, "method_not_allowed", "method not allowed");
        out.headers.push(("allow", allowed.join(", ")));
        out
    }

    /// `413 payload_too_large` for a body over `limit` bytes.
    #[must_use]
    pub fn payload_too_large(limit: usize) -> Self {
        Self::error_parts(
            413,
            "payload_too_large",
            &format!("the request body exceeds {limit} bytes"),
        )
    }

    /// `400 invalid_request` for a body the transport could not read (a broken chunked
    /// encoding, a reset connection).
    #[must_use]
    pub fn unreadable_body() -> Self {
        Self::error(&Error::InvalidRequest(
            "the request body could not be read".into(),
        ))
    }

    /// The value of a header, by lower-case name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl From<Error> for ApiResponse {
    fn from(err: Error) -> Self {
        Self::error(&err)
    }
}

impl<T: Serialize> From<crate::Result<T>> for ApiResponse {
    fn from(result: crate::Result<T>) -> Self {
        match result {
            Ok(body) => Self::json(200, &body),
            Err(e) => Self::error(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn error_bodies() {
        let r = ApiResponse::error(&Error::Unauthorized);
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Bearer realm="authcore""#)
        );
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            r#"{"error_code":"unauthorized","message":"unauthorized"}"#
        );
        let r = ApiResponse::error(&Error::Overloaded {
            retry_after: Duration::from_millis(200),
        });
        assert_eq!(r.status, 503);
        assert_eq!(r.header("retry-after"), Some("1"));
        let r = ApiResponse::method_not_allowed(&["GET", "POST"]);
        assert_eq!(r.header("allow"), Some("GET, POST"));
        assert_eq!(ApiResponse::payload_too_large(10).status, 413);
    }
}
