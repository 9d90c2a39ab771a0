//! Fault injection: upstreams that stall, break or send garbage, clients with huge
//! headers or that read slowly or vanish. The gateway answers with the right error,
//! never panics, and leaks no request (in-flight counts return to zero).

use crate::common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::mock::{Flavor, Mock};
use common::{Env, Server, eventually, post_json};
use serde_json::{Value, json};

struct Setup {
    env: Env,
    ant: Mock,
    key: String,
    server: Server,
}

fn setup() -> Setup {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    env.set_server("idle_stream_timeout_secs", 1);
    let key = env.add_key("c", "read,write");
    let server = env.start();
    Setup {
        env,
        ant,
        key,
        server,
    }
}

/// A plain request after a fault still gets a 200: the server kept serving.
fn assert_still_serving(s: &Setup) {
    let r = post_json(
        &format!("{}/v1/messages", s.server.url),
        &[("x-api-key", &s.key)],
        &anthropic(false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

fn anthropic(stream: bool) -> Value {
    json!({"model": "claude-x", "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

fn in_flight(env: &Env) -> i64 {
    env.json(&["status"])["upstreams"][0]["stats"]["in_flight"]
        .as_i64()
        .unwrap()
}

#[test]
fn a_stalled_stream_is_cut_with_an_error_event() {
    let s = setup();
    s.ant.set(|b| b.stall_after = Some(3));
    let t = Instant::now();
    let r = post_json(
        &format!("{}/v1/messages", s.server.url),
        &[("x-api-key", &s.key)],
        &anthropic(true),
    );
    assert_eq!(r.status, 200);
    assert!(t.elapsed() < Duration::from_secs(5));
    let text = r.text();
    assert!(
        text.contains("message_start") && text.contains("event: error"),
        "{text}"
    );
    assert!(text.contains("sent nothing"));
    // The converted path too: an OpenAI client gets an error chunk and [DONE].
    let r = post_json(
        &format!("{}/v1/chat/completions", s.server.url),
        &[("x-api-key", &s.key)],
        &json!({"model": "claude-x", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    );
    let text = r.text();
    assert!(
        text.contains("\"error\"") && text.matches("[DONE]").count() == 1,
        "{text}"
    );
    assert!(eventually(Duration::from_secs(3), || in_flight(&s.env) == 0));
    assert!(
        eventually(Duration::from_secs(3), || *s
            .ant
            .aborted_streams
            .lock()
            .unwrap()
            == 2),
        "upstream streams released"
    );
    assert!(s.server.logs().contains("outcome=idle_timeout"));
}

#[test]
fn garbage_from_upstream_is_contained() {
    let s = setup();
    // Not SSE at all, on a converted stream: ignored, then an error because no answer came.
    s.ant.set(|b| {
        b.raw_stream = Some(
            "\u{0}\u{1}garbage\n\ndata: {not json\n\nevent: message_delta\ndata: [1,2\n\n".into(),
        )
    });
    let r = post_json(
        &format!("{}/v1/chat/completions", s.server.url),
        &[("x-api-key", &s.key)],
        &json!({"model": "claude-x", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.contains("\"error\""), "{text}");
    assert_eq!(text.matches("[DONE]").count(), 1);
    // Pass-through forwards the upstream's bytes as they are; that is not ours to fix.
    let r = post_json(
        &format!("{}/v1/messages", s.server.url),
        &[("x-api-key", &s.key)],
        &anthropic(true),
    );
    assert!(r.text().contains("garbage"));
    // Still healthy and serving.
    s.ant.set(|b| b.raw_stream = None);
    assert_still_serving(&s);
}

#[test]
fn invalid_json_answer_is_a_502_when_converting_and_passed_through_otherwise() {
    let s = setup();
    let broken = r#"{"id":"msg_1","type":"message","content":[{"#;
    s.ant.set(|b| b.fail_with = Some((200, broken.into())));
    // Converted (OpenAI client, Anthropic upstream): a clear error in OpenAI's shape.
    let r = post_json(
        &format!("{}/v1/chat/completions", s.server.url),
        &[("authorization", &format!("Bearer {}", s.key))],
        &json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 502, "{}", r.text());
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(msg.contains("invalid JSON"), "{msg}");
    // Same API on both sides: the upstream's bytes go through untouched.
    let r = post_json(
        &format!("{}/v1/messages", s.server.url),
        &[("x-api-key", &s.key)],
        &anthropic(false),
    );
    assert_eq!((r.status, r.text()), (200, broken.to_string()));
    // The server keeps serving.
    s.ant.set(|b| b.fail_with = None);
    assert_still_serving(&s);
}

#[test]
fn huge_headers_are_refused_and_the_server_keeps_serving() {
    let s = setup();
    let addr = s.server.url.trim_start_matches("http://").to_string();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let big = "a".repeat(512 * 1024);
    let _ = write!(
        c,
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-big: {big}\r\ncontent-length: 2\r\n\r\n{{}}"
    );
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    let head = String::from_utf8_lossy(&buf);
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 431") || head.starts_with("HTTP/1.1 400"),
        "{head}"
    );
    assert_still_serving(&s);
}

#[test]
fn slow_readers_get_everything_and_vanishing_ones_leak_nothing() {
    let s = setup();
    s.ant.set(|b| b.deltas = 40);
    // A slow reader: 5 ms per 64 bytes.
    let addr = s.server.url.trim_start_matches("http://").to_string();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = anthropic(true).to_string();
    write!(c, "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", s.key, body.len()).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(String::from_utf8_lossy(&all).contains("message_stop"));

    // Twenty clients that send a request and vanish mid-stream.
    s.ant.set(|b| {
        b.deltas = 50;
        b.event_gap = Some(Duration::from_millis(50));
    });
    for _ in 0..20 {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        write!(c, "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", s.key, body.len()).unwrap();
        let mut first = [0u8; 16];
        let _ = c.read(&mut first);
        drop(c);
    }
    assert!(
        eventually(Duration::from_secs(5), || in_flight(&s.env) == 0),
        "no request leaked"
    );
    assert!(
        eventually(Duration::from_secs(5), || *s
            .ant
            .aborted_streams
            .lock()
            .unwrap()
            >= 20),
        "upstream streams cancelled"
    );
}

/// Send a request and give up after `after`, before the upstream answered.
fn give_up_after(url: &str, key: &str, body: &Value, after: Duration) {
    let addr = url.trim_start_matches("http://").to_string();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    let body = body.to_string();
    write!(c, "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()).unwrap();
    std::thread::sleep(after);
    drop(c);
}

#[test]
fn a_client_giving_up_before_the_answer_leaks_nothing() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    env.edit_config(|v| {
        v["breaker"]["consecutive_failures"] = 1.into();
        v["breaker"]["cooldown_secs"] = 1.into();
    });
    let key = env.add_key("c", "read,write");
    let server = env.start();
    ant.set(|b| b.delay_headers = Some(Duration::from_millis(1500)));
    give_up_after(
        &server.url,
        &key,
        &anthropic(false),
        Duration::from_millis(200),
    );
    assert!(
        eventually(Duration::from_secs(3), || in_flight(&env) == 0),
        "in-flight count released"
    );

    // Open the circuit, let it go half-open, and abandon the probe request.
    ant.set(|b| {
        b.delay_headers = None;
        b.fail_with = Some((500, "{}".into()));
    });
    assert_eq!(
        post_json(
            &format!("{}/v1/messages", server.url),
            &[("x-api-key", &key)],
            &anthropic(false)
        )
        .status,
        500
    );
    ant.set(|b| {
        b.fail_with = None;
        b.delay_headers = Some(Duration::from_millis(1500));
    });
    std::thread::sleep(Duration::from_millis(1100));
    give_up_after(
        &server.url,
        &key,
        &anthropic(false),
        Duration::from_millis(200),
    );
    std::thread::sleep(Duration::from_millis(300));
    // The probe slot was freed: the next request probes, succeeds, and closes it.
    ant.set(|b| b.delay_headers = None);
    let r = post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &key)],
        &anthropic(false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(env.json(&["status"])["upstreams"][0]["breaker"], "closed");
    assert!(eventually(Duration::from_secs(3), || in_flight(&env) == 0));
}
