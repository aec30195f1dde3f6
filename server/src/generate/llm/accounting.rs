//! Tokens, calls and estimated cost of a run, and the caps that stop it
//! (`llm.maxCalls`, `llm.maxTokens`). Shared by every request of the run;
//! the report and the manifest carry the totals and the per-call records.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::client::LlmError;
use super::settings::Settings;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// Known models' list prices, USD per million tokens (prompt, completion);
/// `llm.promptPrice`/`llm.completionPrice` override. Unknown models cost 0
/// (a local server) until configured.
const PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4-turbo", 10.00, 30.00),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("o4-mini", 1.10, 4.40),
    ("o3-mini", 1.10, 4.40),
];

/// The table's price of `model` (longest matching prefix).
pub fn price(model: &str) -> (f64, f64) {
    PRICES
        .iter()
        .filter(|(m, _, _)| model.starts_with(m))
        .max_by_key(|(m, _, _)| m.len())
        .map_or((0.0, 0.0), |(_, p, c)| (*p, *c))
}

/// The run's totals, as reports show them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunUsage {
    pub provider: String,
    pub model: String,
    /// Requests sent (cached answers are not calls).
    pub calls: u32,
    pub cached: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    /// Why the run stopped asking, when a cap stopped it.
    pub stopped: Option<String>,
    /// Each call sent, in order of its answer.
    #[serde(default)]
    pub per_call: Vec<CallRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

#[derive(Debug)]
pub struct Accounting {
    prices: (f64, f64),
    max_calls: Option<u32>,
    max_tokens: Option<u64>,
    inner: Mutex<RunUsage>,
}

impl Accounting {
    pub fn new(s: &Settings) -> Accounting {
        Accounting {
            prices: s.prices,
            max_calls: s.max_calls,
            max_tokens: s.max_tokens,
            inner: Mutex::new(RunUsage {
                provider: s.provider.as_str().into(),
                model: s.model.clone(),
                ..RunUsage::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunUsage> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a call about to be sent, or refuses it when a cap is reached.
    pub fn reserve(&self) -> Result<(), LlmError> {
        let mut u = self.lock();
        let stop = if let Some(max) = self.max_calls.filter(|m| u.calls >= *m) {
            Some(format!("stopped at llm.maxCalls: {max} LLM calls made"))
        } else {
            self.max_tokens
                .filter(|m| u.prompt_tokens + u.completion_tokens >= *m)
                .map(|m| format!("stopped at llm.maxTokens: {m} tokens used"))
        };
        if let Some(why) = stop {
            u.stopped.get_or_insert(why.clone());
            return Err(LlmError::Cap(why));
        }
        u.calls += 1;
        Ok(())
    }

    pub fn record(&self, usage: &Usage) {
        let mut u = self.lock();
        u.prompt_tokens += usage.prompt_tokens;
        u.completion_tokens += usage.completion_tokens;
        let cost = self.cost(usage);
        u.cost_usd += cost;
        u.per_call.push(CallRecord {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd: cost,
        });
    }

    pub fn record_cached(&self, _usage: &Usage) {
        self.lock().cached += 1;
    }

    pub fn cost(&self, usage: &Usage) -> f64 {
        (usage.prompt_tokens as f64 * self.prices.0
            + usage.completion_tokens as f64 * self.prices.1)
            / 1e6
    }

    pub fn snapshot(&self) -> RunUsage {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_price() {
        assert_eq!(price("gpt-4o-mini-2024-07-18"), (0.15, 0.60));
        assert_eq!(price("gpt-4o-2024-08-06"), (2.50, 10.00));
        assert_eq!(price("llama3"), (0.0, 0.0));
    }
}
