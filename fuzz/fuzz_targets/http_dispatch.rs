//! cargo-fuzz target: see `common::http_dispatch`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::http_dispatch(data));
