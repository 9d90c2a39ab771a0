//! The proxy core against strict mock upstreams: pass-through, auth, errors, hot
//! reload, proxies, timeouts, disconnects, shutdown, status and health.

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use common::mock::{Flavor, Mock, Reply, anthropic_events};
use common::{Env, eventually, post_json, send};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

const ANT_KEY: &str = "sk-ant-upstream-SECRET-0001";
const OAI_KEY: &str = "sk-openai-upstream-SECRET-0002";

struct Setup {
    env: Env,
    ant: Mock,
    oai: Mock,
    key: String,
}

fn setup() -> Setup {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, ANT_KEY);
    let oai = Mock::start(Flavor::OpenAi, OAI_KEY);
    env.add_upstream("ant", &ant, &[]);
    env.add_upstream("oai", &oai, &[]);
    let key = env.add_key("client", "read,write");
    Setup { env, ant, oai, key }
}

fn anthropic_body(stream: bool) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
        "x_unknown_field": {"kept": [1, 2, 3]},
    })
}

fn openai_body(stream: bool) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
        "x_unknown_field": true,
    })
}

#[test]
fn anthropic_pass_through_is_byte_exact() {
    let s = setup();
    let server = s.env.start();
    // Odd formatting on purpose: the upstream must get these exact bytes.
    let raw = "{ \"model\":\"claude-sonnet-4-5\",  \"max_tokens\": 64,\n \"messages\":[{\"role\":\"user\",\"content\":\"hi\"}], \"x_unknown_field\": {\"a\": 1.50} }";
    let resp = send(
        "POST",
        &format!("{}/v1/messages?beta=true", server.url),
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {}", s.key)),
            ("anthropic-version", "2023-06-01"),
            (
                "anthropic-beta",
                "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14",
            ),
            ("x-client-trace", "abc"),
        ],
        raw.to_string(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let got = s.ant.inference_requests();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.body, Bytes::from(raw), "body must be forwarded untouched");
    assert_eq!(r.path_and_query, "/v1/messages?beta=true");
    assert_eq!(r.headers["x-api-key"], ANT_KEY);
    assert!(r.headers.get("authorization").is_none());
    assert_eq!(r.headers["anthropic-version"], "2023-06-01");
    assert_eq!(
        r.headers["anthropic-beta"],
        "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14"
    );
    assert_eq!(r.headers["x-client-trace"], "abc");
    // Response headers pass back.
    assert_eq!(resp.headers["request-id"], "req_mock_123");
    assert_eq!(resp.headers["anthropic-ratelimit-requests-remaining"], "99");
    // The answer carries the gateway's id, not the upstream's, and the upstream got it.
    let id = resp.headers["x-request-id"].to_str().unwrap().to_string();
    assert!(id.starts_with("req_") && id != "req_mock_123", "{id}");
    assert_eq!(r.headers["x-request-id"], id.as_str());
    let v = resp.json();
    assert_eq!(v["content"][0]["text"], "Hello from the mock upstream.");
    // Nothing secret in the logs. (The access line is written when the body has
    // ended, which can be a moment after the client has read it.)
    common::eventually(std::time::Duration::from_secs(3), || {
        server.logs().contains("claude-sonnet-4-5")
    });
    // The access line names both ids.
    let logs = server.logs();
    let line = logs.lines().find(|l| l.contains(&id)).unwrap_or_default();
    assert!(line.contains("upstream_request_id=req_mock_123"), "{logs}");
    let logs = server.logs();
    assert!(!logs.contains(ANT_KEY) && !logs.contains(&s.key), "{logs}");
    assert!(
        logs.contains("claude-sonnet-4-5"),
        "access log line: {logs}"
    );
}

#[test]
fn anthropic_stream_passes_through_byte_for_byte() {
    let s = setup();
    let server = s.env.start();
    let resp = post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &s.key), ("anthropic-version", "2023-06-01")],
        &anthropic_body(true),
    );
    assert_eq!(resp.status, 200);
    assert!(
        resp.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let expected: String = anthropic_events(
        "claude-sonnet-4-5",
        &Reply::Text("Hello from the mock upstream.".into()),
        3,
    )
    .concat();
    assert_eq!(resp.text(), expected);
    let body: Value = serde_json::from_slice(&s.ant.inference_requests()[0].body).unwrap();
    assert_eq!(body["x_unknown_field"]["kept"], json!([1, 2, 3]));
    // Usage is read from the stream for status.
    assert!(eventually(Duration::from_secs(3), || {
        let st = s.env.json(&["status"]);
        st["upstreams"][0]["stats"]["output_tokens"] == 5
    }));
}

#[test]
fn openai_json_and_stream_pass_through() {
    let s = setup();
    let server = s.env.start();
    let raw = openai_body(false).to_string();
    let resp = send(
        "POST",
        &format!("{}/v1/chat/completions", server.url),
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {}", s.key)),
        ],
        raw.clone(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.json()["choices"][0]["message"]["content"],
        "Hello from the mock upstream."
    );
    let r = &s.oai.inference_requests()[0];
    assert_eq!(r.body, Bytes::from(raw));
    assert_eq!(r.path_and_query, "/v1/chat/completions");
    assert_eq!(r.headers["authorization"], format!("Bearer {OAI_KEY}"));
    assert!(r.headers.get("x-api-key").is_none());
    assert_eq!(resp.headers["x-ratelimit-remaining-requests"], "99");

    let resp = post_json(
        &format!("{}/v1/chat/completions", server.url),
        &[("x-api-key", &s.key)],
        &openai_body(true),
    );
    assert_eq!(resp.status, 200);
    let text = resp.text();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert_eq!(text.matches("[DONE]").count(), 1);
    assert!(
        s.ant.inference_requests().is_empty(),
        "gpt-* must not go to anthropic"
    );
}

#[test]
fn auth_is_checked_in_both_styles_and_formats() {
    let s = setup();
    let read_only = s.env.add_key("reader", "read");
    let disabled = s.env.add_key("off", "read,write");
    s.env.ok(&["apikey", "disable", "off"]);
    let server = s.env.start();
    let msg = format!("{}/v1/messages", server.url);
    let chat = format!("{}/v1/chat/completions", server.url);

    let r = post_json(&msg, &[], &anthropic_body(false));
    assert_eq!(r.status, 401);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");

    let r = post_json(
        &chat,
        &[("authorization", "Bearer lgw_wrong")],
        &openai_body(false),
    );
    assert_eq!(r.status, 401);
    let v = r.json();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    assert!(v["error"]["message"].is_string());

    let r = post_json(
        &chat,
        &[("authorization", &format!("Bearer {disabled}"))],
        &openai_body(false),
    );
    assert_eq!(r.status, 401);
    assert!(r.text().contains("disabled"));

    let r = post_json(&msg, &[("x-api-key", &read_only)], &anthropic_body(false));
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["type"], "permission_error");

    // Read permission is enough for the model list and token counts.
    let r = send(
        "GET",
        &format!("{}/v1/models", server.url),
        &[("x-api-key", &read_only)],
        "",
    );
    assert_eq!(r.status, 200);

    assert!(
        s.ant.inference_requests().is_empty(),
        "rejected requests never reach upstream"
    );
    assert!(s.oai.inference_requests().is_empty());

    // Health needs no key.
    let r = send("GET", &format!("{}/health", server.url), &[], "");
    assert_eq!(r.status, 200);
}

#[test]
fn expired_keys_are_refused() {
    let s = setup();
    let short = s
        .env
        .json(&["apikey", "add", "--name", "short", "--expires", "1s"])["key"]
        .as_str()
        .unwrap()
        .to_string();
    let server = s.env.start();
    std::thread::sleep(Duration::from_millis(1500));
    let r = post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &short)],
        &anthropic_body(false),
    );
    assert_eq!(r.status, 401);
    assert!(r.text().contains("expired"));
}

#[test]
fn hot_reload_of_keys_and_upstreams() {
    let s = setup();
    let server = s.env.start();
    let url = format!("{}/v1/messages", server.url);
    let new_key = s.env.add_key("late", "read,write");
    assert!(
        eventually(Duration::from_secs(5), || {
            post_json(&url, &[("x-api-key", &new_key)], &anthropic_body(false)).status == 200
        }),
        "a key added while running works without restart"
    );
    s.env.ok(&["apikey", "disable", "late"]);
    assert!(eventually(Duration::from_secs(5), || {
        post_json(&url, &[("x-api-key", &new_key)], &anthropic_body(false)).status == 401
    }));
    s.env.ok(&["upstream", "disable", "ant"]);
    assert!(eventually(Duration::from_secs(5), || {
        post_json(&url, &[("x-api-key", &s.key)], &anthropic_body(false)).status == 503
    }));
    // A broken file is ignored; the previous config keeps serving.
    s.env.ok(&["upstream", "enable", "ant"]);
    assert!(eventually(Duration::from_secs(5), || {
        post_json(&url, &[("x-api-key", &s.key)], &anthropic_body(false)).status == 200
    }));
    std::fs::write(s.env.config_path(), "version: 1\nnot_a_section: 1\n").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        post_json(&url, &[("x-api-key", &s.key)], &anthropic_body(false)).status,
        200
    );
    assert!(server.logs().contains("not applied"));
}

#[test]
fn request_errors_in_the_callers_format() {
    let s = setup();
    s.env.set_server("body_limit_mb", 1);
    let server = s.env.start();
    let msg = format!("{}/v1/messages", server.url);
    let chat = format!("{}/v1/chat/completions", server.url);
    let auth = format!("Bearer {}", s.key);

    let r = send(
        "POST",
        &msg,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        "{not json",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");

    let r = send(
        "POST",
        &chat,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        "[1,",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");

    let big = format!(
        "{{\"model\":\"gpt-4o\",\"messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
        "x".repeat(2 << 20)
    );
    let r = send(
        "POST",
        &chat,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        big,
    );
    assert_eq!(r.status, 413);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 MiB")
    );
    // Still serving.
    assert_eq!(
        post_json(&chat, &[("authorization", &auth)], &openai_body(false)).status,
        200
    );

    let r = post_json(
        &chat,
        &[("authorization", &auth)],
        &json!({"model": "llama-unknown", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "model_not_found");
    assert!(r.text().contains("llama-unknown"));

    let r = post_json(
        &msg,
        &[("authorization", &auth)],
        &json!({"max_tokens": 5, "messages": []}),
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("model"));

    let r = send(
        "GET",
        &format!("{}/v2/nothing", server.url),
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(r.status, 404);

    // Upstream 4xx are returned as they are.
    let r = post_json(
        &msg,
        &[("authorization", &auth)],
        &json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("max_tokens"));
}

#[test]
fn unreachable_and_slow_upstreams() {
    let env = Env::new();
    let key = env.add_key("c", "read,write");
    // Nothing listens on this port.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    env.json(&[
        "upstream",
        "add",
        "--type",
        "api-key",
        "--provider",
        "anthropic",
        "--name",
        "dead",
        "--key",
        "k",
        "--base-url",
        &format!("http://127.0.0.1:{dead_port}"),
    ]);
    let slow = Mock::start(Flavor::OpenAi, OAI_KEY);
    slow.set(|b| b.delay_headers = Some(Duration::from_secs(3)));
    env.add_upstream("slow", &slow, &[]);
    env.set_server("first_byte_timeout_secs", 1);
    let server = env.start();

    let r = post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &key)],
        &anthropic_body(false),
    );
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "api_error");
    assert!(
        !r.text().contains(&dead_port.to_string()),
        "internal details stay in the logs"
    );

    let t = std::time::Instant::now();
    let r = post_json(
        &format!("{}/v1/chat/completions", server.url),
        &[("x-api-key", &key)],
        &openai_body(false),
    );
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(t.elapsed() < Duration::from_millis(2800));
}

#[test]
fn http_proxy_and_connect_tunnel_are_used() {
    let s = setup();
    let proxy = common::fwdproxy::FwdProxy::start();
    s.env.ok(&[
        "env",
        "set",
        "--http-proxy",
        &proxy.url(),
        "--https-proxy",
        &proxy.url(),
    ]);
    // An https upstream on loopback: the gateway must tunnel to it with CONNECT. The
    // mock speaks plain HTTP, so TLS then fails and the client gets a 502.
    s.env.json(&[
        "upstream",
        "add",
        "--type",
        "api-key",
        "--provider",
        "openai",
        "--name",
        "tls",
        "--key",
        "k",
        "--base-url",
        &format!("https://127.0.0.1:{}/v1", s.oai.addr.port()),
        "--models",
        "tls-model",
    ]);
    let server = s.env.start();
    let r = post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &s.key)],
        &anthropic_body(false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .any(|l| l.starts_with(&format!("POST http://{}/v1/messages", s.ant.addr))),
        "absolute-form request through the http proxy: {seen:?}"
    );
    let r = post_json(
        &format!("{}/v1/chat/completions", server.url),
        &[("x-api-key", &s.key)],
        &json!({"model": "tls-model", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(r.status, 502);
    assert!(
        proxy
            .seen()
            .iter()
            .any(|l| l.starts_with(&format!("CONNECT 127.0.0.1:{}", s.oai.addr.port())))
    );

    // no_proxy applies without restart.
    let before = proxy.seen().len();
    s.env.ok(&["env", "set", "--no-proxy", "127.0.0.1"]);
    std::thread::sleep(Duration::from_millis(1500));
    let r = post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &s.key)],
        &anthropic_body(false),
    );
    assert_eq!(r.status, 200);
    assert_eq!(proxy.seen().len(), before, "no_proxy bypasses the proxy");
}

/// Read a streaming response until `n` bytes arrived, then drop the connection.
fn read_some_then_vanish(url: &str, key: &str, body: &Value, n: usize) -> usize {
    common::runtime().block_on(async {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let req = http::Request::post(url)
            .header("content-type", "application/json")
            .header("x-api-key", key)
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
            .await
            .unwrap()
            .unwrap();
        let mut body = resp.into_body();
        let mut got = 0;
        while got < n {
            match tokio::time::timeout(Duration::from_secs(10), body.frame()).await {
                Ok(Some(Ok(f))) => got += f.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
        got
    })
}

/// Times (since the request) at which each response frame arrived, with its text.
fn frame_times(url: &str, headers: &[(&str, &str)], body: &Value) -> Vec<(Duration, String)> {
    common::runtime().block_on(async {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let mut req = http::Request::post(url).header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
        let start = std::time::Instant::now();
        let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut body = resp.into_body();
        let mut frames = Vec::new();
        while let Ok(Some(Ok(f))) =
            tokio::time::timeout(Duration::from_secs(10), body.frame()).await
        {
            if let Some(d) = f.data_ref() {
                frames.push((start.elapsed(), String::from_utf8_lossy(d).into_owned()));
            }
        }
        frames
    })
}

#[test]
fn stream_events_are_passed_on_as_they_arrive() {
    // The gateway sends what the upstream has delivered in one write, but never holds
    // an event back to wait for the next one: with 150 ms between deltas, the first
    // delta reaches the client long before the last.
    let s = setup();
    for m in [&s.ant, &s.oai] {
        m.set(|b| {
            b.event_gap = Some(Duration::from_millis(150));
            b.deltas = 4;
        });
    }
    let server = s.env.start();
    let cases = [
        ("/v1/messages", anthropic_body(true), "content_block_delta"),
        ("/v1/chat/completions", openai_body(true), "\"content\""),
        (
            "/v1/chat/completions",
            json!({"model": "claude-sonnet-4-5", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}),
            "\"content\"",
        ),
    ];
    let auth = format!("Bearer {}", s.key);
    for (path, body, delta) in cases {
        let frames = frame_times(
            &format!("{}{path}", server.url),
            &[("x-api-key", &s.key), ("authorization", &auth)],
            &body,
        );
        let first = frames
            .iter()
            .find(|(_, t)| t.contains(delta))
            .map(|(at, _)| *at);
        let last = frames.last().map(|(at, _)| *at);
        let (Some(first), Some(last)) = (first, last) else {
            panic!("{path}: no delta in {frames:?}");
        };
        assert!(
            last - first >= Duration::from_millis(300),
            "{path}: first delta at {first:?}, end at {last:?}: events were held back"
        );
    }
}

#[test]
fn client_disconnect_cancels_the_upstream_stream() {
    let s = setup();
    s.ant.set(|b| {
        b.event_gap = Some(Duration::from_millis(100));
        b.deltas = 60;
    });
    let server = s.env.start();
    let got = read_some_then_vanish(
        &format!("{}/v1/messages", server.url),
        &s.key,
        &anthropic_body(true),
        10,
    );
    assert!(got >= 10);
    assert!(
        eventually(Duration::from_secs(5), || *s
            .ant
            .aborted_streams
            .lock()
            .unwrap()
            == 1),
        "the upstream stream must be cancelled when the client goes away"
    );
    assert!(eventually(Duration::from_secs(3), || server
        .logs()
        .contains("client_closed")));
}

#[test]
fn connections_are_spread_over_the_configured_worker_threads() {
    let s = setup();
    s.env.set_server("workers", 3);
    let server = s.env.start();
    #[cfg(target_os = "linux")]
    {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", server.child.id())).unwrap();
        let workers = tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("lgw-worker-"))
            .count();
        assert_eq!(workers, 3, "server.workers: 3 starts three worker threads");
    }
    // Twelve concurrent requests, each on its own connection (handed out round-robin):
    // every one is answered, streams to the end.
    let url = format!("{}/v1/messages", server.url);
    let handles: Vec<_> = (0..12)
        .map(|i| {
            let (url, key) = (url.clone(), s.key.clone());
            std::thread::spawn(move || {
                post_json(&url, &[("x-api-key", &key)], &anthropic_body(i % 2 == 0))
            })
        })
        .collect();
    for h in handles {
        let resp = h.join().unwrap();
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert!(resp.text().contains("message_stop") || resp.json()["type"] == "message");
    }
    assert_eq!(s.ant.requests().len(), 12);
}

#[test]
fn shutdown_drains_a_live_stream() {
    let s = setup();
    s.ant.set(|b| {
        b.event_gap = Some(Duration::from_millis(100));
        b.deltas = 12;
    });
    let mut server = s.env.start();
    let url = format!("{}/v1/messages", server.url);
    let key = s.key.clone();
    let t =
        std::thread::spawn(move || post_json(&url, &[("x-api-key", &key)], &anthropic_body(true)));
    std::thread::sleep(Duration::from_millis(400));
    server.terminate();
    let resp = t.join().unwrap();
    assert_eq!(resp.status, 200);
    assert!(
        resp.text().contains("message_stop"),
        "the stream finished: {}",
        resp.text()
    );
    assert_eq!(server.wait(Duration::from_secs(10)), Some(0));
    assert!(!s.env.config_path().with_file_name("server.json").exists());
}

#[test]
fn models_count_tokens_status_and_health() {
    let s = setup();
    s.env.json(&[
        "route",
        "add",
        "--match",
        "fast",
        "--upstream",
        "oai",
        "--model",
        "gpt-mock-1",
    ]);
    let server = s.env.start();
    let models = send(
        "GET",
        &format!("{}/v1/models", server.url),
        &[("authorization", &format!("Bearer {}", s.key))],
        "",
    );
    let v = models.json();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"fast") && ids.contains(&"claude-mock-1") && ids.contains(&"gpt-mock-1"),
        "{ids:?}"
    );
    let v = send(
        "GET",
        &format!("{}/v1/models", server.url),
        &[("x-api-key", &s.key), ("anthropic-version", "2023-06-01")],
        "",
    )
    .json();
    assert_eq!(v["data"][0]["type"], "model");
    assert_eq!(v["has_more"], false);

    let r = post_json(
        &format!("{}/v1/messages/count_tokens", server.url),
        &[("x-api-key", &s.key), ("anthropic-version", "2023-06-01")],
        &json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["input_tokens"],
        42,
        "forwarded to the Anthropic upstream"
    );

    // A model only an OpenAI upstream serves: counted locally.
    let r = post_json(
        &format!("{}/v1/messages/count_tokens", server.url),
        &[("x-api-key", &s.key)],
        &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there, how are you today?"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let n = r.json()["input_tokens"].as_u64().unwrap();
    assert!((5..40).contains(&n), "{n}");

    post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &s.key)],
        &anthropic_body(false),
    );
    let st = s.env.json(&["status"]);
    let ant = st["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "ant")
        .unwrap()
        .clone();
    assert_eq!(ant["stats"]["requests"], 2);
    assert_eq!(ant["state"], "ok");
    assert_eq!(ant["stats"]["input_tokens"], 12);
    let human = s.env.ok(&["status"]);
    assert!(
        human.contains("UPSTREAM") && human.contains("ant") && human.contains("client"),
        "{human}"
    );
    let ss = s.env.json(&["server", "status"]);
    assert_eq!(ss["running"], true);
    assert_eq!(ss["url"], server.url.as_str());

    let h = s.env.json(&["health"]);
    assert_eq!(h["healthy"], true, "{h}");
    assert!(s.env.ok(&["health"]).contains("Healthy."));

    // One upstream down: health says so and exits non-zero.
    s.oai.set(|b| b.fail_with = Some((500, "{}".into())));
    drop(s.oai);
    let out = s.env.run(&["--json", "health"]);
    assert!(!out.status.success());
    let h: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(h["healthy"], false);
    let logs = server.logs();
    assert!(!logs.contains(ANT_KEY) && !logs.contains(OAI_KEY) && !logs.contains(&s.key));
}

#[test]
fn first_run_creates_a_key_and_says_what_to_do() {
    let env = Env::new();
    let server = env.start();
    assert!(eventually(Duration::from_secs(5), || server
        .stdout()
        .contains("No upstream")));
    let out = server.stdout();
    let key_line = out
        .lines()
        .find(|l| l.trim().starts_with("lgw_"))
        .expect("key printed");
    let key = key_line.trim().to_string();
    assert!(
        out.contains(&format!("export ANTHROPIC_BASE_URL={}", server.url)),
        "{out}"
    );
    assert!(out.contains(&format!("export ANTHROPIC_AUTH_TOKEN={key}")));
    assert!(out.contains(&format!("export OPENAI_BASE_URL={}/v1", server.url)));
    assert!(out.contains("No upstream is configured"));
    let r = post_json(
        &format!("{}/v1/messages", server.url),
        &[("authorization", &format!("Bearer {key}"))],
        &anthropic_body(false),
    );
    assert_eq!(r.status, 503);
    assert!(r.text().contains("upstream add"));
    assert!(!server.logs().contains(&key));
}

#[test]
fn http2_cleartext_clients_are_served() {
    let s = setup();
    let server = s.env.start();
    let url = format!("{}/v1/messages", server.url);
    let key = s.key.clone();
    let (status, version, body) = common::runtime().block_on(async move {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build_http();
        let req = http::Request::post(url)
            .header("content-type", "application/json")
            .header("x-api-key", key)
            .body(Full::new(Bytes::from(anthropic_body(false).to_string())))
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
            .await
            .unwrap()
            .unwrap();
        let status = resp.status().as_u16();
        let version = resp.version();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, version, body)
    });
    assert_eq!(status, 200);
    assert_eq!(version, http::Version::HTTP_2);
    assert!(String::from_utf8_lossy(&body).contains("Hello from the mock upstream."));
}

#[test]
fn a_sane_client_request_id_is_kept_everywhere_and_a_bad_one_replaced() {
    let s = setup();
    let server = s.env.start();
    let post = |id: &str| {
        send(
            "POST",
            &format!("{}/v1/chat/completions", server.url),
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {}", s.key)),
                ("x-request-id", id),
            ],
            openai_body(false).to_string(),
        )
    };
    let mine = "trace-7f3a/2026-12-06:client";
    let resp = post(mine);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.headers["x-request-id"], mine);
    let got = s.oai.inference_requests();
    assert_eq!(got[0].headers["x-request-id"], mine);
    // An error answer carries it too, in its body as well.
    let bad = send(
        "POST",
        &format!("{}/v1/chat/completions", server.url),
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {}", s.key)),
            ("x-request-id", mine),
        ],
        "{not json".to_string(),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.headers["x-request-id"], mine);
    assert!(bad.text().contains(mine), "{}", bad.text());
    // Too long, or with a space: replaced by the gateway's own.
    for odd in ["x".repeat(129), "two words".to_string()] {
        let resp = post(&odd);
        assert_eq!(resp.status, 200, "{}", resp.text());
        let id = resp.headers["x-request-id"].to_str().unwrap();
        assert!(id.starts_with("req_") && id.len() == 20, "{id}");
    }
    // The usage row has the client's id (the unparsable request never reached routing).
    let db = s.env.config_path().with_file_name("usage.db");
    let rows_with = |id: &str| {
        llm_gateway::ledger::db::open_read_only(&db)
            .ok()
            .flatten()
            .and_then(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM requests WHERE request_id = ?1",
                    [id],
                    |r| r.get::<_, i64>(0),
                )
                .ok()
            })
            .unwrap_or(0)
    };
    assert!(common::eventually(
        std::time::Duration::from_secs(5),
        || rows_with(mine) == 1
    ));
}
