//! The OpenAI Responses API beside Chat Completions: requests, answers and streams
//! both ways. With the Chat ⇄ Anthropic pair, this reaches every other format in at
//! most two steps (see docs/architecture.md, "Formats").
//!
//! - [`common`] — reasoning carried across vendors (origin tags), ids, usage, the
//!   request context a Responses answer needs;
//! - `request_in` / `request_out` — Responses → Chat and Chat → Responses requests;
//! - `response` — complete answers, both ways;
//! - [`stream_out`] — Chat chunk stream → Responses stream ([`ChatToResponsesStream`]);
//! - [`stream_in`] — Responses stream → Chat chunk stream ([`ResponsesToChatStream`]);
//! - `stream_items` / `stream_errors` — their output items and error mapping.

pub mod common;
mod request_in;
mod request_out;
mod response;
mod stream_errors;
pub mod stream_in;
mod stream_items;
pub mod stream_out;

#[cfg(test)]
mod property_tests;
#[cfg(test)]
pub(crate) mod test_util;

pub use common::ResponsesCtx;
pub use request_in::responses_to_chat_request;
pub use request_out::{chat_to_responses_request, is_reasoning_model};
pub use response::{chat_to_responses_response, responses_to_chat_response};
pub use stream_in::ResponsesToChatStream;
pub use stream_out::ChatToResponsesStream;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod tests;
