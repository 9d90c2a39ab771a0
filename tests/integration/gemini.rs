//! Gemini through the running gateway, beyond the 4 × 4 table (`formats.rs`): the
//! `gemini` provider on the CLI (`upstream test`, refused OAuth), the model endpoints in
//! Google's shape, token counts, every gateway error in Google's shape (missing and
//! wrong keys, unknown models, bad bodies, a key's rpm as `RESOURCE_EXHAUSTED`), and a
//! Gemini account whose key Google refuses with a 400 counted as refused credentials.

use std::time::Duration;

use crate::common;

use common::mock::{Flavor, Mock};
use common::{Env, Server, eventually, post_json, send};
use serde_json::{Value, json};

struct Setup {
    env: Env,
    gem: Mock,
    ant: Mock,
    key: String,
    server: Server,
}

fn setup(tune: impl FnOnce(&Env)) -> Setup {
    let env = Env::new();
    let gem = Mock::start(Flavor::Gemini, "AIza-gem-k");
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("gem", &gem, &[]);
    env.add_upstream("ant", &ant, &[]);
    let key = env.add_key("g", "read,write");
    tune(&env);
    let server = env.start();
    Setup {
        env,
        gem,
        ant,
        key,
        server,
    }
}

fn hello() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
}

impl Setup {
    fn call(&self, model: &str, method: &str, key: Option<&str>, body: &Value) -> common::Resp {
        let headers: Vec<(&str, &str)> = key.map(|k| ("x-goog-api-key", k)).into_iter().collect();
        post_json(
            &format!("{}/v1beta/models/{model}:{method}", self.server.url),
            &headers,
            body,
        )
    }

    fn get(&self, path: &str) -> common::Resp {
        send(
            "GET",
            &format!("{}{path}", self.server.url),
            &[("x-goog-api-key", &self.key)],
            "",
        )
    }
}

/// `{"error": {"code", "message", "status"}}` with this status, and nothing else.
fn google_error(r: &common::Resp, code: u16, status: &str) -> String {
    assert_eq!(r.status, code, "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["code"], code, "{v}");
    assert_eq!(v["error"]["status"], status, "{v}");
    v["error"]["message"].as_str().unwrap().to_string()
}

#[test]
fn the_gemini_provider_on_the_cli() {
    let s = setup(|_| {});
    let v = s.env.json(&["upstream", "test", "gem"]);
    assert_eq!(v["reachable"], true, "{v}");
    assert!(v["models"].as_u64().unwrap() >= 1, "{v}");
    let list = s.env.ok(&["upstream", "list"]);
    assert!(list.contains("gemini"), "{list}");
    let out = s.env.run(&[
        "upstream",
        "add",
        "--type",
        "oauth",
        "--provider",
        "gemini",
        "--name",
        "g2",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("API key"), "{err}");
    // `health` probes it like any upstream.
    assert!(eventually(Duration::from_secs(5), || s
        .env
        .run(&["health"])
        .status
        .success()));
}

#[test]
fn models_counts_and_errors_in_googles_shape() {
    let s = setup(|_| {});
    // The catalog, in Google's shape: the Gemini account's models and the others'.
    let v = s.get("/v1beta/models").json();
    let names: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"models/gemini-mock-1"), "{v}");
    assert!(names.iter().all(|n| n.starts_with("models/")), "{v}");
    let one = s.get("/v1beta/models/gemini-2.5-flash");
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["name"], "models/gemini-2.5-flash");
    google_error(&s.get("/v1beta/models/no-such-model"), 404, "NOT_FOUND");
    // OpenAI clients see the Gemini models too, owned by gemini.
    let oai = send(
        "GET",
        &format!("{}/v1/models", s.server.url),
        &[("authorization", &format!("Bearer {}", s.key))],
        "",
    )
    .json();
    assert!(
        oai["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "gemini-mock-1" && m["owned_by"] == "gemini"),
        "{oai}"
    );

    // One model for an OpenAI client too (the OpenAI SDK's `models.retrieve`).
    let bearer = format!("Bearer {}", s.key);
    let one = send(
        "GET",
        &format!("{}/v1/models/gemini-2.5-flash", s.server.url),
        &[("authorization", &bearer)],
        "",
    );
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["id"], "gemini-2.5-flash");
    assert_eq!(one.json()["object"], "model");
    let none = send(
        "GET",
        &format!("{}/v1/models/no-such-model", s.server.url),
        &[("authorization", &bearer)],
        "",
    );
    assert_eq!(none.status, 404);
    assert_eq!(none.json()["error"]["code"], "model_not_found");

    // countTokens: a Gemini upstream counts; for another upstream the gateway estimates.
    let r = s.call("gemini-2.5-flash", "countTokens", Some(&s.key), &hello());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["totalTokens"], 42);
    let r = s.call("claude-sonnet-4-5", "countTokens", Some(&s.key), &hello());
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["totalTokens"].as_u64().unwrap() > 0);
    assert!(s.ant.inference_requests().is_empty());

    // The gateway's own refusals.
    let m = google_error(
        &s.call("gemini-2.5-flash", "generateContent", None, &hello()),
        401,
        "UNAUTHENTICATED",
    );
    assert!(m.contains("x-goog-api-key"), "{m}");
    google_error(
        &s.call(
            "gemini-2.5-flash",
            "generateContent",
            Some("lgw_wrong"),
            &hello(),
        ),
        401,
        "UNAUTHENTICATED",
    );
    google_error(
        &s.call("mystery-model", "generateContent", Some(&s.key), &hello()),
        404,
        "NOT_FOUND",
    );
    let m = google_error(
        &s.call(
            "claude-sonnet-4-5",
            "generateContent",
            Some(&s.key),
            &json!({"contents": "hi"}),
        ),
        400,
        "INVALID_ARGUMENT",
    );
    assert!(m.contains("contents"), "{m}");
    let m = google_error(
        &s.call(
            "claude-sonnet-4-5",
            "generateContent",
            Some(&s.key),
            &json!({"contents": hello()["contents"], "generationConfig": {"candidateCount": 2}}),
        ),
        400,
        "INVALID_ARGUMENT",
    );
    assert!(m.contains("candidateCount"), "{m}");
    // The Gemini upstream's own refusal passes through in its shape.
    let r = s.call(
        "gemini-2.5-flash",
        "generateContent",
        Some(&s.key),
        &json!({"contents": hello()["contents"], "max_tokens": 5}),
    );
    google_error(&r, 400, "INVALID_ARGUMENT");
    // Nothing the gateway refused reached an upstream.
    assert!(s.ant.inference_requests().is_empty());
}

#[test]
fn a_keys_rpm_is_resource_exhausted() {
    let s = setup(|_| {});
    let v = s
        .env
        .json(&["apikey", "add", "--name", "capped", "--rpm", "1"]);
    let capped = v["key"].as_str().unwrap().to_string();
    // The server picks the new key up from the config file.
    assert!(eventually(Duration::from_secs(5), || {
        s.call(
            "gemini-2.5-flash",
            "generateContent",
            Some(&capped),
            &hello(),
        )
        .status
            == 200
    }));
    let r = s.call(
        "gemini-2.5-flash",
        "generateContent",
        Some(&capped),
        &hello(),
    );
    let m = google_error(&r, 429, "RESOURCE_EXHAUSTED");
    assert!(m.contains("requests per minute"), "{m}");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(s.gem.inference_requests().len(), 1);
}

#[test]
fn a_gemini_key_refused_with_a_400_fails_over_and_is_flagged() {
    let bad = Mock::start(Flavor::Gemini, "AIza-right");
    let s = setup(|env| {
        // Registered with the wrong key, preferred.
        env.json(&[
            "upstream",
            "add",
            "--type",
            "api-key",
            "--provider",
            "gemini",
            "--name",
            "stale",
            "--key",
            "AIza-stale",
            "--base-url",
            &bad.base_url(),
            "--priority",
            "10",
        ]);
    });
    let r = s.call(
        "gemini-2.5-flash",
        "generateContent",
        Some(&s.key),
        &hello(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(bad.inference_requests().len(), 1);
    assert_eq!(s.gem.inference_requests().len(), 1);
    let st = s.env.json(&["status"]);
    let stale = st["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "stale")
        .unwrap()
        .clone();
    assert_eq!(stale["state"], "auth_failed", "{stale}");
}
