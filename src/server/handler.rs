//! One request's way through the gateway: classify, authenticate, dispatch. Every
//! error is answered in the caller's API format.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use rand::Rng;
use serde_json::json;

use super::auth::authenticate;
use super::body::GatewayBody;
use super::errors::{GatewayError, json_response};
use super::format::{Endpoint, detect};
use super::state::AppState;
use super::{admin, models, proxy, websocket};
use crate::config::Permission;

pub fn new_request_id() -> String {
    let n: u64 = rand::rng().random();
    format!("req_{n:016x}")
}

/// The longest client `x-request-id` the gateway keeps.
const MAX_REQUEST_ID: usize = 128;

/// The request's id: the client's `x-request-id` when it is sane (1 to 128 visible
/// ASCII characters: safe in a header, a log line and the usage ledger), else a new one.
pub fn request_id_of(headers: &http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .map(|v| v.as_bytes())
        .filter(|b| {
            !b.is_empty() && b.len() <= MAX_REQUEST_ID && b.iter().all(|c| c.is_ascii_graphic())
        })
        .and_then(|b| std::str::from_utf8(b).ok())
        .map_or_else(new_request_id, str::to_string)
}

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// Put the request's id in `x-request-id` (answers, and requests sent upstream). Ids are
/// visible ASCII by construction ([`request_id_of`]); one that were not is left out.
pub fn set_request_id(headers: &mut http::HeaderMap, request_id: &str) {
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, v);
    }
}

pub async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, Infallible> {
    let started = Instant::now();
    let request_id = request_id_of(req.headers());
    // A browser's CORS preflight carries no key: answered from the config alone.
    if super::cors::is_preflight(req.method(), req.headers()) {
        let snap = state.snapshot();
        return Ok(super::cors::preflight(
            &snap.config.server.cors,
            req.headers(),
            &request_id,
        ));
    }
    let origin = req.headers().get(http::header::ORIGIN).cloned();
    let endpoint = Endpoint::classify(req.method(), req.uri().path());
    let format = detect(req.uri().path(), req.uri().query(), req.headers());
    // For the refusal log line; cloning a Uri only bumps reference counts.
    let method = req.method().clone();
    let uri = req.uri().clone();

    let result = dispatch(&state, endpoint, format, req, &request_id, started).await;
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(
                target: "llm_gateway::access",
                id = %request_id,
                method = %method,
                path = %uri.path(),
                status = e.status_for(format).as_u16(),
                ms = started.elapsed().as_millis() as u64,
                error = %e,
                "request refused"
            );
            e.into_response(format, &request_id)
        }
    };
    if origin.is_some() {
        let snap = state.snapshot();
        super::cors::decorate(&snap.config.server.cors, origin.as_ref(), &mut resp);
    }
    Ok(resp)
}

async fn dispatch(
    state: &Arc<AppState>,
    endpoint: Endpoint,
    format: super::format::ApiFormat,
    req: Request<Incoming>,
    request_id: &str,
    started: Instant,
) -> Result<Response<GatewayBody>, GatewayError> {
    if endpoint == Endpoint::Health {
        return Ok(json_response(
            StatusCode::OK,
            &json!({"status": "ok"}),
            request_id,
        ));
    }
    if endpoint == Endpoint::Unknown {
        return Err(GatewayError::NotFound(format!(
            "{} {} is not an endpoint of this gateway (try POST /v1/messages, POST \
             /v1/chat/completions, POST /v1/responses or POST \
             /v1beta/models/MODEL:generateContent; the dashboard is GET /ui)",
            req.method(),
            req.uri().path()
        )));
    }
    if endpoint == Endpoint::Ui {
        let path = req.uri().path().trim_end_matches('/');
        return super::ui::serve(path, request_id).map_or_else(unreachable_endpoint, Ok);
    }
    let snap = state.snapshot();
    if endpoint == Endpoint::Metrics {
        // Open on a loopback listener; beyond it, an admin key unless the config says
        // the metrics are public.
        if !(state.listen.ip().is_loopback() || snap.config.metrics.public) {
            authenticate(state, &snap, req.headers(), req.uri().query())?
                .require(Permission::Admin)?;
        }
        return Ok(admin::metrics(&snap, request_id));
    }
    let caller = authenticate(state, &snap, req.headers(), req.uri().query())?;
    match endpoint {
        Endpoint::Models => {
            caller.require(Permission::Read)?;
            if models::is_codex(&req) {
                return Ok(json_response(
                    StatusCode::OK,
                    &models::codex_catalog(),
                    request_id,
                ));
            }
            let body = models::list(state, &snap, format).await;
            Ok(json_response(StatusCode::OK, &body, request_id))
        }
        Endpoint::ModelInfo => {
            caller.require(Permission::Read)?;
            let id = super::format::model_info(req.uri().path()).unwrap_or_default();
            match models::info(state, &snap, format, &id).await {
                Some(v) => Ok(json_response(StatusCode::OK, &v, request_id)),
                None => Err(GatewayError::ModelNotFound(format!(
                    "model {id:?} is not served by this gateway (GET /v1/models lists them)"
                ))),
            }
        }
        Endpoint::AdminStatus => {
            caller.require(Permission::Admin)?;
            Ok(json_response(
                StatusCode::OK,
                &admin::status(state, &snap),
                request_id,
            ))
        }
        Endpoint::AdminLedger => {
            caller.require(Permission::Admin)?;
            let view = admin::LedgerView::parse(req.uri())?;
            let body = admin::ledger_view(state, &snap, view).await?;
            Ok(json_response(StatusCode::OK, &body, request_id))
        }
        Endpoint::AdminHealth => {
            caller.require(Permission::Admin)?;
            Ok(json_response(
                StatusCode::OK,
                &admin::health(&snap).await,
                request_id,
            ))
        }
        Endpoint::ResponsesSocket => {
            caller.require(Permission::Write)?;
            websocket::accept(state, &caller, req, request_id)
        }
        Endpoint::CountTokens
        | Endpoint::Messages
        | Endpoint::ChatCompletions
        | Endpoint::Completions
        | Endpoint::Responses
        | Endpoint::ResponsesInputTokens
        | Endpoint::ResponsesCompact
        | Endpoint::GeminiGenerate
        | Endpoint::GeminiStream
        | Endpoint::GeminiCountTokens => {
            caller.require(if endpoint.is_count() {
                Permission::Read
            } else {
                Permission::Write
            })?;
            let recorded = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let rc = proxy::RequestCtx {
                state,
                recorded: &recorded,
                snap: &snap,
                caller: &caller,
                format,
                endpoint,
                request_id,
                started,
            };
            proxy::forward(&rc, req).await
        }
        Endpoint::Health | Endpoint::Metrics | Endpoint::Ui | Endpoint::Unknown => {
            unreachable_endpoint()
        }
    }
}

fn unreachable_endpoint() -> Result<Response<GatewayBody>, GatewayError> {
    Err(GatewayError::Internal("unroutable endpoint".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_for(v: &[u8]) -> String {
        let mut h = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_bytes(v) {
            h.insert(REQUEST_ID, v);
        }
        request_id_of(&h)
    }

    #[test]
    fn client_ids_are_kept_when_sane() {
        assert_eq!(id_for(b"abc-123/x:y"), "abc-123/x:y");
        assert_eq!(id_for(&[b'a'; 128]), "a".repeat(128));
        for odd in [
            &b""[..],
            &[b'a'; 129],
            b"two words",
            b"tab\there",
            "é".as_bytes(),
        ] {
            let id = id_for(odd);
            assert!(
                id.starts_with("req_") && id.len() == 20,
                "{odd:?} gave {id}"
            );
        }
        assert_ne!(request_id_of(&http::HeaderMap::new()), new_request_id());
    }
}
