//! Responses request → Chat Completions request: the way in for a Responses client
//! (Codex, `client.responses.create`) whose upstream speaks Chat or, one step further
//! through the Chat ⇄ Anthropic pair, Anthropic Messages.
//!
//! Input items become messages: consecutive `reasoning`, assistant `message`,
//! `function_call` and `custom_tool_call` items form one assistant turn; each
//! `*_call_output` a `tool` message. Freeform `custom` tools become function tools with
//! one string parameter, `input`, whose description carries the grammar; the answer's
//! calls of such a tool go back as `custom_tool_call`s (see `ResponsesCtx`).
//!
//! Reasoning items are replayed as the `thinking_blocks` extension only when
//! `keep_reasoning` is set (the next step is the Anthropic converter); a real Chat
//! upstream gets no reasoning back. On that way to Anthropic a request without
//! `max_output_tokens` gets the model's output ceiling (Anthropic requires a limit).
//!
//! Dropped knowingly: `store`, `include`, `metadata`, `truncation`, `background`,
//! `top_logprobs`, hosted `web_search` tools (and `web_search_call` history items).
//! Refused: `item_reference` items and hosted tools other than web search (the gateway
//! cannot run them), `file_id` images.

use serde_json::{Map, Value, json};

use super::common::{CUSTOM_INPUT_FIELD, NAMESPACE_SEPARATOR, all_tools, block_of_reasoning_item};
use crate::convert::common::anthropic_output_limit;
use crate::convert::{ConvertError, RequestOptions};

/// Convert a Responses request body into a Chat Completions body (`input` already
/// expanded with any `previous_response_id` history by the caller).
pub fn responses_to_chat_request(
    body: &Value,
    opts: &RequestOptions,
) -> Result<Value, ConvertError> {
    if !body.is_object() {
        return Err(ConvertError::Invalid(
            "request body must be a JSON object".into(),
        ));
    }
    let mut b = Builder {
        keep_reasoning: opts.keep_reasoning,
        ..Default::default()
    };
    if let Some(instr) = body.get("instructions") {
        match instr {
            Value::String(s) if !s.trim().is_empty() => {
                b.messages.push(json!({"role": "system", "content": s}))
            }
            Value::Null | Value::String(_) => {}
            _ => {
                return Err(ConvertError::Invalid(
                    "`instructions` must be a string".into(),
                ));
            }
        }
    }
    match body.get("input") {
        Some(Value::String(s)) => b.messages.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                b.item(item, i)?;
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(ConvertError::Invalid(
                "`input` must be a string or an array of items".into(),
            ));
        }
    }
    b.flush();
    if !b
        .messages
        .iter()
        .any(|m| m.get("role").and_then(Value::as_str) != Some("system"))
    {
        return Err(ConvertError::Invalid(
            "`input` needs at least one message".into(),
        ));
    }

    let mut out = Map::new();
    out.insert("model".into(), json!(opts.upstream_model));
    out.insert("messages".into(), Value::Array(b.messages));
    let tools = tools(body)?;
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = tool_choice(body.get("tool_choice")) {
            out.insert("tool_choice".into(), choice);
        }
        if let Some(p) = body.get("parallel_tool_calls").filter(|v| v.is_boolean()) {
            out.insert("parallel_tool_calls".into(), p.clone());
        }
    }
    if let Some(effort) = body
        .pointer("/reasoning/effort")
        .and_then(Value::as_str)
        .filter(|e| *e != "none")
    {
        out.insert("reasoning_effort".into(), json!(effort));
    }
    if let Some(format) = body.pointer("/text/format")
        && let Some(rf) = response_format(format)?
    {
        out.insert("response_format".into(), rf);
    }
    if let Some(v) = body.pointer("/text/verbosity").filter(|v| v.is_string()) {
        out.insert("verbosity".into(), v.clone());
    }
    match body.get("max_output_tokens") {
        // Codex names no limit; on its way to Anthropic (which needs one) the
        // model's own ceiling stands in, not the gateway's small default.
        None | Some(Value::Null) if opts.keep_reasoning => {
            out.insert(
                "max_completion_tokens".into(),
                json!(anthropic_output_limit(&opts.upstream_model)),
            );
        }
        None | Some(Value::Null) => {}
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => {
                out.insert("max_completion_tokens".into(), json!(n));
            }
            _ => {
                return Err(ConvertError::Invalid(
                    "`max_output_tokens` must be a positive integer".into(),
                ));
            }
        },
    }
    for key in ["temperature", "top_p", "prompt_cache_key", "service_tier"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(user) = body
        .get("safety_identifier")
        .or_else(|| body.get("user"))
        .filter(|v| v.is_string())
    {
        out.insert("user".into(), user.clone());
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(out))
}

/// Builds Chat messages from input items, gathering an assistant turn until something
/// that is not part of it arrives.
#[derive(Default)]
struct Builder {
    messages: Vec<Value>,
    keep_reasoning: bool,
    text: Vec<String>,
    calls: Vec<Value>,
    thinking: Vec<Value>,
}

impl Builder {
    fn flush(&mut self) {
        if self.text.is_empty() && self.calls.is_empty() {
            // Reasoning alone is not a turn (an answer that was cut short): dropped.
            self.thinking.clear();
            return;
        }
        let content = if self.text.is_empty() {
            Value::Null
        } else {
            json!(self.text.join("\n\n"))
        };
        let mut msg = json!({"role": "assistant", "content": content});
        if !self.calls.is_empty() {
            msg["tool_calls"] = Value::Array(std::mem::take(&mut self.calls));
        }
        if self.keep_reasoning && !self.thinking.is_empty() {
            msg["thinking_blocks"] = Value::Array(std::mem::take(&mut self.thinking));
        }
        self.thinking.clear();
        self.text.clear();
        self.messages.push(msg);
    }

    fn item(&mut self, item: &Value, i: usize) -> Result<(), ConvertError> {
        let kind = match item.get("type").and_then(Value::as_str) {
            Some(k) => k,
            None if item.get("role").is_some() => "message",
            None => return Err(invalid(i, "an input item needs a `type`")),
        };
        match kind {
            "message" => self.message(item, i),
            "reasoning" => {
                if !self.text.is_empty() || !self.calls.is_empty() {
                    self.flush();
                }
                if let Some(block) = block_of_reasoning_item(item) {
                    self.thinking.push(block);
                }
                Ok(())
            }
            "function_call" => {
                let call_id = str_field(item, "call_id", i)?;
                let name = flat_name(item.get("namespace"), str_field(item, "name", i)?);
                let args = item.get("arguments").and_then(Value::as_str).unwrap_or("");
                self.calls.push(json!({"id": call_id, "type": "function",
                    "function": {"name": name, "arguments": args}}));
                Ok(())
            }
            "custom_tool_call" => {
                let call_id = str_field(item, "call_id", i)?;
                let name = str_field(item, "name", i)?;
                let input = item.get("input").and_then(Value::as_str).unwrap_or("");
                let args = json!({ CUSTOM_INPUT_FIELD: input }).to_string();
                self.calls.push(json!({"id": call_id, "type": "function",
                    "function": {"name": name, "arguments": args}}));
                Ok(())
            }
            "function_call_output" | "custom_tool_call_output" => {
                self.flush();
                let call_id = str_field(item, "call_id", i)?;
                let (text, images) = output_parts(item.get("output").unwrap_or(&Value::Null), i)?;
                self.messages
                    .push(json!({"role": "tool", "tool_call_id": call_id, "content": text}));
                if !images.is_empty() {
                    self.messages
                        .push(json!({"role": "user", "content": Value::Array(images)}));
                }
                Ok(())
            }
            // What a hosted search did is no input for another model.
            "web_search_call" => Ok(()),
            // Tools offered in the middle of a conversation: read with the request's
            // own `tools` (see `tools`), nothing to say here.
            "additional_tools" => Ok(()),
            other => Err(ConvertError::Unsupported(format!(
                "input[{i}]: items of type {other:?} cannot be sent to this upstream (only \
                 messages, reasoning, function and custom tool calls and their outputs convert)"
            ))),
        }
    }

    fn message(&mut self, item: &Value, i: usize) -> Result<(), ConvertError> {
        let role = item
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(i, "a message needs a `role`"))?;
        let content = item.get("content").unwrap_or(&Value::Null);
        match role {
            "assistant" => {
                if !self.calls.is_empty() {
                    self.flush();
                }
                let text = assistant_text(content);
                if !text.is_empty() {
                    self.text.push(text);
                }
                Ok(())
            }
            "user" | "system" | "developer" => {
                self.flush();
                let content = if role == "user" {
                    user_content(content, i)?
                } else {
                    json!(assistant_text(content))
                };
                self.messages
                    .push(json!({"role": role, "content": content}));
                Ok(())
            }
            other => Err(invalid(i, &format!("unknown role {other:?}"))),
        }
    }
}

fn invalid(i: usize, what: &str) -> ConvertError {
    ConvertError::Invalid(format!("input[{i}]: {what}"))
}

fn str_field<'a>(item: &'a Value, key: &str, i: usize) -> Result<&'a str, ConvertError> {
    item.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(i, &format!("`{key}` must be a string")))
}

/// The text of a message's content (string or text/output_text/refusal parts).
fn assistant_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").or_else(|| p.get("refusal")))
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// A user message's content as Chat parts.
fn user_content(content: &Value, i: usize) -> Result<Value, ConvertError> {
    let parts = match content {
        Value::String(s) => return Ok(json!(s)),
        Value::Array(parts) => parts,
        _ => {
            return Err(invalid(
                i,
                "`content` must be a string or an array of parts",
            ));
        }
    };
    let mut out = Vec::new();
    for p in parts {
        if let Some(part) = input_part(p, i)? {
            out.push(part);
        }
    }
    Ok(Value::Array(out))
}

/// One input part (`input_text`, `input_image`, `input_file`) as a Chat part.
fn input_part(p: &Value, i: usize) -> Result<Option<Value>, ConvertError> {
    match p.get("type").and_then(Value::as_str).unwrap_or("") {
        "input_text" | "output_text" | "text" => Ok(p
            .get("text")
            .and_then(Value::as_str)
            .map(|t| json!({"type": "text", "text": t}))),
        "input_image" => {
            let url = p.get("image_url").and_then(Value::as_str).ok_or_else(|| {
                ConvertError::Unsupported(format!(
                    "input[{i}]: images by `file_id` cannot be sent to this upstream; send \
                     the image as a data URL or an https URL"
                ))
            })?;
            let mut image = json!({"url": url});
            if let Some(d) = p.get("detail").and_then(Value::as_str) {
                image["detail"] = json!(d);
            }
            Ok(Some(json!({"type": "image_url", "image_url": image})))
        }
        "input_file" => {
            let mut file = Map::new();
            for k in ["file_data", "file_id", "filename"] {
                if let Some(v) = p.get(k).filter(|v| v.is_string()) {
                    file.insert(k.into(), v.clone());
                }
            }
            if !file.contains_key("file_data") && !file.contains_key("file_id") {
                return Err(ConvertError::Unsupported(format!(
                    "input[{i}]: files must be sent inline as `file_data`"
                )));
            }
            Ok(Some(json!({"type": "file", "file": file})))
        }
        other => Err(invalid(i, &format!("unknown content part type {other:?}"))),
    }
}

/// A tool output (string or parts) as the tool message's text, plus images (which a
/// Chat tool message cannot hold; they follow as a user message).
fn output_parts(output: &Value, i: usize) -> Result<(String, Vec<Value>), ConvertError> {
    match output {
        Value::String(s) => Ok((s.clone(), Vec::new())),
        Value::Array(parts) => {
            let mut text = Vec::new();
            let mut images = Vec::new();
            for p in parts {
                match input_part(p, i)? {
                    Some(part) if part.get("type") == Some(&json!("text")) => {
                        if let Some(t) = part.get("text").and_then(Value::as_str) {
                            text.push(t.to_string());
                        }
                    }
                    Some(part) => images.push(part),
                    None => {}
                }
            }
            Ok((text.join("\n"), images))
        }
        Value::Null => Ok((String::new(), Vec::new())),
        other => Ok((other.to_string(), Vec::new())),
    }
}

/// Function and custom tools as Chat functions (hosted web search dropped): the
/// request's `tools`, then those of any `additional_tools` input item (a name offered
/// twice is kept once).
fn tools(body: &Value) -> Result<Vec<Value>, ConvertError> {
    let mut out: Vec<Value> = Vec::new();
    for t in all_tools(body) {
        let name = t.get("name").and_then(Value::as_str).unwrap_or("");
        if !name.is_empty()
            && out
                .iter()
                .any(|o| o.pointer("/function/name").and_then(Value::as_str) == Some(name))
        {
            continue;
        }
        let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
        let name = t.get("name").and_then(Value::as_str).unwrap_or("");
        match kind {
            "function" => out.push(function_tool(t)),
            "custom" => out.push(custom_tool(t, name)),
            // Codex's namespaces: their functions, flat, as `<namespace>__<name>`.
            "namespace" => {
                for inner in t
                    .get("tools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let inner_name = inner.get("name").and_then(Value::as_str).unwrap_or("");
                    let mut f = inner.clone();
                    f["name"] = json!(flat_name(Some(&json!(name)), inner_name));
                    out.push(function_tool(&f));
                }
            }
            // Tools the client runs itself to find more tools: nothing to offer a model
            // that cannot call back into that search.
            "tool_search" => {}
            "web_search" | "web_search_preview" | "web_search_preview_2025_03_11" => {}
            other => {
                return Err(ConvertError::Unsupported(format!(
                    "tools: hosted tools of type {other:?} cannot run on this upstream; only \
                     function and custom tools convert"
                )));
            }
        }
    }
    Ok(out)
}

/// A Responses function tool as a Chat function.
fn function_tool(t: &Value) -> Value {
    let mut f = Map::new();
    f.insert(
        "name".into(),
        json!(t.get("name").and_then(Value::as_str).unwrap_or("")),
    );
    if let Some(d) = t.get("description").filter(|d| d.is_string()) {
        f.insert("description".into(), d.clone());
    }
    let params = t
        .get("parameters")
        .filter(|p| p.is_object())
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    f.insert("parameters".into(), params);
    if let Some(s) = t.get("strict").filter(|s| s.is_boolean()) {
        f.insert("strict".into(), s.clone());
    }
    json!({"type": "function", "function": f})
}

/// A function's name as other APIs see it: `<namespace>__<name>` inside a namespace.
fn flat_name(namespace: Option<&Value>, name: &str) -> String {
    match namespace.and_then(Value::as_str).filter(|n| !n.is_empty()) {
        Some(ns) => format!("{ns}{NAMESPACE_SEPARATOR}{name}"),
        None => name.to_string(),
    }
}

/// A freeform tool as a function of one string, `input`, with its grammar described.
fn custom_tool(t: &Value, name: &str) -> Value {
    let desc = t.get("description").and_then(Value::as_str).unwrap_or("");
    let format = t.get("format");
    let field_desc = match (
        format.and_then(|f| f.get("type")).and_then(Value::as_str),
        format
            .and_then(|f| f.get("definition"))
            .and_then(Value::as_str),
    ) {
        (Some("grammar"), Some(def)) => {
            let syntax = format
                .and_then(|f| f.get("syntax"))
                .and_then(Value::as_str)
                .unwrap_or("lark");
            format!(
                "The raw input, exactly as the tool takes it (not JSON-encoded inside). It must \
                 match this {syntax} grammar:\n{def}"
            )
        }
        _ => "The raw input, exactly as the tool takes it, as free text.".to_string(),
    };
    json!({"type": "function", "function": {
        "name": name,
        "description": desc,
        "parameters": {
            "type": "object",
            "properties": {CUSTOM_INPUT_FIELD: {"type": "string", "description": field_desc}},
            "required": [CUSTOM_INPUT_FIELD],
            "additionalProperties": false,
        },
    }})
}

fn tool_choice(choice: Option<&Value>) -> Option<Value> {
    match choice? {
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => Some(json!(s)),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("function" | "custom") => {
                let name = o.get("name").and_then(Value::as_str)?;
                Some(json!({"type": "function", "function": {"name": name}}))
            }
            Some("allowed_tools") => match o.get("mode").and_then(Value::as_str) {
                Some("required") => Some(json!("required")),
                _ => Some(json!("auto")),
            },
            _ => None,
        },
        _ => None,
    }
}

/// `text.format` → `response_format`.
fn response_format(format: &Value) -> Result<Option<Value>, ConvertError> {
    match format.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let mut js = Map::new();
            js.insert(
                "name".into(),
                format
                    .get("name")
                    .cloned()
                    .unwrap_or_else(|| json!("response")),
            );
            for k in ["schema", "strict", "description"] {
                if let Some(v) = format.get(k).filter(|v| !v.is_null()) {
                    js.insert(k.into(), v.clone());
                }
            }
            if !js.contains_key("schema") {
                return Err(ConvertError::Invalid(
                    "text.format: a json_schema format needs a `schema`".into(),
                ));
            }
            Ok(Some(json!({"type": "json_schema", "json_schema": js})))
        }
        Some(other) => Err(ConvertError::Invalid(format!(
            "text.format: unknown type {other:?}"
        ))),
    }
}
