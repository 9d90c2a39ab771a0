//! `GET /v1/models` (and Gemini's `/v1beta/models`): what the configured upstreams
//! serve (their own catalogs where they answer, cached for ten minutes) plus route
//! aliases, in the caller's shape; `GET .../models/{model}` for one of them.

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
    let (path, query) = match u.provider {
        Provider::Anthropic => ("/v1/models", Some("limit=1000")),
        Provider::Openai => ("/v1/models", None),
        Provider::Gemini => ("/v1beta/models", Some("pageSize=1000")),
    };
    let uri = upstream_uri(u, path, query).map_err(|e| e.to_string())?;
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
    // `{"data": [{"id"}]}` (OpenAI, Anthropic), Codex's `{"models": [{"slug"}]}` (the
    // ChatGPT backend) or Gemini's `{"models": [{"name": "models/..."}]}`.
    let ids = |key: &str, field: &str| -> Option<Vec<String>> {
        v.get(key).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|m| m.get(field).and_then(Value::as_str))
                .map(|id| id.strip_prefix("models/").unwrap_or(id).to_string())
                .collect()
        })
    };
    let field = if u.provider == Provider::Gemini {
        "name"
    } else {
        "slug"
    };
    Ok(ids("data", "id")
        .or_else(|| ids("models", field))
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

/// Every model the gateway can name, with who owns it: route aliases first, then
/// each enabled upstream's catalog.
async fn entries(state: &AppState, snap: &Snapshot) -> Vec<(String, String)> {
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
    entries
}

/// The model list, shaped for `format`.
pub async fn list(state: &AppState, snap: &Snapshot, format: ApiFormat) -> Value {
    let entries = entries(state, snap).await;
    match format {
        ApiFormat::Gemini => json!({
            "models": entries.iter().map(|(id, _)| gemini_model(id)).collect::<Vec<_>>(),
        }),
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

/// One model, shaped for `format`: one the gateway lists, or any model a route,
/// pattern or family sends somewhere. `None` when nothing serves it.
pub async fn info(state: &AppState, snap: &Snapshot, format: ApiFormat, id: &str) -> Option<Value> {
    let owner = match entries(state, snap)
        .await
        .into_iter()
        .find(|(m, _)| m == id)
    {
        Some((_, owner)) => owner,
        None => {
            let r = snap.router.resolve(&snap.config, id).ok()?;
            r.candidates.first()?.provider.to_string()
        }
    };
    Some(match format {
        ApiFormat::Gemini => gemini_model(id),
        ApiFormat::OpenAi => {
            json!({"id": id, "object": "model", "created": 0, "owned_by": owner})
        }
        ApiFormat::Anthropic => json!({
            "type": "model", "id": id, "display_name": id,
            "created_at": "1970-01-01T00:00:00Z",
        }),
    })
}

/// A model in Gemini's `Model` shape. Token limits are not known for every upstream,
/// so they are left out rather than guessed.
fn gemini_model(id: &str) -> Value {
    json!({
        "name": format!("models/{id}"),
        "baseModelId": id,
        "version": "",
        "displayName": id,
        "description": "",
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    })
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
