//! Stream rules, checked the way an SDK accumulates a stream.
//!
//! Anthropic (payloads in order): `message_start` first, with empty content and usage;
//! blocks indexed 0, 1, 2… in start order, one open at a time; every delta and stop
//! addresses the open block with a delta type matching the block; each `tool_use`'s
//! `partial_json` pieces join into a JSON object (or nothing); exactly one
//! `message_delta`, after the last block closed, with a known `stop_reason`;
//! `message_stop` last. `ping` may come anywhere; an `error` event (even as the first
//! event) ends the stream. No
//! `[DONE]`.
//!
//! OpenAI (`data:` payloads in order): `[DONE]` exactly once, last; chunks are
//! `chat.completion.chunk`s (or one `{"error": ...}` just before `[DONE]`); the first
//! delta has `role: assistant`; tool call indices start at 0 and grow by one, the first
//! fragment of each carrying `id`, `type: function` and a name; each call's argument
//! fragments join into a JSON object; one `finish_reason`, with no content after it; at
//! most one usage chunk, with `choices: []`.

use serde_json::Value;

use super::{Res, kind};

const STOP_REASONS: &[&str] = &[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
];

fn joined_is_object(json: &str) -> bool {
    json.is_empty() || serde_json::from_str::<Value>(json).is_ok_and(|v| v.is_object())
}

/// Check a sequence of Anthropic stream event payloads.
pub fn validate_anthropic_stream(events: &[Value]) -> Res {
    let mut open: Option<(u64, String, String)> = None; // index, block type, joined json
    let mut started = 0u64;
    let mut seen_delta = false;
    let mut seen_stop = false;
    for (n, ev) in events.iter().enumerate() {
        let at = |what: &str| Err(format!("event {n} ({}): {what}", kind(ev)));
        if seen_stop {
            return at("nothing may follow message_stop");
        }
        if n == 0 && !matches!(kind(ev), "message_start" | "error") {
            return at("the stream must begin with message_start");
        }
        let index = ev.get("index").and_then(Value::as_u64);
        match kind(ev) {
            "message_start" => {
                if n != 0 {
                    return at("message_start must come first, once");
                }
                let msg = ev.get("message").unwrap_or(&Value::Null);
                if msg
                    .get("content")
                    .and_then(Value::as_array)
                    .is_none_or(|c| !c.is_empty())
                {
                    return at("message.content must be an empty array");
                }
                if msg
                    .pointer("/usage/input_tokens")
                    .and_then(Value::as_u64)
                    .is_none()
                {
                    return at("message.usage.input_tokens required");
                }
            }
            "content_block_start" => {
                if open.is_some() {
                    return at("a block is already open");
                }
                if seen_delta {
                    return at("no blocks after message_delta");
                }
                if index != Some(started) {
                    return at(&format!("index must be {started}"));
                }
                let block = ev.get("content_block").unwrap_or(&Value::Null);
                open = Some((started, kind(block).to_string(), String::new()));
                started += 1;
            }
            "content_block_delta" => {
                let Some((i, block, json)) = open.as_mut() else {
                    return at("no open block");
                };
                if index != Some(*i) {
                    return at("delta index is not the open block");
                }
                let delta = ev.get("delta").unwrap_or(&Value::Null);
                let ok = match (kind(delta), block.as_str()) {
                    ("text_delta", "text") | ("citations_delta", "text") => true,
                    ("thinking_delta" | "signature_delta", "thinking") => true,
                    ("input_json_delta", "tool_use" | "server_tool_use") => {
                        json.push_str(
                            delta
                                .get("partial_json")
                                .and_then(Value::as_str)
                                .unwrap_or(""),
                        );
                        true
                    }
                    _ => false,
                };
                if !ok {
                    return at("delta type does not match the block");
                }
            }
            "content_block_stop" => match open.take() {
                Some((i, _, json)) if index == Some(i) => {
                    if !joined_is_object(&json) {
                        return at(&format!("tool input does not parse as an object: {json}"));
                    }
                }
                _ => return at("stop does not match the open block"),
            },
            "message_delta" => {
                if open.is_some() || seen_delta {
                    return at("message_delta must come once, after all blocks closed");
                }
                let stop = ev.pointer("/delta/stop_reason").and_then(Value::as_str);
                if !stop.is_some_and(|s| STOP_REASONS.contains(&s)) {
                    return at("unknown stop_reason");
                }
                seen_delta = true;
            }
            "message_stop" => {
                if !seen_delta {
                    return at("message_stop before message_delta");
                }
                seen_stop = true;
            }
            "ping" => {}
            "error" => {
                if n + 1 != events.len() {
                    return at("an error event must end the stream");
                }
                return Ok(());
            }
            _ => return at("unknown event type"),
        }
    }
    if !seen_stop {
        return Err("the stream must end with message_stop".into());
    }
    Ok(())
}

/// Check a sequence of OpenAI stream `data:` payloads (including `[DONE]`).
pub fn validate_openai_stream(datas: &[String]) -> Res {
    let Some((last, chunks)) = datas.split_last() else {
        return Err("empty stream".into());
    };
    if last != "[DONE]" {
        return Err("the stream must end with [DONE]".into());
    }
    let mut first_delta = true;
    let mut finished = false;
    let mut usage_seen = false;
    let mut errored = false;
    let mut args: Vec<String> = Vec::new();
    for (n, data) in chunks.iter().enumerate() {
        let at = |what: &str| Err(format!("chunk {n}: {what}"));
        if data == "[DONE]" {
            return at("[DONE] must come exactly once, last");
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            return at("not JSON");
        };
        if chunk.get("error").is_some_and(Value::is_object) {
            if n + 1 != chunks.len() {
                return at("an error chunk must be followed only by [DONE]");
            }
            errored = true;
            continue;
        }
        if chunk.get("object").and_then(Value::as_str) != Some("chat.completion.chunk") {
            return at("object must be chat.completion.chunk");
        }
        let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
            return at("choices must be an array");
        };
        if choices.is_empty() {
            if !chunk.get("usage").is_some_and(Value::is_object) || usage_seen {
                return at("a chunk without choices must be the one usage chunk");
            }
            usage_seen = true;
            continue;
        }
        if usage_seen {
            return at("nothing but [DONE] after the usage chunk");
        }
        let choice = &choices[0];
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        if first_delta && delta.get("role").and_then(Value::as_str) != Some("assistant") {
            return at("the first delta must carry role: assistant");
        }
        first_delta = false;
        let has_content = ["content", "reasoning_content"].iter().any(|k| {
            delta
                .get(*k)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        });
        let calls = delta.get("tool_calls").and_then(Value::as_array);
        if finished && (has_content || calls.is_some()) {
            return at("content after finish_reason");
        }
        for call in calls.into_iter().flatten() {
            let Some(i) = call.get("index").and_then(Value::as_u64) else {
                return at("tool call without index");
            };
            let i = i as usize;
            if i == args.len() {
                if call
                    .get("id")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                    || kind(call) != "function"
                    || call
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                {
                    return at("the first fragment of a tool call needs id, type and name");
                }
                args.push(String::new());
            } else if i > args.len() {
                return at("tool call indices must grow by one from 0");
            }
            if let Some(a) = call.pointer("/function/arguments").and_then(Value::as_str) {
                args[i].push_str(a);
            }
        }
        if let Some(f) = choice.get("finish_reason").filter(|f| !f.is_null()) {
            if finished {
                return at("finish_reason given twice");
            }
            if !matches!(
                f.as_str(),
                Some("stop" | "length" | "tool_calls" | "content_filter" | "function_call")
            ) {
                return at("unknown finish_reason");
            }
            finished = true;
        }
    }
    if !finished && !errored {
        return Err("no finish_reason before [DONE]".into());
    }
    if errored {
        return Ok(()); // a failed stream may stop mid-argument
    }
    if let Some((i, a)) = args.iter().enumerate().find(|(_, a)| !joined_is_object(a)) {
        return Err(format!(
            "tool call {i} arguments do not parse as an object: {a}"
        ));
    }
    Ok(())
}
