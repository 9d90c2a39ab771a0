//! Health-first routing with two mock upstreams: failover, circuit breaking,
//! rate-limit cool-down, recovery, no replay of started streams, clear errors.

use crate::common;

use std::time::Duration;

use common::mock::{Flavor, Mock};
use common::{Env, Server, eventually, post_json};
use serde_json::{Value, json};

const KEY_A: &str = "sk-ant-A-secret";
const KEY_B: &str = "sk-ant-B-secret";

struct Pair {
    env: Env,
    a: Mock,
    b: Mock,
    key: String,
    server: Server,
}

/// Two Anthropic upstreams; `a` is preferred (higher priority).
fn pair(tune: impl FnOnce(&Env)) -> Pair {
    let env = Env::new();
    let a = Mock::start(Flavor::Anthropic, KEY_A);
    let b = Mock::start(Flavor::Anthropic, KEY_B);
    env.add_upstream("a", &a, &["--priority", "10"]);
    env.add_upstream("b", &b, &[]);
    let key = env.add_key("client", "read,write");
    env.edit_config(|v| {
        v["breaker"]["consecutive_failures"] = 2.into();
        v["breaker"]["cooldown_secs"] = 1.into();
        v["breaker"]["max_cooldown_secs"] = 4.into();
    });
    tune(&env);
    let server = env.start();
    Pair {
        env,
        a,
        b,
        key,
        server,
    }
}

fn body(stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 32, "stream": stream,
           "messages": [{"role": "user", "content": "hi"}]})
}

impl Pair {
    fn ask(&self, stream: bool) -> common::Resp {
        post_json(
            &format!("{}/v1/messages", self.server.url),
            &[("x-api-key", &self.key)],
            &body(stream),
        )
    }

    fn upstream_status(&self, name: &str) -> Value {
        let st = self.env.json(&["status"]);
        st["upstreams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap()
            .clone()
    }
}

#[test]
fn failing_upstream_is_bypassed_and_its_circuit_opens() {
    let p = pair(|_| {});
    p.a.set(|b| {
        b.fail_with = Some((
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.into(),
        ))
    });
    for _ in 0..10 {
        let r = p.ask(false);
        assert_eq!(r.status, 200, "every request still succeeds: {}", r.text());
    }
    // Two failures opened the circuit; after that `a` got no traffic.
    assert_eq!(p.a.inference_requests().len(), 2);
    assert_eq!(p.b.inference_requests().len(), 10);
    let a = p.upstream_status("a");
    assert_eq!(a["breaker"], "open", "{a}");
    assert_eq!(a["state"], "open");
    assert!(a["open_until"].is_string());
    let human = p.env.ok(&["status"]);
    assert!(human.contains("open"), "{human}");
}

#[test]
fn recovery_returns_traffic_after_the_cooldown() {
    let p = pair(|_| {});
    p.a.set(|b| b.fail_with = Some((500, "{}".into())));
    for _ in 0..3 {
        assert_eq!(p.ask(false).status, 200);
    }
    assert_eq!(p.upstream_status("a")["breaker"], "open");
    p.a.set(|b| b.fail_with = None);
    std::thread::sleep(Duration::from_millis(1200));
    // Half-open: the next request probes `a`, succeeds, and closes the circuit.
    assert_eq!(p.ask(false).status, 200);
    assert_eq!(p.upstream_status("a")["breaker"], "closed");
    let before = p.a.inference_requests().len();
    for _ in 0..3 {
        assert_eq!(p.ask(false).status, 200);
    }
    assert_eq!(
        p.a.inference_requests().len(),
        before + 3,
        "traffic is back on the preferred upstream"
    );
}

#[test]
fn connection_failures_and_timeouts_fail_over() {
    let p = pair(|env| env.set_server("first_byte_timeout_secs", 1));
    p.a.set(|b| b.delay_headers = Some(Duration::from_secs(3)));
    let t = std::time::Instant::now();
    let r = p.ask(false);
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "timed out on a, answered by b"
    );
    assert_eq!(p.b.inference_requests().len(), 1);
}

#[test]
fn rate_limited_upstream_cools_down_without_breaking() {
    let p = pair(|_| {});
    p.a.set(|b| {
        b.fail_with = Some((
            429,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#.into(),
        ))
    });
    // The mock sends `retry-after: 1`.
    assert_eq!(p.ask(false).status, 200, "served by b");
    let a = p.upstream_status("a");
    assert_eq!(a["state"], "cooling", "{a}");
    assert_eq!(a["breaker"], "closed", "a 429 is not a health failure");
    assert!(a["cooling_until"].is_string());
    for _ in 0..3 {
        assert_eq!(p.ask(false).status, 200);
    }
    assert_eq!(
        p.a.inference_requests().len(),
        1,
        "no traffic while cooling"
    );
    p.a.set(|b| b.fail_with = None);
    assert!(
        eventually(Duration::from_secs(4), || {
            p.ask(false);
            p.a.inference_requests().len() > 1
        }),
        "traffic returns when the cool-down ends"
    );
}

#[test]
fn when_everyone_rate_limits_the_client_sees_the_429() {
    let p = pair(|_| {});
    let limited = r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
    p.a.set(|b| b.fail_with = Some((429, limited.into())));
    p.b.set(|b| b.fail_with = Some((429, limited.into())));
    let r = p.ask(false);
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    assert!(r.headers.contains_key("retry-after"));
    // Now both are cooling: fail fast with a 429 of our own, saying why and when.
    let t = std::time::Instant::now();
    let r = p.ask(false);
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    assert!(r.text().contains("rate limited"), "{}", r.text());
    assert!(r.headers.contains_key("retry-after"));
}

#[test]
fn all_down_fails_fast_in_each_format() {
    let env = Env::new();
    let a = Mock::start(Flavor::OpenAi, KEY_A);
    env.add_upstream("a", &a, &[]);
    let key = env.add_key("c", "read,write");
    env.edit_config(|v| {
        v["breaker"]["consecutive_failures"] = 1.into();
        v["breaker"]["cooldown_secs"] = 30.into();
    });
    let server = env.start();
    a.set(|b| {
        b.fail_with = Some((
            503,
            r#"{"error":{"message":"down","type":"server_error"}}"#.into(),
        ))
    });
    let chat = format!("{}/v1/chat/completions", server.url);
    let req = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]});
    let r = post_json(&chat, &[("x-api-key", &key)], &req);
    assert_eq!(r.status, 503, "the upstream's own answer when it was tried");
    let r = post_json(&chat, &[("x-api-key", &key)], &req);
    assert_eq!(r.status, 503);
    let v = r.json();
    assert_eq!(v["error"]["code"], "service_unavailable");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("circuit open"),
        "{v}"
    );
    assert_eq!(a.inference_requests().len(), 1);
    let st = env.json(&["status"]);
    assert_eq!(st["upstreams"][0]["breaker"], "open");
}

#[test]
fn client_errors_are_returned_not_retried() {
    let p = pair(|_| {});
    p.a.set(|b| {
        b.fail_with = Some((
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#.into(),
        ))
    });
    let r = p.ask(false);
    assert_eq!(r.status, 400);
    assert!(p.b.inference_requests().is_empty());
    assert_eq!(p.upstream_status("a")["breaker"], "closed");
}

#[test]
fn refused_credentials_flag_the_account_and_fail_over() {
    let p = pair(|_| {});
    p.a.set(|b| b.fail_with = Some((401, r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#.into())));
    assert_eq!(p.ask(false).status, 200);
    let a = p.upstream_status("a");
    assert_eq!(a["state"], "auth_failed", "{a}");
    assert_eq!(a["auth_failed"], true);
    // From then on the account goes last, despite its priority: no request pays a
    // round trip to a refusal while another account serves.
    p.a.set(|b| b.fail_with = None);
    for _ in 0..3 {
        assert_eq!(p.ask(false).status, 200);
    }
    assert_eq!(p.a.inference_requests().len(), 1, "a was tried again");
    assert_eq!(p.b.inference_requests().len(), 4);
    // Turned off and on again (or given a new key), it gets its place back.
    p.env.ok(&["upstream", "disable", "a"]);
    assert!(eventually(Duration::from_secs(5), || {
        p.upstream_status("a")["state"] == "disabled"
    }));
    p.env.ok(&["upstream", "enable", "a"]);
    assert!(
        eventually(Duration::from_secs(5), || {
            p.ask(false).status == 200 && p.a.inference_requests().len() == 2
        }),
        "a never got traffic back: {}",
        p.upstream_status("a")
    );
    assert_eq!(p.upstream_status("a")["auth_failed"], false);
}

#[test]
fn a_started_stream_is_never_replayed() {
    let p = pair(|_| {});
    p.a.set(|b| {
        b.break_after = Some(3);
        b.deltas = 10;
    });
    let r = p.ask(true);
    // The client got what `a` sent before it broke, and nothing from `b`.
    let text = String::from_utf8_lossy(&r.body).to_string();
    assert_eq!(r.status, 200);
    assert!(text.contains("message_start"), "{text}");
    assert!(!text.contains("message_stop"));
    // It ends with an error event the SDKs raise, not a silently cut connection.
    assert!(
        text.ends_with("\n\n") && text.contains("event: error"),
        "{text}"
    );
    assert!(
        p.b.inference_requests().is_empty(),
        "never replayed on another upstream"
    );
    assert!(eventually(Duration::from_secs(3), || p
        .upstream_status("a")["stats"]["failures"]
        == 1));
}

#[test]
fn sticky_sessions_keep_a_conversation_on_one_account() {
    let env = Env::new();
    let a = Mock::start(Flavor::Anthropic, KEY_A);
    let b = Mock::start(Flavor::Anthropic, KEY_B);
    env.add_upstream("a", &a, &[]);
    env.add_upstream("b", &b, &[]);
    env.edit_config(|v| v["routing"]["strategy"] = "round-robin".into());
    let key = env.add_key("c", "read,write");
    let server = env.start();
    let url = format!("{}/v1/messages", server.url);
    let with_session = |s: &str| {
        let mut v = body(false);
        v["metadata"] = json!({"user_id": s});
        post_json(&url, &[("x-api-key", &key)], &v)
    };
    for _ in 0..6 {
        assert_eq!(with_session("user_abc_session_1").status, 200);
    }
    let (na, nb) = (a.inference_requests().len(), b.inference_requests().len());
    assert!(
        na == 6 || nb == 6,
        "one account took the whole conversation: {na}/{nb}"
    );
    // Without a session, round-robin spreads the load.
    for _ in 0..6 {
        assert_eq!(
            post_json(&url, &[("x-api-key", &key)], &body(false)).status,
            200
        );
    }
    assert_eq!(
        a.inference_requests().len() + b.inference_requests().len(),
        12
    );
    assert!(a.inference_requests().len() != 12 && b.inference_requests().len() != 12);
}

#[test]
fn upstream_test_and_health_per_family() {
    let p = pair(|_| {});
    let v = p.env.json(&["upstream", "test", "a"]);
    assert_eq!(v["reachable"], true);
    p.a.set(|b| b.fail_with = Some((500, "{}".into())));
    // Health probes the models endpoint, which still answers; kill b's key instead.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    p.env.json(&[
        "upstream",
        "add",
        "--type",
        "api-key",
        "--provider",
        "openai",
        "--name",
        "gone",
        "--key",
        "k",
        "--base-url",
        &format!("http://127.0.0.1:{port}/v1"),
    ]);
    let out = p.env.run(&["upstream", "test", "gone"]);
    assert!(!out.status.success());
    assert!(eventually(Duration::from_secs(3), || {
        let out = p.env.run(&["--json", "health"]);
        let h: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        !out.status.success() && h["problem"].as_str().is_some_and(|s| s.contains("openai"))
    }));
    p.env.ok(&["upstream", "disable", "gone"]);
    assert!(eventually(Duration::from_secs(3), || p
        .env
        .run(&["health"])
        .status
        .success()));
}
