//! cargo-fuzz target: see `common::stored_hash`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::stored_hash(data));
