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

pub async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, Infallible> {
    let started = Instant::now();
    let request_id = new_request_id();
    let endpoint = Endpoint::classify(req.method(), req.uri().path());
    let format = detect(req.uri().path(), req.headers());
    // For the refusal log line; cloning a Uri only bumps reference counts.
    let method = req.method().clone();
    let uri = req.uri().clone();

    let result = dispatch(&state, endpoint, format, req, &request_id, started).await;
    let resp = match result {
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
            "{} {} is not an endpoint of this gateway (try POST /v1/messages or POST \
             /v1/chat/completions)",
            req.method(),
            req.uri().path()
        )));
    }
    let snap = state.snapshot();
    let caller = authenticate(state, &snap, req.headers())?;
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
        Endpoint::AdminStatus => {
            caller.require(Permission::Admin)?;
            Ok(json_response(
                StatusCode::OK,
                &admin::status(state, &snap),
                request_id,
            ))
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
        | Endpoint::ResponsesCompact => {
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
        Endpoint::Health | Endpoint::Unknown => unreachable_endpoint(),
    }
}

fn unreachable_endpoint() -> Result<Response<GatewayBody>, GatewayError> {
    Err(GatewayError::Internal("unroutable endpoint".into()))
}
