//! The Responses API's WebSocket mode: `GET /v1/responses` upgraded to a WebSocket,
//! which Codex CLI uses when its provider has `supports_websockets = true`.
//!
//! A transport on the client's side only: each `response.create` message runs as an
//! ordinary streamed `POST /v1/responses` through the pipeline
//! ([`proxy::forward_parts`](super::proxy::forward_parts)), so every upstream serves it
//! (converted, or passed through over HTTP; no upstream sees a WebSocket), and every
//! event of the answer's stream goes back as one text message. A request that fails
//! becomes one `error` message and the socket stays usable (see [`turn`]).
//!
//! Later turns send only their new input items with `previous_response_id` (and
//! `store: false`): the connection keeps the conversation so far and expands the id
//! before forwarding ([`turn`]). The connection is authenticated like
//! `POST /v1/responses` before the upgrade (a bad key gets a 401 in OpenAI's error
//! shape), and again for every message (a key disabled meanwhile stops working).

mod events;
mod turn;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::auth::Caller;
use super::body::GatewayBody;
use super::errors::GatewayError;
use super::responses_store::Conversation;
use super::state::AppState;

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// Messages that arrive while a response streams wait their turn, up to this many.
const MAX_QUEUED: usize = 16;

/// Whether a request asks for a WebSocket upgrade.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    has_token(headers, header::CONNECTION, "upgrade")
        && has_token(headers, header::UPGRADE, "websocket")
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Answer an authenticated `GET /v1/responses`: 101 with the accept key, and the
/// connection served from then on by a task of its own. No extension is agreed to
/// (`permessage-deflate` offers are declined, as the protocol allows).
pub fn accept(
    state: &Arc<AppState>,
    caller: &Caller,
    mut req: Request<Incoming>,
    request_id: &str,
) -> Result<Response<GatewayBody>, GatewayError> {
    if req.version() != Version::HTTP_11 || !is_upgrade(req.headers()) {
        return Err(GatewayError::UpgradeRequired(
            "GET /v1/responses is the Responses API's WebSocket mode: open it as a \
             WebSocket (HTTP/1.1 with `Connection: Upgrade` and `Upgrade: websocket`), \
             or send POST /v1/responses"
                .into(),
        ));
    }
    if req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(GatewayError::UpgradeRequired(
            "only WebSocket version 13 is served (`Sec-WebSocket-Version: 13`)".into(),
        ));
    }
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return Err(GatewayError::BadRequest(
            "a WebSocket upgrade needs a `Sec-WebSocket-Key` header".into(),
        ));
    };
    let accept_key = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|e| GatewayError::Internal(e.to_string()))?;

    let headers = req.headers().clone();
    let upgrade = hyper::upgrade::on(&mut req);
    let max_message = state.snapshot().body_limit;
    let session = Session {
        state: state.clone(),
        headers,
        id: request_id.to_string(),
        key: caller.name.clone(),
        last: None,
        turns: 0,
        warm_ups: 0,
    };
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let config = WebSocketConfig::default()
                    .max_message_size(Some(max_message))
                    .max_frame_size(Some(max_message));
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                session.run(ws).await;
            }
            Err(e) => tracing::debug!(id = %session.id, "websocket upgrade failed: {e}"),
        }
    });

    let mut resp = Response::new(GatewayBody::full(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::SEC_WEBSOCKET_ACCEPT, accept_key);
    crate::server::handler::set_request_id(h, request_id);
    Ok(resp)
}

/// One open socket: who opened it and the conversation it carries.
struct Session {
    state: Arc<AppState>,
    /// The upgrade request's headers: credentials for every message, and the client's
    /// own headers for the requests made from its messages.
    headers: HeaderMap,
    /// The upgrade's request id, for the log.
    id: String,
    /// The gateway key's name, for the log.
    key: String,
    /// The last completed response's id and its conversation (input and output).
    last: Option<(String, Arc<Conversation>)>,
    /// Requests forwarded, and warm-ups answered here.
    turns: u64,
    warm_ups: u64,
}

/// The client closed the socket or it broke: stop serving it.
struct Gone;

impl Session {
    async fn run(mut self, mut ws: Socket) {
        let opened = Instant::now();
        tracing::info!(
            target: "llm_gateway::access",
            id = %self.id,
            key = %self.key,
            "websocket opened (Responses WebSocket mode)"
        );
        let mut queue: VecDeque<Message> = VecDeque::new();
        loop {
            let msg = match queue.pop_front() {
                Some(m) => m,
                None => match read(&mut ws).await {
                    Ok(m) => m,
                    Err(Gone) => break,
                },
            };
            let served = match msg {
                Message::Text(text) => self.on_text(&mut ws, &mut queue, text.as_bytes()).await,
                Message::Binary(_) => {
                    let e = events::client_error(
                        "binary messages are not part of the Responses WebSocket mode: send \
                         `response.create` as JSON in a text message",
                        None,
                        None,
                    );
                    send(&mut ws, &e).await
                }
                // Pings are answered by the socket itself; a close is answered and then
                // ends the stream.
                Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {
                    Ok(())
                }
            };
            if served.is_err() {
                break;
            }
        }
        tracing::info!(
            target: "llm_gateway::access",
            id = %self.id,
            key = %self.key,
            turns = self.turns,
            warm_ups = self.warm_ups,
            ms = opened.elapsed().as_millis() as u64,
            "websocket closed"
        );
    }
}

/// The next message from the client; pings and pongs are handled inside.
async fn read(ws: &mut Socket) -> Result<Message, Gone> {
    loop {
        match ws.next().await {
            None => return Err(Gone),
            Some(Err(e)) => {
                tracing::debug!("websocket read failed: {e}");
                return Err(Gone);
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(m)) => return Ok(m),
        }
    }
}

/// A message that arrived while a response was being served: kept for later, or the
/// end of the connection.
fn on_the_side(
    incoming: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    queue: &mut VecDeque<Message>,
) -> Result<(), Gone> {
    match incoming {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Err(Gone),
        Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => {
            if queue.len() >= MAX_QUEUED {
                tracing::warn!("websocket client sent too many messages at once; closing");
                return Err(Gone);
            }
            queue.push_back(m);
            Ok(())
        }
        Some(Ok(_)) => Ok(()),
    }
}

/// Send one JSON event as a text message.
async fn send(ws: &mut Socket, event: &serde_json::Value) -> Result<(), Gone> {
    ws.send(Message::text(event.to_string()))
        .await
        .map_err(|_| Gone)
}
