//! Golden tests: OpenAI Chat Completions requests → Anthropic Messages requests.

use super::*;
use crate::convert::validate_anthropic_request;

fn opts() -> RequestOptions {
    RequestOptions {
        upstream_model: "claude-sonnet-4-5".into(),
        ..Default::default()
    }
}

fn convert(body: Value) -> Value {
    let out = openai_to_anthropic_request(&body, &opts()).unwrap();
    validate_anthropic_request(&out).unwrap_or_else(|e| panic!("{e}\n{out:#}"));
    out
}

#[test]
fn system_anywhere_params_and_defaults() {
    let out = convert(json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Use English."}]},
            {"role": "user", "content": "   "},
            {"role": "user", "content": [{"type": "text", "text": "How are you?"}]},
        ],
        "temperature": 1.7, "stop": ["END", "  ", "\n"], "user": "u-1",
        "seed": 3, "presence_penalty": 0.5, "stream": true,
        "stream_options": {"include_usage": true},
    }));
    assert_eq!(
        out,
        json!({
            "model": "claude-sonnet-4-5",
            "system": "Be brief.\n\nUse English.",
            "max_tokens": 4096,
            "stop_sequences": ["END"],
            "temperature": 1.0,
            "metadata": {"user_id": "u-1"},
            "stream": true,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Hi"},
                {"type": "text", "text": "How are you?"},
            ]}],
        })
    );
}

#[test]
fn system_with_cache_control_stays_blocks() {
    let out = convert(
        json!({"model": "m", "max_completion_tokens": 100, "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Long prompt", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": "Q"},
        ]}),
    );
    assert_eq!(
        out["system"],
        json!([{"type": "text", "text": "Long prompt", "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(out["max_tokens"], 100);
}

#[test]
fn tools_parallel_calls_and_results() {
    let out = convert(json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call.2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":"}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "user", "content": "and quickly"},
            {"role": "tool", "tool_call_id": "call.2", "content": [{"type": "text", "text": "21C"}]},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
    }));
    let id2 = crate::convert::common::sanitize_id("call.2");
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": id2, "name": "get_weather", "input": {"_raw": "{\"city\":"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": id2, "content": [{"type": "text", "text": "21C"}]},
                {"type": "text", "text": "and quickly"},
            ]},
        ])
    );
    assert_eq!(
        out["tools"],
        json!([{"name": "get_weather", "description": "Weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
    );
    assert_eq!(
        out["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
}

#[test]
fn tool_choice_shapes() {
    let base = |choice: Value| {
        convert(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": choice}),
        )
    };
    assert_eq!(base(json!("auto"))["tool_choice"], json!({"type": "auto"}));
    assert_eq!(base(json!("none"))["tool_choice"], json!({"type": "none"}));
    assert_eq!(
        base(json!({"type": "function", "function": {"name": "f"}}))["tool_choice"],
        json!({"type": "tool", "name": "f"})
    );
    assert_eq!(
        base(json!("auto"))["tools"][0]["input_schema"],
        json!({"type": "object", "properties": {}})
    );
}

#[test]
fn history_tool_calls_without_tools_declare_them() {
    let out = convert(json!({"model": "m", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]}));
    assert_eq!(
        out["tools"],
        json!([{"name": "f", "input_schema": {"type": "object"}}])
    );
    assert_eq!(out["tool_choice"], json!({"type": "none"}));
}

#[test]
fn images_and_pdf_files() {
    let out = convert(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Compare"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}},
        ]}]}),
    );
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "text", "text": "Compare"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}, "title": "a.pdf"},
        ])
    );
    let audio = json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}]}]});
    assert!(matches!(
        openai_to_anthropic_request(&audio, &opts()),
        Err(ConvertError::Unsupported(_))
    ));
}

#[test]
fn reasoning_effort_becomes_thinking_within_max_tokens() {
    let out = convert(
        json!({"model": "o3", "messages": [{"role": "user", "content": "think"}],
        "reasoning_effort": "medium", "max_completion_tokens": 1000, "temperature": 0.2, "top_k": 5}),
    );
    assert_eq!(
        out["thinking"],
        json!({"type": "enabled", "budget_tokens": 8192})
    );
    assert_eq!(out["max_tokens"], 9192);
    assert!(out.get("temperature").is_none() && out.get("top_k").is_none());
    let none = convert(
        json!({"model": "o3", "messages": [{"role": "user", "content": "x"}],
        "reasoning_effort": "none"}),
    );
    assert!(none.get("thinking").is_none());
}

#[test]
fn thinking_signatures_round_trip_or_thinking_is_dropped() {
    let history = |assistant: Value| {
        json!({"model": "m", "reasoning_effort": "low", "max_tokens": 5000,
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "messages": [
            {"role": "user", "content": "x"},
            assistant,
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ]})
    };
    let call =
        json!([{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]);
    let signed = convert(history(json!({"role": "assistant", "content": null,
        "reasoning_content": "hmm", "reasoning_signature": "sig1", "tool_calls": call})));
    assert_eq!(
        signed["messages"][1]["content"][0],
        json!({"type": "thinking", "thinking": "hmm", "signature": "sig1"})
    );
    assert_eq!(signed["thinking"]["type"], "enabled");
    // Without a signature the reasoning is dropped, and thinking must go too.
    let unsigned = convert(history(json!({"role": "assistant", "content": null,
        "reasoning_content": "hmm", "tool_calls": call})));
    assert_eq!(unsigned["messages"][1]["content"][0]["type"], "tool_use");
    assert!(unsigned.get("thinking").is_none());
    // thinking_blocks (several, with redacted) win over reasoning_content.
    let blocks = convert(history(json!({"role": "assistant", "content": "ok",
        "thinking_blocks": [{"type": "thinking", "thinking": "a", "signature": "s"},
            {"type": "redacted_thinking", "data": "xyz"}], "tool_calls": call})));
    assert_eq!(
        blocks["messages"][1]["content"][1],
        json!({"type": "redacted_thinking", "data": "xyz"})
    );
}

#[test]
fn json_mode_uses_a_forced_tool() {
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]});
    let out = convert(
        json!({"model": "m", "messages": [{"role": "user", "content": "Reply in JSON"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        "reasoning_effort": "high"}),
    );
    assert_eq!(out["tools"][0]["name"], JSON_TOOL_NAME);
    assert_eq!(out["tools"][0]["input_schema"], schema);
    assert_eq!(
        out["tool_choice"],
        json!({"type": "tool", "name": JSON_TOOL_NAME})
    );
    assert!(
        out.get("thinking").is_none(),
        "forced tools exclude thinking"
    );
    let with_tools = convert(
        json!({"model": "m", "messages": [{"role": "user", "content": "json"}],
        "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "f"}}]}),
    );
    assert_eq!(with_tools["tools"].as_array().unwrap().len(), 2);
    assert_eq!(with_tools["tool_choice"], json!({"type": "any"}));
}

#[test]
fn prefill_is_trimmed_and_n_is_refused() {
    let out = convert(json!({"model": "m", "messages": [
        {"role": "user", "content": "Say"}, {"role": "assistant", "content": "Sure: "}]}));
    assert_eq!(
        out["messages"][1]["content"],
        json!([{"type": "text", "text": "Sure:"}])
    );
    let err = openai_to_anthropic_request(
        &json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]}),
        &opts(),
    );
    assert!(matches!(err, Err(ConvertError::Unsupported(m)) if m.contains("n = 2")));
    assert!(openai_to_anthropic_request(&json!({"messages": "x"}), &opts()).is_err());
    assert!(
        openai_to_anthropic_request(
            &json!({"messages": [{"role": "system", "content": "only"}]}),
            &opts()
        )
        .is_err()
    );
}

/// Inputs the fuzzer found (fuzz/regressions/convert_request/strict-*): valid OpenAI
/// requests that used to convert into requests Anthropic refuses (duplicate tool ids
/// across turns, tool names Anthropic does not allow, unknown cache types, more than
/// four cache breakpoints, untyped schemas, image types). Now each converts
/// to a valid request or is refused with a clear message.
#[test]
fn fuzz_found_strict_cases() {
    for (name, text) in [
        (
            "bmp image",
            include_str!(
                "../../fuzz/regressions/convert_request/strict-data-url-unsupported-media-type.json"
            ),
        ),
        (
            "untyped schema",
            include_str!(
                "../../fuzz/regressions/convert_request/strict-json-schema-without-type.json"
            ),
        ),
        (
            "string parameters",
            include_str!(
                "../../fuzz/regressions/convert_request/strict-tool-parameters-not-object.json"
            ),
        ),
    ] {
        let v: Value = serde_json::from_str(text).unwrap();
        match openai_to_anthropic_request(
            &v,
            &RequestOptions {
                upstream_model: "claude-x".into(),
                ..Default::default()
            },
        ) {
            Ok(out) => crate::convert::validate_anthropic_request(&out)
                .unwrap_or_else(|e| panic!("{name}: converted request is invalid: {e}\n{out:#}")),
            Err(ConvertError::Unsupported(msg)) => assert!(!msg.is_empty(), "{name}"),
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn reused_tool_call_ids_get_unique_ids_and_results_follow() {
    let v: Value = serde_json::from_str(include_str!(
        "../../fuzz/regressions/convert_request/strict-tool-call-id-reused-across-turns.json"
    ))
    .unwrap();
    let out = openai_to_anthropic_request(
        &v,
        &RequestOptions {
            upstream_model: "m".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let msgs = out["messages"].as_array().unwrap();
    let uses: Vec<&str> = msgs
        .iter()
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
        .filter(|b| b["type"] == "tool_use")
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    let results: Vec<&str> = msgs
        .iter()
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
        .filter(|b| b["type"] == "tool_result")
        .map(|b| b["tool_use_id"].as_str().unwrap())
        .collect();
    assert_eq!(uses, vec!["call_0", "call_0_2"]);
    assert_eq!(results, uses, "each result answers the call just before it");
}
