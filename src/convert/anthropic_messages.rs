//! Anthropic `system` + `messages` → OpenAI `messages`.
//!
//! Consecutive same-role turns are merged first (as the Anthropic API does). Each
//! `tool_result` becomes one `tool` message placed right after the assistant's tool calls;
//! images found in tool results, and the rest of the user turn, follow in one user
//! message. In-message `system` turns become system messages in place (held back while
//! tool results are still owed, since OpenAI wants those right after the tool calls).
//! Thinking blocks are dropped: OpenAI upstreams cannot verify Anthropic signatures.
//! Only OpenAI reasoning that an earlier answer carried in a thinking block (tagged,
//! see `responses::common`) is kept, as `thinking_blocks`, when the caller asks for it.

use serde_json::{Value, json};

use super::ConvertError;
use super::common::{THINKING_BLOCKS_FIELD, arguments_string, shorten_tool_name};
use super::responses::common::is_openai_tagged;

pub(super) fn convert_messages(
    system: Option<&Value>,
    messages: &[Value],
    keep_reasoning: bool,
) -> Result<Vec<Value>, ConvertError> {
    let mut out = Vec::with_capacity(messages.len() + 1);
    if let Some(text) = system.map(system_text).filter(|t| !t.is_empty()) {
        out.push(json!({"role": "system", "content": text}));
    }
    let turns = merge_turns(messages)?;
    let mut deferred_system: Vec<Value> = Vec::new();
    for (i, (role, blocks)) in turns.iter().enumerate() {
        let owes_results = out
            .last()
            .is_some_and(|m: &Value| m.get("tool_calls").is_some());
        match *role {
            "system" => {
                let text = system_text(&Value::Array(blocks.clone()));
                let msg = json!({"role": "system", "content": text});
                if owes_results {
                    deferred_system.push(msg);
                } else {
                    out.push(msg);
                }
            }
            "user" => {
                user_turn(blocks, i, &mut out, &mut deferred_system)?;
            }
            _ => {
                out.append(&mut deferred_system);
                if let Some(msg) = assistant_turn(blocks, keep_reasoning) {
                    out.push(msg);
                }
            }
        }
    }
    out.append(&mut deferred_system);
    Ok(out)
}

/// Text of a `system` value: a string, or text blocks joined by blank lines.
pub(super) fn system_text(system: &Value) -> String {
    match system {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n"),
        _ => String::new(),
    }
}

type Turn = (&'static str, Vec<Value>);

fn merge_turns(messages: &[Value]) -> Result<Vec<Turn>, ConvertError> {
    let mut turns: Vec<Turn> = Vec::with_capacity(messages.len());
    for (i, msg) in messages.iter().enumerate() {
        let role = match msg.get("role").and_then(Value::as_str) {
            Some("user") => "user",
            Some("assistant") => "assistant",
            Some("system") => "system",
            other => {
                return Err(ConvertError::Invalid(format!(
                    "messages[{i}]: unknown role {other:?}"
                )));
            }
        };
        let blocks = match msg.get("content") {
            Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
            Some(Value::Array(a)) => a.clone(),
            _ => {
                return Err(ConvertError::Invalid(format!(
                    "messages[{i}]: `content` must be a string or an array of blocks"
                )));
            }
        };
        match turns.last_mut() {
            Some((r, existing)) if *r == role && role != "system" => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    Ok(turns)
}

fn user_turn(
    blocks: &[Value],
    i: usize,
    out: &mut Vec<Value>,
    deferred_system: &mut Vec<Value>,
) -> Result<(), ConvertError> {
    let mut parts = Vec::new();
    let mut result_images = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str).unwrap_or("") {
            "tool_result" => out.push(tool_message(block, &mut result_images)),
            _ => {
                if let Some(part) = block_part(block, i)? {
                    parts.push(part);
                }
            }
        }
    }
    out.append(deferred_system);
    result_images.extend(parts);
    let parts = result_images;
    if parts.is_empty() {
        return Ok(());
    }
    let content = match parts.as_slice() {
        [only] if only["type"] == "text" => only["text"].clone(),
        _ => Value::Array(parts),
    };
    out.push(json!({"role": "user", "content": content}));
    Ok(())
}

fn tool_message(block: &Value, images: &mut Vec<Value>) -> Value {
    let id = block
        .get("tool_use_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut texts: Vec<String> = Vec::new();
    let mut had_image = false;
    match block.get("content") {
        Some(Value::String(s)) => texts.push(s.clone()),
        Some(Value::Array(items)) => {
            for item in items {
                match item.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        texts.push(item["text"].as_str().unwrap_or("").to_string());
                    }
                    Some("image") => {
                        if let Some(part) = image_part(item) {
                            images.push(part);
                            had_image = true;
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    let mut text = texts.join("\n");
    if had_image {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str("(image output attached in the next message)");
    }
    if block.get("is_error").and_then(Value::as_bool) == Some(true) {
        text = if text.is_empty() {
            "Error".to_string()
        } else {
            format!("Error: {text}")
        };
    }
    json!({"role": "tool", "tool_call_id": id, "content": text})
}

fn image_part(block: &Value) -> Option<Value> {
    let source = block.get("source")?;
    let url = match source.get("type").and_then(Value::as_str)? {
        "base64" => format!(
            "data:{};base64,{}",
            source.get("media_type").and_then(Value::as_str)?,
            source.get("data").and_then(Value::as_str)?
        ),
        "url" => source.get("url").and_then(Value::as_str)?.to_string(),
        _ => return None,
    };
    Some(json!({"type": "image_url", "image_url": {"url": url}}))
}

fn block_part(block: &Value, i: usize) -> Result<Option<Value>, ConvertError> {
    match block.get("type").and_then(Value::as_str).unwrap_or("") {
        "text" => {
            let text = block.get("text").and_then(Value::as_str).unwrap_or("");
            Ok((!text.is_empty()).then(|| json!({"type": "text", "text": text})))
        }
        "image" => image_part(block).map(Some).ok_or_else(|| {
            ConvertError::Invalid(format!(
                "messages[{i}]: image block without a usable source"
            ))
        }),
        "document" => document_part(block, i).map(Some),
        // Thinking, server-tool and search blocks have no OpenAI user-side counterpart.
        _ => Ok(None),
    }
}

fn document_part(block: &Value, i: usize) -> Result<Value, ConvertError> {
    let source = block.get("source").unwrap_or(&Value::Null);
    let title = block.get("title").and_then(Value::as_str);
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let media = source
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or("application/pdf");
            let data = source.get("data").and_then(Value::as_str).unwrap_or("");
            Ok(json!({"type": "file", "file": {
                "filename": title.unwrap_or("document.pdf"),
                "file_data": format!("data:{media};base64,{data}"),
            }}))
        }
        Some("text") => {
            let data = source.get("data").and_then(Value::as_str).unwrap_or("");
            let text = match title {
                Some(t) => format!("{t}\n\n{data}"),
                None => data.to_string(),
            };
            Ok(json!({"type": "text", "text": text}))
        }
        Some("content") => {
            let text = system_text(source.get("content").unwrap_or(&Value::Null));
            Ok(json!({"type": "text", "text": text}))
        }
        _ => Err(ConvertError::Unsupported(format!(
            "messages[{i}]: only base64 and text documents can be sent to OpenAI models"
        ))),
    }
}

fn assistant_turn(blocks: &[Value], keep_reasoning: bool) -> Option<Value> {
    let mut texts: Vec<&str> = Vec::new();
    let mut calls = Vec::new();
    let mut reasoning = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str).unwrap_or("") {
            "thinking" if keep_reasoning && is_openai_tagged(block) => {
                reasoning.push(block.clone());
            }
            "text" => {
                if let Some(t) = block.get("text").and_then(Value::as_str)
                    && !t.is_empty()
                {
                    texts.push(t);
                }
            }
            "tool_use" => {
                let name = block.get("name").and_then(Value::as_str).unwrap_or("");
                calls.push(json!({
                    "id": block.get("id").and_then(Value::as_str).unwrap_or(""),
                    "type": "function",
                    "function": {
                        "name": shorten_tool_name(name),
                        "arguments": arguments_string(block.get("input").unwrap_or(&Value::Null)),
                    },
                }));
            }
            _ => {}
        }
    }
    if texts.is_empty() && calls.is_empty() {
        return None;
    }
    let content = if texts.is_empty() {
        Value::Null
    } else {
        json!(texts.join("\n\n"))
    };
    let mut msg = json!({"role": "assistant", "content": content});
    if !calls.is_empty() {
        msg["tool_calls"] = Value::Array(calls);
    }
    if !reasoning.is_empty() {
        msg[THINKING_BLOCKS_FIELD] = Value::Array(reasoning);
    }
    Some(msg)
}
