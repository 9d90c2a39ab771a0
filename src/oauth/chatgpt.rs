//! What a request through a ChatGPT subscription must look like: the Responses
//! request the gateway is about to send (converted or passed through), reshaped the
//! way Codex CLI sends it to `https://chatgpt.com/backend-api/codex/responses`.
//!
//! Headers: `Authorization: Bearer <access token>`, `chatgpt-account-id`,
//! `originator: codex_cli_rs`, `session_id` (stable per conversation),
//! `OpenAI-Beta: responses=experimental`, `accept: text/event-stream`.
//!
//! Body: `store: false` and `stream: true` always (the backend keeps nothing and
//! only streams); `input` a list (a string becomes one user message; item ids are
//! dropped, since nothing is stored to refer to); `system` items moved into
//! `instructions`, which must be present; `include` gains
//! `reasoning.encrypted_content` (reasoning is carried by the client, not stored);
//! `prompt_cache_key` set to the session id; and only the fields Codex itself sends
//! are kept — the backend refuses others such as `max_output_tokens`. Pure
//! functions: no I/O, nothing logged.

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};
use sha2::Digest;

use crate::config::OAuthTokens;

pub const ORIGINATOR: &str = "codex_cli_rs";
pub const OPENAI_BETA: &str = "responses=experimental";
/// The body fields Codex sends (`ResponsesApiRequest` in `codex-rs/codex-api`,
/// minus `service_tier` and `client_metadata`); everything else is dropped.
pub const KEPT_FIELDS: &[&str] = &[
    "model",
    "instructions",
    "input",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "store",
    "stream",
    "include",
    "prompt_cache_key",
    "text",
];
/// Sent when neither `instructions` nor a system message says anything: the
/// backend refuses a request without instructions.
pub const FALLBACK_INSTRUCTIONS: &str = "You are a helpful assistant.";
const ENCRYPTED_REASONING: &str = "reasoning.encrypted_content";

#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    #[error("the request body is not a JSON object")]
    NotAnObject,
    #[error("`input` must be a string or a list of items")]
    BadInput,
}

/// The request to send to the ChatGPT backend.
#[derive(Debug)]
pub struct Shaped {
    pub body: Bytes,
    /// Headers to set on the upstream request (replacing the client's).
    pub headers: HeaderMap,
    /// The conversation's id, sent as `session_id` and `prompt_cache_key`.
    pub session_id: String,
    /// Whether the client asked for a stream. If not, the answer must be collected
    /// (see [`super::collect`]): the backend always streams.
    pub client_wants_stream: bool,
    /// Body fields removed because the backend refuses them (for a debug log).
    pub dropped: Vec<String>,
}

/// Shape a Responses request body and its headers for the ChatGPT backend.
pub fn shape(body: &[u8], tokens: &OAuthTokens) -> Result<Shaped, ShapeError> {
    let (body, session_id, client_wants_stream, dropped) = shape_body(body)?;
    let mut headers = HeaderMap::new();
    apply_headers(&mut headers, tokens, Some(&session_id));
    Ok(Shaped {
        body,
        headers,
        session_id,
        client_wants_stream,
        dropped,
    })
}

/// Remove the client's credentials and set the backend's headers. `session_id`
/// is left alone when `None`.
pub fn apply_headers(headers: &mut HeaderMap, tokens: &OAuthTokens, session_id: Option<&str>) {
    for h in [
        "x-api-key",
        "openai-organization",
        "openai-project",
        "anthropic-beta",
    ] {
        headers.remove(h);
    }
    headers.remove(AUTHORIZATION);
    if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", tokens.access_token)) {
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
    }
    headers.remove("chatgpt-account-id");
    if let Some(Ok(mut v)) = tokens.account_id.as_deref().map(HeaderValue::from_str) {
        v.set_sensitive(true);
        headers.insert("chatgpt-account-id", v);
    }
    headers.insert("originator", HeaderValue::from_static(ORIGINATOR));
    headers.insert("openai-beta", HeaderValue::from_static(OPENAI_BETA));
    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(Ok(v)) = session_id.map(HeaderValue::from_str) {
        headers.insert("session_id", v);
    }
}

/// The body alone: (body, session id, client asked for a stream, dropped fields).
pub fn shape_body(body: &[u8]) -> Result<(Bytes, String, bool, Vec<String>), ShapeError> {
    let Ok(Value::Object(mut v)) = serde_json::from_slice::<Value>(body) else {
        return Err(ShapeError::NotAnObject);
    };
    let client_wants_stream = v.get("stream") == Some(&Value::Bool(true));

    let mut instructions: Vec<String> = match v.get("instructions") {
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.clone()],
        _ => Vec::new(),
    };
    let input = match v.remove("input") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![user_message(&s)],
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ShapeError::BadInput),
    };
    let mut dropped = Vec::new();
    let mut kept = Vec::with_capacity(input.len());
    for mut item in input {
        if let Value::Object(o) = &mut item {
            if o.get("role").and_then(Value::as_str) == Some("system") {
                instructions.extend(texts(o.get("content")));
                continue;
            }
            if o.get("type").and_then(Value::as_str) == Some("item_reference") {
                dropped.push("input item_reference".to_string());
                continue;
            }
            o.remove("id");
        }
        kept.push(item);
    }

    let session_id = match v.get("prompt_cache_key").and_then(Value::as_str) {
        Some(k) if !k.trim().is_empty() => k.to_string(),
        _ => conversation_id(v.get("model"), &instructions, kept.first()),
    };
    let mut include: Vec<Value> = match v.remove("include") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    if !include.iter().any(|i| i == ENCRYPTED_REASONING) {
        include.push(json!(ENCRYPTED_REASONING));
    }

    let mut out = Map::new();
    for (k, val) in v {
        if KEPT_FIELDS.contains(&k.as_str()) {
            out.insert(k, val);
        } else {
            dropped.push(k);
        }
    }
    let instructions = if instructions.is_empty() {
        FALLBACK_INSTRUCTIONS.to_string()
    } else {
        instructions.join("\n\n")
    };
    out.insert("instructions".into(), Value::String(instructions));
    out.insert("input".into(), Value::Array(kept));
    out.insert("include".into(), Value::Array(include));
    out.insert("store".into(), Value::Bool(false));
    out.insert("stream".into(), Value::Bool(true));
    out.insert("prompt_cache_key".into(), Value::String(session_id.clone()));
    dropped.sort();
    let body = serde_json::to_vec(&out).map_err(|_| ShapeError::NotAnObject)?;
    Ok((Bytes::from(body), session_id, client_wants_stream, dropped))
}

fn user_message(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

/// The text of a message's `content`: a string, or the `text` of each part.
fn texts(content: Option<&Value>) -> Vec<String> {
    match content {
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.clone()],
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .filter(|t| !t.trim().is_empty())
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// A stable id for a conversation without `prompt_cache_key`: the same model,
/// instructions and first item give the same id on every turn. UUID-shaped.
fn conversation_id(
    model: Option<&Value>,
    instructions: &[String],
    first: Option<&Value>,
) -> String {
    let mut h = sha2::Sha256::new();
    h.update(model.map(Value::to_string).unwrap_or_default());
    h.update([0]);
    h.update(instructions.join("\n\n"));
    h.update([0]);
    h.update(first.map(Value::to_string).unwrap_or_default());
    let d = h.finalize();
    let hex = crate::util::hex(&d[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
#[path = "chatgpt_tests.rs"]
mod tests;
