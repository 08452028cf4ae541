//! One function per endpoint: the already-extracted request parts in, an [`ApiResponse`] out.

use serde::de::DeserializeOwned;

use super::body::{
    AuthorizeBody, CreateUserBody, LogoutBody, PasswordChangeBody, PasswordRemoveBody,
    TokenResponse, TtlBody, UpdateUserBody,
};
use super::header::{Authorization, parse_authorization};
use super::response::ApiResponse;
use super::routes::RoutedRequest;
use super::view::{CreateUser, UpdateUser};
use crate::authenticator::Authenticator;
use crate::error::{Error, Result};
use crate::legacy_hash::PasswordForm;
use crate::permission::Authorized;
use crate::token::{Claims, Ttl};
use crate::user::{Role, UserId};

/// The parts of a request an endpoint reads, as raw bytes: the adapter decides nothing.
#[derive(Clone, Copy, Default)]
pub struct RequestParts<'a> {
    /// The first `Authorization` header value, if any.
    pub authorization: Option<&'a [u8]>,
    /// The first `Content-Type` header value, if any.
    pub content_type: Option<&'a [u8]>,
    /// The whole body (the adapter enforces the size limit while reading it).
    pub body: &'a [u8],
    /// The raw query string, without the `?` (`None` when the URI has none). The core parses
    /// it: see [`RequestParts::dry_run`].
    pub query: Option<&'a str>,
}

impl RequestParts<'_> {
    /// Whether the query asks for validation only (`?dry_run`, `dry_run=true` or `1`; `false`
    /// and `0` do not).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for another value of `dry_run` or the parameter given twice.
    pub fn dry_run(&self) -> Result<bool> {
        super::query::dry_run(self.query)
    }
}

impl std::fmt::Debug for RequestParts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestParts")
            .field("authorization", &self.authorization.map(|_| "[REDACTED]"))
            .field(
                "content_type",
                &self.content_type.map(String::from_utf8_lossy),
            )
            .field("body_len", &self.body.len())
            // A careless client may put a secret in a query: its length only.
            .field("query_len", &self.query.map(str::len))
            .finish()
    }
}

/// Which `/v1/users/password` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordOp {
    /// `PUT`: replace all passwords with the new one.
    Replace,
    /// `POST`: add the new password.
    Add,
    /// `DELETE`: remove `old_password`.
    Remove,
}

fn is_json(content_type: Option<&[u8]>) -> bool {
    let Some(ct) = content_type.and_then(|c| std::str::from_utf8(c).ok()) else {
        return false;
    };
    let media = ct.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/json")
        || media.rsplit_once('+').is_some_and(|(ty, suffix)| {
            ty.starts_with("application/") && suffix.eq_ignore_ascii_case("json")
        })
}

/// Parses a JSON body. An empty body is `T::default()` when `optional`, else an error. The
/// body must be a JSON object, as the document says (serde would also read a struct from an
/// array).
pub(super) fn json_body<T: DeserializeOwned>(
    req: &RequestParts<'_>,
    default: Option<fn() -> T>,
) -> Result<T> {
    let map = object_body(req, default.is_some())?;
    match map {
        None => default
            .map(|d| d())
            .ok_or_else(|| Error::InvalidRequest("a JSON body is required".into())),
        Some(map) => serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| Error::InvalidRequest(format!("malformed JSON body: {e}"))),
    }
}

/// Reads a body that must be a JSON object (`None`: an empty body, allowed when `optional`).
pub(super) fn object_body(
    req: &RequestParts<'_>,
    optional: bool,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    // Only a body of no bytes is absent: whitespace alone is no JSON text.
    if req.body.is_empty() {
        return if optional {
            Ok(None)
        } else {
            Err(Error::InvalidRequest("a JSON body is required".into()))
        };
    }
    if !is_json(req.content_type) {
        return Err(Error::InvalidRequest(
            "Content-Type must be application/json".into(),
        ));
    }
    match serde_json::from_slice(req.body) {
        Ok(serde_json::Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(Error::InvalidRequest(
            "the body must be a JSON object".into(),
        )),
        Err(e) => Err(Error::InvalidRequest(format!("malformed JSON body: {e}"))),
    }
}

/// A user body. Redis's later docs give `POST /v1/users` and `PUT /v1/users/{uid}` a
/// `dry_run` query parameter; authcore does not implement it there, so it is refused (400)
/// rather than ignored: a client that asked for validation only never gets a write.
fn user_body<T: DeserializeOwned>(req: &RequestParts<'_>) -> Result<T> {
    if req.dry_run()? {
        return Err(Error::InvalidRequest(
            "dry_run is not supported on this route".into(),
        ));
    }
    json_body(req, None)
}

/// Verifies a `JWT` or `Bearer` token from an `Authorization` header value: no store is
/// consulted. This is what an application's own protected routes use.
///
/// # Errors
/// [`Error::Unauthorized`] when the header is missing, uses another scheme or carries Basic
/// credentials; [`Error::InvalidRequest`] for a malformed value; [`Error::InvalidToken`].
pub fn authenticate_token(auth: &Authenticator, authorization: Option<&[u8]>) -> Result<Claims> {
    match parse_authorization(authorization.ok_or(Error::Unauthorized)?)? {
        Authorization::Token(token) => auth.verify_token(&token),
        Authorization::Basic { .. } => Err(Error::Unauthorized),
    }
}

/// Checks a `JWT` or `Bearer` token from an `Authorization` header value against current
/// state ([`Authenticator::check_fresh`]): the user exists and is active, the token is of the
/// current session epoch, its password is still held and it was not logged out. Returns the
/// user's *current* role. This is what an application's state-changing routes use.
///
/// # Errors
/// As [`authenticate_token`]; [`Error::Unauthorized`] when current state refuses the token;
/// store errors.
pub async fn authenticate_fresh(
    auth: &Authenticator,
    authorization: Option<&[u8]>,
) -> Result<crate::FreshIdentity> {
    match parse_authorization(authorization.ok_or(Error::Unauthorized)?)? {
        Authorization::Token(token) => auth.check_fresh(&token).await,
        Authorization::Basic { .. } => Err(Error::Unauthorized),
    }
}

/// Authenticates the caller of a users-API route: a `JWT`/`Bearer` token, or HTTP Basic
/// credentials as Redis Enterprise's REST API accepts them (a sign-in, with lockout and
/// expiry, through [`Authenticator::authenticate_basic`]: a recent success skips argon2).
///
/// # Errors
/// As [`authenticate_token`], plus those of [`Authenticator::authorize`] for Basic.
pub async fn authenticate(auth: &Authenticator, authorization: Option<&[u8]>) -> Result<Claims> {
    match parse_authorization(authorization.ok_or(Error::Unauthorized)?)? {
        Authorization::Token(token) => auth.verify_token(&token),
        Authorization::Basic { username, password } => {
            auth.authenticate_basic(&username, &password).await
        }
    }
}

fn token_response(token: String) -> ApiResponse {
    ApiResponse::json(
        200,
        &TokenResponse {
            access_token: token,
        },
    )
}

/// `POST /v1/users/authorize`: credentials in the JSON body (`username`, `password`, `ttl`),
/// or HTTP Basic credentials with an optional `{"ttl"}` body. 200 `{"access_token"}`.
pub async fn authorize(auth: &Authenticator, req: &RequestParts<'_>) -> ApiResponse {
    into_response(authorize_inner(auth, req).await)
}

async fn authorize_inner(auth: &Authenticator, req: &RequestParts<'_>) -> Result<ApiResponse> {
    let basic = match req.authorization.map(parse_authorization).transpose()? {
        Some(Authorization::Basic { username, password }) => Some((username, password)),
        // A token is no credential for signing in: the body must carry them.
        Some(Authorization::Token(_)) | None => None,
    };
    let body: AuthorizeBody = json_body(req, Some(AuthorizeBody::default))?;
    let ttl = Ttl::or_default(body.ttl)?;
    let (username, password) = match (basic, body.username, body.password) {
        (Some(creds), _, _) => creds,
        (None, Some(u), Some(p)) => (u, p),
        (None, None, _) => return Err(Error::InvalidRequest("missing field `username`".into())),
        (None, Some(_), None) => {
            return Err(Error::InvalidRequest("missing field `password`".into()));
        }
    };
    let issued = auth.authorize(&username, &password, ttl).await?;
    Ok(token_response(issued.token))
}

/// `POST /v1/users/refresh_jwt`: the token in `Authorization: JWT <token>` (or `Bearer`), an
/// optional `{"ttl"}` body. 200 `{"access_token"}`.
pub async fn refresh_jwt(auth: &Authenticator, req: &RequestParts<'_>) -> ApiResponse {
    into_response(refresh_inner(auth, req).await)
}

async fn refresh_inner(auth: &Authenticator, req: &RequestParts<'_>) -> Result<ApiResponse> {
    let token = match parse_authorization(req.authorization.ok_or(Error::Unauthorized)?)? {
        Authorization::Token(token) => token,
        Authorization::Basic { .. } => return Err(Error::Unauthorized),
    };
    let body: TtlBody = json_body(req, Some(TtlBody::default))?;
    let ttl = Ttl::or_default(body.ttl)?;
    let issued = auth.refresh(&token, ttl).await?;
    Ok(token_response(issued.token))
}

/// `POST /v1/users/logout`: the token in `Authorization: JWT <token>` (or `Bearer`), an
/// optional body (none, `{}` or `{"all": true}`). 200 `{}`; that token (with `all`, every token
/// of the caller) gets 401 from then on.
pub async fn logout(auth: &Authenticator, req: &RequestParts<'_>) -> ApiResponse {
    into_response(logout_inner(auth, req).await)
}

async fn logout_inner(auth: &Authenticator, req: &RequestParts<'_>) -> Result<ApiResponse> {
    let token = match parse_authorization(req.authorization.ok_or(Error::Unauthorized)?)? {
        Authorization::Token(token) => token,
        Authorization::Basic { .. } => return Err(Error::Unauthorized),
    };
    let body: LogoutBody = json_body(req, Some(LogoutBody::default))?;
    auth.logout(&token, body.all).await?;
    Ok(ApiResponse::ok_empty())
}

/// `PUT`/`POST`/`DELETE /v1/users/password`: the caller proves who they are with
/// `old_password` (an expired one is accepted). 200 `{}`.
pub async fn password(auth: &Authenticator, op: PasswordOp, req: &RequestParts<'_>) -> ApiResponse {
    into_response(password_inner(auth, op, req).await)
}

async fn password_inner(
    auth: &Authenticator,
    op: PasswordOp,
    req: &RequestParts<'_>,
) -> Result<ApiResponse> {
    if op == PasswordOp::Remove {
        let body: PasswordRemoveBody = json_body(req, None)?;
        auth.remove_password(&body.username, &body.old_password)
            .await?;
        return Ok(ApiResponse::ok_empty());
    }
    let body: PasswordChangeBody = json_body(req, None)?;
    let new = body
        .new_password
        .as_ref()
        .ok_or_else(|| Error::InvalidRequest("missing field `new_password`".into()))?;
    if op == PasswordOp::Replace {
        auth.replace_passwords(&body.username, &body.old_password, new)
            .await?;
    } else {
        auth.add_password(&body.username, &body.old_password, new)
            .await?;
    }
    Ok(ApiResponse::ok_empty())
}

/// The caller the dispatch let through (it decides before any endpoint of a route that names
/// a permission runs).
fn caller<'r>(req: &'r RoutedRequest<'_>) -> Result<&'r Authorized> {
    req.caller.as_ref().ok_or(Error::Unauthorized)
}

/// `POST /v1/users` ([`crate::Access::CREATE_USER`]): `{"email","password","name"?,"role"}`. 200
/// with the user object.
pub(super) async fn create_user(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let caller = caller(req)?;
            let body: CreateUserBody = user_body(&req.parts)?;
            let form = PasswordForm::from_redis_method(body.password_hash_method.as_deref())?;
            let new = CreateUser {
                email: body.email,
                password: body.password,
                name: body.name,
                role: Role::new(body.role),
            };
            let view = auth.create_user_authorized(caller, new, form).await?;
            Ok(ApiResponse::json(200, &view))
        }
        .await,
    )
}

/// `GET /v1/users` ([`crate::Access::LIST_USERS`]): the JSON array of user objects.
pub(super) async fn list_users(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let users = auth.list_users_authorized(caller(req)?).await?;
            Ok(ApiResponse::json(200, &users))
        }
        .await,
    )
}

/// `GET /v1/users/{uid}` ([`crate::Access::GET_USER`]).
pub(super) async fn get_user(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let uid = UserId::new(req.param("uid"));
            let view = auth.get_user_authorized(caller(req)?, &uid).await?;
            Ok(ApiResponse::json(200, &view))
        }
        .await,
    )
}

/// `PUT /v1/users/{uid}` ([`crate::Access::UPDATE_USER`]). 200 with the updated user object.
pub(super) async fn update_user(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let caller = caller(req)?;
            let body: UpdateUserBody = user_body(&req.parts)?;
            let form = PasswordForm::from_redis_method(body.password_hash_method.as_deref())?;
            let update = UpdateUser {
                email: body.email,
                name: body.name,
                role: body.role.map(Role::new),
                status: body.status,
                password: body.password,
            };
            let uid = UserId::new(req.param("uid"));
            let view = auth
                .update_user_authorized(caller, &uid, update, form)
                .await?;
            Ok(ApiResponse::json(200, &view))
        }
        .await,
    )
}

/// `DELETE /v1/users/{uid}` ([`crate::Access::DELETE_USER`]). 200 `{}`.
pub(super) async fn delete_user(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let uid = UserId::new(req.param("uid"));
            auth.delete_user_authorized(caller(req)?, &uid).await?;
            Ok(ApiResponse::ok_empty())
        }
        .await,
    )
}

/// `GET /.well-known/jwks.json`: the public keys (404 when only HS256 keys are configured).
#[must_use]
pub fn jwks(auth: &Authenticator) -> ApiResponse {
    let keys = auth.tokens().keys();
    if keys.has_public_keys() {
        ApiResponse::json(200, &keys.jwks())
    } else {
        ApiResponse::not_found()
    }
}

pub(super) fn into_response(result: Result<ApiResponse>) -> ApiResponse {
    result.unwrap_or_else(|e| ApiResponse::error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_json(Some(b"application/json")));
        assert!(is_json(Some(b"Application/JSON; charset=utf-8")));
        assert!(is_json(Some(b"application/merge-patch+json")));
        assert!(!is_json(Some(b"text/plain")));
        assert!(!is_json(Some(b"application/jsonx")));
        assert!(!is_json(None));
    }

    #[test]
    fn bodies() {
        let req = |ct: Option<&'static [u8]>, body: &'static [u8]| RequestParts {
            authorization: None,
            content_type: ct,
            body,
            query: None,
        };
        let ttl: TtlBody = json_body(&req(None, b""), Some(TtlBody::default)).unwrap();
        assert_eq!(ttl.ttl, None);
        let ttl: TtlBody =
            json_body(&req(Some(b"application/json"), br#"{"ttl":5}"#), None).unwrap();
        assert_eq!(ttl.ttl, Some(5));
        for (ct, body) in [
            (None, &br#"{"ttl":5}"#[..]),
            (Some(&b"text/plain"[..]), &br#"{"ttl":5}"#[..]),
            (Some(&b"application/json"[..]), &b"{"[..]),
            (Some(&b"application/json"[..]), &br#"{"ttl":"x"}"#[..]),
            (Some(&b"application/json"[..]), &b"[]"[..]),
        ] {
            let err = json_body::<TtlBody>(&req(ct, body), None).unwrap_err();
            assert_eq!(err.error_code(), "invalid_request");
        }
        for blank in [&b" "[..], b"\r", b"\n\t"] {
            let err = json_body(
                &req(Some(b"application/json"), blank),
                Some(TtlBody::default),
            )
            .unwrap_err();
            assert_eq!(err.error_code(), "invalid_request");
        }
        let err = json_body::<PasswordChangeBody>(&req(None, b""), None).unwrap_err();
        assert_eq!(err.error_code(), "invalid_request");
    }

    /// The logout body: none, `{}` and `{"all": false}` end one session, `{"all": true}` all;
    /// a misspelt or mistyped `all` is refused rather than read as "this session only".
    #[test]
    fn logout_bodies() {
        let req = |body: &'static [u8]| RequestParts {
            content_type: Some(b"application/json"),
            body,
            ..RequestParts::default()
        };
        let all = |body| json_body(&req(body), Some(LogoutBody::default)).map(|b| b.all);
        assert!(!all(b"").unwrap());
        assert!(!all(b"{}").unwrap());
        assert!(!all(br#"{"all": false}"#).unwrap());
        assert!(all(br#"{"all": true}"#).unwrap());
        for bad in [
            &br#"{"al": true}"#[..],
            br#"{"all": true, "every": 1}"#,
            br#"{"all": "true"}"#,
            br#"{"all": null}"#,
            br#"{"all": 1}"#,
            b"[]",
        ] {
            let err = all(bad).unwrap_err();
            assert_eq!(err.error_code(), "invalid_request", "{bad:?}");
        }
    }
}
