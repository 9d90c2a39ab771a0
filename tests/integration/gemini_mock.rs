//! The Gemini mock upstream (`Flavor::Gemini`, `tests/common/mock_gemini.rs`) on its own,
//! and the Chat ⇄ Gemini converters against it: keys where Google reads them, errors in
//! Google's shape, strict bodies, JSON, SSE and JSON-array streams, and a tool round trip
//! on a Gemini 3 model whose thought signature must come back.

use crate::common;

use common::mock::{Flavor, Mock, gemini::SIGNATURE};
use common::{post_json, send};
use llm_gateway::convert::RequestOptions;
use llm_gateway::convert::gemini::{chat_to_gemini_request, gemini_to_chat_response};
use serde_json::{Value, json};

const KEY: &str = "AIza-mock-key";

fn generate(m: &Mock, model: &str, body: &Value) -> common::Resp {
    post_json(
        &format!("{}/v1beta/models/{model}:generateContent", m.base_url()),
        &[("x-goog-api-key", KEY)],
        body,
    )
}

fn hello() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
}

#[test]
fn keys_errors_and_models_as_google_answers() {
    let m = Mock::start(Flavor::Gemini, KEY);
    let base = m.base_url();
    let list = send(
        "GET",
        &format!("{base}/v1beta/models"),
        &[("x-goog-api-key", KEY)],
        "",
    );
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(list.json()["models"][0]["name"], "models/gemini-mock-1");
    // The key as a query parameter works too.
    let r = post_json(
        &format!("{base}/v1beta/models/gemini-2.5-flash:generateContent?key={KEY}"),
        &[],
        &hello(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // A wrong key is a 400 with the reason; none is a 403.
    let r = post_json(
        &format!("{base}/v1beta/models/gemini-2.5-flash:generateContent"),
        &[("x-goog-api-key", "nope")],
        &hello(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(r.json()["error"]["details"][0]["reason"], "API_KEY_INVALID");
    let r = post_json(
        &format!("{base}/v1beta/models/gemini-2.5-flash:generateContent"),
        &[],
        &hello(),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["status"], "PERMISSION_DENIED");
    // Strict bodies: an unknown field is refused, in Google's shape.
    let mut odd = hello();
    odd["max_tokens"] = json!(5);
    let r = generate(&m, "gemini-2.5-flash", &odd);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Unknown name")
    );
    let r = post_json(
        &format!("{base}/v1beta/models/gemini-2.5-flash:countTokens"),
        &[("x-goog-api-key", KEY)],
        &hello(),
    );
    assert_eq!(r.json()["totalTokens"], 42);
    let r = post_json(
        &format!("{base}/v1beta/models/gemini-2.5-flash:embedEverything"),
        &[("x-goog-api-key", KEY)],
        &hello(),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn answers_stream_as_sse_and_as_a_json_array() {
    let m = Mock::start(Flavor::Gemini, KEY);
    let r = generate(&m, "gemini-2.5-flash", &hello());
    let v = r.json();
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["text"],
        "Hello from the mock upstream."
    );
    assert_eq!(v["usageMetadata"]["totalTokenCount"], 17);

    let url = format!(
        "{}/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        m.base_url()
    );
    let sse = post_json(
        &format!("{url}?alt=sse"),
        &[("x-goog-api-key", KEY)],
        &hello(),
    );
    assert_eq!(sse.headers["content-type"], "text/event-stream");
    let chunks: Vec<Value> = sse
        .text()
        .split("\r\n\r\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "Hello from the mock upstream.");
    assert_eq!(
        chunks.last().unwrap()["candidates"][0]["finishReason"],
        "STOP"
    );

    let array = post_json(&url, &[("x-goog-api-key", KEY)], &hello());
    assert_eq!(array.headers["content-type"], "application/json");
    let v: Value = serde_json::from_str(&array.text()).unwrap();
    assert_eq!(v, Value::Array(chunks));
}

/// A Chat client's tool round trip through the converters to a Gemini 3 model: the
/// call's signature rides on the Chat tool call and goes back, so the strict mock
/// accepts the second turn; without it the mock refuses, as Gemini 3 does.
#[test]
fn a_chat_tool_round_trip_through_the_converters_keeps_the_signature() {
    let m = Mock::start(Flavor::Gemini, KEY);
    let model = "gemini-3-pro-preview";
    let opts = RequestOptions {
        upstream_model: model.into(),
        keep_reasoning: false,
    };
    let mut chat = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Run it"}],
        "tools": [{"type": "function", "function": {"name": "run_shell", "parameters": {
            "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
            "properties": {"command": {"type": "string"}}, "required": ["command"]}}}]});
    let (g, ctx) = chat_to_gemini_request(&chat, &opts).unwrap();
    let r = generate(&m, model, &g);
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = gemini_to_chat_response(&r.json(), &ctx, "gpt-4o");
    let msg = answer["choices"][0]["message"].clone();
    let call = &msg["tool_calls"][0];
    assert_eq!(call["function"]["name"], "run_shell");
    assert_eq!(
        call["extra_content"]["google"]["thought_signature"],
        SIGNATURE
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "tool_calls");
    let id = call["id"].as_str().unwrap().to_string();

    chat["messages"].as_array_mut().unwrap().extend([
        msg.clone(),
        json!({"role": "tool", "tool_call_id": id, "content": "gateway-e2e-ok"}),
    ]);
    let (g, ctx) = chat_to_gemini_request(&chat, &opts).unwrap();
    let r = generate(&m, model, &g);
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = gemini_to_chat_response(&r.json(), &ctx, "gpt-4o");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "The tool said: gateway-e2e-ok"
    );

    // A client that dropped the signature: the converter sends Google's skip value,
    // which the API accepts; an empty one is refused.
    let mut bare = chat.clone();
    bare["messages"][1]["tool_calls"][0]
        .as_object_mut()
        .unwrap()
        .remove("extra_content");
    let (g, _) = chat_to_gemini_request(&bare, &opts).unwrap();
    assert_eq!(generate(&m, model, &g).status, 200);
    let mut g = g;
    for part in g["contents"][1]["parts"].as_array_mut().unwrap() {
        if part.get("functionCall").is_some() {
            part.as_object_mut().unwrap().remove("thoughtSignature");
        }
    }
    let r = generate(&m, model, &g);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("thought_signature"), "{}", r.text());
}
