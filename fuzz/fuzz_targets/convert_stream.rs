//! Stream converters: never panic on any upstream stream, write only well-formed SSE
//! frames, and end exactly once (`[DONE]` last for OpenAI clients, `message_stop` or
//! `error` last for Anthropic clients), whatever the upstream sent; and an upstream
//! stream its format's stream validator accepts converts into one the client format's
//! validator accepts.
//!
//! Input: raw upstream SSE bytes, parsed by `SseParser` and fed to every converter
//! (Anthropic → OpenAI with and without usage, OpenAI → Anthropic, Chat → Responses,
//! Responses → Chat, chat → completions).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use llm_gateway::convert::gemini;
use llm_gateway::convert::responses::{ChatToResponsesStream, ResponsesCtx, ResponsesToChatStream};
use llm_gateway::convert::validate::{
    validate_anthropic_stream, validate_openai_stream, validate_responses_stream,
};
use llm_gateway::convert::{
    AnthropicToOpenAiStream, ChatToCompletionsStream, OpenAiToAnthropicStream, Value,
};
use llm_gateway::sse::Event;
use llm_gateway_fuzz::{check_frame, parse_events};

const MODEL: &str = "client-model";

/// Frames for an OpenAI client: no event names; `[DONE]` once, last. Returns the datas.
fn check_openai(frames: &[Bytes]) -> Vec<String> {
    let mut datas = Vec::new();
    for f in frames {
        let (ev, _) = check_frame(f);
        assert!(ev.event.is_empty(), "event name in an OpenAI frame: {f:?}");
        datas.push(ev.data);
    }
    let done = datas.iter().filter(|d| *d == "[DONE]").count();
    assert_eq!(done, 1, "[DONE] count: {datas:#?}");
    assert_eq!(
        datas.last().map(String::as_str),
        Some("[DONE]"),
        "{datas:#?}"
    );
    datas
}

/// Frames for an Anthropic client: `event:` is the payload's `type`; one terminal event
/// (`message_stop` or `error`), last. Returns the payloads.
fn check_anthropic(frames: &[Bytes]) -> Vec<Value> {
    let mut payloads = Vec::new();
    for f in frames {
        let (ev, v) = check_frame(f);
        let v = v.unwrap_or_else(|| panic!("[DONE] in an Anthropic stream: {f:?}"));
        assert_eq!(
            v.get("type").and_then(Value::as_str),
            Some(ev.event.as_str()),
            "event name is not the payload type: {f:?}"
        );
        payloads.push(v);
    }
    let terminal = |v: &Value| matches!(v["type"].as_str(), Some("message_stop" | "error"));
    let ends = payloads.iter().filter(|v| terminal(v)).count();
    assert_eq!(ends, 1, "terminal events: {payloads:#?}");
    assert!(payloads.last().is_some_and(terminal), "{payloads:#?}");
    payloads
}

fn run(events: &[Event], mut push: impl FnMut(&Event) -> Vec<Bytes>) -> Vec<Bytes> {
    events.iter().flat_map(&mut push).collect()
}

fuzz_target!(|input: &[u8]| {
    let events = parse_events(input);
    let upstream_json: Vec<Option<Value>> = events
        .iter()
        .map(|e| serde_json::from_str(&e.data).ok())
        .collect();

    // Anthropic upstream → OpenAI client.
    let anthropic_valid = upstream_json.iter().all(Option::is_some)
        && validate_anthropic_stream(&upstream_json.iter().flatten().cloned().collect::<Vec<_>>())
            .is_ok();
    for include_usage in [false, true] {
        let mut s = AnthropicToOpenAiStream::new(MODEL, include_usage);
        let mut frames = run(&events, |e| s.push(e));
        frames.extend(s.finish());
        assert!(s.finish().is_empty(), "a second finish wrote more");
        assert!(s.push(&Event::default()).is_empty());
        let datas = check_openai(&frames);
        if anthropic_valid && let Err(e) = validate_openai_stream(&datas) {
            panic!(
                "valid Anthropic stream → invalid OpenAI stream: {e}\nin: {events:#?}\nout: {datas:#?}"
            );
        }
    }

    // OpenAI upstream → Anthropic client.
    let openai_valid =
        validate_openai_stream(&events.iter().map(|e| e.data.clone()).collect::<Vec<_>>()).is_ok();
    let mut s = OpenAiToAnthropicStream::new(MODEL);
    let mut frames = run(&events, |e| s.push(e));
    frames.extend(s.finish());
    assert!(s.finish().is_empty(), "a second finish wrote more");
    let payloads = check_anthropic(&frames);
    if openai_valid && let Err(e) = validate_anthropic_stream(&payloads) {
        panic!(
            "valid OpenAI stream → invalid Anthropic stream: {e}\nin: {events:#?}\nout: {payloads:#?}"
        );
    }

    // Chat chunks → Responses stream: never a panic, and valid Chat in, valid out.
    let ctx = ResponsesCtx::of_request(&Value::Null, MODEL);
    let mut s = ChatToResponsesStream::new(ctx);
    let mut frames = run(&events, |e| s.push(e));
    frames.extend(s.finish());
    assert!(s.finish().is_empty(), "a second finish wrote more");
    let named: Vec<(String, Value)> = frames
        .iter()
        .map(|f| {
            let (ev, v) = check_frame(f);
            (ev.event, v.unwrap_or(Value::Null))
        })
        .collect();
    if openai_valid && let Err(e) = validate_responses_stream(&named) {
        panic!(
            "valid Chat stream → invalid Responses stream: {e}\nin: {events:#?}\nout: {named:#?}"
        );
    }

    // Gemini stream → Chat chunks: never a panic, well-formed frames, `[DONE]` once, last.
    for include_usage in [false, true] {
        let mut ctx = gemini::GeminiCtx::default();
        ctx.include_usage = include_usage;
        let mut s = gemini::GeminiToChatStream::new(ctx, MODEL);
        let mut frames = run(&events, |e| s.push(e));
        frames.extend(s.finish());
        assert!(s.finish().is_empty(), "a second finish wrote more");
        check_openai(&frames);
    }

    // Chat chunks → Gemini stream, both framings: never a panic; SSE events carry JSON,
    // and the array stream is one JSON array however the upstream ended.
    for framing in [gemini::Framing::Sse, gemini::Framing::JsonArray] {
        let ctx = gemini::GeminiClientCtx {
            model: MODEL.into(),
        };
        let mut s = gemini::ChatToGeminiStream::new(ctx, framing);
        let mut out = run(&events, |e| s.push(e));
        out.extend(s.finish());
        assert!(s.finish().is_empty(), "a second finish wrote more");
        if framing == gemini::Framing::JsonArray {
            let text: Vec<u8> = out.concat();
            let v: Value = serde_json::from_slice(&text).unwrap_or_else(|e| {
                panic!(
                    "not one JSON array ({e}): {}",
                    String::from_utf8_lossy(&text)
                )
            });
            assert!(v.is_array(), "{v}");
        } else {
            for f in &out {
                let text = std::str::from_utf8(f).expect("UTF-8 frame");
                let data = text
                    .strip_prefix("data: ")
                    .and_then(|t| t.strip_suffix("\r\n\r\n"))
                    .unwrap_or_else(|| panic!("not an SSE event: {text:?}"));
                serde_json::from_str::<Value>(data).expect("JSON in the event");
            }
        }
    }

    // Responses stream → Chat chunks: never a panic, well-formed and ended once.
    let mut s = ResponsesToChatStream::new(MODEL, true);
    let mut frames = run(&events, |e| s.push(e));
    frames.extend(s.finish());
    assert!(s.finish().is_empty(), "a second finish wrote more");
    check_openai(&frames);

    // Chat chunks → legacy completions chunks.
    let mut s = ChatToCompletionsStream::new(MODEL);
    let mut frames = run(&events, |e| s.push(e));
    frames.extend(s.finish());
    assert!(s.finish().is_empty(), "a second finish wrote more");
    check_openai(&frames);
});
