//! The memory store runs the whole conformance suite.

use std::sync::Arc;

use authcore_memory::MemoryStore;
use authcore_testkit::conformance;

#[tokio::test]
async fn user_admin_suite() {
    conformance::run_user_admin_suite(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_suite() {
    conformance::run_lockout_suite(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_suite() {
    conformance::run_session_suite(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticator_session_suite() {
    let store = Arc::new(MemoryStore::new());
    conformance::run_authenticator_session_suite(store.clone(), store).await;
}

#[tokio::test]
async fn authenticator_suite() {
    let store = Arc::new(MemoryStore::new());
    conformance::run_authenticator_suite(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_invariant_suite() {
    conformance::run_admin_invariant_suite(Arc::new(MemoryStore::new())).await;
}
