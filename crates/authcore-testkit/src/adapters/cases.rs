//! The requests of the suite, in the order they are sent (state carries over: a user created
//! by one case is read, updated and deleted by the next ones), each with the status and error
//! code it must get.

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
#[derive(Debug, Clone, Copy)]
pub(super) struct Case {
    /// The method.
    pub(super) method: &'static str,
    /// The request target: path and query.
    pub(super) target: &'static str,
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
        target,
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

/// Every case, in order.
pub(super) const CASES: &[Case] = &[
    // Routing: unknown paths, trailing slashes, wrong methods (405 with `Allow`).
    err("GET", "/no/such/route", NONE, Empty, 404, NOT_FOUND),
    err("GET", "/v1/users/", Jwt(Admin), Empty, 404, NOT_FOUND),
    err("GET", "/v1/users/1/x", Jwt(Admin), Empty, 404, NOT_FOUND),
    err("GET", "/v1/users/authorize", NONE, Empty, 405, NOT_ALLOWED),
    err(
        "PUT",
        "/v1/users/refresh_jwt",
        NONE,
        Empty,
        405,
        NOT_ALLOWED,
    ),
    err("PATCH", "/v1/users/2", Jwt(Admin), Empty, 405, NOT_ALLOWED),
    err("DELETE", "/v1/users", Jwt(Admin), Empty, 405, NOT_ALLOWED),
    err("POST", "/livez", NONE, Empty, 405, NOT_ALLOWED),
    err("PATCH", "/v1/cluster", Jwt(Admin), Empty, 405, NOT_ALLOWED),
    // Sign-in: JSON, Basic, ttl, and every way to get it wrong.
    ok(
        "POST",
        "/v1/users/authorize",
        NONE,
        Text(r#"{"username":"ann@example.test","password":"Ann-Passw0rd!"}"#),
    ),
    ok(
        "POST",
        "/v1/users/authorize",
        NONE,
        Text(r#"{"username":"ann@example.test","password":"Ann-Passw0rd!","ttl":60}"#),
    ),
    with_content_type(
        ok(
            "POST",
            "/v1/users/authorize?unused=1",
            NONE,
            Text(r#"{"username":"ann@example.test","password":"Ann-Passw0rd!"}"#),
        ),
        Some("Application/JSON; charset=utf-8"),
    ),
    ok("POST", "/v1/users/authorize", Basic(Ann), Empty),
    ok(
        "POST",
        "/v1/users/authorize",
        Basic(Ann),
        Text(r#"{"ttl":120}"#),
    ),
    err(
        "POST",
        "/v1/users/authorize",
        NONE,
        Text(r#"{"username":"ann@example.test","password":"wrong"}"#),
        401,
        UNAUTHORIZED,
    ),
    err(
        "POST",
        "/v1/users/authorize",
        NONE,
        Text(r#"{"username":"ghost@example.test","password":"wrong"}"#),
        401,
        UNAUTHORIZED,
    ),
    err(
        "POST",
        "/v1/users/authorize",
        NONE,
        Text("{not json"),
        400,
        BAD_REQUEST,
    ),
    with_content_type(
        err(
            "POST",
            "/v1/users/authorize",
            NONE,
            Text(r#"{"username":"a","password":"b"}"#),
            400,
            BAD_REQUEST,
        ),
        Some("text/plain"),
    ),
    with_content_type(
        err(
            "POST",
            "/v1/users/authorize",
            NONE,
            Text(r#"{"username":"a","password":"b"}"#),
            400,
            BAD_REQUEST,
        ),
        None,
    ),
    err(
        "POST",
        "/v1/users/authorize",
        NONE,
        Text(r#"{"username":"a"}"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "POST",
        "/v1/users/authorize",
        NONE,
        Text(r#"{"username":"a","password":"b","ttl":0}"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "POST",
        "/v1/users/authorize",
        NONE,
        Text(r#"{"username":"a","password":"b","ttl":86401}"#),
        400,
        BAD_REQUEST,
    ),
    err("POST", "/v1/users/authorize", NONE, Empty, 400, BAD_REQUEST),
    err(
        "POST",
        "/v1/users/authorize",
        Raw("Basic %%%"),
        Empty,
        400,
        BAD_REQUEST,
    ),
    err(
        "POST",
        "/v1/users/authorize",
        NONE,
        OverLimit,
        413,
        "payload_too_large",
    ),
    // Refresh: JWT and Bearer, ttl, missing, malformed and wrong credentials.
    ok("POST", "/v1/users/refresh_jwt", Jwt(Ann), Empty),
    ok(
        "POST",
        "/v1/users/refresh_jwt",
        Bearer(Ann),
        Text(r#"{"ttl":30}"#),
    ),
    err(
        "POST",
        "/v1/users/refresh_jwt",
        Jwt(Ann),
        Text(r#"{"ttl":-1}"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "POST",
        "/v1/users/refresh_jwt",
        NONE,
        Empty,
        401,
        UNAUTHORIZED,
    ),
    err(
        "POST",
        "/v1/users/refresh_jwt",
        Raw("JWT not.a.jwt"),
        Empty,
        401,
        UNAUTHORIZED,
    ),
    err(
        "POST",
        "/v1/users/refresh_jwt",
        Basic(Ann),
        Empty,
        401,
        UNAUTHORIZED,
    ),
    err(
        "POST",
        "/v1/users/refresh_jwt",
        Raw("Digest abc"),
        Empty,
        401,
        UNAUTHORIZED,
    ),
    // The users collection: permissions, Basic on an admin route, create and its errors.
    ok("GET", "/v1/users", Jwt(Admin), Empty),
    ok("HEAD", "/v1/users", Jwt(Admin), Empty),
    ok("GET", "/v1/users", Basic(Admin), Empty),
    err("GET", "/v1/users", Jwt(Ann), Empty, 403, FORBIDDEN),
    err("GET", "/v1/users", NONE, Empty, 401, UNAUTHORIZED),
    err(
        "GET",
        "/v1/users",
        Raw("Bearer x.y.z"),
        Empty,
        401,
        UNAUTHORIZED,
    ),
    ok(
        "POST",
        "/v1/users",
        Jwt(Admin),
        Text(
            r#"{"email":"dora@example.test","password":"Dora-Passw0rd!","name":"Dora","role":"db_member"}"#,
        ),
    ),
    err(
        "POST",
        "/v1/users",
        Jwt(Admin),
        Text(r#"{"email":"dora@example.test","password":"Dora-Passw0rd!","role":"db_member"}"#),
        409,
        "email_already_exists",
    ),
    err(
        "POST",
        "/v1/users",
        Jwt(Admin),
        Text(
            r#"{"email":"eve@example.test","password":"Eve-Passw0rd!","role":"db_member","shoe_size":42}"#,
        ),
        400,
        BAD_REQUEST,
    ),
    err(
        "POST",
        "/v1/users",
        Jwt(Admin),
        Text(r#"{"email":"eve@example.test""#),
        400,
        BAD_REQUEST,
    ),
    err(
        "POST",
        "/v1/users?dry_run",
        Jwt(Admin),
        Text(r#"{"email":"eve@example.test","password":"Eve-Passw0rd!","role":"db_member"}"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "POST",
        "/v1/users",
        Jwt(Ann),
        Text(r#"{"email":"eve@example.test","password":"Eve-Passw0rd!","role":"db_member"}"#),
        403,
        FORBIDDEN,
    ),
    ok("GET", "/v1/users", Jwt(Admin), Empty),
    // One user: self-service, `{uid}` parsing, update and delete.
    ok("GET", "/v1/users/2", Jwt(Admin), Empty),
    ok("GET", "/v1/users/2", Jwt(Ann), Empty),
    ok("GET", "/v1/users/%31", Jwt(Admin), Empty),
    ok("HEAD", "/v1/users/2", Jwt(Ann), Empty),
    err("GET", "/v1/users/1", Jwt(Ann), Empty, 403, FORBIDDEN),
    err("GET", "/v1/users/999", Jwt(Admin), Empty, 404, NOT_FOUND),
    err("GET", "/v1/users/abc", Jwt(Admin), Empty, 404, NOT_FOUND),
    err("GET", "/v1/users/%ff", Jwt(Admin), Empty, 400, BAD_REQUEST),
    err("GET", "/v1/users/a%2Fb", Jwt(Admin), Empty, 404, NOT_FOUND),
    err("GET", "/v1/users/2", NONE, Empty, 401, UNAUTHORIZED),
    ok(
        "PUT",
        "/v1/users/6",
        Jwt(Admin),
        Text(r#"{"name":"Carl C."}"#),
    ),
    ok("PUT", "/v1/users/2", Jwt(Ann), Text(r#"{"name":"Ann A."}"#)),
    err(
        "PUT",
        "/v1/users/2",
        Jwt(Ann),
        Text(r#"{"role":"admin"}"#),
        403,
        FORBIDDEN,
    ),
    err(
        "PUT",
        "/v1/users/6",
        Jwt(Admin),
        Text(r#"{"name":"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "PUT",
        "/v1/users/6?dry_run=true",
        Jwt(Admin),
        Text(r#"{"name":"Carl D."}"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "PUT",
        "/v1/users/1",
        Jwt(Admin),
        Text(r#"{"role":"db_viewer"}"#),
        406,
        "change_last_admin_role_not_allowed",
    ),
    ok("GET", "/v1/users/6", Jwt(Admin), Empty),
    err("DELETE", "/v1/users/6", Jwt(Ann), Empty, 403, FORBIDDEN),
    ok("DELETE", "/v1/users/6", Jwt(Admin), Empty),
    err("DELETE", "/v1/users/6", Jwt(Admin), Empty, 404, NOT_FOUND),
    err("GET", "/v1/users/6", Jwt(Admin), Empty, 404, NOT_FOUND),
    // Passwords (Pat proves who it is with `old_password`).
    ok(
        "POST",
        "/v1/users/password",
        NONE,
        Text(
            r#"{"username":"pat@example.test","old_password":"Pat-Passw0rd!1","new_password":"Pat-Passw0rd!2"}"#,
        ),
    ),
    err(
        "POST",
        "/v1/users/password",
        NONE,
        Text(
            r#"{"username":"pat@example.test","old_password":"wrong","new_password":"Pat-Passw0rd!3"}"#,
        ),
        401,
        UNAUTHORIZED,
    ),
    ok(
        "DELETE",
        "/v1/users/password",
        NONE,
        Text(r#"{"username":"pat@example.test","old_password":"Pat-Passw0rd!1"}"#),
    ),
    ok(
        "PUT",
        "/v1/users/password",
        NONE,
        Text(
            r#"{"username":"pat@example.test","old_password":"Pat-Passw0rd!2","new_password":"Pat-Passw0rd!4"}"#,
        ),
    ),
    err(
        "PUT",
        "/v1/users/password",
        NONE,
        Text(r#"{"username":"pat@example.test","old_password":"Pat-Passw0rd!4"}"#),
        400,
        BAD_REQUEST,
    ),
    err("PUT", "/v1/users/password", NONE, Empty, 400, BAD_REQUEST),
    ok("GET", "/v1/users/5", Jwt(Admin), Empty),
    // Logout: the token works until then, and never again.
    ok("POST", "/v1/users/refresh_jwt", Jwt(Leaver), Empty),
    ok("POST", "/v1/users/logout", Jwt(Leaver), Empty),
    err(
        "POST",
        "/v1/users/logout",
        Jwt(Leaver),
        Empty,
        401,
        UNAUTHORIZED,
    ),
    err(
        "POST",
        "/v1/users/refresh_jwt",
        Jwt(Leaver),
        Empty,
        401,
        UNAUTHORIZED,
    ),
    err("POST", "/v1/users/logout", NONE, Empty, 401, UNAUTHORIZED),
    // Run-time settings: `/v1/cluster` with `?dry_run`, `/v1/cluster/policy`.
    ok("GET", "/v1/cluster", Jwt(Ann), Empty),
    err("GET", "/v1/cluster", Jwt(Nobody), Empty, 403, FORBIDDEN),
    ok(
        "PUT",
        "/v1/cluster?dry_run",
        Jwt(Admin),
        Text(r#"{"password_complexity":true,"password_expiration_duration":30}"#),
    ),
    ok("GET", "/v1/cluster", Jwt(Admin), Empty),
    err(
        "PUT",
        "/v1/cluster?dry_run=1",
        Jwt(Admin),
        Text(r#"{"password_expiration_duration":-1}"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "PUT",
        "/v1/cluster?dry_run=yes",
        Jwt(Admin),
        Text(r#"{"password_expiration_duration":30}"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "PUT",
        "/v1/cluster",
        Jwt(Admin),
        Text(r#"{"no_such_field":1}"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "PUT",
        "/v1/cluster",
        Jwt(Ann),
        Text(r#"{"password_expiration_duration":30}"#),
        403,
        FORBIDDEN,
    ),
    ok(
        "PUT",
        "/v1/cluster?dry_run=false",
        Jwt(Admin),
        Text(r#"{"password_expiration_duration":30,"cm_session_timeout_minutes":20}"#),
    ),
    ok("GET", "/v1/cluster", Jwt(Admin), Empty),
    ok("GET", "/v1/cluster/policy", Jwt(Ann), Empty),
    ok(
        "PUT",
        "/v1/cluster/policy",
        Jwt(Admin),
        Text(r#"{"login_lockout_threshold":7}"#),
    ),
    ok(
        "PUT",
        "/v1/cluster/policy?dry_run",
        Jwt(Admin),
        Text(r#"{"login_lockout_threshold":2}"#),
    ),
    ok("GET", "/v1/cluster/policy", Jwt(Admin), Empty),
    err(
        "PUT",
        "/v1/cluster/policy",
        Jwt(Admin),
        Text(r#"{"login_lockout_threshold":"many"}"#),
        400,
        BAD_REQUEST,
    ),
    // LDAP configuration and mappings.
    ok("GET", "/v1/cluster/ldap", Jwt(Admin), Empty),
    err("GET", "/v1/cluster/ldap", Jwt(Ann), Empty, 403, FORBIDDEN),
    ok(
        "PUT",
        "/v1/cluster/ldap",
        Jwt(Admin),
        Text(
            r#"{"uris":["ldap://ldap.example.test"],"user_dn_template":"uid=%u,dc=example,dc=test","bind_dn":"cn=reader,dc=example,dc=test","bind_pass":"Re4der-Secret"}"#,
        ),
    ),
    ok("GET", "/v1/cluster/ldap", Jwt(Admin), Empty),
    err(
        "PUT",
        "/v1/cluster/ldap",
        Jwt(Admin),
        Text(r#"{"uris":"ldap://ldap.example.test"}"#),
        400,
        BAD_REQUEST,
    ),
    err(
        "PUT",
        "/v1/cluster/ldap",
        Jwt(Ann),
        Text(r#"{"uris":[]}"#),
        403,
        FORBIDDEN,
    ),
    err(
        "POST",
        "/v1/ldap_mappings",
        Jwt(Admin),
        Text(r#"{"name":"bad","dn":"not a dn","role":"db_viewer"}"#),
        400,
        "invalid_dn_param",
    ),
    ok("DELETE", "/v1/cluster/ldap", Jwt(Admin), Empty),
    ok("GET", "/v1/ldap_mappings", Jwt(Admin), Empty),
    ok(
        "POST",
        "/v1/ldap_mappings",
        Jwt(Admin),
        Text(r#"{"name":"ops","dn":"cn=ops,dc=example,dc=test","role":"db_viewer"}"#),
    ),
    err(
        "POST",
        "/v1/ldap_mappings",
        Jwt(Admin),
        Text(r#"{"name":"ops","dn":"cn=ops2,dc=example,dc=test","role":"db_viewer"}"#),
        400,
        "name_already_exists",
    ),
    err(
        "POST",
        "/v1/ldap_mappings",
        Jwt(Admin),
        Text(r#"{"name":"x","dn":"cn=x,dc=example,dc=test","role_uids":[1]}"#),
        400,
        "invalid_role_uids_param",
    ),
    err(
        "POST",
        "/v1/ldap_mappings",
        Jwt(Ann),
        Text(r#"{"name":"y","dn":"cn=y,dc=example,dc=test","role":"db_viewer"}"#),
        403,
        FORBIDDEN,
    ),
    ok("GET", "/v1/ldap_mappings/1", Jwt(Admin), Empty),
    ok(
        "PUT",
        "/v1/ldap_mappings/1",
        Jwt(Admin),
        Text(r#"{"role":"db_member"}"#),
    ),
    err(
        "GET",
        "/v1/ldap_mappings/abc",
        Jwt(Admin),
        Empty,
        404,
        "ldap_mapping_not_exist",
    ),
    ok("DELETE", "/v1/ldap_mappings/1", Jwt(Admin), Empty),
    err(
        "DELETE",
        "/v1/ldap_mappings/1",
        Jwt(Admin),
        Empty,
        404,
        "ldap_mapping_not_exist",
    ),
    ok("GET", "/v1/ldap_mappings", Jwt(Admin), Empty),
    // Documents and operations.
    ok("GET", "/v1/openapi.json", NONE, Empty),
    ok("GET", "/.well-known/jwks.json", NONE, Empty),
    ok("GET", "/livez", NONE, Empty),
    ok("HEAD", "/livez", NONE, Empty),
    // A route that reads no body answers whatever body comes with it (the adapter must not
    // read it, so not refuse it either).
    ok("GET", "/livez", NONE, OverLimit),
    ok("GET", "/readyz", NONE, Empty),
    ok("GET", "/metrics", NONE, Empty),
    // Basic credentials of the deleted user, and Pat's first password (removed above).
    err(
        "POST",
        "/v1/users/authorize",
        Basic(Carl),
        Empty,
        401,
        UNAUTHORIZED,
    ),
    err(
        "POST",
        "/v1/users/authorize",
        Basic(Pat),
        Empty,
        401,
        UNAUTHORIZED,
    ),
];
