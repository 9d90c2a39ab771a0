//! Anthropic Messages request → OpenAI Chat Completions request: parameters, tools, tool
//! choice, thinking and structured output. Messages are in `anthropic_messages`.
//!
//! Dropped knowingly (no OpenAI counterpart): `top_k`, `cache_control` everywhere,
//! `service_tier`, `container`, `mcp_servers`, `context_management`, server tools (any
//! tool with a `type` other than `custom`, e.g. web search), `output_config.effort`
//! without thinking, thinking blocks in history, stop sequences past the fourth.

use serde_json::{Map, Value, json};

use super::anthropic_messages::convert_messages;
use super::common::{is_blank, shorten_tool_name};
use super::{ConvertError, RequestOptions};

/// OpenAI's limit on `stop` entries.
const OPENAI_MAX_STOP: usize = 4;

/// Convert an Anthropic Messages request body into an OpenAI Chat Completions body.
/// Streaming requests always ask for `stream_options.include_usage`.
pub fn anthropic_to_openai_request(
    body: &Value,
    opts: &RequestOptions,
) -> Result<Value, ConvertError> {
    if !body.is_object() {
        return Err(ConvertError::Invalid(
            "request body must be a JSON object".into(),
        ));
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| ConvertError::Invalid("`messages` must be an array".into()))?;

    let mut out = Map::new();
    out.insert("model".into(), json!(opts.upstream_model));
    out.insert(
        "messages".into(),
        Value::Array(convert_messages(
            body.get("system"),
            messages,
            opts.keep_reasoning,
        )?),
    );

    // Only reasoning models take `reasoning_effort` (gpt-4o, DeepSeek and most
    // compatible services refuse it), and they want `max_completion_tokens`.
    let reasoning = is_reasoning_model(&opts.upstream_model);
    let effort = reasoning_effort(body).filter(|_| reasoning);
    if let Some(max) = body.get("max_tokens").and_then(Value::as_u64) {
        let key = if reasoning {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        out.insert(key.into(), json!(max));
    }
    if let Some(effort) = effort {
        out.insert("reasoning_effort".into(), json!(effort));
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = body.get(key).and_then(Value::as_f64) {
            out.insert(key.into(), json!(v));
        }
    }
    let stops: Vec<&str> = body
        .get("stop_sequences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| !is_blank(s))
        .take(OPENAI_MAX_STOP)
        .collect();
    if !stops.is_empty() {
        out.insert("stop".into(), json!(stops));
    }
    if let Some(user) = body.pointer("/metadata/user_id").and_then(Value::as_str)
        && !user.is_empty()
    {
        out.insert("user".into(), json!(user));
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    tools(body, &mut out);
    let format = body
        .pointer("/output_config/format")
        .or_else(|| body.get("output_format"));
    if let Some(format) = format
        && format.get("type").and_then(Value::as_str) == Some("json_schema")
    {
        let schema = format
            .get("schema")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object"}));
        out.insert(
            "response_format".into(),
            json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}),
        );
    }
    Ok(Value::Object(out))
}

/// Models that take `max_completion_tokens` and refuse `max_tokens`.
fn is_reasoning_model(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| m.starts_with(p))
}

/// `thinking` → `reasoning_effort`: enabled by budget, adaptive by `output_config.effort`.
fn reasoning_effort(body: &Value) -> Option<&'static str> {
    let thinking = body.get("thinking")?;
    match thinking.get("type").and_then(Value::as_str)? {
        "enabled" => {
            let budget = thinking
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            Some(match budget {
                0..=2048 => "low",
                2049..=8192 => "medium",
                _ => "high",
            })
        }
        "adaptive" => Some(
            match body
                .pointer("/output_config/effort")
                .and_then(Value::as_str)
            {
                Some("low") => "low",
                Some("high") | Some("max") => "high",
                _ => "medium",
            },
        ),
        _ => None,
    }
}

fn tools(body: &Value, out: &mut Map<String, Value>) {
    let tools: Vec<Value> = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| matches!(t.get("type").and_then(Value::as_str), None | Some("custom")))
        .filter_map(|t| {
            let name = t.get("name").and_then(Value::as_str)?;
            let mut function = json!({
                "name": shorten_tool_name(name),
                "parameters": t.get("input_schema").cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            });
            if let Some(d) = t.get("description").and_then(Value::as_str) {
                function["description"] = json!(d);
            }
            Some(json!({"type": "function", "function": function}))
        })
        .collect();
    if tools.is_empty() {
        return;
    }
    let declared = |n: &str| {
        let short = shorten_tool_name(n);
        tools
            .iter()
            .any(|t| t["function"]["name"] == short.as_str())
    };
    // A named choice of a dropped (server) tool cannot be forced: let the model choose.
    let named_ok = body
        .pointer("/tool_choice/name")
        .and_then(Value::as_str)
        .is_none_or(declared);
    out.insert("tools".into(), Value::Array(tools));
    let Some(choice) = body.get("tool_choice") else {
        return;
    };
    let mapped = match choice.get("type").and_then(Value::as_str) {
        Some("auto") => Some(json!("auto")),
        Some("any") => Some(json!("required")),
        Some("none") => Some(json!("none")),
        Some("tool") if !named_ok => Some(json!("auto")),
        Some("tool") => choice
            .get("name")
            .and_then(Value::as_str)
            .map(|n| json!({"type": "function", "function": {"name": shorten_tool_name(n)}})),
        _ => None,
    };
    if let Some(mapped) = mapped {
        out.insert("tool_choice".into(), mapped);
    }
    if choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        == Some(true)
    {
        out.insert("parallel_tool_calls".into(), json!(false));
    }
}

#[cfg(test)]
#[path = "anthropic_to_openai_tests.rs"]
mod tests;
