//! The built-in price table: `snapshot.json`, compiled into the binary.
//!
//! The file is a trimmed copy of LiteLLM's MIT-licensed model price map (see `NOTICE`
//! beside it), written by `scripts/update-prices.py`: chat models of the providers the
//! gateway serves, prices in USD per million tokens, and the date it was taken. It is
//! parsed once, on first use.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::{LongContext, Price};

const TEXT: &str = include_str!("snapshot.json");

/// The parsed snapshot, or why it does not parse (a build defect the unit tests catch).
static SNAPSHOT: LazyLock<Result<Snapshot, String>> = LazyLock::new(|| {
    let s: Snapshot = serde_json::from_str(TEXT).map_err(|e| e.to_string())?;
    if s.unit != UNIT {
        return Err(format!("unit {:?}, expected {UNIT:?}", s.unit));
    }
    Ok(s)
});

/// The unit of every price in the snapshot and in the config.
pub const UNIT: &str = "USD per million tokens";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Snapshot {
    /// Where the prices come from.
    pub source: String,
    /// Which release of the source (e.g. `litellm 1.110.2`).
    pub source_version: String,
    /// The day the snapshot was taken, `YYYY-MM-DD`.
    pub date: String,
    /// Always `USD per million tokens`.
    pub unit: String,
    pub models: BTreeMap<String, Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Entry {
    /// LiteLLM's provider name: `anthropic`, `openai` or `gemini`.
    pub provider: String,
    input: f64,
    output: f64,
    cache_read: f64,
    cache_write: f64,
    #[serde(default)]
    long_context: Option<LongContext>,
}

impl Entry {
    pub fn price(&self) -> Price {
        Price {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read,
            cache_write: self.cache_write,
            long_context: self.long_context,
        }
    }
}

/// The built-in snapshot.
pub(super) fn get() -> Result<&'static Snapshot, String> {
    SNAPSHOT.as_ref().map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: f64) -> bool {
        v.is_finite() && v >= 0.0
    }

    #[test]
    fn parses_with_sane_prices() {
        let s = get().unwrap();
        assert_eq!(s.unit, "USD per million tokens");
        assert_eq!(s.date.len(), 10, "{}", s.date);
        assert!(s.source.contains("LiteLLM") && s.source_version.contains("litellm"));
        assert!(s.models.len() > 50, "{}", s.models.len());
        for (name, e) in &s.models {
            let p = e.price();
            assert!(
                ok(p.input) && ok(p.output) && ok(p.cache_read) && ok(p.cache_write),
                "{name}"
            );
            if let Some(lc) = p.long_context {
                assert!(lc.threshold_tokens >= 1000, "{name}");
                assert!(
                    ok(lc.input) && ok(lc.output) && ok(lc.cache_read) && ok(lc.cache_write),
                    "{name}"
                );
            }
            let served = match e.provider.as_str() {
                "anthropic" => name.starts_with("claude-"),
                "openai" => ["gpt-", "o1", "o3", "o4", "chatgpt-", "codex"]
                    .iter()
                    .any(|p| name.starts_with(p)),
                "gemini" => name.starts_with("gemini-"),
                _ => false,
            };
            assert!(served, "{name} ({}) is not a model we serve", e.provider);
            assert!(!name.contains('/'), "{name}");
        }
    }
}
