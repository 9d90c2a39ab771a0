//! The Gemini API (`generateContent`, `streamGenerateContent`) as an upstream format and
//! as a client format, through the Chat Completions pivot like the other formats
//! (docs/architecture.md, "Formats").
//!
//! To a Gemini upstream:
//! - [`request_out`]: a Chat request → a Gemini request, with [`schema`] cutting tool
//!   schemas to the subset Gemini accepts;
//! - [`response_in`]: a Gemini answer → a Chat answer;
//! - [`stream_in`]: Gemini's SSE (`?alt=sse`) → Chat chunks.
//!
//! From a Gemini client:
//! - [`request_in`]: a Gemini request → a Chat request;
//! - [`response_out`]: a Chat answer → a Gemini answer, and Chat chunks → Gemini chunks
//!   framed as SSE or as Gemini's JSON-array stream.
//!
//! What rides through the pivot: a function call's `thoughtSignature` travels on the
//! Chat tool call as `extra_content.google.thought_signature` (the field Google's own
//! OpenAI-compatible endpoint uses, so a Chat client that echoes its tool calls back
//! keeps it); thought summaries become `reasoning_content`; Gemini's calls carry no ids,
//! so ids are made up per answer and results are matched back by the calls in the
//! history.

pub mod names;
pub mod request_in;
pub mod request_out;
pub mod response_in;
pub mod response_out;
pub mod schema;
pub mod stream_in;

use std::collections::HashMap;

use crate::convert::common::short_hash;

pub use request_in::{GeminiClientCtx, gemini_to_chat_request};
pub use request_out::chat_to_gemini_request;
pub use response_in::gemini_to_chat_response;
pub use response_out::{ChatToGeminiStream, Framing, chat_to_gemini_response};
pub use stream_in::GeminiToChatStream;

/// The field, under a Chat tool call's `extra_content.google`, that carries Gemini's
/// `thoughtSignature`.
pub const THOUGHT_SIGNATURE_FIELD: &str = "thought_signature";

/// The value Google documents for a replayed function call that has no signature (a
/// history written by another model): it tells Gemini 3 to skip the check it would
/// otherwise fail the request on.
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// Gemini's limit on function names.
pub const FUNCTION_NAME_MAX: usize = 64;

/// What converting a request learned that converting its answer needs.
#[derive(Debug, Clone, Default)]
pub struct GeminiCtx {
    /// The upstream model (it goes in the URL).
    pub model: String,
    /// The client asked for a stream.
    pub stream: bool,
    /// The client asked for a usage chunk at the end of the stream.
    pub include_usage: bool,
    /// Function names changed to fit Gemini → the client's names.
    renamed: HashMap<String, String>,
}

impl GeminiCtx {
    fn remember_name(&mut self, gemini: &str, original: &str) {
        if gemini != original {
            self.renamed
                .insert(gemini.to_string(), original.to_string());
        }
    }

    /// The client's name for a function Gemini called.
    pub fn original_name<'a>(&'a self, gemini: &'a str) -> &'a str {
        self.renamed.get(gemini).map_or(gemini, String::as_str)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')
}

/// A name Gemini accepts: letters, digits, `_ . : -`, starting with a letter or `_`, at
/// most 64 characters. Valid names are kept; others are cleaned and get a hash of the
/// original, so the same name always maps to the same result and two names do not
/// collide in practice.
pub fn gemini_function_name(name: &str) -> String {
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if starts_well && name.len() <= FUNCTION_NAME_MAX && name.chars().all(is_name_char) {
        return name.to_string();
    }
    let hash = short_hash(name, 8);
    let mut cleaned: String = name
        .chars()
        .map(|c| if is_name_char(c) { c } else { '_' })
        .collect();
    if !cleaned
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        cleaned.insert(0, '_');
    }
    let keep = FUNCTION_NAME_MAX - hash.len() - 1;
    let prefix: String = cleaned.chars().take(keep).collect();
    format!("{prefix}_{hash}")
}

/// A tool call id for the `index`th call of an answer: unique within the answer (two
/// calls of one function differ) and, through `salt` (the answer's id, or a random
/// one), across the answers of a conversation.
pub fn call_id(salt: &str, index: usize) -> String {
    format!("call_{}_{index}", short_hash(salt, 16))
}

/// A random salt for [`call_id`] when the answer has no id of its own.
pub fn random_salt() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// Gemini `finishReason` → Chat `finish_reason`; a stop that made function calls is
/// `tool_calls`.
pub fn finish_reason(reason: Option<&str>, called: bool) -> &'static str {
    match reason {
        Some("MAX_TOKENS") => "length",
        Some(
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY"
            | "LANGUAGE",
        ) => "content_filter",
        _ if called => "tool_calls",
        _ => "stop",
    }
}

/// Gemini `usageMetadata` → Chat `usage`. Thoughts are output tokens (they are billed
/// as such), also reported as `reasoning_tokens`; cached prompt tokens as
/// `cached_tokens`.
pub fn usage_to_chat(u: &serde_json::Value) -> serde_json::Value {
    let n = |k: &str| u.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let prompt = n("promptTokenCount") + n("toolUsePromptTokenCount");
    let thoughts = n("thoughtsTokenCount");
    let completion = n("candidatesTokenCount") + thoughts;
    serde_json::json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": n("cachedContentTokenCount")},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    })
}

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod property_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn function_names_fit_and_are_stable() {
        assert_eq!(gemini_function_name("get_weather"), "get_weather");
        assert_eq!(
            gemini_function_name("mcp.server:tool-x"),
            "mcp.server:tool-x"
        );
        for bad in ["bad name!", "9lives", "", &"a".repeat(100), "名前"] {
            let g = gemini_function_name(bad);
            assert!(g.len() <= FUNCTION_NAME_MAX, "{g}");
            assert!(g.chars().all(is_name_char), "{g}");
            assert!(
                g.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'),
                "{g}"
            );
            assert_eq!(g, gemini_function_name(bad), "stable");
            assert_eq!(gemini_function_name(&g), g, "valid once made");
        }
        assert_ne!(gemini_function_name("a b"), gemini_function_name("a-b!"));
    }

    #[test]
    fn ids_differ_per_call_and_per_answer() {
        assert_ne!(call_id("r1", 0), call_id("r1", 1));
        assert_ne!(call_id("r1", 0), call_id("r2", 0));
        assert_eq!(call_id("r1", 0), call_id("r1", 0));
        assert_ne!(random_salt(), random_salt());
    }

    #[test]
    fn a_gemini_conversation_survives_the_pivot_both_ways() {
        // Gemini client → Chat → Gemini upstream: the same turns, calls and results.
        let original = json!({
            "systemInstruction": {"parts": [{"text": "sys"}]},
            "contents": [
                {"role": "user", "parts": [{"text": "q"}]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "s1"},
                    {"functionCall": {"name": "g", "args": {}}, "thoughtSignature": "s2"}]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "f", "response": {"x": 1, "y": 2}}},
                    {"functionResponse": {"name": "g", "response": {"z": [3]}}}]},
                {"role": "model", "parts": [{"text": "done"}]},
                {"role": "user", "parts": [{"text": "again"}]}
            ],
            "tools": [{"functionDeclarations": [
                {"name": "f", "parameters": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}, "required": ["a"]}},
                {"name": "g"}]}],
            "generationConfig": {"maxOutputTokens": 64, "temperature": 0.5}
        });
        let (chat, _) = request_in::gemini_to_chat_request(&original, "gemini-x", false).unwrap();
        let opts = crate::convert::RequestOptions {
            upstream_model: "gemini-x".into(),
            keep_reasoning: false,
        };
        let (back, _) = chat_to_gemini_request(&chat, &opts).unwrap();
        assert_eq!(back["contents"], original["contents"]);
        assert_eq!(
            crate::convert::validate::validate_gemini_request(&back, "gemini-3-pro"),
            Ok(())
        );
        assert_eq!(back["systemInstruction"], original["systemInstruction"]);
        assert_eq!(
            back["tools"][0]["functionDeclarations"][0]["parameters"],
            json!({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]})
        );
        assert!(
            back["tools"][0]["functionDeclarations"][1]
                .get("parameters")
                .is_none()
        );
        assert_eq!(back["generationConfig"], original["generationConfig"]);
    }

    #[test]
    fn usage_counts_thoughts_as_output() {
        let u = usage_to_chat(&json!({"promptTokenCount": 10, "candidatesTokenCount": 5,
            "thoughtsTokenCount": 7, "cachedContentTokenCount": 4, "totalTokenCount": 22}));
        assert_eq!(u["prompt_tokens"], 10);
        assert_eq!(u["completion_tokens"], 12);
        assert_eq!(u["total_tokens"], 22);
        assert_eq!(u["completion_tokens_details"]["reasoning_tokens"], 7);
        assert_eq!(u["prompt_tokens_details"]["cached_tokens"], 4);
        assert_eq!(finish_reason(Some("STOP"), true), "tool_calls");
        assert_eq!(finish_reason(Some("MAX_TOKENS"), true), "length");
        assert_eq!(finish_reason(Some("SAFETY"), false), "content_filter");
        assert_eq!(finish_reason(None, false), "stop");
    }
}
