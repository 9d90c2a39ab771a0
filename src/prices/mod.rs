//! What a request cost: prices per model and the arithmetic on token counts.
//!
//! A [`PriceTable`] is the built-in snapshot (LiteLLM's price map, trimmed, see
//! [`snapshot_date`] and `src/prices/NOTICE`) with the config's `prices` entries on top.
//! A model is looked up by the name it was served under, then without a provider
//! prefix (`anthropic/`, `openai/`, `gemini/`), then without a date suffix
//! (`-20250929`, `-2025-04-14`); config entries win at every step. Nothing looser: a
//! model not found that way has no price, and its cost is `None`, never a guess.

mod snapshot;
pub use snapshot::UNIT;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{Config, PriceOverride};

/// Prefixes clients and routers put before a model name; stripped for the lookup.
const PROVIDER_PREFIXES: [&str; 3] = ["anthropic/", "openai/", "gemini/"];

/// A model's prices, in USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Prompt tokens not read from nor written to the cache.
    pub input: f64,
    /// Completion tokens, reasoning included.
    pub output: f64,
    pub cache_read: f64,
    /// Anthropic's 5-minute cache write; the input price where a provider has none.
    pub cache_write: f64,
    /// Higher prices for the whole request once the prompt passes a threshold.
    pub long_context: Option<LongContext>,
}

/// A long-context tier: applies when input + cache read + cache write tokens exceed
/// `threshold_tokens`, to every token of that request (as Anthropic, OpenAI and Google
/// bill it).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongContext {
    pub threshold_tokens: u64,
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

/// A request's token counts, each counted once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Prompt tokens excluding cache reads and writes. OpenAI's `prompt_tokens`
    /// includes `cached_tokens`: subtract them. Anthropic's `input_tokens` already
    /// excludes `cache_read_input_tokens` and `cache_creation_input_tokens`.
    pub input: u64,
    /// Completion tokens including reasoning tokens.
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    /// The reasoning part of `output`, for reporting; not priced again.
    pub reasoning: u64,
}

impl Tokens {
    /// Tokens of the prompt, cached or not: what long-context thresholds compare.
    pub fn prompt(&self) -> u64 {
        self.input
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
    }
}

impl Price {
    /// USD for these tokens at this price, the long-context tier applied when the
    /// prompt exceeds its threshold.
    pub fn cost(&self, t: &Tokens) -> f64 {
        let (input, output, cache_read, cache_write) = match &self.long_context {
            Some(lc) if t.prompt() > lc.threshold_tokens => {
                (lc.input, lc.output, lc.cache_read, lc.cache_write)
            }
            _ => (self.input, self.output, self.cache_read, self.cache_write),
        };
        (t.input as f64 * input
            + t.output as f64 * output
            + t.cache_read as f64 * cache_read
            + t.cache_write as f64 * cache_write)
            / 1_000_000.0
    }

    /// A config entry as a price: missing cache prices are the input price.
    pub fn from_override(p: &PriceOverride) -> Price {
        Price {
            input: p.input,
            output: p.output,
            cache_read: p.cache_read.unwrap_or(p.input),
            cache_write: p.cache_write.unwrap_or(p.input),
            long_context: None,
        }
    }
}

/// Where a price comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PriceSource {
    /// The snapshot compiled into the binary.
    Builtin,
    /// The config's `prices` section.
    Config,
}

impl fmt::Display for PriceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PriceSource::Builtin => write!(f, "built-in (LiteLLM {})", snapshot_date()),
            PriceSource::Config => f.write_str("config"),
        }
    }
}

/// One row of the table, for listing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceEntry {
    pub model: String,
    /// `anthropic`, `openai` or `gemini` for built-in entries; `None` for config ones.
    pub provider: Option<String>,
    pub source: PriceSource,
    #[serde(flatten)]
    pub price: Price,
}

#[derive(Debug, Error)]
pub enum PriceError {
    /// The snapshot compiled into the binary does not parse (a build defect).
    #[error("the built-in price table does not parse: {0}")]
    Snapshot(String),
}

/// The built-in snapshot's date (`YYYY-MM-DD`), or `unknown` if it does not parse.
pub fn snapshot_date() -> &'static str {
    snapshot::get().map_or("unknown", |s| s.date.as_str())
}

/// What the built-in table is: its source, release, date and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    pub source: &'static str,
    /// E.g. `litellm 1.110.2`.
    pub source_version: &'static str,
    /// `YYYY-MM-DD`.
    pub date: &'static str,
    pub models: usize,
}

/// The built-in snapshot's description; `None` if it does not parse (a build defect).
pub fn snapshot_info() -> Option<SnapshotInfo> {
    snapshot::get().ok().map(|s| SnapshotInfo {
        source: &s.source,
        source_version: &s.source_version,
        date: &s.date,
        models: s.models.len(),
    })
}

/// Prices per model: the built-in snapshot with the config's entries on top. Cheap to
/// build (the snapshot is parsed once per process), so rebuild it on config reload.
#[derive(Clone, Debug)]
pub struct PriceTable {
    builtin: BTreeMap<&'static str, (&'static str, Price)>,
    overrides: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The built-in snapshot with `overrides` on top.
    pub fn new(overrides: &BTreeMap<String, PriceOverride>) -> Result<PriceTable, PriceError> {
        let snap = snapshot::get().map_err(PriceError::Snapshot)?;
        Ok(PriceTable {
            builtin: snap
                .models
                .iter()
                .map(|(m, e)| (m.as_str(), (e.provider.as_str(), e.price())))
                .collect(),
            overrides: overrides
                .iter()
                .map(|(m, p)| (m.clone(), Price::from_override(p)))
                .collect(),
        })
    }

    /// No prices at all (every model unpriced): only when the snapshot cannot be read.
    pub fn empty() -> PriceTable {
        PriceTable {
            builtin: BTreeMap::new(),
            overrides: BTreeMap::new(),
        }
    }

    /// The table for a config: its `prices` section over the snapshot.
    pub fn from_config(config: &Config) -> Result<PriceTable, PriceError> {
        PriceTable::new(&config.prices)
    }

    /// The price of the model served, and where it comes from; `None` when unpriced.
    pub fn lookup(&self, model: &str) -> Option<(&Price, PriceSource)> {
        let names = candidates(model);
        names
            .iter()
            .find_map(|n| self.overrides.get(*n))
            .map(|p| (p, PriceSource::Config))
            .or_else(|| {
                names
                    .iter()
                    .find_map(|n| self.builtin.get(*n))
                    .map(|(_, p)| (p, PriceSource::Builtin))
            })
    }

    /// What these tokens of `model` cost in USD; `None` when the model has no price.
    pub fn cost(&self, model: &str, t: &Tokens) -> Option<f64> {
        self.lookup(model).map(|(p, _)| p.cost(t))
    }

    /// Every entry, sorted by model; a config entry hides the built-in one it replaces.
    pub fn entries(&self) -> Vec<PriceEntry> {
        let mut out: Vec<PriceEntry> = self
            .overrides
            .iter()
            .map(|(m, p)| PriceEntry {
                model: m.clone(),
                provider: None,
                source: PriceSource::Config,
                price: *p,
            })
            .collect();
        out.extend(
            self.builtin
                .iter()
                .filter(|(m, _)| !self.overrides.contains_key(**m))
                .map(|(m, (provider, p))| PriceEntry {
                    model: (*m).to_string(),
                    provider: Some((*provider).to_string()),
                    source: PriceSource::Builtin,
                    price: *p,
                }),
        );
        out.sort_by(|a, b| a.model.cmp(&b.model));
        out
    }
}

/// The names a served model is looked up under, most specific first: as served,
/// without a provider prefix, then also without a date suffix.
fn candidates(model: &str) -> Vec<&str> {
    let bare = PROVIDER_PREFIXES
        .iter()
        .find_map(|p| model.strip_prefix(p))
        .unwrap_or(model);
    let mut out = vec![model];
    for n in [bare, strip_date(bare)] {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// `name` without a trailing `-YYYYMMDD` or `-YYYY-MM-DD`; unchanged without one.
pub fn strip_date(name: &str) -> &str {
    let b = name.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let n = b.len();
    if n > 11
        && b[n - 11] == b'-'
        && b[n - 6] == b'-'
        && b[n - 3] == b'-'
        && digits(n - 10..n - 6)
        && digits(n - 5..n - 3)
        && digits(n - 2..n)
    {
        return &name[..n - 11];
    }
    if n > 9 && b[n - 9] == b'-' && digits(n - 8..n) {
        return &name[..n - 9];
    }
    name
}
