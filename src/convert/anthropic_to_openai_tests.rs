//! Golden tests: Anthropic Messages requests → OpenAI Chat Completions requests.

use super::*;
use crate::convert::common::restore_tool_name;
use crate::convert::validate_openai_request;

fn opts(model: &str) -> RequestOptions {
    RequestOptions {
        upstream_model: model.into(),
        ..Default::default()
    }
}

fn convert(body: Value) -> Value {
    let out = anthropic_to_openai_request(&body, &opts("gpt-4o")).unwrap();
    validate_openai_request(&out).unwrap_or_else(|e| panic!("{e}\n{out:#}"));
    out
}

#[test]
fn claude_code_style_conversation() {
    let out = convert(json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 8000,
        "system": [{"type": "text", "text": "You are Claude Code."},
                   {"type": "text", "text": "Be careful.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "List files"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should run ls", "signature": "sig"},
                {"type": "text", "text": "Running ls."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
                {"type": "tool_use", "id": "toolu_2", "name": "Read", "input": {}},
            ]},
            {"role": "system", "content": "Reminder: be concise."},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt\nb.txt"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
                 "content": [{"type": "text", "text": "no such file"}]},
                {"type": "text", "text": "Thanks", "cache_control": {"type": "ephemeral"}},
            ]},
        ],
        "tools": [{"name": "Bash", "description": "Run", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}},
                  {"name": "Read", "input_schema": {"type": "object"}},
                  {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "stop_sequences": ["a", " ", "b", "c", "d", "e"],
        "temperature": 0.5, "top_k": 10,
        "metadata": {"user_id": "user_abc"},
        "stream": true,
    }));
    assert_eq!(
        out,
        json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are Claude Code.\n\nBe careful."},
                {"role": "user", "content": "List files"},
                {"role": "assistant", "content": "Running ls.", "tool_calls": [
                    {"id": "toolu_1", "type": "function", "function": {"name": "Bash", "arguments": "{\"command\":\"ls\"}"}},
                    {"id": "toolu_2", "type": "function", "function": {"name": "Read", "arguments": "{}"}},
                ]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "a.txt\nb.txt"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "Error: no such file"},
                {"role": "system", "content": "Reminder: be concise."},
                {"role": "user", "content": "Thanks"},
            ],
            "max_tokens": 8000,
            "temperature": 0.5,
            "stop": ["a", "b", "c", "d"],
            "user": "user_abc",
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [
                {"type": "function", "function": {"name": "Bash", "description": "Run",
                    "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}},
                {"type": "function", "function": {"name": "Read", "parameters": {"type": "object"}}},
            ],
            "tool_choice": "auto",
            "parallel_tool_calls": false,
        })
    );
}

#[test]
fn tool_result_images_follow_as_a_user_message() {
    let out = convert(json!({"model": "c", "max_tokens": 10,
    "tools": [{"name": "shot", "input_schema": {"type": "object"}}],
    "messages": [
        {"role": "user", "content": "screenshot"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}]}]},
    ]}));
    let msgs = out["messages"].as_array().unwrap();
    assert_eq!(msgs[2]["role"], "tool");
    assert_eq!(
        msgs[2]["content"],
        "(image output attached in the next message)"
    );
    assert_eq!(
        msgs[3],
        json!({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}]})
    );
}

#[test]
fn images_documents_and_consecutive_turns() {
    let out = convert(json!({"model": "c", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Look"},
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]},
        {"role": "user", "content": [{"type": "document", "title": "r.pdf",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}]},
    ]}));
    assert_eq!(
        out["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "Look"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            {"type": "file", "file": {"filename": "r.pdf", "file_data": "data:application/pdf;base64,JVBE"}},
        ]}])
    );
}

#[test]
fn thinking_and_reasoning_models() {
    let thinking = json!({"model": "c", "max_tokens": 20000, "messages": [{"role": "user", "content": "x"}],
        "thinking": {"type": "enabled", "budget_tokens": 10000}});
    let out = anthropic_to_openai_request(&thinking, &opts("o3")).unwrap();
    assert_eq!(out["reasoning_effort"], "high");
    assert_eq!(out["max_completion_tokens"], 20000);
    assert!(out.get("max_tokens").is_none());
    // Non-reasoning models refuse `reasoning_effort`: thinking is dropped for them.
    let out = anthropic_to_openai_request(&thinking, &opts("gpt-4o")).unwrap();
    assert!(out.get("reasoning_effort").is_none());
    assert_eq!(out["max_tokens"], 20000);
    let plain = anthropic_to_openai_request(
        &json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}),
        &opts("o4-mini"),
    )
    .unwrap();
    assert_eq!(plain["max_completion_tokens"], 5);
    let adaptive = anthropic_to_openai_request(
        &json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}),
        &opts("gpt-5-mini"),
    )
    .unwrap();
    assert_eq!(adaptive["reasoning_effort"], "low");
}

#[test]
fn tool_names_longer_than_64_are_shortened_reversibly() {
    let long = format!(
        "mcp__github__{}",
        "create_or_update_file_contents_".repeat(3)
    );
    let out = convert(json!({"model": "c", "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": long, "input": {"a": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}],
        "tools": [{"name": long, "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": long}}));
    let short = out["tools"][0]["function"]["name"].as_str().unwrap();
    assert_eq!(short.len(), 64);
    assert_eq!(out["tool_choice"]["function"]["name"], short);
    assert_eq!(
        out["messages"][1]["tool_calls"][0]["function"]["name"],
        short
    );
    assert_eq!(restore_tool_name(short), long);
}

#[test]
fn structured_output_becomes_response_format() {
    let schema = json!({"type": "object", "properties": {"x": {"type": "integer"}}});
    let out = convert(
        json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
        "output_config": {"format": {"type": "json_schema", "schema": schema}}}),
    );
    assert_eq!(
        out["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema}})
    );
}

#[test]
fn malformed_bodies_are_invalid() {
    for body in [
        json!([]),
        json!({"messages": {}}),
        json!({"messages": [{"role": "robot", "content": "x"}]}),
        json!({"messages": [{"role": "user", "content": 5}]}),
    ] {
        assert!(matches!(
            anthropic_to_openai_request(&body, &opts("m")),
            Err(ConvertError::Invalid(_))
        ));
    }
}

#[test]
fn named_choice_of_a_dropped_server_tool_becomes_auto() {
    let out = convert(
        json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "tool", "name": "web_search"}}),
    );
    assert_eq!(out["tool_choice"], "auto");
    assert_eq!(out["tools"].as_array().unwrap().len(), 1);
}
