//! One source of settings, holding only the keys it sets: the editor's
//! `initializationOptions` and `workspace/configuration`, `[tool.testgen]`
//! in pyproject.toml, environment variables, command-line flags. Each layer
//! knows where it came from (for error messages) and which directory its
//! relative paths are relative to.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, EngineChoice, Provider};

/// Where a layer's values came from, in rising priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    InitializationOptions,
    WorkspaceConfiguration,
    Pyproject,
    Environment,
    CommandLine,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::InitializationOptions => "the editor's initializationOptions",
            Source::WorkspaceConfiguration => "the editor's testgen settings",
            Source::Pyproject => "pyproject.toml [tool.testgen]",
            Source::Environment => "the environment",
            Source::CommandLine => "the command line",
        }
    }
}

/// The keys a layer may set; every one optional. Keys are camelCase in
/// JSON; pyproject.toml may also spell them snake_case or kebab-case.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Values {
    pub python: Option<PathBuf>,
    pub run_on_save: Option<bool>,
    pub debounce_ms: Option<u64>,
    pub test_timeout_s: Option<u64>,
    pub pytest_args: Option<Vec<String>>,
    pub uncovered_severity: Option<String>,
    pub partial_threshold: Option<f64>,
    pub engine: Option<EngineChoice>,
    pub min_coverage: Option<f64>,
    pub explore: ExploreValues,
    pub sandbox: SandboxValues,
    pub validation: ValidationValues,
    pub run: RunValues,
    pub llm: LlmValues,
}

/// `testgen run`'s loop and gates.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RunValues {
    pub min_delta: Option<f64>,
    pub iterations: Option<u32>,
    pub generation_timeout_s: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SandboxValues {
    pub memory_mb: Option<u64>,
    pub file_size_mb: Option<u64>,
    pub cpu_s: Option<u64>,
    pub open_files: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ValidationValues {
    pub slow_test_s: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ExploreValues {
    pub budget_s: Option<f64>,
    pub max_calls: Option<u32>,
    pub seed: Option<u64>,
    pub allow_unsafe: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LlmValues {
    pub provider: Option<Provider>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key: the key itself
    /// never goes into a settings file.
    pub api_key_env: Option<String>,
    pub max_concurrency: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub source: Source,
    /// Relative paths in this layer are relative to this directory.
    pub base: Option<PathBuf>,
    pub values: Values,
}

impl Layer {
    pub fn empty(source: Source) -> Layer {
        Layer {
            source,
            base: None,
            values: Values::default(),
        }
    }

    /// An editor layer. Clients send either the section itself or
    /// `{"testgen": {...}}`; `null`, `{}` and `[]` (Lua's empty table) are
    /// "nothing set". Relative paths are relative to the workspace `root`.
    pub fn from_json(
        source: Source,
        v: &serde_json::Value,
        root: Option<&Path>,
    ) -> Result<Layer, ConfigError> {
        let v = v.get("testgen").unwrap_or(v);
        let empty = v.is_null() || v.as_array().is_some_and(|a| a.is_empty());
        let values = if empty {
            Values::default()
        } else {
            serde_json::from_value(v.clone()).map_err(|e| ConfigError::invalid(source, e))?
        };
        Ok(Layer {
            source,
            base: root.map(Path::to_path_buf),
            values,
        })
    }

    /// `[tool.testgen]` of `dir/pyproject.toml`; an empty layer when there
    /// is no such file or table.
    pub fn from_pyproject(dir: &Path) -> Result<Layer, ConfigError> {
        let source = Source::Pyproject;
        let path = dir.join("pyproject.toml");
        let mut layer = Layer {
            source,
            base: Some(dir.to_path_buf()),
            values: Values::default(),
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(layer);
        };
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::File {
                path: path.clone(),
                message: e.message().to_string(),
            })?;
        let Some(t) = doc.get("tool").and_then(|t| t.get("testgen")) else {
            return Ok(layer);
        };
        let json = serde_json::to_value(t).map_err(|e| ConfigError::invalid(source, e))?;
        layer.values = serde_json::from_value(camel_keys(json))
            .map_err(|e| ConfigError::invalid(source, e))?;
        Ok(layer)
    }

    /// The environment variables testgen reads (docs/configuration.md), from
    /// `get` (so tests need not touch the process environment). Relative
    /// paths are relative to the project root.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        root: &Path,
    ) -> Result<Layer, ConfigError> {
        let mut v = Values::default();
        let var = |name: &str| get(name).filter(|s| !s.trim().is_empty());
        let number = |name: &'static str| -> Result<Option<f64>, ConfigError> {
            var(name)
                .map(|s| {
                    s.trim().parse::<f64>().map_err(|_| ConfigError::Env {
                        name,
                        message: format!("{s:?} is not a number"),
                    })
                })
                .transpose()
        };
        v.python = var("TESTGEN_PYTHON").map(PathBuf::from);
        if let Some(e) = var("TESTGEN_ENGINE") {
            v.engine = Some(EngineChoice::parse(&e).map_err(|message| ConfigError::Env {
                name: "TESTGEN_ENGINE",
                message,
            })?);
        }
        v.min_coverage = number("MIN_COVERAGE_THRESHOLD")?;
        v.run.generation_timeout_s = number("GENERATION_TIMEOUT")?.map(|s| s.max(1.0) as u64);
        // The reference's single-pass mode: without gap focus it generated
        // once; testgen always targets the gaps, so `false` means one round.
        if let Some(g) = var("GAP_FOCUSED_MODE") {
            match g.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => {}
                "false" | "0" | "no" => v.run.iterations = Some(1),
                _ => {
                    return Err(ConfigError::Env {
                        name: "GAP_FOCUSED_MODE",
                        message: format!("{g:?}: expected true or false"),
                    })
                }
            }
        }
        Ok(Layer {
            source: Source::Environment,
            base: Some(root.to_path_buf()),
            values: v,
        })
    }
}

/// `partial_threshold` and `partial-threshold` → `partialThreshold`, at
/// every depth.
fn camel_keys(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| (camel(&k), camel_keys(v)))
            .collect(),
        other => other,
    }
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut up = false;
    for c in key.chars() {
        if c == '_' || c == '-' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_in_any_case_style() {
        assert_eq!(camel("partial_threshold"), "partialThreshold");
        assert_eq!(camel("uncovered-severity"), "uncoveredSeverity");
        assert_eq!(camel("budgetS"), "budgetS");
    }

    #[test]
    fn empty_editor_values_in_every_shape() {
        for v in [json!(null), json!({}), json!([]), json!({"testgen": {}})] {
            let l = Layer::from_json(Source::WorkspaceConfiguration, &v, None).unwrap();
            assert_eq!(l.values, Values::default(), "{v}");
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors_naming_the_source() {
        let e = Layer::from_json(Source::InitializationOptions, &json!({"pyton": "x"}), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("initializationOptions") && e.contains("pyton"),
            "{e}"
        );
        let e = Layer::from_json(
            Source::WorkspaceConfiguration,
            &json!({"debounceMs": "soon"}),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("testgen settings"), "{e}");
    }

    #[test]
    fn environment_variables() {
        let env = |k: &str| match k {
            "TESTGEN_ENGINE" => Some("explore".to_string()),
            "MIN_COVERAGE_THRESHOLD" => Some("85".to_string()),
            _ => None,
        };
        let l = Layer::from_env(env, Path::new("/p")).unwrap();
        assert_eq!(l.values.engine, Some(EngineChoice::Explore));
        assert_eq!(l.values.min_coverage, Some(85.0));
        let bad = |k: &str| (k == "MIN_COVERAGE_THRESHOLD").then(|| "ninety".to_string());
        let e = Layer::from_env(bad, Path::new("/p"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("MIN_COVERAGE_THRESHOLD") && e.contains("ninety"),
            "{e}"
        );
    }
}
