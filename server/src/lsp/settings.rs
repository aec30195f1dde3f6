//! The server's settings, from three places in rising priority:
//! `initializationOptions`, `workspace/configuration` (section `testgen`),
//! and `[tool.testgen]` in the workspace's pyproject.toml. Every key is
//! optional; a layer only overrides the keys it sets. docs/configuration.md
//! documents each one.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tower_lsp_server::ls_types::DiagnosticSeverity;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub python: Option<PathBuf>,
    pub run_on_save: bool,
    pub debounce_ms: u64,
    pub test_timeout_s: u64,
    pub pytest_args: Vec<String>,
    pub uncovered_severity: DiagnosticSeverity,
    /// Functions below this percent get `partially-covered`.
    pub partial_threshold: f64,
    pub engine: String,
    pub llm: LlmSettings,
}

/// Read by the LLM engine (a later issue); kept here so every layer can set them.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LlmSettings {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    /// Name of the environment variable that holds the API key (the key
    /// itself never goes into settings files).
    pub api_key_env: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            python: None,
            run_on_save: true,
            debounce_ms: 300,
            test_timeout_s: 600,
            pytest_args: Vec::new(),
            uncovered_severity: DiagnosticSeverity::INFORMATION,
            partial_threshold: 80.0,
            engine: "explore".into(),
            llm: LlmSettings::default(),
        }
    }
}

/// One layer: only the keys it sets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Layer {
    python: Option<PathBuf>,
    run_on_save: Option<bool>,
    debounce_ms: Option<u64>,
    test_timeout_s: Option<u64>,
    pytest_args: Option<Vec<String>>,
    uncovered_severity: Option<String>,
    partial_threshold: Option<f64>,
    engine: Option<String>,
    llm: Option<LlmSettings>,
}

impl Layer {
    /// A layer from JSON; wrong types are reported, not silently dropped.
    pub fn from_json(v: &serde_json::Value) -> Result<Layer, String> {
        // Clients send either the section itself or {"testgen": {...}}.
        let v = v.get("testgen").unwrap_or(v);
        // Null, or Lua's empty table `{}` (a JSON array) from Neovim.
        if v.is_null() || v.as_array().is_some_and(|a| a.is_empty()) {
            return Ok(Layer::default());
        }
        serde_json::from_value(v.clone()).map_err(|e| format!("invalid testgen settings: {e}"))
    }

    /// `[tool.testgen]` of `root/pyproject.toml` (keys in camelCase or snake_case).
    pub fn from_pyproject(root: &Path) -> Result<Layer, String> {
        let Ok(text) = std::fs::read_to_string(root.join("pyproject.toml")) else {
            return Ok(Layer::default());
        };
        let doc: toml::Table = text.parse().map_err(|e| format!("pyproject.toml: {e}"))?;
        let Some(t) = doc.get("tool").and_then(|t| t.get("testgen")) else {
            return Ok(Layer::default());
        };
        let json = serde_json::to_value(t).map_err(|e| e.to_string())?;
        let json = camel_keys(json);
        serde_json::from_value(json).map_err(|e| format!("pyproject.toml [tool.testgen]: {e}"))
    }
}

fn camel_keys(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| {
                let mut out = String::new();
                let mut up = false;
                for c in k.chars() {
                    if c == '_' || c == '-' {
                        up = true;
                    } else if up {
                        out.extend(c.to_uppercase());
                        up = false;
                    } else {
                        out.push(c);
                    }
                }
                (out, camel_keys(v))
            })
            .collect(),
        other => other,
    }
}

impl Settings {
    /// Applies `layers` in order, later ones winning.
    pub fn from_layers(layers: &[&Layer]) -> Result<Settings, String> {
        let mut s = Settings::default();
        for l in layers {
            s.apply(l)?;
        }
        Ok(s)
    }

    fn apply(&mut self, l: &Layer) -> Result<(), String> {
        if let Some(p) = &l.python {
            self.python = Some(p.clone());
        }
        if let Some(v) = l.run_on_save {
            self.run_on_save = v;
        }
        if let Some(v) = l.debounce_ms {
            self.debounce_ms = v.min(60_000);
        }
        if let Some(v) = l.test_timeout_s {
            if v == 0 {
                return Err("testTimeoutS must be at least 1".into());
            }
            self.test_timeout_s = v;
        }
        if let Some(v) = &l.pytest_args {
            self.pytest_args = v.clone();
        }
        if let Some(v) = &l.uncovered_severity {
            self.uncovered_severity = match v.to_ascii_lowercase().as_str() {
                "error" => DiagnosticSeverity::ERROR,
                "warning" => DiagnosticSeverity::WARNING,
                "information" | "info" => DiagnosticSeverity::INFORMATION,
                "hint" => DiagnosticSeverity::HINT,
                other => {
                    return Err(format!(
                        "uncoveredSeverity {other:?}: expected error, warning, information or hint"
                    ))
                }
            };
        }
        if let Some(v) = l.partial_threshold {
            if !(0.0..=100.0).contains(&v) {
                return Err("partialThreshold must be between 0 and 100".into());
            }
            self.partial_threshold = v;
        }
        if let Some(v) = &l.engine {
            if !matches!(v.as_str(), "explore" | "llm") {
                return Err(format!("engine {v:?}: expected \"explore\" or \"llm\""));
            }
            self.engine = v.clone();
        }
        if let Some(v) = &l.llm {
            self.llm = v.clone();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_layers_win_key_by_key() {
        let init = Layer::from_json(&json!({"runOnSave": false, "debounceMs": 100})).unwrap();
        let config = Layer::from_json(&json!({"testgen": {"debounceMs": 50}})).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.testgen]\npartial_threshold = 60\nuncovered-severity = \"warning\"\n",
        )
        .unwrap();
        let py = Layer::from_pyproject(dir.path()).unwrap();
        let s = Settings::from_layers(&[&init, &config, &py]).unwrap();
        assert!(!s.run_on_save);
        assert_eq!(s.debounce_ms, 50);
        assert_eq!(s.partial_threshold, 60.0);
        assert_eq!(s.uncovered_severity, DiagnosticSeverity::WARNING);
        assert_eq!(s.test_timeout_s, 600);
    }

    #[test]
    fn an_empty_lua_table_is_no_settings() {
        // Neovim encodes `settings = { testgen = {} }` as `{"testgen": []}`.
        assert!(Layer::from_json(&json!([])).is_ok());
        assert!(Layer::from_json(&json!({"testgen": []})).is_ok());
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Layer::from_json(&json!({"debounceMs": "soon"})).is_err());
        let l = Layer::from_json(&json!({"uncoveredSeverity": "loud"})).unwrap();
        assert!(Settings::from_layers(&[&l]).is_err());
    }
}
