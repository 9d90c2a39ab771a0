//! Pure, I/O-free conversion between the OpenAI Chat Completions API, the Anthropic
//! Messages API and the OpenAI Responses API ([`responses`]): requests, responses,
//! errors and streams, both ways; and the Gemini API as an upstream ([`gemini`]).
//!
//! Everything here takes and returns `serde_json::Value`s (or SSE frames as `Bytes`) so
//! that the proxy can forward what it does not understand and convert what it does. The
//! mapping rules, and the fields that are knowingly dropped, are written down in
//! `docs/conversion.md`; each file below says what it owns:
//!
//! - [`common`] — ids, tool-name shortening, stop reasons, usage, SSE framing;
//! - `openai_to_anthropic` / `anthropic_to_openai` (+ `*_messages`) — request bodies;
//! - `anthropic_system` — folding in-message `system` turns into the top-level prompt;
//! - `completions` — the legacy `/v1/completions` shapes, request, response and stream;
//! - `response` — non-streaming responses, both ways;
//! - `errors` — upstream error statuses and bodies in the client's format;
//! - `stream_to_openai` / `stream_to_anthropic` — the two stream state machines;
//! - [`validate`] — strict validators of both request formats (also used by mock upstreams).

mod anthropic_messages;
mod anthropic_system;
mod anthropic_to_openai;
pub mod common;
mod completions;
mod errors;
pub mod gemini;
mod openai_messages;
mod openai_to_anthropic;
mod response;
pub mod responses;
mod stream_to_anthropic;
mod stream_to_openai;
pub mod validate;

#[cfg(test)]
mod property_stream_tests;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod test_util;

pub use serde_json::Value;

pub use anthropic_system::merge_system_messages;
pub use anthropic_to_openai::anthropic_to_openai_request;
pub use completions::{
    ChatToCompletionsStream, chat_to_completions_response, completions_to_chat_request,
};
pub use errors::{error_to_anthropic, error_to_gemini, error_to_openai, google_status};
pub use openai_to_anthropic::openai_to_anthropic_request;
pub use response::{anthropic_to_openai_response, openai_to_anthropic_response};
pub use stream_to_anthropic::OpenAiToAnthropicStream;
pub use stream_to_openai::AnthropicToOpenAiStream;
pub use validate::{
    validate_anthropic_request, validate_gemini_request, validate_openai_request,
    validate_responses_request, validate_responses_stream,
};

/// Why a body could not be converted. Both variants become an HTTP 400 for the client.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The body is malformed (wrong types, missing required fields).
    #[error("{0}")]
    Invalid(String),
    /// The body is well formed but asks for something the other API cannot do.
    #[error("{0}")]
    Unsupported(String),
}

/// What the caller decides about a converted request.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// The model name to put in the converted request (the upstream's name for it).
    pub upstream_model: String,
    /// Keep the reasoning of other vendors' answers (the Chat `thinking_blocks`
    /// extension) for a next conversion step that reads it; a real upstream never
    /// gets it.
    pub keep_reasoning: bool,
}
