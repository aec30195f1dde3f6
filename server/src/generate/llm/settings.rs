//! The LLM settings of one run, resolved from the configuration and the
//! environment: provider, model, where requests go, the key (read from the
//! variable the configuration names, never from a settings file), limits.
//! Every missing piece is one message naming the setting to set.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{LlmConfig, Provider};

/// OpenAI's model when none is configured: cheap, fast, good at code, and
/// takes tools and `temperature` (docs/configuration.md).
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";

/// Where the cache lives, relative to the project root.
pub const CACHE_DIR: &str = ".testgen/llm-cache";

/// The API key. Its `Debug` never shows it.
#[derive(Clone, PartialEq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        text.replace(&self.0, "[redacted]")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub provider: Provider,
    /// For Azure: the deployment.
    pub model: String,
    pub base_url: String,
    pub api_version: String,
    pub key: Option<Secret>,
    /// The variable the key came from (for messages).
    pub key_env: Option<String>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_concurrency: usize,
    pub request_tokens: u32,
    pub max_calls: Option<u32>,
    pub max_tokens: Option<u64>,
    /// None: no cache (`--no-cache`, `llm.cache = false`).
    pub cache_dir: Option<PathBuf>,
    /// USD per million tokens (prompt, completion).
    pub prices: (f64, f64),
}

impl Settings {
    /// Resolves `c` for the project at `root`; `env` reads the process
    /// environment (tests pass their own).
    pub fn resolve(
        c: &LlmConfig,
        root: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        // An OpenAI key alone is enough: the user asked for the LLM engine
        // and holds a key for OpenAI.
        let key_alone = || {
            env(Provider::Openai.default_key_env())
                .filter(|k| !k.trim().is_empty())
                .map(|_| Provider::Openai)
        };
        let provider = c.provider.or_else(key_alone).ok_or(
            "no LLM is configured: set OPENAI_API_KEY (OpenAI, model gpt-4o-mini), or llm.provider (\"openai\", \"azure\" or \"openai-compatible\") in [tool.testgen.llm], the editor's testgen.llm.provider, TESTGEN_LLM_PROVIDER or --provider; or use --engine explore",
        )?;
        let model = c
            .model
            .clone()
            .filter(|m| !m.trim().is_empty())
            .or_else(|| (provider == Provider::Openai).then(|| DEFAULT_OPENAI_MODEL.to_string()))
            .ok_or_else(|| match provider {
                Provider::Azure => "Azure OpenAI needs its deployment: set AZURE_OPENAI_DEPLOYMENT or llm.model (--model)".to_string(),
                _ => format!("{} needs a model name: set llm.model (--model, TESTGEN_LLM_MODEL)", provider.describe()),
            })?;
        let base_url = match (provider, &c.base_url) {
            (_, Some(u)) if !u.trim().is_empty() => u.trim().to_string(),
            (Provider::Openai, _) => async_openai::config::OPENAI_API_BASE.to_string(),
            (Provider::Azure, _) => {
                return Err("Azure OpenAI needs its endpoint: set AZURE_OPENAI_ENDPOINT or llm.baseUrl (https://NAME.openai.azure.com)".into())
            }
            (Provider::OpenaiCompatible, _) => {
                return Err("an OpenAI-compatible server needs its address: set llm.baseUrl (--base-url), e.g. http://localhost:11434/v1".into())
            }
        };
        let key_env = c
            .api_key_env
            .clone()
            .or_else(|| Some(provider.default_key_env().to_string()));
        let key = key_env
            .as_deref()
            .and_then(&env)
            .filter(|k| !k.trim().is_empty())
            .map(|k| Secret(k.trim().to_string()));
        if key.is_none() && provider != Provider::OpenaiCompatible {
            return Err(format!(
                "{} needs an API key: set {} (llm.apiKeyEnv names another variable)",
                provider.describe(),
                key_env.as_deref().unwrap_or(provider.default_key_env())
            ));
        }
        let table = super::accounting::price(&model);
        Ok(Settings {
            provider,
            model,
            base_url,
            api_version: c.api_version.clone(),
            key,
            key_env,
            timeout: Duration::from_secs_f64(c.timeout_s),
            connect_timeout: Duration::from_secs_f64(c.connect_timeout_s),
            max_concurrency: c.max_concurrency as usize,
            request_tokens: c.request_tokens,
            max_calls: c.max_calls,
            max_tokens: c.max_tokens,
            cache_dir: c.cache.then(|| root.join(CACHE_DIR)),
            prices: (
                c.prompt_price.unwrap_or(table.0),
                c.completion_price.unwrap_or(table.1),
            ),
        })
    }

    /// Where requests go, for messages (never the key).
    pub fn where_(&self) -> String {
        match self.provider {
            Provider::Azure => format!("{} (deployment {})", self.base_url, self.model),
            _ => self.base_url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(provider: Provider) -> LlmConfig {
        LlmConfig {
            provider: Some(provider),
            model: Some("gpt-4o-mini".into()),
            ..LlmConfig::default()
        }
    }

    #[test]
    fn missing_pieces_name_the_setting() {
        let none = |_: &str| None;
        let e = Settings::resolve(&LlmConfig::default(), Path::new("/p"), none).unwrap_err();
        assert!(e.contains("llm.provider"), "{e}");
        let e = Settings::resolve(&cfg(Provider::Openai), Path::new("/p"), none).unwrap_err();
        assert!(e.contains("OPENAI_API_KEY"), "{e}");
        let e = Settings::resolve(&cfg(Provider::Azure), Path::new("/p"), none).unwrap_err();
        assert!(e.contains("AZURE_OPENAI_ENDPOINT"), "{e}");
        let e =
            Settings::resolve(&cfg(Provider::OpenaiCompatible), Path::new("/p"), none).unwrap_err();
        assert!(e.contains("llm.baseUrl"), "{e}");
        let mut c = cfg(Provider::OpenaiCompatible);
        c.base_url = Some("http://localhost:11434/v1".into());
        let s = Settings::resolve(&c, Path::new("/p"), none).unwrap();
        assert!(s.key.is_none(), "a local server needs no key");
        assert_eq!(s.cache_dir.unwrap(), Path::new("/p/.testgen/llm-cache"));
    }

    #[test]
    fn an_openai_key_alone_selects_openai_and_its_default_model() {
        let env = |k: &str| (k == "OPENAI_API_KEY").then(|| "sk-alone-1234".to_string());
        let s = Settings::resolve(&LlmConfig::default(), Path::new("/p"), env).unwrap();
        assert_eq!(s.provider, Provider::Openai);
        assert_eq!(s.model, DEFAULT_OPENAI_MODEL);
        assert_eq!(s.base_url, async_openai::config::OPENAI_API_BASE);
        assert_eq!(s.key.unwrap().expose(), "sk-alone-1234");
        let blank = |k: &str| (k == "OPENAI_API_KEY").then(|| "  ".to_string());
        let e = Settings::resolve(&LlmConfig::default(), Path::new("/p"), blank).unwrap_err();
        assert!(e.contains("OPENAI_API_KEY"), "{e}");
    }

    #[test]
    fn the_key_never_shows_in_debug() {
        let env = |k: &str| (k == "OPENAI_API_KEY").then(|| "sk-very-secret-1234".to_string());
        let s = Settings::resolve(&cfg(Provider::Openai), Path::new("/p"), env).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("sk-very-secret-1234"), "{shown}");
        assert_eq!(
            s.key.unwrap().redact("x sk-very-secret-1234 y"),
            "x [redacted] y"
        );
    }
}
