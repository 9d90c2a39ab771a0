//! Complete (non-streaming) answers between Chat Completions and Responses, both ways.

use serde_json::{Map, Value, json};

use super::common::{
    ResponsesCtx, block_of_reasoning_item, custom_input_of_arguments, item_id, reasoning_item,
    reasoning_item_of_block, reasoning_text, usage_from_chat, usage_to_chat,
};
use crate::convert::ConvertError;
use crate::convert::common::{THINKING_BLOCKS_FIELD, now_secs, restore_tool_name};

/// A Chat completion → a Responses `response` object for the request in `ctx`.
pub fn chat_to_responses_response(v: &Value, ctx: &ResponsesCtx) -> Result<Value, ConvertError> {
    let choice = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| ConvertError::Invalid("the completion has no choices".into()))?;
    let msg = choice.get("message").unwrap_or(&Value::Null);
    let mut output = Vec::new();
    // Reasoning first: signed blocks when there are any, else the plain text.
    let blocks = msg
        .get(THINKING_BLOCKS_FIELD)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let items: Vec<Value> = blocks.iter().filter_map(reasoning_item_of_block).collect();
    if !items.is_empty() {
        output.extend(items);
    } else if let Some(r) = msg
        .get("reasoning_content")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        output.push(reasoning_item(&item_id("rs"), r, ""));
    }
    let text = msg.get("content").and_then(Value::as_str).unwrap_or("");
    let refusal = msg.get("refusal").and_then(Value::as_str).unwrap_or("");
    if !text.is_empty() || !refusal.is_empty() {
        let part = if text.is_empty() {
            json!({"type": "refusal", "refusal": refusal})
        } else {
            json!({"type": "output_text", "text": text, "annotations": []})
        };
        output.push(
            json!({"id": item_id("msg"), "type": "message", "status": "completed",
            "role": "assistant", "content": [part]}),
        );
    }
    for call in msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = call.get("function").unwrap_or(&Value::Null);
        let name = restore_tool_name(f.get("name").and_then(Value::as_str).unwrap_or(""));
        let call_id = call.get("id").and_then(Value::as_str).unwrap_or("");
        let args = f
            .get("arguments")
            .and_then(Value::as_str)
            .filter(|a| !a.trim().is_empty())
            .unwrap_or("{}");
        output.push(call_item(ctx, call_id, &name, args));
    }
    let usage = v
        .get("usage")
        .map(usage_from_chat)
        .unwrap_or_else(|| usage_from_chat(&json!({})));
    let finish = choice.get("finish_reason").and_then(Value::as_str);
    let mut r = ctx.response(status_of(finish), output, Some(usage));
    if let Some(reason) = incomplete_reason(finish) {
        r["incomplete_details"] = json!({"reason": reason});
    }
    Ok(r)
}

/// A finished tool call as the item a Responses client expects: `custom_tool_call`
/// for the request's freeform tools, `function_call` for the rest.
pub fn call_item(ctx: &ResponsesCtx, call_id: &str, name: &str, args: &str) -> Value {
    if ctx.is_custom(name) {
        json!({"id": item_id("ctc"), "type": "custom_tool_call", "status": "completed",
            "call_id": call_id, "name": name, "input": custom_input_of_arguments(args)})
    } else {
        let mut item = json!({"id": item_id("fc"), "type": "function_call",
            "status": "completed", "call_id": call_id, "name": name, "arguments": args});
        if let Some((ns, inner)) = ctx.split_namespace(name) {
            item["namespace"] = json!(ns);
            item["name"] = json!(inner);
        }
        item
    }
}

/// The `status` of a response that finished for `finish_reason`.
pub fn status_of(finish: Option<&str>) -> &'static str {
    if incomplete_reason(finish).is_some() {
        "incomplete"
    } else {
        "completed"
    }
}

/// `incomplete_details.reason` for a Chat `finish_reason`, when it cut the answer.
pub fn incomplete_reason(finish: Option<&str>) -> Option<&'static str> {
    match finish {
        Some("length") => Some("max_output_tokens"),
        Some("content_filter") => Some("content_filter"),
        _ => None,
    }
}

/// A Responses `response` object → a Chat completion for `client_model`.
pub fn responses_to_chat_response(v: &Value, client_model: &str) -> Result<Value, ConvertError> {
    let output = v
        .get("output")
        .and_then(Value::as_array)
        .ok_or_else(|| ConvertError::Invalid("the response has no `output`".into()))?;
    let mut text = String::new();
    let mut refusal = String::new();
    let mut reasoning = Vec::new();
    let mut blocks = Vec::new();
    let mut calls = Vec::new();
    for item in output {
        match item.get("type").and_then(Value::as_str).unwrap_or("") {
            "message" => {
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(t) = part.get("text").and_then(Value::as_str) {
                        text.push_str(t);
                    } else if let Some(r) = part.get("refusal").and_then(Value::as_str) {
                        refusal.push_str(r);
                    }
                }
            }
            "reasoning" => {
                let t = reasoning_text(item);
                if !t.is_empty() {
                    reasoning.push(t);
                }
                if let Some(b) = block_of_reasoning_item(item) {
                    blocks.push(b);
                }
            }
            "function_call" => calls.push(json!({
                "id": item.get("call_id").and_then(Value::as_str).unwrap_or(""),
                "type": "function",
                "function": {
                    "name": item.get("name").and_then(Value::as_str).unwrap_or(""),
                    "arguments": item.get("arguments").and_then(Value::as_str).unwrap_or("{}"),
                },
            })),
            "custom_tool_call" => calls.push(json!({
                "id": item.get("call_id").and_then(Value::as_str).unwrap_or(""),
                "type": "function",
                "function": {
                    "name": item.get("name").and_then(Value::as_str).unwrap_or(""),
                    "arguments": json!({"input": item.get("input").and_then(Value::as_str).unwrap_or("")}).to_string(),
                },
            })),
            _ => {}
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert(
        "content".into(),
        if text.is_empty() {
            Value::Null
        } else {
            json!(text)
        },
    );
    if !refusal.is_empty() {
        message.insert("refusal".into(), json!(refusal));
    }
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), json!(reasoning.join("\n\n")));
    }
    if !blocks.is_empty() {
        message.insert(THINKING_BLOCKS_FIELD.into(), Value::Array(blocks));
    }
    let finish = if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
        "tool_calls"
    } else {
        match v
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str)
        {
            Some("max_output_tokens") => "length",
            Some("content_filter") => "content_filter",
            _ => "stop",
        }
    };
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .map(|id| format!("chatcmpl-{id}"))
        .unwrap_or_else(|| "chatcmpl-gateway".into());
    Ok(json!({
        "id": id,
        "object": "chat.completion",
        "created": v.get("created_at").and_then(Value::as_u64).unwrap_or_else(now_secs),
        "model": client_model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
        "usage": usage_to_chat(v.get("usage").unwrap_or(&Value::Null)),
    }))
}
