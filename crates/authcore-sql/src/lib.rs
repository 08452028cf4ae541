//! authcore-sql: under construction.
