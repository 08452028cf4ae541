//! One way to send a request to the server under test, instead of a near-copy per call:
//! `s.put(&user_path(uid)).auth(&admin).json(body).expect(403, "forbidden").await`.

use base64::Engine as _;
use serde_json::Value;

use crate::server_harness::Server;

/// The requests a scenario sends, by method.
pub(crate) trait Requests {
    /// A request with any method.
    fn call(&self, method: &str, path: &str) -> Call<'_>;

    /// `GET path`.
    fn get(&self, path: &str) -> Call<'_> {
        self.call("GET", path)
    }

    /// `POST path`.
    fn post(&self, path: &str) -> Call<'_> {
        self.call("POST", path)
    }

    /// `PUT path`.
    fn put(&self, path: &str) -> Call<'_> {
        self.call("PUT", path)
    }

    /// `DELETE path`.
    fn delete(&self, path: &str) -> Call<'_> {
        self.call("DELETE", path)
    }
}

impl Requests for Server {
    fn call(&self, method: &str, path: &str) -> Call<'_> {
        Call {
            server: self,
            method: method.parse().unwrap(),
            path: path.to_owned(),
            authorization: None,
            body: None,
        }
    }
}

/// A request being built; nothing is sent until one of the `async` methods.
#[must_use = "a request is sent only when awaited"]
pub(crate) struct Call<'s> {
    server: &'s Server,
    method: reqwest::Method,
    path: String,
    authorization: Option<String>,
    body: Option<Value>,
}

impl Call<'_> {
    /// Sends this `Authorization` header value (`JWT ...`, `Bearer ...`, anything).
    pub(crate) fn auth(mut self, authorization: &str) -> Self {
        self.authorization = Some(authorization.to_owned());
        self
    }

    /// Sends HTTP Basic credentials.
    pub(crate) fn basic(self, username: &str, password: &str) -> Self {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        self.auth(&format!("Basic {encoded}"))
    }

    /// Sends `body` as JSON.
    pub(crate) fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Sends the request; the raw answer (for headers and exact bytes).
    pub(crate) async fn response(self) -> reqwest::Response {
        let s = self.server;
        let mut req = s.client.request(self.method, s.url(&self.path));
        if let Some(a) = &self.authorization {
            req = req.header("authorization", a);
        }
        if let Some(b) = &self.body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    /// Sends the request; the status and the JSON body (every answer must be JSON).
    pub(crate) async fn send(self) -> (u16, Value) {
        let what = format!("{} {}", self.method, self.path);
        let res = self.response().await;
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(content_type.as_deref(), Some("application/json"), "{what}");
        let bytes = res.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{what}: not JSON: {bytes:?}"));
        (status, body)
    }

    /// Sends the request, asserts the status; the JSON body.
    pub(crate) async fn status(self, expected: u16) -> Value {
        let what = format!("{} {}", self.method, self.path);
        let (status, body) = self.send().await;
        assert_eq!(status, expected, "{what}: {body}");
        body
    }

    /// Sends the request, asserts the status and the `error_code`; the JSON body.
    pub(crate) async fn expect(self, expected: u16, error_code: &str) -> Value {
        let what = format!("{} {}", self.method, self.path);
        let (status, body) = self.send().await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (expected, Some(error_code)),
            "{what}: {body}"
        );
        body
    }
}

/// `/v1/users/{uid}`.
pub(crate) fn user_path(uid: impl std::fmt::Display) -> String {
    format!("/v1/users/{uid}")
}

/// A token's lifetime in seconds (`exp - iat`) from its decoded claims.
pub(crate) fn lifetime(claims: &Value) -> i64 {
    claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
}
