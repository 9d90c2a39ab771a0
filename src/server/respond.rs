//! Turning an upstream's answer into the client's: streamed through untouched when
//! both speak the same API; otherwise converted — SSE event by event, a JSON answer
//! once it is complete, an error into the client's error shape.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::accounting::Accounting;
use super::body::{AccessInfo, Completion, GatewayBody, Outcome};
use super::errors::GatewayError;
use super::proxy::{Inbound, RequestCtx};
use super::stats::UpstreamStats;
use super::translate::{self, Shape, StreamConverter};
use super::usage::{self, UsageSniffer};
use crate::config::{BreakerConfig, Upstream};
use crate::convert::gemini::Framing;
use crate::upstream::HOP_BY_HOP;

/// Largest complete answer converted in one piece.
const JSON_LIMIT: usize = 64 << 20;
/// Largest upstream error body read for conversion.
const ERROR_LIMIT: usize = 1 << 20;

pub(super) async fn respond(
    rc: &RequestCtx<'_>,
    inb: &Inbound<'_>,
    upstream: &Upstream,
    stats: Arc<UpstreamStats>,
    resp: Response<Incoming>,
    prefix: Option<Bytes>,
    breaker: BreakerConfig,
) -> Result<Response<GatewayBody>, GatewayError> {
    let status = resp.status();
    let (mut head, incoming) = resp.into_parts();
    strip_hop_headers(&mut head.headers);
    // The upstream's own id (Anthropic `request-id`, OpenAI `x-request-id`) goes in the
    // log line; the client's `x-request-id` is the gateway's.
    let upstream_request_id = ["request-id", super::handler::REQUEST_ID]
        .iter()
        .find_map(|n| head.headers.get(*n))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(128).collect::<String>());
    super::handler::set_request_id(&mut head.headers, rc.request_id);
    let ct = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_sse = ct
        .as_deref()
        .is_some_and(|c| c.starts_with("text/event-stream"));
    let mut done = Completion::new(
        AccessInfo {
            request_id: rc.request_id.to_string(),
            key: rc.caller.name.clone(),
            model: inb.model.clone(),
            upstream: upstream.name.clone(),
            status: status.as_u16(),
            started: rc.started,
            upstream_request_id,
        },
        stats,
        breaker,
        UsageSniffer::for_content_type(ct.as_deref()),
    )
    .with_accounting(Accounting::for_request(
        rc,
        &inb.model,
        Some((upstream, &inb.upstream_model)),
    ));
    let from = Shape::of_upstream(upstream);
    let to = inb.client_shape;
    let idle = rc.snap.client.idle_stream_timeout;
    // The ChatGPT backend only streams: a client that asked for one JSON answer gets
    // the stream folded into its final `response` (then converted as any answer).
    let fold_stream =
        upstream.is_chatgpt_subscription() && status.is_success() && is_sse && !inb.client_streams;

    if !fold_stream && (from == to || rc.endpoint.same_api_only()) {
        let sse = is_sse.then_some(rc.format);
        let body = GatewayBody::upstream(incoming, idle, done, sse, None).with_prefix(prefix);
        return Ok(Response::from_parts(head, body));
    }

    // From here on the body changes: its length and encoding are ours.
    head.headers.remove(header::CONTENT_LENGTH);
    head.headers.remove(header::CONTENT_ENCODING);
    if status.is_success() && is_sse && !fold_stream {
        let mut conv = StreamConverter::new(
            from,
            to,
            &translate::StreamCtx {
                client_model: &inb.model,
                include_usage: inb.include_usage,
                responses: inb.responses_ctx.as_ref(),
                gemini: inb.gemini_ctx(),
                framing: inb.framing,
            },
        );
        if let (Some(c), Some(req)) = (conv.as_mut(), keep_answer(inb, to)) {
            let store = rc.state.responses.clone();
            c.on_final(Box::new(move |answer| store.put(&req, answer)));
        }
        // Gemini's stream without `?alt=sse` is one JSON array, not SSE.
        let sse = if to == Shape::Gemini && inb.framing == Framing::JsonArray {
            head.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            None
        } else {
            Some(rc.format)
        };
        let body = GatewayBody::upstream(incoming, idle, done, sse, conv).with_prefix(prefix);
        return Ok(Response::from_parts(head, body));
    }

    let limit = if status.is_success() {
        JSON_LIMIT
    } else {
        ERROR_LIMIT
    };
    let bytes = match read_all(incoming, limit, idle).await {
        Ok(b) => match prefix {
            Some(p) if !p.is_empty() => Bytes::from([p, b].concat()),
            _ => b,
        },
        Err(e) => {
            done.finish(Outcome::UpstreamBroke(e.clone()));
            return Err(GatewayError::BadGateway(format!(
                "the upstream's answer could not be read: {e}"
            )));
        }
    };
    // A successful answer is parsed once: usage is read from the value that is converted.
    let answer = if status.is_success() {
        let parsed = if fold_stream {
            match crate::oauth::collect::collect(&bytes) {
                Ok(c) => Ok(c.response),
                Err(e) => {
                    done.finish(Outcome::UpstreamBroke(e.to_string()));
                    return Err(GatewayError::BadGateway(e.to_string()));
                }
            }
        } else {
            serde_json::from_slice::<serde_json::Value>(&bytes)
        };
        if let Ok(v) = &parsed {
            done.sniffer = UsageSniffer::Known(usage::of_value(v));
        }
        Some(parsed)
    } else {
        done.sniffer.observe(&bytes);
        None
    };
    done.finish(Outcome::Complete);
    let (status, value) = match answer {
        Some(parsed) => {
            let v = parsed.map_err(|e| {
                GatewayError::BadGateway(format!("the upstream sent invalid JSON: {e}"))
            })?;
            let cx = translate::AnswerCtx {
                client_model: &inb.model,
                responses: inb.responses_ctx.as_ref(),
                gemini: inb.gemini_ctx(),
            };
            let answer = translate::response_json(from, to, v, &cx)?;
            if let Some(req) = keep_answer(inb, to) {
                rc.state.responses.put(&req, &answer);
            }
            (StatusCode::OK, answer)
        }
        None => {
            let (s, v) = translate::error_json(to, status.as_u16(), &bytes);
            (
                StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY),
                v,
            )
        }
    };
    let body = serde_json::to_vec(&value).map_err(|e| GatewayError::Internal(e.to_string()))?;
    head.status = status;
    head.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(Response::from_parts(
        head,
        GatewayBody::full(Bytes::from(body)),
    ))
}

/// The (expanded) request whose converted Responses answer is kept for
/// `previous_response_id`, when it is to be kept.
fn keep_answer(inb: &Inbound<'_>, to: Shape) -> Option<serde_json::Value> {
    (to == Shape::Responses && inb.store_answer)
        .then(|| inb.json.clone())
        .flatten()
}

async fn read_all(body: Incoming, limit: usize, idle: Duration) -> Result<Bytes, String> {
    match tokio::time::timeout(idle, Limited::new(body, limit).collect()).await {
        Err(_) => Err(format!("no complete answer within {}s", idle.as_secs())),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

/// Response headers that belong to the upstream hop only (and `alt-svc`, which
/// names the upstream's alternatives, not ours).
pub fn strip_hop_headers(h: &mut HeaderMap) {
    for name in HOP_BY_HOP.iter().chain(&["alt-svc"]) {
        h.remove(*name);
    }
}
