//! The OpenAI Responses flavor of the strict mock upstream on its own (no gateway):
//! auth, JSON answers, the typed event stream (checked for order and consistency here),
//! refusals of invalid requests, and the `fail_in_stream` knob.

use crate::common;

use common::mock::{Flavor, Mock};
use common::{Resp, post_json, send};
use serde_json::{Value, json};

const KEY: &str = "sk-responses-upstream-TEST";

fn post(m: &Mock, body: &Value) -> Resp {
    let auth = format!("Bearer {KEY}");
    post_json(
        &format!("{}/responses", m.base_url()),
        &[("authorization", auth.as_str())],
        body,
    )
}

/// `(event name, data)` of each SSE event; the name must equal the data's `type`.
fn events(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["content-type"], "text/event-stream");
    r.text()
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let name = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap();
            let data: Value = serde_json::from_str(
                block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(data["type"], name, "{block}");
            data
        })
        .collect()
}

/// A minimal Responses stream check: sequence numbers from 0, created / in_progress
/// first, a terminal event last; each output item added before its events and done
/// after them, in index order; deltas add up to the `done` values; the final response
/// lists the done items.
fn check_stream(ev: &[Value]) -> Result<(), String> {
    for (i, e) in ev.iter().enumerate() {
        if e["sequence_number"] != i {
            return Err(format!(
                "event {i}: sequence_number {}",
                e["sequence_number"]
            ));
        }
    }
    let types: Vec<&str> = ev
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    if types.get(..2) != Some(&["response.created", "response.in_progress"][..]) {
        return Err(format!("must start with created, in_progress: {types:?}"));
    }
    let last = types.len() - 1;
    if !matches!(
        types[last],
        "response.completed" | "response.failed" | "response.incomplete"
    ) {
        return Err(format!("must end with a terminal event: {types:?}"));
    }
    let mut open: Option<u64> = None;
    let mut done_items = Vec::new();
    let mut text = String::new();
    for e in &ev[2..last] {
        let idx = e["output_index"].as_u64().ok_or("output_index missing")?;
        match e["type"].as_str().unwrap_or("") {
            "response.output_item.added" => {
                if open.is_some() || idx != done_items.len() as u64 {
                    return Err(format!("item {idx} added out of order"));
                }
                open = Some(idx);
                text.clear();
            }
            "response.output_item.done" => {
                if open != Some(idx) {
                    return Err(format!("item {idx} done but not open"));
                }
                open = None;
                done_items.push(e["item"].clone());
            }
            t if open != Some(idx) => return Err(format!("{t} outside its item")),
            "response.output_text.delta"
            | "response.function_call_arguments.delta"
            | "response.reasoning_summary_text.delta"
            | "response.custom_tool_call_input.delta" => {
                text.push_str(e["delta"].as_str().ok_or("delta missing")?);
            }
            "response.output_text.done" | "response.reasoning_summary_text.done" => {
                if e["text"] != text.as_str() {
                    return Err(format!("deltas {text:?} != done {}", e["text"]));
                }
                text.clear();
            }
            t @ ("response.function_call_arguments.done"
            | "response.custom_tool_call_input.done") => {
                let field = if t.ends_with("arguments.done") {
                    "arguments"
                } else {
                    "input"
                };
                if e[field] != text.as_str() {
                    return Err(format!("deltas {text:?} != {field} {}", e[field]));
                }
            }
            _ => {}
        }
    }
    if open.is_some() {
        return Err("an item was never done".into());
    }
    let output = &ev[last]["response"]["output"];
    if types[last] == "response.completed" && *output != Value::Array(done_items) {
        return Err(format!(
            "completed output differs from the done items: {output}"
        ));
    }
    Ok(())
}

#[test]
fn auth_models_and_json_text() {
    let m = Mock::start(Flavor::Responses, KEY);
    let body = json!({"model": "gpt-5", "input": "hello", "metadata": {"t": "1"}});
    let wrong = post_json(
        &format!("{}/responses", m.base_url()),
        &[("authorization", "Bearer nope")],
        &body,
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.json()["error"]["message"].is_string());
    let models = send(
        "GET",
        &format!("{}/models", m.base_url()),
        &[("authorization", &format!("Bearer {KEY}"))],
        "",
    );
    assert_eq!(models.json()["object"], "list");

    let r = post(&m, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert!(v["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["metadata"], json!({"t": "1"}));
    let msg = &v["output"][0];
    assert_eq!(msg["type"], "message");
    assert!(msg["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(msg["content"][0]["type"], "output_text");
    assert_eq!(msg["content"][0]["text"], "Hello from the mock upstream.");
    assert_eq!(v["usage"]["total_tokens"], 17);
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 0);
    // The refused request is recorded too.
    assert_eq!(m.inference_requests().len(), 2);
}

#[test]
fn json_tool_round_trip_and_reasoning() {
    let m = Mock::start(Flavor::Responses, KEY);
    let tools = json!([{"type": "function", "name": "get_weather", "strict": false,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
    let v = post(
        &m,
        &json!({"model": "gpt-5", "input": "weather?", "tools": tools,
        "reasoning": {"effort": "low", "summary": "auto"}, "include": ["reasoning.encrypted_content"], "store": false}),
    )
    .json();
    let out = v["output"].as_array().unwrap();
    let kinds: Vec<&str> = out.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["reasoning", "message", "function_call"]);
    assert!(out[0]["encrypted_content"].is_string());
    assert!(out[0]["summary"][0]["text"].is_string());
    assert!(v["usage"]["output_tokens_details"]["reasoning_tokens"].as_u64() > Some(0));
    let call = &out[2];
    assert!(call["id"].as_str().unwrap().starts_with("fc_"));
    assert!(call["call_id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["arguments"], r#"{"city":"Paris"}"#);

    // Stateless replay: reasoning without its id, the call and its output.
    let mut reasoning = out[0].clone();
    reasoning.as_object_mut().unwrap().remove("id");
    let input = json!([{"role": "user", "content": "weather?"}, reasoning, call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny, 21C"}]);
    let v = post(
        &m,
        &json!({"model": "gpt-5", "input": input, "tools": tools, "store": false}),
    )
    .json();
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        "The tool said: sunny, 21C"
    );
}

#[test]
fn streams_in_order() {
    let m = Mock::start(Flavor::Responses, KEY);
    m.set(|b| b.deltas = 4);
    let ev = events(&post(
        &m,
        &json!({"model": "gpt-5", "input": "hi", "stream": true}),
    ));
    check_stream(&ev).unwrap();
    let deltas = ev
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .count();
    assert_eq!(deltas, 4);
    assert_eq!(ev.last().unwrap()["response"]["usage"]["output_tokens"], 5);

    let tools = json!([{"type": "function", "name": "run_shell", "strict": false, "parameters": null},
        {"type": "custom", "name": "bash"}]);
    for choice in [json!("auto"), json!({"type": "custom", "name": "bash"})] {
        let ev = events(&post(
            &m,
            &json!({"model": "gpt-5", "input": "list files", "stream": true, "tools": tools,
                "tool_choice": choice, "reasoning": {"effort": "high", "summary": "detailed"}}),
        ));
        check_stream(&ev).unwrap();
        let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert!(types.contains(&"response.reasoning_summary_text.delta"));
        let out = &ev.last().unwrap()["response"]["output"];
        let last = &out[out.as_array().unwrap().len() - 1];
        if choice == "auto" {
            assert_eq!(last["type"], "function_call");
            assert_eq!(last["name"], "run_shell");
            assert!(types.contains(&"response.function_call_arguments.delta"));
        } else {
            assert_eq!(last["type"], "custom_tool_call");
            assert!(last["call_id"].as_str().unwrap().starts_with("call_"));
            assert!(!last["input"].as_str().unwrap().is_empty());
        }
    }
    // The checker itself catches a broken order.
    let mut broken = ev.clone();
    broken.swap(2, 3);
    assert!(check_stream(&broken).is_err());
}

#[test]
fn invalid_requests_are_refused() {
    let m = Mock::start(Flavor::Responses, KEY);
    let r = post(&m, &json!({"model": "gpt-5", "input": "x", "stop": ["\n"]}));
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert_eq!(e["type"], "invalid_request_error");
    assert_eq!(e["param"], "stop");
    assert_eq!(e["code"], "unknown_parameter");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Unknown parameter: 'stop'.")
    );

    let r = post(
        &m,
        &json!({"model": "gpt-5", "input": [{"type": "function_call_output", "call_id": "call_x", "output": "ok"}]}),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("No tool call found for function call output with call_id call_x")
    );

    // Strict is the Responses default: a loose schema without `strict: false` fails.
    let r = post(
        &m,
        &json!({"model": "gpt-5", "input": "x", "tools": [{"type": "function", "name": "f",
            "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}]}),
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("additionalProperties"), "{}", r.text());
}

#[test]
fn fail_in_stream() {
    let m = Mock::start(Flavor::Responses, KEY);
    m.set(|b| b.fail_in_stream = Some("rate_limit_exceeded".into()));
    let body = json!({"model": "gpt-x", "input": "hi", "stream": true});
    let ev = events(&post(&m, &body));
    check_stream(&ev).unwrap();
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "response.created",
            "response.in_progress",
            "response.failed"
        ]
    );
    let resp = &ev[2]["response"];
    assert_eq!(resp["status"], "failed");
    assert_eq!(resp["error"]["code"], "rate_limit_exceeded");
    assert_eq!(
        resp["error"]["message"],
        "Rate limit reached for gpt-x. Please try again in 1.5s."
    );

    // The same through the control endpoint, as the e2e tests steer it; reset after.
    let control = |b: Value| {
        let r = post_json(&format!("http://{}/__mock/behavior", m.addr), &[], &b);
        assert_eq!(r.status, 200);
    };
    control(json!({"fail_in_stream": "server_is_overloaded"}));
    let ev = events(&post(&m, &body));
    assert_eq!(ev[2]["response"]["error"]["code"], "server_is_overloaded");
    control(json!({}));
    let ev = events(&post(&m, &body));
    assert_eq!(ev.last().unwrap()["type"], "response.completed");
}
