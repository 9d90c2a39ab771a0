//! `GET /v1/models`: what the configured upstreams serve (their own catalogs where
//! they answer, cached for ten minutes) plus route aliases, in the caller's shape.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Value, json};

use super::format::ApiFormat;
use super::state::{AppState, Snapshot};
use crate::config::{Provider, Upstream};
use crate::upstream::{UpstreamClient, authenticate, upstream_uri};
use crate::util::is_glob;

const CACHE_FOR: Duration = Duration::from_secs(600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Ask one upstream for its model ids.
pub async fn fetch_catalog(client: &UpstreamClient, u: &Upstream) -> Result<Vec<String>, String> {
    let query = (u.provider == Provider::Anthropic).then_some("limit=1000");
    let uri = upstream_uri(u, "/v1/models", query).map_err(|e| e.to_string())?;
    let mut req = Request::get(uri)
        .body(Full::default())
        .map_err(|e| e.to_string())?;
    authenticate(u, req.headers_mut());
    let resp = tokio::time::timeout(FETCH_TIMEOUT, client.send(req))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = tokio::time::timeout(
        FETCH_TIMEOUT,
        Limited::new(resp.into_body(), 8 << 20).collect(),
    )
    .await
    .map_err(|_| "timed out".to_string())?
    .map_err(|e| e.to_string())?
    .to_bytes();
    // A 404 is an upstream that answers but keeps no catalog there (many
    // OpenAI-compatible services): reachable, with nothing to list.
    if status == StatusCode::NOT_FOUND {
        return Ok(Vec::new());
    }
    if status != StatusCode::OK {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    // `{"data": [{"id"}]}` (OpenAI, Anthropic) or Codex's `{"models": [{"slug"}]}`
    // (the ChatGPT backend).
    let ids = |key: &str, field: &str| -> Option<Vec<String>> {
        v.get(key).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|m| m.get(field).and_then(Value::as_str).map(String::from))
                .collect()
        })
    };
    Ok(ids("data", "id")
        .or_else(|| ids("models", "slug"))
        .unwrap_or_default())
}

async fn catalog(state: &AppState, snap: &Snapshot, u: &Upstream) -> Vec<String> {
    let cached = state.models_cache.lock().ok().and_then(|c| {
        c.get(&u.id)
            .filter(|(t, _)| t.elapsed() < CACHE_FOR)
            .map(|(_, m)| m.clone())
    });
    if let Some(m) = cached {
        return m;
    }
    let declared = || -> Vec<String> { u.models.iter().filter(|m| !is_glob(m)).cloned().collect() };
    match fetch_catalog(&snap.client, u).await {
        Ok(mut models) => {
            if !u.models.is_empty() {
                models.retain(|m| crate::router::serves(u, m));
            }
            if let Ok(mut c) = state.models_cache.lock() {
                c.insert(u.id.clone(), (Instant::now(), models.clone()));
            }
            models
        }
        Err(e) => {
            tracing::debug!(upstream = %u.name, "model catalog unavailable: {e}");
            declared()
        }
    }
}

/// The model list, shaped for `format`.
pub async fn list(state: &AppState, snap: &Snapshot, format: ApiFormat) -> Value {
    let enabled: Vec<&Upstream> = snap.config.enabled_upstreams().collect();
    let catalogs = join_all(enabled.iter().map(|u| catalog(state, snap, u))).await;

    let mut seen = std::collections::HashSet::new();
    let mut entries: Vec<(String, String)> = Vec::new();
    for r in &snap.config.routes {
        if !is_glob(&r.pattern) && seen.insert(r.pattern.clone()) {
            entries.push((r.pattern.clone(), "llm-gateway".into()));
        }
    }
    for (u, models) in enabled.iter().zip(catalogs) {
        for m in models {
            if seen.insert(m.clone()) {
                entries.push((m, u.provider.to_string()));
            }
        }
    }
    match format {
        ApiFormat::OpenAi => json!({
            "object": "list",
            "data": entries.iter().map(|(id, owner)| json!({
                "id": id, "object": "model", "created": 0, "owned_by": owner,
            })).collect::<Vec<_>>(),
        }),
        ApiFormat::Anthropic => json!({
            "data": entries.iter().map(|(id, _)| json!({
                "type": "model", "id": id, "display_name": id,
                "created_at": "1970-01-01T00:00:00Z",
            })).collect::<Vec<_>>(),
            "has_more": false,
            "first_id": entries.first().map(|e| &e.0),
            "last_id": entries.last().map(|e| &e.0),
        }),
    }
}

/// Codex asks for its own catalog shape (`GET /models?client_version=...`, with its
/// `originator` header) when a provider sets `model_catalog_url`.
pub fn is_codex<B>(req: &Request<B>) -> bool {
    req.uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("client_version=")))
        || req
            .headers()
            .get("originator")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|o| o.starts_with("codex"))
}

/// Codex's shape, `{"models": [...]}`, empty on purpose: an entry would replace the
/// metadata Codex ships for that model, its base instructions (the system prompt)
/// first among them, which the gateway does not have. With an empty catalog Codex
/// keeps its own metadata for models it knows and its defaults for the others.
pub fn codex_catalog() -> Value {
    json!({"models": []})
}
