//! Forwarding an inference request: read the body (bounded), find the model, pick an
//! upstream, send the bytes as received (or converted, when the upstream speaks the
//! other API) with the upstream's credentials; `respond` streams the answer back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Deserialize;

use super::auth::Caller;
use super::body::GatewayBody;
use super::credentials;
use super::errors::GatewayError;
use super::format::{ApiFormat, Endpoint};
use super::respond::respond;
use super::state::{AppState, Snapshot};
use super::stats::UpstreamStats;
use super::stream_peek::{self, EarlyFailure};
use super::translate::{self, Converted, Shape};
use crate::config::{AuthType, OAuthTokens, Upstream};
use crate::convert::gemini::{Framing, GeminiCtx};
use crate::convert::responses::ResponsesCtx;
use crate::oauth::refresh::When;
use crate::oauth::{chatgpt, shaping};
use crate::router::breaker::Permit;
use crate::router::health::Availability;
use crate::router::{NoRoute, ratelimit, select};
use crate::upstream::{UpstreamError, authenticate, error_chain, is_hop_or_owned, upstream_uri};

/// What a request carries through the pipeline once it is authenticated.
#[derive(Clone, Copy)]
pub struct RequestCtx<'a> {
    pub state: &'a AppState,
    /// Set once the request's usage row is written (by the body that ends it).
    pub recorded: &'a Arc<std::sync::atomic::AtomicBool>,
    pub snap: &'a Snapshot,
    pub caller: &'a Caller,
    pub format: ApiFormat,
    pub endpoint: Endpoint,
    pub request_id: &'a str,
    pub started: Instant,
}

/// The few request fields the gateway needs. Every other field is skipped by the
/// parser without being built (no `flatten` here: it would buffer them all).
#[derive(Deserialize)]
struct Meta {
    model: Option<String>,
    /// Anthropic: `metadata.user_id` (Claude Code puts its session id there).
    metadata: Option<MetaUser>,
    /// OpenAI: `user`.
    user: Option<serde_json::Value>,
    stream_options: Option<StreamOptions>,
    /// Whether the client asked for a stream.
    stream: Option<bool>,
    /// Responses: a conversation continued by id, and whether to keep this turn.
    previous_response_id: Option<String>,
    store: Option<bool>,
    /// Responses: the client's cache key, which also names its conversation.
    prompt_cache_key: Option<String>,
}

#[derive(Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct MetaUser {
    user_id: Option<serde_json::Value>,
}

impl Meta {
    /// What identifies a conversation, for sticky sessions.
    fn session(&self) -> Option<String> {
        if let Some(k) = self.prompt_cache_key.as_deref().filter(|k| !k.is_empty()) {
            return Some(k.to_string());
        }
        let v = self
            .metadata
            .as_ref()
            .and_then(|m| m.user_id.as_ref())
            .or(self.user.as_ref())?;
        v.as_str().filter(|s| !s.is_empty()).map(String::from)
    }
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

pub fn no_route_error(e: NoRoute) -> GatewayError {
    match e {
        NoRoute::NoUpstreams => GatewayError::Unavailable(
            "no upstream is configured; add one with `llm-gateway upstream add --type api-key \
             --provider anthropic|openai|gemini --name NAME --key -`"
                .into(),
        ),
        NoRoute::Unknown(m) => GatewayError::ModelNotFound(format!(
            "no upstream serves model {m:?}: it is not a claude-*/gpt-*/o*/gemini-* family model and no \
             route or upstream --models pattern matches it (see `llm-gateway route add`)"
        )),
        NoRoute::AllDisabled(m) => GatewayError::Unavailable(format!(
            "every upstream that serves model {m:?} is disabled (`llm-gateway upstream enable ID`)"
        )),
    }
}

/// Forward an inference request (`/v1/messages`, `/v1/messages/count_tokens`,
/// `/v1/chat/completions`, `/v1/completions`) to the best upstream that serves the
/// model — converting between the APIs when it speaks the other one — failing over to
/// the next one while no byte has reached the client.
pub async fn forward(
    rc: &RequestCtx<'_>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, GatewayError> {
    let snap = rc.snap;
    let (parts, body) = req.into_parts();
    let body = read_body(body, snap.body_limit, snap.config.server.body_limit_mb).await?;
    forward_parts(rc, parts, body).await
}

/// [`forward`] for a request already read: its head and its body. The WebSocket
/// mode of the Responses API sends each `response.create` frame through here.
pub async fn forward_parts(
    rc: &RequestCtx<'_>,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<Response<GatewayBody>, GatewayError> {
    let endpoint = rc.endpoint;
    let mut meta: Meta = serde_json::from_slice(&body)
        .map_err(|e| GatewayError::BadRequest(format!("request body is not valid JSON: {e}")))?;
    // Gemini clients name the model, and ask for a stream, in the URL.
    let model = if endpoint.client_shape() == Shape::Gemini {
        meta.stream = Some(endpoint == Endpoint::GeminiStream);
        super::format::gemini_call(parts.uri.path())
            .map(|(_, m, _)| m)
            .ok_or_else(|| GatewayError::BadRequest("the URL names no model".into()))?
    } else {
        meta.model
            .clone()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| GatewayError::BadRequest("`model` is required".into()))?
    };

    // From here on the request counts: it gets a usage row however it ends (a body
    // that reached the client writes its own when it ends).
    let result = route(rc, parts, body, meta, &model).await;
    if let Err(e) = &result
        && !rc.recorded.load(std::sync::atomic::Ordering::Relaxed)
        && !endpoint.is_count()
    {
        super::accounting::Accounting::for_request(rc, &model, None).record_refusal(rc, e);
    }
    result
}

/// Check the key's limits, pick upstreams, and send (see [`forward`]).
async fn route(
    rc: &RequestCtx<'_>,
    parts: http::request::Parts,
    body: Bytes,
    meta: Meta,
    model: &str,
) -> Result<Response<GatewayBody>, GatewayError> {
    let RequestCtx {
        snap,
        endpoint,
        request_id,
        ..
    } = *rc;
    let model = model.to_string();
    // The key's limits, budget and model list, before anything is sent upstream.
    if !endpoint.is_count() {
        let now = std::time::SystemTime::now();
        match &rc.state.shared {
            None => {
                snap.limiter
                    .check(&rc.caller.id, &model, now)
                    .map_err(GatewayError::from)?;
            }
            Some(shared) => {
                shared
                    .check(&snap.limiter, &rc.caller.id, &model, now)
                    .await
                    .map_err(|e| match e {
                        crate::shared::CheckError::Refused(r) => GatewayError::from(r),
                        crate::shared::CheckError::Unavailable(m) => GatewayError::Unavailable(m),
                    })?;
            }
        }
    }

    let resolution = snap
        .router
        .resolve(&snap.config, &model)
        .map_err(no_route_error)?;
    let client_shape = endpoint.client_shape();
    // Token counts and compaction are served by upstreams of the client's own API
    // only; token counts without one are estimated here.
    let same_api_only = endpoint.same_api_only();
    let mut candidates: Vec<&Upstream> = resolution
        .candidates
        .iter()
        .copied()
        .filter(|u| !same_api_only || Shape::of_upstream(u) == client_shape)
        .collect();
    // A Responses conversation continued by id: from the gateway's own store when it
    // answered the previous turn by conversion; else only a Responses upstream knows it.
    let previous = match &meta.previous_response_id {
        Some(id) if client_shape == Shape::Responses && !same_api_only => {
            let stored = rc.state.responses.get(id);
            if stored.is_none() {
                candidates.retain(|u| Shape::of_upstream(u) == Shape::Responses);
                if candidates.is_empty() {
                    return Err(GatewayError::BadRequest(format!(
                        "previous_response_id {id:?} is unknown: the gateway keeps converted \
                         responses for {} minutes (and only those sent with `store` not false)",
                        super::responses_store::TTL.as_secs() / 60
                    )));
                }
            }
            stored
        }
        _ => None,
    };
    if candidates.is_empty() {
        return match endpoint {
            Endpoint::CountTokens
            | Endpoint::ResponsesInputTokens
            | Endpoint::GeminiCountTokens => count_here(endpoint, &body, &model, request_id),
            _ => Err(GatewayError::BadRequest(format!(
                "POST /v1/responses/compact needs an upstream that speaks the Responses API \
                 for model {model:?} (`llm-gateway upstream add --provider openai --api \
                 responses ...`)"
            ))),
        };
    }
    // The parsed body, only when some candidate needs a converted one (or a Responses
    // answer needs the request's tools and parameters).
    let converting = candidates
        .iter()
        .any(|u| Shape::of_upstream(u) != client_shape);
    let mut json = if converting {
        Some(
            serde_json::from_slice::<serde_json::Value>(&body).map_err(|e| {
                GatewayError::BadRequest(format!("request body is not valid JSON: {e}"))
            })?,
        )
    } else {
        None
    };
    let responses_ctx = match (&json, client_shape) {
        (Some(v), Shape::Responses) => Some(ResponsesCtx::of_request(v, &model)),
        _ => None,
    };
    if let (Some(v), Some(prev)) = (json.as_mut(), &previous) {
        super::responses_store::prepend_history(v, prev);
    }
    // Renamed for candidates of the client's own API only; converted bodies carry the
    // upstream model already.
    let any_same_shape = candidates
        .iter()
        .any(|u| Shape::of_upstream(u) == client_shape);
    // (Gemini bodies name no model: the URL does.)
    let same_shape_body =
        if resolution.upstream_model != model && any_same_shape && client_shape != Shape::Gemini {
            rewrite_model(&body, &resolution.upstream_model)?
        } else {
            body
        };
    let inbound = Inbound {
        parts: &parts,
        body: same_shape_body,
        json,
        converted: Default::default(),
        client_shape,
        client_query: super::format::without_key(parts.uri.query()),
        responses_ctx,
        store_answer: client_shape == Shape::Responses && meta.store != Some(false),
        client_streams: meta.stream == Some(true),
        upstream_model: resolution.upstream_model.clone(),
        // Gemini clients always get usage (`usageMetadata` on every chunk).
        include_usage: client_shape == Shape::Gemini
            || meta
                .stream_options
                .as_ref()
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
        framing: if super::format::wants_sse(parts.uri.query()) {
            Framing::Sse
        } else {
            Framing::JsonArray
        },
        session: meta.session(),
        model,
    };
    attempt_all(rc, &inbound, &candidates).await
}

/// Token counts estimated here, when no upstream of the client's API can count.
fn count_here(
    endpoint: Endpoint,
    body: &[u8],
    model: &str,
    request_id: &str,
) -> Result<Response<GatewayBody>, GatewayError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| GatewayError::BadRequest(format!("request body is not valid JSON: {e}")))?;
    let answer = if endpoint == Endpoint::GeminiCountTokens {
        // `{"contents": ...}` or `{"generateContentRequest": {...}}`.
        let inner = v.get("generateContentRequest").unwrap_or(&v);
        let (chat, _) = crate::convert::gemini::gemini_to_chat_request(inner, model, false)?;
        serde_json::json!({"totalTokens": super::tokens::estimate_chat(&chat)})
    } else if endpoint == Endpoint::ResponsesInputTokens {
        let chat = crate::convert::responses::responses_to_chat_request(
            &v,
            &crate::convert::RequestOptions::default(),
        )?;
        let n = super::tokens::estimate_chat(&chat);
        serde_json::json!({"object": "response.input_tokens", "input_tokens": n})
    } else {
        serde_json::json!({ "input_tokens": super::tokens::estimate(&v) })
    };
    Ok(super::errors::json_response(
        http::StatusCode::OK,
        &answer,
        request_id,
    ))
}

/// The client's request, read and parsed once, reused for every attempt.
pub(super) struct Inbound<'a> {
    pub parts: &'a http::request::Parts,
    /// The body for an upstream of the client's own shape (model renamed if routed so).
    pub body: Bytes,
    /// The parsed body, when some candidate speaks the other API.
    pub json: Option<serde_json::Value>,
    /// Converted bodies, made on first use: [for Messages, Chat, Responses, Gemini].
    converted: [std::sync::OnceLock<Result<Converted, String>>; 4],
    pub client_shape: Shape,
    /// The client's query string, without a `key=` parameter.
    pub client_query: Option<String>,
    /// For Gemini clients: how a stream is framed (`?alt=sse` or the JSON array).
    pub framing: Framing,
    /// For Responses clients: what a converted answer needs of the request.
    pub responses_ctx: Option<ResponsesCtx>,
    /// Keep a converted Responses answer for `previous_response_id`.
    pub store_answer: bool,
    /// The client asked for a stream (a stream-only upstream's answer is folded into
    /// one JSON answer otherwise).
    pub client_streams: bool,
    pub model: String,
    pub upstream_model: String,
    pub include_usage: bool,
    pub session: Option<String>,
}

fn slot(to: Shape) -> usize {
    match to {
        Shape::Messages => 0,
        Shape::Chat | Shape::Completions => 1,
        Shape::Responses => 2,
        Shape::Gemini => 3,
    }
}

impl Inbound<'_> {
    /// The body for an upstream of shape `to`, and whether it was converted.
    fn body_for(&self, to: Shape, endpoint: Endpoint) -> Result<(Bytes, bool), GatewayError> {
        if to == self.client_shape || endpoint.same_api_only() {
            return Ok((self.body.clone(), false));
        }
        let made = self.converted[slot(to)].get_or_init(|| match &self.json {
            Some(v) => {
                let req = translate::ClientRequest {
                    model: &self.model,
                    stream: self.client_streams,
                };
                translate::request_body(self.client_shape, to, v, &self.upstream_model, req)
                    .map_err(|e| e.to_string())
            }
            None => Err("request body was not parsed".into()),
        });
        match made {
            Ok(c) => Ok((c.body.clone(), true)),
            Err(e) => Err(GatewayError::BadRequest(e.clone())),
        }
    }

    /// What converting the request for a Gemini upstream learned (renamed functions).
    pub fn gemini_ctx(&self) -> Option<&GeminiCtx> {
        self.converted[slot(Shape::Gemini)]
            .get()
            .and_then(|r| r.as_ref().ok())
            .and_then(|c| c.gemini.as_ref())
    }
}

/// Why a candidate was not tried, for the "nothing can serve" message.
enum Skipped {
    Open(Option<tokio::time::Instant>),
    Cooling(tokio::time::Instant),
    NeedsLogin,
}

/// Try candidates in selection order until one answers usefully.
async fn attempt_all(
    rc: &RequestCtx<'_>,
    inb: &Inbound<'_>,
    candidates: &[&Upstream],
) -> Result<Response<GatewayBody>, GatewayError> {
    let RequestCtx {
        state,
        snap,
        request_id,
        ..
    } = *rc;
    let cfg = &snap.config;
    let breaker_cfg = cfg.breaker;
    let now = tokio::time::Instant::now();
    let deadline = now + Duration::from_secs(cfg.routing.total_deadline_secs.max(1));
    let mut sticky = cfg
        .routing
        .sticky_sessions
        .then(|| {
            inb.session
                .as_deref()
                .and_then(|s| state.session_upstream(s))
        })
        .flatten();
    // Team mode: a conversation another instance served stays on its account.
    if sticky.is_none()
        && cfg.routing.sticky_sessions
        && let (Some(shared), Some(s)) = (&state.shared, inb.session.as_deref())
    {
        sticky = shared.session(s).await;
        if let Some(id) = &sticky {
            state.remember_session(s, id);
        }
    }

    // Who can take a request now, and in which order to try them.
    let mut ready = Vec::new();
    let mut skipped = Vec::new();
    for (i, u) in candidates.iter().enumerate() {
        let Some(stats) = snap.stats(&u.id) else {
            continue;
        };
        if u.auth_type == AuthType::OAuth && u.oauth.as_ref().is_none_or(|t| t.needs_login) {
            skipped.push((*u, Skipped::NeedsLogin));
            continue;
        }
        let mut h = stats.health();
        match h.availability(now) {
            Availability::Ready => ready.push(select::Candidate {
                index: i,
                priority: u.priority,
                weight: u.weight,
                error_ratio: h.breaker.error_ratio(now),
                ewma_ms: h.ewma_ms(),
                in_flight: stats.in_flight.load(std::sync::atomic::Ordering::Relaxed),
                sticky: sticky.as_deref() == Some(u.id.as_str()),
                auth_failed: h.auth_failed,
            }),
            Availability::Open { until } => skipped.push((*u, Skipped::Open(until))),
            Availability::Cooling { until } => skipped.push((*u, Skipped::Cooling(until))),
        }
    }
    let turn = state
        .turn
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let order = select::order(ready, cfg.routing.strategy, turn, &mut rand::rng());

    let path = inb.parts.uri.path().trim_end_matches('/');
    let query = inb.client_query.as_deref();
    let mut last_response: Option<(Response<Incoming>, &Upstream, Option<Bytes>)> = None;
    let mut last_error: Option<UpstreamError> = None;
    let mut attempts = 0;
    for i in order {
        if attempts >= cfg.routing.max_attempts.max(1) {
            break;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            break;
        }
        let upstream = candidates[i];
        let Some(stats) = snap.stats(&upstream.id).cloned() else {
            continue;
        };
        let permit = stats.health().breaker.acquire(now);
        if permit == Permit::Denied {
            continue; // another request holds the half-open probe
        }
        // If this request is cancelled (the client went away) before an outcome is
        // recorded, the probe slot must not stay taken.
        let _probe = ProbeGuard {
            stats: (permit == Permit::Probe).then(|| stats.clone()),
        };
        attempts += 1;
        // Subscription tokens: refreshed first when about to expire; refreshed once
        // and retried when the upstream refuses them.
        let mut tokens = upstream.oauth.clone();
        if tokens.as_ref().is_some_and(expiring) {
            tokens = fresh_tokens(state, upstream, &tokens, When::NearExpiry).await;
        }
        let mut refreshed_after_401 = false;
        loop {
            let mut out = build_request(upstream, tokens.as_ref(), inb, rc.endpoint, path, query)?;
            // The same id upstream, so both sides' logs can be joined.
            super::handler::set_request_id(out.headers_mut(), rc.request_id);
            let in_flight = InFlight::new(&stats);
            let sent = Instant::now();
            let total = Duration::from_secs(cfg.routing.total_deadline_secs);
            let result = snap.client.send_before(out, Some((deadline, total))).await;
            let now = tokio::time::Instant::now();
            let resp = match result {
                Ok(resp) => resp,
                Err(e) => {
                    stats.failed(&e.to_string());
                    stats.health().failure(now, &breaker_cfg);
                    drop(in_flight);
                    tracing::warn!(id = %request_id, upstream = %upstream.name, "upstream failed: {}", error_chain(&e));
                    last_error = Some(e);
                    break;
                }
            };
            let status = resp.status().as_u16();
            let latency = sent.elapsed();
            stats.answered(status, latency.as_millis() as u64);
            let mut verdict = classify(status);
            // Gemini refuses a bad key with a 400 (`API_KEY_INVALID`), not a 401.
            let gemini_400 = status == 400 && Shape::of_upstream(upstream) == Shape::Gemini;
            // A stream that reports overload or a rate limit before any output is a
            // failure like an HTTP 529 or 429: look at its start first.
            let (resp, prefix) = if gemini_400 {
                let (head, mut body) = resp.into_parts();
                let until = deadline.min(now + Duration::from_secs(5));
                let start = stream_peek::read_start(&mut body, 64 << 10, until).await;
                if start.windows(15).any(|w| w == b"API_KEY_INVALID") {
                    verdict = Verdict::AuthRefused;
                }
                (Response::from_parts(head, body), Some(start))
            } else if matches!(verdict, Verdict::Serve) && peeks(upstream, &resp) {
                let (head, mut body) = resp.into_parts();
                let wait = stream_peek::PEEK_TIME.min(snap.client.idle_stream_timeout);
                let until = deadline.min(now + wait);
                let (read, failure) = stream_peek::peek(&mut body, until).await;
                match failure {
                    Some(EarlyFailure::RateLimited(rest)) => verdict = Verdict::RestFor(rest),
                    Some(EarlyFailure::Overloaded(why)) => {
                        tracing::warn!(id = %request_id, upstream = %upstream.name, "{why}");
                        verdict = Verdict::Failed;
                    }
                    None => {}
                }
                (Response::from_parts(head, body), Some(read))
            } else {
                (resp, None)
            };
            let now = tokio::time::Instant::now();
            match verdict {
                Verdict::Serve => {
                    stats.health().success(now, &breaker_cfg, latency);
                    if let Some(s) = &inb.session
                        && state.remember_session(s, &upstream.id)
                        && let Some(shared) = &state.shared
                    {
                        shared.publish_session(s, &upstream.id);
                    }
                    in_flight.hand_over();
                    return respond(rc, inb, upstream, stats, resp, prefix, breaker_cfg).await;
                }
                Verdict::ReturnAsIs => {
                    // The request's own fault (400, 404, 413...): the upstream is fine.
                    stats.health().success(now, &breaker_cfg, latency);
                    in_flight.hand_over();
                    return respond(rc, inb, upstream, stats, resp, prefix, breaker_cfg).await;
                }
                Verdict::RateLimited => {
                    let rest = ratelimit::cooldown(resp.headers(), std::time::SystemTime::now());
                    stats.health().cool_down(now, rest);
                    if let Some(s) = &state.shared {
                        s.publish_cooldown(&upstream.id, rest);
                    }
                    tracing::info!(id = %request_id, upstream = %upstream.name, "rate limited; resting {}s", rest.as_secs());
                }
                Verdict::RestFor(rest) => {
                    stats.health().cool_down(now, rest);
                    if let Some(s) = &state.shared {
                        s.publish_cooldown(&upstream.id, rest);
                    }
                    tracing::info!(id = %request_id, upstream = %upstream.name, "rate limited inside its stream; resting {}ms", rest.as_millis());
                }
                Verdict::AuthRefused if tokens.is_some() && !refreshed_after_401 => {
                    refreshed_after_401 = true;
                    let before = tokens.as_ref().map(|t| t.access_token.clone());
                    tokens = fresh_tokens(state, upstream, &tokens, When::Refused).await;
                    if tokens.as_ref().map(|t| &t.access_token) != before.as_ref() {
                        drop(in_flight);
                        continue; // retry this upstream with the new token
                    }
                    let mut h = stats.health();
                    h.auth_failed = true;
                    h.breaker.release_probe();
                }
                Verdict::AuthRefused => {
                    let mut h = stats.health();
                    h.auth_failed = true;
                    h.breaker.release_probe();
                    tracing::warn!(id = %request_id, upstream = %upstream.name, "upstream refused our credentials (HTTP {status})");
                }
                Verdict::Failed => {
                    stats.health().failure(now, &breaker_cfg);
                    tracing::warn!(id = %request_id, upstream = %upstream.name, "upstream failed with HTTP {status}");
                }
            }
            drop(in_flight);
            last_response = Some((resp, upstream, prefix));
            break;
        }
    }

    // Nothing served. The last upstream answer, if there was one, goes back as it is.
    if let Some((resp, upstream, prefix)) = last_response
        && let Some(stats) = snap.stats(&upstream.id).cloned()
    {
        stats.resume();
        return respond(rc, inb, upstream, stats, resp, prefix, breaker_cfg).await;
    }
    Err(match last_error {
        Some(UpstreamError::Timeout(d)) => GatewayError::Timeout(format!(
            "the upstream did not answer within {}s",
            d.as_secs()
        )),
        Some(UpstreamError::Connect(_)) => GatewayError::BadGateway(format!(
            "could not connect to any upstream for model {:?}",
            inb.model
        )),
        Some(_) => GatewayError::BadGateway("the upstream connection failed".into()),
        None => no_capacity(&inb.model, &skipped),
    })
}

/// The upstream request for one attempt: the client's body (with Claude Code's
/// identity line added for subscription accounts), its headers minus hop-by-hop ones
/// and its credentials, plus the upstream's credentials.
fn build_request(
    upstream: &Upstream,
    tokens: Option<&OAuthTokens>,
    inb: &Inbound<'_>,
    endpoint: Endpoint,
    path: &str,
    query: Option<&str>,
) -> Result<Request<Full<Bytes>>, GatewayError> {
    let to = Shape::of_upstream(upstream);
    let (body, converted) = inb.body_for(to, endpoint)?;
    // A converted request goes to the other API's path, without the client's query; a
    // Gemini one names the upstream model in its path, as routed.
    let (path, query): (std::borrow::Cow<'_, str>, Option<&str>) = if converted {
        let (p, q) = to.path(&inb.upstream_model, inb.client_streams);
        (p.into(), q)
    } else if to == Shape::Gemini {
        let p = match super::format::gemini_call(path) {
            Some((version, _, method)) => {
                translate::gemini_method_path(version, &inb.upstream_model, method)
            }
            None => path.to_string(),
        };
        (p.into(), query)
    } else {
        (path.into(), query)
    };
    let path = path.as_ref();
    let uri =
        upstream_uri(upstream, path, query).map_err(|e| GatewayError::Internal(e.to_string()))?;
    // ChatGPT subscriptions: the Codex backend's body (stored false, streamed, only
    // the fields it takes) and its session id; `<base>/responses` is the URL.
    let mut session_id = None;
    let body = match tokens {
        Some(_) if path == "/v1/messages" && !upstream.is_chatgpt_subscription() => {
            shaping::ensure_system_prefix(&body).unwrap_or(body)
        }
        Some(_) if path == "/v1/responses" && upstream.is_chatgpt_subscription() => {
            let (shaped, session, _client_streams, dropped) =
                chatgpt::shape_body(&body).map_err(|e| GatewayError::BadRequest(e.to_string()))?;
            if !dropped.is_empty() {
                tracing::debug!(upstream = %upstream.name, ?dropped, "fields the ChatGPT backend refuses were dropped");
            }
            session_id = Some(session);
            shaped
        }
        _ => body,
    };
    let mut out = Request::builder()
        .method(inb.parts.method.clone())
        .uri(uri)
        .body(Full::new(body))
        .map_err(|e| GatewayError::Internal(e.to_string()))?;
    copy_request_headers(&inb.parts.headers, out.headers_mut());
    if converted {
        drop_client_identity(out.headers_mut());
    }
    authenticate(upstream, out.headers_mut());
    if let Some(t) = tokens {
        if upstream.is_chatgpt_subscription() {
            chatgpt::apply_headers(out.headers_mut(), t, session_id.as_deref());
        } else {
            shaping::apply_headers(out.headers_mut(), &t.access_token);
        }
    }
    Ok(out)
}

/// Streams whose start is looked at before they are served: Responses and Anthropic
/// streams, which report overload and rate limits as events after a 200.
fn peeks(upstream: &Upstream, resp: &Response<Incoming>) -> bool {
    matches!(
        Shape::of_upstream(upstream),
        Shape::Responses | Shape::Messages
    ) && resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/event-stream"))
}

/// Whether subscription tokens are about to expire (and can be refreshed).
fn expiring(t: &OAuthTokens) -> bool {
    t.refresh_token.is_some()
        && t.expires_at
            .is_some_and(|e| e.0 <= std::time::SystemTime::now() + Duration::from_secs(60))
}

/// Refresh an account's tokens (single-flight) and return the ones to use now.
async fn fresh_tokens(
    state: &AppState,
    upstream: &Upstream,
    current: &Option<OAuthTokens>,
    when: When,
) -> Option<OAuthTokens> {
    let seen = current.as_ref().map(|t| t.access_token.clone());
    match credentials::refresh(state, &upstream.id, seen, when).await {
        Ok(snap) => snap
            .config
            .upstreams
            .iter()
            .find(|u| u.id == upstream.id)
            .and_then(|u| u.oauth.clone())
            .or_else(|| current.clone()),
        Err(_) => current.clone(),
    }
}

/// Counts a request as in flight on an upstream until it is dropped — also when the
/// client goes away and the request future with it — or handed to the response
/// body, which then accounts for it.
struct InFlight {
    stats: Arc<UpstreamStats>,
    armed: bool,
}

impl InFlight {
    fn new(stats: &Arc<UpstreamStats>) -> Self {
        stats.start();
        InFlight {
            stats: stats.clone(),
            armed: true,
        }
    }

    fn hand_over(mut self) {
        self.armed = false;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.armed {
            self.stats.end();
        }
    }
}

/// Frees a half-open probe slot when the attempt that holds it ends, however it
/// ends (an outcome already freed it; a cancelled request did not).
struct ProbeGuard {
    stats: Option<Arc<UpstreamStats>>,
}

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        if let Some(s) = &self.stats {
            s.health().breaker.release_probe();
        }
    }
}

/// What to do with an upstream's answer.
enum Verdict {
    Serve,
    ReturnAsIs,
    RateLimited,
    /// Rate limited inside a 200 stream, for this long.
    RestFor(Duration),
    AuthRefused,
    Failed,
}

fn classify(status: u16) -> Verdict {
    match status {
        429 => Verdict::RateLimited,
        401 | 403 => Verdict::AuthRefused,
        500..=599 => Verdict::Failed, // includes Anthropic's 529 overloaded
        400..=499 => Verdict::ReturnAsIs,
        _ => Verdict::Serve,
    }
}

/// Every candidate is open or cooling: say which, and until when.
fn no_capacity(model: &str, skipped: &[(&Upstream, Skipped)]) -> GatewayError {
    let now = tokio::time::Instant::now();
    let secs = |t: tokio::time::Instant| t.saturating_duration_since(now).as_secs() + 1;
    let parts: Vec<String> = skipped
        .iter()
        .map(|(u, why)| match why {
            Skipped::Open(Some(t)) => format!("{} circuit open for {}s", u.name, secs(*t)),
            Skipped::Open(None) => format!("{} circuit half-open, probing", u.name),
            Skipped::Cooling(t) => format!("{} rate limited for {}s", u.name, secs(*t)),
            Skipped::NeedsLogin => format!(
                "{} needs a new login (`llm-gateway oauth start {}`)",
                u.name, u.name
            ),
        })
        .collect();
    let retry_after = skipped
        .iter()
        .filter_map(|(_, why)| match why {
            Skipped::Open(Some(t)) | Skipped::Cooling(t) => Some(secs(*t)),
            Skipped::Open(None) | Skipped::NeedsLogin => None,
        })
        .min();
    let rate_limited = !skipped.is_empty()
        && skipped
            .iter()
            .all(|(_, why)| matches!(why, Skipped::Cooling(_)));
    GatewayError::NoCapacity {
        rate_limited,
        message: format!(
            "no upstream can serve model {model:?} right now: {}",
            if parts.is_empty() {
                "none is available".to_string()
            } else {
                parts.join("; ")
            }
        ),
        retry_after,
    }
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

/// On a converted request, the headers that describe the client's own API session and
/// installation (Codex's `x-codex-*` turn metadata, `session-id`, `thread-id`,
/// `originator`, OpenAI beta flags) mean nothing to the other vendor: not sent there.
fn drop_client_identity(h: &mut HeaderMap) {
    let names: Vec<header::HeaderName> = h
        .keys()
        .filter(|n| {
            let n = n.as_str();
            n.starts_with("x-codex-")
                || n.starts_with("openai-")
                || n.starts_with("x-goog-")
                || matches!(
                    n,
                    "session-id"
                        | "session_id"
                        | "thread-id"
                        | "originator"
                        | "x-client-request-id"
                )
        })
        .cloned()
        .collect();
    for n in names {
        h.remove(n);
    }
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
            || name == crate::upstream::GOOG_API_KEY
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
