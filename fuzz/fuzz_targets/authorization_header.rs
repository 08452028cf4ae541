//! cargo-fuzz target: see `common::authorization_header`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::authorization_header(data));
