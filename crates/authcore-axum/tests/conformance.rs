//! The axum router runs the testkit's HTTP conformance suite for adapters, in process (the
//! workspace's `tests/http_adapters.rs` runs it again over a real listener).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use authcore_core::Authenticator;
use authcore_memory::MemoryStore;
use authcore_testkit::adapters::AdapterSuite;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use tower::ServiceExt as _;

#[tokio::test(flavor = "multi_thread")]
async fn the_router_answers_as_the_core() {
    let report = AdapterSuite::new(|| Arc::new(MemoryStore::new()))
        .run(|auth: Authenticator| async move {
            let app = authcore_axum::router(auth);
            move |req: Request<Bytes>| {
                let app = app.clone();
                async move {
                    let res = app.oneshot(req.map(Body::from)).await.unwrap();
                    let (parts, body) = res.into_parts();
                    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                    Response::from_parts(parts, body)
                }
            }
        })
        .await
        .unwrap();
    assert_eq!(
        report.routes,
        authcore_core::http::ROUTE_TABLE.len(),
        "{report:?}"
    );
}
