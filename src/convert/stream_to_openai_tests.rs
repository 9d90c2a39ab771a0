//! Golden tests: Anthropic stream events → OpenAI chunks.

use super::*;
use crate::convert::test_util::{anthropic_event, frames_json};
use crate::convert::validate::validate_openai_stream;

fn run(s: &mut AnthropicToOpenAiStream, events: &[Value]) -> (Vec<Value>, usize) {
    let mut frames = Vec::new();
    for e in events {
        frames.extend(s.push(&anthropic_event(e)));
    }
    frames.extend(s.finish());
    frames.extend(s.finish());
    let (chunks, done) = frames_json(&frames);
    let mut datas: Vec<String> = chunks.iter().map(Value::to_string).collect();
    datas.extend(std::iter::repeat_n("[DONE]".to_string(), done));
    validate_openai_stream(&datas).unwrap_or_else(|e| panic!("{e}\n{datas:#?}"));
    (chunks, done)
}

fn start() -> Value {
    json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
        "content": [], "model": "claude", "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 1, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0}}})
}

fn deltas(chunks: &[Value]) -> Vec<Value> {
    chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta").cloned())
        .collect()
}

#[test]
fn thinking_text_tools_and_text_after_tool() {
    let events = [
        start(),
        json!({"type": "ping"}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "1}"}}),
        json!({"type": "content_block_stop", "index": 2}),
        json!({"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {}}}),
        json!({"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
        json!({"type": "content_block_stop", "index": 3}),
        json!({"type": "content_block_start", "index": 4, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 4, "delta": {"type": "text_delta", "text": "after"}}),
        json!({"type": "content_block_stop", "index": 4}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 30}}),
        json!({"type": "message_stop"}),
    ];
    let mut s = AnthropicToOpenAiStream::new("gpt-4o", true);
    let (chunks, done) = run(&mut s, &events);
    assert_eq!(done, 1);
    assert!(
        chunks
            .iter()
            .all(|c| c["model"] == "gpt-4o" && c["id"] == "chatcmpl-msg_1")
    );
    assert_eq!(
        deltas(&chunks),
        vec![
            json!({"role": "assistant", "content": ""}),
            json!({"reasoning_content": "Hmm"}),
            json!({"reasoning_signature": "sig"}),
            json!({"content": "Hi"}),
            json!({"tool_calls": [{"index": 0, "id": "toolu_a", "type": "function", "function": {"name": "f", "arguments": ""}}]}),
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}),
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
            json!({"tool_calls": [{"index": 1, "id": "toolu_b", "type": "function", "function": {"name": "g", "arguments": ""}}]}),
            json!({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
            json!({"content": "after"}),
            json!({}),
        ]
    );
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    assert!(finish["usage"].is_null());
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 112, "completion_tokens": 30, "total_tokens": 142,
            "prompt_tokens_details": {"cached_tokens": 100}})
    );
}

#[test]
fn without_include_usage_there_is_no_usage_chunk() {
    let events = [
        start(),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 1}}),
        json!({"type": "message_stop"}),
    ];
    let (chunks, _) = run(&mut AnthropicToOpenAiStream::new("m", false), &events);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "length"
    );
}

#[test]
fn error_event_becomes_error_chunk_then_done() {
    let events = [
        start(),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "late"}}),
    ];
    let (chunks, done) = run(&mut AnthropicToOpenAiStream::new("m", true), &events);
    assert_eq!(done, 1);
    let err = chunks.last().unwrap();
    assert_eq!(err["error"]["message"], "Overloaded");
    assert_eq!(err["error"]["code"], "overloaded");
}

#[test]
fn truncated_stream_ends_with_error_and_single_done() {
    let mut s = AnthropicToOpenAiStream::new("m", false);
    let mut frames = s.push(&anthropic_event(&start()));
    frames.extend(s.push(&crate::convert::test_util::data_event("not json")));
    frames.extend(s.finish());
    frames.extend(s.finish());
    let (chunks, done) = frames_json(&frames);
    assert_eq!(done, 1);
    assert!(
        chunks.last().unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ended")
    );
}

#[test]
fn json_mode_tool_streams_as_content() {
    let events = [
        start(),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": JSON_TOOL_NAME, "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": ":1}"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
        json!({"type": "message_stop"}),
    ];
    let (chunks, _) = run(&mut AnthropicToOpenAiStream::new("m", false), &events);
    let text: String = deltas(&chunks)
        .iter()
        .filter_map(|d| d["content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "{\"a\":1}");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}
