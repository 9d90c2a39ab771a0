//! What every Responses converter shares: how reasoning from one vendor rides through
//! the other vendor's format, ids, usage, and the request context a response needs.
//!
//! ## Reasoning across vendors
//! Reasoning must come back to the vendor that produced it exactly as it was, and never
//! reach the other vendor. The gateway tags it with its origin:
//! - An Anthropic thinking block given to a Responses client becomes a `reasoning`
//!   item whose summary is the thinking text and whose `encrypted_content` is
//!   [`ANTHROPIC_THINKING_TAG`] + the signature (redacted thinking:
//!   [`ANTHROPIC_REDACTED_TAG`] + its data). Codex replays such items as they are.
//! - An OpenAI reasoning item given to a Chat or Anthropic client becomes a thinking
//!   block (in Chat: the `thinking_blocks` extension) whose signature is
//!   [`OPENAI_REASONING_TAG`] + the item's `encrypted_content`.
//!
//! Each converter drops what is tagged for the other vendor.

use serde_json::{Map, Value, json};

/// `encrypted_content` prefix of a reasoning item that carries an Anthropic signature.
pub const ANTHROPIC_THINKING_TAG: &str = "lgw1.ant.";
/// `encrypted_content` prefix of a reasoning item that carries Anthropic redacted thinking.
pub const ANTHROPIC_REDACTED_TAG: &str = "lgw1.antr.";
/// Thinking-block signature prefix that carries OpenAI's `encrypted_content`.
pub const OPENAI_REASONING_TAG: &str = "lgw1.oai.";

/// Between a namespace and a function name in the flat name other APIs see.
pub const NAMESPACE_SEPARATOR: &str = "__";

/// Responses' smallest accepted `max_output_tokens`.
pub const MIN_OUTPUT_TOKENS: u64 = 16;

/// A fresh id with an OpenAI-style prefix (`resp`, `msg`, `fc`, `rs`, `ctc`).
pub fn item_id(prefix: &str) -> String {
    let n: u128 = rand::random();
    format!("{prefix}_{n:032x}")
}

/// What a Responses answer needs to know of the request it answers: the model the
/// client asked for, which tools are freeform (`custom`) ones, and the request
/// parameters a `response` object echoes.
#[derive(Debug, Clone, Default)]
pub struct ResponsesCtx {
    pub response_id: String,
    pub model: String,
    pub custom_tools: Vec<String>,
    /// Codex's tool namespaces: their functions travel as `<namespace>__<name>`.
    pub namespaces: Vec<String>,
    /// `instructions`, `tools`, `tool_choice`, `parallel_tool_calls`, ... as sent.
    pub echo: Map<String, Value>,
}

/// A request's tools: its `tools`, then those its `additional_tools` input items add.
pub fn all_tools(req: &Value) -> impl Iterator<Item = &Value> {
    let listed = req
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let added = req
        .get("input")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("additional_tools"))
        .filter_map(|i| i.get("tools").and_then(Value::as_array))
        .flatten();
    listed.chain(added)
}

/// Request fields a `response` object repeats back.
const ECHOED: &[&str] = &[
    "instructions",
    "max_output_tokens",
    "metadata",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt_cache_key",
    "reasoning",
    "service_tier",
    "store",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_p",
    "truncation",
    "user",
];

impl ResponsesCtx {
    /// The context of a Responses request (`req` as the client sent it).
    pub fn of_request(req: &Value, client_model: &str) -> Self {
        let custom_tools = all_tools(req)
            .filter(|t| t.get("type").and_then(Value::as_str) == Some("custom"))
            .filter_map(|t| t.get("name").and_then(Value::as_str))
            .map(String::from)
            .collect();
        let namespaces = all_tools(req)
            .filter(|t| t.get("type").and_then(Value::as_str) == Some("namespace"))
            .filter_map(|t| t.get("name").and_then(Value::as_str))
            .map(String::from)
            .collect();
        let mut echo = Map::new();
        for k in ECHOED {
            if let Some(v) = req.get(*k) {
                echo.insert((*k).to_string(), v.clone());
            }
        }
        ResponsesCtx {
            response_id: item_id("resp"),
            model: client_model.to_string(),
            custom_tools,
            namespaces,
            echo,
        }
    }

    /// `(namespace, name)` of a converted namespaced function's flat name.
    pub fn split_namespace<'a>(&'a self, flat: &'a str) -> Option<(&'a str, &'a str)> {
        let (ns, name) = flat.split_once(NAMESPACE_SEPARATOR)?;
        self.namespaces
            .iter()
            .any(|n| n == ns)
            .then_some((ns, name))
    }

    pub fn is_custom(&self, name: &str) -> bool {
        self.custom_tools.iter().any(|t| t == name)
    }

    /// A `response` object with `status` and `output` (and `usage` once known).
    pub fn response(&self, status: &str, output: Vec<Value>, usage: Option<Value>) -> Value {
        let mut r = Map::new();
        r.insert("id".into(), json!(self.response_id));
        r.insert("object".into(), json!("response"));
        r.insert("created_at".into(), json!(super::super::common::now_secs()));
        r.insert("status".into(), json!(status));
        r.insert("error".into(), Value::Null);
        r.insert("incomplete_details".into(), Value::Null);
        r.insert("model".into(), json!(self.model));
        r.insert("output".into(), Value::Array(output));
        for (k, default) in [
            ("instructions", Value::Null),
            ("max_output_tokens", Value::Null),
            ("metadata", json!({})),
            ("parallel_tool_calls", json!(true)),
            ("previous_response_id", Value::Null),
            ("reasoning", json!({"effort": null, "summary": null})),
            ("store", json!(true)),
            ("temperature", json!(1.0)),
            ("text", json!({"format": {"type": "text"}})),
            ("tool_choice", json!("auto")),
            ("tools", json!([])),
            ("top_p", json!(1.0)),
            ("truncation", json!("disabled")),
        ] {
            r.insert(
                k.into(),
                self.echo.get(k).cloned().unwrap_or(default).clone(),
            );
        }
        for k in ["prompt_cache_key", "service_tier", "user"] {
            if let Some(v) = self.echo.get(k) {
                r.insert(k.into(), v.clone());
            }
        }
        r.insert("usage".into(), usage.unwrap_or(Value::Null));
        Value::Object(r)
    }
}

/// A thinking block (Anthropic's, or the `thinking_blocks` Chat extension) as the
/// reasoning item a Responses client keeps; `None` for OpenAI reasoning that is
/// already tagged (it becomes an item through [`openai_reasoning_of_block`]).
pub fn reasoning_item_of_block(block: &Value) -> Option<Value> {
    let (text, enc) = match block.get("type").and_then(Value::as_str)? {
        "thinking" => {
            let text = block.get("thinking").and_then(Value::as_str).unwrap_or("");
            let sig = block.get("signature").and_then(Value::as_str).unwrap_or("");
            if let Some(enc) = sig.strip_prefix(OPENAI_REASONING_TAG) {
                (text, enc.to_string())
            } else if sig.is_empty() {
                (text, String::new())
            } else {
                (text, format!("{ANTHROPIC_THINKING_TAG}{sig}"))
            }
        }
        "redacted_thinking" => {
            let data = block.get("data").and_then(Value::as_str)?;
            ("", format!("{ANTHROPIC_REDACTED_TAG}{data}"))
        }
        _ => return None,
    };
    Some(reasoning_item(&item_id("rs"), text, &enc))
}

/// A Responses `reasoning` output item.
pub fn reasoning_item(id: &str, summary: &str, encrypted: &str) -> Value {
    let summary = if summary.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": summary}])
    };
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if !encrypted.is_empty() {
        item["encrypted_content"] = json!(encrypted);
    }
    item
}

/// The text of a reasoning item: its summary parts (or, failing that, its content
/// parts) joined by blank lines.
pub fn reasoning_text(item: &Value) -> String {
    let parts = |key: &str| -> Vec<String> {
        item.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(String::from)
            .collect()
    };
    let summary = parts("summary");
    if summary.is_empty() {
        parts("content").join("\n\n")
    } else {
        summary.join("\n\n")
    }
}

/// A reasoning item (from a Responses client's input or a Responses upstream's output)
/// as a thinking block for the Chat `thinking_blocks` extension: Anthropic-tagged
/// content is restored as it was; OpenAI reasoning is tagged with its origin.
/// `None` when there is nothing to replay (no `encrypted_content`).
pub fn block_of_reasoning_item(item: &Value) -> Option<Value> {
    let enc = item.get("encrypted_content").and_then(Value::as_str)?;
    if let Some(data) = enc.strip_prefix(ANTHROPIC_REDACTED_TAG) {
        return Some(json!({"type": "redacted_thinking", "data": data}));
    }
    let text = reasoning_text(item);
    if let Some(sig) = enc.strip_prefix(ANTHROPIC_THINKING_TAG) {
        return Some(json!({"type": "thinking", "thinking": text, "signature": sig}));
    }
    Some(json!({
        "type": "thinking",
        "thinking": text,
        "signature": format!("{OPENAI_REASONING_TAG}{enc}"),
    }))
}

/// An OpenAI-tagged thinking block back as the reasoning input item a Responses
/// upstream accepts (without an id: with `store: false` the upstream has none).
pub fn openai_reasoning_of_block(block: &Value) -> Option<Value> {
    let sig = block.get("signature").and_then(Value::as_str)?;
    let enc = sig.strip_prefix(OPENAI_REASONING_TAG)?;
    let text = block.get("thinking").and_then(Value::as_str).unwrap_or("");
    let summary = if text.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": text}])
    };
    Some(json!({"type": "reasoning", "summary": summary, "encrypted_content": enc}))
}

/// Whether a thinking block's signature belongs to OpenAI (and must not reach Anthropic).
pub fn is_openai_tagged(block: &Value) -> bool {
    block
        .get("signature")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with(OPENAI_REASONING_TAG))
}

fn u64_at(v: &Value, path: &[&str]) -> u64 {
    let mut cur = v;
    for k in path {
        match cur.get(*k) {
            Some(next) => cur = next,
            None => return 0,
        }
    }
    cur.as_u64().unwrap_or(0)
}

/// Chat usage → Responses usage (both count cached tokens inside the input).
pub fn usage_from_chat(u: &Value) -> Value {
    let input = u64_at(u, &["prompt_tokens"]);
    let output = u64_at(u, &["completion_tokens"]);
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": u64_at(u, &["prompt_tokens_details", "cached_tokens"])},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": u64_at(u, &["completion_tokens_details", "reasoning_tokens"])},
        "total_tokens": input + output,
    })
}

/// Responses usage → Chat usage.
pub fn usage_to_chat(u: &Value) -> Value {
    let input = u64_at(u, &["input_tokens"]);
    let output = u64_at(u, &["output_tokens"]);
    json!({
        "prompt_tokens": input,
        "completion_tokens": output,
        "total_tokens": input + output,
        "prompt_tokens_details": {"cached_tokens": u64_at(u, &["input_tokens_details", "cached_tokens"])},
        "completion_tokens_details": {"reasoning_tokens": u64_at(u, &["output_tokens_details", "reasoning_tokens"])},
    })
}

/// A custom (freeform) tool's input as the one-field object a function tool carries.
pub const CUSTOM_INPUT_FIELD: &str = "input";

/// The freeform input of a converted custom tool call, from its JSON arguments.
pub fn custom_input_of_arguments(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(m)) => match m.get(CUSTOM_INPUT_FIELD) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => arguments.to_string(),
        },
        _ => arguments.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_thinking_round_trips_through_a_reasoning_item() {
        let block = json!({"type": "thinking", "thinking": "Let me see.", "signature": "sig-1"});
        let item = reasoning_item_of_block(&block).unwrap();
        assert_eq!(item["encrypted_content"], "lgw1.ant.sig-1");
        assert_eq!(item["summary"][0]["text"], "Let me see.");
        assert_eq!(block_of_reasoning_item(&item).unwrap(), block);
        let red = json!({"type": "redacted_thinking", "data": "abc"});
        let item = reasoning_item_of_block(&red).unwrap();
        assert_eq!(block_of_reasoning_item(&item).unwrap(), red);
    }

    #[test]
    fn openai_reasoning_round_trips_through_a_thinking_block() {
        let item = json!({"id": "rs_1", "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Plan."}], "encrypted_content": "gAAA=="});
        let block = block_of_reasoning_item(&item).unwrap();
        assert!(is_openai_tagged(&block));
        let back = openai_reasoning_of_block(&block).unwrap();
        assert_eq!(back["encrypted_content"], "gAAA==");
        assert_eq!(back["summary"], item["summary"]);
        assert!(back.get("id").is_none());
        // Reasoning without encrypted content has nothing to replay.
        assert!(block_of_reasoning_item(&json!({"type": "reasoning", "summary": []})).is_none());
    }

    #[test]
    fn usage_maps_both_ways() {
        let chat = json!({"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 60},
            "completion_tokens_details": {"reasoning_tokens": 5}});
        let r = usage_from_chat(&chat);
        assert_eq!(r["input_tokens"], 100);
        assert_eq!(r["input_tokens_details"]["cached_tokens"], 60);
        assert_eq!(r["output_tokens_details"]["reasoning_tokens"], 5);
        assert_eq!(usage_to_chat(&r), chat);
    }

    #[test]
    fn custom_input_comes_out_of_its_field() {
        assert_eq!(
            custom_input_of_arguments(r#"{"input":"*** Begin Patch"}"#),
            "*** Begin Patch"
        );
        assert_eq!(custom_input_of_arguments("not json"), "not json");
    }
}
