//! The OpenAI Responses API beside Chat Completions: requests, answers and streams
//! both ways. With the Chat ⇄ Anthropic pair, this reaches every other format in at
//! most two steps (see docs/architecture.md, "Formats").
//!
//! - [`common`] — reasoning carried across vendors (origin tags), ids, usage, the
//!   request context a Responses answer needs;
//! - `request_in` / `request_out` — Responses → Chat and Chat → Responses requests;
//! - `response` — complete answers, both ways.

pub mod common;
mod request_in;
mod request_out;
mod response;

pub use common::ResponsesCtx;
pub use request_in::responses_to_chat_request;
pub use request_out::{chat_to_responses_request, is_reasoning_model};
pub use response::{chat_to_responses_response, responses_to_chat_response};
mod stream_stub;
pub use stream_stub::{ChatToResponsesStream, ResponsesToChatStream};

#[cfg(test)]
mod tests;
