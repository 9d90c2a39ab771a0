//! Deterministic property tests for the Gemini stream converters: random valid Chat
//! chunk streams (reasoning, text, parallel tool calls with interleaved fragments,
//! usage) convert into Gemini chunks that carry the same text, thoughts and calls; and
//! those Gemini chunks, as an upstream's SSE stream, convert back into Chat streams —
//! and on into Anthropic streams — that the strict validators accept, with the same
//! content. Seeded `StdRng`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{ChatToGeminiStream, Framing, GeminiClientCtx, GeminiCtx, GeminiToChatStream};
use crate::convert::OpenAiToAnthropicStream;
use crate::convert::property_tests::{CASES, args_object, pick, text};
use crate::convert::responses::test_util::chunk;
use crate::convert::test_util::{data_event, frames_anthropic, frames_events, frames_json};
use crate::convert::validate::{validate_anthropic_stream, validate_openai_stream};

/// Gemini's SSE frames (`data: {...}\r\n\r\n`), each one whole event.
fn sse_events(frames: &[bytes::Bytes]) -> Vec<crate::sse::Event> {
    let mut parser = crate::sse::SseParser::default();
    let mut out = Vec::new();
    for f in frames {
        assert!(f.ends_with(b"\r\n\r\n"), "frame not terminated: {f:?}");
        let before = out.len();
        parser.feed(f, |e| out.push(e));
        assert_eq!(out.len(), before + 1, "one event per frame: {f:?}");
    }
    out
}

/// What a stream delivers: joined text, joined reasoning, calls (name, arguments).
#[derive(Debug, Default, PartialEq)]
struct Content {
    text: String,
    reasoning: String,
    calls: Vec<(String, Value)>,
}

/// Split `s` into 1..4 pieces at char boundaries.
fn pieces(r: &mut StdRng, s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut cuts: Vec<usize> = (0..r.random_range(0..3))
        .map(|_| r.random_range(0..=chars.len()))
        .collect();
    cuts.extend([0, chars.len()]);
    cuts.sort_unstable();
    cuts.windows(2)
        .map(|w| chars[w[0]..w[1]].iter().collect::<String>())
        .filter(|p| !p.is_empty())
        .collect()
}

/// A random Chat stream and what it carries. Text and reasoning come before the calls,
/// as models send them.
fn chat_stream(r: &mut StdRng) -> (Vec<String>, Content) {
    let mut want = Content::default();
    let mut datas = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    if r.random_bool(0.4) {
        let t = text(r);
        want.reasoning.push_str(&t);
        for p in pieces(r, &t) {
            datas.push(chunk(json!({"reasoning_content": p}), None));
        }
    }
    if r.random_bool(0.8) {
        let t = text(r);
        want.text.push_str(&t);
        for p in pieces(r, &t) {
            datas.push(chunk(json!({"content": p}), None));
        }
    }
    let calls = if r.random_bool(0.5) {
        r.random_range(1..4)
    } else {
        0
    };
    for i in 0..calls {
        // Parallel calls of one function must stay apart.
        let name = pick(r, &["get_weather", "Bash", "read_file"]).to_string();
        let args = args_object(r);
        want.calls.push((name.clone(), args.clone()));
        datas.push(chunk(
            json!({"tool_calls": [{"index": i, "id": format!("call_{i}"), "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            None,
        ));
        for p in pieces(r, &args.to_string()) {
            datas.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": p}}]}),
                None,
            ));
        }
    }
    let finish = if calls > 0 {
        "tool_calls"
    } else {
        pick(r, &["stop", "length"])
    };
    datas.push(chunk(json!({}), Some(finish)));
    datas.push(
        json!({"id": "c", "object": "chat.completion.chunk", "choices": [],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3}})
        .to_string(),
    );
    datas.push("[DONE]".into());
    (datas, want)
}

fn gemini_content(chunks: &[Value]) -> Content {
    let mut got = Content::default();
    for c in chunks {
        for p in c["candidates"][0]["content"]["parts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            match (p["text"].as_str(), p["thought"] == true) {
                (Some(t), true) => got.reasoning.push_str(t),
                (Some(t), false) => got.text.push_str(t),
                _ => {}
            }
            if let Some(f) = p.get("functionCall") {
                got.calls
                    .push((f["name"].as_str().unwrap_or("").into(), f["args"].clone()));
            }
        }
    }
    got
}

fn chat_content(chunks: &[Value]) -> Content {
    let mut got = Content::default();
    let mut args: Vec<(String, String)> = Vec::new();
    for c in chunks {
        let d = &c["choices"][0]["delta"];
        got.text.push_str(d["content"].as_str().unwrap_or(""));
        got.reasoning
            .push_str(d["reasoning_content"].as_str().unwrap_or(""));
        for tc in d["tool_calls"].as_array().into_iter().flatten() {
            let i = tc["index"].as_u64().unwrap_or(0) as usize;
            if args.len() <= i {
                args.resize(i + 1, Default::default());
            }
            if let Some(n) = tc["function"]["name"].as_str() {
                args[i].0 = n.to_string();
            }
            args[i].1 += tc["function"]["arguments"].as_str().unwrap_or("");
        }
    }
    got.calls = args
        .into_iter()
        .map(|(n, a)| (n, serde_json::from_str(&a).unwrap_or(Value::Null)))
        .collect();
    got
}

#[test]
fn random_chat_streams_convert_to_gemini_and_back_to_valid_streams() {
    let mut r = StdRng::seed_from_u64(43);
    for case in 0..CASES {
        let (datas, want) = chat_stream(&mut r);
        let ctx = GeminiClientCtx {
            model: "gemini-x".into(),
        };
        let mut out = ChatToGeminiStream::new(ctx, Framing::Sse);
        let mut frames = Vec::new();
        for d in &datas {
            frames.extend(out.push(&data_event(d)));
        }
        frames.extend(out.finish());
        let events = sse_events(&frames);
        let chunks: Vec<Value> = events
            .iter()
            .map(|e| serde_json::from_str(&e.data).unwrap())
            .collect();
        assert_eq!(gemini_content(&chunks), want, "case {case}: {chunks:#?}");
        let last = chunks.last().unwrap();
        assert!(
            last["candidates"][0]["finishReason"].is_string(),
            "case {case}"
        );
        assert!(
            last["usageMetadata"]["promptTokenCount"].is_u64(),
            "case {case}"
        );

        // Those chunks as a Gemini upstream's stream, back to Chat and on to Anthropic.
        let gctx = GeminiCtx {
            include_usage: true,
            ..Default::default()
        };
        let mut back = GeminiToChatStream::new(gctx, "gemini-x");
        let mut chat_frames = Vec::new();
        for e in &events {
            chat_frames.extend(back.push(e));
        }
        chat_frames.extend(back.finish());
        let datas: Vec<String> = frames_events(&chat_frames)
            .into_iter()
            .map(|e| e.data)
            .collect();
        validate_openai_stream(&datas).unwrap_or_else(|e| panic!("case {case}: {e}\n{datas:#?}"));
        let (chat_chunks, done) = frames_json(&chat_frames);
        assert_eq!(done, 1, "case {case}");
        assert_eq!(chat_content(&chat_chunks), want, "case {case}");
        // Ids: one per call, all different (two calls of one function too).
        let ids: std::collections::HashSet<&str> = chat_chunks
            .iter()
            .flat_map(|c| {
                c["choices"][0]["delta"]["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
            })
            .filter_map(|t| t["id"].as_str())
            .collect();
        assert_eq!(ids.len(), want.calls.len(), "case {case}");

        let mut ant = OpenAiToAnthropicStream::new("claude-x");
        let mut ant_frames = Vec::new();
        for e in frames_events(&chat_frames) {
            ant_frames.extend(ant.push(&e));
        }
        ant_frames.extend(ant.finish());
        let events = frames_anthropic(&ant_frames);
        validate_anthropic_stream(&events)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{events:#?}"));
    }
}
