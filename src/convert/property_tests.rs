//! Deterministic property tests for requests: random valid requests of each format
//! convert into requests the other format's validator accepts. A hand-rolled generator
//! over a seeded `StdRng`, so failures reproduce exactly. Streams: `property_stream_tests`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::validate::{validate_anthropic_request, validate_openai_request};
use super::*;

pub(super) const CASES: u64 = 300;
const WORDS: &[&str] = &[
    "hello", "world", "json", "über", "数据", "a\"b", "x\ny", "{", "}", "🙂", "tab\t",
];

pub(super) fn text(r: &mut StdRng) -> String {
    let n = r.random_range(1..6);
    let words: Vec<&str> = (0..n)
        .map(|_| WORDS[r.random_range(0..WORDS.len())])
        .collect();
    words.join(" ")
}

pub(super) fn pick<'a>(r: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[r.random_range(0..items.len())]
}

pub(super) fn args_object(r: &mut StdRng) -> Value {
    let mut obj = serde_json::Map::new();
    for k in 0..r.random_range(0..4) {
        let v = match r.random_range(0..3) {
            0 => json!(text(r)),
            1 => json!(r.random_range(0..1000)),
            _ => json!({"nested": [1, text(r)]}),
        };
        obj.insert(format!("k{k}"), v);
    }
    Value::Object(obj)
}

pub(super) fn tool_name(r: &mut StdRng) -> String {
    match r.random_range(0..4) {
        0 => format!(
            "mcp__server__{}",
            "long_segment_".repeat(r.random_range(5..8))
        ),
        n => format!("tool_{n}"),
    }
}

fn openai_request(r: &mut StdRng) -> Value {
    let mut msgs = Vec::new();
    if r.random_bool(0.5) {
        msgs.push(json!({"role": "system", "content": text(r)}));
    }
    let mut names: Vec<String> = Vec::new();
    let mut call_no = 0;
    for _ in 0..r.random_range(1..5) {
        let content = if r.random_bool(0.7) {
            json!(format!("{} json", text(r)))
        } else {
            json!([{"type": "text", "text": text(r)},
                {"type": "image_url", "image_url": {"url": pick(r, &["data:image/png;base64,iVBO", "https://e.com/i.jpg"])}}])
        };
        msgs.push(json!({"role": "user", "content": content}));
        if r.random_bool(0.2) {
            msgs.push(json!({"role": "developer", "content": text(r)}));
        }
        if r.random_bool(0.5) {
            let n = r.random_range(1..4);
            let mut calls = Vec::new();
            for _ in 0..n {
                call_no += 1;
                let name = tool_name(r).chars().take(64).collect::<String>();
                if !names.contains(&name) {
                    names.push(name.clone());
                }
                let args = if r.random_bool(0.9) {
                    args_object(r).to_string()
                } else {
                    "{\"broken".into()
                };
                let id = if r.random_bool(0.3) {
                    format!("call.{call_no}:x")
                } else {
                    format!("call_{call_no}")
                };
                calls.push(json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}));
            }
            let content = if r.random_bool(0.5) {
                json!(text(r))
            } else {
                Value::Null
            };
            let mut assistant =
                json!({"role": "assistant", "content": content, "tool_calls": calls.clone()});
            if r.random_bool(0.3) {
                assistant["reasoning_content"] = json!(text(r));
                assistant["reasoning_signature"] = json!("sig");
            }
            msgs.push(assistant);
            for c in calls {
                msgs.push(json!({"role": "tool", "tool_call_id": c["id"], "content": text(r)}));
            }
        } else {
            msgs.push(json!({"role": "assistant", "content": text(r)}));
        }
    }
    if r.random_bool(0.7) {
        msgs.push(json!({"role": "user", "content": text(r)}));
    }
    let mut body = json!({"model": "gpt-4o", "messages": msgs});
    if !names.is_empty() && r.random_bool(0.8) || r.random_bool(0.2) {
        if names.is_empty() {
            names.push("lookup".into());
        }
        let tools: Vec<Value> = names
            .iter()
            .map(|n| json!({"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}))
            .collect();
        body["tools"] = json!(tools);
        match r.random_range(0..5) {
            0 => body["tool_choice"] = json!("auto"),
            1 => body["tool_choice"] = json!("required"),
            2 => body["tool_choice"] = json!("none"),
            3 => body["tool_choice"] = json!({"type": "function", "function": {"name": names[0]}}),
            _ => {}
        }
        if r.random_bool(0.3) {
            body["parallel_tool_calls"] = json!(r.random_bool(0.5));
        }
    }
    if r.random_bool(0.5) {
        body["temperature"] = json!(r.random_range(0.0..2.0));
    }
    if r.random_bool(0.3) {
        body["top_p"] = json!(r.random_range(0.0..1.0));
    }
    match r.random_range(0..3) {
        0 => body["max_tokens"] = json!(r.random_range(1..5000)),
        1 => body["max_completion_tokens"] = json!(r.random_range(1..5000)),
        _ => {}
    }
    if r.random_bool(0.4) {
        body["reasoning_effort"] = json!(pick(r, &["none", "minimal", "low", "medium", "high"]));
    }
    if r.random_bool(0.3) {
        let stops: Vec<&str> = (0..r.random_range(1..5))
            .map(|_| pick(r, &["END", " ", "\n\n", "stop"]))
            .collect();
        body["stop"] = json!(stops);
    }
    if r.random_bool(0.2) {
        body["response_format"] = if r.random_bool(0.5) {
            // OpenAI wants the word "json" in the messages for JSON mode.
            if let Some(msgs) = body["messages"].as_array_mut() {
                msgs.insert(0, json!({"role": "system", "content": "Answer in JSON."}));
            }
            json!({"type": "json_object"})
        } else {
            json!({"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}})
        };
    }
    if r.random_bool(0.5) {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    if r.random_bool(0.3) {
        body["user"] = json!("user-1");
    }
    body
}

fn anthropic_request(r: &mut StdRng) -> Value {
    let thinking = r.random_bool(0.3);
    let mut msgs = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut id_no = 0;
    let mut pending_results: Vec<Value> = Vec::new();
    for turn in 0..r.random_range(1..5) {
        let mut user: Vec<Value> = std::mem::take(&mut pending_results);
        user.push(json!({"type": "text", "text": text(r)}));
        if r.random_bool(0.2) {
            user.push(json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}));
        }
        if r.random_bool(0.1) {
            user.push(json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}));
        }
        msgs.push(json!({"role": "user", "content": user}));
        if r.random_bool(0.15) {
            msgs.push(json!({"role": "user", "content": text(r)}));
        }
        if turn > 0 && r.random_bool(0.2) {
            msgs.push(json!({"role": "system", "content": text(r)}));
        }
        let mut blocks = Vec::new();
        if thinking || r.random_bool(0.2) {
            blocks.push(json!({"type": "thinking", "thinking": text(r), "signature": "sig"}));
        }
        if r.random_bool(0.7) {
            blocks.push(json!({"type": "text", "text": text(r)}));
        }
        if r.random_bool(0.5) {
            for _ in 0..r.random_range(1..4) {
                id_no += 1;
                let name = tool_name(r);
                if !names.contains(&name) {
                    names.push(name.clone());
                }
                let id = format!("toolu_{id_no}");
                blocks.push(
                    json!({"type": "tool_use", "id": id, "name": name, "input": args_object(r)}),
                );
                let content = match r.random_range(0..3) {
                    0 => json!(text(r)),
                    1 => json!([{"type": "text", "text": text(r)},
                        {"type": "image", "source": {"type": "url", "url": "https://e.com/a.png"}}]),
                    _ => json!([{"type": "text", "text": text(r)}]),
                };
                pending_results.push(json!({"type": "tool_result", "tool_use_id": id,
                    "content": content, "is_error": r.random_bool(0.2)}));
            }
        }
        if blocks.is_empty() {
            blocks.push(json!({"type": "text", "text": text(r)}));
        }
        msgs.push(json!({"role": "assistant", "content": blocks}));
    }
    let mut last: Vec<Value> = std::mem::take(&mut pending_results);
    last.push(json!({"type": "text", "text": text(r)}));
    msgs.push(json!({"role": "user", "content": last}));

    let max_tokens = r.random_range(2048..30000);
    let mut body =
        json!({"model": "claude-sonnet-4-5", "max_tokens": max_tokens, "messages": msgs});
    if r.random_bool(0.5) {
        body["system"] = if r.random_bool(0.5) {
            json!(text(r))
        } else {
            json!([{"type": "text", "text": text(r)}, {"type": "text", "text": text(r), "cache_control": {"type": "ephemeral"}}])
        };
    }
    if !names.is_empty() || r.random_bool(0.2) {
        if names.is_empty() {
            names.push("lookup".into());
        }
        let mut tools: Vec<Value> = names
            .iter()
            .map(|n| json!({"name": n, "description": text(r), "input_schema": {"type": "object", "properties": {}}}))
            .collect();
        if r.random_bool(0.2) {
            tools.push(json!({"type": "web_search_20250305", "name": "web_search"}));
        }
        body["tools"] = json!(tools);
        let k = r.random_range(0..5);
        // Thinking refuses forced tool use.
        let k = if thinking && (k == 2 || k == 3) { 4 } else { k };
        match k {
            0 => {
                body["tool_choice"] =
                    json!({"type": "auto", "disable_parallel_tool_use": r.random_bool(0.5)})
            }
            1 => body["tool_choice"] = json!({"type": "none"}),
            2 => body["tool_choice"] = json!({"type": "any"}),
            3 => body["tool_choice"] = json!({"type": "tool", "name": names[0]}),
            _ => {}
        }
    }
    if thinking {
        body["thinking"] =
            json!({"type": "enabled", "budget_tokens": r.random_range(1024..max_tokens)});
    } else {
        if r.random_bool(0.5) {
            body["temperature"] = json!(r.random_range(0.0..1.0));
        }
        if r.random_bool(0.3) {
            body["top_k"] = json!(r.random_range(1..100));
        }
    }
    if r.random_bool(0.3) {
        let stops: Vec<String> = (0..r.random_range(1..7)).map(|_| text(r)).collect();
        body["stop_sequences"] = json!(stops);
    }
    if r.random_bool(0.2) {
        body["output_config"] =
            json!({"format": {"type": "json_schema", "schema": {"type": "object"}}});
    }
    if r.random_bool(0.5) {
        body["stream"] = json!(true);
    }
    if r.random_bool(0.3) {
        body["metadata"] = json!({"user_id": "u_1"});
    }
    body
}

#[test]
fn random_openai_requests_convert_to_valid_anthropic_requests() {
    let mut r = StdRng::seed_from_u64(7);
    let opts = RequestOptions {
        upstream_model: "claude-sonnet-4-5".into(),
        ..Default::default()
    };
    for case in 0..CASES {
        let body = openai_request(&mut r);
        validate_openai_request(&body)
            .unwrap_or_else(|e| panic!("case {case}: generator: {e}\n{body:#}"));
        let out = openai_to_anthropic_request(&body, &opts)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{body:#}"));
        validate_anthropic_request(&out)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{body:#}\n{out:#}"));
    }
}

#[test]
fn random_anthropic_requests_convert_to_valid_openai_requests() {
    let mut r = StdRng::seed_from_u64(11);
    let opts = RequestOptions {
        upstream_model: "gpt-4o".into(),
        ..Default::default()
    };
    for case in 0..CASES {
        let body = anthropic_request(&mut r);
        validate_anthropic_request(&body)
            .unwrap_or_else(|e| panic!("case {case}: generator: {e}\n{body:#}"));
        let out = anthropic_to_openai_request(&body, &opts)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{body:#}"));
        validate_openai_request(&out)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{body:#}\n{out:#}"));
    }
}

/// Replace one random node of `v` with an odd value.
fn mutate(r: &mut StdRng, v: &mut Value) {
    let deeper = r.random_bool(0.7);
    match v {
        Value::Object(m) if deeper && !m.is_empty() => {
            let k = r.random_range(0..m.len());
            if let Some(n) = m.values_mut().nth(k) {
                return mutate(r, n);
            }
        }
        Value::Array(a) if deeper && !a.is_empty() => {
            let k = r.random_range(0..a.len());
            return mutate(r, &mut a[k]);
        }
        _ => {}
    }
    let odd = [
        json!(null),
        json!(7),
        json!("x"),
        json!([]),
        json!({}),
        json!(-1.5),
        json!([{}]),
    ];
    *v = odd[r.random_range(0..odd.len())].clone();
}

#[test]
fn mutated_bodies_never_panic() {
    let mut r = StdRng::seed_from_u64(23);
    let opts = RequestOptions {
        upstream_model: "m".into(),
        ..Default::default()
    };
    for _ in 0..CASES * 2 {
        let mut a = openai_request(&mut r);
        let mut b = anthropic_request(&mut r);
        for _ in 0..r.random_range(1..4) {
            mutate(&mut r, &mut a);
            mutate(&mut r, &mut b);
        }
        for body in [&a, &b] {
            let _ = openai_to_anthropic_request(body, &opts);
            let _ = anthropic_to_openai_request(body, &opts);
            let _ = completions_to_chat_request(body);
            let _ = validate_openai_request(body);
            let _ = validate_anthropic_request(body);
            let _ = anthropic_to_openai_response(body, "m");
            let _ = openai_to_anthropic_response(body, "m");
            let _ = chat_to_completions_response(body);
            let _ = merge_system_messages(body);
            let bytes = body.to_string();
            let _ = error_to_openai(500, bytes.as_bytes());
            let _ = error_to_anthropic(500, bytes.as_bytes());
            let ev = crate::sse::Event {
                event: String::new(),
                data: bytes,
            };
            let _ = AnthropicToOpenAiStream::new("m", true).push(&ev);
            let _ = OpenAiToAnthropicStream::new("m").push(&ev);
            let _ = ChatToCompletionsStream::new("m").push(&ev);
        }
    }
}

fn opts_for(model: &str, keep_reasoning: bool) -> RequestOptions {
    RequestOptions {
        upstream_model: model.into(),
        keep_reasoning,
    }
}

#[test]
fn random_chat_requests_convert_to_valid_responses_requests_and_back() {
    use super::responses::{chat_to_responses_request, responses_to_chat_request};
    use super::validate_responses_request;
    let mut r = StdRng::seed_from_u64(31);
    for case in 0..CASES {
        let body = openai_request(&mut r);
        validate_openai_request(&body)
            .unwrap_or_else(|e| panic!("case {case}: generator: {e}\n{body:#}"));
        for model in ["gpt-4.1", "gpt-5"] {
            let out = chat_to_responses_request(&body, &opts_for(model, false))
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{body:#}"));
            validate_responses_request(&out)
                .unwrap_or_else(|e| panic!("case {case} {model}: {e}\n{body:#}\n{out:#}"));
            // And that Responses request, as a client's, on to Chat and to Anthropic.
            let chat = responses_to_chat_request(&out, &opts_for("gpt-4o", false))
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{out:#}"));
            validate_openai_request(&chat)
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{body:#}\n{out:#}\n{chat:#}"));
            let chat = responses_to_chat_request(&out, &opts_for("claude-x", true))
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{out:#}"));
            let ant = openai_to_anthropic_request(&chat, &opts_for("claude-x", true))
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{chat:#}"));
            validate_anthropic_request(&ant)
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{out:#}\n{ant:#}"));
        }
    }
}

#[test]
fn random_anthropic_requests_convert_to_valid_responses_requests() {
    use super::responses::chat_to_responses_request;
    use super::validate_responses_request;
    let mut r = StdRng::seed_from_u64(37);
    for case in 0..CASES {
        let body = anthropic_request(&mut r);
        let chat = anthropic_to_openai_request(&body, &opts_for("gpt-5", true))
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{body:#}"));
        let out = chat_to_responses_request(&chat, &opts_for("gpt-5", false))
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{chat:#}"));
        validate_responses_request(&out)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{body:#}\n{out:#}"));
    }
}

#[test]
fn random_chat_and_anthropic_requests_convert_to_valid_gemini_requests_and_back() {
    use super::gemini::{chat_to_gemini_request, gemini_to_chat_request};
    let mut r = StdRng::seed_from_u64(41);
    let model = "gemini-3-pro-preview";
    let mut converted = 0;
    for case in 0..CASES {
        let chat = openai_request(&mut r);
        let anthropic = anthropic_request(&mut r);
        let via_chat = anthropic_to_openai_request(&anthropic, &opts_for(model, true))
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{anthropic:#}"));
        for body in [chat, via_chat] {
            let out = match chat_to_gemini_request(&body, &opts_for(model, false)) {
                Ok((g, _)) => g,
                // `n` > 1 and more than 5 stop sequences are refused, by design.
                Err(ConvertError::Unsupported(_)) => continue,
                Err(e) => panic!("case {case}: {e}\n{body:#}"),
            };
            converted += 1;
            validate_gemini_request(&out, model)
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{body:#}\n{out:#}"));
            // That Gemini request, as a Gemini client's, on to Chat and to Anthropic.
            let (chat, _) = gemini_to_chat_request(&out, "gemini-x", r.random_bool(0.5))
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{out:#}"));
            validate_openai_request(&chat)
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{out:#}\n{chat:#}"));
            let ant = openai_to_anthropic_request(&chat, &opts_for("claude-x", true))
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{chat:#}"));
            validate_anthropic_request(&ant)
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{chat:#}\n{ant:#}"));
        }
    }
    assert!(
        converted > CASES,
        "only {converted} of {} converted",
        2 * CASES
    );
}
