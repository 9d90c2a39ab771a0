//! Usage, cost, limits and budgets through the real binary and a real SQLite file:
//! one ledger row per request (JSON, streams, conversion, failures, refusals), cache
//! tokens counted once, `usage --json` sums, budgets enforced across a restart from the
//! ledger, rpm and model lists refused before anything reaches the upstream, limits
//! changed with `apikey set` applying to a running server, and a locked database never
//! failing a request.

use crate::common;

use std::time::Duration;

use common::mock::{Flavor, Mock};
use common::{Env, eventually, post_json};
use serde_json::{Value, json};

fn messages(url: &str, key: &str, model: &str, stream: bool) -> common::Resp {
    post_json(
        &format!("{url}/v1/messages"),
        &[("x-api-key", key), ("anthropic-version", "2023-06-01")],
        &json!({"model": model, "max_tokens": 100, "stream": stream,
            "messages": [{"role": "user", "content": "Hi"}]}),
    )
}

fn chat(url: &str, key: &str, model: &str, stream: bool) -> common::Resp {
    post_json(
        &format!("{url}/v1/chat/completions"),
        &[("authorization", &format!("Bearer {key}"))],
        &json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "Hi"}]}),
    )
}

/// `usage --json` once it counts `n` requests (rows are written in batches).
fn usage_when(env: &Env, n: u64, args: &[&str]) -> Value {
    let mut last = Value::Null;
    let ok = eventually(Duration::from_secs(5), || {
        let mut all = vec!["usage", "--since", "1d"];
        all.extend_from_slice(args);
        last = env.json(&all);
        last["totals"]["requests"].as_u64() == Some(n)
    });
    assert!(ok, "usage never reached {n} requests: {last:#}");
    last
}

#[test]
fn every_request_leaves_one_row_and_usage_adds_them_up() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    let key = env.add_key("dev", "read,write");
    let server = env.start();
    let url = &server.url;
    // Pass-through JSON and stream, converted JSON and stream, an unknown model (no
    // route), an upstream failure.
    assert_eq!(messages(url, &key, "claude-sonnet-4-5", false).status, 200);
    let s = messages(url, &key, "claude-sonnet-4-5", true);
    assert_eq!(s.status, 200);
    assert_eq!(chat(url, &key, "claude-sonnet-4-5", false).status, 200);
    let c = chat(url, &key, "claude-sonnet-4-5", true);
    assert!(c.text().contains("[DONE]"));
    assert_eq!(chat(url, &key, "no-such-model", false).status, 404);
    ant.set(|b| {
        b.fail_with = Some((
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#.into(),
        ))
    });
    assert_eq!(messages(url, &key, "claude-sonnet-4-5", false).status, 400);

    let v = usage_when(&env, 6, &["--by", "model"]);
    let t = &v["totals"];
    assert_eq!(t["errors"], 2, "{v:#}");
    // Four answers of the mock: 12 input and 5 output tokens each.
    assert_eq!(t["input_tokens"], 48, "{v:#}");
    assert_eq!(t["output_tokens"], 20, "{v:#}");
    let cost = t["cost_usd"].as_f64().unwrap();
    assert!(cost > 0.0, "claude-sonnet-4-5 is priced: {v:#}");
    let by_key = env.json(&["usage", "--since", "1d", "--by", "key"]);
    assert_eq!(by_key["groups"][0]["name"], "dev", "{by_key:#}");

    // The database itself, as docs/usage.md describes it.
    let db = env.home.path().join(".llm-gateway/usage.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let formats: Vec<(String, Option<String>, u16)> = conn
        .prepare("SELECT client_format, error_class, status FROM requests ORDER BY at_ms, rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(formats.len(), 6);
    assert!(formats.iter().any(|(f, _, _)| f == "chat"), "{formats:?}");
    assert!(
        formats
            .iter()
            .any(|(_, c, s)| c.as_deref() == Some("model_not_found") && *s == 404),
        "{formats:?}"
    );
    assert_eq!(common::mode(&db) & 0o777, 0o600);
}

#[test]
fn limits_refuse_before_the_upstream_and_apply_when_changed() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    let v = env.json(&[
        "apikey", "add", "--name", "capped", "--rpm", "2", "--models", "claude-*",
    ]);
    let key = v["key"].as_str().unwrap().to_string();
    let mut server = env.start();
    assert_eq!(
        messages(&server.url, &key, "claude-sonnet-4-5", false).status,
        200
    );
    assert_eq!(
        messages(&server.url, &key, "claude-sonnet-4-5", false).status,
        200
    );
    // The minute's two requests are in the ledger: a new server process counts them.
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(10)), Some(0));
    let server = env.start();
    let url = &server.url;
    let third = messages(url, &key, "claude-sonnet-4-5", false);
    assert_eq!(third.status, 429, "{}", third.text());
    assert!(third.headers.get("retry-after").is_some());
    assert_eq!(third.json()["error"]["type"], "rate_limit_error");
    // A model outside the list: 403 in OpenAI's shape for an OpenAI client.
    let other = chat(url, &key, "gpt-4o", false);
    assert_eq!(other.status, 403, "{}", other.text());
    assert_eq!(other.json()["error"]["code"], "permission_denied");
    assert_eq!(
        ant.inference_requests().len(),
        2,
        "refusals never reach the upstream"
    );

    // Lifted while the server runs.
    env.ok(&["apikey", "set", "capped", "--rpm", "none"]);
    assert!(eventually(Duration::from_secs(5), || {
        messages(url, &key, "claude-sonnet-4-5", false).status == 200
    }));
}

#[test]
fn a_spent_budget_refuses_without_retry_also_after_a_restart() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    let oai = Mock::start(Flavor::OpenAi, "sk-oai-k");
    env.add_upstream("ant", &ant, &[]);
    env.add_upstream("oai", &oai, &[]);
    // One mock answer (12 in, 5 out on claude-sonnet-4-5) costs more than this.
    let v = env.json(&[
        "apikey",
        "add",
        "--name",
        "tight",
        "--budget",
        "0.0001",
        "--budget-period",
        "day",
    ]);
    let key = v["key"].as_str().unwrap().to_string();
    let mut server = env.start();
    assert_eq!(
        messages(&server.url, &key, "claude-sonnet-4-5", false).status,
        200
    );
    let check = |url: &str| {
        let a = messages(url, &key, "claude-sonnet-4-5", false);
        assert_eq!(a.status, 429, "{}", a.text());
        assert_eq!(a.headers["x-should-retry"], "false");
        assert_eq!(a.json()["error"]["type"], "rate_limit_error");
        assert!(a.text().contains("budget"), "{}", a.text());
        let o = chat(url, &key, "gpt-4o", false);
        assert_eq!(o.status, 429, "{}", o.text());
        assert_eq!(o.headers["x-should-retry"], "false");
        assert_eq!(o.json()["error"]["code"], "insufficient_quota");
    };
    check(&server.url);
    // The spend is in the ledger: a new server process knows it.
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(10)), Some(0));
    let server = env.start();
    check(&server.url);
    assert_eq!(ant.inference_requests().len(), 1);
    assert_eq!(oai.inference_requests().len(), 0);
}

/// A budget set on a key that has already spent counts that spend: the running server
/// reads it from the ledger when the key gets its first limit.
#[test]
fn a_budget_set_mid_period_counts_what_the_key_already_spent() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    let key = env.add_key("late", "read,write");
    let admin = env.add_key("ops", "admin");
    let server = env.start();
    let url = &server.url;
    assert_eq!(messages(url, &key, "claude-sonnet-4-5", false).status, 200);
    usage_when(&env, 1, &[]);
    // Less than the one answer already cost (same period as before: monthly).
    env.ok(&["apikey", "set", "late", "--budget", "0.0001"]);
    let auth = format!("Bearer {admin}");
    let loaded = eventually(Duration::from_secs(5), || {
        let s = common::send(
            "GET",
            &format!("{url}/admin/status"),
            &[("authorization", &auth)],
            String::new(),
        );
        s.json()["keys"].as_array().is_some_and(|ks| {
            ks.iter()
                .any(|k| k["name"] == "late" && k["limits"]["budget_usd"] == 0.0001)
        })
    });
    assert!(loaded, "the server never loaded the budget");
    let r = messages(url, &key, "claude-sonnet-4-5", false);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.text().contains("budget"), "{}", r.text());
    assert_eq!(ant.inference_requests().len(), 1);
}

#[test]
fn a_locked_database_never_fails_a_request() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    let key = env.add_key("dev", "read,write");
    let server = env.start();
    assert_eq!(
        messages(&server.url, &key, "claude-sonnet-4-5", false).status,
        200
    );
    let db = env.home.path().join(".llm-gateway/usage.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    for _ in 0..5 {
        assert_eq!(
            messages(&server.url, &key, "claude-sonnet-4-5", false).status,
            200
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "requests waited on the lock"
    );
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    // Once the lock is gone the rows arrive.
    usage_when(&env, 6, &[]);
}

/// Read a few bytes of a streamed answer, then go away.
fn read_some_then_vanish(url: &str, key: &str, body: &Value) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    common::runtime().block_on(async {
        let client: Client<_, Full<bytes::Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let req = http::Request::post(url)
            .header("content-type", "application/json")
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .body(Full::new(bytes::Bytes::from(body.to_string())))
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
            .await
            .unwrap()
            .unwrap();
        let mut body = resp.into_body();
        let _ = tokio::time::timeout(Duration::from_secs(10), body.frame()).await;
    });
}

#[test]
fn a_cancelled_stream_and_the_tpm_window_are_accounted() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    // Each mock answer is 17 tokens: the second request of a minute is over 20.
    let v = env.json(&["apikey", "add", "--name", "t", "--tpm", "20"]);
    let key = v["key"].as_str().unwrap().to_string();
    ant.set(|b| {
        b.event_gap = Some(Duration::from_millis(100));
        b.deltas = 40;
    });
    let server = env.start();
    read_some_then_vanish(
        &format!("{}/v1/messages", server.url),
        &key,
        &json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": true,
            "messages": [{"role": "user", "content": "Hi"}]}),
    );
    let v = usage_when(&env, 1, &[]);
    assert_eq!(
        v["totals"]["errors"], 1,
        "a cancelled stream is an error row: {v:#}"
    );
    let db = env.home.path().join(".llm-gateway/usage.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let class: String = conn
        .query_row("SELECT error_class FROM requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(class, "client_closed");

    ant.set(|b| {
        b.event_gap = None;
        b.deltas = 3;
    });
    assert_eq!(
        messages(&server.url, &key, "claude-sonnet-4-5", false).status,
        200
    );
    let over = messages(&server.url, &key, "claude-sonnet-4-5", false);
    assert_eq!(over.status, 429, "{}", over.text());
    assert!(over.headers.get("retry-after").is_some());
}
