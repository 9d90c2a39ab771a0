//! Chat Completions request → Responses request: the way out to a Responses upstream
//! (`--api responses`) for Chat clients and, one step earlier through the Anthropic ⇄
//! Chat pair, for Anthropic clients such as Claude Code.
//!
//! The gateway keeps no state at the upstream: `store: false`, and for reasoning
//! models `include: ["reasoning.encrypted_content"]`, so that reasoning comes back as
//! opaque items the client replays (tagged, see `common`) and that go out again
//! without ids the upstream would not find.
//!
//! Dropped knowingly (no Responses counterpart): `stop`, `seed`, `logit_bias`,
//! `logprobs`, `top_logprobs`, penalties, `modalities`, `audio`, `prediction`,
//! `stream_options` (Responses streams always carry usage), message `name`s.
//! Refused: `n > 1`, audio input.

use serde_json::{Map, Value, json};

use super::common::{MIN_OUTPUT_TOKENS, openai_reasoning_of_block};
use crate::convert::common::openai_content_text;
use crate::convert::{ConvertError, RequestOptions};

/// Models that reason (and so return encrypted reasoning to replay).
pub fn is_reasoning_model(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    ["o1", "o3", "o4", "gpt-5", "codex"]
        .iter()
        .any(|p| m.starts_with(p))
}

/// Convert a Chat Completions request body into a Responses body.
pub fn chat_to_responses_request(
    body: &Value,
    opts: &RequestOptions,
) -> Result<Value, ConvertError> {
    if !body.is_object() {
        return Err(ConvertError::Invalid(
            "request body must be a JSON object".into(),
        ));
    }
    if let Some(n) = body.get("n").and_then(Value::as_u64)
        && n > 1
    {
        return Err(ConvertError::Unsupported(format!(
            "n = {n} is not supported by the Responses API; send {n} requests instead"
        )));
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| ConvertError::Invalid("`messages` must be an array".into()))?;
    let mut input = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        message_items(m, i, &mut input)?;
    }
    if input.is_empty() {
        return Err(ConvertError::Invalid(
            "`messages` needs at least one message".into(),
        ));
    }

    let mut out = Map::new();
    out.insert("model".into(), json!(opts.upstream_model));
    out.insert("input".into(), Value::Array(input));
    let tools = tools(body);
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(c) = tool_choice(body.get("tool_choice")) {
            out.insert("tool_choice".into(), c);
        }
        if let Some(p) = body.get("parallel_tool_calls").filter(|v| v.is_boolean()) {
            out.insert("parallel_tool_calls".into(), p.clone());
        }
    }
    let reasoning = is_reasoning_model(&opts.upstream_model);
    if let Some(effort) = body.get("reasoning_effort").and_then(Value::as_str) {
        out.insert(
            "reasoning".into(),
            json!({"effort": effort, "summary": "auto"}),
        );
    } else if reasoning {
        out.insert("reasoning".into(), json!({"summary": "auto"}));
    }
    if reasoning {
        out.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    let mut text = Map::new();
    if let Some(rf) = body.get("response_format") {
        match rf.get("type").and_then(Value::as_str) {
            Some("json_schema") => {
                let js = rf.get("json_schema").unwrap_or(&Value::Null);
                let mut f = Map::new();
                f.insert("type".into(), json!("json_schema"));
                f.insert(
                    "name".into(),
                    js.get("name").cloned().unwrap_or_else(|| json!("response")),
                );
                for k in ["schema", "strict", "description"] {
                    if let Some(v) = js.get(k).filter(|v| !v.is_null()) {
                        f.insert(k.into(), v.clone());
                    }
                }
                text.insert("format".into(), Value::Object(f));
            }
            Some("json_object") => {
                text.insert("format".into(), json!({"type": "json_object"}));
            }
            _ => {}
        }
    }
    if let Some(v) = body.get("verbosity").filter(|v| v.is_string()) {
        text.insert("verbosity".into(), v.clone());
    }
    if !text.is_empty() {
        out.insert("text".into(), Value::Object(text));
    }
    for key in ["max_completion_tokens", "max_tokens"] {
        if let Some(n) = body.get(key).and_then(Value::as_u64) {
            out.insert("max_output_tokens".into(), json!(n.max(MIN_OUTPUT_TOKENS)));
            break;
        }
    }
    // Reasoning models refuse sampling parameters.
    if !reasoning {
        for key in ["temperature", "top_p"] {
            if let Some(v) = body.get(key).filter(|v| v.is_number()) {
                out.insert(key.into(), v.clone());
            }
        }
    }
    for key in ["prompt_cache_key", "service_tier", "metadata", "user"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    out.insert("store".into(), json!(false));
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
    }
    Ok(Value::Object(out))
}

fn invalid(i: usize, what: &str) -> ConvertError {
    ConvertError::Invalid(format!("messages[{i}]: {what}"))
}

/// The input items of one Chat message, appended to `out`.
fn message_items(m: &Value, i: usize, out: &mut Vec<Value>) -> Result<(), ConvertError> {
    let role = m
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(i, "a message needs a `role`"))?;
    let content = m.get("content").unwrap_or(&Value::Null);
    match role {
        "system" | "developer" => {
            let text = openai_content_text(content).unwrap_or_default();
            if !text.trim().is_empty() {
                out.push(json!({"type": "message", "role": role, "content": text}));
            }
        }
        "user" => {
            let parts = user_parts(content, i)?;
            if !parts.is_empty() {
                out.push(json!({"type": "message", "role": "user", "content": parts}));
            }
        }
        "assistant" => {
            for block in m
                .get("thinking_blocks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(item) = openai_reasoning_of_block(block) {
                    out.push(item);
                }
            }
            let text = openai_content_text(content).unwrap_or_default();
            if !text.is_empty() {
                out.push(json!({"type": "message", "role": "assistant", "content": text}));
            }
            for call in m
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let id = call.get("id").and_then(Value::as_str).unwrap_or("");
                let f = call.get("function").unwrap_or(&Value::Null);
                let name = f.get("name").and_then(Value::as_str).unwrap_or("");
                let args = f.get("arguments").and_then(Value::as_str).unwrap_or("{}");
                if id.is_empty() || name.is_empty() {
                    return Err(invalid(
                        i,
                        "a tool call needs an `id` and a function `name`",
                    ));
                }
                out.push(json!({"type": "function_call", "call_id": id, "name": name,
                    "arguments": args}));
            }
        }
        "tool" => {
            let id = m
                .get("tool_call_id")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(i, "a tool message needs `tool_call_id`"))?;
            let text = openai_content_text(content).unwrap_or_default();
            out.push(json!({"type": "function_call_output", "call_id": id, "output": text}));
        }
        "function" => {
            return Err(ConvertError::Unsupported(format!(
                "messages[{i}]: legacy `function` messages are not supported; use tools"
            )));
        }
        other => return Err(invalid(i, &format!("unknown role {other:?}"))),
    }
    Ok(())
}

/// User content (string or parts) as Responses input parts.
fn user_parts(content: &Value, i: usize) -> Result<Vec<Value>, ConvertError> {
    let parts = match content {
        Value::String(s) if s.is_empty() => return Ok(Vec::new()),
        Value::String(s) => return Ok(vec![json!({"type": "input_text", "text": s})]),
        Value::Array(parts) => parts,
        Value::Null => return Ok(Vec::new()),
        _ => {
            return Err(invalid(
                i,
                "`content` must be a string or an array of parts",
            ));
        }
    };
    let mut out = Vec::new();
    for p in parts {
        match p.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => {
                if let Some(t) = p
                    .get("text")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    out.push(json!({"type": "input_text", "text": t}));
                }
            }
            "image_url" => {
                let img = p.get("image_url").unwrap_or(&Value::Null);
                let url = img
                    .as_str()
                    .or_else(|| img.get("url").and_then(Value::as_str))
                    .ok_or_else(|| invalid(i, "an image part needs a url"))?;
                let detail = img.get("detail").and_then(Value::as_str).unwrap_or("auto");
                out.push(json!({"type": "input_image", "image_url": url, "detail": detail}));
            }
            "file" => {
                let f = p.get("file").unwrap_or(&Value::Null);
                let mut part = Map::new();
                part.insert("type".into(), json!("input_file"));
                for k in ["file_data", "file_id", "filename"] {
                    if let Some(v) = f.get(k).filter(|v| v.is_string()) {
                        part.insert(k.into(), v.clone());
                    }
                }
                out.push(Value::Object(part));
            }
            "input_audio" => {
                return Err(ConvertError::Unsupported(format!(
                    "messages[{i}]: audio input is not supported by the Responses API"
                )));
            }
            other => return Err(invalid(i, &format!("unknown content part type {other:?}"))),
        }
    }
    Ok(out)
}

/// Chat functions as Responses function tools (`strict` defaults to true there, so it
/// is always said).
fn tools(body: &Value) -> Vec<Value> {
    body.get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
        .filter_map(|t| {
            let f = t.get("function")?;
            let name = f.get("name").and_then(Value::as_str)?;
            let mut tool = Map::new();
            tool.insert("type".into(), json!("function"));
            tool.insert("name".into(), json!(name));
            if let Some(d) = f.get("description").filter(|d| d.is_string()) {
                tool.insert("description".into(), d.clone());
            }
            tool.insert(
                "parameters".into(),
                f.get("parameters")
                    .filter(|p| p.is_object())
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            );
            tool.insert(
                "strict".into(),
                json!(f.get("strict").and_then(Value::as_bool).unwrap_or(false)),
            );
            Some(Value::Object(tool))
        })
        .collect()
}

fn tool_choice(choice: Option<&Value>) -> Option<Value> {
    match choice? {
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => Some(json!(s)),
        Value::Object(o) => {
            let name = o.get("function")?.get("name")?.as_str()?;
            Some(json!({"type": "function", "name": name}))
        }
        _ => None,
    }
}
