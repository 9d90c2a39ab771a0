//! The Responses API `input` rules: a non-empty string, or a non-empty array of items.
//!
//! - `message` (also without `type`: role + content): roles user/assistant/system/
//!   developer; content a non-empty string or non-empty array of parts: `input_text`,
//!   `input_image` (`image_url` http(s) or data URL, or `file_id`; `detail`
//!   low/high/auto), `input_file` (`file_data` data URL with `filename`, `file_id` or
//!   `file_url`); assistant messages take `output_text` / `refusal` parts instead;
//!   empty texts refused;
//! - `function_call` {call_id, name, arguments string}, `custom_tool_call` {call_id,
//!   name, input string}, their `*_output` items {call_id, output string or
//!   input_text/input_image/input_file parts};
//! - `reasoning` {summary: [summary_text...], encrypted_content string};
//! - each output answers a call earlier in `input` ("No tool call found for function
//!   call output with call_id ...") unless the conversation lives on the server
//!   (`previous_response_id`, `conversation`), and each call is answered ("No tool output
//!   found for function call ...");
//! - item ids carry the prefix the API issues (msg_, fc_, rs_, ctc_) and are unique;
//!   with `store: false` nothing is persisted, so a reasoning item replayed with its
//!   `id`, or an `item_reference`, is refused ("Item with id 'rs_…' not found. Items are
//!   not persisted when `store` is set to false.").

use std::collections::HashSet;

use serde_json::Value;

use super::{Res, fail, kind};

/// Item types the API accepts that the gateway never produces: checked for a type only.
const OTHER_ITEMS: &[&str] = &[
    "apply_patch_call",
    "apply_patch_call_output",
    "code_interpreter_call",
    "compaction",
    "computer_call",
    "computer_call_output",
    "file_search_call",
    "image_generation_call",
    "local_shell_call",
    "local_shell_call_output",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "mcp_list_tools",
    "shell_call",
    "shell_call_output",
    "web_search_call",
];

/// What the item checks need to know about the whole request.
struct Ctx {
    /// `store` is not false: ids may refer to persisted items.
    stored: bool,
    /// The conversation continues one on the server: calls may be there.
    server_state: bool,
}

pub(super) fn input(body: &Value) -> Res {
    let ctx = Ctx {
        stored: body.get("store") != Some(&Value::Bool(false)),
        server_state: ["previous_response_id", "conversation"]
            .iter()
            .any(|k| body.get(*k).is_some_and(|v| !v.is_null())),
    };
    match body.get("input") {
        None | Some(Value::Null) if body.get("prompt").is_some_and(|p| !p.is_null()) => Ok(()),
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        Some(Value::Array(items)) if !items.is_empty() => items_rules(items, &ctx),
        None | Some(Value::Null) => fail("input", "Missing required parameter: 'input'."),
        Some(_) => fail("input", "must be a non-empty string or a non-empty array"),
    }
}

fn items_rules(items: &[Value], ctx: &Ctx) -> Res {
    let mut ids = HashSet::new();
    // (call_id, what, index) of calls not yet answered.
    let mut calls: Vec<(String, &str, usize)> = Vec::new();
    let mut answered = HashSet::new();
    for (i, it) in items.iter().enumerate() {
        let path = format!("input[{i}]");
        if !it.is_object() {
            return fail(&path, "must be an object");
        }
        let ty = match kind(it) {
            "" if it.get("type").is_none() && it.get("role").is_some() => "message",
            t => t,
        };
        item_id(it, ty, &path, ctx, &mut ids)?;
        match ty {
            "message" => message(it, &path)?,
            "function_call" | "custom_tool_call" => {
                let call_id = non_empty(it, "call_id", &path)?;
                non_empty(it, "name", &path)?;
                let field = if ty == "function_call" {
                    "arguments"
                } else {
                    "input"
                };
                if !it.get(field).is_some_and(Value::is_string) {
                    return fail(&format!("{path}.{field}"), "must be a string");
                }
                let what = if ty == "function_call" {
                    "function call"
                } else {
                    "custom tool call"
                };
                calls.push((call_id.to_string(), what, i));
            }
            "function_call_output" | "custom_tool_call_output" => {
                let call_id = non_empty(it, "call_id", &path)?;
                tool_output(it.get("output"), &format!("{path}.output"))?;
                let call_ty = ty.trim_end_matches("_output");
                let known = items[..i]
                    .iter()
                    .any(|c| kind(c) == call_ty && c.get("call_id") == it.get("call_id"));
                if !known && !ctx.server_state {
                    let what = if ty == "function_call_output" {
                        "function call output"
                    } else {
                        "custom tool call output"
                    };
                    return fail(
                        &path,
                        format!("No tool call found for {what} with call_id {call_id}."),
                    );
                }
                answered.insert(call_id.to_string());
            }
            "reasoning" => reasoning(it, &path)?,
            "item_reference" => {
                non_empty(it, "id", &path)?;
            }
            t if OTHER_ITEMS.contains(&t) => {}
            other => {
                return fail(
                    &format!("{path}.type"),
                    format!("Invalid value: '{other}'."),
                );
            }
        }
    }
    if let Some((id, what, i)) = calls.iter().find(|(id, ..)| !answered.contains(id)) {
        return fail(
            &format!("input[{i}]"),
            format!("No tool output found for {what} {id}."),
        );
    }
    Ok(())
}

/// A non-empty string field.
fn non_empty<'a>(it: &'a Value, key: &str, path: &str) -> Result<&'a str, String> {
    match it.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => fail(&format!("{path}.{key}"), "must not be empty"),
        None | Some(Value::Null) => fail(
            &format!("{path}.{key}"),
            format!("Missing required parameter: '{path}.{key}'."),
        ),
        Some(_) => fail(&format!("{path}.{key}"), "must be a string"),
    }
}

/// Ids the API issued (right prefix), unique, and only where they can be looked up.
fn item_id(it: &Value, ty: &str, path: &str, ctx: &Ctx, ids: &mut HashSet<String>) -> Res {
    let Some(id) = it.get("id").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let Some(id) = id.as_str() else {
        return fail(&format!("{path}.id"), "must be a string");
    };
    let prefix = match ty {
        "message" => Some("msg_"),
        "function_call" => Some("fc_"),
        "reasoning" => Some("rs_"),
        "custom_tool_call" => Some("ctc_"),
        _ => None,
    };
    if let Some(p) = prefix
        && !id.starts_with(p)
    {
        return fail(
            &format!("{path}.id"),
            format!("Invalid 'id': '{id}'. Expected an ID that begins with '{p}'."),
        );
    }
    // Without `store`, only what the item carries itself can be used: a reasoning
    // item with its `encrypted_content` (what Codex replays) is fine, a bare
    // reference is not.
    let self_contained = ty == "reasoning"
        && it
            .get("encrypted_content")
            .is_some_and(|e| e.as_str().is_some_and(|s| !s.is_empty()));
    if !ctx.stored && matches!(ty, "reasoning" | "item_reference") && !self_contained {
        return fail(
            &format!("{path}.id"),
            format!(
                "Item with id '{id}' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input."
            ),
        );
    }
    if !ids.insert(id.to_string()) {
        return fail(
            &format!("{path}.id"),
            format!("Duplicate item found with id {id}."),
        );
    }
    Ok(())
}

fn message(m: &Value, path: &str) -> Res {
    let role = m.get("role").and_then(Value::as_str).unwrap_or("");
    if !matches!(role, "user" | "assistant" | "system" | "developer") {
        return fail(
            &format!("{path}.role"),
            format!(
                "Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'."
            ),
        );
    }
    if let Some(s) = m.get("status").filter(|s| !s.is_null())
        && !matches!(s.as_str(), Some("in_progress" | "completed" | "incomplete"))
    {
        return fail(
            &format!("{path}.status"),
            "must be in_progress, completed or incomplete",
        );
    }
    let cpath = format!("{path}.content");
    match m.get("content") {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        Some(Value::String(_)) => fail(&cpath, "must not be empty"),
        Some(Value::Array(parts)) if !parts.is_empty() => {
            parts.iter().enumerate().try_for_each(|(j, p)| {
                let ppath = format!("{cpath}[{j}]");
                if role == "assistant" {
                    output_part(p, &ppath)
                } else {
                    input_part(p, &ppath)
                }
            })
        }
        _ => fail(
            &cpath,
            "must be a non-empty string or a non-empty array of parts",
        ),
    }
}

fn output_part(p: &Value, path: &str) -> Res {
    match kind(p) {
        "output_text" => non_empty(p, "text", path).map(drop),
        "refusal" => non_empty(p, "refusal", path).map(drop),
        other => fail(
            &format!("{path}.type"),
            format!("Invalid value: '{other}'. Supported values are: 'output_text' and 'refusal'."),
        ),
    }
}

fn input_part(p: &Value, path: &str) -> Res {
    match kind(p) {
        "input_text" => non_empty(p, "text", path).map(drop),
        "input_image" => {
            if let Some(d) = p.get("detail").filter(|d| !d.is_null())
                && !matches!(d.as_str(), Some("low" | "high" | "auto"))
            {
                return fail(&format!("{path}.detail"), "must be low, high or auto");
            }
            match (
                p.get("image_url").and_then(Value::as_str),
                p.get("file_id").and_then(Value::as_str),
            ) {
                (Some(u), _) if is_url(u) || u.starts_with("data:image/") => Ok(()),
                (Some(_), _) => fail(
                    &format!("{path}.image_url"),
                    "must be an http(s) URL or a data:image/... URL",
                ),
                (None, Some(f)) if !f.is_empty() => Ok(()),
                _ => fail(path, "needs image_url or file_id"),
            }
        }
        "input_file" => {
            let has = |k: &str| {
                p.get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            };
            if let Some(data) = p.get("file_data").and_then(Value::as_str) {
                if !data.starts_with("data:") || !data.contains(";base64,") {
                    return fail(
                        &format!("{path}.file_data"),
                        "must be a data URL (data:<mime>;base64,...)",
                    );
                }
                if !has("filename") {
                    return fail(&format!("{path}.filename"), "required with file_data");
                }
                Ok(())
            } else if has("file_id")
                || p.get("file_url")
                    .and_then(Value::as_str)
                    .is_some_and(is_url)
            {
                Ok(())
            } else {
                fail(path, "needs file_data with filename, file_id or file_url")
            }
        }
        other => fail(
            &format!("{path}.type"),
            format!(
                "Invalid value: '{other}'. Supported values are: 'input_text', 'input_image', and 'input_file'."
            ),
        ),
    }
}

fn is_url(u: &str) -> bool {
    u.starts_with("https://") || u.starts_with("http://")
}

/// A tool output: a string, or input_text/input_image/input_file parts.
fn tool_output(out: Option<&Value>, path: &str) -> Res {
    match out {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .try_for_each(|(j, p)| input_part(p, &format!("{path}[{j}]"))),
        _ => fail(path, "must be a string or an array of input parts"),
    }
}

fn reasoning(it: &Value, path: &str) -> Res {
    let Some(summary) = it.get("summary").and_then(Value::as_array) else {
        return fail(
            &format!("{path}.summary"),
            format!("Missing required parameter: '{path}.summary'."),
        );
    };
    for (j, s) in summary.iter().enumerate() {
        if kind(s) != "summary_text" || !s.get("text").is_some_and(Value::is_string) {
            return fail(
                &format!("{path}.summary[{j}]"),
                "must be {type: summary_text, text}",
            );
        }
    }
    if let Some(content) = it.get("content").filter(|c| !c.is_null()) {
        let ok = content.as_array().is_some_and(|c| {
            c.iter()
                .all(|p| kind(p) == "reasoning_text" && p.get("text").is_some_and(Value::is_string))
        });
        if !ok {
            return fail(&format!("{path}.content"), "must be reasoning_text parts");
        }
    }
    match it.get("encrypted_content") {
        None | Some(Value::Null) | Some(Value::String(_)) => Ok(()),
        Some(_) => fail(&format!("{path}.encrypted_content"), "must be a string"),
    }
}
