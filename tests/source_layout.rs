//! The layout promises of issue #11, checked on the sources: no file under a crate's `src/`
//! over 600 lines; the adapters (the axum crate and `examples/hyper_adapter.rs`) keep no path
//! string of the users API; `Role` constants are used as `Role`s; `ARCHITECTURE.md`'s table of
//! crate dependencies is what the `Cargo.toml` files say, and every file it names exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, skipping build output and VCS data.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | ".git" | "node_modules")
                && !name.ends_with(".target")
            {
                files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    files(dir, &mut all);
    all.retain(|p| p.extension().is_some_and(|e| e == "rs"));
    all
}

#[test]
fn no_file_under_a_crates_src_is_over_600_lines() {
    let mut long = Vec::new();
    let mut checked = 0;
    for krate in fs::read_dir(root().join("crates")).unwrap() {
        for file in rust_files(&krate.unwrap().path().join("src")) {
            checked += 1;
            let lines = fs::read_to_string(&file).unwrap().lines().count();
            if lines > 600 {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    for file in rust_files(&root().join("src")) {
        checked += 1;
        let lines = fs::read_to_string(&file).unwrap().lines().count();
        if lines > 600 {
            long.push(format!("{} ({lines} lines)", file.display()));
        }
    }
    assert!(checked > 50, "only {checked} files found");
    assert!(long.is_empty(), "over 600 lines: {long:?}");
}

/// The string literals of a Rust source outside comments (good enough for our own files: no
/// raw strings hold paths there).
fn string_literals(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('"') else { break };
            out.push(after[..end].to_owned());
            rest = &after[end + 1..];
        }
    }
    out
}

#[test]
fn the_adapters_keep_no_path_strings() {
    let templates: BTreeSet<&str> = authcore::http::ROUTE_TABLE.iter().map(|r| r.path).collect();
    assert!(templates.contains("/v1/users/authorize"));
    let mut sources = rust_files(&root().join("crates/authcore-axum/src"));
    sources.push(root().join("examples/hyper_adapter.rs"));
    for file in sources {
        let text = fs::read_to_string(&file).unwrap();
        for literal in string_literals(&text) {
            // The hyper example's own application route is the one path it may name.
            let own = file.ends_with("examples/hyper_adapter.rs") && literal == "/app/whoami";
            assert!(
                own || !literal.starts_with('/'),
                "{}: path string {literal:?}: routing belongs to the core's ROUTE_TABLE",
                file.display()
            );
            assert!(
                !templates.iter().any(|t| literal.contains(t)),
                "{}: {literal:?} names a route of the table",
                file.display()
            );
        }
    }
}

#[test]
fn role_constants_are_used_as_roles() {
    let mut found = Vec::new();
    let mut all = Vec::new();
    for dir in ["crates", "src", "tests", "examples", "benches", "fuzz"] {
        all.extend(rust_files(&root().join(dir)));
    }
    // Spelt in two pieces so this file does not find itself.
    let needle = format!("Role::new({}::", "Role");
    for file in all {
        let text = fs::read_to_string(&file).unwrap();
        if text.contains(&needle) {
            found.push(file.display().to_string());
        }
    }
    assert!(
        found.is_empty(),
        "`{needle}` (a Role made from a Role): {found:?}"
    );
}

/// The workspace crates `manifest` depends on (normal dependencies, optional ones included).
fn workspace_dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(manifest).unwrap();
    let mut deps = BTreeSet::new();
    let mut in_deps = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && line.starts_with("authcore") {
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            deps.insert(name);
        }
    }
    deps
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn architecture_md_states_the_crate_graph_of_the_manifests() {
    let doc = fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("## Crates and what each may depend on")
        .nth(1)
        .expect("ARCHITECTURE.md has the dependency section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut documented = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let stated: BTreeSet<String> = backticked(cells[2])
            .into_iter()
            .filter(|n| n.starts_with("authcore"))
            .collect();
        // The crates named before any parenthesis ("(the `authcore` binary)" is a remark).
        let named = cells[1].split('(').next().unwrap();
        for krate in backticked(named)
            .into_iter()
            .filter(|n| n.starts_with("authcore"))
        {
            let manifest = if krate == "authcore" {
                root().join("Cargo.toml")
            } else {
                root().join("crates").join(&krate).join("Cargo.toml")
            };
            assert!(manifest.exists(), "{krate}: no {}", manifest.display());
            assert_eq!(
                workspace_dependencies(&manifest),
                stated,
                "ARCHITECTURE.md's dependencies of {krate}"
            );
            documented.insert(krate);
        }
    }
    for krate in fs::read_dir(root().join("crates")).unwrap() {
        let name = krate.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            documented.contains(&name),
            "{name} is missing from ARCHITECTURE.md's table"
        );
    }
}

#[test]
fn every_file_architecture_md_names_exists() {
    let doc = fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut all = Vec::new();
    files(&root(), &mut all);
    let paths: Vec<String> = all
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let mut named = 0;
    for token in backticked(&doc) {
        let token = token.split("::").next().unwrap();
        if token.contains(' ') || !(token.ends_with(".rs") || token.ends_with('/')) {
            continue;
        }
        named += 1;
        let found = if let Some(dir) = token.strip_suffix('/') {
            paths
                .iter()
                .any(|p| p.starts_with(&format!("{dir}/")) || p.contains(&format!("/{dir}/")))
        } else {
            paths
                .iter()
                .any(|p| p == token || p.ends_with(&format!("/{token}")))
        };
        assert!(
            found,
            "ARCHITECTURE.md names `{token}`, which no file of the tree is"
        );
    }
    assert!(
        named > 30,
        "only {named} file names found in ARCHITECTURE.md"
    );
}
