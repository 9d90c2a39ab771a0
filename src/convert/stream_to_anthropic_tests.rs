//! Golden tests: OpenAI chunks → Anthropic stream events.

use super::*;
use crate::convert::test_util::{data_event, frames_anthropic};
use crate::convert::validate::validate_anthropic_stream;

fn chunk(delta: Value, finish: Option<&str>) -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    .to_string()
}

fn usage_chunk() -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
        "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59,
            "prompt_tokens_details": {"cached_tokens": 20}}})
    .to_string()
}

/// Feed `datas`, then `finish()`; validate and return the payloads.
fn run(datas: &[String]) -> Vec<Value> {
    let mut s = OpenAiToAnthropicStream::new("claude-client");
    let mut frames = Vec::new();
    for d in datas {
        frames.extend(s.push(&data_event(d)));
    }
    frames.extend(s.finish());
    frames.extend(s.finish());
    assert!(frames.iter().all(|f| !f.windows(6).any(|w| w == b"[DONE]")));
    let events = frames_anthropic(&frames);
    validate_anthropic_stream(&events).unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    events
}

/// Events without message_start, as compact (type, index, payload-of-interest) values.
fn summary(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .skip(1)
        .map(|e| match e["type"].as_str().unwrap() {
            "content_block_start" => json!(["start", e["index"], e["content_block"]]),
            "content_block_delta" => json!(["delta", e["index"], e["delta"]]),
            "content_block_stop" => json!(["stop", e["index"]]),
            "message_delta" => json!(["message_delta", e["delta"]["stop_reason"], e["usage"]]),
            other => json!([other]),
        })
        .collect()
}

#[test]
fn reasoning_text_parallel_tools_then_usage() {
    let datas = vec![
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"reasoning_content": "Think"}), None),
        chunk(json!({"content": "Sure"}), None),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_2", "type": "function", "function": {"name": "g", "arguments": "{}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(),
        "[DONE]".to_string(),
    ];
    let events = run(&datas);
    let start = &events[0]["message"];
    assert_eq!(start["model"], "claude-client");
    assert_eq!(start["id"], "msg_chatcmpl-1");
    assert_eq!(
        start["usage"],
        json!({"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
    );
    assert_eq!(
        summary(&events),
        vec![
            json!(["start", 0, {"type": "thinking", "thinking": "", "signature": ""}]),
            json!(["delta", 0, {"type": "thinking_delta", "thinking": "Think"}]),
            json!(["stop", 0]),
            json!(["start", 1, {"type": "text", "text": ""}]),
            json!(["delta", 1, {"type": "text_delta", "text": "Sure"}]),
            json!(["stop", 1]),
            json!(["start", 2, {"type": "tool_use", "id": "call_1", "name": "f", "input": {}}]),
            json!(["delta", 2, {"type": "input_json_delta", "partial_json": "{\"a\""}]),
            json!(["delta", 2, {"type": "input_json_delta", "partial_json": ":1}"}]),
            json!(["stop", 2]),
            json!(["start", 3, {"type": "tool_use", "id": "call_2", "name": "g", "input": {}}]),
            json!(["delta", 3, {"type": "input_json_delta", "partial_json": "{}"}]),
            json!(["stop", 3]),
            json!(["message_delta", "tool_use", {"input_tokens": 30, "output_tokens": 9,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 20}]),
            json!(["message_stop"]),
        ]
    );
}

#[test]
fn message_delta_waits_for_the_usage_chunk() {
    let mut s = OpenAiToAnthropicStream::new("c");
    let first = s.push(&data_event(&chunk(json!({"content": "Hi"}), Some("stop"))));
    let kinds: Vec<String> = frames_anthropic(&first)
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop"
        ]
    );
    let rest = frames_anthropic(&s.push(&data_event(&usage_chunk())));
    assert_eq!(rest[0]["type"], "message_delta");
    assert_eq!(rest[0]["usage"]["output_tokens"], 9);
    assert_eq!(rest[1]["type"], "message_stop");
    assert!(s.push(&data_event("[DONE]")).is_empty());
    assert!(s.finish().is_empty());
}

#[test]
fn content_with_finish_reason_and_usage_in_one_chunk() {
    let last = json!({"id": "x", "choices": [{"index": 0, "delta": {"content": "end."}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
    .to_string();
    let events = run(&[chunk(json!({"content": "The "}), None), last]);
    let texts: Vec<&str> = events
        .iter()
        .filter_map(|e| e.pointer("/delta/text").and_then(Value::as_str))
        .collect();
    assert_eq!(texts, ["The ", "end."]);
    let delta = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
    assert_eq!(delta["usage"]["input_tokens"], 3);
}

#[test]
fn text_after_tool_call_opens_a_new_block_and_done_ends_without_usage() {
    let datas = vec![
        chunk(
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}]}),
            None,
        ),
        chunk(json!({"content": "done"}), None),
        json!({"choices": []}).to_string(),
        chunk(json!({}), Some("stop")),
        "[DONE]".to_string(),
    ];
    let s = summary(&run(&datas));
    assert_eq!(
        s[0],
        json!(["start", 0, {"type": "tool_use", "id": "c1", "name": "f", "input": {}}])
    );
    assert_eq!(s[3], json!(["start", 1, {"type": "text", "text": ""}]));
    assert_eq!(s[6][0], "message_delta");
    assert_eq!(s[6][1], "tool_use");
    assert_eq!(s[6][2]["output_tokens"], 0);
}

#[test]
fn upstream_error_chunk_and_truncation_become_error_events() {
    let err = json!({"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"}}).to_string();
    let events = run(&[chunk(json!({"content": "a"}), None), err]);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(last["error"]["type"], "rate_limit_error");
    let cut = run(&[chunk(json!({"content": "a"}), None)]);
    assert_eq!(cut.last().unwrap()["type"], "error");
    // An empty stream still produces a well-formed error, not a crash.
    assert_eq!(run(&[])[0]["type"], "error");
}

#[test]
fn missing_ids_and_indices_are_tolerated() {
    let datas = vec![
        chunk(
            json!({"tool_calls": [{"function": {"name": "f", "arguments": "{\"x\""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"function": {"arguments": ":2}"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"id": "c2", "function": {"name": "g"}}]}),
            None,
        ),
        chunk(json!(null), Some("tool_calls")),
        "[DONE]".to_string(),
    ];
    let events = run(&datas);
    let starts: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .collect();
    assert_eq!(starts.len(), 2);
    assert!(crate::convert::common::is_valid_id(
        starts[0]["content_block"]["id"].as_str().unwrap()
    ));
    assert_eq!(starts[1]["content_block"]["id"], "c2");
}

#[test]
fn reasoning_signatures_become_signature_deltas() {
    let datas = vec![
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"reasoning_content": "A"}), None),
        chunk(json!({"reasoning_signature": "sigA"}), None),
        chunk(json!({"reasoning_content": "B"}), None),
        chunk(json!({"reasoning_signature": "sigB"}), None),
        chunk(json!({"reasoning_signature": "lgw1.oai.enc"}), None),
        chunk(json!({"content": "Hi"}), Some("stop")),
        usage_chunk(),
    ];
    let events = run(&datas);
    let thinking = json!({"type": "thinking", "thinking": "", "signature": ""});
    let sig = |i: u64, s: &str| json!(["delta", i, {"type": "signature_delta", "signature": s}]);
    assert_eq!(
        summary(&events)[..11],
        [
            json!(["start", 0, thinking]),
            json!(["delta", 0, {"type": "thinking_delta", "thinking": "A"}]),
            sig(0, "sigA"),
            json!(["stop", 0]),
            json!(["start", 1, thinking]),
            json!(["delta", 1, {"type": "thinking_delta", "thinking": "B"}]),
            sig(1, "sigB"),
            json!(["stop", 1]),
            json!(["start", 2, thinking]),
            sig(2, "lgw1.oai.enc"),
            json!(["stop", 2]),
        ]
    );
}
