//! Helpers shared by the integration tests that check this crate against the
//! real AI SDK (`node_modules/ai`, run with `node_modules/.bin/node`).

#![allow(dead_code)]

pub mod agent;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<sub>`.
pub fn fixtures(sub: &str) -> PathBuf {
    root().join("tests").join("fixtures").join(sub)
}

/// Runs `node_modules/.bin/node tests/js/<script> <args>` and parses its
/// stdout as JSON. Fails (never skips) when the SDK is not installed.
pub fn run_node(script: &str, args: &[&str]) -> Value {
    let root = root();
    let node = root.join("node_modules").join(".bin").join("node");
    let sdk = root.join("node_modules").join("ai").join("package.json");
    assert!(
        node.exists() && sdk.exists(),
        "the reference AI SDK is not installed ({} or {} is missing): run `npm ci` in {}",
        node.display(),
        sdk.display(),
        root.display()
    );
    let out = Command::new(&node)
        .arg(root.join("tests").join("js").join(script))
        .args(args)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", node.display()));
    assert!(out.status.success(), "tests/js/{script} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("tests/js/{script} printed invalid JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

/// The `*.json` files of a directory, sorted, as (name without `.json`, path).
pub fn json_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    files.sort();
    files
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The JSON path of the first place where `a` and `b` differ, with both
/// values there, or `None` when they are equal.
pub fn first_difference(a: &Value, b: &Value) -> Option<String> {
    fn walk(a: &Value, b: &Value, path: &mut String) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    let found = match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => walk(p, q, path),
                        (p, q) => Some(format!("{path}: {} vs {}", show(p), show(q))),
                    };
                    if found.is_some() {
                        return found;
                    }
                    path.truncate(len);
                }
                None
            }
            (Value::Array(x), Value::Array(y)) => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    if let Some(found) = walk(p, q, path) {
                        return Some(found);
                    }
                    path.truncate(len);
                }
                (x.len() != y.len()).then(|| format!("{path}: length {} vs {}", x.len(), y.len()))
            }
            _ => (a != b).then(|| format!("{path}: {a} vs {b}")),
        }
    }
    fn show(v: Option<&Value>) -> String {
        v.map_or_else(|| "(missing)".into(), Value::to_string)
    }
    walk(a, b, &mut String::from("$"))
}

/// Panics with a readable report when `expected != got`.
pub fn assert_json_eq(what: &str, expected: &Value, got: &Value) {
    if let Some(diff) = first_difference(expected, got) {
        panic!(
            "{what}: mismatch at {diff}\n--- expected\n{}\n--- got\n{}",
            serde_json::to_string_pretty(expected).unwrap(),
            serde_json::to_string_pretty(got).unwrap()
        );
    }
}
