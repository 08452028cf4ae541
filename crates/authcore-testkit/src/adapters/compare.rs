//! One answer of the adapter against the core's own answer to the same request, and against
//! what the case says it must be.

use authcore_core::http::ApiResponse;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, Response};
use serde_json::Value;

use super::cases::Case;
use super::world::World;

/// Headers a transport adds on its own: allowed in the adapter's answer beyond the core's.
const TRANSPORT_HEADERS: &[&str] = &[
    "content-length",
    "date",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

/// What replaces a token in a body before the bytes are compared.
const TOKEN_PLACEHOLDER: &[u8] = b"<access_token>";

fn lossy(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(300) {
        Some((end, _)) => format!("{:?}...", &text[..end]),
        None => format!("{text:?}"),
    }
}

/// The `access_token` of a token answer.
fn access_token(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(map) => map.get("access_token")?.as_str().map(str::to_owned),
        _ => None,
    }
}

fn error_code(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("error_code")?.as_str().map(str::to_owned)
}

/// `body` with every occurrence of `token` replaced by [`TOKEN_PLACEHOLDER`].
fn without_token(body: &[u8], token: &str) -> Vec<u8> {
    let needle = token.as_bytes();
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if !needle.is_empty() && body[i..].starts_with(needle) {
            out.extend_from_slice(TOKEN_PLACEHOLDER);
            i += needle.len();
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

/// What a token means in its world: its JOSE header, and its claims (verified by the world
/// that minted it) with `jti` and `sid` replaced by the name of the token they refer to.
fn meaning(world: &World, token: &str) -> Result<Value, String> {
    let header = token
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .ok_or_else(|| "its JOSE header does not decode".to_owned())?;
    let claims = world
        .auth
        .verify_token(token)
        .map_err(|e| format!("it does not verify: {e}"))?;
    let mut claims = serde_json::to_value(&claims).map_err(|e| e.to_string())?;
    let name_of = |id: &Value| match id.as_str().and_then(|id| world.jti_names.get(id)) {
        Some(name) => Value::from(name.as_str()),
        None if id.is_null() => Value::Null,
        None => Value::from("<an id this world never issued before>"),
    };
    if let Value::Object(map) = &mut claims {
        for field in ["jti", "sid"] {
            if let Some(id) = map.get(field) {
                let named = name_of(id);
                map.insert(field.to_owned(), named);
            }
        }
    }
    Ok(serde_json::json!({"header": header, "claims": claims}))
}

/// The two worlds of a run, and the headers the adapter may add beyond the transport's.
pub(super) struct Judge<'a> {
    pub(super) reference: &'a mut World,
    pub(super) tested: &'a mut World,
    pub(super) extra_headers: &'a [HeaderName],
}

impl Judge<'_> {
    /// Every difference between the adapter's answer `got` and the core's `want` to the same
    /// request, and from the case's status and code. `label` names the case (new tokens are
    /// named after it in both worlds).
    pub(super) fn problems(
        &mut self,
        case: &Case,
        label: &str,
        want: &ApiResponse,
        got: &Response<Bytes>,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        let head = case.method == "HEAD";
        let got_status = got.status().as_u16();
        if want.status != case.status {
            problems.push(format!(
                "the core's own dispatch answers {}, the suite expects {} (a core change the \
                 suite does not know, or a core bug)",
                want.status, case.status
            ));
        }
        if got_status != want.status {
            problems.push(format!(
                "status {got_status}, the core answers {}",
                want.status
            ));
        } else if got_status != case.status {
            problems.push(format!("status {got_status}, expected {}", case.status));
        }
        if let Some(code) = case.code {
            let got_code = error_code(got.body());
            if got_code.as_deref() != Some(code) {
                problems.push(format!(
                    "error_code {got_code:?}, expected {code:?} (body {})",
                    lossy(got.body())
                ));
            }
        }
        self.headers(head, want, got, &mut problems);
        if head {
            if !got.body().is_empty() {
                problems.push(format!(
                    "a body in the answer to HEAD: {}",
                    lossy(got.body())
                ));
            }
        } else {
            self.body(label, want, got, &mut problems);
        }
        problems
    }

    fn headers(
        &self,
        head: bool,
        want: &ApiResponse,
        got: &Response<Bytes>,
        problems: &mut Vec<String>,
    ) {
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in &want.headers {
            if !names.contains(name) {
                names.push(name);
            }
        }
        for name in &names {
            let wanted: Vec<&str> = want
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            let seen: Vec<String> = got
                .headers()
                .get_all(*name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            if seen != wanted {
                problems.push(format!(
                    "header {name}: {seen:?}, the core answers {wanted:?}"
                ));
            }
        }
        for name in got.headers().keys() {
            let known = names.iter().any(|n| name.as_str().eq_ignore_ascii_case(n))
                || TRANSPORT_HEADERS.contains(&name.as_str())
                || self.extra_headers.contains(name);
            if !known {
                problems.push(format!(
                    "header {name} added by the adapter (the core sends none; allow it with \
                     AdapterSuite::allow_header if it is the adapter's own)"
                ));
            }
        }
        if let Some(length) = got.headers().get(http::header::CONTENT_LENGTH) {
            let length = String::from_utf8_lossy(length.as_bytes());
            let body_len = if head {
                want.body.len()
            } else {
                got.body().len()
            };
            // A HEAD answer may say the length of the GET body, or nothing of it.
            let fine = length == body_len.to_string() || (head && length == "0");
            if !fine {
                problems.push(format!(
                    "content-length {length}, the body has {body_len} bytes"
                ));
            }
        }
    }

    fn body(
        &mut self,
        label: &str,
        want: &ApiResponse,
        got: &Response<Bytes>,
        problems: &mut Vec<String>,
    ) {
        let (want_token, got_token) = (access_token(&want.body), access_token(got.body()));
        let (want_body, got_body) = match (&want_token, &got_token) {
            (Some(w), Some(g)) => (without_token(&want.body, w), without_token(got.body(), g)),
            _ => (want.body.clone(), got.body().to_vec()),
        };
        if want_body != got_body {
            problems.push(format!(
                "body {}, the core answers {}",
                lossy(&got_body),
                lossy(&want_body)
            ));
        }
        match (want_token, got_token) {
            (Some(w), Some(g)) => {
                match (meaning(self.reference, &w), meaning(self.tested, &g)) {
                    (Ok(w_meaning), Ok(g_meaning)) if w_meaning == g_meaning => {}
                    (Ok(w_meaning), Ok(g_meaning)) => {
                        problems.push(format!("token {g_meaning}, the core's means {w_meaning}"))
                    }
                    (Err(e), _) => problems.push(format!("the core's token: {e}")),
                    (_, Err(e)) => problems.push(format!("the adapter's token: {e}")),
                }
                let name = format!("the token of {label}");
                for (world, token) in [(&mut *self.reference, &w), (&mut *self.tested, &g)] {
                    if let Ok(claims) = world.auth.verify_token(token) {
                        world.jti_names.insert(claims.jti, name.clone());
                    }
                }
            }
            (None, None) => {}
            (Some(_), None) => problems.push("no access_token, the core answers one".into()),
            (None, Some(_)) => problems.push("an access_token the core does not answer".into()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_everywhere() {
        assert_eq!(
            without_token(br#"{"access_token":"a.b.c","x":"a.b.c"}"#, "a.b.c"),
            br#"{"access_token":"<access_token>","x":"<access_token>"}"#.to_vec()
        );
        assert_eq!(without_token(b"abc", ""), b"abc".to_vec());
    }

    #[test]
    fn codes_and_tokens_are_read_from_json() {
        assert_eq!(
            error_code(br#"{"error_code":"not_found","message":"m"}"#).as_deref(),
            Some("not_found")
        );
        assert_eq!(error_code(b"not json"), None);
        assert_eq!(
            access_token(br#"{"access_token":"t"}"#).as_deref(),
            Some("t")
        );
        assert_eq!(access_token(br#"["access_token"]"#), None);
    }

    /// A bug the adapter shares with the core (both answer 400 where the case says 404
    /// `not_found`) is no difference between them, and still fails.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_bug_shared_with_the_core_fails_on_the_expectation() {
        use std::sync::Arc;

        use super::super::cases::{Auth, Body};
        use crate::ManualClock;

        let clock = ManualClock::starting_now();
        let store = || Arc::new(authcore_memory::MemoryStore::new());
        let mut reference = World::build(store(), &clock).await.unwrap();
        let mut tested = World::build(store(), &clock).await.unwrap();
        let case = Case {
            method: "GET",
            target: std::borrow::Cow::Borrowed("/no/such/route"),
            auth: Auth::None,
            content_type: None,
            body: Body::Empty,
            status: 404,
            code: Some("not_found"),
        };
        let mut shared_bug = ApiResponse::not_found();
        shared_bug.status = 400;
        let got = as_http(&shared_bug);
        let mut judge = Judge {
            reference: &mut reference,
            tested: &mut tested,
            extra_headers: &[],
        };
        let problems = judge.problems(&case, "case", &shared_bug, &got);
        assert!(
            problems.iter().any(|p| p.contains("the suite expects 404")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p == "status 400, expected 404"),
            "{problems:?}"
        );
        // And the faithful answer passes.
        let right = ApiResponse::not_found();
        let got = as_http(&right);
        assert_eq!(
            judge.problems(&case, "case", &right, &got),
            Vec::<String>::new()
        );
    }

    /// `res` as an adapter that copies it faithfully answers it.
    pub(in crate::adapters) fn as_http(res: &ApiResponse) -> Response<Bytes> {
        let mut got = Response::new(Bytes::from(res.body.clone()));
        *got.status_mut() = http::StatusCode::from_u16(res.status).unwrap();
        for (name, value) in &res.headers {
            got.headers_mut()
                .append(*name, http::HeaderValue::from_str(value).unwrap());
        }
        got
    }
}
