//! The OpenAI Responses API side of the mock upstream (`Flavor::Responses`): what the
//! scripted model's reply looks like as a `response` object and as the typed SSE event
//! sequence (`response.created` … `response.completed`), the `response.failed` stream
//! of an overloaded or rate-limited upstream, and reading the Responses `input` for
//! the script.

use serde_json::{Value, json};

use super::{Reply, content_text, split_text, sse};

/// The last `function_call_output` / `custom_tool_call_output` in `input`, as text.
pub fn last_tool_output(req: &Value) -> Option<String> {
    req["input"].as_array()?.iter().rev().find_map(|it| {
        matches!(
            it["type"].as_str(),
            Some("function_call_output" | "custom_tool_call_output")
        )
        .then(|| content_text(&it["output"]))
    })
}

/// The tool a `tool_choice {type: function|custom, name}` forces.
pub fn forced_tool(req: &Value) -> Option<&str> {
    match req["tool_choice"]["type"].as_str() {
        Some("function" | "custom") => req["tool_choice"]["name"].as_str(),
        _ => None,
    }
}

/// The output items of the reply, completed.
fn output_items(reply: &Reply, req: &Value) -> Vec<Value> {
    let mut items = Vec::new();
    let reasoning = req["reasoning"].is_object() && req["reasoning"]["effort"] != "none";
    if reasoning {
        let mut r = json!({"id": "rs_mock_1", "type": "reasoning", "summary": []});
        if req["reasoning"]["summary"].is_string() {
            r["summary"] = json!([{"type": "summary_text", "text": "**Planning** The user wants an answer; I will give it."}]);
        }
        let included = req["include"]
            .as_array()
            .is_some_and(|i| i.iter().any(|v| v == "reasoning.encrypted_content"));
        if included {
            r["encrypted_content"] = json!("gAAAAABmockEncryptedReasoning==");
        }
        items.push(r);
    }
    let message = |id: &str, text: &str| {
        json!({"id": id, "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]})
    };
    match reply {
        Reply::Text(t) => items.push(message("msg_mock_1", t)),
        Reply::Tool { id, name, input } => {
            if let Some(p) = reply.preamble() {
                items.push(message("msg_mock_0", p));
            }
            let call_id = id.replace("toolu_", "call_");
            if is_custom(req, name) {
                let text = input["command"]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| input.to_string());
                items.push(
                    json!({"id": "ctc_mock_1", "type": "custom_tool_call", "status": "completed",
                    "call_id": call_id, "name": name, "input": text}),
                );
            } else {
                items.push(
                    json!({"id": "fc_mock_1", "type": "function_call", "status": "completed",
                    "call_id": call_id, "name": name, "arguments": input.to_string()}),
                );
            }
        }
    }
    items
}

fn is_custom(req: &Value, name: &str) -> bool {
    req["tools"].as_array().is_some_and(|ts| {
        ts.iter()
            .any(|t| t["type"] == "custom" && t["name"] == name)
    })
}

fn usage(items: &[Value]) -> Value {
    let reasoning = if items.iter().any(|i| i["type"] == "reasoning") {
        8
    } else {
        0
    };
    let output = 5 + reasoning;
    json!({"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": 12 + output})
}

/// A `response` object in `status`, echoing the request's settings as the API does.
fn envelope(model: &str, req: &Value, status: &str, output: Vec<Value>, usage: Value) -> Value {
    let or = |k: &str, d: Value| {
        if req[k].is_null() { d } else { req[k].clone() }
    };
    json!({
        "id": "resp_mock_1", "object": "response", "created_at": 1_700_000_000,
        "status": status, "background": false, "error": null, "incomplete_details": null,
        "instructions": or("instructions", Value::Null),
        "max_output_tokens": or("max_output_tokens", Value::Null), "max_tool_calls": null,
        "model": model, "output": output,
        "parallel_tool_calls": or("parallel_tool_calls", json!(true)),
        "previous_response_id": or("previous_response_id", Value::Null),
        "prompt_cache_key": or("prompt_cache_key", Value::Null),
        "reasoning": {"effort": req["reasoning"]["effort"].clone(), "summary": req["reasoning"]["summary"].clone()},
        "safety_identifier": null, "service_tier": "default",
        "store": or("store", json!(true)),
        "temperature": or("temperature", json!(1.0)),
        "text": {"format": if req["text"]["format"].is_null() { json!({"type": "text"}) } else { req["text"]["format"].clone() },
            "verbosity": if req["text"]["verbosity"].is_null() { json!("medium") } else { req["text"]["verbosity"].clone() }},
        "tool_choice": or("tool_choice", json!("auto")),
        "tools": or("tools", json!([])), "top_logprobs": 0,
        "top_p": or("top_p", json!(1.0)),
        "truncation": or("truncation", json!("disabled")),
        "usage": usage, "user": or("user", Value::Null),
        "metadata": or("metadata", json!({})),
    })
}

/// The non-streaming answer: a completed `response` object.
pub fn response_object(model: &str, reply: &Reply, req: &Value) -> Value {
    let items = output_items(reply, req);
    let u = usage(&items);
    envelope(model, req, "completed", items, u)
}

/// Typed events with `sequence_number`s from 0.
struct Events {
    out: Vec<String>,
    obfuscate: bool,
}

impl Events {
    fn push(&mut self, ty: &str, mut data: Value) {
        data["type"] = json!(ty);
        data["sequence_number"] = json!(self.out.len());
        if self.obfuscate && ty.ends_with(".delta") {
            data["obfuscation"] = json!("mOcK");
        }
        self.out.push(sse(ty, &data));
    }
}

fn start(model: &str, req: &Value) -> Events {
    let mut ev = Events {
        out: Vec::new(),
        obfuscate: req["stream_options"]["include_obfuscation"] != false,
    };
    let head = envelope(model, req, "in_progress", vec![], Value::Null);
    ev.push("response.created", json!({"response": head.clone()}));
    ev.push("response.in_progress", json!({"response": head}));
    ev
}

/// The event stream of a reply: each output item added, its parts and deltas, done.
pub fn response_events(model: &str, reply: &Reply, req: &Value, deltas: usize) -> Vec<String> {
    let mut ev = start(model, req);
    let items = output_items(reply, req);
    for (idx, item) in items.iter().enumerate() {
        let id = item["id"].clone();
        let at = |extra: Value| {
            let mut v = json!({"item_id": id, "output_index": idx});
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            v
        };
        let mut added = item.clone();
        added["status"] = json!("in_progress");
        match item["type"].as_str().unwrap_or("") {
            "message" => {
                added["content"] = json!([]);
                ev.push(
                    "response.output_item.added",
                    json!({"output_index": idx, "item": added}),
                );
                let text = item["content"][0]["text"].as_str().unwrap_or("");
                let part = |t: &str| json!({"type": "output_text", "text": t, "annotations": [], "logprobs": []});
                ev.push(
                    "response.content_part.added",
                    at(json!({"content_index": 0, "part": part("")})),
                );
                for piece in split_text(text, deltas) {
                    ev.push(
                        "response.output_text.delta",
                        at(json!({"content_index": 0, "delta": piece, "logprobs": []})),
                    );
                }
                ev.push(
                    "response.output_text.done",
                    at(json!({"content_index": 0, "text": text, "logprobs": []})),
                );
                ev.push(
                    "response.content_part.done",
                    at(json!({"content_index": 0, "part": part(text)})),
                );
            }
            "function_call" => {
                added["arguments"] = json!("");
                ev.push(
                    "response.output_item.added",
                    json!({"output_index": idx, "item": added}),
                );
                let args = item["arguments"].as_str().unwrap_or("");
                for piece in split_text(args, 3) {
                    ev.push(
                        "response.function_call_arguments.delta",
                        at(json!({"delta": piece})),
                    );
                }
                ev.push(
                    "response.function_call_arguments.done",
                    at(json!({"arguments": args, "name": item["name"]})),
                );
            }
            "custom_tool_call" => {
                added["input"] = json!("");
                ev.push(
                    "response.output_item.added",
                    json!({"output_index": idx, "item": added}),
                );
                let input = item["input"].as_str().unwrap_or("");
                for piece in split_text(input, 2) {
                    ev.push(
                        "response.custom_tool_call_input.delta",
                        at(json!({"delta": piece})),
                    );
                }
                ev.push(
                    "response.custom_tool_call_input.done",
                    at(json!({"input": input})),
                );
            }
            _ => {
                // reasoning: the summary parts stream; encrypted content only in `done`.
                added["summary"] = json!([]);
                if let Some(o) = added.as_object_mut() {
                    o.remove("encrypted_content");
                }
                ev.push(
                    "response.output_item.added",
                    json!({"output_index": idx, "item": added}),
                );
                for (k, s) in item["summary"].as_array().into_iter().flatten().enumerate() {
                    let text = s["text"].as_str().unwrap_or("");
                    let part = |t: &str| json!({"type": "summary_text", "text": t});
                    ev.push(
                        "response.reasoning_summary_part.added",
                        at(json!({"summary_index": k, "part": part("")})),
                    );
                    for piece in split_text(text, 2) {
                        ev.push(
                            "response.reasoning_summary_text.delta",
                            at(json!({"summary_index": k, "delta": piece})),
                        );
                    }
                    ev.push(
                        "response.reasoning_summary_text.done",
                        at(json!({"summary_index": k, "text": text})),
                    );
                    ev.push(
                        "response.reasoning_summary_part.done",
                        at(json!({"summary_index": k, "part": part(text)})),
                    );
                }
            }
        }
        ev.push(
            "response.output_item.done",
            json!({"output_index": idx, "item": item}),
        );
    }
    let u = usage(&items);
    ev.push(
        "response.completed",
        json!({"response": envelope(model, req, "completed", items, u)}),
    );
    ev.out
}

/// A 200 stream that fails the way the real API reports overload or rate limits inside
/// a stream: `response.created`, `response.in_progress`, then `response.failed`.
pub fn failed_events(model: &str, req: &Value, code: &str) -> Vec<String> {
    let mut ev = start(model, req);
    let message = match code {
        "rate_limit_exceeded" => {
            format!("Rate limit reached for {model}. Please try again in 1.5s.")
        }
        "server_is_overloaded" => {
            "Our servers are currently overloaded. Please try again later.".to_string()
        }
        _ => "An error occurred while processing your request.".to_string(),
    };
    let mut failed = envelope(model, req, "failed", vec![], Value::Null);
    failed["error"] = json!({"code": code, "message": message});
    ev.push("response.failed", json!({"response": failed}));
    ev.out
}
