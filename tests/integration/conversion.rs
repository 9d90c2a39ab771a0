//! Conversion through the running gateway against strict mocks (which apply the same
//! request validators the converter's property tests use): both directions, JSON and
//! streams, errors, broken upstreams, and the legacy completions endpoint.

use crate::common;

use common::mock::{Flavor, Mock};
use common::{Env, Server, post_json};
use serde_json::{Value, json};

struct Setup {
    _env: Env,
    ant: Mock,
    oai: Mock,
    key: String,
    server: Server,
}

/// An Anthropic and an OpenAI upstream; `claude-*` served by Anthropic, and the
/// route `via-gpt` sends Anthropic clients to the OpenAI upstream as `gpt-4o`.
fn setup() -> Setup {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    let oai = Mock::start(Flavor::OpenAi, "sk-oai-k");
    env.add_upstream("ant", &ant, &[]);
    env.add_upstream("oai", &oai, &[]);
    env.json(&[
        "route",
        "add",
        "--match",
        "via-gpt",
        "--upstream",
        "oai",
        "--model",
        "gpt-4o",
    ]);
    let key = env.add_key("c", "read,write");
    let server = env.start();
    Setup {
        _env: env,
        ant,
        oai,
        key,
        server,
    }
}

impl Setup {
    fn chat(&self, body: Value) -> common::Resp {
        post_json(
            &format!("{}/v1/chat/completions", self.server.url),
            &[("authorization", &format!("Bearer {}", self.key))],
            &body,
        )
    }
    fn messages(&self, body: Value) -> common::Resp {
        post_json(
            &format!("{}/v1/messages", self.server.url),
            &[
                ("x-api-key", &self.key),
                ("anthropic-version", "2023-06-01"),
            ],
            &body,
        )
    }
}

fn sse_data(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[test]
fn openai_client_on_anthropic_upstream() {
    let s = setup();
    let r = s.chat(json!({"model": "claude-sonnet-4-5", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"}]}));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(
        v["model"], "claude-sonnet-4-5",
        "the model the client asked for"
    );
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from the mock upstream."
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 12);
    assert_eq!(v["usage"]["completion_tokens"], 5);
    let up: Value = serde_json::from_slice(&s.ant.inference_requests()[0].body).unwrap();
    assert_eq!(up["system"], "Be brief.");
    assert!(
        up["max_tokens"].as_u64().unwrap() > 0,
        "Anthropic needs max_tokens"
    );
}

#[test]
fn openai_stream_from_anthropic_with_tools() {
    let s = setup();
    let r = s.chat(json!({"model": "claude-sonnet-4-5", "stream": true, "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "messages": [{"role": "user", "content": "weather?"}]}));
    assert_eq!(r.status, 200);
    let text = r.text();
    assert_eq!(text.matches("data: [DONE]").count(), 1);
    assert!(text.trim_end().ends_with("data: [DONE]"));
    let chunks = sse_data(&text);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(calls[0][0]["id"], "toolu_mock_01");
    assert_eq!(calls[0][0]["function"]["name"], "get_weather");
    assert_eq!(calls[0][0]["function"]["arguments"], "");
    let args: String = calls
        .iter()
        .filter_map(|c| c[0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Paris"})
    );
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, vec![&json!("tool_calls")]);
    let usage = chunks.iter().find(|c| c["choices"] == json!([])).unwrap();
    assert_eq!(usage["usage"]["completion_tokens"], 5);
}

#[test]
fn anthropic_client_on_openai_upstream_stream() {
    let s = setup();
    let r = s.messages(json!({"model": "via-gpt", "max_tokens": 100, "stream": true,
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "messages": [{"role": "user", "content": "weather?"}]}));
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(
        !text.contains("[DONE]"),
        "never [DONE] on an Anthropic stream"
    );
    let events: Vec<Value> = sse_data(&text);
    assert_eq!(events.first().unwrap()["type"], "message_start");
    assert_eq!(events.first().unwrap()["message"]["model"], "via-gpt");
    assert_eq!(events.last().unwrap()["type"], "message_stop");
    let tool_start = events
        .iter()
        .find(|e| e["type"] == "content_block_start" && e["content_block"]["type"] == "tool_use")
        .unwrap();
    assert_eq!(tool_start["content_block"]["name"], "get_weather");
    let partial: String = events
        .iter()
        .filter(|e| e["delta"]["type"] == "input_json_delta")
        .filter_map(|e| e["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&partial).unwrap(),
        json!({"city": "Paris"})
    );
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    let up: Value = serde_json::from_slice(&s.oai.inference_requests()[0].body).unwrap();
    assert_eq!(up["model"], "gpt-4o");
    assert_eq!(
        up["stream_options"]["include_usage"], true,
        "asked, so usage is not 0"
    );
    assert_eq!(up["messages"][0]["role"], "system");
}

#[test]
fn upstream_errors_in_the_clients_shape() {
    let s = setup();
    s.ant.set(|b| {
        b.fail_with = Some((
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.into(),
        ))
    });
    let r = s.chat(json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(r.status, 503, "Anthropic 529 is OpenAI 503: {}", r.text());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Overloaded")
    );
    s.oai.set(|b| b.fail_with = Some((429, r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#.into())));
    let r = s.messages(json!({"model": "via-gpt", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    assert!(r.headers.contains_key("retry-after"));
}

#[test]
fn broken_upstreams_never_crash_the_conversion() {
    let s = setup();
    // Not JSON, though it says so.
    s.ant
        .set(|b| b.fail_with = Some((200, "this is not json".into())));
    let r = s.chat(json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["error"]["type"], "server_error");
    // A stream that breaks: the OpenAI client gets an error chunk and one [DONE].
    s.ant.set(|b| {
        b.fail_with = None;
        b.break_after = Some(3);
        b.deltas = 10;
    });
    let r = s.chat(json!({"model": "claude-x", "stream": true, "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.contains("\"error\""), "{text}");
    assert_eq!(text.matches("[DONE]").count(), 1, "{text}");
}

#[test]
fn bad_requests_are_refused_before_the_upstream() {
    let s = setup();
    let r = s.chat(
        json!({"model": "claude-x", "n": 3, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains('n'));
    assert!(s.ant.inference_requests().is_empty());
}

#[test]
fn legacy_completions_through_chat() {
    let s = setup();
    let r = post_json(
        &format!("{}/v1/completions", s.server.url),
        &[("authorization", &format!("Bearer {}", s.key))],
        &json!({"model": "claude-x", "prompt": "Say hi", "max_tokens": 20}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], "Hello from the mock upstream.");
    let r = post_json(
        &format!("{}/v1/completions", s.server.url),
        &[("authorization", &format!("Bearer {}", s.key))],
        &json!({"model": "gpt-4o", "prompt": "Say hi", "stream": true}),
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(
        text.contains("text_completion") && text.trim_end().ends_with("data: [DONE]"),
        "{text}"
    );
}
