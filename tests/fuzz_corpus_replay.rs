//! Replays every committed fuzz corpus input (`fuzz/corpus/<target>/`) and the seeds through
//! the same target bodies the cargo-fuzz binaries run (`fuzz/common/mod.rs`), on the stable
//! toolchain: a regression found once by the fuzzer fails `cargo test` without a fuzzer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/common/mod.rs"]
mod common;

use std::path::PathBuf;

/// A fuzz target: its name (the directory of its corpus) and its body.
type Target = (&'static str, fn(&[u8]));

/// Every fuzz target.
const TARGETS: &[Target] = &[
    ("http_dispatch", common::http_dispatch),
    ("token_verify", common::token_verify),
    ("authorization_header", common::authorization_header),
    ("stored_hash", common::stored_hash),
    ("ldap_escape_dn", common::ldap_escape_dn),
    ("password_complexity", common::password_complexity),
    ("ldap_config", common::ldap_config),
];

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn body(target: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target {target}"))
}

#[test]
fn every_committed_corpus_input_replays() {
    let mut total = 0;
    for (target, run) in TARGETS {
        let dir = corpus_dir(target);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target has a corpus)", dir.display()));
        let mut n = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let input = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&input));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
            n += 1;
        }
        assert!(n > 0, "{target}: empty corpus");
        total += n;
    }
    assert!(total >= 50, "only {total} corpus inputs");
}

#[test]
fn seeds_hold_the_invariants() {
    for (target, inputs) in common::seeds() {
        for input in inputs {
            body(target)(&input);
        }
    }
}

/// The fixtures are what the fuzzer is told they are: the valid tokens verify, the HTTP
/// fixture's seeds reach the authenticated endpoints (so a mutation of them explores
/// past the authentication check).
#[test]
fn fixtures_are_live() {
    let fx = common::tokens();
    for (kid, token) in &fx.valid {
        assert!(fx.verifier.verify(token, common::now()).is_ok(), "{kid}");
    }
    let http = common::http_fixture();
    let admin = common::http_token(common::ADMIN_EMAIL, common::ADMIN_PASSWORD);
    let request = format!("GET /v1/users\nauthorization: JWT {admin}\n\n");
    let (method, target, headers, body) = common::split_request(request.as_bytes());
    let res = http.runtime.block_on(common::dispatch(
        &http.auth, &method, &target, &headers, body,
    ));
    assert_eq!(res.status, 200);
}

/// Writes the seeds into `fuzz/corpus/<target>/seed-<n>` (run once before fuzzing:
/// `AUTHCORE_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_corpus_replay -- --ignored write_seeds`).
///
/// A tool, not a check: without the variable it does nothing, so that `scripts/test` (which
/// runs ignored tests against real servers) never writes into the source tree, nor signs the
/// fixture users in while the replay is locking them out with wrong passwords.
#[test]
#[ignore = "writes into the source tree; needs AUTHCORE_WRITE_FUZZ_SEEDS=1"]
fn write_seeds() {
    if std::env::var_os("AUTHCORE_WRITE_FUZZ_SEEDS").is_none() {
        eprintln!("write_seeds: set AUTHCORE_WRITE_FUZZ_SEEDS=1 to write the seeds");
        return;
    }
    for (target, inputs) in common::seeds() {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, input) in inputs.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), input).unwrap();
        }
    }
}
