//! The VS Code extension contributes every server setting (section
//! `testgen`) with the server's default: editors/vscode/package.json's
//! `contributes.configuration` must list exactly the server's keys. The
//! extension reads its key list from that same file at run time, so a key
//! missing here would never reach the server from VS Code.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// The server's settings (relative to `testgen.`) and their defaults; null:
/// no default (discovered or unset). From the server's own table.
fn server_keys() -> Vec<(&'static str, Value)> {
    testgen::config::schema::keys()
        .into_iter()
        .map(|k| (k.name, k.default))
        .collect()
}

/// Settings only the extension reads; the server never sees them.
const CLIENT_ONLY: [&str; 2] = ["path", "trace.server"];

fn contributed() -> BTreeMap<String, Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode/package.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let pkg: Value = serde_json::from_str(&text).expect("package.json is JSON");
    let props = pkg
        .pointer("/contributes/configuration/properties")
        .and_then(Value::as_object)
        .expect("package.json has contributes.configuration.properties");
    props
        .iter()
        .map(|(k, v)| {
            let key = k
                .strip_prefix("testgen.")
                .unwrap_or_else(|| panic!("{k}: every setting is under testgen."));
            (key.to_string(), v.clone())
        })
        .collect()
}

/// Defaults compare as numbers when both are numbers (80 == 80.0).
fn same_default(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[test]
fn package_json_contributes_exactly_the_server_keys() {
    let props = contributed();
    let contributed: Vec<&str> = props
        .keys()
        .map(String::as_str)
        .filter(|k| !CLIENT_ONLY.contains(k))
        .collect();
    let mut expected: Vec<&str> = server_keys().iter().map(|(k, _)| *k).collect();
    expected.sort_unstable();
    let missing: Vec<_> = expected
        .iter()
        .filter(|k| !contributed.contains(k))
        .collect();
    let extra: Vec<_> = contributed
        .iter()
        .filter(|k| !expected.contains(k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "editors/vscode/package.json: missing server keys {missing:?}, keys the server does not have {extra:?}"
    );
}

#[test]
fn package_json_defaults_are_the_server_defaults() {
    let props = contributed();
    for (key, want) in server_keys() {
        let Some(p) = props.get(key) else {
            continue; // reported by the test above
        };
        let got = p.get("default").unwrap_or_else(|| {
            panic!("testgen.{key}: no \"default\" (null when the server has none)")
        });
        assert!(
            same_default(got, &want),
            "testgen.{key}: package.json default {got}, server default {want}"
        );
        let described = ["description", "markdownDescription"].iter().any(|d| {
            p.get(*d)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        });
        assert!(described, "testgen.{key}: no description");
    }
}

#[test]
fn package_json_has_the_client_only_settings() {
    let props = contributed();
    for key in CLIENT_ONLY {
        assert!(
            props.contains_key(key),
            "testgen.{key} is missing from package.json"
        );
    }
}
