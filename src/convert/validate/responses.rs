//! The OpenAI Responses API (`POST /v1/responses`) request rules, top level (tools are
//! checked in `responses_tools.rs`, the `input` items in `responses_input.rs`):
//!
//! - only the Responses parameters are known: Chat Completions ones (`messages`,
//!   `max_tokens`, `stop`, `n`, `response_format`, `reasoning_effort`...) are refused as
//!   the real API refuses them: "Unknown parameter: 'stop'.";
//! - `model` a non-empty string; `input` a non-empty string or array of items;
//! - `max_output_tokens` ≥ 16; `temperature` 0..=2; `top_p` 0..=1; `top_logprobs`
//!   0..=20; `stream`, `store`, `background`, `parallel_tool_calls` booleans;
//!   `stream_options` only `{include_obfuscation}` and only with `stream: true`;
//! - `reasoning.effort` none/minimal/low/medium/high/xhigh, `reasoning.summary`
//!   auto/concise/detailed; `text.format` text/json_object/json_schema (named
//!   `^[a-zA-Z0-9_-]{1,64}$`, object schema), `text.verbosity` low/medium/high;
//! - `include` from the documented list; `metadata` ≤ 16 string pairs (keys ≤ 64,
//!   values ≤ 512 chars); `previous_response_id` starts with `resp_` and excludes
//!   `conversation`;
//! - `tools` and `tool_choice`: see `responses_tools.rs`; `input`: see
//!   `responses_input.rs`.

use serde_json::Value;

use super::responses_tools::{strict_schema, tool_choice, tools};
use super::{Res, fail, integer_at_least, is_name, kind, number_in, responses_input};

/// Every top-level parameter `POST /v1/responses` knows.
const KNOWN: &[&str] = &[
    "background",
    "conversation",
    "include",
    "input",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "model",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt",
    "prompt_cache_key",
    "prompt_cache_retention",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
];

/// The documented `include` values.
const INCLUDABLE: &[&str] = &[
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "reasoning.encrypted_content",
    "web_search_call.action.sources",
    "web_search_call.results",
];

/// Check an OpenAI Responses API request body; see the module docs for the rules.
pub fn validate_responses_request(body: &Value) -> Res {
    let Some(obj) = body.as_object() else {
        return fail("body", "must be a JSON object");
    };
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return fail(k, format!("Unknown parameter: '{k}'."));
    }
    if body
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return fail("model", "required non-empty string");
    }
    integer_at_least(body, "max_output_tokens", 16)?;
    integer_at_least(body, "max_tool_calls", 1)?;
    number_in(body, "temperature", 0.0, 2.0)?;
    number_in(body, "top_p", 0.0, 1.0)?;
    number_in(body, "top_logprobs", 0.0, 20.0)?;
    for key in ["stream", "store", "background", "parallel_tool_calls"] {
        if body
            .get(key)
            .is_some_and(|v| !v.is_null() && !v.is_boolean())
        {
            return fail(key, "must be a boolean");
        }
    }
    for key in [
        "instructions",
        "prompt_cache_key",
        "safety_identifier",
        "user",
    ] {
        if body
            .get(key)
            .is_some_and(|v| !v.is_null() && !v.is_string())
        {
            return fail(key, "must be a string");
        }
    }
    one_of(body, "truncation", &["auto", "disabled"])?;
    one_of(
        body,
        "service_tier",
        &["auto", "default", "flex", "scale", "priority"],
    )?;
    one_of(body, "prompt_cache_retention", &["in-memory", "24h"])?;
    stream_options(body)?;
    reasoning(body)?;
    text(body)?;
    include(body)?;
    metadata(body)?;
    conversation(body)?;
    let names = tools(body)?;
    tool_choice(body, &names)?;
    responses_input::input(body)
}

pub(super) fn opt<'a>(body: &'a Value, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

/// An optional string among `allowed`.
fn one_of(body: &Value, path: &str, allowed: &[&str]) -> Res {
    let key = path.rsplit('.').next().unwrap_or(path);
    match opt(body, key) {
        None => Ok(()),
        Some(v) if v.as_str().is_some_and(|s| allowed.contains(&s)) => Ok(()),
        Some(v) => fail(
            path,
            format!(
                "Invalid value: {v}. Supported values are: {}.",
                allowed.join(", ")
            ),
        ),
    }
}

fn stream_options(body: &Value) -> Res {
    let Some(o) = opt(body, "stream_options") else {
        return Ok(());
    };
    let Some(o) = o.as_object() else {
        return fail("stream_options", "must be an object");
    };
    if let Some(k) = o.keys().find(|k| *k != "include_obfuscation") {
        return fail(
            &format!("stream_options.{k}"),
            format!("Unknown parameter: 'stream_options.{k}'."),
        );
    }
    if body.get("stream") != Some(&Value::Bool(true)) {
        return fail("stream_options", "only allowed when stream is true");
    }
    Ok(())
}

fn reasoning(body: &Value) -> Res {
    let Some(r) = opt(body, "reasoning") else {
        return Ok(());
    };
    if !r.is_object() {
        return fail("reasoning", "must be an object");
    }
    one_of(
        r,
        "reasoning.effort",
        &["none", "minimal", "low", "medium", "high", "xhigh"],
    )?;
    one_of(r, "reasoning.summary", &["auto", "concise", "detailed"])?;
    one_of(
        r,
        "reasoning.generate_summary",
        &["auto", "concise", "detailed"],
    )
}

fn text(body: &Value) -> Res {
    let Some(t) = opt(body, "text") else {
        return Ok(());
    };
    if !t.is_object() {
        return fail("text", "must be an object");
    }
    one_of(t, "text.verbosity", &["low", "medium", "high"])?;
    let Some(f) = opt(t, "format") else {
        return Ok(());
    };
    match kind(f) {
        "text" | "json_object" => Ok(()),
        "json_schema" => {
            if !f
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| is_name(n, 64))
            {
                return fail("text.format.name", "must match ^[a-zA-Z0-9_-]{1,64}$");
            }
            let Some(schema) = f.get("schema").filter(|s| s.is_object()) else {
                return fail("text.format.schema", "required object");
            };
            if f.get("strict") == Some(&Value::Bool(true)) {
                strict_schema(schema, "text.format.schema")?;
            }
            Ok(())
        }
        other => fail(
            "text.format.type",
            format!(
                "Invalid value: '{other}'. Supported values are: 'text', 'json_object' and 'json_schema'."
            ),
        ),
    }
}

fn include(body: &Value) -> Res {
    let Some(inc) = opt(body, "include") else {
        return Ok(());
    };
    let Some(inc) = inc.as_array() else {
        return fail("include", "must be an array");
    };
    for (i, v) in inc.iter().enumerate() {
        if !v.as_str().is_some_and(|s| INCLUDABLE.contains(&s)) {
            return fail(
                &format!("include[{i}]"),
                format!(
                    "Invalid value: {v}. Supported values are: {}.",
                    INCLUDABLE.join(", ")
                ),
            );
        }
    }
    Ok(())
}

fn metadata(body: &Value) -> Res {
    let Some(m) = opt(body, "metadata") else {
        return Ok(());
    };
    let Some(m) = m.as_object() else {
        return fail("metadata", "must be an object");
    };
    if m.len() > 16 {
        return fail("metadata", "at most 16 key-value pairs");
    }
    for (k, v) in m {
        if k.chars().count() > 64 {
            return fail(&format!("metadata.{k}"), "keys are at most 64 characters");
        }
        if v.as_str().is_none_or(|s| s.chars().count() > 512) {
            return fail(
                &format!("metadata.{k}"),
                "values are strings of at most 512 characters",
            );
        }
    }
    Ok(())
}

fn conversation(body: &Value) -> Res {
    if let Some(p) = opt(body, "previous_response_id")
        && !p.as_str().is_some_and(|s| s.starts_with("resp_"))
    {
        return fail(
            "previous_response_id",
            format!(
                "Invalid 'previous_response_id': {p}. Expected an ID that begins with 'resp_'."
            ),
        );
    }
    if opt(body, "previous_response_id").is_some() && opt(body, "conversation").is_some() {
        return fail(
            "previous_response_id",
            "Mutually exclusive parameters: 'previous_response_id' and 'conversation'.",
        );
    }
    Ok(())
}
