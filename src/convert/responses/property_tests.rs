//! Deterministic property tests for the Responses stream converters: random valid Chat
//! chunk streams (reasoning with signatures, text, refusals, parallel tool calls with
//! interleaved fragments, custom tools, errors, truncation) convert into Responses
//! streams the strict validator accepts, and random valid Responses streams convert into
//! Chat streams — and on into Anthropic streams — that their validators accept, carrying
//! the same text, reasoning and tool input. Seeded `StdRng`.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::test_util::{RespBuilder, chunk, ctx, frames_responses, responses_event};
use super::{ChatToResponsesStream, ResponsesToChatStream};
use crate::convert::OpenAiToAnthropicStream;
use crate::convert::property_tests::{CASES, args_object, pick, text, tool_name};
use crate::convert::test_util::{data_event, frames_anthropic, frames_events, frames_json};
use crate::convert::validate::{
    validate_anthropic_stream, validate_openai_stream, validate_responses_stream,
};

/// Split `s` into 1..4 non-empty pieces at char boundaries.
fn pieces(r: &mut StdRng, s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut cuts: Vec<usize> = (0..r.random_range(0..3))
        .map(|_| r.random_range(0..=chars.len()))
        .collect();
    cuts.push(0);
    cuts.push(chars.len());
    cuts.sort_unstable();
    cuts.windows(2)
        .map(|w| chars[w[0]..w[1]].iter().collect::<String>())
        .filter(|p| !p.is_empty())
        .collect()
}

/// What a stream should deliver: joined text, joined reasoning, tool (name, input).
#[derive(Debug, Default, PartialEq)]
struct Content {
    text: String,
    reasoning: String,
    tools: Vec<(String, Value)>,
}

const CUSTOM: &str = "apply_patch";

#[test]
fn random_chat_streams_convert_to_valid_responses_streams() {
    let mut r = StdRng::seed_from_u64(29);
    for case in 0..CASES {
        let mut datas = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
        let mut want = Content::default();
        let mut next_tool = 0u64;
        for _ in 0..r.random_range(0..6) {
            match r.random_range(0..5) {
                0 => {
                    let t = text(&mut r);
                    want.reasoning.push_str(&t);
                    for p in pieces(&mut r, &t) {
                        datas.push(chunk(json!({"reasoning_content": p}), None));
                    }
                    if r.random_bool(0.6) {
                        let sig = pick(&mut r, &["sig", "lgw1.oai.enc"]);
                        datas.push(chunk(json!({"reasoning_signature": sig}), None));
                    }
                }
                1 | 2 => {
                    let t = text(&mut r);
                    want.text.push_str(&t);
                    let key = if r.random_bool(0.1) {
                        "refusal"
                    } else {
                        "content"
                    };
                    for p in pieces(&mut r, &t) {
                        datas.push(chunk(json!({key: p}), None));
                    }
                }
                _ => {
                    // 1..3 parallel calls, fragments interleaved by index.
                    let n = r.random_range(1..4);
                    let mut per_call: Vec<Vec<Value>> = Vec::new();
                    for _ in 0..n {
                        let index = next_tool;
                        next_tool += 1;
                        let (name, args, input) = if r.random_bool(0.25) {
                            let input = text(&mut r);
                            let args = json!({"input": input}).to_string();
                            (CUSTOM.to_string(), args, json!(input))
                        } else {
                            let a = args_object(&mut r);
                            let name = tool_name(&mut r).chars().take(64).collect::<String>();
                            (name, a.to_string(), a)
                        };
                        want.tools.push((name.clone(), input));
                        let mut frags = vec![json!({"index": index, "id": format!("call_{index}"),
                            "type": "function", "function": {"name": name, "arguments": ""}})];
                        for p in pieces(&mut r, &args) {
                            frags.push(json!({"index": index, "function": {"arguments": p}}));
                        }
                        per_call.push(frags);
                    }
                    // A random merge keeping each call's order, headers in index order.
                    let mut next = vec![0; n];
                    let mut started = 0;
                    loop {
                        let ready: Vec<usize> = (0..n)
                            .filter(|&k| {
                                next[k] < per_call[k].len() && (next[k] > 0 || k == started)
                            })
                            .collect();
                        let Some(&k) = ready.choose(&mut r) else {
                            break;
                        };
                        if next[k] == 0 {
                            started += 1;
                        }
                        datas.push(chunk(json!({"tool_calls": [per_call[k][next[k]]]}), None));
                        next[k] += 1;
                    }
                }
            }
        }
        let finish = pick(&mut r, &["stop", "length", "tool_calls", "content_filter"]);
        let finish_at = datas.len();
        datas.push(chunk(json!({}), Some(finish)));
        if r.random_bool(0.6) {
            datas.push(
                json!({"id": "c", "object": "chat.completion.chunk", "choices": [],
                "usage": {"prompt_tokens": 10, "completion_tokens": 3}})
                .to_string(),
            );
        }
        if r.random_bool(0.7) {
            datas.push("[DONE]".into());
        }
        let errored = r.random_bool(0.1);
        let truncated = !errored && r.random_bool(0.15);
        if errored {
            // Before the response could end (an error after it is never seen).
            datas.truncate(r.random_range(1..=finish_at));
            let err = pick(
                &mut r,
                &["rate limit", "Overloaded", "prompt is too long", "boom"],
            );
            datas.push(json!({"error": {"message": err, "type": "server_error"}}).to_string());
            datas.push("[DONE]".into());
        } else if truncated {
            let at = r.random_range(0..datas.len() - 1);
            datas.truncate(at.max(1));
            datas.retain(|d| d != "[DONE]");
            // Without its finish chunk the stream is cut short.
            datas.retain(|d| !d.contains("\"finish_reason\":\""));
        }

        let mut s = ChatToResponsesStream::new(ctx(&[CUSTOM]));
        let mut frames = Vec::new();
        for d in &datas {
            frames.extend(s.push(&data_event(d)));
        }
        frames.extend(s.finish());
        let events = frames_responses(&frames);
        validate_responses_stream(&events)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{datas:#?}\n{events:#?}"));
        let (last, data) = events.last().unwrap();
        if errored || truncated {
            assert_eq!(last, "response.failed", "case {case}");
            continue;
        }
        let want_last = match finish {
            "length" | "content_filter" => "response.incomplete",
            _ => "response.completed",
        };
        assert_eq!(last, want_last, "case {case}");
        let mut got = Content::default();
        for item in data["response"]["output"].as_array().unwrap() {
            match item["type"].as_str().unwrap() {
                "message" => {
                    for p in item["content"].as_array().unwrap() {
                        got.text
                            .push_str(p["text"].as_str().or(p["refusal"].as_str()).unwrap());
                    }
                }
                "reasoning" => got.reasoning.push_str(&super::common::reasoning_text(item)),
                "function_call" => got.tools.push((
                    item["name"].as_str().unwrap().into(),
                    serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap(),
                )),
                _ => got
                    .tools
                    .push((item["name"].as_str().unwrap().into(), item["input"].clone())),
            }
        }
        assert_eq!(got, want, "case {case}");
        assert_eq!(s.final_response(), Some(&data["response"]), "case {case}");
    }
}

#[test]
fn random_responses_streams_convert_to_valid_chat_and_anthropic_streams() {
    let mut r = StdRng::seed_from_u64(31);
    for case in 0..CASES {
        let mut b = RespBuilder::new();
        let mut want = Content::default();
        for _ in 0..r.random_range(0..6) {
            match r.random_range(0..5) {
                0 => {
                    let parts: Vec<String> =
                        (0..r.random_range(0..3)).map(|_| text(&mut r)).collect();
                    want.reasoning.push_str(&parts.join("\n\n"));
                    let split: Vec<Vec<String>> = parts.iter().map(|p| pieces(&mut r, p)).collect();
                    let enc = pick(&mut r, &["", "gAAA", "lgw1.ant.sig"]);
                    b.reasoning(&split, (!enc.is_empty()).then_some(enc));
                }
                1 | 2 => {
                    let t = text(&mut r);
                    want.text.push_str(&t);
                    b.message(&pieces(&mut r, &t));
                }
                3 => {
                    let a = args_object(&mut r);
                    let name = tool_name(&mut r).chars().take(64).collect::<String>();
                    want.tools.push((name.clone(), a.clone()));
                    let id = format!("call_{}", want.tools.len());
                    b.function_call(&id, &name, &pieces(&mut r, &a.to_string()));
                }
                _ => {
                    let input = text(&mut r);
                    want.tools.push((CUSTOM.into(), json!({"input": input})));
                    let id = format!("call_{}", want.tools.len());
                    b.custom_call(&id, CUSTOM, &pieces(&mut r, &input));
                }
            }
        }
        let (status, reason) = match r.random_range(0..6) {
            0 => ("incomplete", Some("max_output_tokens")),
            1 => (
                "failed",
                Some(pick(&mut r, &["rate_limit_exceeded", "server_error"])),
            ),
            _ => ("completed", None),
        };
        let mut events = b.end(status, reason);
        let named: Vec<(String, Value)> = events
            .iter()
            .map(|e| (e["type"].as_str().unwrap().to_string(), e.clone()))
            .collect();
        validate_responses_stream(&named).unwrap_or_else(|e| panic!("case {case}: input {e}"));
        let truncated = r.random_bool(0.15);
        if truncated {
            events.truncate(r.random_range(0..events.len()));
        }

        let mut s = ResponsesToChatStream::new("client", r.random_bool(0.5));
        let mut frames = Vec::new();
        for e in &events {
            frames.extend(s.push(&responses_event(e)));
        }
        frames.extend(s.finish());
        let (chunks, done) = frames_json(&frames);
        assert_eq!(done, 1, "case {case}");
        let mut datas: Vec<String> = chunks.iter().map(Value::to_string).collect();
        datas.push("[DONE]".into());
        validate_openai_stream(&datas)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{events:#?}\n{datas:#?}"));

        let mut a = OpenAiToAnthropicStream::new("claude-client");
        let mut out = Vec::new();
        for ev in frames_events(&frames) {
            out.extend(a.push(&ev));
        }
        out.extend(a.finish());
        let anth = frames_anthropic(&out);
        validate_anthropic_stream(&anth)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{datas:#?}\n{anth:#?}"));

        let failed = truncated || status == "failed";
        assert_eq!(
            chunks.last().unwrap().get("error").is_some(),
            failed,
            "case {case}"
        );
        if failed {
            continue;
        }
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
        // Consecutive reasoning items join without a separator in Chat.
        assert_eq!(got, want, "case {case}");
        let last = chunks
            .iter()
            .rev()
            .find(|c| c["choices"][0]["finish_reason"].is_string());
        let finish = last.unwrap()["choices"][0]["finish_reason"]
            .as_str()
            .unwrap();
        let want_finish = match (status, want.tools.is_empty()) {
            ("incomplete", _) => "length",
            (_, false) => "tool_calls",
            _ => "stop",
        };
        assert_eq!(finish, want_finish, "case {case}");
    }
}
