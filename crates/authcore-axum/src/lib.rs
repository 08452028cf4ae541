//! authcore-axum: under construction.
