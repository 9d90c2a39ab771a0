//! Forwarding an inference request: read the body (bounded), find the model, pick an
//! upstream, send the bytes as received with the upstream's credentials, and stream
//! the answer back as it arrives.

use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::auth::Caller;
use super::body::{AccessInfo, Completion, GatewayBody};
use super::errors::GatewayError;
use super::format::{ApiFormat, Endpoint};
use super::state::{AppState, Snapshot};
use super::usage::UsageSniffer;
use crate::config::{Provider, Upstream};
use crate::router::NoRoute;
use crate::upstream::{UpstreamError, authenticate, error_chain, is_hop_or_owned, upstream_uri};

/// What a request carries through the pipeline once it is authenticated.
#[derive(Clone, Copy)]
pub struct RequestCtx<'a> {
    pub state: &'a AppState,
    pub snap: &'a Snapshot,
    pub caller: &'a Caller,
    pub format: ApiFormat,
    pub endpoint: Endpoint,
    pub request_id: &'a str,
    pub started: Instant,
}

/// The few request fields the gateway needs; the rest of the body is not touched.
#[derive(Deserialize)]
struct Meta {
    model: Option<String>,
    #[serde(flatten)]
    _rest: IgnoredAny,
}

/// Read the whole request body, up to the configured limit.
pub async fn read_body(body: Incoming, limit: usize, limit_mb: u64) -> Result<Bytes, GatewayError> {
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(GatewayError::TooLarge(limit_mb))
        }
        Err(e) => Err(GatewayError::BadRequest(format!(
            "could not read the request body: {e}"
        ))),
    }
}

/// The provider whose API a client format is.
pub fn provider_of(format: ApiFormat) -> Provider {
    match format {
        ApiFormat::Anthropic => Provider::Anthropic,
        ApiFormat::OpenAi => Provider::Openai,
    }
}

pub fn no_route_error(e: NoRoute) -> GatewayError {
    match e {
        NoRoute::NoUpstreams => GatewayError::Unavailable(
            "no upstream is configured; add one with `llm-gateway upstream add --type api-key \
             --provider anthropic|openai --name NAME --key -`"
                .into(),
        ),
        NoRoute::Unknown(m) => GatewayError::ModelNotFound(format!(
            "no upstream serves model {m:?}: it is not a claude-*/gpt-*/o* family model and no \
             route or upstream --models pattern matches it (see `llm-gateway route add`)"
        )),
        NoRoute::AllDisabled(m) => GatewayError::Unavailable(format!(
            "every upstream that serves model {m:?} is disabled (`llm-gateway upstream enable ID`)"
        )),
    }
}

/// Forward an inference request (`/v1/messages`, `/v1/messages/count_tokens`,
/// `/v1/chat/completions`) to an upstream of the client's own format.
pub async fn forward(
    rc: &RequestCtx<'_>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, GatewayError> {
    let RequestCtx {
        state,
        snap,
        caller,
        format,
        endpoint,
        request_id,
        started,
    } = *rc;
    let (parts, body) = req.into_parts();
    let body = read_body(body, snap.body_limit, snap.config.server.body_limit_mb).await?;
    let meta: Meta = serde_json::from_slice(&body)
        .map_err(|e| GatewayError::BadRequest(format!("request body is not valid JSON: {e}")))?;
    let model = meta
        .model
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GatewayError::BadRequest("`model` is required".into()))?;

    let resolution = snap
        .router
        .resolve(&snap.config, &model)
        .map_err(no_route_error)?;
    let wanted = provider_of(format);
    let candidates: Vec<&Upstream> = resolution
        .candidates
        .iter()
        .copied()
        .filter(|u| u.provider == wanted)
        .collect();
    if candidates.is_empty() && endpoint == Endpoint::CountTokens {
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            GatewayError::BadRequest(format!("request body is not valid JSON: {e}"))
        })?;
        let n = super::tokens::estimate(&v);
        return Ok(super::errors::json_response(
            http::StatusCode::OK,
            &serde_json::json!({ "input_tokens": n }),
            request_id,
        ));
    }
    if candidates.is_empty() {
        return Err(GatewayError::BadRequest(format!(
            "model {model:?} is served only by {} upstreams, and this build does not convert \
             between the Anthropic and OpenAI APIs; call it with the {} API instead",
            resolution.candidates[0].provider, resolution.candidates[0].provider
        )));
    }
    let body = if resolution.upstream_model != model {
        rewrite_model(&body, &resolution.upstream_model)?
    } else {
        body
    };

    let path = parts.uri.path().trim_end_matches('/');
    let query = parts.uri.query();
    let mut last_error = None;
    for upstream in candidates
        .iter()
        .take(snap.config.routing.max_attempts.max(1) as usize)
    {
        let stats = state.upstream_stats(&upstream.id);
        let uri = upstream_uri(upstream, path, query)
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        let mut out = Request::builder()
            .method(parts.method.clone())
            .uri(uri)
            .body(Full::new(body.clone()))
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        copy_request_headers(&parts.headers, out.headers_mut());
        authenticate(upstream, out.headers_mut());

        stats.start();
        let sent = Instant::now();
        match snap.client.send(out).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                stats.answered(status, sent.elapsed().as_millis() as u64);
                let (mut head, incoming) = resp.into_parts();
                strip_hop_headers(&mut head.headers);
                let ct = head
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                let done = Completion::new(
                    AccessInfo {
                        request_id: request_id.to_string(),
                        key: caller.name.clone(),
                        model: model.clone(),
                        upstream: upstream.name.clone(),
                        status,
                        started,
                    },
                    stats.clone(),
                    UsageSniffer::for_content_type(ct),
                );
                if let Ok(v) = HeaderValue::from_str(request_id) {
                    head.headers.insert("x-gateway-request-id", v);
                }
                let body = GatewayBody::upstream(incoming, snap.client.idle_stream_timeout, done);
                return Ok(Response::from_parts(head, body));
            }
            Err(e) => {
                stats.failed(&e.to_string());
                stats.end();
                tracing::warn!(id = %request_id, upstream = %upstream.name, "upstream failed: {}", error_chain(&e));
                last_error = Some(e);
            }
        }
    }
    Err(match last_error {
        Some(UpstreamError::Timeout(d)) => GatewayError::Timeout(format!(
            "the upstream did not answer within {}s",
            d.as_secs()
        )),
        Some(UpstreamError::Connect(_)) => {
            GatewayError::BadGateway("could not connect to the upstream".into())
        }
        _ => GatewayError::BadGateway("the upstream connection failed".into()),
    })
}

/// Replace the `model` field, keeping every other field as sent.
fn rewrite_model(body: &[u8], model: &str) -> Result<Bytes, GatewayError> {
    let mut v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| {
            GatewayError::BadRequest(format!("request body must be a JSON object: {e}"))
        })?;
    v.insert("model".into(), serde_json::Value::String(model.into()));
    serde_json::to_vec(&v)
        .map(Bytes::from)
        .map_err(|e| GatewayError::Internal(e.to_string()))
}

/// Client headers that go upstream: all but hop-by-hop ones, credentials (replaced
/// later) and `accept-encoding` (the gateway reads usage from the answer, so it asks
/// for it uncompressed).
pub fn copy_request_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if is_hop_or_owned(name)
            || name == header::ACCEPT_ENCODING
            || name == header::AUTHORIZATION
            || name == "x-api-key"
        {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
    if !to.contains_key(header::CONTENT_TYPE) {
        to.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
}

/// Response headers that belong to the upstream hop only.
pub fn strip_hop_headers(h: &mut HeaderMap) {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "trailer",
        "te",
        "alt-svc",
    ] {
        h.remove(name);
    }
}
