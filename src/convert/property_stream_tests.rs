//! Deterministic property tests for streams: random valid upstream event sequences
//! convert into client streams the stream validators accept (contiguous indices, one open
//! block, `[DONE]` once, `message_stop` last) carrying the same text, reasoning and tool
//! input. Seeded `StdRng`; generator helpers live in `property_tests`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::property_tests::{CASES, args_object, pick, text, tool_name};
use super::test_util::{anthropic_event, data_event, frames_anthropic, frames_json};
use super::validate::{validate_anthropic_stream, validate_openai_stream};
use super::*;

/// Split `s` into 1..4 pieces at char boundaries (sometimes with a leading "").
fn pieces(r: &mut StdRng, s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut cuts: Vec<usize> = (0..r.random_range(0..3))
        .map(|_| r.random_range(0..=chars.len()))
        .collect();
    cuts.push(0);
    cuts.push(chars.len());
    cuts.sort_unstable();
    let mut out: Vec<String> = cuts
        .windows(2)
        .map(|w| chars[w[0]..w[1]].iter().collect())
        .collect();
    out.retain(|p| !p.is_empty());
    if r.random_bool(0.3) {
        out.insert(0, String::new());
    }
    out
}

/// What a stream should deliver: joined text, joined reasoning, tool inputs in order.
#[derive(Debug, Default, PartialEq)]
struct Content {
    text: String,
    reasoning: String,
    tools: Vec<(String, Value)>,
}

#[test]
fn random_anthropic_streams_convert_to_valid_openai_streams() {
    let mut r = StdRng::seed_from_u64(13);
    for case in 0..CASES {
        let mut events = vec![
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "content": [], "model": "c", "stop_reason": null,
            "usage": {"input_tokens": 5, "output_tokens": 1}}}),
        ];
        let mut want = Content::default();
        for index in 0..r.random_range(0..6) {
            let (block, deltas) = match r.random_range(0..3) {
                0 => {
                    let t = text(&mut r);
                    want.text.push_str(&t);
                    (
                        json!({"type": "text", "text": ""}),
                        pieces(&mut r, &t)
                            .into_iter()
                            .map(|p| json!({"type": "text_delta", "text": p}))
                            .collect::<Vec<_>>(),
                    )
                }
                1 => {
                    let t = text(&mut r);
                    want.reasoning.push_str(&t);
                    let mut d: Vec<Value> = pieces(&mut r, &t)
                        .into_iter()
                        .map(|p| json!({"type": "thinking_delta", "thinking": p}))
                        .collect();
                    d.push(json!({"type": "signature_delta", "signature": "sig"}));
                    (
                        json!({"type": "thinking", "thinking": "", "signature": ""}),
                        d,
                    )
                }
                _ => {
                    let input = args_object(&mut r);
                    let name = tool_name(&mut r);
                    want.tools.push((name.clone(), input.clone()));
                    (
                        json!({"type": "tool_use", "id": format!("toolu_{index}"), "name": name, "input": {}}),
                        pieces(&mut r, &input.to_string())
                            .into_iter()
                            .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                            .collect(),
                    )
                }
            };
            events.push(
                json!({"type": "content_block_start", "index": index, "content_block": block}),
            );
            for d in deltas {
                if r.random_bool(0.1) {
                    events.push(json!({"type": "ping"}));
                }
                events.push(json!({"type": "content_block_delta", "index": index, "delta": d}));
            }
            events.push(json!({"type": "content_block_stop", "index": index}));
        }
        let stop = pick(
            &mut r,
            &[
                "end_turn",
                "tool_use",
                "max_tokens",
                "stop_sequence",
                "refusal",
                "pause_turn",
            ],
        );
        events.push(json!({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 9}}));
        events.push(json!({"type": "message_stop"}));
        let complete = r.random_bool(0.8);
        if !complete {
            events.truncate(r.random_range(1..events.len()));
        }

        let mut s = AnthropicToOpenAiStream::new("client", r.random_bool(0.5));
        let mut frames = Vec::new();
        for e in &events {
            frames.extend(s.push(&anthropic_event(e)));
        }
        frames.extend(s.finish());
        let (chunks, done) = frames_json(&frames);
        assert_eq!(done, 1, "case {case}");
        let mut datas: Vec<String> = chunks.iter().map(Value::to_string).collect();
        datas.push("[DONE]".into());
        validate_openai_stream(&datas)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{events:#?}\n{datas:#?}"));
        if complete {
            let mut got = Content::default();
            let mut args: Vec<(String, String)> = Vec::new();
            for c in &chunks {
                let d = c.pointer("/choices/0/delta").unwrap_or(&Value::Null);
                got.text.push_str(d["content"].as_str().unwrap_or(""));
                got.reasoning
                    .push_str(d["reasoning_content"].as_str().unwrap_or(""));
                for call in d["tool_calls"].as_array().into_iter().flatten() {
                    let i = call["index"].as_u64().unwrap() as usize;
                    if i == args.len() {
                        args.push((
                            call["function"]["name"].as_str().unwrap().into(),
                            String::new(),
                        ));
                    }
                    args[i]
                        .1
                        .push_str(call["function"]["arguments"].as_str().unwrap_or(""));
                }
            }
            got.tools = args
                .into_iter()
                .map(|(n, a)| (n, serde_json::from_str(&a).unwrap()))
                .collect();
            assert_eq!(got, want, "case {case}");
        }
    }
}

#[test]
fn random_openai_streams_convert_to_valid_anthropic_streams() {
    let mut r = StdRng::seed_from_u64(17);
    let chunk = |delta: Value, finish: Option<&str>| json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    for case in 0..CASES {
        let mut datas: Vec<Value> = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
        let mut want = Content::default();
        let mut tool_index = 0;
        for _ in 0..r.random_range(0..6) {
            match r.random_range(0..4) {
                0 => {
                    let t = text(&mut r);
                    want.reasoning.push_str(&t);
                    datas.extend(
                        pieces(&mut r, &t)
                            .into_iter()
                            .map(|p| chunk(json!({"reasoning_content": p}), None)),
                    );
                }
                1 | 2 => {
                    let t = text(&mut r);
                    want.text.push_str(&t);
                    datas.extend(
                        pieces(&mut r, &t)
                            .into_iter()
                            .map(|p| chunk(json!({"content": p}), None)),
                    );
                }
                _ => {
                    let input = args_object(&mut r);
                    let name = tool_name(&mut r).chars().take(64).collect::<String>();
                    want.tools.push((name.clone(), input.clone()));
                    let parts = pieces(&mut r, &input.to_string());
                    datas.push(chunk(json!({"tool_calls": [{"index": tool_index, "id": format!("call_{tool_index}"),
                        "type": "function", "function": {"name": name, "arguments": ""}}]}), None));
                    datas.extend(parts.into_iter().map(|p| {
                        chunk(json!({"tool_calls": [{"index": tool_index, "function": {"arguments": p}}]}), None)
                    }));
                    tool_index += 1;
                }
            }
            if r.random_bool(0.1) {
                datas.push(json!({"id": "c1", "object": "chat.completion.chunk", "choices": []}));
            }
        }
        let finish = pick(&mut r, &["stop", "length", "tool_calls", "content_filter"]);
        let last_is_text = datas
            .last()
            .is_some_and(|d| d.pointer("/choices/0/delta/content").is_some());
        if last_is_text && r.random_bool(0.5) {
            if let Some(last) = datas.last_mut() {
                last["choices"][0]["finish_reason"] = json!(finish);
            }
        } else {
            datas.push(chunk(json!({}), Some(finish)));
        }
        if r.random_bool(0.6) {
            datas.push(
                json!({"id": "c1", "object": "chat.completion.chunk", "choices": [],
                "usage": {"prompt_tokens": 10, "completion_tokens": 3}}),
            );
        }
        let mut datas: Vec<String> = datas.iter().map(Value::to_string).collect();
        if r.random_bool(0.7) {
            datas.push("[DONE]".into());
        }

        let mut s = OpenAiToAnthropicStream::new("client");
        let mut frames = Vec::new();
        for d in &datas {
            frames.extend(s.push(&data_event(d)));
        }
        frames.extend(s.finish());
        let events = frames_anthropic(&frames);
        validate_anthropic_stream(&events)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{datas:#?}\n{events:#?}"));
        assert_eq!(
            events.last().unwrap()["type"],
            "message_stop",
            "case {case}"
        );
        let mut got = Content::default();
        let mut tools: Vec<(String, String)> = Vec::new();
        for e in &events {
            match e["type"].as_str() {
                Some("content_block_start") if e["content_block"]["type"] == "tool_use" => {
                    tools.push((
                        e["content_block"]["name"].as_str().unwrap().into(),
                        String::new(),
                    ));
                }
                Some("content_block_delta") => {
                    let d = &e["delta"];
                    got.text.push_str(d["text"].as_str().unwrap_or(""));
                    got.reasoning.push_str(d["thinking"].as_str().unwrap_or(""));
                    if let Some(p) = d["partial_json"].as_str() {
                        tools.last_mut().unwrap().1.push_str(p);
                    }
                }
                _ => {}
            }
        }
        got.tools = tools
            .into_iter()
            .map(|(n, a)| (n, serde_json::from_str(&a).unwrap()))
            .collect();
        assert_eq!(got, want, "case {case}");
    }
}
