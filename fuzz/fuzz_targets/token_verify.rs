//! cargo-fuzz target: see `common::token_verify`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::token_verify(data));
