//! Strict validators for both request formats and both stream formats: the rules the
//! real APIs enforce (as far as their documentation and observed errors tell), so that
//! converter tests and the integration tests' mock upstreams reject what the real
//! upstream would reject. Each returns `Err` with a message naming the offending path.
//!
//! - [`validate_anthropic_request`]: Messages API requests (see `validate/anthropic.rs`);
//! - [`validate_openai_request`]: Chat Completions requests (see `validate/openai.rs`);
//! - [`validate_anthropic_stream`] / [`validate_openai_stream`]: event sequences as an
//!   SDK would accumulate them (see `validate/stream.rs`);
//! - [`validate_responses_request`]: Responses API requests (see `validate/responses.rs`,
//!   `validate/responses_tools.rs` and `validate/responses_input.rs`);
//! - [`validate_responses_stream`]: OpenAI Responses streams (see
//!   `validate/responses_stream.rs`);
//! - [`validate_gemini_request`]: Gemini `generateContent` requests (see
//!   `validate/gemini.rs`).

mod anthropic;
mod anthropic_blocks;
mod gemini;
mod openai;
mod responses;
mod responses_input;
mod responses_stream;
mod responses_tools;
mod stream;

pub use anthropic::validate_anthropic_request;
pub use gemini::validate_gemini_request;
pub use openai::validate_openai_request;
pub use responses::validate_responses_request;
pub use responses_stream::validate_responses_stream;
pub use stream::{validate_anthropic_stream, validate_openai_stream};

use serde_json::Value;

type Res = Result<(), String>;

/// `Err("<path>: <what>")`.
fn fail<T>(path: &str, what: impl std::fmt::Display) -> Result<T, String> {
    Err(format!("{path}: {what}"))
}

fn kind(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or("")
}

/// An optional number within `lo..=hi`.
fn number_in(body: &Value, key: &str, lo: f64, hi: f64) -> Res {
    match body.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_f64() {
            Some(n) if (lo..=hi).contains(&n) => Ok(()),
            _ => fail(key, format!("must be a number between {lo} and {hi}")),
        },
    }
}

/// An optional integer >= `min`.
fn integer_at_least(body: &Value, key: &str, min: u64) -> Res {
    match body.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_u64() {
            Some(n) if n >= min => Ok(()),
            _ => fail(key, format!("must be an integer >= {min}")),
        },
    }
}

/// `^[a-zA-Z0-9_-]{1,max}$`.
fn is_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod responses_tests;
#[cfg(test)]
mod tests;
