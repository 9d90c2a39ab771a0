//! Non-streaming responses, both ways: Anthropic `message` ⇄ OpenAI `chat.completion`.
//!
//! The response `model` is always the model the client asked for. Anthropic thinking
//! becomes `reasoning_content`, with the signed blocks stashed in `thinking_blocks` (and
//! `reasoning_signature` for a single block) so a client echoing the message back keeps
//! multi-turn tool use with thinking valid. The JSON-mode tool becomes `content`.

use serde_json::{Value, json};

use super::ConvertError;
use super::common::{
    JSON_TOOL_NAME, REASONING_SIGNATURE_FIELD, THINKING_BLOCKS_FIELD, arguments_string,
    finish_reason_from_anthropic, now_secs, parse_arguments, restore_tool_name, sanitize_id,
    stop_reason_from_openai, usage_to_anthropic, usage_to_openai,
};

/// Anthropic Messages response → OpenAI `chat.completion`.
pub fn anthropic_to_openai_response(
    resp: &Value,
    client_model: &str,
) -> Result<Value, ConvertError> {
    let blocks = resp
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| ConvertError::Invalid("upstream response has no `content` array".into()))?;
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut thinking_blocks = Vec::new();
    let mut calls = Vec::new();
    let mut json_answer = false;
    for block in blocks {
        match block.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" if !json_answer => {
                text.push_str(block.get("text").and_then(Value::as_str).unwrap_or(""))
            }
            "thinking" => {
                reasoning.push_str(block.get("thinking").and_then(Value::as_str).unwrap_or(""));
                thinking_blocks.push(block.clone());
            }
            "redacted_thinking" => thinking_blocks.push(block.clone()),
            "tool_use" => {
                let name = block.get("name").and_then(Value::as_str).unwrap_or("");
                let input = block.get("input").unwrap_or(&Value::Null);
                if name == JSON_TOOL_NAME {
                    // The JSON answer is the whole content: any words the model put
                    // before it would make the content unparseable.
                    text = arguments_string(input);
                    json_answer = true;
                    continue;
                }
                calls.push(json!({
                    "id": block.get("id").and_then(Value::as_str).unwrap_or(""),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments_string(input)},
                }));
            }
            _ => {}
        }
    }
    let stop = resp.get("stop_reason").and_then(Value::as_str);
    let finish = if json_answer && calls.is_empty() {
        "stop"
    } else {
        finish_reason_from_anthropic(stop)
    };
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) },
        "refusal": null,
    });
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    if !thinking_blocks.is_empty() {
        message["reasoning_content"] = json!(reasoning);
        if let [only] = thinking_blocks.as_slice()
            && let Some(sig) = only.get("signature")
        {
            message[REASONING_SIGNATURE_FIELD] = sig.clone();
        }
        message[THINKING_BLOCKS_FIELD] = Value::Array(thinking_blocks);
    }
    let id = resp.get("id").and_then(Value::as_str).unwrap_or("msg");
    Ok(json!({
        "id": format!("chatcmpl-{id}"),
        "object": "chat.completion",
        "created": now_secs(),
        "model": client_model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage_to_openai(resp.get("usage").unwrap_or(&Value::Null)),
    }))
}

/// OpenAI `chat.completion` → Anthropic Messages response (first choice only).
pub fn openai_to_anthropic_response(
    resp: &Value,
    client_model: &str,
) -> Result<Value, ConvertError> {
    let choice = resp
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| ConvertError::Invalid("upstream response has no choices".into()))?;
    let msg = choice.get("message").unwrap_or(&Value::Null);
    let mut content = Vec::new();
    let reasoning = msg
        .get("reasoning_content")
        .or_else(|| msg.get("reasoning"))
        .and_then(Value::as_str)
        .unwrap_or("");
    // Reasoning the gateway tagged with its origin (a Responses upstream's encrypted
    // reasoning) is kept whole, so the client can send it back.
    let signed: Vec<Value> = msg
        .get(THINKING_BLOCKS_FIELD)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("thinking"))
        .cloned()
        .collect();
    if !signed.is_empty() {
        content.extend(signed);
    } else if !reasoning.is_empty() {
        // OpenAI upstreams give no signature; an empty one is what we can honestly say.
        content.push(json!({"type": "thinking", "thinking": reasoning, "signature": ""}));
    }
    let text = match msg.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Array(_)) => super::common::openai_content_text(v).unwrap_or_default(),
        _ => String::new(),
    };
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    let refusal = msg.get("refusal").and_then(Value::as_str).unwrap_or("");
    if !refusal.is_empty() {
        content.push(json!({"type": "text", "text": refusal}));
    }
    let mut has_tools = false;
    let calls = msg.get("tool_calls").and_then(Value::as_array);
    let legacy = msg.get("function_call").filter(|f| f.is_object());
    let functions = calls
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c.get("id").and_then(Value::as_str).unwrap_or(""),
                c.get("function"),
            )
        })
        .chain(legacy.map(|f| ("call_fn", Some(f))));
    for (n, (id, function)) in functions.enumerate() {
        let function = function.unwrap_or(&Value::Null);
        let name = function.get("name").and_then(Value::as_str).unwrap_or("");
        let input = match function.get("arguments") {
            Some(Value::String(s)) => parse_arguments(s),
            Some(Value::Object(o)) => Value::Object(o.clone()),
            _ => json!({}),
        };
        let id = if id.is_empty() {
            format!("toolu_{n}")
        } else {
            sanitize_id(id)
        };
        content.push(
            json!({"type": "tool_use", "id": id, "name": restore_tool_name(name), "input": input}),
        );
        has_tools = true;
    }
    let finish = choice.get("finish_reason").and_then(Value::as_str);
    let stop_reason = if has_tools && finish != Some("length") {
        "tool_use"
    } else if !refusal.is_empty() {
        "refusal"
    } else {
        stop_reason_from_openai(finish)
    };
    let id = resp.get("id").and_then(Value::as_str).unwrap_or("");
    Ok(json!({
        "id": format!("msg_{}", sanitize_id(if id.is_empty() { "gateway" } else { id })),
        "type": "message",
        "role": "assistant",
        "model": client_model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": usage_to_anthropic(resp.get("usage").unwrap_or(&Value::Null)),
    }))
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
