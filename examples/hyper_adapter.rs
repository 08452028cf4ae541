//! A second adapter, on plain hyper 1: the whole users API through the core's dispatch, plus
//! one protected route of the application's own (`GET /app/whoami`), built on
//! `authcore::http` alone. It answers every route byte for byte as the core's own dispatch
//! does: `tests/http_adapters.rs` runs the testkit's adapter suite
//! (`authcore_testkit::adapters`) against it behind a real listener.
//!
//! ```text
//! AUTHCORE_ADMIN_EMAIL=admin@example.org AUTHCORE_ADMIN_PASSWORD=secret \
//!     cargo run --example hyper_adapter      # listens on 127.0.0.1:8081, users in memory
//! ```

use std::convert::Infallible;
use std::sync::Arc;

use authcore::http::{self, ApiResponse, RequestParts};
use authcore::{Authenticator, CreateUser, Key, KeyRing, Password, Role};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;

/// The protected route of this example application.
pub const WHOAMI_PATH: &str = "/app/whoami";

/// Serves one request: the application's own route, or the core's dispatch.
///
/// # Errors
/// Never: every failure is a JSON error response.
pub async fn handle(
    auth: Authenticator,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let header = |name| {
        parts
            .headers
            .get(name)
            .map(|v: &hyper::header::HeaderValue| v.as_bytes())
    };
    if parts.uri.path() == WHOAMI_PATH {
        let res = if parts.method == Method::GET {
            match http::authenticate_token(&auth, header(AUTHORIZATION)) {
                Ok(claims) => ApiResponse::json(200, &claims),
                Err(e) => ApiResponse::error(&e),
            }
        } else {
            ApiResponse::method_not_allowed(&["GET"])
        };
        return Ok(into_hyper(res));
    }
    let matched = match http::find_route(&auth, parts.method.as_str(), parts.uri.path()) {
        Ok(matched) => matched,
        Err(res) => return Ok(into_hyper(res)),
    };
    let body = if matched.reads_body() {
        match Limited::new(body, http::DEFAULT_BODY_LIMIT).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => {
                return Ok(into_hyper(
                    matched.payload_too_large(http::DEFAULT_BODY_LIMIT),
                ));
            }
            Err(_) => return Ok(into_hyper(matched.unreadable_body())),
        }
    } else {
        Bytes::new()
    };
    let req = RequestParts {
        authorization: header(AUTHORIZATION),
        content_type: header(CONTENT_TYPE),
        body: &body,
        query: parts.uri.query(),
    };
    Ok(into_hyper(matched.respond(&auth, req).await))
}

fn into_hyper(res: ApiResponse) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(Bytes::from(res.body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(res.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in res.headers {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

/// Accepts connections forever, one task per connection.
///
/// # Errors
/// When accepting a connection fails.
pub async fn serve(listener: tokio::net::TcpListener, auth: Authenticator) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let auth = auth.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(auth.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}

#[allow(dead_code)] // unused where tests include this file as a module
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = Arc::new(authcore::memory::MemoryStore::new());
    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store)
        .keys(KeyRing::new(Key::hs256("k1", &secret.into())?)?)
        .build()?;
    if let (Ok(email), Ok(password)) = (
        std::env::var("AUTHCORE_ADMIN_EMAIL"),
        std::env::var("AUTHCORE_ADMIN_PASSWORD"),
    ) {
        let role = Role::ADMIN;
        let password = Password::from(password);
        auth.create_user_unchecked(CreateUser {
            email,
            password,
            name: None,
            role,
        })
        .await?;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, auth).await?;
    Ok(())
}
