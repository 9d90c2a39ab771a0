//! The OpenAI Chat Completions request rules:
//!
//! - `model` non-empty; `messages` a non-empty array with roles
//!   `system|developer|user|assistant|tool|function`;
//! - system/developer content is a string or text parts; user content a string or a
//!   non-empty array of `text|image_url|input_audio|file` parts; tool content a string or
//!   text parts;
//! - an assistant message has content, a refusal, `tool_calls` or a `function_call`;
//!   each tool call has a non-empty unique `id`, `type: function`, a name and
//!   `arguments` as a *string*;
//! - an assistant message with `tool_calls` is followed by tool messages answering each
//!   id (and only those) before any other message; a tool message needs such a call;
//! - `n` 1..=128; `stop` a string or ≤ 4 strings; `temperature` 0..=2; `top_p` 0..=1;
//!   penalties -2..=2; `max_tokens`/`max_completion_tokens` ≥ 1;
//! - `tools` are functions named `^[a-zA-Z0-9_-]{1,64}$` (unique); `tool_choice` and
//!   `parallel_tool_calls` only with tools; a named choice names a declared tool;
//! - `response_format` text/json_object/json_schema (named, with an object schema);
//!   json_object needs the word "json" somewhere in the messages;
//! - `reasoning_effort` none/minimal/low/medium/high/xhigh; `stream_options` only with
//!   `stream: true`.

use std::collections::HashSet;

use serde_json::Value;

use super::{Res, fail, integer_at_least, is_name, kind, number_in};

/// Check an OpenAI Chat Completions request body; see the module docs for the rules.
pub fn validate_openai_request(body: &Value) -> Res {
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
    match body.get("n") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64().is_some_and(|n| (1..=128).contains(&n)) => {}
        Some(_) => return fail("n", "must be an integer between 1 and 128"),
    }
    match body.get("stop") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(Value::Array(a)) if a.len() <= 4 && a.iter().all(Value::is_string) => {}
        Some(_) => return fail("stop", "must be a string or an array of at most 4 strings"),
    }
    number_in(body, "temperature", 0.0, 2.0)?;
    number_in(body, "top_p", 0.0, 1.0)?;
    number_in(body, "presence_penalty", -2.0, 2.0)?;
    number_in(body, "frequency_penalty", -2.0, 2.0)?;
    integer_at_least(body, "max_tokens", 1)?;
    integer_at_least(body, "max_completion_tokens", 1)?;
    if let Some(e) = body.get("reasoning_effort").filter(|e| !e.is_null())
        && !matches!(
            e.as_str(),
            Some("none" | "minimal" | "low" | "medium" | "high" | "xhigh")
        )
    {
        return fail(
            "reasoning_effort",
            "must be none, minimal, low, medium, high or xhigh",
        );
    }
    let streaming = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return fail("stream", "must be a boolean"),
    };
    if body.get("stream_options").is_some_and(|o| !o.is_null()) && !streaming {
        return fail("stream_options", "only allowed when stream is enabled");
    }
    if let Some(u) = body.get("user")
        && !u.is_string()
    {
        return fail("user", "must be a string");
    }
    let names = tools(body)?;
    tool_choice(body, &names)?;
    let Some(msgs) = body.get("messages").and_then(Value::as_array) else {
        return fail("messages", "required array");
    };
    if msgs.is_empty() {
        return fail("messages", "must not be empty");
    }
    for (i, m) in msgs.iter().enumerate() {
        message(m, &format!("messages[{i}]"))?;
    }
    pairing(msgs)?;
    response_format(body, msgs)
}

fn tools(body: &Value) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let Some(tools) = body.get("tools").filter(|t| !t.is_null()) else {
        return Ok(names);
    };
    let Some(tools) = tools.as_array() else {
        return fail("tools", "must be an array");
    };
    for (i, t) in tools.iter().enumerate() {
        let path = format!("tools[{i}]");
        if kind(t) != "function" {
            return fail(&format!("{path}.type"), "must be \"function\"");
        }
        let name = t
            .pointer("/function/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !is_name(name, 64) {
            return fail(
                &format!("{path}.function.name"),
                "must match ^[a-zA-Z0-9_-]{1,64}$",
            );
        }
        if t.pointer("/function/parameters")
            .is_some_and(|p| !p.is_object())
        {
            return fail(&format!("{path}.function.parameters"), "must be an object");
        }
        if names.iter().any(|n| n == name) {
            return fail(
                &format!("{path}.function.name"),
                format!("duplicate name {name:?}"),
            );
        }
        names.push(name.to_string());
    }
    Ok(names)
}

fn tool_choice(body: &Value, names: &[String]) -> Res {
    if let Some(p) = body.get("parallel_tool_calls").filter(|p| !p.is_null()) {
        if !p.is_boolean() {
            return fail("parallel_tool_calls", "must be a boolean");
        }
        if names.is_empty() {
            return fail(
                "parallel_tool_calls",
                "only allowed when tools are specified",
            );
        }
    }
    let Some(choice) = body.get("tool_choice").filter(|c| !c.is_null()) else {
        return Ok(());
    };
    if names.is_empty() {
        return fail("tool_choice", "only allowed when tools are specified");
    }
    match choice {
        Value::String(s) if matches!(s.as_str(), "none" | "auto" | "required") => Ok(()),
        Value::Object(_) if kind(choice) == "function" => {
            let name = choice
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            if names.iter().any(|n| n == name) {
                Ok(())
            } else {
                fail(
                    "tool_choice.function.name",
                    format!("{name:?} is not a declared tool"),
                )
            }
        }
        _ => fail(
            "tool_choice",
            "must be none, auto, required or a named function",
        ),
    }
}

fn text_parts(content: &Value, path: &str, allow_refusal: bool) -> Res {
    match content {
        Value::String(_) => Ok(()),
        Value::Array(parts) => parts
            .iter()
            .enumerate()
            .try_for_each(|(j, p)| match kind(p) {
                "text" if p.get("text").is_some_and(Value::is_string) => Ok(()),
                "refusal" if allow_refusal && p.get("refusal").is_some_and(Value::is_string) => {
                    Ok(())
                }
                _ => fail(&format!("{path}.content[{j}]"), "must be a text part"),
            }),
        _ => fail(&format!("{path}.content"), "must be a string or text parts"),
    }
}

fn message(m: &Value, path: &str) -> Res {
    let role = m.get("role").and_then(Value::as_str).unwrap_or("");
    let content = m.get("content").unwrap_or(&Value::Null);
    match role {
        "system" | "developer" => text_parts(content, path, false),
        "tool" => {
            if m.get("tool_call_id").and_then(Value::as_str).is_none() {
                return fail(&format!("{path}.tool_call_id"), "required string");
            }
            text_parts(content, path, false)
        }
        "function" => match m.get("name").and_then(Value::as_str) {
            Some(_) => Ok(()),
            None => fail(&format!("{path}.name"), "required string"),
        },
        "user" => match content {
            Value::String(_) => Ok(()),
            Value::Array(parts) if !parts.is_empty() => parts
                .iter()
                .enumerate()
                .try_for_each(|(j, p)| user_part(p, &format!("{path}.content[{j}]"))),
            _ => fail(
                &format!("{path}.content"),
                "must be a string or a non-empty array of parts",
            ),
        },
        "assistant" => assistant(m, content, path),
        other => fail(&format!("{path}.role"), format!("unknown role {other:?}")),
    }
}

fn user_part(p: &Value, path: &str) -> Res {
    let ok = match kind(p) {
        "text" => p.get("text").is_some_and(Value::is_string),
        "image_url" => p
            .pointer("/image_url/url")
            .and_then(Value::as_str)
            .is_some_and(|u| {
                u.starts_with("https://")
                    || u.starts_with("http://")
                    || u.starts_with("data:image/")
            }),
        "input_audio" => p.pointer("/input_audio/data").is_some_and(Value::is_string),
        "file" => {
            p.pointer("/file/file_data").is_some_and(Value::is_string)
                || p.pointer("/file/file_id").is_some_and(Value::is_string)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        fail(
            path,
            "must be a valid text, image_url, input_audio or file part",
        )
    }
}

fn assistant(m: &Value, content: &Value, path: &str) -> Res {
    if !content.is_null() {
        text_parts(content, path, true)?;
    }
    let calls = m.get("tool_calls").filter(|c| !c.is_null());
    if let Some(calls) = calls {
        let Some(calls) = calls.as_array().filter(|c| !c.is_empty()) else {
            return fail(&format!("{path}.tool_calls"), "must be a non-empty array");
        };
        let mut ids = HashSet::new();
        for (k, c) in calls.iter().enumerate() {
            let cpath = format!("{path}.tool_calls[{k}]");
            let id = c.get("id").and_then(Value::as_str).unwrap_or("");
            if id.is_empty() || !ids.insert(id) {
                return fail(&format!("{cpath}.id"), "must be a non-empty unique string");
            }
            if kind(c) != "function" {
                return fail(&format!("{cpath}.type"), "must be \"function\"");
            }
            if c.pointer("/function/name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return fail(&format!("{cpath}.function.name"), "required");
            }
            if !c
                .pointer("/function/arguments")
                .is_some_and(Value::is_string)
            {
                return fail(&format!("{cpath}.function.arguments"), "must be a string");
            }
        }
    }
    let has_refusal = m.get("refusal").is_some_and(Value::is_string);
    let has_call = m.get("function_call").is_some_and(Value::is_object);
    if content.is_null() && calls.is_none() && !has_refusal && !has_call {
        return fail(path, "an assistant message needs content or tool_calls");
    }
    Ok(())
}

fn pairing(msgs: &[Value]) -> Res {
    let mut pending: Vec<String> = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role == "tool" {
            let id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or("");
            match pending.iter().position(|p| p == id) {
                Some(k) => {
                    pending.remove(k);
                }
                None => {
                    return fail(
                        &format!("messages[{i}]"),
                        "messages with role 'tool' must be a response to a preceding message with 'tool_calls'",
                    );
                }
            }
            continue;
        }
        if !pending.is_empty() {
            return fail(
                &format!("messages[{i}]"),
                format!(
                    "an assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'; missing: {}",
                    pending.join(", ")
                ),
            );
        }
        if role == "assistant" {
            pending = m
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_string))
                .collect();
        }
    }
    if pending.is_empty() {
        Ok(())
    } else {
        fail(
            "messages",
            format!("tool calls without tool messages: {}", pending.join(", ")),
        )
    }
}

fn response_format(body: &Value, msgs: &[Value]) -> Res {
    let Some(f) = body.get("response_format").filter(|f| !f.is_null()) else {
        return Ok(());
    };
    match kind(f) {
        "text" => Ok(()),
        "json_object" => {
            let mentions_json = msgs.iter().any(|m| {
                m.get("content")
                    .map(|c| c.to_string().to_ascii_lowercase().contains("json"))
                    .unwrap_or(false)
            });
            if mentions_json {
                Ok(())
            } else {
                fail(
                    "messages",
                    "must contain the word 'json' in some form to use response_format json_object",
                )
            }
        }
        "json_schema" => {
            let name = f
                .pointer("/json_schema/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !is_name(name, 64) {
                return fail(
                    "response_format.json_schema.name",
                    "must match ^[a-zA-Z0-9_-]{1,64}$",
                );
            }
            if f.pointer("/json_schema/schema")
                .is_some_and(|s| !s.is_object())
            {
                return fail("response_format.json_schema.schema", "must be an object");
            }
            Ok(())
        }
        other => fail("response_format.type", format!("unknown type {other:?}")),
    }
}
