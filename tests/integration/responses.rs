//! The OpenAI Responses API through the running gateway: Responses clients on
//! Anthropic and Chat upstreams (converted), `previous_response_id` served from the
//! gateway's store, token counts, and the endpoints that are refused clearly.

use crate::common;

use common::mock::{Flavor, Mock};
use common::{Env, Server, post_json, send};
use serde_json::{Value, json};

struct Setup {
    _env: Env,
    ant: Mock,
    oai: Mock,
    key: String,
    server: Server,
}

/// An Anthropic and an OpenAI Chat upstream; `claude-*` and `gpt-*` by family.
fn setup() -> Setup {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    let oai = Mock::start(Flavor::OpenAi, "sk-oai-k");
    env.add_upstream("ant", &ant, &[]);
    env.add_upstream("oai", &oai, &[]);
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
    fn post(&self, path: &str, body: Value) -> common::Resp {
        post_json(
            &format!("{}{path}", self.server.url),
            &[("authorization", &format!("Bearer {}", self.key))],
            &body,
        )
    }
}

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather of a city",
        "strict": false,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

fn output_text(r: &Value) -> String {
    r["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().iter())
        .filter_map(|p| p["text"].as_str())
        .collect()
}

#[test]
fn responses_client_on_anthropic_and_chat_upstreams() {
    let s = setup();
    for (model, mock) in [("claude-sonnet-4-5", &s.ant), ("gpt-4o", &s.oai)] {
        let r = s.post(
            "/v1/responses",
            json!({"model": model, "instructions": "Be brief.", "input": "Hello", "max_output_tokens": 100}),
        );
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        let v = r.json();
        assert_eq!(v["object"], "response");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["model"], model);
        assert!(v["id"].as_str().unwrap().starts_with("resp_"));
        assert_eq!(output_text(&v), "Hello from the mock upstream.");
        assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0, "{v}");
        assert_eq!(v["instructions"], "Be brief.");
        // The upstream got a request of its own API (the mocks validate strictly).
        let seen = mock.inference_requests();
        let last: Value = serde_json::from_slice(&seen.last().unwrap().body).unwrap();
        match mock.flavor {
            Flavor::Anthropic => assert_eq!(last["system"], "Be brief."),
            _ => assert_eq!(last["messages"][0]["role"], "system"),
        }
    }
}

#[test]
fn a_tool_round_trip_through_a_chat_upstream() {
    let s = setup();
    let first = s.post(
        "/v1/responses",
        json!({"model": "gpt-4o", "input": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [weather_tool()]}),
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let v = first.json();
    let call = v["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call")
        .cloned()
        .unwrap_or_else(|| panic!("no function_call in {v}"));
    assert_eq!(call["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    let second = s.post(
        "/v1/responses",
        json!({"model": "gpt-4o", "tools": [weather_tool()], "input": [
            {"role": "user", "content": "Weather in Paris?"},
            call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "21C and sunny"},
        ]}),
    );
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(output_text(&second.json()), "The tool said: 21C and sunny");
}

#[test]
fn previous_response_id_continues_a_converted_conversation() {
    let s = setup();
    let first = s.post(
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5", "input": "My name is Ada."}),
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let id = first.json()["id"].as_str().unwrap().to_string();
    let second = s.post(
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5", "input": "What is my name?", "previous_response_id": id}),
    );
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(second.json()["previous_response_id"], json!(id));
    // The upstream saw the whole conversation: first turn, its answer, the new turn.
    let seen = s.ant.inference_requests();
    let last: Value = serde_json::from_slice(&seen.last().unwrap().body).unwrap();
    let msgs = last["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{last}");
    assert!(msgs[0].to_string().contains("My name is Ada."), "{last}");
    assert_eq!(msgs[1]["role"], "assistant");

    // An unknown id, or one of a turn sent with `store: false`, is a clear 400.
    let unknown = s.post(
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5", "input": "x", "previous_response_id": "resp_nope"}),
    );
    assert_eq!(unknown.status, 400);
    let e = unknown.json();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("resp_nope"),
        "{e}"
    );
    let unstored = s.post(
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5", "input": "x", "store": false}),
    );
    let id = unstored.json()["id"].as_str().unwrap().to_string();
    let next = s.post(
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5", "input": "y", "previous_response_id": id}),
    );
    assert_eq!(next.status, 400);
}

#[test]
fn input_tokens_are_counted_and_other_endpoints_refused_clearly() {
    let s = setup();
    let r = s.post(
        "/v1/responses/input_tokens",
        json!({"model": "claude-sonnet-4-5", "input": "Hello there, how are you?"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "response.input_tokens");
    assert!(v["input_tokens"].as_u64().unwrap() > 3, "{v}");

    let compact = s.post(
        "/v1/responses/compact",
        json!({"model": "claude-sonnet-4-5", "input": "x"}),
    );
    assert_eq!(compact.status, 400);
    assert!(
        compact.text().contains("--api responses"),
        "{}",
        compact.text()
    );

    let ws = send(
        "GET",
        &format!("{}/v1/responses", s.server.url),
        &[("authorization", &format!("Bearer {}", s.key))],
        "",
    );
    assert_eq!(ws.status, 426);
    assert!(ws.text().contains("WebSocket"), "{}", ws.text());

    // Bad input is answered in OpenAI's error shape and never reaches an upstream.
    let before = s.ant.inference_requests().len();
    let bad = s.post(
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5", "input": [{"type": "item_reference", "id": "msg_1"}]}),
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("item_reference")
    );
    assert_eq!(s.ant.inference_requests().len(), before);
}

/// `(event name, data)` pairs of a Responses SSE body.
fn responses_events(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut name = String::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("event: ") {
            name = n.to_string();
        } else if let Some(d) = line.strip_prefix("data: ") {
            out.push((std::mem::take(&mut name), serde_json::from_str(d).unwrap()));
        }
    }
    out
}

#[test]
fn streams_convert_event_by_event_into_a_valid_responses_stream() {
    let s = setup();
    for model in ["claude-sonnet-4-5", "gpt-4o"] {
        // Text, then a tool call.
        for tools in [json!([]), json!([weather_tool()])] {
            let r = s.post(
                "/v1/responses",
                json!({"model": model, "input": "Weather in Paris?", "stream": true, "tools": tools}),
            );
            assert_eq!(r.status, 200, "{model}: {}", r.text());
            let events = responses_events(&r.text());
            llm_gateway::convert::validate_responses_stream(&events)
                .unwrap_or_else(|e| panic!("{model}: {e}\n{}", r.text()));
            let (last, done) = events.last().unwrap();
            assert_eq!(last, "response.completed", "{model}");
            let output = done["response"]["output"].as_array().unwrap();
            if tools.as_array().unwrap().is_empty() {
                assert_eq!(
                    output_text(&done["response"]),
                    "Hello from the mock upstream."
                );
            } else {
                assert!(
                    output
                        .iter()
                        .any(|i| i["type"] == "function_call" && i["name"] == "get_weather"),
                    "{model}: {done}"
                );
            }
            assert!(done["response"]["usage"]["output_tokens"].as_u64().unwrap() > 0);
            assert_eq!(done["response"]["model"], model);
        }
    }
}

#[test]
fn a_broken_upstream_stream_ends_in_response_failed() {
    let s = setup();
    s.ant.set(|b| b.break_after = Some(4));
    let r = s.post(
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5", "input": "hi", "stream": true}),
    );
    assert_eq!(r.status, 200);
    let events = responses_events(&r.text());
    llm_gateway::convert::validate_responses_stream(&events).unwrap();
    let (last, v) = events.last().unwrap();
    assert_eq!(last, "response.failed", "{}", r.text());
    assert!(v["response"]["error"]["code"].is_string(), "{v}");
    assert!(
        !events.iter().any(|(n, _)| n == "response.completed"),
        "a cut answer must never look complete"
    );
}

/// A Responses upstream beside an Anthropic one: `gpt-*` goes to the Responses mock.
fn setup_responses_upstream() -> (Env, Mock, Mock, String, Server) {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    let resp = Mock::start(Flavor::Responses, "sk-resp-k");
    env.add_upstream("ant", &ant, &[]);
    env.add_upstream("resp", &resp, &[]);
    let key = env.add_key("c", "read,write");
    let server = env.start();
    (env, ant, resp, key, server)
}

#[test]
fn chat_and_anthropic_clients_on_a_responses_upstream() {
    let (_env, _ant, resp, key, server) = setup_responses_upstream();
    let auth = format!("Bearer {key}");
    // Chat client, a tool round trip.
    let weather = json!({"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}});
    let first = post_json(
        &format!("{}/v1/chat/completions", server.url),
        &[("authorization", &auth)],
        &json!({"model": "gpt-5", "messages": [{"role": "user", "content": "Weather?"}],
            "tools": [weather], "max_tokens": 200}),
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let v = first.json();
    assert_eq!(v["object"], "chat.completion");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather", "{v}");
    let sent: Value = serde_json::from_slice(&resp.inference_requests()[0].body).unwrap();
    assert_eq!(sent["store"], false);
    assert_eq!(resp.inference_requests()[0].path_and_query, "/v1/responses");
    let second = post_json(
        &format!("{}/v1/chat/completions", server.url),
        &[("authorization", &auth)],
        &json!({"model": "gpt-5", "tools": [weather], "messages": [
            {"role": "user", "content": "Weather?"},
            v["choices"][0]["message"],
            {"role": "tool", "tool_call_id": call["id"], "content": "21C"},
        ]}),
    );
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(
        second.json()["choices"][0]["message"]["content"],
        "The tool said: 21C"
    );

    // Anthropic client (Claude Code's shape), streamed, sent to the Responses upstream
    // by a route.
    let s = post_json(
        &format!("{}/v1/chat/completions", server.url),
        &[("authorization", &auth)],
        &json!({"model": "gpt-5", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}),
    );
    assert_eq!(s.status, 200, "{}", s.text());
    let chunks: Vec<Value> = s
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let datas: Vec<String> = s
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(String::from)
        .collect();
    llm_gateway::convert::validate::validate_openai_stream(&datas)
        .unwrap_or_else(|e| panic!("{e}: {}", s.text()));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from the mock upstream.");
    let m = post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &key), ("anthropic-version", "2023-06-01")],
        &json!({"model": "gpt-5", "max_tokens": 300, "messages": [{"role": "user", "content": "Hi"}]}),
    );
    assert_eq!(m.status, 200, "{}", m.text());
    assert_eq!(
        m.json()["content"].as_array().unwrap().last().unwrap()["text"],
        "Hello from the mock upstream."
    );
}

#[test]
fn responses_clients_pass_through_byte_for_byte() {
    let (_env, _ant, resp, key, server) = setup_responses_upstream();
    let body = json!({"model": "gpt-5", "input": "Hi", "store": false, "stream": true,
        "reasoning": {"effort": "low", "summary": "auto"}, "include": ["reasoning.encrypted_content"]});
    let raw = serde_json::to_vec(&body).unwrap();
    let r = send(
        "POST",
        &format!("{}/v1/responses", server.url),
        &[
            ("authorization", &format!("Bearer {key}")),
            ("content-type", "application/json"),
        ],
        raw.clone(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = resp.inference_requests();
    assert_eq!(
        seen.last().unwrap().body.as_ref(),
        raw.as_slice(),
        "request body untouched"
    );
    let events = responses_events(&r.text());
    llm_gateway::convert::validate_responses_stream(&events).unwrap();
    assert!(
        events
            .iter()
            .any(|(_, v)| v["item"]["encrypted_content"].is_string())
    );
}

#[test]
fn codex_models_go_to_a_responses_upstream() {
    let env = Env::new();
    let chat = Mock::start(Flavor::OpenAi, "sk-oai-k");
    let resp = Mock::start(Flavor::Responses, "sk-resp-k");
    env.add_upstream("chat", &chat, &["--priority", "5"]);
    env.add_upstream("resp", &resp, &[]);
    let key = env.add_key("c", "read,write");
    let server = env.start();
    let r = post_json(
        &format!("{}/v1/chat/completions", server.url),
        &[("authorization", &format!("Bearer {key}"))],
        &json!({"model": "gpt-5-codex", "messages": [{"role": "user", "content": "Hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(resp.inference_requests().len(), 1);
    assert_eq!(
        chat.inference_requests().len(),
        0,
        "a Chat endpoint would refuse it"
    );
    // Other models still prefer the Chat upstream's higher priority.
    let r = post_json(
        &format!("{}/v1/chat/completions", server.url),
        &[("authorization", &format!("Bearer {key}"))],
        &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(chat.inference_requests().len(), 1);
}

#[test]
fn overload_inside_a_200_stream_fails_over_before_any_output() {
    let env = Env::new();
    let first = Mock::start(Flavor::Responses, "sk-r1");
    let second = Mock::start(Flavor::Responses, "sk-r2");
    let ant_first = Mock::start(Flavor::Anthropic, "sk-a1");
    let ant_second = Mock::start(Flavor::Anthropic, "sk-a2");
    env.add_upstream("r1", &first, &["--priority", "10"]);
    env.add_upstream("r2", &second, &[]);
    env.add_upstream("a1", &ant_first, &["--priority", "10"]);
    env.add_upstream("a2", &ant_second, &[]);
    let key = env.add_key("c", "read,write");
    let server = env.start();
    let post = |model: &str| {
        post_json(
            &format!("{}/v1/responses", server.url),
            &[("authorization", &format!("Bearer {key}"))],
            &json!({"model": model, "input": "hi", "stream": true}),
        )
    };
    // Responses upstream: `response.failed` (overloaded, then rate limited) right
    // after `response.created`.
    for code in ["server_is_overloaded", "rate_limit_exceeded"] {
        first.set(|b| b.fail_in_stream = Some(code.to_string()));
        let before = second.inference_requests().len();
        let r = post("gpt-5");
        assert_eq!(r.status, 200, "{code}: {}", r.text());
        let events = responses_events(&r.text());
        llm_gateway::convert::validate_responses_stream(&events).unwrap();
        assert_eq!(
            events.last().unwrap().0,
            "response.completed",
            "{code}: {}",
            r.text()
        );
        assert_eq!(
            second.inference_requests().len(),
            before + 1,
            "{code}: failed over"
        );
        first.set(|b| b.fail_in_stream = None);
    }
    // Anthropic upstream: an `error` event (overloaded) right after `message_start`.
    ant_first.set(|b| {
        b.raw_stream = Some(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n\
             event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
                .into(),
        )
    });
    let r = post("claude-sonnet-4-5");
    assert_eq!(r.status, 200, "{}", r.text());
    let events = responses_events(&r.text());
    assert_eq!(
        events.last().unwrap().0,
        "response.completed",
        "{}",
        r.text()
    );
    assert_eq!(
        ant_second.inference_requests().len(),
        1,
        "failed over to a2"
    );
}

#[test]
fn codex_gets_its_model_catalog_shape_and_compact_passes_through() {
    let (_env, _ant, resp, key, server) = setup_responses_upstream();
    let auth = format!("Bearer {key}");
    let codex = send(
        "GET",
        &format!("{}/v1/models?client_version=0.171.0", server.url),
        &[("authorization", &auth), ("originator", "codex_exec")],
        "",
    );
    assert_eq!(codex.status, 200);
    assert_eq!(codex.json(), json!({"models": []}));
    let sdk = send(
        "GET",
        &format!("{}/v1/models", server.url),
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(sdk.json()["object"], "list");

    // `compact` goes to the Responses upstream as it is (the mock refuses it: it only
    // serves /v1/responses, and its 404 comes back unchanged).
    let r = post_json(
        &format!("{}/v1/responses/compact", server.url),
        &[("authorization", &auth)],
        &json!({"model": "gpt-5", "input": "x"}),
    );
    let seen = resp.requests();
    assert_eq!(seen.last().unwrap().path_and_query, "/v1/responses/compact");
    assert_eq!(r.status, 404);
}

#[test]
fn codex_session_headers_stay_with_the_client_on_converted_requests() {
    let s = setup();
    let r = post_json(
        &format!("{}/v1/responses", s.server.url),
        &[
            ("authorization", &format!("Bearer {}", s.key)),
            ("x-codex-turn-metadata", "{\"installation_id\":\"abc\"}"),
            ("session-id", "thread-1"),
            ("originator", "codex_exec"),
            ("openai-beta", "responses=experimental"),
        ],
        &json!({"model": "claude-sonnet-4-5", "input": "hi"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = s.ant.inference_requests();
    let h = &seen.last().unwrap().headers;
    for name in [
        "x-codex-turn-metadata",
        "session-id",
        "originator",
        "openai-beta",
    ] {
        assert!(
            h.get(name).is_none(),
            "{name} reached the Anthropic upstream"
        );
    }
}
