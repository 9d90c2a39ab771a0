//! Golden tests: non-streaming responses, both ways.

use super::*;
use crate::convert::common::shorten_tool_name;

#[test]
fn anthropic_message_with_thinking_text_and_tools() {
    let resp = json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "Let me check.", "signature": "sigA"},
            {"type": "text", "text": "Checking "},
            {"type": "text", "text": "both."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 5},
    });
    let mut out = anthropic_to_openai_response(&resp, "gpt-4o").unwrap();
    assert!(out["created"].as_u64().unwrap() > 0);
    out["created"] = json!(0);
    assert_eq!(
        out,
        json!({
            "id": "chatcmpl-msg_01", "object": "chat.completion", "created": 0, "model": "gpt-4o",
            "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Checking both.", "refusal": null,
                "reasoning_content": "Let me check.",
                "reasoning_signature": "sigA",
                "thinking_blocks": [{"type": "thinking", "thinking": "Let me check.", "signature": "sigA"}],
                "tool_calls": [
                    {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}},
                ],
            }}],
            "usage": {"prompt_tokens": 45, "completion_tokens": 20, "total_tokens": 65,
                "prompt_tokens_details": {"cached_tokens": 30}},
        })
    );
}

#[test]
fn anthropic_stop_reasons_map_to_finish_reasons() {
    for (stop, finish) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
    ] {
        let resp =
            json!({"id": "m", "content": [{"type": "text", "text": "x"}], "stop_reason": stop});
        let out = anthropic_to_openai_response(&resp, "c").unwrap();
        assert_eq!(out["choices"][0]["finish_reason"], finish, "{stop}");
    }
    assert!(anthropic_to_openai_response(&json!({"type": "error"}), "c").is_err());
}

#[test]
fn json_mode_tool_becomes_content() {
    let resp = json!({"id": "m", "content": [
        {"type": "tool_use", "id": "t", "name": JSON_TOOL_NAME, "input": {"answer": "42"}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 2}});
    let out = anthropic_to_openai_response(&resp, "c").unwrap();
    let msg = &out["choices"][0]["message"];
    assert_eq!(msg["content"], "{\"answer\":\"42\"}");
    assert!(msg.get("tool_calls").is_none());
    assert_eq!(out["choices"][0]["finish_reason"], "stop");
}

#[test]
fn openai_completion_with_reasoning_and_tools() {
    let long = format!("mcp__srv__{}", "x".repeat(80));
    let short = shorten_tool_name(&long);
    let resp = json!({
        "id": "chatcmpl-9", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "On it.", "reasoning_content": "thinking...",
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": short, "arguments": "{\"q\":1}"}},
                {"id": "call:b", "type": "function", "function": {"name": "f", "arguments": "not json"}},
            ]}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107,
            "prompt_tokens_details": {"cached_tokens": 60}, "completion_tokens_details": {"reasoning_tokens": 3}},
    });
    let out = openai_to_anthropic_response(&resp, "claude-x").unwrap();
    assert_eq!(
        out,
        json!({
            "id": "msg_chatcmpl-9", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [
                {"type": "thinking", "thinking": "thinking...", "signature": ""},
                {"type": "text", "text": "On it."},
                {"type": "tool_use", "id": "call_a", "name": long, "input": {"q": 1}},
                {"type": "tool_use", "id": sanitize_id("call:b"), "name": "f", "input": {"_raw": "not json"}},
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 40, "output_tokens": 7, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 60},
        })
    );
}

#[test]
fn openai_finish_reasons_and_refusal() {
    for (finish, stop) in [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
    ] {
        let resp = json!({"choices": [{"message": {"content": "x"}, "finish_reason": finish}]});
        let out = openai_to_anthropic_response(&resp, "c").unwrap();
        assert_eq!(out["stop_reason"], stop);
    }
    let refusal = json!({"choices": [{"message": {"content": null, "refusal": "I can't"}, "finish_reason": "stop"}]});
    let out = openai_to_anthropic_response(&refusal, "c").unwrap();
    assert_eq!(out["stop_reason"], "refusal");
    assert_eq!(out["content"], json!([{"type": "text", "text": "I can't"}]));
    assert!(openai_to_anthropic_response(&json!({"choices": []}), "c").is_err());
    assert!(openai_to_anthropic_response(&json!("x"), "c").is_err());
}
