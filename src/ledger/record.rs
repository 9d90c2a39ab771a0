//! One row of the usage ledger: what the request path hands to the writer.
//!
//! Token counts follow one rule whatever the format: `input_tokens` excludes cache
//! tokens (Anthropic's `input_tokens` as is; OpenAI's `prompt_tokens` minus
//! `prompt_tokens_details.cached_tokens`), so `input + cache_read + cache_write` is the
//! whole prompt, and `reasoning_tokens` is the part of `output_tokens` spent reasoning
//! (already counted in `output_tokens`, never added to it).

use std::time::{SystemTime, UNIX_EPOCH};

/// A request that reached routing: answered, failed, refused by a limit or cancelled.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct UsageRecord {
    /// When the request arrived, unix milliseconds (UTC).
    pub at_ms: i64,
    /// The `x-request-id` the answer carried (the client's, when it sent one).
    pub request_id: String,
    /// The gateway key's id (stable across renames).
    pub key_id: String,
    /// The gateway key's name when the request was made.
    pub key_name: String,
    /// The caller's API: `anthropic`, `chat`, `completions`, `responses` or `gemini`.
    pub client_format: String,
    /// The upstream that answered (the last one tried); `None` when none was tried.
    pub upstream_id: Option<String>,
    /// The API spoken to that upstream (`anthropic`, `chat`, `responses`, ...).
    pub upstream_format: Option<String>,
    /// The model the client asked for.
    pub model_asked: String,
    /// The model sent upstream (after route rewrites), or the one the answer named.
    pub model_served: Option<String>,
    /// The HTTP status returned to the client (200 for a stream that started).
    pub status: u16,
    /// Why it failed, when it did: `rate_limited`, `upstream_5xx`, `timeout`,
    /// `refused_budget`, `client_closed`, ...
    pub error_class: Option<String>,
    /// From arrival to the last byte sent (or the failure), milliseconds.
    pub latency_ms: u64,
    /// From arrival to the first response byte, milliseconds; `None` when none came.
    pub ttfb_ms: Option<u64>,
    /// Prompt tokens not read from or written to a cache.
    pub input_tokens: u64,
    /// Completion tokens, reasoning included.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: u64,
    /// The part of `output_tokens` spent reasoning / thinking.
    pub reasoning_tokens: u64,
    /// Cost in USD from the price table; `None` when the model has no price.
    pub cost_usd: Option<f64>,
}

impl UsageRecord {
    /// Every token billed: the whole prompt (cache included) and the completion.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.output_tokens)
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_tokens)
    }
}

/// The current time as unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A priced-or-not `chat` row for tests: 10 input, 5 output, 2 cache read, 1 cache write.
#[cfg(test)]
pub(crate) fn test_row(at_ms: i64, key: &str, cost: Option<f64>) -> UsageRecord {
    UsageRecord {
        at_ms,
        request_id: format!("req_{at_ms}"),
        key_id: key.into(),
        key_name: format!("{key}-name"),
        client_format: "chat".into(),
        model_asked: "gpt-4o".into(),
        model_served: Some("gpt-4o".into()),
        status: 200,
        input_tokens: 10,
        output_tokens: 5,
        cache_read_tokens: 2,
        cache_write_tokens: 1,
        cost_usd: cost,
        ..UsageRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_counts_cache_once_and_not_reasoning() {
        let r = UsageRecord {
            input_tokens: 10,
            output_tokens: 20,
            cache_read_tokens: 300,
            cache_write_tokens: 4,
            reasoning_tokens: 15,
            ..UsageRecord::default()
        };
        assert_eq!(r.total_tokens(), 334);
        assert!(now_ms() > 1_600_000_000_000);
    }
}
