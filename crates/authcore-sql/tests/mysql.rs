//! MySQL/MariaDB, on the server `scripts/test` starts (`AUTHCORE_TEST_MYSQL_URL`); each run
//! creates its own databases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[macro_use]
mod server_engine;

use authcore_sql::{Engine, SqlStore};

server_engine_tests!(
    engine: Engine::MySql,
    fresh_url: common::fresh_mysql_url,
    scheme: "mysql",
    needs: "needs MariaDB: run scripts/test",
);
