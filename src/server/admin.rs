//! The admin surface the CLI's `status`, `health` and `server status` read, and the
//! runtime file (`server.json`, 0600, beside the config) that tells the CLI where the
//! server listens and which local token opens that surface.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::errors::GatewayError;
use super::models::fetch_catalog;
use super::state::{AppState, Snapshot};
use crate::config::{Config, ConfigStore, Provider, Status, Upstream};
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
    /// The certificate file when the server speaks HTTPS: the CLI trusts exactly the
    /// certificate in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
}

/// The runtime file's name, in the data directory.
pub const RUNTIME_FILE: &str = "server.json";

/// Where the CLI finds the runtime file of the server for this config.
pub fn runtime_path(store: &ConfigStore) -> PathBuf {
    data_dir(store, &store.load().unwrap_or_default()).join(RUNTIME_FILE)
}

/// Where the server writes (its runtime file and usage ledger): `server.data_dir`, else
/// the config's directory. Relative to the config's directory.
pub fn data_dir(store: &ConfigStore, config: &Config) -> PathBuf {
    match &config.server.data_dir {
        Some(d) => store.dir().join(d),
        None => store.dir().to_path_buf(),
    }
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

/// What `/admin/usage`, `/admin/requests` and `/admin/timeseries` ask of the ledger.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LedgerView {
    /// Sums by key, model and upstream since `since_ms`, and each key's budget.
    Usage { since_ms: i64 },
    /// The latest requests, newest first.
    Requests { limit: usize },
    /// Requests, errors and tokens per minute since `since_ms`.
    Timeseries { since_ms: i64 },
}

/// Most rows `/admin/requests` lists.
const MAX_RECENT: usize = 1_000;

impl LedgerView {
    /// From the path and query: `since` (`24h`, `7d`, a date, as `usage --since`;
    /// default 24 h, 60 min for the time series) and `limit` (default 100).
    pub fn parse(uri: &http::Uri) -> Result<LedgerView, GatewayError> {
        let pairs = crate::oauth::form::query_pairs(uri.query().unwrap_or(""));
        let param = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let now = crate::ledger::now_ms();
        let since = |default: &str| {
            crate::ledger::query::parse_since(
                &param("since").unwrap_or_else(|| default.into()),
                now,
            )
            .map_err(|e| GatewayError::BadRequest(format!("`since` {e}")))
        };
        Ok(match uri.path().trim_end_matches('/') {
            "/admin/requests" => {
                let limit = match param("limit") {
                    None => 100,
                    Some(v) => v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_RECENT).contains(n))
                        .ok_or_else(|| {
                            GatewayError::BadRequest(format!(
                                "`limit` must be 1 to {MAX_RECENT}, not {v:?}"
                            ))
                        })?,
                };
                LedgerView::Requests { limit }
            }
            "/admin/timeseries" => LedgerView::Timeseries {
                since_ms: since("60m")?,
            },
            _ => LedgerView::Usage {
                since_ms: since("24h")?,
            },
        })
    }
}

/// A [`LedgerView`] as JSON, with ids named from the current config. The query runs on
/// a blocking thread; a server without a ledger answers 503.
pub async fn ledger_view(
    state: &std::sync::Arc<AppState>,
    snap: &Snapshot,
    view: LedgerView,
) -> Result<Value, GatewayError> {
    use crate::ledger::query;
    let st = state.clone();
    let read = tokio::task::spawn_blocking(move || {
        st.read_ledger(|c| -> rusqlite::Result<Value> {
            Ok(match view {
                LedgerView::Usage { since_ms } => {
                    // One pass over the window for all three groupings.
                    let by = [
                        query::GroupBy::Key,
                        query::GroupBy::Model,
                        query::GroupBy::Upstream,
                    ];
                    let [keys, models, upstreams]: [query::UsageReport; 3] =
                        query::reports(c, since_ms, None, &by)?
                            .try_into()
                            .unwrap_or_default();
                    json!({
                        "since_ms": since_ms,
                        "totals": keys.totals,
                        "by_key": keys.groups,
                        "by_model": models.groups,
                        "by_upstream": upstreams.groups,
                        "unpriced_models": keys.unpriced_models,
                    })
                }
                LedgerView::Requests { limit } => json!({"requests": query::recent(c, limit)?}),
                LedgerView::Timeseries { since_ms } => {
                    json!({"since_ms": since_ms, "minutes": query::per_minute(c, since_ms)?})
                }
            })
        })
    })
    .await
    .map_err(|e| GatewayError::Internal(format!("ledger query: {e}")))?;
    let mut v = match read {
        None => {
            return Err(GatewayError::Unavailable(
                "the usage ledger is not open on this server (see its log)".into(),
            ));
        }
        Some(Err(e)) => return Err(GatewayError::Internal(format!("ledger query: {e}"))),
        Some(Ok(v)) => v,
    };
    name_ids(&mut v, snap);
    if let LedgerView::Usage { .. } = view {
        v["budgets"] = budgets(snap);
    }
    Ok(v)
}

/// Add `name` beside every `group` / `key_id` / `upstream_id` that is a configured key or
/// upstream (ids of deleted ones keep their recorded name, or none).
fn name_ids(v: &mut Value, snap: &Snapshot) {
    let upstream = |id: &str| {
        snap.config
            .upstreams
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
    };
    let key = |id: &str| {
        snap.config
            .gateway_keys
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.name.clone())
    };
    for (list, f) in [
        ("by_key", &key as &dyn Fn(&str) -> Option<String>),
        ("by_upstream", &upstream),
    ] {
        if let Some(groups) = v.get_mut(list).and_then(Value::as_array_mut) {
            for g in groups {
                let name = g["group"].as_str().and_then(f);
                if let Some(n) = name {
                    g["name"] = json!(n);
                }
            }
        }
    }
    if let Some(rows) = v.get_mut("requests").and_then(Value::as_array_mut) {
        for r in rows {
            if let Some(n) = r["upstream_id"].as_str().and_then(upstream) {
                r["upstream_name"] = json!(n);
            }
            if let Some(n) = r["key_id"].as_str().and_then(key) {
                r["key_name"] = json!(n);
            }
        }
    }
}

/// Each key with a budget: spent this period against it, and when it resets.
fn budgets(snap: &Snapshot) -> Value {
    let now = std::time::SystemTime::now();
    let list: Vec<Value> = snap
        .config
        .gateway_keys
        .iter()
        .filter_map(|k| {
            let limits = snap.limiter.limits(&k.id)?;
            let budget = limits.budget_usd?;
            let used = snap.limiter.usage(&k.id, now)?;
            Some(json!({
                "key_id": k.id,
                "name": k.name,
                "budget_usd": budget,
                "budget_period": limits.budget_period,
                "spent_usd": used.spent_usd,
                "resets_at": used.period_resets_at,
            }))
        })
        .collect();
    Value::Array(list)
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
    super::handler::set_request_id(h, request_id);
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
        "shared_state": state.shared.as_ref().map(|s| s.status()),
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
