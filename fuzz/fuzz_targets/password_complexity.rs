//! cargo-fuzz target: see `common::password_complexity`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::password_complexity(data));
