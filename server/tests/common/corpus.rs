//! The provider corpus (`server/tests/llm_corpus/*.json`, see its README)
//! as stub scripts: each entry answers like the server it was taken from.

use serde_json::Value;

use super::llm_stub::{Recorded, Reply};

#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub json: Value,
}

impl Entry {
    pub fn load(name: &str) -> Entry {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/llm_corpus")
            .join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        Entry {
            name: name.into(),
            json: serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}")),
        }
    }

    pub fn all() -> Vec<Entry> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/llm_corpus");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_suffix(".json").map(str::to_string)
            })
            .collect();
        names.sort();
        names.iter().map(|n| Entry::load(n)).collect()
    }

    pub fn provider(&self) -> &str {
        self.json["provider"].as_str().unwrap()
    }

    pub fn model(&self) -> &str {
        self.json["model"].as_str().unwrap()
    }

    /// The answer to `r`: the first exchange whose condition holds, with
    /// `content` as the model's text and `key` where the server echoes it.
    pub fn reply(&self, r: &Recorded, content: &str, key: &str) -> Reply {
        let exchange = self.json["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| match x["when"]["has"].as_str() {
                Some(field) => r.body.get(field).is_some(),
                None => true,
            })
            .unwrap_or_else(|| panic!("{}: no exchange fits {}", self.name, r.body));
        let body = exchange["body"]
            .to_string()
            .replace("\"$CONTENT\"", &serde_json::to_string(content).unwrap())
            .replace("$KEY", key);
        Reply {
            status: exchange["status"].as_u64().unwrap() as u16,
            headers: Vec::new(),
            body,
            delay: std::time::Duration::ZERO,
        }
    }

    /// Checks the request that was answered with 200 against
    /// `answered_request`.
    pub fn check_answered(&self, r: &Recorded) {
        let spec = &self.json["answered_request"];
        let fields = |k: &str| -> Vec<String> {
            spec[k]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        for f in fields("has") {
            assert!(
                r.body.get(&f).is_some(),
                "{}: the request lacks {f}: {}",
                self.name,
                r.body
            );
        }
        for f in fields("lacks") {
            assert!(
                r.body.get(&f).is_none(),
                "{}: the request has {f}: {}",
                self.name,
                r.body
            );
        }
    }

    /// The status the entry gives `r`.
    pub fn status_for(&self, r: &Recorded) -> u16 {
        self.reply(r, "", "").status
    }
}
