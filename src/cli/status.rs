//! `llm-gateway status` and `health`: read the running server's admin surface, found
//! through the runtime file it writes beside the config.

use std::time::Duration;

use anyhow::{Context, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::output::Table;
use super::{CliError, CliResult, Ctx};
use crate::config::ConfigStore;
use crate::server::admin::{RuntimeInfo, runtime_path};

/// A way to the running server's admin endpoints.
pub struct AdminClient {
    info: RuntimeInfo,
}

pub enum Reach {
    Running(AdminClient),
    NotRunning(String),
}

impl AdminClient {
    pub fn discover(store: &ConfigStore) -> Reach {
        let path = runtime_path(store);
        let info: RuntimeInfo = match std::fs::read(&path) {
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(i) => i,
                Err(e) => {
                    return Reach::NotRunning(format!("{} is unreadable ({e})", path.display()));
                }
            },
            Err(_) => {
                return Reach::NotRunning(format!(
                    "no server has started with {}",
                    store.path().display()
                ));
            }
        };
        let client = AdminClient { info };
        match client.get("/health") {
            Ok(_) => Reach::Running(client),
            Err(_) => Reach::NotRunning(format!(
                "the server that wrote {} (pid {}) does not answer at {}",
                path.display(),
                client.info.pid,
                client.info.url
            )),
        }
    }

    pub fn url(&self) -> &str {
        &self.info.url
    }

    /// GET a JSON document from the server, with the admin token.
    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let uri: http::Uri = format!("{}{path}", self.info.url).parse()?;
        let token = format!("Bearer {}", self.info.admin_token);
        // Over HTTPS, only the certificate in the server's own file is trusted.
        let https = match &self.info.tls_cert {
            Some(path) => Some(
                hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(crate::server::tls::PinnedToFile::client_config(
                        path.clone(),
                    )?)
                    .https_only()
                    .enable_http1()
                    .build(),
            ),
            None => None,
        };
        rt.block_on(async move {
            let req = http::Request::get(uri)
                .header(http::header::AUTHORIZATION, token)
                .body(Empty::<Bytes>::new())?;
            let sent = match https {
                Some(c) => Client::builder(TokioExecutor::new()).build(c).request(req),
                None => Client::builder(TokioExecutor::new())
                    .build_http()
                    .request(req),
            };
            let resp = tokio::time::timeout(Duration::from_secs(30), sent)
                .await
                .map_err(|_| anyhow!("the server did not answer within 30s"))?
                .map_err(|e| anyhow!(crate::upstream::error_chain(&e)))?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            let v: Value = serde_json::from_slice(&body).context("the server sent invalid JSON")?;
            if !status.is_success() {
                return Err(anyhow!(
                    "the server answered {}: {}",
                    status.as_u16(),
                    v.pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ));
            }
            Ok(v)
        })
    }
}

fn connect(ctx: &Ctx) -> CliResult<AdminClient> {
    match AdminClient::discover(&ctx.store) {
        Reach::Running(c) => Ok(c),
        Reach::NotRunning(why) => Err(CliError::Failed(format!(
            "the gateway is not running: {why}. Start it with `llm-gateway server start`"
        ))),
    }
}

pub fn human_secs(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

pub fn status(ctx: &Ctx) -> CliResult {
    let client = connect(ctx)?;
    let s = client.get("/admin/status")?;
    ctx.out.emit(&s, || {
        let mut out = format!(
            "Gateway {} — up {}, pid {}, config reloaded {} time(s)\n\n",
            client.url(),
            human_secs(s["uptime_secs"].as_u64().unwrap_or(0)),
            s["pid"],
            s["config_reloads"]
        );
        let ups = s["upstreams"].as_array().cloned().unwrap_or_default();
        if ups.is_empty() {
            out.push_str("No upstreams configured.\n");
        } else {
            let mut t = Table::new(vec![
                "UPSTREAM",
                "PROVIDER",
                "PRIO",
                "STATE",
                "UNTIL",
                "REQS",
                "FAIL",
                "ERR%",
                "INFLIGHT",
                "P50/P95 MS",
                "TOKENS IN/OUT",
                "LAST ERROR",
            ]);
            for u in &ups {
                let st = &u["stats"];
                let until = u["open_until"]
                    .as_str()
                    .or(u["cooling_until"].as_str())
                    .map(|t| t.rsplit('T').next().unwrap_or(t).to_string())
                    .unwrap_or_else(|| "-".into());
                let lat = match (u["latency_p50_ms"].as_u64(), u["latency_p95_ms"].as_u64()) {
                    (Some(a), Some(b)) => format!("{a}/{b}"),
                    _ => "-".into(),
                };
                t.row(vec![
                    u["name"].as_str().unwrap_or("?").into(),
                    provider_label(u),
                    u["priority"].to_string(),
                    ctx.out.status(u["state"].as_str().unwrap_or("?")),
                    until,
                    st["requests"].to_string(),
                    st["failures"].to_string(),
                    format!("{:.0}", u["error_ratio"].as_f64().unwrap_or(0.0) * 100.0),
                    st["in_flight"].to_string(),
                    lat,
                    format!("{}/{}", st["input_tokens"], st["output_tokens"]),
                    st["error"].as_str().unwrap_or("").into(),
                ]);
            }
            out.push_str(&t.render());
        }
        let keys = s["keys"].as_array().cloned().unwrap_or_default();
        if !keys.is_empty() {
            out.push('\n');
            let mut t = Table::new(vec![
                "KEY",
                "REQUESTS",
                "LAST MINUTE (REQ / TOK)",
                "SPENT THIS PERIOD",
                "LAST USED",
            ]);
            for k in &keys {
                let (u, l) = (&k["usage"], &k["limits"]);
                let of = |used: &serde_json::Value, limit: &serde_json::Value| match limit.as_u64()
                {
                    Some(n) => format!("{}/{n}", used.as_u64().unwrap_or(0)),
                    None => used.as_u64().unwrap_or(0).to_string(),
                };
                let spent = u["spent_usd"].as_f64().unwrap_or(0.0);
                let spend = match l["budget_usd"].as_f64() {
                    Some(b) => format!(
                        "${spent:.2} of ${b:.2} ({})",
                        l["budget_period"].as_str().unwrap_or("month")
                    ),
                    None => format!("${spent:.2}"),
                };
                t.row(vec![
                    k["name"].as_str().unwrap_or("?").into(),
                    k["requests"].to_string(),
                    format!(
                        "{} / {}",
                        of(&u["requests_last_minute"], &l["rpm"]),
                        of(&u["tokens_last_minute"], &l["tpm"])
                    ),
                    spend,
                    k["last_used_at"].as_str().unwrap_or("-").into(),
                ]);
            }
            out.push_str(&t.render());
        }
        let shared = &s["shared_state"];
        if let Some(state) = shared["state"].as_str() {
            out.push_str(&format!(
                "\nshared state: {} at {}{}\n",
                state,
                shared["url"].as_str().unwrap_or("?"),
                match (state, shared["last_error"].as_str()) {
                    ("degraded", Some(e)) => format!(
                        " since {} ({e}); limits and budgets count on this instance only",
                        shared["since"].as_str().unwrap_or("?")
                    ),
                    _ => String::new(),
                }
            ));
        }
        let dropped = s["ledger"]["dropped"].as_u64().unwrap_or(0);
        if dropped > 0 {
            out.push_str(&format!(
                "\nusage ledger: {dropped} row(s) could not be written (see the server log)\n"
            ));
        }
        out
    })?;
    Ok(())
}

pub fn health(ctx: &Ctx) -> CliResult {
    let client = match AdminClient::discover(&ctx.store) {
        Reach::Running(c) => c,
        Reach::NotRunning(why) => {
            let v = serde_json::json!({"server": "down", "healthy": false, "problem": why});
            ctx.out.emit(&v, || format!("Server: down ({why})"))?;
            return Err(CliError::Silent);
        }
    };
    let h = client.get("/admin/health")?;
    let healthy = h["healthy"] == true;
    ctx.out.emit(&h, || {
        let mut out = format!("Server: {} at {}\n", ctx.out.status("up"), client.url());
        if let Some(p) = h["problem"].as_str() {
            out.push_str(&format!("Problem: {p}\n"));
        }
        let ups = h["upstreams"].as_array().cloned().unwrap_or_default();
        if !ups.is_empty() {
            let mut t = Table::new(vec!["UPSTREAM", "PROVIDER", "REACHABLE", "MS", "ERROR"]);
            for u in &ups {
                let ok = u["reachable"] == true;
                t.row(vec![
                    u["name"].as_str().unwrap_or("?").into(),
                    provider_label(u),
                    ctx.out.status(if ok { "ok" } else { "down" }),
                    u["latency_ms"].to_string(),
                    u["error"].as_str().unwrap_or("").into(),
                ]);
            }
            out.push_str(&t.render());
        }
        out.push_str(if healthy {
            "Healthy.\n"
        } else {
            "Unhealthy.\n"
        });
        out
    })?;
    if healthy {
        Ok(())
    } else {
        Err(CliError::Silent)
    }
}

/// `openai`, or `openai/responses` for an upstream that speaks the Responses API.
fn provider_label(u: &serde_json::Value) -> String {
    let p = u["provider"].as_str().unwrap_or("?");
    match u["api"].as_str() {
        Some("responses") => format!("{p}/responses"),
        _ => p.to_string(),
    }
}
