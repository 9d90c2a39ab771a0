//! One message on a Responses WebSocket. A `response.create` carries the fields of a
//! Responses request at its top level (Codex's shape; a nested `response` object is
//! read too). It is authenticated again, its `previous_response_id` expanded, and run
//! as a streamed `POST /v1/responses`; the answer's SSE events go back one text
//! message each. While that runs the socket is still read: a close (or a broken
//! socket) drops the answer, which cancels the upstream request; other messages wait.
//!
//! The conversation: after a `response.completed` (or `response.incomplete`) the
//! connection keeps the request's input (expanded) and the answer's output items under
//! the response id — one conversation, bounded like an entry of the shared store. A
//! later request naming that id gets it put before its own input, and the id is not
//! sent upstream (no upstream stored anything: Codex asks with `store: false`). An id
//! the connection does not know is looked up in the shared store of converted answers
//! (`responses_store`), else refused with `previous_response_not_found`.
//!
//! A `generate: false` request (Codex's warm-up when a session starts) reaches no
//! upstream: it is answered with an empty completed response that records its input,
//! and the first turn continues from it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::events::{self, End, Watch};
use super::{Gone, Session, Socket, on_the_side, send};
use crate::config::Permission;
use crate::server::auth::authenticate;
use crate::server::body::GatewayBody;
use crate::server::errors::GatewayError;
use crate::server::format::{ApiFormat, Endpoint};
use crate::server::handler::new_request_id;
use crate::server::proxy::{self, RequestCtx};
use crate::server::responses_store::{Conversation, prepend_history};
use crate::sse::SseParser;
use crate::upstream::is_hop_or_owned;

/// Largest error body read to make an `error` event, and how long it may take.
const ERROR_LIMIT: usize = 1 << 20;
const ERROR_WAIT: Duration = Duration::from_secs(30);
/// Largest single event of a served stream (a `response.completed` repeats the output).
const MAX_EVENT: usize = 64 << 20;

impl Session {
    /// Serve one text message.
    pub(super) async fn on_text(
        &mut self,
        ws: &mut Socket,
        queue: &mut VecDeque<Message>,
        text: &[u8],
    ) -> Result<(), Gone> {
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(text) else {
            let e = events::client_error(
                "a message must be a JSON object such as {\"type\": \"response.create\", \
                 \"model\": ..., \"input\": [...]}",
                None,
                None,
            );
            return send(ws, &e).await;
        };
        match body.remove("type").as_ref().and_then(Value::as_str) {
            Some("response.create") => {}
            // Codex's note that it has read a response: nothing to do.
            Some("response.processed") => return Ok(()),
            other => {
                let e = events::client_error(
                    &format!(
                        "unknown message type {:?}: this gateway serves `response.create`",
                        other.unwrap_or("(none)")
                    ),
                    None,
                    Some("type"),
                );
                return send(ws, &e).await;
            }
        }
        if !body.contains_key("model")
            && let Some(Value::Object(inner)) = body.remove("response")
        {
            body = inner;
        }
        if tracing::enabled!(tracing::Level::DEBUG) {
            let fields: Vec<&String> = body.keys().collect();
            let items = body.get("input").and_then(Value::as_array).map(Vec::len);
            tracing::debug!(socket = %self.id, ?fields, ?items, "websocket response.create");
        }
        self.create(ws, queue, body).await
    }

    async fn create(
        &mut self,
        ws: &mut Socket,
        queue: &mut VecDeque<Message>,
        mut body: Map<String, Value>,
    ) -> Result<(), Gone> {
        let request_id = new_request_id();
        let started = Instant::now();
        let snap = self.state.snapshot();
        let caller = match authenticate(&self.state, &snap, &self.headers, None)
            .and_then(|c| c.require(Permission::Write).map(|()| c))
        {
            Ok(c) => c,
            Err(e) => return refuse(ws, e, &request_id, started).await,
        };
        let warm_up = body.remove("generate") == Some(Value::Bool(false));
        let previous = body.remove("previous_response_id");
        let mut request = Value::Object(body);
        match previous {
            None | Some(Value::Null) => {}
            Some(Value::String(id)) => {
                let kept = match &self.last {
                    Some((last, c)) if *last == id => Some(c.clone()),
                    _ => self.state.responses.get(&id),
                };
                let Some(history) = kept else {
                    let e = events::client_error(
                        &format!(
                            "Previous response with id '{id}' not found: this connection \
                             continues only its last completed response, and the gateway \
                             keeps other converted answers for {} minutes (only those sent \
                             without `store: false`)",
                            crate::server::responses_store::TTL.as_secs() / 60
                        ),
                        Some("previous_response_not_found"),
                        Some("previous_response_id"),
                    );
                    return send(ws, &e).await;
                };
                prepend_history(&mut request, &history);
            }
            Some(_) => {
                let e = events::client_error(
                    "`previous_response_id` must be a string",
                    None,
                    Some("previous_response_id"),
                );
                return send(ws, &e).await;
            }
        }
        if warm_up {
            let (id, answer) = events::warm_up(&request);
            for e in &answer {
                ws.feed(Message::text(e.to_string()))
                    .await
                    .map_err(|_| Gone)?;
            }
            ws.flush().await.map_err(|_| Gone)?;
            tracing::debug!(id = %request_id, socket = %self.id, "websocket warm-up answered");
            self.warm_ups += 1;
            self.remember(id, &request, &[]);
            return Ok(());
        }
        if let Some(o) = request.as_object_mut() {
            o.insert("stream".into(), Value::Bool(true));
        }
        let bytes = match serde_json::to_vec(&request) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                return refuse(
                    ws,
                    GatewayError::Internal(e.to_string()),
                    &request_id,
                    started,
                )
                .await;
            }
        };
        let parts = match self.parts() {
            Ok(p) => p,
            Err(e) => return refuse(ws, e, &request_id, started).await,
        };
        let recorded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let rc = RequestCtx {
            state: &self.state,
            recorded: &recorded,
            snap: &snap,
            caller: &caller,
            format: ApiFormat::OpenAi,
            endpoint: Endpoint::Responses,
            request_id: &request_id,
            started,
        };
        self.turns += 1;
        let answer = {
            let forward = proxy::forward_parts(&rc, parts, bytes);
            tokio::pin!(forward);
            loop {
                tokio::select! {
                    r = &mut forward => break r,
                    m = ws.next() => on_the_side(m, queue)?,
                }
            }
        };
        match answer {
            Ok(resp) => self.stream(ws, queue, resp, &request).await,
            Err(e) => refuse(ws, e, &request_id, started).await,
        }
    }

    /// Send the answer's events, watching for its end.
    async fn stream(
        &mut self,
        ws: &mut Socket,
        queue: &mut VecDeque<Message>,
        resp: Response<GatewayBody>,
        request: &Value,
    ) -> Result<(), Gone> {
        if !resp.status().is_success() {
            return send_error_answer(ws, resp).await;
        }
        let mut body = resp.into_body();
        let mut parser = SseParser::new(MAX_EVENT);
        let mut watch = Watch::new();
        let mut datas: Vec<String> = Vec::new();
        loop {
            let frame = tokio::select! {
                f = body.frame() => f,
                m = ws.next() => {
                    on_the_side(m, queue)?;
                    continue;
                }
            };
            let data = match frame {
                None => break,
                Some(Err(e)) => {
                    tracing::debug!(socket = %self.id, "websocket: the answer broke: {e}");
                    break;
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(d) => d,
                    Err(_) => continue, // trailers
                },
            };
            parser.feed(&data, |ev| datas.push(ev.data));
            for data in datas.drain(..) {
                if data.is_empty() || data == "[DONE]" {
                    continue;
                }
                let out = match watch.observe(&data) {
                    Some(instead) => instead.to_string(),
                    None => data,
                };
                ws.feed(Message::text(out)).await.map_err(|_| Gone)?;
            }
            ws.flush().await.map_err(|_| Gone)?;
        }
        match watch.end {
            End::Finished { id, output } => self.remember(id, request, &output),
            End::Failed => {}
            End::Open => {
                let e = events::error_event(
                    502,
                    json!({"type": "server_error", "code": "server_error", "param": null,
                        "message": "the upstream's stream ended before the response was complete"}),
                    None,
                );
                send(ws, &e).await?;
            }
        }
        Ok(())
    }

    /// Keep the turn that `request` (expanded) and its `output` make, under `id`.
    fn remember(&mut self, id: String, request: &Value, output: &[Value]) {
        self.last = None;
        if id.is_empty() {
            return;
        }
        match Conversation::of_turn(request, output) {
            Some(c) => self.last = Some((id, Arc::new(c))),
            None => tracing::info!(
                id = %self.id,
                "websocket conversation is over {} MiB: not kept for previous_response_id",
                crate::server::responses_store::MAX_ENTRY_BYTES >> 20
            ),
        }
    }

    /// The head of the `POST /v1/responses` a message becomes: the upgrade request's
    /// headers, less hop-by-hop, WebSocket and credential ones.
    fn parts(&self) -> Result<http::request::Parts, GatewayError> {
        let (mut parts, ()) = Request::builder()
            .method(Method::POST)
            .uri("/v1/responses")
            .body(())
            .map_err(|e| GatewayError::Internal(e.to_string()))?
            .into_parts();
        for (name, value) in &self.headers {
            let n = name.as_str();
            if is_hop_or_owned(name)
                || n.starts_with("sec-websocket-")
                || matches!(n, "authorization" | "x-api-key" | "content-type" | "accept")
            {
                continue;
            }
            if n == "openai-beta" {
                // The WebSocket mode's own flag means nothing to an HTTP request.
                let kept: Vec<&str> = value
                    .to_str()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty() && !f.starts_with("responses_websockets"))
                    .collect();
                if let Ok(v) = HeaderValue::from_str(&kept.join(","))
                    && !kept.is_empty()
                {
                    parts.headers.append(name.clone(), v);
                }
                continue;
            }
            parts.headers.append(name.clone(), value.clone());
        }
        let h = &mut parts.headers;
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        Ok(parts)
    }
}

/// A request the gateway refused: logged like one over HTTP, sent as an `error`.
async fn refuse(
    ws: &mut Socket,
    e: GatewayError,
    request_id: &str,
    started: Instant,
) -> Result<(), Gone> {
    tracing::info!(
        target: "llm_gateway::access",
        id = %request_id,
        method = "WS",
        path = "/v1/responses",
        status = e.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        error = %e,
        "request refused"
    );
    send_error_answer(ws, e.into_response(ApiFormat::OpenAi, request_id)).await
}

/// An error answer (status and JSON body) as one `error` event.
async fn send_error_answer(ws: &mut Socket, resp: Response<GatewayBody>) -> Result<(), Gone> {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let read = Limited::new(resp.into_body(), ERROR_LIMIT).collect();
    let body = match tokio::time::timeout(ERROR_WAIT, read).await {
        Ok(Ok(c)) => c.to_bytes(),
        _ => Bytes::new(),
    };
    send(
        ws,
        &events::answer_error(status, &body, retry_after.as_deref()),
    )
    .await
}
