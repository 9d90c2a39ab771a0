//! OpenAI Chat Completions request → Anthropic Messages request: parameters, tools,
//! tool choice, JSON mode and reasoning. Messages are in `openai_messages`.
//!
//! Dropped knowingly (no Anthropic counterpart): `frequency_penalty`, `presence_penalty`,
//! `logit_bias`, `logprobs`, `top_logprobs`, `seed`, `store`, `metadata` (OpenAI's),
//! `modalities`, `audio`, `prediction`, `service_tier`, `web_search_options`,
//! `stream_options` (the caller reads it for the stream converter), message `name`s.
//! Refused: `n > 1`, audio input, `file_id` files, non-function tools.

use serde_json::{Map, Value, json};

use super::common::{DEFAULT_MAX_TOKENS, JSON_TOOL_NAME, is_blank};
use super::openai_messages::convert_messages;
use super::{ConvertError, RequestOptions};

/// Convert an OpenAI Chat Completions request body into an Anthropic Messages body.
pub fn openai_to_anthropic_request(
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
            "n = {n} is not supported: Anthropic models return one choice per request; send {n} requests instead"
        )));
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| ConvertError::Invalid("`messages` must be an array".into()))?;
    let conv = convert_messages(messages)?;
    if conv.messages.is_empty() {
        return Err(ConvertError::Invalid(
            "`messages` needs at least one non-empty user or assistant message".into(),
        ));
    }

    let mut out = Map::new();
    out.insert("model".into(), json!(opts.upstream_model));
    let mut max_tokens = max_tokens(body)?;
    if !conv.system.is_empty() {
        out.insert("system".into(), system_value(conv.system));
    }
    let stops = stop_sequences(body.get("stop"));
    if !stops.is_empty() {
        out.insert("stop_sequences".into(), json!(stops));
    }
    let temperature = body
        .get("temperature")
        .and_then(Value::as_f64)
        .map(|t| t.clamp(0.0, 1.0));
    let top_p = body.get("top_p").and_then(Value::as_f64);
    if let Some(user) = body.get("user").and_then(Value::as_str)
        && !user.is_empty()
    {
        let id: String = user.chars().take(256).collect();
        out.insert("metadata".into(), json!({"user_id": id}));
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
    }

    let (tools, tool_choice) = tools_and_choice(body, &conv.used_tools)?;
    let forced = tool_choice
        .as_ref()
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "any" || t == "tool");
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = tool_choice {
            out.insert("tool_choice".into(), choice);
        }
    }

    // Thinking: off when Anthropic would refuse it (forced tool use, or a final assistant
    // turn with tool use or prefill that has no signed thinking block to start with).
    let budget = body
        .get("reasoning_effort")
        .and_then(Value::as_str)
        .and_then(thinking_budget)
        .filter(|_| !forced && last_assistant_allows_thinking(&conv.messages));
    if let Some(budget) = budget {
        if max_tokens <= budget {
            max_tokens += budget;
        }
        out.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
        // With thinking on, Anthropic accepts only temperature 1, top_p >= 0.95, no top_k.
        if temperature == Some(1.0) {
            out.insert("temperature".into(), json!(1.0));
        }
        if let Some(p) = top_p.filter(|p| (0.95..=1.0).contains(p)) {
            out.insert("top_p".into(), json!(p));
        }
    } else {
        // Newer Claude models refuse temperature and top_p together: temperature wins.
        if let Some(t) = temperature {
            out.insert("temperature".into(), json!(t));
        } else if let Some(p) = top_p {
            out.insert("top_p".into(), json!(p.clamp(0.0, 1.0)));
        }
        if let Some(k) = body.get("top_k").and_then(Value::as_u64) {
            out.insert("top_k".into(), json!(k));
        }
    }
    out.insert("max_tokens".into(), json!(max_tokens));
    out.insert("messages".into(), Value::Array(conv.messages));
    let mut out = Value::Object(out);
    limit_cache_breakpoints(&mut out);
    Ok(out)
}

/// Anthropic accepts at most four `cache_control` breakpoints per request. Keep the
/// last four (tools, then system, then messages, in prompt order): the later a
/// breakpoint, the longer the prefix it caches.
fn limit_cache_breakpoints(req: &mut Value) {
    const MAX: usize = 4;
    let mut total: usize = 0;
    each_cacheable_block(req, &mut |b| {
        if b.contains_key("cache_control") {
            total += 1;
        }
    });
    let mut excess = total.saturating_sub(MAX);
    if excess == 0 {
        return;
    }
    each_cacheable_block(req, &mut |b| {
        if excess > 0 && b.remove("cache_control").is_some() {
            excess -= 1;
        }
    });
}

/// Visit tool definitions, system blocks and message content blocks in prompt order.
fn each_cacheable_block(req: &mut Value, f: &mut impl FnMut(&mut Map<String, Value>)) {
    for key in ["tools", "system"] {
        if let Some(Value::Array(items)) = req.get_mut(key) {
            items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(&mut *f);
        }
    }
    if let Some(Value::Array(msgs)) = req.get_mut("messages") {
        for m in msgs {
            if let Some(Value::Array(blocks)) = m.get_mut("content") {
                blocks
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(&mut *f);
            }
        }
    }
}

fn max_tokens(body: &Value) -> Result<u64, ConvertError> {
    for key in ["max_completion_tokens", "max_tokens"] {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => return Ok(n),
                _ => {
                    return Err(ConvertError::Invalid(format!(
                        "`{key}` must be a positive integer"
                    )));
                }
            },
        }
    }
    Ok(DEFAULT_MAX_TOKENS)
}

/// A plain string unless some block carries `cache_control`, which needs blocks.
fn system_value(blocks: Vec<Value>) -> Value {
    if blocks.iter().any(|b| b.get("cache_control").is_some()) {
        return Value::Array(blocks);
    }
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    json!(texts.join("\n\n"))
}

/// OpenAI `stop` (string or array) → Anthropic `stop_sequences`, whitespace-only dropped.
fn stop_sequences(stop: Option<&Value>) -> Vec<String> {
    let all: Vec<&str> = match stop {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    all.into_iter()
        .filter(|s| !is_blank(s))
        .map(str::to_string)
        .collect()
}

/// `reasoning_effort` → `thinking.budget_tokens` (all ≥ 1024, Anthropic's minimum).
pub(super) fn thinking_budget(effort: &str) -> Option<u64> {
    match effort {
        "minimal" => Some(1024),
        "low" => Some(2048),
        "medium" => Some(8192),
        "high" => Some(16384),
        "xhigh" => Some(32768),
        _ => None,
    }
}

/// With thinking on, Anthropic requires a final assistant turn that uses tools (or is a
/// prefill) to start with a thinking block; we can only keep thinking on if it does.
fn last_assistant_allows_thinking(messages: &[Value]) -> bool {
    let Some(pos) = messages
        .iter()
        .rposition(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
    else {
        return true;
    };
    let blocks = messages[pos]
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let kind = |b: &Value| {
        b.get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let is_prefill = pos + 1 == messages.len();
    let uses_tools = blocks.iter().any(|b| kind(b) == "tool_use");
    let starts_with_thinking = blocks
        .first()
        .is_some_and(|b| kind(b) == "thinking" || kind(b) == "redacted_thinking");
    starts_with_thinking || !(is_prefill || uses_tools)
}

fn tools_and_choice(
    body: &Value,
    used_tools: &[String],
) -> Result<(Vec<Value>, Option<Value>), ConvertError> {
    let mut tools = Vec::new();
    for tool in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if tool
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("function")
            != "function"
        {
            return Err(ConvertError::Unsupported(
                "only `function` tools can be sent to Anthropic".into(),
            ));
        }
        tools.push(tool_def(tool.get("function").unwrap_or(&Value::Null))?);
    }
    for function in body
        .get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        tools.push(tool_def(function)?);
    }
    let mut choice = match body
        .get("tool_choice")
        .or_else(|| body.get("function_call"))
    {
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Some(json!({"type": "auto"})),
            "required" => Some(json!({"type": "any"})),
            "none" => Some(json!({"type": "none"})),
            other => {
                return Err(ConvertError::Invalid(format!(
                    "unknown tool_choice {other:?}"
                )));
            }
        },
        Some(v @ Value::Object(_)) => {
            let name = v
                .pointer("/function/name")
                .or_else(|| v.get("name"))
                .and_then(Value::as_str);
            match name {
                Some(n) => Some(json!({"type": "tool", "name": n})),
                // allowed_tools and other newer shapes: let the model choose.
                None => Some(json!({"type": "auto"})),
            }
        }
        _ => None,
    };
    let choice_type = |c: &Option<Value>| {
        c.as_ref()
            .and_then(|c| c.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };

    // JSON mode: a forced tool whose input is the answer.
    let format = body.get("response_format");
    let format_type = format.and_then(|f| f.get("type")).and_then(Value::as_str);
    if matches!(format_type, Some("json_object") | Some("json_schema")) {
        if tools.iter().any(|t| t["name"] == JSON_TOOL_NAME) {
            return Err(ConvertError::Unsupported(format!(
                "a tool named {JSON_TOOL_NAME:?} cannot be combined with response_format"
            )));
        }
        let spec = format.and_then(|f| f.get("json_schema"));
        let mut schema = spec
            .and_then(|s| s.get("schema"))
            .filter(|s| s.is_object())
            .cloned()
            .unwrap_or_else(|| json!({"type": "object"}));
        // Anthropic tool schemas must say `type: object`; an untyped schema is one.
        if schema.get("type").is_none() {
            schema["type"] = json!("object");
        }
        if schema.get("type").is_some_and(|t| t != "object") {
            return Err(ConvertError::Unsupported(
                "response_format json_schema must describe an object for Anthropic".into(),
            ));
        }
        let description = spec
            .and_then(|s| s.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("Give the final answer by calling this tool with the answer as its input.");
        let json_tool =
            json!({"name": JSON_TOOL_NAME, "description": description, "input_schema": schema});
        let choice_kind = choice_type(&choice);
        if tools.is_empty() || choice_kind.as_deref() == Some("none") {
            tools = vec![json_tool];
            choice = Some(json!({"type": "tool", "name": JSON_TOOL_NAME}));
        } else {
            tools.push(json_tool);
            if choice_kind.as_deref() != Some("tool") {
                choice = Some(json!({"type": "any"}));
            }
        }
    }

    if tools.is_empty() && !used_tools.is_empty() {
        // Anthropic refuses tool_use blocks in history unless tools are declared.
        tools = used_tools
            .iter()
            .map(|n| json!({"name": n, "input_schema": {"type": "object"}}))
            .collect();
        choice = Some(json!({"type": "none"}));
    }
    if body.get("parallel_tool_calls").and_then(Value::as_bool) == Some(false) && !tools.is_empty()
    {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if c.get("type").and_then(Value::as_str) != Some("none") {
            c["disable_parallel_tool_use"] = json!(true);
        }
    }
    Ok((tools, choice))
}

fn tool_def(function: &Value) -> Result<Value, ConvertError> {
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ConvertError::Invalid("every tool needs a function name".into()))?;
    let mut schema = match function.get("parameters") {
        Some(p @ Value::Object(_)) => p.clone(),
        _ => json!({"type": "object", "properties": {}}),
    };
    if schema.get("type").is_none() {
        schema["type"] = json!("object");
    }
    if schema.get("type").is_some_and(|t| t != "object") {
        return Err(ConvertError::Unsupported(format!(
            "tool {name:?}: parameters must be an object schema for Anthropic models"
        )));
    }
    let mut tool = json!({"name": name, "input_schema": schema});
    if let Some(d) = function.get("description").and_then(Value::as_str)
        && !d.is_empty()
    {
        tool["description"] = json!(d);
    }
    Ok(tool)
}

#[cfg(test)]
#[path = "openai_to_anthropic_tests.rs"]
mod tests;
