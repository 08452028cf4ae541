//! The requests of the suite, in the order they are sent (state carries over: a user created
//! by one case is read, updated and deleted by the next ones), each with the status and error
//! code it must get.

use std::borrow::Cow;

use super::world::Who;

/// The `Authorization` header of a case.
#[derive(Debug, Clone, Copy)]
pub(super) enum Auth {
    /// No header.
    None,
    /// `JWT <token>` of a signed-in user of the world.
    Jwt(Who),
    /// `Bearer <token>` of a signed-in user of the world.
    Bearer(Who),
    /// `Basic` with a user's e-mail and password.
    Basic(Who),
    /// A value as written.
    Raw(&'static str),
}

/// The body of a case.
#[derive(Debug, Clone, Copy)]
pub(super) enum Body {
    /// None.
    Empty,
    /// These bytes.
    Text(&'static str),
    /// One byte more than the adapter's body limit.
    OverLimit,
}

/// One request and what it must get.
#[derive(Debug, Clone)]
pub(super) struct Case {
    /// The method.
    pub(super) method: &'static str,
    /// The request target: path and query (owned for a probe made from the route table).
    pub(super) target: Cow<'static, str>,
    pub(super) auth: Auth,
    /// The `Content-Type` header.
    pub(super) content_type: Option<&'static str>,
    pub(super) body: Body,
    /// The status it must get.
    pub(super) status: u16,
    /// The `error_code` of the JSON error body it must get (`None` for a success).
    pub(super) code: Option<&'static str>,
}

impl Case {
    /// `METHOD target` as the case's name in reports.
    pub(super) fn name(&self) -> String {
        let auth = match self.auth {
            Auth::None => String::new(),
            Auth::Jwt(who) => format!(" as {who:?} (JWT)"),
            Auth::Bearer(who) => format!(" as {who:?} (Bearer)"),
            Auth::Basic(who) => format!(" as {who:?} (Basic)"),
            Auth::Raw(value) => format!(" with Authorization {value:?}"),
        };
        let body = match self.body {
            Body::Empty => String::new(),
            Body::Text(text) if text.len() <= 60 => format!(" {text}"),
            Body::Text(text) => format!(" {}...", text.get(..60).unwrap_or(text)),
            Body::OverLimit => " (body over the limit)".to_owned(),
        };
        format!("{} {}{auth}{body}", self.method, self.target)
    }
}

const JSON: Option<&str> = Some("application/json");

const fn case(
    method: &'static str,
    target: &'static str,
    auth: Auth,
    body: Body,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    let content_type = match body {
        Body::Empty => None,
        _ => JSON,
    };
    Case {
        method,
        target: Cow::Borrowed(target),
        auth,
        content_type,
        body,
        status,
        code,
    }
}

const fn ok(method: &'static str, target: &'static str, auth: Auth, body: Body) -> Case {
    case(method, target, auth, body, 200, None)
}

const fn err(
    method: &'static str,
    target: &'static str,
    auth: Auth,
    body: Body,
    status: u16,
    code: &'static str,
) -> Case {
    case(method, target, auth, body, status, Some(code))
}

const fn with_content_type(mut c: Case, content_type: Option<&'static str>) -> Case {
    c.content_type = content_type;
    c
}

use Auth::{Basic, Bearer, Jwt, Raw};
use Body::{Empty, OverLimit, Text};
use Who::{Admin, Ann, Carl, Leaver, Nobody, Pat};

const NONE: Auth = Auth::None;
const BAD_REQUEST: &str = "invalid_request";
const UNAUTHORIZED: &str = "unauthorized";
const FORBIDDEN: &str = "forbidden";
const NOT_FOUND: &str = "not_found";
const NOT_ALLOWED: &str = "method_not_allowed";

mod settings;
mod users;

/// The parts of the suite, in the order they are sent.
const PARTS: [&[Case]; 2] = [users::CASES, settings::CASES];

/// Every case, in order.
pub(super) fn all() -> impl Iterator<Item = &'static Case> + Clone {
    PARTS.into_iter().flatten()
}
