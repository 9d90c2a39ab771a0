//! Each Responses API rule accepts a valid use of its feature and rejects what the real
//! API rejects, naming the path.

use serde_json::{Value, json};

use super::validate_responses_request;

/// A change to the base body, and (for the invalid cases) an expected error fragment.
type Patch = Box<dyn FnOnce(&mut Value)>;

/// A request with a tool round trip: message, reasoning, call, output, message.
fn base() -> Value {
    json!({"model": "gpt-5", "input": [
        {"role": "user", "content": "weather?"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}],
         "encrypted_content": "gAAA"},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
         "arguments": "{\"city\":\"Paris\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "It is sunny.", "annotations": []}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
    ], "tools": [{"type": "function", "name": "get_weather", "strict": true, "parameters": {
        "type": "object", "additionalProperties": false, "required": ["city"],
        "properties": {"city": {"type": "string"}}}}]})
}

fn check(patch: Patch) -> Result<(), String> {
    let mut body = base();
    patch(&mut body);
    validate_responses_request(&body)
}

fn push(item: Value) -> Patch {
    Box::new(move |b| b["input"].as_array_mut().unwrap().push(item))
}

fn set(key: &'static str, v: Value) -> Patch {
    Box::new(move |b| b[key] = v)
}

#[test]
fn valid_features() {
    assert_eq!(validate_responses_request(&base()), Ok(()));
    let ok: Vec<Patch> = vec![
        set("input", json!("hi")),
        set("instructions", json!("be brief")),
        set("max_output_tokens", json!(16)),
        set("temperature", json!(2)),
        set("top_p", json!(0.5)),
        set("stream", json!(true)),
        Box::new(|b| {
            b["stream"] = json!(true);
            b["stream_options"] = json!({"include_obfuscation": false});
        }),
        set("store", json!(true)),
        set("metadata", json!({"a": "b"})),
        set("prompt_cache_key", json!("k")),
        set("previous_response_id", json!("resp_123")),
        set("reasoning", json!({"effort": "minimal", "summary": "auto"})),
        set("reasoning", json!({"effort": "xhigh"})),
        set(
            "include",
            json!([
                "reasoning.encrypted_content",
                "message.output_text.logprobs"
            ]),
        ),
        set(
            "text",
            json!({"format": {"type": "text"}, "verbosity": "low"}),
        ),
        set("text", json!({"format": {"type": "json_object"}})),
        set(
            "text",
            json!({"format": {"type": "json_schema", "name": "out", "strict": true, "schema":
            {"type": "object", "additionalProperties": false, "required": ["a"], "properties": {"a": {"type": "string"}}}}}),
        ),
        set("tool_choice", json!("required")),
        set(
            "tool_choice",
            json!({"type": "function", "name": "get_weather"}),
        ),
        set(
            "tool_choice",
            json!({"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_weather"}]}),
        ),
        Box::new(|b| {
            b["tools"].as_array_mut().unwrap().extend([
                json!({"type": "custom", "name": "sh", "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}),
                json!({"type": "function", "name": "loose", "strict": false, "parameters": {"type": "object", "properties": {"x": {}}}}),
                json!({"type": "web_search"}),
            ]);
            b["tool_choice"] = json!({"type": "custom", "name": "sh"});
        }),
        Box::new(|b| {
            b["tools"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "custom", "name": "sh"}));
            let input = b["input"].as_array_mut().unwrap();
            input.push(json!({"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_2", "name": "sh", "input": "ls"}));
            input.push(
                json!({"type": "custom_tool_call_output", "call_id": "call_2", "output": "a b"}),
            );
        }),
        push(
            json!({"role": "developer", "content": [{"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"},
            {"type": "input_image", "file_id": "file-1"},
            {"type": "input_file", "file_data": "data:application/pdf;base64,AA", "filename": "a.pdf"},
            {"type": "input_file", "file_url": "https://x/a.pdf"}, {"type": "input_file", "file_id": "file-2"}]}),
        ),
        push(json!({"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]})),
        Box::new(
            |b| b["input"][3]["output"] = json!([{"type": "input_text", "text": "sunny"}, {"type": "input_image", "image_url": "https://x/i.png"}]),
        ),
        // Stateless: reasoning replayed without its id, with encrypted content.
        Box::new(|b| {
            b["store"] = json!(false);
            b["input"][1].as_object_mut().unwrap().remove("id");
        }),
        // A server-side conversation may hold the call.
        Box::new(|b| {
            b["previous_response_id"] = json!("resp_1");
            b["input"] =
                json!([{"type": "function_call_output", "call_id": "call_9", "output": "x"}]);
        }),
    ];
    for (i, patch) in ok.into_iter().enumerate() {
        assert_eq!(check(patch), Ok(()), "valid case {i}");
    }
}

#[test]
fn invalid_requests() {
    let cases: Vec<(&str, Patch)> = vec![
        ("Unknown parameter: 'stop'", set("stop", json!(["x"]))),
        ("Unknown parameter: 'messages'", set("messages", json!([]))),
        (
            "Unknown parameter: 'max_tokens'",
            set("max_tokens", json!(10)),
        ),
        ("Unknown parameter: 'n'", set("n", json!(1))),
        (
            "Unknown parameter: 'response_format'",
            set("response_format", json!({"type": "text"})),
        ),
        (
            "Unknown parameter: 'reasoning_effort'",
            set("reasoning_effort", json!("low")),
        ),
        (
            "stream_options.include_usage",
            Box::new(|b| {
                b["stream"] = json!(true);
                b["stream_options"] = json!({"include_usage": true});
            }),
        ),
        (
            "stream_options: only allowed",
            set("stream_options", json!({"include_obfuscation": true})),
        ),
        ("model", set("model", json!(""))),
        ("input: must be", set("input", json!([]))),
        ("input: must be", set("input", json!(""))),
        ("max_output_tokens", set("max_output_tokens", json!(15))),
        ("temperature", set("temperature", json!(2.1))),
        ("top_p", set("top_p", json!(1.5))),
        ("stream: must be a boolean", set("stream", json!("yes"))),
        ("store: must be a boolean", set("store", json!(1))),
        ("metadata", set("metadata", json!({"a": 1}))),
        (
            "metadata",
            set(
                "metadata",
                Value::Object((0..17).map(|i| (i.to_string(), json!("v"))).collect()),
            ),
        ),
        ("prompt_cache_key", set("prompt_cache_key", json!(1))),
        (
            "begins with 'resp_'",
            set("previous_response_id", json!("abc")),
        ),
        (
            "reasoning.effort",
            set("reasoning", json!({"effort": "max"})),
        ),
        (
            "reasoning.summary",
            set("reasoning", json!({"summary": "short"})),
        ),
        ("include[0]", set("include", json!(["reasoning"]))),
        (
            "text.format.type",
            set("text", json!({"format": {"type": "yaml"}})),
        ),
        (
            "text.format.name",
            set(
                "text",
                json!({"format": {"type": "json_schema", "name": "a b", "schema": {"type": "object"}}}),
            ),
        ),
        (
            "text.format.schema",
            set(
                "text",
                json!({"format": {"type": "json_schema", "name": "a"}}),
            ),
        ),
        (
            "additionalProperties",
            set(
                "text",
                json!({"format": {"type": "json_schema", "name": "a", "strict": true, "schema": {"type": "object", "properties": {}}}}),
            ),
        ),
        // Strict is the default for Responses function tools.
        (
            "additionalProperties",
            Box::new(|b| {
                b["tools"][0].as_object_mut().unwrap().remove("strict");
                b["tools"][0]["parameters"]
                    .as_object_mut()
                    .unwrap()
                    .remove("additionalProperties");
            }),
        ),
        (
            "Missing 'unit'",
            Box::new(|b| {
                b["tools"][0]["parameters"]["properties"]["unit"] = json!({"type": "string"})
            }),
        ),
        (
            "properties.loc",
            Box::new(|b| {
                b["tools"][0]["parameters"]["properties"]["loc"] = json!({"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]});
                b["tools"][0]["parameters"]["required"] = json!(["city", "loc"]);
            }),
        ),
        (
            "type: \"object\"",
            set(
                "tools",
                json!([{"type": "function", "name": "f", "strict": false, "parameters": {"type": "string"}}]),
            ),
        ),
        (
            "parameters",
            set(
                "tools",
                json!([{"type": "function", "name": "f", "strict": false}]),
            ),
        ),
        (
            "tools[0].name",
            set(
                "tools",
                json!([{"type": "function", "function": {"name": "f"}}]),
            ),
        ),
        (
            "{1,64}",
            Box::new(|b| b["tools"][0]["name"] = json!("x".repeat(65))),
        ),
        (
            "duplicate",
            Box::new(|b| {
                let t = b["tools"][0].clone();
                b["tools"].as_array_mut().unwrap().push(t);
            }),
        ),
        (
            "tools[1].type",
            Box::new(|b| {
                b["tools"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "retrieval"}))
            }),
        ),
        (
            "tools[1].format.syntax",
            Box::new(|b| {
                b["tools"].as_array_mut().unwrap().push(
            json!({"type": "custom", "name": "g", "format": {"type": "grammar", "syntax": "ebnf", "definition": "x"}}))
            }),
        ),
        (
            "not found in 'tools'",
            set("tool_choice", json!({"type": "function", "name": "nope"})),
        ),
        (
            "not found in 'tools'",
            set(
                "tool_choice",
                json!({"type": "custom", "name": "get_weather"}),
            ),
        ),
        (
            "tool_choice.tools[0]",
            set(
                "tool_choice",
                json!({"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "x"}]}),
            ),
        ),
        ("tool_choice", set("tool_choice", json!("any"))),
        (
            "input[0].role",
            Box::new(|b| b["input"][0]["role"] = json!("tool")),
        ),
        (
            "input[0].content: must not be empty",
            Box::new(|b| b["input"][0]["content"] = json!("")),
        ),
        (
            "input[5].content[0].text: must not be empty",
            Box::new(|b| b["input"][5]["content"][0]["text"] = json!("")),
        ),
        (
            "'output_text' and 'refusal'",
            Box::new(|b| b["input"][4]["content"][0]["type"] = json!("input_text")),
        ),
        (
            "'input_text', 'input_image', and 'input_file'",
            Box::new(|b| b["input"][5]["content"][0]["type"] = json!("output_text")),
        ),
        (
            "input[6].content[0].image_url",
            push(
                json!({"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x"}]}),
            ),
        ),
        (
            "input[6].content[0].detail",
            push(
                json!({"role": "user", "content": [{"type": "input_image", "image_url": "https://x", "detail": "max"}]}),
            ),
        ),
        (
            "input[6].content[0].filename",
            push(
                json!({"role": "user", "content": [{"type": "input_file", "file_data": "data:application/pdf;base64,AA"}]}),
            ),
        ),
        (
            "input[6].content[0].file_data",
            push(
                json!({"role": "user", "content": [{"type": "input_file", "file_data": "AAAA", "filename": "a"}]}),
            ),
        ),
        (
            "input[2].arguments",
            Box::new(|b| b["input"][2]["arguments"] = json!({})),
        ),
        (
            "input[2].name",
            Box::new(|b| drop(b["input"][2].as_object_mut().unwrap().remove("name"))),
        ),
        (
            "No tool call found for function call output with call_id call_9",
            Box::new(|b| b["input"][3]["call_id"] = json!("call_9")),
        ),
        (
            "No tool output found for function call call_1",
            Box::new(|b| drop(b["input"].as_array_mut().unwrap().remove(3))),
        ),
        (
            "No tool call found for custom tool call output",
            push(json!({"type": "custom_tool_call_output", "call_id": "call_1", "output": "x"})),
        ),
        (
            "input[6].input",
            push(json!({"type": "custom_tool_call", "call_id": "c", "name": "sh", "input": {}})),
        ),
        (
            "input[3].output",
            Box::new(|b| b["input"][3]["output"] = json!({"text": "x"})),
        ),
        (
            "begins with 'fc_'",
            Box::new(|b| b["input"][2]["id"] = json!("call_1")),
        ),
        (
            "begins with 'msg_'",
            Box::new(|b| b["input"][4]["id"] = json!("m1")),
        ),
        (
            "begins with 'rs_'",
            Box::new(|b| b["input"][1]["id"] = json!("r1")),
        ),
        (
            "begins with 'ctc_'",
            push(
                json!({"type": "custom_tool_call", "id": "ct_1", "call_id": "c", "name": "sh", "input": ""}),
            ),
        ),
        (
            "Duplicate item",
            Box::new(|b| b["input"][5]["id"] = json!("msg_1")),
        ),
        (
            "Items are not persisted when `store` is set to false",
            Box::new(|b| {
                b["store"] = json!(false);
                if let Some(o) = b["input"][1].as_object_mut() {
                    o.remove("encrypted_content");
                }
            }),
        ),
        (
            "input[1].summary",
            Box::new(|b| drop(b["input"][1].as_object_mut().unwrap().remove("summary"))),
        ),
        (
            "input[1].summary[0]",
            Box::new(|b| b["input"][1]["summary"] = json!([{"type": "text", "text": "x"}])),
        ),
        (
            "input[1].encrypted_content",
            Box::new(|b| b["input"][1]["encrypted_content"] = json!(1)),
        ),
        (
            "input[6].type",
            push(json!({"type": "tool_result", "call_id": "call_1"})),
        ),
    ];
    for (want, patch) in cases {
        let err = check(patch).expect_err(want);
        assert!(err.contains(want), "{want:?} not in {err:?}");
    }
}
