//! cargo-fuzz target: see `common::ldap_config`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::ldap_config(data));
