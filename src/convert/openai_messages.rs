//! OpenAI `messages` → Anthropic `system` blocks and `messages` turns.
//!
//! System and developer messages (wherever they are) become top-level system blocks in
//! order. Everything else becomes user/assistant turns, merging consecutive turns of one
//! role; tool (and legacy function) results become `tool_result` blocks placed before the
//! rest of their user turn. Whitespace-only text is never sent: Anthropic rejects it.

use serde_json::{Map, Value, json};

use super::ConvertError;
use super::common::{
    REASONING_SIGNATURE_FIELD, THINKING_BLOCKS_FIELD, is_blank, parse_arguments, parse_data_url,
    sanitize_id,
};
use super::responses::common::OPENAI_REASONING_TAG;

/// The converted conversation.
pub(super) struct Converted {
    /// Top-level system text blocks (with `cache_control` when the client set one).
    pub system: Vec<Value>,
    /// Anthropic messages, roles alternating.
    pub messages: Vec<Value>,
    /// Tool names used by assistant turns, to declare tools the client did not send.
    pub used_tools: Vec<String>,
}

#[derive(Default)]
struct Builder {
    system: Vec<Value>,
    turns: Vec<(&'static str, Vec<Value>)>,
    used_tools: Vec<String>,
    /// id of the last legacy `function_call`, answered by the next `function` message.
    pending_function_id: Option<String>,
    /// Tool-use ids already given out: Anthropic wants each unique in a conversation,
    /// while some OpenAI-compatible models reuse `call_0` on every turn.
    ids_used: std::collections::HashSet<String>,
    /// The client's tool-call id → the id it was given, for the tool results after it.
    id_map: std::collections::HashMap<String, String>,
}

impl Builder {
    /// A unique Anthropic id for a tool call of the current assistant turn.
    fn tool_use_id(&mut self, client_id: &str) -> String {
        let base = sanitize_id(client_id);
        let mut id = base.clone();
        let mut n = 2;
        while self.ids_used.contains(&id) {
            id = format!("{base}_{n}");
            n += 1;
        }
        self.ids_used.insert(id.clone());
        self.id_map.insert(client_id.to_string(), id.clone());
        id
    }

    /// The id a tool result refers to: the one its call was given.
    fn tool_result_id(&self, client_id: &str) -> String {
        self.id_map
            .get(client_id)
            .cloned()
            .unwrap_or_else(|| sanitize_id(client_id))
    }
}

impl Builder {
    fn push(&mut self, role: &'static str, blocks: Vec<Value>) {
        if blocks.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some((r, existing)) if *r == role => existing.extend(blocks),
            _ => self.turns.push((role, blocks)),
        }
    }
}

pub(super) fn convert_messages(messages: &[Value]) -> Result<Converted, ConvertError> {
    let mut b = Builder::default();
    for (i, msg) in messages.iter().enumerate() {
        let role = msg.get("role").and_then(Value::as_str).unwrap_or("");
        let content = msg.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => {
                let blocks = content_blocks(content, i)?;
                b.system.extend(
                    blocks
                        .into_iter()
                        .filter(|bl| bl.get("type").and_then(Value::as_str) == Some("text")),
                );
            }
            "user" => {
                let blocks = content_blocks(content, i)?;
                b.push("user", blocks);
            }
            "assistant" => {
                let blocks = assistant_blocks(msg, i, &mut b)?;
                b.push("assistant", blocks);
            }
            "tool" => {
                let id = msg
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(i, "a tool message needs a string `tool_call_id`"))?;
                let id = b.tool_result_id(id);
                b.push("user", vec![tool_result(&id, content, i)?]);
            }
            "function" => {
                let id = b
                    .pending_function_id
                    .take()
                    .ok_or_else(|| invalid(i, "a function message must follow a function_call"))?;
                b.push("user", vec![tool_result(&id, content, i)?]);
            }
            other => return Err(invalid(i, &format!("unknown role {other:?}"))),
        }
    }
    let mut messages = Vec::with_capacity(b.turns.len());
    let last = b.turns.len().saturating_sub(1);
    for (n, (role, mut blocks)) in b.turns.into_iter().enumerate() {
        if role == "user" {
            // Anthropic wants tool results first in their user message.
            let (mut results, rest): (Vec<_>, Vec<_>) = blocks
                .into_iter()
                .partition(|bl| bl.get("type").and_then(Value::as_str) == Some("tool_result"));
            results.extend(rest);
            blocks = results;
        } else if n == last {
            trim_prefill(&mut blocks);
        }
        if !blocks.is_empty() {
            messages.push(json!({"role": role, "content": blocks}));
        }
    }
    Ok(Converted {
        system: b.system,
        messages,
        used_tools: b.used_tools,
    })
}

fn invalid(i: usize, what: &str) -> ConvertError {
    ConvertError::Invalid(format!("messages[{i}]: {what}"))
}

/// A final assistant turn is a prefill, which Anthropic refuses to end in whitespace.
fn trim_prefill(blocks: &mut Vec<Value>) {
    if let Some(last) = blocks.last_mut()
        && let Some(text) = last.get("text").and_then(Value::as_str)
    {
        let trimmed = text.trim_end().to_string();
        if trimmed.is_empty() {
            blocks.pop();
        } else {
            last["text"] = Value::String(trimmed);
        }
    }
}

fn text_block(text: &str, part: Option<&Value>) -> Value {
    let mut block = json!({"type": "text", "text": text});
    // Anthropic's only cache type; anything else would be refused.
    if let Some(cc) = part
        .and_then(|p| p.get("cache_control"))
        .filter(|cc| cc.get("type").and_then(Value::as_str) == Some("ephemeral"))
    {
        block["cache_control"] = cc.clone();
    }
    block
}

/// User/system `content` (string or parts) to Anthropic blocks.
fn content_blocks(content: &Value, i: usize) -> Result<Vec<Value>, ConvertError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if is_blank(s) => Ok(Vec::new()),
        Value::String(s) => Ok(vec![text_block(s, None)]),
        Value::Array(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for part in parts {
                if let Some(block) = part_block(part, i)? {
                    out.push(block);
                }
            }
            Ok(out)
        }
        _ => Err(invalid(
            i,
            "`content` must be a string or an array of parts",
        )),
    }
}

fn part_block(part: &Value, i: usize) -> Result<Option<Value>, ConvertError> {
    let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "text" | "refusal" => {
            let text = part.get(kind).and_then(Value::as_str).unwrap_or("");
            Ok((!is_blank(text)).then(|| text_block(text, Some(part))))
        }
        "image_url" => {
            let url = match part.get("image_url") {
                Some(Value::String(s)) => s.as_str(),
                Some(v) => v.get("url").and_then(Value::as_str).unwrap_or(""),
                None => "",
            };
            image_block(url, i).map(Some)
        }
        "file" => file_block(part.get("file").unwrap_or(&Value::Null), i).map(Some),
        "input_audio" => Err(ConvertError::Unsupported(format!(
            "messages[{i}]: audio input is not supported by Anthropic models"
        ))),
        other => Err(ConvertError::Unsupported(format!(
            "messages[{i}]: content part type {other:?} cannot be sent to Anthropic"
        ))),
    }
}

/// `image_url` (data URL or http(s) URL) to an Anthropic image (or PDF document) block.
pub(super) fn image_block(url: &str, i: usize) -> Result<Value, ConvertError> {
    if let Some((media, data)) = parse_data_url(url) {
        const IMAGES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];
        let kind = if media == "application/pdf" {
            "document"
        } else if IMAGES.contains(&media.as_str()) {
            "image"
        } else {
            return Err(ConvertError::Unsupported(format!(
                "messages[{i}]: image type {media} is not supported by Anthropic models \
                 (use JPEG, PNG, GIF or WebP)"
            )));
        };
        return Ok(
            json!({"type": kind, "source": {"type": "base64", "media_type": media, "data": data}}),
        );
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({"type": "image", "source": {"type": "url", "url": url}}));
    }
    Err(invalid(
        i,
        "image_url must be a base64 data URL or an http(s) URL",
    ))
}

fn file_block(file: &Value, i: usize) -> Result<Value, ConvertError> {
    let filename = file.get("filename").and_then(Value::as_str);
    let Some(data) = file.get("file_data").and_then(Value::as_str) else {
        return Err(ConvertError::Unsupported(format!(
            "messages[{i}]: uploaded files (file_id) cannot be sent to Anthropic; inline them as file_data"
        )));
    };
    let (media, data) = match parse_data_url(data) {
        Some(parts) => parts,
        None => ("application/pdf".to_string(), data.to_string()),
    };
    if media != "application/pdf" {
        return Err(ConvertError::Unsupported(format!(
            "messages[{i}]: only PDF files can be sent to Anthropic (got {media})"
        )));
    }
    let mut block = json!({"type": "document", "source": {"type": "base64", "media_type": media, "data": data}});
    if let Some(name) = filename {
        block["title"] = json!(name);
    }
    Ok(block)
}

fn tool_result(id: &str, content: &Value, i: usize) -> Result<Value, ConvertError> {
    let mut block = Map::new();
    block.insert("type".into(), json!("tool_result"));
    block.insert("tool_use_id".into(), json!(id));
    match content {
        Value::String(s) if !s.is_empty() => {
            block.insert("content".into(), json!(s));
        }
        Value::Array(_) => {
            let blocks = content_blocks(content, i)?;
            if !blocks.is_empty() {
                block.insert("content".into(), Value::Array(blocks));
            }
        }
        _ => {}
    }
    Ok(Value::Object(block))
}

/// Thinking blocks the gateway stashed on an earlier response, restored verbatim. Never
/// invents a signature: reasoning text without one is dropped.
fn restored_thinking(msg: &Value) -> Vec<Value> {
    if let Some(blocks) = msg.get(THINKING_BLOCKS_FIELD).and_then(Value::as_array) {
        let kept: Vec<Value> = blocks
            .iter()
            .filter_map(|bl| match bl.get("type").and_then(Value::as_str) {
                Some("thinking") => {
                    let thinking = bl.get("thinking").and_then(Value::as_str)?;
                    let sig = bl.get("signature").and_then(Value::as_str)?;
                    // OpenAI reasoning never goes to Anthropic.
                    (!sig.is_empty() && !sig.starts_with(OPENAI_REASONING_TAG)).then(
                        || json!({"type": "thinking", "thinking": thinking, "signature": sig}),
                    )
                }
                Some("redacted_thinking") => {
                    let data = bl.get("data").and_then(Value::as_str)?;
                    Some(json!({"type": "redacted_thinking", "data": data}))
                }
                _ => None,
            })
            .collect();
        if !kept.is_empty() {
            return kept;
        }
    }
    let text = msg.get("reasoning_content").and_then(Value::as_str);
    let sig = msg.get(REASONING_SIGNATURE_FIELD).and_then(Value::as_str);
    match (text, sig) {
        (Some(t), Some(s)) if !s.is_empty() && !s.starts_with(OPENAI_REASONING_TAG) => {
            vec![json!({"type": "thinking", "thinking": t, "signature": s})]
        }
        _ => Vec::new(),
    }
}

fn assistant_blocks(msg: &Value, i: usize, b: &mut Builder) -> Result<Vec<Value>, ConvertError> {
    let mut blocks = restored_thinking(msg);
    match msg.get("content").unwrap_or(&Value::Null) {
        Value::Null => {}
        Value::String(s) => {
            if !is_blank(s) {
                blocks.push(text_block(s, None));
            }
        }
        Value::Array(parts) => {
            for part in parts {
                if let Some(block) = part_block(part, i)? {
                    blocks.push(block);
                }
            }
        }
        _ => {
            return Err(invalid(
                i,
                "assistant `content` must be a string, parts or null",
            ));
        }
    }
    if let Some(refusal) = msg.get("refusal").and_then(Value::as_str)
        && !is_blank(refusal)
    {
        blocks.push(text_block(refusal, None));
    }
    let calls = msg.get("tool_calls").and_then(Value::as_array);
    for call in calls.into_iter().flatten() {
        if call
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("function")
            != "function"
        {
            return Err(ConvertError::Unsupported(format!(
                "messages[{i}]: only function tool calls can be sent to Anthropic"
            )));
        }
        let id = call.get("id").and_then(Value::as_str).unwrap_or("");
        let id = b.tool_use_id(id);
        let function = call.get("function").unwrap_or(&Value::Null);
        blocks.push(tool_use(&id, function, i, b)?);
    }
    if let Some(function) = msg.get("function_call").filter(|f| f.is_object()) {
        let id = sanitize_id(&format!("call_fn_{i}"));
        b.pending_function_id = Some(id.clone());
        blocks.push(tool_use(&id, function, i, b)?);
    }
    Ok(blocks)
}

fn tool_use(id: &str, function: &Value, i: usize, b: &mut Builder) -> Result<Value, ConvertError> {
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(i, "a tool call needs a function name"))?;
    let input = match function.get("arguments") {
        Some(Value::String(s)) => parse_arguments(s),
        Some(Value::Object(o)) => Value::Object(o.clone()),
        _ => json!({}),
    };
    // Anthropic tool names are `[a-zA-Z0-9_-]{1,128}`; a name from history that is not
    // gets the same cleaned spelling in the call and in its declaration.
    let name: String = if name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        name.chars()
            .take(128)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    if !b.used_tools.contains(&name) {
        b.used_tools.push(name.clone());
    }
    Ok(json!({"type": "tool_use", "id": id, "name": name, "input": input}))
}
