//! Golden tests: Chat chunks → Responses stream events.

use super::*;
use crate::convert::AnthropicToOpenAiStream;
use crate::convert::responses::test_util::{chunk, ctx, frames_responses, run_out, usage_chunk};
use crate::convert::test_util::{anthropic_event, data_event};
use crate::convert::validate::validate_responses_stream;

fn types(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

fn last(events: &[(String, Value)]) -> &Value {
    &events.last().unwrap().1
}

#[test]
fn text_streams_as_a_message_item() {
    let mut s = ChatToResponsesStream::new(ctx(&[]));
    let events = run_out(
        &mut s,
        &[
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"content": "Hel"}), None),
            chunk(json!({"content": "lo"}), None),
            chunk(json!({}), Some("stop")),
            usage_chunk(),
            "[DONE]".into(),
        ],
    );
    assert_eq!(
        types(&events),
        vec![
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let created = &events[0].1["response"];
    assert_eq!(created["model"], "gpt-5-client");
    assert_eq!(created["status"], "in_progress");
    let added = &events[2].1;
    assert_eq!(added["item"]["status"], "in_progress");
    assert!(added["item"]["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(events[4].1["logprobs"], json!([]));
    assert_eq!(events[6].1["text"], "Hello");
    let resp = &last(&events)["response"];
    assert_eq!(resp["status"], "completed");
    assert_eq!(
        resp["output"][0]["content"],
        json!([{"type": "output_text", "text": "Hello", "annotations": []}])
    );
    assert_eq!(resp["usage"]["input_tokens"], 50);
    assert_eq!(resp["usage"]["input_tokens_details"]["cached_tokens"], 20);
    assert_eq!(resp["usage"]["total_tokens"], 59);
    assert_eq!(s.final_response(), Some(resp));
    // Nothing after the terminal event.
    assert!(
        s.push(&data_event(&chunk(json!({"content": "x"}), None)))
            .is_empty()
    );
}

#[test]
fn reasoning_blocks_and_signatures_become_reasoning_items() {
    let mut s = ChatToResponsesStream::new(ctx(&[]));
    let events = run_out(
        &mut s,
        &[
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"reasoning_content": "Think"}), None),
            chunk(json!({"reasoning_content": "ing"}), None),
            chunk(json!({"reasoning_signature": "sigA"}), None),
            chunk(json!({"reasoning_content": "More"}), None),
            chunk(json!({"reasoning_signature": "lgw1.oai.gAAA"}), None),
            chunk(json!({"reasoning_signature": "sigC"}), None),
            chunk(json!({"reasoning_content": "unsigned"}), None),
            chunk(json!({"content": "Answer"}), Some("stop")),
            "[DONE]".into(),
        ],
    );
    let out = &last(&events)["response"]["output"];
    assert_eq!(out.as_array().unwrap().len(), 5);
    assert_eq!(
        out[0]["summary"],
        json!([{"type": "summary_text", "text": "Thinking"}])
    );
    assert_eq!(out[0]["encrypted_content"], "lgw1.ant.sigA");
    assert!(out[0]["id"].as_str().unwrap().starts_with("rs_"));
    assert_eq!(out[1]["encrypted_content"], "gAAA");
    assert_eq!(
        out[2],
        json!({"id": out[2]["id"], "type": "reasoning", "summary": [],
        "encrypted_content": "lgw1.ant.sigC"})
    );
    assert!(out[3].get("encrypted_content").is_none());
    assert_eq!(out[4]["content"][0]["text"], "Answer");
    let delta = events
        .iter()
        .find(|(n, _)| n == "response.reasoning_summary_text.delta")
        .unwrap();
    assert_eq!(delta.1["summary_index"], 0);
    assert_eq!(delta.1["delta"], "Think");
    // No usage chunk came: zeros.
    assert_eq!(last(&events)["response"]["usage"]["total_tokens"], 0);
}

#[test]
fn parallel_tool_calls_with_interleaved_fragments() {
    let long = format!("mcp__srv__{}", "segment_".repeat(10));
    let short = crate::convert::common::shorten_tool_name(&long);
    let call = |i: u64, id: &str, name: &str| {
        chunk(
            json!({"tool_calls": [{"index": i, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            None,
        )
    };
    let frag = |i: u64, a: &str| {
        chunk(
            json!({"tool_calls": [{"index": i, "function": {"arguments": a}}]}),
            None,
        )
    };
    let mut s = ChatToResponsesStream::new(ctx(&[]));
    let events = run_out(
        &mut s,
        &[
            chunk(
                json!({"role": "assistant", "content": "Let me look."}),
                None,
            ),
            call(0, "call_a", "get_weather"),
            frag(0, "{\"city\":"),
            call(1, "call_b", &short),
            frag(1, "{}"),
            frag(0, "\"Paris\"}"),
            chunk(json!({}), Some("tool_calls")),
            usage_chunk(),
        ],
    );
    let out = &last(&events)["response"]["output"];
    assert_eq!(out[0]["type"], "message");
    assert_eq!(
        out[1],
        json!({"id": out[1]["id"], "type": "function_call", "status": "completed",
            "arguments": "{\"city\":\"Paris\"}", "call_id": "call_a", "name": "get_weather"})
    );
    assert!(out[1]["id"].as_str().unwrap().starts_with("fc_"));
    assert_eq!(out[2]["name"], long.as_str());
    assert_eq!(out[2]["arguments"], "{}");
    // The late fragment for call 0 is a delta on item 1.
    let late = events
        .iter()
        .filter(|(n, _)| n == "response.function_call_arguments.delta")
        .nth(2)
        .unwrap();
    assert_eq!(late.1["output_index"], 1);
    assert_eq!(late.1["item_id"], out[1]["id"]);
    let done = events
        .iter()
        .find(|(n, _)| n == "response.function_call_arguments.done")
        .unwrap();
    assert_eq!(done.1["name"], "get_weather");
}

#[test]
fn custom_tools_become_custom_tool_calls() {
    let mut s = ChatToResponsesStream::new(ctx(&["apply_patch"]));
    let args = json!({"input": "*** Begin Patch\n*** End Patch"}).to_string();
    let (a, b) = args.split_at(10);
    let events = run_out(
        &mut s,
        &[
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_p", "type": "function",
                "function": {"name": "apply_patch", "arguments": a}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": b}}]}),
                None,
            ),
            chunk(json!({}), Some("tool_calls")),
            usage_chunk(),
        ],
    );
    let names = types(&events);
    assert!(!names.contains(&"response.function_call_arguments.delta"));
    let i = names
        .iter()
        .position(|n| *n == "response.custom_tool_call_input.delta")
        .unwrap();
    assert_eq!(events[i].1["delta"], "*** Begin Patch\n*** End Patch");
    assert_eq!(names[i + 1], "response.custom_tool_call_input.done");
    assert_eq!(names[i + 2], "response.output_item.done");
    let item = &last(&events)["response"]["output"][0];
    assert_eq!(item["type"], "custom_tool_call");
    assert_eq!(item["input"], "*** Begin Patch\n*** End Patch");
    assert_eq!(item["call_id"], "call_p");
    assert!(item["id"].as_str().unwrap().starts_with("ctc_"));
}

#[test]
fn refusals_are_refusal_parts() {
    let mut s = ChatToResponsesStream::new(ctx(&[]));
    let events = run_out(
        &mut s,
        &[
            chunk(json!({"role": "assistant", "refusal": "I can't"}), None),
            chunk(json!({"refusal": " help."}), Some("stop")),
            "[DONE]".into(),
        ],
    );
    assert!(types(&events).contains(&"response.refusal.delta"));
    let done = events
        .iter()
        .find(|(n, _)| n == "response.refusal.done")
        .unwrap();
    assert_eq!(done.1["refusal"], "I can't help.");
    assert_eq!(
        last(&events)["response"]["output"][0]["content"],
        json!([{"type": "refusal", "refusal": "I can't help."}])
    );
}

#[test]
fn length_and_content_filter_end_incomplete() {
    for (finish, reason) in [
        ("length", "max_output_tokens"),
        ("content_filter", "content_filter"),
    ] {
        let mut s = ChatToResponsesStream::new(ctx(&[]));
        let events = run_out(
            &mut s,
            &[
                chunk(json!({"role": "assistant", "content": "Hi"}), Some(finish)),
                usage_chunk(),
            ],
        );
        let (name, data) = events.last().unwrap();
        assert_eq!(name, "response.incomplete");
        assert_eq!(data["response"]["status"], "incomplete");
        assert_eq!(data["response"]["incomplete_details"]["reason"], reason);
        assert!(s.final_response().is_some());
    }
}

#[test]
fn errors_fail_with_codex_codes() {
    for (err, code) in [
        (
            json!({"message": "Rate limit reached. Please try again in 2s.", "type": "requests",
            "code": "rate_limit_exceeded"}),
            "rate_limit_exceeded",
        ),
        (
            json!({"message": "Overloaded", "type": "server_error", "code": "overloaded"}),
            "server_is_overloaded",
        ),
        (
            json!({"message": "prompt is too long: 300000 tokens > 200000 maximum",
            "type": "invalid_request_error"}),
            "context_length_exceeded",
        ),
        (
            json!({"message": "You exceeded your current quota", "type": "insufficient_quota",
            "code": "insufficient_quota"}),
            "insufficient_quota",
        ),
        (
            json!({"message": "boom", "type": "server_error"}),
            "server_error",
        ),
    ] {
        let mut s = ChatToResponsesStream::new(ctx(&[]));
        let events = run_out(
            &mut s,
            &[
                chunk(json!({"role": "assistant", "content": "par"}), None),
                json!({"error": err}).to_string(),
                "[DONE]".into(),
            ],
        );
        let (name, data) = events.last().unwrap();
        assert_eq!(name, "response.failed");
        assert_eq!(data["response"]["status"], "failed");
        assert_eq!(data["response"]["error"]["code"], code);
        assert_eq!(data["response"]["output"], json!([]));
        assert!(s.final_response().is_none());
    }
}

#[test]
fn a_truncated_stream_fails_instead_of_completing() {
    let mut s = ChatToResponsesStream::new(ctx(&[]));
    let events = run_out(
        &mut s,
        &[
            chunk(json!({"role": "assistant", "content": "Hal"}), None),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "c", "type": "function",
                "function": {"name": "f", "arguments": "{\"a"}}]}),
                None,
            ),
        ],
    );
    assert!(!types(&events).contains(&"response.completed"));
    let data = &last(&events)["response"];
    assert_eq!(data["error"]["code"], "server_error");
    assert!(data["error"]["message"].as_str().unwrap().contains("ended"));
    // A stream with nothing at all fails the same way.
    let events = run_out(&mut ChatToResponsesStream::new(ctx(&[])), &[]);
    assert_eq!(
        types(&events),
        vec![
            "response.created",
            "response.in_progress",
            "response.failed"
        ]
    );
}

#[test]
fn anthropic_stream_chains_through_chat_into_responses() {
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "content": [], "model": "claude", "stop_reason": null,
            "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 5}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Plan"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig1"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Patching."}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {}}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"input\":\"*** Begin"}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": " Patch\"}"}}),
        json!({"type": "content_block_stop", "index": 2}),
        json!({"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "shell", "input": {}}}),
        json!({"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": "{\"cmd\":[\"ls\"]}"}}),
        json!({"type": "content_block_stop", "index": 3}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
        json!({"type": "message_stop"}),
    ];
    let mut a = AnthropicToOpenAiStream::new("claude", true);
    let mut s = ChatToResponsesStream::new(ctx(&["apply_patch"]));
    let mut frames = Vec::new();
    for e in &events {
        for f in a.push(&anthropic_event(e)) {
            for ev in crate::convert::test_util::frames_events(&[f]) {
                frames.extend(s.push(&ev));
            }
        }
    }
    for f in a.finish() {
        for ev in crate::convert::test_util::frames_events(&[f]) {
            frames.extend(s.push(&ev));
        }
    }
    frames.extend(s.finish());
    let out = frames_responses(&frames);
    validate_responses_stream(&out).unwrap_or_else(|e| panic!("{e}\n{out:#?}"));
    let resp = &last(&out)["response"];
    assert_eq!(resp["status"], "completed");
    let items = resp["output"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec!["reasoning", "message", "custom_tool_call", "function_call"]
    );
    assert_eq!(items[0]["encrypted_content"], "lgw1.ant.sig1");
    assert_eq!(items[0]["summary"][0]["text"], "Plan");
    assert_eq!(items[2]["input"], "*** Begin Patch");
    assert_eq!(items[3]["arguments"], "{\"cmd\":[\"ls\"]}");
    assert_eq!(items[3]["call_id"], "toolu_2");
    assert_eq!(resp["usage"]["input_tokens"], 15);
    assert_eq!(resp["usage"]["output_tokens"], 30);
}

#[test]
fn a_tool_call_without_arguments_carries_an_empty_object() {
    // Found by the fuzzer: a Chat tool call whose arguments never came.
    let mut s = ChatToResponsesStream::new(ResponsesCtx::of_request(&json!({}), "m"));
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut frames = Vec::new();
    for c in [
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
    ] {
        frames.extend(s.push(&Event {
            event: String::new(),
            data: c.to_string(),
        }));
    }
    frames.extend(s.push(&Event {
        event: String::new(),
        data: "[DONE]".into(),
    }));
    frames.extend(s.finish());
    let text: String = frames
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    assert!(text.contains(r#""arguments":"{}""#), "{text}");
}
