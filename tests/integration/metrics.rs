//! `GET /metrics` against the real binary: parsed by a Prometheus text parser, values
//! equal to the requests made, histograms consistent, model labels capped, and who may
//! read it on a loopback and a non-loopback listener.

use crate::common;

use common::mock::{Flavor, Mock};
use common::{Env, Server, eventually, post_json, send};
use prometheus_parse::{Scrape, Value};
use serde_json::json;
use std::time::Duration;

fn scrape(server: &Server, headers: &[(&str, &str)]) -> common::Resp {
    send(
        "GET",
        &format!("{}/metrics", server.url),
        headers,
        String::new(),
    )
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The value of the sample `name` whose labels include all of `labels`.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == name)
        .find(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(b) => b.last().map_or(0.0, |c| c.count),
            Value::Summary(_) => f64::NAN,
        })
}

fn setup() -> (Env, Mock, Mock, String) {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-m");
    let oai = Mock::start(Flavor::OpenAi, "sk-oai-m");
    env.add_upstream("ant", &ant, &[]);
    env.add_upstream("oai", &oai, &[]);
    let key = env.add_key("client", "read,write");
    (env, ant, oai, key)
}

fn messages(url: &str, key: &str, model: &str) -> u16 {
    let body = json!({"model": model, "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}]});
    post_json(
        &format!("{url}/v1/messages"),
        &[("x-api-key", key), ("anthropic-version", "2023-06-01")],
        &body,
    )
    .status
}

fn chat(url: &str, key: &str, model: &str) -> u16 {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    post_json(
        &format!("{url}/v1/chat/completions"),
        &[("authorization", &format!("Bearer {key}"))],
        &body,
    )
    .status
}

#[test]
fn counts_equal_the_requests_made_and_histograms_add_up() {
    let (env, _ant, _oai, key) = setup();
    let server = env.start();
    let url = &server.url;
    for _ in 0..3 {
        assert_eq!(messages(url, &key, "claude-sonnet-4-5"), 200);
    }
    for _ in 0..2 {
        assert_eq!(chat(url, &key, "gpt-4o"), 200);
    }
    // Converted: an OpenAI client on the Anthropic upstream.
    assert_eq!(chat(url, &key, "claude-sonnet-4-5"), 200);

    // Loopback listener: no key needed. Rows are counted when the body ends, a
    // moment after the client has read it.
    let mut text = String::new();
    assert!(eventually(Duration::from_secs(5), || {
        let r = scrape(&server, &[]);
        text = r.text();
        r.status == 200 && {
            let s = parse(&text);
            value(
                &s,
                "llm_gateway_requests_total",
                &[("client_format", "chat"), ("model", "claude-sonnet-4-5")],
            ) == Some(1.0)
        }
    }));
    let r = scrape(&server, &[]);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        r.headers
    );
    assert!(r.headers.contains_key("x-request-id"));
    if std::env::var_os("SHOW_METRICS").is_some() {
        println!("{text}");
    }
    let s = parse(&text);
    let req = |format: &str, upstream: &str, model: &str| {
        value(
            &s,
            "llm_gateway_requests_total",
            &[
                ("client_format", format),
                ("upstream", upstream),
                ("model", model),
                ("status", "200"),
            ],
        )
    };
    assert_eq!(
        req("anthropic", "ant", "claude-sonnet-4-5"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(req("chat", "oai", "gpt-4o"), Some(2.0), "{text}");
    assert_eq!(req("chat", "ant", "claude-sonnet-4-5"), Some(1.0), "{text}");

    // Histograms: buckets never decrease, +Inf equals _count, one per request.
    for name in [
        "llm_gateway_request_duration_seconds",
        "llm_gateway_time_to_first_byte_seconds",
    ] {
        let mut total = 0.0;
        for sample in s.samples.iter().filter(|x| x.metric == name) {
            let Value::Histogram(buckets) = &sample.value else {
                panic!("{name} is not a histogram: {:?}", sample.value);
            };
            assert!(
                buckets
                    .windows(2)
                    .all(|w| w[0].count <= w[1].count && w[0].less_than < w[1].less_than)
            );
            let last = buckets.last().unwrap();
            assert!(last.less_than.is_infinite());
            let labels: Vec<(&str, &str)> = sample
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(
                value(&s, &format!("{name}_count"), &labels),
                Some(last.count),
                "{text}"
            );
            total += last.count;
        }
        assert_eq!(total, 6.0, "{name}: {text}");
    }
    // Tokens (the mock answers 12 in, 5 out) and per-upstream gauges.
    assert_eq!(
        value(
            &s,
            "llm_gateway_tokens_total",
            &[("upstream", "ant"), ("kind", "output")]
        ),
        Some(20.0),
        "{text}"
    );
    assert_eq!(
        value(&s, "llm_gateway_upstream_up", &[("upstream", "ant")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "llm_gateway_breaker_state", &[("upstream", "oai")]),
        Some(0.0)
    );
    assert_eq!(
        value(&s, "llm_gateway_in_flight_requests", &[("upstream", "oai")]),
        Some(0.0)
    );
    assert!(
        value(
            &s,
            "llm_gateway_cost_usd_total",
            &[("key", "client"), ("model", "claude-sonnet-4-5")]
        )
        .is_some_and(|c| c > 0.0),
        "{text}"
    );
}

#[test]
fn random_model_names_cannot_grow_the_label_set() {
    let (env, _ant, _oai, key) = setup();
    let server = env.start();
    for i in 0..1000 {
        assert_eq!(chat(&server.url, &key, &format!("gpt-random-{i}")), 200);
    }
    let mut text = String::new();
    assert!(eventually(Duration::from_secs(5), || {
        text = scrape(&server, &[]).text();
        let s = parse(&text);
        s.samples
            .iter()
            .filter(|x| x.metric == "llm_gateway_requests_total")
            .map(|x| x.value.clone())
            .map(|v| match v {
                Value::Counter(n) | Value::Untyped(n) => n,
                _ => 0.0,
            })
            .sum::<f64>()
            == 1000.0
    }));
    let s = parse(&text);
    let models: std::collections::HashSet<&str> = s
        .samples
        .iter()
        .filter(|x| x.metric == "llm_gateway_requests_total")
        .filter_map(|x| x.labels.get("model"))
        .collect();
    // At most the cap per worker thread, plus `other`.
    let workers = 2;
    assert!(
        models.len() <= 100 * workers + 1,
        "{} model labels",
        models.len()
    );
    assert!(models.contains("other"), "{models:?}");
}

#[test]
fn beyond_loopback_it_takes_an_admin_key_unless_public() {
    let (env, _ant, _oai, key) = setup();
    let admin = env.add_key("ops", "admin");
    let server = Server::start(&env, &["--host", "0.0.0.0"]);
    let r = scrape(&server, &[]);
    assert_eq!(r.status, 401, "{}", r.text());
    let r = scrape(&server, &[("authorization", &format!("Bearer {key}"))]);
    assert_eq!(r.status, 403, "{}", r.text());
    let r = scrape(&server, &[("authorization", &format!("Bearer {admin}"))]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("# TYPE llm_gateway_requests counter"));
    // `metrics.public: true` opens it (hot reload).
    env.edit_config(|c| {
        c["metrics"] = serde_yaml::from_str("public: true").unwrap();
    });
    assert!(eventually(Duration::from_secs(5), || scrape(&server, &[])
        .status
        == 200));
}
