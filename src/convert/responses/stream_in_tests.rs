//! Golden tests: Responses stream events → Chat chunks (and on to Anthropic).

use super::*;
use crate::convert::OpenAiToAnthropicStream;
use crate::convert::responses::test_util::{RespBuilder, owned, run_in};
use crate::convert::test_util::{frames_anthropic, frames_events};
use crate::convert::validate::{validate_anthropic_stream, validate_responses_stream};

fn deltas(chunks: &[Value]) -> Vec<Value> {
    chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta").cloned())
        .collect()
}

fn full_stream() -> Vec<Value> {
    let mut b = RespBuilder::new();
    b.reasoning(
        &[owned(&["Plan", " A"]), owned(&["Then B"])],
        Some("gAAA=="),
    );
    b.message(&owned(&["Hel", "lo"]));
    b.function_call(
        "call_1",
        "get_weather",
        &owned(&["{\"city\":", "\"Paris\"}"]),
    );
    b.custom_call("call_2", "apply_patch", &owned(&["*** Begin", " Patch"]));
    b.end("completed", None)
}

#[test]
fn a_full_stream_becomes_chat_chunks() {
    let events = full_stream();
    let named: Vec<(String, Value)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_string(), e.clone()))
        .collect();
    validate_responses_stream(&named).unwrap(); // the test input itself is valid
    let mut s = ResponsesToChatStream::new("gpt-client", true);
    let (_, chunks) = run_in(&mut s, &events);
    assert!(
        chunks
            .iter()
            .all(|c| c["model"] == "gpt-client" && c["id"] == "chatcmpl-resp_up")
    );
    let want = vec![
        json!({"role": "assistant", "content": ""}),
        json!({"reasoning_content": "Plan"}),
        json!({"reasoning_content": " A"}),
        json!({"reasoning_content": "\n\nThen B"}),
        json!({"reasoning_signature": "lgw1.oai.gAAA=="}),
        json!({"content": "Hel"}),
        json!({"content": "lo"}),
        json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}]}),
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
        json!({"tool_calls": [{"index": 1, "id": "call_2", "type": "function",
            "function": {"name": "apply_patch", "arguments": ""}}]}),
        json!({"tool_calls": [{"index": 1, "function": {"arguments": "{\"input\":\"*** Begin Patch\"}"}}]}),
        json!({}),
    ];
    assert_eq!(deltas(&chunks), want);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    assert!(finish["usage"].is_null());
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 40);
    assert_eq!(usage["usage"]["completion_tokens"], 12);
    assert_eq!(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 8);
    assert_eq!(
        usage["usage"]["completion_tokens_details"]["reasoning_tokens"],
        4
    );
}

#[test]
fn chains_on_to_a_valid_anthropic_stream_with_signatures() {
    let mut s = ResponsesToChatStream::new("gpt-client", true);
    let (frames, _) = run_in(&mut s, &full_stream());
    let mut a = OpenAiToAnthropicStream::new("claude-client");
    let mut out = Vec::new();
    for ev in frames_events(&frames) {
        out.extend(a.push(&ev));
    }
    out.extend(a.finish());
    let events = frames_anthropic(&out);
    validate_anthropic_stream(&events).unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    let sig = events
        .iter()
        .find(|e| e["delta"]["type"] == "signature_delta")
        .unwrap();
    assert_eq!(sig["index"], 0);
    assert_eq!(sig["delta"]["signature"], "lgw1.oai.gAAA==");
    let starts: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .map(|e| &e["content_block"])
        .collect();
    let kinds: Vec<&str> = starts.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["thinking", "text", "tool_use", "tool_use"]);
    assert_eq!(starts[3]["name"], "apply_patch");
    let stop = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(stop["delta"]["stop_reason"], "tool_use");
}

#[test]
fn reasoning_without_summary_still_carries_its_signature_to_anthropic() {
    let mut b = RespBuilder::new();
    b.reasoning(&[], Some("lgw1.ant.sigX"));
    b.reasoning(&[], Some("enc2"));
    b.reasoning(&[], Some("lgw1.antr.redacted"));
    b.message(&owned(&["ok"]));
    let mut s = ResponsesToChatStream::new("m", false);
    let (frames, chunks) = run_in(&mut s, &b.end("completed", None));
    assert_eq!(
        deltas(&chunks)[1..3],
        [
            json!({"reasoning_signature": "sigX"}),
            json!({"reasoning_signature": "lgw1.oai.enc2"})
        ]
    );
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    let mut a = OpenAiToAnthropicStream::new("c");
    let mut out = Vec::new();
    for ev in frames_events(&frames) {
        out.extend(a.push(&ev));
    }
    out.extend(a.finish());
    let events = frames_anthropic(&out);
    validate_anthropic_stream(&events).unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    let thinking: Vec<u64> = events
        .iter()
        .filter(|e| e["content_block"]["type"] == "thinking")
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(thinking, vec![0, 1], "one thinking block per signature");
}

#[test]
fn incomplete_maps_to_length_or_content_filter() {
    for (reason, finish) in [
        ("max_output_tokens", "length"),
        ("content_filter", "content_filter"),
    ] {
        let mut b = RespBuilder::new();
        b.message(&owned(&["cut"]));
        let mut s = ResponsesToChatStream::new("m", false);
        let (_, chunks) = run_in(&mut s, &b.end("incomplete", Some(reason)));
        let last = chunks.last().unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], finish);
        assert!(last.get("usage").is_none());
    }
}

#[test]
fn failures_and_error_events_become_error_chunks() {
    for (code, kind) in [
        ("rate_limit_exceeded", "requests"),
        ("insufficient_quota", "insufficient_quota"),
        ("context_length_exceeded", "invalid_request_error"),
        ("server_error", "server_error"),
    ] {
        let mut b = RespBuilder::new();
        b.message(&owned(&["partial"]));
        let mut s = ResponsesToChatStream::new("m", true);
        let (_, chunks) = run_in(&mut s, &b.end("failed", Some(code)));
        let err = &chunks.last().unwrap()["error"];
        assert_eq!(
            (err["type"].as_str(), err["code"].as_str()),
            (Some(kind), Some(code))
        );
        assert_eq!(err["message"], "failed");
    }
    let mut s = ResponsesToChatStream::new("m", true);
    let events = vec![json!({"type": "error", "code": "rate_limit_exceeded",
        "message": "Please try again in 3s.", "sequence_number": 0})];
    let (_, chunks) = run_in(&mut s, &events);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0]["error"]["code"], "rate_limit_exceeded");
}

#[test]
fn a_truncated_stream_ends_with_an_error_chunk() {
    let mut b = RespBuilder::new();
    b.function_call("call_1", "f", &owned(&["{\"a\":"]));
    let mut events = b.end("completed", None);
    events.truncate(4); // created, in_progress, added, one delta
    let mut s = ResponsesToChatStream::new("m", true);
    let (_, chunks) = run_in(&mut s, &events);
    let err = &chunks.last().unwrap()["error"];
    assert!(err["message"].as_str().unwrap().contains("ended"));
}

#[test]
fn arguments_only_in_done_events_are_still_delivered() {
    let events = vec![
        json!({"type": "response.created", "response": {"id": "r1"}}),
        json!({"type": "response.output_item.added", "output_index": 0,
            "item": {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "f", "arguments": ""}}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "{\"a\""}),
        json!({"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 0, "arguments": "{\"a\":1}"}),
        json!({"type": "response.output_item.done", "output_index": 0,
            "item": {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"}}),
        json!({"type": "response.output_item.done", "output_index": 1,
            "item": {"id": "fc_2", "type": "function_call", "call_id": "c2", "name": "g", "arguments": "{}"}}),
        json!({"type": "response.some_future_event", "x": 1}),
        json!({"type": "response.completed", "response": {"id": "r1", "usage": null}}),
    ];
    let mut s = ResponsesToChatStream::new("m", false);
    let (_, chunks) = run_in(&mut s, &events);
    let args: Vec<String> = deltas(&chunks)
        .iter()
        .flat_map(|d| d["tool_calls"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["function"]["arguments"].as_str().map(String::from))
        .collect();
    assert_eq!(args, vec!["", "{\"a\"", ":1}", "", "{}"]);
}
