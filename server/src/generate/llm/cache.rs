//! Answers cached under `.testgen/llm-cache/`, one JSON file per request,
//! named by the SHA-256 of the request body (model, messages, tools,
//! temperature): a re-run of an unchanged project asks nothing. The files
//! hold the answer only, never the request's headers (the key).

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::client::Answer;
use crate::workspace::artifacts;

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    pub fn key(body: &serde_json::Value) -> String {
        let mut h = Sha256::new();
        h.update(body.to_string().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    pub fn get(&self, key: &str) -> Option<Answer> {
        let text = std::fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// A cache that cannot be written costs calls next time, nothing else.
    pub fn put(&self, key: &str, answer: &Answer) {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let bytes = serde_json::to_vec(answer).map_err(std::io::Error::other)?;
            artifacts::write_atomic(&self.path(key), &bytes)
        };
        if let Err(e) = write() {
            tracing::warn!("LLM cache {}: {e}", self.dir.display());
        }
    }
}
