//! Both adapters of the workspace, behind real listeners, run the testkit's HTTP conformance
//! suite for adapters (`authcore_testkit::adapters`): the axum router and the plain-hyper
//! example (`examples/hyper_adapter.rs`) answer every route and error case as the core's own
//! dispatch does. The hyper example's own route (`/app/whoami`) is checked on its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/hyper_adapter.rs"]
mod hyper_adapter;

use std::net::SocketAddr;
use std::sync::Arc;

use authcore::{AuthPolicy, Authenticator, Role};
use authcore_memory::MemoryStore;
use authcore_testkit::adapters::AdapterSuite;
use authcore_testkit::{ManualClock, fixtures, signed_in};
use axum::body::Bytes;
use axum::http::{Request, Response};
use serde_json::Value;

/// An adapter behind a listener at `addr`, as the suite sees it: each request sent over HTTP.
///
/// A body over the limit is answered (413, or 200 on a route that reads none) before the
/// server has read it, and hyper then closes the connection with those bytes unread: the
/// kernel answers such a close with a reset, which, when the client is slow (a loaded
/// machine), reaches it before it has read the answer. That is TCP, not the adapter: such a
/// request is sent again (at most 5 times), any other transport error fails the test.
fn over_http(
    addr: SocketAddr,
) -> impl Fn(Request<Bytes>) -> std::pin::Pin<Box<dyn Future<Output = Response<Bytes>>>> {
    let client = reqwest::Client::new();
    move |req: Request<Bytes>| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let attempts = if body.len() > authcore::http::DEFAULT_BODY_LIMIT {
                5
            } else {
                1
            };
            let mut sent = None;
            for attempt in 1..=attempts {
                match client
                    .request(parts.method.clone(), format!("http://{addr}{}", parts.uri))
                    .headers(parts.headers.clone())
                    .body(body.clone())
                    .send()
                    .await
                {
                    Ok(res) => {
                        sent = Some(res);
                        break;
                    }
                    Err(e) if attempt < attempts && e.is_request() => {}
                    Err(e) => panic!("{} {}: {e:?}", parts.method, parts.uri),
                }
            }
            let res = sent.unwrap();
            let mut out = Response::builder().status(res.status());
            for (name, value) in res.headers() {
                out = out.header(name, value);
            }
            out.body(res.bytes().await.unwrap()).unwrap()
        })
    }
}

async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test(flavor = "multi_thread")]
async fn axum_behind_a_listener_answers_as_the_core() {
    let report = AdapterSuite::new(|| Arc::new(MemoryStore::new()))
        .run(|auth: Authenticator| async move {
            let (listener, addr) = listener().await;
            let app = authcore_axum::router(auth);
            tokio::spawn(async move { axum::serve(listener, app).await });
            over_http(addr)
        })
        .await
        .unwrap();
    assert_eq!(report.routes, authcore::http::ROUTE_TABLE.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hyper_example_serves_the_whole_api_as_the_core() {
    let report = AdapterSuite::new(|| Arc::new(MemoryStore::new()))
        .run(|auth: Authenticator| async move {
            let (listener, addr) = listener().await;
            tokio::spawn(hyper_adapter::serve(listener, auth));
            over_http(addr)
        })
        .await
        .unwrap();
    assert_eq!(report.routes, authcore::http::ROUTE_TABLE.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hyper_example_has_a_protected_route_of_its_own() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::starting_now();
    let auth =
        fixtures::authenticator(store.clone(), store, &clock, AuthPolicy::default()).unwrap();
    let ann = signed_in(&auth, Role::DB_VIEWER).await.unwrap();
    let (listener, addr) = listener().await;
    tokio::spawn(hyper_adapter::serve(listener, auth));
    let client = reqwest::Client::new();
    let url = format!("http://{addr}{}", hyper_adapter::WHOAMI_PATH);
    let call = |method: reqwest::Method, authorization: Option<String>| {
        let mut req = client.request(method, &url);
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    for header in [ann.jwt(), ann.bearer()] {
        let (status, claims) = call(reqwest::Method::GET, Some(header)).await;
        assert_eq!(status, 200);
        assert_eq!(claims["username"], ann.email.as_str());
    }
    for header in [
        None,
        Some("Bearer x.y.z".to_owned()),
        Some("Bearer".to_owned()),
    ] {
        let (status, body) = call(reqwest::Method::GET, header).await;
        assert!(matches!(status, 400 | 401), "{status} {body}");
        assert!(body["error_code"].is_string(), "{body}");
    }
    let (status, body) = call(reqwest::Method::DELETE, Some(ann.jwt())).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}
