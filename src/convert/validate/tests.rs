//! Each validator rule rejects what it should (and a minimal request passes).

use serde_json::{Value, json};

use super::*;

/// An expected error fragment and the change to a valid body that should cause it.
type Case = (&'static str, Box<dyn FnOnce(&mut Value)>);

fn anthropic(patch: impl FnOnce(&mut Value)) -> Result<(), String> {
    let mut body = json!({"model": "c", "max_tokens": 2000, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
            {"type": "text", "text": "go on"}]},
    ], "tools": [{"name": "f", "input_schema": {"type": "object"}}]});
    patch(&mut body);
    validate_anthropic_request(&body)
}

fn openai(patch: impl FnOnce(&mut Value)) -> Result<(), String> {
    let mut body = json!({"model": "g", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ], "tools": [{"type": "function", "function": {"name": "f"}}]});
    patch(&mut body);
    validate_openai_request(&body)
}

#[test]
fn anthropic_rules() {
    assert_eq!(anthropic(|_| {}), Ok(()));
    let cases: Vec<Case> = vec![
        (
            "max_tokens",
            Box::new(|b| drop(b.as_object_mut().unwrap().remove("max_tokens"))),
        ),
        (
            "non-whitespace",
            Box::new(|b| b["messages"][2]["content"][1]["text"] = json!("  ")),
        ),
        (
            "without tool_result",
            Box::new(|b| b["messages"][2]["content"] = json!("plain")),
        ),
        (
            "unexpected tool_use_id",
            Box::new(|b| {
                let c = b["messages"][2]["content"].as_array_mut().unwrap();
                c.insert(1, json!({"type": "tool_result", "tool_use_id": "t2"}));
            }),
        ),
        (
            "^[a-zA-Z0-9_-]+$",
            Box::new(|b| b["messages"][1]["content"][0]["id"] = json!("t.1")),
        ),
        (
            "must define tools",
            Box::new(|b| drop(b.as_object_mut().unwrap().remove("tools"))),
        ),
        (
            "come first",
            Box::new(|b| {
                let c = b["messages"][2]["content"].as_array_mut().unwrap();
                c.reverse();
            }),
        ),
        ("temperature", Box::new(|b| b["temperature"] = json!(1.5))),
        (
            "less than max_tokens",
            Box::new(|b| b["thinking"] = json!({"type": "enabled", "budget_tokens": 2000})),
        ),
        (
            ">= 1024",
            Box::new(|b| b["thinking"] = json!({"type": "enabled", "budget_tokens": 500})),
        ),
        (
            "start with a thinking block",
            Box::new(|b| b["thinking"] = json!({"type": "enabled", "budget_tokens": 1024})),
        ),
        (
            "trailing whitespace",
            Box::new(|b| {
                b["messages"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"role": "assistant", "content": "ok "}))
            }),
        ),
        (
            "not allowed in a user",
            Box::new(|b| {
                b["messages"][0]["content"] =
                    json!([{"type": "tool_use", "id": "x", "name": "f", "input": {}}])
            }),
        ),
        (
            "media type",
            Box::new(
                |b| b["messages"][0]["content"] = json!([{"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "AA"}}]),
            ),
        ),
        (
            "role",
            Box::new(|b| b["messages"][0]["role"] = json!("tool")),
        ),
        (
            "not a declared tool",
            Box::new(|b| b["tool_choice"] = json!({"type": "tool", "name": "g"})),
        ),
        (
            "non-whitespace strings",
            Box::new(|b| b["stop_sequences"] = json!(["\n"])),
        ),
    ];
    for (want, patch) in cases {
        let err = anthropic(patch).expect_err(want);
        assert!(err.contains(want), "{want:?} not in {err:?}");
    }
}

#[test]
fn openai_rules() {
    assert_eq!(openai(|_| {}), Ok(()));
    let cases: Vec<Case> = vec![
        (
            "must be followed by tool messages",
            Box::new(|b| b["messages"][2] = json!({"role": "user", "content": "x"})),
        ),
        (
            "preceding message with 'tool_calls'",
            Box::new(|b| b["messages"][2]["tool_call_id"] = json!("c9")),
        ),
        (
            "must be a string",
            Box::new(|b| b["messages"][1]["tool_calls"][0]["function"]["arguments"] = json!({})),
        ),
        (
            "at most 4",
            Box::new(|b| b["stop"] = json!(["a", "b", "c", "d", "e"])),
        ),
        ("between 1 and 128", Box::new(|b| b["n"] = json!(0))),
        (
            "only allowed when tools",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("tools");
                b["messages"] = json!([{"role": "user", "content": "x"}]);
                b["tool_choice"] = json!("auto");
            }),
        ),
        (
            "word 'json'",
            Box::new(|b| b["response_format"] = json!({"type": "json_object"})),
        ),
        (
            "{1,64}",
            Box::new(|b| b["tools"][0]["function"]["name"] = json!("x".repeat(65))),
        ),
        (
            "only allowed when stream",
            Box::new(|b| b["stream_options"] = json!({"include_usage": true})),
        ),
        ("temperature", Box::new(|b| b["temperature"] = json!(2.5))),
        (
            "unknown role",
            Box::new(|b| b["messages"][0]["role"] = json!("robot")),
        ),
        (
            "needs content or tool_calls",
            Box::new(|b| b["messages"][1] = json!({"role": "assistant"})),
        ),
    ];
    for (want, patch) in cases {
        let err = openai(patch).expect_err(want);
        assert!(err.contains(want), "{want:?} not in {err:?}");
    }
}

#[test]
fn stream_rules() {
    let start =
        json!({"type": "message_start", "message": {"content": [], "usage": {"input_tokens": 0}}});
    let open = |i: u64| json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}});
    let stop = |i: u64| json!({"type": "content_block_stop", "index": i});
    let delta = json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}});
    let end = json!({"type": "message_stop"});
    let ok = [
        start.clone(),
        open(0),
        stop(0),
        open(1),
        stop(1),
        delta.clone(),
        end.clone(),
    ];
    assert_eq!(validate_anthropic_stream(&ok), Ok(()));
    assert!(
        validate_anthropic_stream(&[start.clone(), open(1), stop(1), delta.clone(), end.clone()])
            .is_err()
    );
    assert!(
        validate_anthropic_stream(&[start.clone(), open(0), open(1), delta.clone(), end.clone()])
            .is_err()
    );
    assert!(validate_anthropic_stream(&[start.clone(), delta.clone()]).is_err());
    let datas = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let first = r#"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#;
    let fin = r#"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
    assert_eq!(
        validate_openai_stream(&datas(&[first, fin, "[DONE]"])),
        Ok(())
    );
    assert!(validate_openai_stream(&datas(&[first, fin, "[DONE]", "[DONE]"])).is_err());
    assert!(validate_openai_stream(&datas(&[first, fin])).is_err());
    let tool1 = r#"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"a","type":"function","function":{"name":"f","arguments":""}}]}}]}"#;
    assert!(validate_openai_stream(&datas(&[first, tool1, fin, "[DONE]"])).is_err());
}
