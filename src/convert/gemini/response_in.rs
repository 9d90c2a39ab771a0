//! Gemini `generateContent` answer → Chat Completions answer.
//!
//! The first candidate is the answer (the request asked for one). Its text parts are
//! the content; `thought: true` parts the `reasoning_content`; each `functionCall` a
//! tool call with a made-up id ([`super::call_id`], salted with the answer's
//! `responseId`), the client's function name, the arguments as JSON text and the
//! part's `thoughtSignature` under `extra_content.google`. A prompt blocked before any
//! candidate (`promptFeedback.blockReason`) is an empty answer with finish reason
//! `content_filter`. Dropped: safety ratings, citation and grounding metadata,
//! `avgLogprobs`, inline data in the answer (images a text model does not make).

use serde_json::{Map, Value, json};

use super::{
    GeminiCtx, THOUGHT_SIGNATURE_FIELD, call_id, finish_reason, random_salt, usage_to_chat,
};
use crate::convert::common::now_secs;

/// Convert a Gemini answer; `client_model` is the model name the client asked for.
pub fn gemini_to_chat_response(body: &Value, ctx: &GeminiCtx, client_model: &str) -> Value {
    let salt = body
        .get("responseId")
        .and_then(Value::as_str)
        .map_or_else(random_salt, str::to_string);
    let candidate = body.pointer("/candidates/0").unwrap_or(&Value::Null);
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls: Vec<Value> = Vec::new();
    if let Some(parts) = candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
    {
        for part in parts {
            if let Some(call) = part.get("functionCall") {
                calls.push(tool_call(call, part, ctx, &salt, calls.len()));
            } else if let Some(t) = part.get("text").and_then(Value::as_str) {
                if part.get("thought").and_then(Value::as_bool) == Some(true) {
                    reasoning.push_str(t);
                } else {
                    text.push_str(t);
                }
            }
        }
    }
    let blocked = candidate.is_null()
        && body
            .pointer("/promptFeedback/blockReason")
            .is_some_and(|r| !r.is_null());
    let finish = if blocked {
        "content_filter"
    } else {
        finish_reason(
            candidate.get("finishReason").and_then(Value::as_str),
            !calls.is_empty(),
        )
    };
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert(
        "content".into(),
        if text.is_empty() && !calls.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        },
    );
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), Value::String(reasoning));
    }
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    let mut out = json!({
        "id": format!("chatcmpl-{salt}"),
        "object": "chat.completion",
        "created": now_secs(),
        "model": client_model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    });
    if let Some(u) = body.get("usageMetadata") {
        out["usage"] = usage_to_chat(u);
    }
    out
}

/// One `functionCall` part as a Chat tool call (also used by the stream).
pub(super) fn tool_call(
    call: &Value,
    part: &Value,
    ctx: &GeminiCtx,
    salt: &str,
    index: usize,
) -> Value {
    let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| crate::convert::common::is_valid_id(id))
        .map_or_else(|| call_id(salt, index), str::to_string);
    let args = match call.get("args") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(a) => a.to_string(),
    };
    let mut tc = json!({
        "id": id,
        "type": "function",
        "function": {"name": ctx.original_name(name), "arguments": args},
    });
    if let Some(sig) = part.get("thoughtSignature").and_then(Value::as_str) {
        tc["extra_content"] = json!({"google": {THOUGHT_SIGNATURE_FIELD: sig}});
    }
    tc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::RequestOptions;
    use crate::convert::gemini::chat_to_gemini_request;

    #[test]
    fn text_thoughts_calls_and_usage() {
        let g = json!({
            "responseId": "resp-1",
            "modelVersion": "gemini-2.5-flash",
            "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
                {"text": "Let me think", "thought": true},
                {"text": "Checking both."},
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig-A"},
                {"functionCall": {"name": "weather", "args": {"city": "Rome"}}}
            ]}}],
            "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 9, "thoughtsTokenCount": 3, "totalTokenCount": 32}
        });
        let c = gemini_to_chat_response(&g, &GeminiCtx::default(), "claude-sonnet-4-5");
        assert_eq!(c["model"], "claude-sonnet-4-5");
        let m = &c["choices"][0]["message"];
        assert_eq!(m["content"], "Checking both.");
        assert_eq!(m["reasoning_content"], "Let me think");
        let calls = m["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 2);
        assert_ne!(
            calls[0]["id"], calls[1]["id"],
            "parallel calls of one function"
        );
        assert_eq!(calls[0]["function"]["arguments"], "{\"city\":\"Paris\"}");
        assert_eq!(
            calls[0]["extra_content"]["google"]["thought_signature"],
            "sig-A"
        );
        assert!(calls[1].get("extra_content").is_none());
        assert_eq!(c["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(c["usage"]["completion_tokens"], 12);
    }

    #[test]
    fn the_answer_round_trips_into_the_next_request() {
        // What Gemini answered, echoed back by a Chat client with the tool results,
        // reaches Gemini again with the client's ids gone and the signature kept.
        let (_, ctx) = chat_to_gemini_request(
            &json!({"messages": [{"role": "user", "content": "hi"}],
                "tools": [{"type": "function", "function": {"name": "read file"}}]}),
            &RequestOptions::default(),
        )
        .unwrap();
        let gname = crate::convert::gemini::gemini_function_name("read file");
        let answer = gemini_to_chat_response(
            &json!({"candidates": [{"finishReason": "STOP", "content": {"parts": [
                {"functionCall": {"name": gname, "args": {}}, "thoughtSignature": "s"}]}}]}),
            &ctx,
            "m",
        );
        let msg = answer["choices"][0]["message"].clone();
        assert_eq!(msg["tool_calls"][0]["function"]["name"], "read file");
        let id = msg["tool_calls"][0]["id"].as_str().unwrap().to_string();
        let (next, _) = chat_to_gemini_request(
            &json!({"messages": [
                {"role": "user", "content": "hi"},
                msg,
                {"role": "tool", "tool_call_id": id, "content": "contents"}
            ]}),
            &RequestOptions::default(),
        )
        .unwrap();
        let turns = next["contents"].as_array().unwrap();
        assert_eq!(turns[1]["parts"][0]["functionCall"]["name"], gname.as_str());
        assert_eq!(turns[1]["parts"][0]["thoughtSignature"], "s");
        assert_eq!(
            turns[2]["parts"][0]["functionResponse"]["name"],
            gname.as_str()
        );
    }

    #[test]
    fn blocked_prompts_and_limits() {
        let c = gemini_to_chat_response(
            &json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}),
            &GeminiCtx::default(),
            "m",
        );
        assert_eq!(c["choices"][0]["finish_reason"], "content_filter");
        assert_eq!(c["choices"][0]["message"]["content"], "");
        let c = gemini_to_chat_response(
            &json!({"candidates": [{"finishReason": "MAX_TOKENS", "content": {"parts": [{"text": "abc"}]}}]}),
            &GeminiCtx::default(),
            "m",
        );
        assert_eq!(c["choices"][0]["finish_reason"], "length");
        assert!(c.get("usage").is_none());
    }
}
