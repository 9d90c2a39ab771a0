//! The 4 × 4 table of client format × upstream format, through the running gateway:
//! Anthropic Messages, OpenAI Chat, OpenAI Responses and Gemini clients, each on an
//! Anthropic, a Chat, a Responses and a Gemini upstream (strict mocks), streaming and
//! not. Every cell completes a tool round trip: the first turn must come back as a call
//! of `get_weather` with its arguments, the second (the call and its result replayed in
//! the client's own format) as text quoting the result. The Gemini upstream serves a
//! Gemini 3 model, so a replayed call without its thought signature (or Google's
//! documented skip value) would be refused.

use crate::common;

use common::mock::{Flavor, Mock};
use common::{Env, Server, post_json};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Anthropic,
    Chat,
    Responses,
    Gemini,
}

const CLIENTS: [Client; 4] = [
    Client::Anthropic,
    Client::Chat,
    Client::Responses,
    Client::Gemini,
];

/// (upstream name, the model a client asks for, the model the route sends upstream).
const UPSTREAMS: [(&str, &str, &str); 4] = [
    ("ant", "to-ant", "claude-sonnet-4-5"),
    ("oai", "to-oai", "gpt-4o"),
    ("resp", "to-resp", "gpt-5"),
    ("gem", "to-gem", "gemini-3-pro-preview"),
];

const RESULT: &str = "sunny, 21 C";

struct Table {
    env: Env,
    mocks: Vec<Mock>,
    key: String,
    server: Server,
}

fn table() -> Table {
    let env = Env::new();
    let mocks = vec![
        Mock::start(Flavor::Anthropic, "sk-ant-k"),
        Mock::start(Flavor::OpenAi, "sk-oai-k"),
        Mock::start(Flavor::Responses, "sk-resp-k"),
        Mock::start(Flavor::Gemini, "AIza-gem-k"),
    ];
    for ((name, model, target), m) in UPSTREAMS.iter().zip(&mocks) {
        env.add_upstream(name, m, &[]);
        env.ok(&[
            "route",
            "add",
            "--match",
            model,
            "--upstream",
            name,
            "--model",
            target,
        ]);
    }
    let key = env.add_key("t", "read,write");
    let server = env.start();
    Table {
        env,
        mocks,
        key,
        server,
    }
}

/// A tool call as the client saw it: its id (Gemini's may be absent), name,
/// arguments, and the whole call as sent (to replay it unchanged).
#[derive(Debug, Clone)]
struct Call {
    id: String,
    name: String,
    args: Value,
    raw: Value,
}

#[derive(Debug, Default)]
struct Answer {
    text: String,
    calls: Vec<Call>,
}

fn tool_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

impl Table {
    fn send(&self, client: Client, model: &str, stream: bool, body: Value) -> common::Resp {
        let url = &self.server.url;
        let auth = format!("Bearer {}", self.key);
        match client {
            Client::Anthropic => post_json(
                &format!("{url}/v1/messages"),
                &[
                    ("x-api-key", &self.key),
                    ("anthropic-version", "2023-06-01"),
                ],
                &body,
            ),
            Client::Chat => post_json(
                &format!("{url}/v1/chat/completions"),
                &[("authorization", &auth)],
                &body,
            ),
            Client::Responses => post_json(
                &format!("{url}/v1/responses"),
                &[("authorization", &auth)],
                &body,
            ),
            Client::Gemini => {
                let method = if stream {
                    "streamGenerateContent?alt=sse"
                } else {
                    "generateContent"
                };
                post_json(
                    &format!("{url}/v1beta/models/{model}:{method}"),
                    &[("x-goog-api-key", &self.key)],
                    &body,
                )
            }
        }
    }
}

/// The first turn: a question and the weather tool.
fn first_turn(client: Client, model: &str, stream: bool) -> Value {
    let q = "What is the weather in Paris?";
    match client {
        Client::Anthropic => json!({
            "model": model, "max_tokens": 256, "stream": stream,
            "messages": [{"role": "user", "content": q}],
            "tools": [{"name": "get_weather", "description": "Weather of a city", "input_schema": tool_schema()}],
        }),
        Client::Chat => json!({
            "model": model, "stream": stream,
            "messages": [{"role": "user", "content": q}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city", "parameters": tool_schema()}}],
        }),
        Client::Responses => json!({
            "model": model, "stream": stream, "input": q,
            "tools": [{"type": "function", "name": "get_weather", "description": "Weather of a city", "strict": false, "parameters": tool_schema()}],
        }),
        Client::Gemini => json!({
            "contents": [{"role": "user", "parts": [{"text": q}]}],
            "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather of a city", "parameters": tool_schema()}]}],
        }),
    }
}

/// The second turn: the first one, the call as the client received it, its result.
fn second_turn(client: Client, model: &str, stream: bool, call: &Call) -> Value {
    let mut body = first_turn(client, model, stream);
    let q = "What is the weather in Paris?";
    match client {
        Client::Anthropic => {
            body["messages"] = json!([
                {"role": "user", "content": q},
                {"role": "assistant", "content": [{"type": "tool_use", "id": call.id, "name": call.name, "input": call.args}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": RESULT}]},
            ]);
        }
        Client::Chat => {
            body["messages"] = json!([
                {"role": "user", "content": q},
                {"role": "assistant", "content": null, "tool_calls": [call.raw]},
                {"role": "tool", "tool_call_id": call.id, "content": RESULT},
            ]);
        }
        Client::Responses => {
            body["input"] = json!([
                {"role": "user", "content": q},
                {"type": "function_call", "call_id": call.id, "name": call.name, "arguments": call.args.to_string()},
                {"type": "function_call_output", "call_id": call.id, "output": RESULT},
            ]);
        }
        Client::Gemini => {
            let mut response = json!({"name": call.name, "response": {"result": RESULT}});
            if !call.id.is_empty() {
                response["id"] = json!(call.id);
            }
            body["contents"] = json!([
                {"role": "user", "parts": [{"text": q}]},
                {"role": "model", "parts": [call.raw]},
                {"role": "user", "parts": [{"functionResponse": response}]},
            ]);
        }
    }
    body
}

/// `(event name, data)` of each SSE event (`[DONE]` as a string).
fn events(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in text.replace("\r\n", "\n").split("\n\n") {
        let mut name = String::new();
        let mut data = String::new();
        for line in block.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = n.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.trim_start());
            }
        }
        if data.is_empty() {
            continue;
        }
        let v = serde_json::from_str(&data).unwrap_or(Value::String(data));
        out.push((name, v));
    }
    out
}

fn parse_json(client: Client, v: &Value) -> Answer {
    let mut a = Answer::default();
    match client {
        Client::Anthropic => {
            for b in v["content"].as_array().unwrap() {
                match b["type"].as_str() {
                    Some("text") => a.text.push_str(b["text"].as_str().unwrap()),
                    Some("tool_use") => a.calls.push(Call {
                        id: b["id"].as_str().unwrap().into(),
                        name: b["name"].as_str().unwrap().into(),
                        args: b["input"].clone(),
                        raw: b.clone(),
                    }),
                    _ => {}
                }
            }
        }
        Client::Chat => {
            let m = &v["choices"][0]["message"];
            a.text = m["content"].as_str().unwrap_or("").into();
            for c in m["tool_calls"].as_array().into_iter().flatten() {
                a.calls.push(chat_call(c));
            }
        }
        Client::Responses => {
            for item in v["output"].as_array().unwrap() {
                match item["type"].as_str() {
                    Some("message") => {
                        for p in item["content"].as_array().unwrap() {
                            a.text.push_str(p["text"].as_str().unwrap_or(""));
                        }
                    }
                    Some("function_call") => a.calls.push(Call {
                        id: item["call_id"].as_str().unwrap().into(),
                        name: item["name"].as_str().unwrap().into(),
                        args: serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap(),
                        raw: item.clone(),
                    }),
                    _ => {}
                }
            }
        }
        Client::Gemini => gemini_parts(v, &mut a),
    }
    a
}

fn chat_call(c: &Value) -> Call {
    Call {
        id: c["id"].as_str().unwrap().into(),
        name: c["function"]["name"].as_str().unwrap().into(),
        args: serde_json::from_str(c["function"]["arguments"].as_str().unwrap()).unwrap(),
        raw: c.clone(),
    }
}

fn gemini_parts(chunk: &Value, a: &mut Answer) {
    for p in chunk["candidates"][0]["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if p["thought"] == true {
            continue;
        }
        if let Some(t) = p["text"].as_str() {
            a.text.push_str(t);
        }
        if let Some(f) = p.get("functionCall") {
            a.calls.push(Call {
                id: f["id"].as_str().unwrap_or("").into(),
                name: f["name"].as_str().unwrap().into(),
                args: f["args"].clone(),
                raw: p.clone(),
            });
        }
    }
}

/// Assemble a streamed answer, checking the stream ends the way its format ends.
fn parse_stream(client: Client, text: &str) -> Answer {
    let evs = events(text);
    let mut a = Answer::default();
    match client {
        Client::Anthropic => {
            assert!(evs.iter().any(|(n, _)| n == "message_stop"), "{text}");
            let mut args: Vec<String> = Vec::new();
            for (_, d) in &evs {
                match d["type"].as_str() {
                    Some("content_block_start") if d["content_block"]["type"] == "tool_use" => {
                        let b = &d["content_block"];
                        a.calls.push(Call {
                            id: b["id"].as_str().unwrap().into(),
                            name: b["name"].as_str().unwrap().into(),
                            args: Value::Null,
                            raw: b.clone(),
                        });
                        args.push(String::new());
                    }
                    Some("content_block_delta") => match d["delta"]["type"].as_str() {
                        Some("text_delta") => a.text.push_str(d["delta"]["text"].as_str().unwrap()),
                        Some("input_json_delta") => args
                            .last_mut()
                            .unwrap()
                            .push_str(d["delta"]["partial_json"].as_str().unwrap()),
                        _ => {}
                    },
                    _ => {}
                }
            }
            for (c, s) in a.calls.iter_mut().zip(args) {
                c.args = serde_json::from_str(&s).unwrap();
            }
        }
        Client::Chat => {
            assert_eq!(evs.last().map(|e| &e.1), Some(&json!("[DONE]")), "{text}");
            let mut calls: Vec<Value> = Vec::new();
            for (_, d) in &evs {
                let delta = &d["choices"][0]["delta"];
                if let Some(t) = delta["content"].as_str() {
                    a.text.push_str(t);
                }
                for tc in delta["tool_calls"].as_array().into_iter().flatten() {
                    let i = tc["index"].as_u64().unwrap() as usize;
                    if calls.len() <= i {
                        calls.push(
                            json!({"type": "function", "function": {"name": "", "arguments": ""}}),
                        );
                    }
                    let c = &mut calls[i];
                    if let Some(id) = tc["id"].as_str() {
                        c["id"] = json!(id);
                    }
                    if let Some(n) = tc["function"]["name"].as_str() {
                        c["function"]["name"] = json!(n);
                    }
                    if let Some(s) = tc["function"]["arguments"].as_str() {
                        let joined = format!("{}{s}", c["function"]["arguments"].as_str().unwrap());
                        c["function"]["arguments"] = json!(joined);
                    }
                    if let Some(x) = tc.get("extra_content") {
                        c["extra_content"] = x.clone();
                    }
                }
            }
            a.calls = calls.iter().map(chat_call).collect();
        }
        Client::Responses => {
            let done = evs
                .iter()
                .find(|(n, _)| n == "response.completed")
                .unwrap_or_else(|| panic!("no response.completed: {text}"));
            a = parse_json(client, &done.1["response"]);
        }
        Client::Gemini => {
            assert!(
                evs.iter()
                    .any(|(_, d)| d["candidates"][0]["finishReason"].is_string()),
                "{text}"
            );
            for (_, d) in &evs {
                gemini_parts(d, &mut a);
            }
        }
    }
    a
}

fn ask(t: &Table, client: Client, model: &str, stream: bool, body: Value) -> Answer {
    let r = t.send(client, model, stream, body);
    let cell = format!("{client:?} client → {model}, stream {stream}");
    assert_eq!(r.status, 200, "{cell}: {}", r.text());
    if stream {
        parse_stream(client, &r.text())
    } else {
        parse_json(client, &r.json())
    }
}

fn round_trip(t: &Table, client: Client, model: &str, stream: bool) {
    let cell = format!("{client:?} client → {model}, stream {stream}");
    let a = ask(t, client, model, stream, first_turn(client, model, stream));
    assert_eq!(a.calls.len(), 1, "{cell}: {a:?}");
    let call = &a.calls[0];
    assert_eq!(call.name, "get_weather", "{cell}");
    assert_eq!(call.args["city"], "Paris", "{cell}: {call:?}");
    if client != Client::Gemini {
        assert!(!call.id.is_empty(), "{cell}: a call without an id");
    }
    let b = ask(
        t,
        client,
        model,
        stream,
        second_turn(client, model, stream, call),
    );
    assert!(b.calls.is_empty(), "{cell}: {b:?}");
    assert!(
        b.text.contains("The tool said") && b.text.contains(RESULT),
        "{cell}: {b:?}"
    );
}

#[test]
fn every_client_format_on_every_upstream_format() {
    let t = table();
    for client in CLIENTS {
        for (i, (_, model, _)) in UPSTREAMS.iter().enumerate() {
            let before = t.mocks[i].inference_requests().len();
            for stream in [false, true] {
                round_trip(&t, client, model, stream);
            }
            // Four requests per cell reached that upstream, in its own format.
            assert_eq!(
                t.mocks[i].inference_requests().len() - before,
                4,
                "{client:?} → {model}"
            );
        }
    }
    // The Gemini upstream got its key in `x-goog-api-key`, never the gateway's, and the
    // model in the path, as routed.
    for r in t.mocks[3].inference_requests() {
        assert_eq!(r.headers["x-goog-api-key"], "AIza-gem-k");
        assert!(
            r.path_and_query
                .starts_with("/v1beta/models/gemini-3-pro-preview:"),
            "{}",
            r.path_and_query
        );
        assert!(!r.path_and_query.contains("key="), "{}", r.path_and_query);
    }
    drop(t.env);
}

#[test]
fn gemini_json_array_streams_and_the_key_parameter() {
    let t = table();
    let url = &t.server.url;
    // `?key=` authenticates and is not forwarded; no `alt=sse` is the JSON array.
    for model in ["to-ant", "to-gem"] {
        let r = post_json(
            &format!(
                "{url}/v1beta/models/{model}:streamGenerateContent?key={}",
                t.key
            ),
            &[],
            &first_turn(Client::Gemini, model, true),
        );
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{model}"
        );
        let chunks: Vec<Value> = serde_json::from_str(&r.text())
            .unwrap_or_else(|e| panic!("{model}: not a JSON array ({e}): {}", r.text()));
        let mut a = Answer::default();
        for c in &chunks {
            gemini_parts(c, &mut a);
        }
        assert_eq!(a.calls.len(), 1, "{model}: {}", r.text());
        assert!(chunks.iter().any(|c| c["usageMetadata"].is_object()));
    }
    let gem = t.mocks[3].inference_requests();
    let last = gem.last().unwrap();
    assert!(
        !last.path_and_query.contains("key="),
        "{}",
        last.path_and_query
    );
    assert!(
        !t.server.logs().contains(&t.key),
        "the gateway key reached the log"
    );
}
