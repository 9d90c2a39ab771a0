//! `llm-gateway usage` against the real binary and a real `usage.db` in a temp HOME,
//! filled through the library's ledger. The ignored test measures a million rows:
//! `cargo test --test integration usage_cli -- --ignored --nocapture`.

use crate::common;

use std::time::{Duration, Instant};

use common::{Env, mode};
use llm_gateway::ledger::{Ledger, UsageRecord, db, now_ms};
use serde_json::Value;

fn rec(key_id: &str, key_name: &str, model: &str, cost: Option<f64>) -> UsageRecord {
    UsageRecord {
        at_ms: now_ms() - 60_000,
        request_id: "req".into(),
        key_id: key_id.into(),
        key_name: key_name.into(),
        client_format: "anthropic".into(),
        upstream_id: Some("up_gone".into()),
        upstream_format: Some("chat".into()),
        model_asked: model.into(),
        model_served: Some(model.into()),
        status: 200,
        latency_ms: 120,
        ttfb_ms: Some(40),
        input_tokens: 100,
        output_tokens: 20,
        cache_read_tokens: 1_000,
        cache_write_tokens: 10,
        reasoning_tokens: 5,
        cost_usd: cost,
        ..UsageRecord::default()
    }
}

fn config_dir(env: &Env) -> std::path::PathBuf {
    env.config_path().parent().unwrap().to_path_buf()
}

#[test]
fn no_database_yet_is_not_an_error() {
    let env = Env::new();
    let text = env.ok(&["usage"]);
    assert!(text.contains("No usage recorded yet"), "{text}");
    let v = env.json(&["usage", "--by", "day"]);
    assert_eq!(v["database"], Value::Null);
    assert_eq!(v["totals"]["requests"], 0);
    assert_eq!(v["groups"], serde_json::json!([]));

    let out = env.run(&["usage", "--since", "yesterday"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a duration"));
}

#[test]
fn sums_names_and_unpriced_marking() {
    let env = Env::new();
    env.add_key("alice", "read,write");
    let keys = env.json(&["apikey", "list"]);
    let alice = keys[0]["id"].as_str().unwrap().to_string();

    let ledger = Ledger::open(&config_dir(&env), 90).unwrap();
    let h = ledger.handle();
    for _ in 0..3 {
        h.record(rec(
            &alice,
            "alice-old-name",
            "claude-sonnet-4-5",
            Some(0.5),
        ));
    }
    h.record(rec("key_removed", "bob", "mystery-model", None));
    h.record(UsageRecord {
        status: 502,
        error_class: Some("upstream_5xx".into()),
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        upstream_id: None,
        ..rec("key_removed", "bob", "mystery-model", None)
    });
    assert!(h.flush_blocking(Duration::from_secs(10)));
    assert_eq!((h.written(), h.dropped()), (5, 0));
    drop((h, ledger));
    let path = db::db_path(&config_dir(&env));
    assert_eq!(mode(&path), 0o600);

    let v = env.json(&["usage", "--by", "key"]);
    assert_eq!(v["database"].as_str().unwrap(), path.display().to_string());
    let t = &v["totals"];
    assert_eq!(t["requests"], 5);
    assert_eq!(t["errors"], 1);
    assert_eq!(t["input_tokens"], 400);
    assert_eq!(t["output_tokens"], 80);
    assert_eq!(t["cache_read_tokens"], 4_000);
    assert_eq!(t["cache_write_tokens"], 40);
    assert_eq!(t["reasoning_tokens"], 20);
    assert_eq!(t["cost_usd"], 1.5);
    assert_eq!(t["unpriced_requests"], 1, "the failure used no tokens");
    assert_eq!(v["unpriced_models"], serde_json::json!(["mystery-model"]));
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["name"], "alice", "the config's current name");
    assert_eq!(groups[0]["group"], alice.as_str());
    assert_eq!(groups[0]["unpriced"], false);
    assert_eq!(
        groups[1]["name"], "bob",
        "a removed key keeps its recorded name"
    );
    assert_eq!(groups[1]["unpriced"], true);
    assert_eq!(groups[1]["requests"], 2);

    let text = env.ok(&["usage", "--by", "model", "--since", "24h"]);
    assert!(text.contains("5 requests (1 errors)"), "{text}");
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle} line: {text}"))
            .to_string()
    };
    assert!(line("MODEL").ends_with("COST"), "{text}");
    assert!(line("claude-sonnet-4-5").ends_with("$1.5000"), "{text}");
    assert!(line("mystery-model").ends_with("unpriced"), "{text}");
    assert!(line("unpriced:").contains("mystery-model"), "{text}");

    let upstreams = env.json(&["usage", "--by", "upstream"]);
    let names: Vec<_> = upstreams["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["up_gone", "(none)"]);

    let only = env.json(&["usage", "--key", "alice", "--by", "day"]);
    assert_eq!(only["key"], alice.as_str());
    assert_eq!(only["totals"]["requests"], 3);
    assert_eq!(only["groups"].as_array().unwrap().len(), 1);
    let bob = env.json(&["usage", "--key", "bob"]);
    assert_eq!(bob["totals"]["requests"], 2);
    assert!(!env.run(&["usage", "--key", "nobody"]).status.success());

    let future = env.json(&["usage", "--since", "2999-01-01"]);
    assert_eq!(future["totals"]["requests"], 0);
}

/// A year of traffic, 1 M rows; prints insert and query times.
#[test]
#[ignore]
fn usage_query_on_a_million_rows() {
    const ROWS: i64 = 1_000_000;
    let env = Env::new();
    let dir = config_dir(&env);
    let path = db::db_path(&dir);
    let mut conn = db::open(&path, Duration::from_secs(5)).unwrap();
    let now = now_ms();
    let year_ms = 365 * 86_400_000_i64;
    let start = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..ROWS {
        let model = format!("model-{}", i % 20);
        let mut r = rec(&format!("key_{}", i % 10), "k", &model, Some(0.001));
        r.at_ms = now - year_ms + i * (year_ms / ROWS);
        r.upstream_id = Some(format!("up_{}", i % 5));
        if i % 20 >= 18 {
            r.cost_usd = None;
        }
        batch.push(r);
        if batch.len() == 10_000 {
            db::insert_batch(&mut conn, &batch).unwrap();
            batch.clear();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "direct insert: {ROWS} rows in {secs:.2}s = {:.0} rows/s",
        ROWS as f64 / secs
    );
    drop(conn);

    // Through the ledger: 500-row batches from the writer thread.
    let ledger = Ledger::open(&dir, 400).unwrap();
    let h = ledger.handle();
    let n = 100_000;
    let start = Instant::now();
    for chunk in 0..(n / 5_000) {
        for i in 0..5_000 {
            let mut r = rec("key_w", "w", "model-w", Some(0.0));
            r.at_ms = now + chunk * 5_000 + i;
            h.record(r);
        }
        assert!(h.flush_blocking(Duration::from_secs(60)));
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(h.dropped(), 0);
    println!(
        "ledger writer: {n} rows in {secs:.2}s = {:.0} rows/s",
        n as f64 / secs
    );
    drop((h, ledger));

    for args in [
        vec!["usage", "--by", "model", "--since", "365d"],
        vec!["--json", "usage", "--by", "model", "--since", "365d"],
        vec!["usage", "--by", "day", "--since", "365d"],
        vec!["usage", "--by", "key", "--since", "30d"],
        vec![
            "usage", "--by", "model", "--since", "365d", "--key", "key_3",
        ],
    ] {
        let start = Instant::now();
        let out = env.ok(&args);
        println!("{args:?}: {:.3}s", start.elapsed().as_secs_f64());
        assert!(out.contains("model-") || out.contains("key_"), "{out}");
    }

    // What an open dashboard asks for on every refresh (/ui), through the server.
    let admin = env.add_key("ops", "admin");
    let server = env.start();
    let auth = format!("Bearer {admin}");
    for path in [
        "/admin/usage?since=24h",
        "/admin/usage?since=7d",
        "/admin/timeseries?since=60m",
        "/admin/requests?limit=100",
        "/admin/status",
    ] {
        let start = Instant::now();
        let r = common::send(
            "GET",
            &format!("{}{path}", server.url),
            &[("authorization", &auth)],
            String::new(),
        );
        println!("GET {path}: {:.3}s", start.elapsed().as_secs_f64());
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
}
