//! The admin surface the CLI's `status`, `health` and `server status` read, and the
//! runtime file (`server.json`, 0600, beside the config) that tells the CLI where the
//! server listens and which local token opens that surface.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::models::fetch_catalog;
use super::state::{AppState, Snapshot};
use crate::config::{ConfigStore, Provider, Status, Upstream};
use crate::router::breaker::BreakerState;
use crate::router::health::wall;
use crate::util::Timestamp;

/// What the running server writes for the CLI.
#[derive(Serialize, Deserialize, Debug)]
pub struct RuntimeInfo {
    pub pid: u32,
    /// `http://127.0.0.1:PORT`: where the CLI reaches the server.
    pub url: String,
    pub admin_token: String,
    pub started_at: Timestamp,
    pub version: String,
}

pub fn runtime_path(store: &ConfigStore) -> PathBuf {
    store.path().with_file_name("server.json")
}

pub fn write_runtime(path: &Path, info: &RuntimeInfo) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec_pretty(info).map_err(std::io::Error::other)?;
    crate::config::store::write_private(path, &bytes)
}

/// Remove the runtime file if it is still ours (another server may have replaced it).
pub fn remove_runtime(path: &Path) {
    let ours = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<RuntimeInfo>(&b).ok())
        .is_some_and(|i| i.pid == std::process::id());
    if ours {
        let _ = std::fs::remove_file(path);
    }
}

/// `GET /metrics`: the Prometheus exposition, with ids named from the current config
/// and each upstream's breaker, health and in-flight count.
pub fn metrics(snap: &Snapshot, request_id: &str) -> http::Response<super::body::GatewayBody> {
    let now = tokio::time::Instant::now();
    let mut ctx = crate::metrics::ScrapeContext::default();
    for u in &snap.config.upstreams {
        ctx.upstream_names.insert(u.id.clone(), u.name.clone());
        let Some(stats) = snap.stats(&u.id) else {
            continue;
        };
        let in_flight = stats.snapshot().in_flight;
        let mut h = stats.health();
        let breaker = match h.state(now) {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        };
        ctx.upstreams.push(crate::metrics::UpstreamGauge {
            id: u.id.clone(),
            up: u.status != Status::Disabled && !h.auth_failed && breaker != 2,
            breaker,
            in_flight,
        });
    }
    for k in &snap.config.gateway_keys {
        ctx.key_names.insert(k.id.clone(), k.name.clone());
    }
    let text = crate::metrics::render(ctx);
    let mut resp = http::Response::new(super::body::GatewayBody::full(bytes::Bytes::from(text)));
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        h.insert(super::handler::REQUEST_ID, v);
    }
    resp
}

/// One upstream as `status` shows it: config, breaker, cool-down, counters.
fn upstream_status(snap: &Snapshot, u: &Upstream) -> Value {
    let Some(stats) = snap.stats(&u.id) else {
        return json!({"id": u.id, "name": u.name});
    };
    let counters = stats.snapshot();
    let now = tokio::time::Instant::now();
    let mut h = stats.health();
    let breaker = h.state(now);
    let cooling = h.cooling_until(now).map(|t| Timestamp(wall(now, t)));
    let open_until = h.breaker.open_until().map(|t| Timestamp(wall(now, t)));
    let (p50, p95) = h.percentiles().unzip();
    // One word for the table: what a user most needs to know first.
    let state = if u.status == Status::Disabled {
        "disabled"
    } else if h.auth_failed {
        "auth_failed"
    } else if breaker == BreakerState::Open {
        "open"
    } else if breaker == BreakerState::HalfOpen {
        "half-open"
    } else if cooling.is_some() {
        "cooling"
    } else if counters.requests == 0 {
        "idle"
    } else {
        "ok"
    };
    json!({
        "id": u.id,
        "name": u.name,
        "provider": u.provider,
        "api": u.api,
        "type": u.auth_type,
        "enabled": u.status == Status::Enabled,
        "priority": u.priority,
        "weight": u.weight,
        "state": state,
        "breaker": breaker,
        "open_until": open_until,
        "cooling_until": cooling,
        "auth_failed": h.auth_failed,
        "consecutive_failures": h.breaker.consecutive_failures(),
        "error_ratio": (h.breaker.error_ratio(now) * 1000.0).round() / 1000.0,
        "latency_p50_ms": p50,
        "latency_p95_ms": p95,
        "stats": counters,
    })
}

pub fn status(state: &AppState, snap: &Snapshot) -> Value {
    let upstreams: Vec<Value> = snap
        .config
        .upstreams
        .iter()
        .map(|u| upstream_status(snap, u))
        .collect();
    let keys: Vec<Value> = snap
        .config
        .gateway_keys
        .iter()
        .map(|k| {
            let (requests, last) = snap.key_stats.get(&k.id).map_or((0, None), |s| {
                (
                    s.requests.load(std::sync::atomic::Ordering::Relaxed),
                    s.last_used(),
                )
            });
            json!({"id": k.id, "name": k.name, "requests": requests, "last_used_at": last,
                "limits": crate::limits::KeyLimits::of(k),
                "usage": snap.limiter.usage(&k.id, std::time::SystemTime::now())})
        })
        .collect();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "listen": state.listen.to_string(),
        "started_at": state.started,
        "uptime_secs": state.started_instant.elapsed().as_secs(),
        "config_path": state.store.path().display().to_string(),
        "config_reloads": state.reloads.load(std::sync::atomic::Ordering::Relaxed),
        "strategy": snap.config.routing.strategy,
        "upstreams": upstreams,
        "keys": keys,
        "ledger": {
            "written": state.ledger.written(),
            "dropped": state.ledger.dropped(),
        },
    })
}

/// Probe every enabled upstream with a cheap authenticated call (its model list).
pub async fn health(snap: &Snapshot) -> Value {
    let enabled: Vec<&Upstream> = snap.config.enabled_upstreams().collect();
    let probes = join_all(enabled.iter().map(|u| async move {
        let t = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(8), fetch_catalog(&snap.client, u)).await;
        let ms = t.elapsed().as_millis() as u64;
        let (ok, error) = match r {
            Ok(Ok(_)) => (true, None),
            Ok(Err(e)) => (false, Some(e)),
            Err(_) => (false, Some("timed out".to_string())),
        };
        json!({
            "id": u.id, "name": u.name, "provider": u.provider, "api": u.api,
            "reachable": ok, "latency_ms": ms, "error": error,
        })
    }))
    .await;
    // Healthy when every provider that has enabled upstreams has at least one that
    // answers: a family with no usable account is what breaks clients.
    let mut providers: Vec<Provider> = Vec::new();
    for u in &enabled {
        if !providers.contains(&u.provider) {
            providers.push(u.provider);
        }
    }
    let dead: Vec<String> = providers
        .iter()
        .filter(|p| {
            !probes
                .iter()
                .any(|x| x["provider"] == p.as_str() && x["reachable"] == true)
        })
        .map(|p| p.to_string())
        .collect();
    let problem = if snap.config.upstreams.is_empty() {
        Some("no upstream is configured".to_string())
    } else if enabled.is_empty() {
        Some("every upstream is disabled".to_string())
    } else if !dead.is_empty() {
        Some(format!("no {} upstream answers", dead.join(" or ")))
    } else {
        None
    };
    let all_ok = problem.is_none();
    json!({
        "server": "ok",
        "healthy": all_ok,
        "problem": problem,
        "upstreams": probes,
    })
}
