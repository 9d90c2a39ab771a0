//! The admin JSON the dashboard reads from the ledger: `/admin/usage`,
//! `/admin/requests`, `/admin/timeseries`. Admin keys only; shapes and sums.

use crate::common;

use common::mock::{Flavor, Mock};
use common::{Env, eventually, post_json, send};
use serde_json::{Value, json};
use std::time::Duration;

fn get(url: &str, path: &str, key: Option<&str>) -> common::Resp {
    let auth = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    send("GET", &format!("{url}{path}"), &headers, String::new())
}

#[test]
fn admin_ledger_views_sum_the_requests_and_refuse_other_keys() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-a");
    let oai = Mock::start(Flavor::OpenAi, "sk-oai-a");
    env.add_upstream("ant", &ant, &[]);
    env.add_upstream("oai", &oai, &[]);
    let key = env.add_key("client", "read,write");
    let admin = env.add_key("ops", "admin");
    env.ok(&[
        "apikey",
        "set",
        "client",
        "--budget",
        "5",
        "--budget-period",
        "month",
    ]);
    let server = env.start();
    let url = &server.url;
    for model in ["claude-sonnet-4-5", "claude-sonnet-4-5", "gpt-4o"] {
        let r = post_json(
            &format!("{url}/v1/chat/completions"),
            &[
                ("authorization", &format!("Bearer {key}")),
                ("x-request-id", &format!("adm-{model}")),
            ],
            &json!({"model": model, "messages": [{"role": "user", "content": "secret prompt"}]}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }

    for path in ["/admin/usage", "/admin/requests", "/admin/timeseries"] {
        assert_eq!(get(url, path, None).status, 401, "{path}");
        assert_eq!(get(url, path, Some(&key)).status, 403, "{path}");
    }

    let mut usage = Value::Null;
    assert!(
        eventually(Duration::from_secs(5), || {
            usage = get(url, "/admin/usage?since=24h", Some(&admin)).json();
            usage["totals"]["requests"] == 3
        }),
        "{usage}"
    );
    assert_eq!(usage["by_key"][0]["name"], "client");
    assert_eq!(usage["by_key"][0]["requests"], 3);
    let upstreams: Vec<(&str, u64)> = usage["by_upstream"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["name"].as_str().unwrap(), g["requests"].as_u64().unwrap()))
        .collect();
    assert!(
        upstreams.contains(&("ant", 2)) && upstreams.contains(&("oai", 1)),
        "{upstreams:?}"
    );
    assert_eq!(usage["by_model"].as_array().unwrap().len(), 2);
    assert_eq!(usage["budgets"][0]["name"], "client");
    assert_eq!(usage["budgets"][0]["budget_usd"], 5.0);
    assert!(
        usage["budgets"][0]["spent_usd"].as_f64().unwrap() > 0.0,
        "{usage}"
    );

    let recent = get(url, "/admin/requests?limit=2", Some(&admin)).json();
    let rows = recent["requests"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0]["request_id"], "adm-gpt-4o",
        "newest first: {recent}"
    );
    assert_eq!(rows[0]["upstream_name"], "oai");
    assert_eq!(rows[0]["status"], 200);
    assert!(rows[0]["latency_ms"].is_u64() && rows[0]["input_tokens"] == 12);
    assert!(!recent.to_string().contains("secret prompt"), "no bodies");

    let series = get(url, "/admin/timeseries", Some(&admin)).json();
    let total: u64 = series["minutes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3, "{series}");

    let bad = get(url, "/admin/requests?limit=0", Some(&admin));
    assert_eq!(bad.status, 400, "{}", bad.text());
    let bad = get(url, "/admin/usage?since=yesterday-ish", Some(&admin));
    assert_eq!(bad.status, 400, "{}", bad.text());
    let msg = bad.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.starts_with("`since` \"yesterday-ish\": expected"),
        "{msg}"
    );
}

/// `/ui` is a shell with no data, so a browser opens it without a key; every `/admin`
/// endpoint the page reads refuses a missing or non-admin key, and the page's files
/// carry a policy that lets them load nothing but themselves.
#[test]
fn the_dashboard_page_holds_no_data_and_what_it_reads_needs_an_admin_key() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-ui");
    env.add_upstream("secret-account-name", &ant, &[]);
    let key = env.add_key("client", "read,write");
    let admin = env.add_key("ops", "admin");
    let server = env.start();
    let url = &server.url;

    for (path, kind) in [
        ("/ui", "text/html"),
        ("/ui/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
        ("/ui/icon.svg", "image/svg+xml"),
    ] {
        let r = get(url, path, None);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let h = |name: &str| {
            r.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert!(
            h("content-type").starts_with(kind),
            "{path}: {}",
            h("content-type")
        );
        let csp = h("content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert!(h("x-request-id").starts_with("req_"));
        // The shell names no upstream, key or secret: the data comes from /admin.
        let body = r.text();
        for secret in [
            "secret-account-name",
            "sk-ant-ui",
            key.as_str(),
            admin.as_str(),
        ] {
            assert!(!body.contains(secret), "{path} contains {secret}");
        }
    }
    assert_eq!(get(url, "/ui/nope.js", None).status, 404);
    // What the page reads: 401 without a key, 403 for a non-admin one, 200 for admin.
    for path in [
        "/admin/status",
        "/admin/usage?since=7d",
        "/admin/requests?limit=100",
        "/admin/timeseries?since=60m",
    ] {
        assert_eq!(get(url, path, None).status, 401, "{path}");
        let r = get(url, path, Some(&key));
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.json()["error"]["code"], "insufficient_permissions");
        assert_eq!(get(url, path, Some(&admin)).status, 200, "{path}");
    }
    let status = get(url, "/admin/status", Some(&admin)).json();
    assert_eq!(status["upstreams"][0]["name"], "secret-account-name");
}
