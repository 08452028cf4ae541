//! PostgreSQL, on the server `scripts/test` starts (`AUTHCORE_TEST_POSTGRES_URL`); each run
//! creates its own databases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[macro_use]
mod server_engine;

use authcore_sql::{Engine, SqlStore};

server_engine_tests!(
    engine: Engine::Postgres,
    fresh_url: common::fresh_postgres_url,
    scheme: "postgres",
    needs: "needs PostgreSQL: run scripts/test",
);
