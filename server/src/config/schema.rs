//! Every configuration key with its type, default and meaning, in one
//! table: docs/configuration.md and the VS Code extension's contributed
//! settings are checked against it (tests), so the three cannot drift.

use serde_json::{json, Value};

/// One key as clients see it (`explore.budgetS` is `budgetS` inside the
/// `explore` object).
#[derive(Debug, Clone)]
pub struct Key {
    pub name: &'static str,
    /// JSON-schema type: "string", "boolean", "integer", "number", "array".
    pub kind: &'static str,
    /// Allowed values of a string key, when restricted.
    pub one_of: &'static [&'static str],
    pub default: Value,
    pub description: &'static str,
}

/// All keys, in documentation order.
pub fn keys() -> Vec<Key> {
    let k = |name, kind, one_of: &'static [&'static str], default, description| Key {
        name,
        kind,
        one_of,
        default,
        description,
    };
    vec![
        k("python", "string", &[], Value::Null,
          "The interpreter that runs the project's tests (must have pytest and pytest-cov). A path (relative paths resolve against the project root) or a program name on PATH. Default: $VIRTUAL_ENV, .venv/ or venv/ in the project, python3."),
        k("runOnSave", "boolean", &[], json!(true),
          "Run the tests affected by a saved Python file, then refresh diagnostics and lenses."),
        k("debounceMs", "integer", &[], json!(300),
          "Wait this long after a save before running; a newer save restarts the wait. Capped at 60000."),
        k("testTimeoutS", "integer", &[], json!(600),
          "A test run taking longer is killed with every process it started."),
        k("pytestArgs", "array", &[], json!([]),
          "Extra pytest arguments, after testgen's own."),
        k("uncoveredSeverity", "string", &["error", "warning", "information", "hint"], json!("information"),
          "Severity of uncovered-function diagnostics."),
        k("partialThreshold", "number", &[], json!(80),
          "A function covered below this percent gets a partially-covered hint."),
        k("engine", "string", &["auto", "explore", "llm"], json!("auto"),
          "Which engine writes tests: explore (offline), llm, or auto (the LLM when one is configured, explore otherwise)."),
        k("minCoverage", "number", &[], json!(90),
          "The coverage gate, percent: functions below it are gaps; `testgen run` fails below it."),
        k("explore.budgetS", "number", &[], json!(30),
          "Wall-clock cap per target of the explore engine, seconds."),
        k("explore.maxCalls", "integer", &[], json!(400),
          "Calls tried per target at most (what keeps a seed's output stable)."),
        k("explore.seed", "integer", &[], json!(0),
          "Seed of the explore search: the same seed gives the same tests."),
        k("explore.allowUnsafe", "boolean", &[], json!(false),
          "Also explore functions that delete files, start processes or use the network."),
        k("sandbox.memoryMb", "integer", &[], json!(4096),
          "Address space of each sandboxed child (the explore harness, validation runs), MiB: a larger allocation fails with MemoryError."),
        k("sandbox.fileSizeMb", "integer", &[], json!(512),
          "Largest file a sandboxed child may write, MiB."),
        k("sandbox.cpuS", "integer", &[], json!(900),
          "CPU seconds a sandboxed child may use over its whole life."),
        k("sandbox.openFiles", "integer", &[], json!(1024),
          "Open files a sandboxed child may hold at once."),
        k("validation.slowTestS", "number", &[], json!(5),
          "A generated test taking longer than this in validation is dropped, seconds."),
        k("run.minDelta", "number", &[], json!(0),
          "`testgen run` fails when coverage rose by less than this many points."),
        k("run.iterations", "integer", &[], json!(3),
          "Generation rounds of `testgen run` at most (each targets what is still missed)."),
        k("run.generationTimeoutS", "integer", &[], json!(600),
          "Wall-clock cap of all generation rounds of `testgen run`, seconds."),
        k("llm.provider", "string", &["openai", "azure", "openai-compatible"], Value::Null,
          "Where LLM requests go."),
        k("llm.model", "string", &[], Value::Null,
          "Model name (for Azure: the deployment)."),
        k("llm.baseUrl", "string", &[], Value::Null,
          "Endpoint of an OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio)."),
        k("llm.apiKeyEnv", "string", &[], Value::Null,
          "Name of the environment variable holding the API key (the key itself never goes into a settings file)."),
        k("llm.apiVersion", "string", &[], json!("2024-02-15-preview"),
          "Azure OpenAI's api-version (AZURE_OPENAI_API_VERSION)."),
        k("llm.maxConcurrency", "integer", &[], json!(8),
          "LLM requests in flight at once."),
        k("llm.timeoutS", "number", &[], json!(120),
          "Limit of one LLM request, seconds (OPENAI_REQUEST_TIMEOUT, OPENAI_TIMEOUT); a request past it is retried."),
        k("llm.connectTimeoutS", "number", &[], json!(10),
          "Limit of connecting to the LLM server, seconds (OPENAI_CONNECT_TIMEOUT)."),
        k("llm.requestTokens", "integer", &[], json!(3000),
          "Prompt tokens one request may carry: the target's context is cut to fit (the model asks for more with get_info)."),
        k("llm.maxCalls", "integer", &[], json!(0),
          "LLM calls one run may make at most; 0: no cap. A run the cap stops says so."),
        k("llm.maxTokens", "integer", &[], json!(0),
          "Tokens (prompt and completion) one run may use at most; 0: no cap."),
        k("llm.cache", "boolean", &[], json!(true),
          "Cache answers under .testgen/llm-cache/ (keyed by model and messages): an unchanged project makes no calls."),
        k("llm.promptPrice", "number", &[], Value::Null,
          "Price in USD per million prompt tokens, for the cost estimate; default: testgen's table for known models."),
        k("llm.completionPrice", "number", &[], Value::Null,
          "Price in USD per million completion tokens, for the cost estimate; default: testgen's table for known models."),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Layer, Source};

    /// Each key's default in the table is the default `Config` has: setting
    /// it explicitly changes nothing.
    #[test]
    fn table_defaults_are_the_config_defaults() {
        for key in keys() {
            if key.default.is_null() {
                continue;
            }
            let mut v = serde_json::Map::new();
            match key.name.split_once('.') {
                Some((group, name)) => {
                    v.insert(group.into(), json!({ name: key.default.clone() }));
                }
                None => {
                    v.insert(key.name.into(), key.default.clone());
                }
            }
            let layer = Layer::from_json(Source::InitializationOptions, &Value::Object(v), None)
                .unwrap_or_else(|e| panic!("{}: {e}", key.name));
            assert_eq!(
                Config::from_layers([&layer]).unwrap(),
                Config::default(),
                "{}",
                key.name
            );
        }
    }

    #[test]
    fn documentation_lists_every_key() {
        let doc = include_str!("../../../docs/configuration.md");
        for key in keys() {
            assert!(
                doc.contains(&format!("| `{}` |", key.name)),
                "docs/configuration.md has no table row for `{}`",
                key.name
            );
        }
    }
}
