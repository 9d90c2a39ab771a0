//! The Anthropic Messages request rules:
//!
//! - `model` non-empty; `max_tokens` an integer ≥ 1; `messages` a non-empty array;
//! - roles `user`, `assistant`, and `system` (in-message system turns, sent by Claude
//!   Code, count as part of the top-level system prompt and are otherwise transparent);
//! - every message has non-empty content except a final assistant turn (prefill), which
//!   must not end in whitespace; text blocks must contain non-whitespace text;
//! - blocks are allowed per role (`tool_use`/thinking only from the assistant,
//!   `tool_result` only from the user); images are base64 jpeg/png/gif/webp or a URL;
//! - each `tool_use` (ids `^[a-zA-Z0-9_-]+$`, unique) is answered by a `tool_result` in the
//!   very next user turn, results first; each `tool_result` refers to a `tool_use` of the
//!   previous assistant turn; `tool_use`/`tool_result` need `tools` to be declared;
//! - `tools`: custom tools have names `^[a-zA-Z0-9_-]{1,128}$` (unique) and an object
//!   `input_schema`; `tool_choice` is auto/any/none/tool(name of a declared tool);
//! - `temperature` and `top_p` in 0..=1; `stop_sequences` non-whitespace strings;
//!   `metadata.user_id` ≤ 256 characters; at most 4 `cache_control` breakpoints;
//! - `thinking.enabled`: `budget_tokens` ≥ 1024 and < `max_tokens`; then `temperature`
//!   only 1, `top_p` only 0.95..=1, no `top_k`, no forced tool choice, and a final
//!   assistant turn that uses tools (or is a prefill) starts with a thinking block.

use serde_json::Value;

use super::anthropic_blocks::{allowed, block, tool_pairing};
use super::{Res, fail, integer_at_least, is_name, kind, number_in};

/// Check an Anthropic Messages request body; see the module docs for the rules.
pub fn validate_anthropic_request(body: &Value) -> Res {
    if !body.is_object() {
        return fail("body", "must be a JSON object");
    }
    if body
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return fail("model", "required non-empty string");
    }
    let Some(max_tokens) = body.get("max_tokens").and_then(Value::as_u64) else {
        return fail("max_tokens", "required integer");
    };
    integer_at_least(body, "max_tokens", 1)?;
    number_in(body, "temperature", 0.0, 1.0)?;
    number_in(body, "top_p", 0.0, 1.0)?;
    integer_at_least(body, "top_k", 0)?;
    if let Some(s) = body.get("stream")
        && !s.is_boolean()
    {
        return fail("stream", "must be a boolean");
    }
    if let Some(stops) = body.get("stop_sequences") {
        let ok = stops.as_array().is_some_and(|a| {
            a.iter()
                .all(|s| s.as_str().is_some_and(|s| !s.trim().is_empty()))
        });
        if !ok {
            return fail("stop_sequences", "must be non-whitespace strings");
        }
    }
    if let Some(user) = body.pointer("/metadata/user_id")
        && user.as_str().is_none_or(|u| u.chars().count() > 256)
    {
        return fail(
            "metadata.user_id",
            "must be a string of at most 256 characters",
        );
    }
    let mut cache_breakpoints = 0;
    match body.get("system") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(blocks)) => {
            for (i, b) in blocks.iter().enumerate() {
                if kind(b) != "text" {
                    return fail(&format!("system[{i}]"), "must be a text block");
                }
                block(b, &format!("system[{i}]"), &mut cache_breakpoints)?;
            }
        }
        Some(_) => return fail("system", "must be a string or text blocks"),
    }
    let tool_names = tools(body, &mut cache_breakpoints)?;
    tool_choice(body, &tool_names)?;
    messages(body, &tool_names, &mut cache_breakpoints)?;
    if cache_breakpoints > 4 {
        return fail("cache_control", "at most 4 blocks may carry cache_control");
    }
    thinking(body, max_tokens)?;
    if let Some(format) = body.pointer("/output_config/format")
        && !(kind(format) == "json_schema" && format.get("schema").is_some_and(Value::is_object))
    {
        return fail(
            "output_config.format",
            "must be {type: json_schema, schema: {...}}",
        );
    }
    Ok(())
}

fn tools(body: &Value, cache: &mut usize) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let Some(tools) = body.get("tools") else {
        return Ok(names);
    };
    let Some(tools) = tools.as_array() else {
        return fail("tools", "must be an array");
    };
    for (i, t) in tools.iter().enumerate() {
        let path = format!("tools[{i}]");
        let name = t.get("name").and_then(Value::as_str).unwrap_or("");
        if matches!(t.get("type").and_then(Value::as_str), None | Some("custom")) {
            if !is_name(name, 128) {
                return fail(&format!("{path}.name"), "must match ^[a-zA-Z0-9_-]{1,128}$");
            }
            let schema = t.get("input_schema");
            if schema.is_none_or(|s| s.get("type").and_then(Value::as_str) != Some("object")) {
                return fail(
                    &format!("{path}.input_schema"),
                    "must be an object schema with type \"object\"",
                );
            }
        } else if name.is_empty() {
            return fail(&format!("{path}.name"), "required");
        }
        if t.get("cache_control").is_some() {
            *cache += 1;
        }
        if names.iter().any(|n| n == name) {
            return fail(
                &format!("{path}.name"),
                format!("duplicate tool name {name:?}"),
            );
        }
        names.push(name.to_string());
    }
    Ok(names)
}

fn tool_choice(body: &Value, tool_names: &[String]) -> Res {
    let Some(choice) = body.get("tool_choice") else {
        return Ok(());
    };
    match kind(choice) {
        "auto" | "none" => {}
        "any" if !tool_names.is_empty() => {}
        "tool" => {
            let name = choice.get("name").and_then(Value::as_str).unwrap_or("");
            if !tool_names.iter().any(|n| n == name) {
                return fail(
                    "tool_choice.name",
                    format!("{name:?} is not a declared tool"),
                );
            }
        }
        "any" => return fail("tool_choice", "`any` needs tools"),
        other => return fail("tool_choice.type", format!("unknown type {other:?}")),
    }
    if let Some(d) = choice.get("disable_parallel_tool_use")
        && !d.is_boolean()
    {
        return fail("tool_choice.disable_parallel_tool_use", "must be a boolean");
    }
    Ok(())
}

fn thinking(body: &Value, max_tokens: u64) -> Res {
    let Some(t) = body.get("thinking") else {
        return Ok(());
    };
    match kind(t) {
        "disabled" | "adaptive" => return Ok(()),
        "enabled" => {}
        other => return fail("thinking.type", format!("unknown type {other:?}")),
    }
    let budget = t.get("budget_tokens").and_then(Value::as_u64).unwrap_or(0);
    if budget < 1024 {
        return fail("thinking.budget_tokens", "must be >= 1024");
    }
    if budget >= max_tokens {
        return fail("thinking.budget_tokens", "must be less than max_tokens");
    }
    if body
        .get("temperature")
        .is_some_and(|v| v.as_f64() != Some(1.0))
    {
        return fail("temperature", "may only be 1 when thinking is enabled");
    }
    if body.get("top_k").is_some() {
        return fail("top_k", "is not allowed when thinking is enabled");
    }
    if body
        .get("top_p")
        .is_some_and(|v| !v.as_f64().is_some_and(|p| p >= 0.95))
    {
        return fail(
            "top_p",
            "must be between 0.95 and 1 when thinking is enabled",
        );
    }
    if matches!(
        body.pointer("/tool_choice/type").and_then(Value::as_str),
        Some("any" | "tool")
    ) {
        return fail(
            "tool_choice",
            "thinking may not be enabled when tool use is forced",
        );
    }
    let turns = merged_turns(body);
    if let Some(pos) = turns.iter().rposition(|(r, _)| r == "assistant") {
        let blocks = &turns[pos].1;
        let uses_tools = blocks.iter().any(|b| kind(b) == "tool_use");
        let starts = blocks
            .first()
            .is_some_and(|b| matches!(kind(b), "thinking" | "redacted_thinking"));
        if (uses_tools || pos + 1 == turns.len()) && !starts {
            return fail(
                &format!("messages[{pos}].content[0]"),
                "with thinking enabled, the final assistant message must start with a thinking block",
            );
        }
    }
    Ok(())
}

/// user/assistant turns with consecutive same-role turns merged, system turns skipped.
fn merged_turns(body: &Value) -> Vec<(String, Vec<Value>)> {
    let mut turns: Vec<(String, Vec<Value>)> = Vec::new();
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role == "system" {
            continue;
        }
        let blocks = match m.get("content") {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::String(s)) => vec![serde_json::json!({"type": "text", "text": s})],
            _ => Vec::new(),
        };
        match turns.last_mut() {
            Some((r, b)) if r == role => b.extend(blocks),
            _ => turns.push((role.to_string(), blocks)),
        }
    }
    turns
}

fn messages(body: &Value, tool_names: &[String], cache: &mut usize) -> Res {
    let Some(msgs) = body.get("messages").and_then(Value::as_array) else {
        return fail("messages", "required array");
    };
    let last = msgs
        .len()
        .checked_sub(1)
        .ok_or("messages: must not be empty")?;
    for (i, m) in msgs.iter().enumerate() {
        let path = format!("messages[{i}]");
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if !matches!(role, "user" | "assistant" | "system") {
            return fail(&format!("{path}.role"), format!("unknown role {role:?}"));
        }
        let prefill = i == last && role == "assistant";
        match m.get("content") {
            Some(Value::String(s)) => {
                if s.trim().is_empty() && !(prefill && s.is_empty()) {
                    return fail(
                        &path,
                        "all messages must have non-empty content except for the optional final assistant message",
                    );
                }
                if prefill && s.trim_end() != s {
                    return fail(
                        &path,
                        "final assistant content cannot end with trailing whitespace",
                    );
                }
            }
            Some(Value::Array(blocks)) => {
                if blocks.is_empty() && !prefill {
                    return fail(
                        &path,
                        "all messages must have non-empty content except for the optional final assistant message",
                    );
                }
                for (j, b) in blocks.iter().enumerate() {
                    let bpath = format!("{path}.content[{j}]");
                    allowed(role, kind(b), &bpath)?;
                    block(b, &bpath, cache)?;
                }
                if prefill
                    && let Some(t) = blocks
                        .last()
                        .and_then(|b| b.get("text"))
                        .and_then(Value::as_str)
                    && t.trim_end() != t
                {
                    return fail(
                        &path,
                        "final assistant content cannot end with trailing whitespace",
                    );
                }
            }
            _ => {
                return fail(
                    &format!("{path}.content"),
                    "must be a string or an array of blocks",
                );
            }
        }
    }
    tool_pairing(&merged_turns(body), tool_names)
}
