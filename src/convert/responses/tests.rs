//! Responses ⇄ Chat requests and answers, and the two-step ways to and from Anthropic
//! Messages, checked with the strict validators of the format that receives them.

use serde_json::{Value, json};

use super::*;
use crate::convert::{
    RequestOptions, anthropic_to_openai_request, anthropic_to_openai_response,
    openai_to_anthropic_request, openai_to_anthropic_response, validate_anthropic_request,
    validate_openai_request,
};

fn opts(model: &str, keep: bool) -> RequestOptions {
    RequestOptions {
        upstream_model: model.into(),
        keep_reasoning: keep,
    }
}

/// A Codex-like turn: instructions, a user message, an earlier shell call with its
/// output, a freeform apply_patch call with its output, and both kinds of tools.
fn codex_request() -> Value {
    json!({
        "model": "gpt-5-codex",
        "instructions": "You are a coding agent.",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "List files"}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "I should run ls."}],
             "encrypted_content": "lgw1.ant.sig-abc"},
            {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{\"command\":[\"ls\"]}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt\nb.txt"},
            {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": "*** Begin Patch\n*** End Patch"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Done"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Patched."}]},
            {"type": "message", "role": "user", "content": "Thanks"},
        ],
        "tools": [
            {"type": "function", "name": "shell", "description": "Run a command", "strict": false,
             "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}}, "required": ["command"]}},
            {"type": "custom", "name": "apply_patch", "description": "Edit files",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"}},
            {"type": "web_search"},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "conv-1",
    })
}

#[test]
fn a_codex_turn_converts_to_a_valid_chat_request() {
    let chat = responses_to_chat_request(&codex_request(), &opts("gpt-4.1", false)).unwrap();
    validate_openai_request(&chat).unwrap();
    let msgs = chat["messages"].as_array().unwrap();
    assert_eq!(
        msgs[0],
        json!({"role": "system", "content": "You are a coding agent."})
    );
    assert_eq!(msgs[1]["role"], "developer");
    // The shell call, its output, the patch call (one string field) and its output.
    assert_eq!(msgs[3]["tool_calls"][0]["function"]["name"], "shell");
    assert!(
        msgs[3].get("thinking_blocks").is_none(),
        "no reasoning to a real Chat upstream"
    );
    assert_eq!(
        msgs[4],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "a.txt\nb.txt"})
    );
    let patch_args = msgs[5]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(patch_args).unwrap()["input"],
        "*** Begin Patch\n*** End Patch"
    );
    assert_eq!(msgs[7]["content"], "Patched.");
    assert_eq!(msgs[8]["content"], "Thanks");
    // Tools: the hosted search is dropped, the freeform tool carries its grammar.
    let tools = chat["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2);
    let desc = tools[1]["function"]["parameters"]["properties"]["input"]["description"]
        .as_str()
        .unwrap();
    assert!(desc.contains("start: begin_patch"), "{desc}");
    assert_eq!(chat["parallel_tool_calls"], false);
    assert_eq!(chat["reasoning_effort"], "medium");
    assert_eq!(chat["stream_options"]["include_usage"], true);
    assert_eq!(chat["prompt_cache_key"], "conv-1");
}

#[test]
fn a_codex_turn_reaches_anthropic_with_its_thinking_signature() {
    let chat =
        responses_to_chat_request(&codex_request(), &opts("claude-sonnet-4-5", true)).unwrap();
    let ant = openai_to_anthropic_request(&chat, &opts("claude-sonnet-4-5", true)).unwrap();
    validate_anthropic_request(&ant).unwrap();
    let first_assistant = ant["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "assistant")
        .unwrap();
    assert_eq!(
        first_assistant["content"][0],
        json!({"type": "thinking", "thinking": "I should run ls.", "signature": "sig-abc"})
    );
}

#[test]
fn openai_reasoning_never_reaches_anthropic() {
    let mut req = codex_request();
    req["input"][2]["encrypted_content"] = json!("gAAAAB-openai-secret");
    let chat = responses_to_chat_request(&req, &opts("claude-sonnet-4-5", true)).unwrap();
    let ant = openai_to_anthropic_request(&chat, &opts("claude-sonnet-4-5", true)).unwrap();
    validate_anthropic_request(&ant).unwrap();
    assert!(!ant.to_string().contains("gAAAAB"), "{ant}");
}

#[test]
fn chat_requests_become_stateless_responses_requests() {
    let chat = json!({
        "model": "gpt-5", "max_tokens": 5, "temperature": 0.3, "stop": ["x"],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_9", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_9", "content": "21C"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}},
        "reasoning_effort": "low",
    });
    let r = chat_to_responses_request(&chat, &opts("gpt-5", false)).unwrap();
    assert_eq!(r["store"], false);
    assert_eq!(r["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(r["reasoning"]["effort"], "low");
    assert_eq!(r["max_output_tokens"], 16, "raised to the API's minimum");
    assert!(
        r.get("temperature").is_none(),
        "reasoning models refuse sampling knobs"
    );
    assert!(r.get("stop").is_none());
    assert_eq!(r["tools"][0]["strict"], false);
    assert_eq!(
        r["tool_choice"],
        json!({"type": "function", "name": "get_weather"})
    );
    assert_eq!(r["text"]["format"]["type"], "json_schema");
    let input = r["input"].as_array().unwrap();
    assert_eq!(input[0]["role"], "system");
    assert_eq!(input[1]["content"][1]["type"], "input_image");
    assert_eq!(input[2]["type"], "function_call");
    assert_eq!(
        input[3],
        json!({"type": "function_call_output", "call_id": "call_9", "output": "21C"})
    );
}

#[test]
fn claude_code_history_with_openai_reasoning_replays_it_without_ids() {
    // An Anthropic client (Claude Code) on a Responses upstream: the reasoning it got
    // back as a tagged thinking block goes out again as an id-less reasoning item.
    let ant = json!({
        "model": "gpt-5", "max_tokens": 1000,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Plan.", "signature": "lgw1.oai.gAAA"},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]},
        ],
    });
    let chat = anthropic_to_openai_request(&ant, &opts("gpt-5", true)).unwrap();
    let r = chat_to_responses_request(&chat, &opts("gpt-5", false)).unwrap();
    let input = r["input"].as_array().unwrap();
    assert_eq!(
        input[1],
        json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "Plan."}], "encrypted_content": "gAAA"})
    );
    assert_eq!(input[2]["type"], "function_call");
    assert_eq!(input[3]["type"], "function_call_output");
    // A real Chat upstream never sees the extension.
    let plain = anthropic_to_openai_request(&ant, &opts("gpt-5", false)).unwrap();
    validate_openai_request(&plain).unwrap();
    assert!(!plain.to_string().contains("thinking_blocks"));
}

#[test]
fn an_anthropic_answer_becomes_a_responses_answer_and_back() {
    let answer = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "sig-1"},
            {"type": "text", "text": "Patching."},
            {"type": "tool_use", "id": "toolu_7", "name": "apply_patch", "input": {"input": "*** Begin Patch"}},
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0},
    });
    let ctx = ResponsesCtx::of_request(&codex_request(), "gpt-5-codex");
    let chat = anthropic_to_openai_response(&answer, "gpt-5-codex").unwrap();
    let r = chat_to_responses_response(&chat, &ctx).unwrap();
    assert_eq!(r["object"], "response");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["model"], "gpt-5-codex");
    let out = r["output"].as_array().unwrap();
    assert_eq!(out[0]["type"], "reasoning");
    assert_eq!(out[0]["encrypted_content"], "lgw1.ant.sig-1");
    assert_eq!(out[1]["content"][0]["text"], "Patching.");
    assert_eq!(out[2]["type"], "custom_tool_call");
    assert_eq!(out[2]["input"], "*** Begin Patch");
    assert_eq!(out[2]["call_id"], "toolu_7");
    assert_eq!(r["usage"]["input_tokens"], 100);
    assert_eq!(r["usage"]["input_tokens_details"]["cached_tokens"], 90);
    assert_eq!(r["parallel_tool_calls"], false, "echoed from the request");

    // Back: a Responses answer to Chat and Anthropic clients.
    let back = responses_to_chat_response(&r, "m").unwrap();
    assert_eq!(back["choices"][0]["finish_reason"], "tool_calls");
    let ant = openai_to_anthropic_response(&back, "m").unwrap();
    assert_eq!(
        ant["content"][0],
        json!({"type": "thinking", "thinking": "Hmm.", "signature": "sig-1"})
    );
    assert_eq!(ant["stop_reason"], "tool_use");
}

#[test]
fn a_cut_answer_is_incomplete() {
    let chat = json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "abc"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}});
    let r = chat_to_responses_response(&chat, &ResponsesCtx::of_request(&json!({}), "m")).unwrap();
    assert_eq!(r["status"], "incomplete");
    assert_eq!(r["incomplete_details"]["reason"], "max_output_tokens");
    let back = responses_to_chat_response(&r, "m").unwrap();
    assert_eq!(back["choices"][0]["finish_reason"], "length");
}

#[test]
fn refused_inputs_say_why() {
    let bad = json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]});
    let e = responses_to_chat_request(&bad, &opts("m", false)).unwrap_err();
    assert!(e.to_string().contains("item_reference"), "{e}");
    let hosted = json!({"model": "m", "input": "hi", "tools": [{"type": "file_search", "vector_store_ids": []}]});
    let e = responses_to_chat_request(&hosted, &opts("m", false)).unwrap_err();
    assert!(e.to_string().contains("file_search"), "{e}");
    let empty = json!({"model": "m", "input": []});
    assert!(responses_to_chat_request(&empty, &opts("m", false)).is_err());
    let n = json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]});
    assert!(chat_to_responses_request(&n, &opts("m", false)).is_err());
}

#[test]
fn codex_namespaces_travel_flat_and_come_back_namespaced() {
    let req = json!({
        "model": "claude-sonnet-4-5",
        "input": [
            {"type": "message", "role": "user", "content": "spawn"},
            {"type": "function_call", "call_id": "call_1", "namespace": "multi_agent_v1",
             "name": "spawn_agent", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
        ],
        "tools": [
            {"type": "namespace", "name": "multi_agent_v1", "description": "Agents",
             "tools": [{"type": "function", "name": "spawn_agent", "strict": false,
                        "parameters": {"type": "object", "properties": {}}}]},
            {"type": "tool_search", "execution": "client", "description": "find tools",
             "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}},
        ],
        "tool_choice": "auto",
    });
    let chat = responses_to_chat_request(&req, &opts("gpt-4.1", false)).unwrap();
    validate_openai_request(&chat).unwrap();
    assert_eq!(
        chat["tools"].as_array().unwrap().len(),
        1,
        "tool_search dropped"
    );
    assert_eq!(
        chat["tools"][0]["function"]["name"],
        "multi_agent_v1__spawn_agent"
    );
    assert_eq!(
        chat["messages"][1]["tool_calls"][0]["function"]["name"],
        "multi_agent_v1__spawn_agent"
    );
    let ctx = ResponsesCtx::of_request(&req, "m");
    let answer = json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
            "content": null, "tool_calls": [{"id": "call_2", "type": "function",
            "function": {"name": "multi_agent_v1__spawn_agent", "arguments": "{}"}}]}}]});
    let r = chat_to_responses_response(&answer, &ctx).unwrap();
    assert_eq!(r["output"][0]["namespace"], "multi_agent_v1");
    assert_eq!(r["output"][0]["name"], "spawn_agent");
}

#[test]
fn additional_tools_items_add_tools() {
    let req = json!({"model": "m", "input": [
        {"type": "message", "role": "user", "content": "hi"},
        {"type": "additional_tools", "tools": [
            {"type": "custom", "name": "apply_patch", "description": "patch"},
            {"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {}}}]},
    ], "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {}}}]});
    let chat = responses_to_chat_request(&req, &opts("gpt-4.1", false)).unwrap();
    validate_openai_request(&chat).unwrap();
    let names: Vec<&str> = chat["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert_eq!(names, ["shell", "apply_patch"]);
    assert!(ResponsesCtx::of_request(&req, "m").is_custom("apply_patch"));
}
