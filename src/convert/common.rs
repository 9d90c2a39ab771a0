//! Small pieces every converter shares: id sanitising, reversible tool-name shortening,
//! data URLs, tool arguments, stop reasons, usage blocks and SSE framing.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Name of the forced tool that carries OpenAI JSON mode over to Anthropic. A `tool_use`
/// of this name in an Anthropic response becomes the OpenAI message `content`.
pub const JSON_TOOL_NAME: &str = "json_response";

/// `max_tokens` for Anthropic when the OpenAI request names none.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The output limit of an Anthropic model, for requests that name none and come from
/// a client (Codex) whose API has no required limit: a long patch must not be cut at
/// [`DEFAULT_MAX_TOKENS`]. Older, smaller models keep their own ceilings.
pub fn anthropic_output_limit(model: &str) -> u64 {
    let m = model.rsplit('/').next().unwrap_or(model);
    if m.starts_with("claude-3-5-haiku") || m.starts_with("claude-3-5-sonnet") {
        8192
    } else if m.starts_with("claude-3-haiku") || m.starts_with("claude-3-opus") {
        4096
    } else if m.starts_with("claude-opus-4-0")
        || m.starts_with("claude-opus-4-1")
        || m.starts_with("claude-opus-4-2025")
        || m.starts_with("claude-4-opus")
    {
        32000
    } else if m.starts_with("claude") {
        64000
    } else {
        DEFAULT_MAX_TOKENS
    }
}

/// OpenAI's limit on function names.
pub const OPENAI_TOOL_NAME_MAX: usize = 64;

/// Non-standard field on OpenAI assistant messages carrying Anthropic thinking blocks
/// verbatim (with signatures) so that a client echoing the message back round-trips them.
pub const THINKING_BLOCKS_FIELD: &str = "thinking_blocks";
/// Non-standard field with the signature of the (single) thinking block.
pub const REASONING_SIGNATURE_FIELD: &str = "reasoning_signature";

/// Seconds since the Unix epoch, for `created` fields.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The first `len` hex digits of the SHA-256 of `s`: a stable, short fingerprint for
/// names and ids made from other names and ids.
pub fn short_hash(s: &str, len: usize) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut hex = crate::util::hex(&digest);
    hex.truncate(len);
    hex
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// An id that matches Anthropic's `^[a-zA-Z0-9_-]+$`. Valid ids are returned verbatim;
/// others get their bad characters replaced and a hash of the original appended, so the
/// same input always maps to the same output (a `tool_use` and its `tool_result` agree)
/// and two different ids never collide in practice.
pub fn sanitize_id(id: &str) -> String {
    if !id.is_empty() && id.chars().all(is_id_char) {
        return id.to_string();
    }
    let cleaned: String = id
        .chars()
        .map(|c| if is_id_char(c) { c } else { '_' })
        .collect();
    let cleaned = if cleaned.is_empty() {
        "toolu".to_string()
    } else {
        cleaned
    };
    format!("{cleaned}_{}", short_hash(id, 8))
}

/// `true` when `id` matches `^[a-zA-Z0-9_-]+$`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(is_id_char)
}

// Shortened tool names are a pure function of the original, so this map never holds a
// wrong answer; it only remembers how to undo the shortening for responses. Bounded:
// cleared when full (a miss then returns the short name unchanged).
const NAME_MAP_CAP: usize = 4096;
static SHORT_NAMES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();

/// The name to send to OpenAI: unchanged when it fits in 64 characters, otherwise a
/// prefix plus `_` and a hash of the whole name. Remembered for [`restore_tool_name`].
pub fn shorten_tool_name(name: &str) -> String {
    if name.chars().count() <= OPENAI_TOOL_NAME_MAX {
        return name.to_string();
    }
    let hash = short_hash(name, 10);
    let keep = OPENAI_TOOL_NAME_MAX - hash.len() - 1;
    let prefix: String = name.chars().take(keep).collect();
    let short = format!("{prefix}_{hash}");
    let map = SHORT_NAMES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= NAME_MAP_CAP {
        map.clear();
    }
    map.insert(short.clone(), name.to_string());
    short
}

/// Undo [`shorten_tool_name`] for a name coming back from OpenAI.
pub fn restore_tool_name(name: &str) -> String {
    if name.chars().count() < OPENAI_TOOL_NAME_MAX {
        return name.to_string();
    }
    let Some(map) = SHORT_NAMES.get() else {
        return name.to_string();
    };
    let map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.get(name).cloned().unwrap_or_else(|| name.to_string())
}

/// Split `data:<media>;base64,<data>` into its media type and data.
pub fn parse_data_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media = meta.strip_suffix(";base64")?;
    let media = media.split(';').next().unwrap_or("").trim();
    if media.is_empty() {
        return None;
    }
    Some((media.to_ascii_lowercase(), data.to_string()))
}

/// `true` for text that Anthropic would reject as empty (nothing but whitespace).
pub fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// OpenAI `arguments` (a JSON string) to an Anthropic `input` object. Empty means `{}`;
/// anything that is not a JSON object is kept as `{"_raw": "<the string>"}`.
pub fn parse_arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => Value::Object(m),
        _ => json!({ "_raw": raw }),
    }
}

/// Anthropic `input` to OpenAI `arguments`: the JSON text of the object, or the raw
/// string when the input is our own `{"_raw": ...}` wrapper.
pub fn arguments_string(input: &Value) -> String {
    if let Some(obj) = input.as_object()
        && obj.len() == 1
        && let Some(raw) = obj.get("_raw").and_then(Value::as_str)
    {
        return raw.to_string();
    }
    match input {
        Value::Null => "{}".to_string(),
        v => v.to_string(),
    }
}

/// Anthropic `stop_reason` to OpenAI `finish_reason`.
pub fn finish_reason_from_anthropic(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens") | Some("model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        // end_turn, stop_sequence, pause_turn (the turn is over for this response) and
        // anything new.
        _ => "stop",
    }
}

/// OpenAI `finish_reason` to Anthropic `stop_reason`.
pub fn stop_reason_from_openai(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls") | Some("function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

fn u64_at(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// Anthropic usage to OpenAI usage: `prompt_tokens` counts cache reads and writes too.
pub fn usage_to_openai(u: &Value) -> Value {
    let input = u64_at(u, "input_tokens");
    let read = u64_at(u, "cache_read_input_tokens");
    let created = u64_at(u, "cache_creation_input_tokens");
    let output = u64_at(u, "output_tokens");
    let prompt = input + read + created;
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": read},
    })
}

/// OpenAI usage to Anthropic usage: `input_tokens` excludes the cached part.
pub fn usage_to_anthropic(u: &Value) -> Value {
    let prompt = u64_at(u, "prompt_tokens");
    let cached = u
        .get("prompt_tokens_details")
        .map(|d| u64_at(d, "cached_tokens"))
        .unwrap_or(0)
        .min(prompt);
    json!({
        "input_tokens": prompt - cached,
        "output_tokens": u64_at(u, "completion_tokens"),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    })
}

/// One OpenAI SSE frame: `data: <json>\n\n`.
pub fn openai_frame(v: &impl serde::Serialize) -> Bytes {
    frame(&[b"data: "], v)
}

/// The `prefix` pieces, the JSON of `v`, and the blank line that ends an SSE event;
/// serialized straight into the buffer (a `Value`'s `Display` goes through `fmt`).
fn frame(prefix: &[&[u8]], v: &impl serde::Serialize) -> Bytes {
    let mut out = Vec::with_capacity(256);
    for p in prefix {
        out.extend_from_slice(p);
    }
    // Serializing a `Value` or a plain struct into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, v);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The OpenAI end-of-stream frame.
pub fn done_frame() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}

/// One Anthropic SSE frame: `event: <type>\ndata: <json>\n\n`.
pub fn anthropic_frame(event: &str, v: &impl serde::Serialize) -> Bytes {
    frame(&[b"event: ", event.as_bytes(), b"\ndata: "], v)
}

/// The text of an OpenAI `content` (string or parts), joined; `None` when absent.
pub fn openai_content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").or_else(|| p.get("refusal")))
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(""),
        ),
        _ => None,
    }
}

/// Copy `key` from `src` into `dst` when present and not null.
pub fn copy_field(src: &Value, dst: &mut Map<String, Value>, key: &str) {
    if let Some(v) = src.get(key)
        && !v.is_null()
    {
        dst.insert(key.to_string(), v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sanitised_deterministically() {
        assert_eq!(sanitize_id("call_ABC-1"), "call_ABC-1");
        let a = sanitize_id("call.1:x");
        assert!(is_valid_id(&a), "{a}");
        assert_eq!(a, sanitize_id("call.1:x"));
        assert_ne!(sanitize_id("call.1"), sanitize_id("call:1"));
        assert!(is_valid_id(&sanitize_id("")));
    }

    #[test]
    fn long_tool_names_shorten_and_restore() {
        let long = format!("mcp__server__{}", "very_long_tool_name_".repeat(5));
        let short = shorten_tool_name(&long);
        assert_eq!(short.len(), OPENAI_TOOL_NAME_MAX);
        assert_eq!(short, shorten_tool_name(&long));
        assert_eq!(restore_tool_name(&short), long);
        assert_eq!(shorten_tool_name("get_weather"), "get_weather");
        assert_eq!(restore_tool_name("get_weather"), "get_weather");
    }

    #[test]
    fn arguments_parse_or_keep_raw() {
        assert_eq!(parse_arguments(""), json!({}));
        assert_eq!(parse_arguments("{\"a\":1}"), json!({"a": 1}));
        assert_eq!(parse_arguments("{\"a\":"), json!({"_raw": "{\"a\":"}));
        assert_eq!(parse_arguments("[1]"), json!({"_raw": "[1]"}));
        assert_eq!(arguments_string(&json!({"_raw": "{\"a\":"})), "{\"a\":");
        assert_eq!(arguments_string(&json!({"a": 1})), "{\"a\":1}");
    }

    #[test]
    fn data_urls_split() {
        assert_eq!(
            parse_data_url("data:image/PNG;base64,AAAA"),
            Some(("image/png".into(), "AAAA".into()))
        );
        assert_eq!(parse_data_url("https://x/y.png"), None);
        assert_eq!(parse_data_url("data:image/png,AAAA"), None);
    }

    #[test]
    fn usage_round_trip_keeps_cache() {
        let a = json!({"input_tokens": 10, "output_tokens": 5,
            "cache_read_input_tokens": 100, "cache_creation_input_tokens": 7});
        let o = usage_to_openai(&a);
        assert_eq!(o["prompt_tokens"], 117);
        assert_eq!(o["total_tokens"], 122);
        assert_eq!(o["prompt_tokens_details"]["cached_tokens"], 100);
        let back = usage_to_anthropic(&o);
        assert_eq!(back["input_tokens"], 17);
        assert_eq!(back["cache_read_input_tokens"], 100);
        assert_eq!(back["output_tokens"], 5);
    }
}
