//! A fast mock Anthropic + OpenAI (Chat Completions and Responses) + Gemini upstream
//! for `scripts/bench.sh`.
//!
//! Unlike `examples/mock_upstream.rs` (strict, for correctness tests), this one
//! validates nothing and answers from canned bytes so that it is never the bottleneck
//! of a benchmark: one port serves
//!
//! - `POST /v1/messages` (and `/messages`): an Anthropic message with usage, or, when
//!   the body says `"stream": true`, the full SSE sequence (`message_start`,
//!   `content_block_start`, `ping`, N × `content_block_delta`, `content_block_stop`,
//!   `message_delta` with usage, `message_stop`);
//! - `POST /v1/chat/completions` (and `/chat/completions`): a `chat.completion` with
//!   usage, or SSE `chat.completion.chunk`s (role, N content deltas, finish, usage)
//!   ending with `data: [DONE]`;
//! - `POST /v1/responses` (and `/responses`): a Responses `response` object (one
//!   `message` output item with `output_text`, usage), or the Responses SSE sequence
//!   with `event:` lines and `sequence_number`s (`response.created`,
//!   `response.in_progress`, `response.output_item.added`,
//!   `response.content_part.added`, N × `response.output_text.delta`,
//!   `response.output_text.done`, `response.content_part.done`,
//!   `response.output_item.done`, `response.completed` with usage);
//! - `POST /v1beta/models/{model}:generateContent` (any model, any path ending so): a
//!   Gemini answer (one candidate with a text part, `finishReason`, `usageMetadata`,
//!   `modelVersion`, `responseId`); `POST .../{model}:streamGenerateContent` (the
//!   gateway asks `?alt=sse`; the query is not looked at): Gemini SSE, `data:` events
//!   ending in `\r\n\r\n` without names, N chunks with a piece of text each (and the
//!   prompt's usage, as Gemini sends it), then one with `finishReason` and the full
//!   `usageMetadata`;
//! - `GET /v1/models` (and `/models`): a one-model list in both shapes' spirit.
//!
//! No key is checked (`x-api-key`, `Authorization` and Gemini's `x-goog-api-key` alike).
//! The request body is drained (it may be 400 KB) and scanned only for `"stream"`,
//! unless the `x-bench-stream: 0|1` header says whether a stream is wanted (then the
//! body is drained without being copied or scanned). Gemini says it in the path
//! (`:streamGenerateContent`), which wins over the header; its body is never scanned. Other per-request knobs, as
//! headers (the gateway forwards them): `x-bench-deltas: N` (default `--deltas`) and
//! `x-bench-interval-ms: MS` (pause before each delta; default 0, i.e. the whole answer
//! at once), used to hold streams open.
//!
//! ```text
//! cargo run --release --example bench_upstream -- --port 0 --deltas 20 [--threads 2]
//! ```
//! prints `{"port": P, "anthropic": "http://127.0.0.1:P", "openai": "http://127.0.0.1:P/v1",
//! "responses": "http://127.0.0.1:P/v1", "gemini": "http://127.0.0.1:P"}`
//! on stdout, then serves until killed or until stdin closes (with `--stdin-lifeline`).

use std::convert::Infallible;
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::time::Sleep;

const TEXT: &str = "Hello! I am a benchmark mock; this answer is canned and always the same.";

/// Canned bytes, built once.
struct Canned {
    deltas: usize,
    ant_json: Bytes,
    ant_head: Vec<Bytes>,
    ant_delta: Bytes,
    ant_tail: Vec<Bytes>,
    oai_json: Bytes,
    oai_head: Vec<Bytes>,
    oai_delta: Bytes,
    oai_tail: Vec<Bytes>,
    resp_json: Bytes,
    /// The Responses stream for the default number of deltas. Its deltas differ (each
    /// has its own `sequence_number`), and so does its tail, so it is built per count.
    resp_stream: Arc<RespStream>,
    gem_json: Bytes,
    gem_delta: Bytes,
    gem_tail: Vec<Bytes>,
    models: Bytes,
}

/// A Responses SSE answer: every event prebuilt, deltas included.
struct RespStream {
    head: Vec<Bytes>,
    deltas: Arc<Vec<Bytes>>,
    tail: Vec<Bytes>,
}

const RESP_ID: &str = "resp_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b";
const RESP_MSG_ID: &str = "msg_68af4033a9f88193a4c5ad4e9a9ba44905438e46b5f69a3b";
const RESP_MODEL: &str = "gpt-5-codex";
const RESP_DELTA: &str = "Hello, world! ";

/// A Responses `response` object, as OpenAI sends it (with the request's parameters
/// echoed), with the given status, output items and usage.
fn resp_object(
    status: &str,
    output: serde_json::Value,
    usage: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "id": RESP_ID,
        "object": "response",
        "created_at": 1756315696,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": 1024,
        "max_tool_calls": null,
        "model": RESP_MODEL,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "prompt_cache_key": null,
        "reasoning": {"effort": null, "summary": null},
        "safety_identifier": null,
        "service_tier": "default",
        "store": false,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": null,
        "metadata": {}
    })
}

fn resp_usage() -> serde_json::Value {
    serde_json::json!({
        "input_tokens": 2095,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 503,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 2598
    })
}

fn resp_message(status: &str, text: Option<&str>) -> serde_json::Value {
    let content = match text {
        Some(t) => serde_json::json!([
            {"type": "output_text", "annotations": [], "logprobs": [], "text": t}
        ]),
        None => serde_json::json!([]),
    };
    serde_json::json!({"id": RESP_MSG_ID, "type": "message", "status": status,
                       "content": content, "role": "assistant"})
}

impl RespStream {
    /// The whole event sequence for `deltas` text deltas.
    fn new(deltas: usize) -> Self {
        use serde_json::json;
        let text = RESP_DELTA.repeat(deltas);
        let mut seq = 0u64;
        let mut ev = |name: &str, mut v: serde_json::Value| {
            v["type"] = json!(name);
            v["sequence_number"] = json!(seq);
            seq += 1;
            sse(name, &v)
        };
        let head = vec![
            ev(
                "response.created",
                json!({"response": resp_object("in_progress", json!([]), json!(null))}),
            ),
            ev(
                "response.in_progress",
                json!({"response": resp_object("in_progress", json!([]), json!(null))}),
            ),
            ev(
                "response.output_item.added",
                json!({"output_index": 0, "item": resp_message("in_progress", None)}),
            ),
            ev(
                "response.content_part.added",
                json!({"item_id": RESP_MSG_ID, "output_index": 0, "content_index": 0,
                       "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}),
            ),
        ];
        let deltas = (0..deltas)
            .map(|_| {
                ev(
                    "response.output_text.delta",
                    json!({"item_id": RESP_MSG_ID, "output_index": 0, "content_index": 0,
                           "delta": RESP_DELTA, "logprobs": [], "obfuscation": "x3Ab"}),
                )
            })
            .collect();
        let tail = vec![
            ev(
                "response.output_text.done",
                json!({"item_id": RESP_MSG_ID, "output_index": 0, "content_index": 0,
                       "text": text, "logprobs": []}),
            ),
            ev(
                "response.content_part.done",
                json!({"item_id": RESP_MSG_ID, "output_index": 0, "content_index": 0,
                       "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": text}}),
            ),
            ev(
                "response.output_item.done",
                json!({"output_index": 0, "item": resp_message("completed", Some(&text))}),
            ),
            ev(
                "response.completed",
                json!({"response": resp_object(
                    "completed",
                    json!([resp_message("completed", Some(&text))]),
                    resp_usage(),
                )}),
            ),
        ];
        RespStream {
            head,
            deltas: Arc::new(deltas),
            tail,
        }
    }
}

fn sse(event: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

fn data(v: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

/// A Gemini SSE event: `data:` only, CRLF line ends, as Google sends them.
fn data_crlf(v: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {v}\r\n\r\n"))
}

const GEM_MODEL: &str = "gemini-2.5-flash";
const GEM_RESPONSE_ID: &str = "t3OvaPL2Ft3Vz7IPqPXo-QY";

/// A Gemini answer (or stream chunk): one candidate with one text part, `finishReason`
/// when given, and `usageMetadata`.
fn gem_chunk(text: &str, finish: Option<&str>, usage: serde_json::Value) -> serde_json::Value {
    let mut candidate = serde_json::json!({
        "content": {"parts": [{"text": text}], "role": "model"},
        "index": 0
    });
    if let Some(f) = finish {
        candidate["finishReason"] = serde_json::json!(f);
    }
    serde_json::json!({
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": GEM_MODEL,
        "responseId": GEM_RESPONSE_ID
    })
}

fn gem_usage(done: bool) -> serde_json::Value {
    let prompt = serde_json::json!([{"modality": "TEXT", "tokenCount": 2095}]);
    if done {
        serde_json::json!({"promptTokenCount": 2095, "candidatesTokenCount": 503,
                           "totalTokenCount": 2598, "promptTokensDetails": prompt})
    } else {
        serde_json::json!({"promptTokenCount": 2095, "totalTokenCount": 2095,
                           "promptTokensDetails": prompt})
    }
}

impl Canned {
    fn new(deltas: usize) -> Self {
        use serde_json::json;
        let model_a = "claude-sonnet-4-5-20250929";
        let model_o = "gpt-4o-2024-08-06";
        let ant_json = json!({
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": model_a,
            "content": [{"type": "text", "text": TEXT}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {
                "input_tokens": 2095,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 503,
                "service_tier": "standard"
            }
        });
        let ant_head = vec![
            sse(
                "message_start",
                &json!({"type": "message_start", "message": {
                    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                    "model": model_a, "content": [], "stop_reason": null, "stop_sequence": null,
                    "usage": {"input_tokens": 2095, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 0, "output_tokens": 1}}}),
            ),
            sse(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0,
                        "content_block": {"type": "text", "text": ""}}),
            ),
            sse("ping", &json!({"type": "ping"})),
        ];
        let ant_delta = sse(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": "Hello, world! "}}),
        );
        let ant_tail = vec![
            sse(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": 0}),
            ),
            sse(
                "message_delta",
                &json!({"type": "message_delta",
                        "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                        "usage": {"output_tokens": 503}}),
            ),
            sse("message_stop", &json!({"type": "message_stop"})),
        ];
        let oai_json = json!({
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "object": "chat.completion",
            "created": 1741569952,
            "model": model_o,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": TEXT, "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": 2095, "completion_tokens": 503, "total_tokens": 2598,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
            },
            "service_tier": "default",
            "system_fingerprint": "fp_f33640a400"
        });
        let chunk = |choices: serde_json::Value, usage: serde_json::Value| {
            json!({"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion.chunk",
                   "created": 1741569952, "model": model_o, "service_tier": "default",
                   "system_fingerprint": "fp_f33640a400", "choices": choices, "usage": usage})
        };
        let oai_head = vec![data(&chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null},
                    "logprobs": null, "finish_reason": null}]),
            serde_json::Value::Null,
        ))];
        let oai_delta = data(&chunk(
            json!([{"index": 0, "delta": {"content": "Hello, world! "}, "logprobs": null,
                    "finish_reason": null}]),
            serde_json::Value::Null,
        ));
        let oai_tail = vec![
            data(&chunk(
                json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]),
                serde_json::Value::Null,
            )),
            data(&chunk(
                json!([]),
                json!({"prompt_tokens": 2095, "completion_tokens": 503, "total_tokens": 2598}),
            )),
            Bytes::from_static(b"data: [DONE]\n\n"),
        ];
        let resp_json = resp_object(
            "completed",
            json!([resp_message("completed", Some(TEXT))]),
            resp_usage(),
        );
        let models = json!({
            "object": "list",
            "data": [
                {"id": model_o, "object": "model", "created": 1722814719, "owned_by": "system",
                 "type": "model", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"}
            ],
            "has_more": false, "first_id": model_o, "last_id": model_o
        });
        Canned {
            deltas,
            ant_json: Bytes::from(ant_json.to_string()),
            ant_head,
            ant_delta,
            ant_tail,
            oai_json: Bytes::from(oai_json.to_string()),
            oai_head,
            oai_delta,
            oai_tail,
            resp_json: Bytes::from(resp_json.to_string()),
            resp_stream: Arc::new(RespStream::new(deltas)),
            gem_json: Bytes::from(gem_chunk(TEXT, Some("STOP"), gem_usage(true)).to_string()),
            gem_delta: data_crlf(&gem_chunk("Hello, world! ", None, gem_usage(false))),
            gem_tail: vec![data_crlf(&gem_chunk("", Some("STOP"), gem_usage(true)))],
            models: Bytes::from(models.to_string()),
        }
    }
}

/// An SSE answer: head events at once, then each delta (after `interval`, if any),
/// then the tail events.
struct SseBody {
    head: Vec<Bytes>,
    delta: Bytes,
    /// When set, delta `i` is `each_delta[i]` instead of `delta` (Responses deltas
    /// carry their own `sequence_number`); its length is then `deltas`.
    each_delta: Option<Arc<Vec<Bytes>>>,
    tail: Vec<Bytes>,
    deltas: usize,
    /// Position: 0..head.len() head, then deltas, then tail.
    pos: usize,
    interval: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    waited: bool,
}

impl SseBody {
    fn total(&self) -> usize {
        self.head.len() + self.deltas + self.tail.len()
    }
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if this.pos >= this.total() {
            return Poll::Ready(None);
        }
        let h = this.head.len();
        let is_delta = this.pos >= h && this.pos < h + this.deltas;
        if is_delta && !this.interval.is_zero() && !this.waited {
            let interval = this.interval;
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.waited = true;
        }
        let bytes = if this.pos < h {
            this.head[this.pos].clone()
        } else if is_delta {
            match &this.each_delta {
                Some(each) => each.get(this.pos - h).cloned().unwrap_or_default(),
                None => this.delta.clone(),
            }
        } else {
            this.tail[this.pos - h - this.deltas].clone()
        };
        this.pos += 1;
        if this.waited {
            this.waited = false;
            let next = tokio::time::Instant::now() + this.interval;
            if let Some(s) = this.sleep.as_mut() {
                s.as_mut().reset(next);
            }
        }
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.pos >= self.total()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

enum MockBody {
    Full(Option<Bytes>),
    Sse(SseBody),
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut *self {
            MockBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Sse(s) => Pin::new(s).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            MockBody::Full(b) => b.is_none(),
            MockBody::Sse(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            MockBody::Full(None) => SizeHint::with_exact(0),
            MockBody::Sse(_) => SizeHint::default(),
        }
    }
}

/// Does the JSON body ask for a stream (`"stream": true`, any spacing)?
fn wants_stream(body: &[u8]) -> bool {
    const KEY: &[u8] = b"\"stream\"";
    let mut i = 0;
    while i + KEY.len() <= body.len() {
        // Jump to the next quote.
        match body[i..].iter().position(|&c| c == b'"') {
            None => return false,
            Some(p) => i += p,
        }
        if body[i..].starts_with(KEY) {
            let mut j = i + KEY.len();
            while j < body.len() && body[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < body.len() && body[j] == b':' {
                j += 1;
                while j < body.len() && body[j].is_ascii_whitespace() {
                    j += 1;
                }
                return body[j..].starts_with(b"true");
            }
        }
        i += 1;
    }
    false
}

fn header_num(req: &Request<Incoming>, name: &str) -> Option<u64> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
}

fn respond(status: StatusCode, ct: &'static str, body: MockBody) -> Response<MockBody> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

async fn handle(c: Arc<Canned>, req: Request<Incoming>) -> Result<Response<MockBody>, Infallible> {
    let path = req.uri().path();
    let anthropic = path.ends_with("/messages");
    let openai = path.ends_with("/chat/completions");
    let responses = path.ends_with("/responses");
    let gemini_stream = path.ends_with(":streamGenerateContent");
    let gemini = gemini_stream || path.ends_with(":generateContent");
    if req.method() == http::Method::GET && path.ends_with("/models") {
        return Ok(respond(
            StatusCode::OK,
            "application/json",
            MockBody::Full(Some(c.models.clone())),
        ));
    }
    if !(anthropic || openai || responses || gemini) {
        return Ok(respond(
            StatusCode::NOT_FOUND,
            "application/json",
            MockBody::Full(Some(Bytes::from_static(
                br#"{"error":{"type":"not_found_error","message":"bench mock: unknown path"}}"#,
            ))),
        ));
    }
    let deltas = header_num(&req, "x-bench-deltas").map_or(c.deltas, |n| n as usize);
    let interval = Duration::from_millis(header_num(&req, "x-bench-interval-ms").unwrap_or(0));
    // Gemini's path says whether it streams.
    let said = if gemini {
        Some(u64::from(gemini_stream))
    } else {
        header_num(&req, "x-bench-stream")
    };
    let mut body = req.into_body();
    let stream = match said {
        // Told by the client: drain the body frame by frame, without copying it.
        Some(n) => {
            while let Some(f) = body.frame().await {
                if f.is_err() {
                    break;
                }
            }
            n != 0
        }
        // Else collect it and look for "stream": true.
        None => match body.collect().await {
            Ok(b) => wants_stream(&b.to_bytes()),
            Err(_) => false,
        },
    };
    if responses {
        return Ok(respond_responses(&c, stream, deltas, interval));
    }
    if gemini {
        return Ok(respond_gemini(&c, stream, deltas, interval));
    }
    let resp = match (anthropic, stream) {
        (true, false) => respond(
            StatusCode::OK,
            "application/json",
            MockBody::Full(Some(c.ant_json.clone())),
        ),
        (false, false) => respond(
            StatusCode::OK,
            "application/json",
            MockBody::Full(Some(c.oai_json.clone())),
        ),
        (true, true) => respond(
            StatusCode::OK,
            "text/event-stream; charset=utf-8",
            MockBody::Sse(SseBody {
                head: c.ant_head.clone(),
                delta: c.ant_delta.clone(),
                each_delta: None,
                tail: c.ant_tail.clone(),
                deltas,
                pos: 0,
                interval,
                sleep: None,
                waited: false,
            }),
        ),
        (false, true) => respond(
            StatusCode::OK,
            "text/event-stream; charset=utf-8",
            MockBody::Sse(SseBody {
                head: c.oai_head.clone(),
                delta: c.oai_delta.clone(),
                each_delta: None,
                tail: c.oai_tail.clone(),
                deltas,
                pos: 0,
                interval,
                sleep: None,
                waited: false,
            }),
        ),
    };
    Ok(resp)
}

/// A Responses answer: the canned JSON, or the event sequence for `deltas` deltas
/// (prebuilt for the default count, built here for any other).
fn respond_responses(
    c: &Canned,
    stream: bool,
    deltas: usize,
    interval: Duration,
) -> Response<MockBody> {
    if !stream {
        return respond(
            StatusCode::OK,
            "application/json",
            MockBody::Full(Some(c.resp_json.clone())),
        );
    }
    let built;
    let rs: &RespStream = if deltas == c.deltas {
        &c.resp_stream
    } else {
        built = RespStream::new(deltas);
        &built
    };
    respond(
        StatusCode::OK,
        "text/event-stream; charset=utf-8",
        MockBody::Sse(SseBody {
            head: rs.head.clone(),
            delta: Bytes::new(),
            each_delta: Some(rs.deltas.clone()),
            tail: rs.tail.clone(),
            deltas,
            pos: 0,
            interval,
            sleep: None,
            waited: false,
        }),
    )
}

/// A Gemini answer: the canned JSON, or the SSE chunks (no head: the first text chunk
/// is the first event).
fn respond_gemini(
    c: &Canned,
    stream: bool,
    deltas: usize,
    interval: Duration,
) -> Response<MockBody> {
    if !stream {
        return respond(
            StatusCode::OK,
            "application/json; charset=UTF-8",
            MockBody::Full(Some(c.gem_json.clone())),
        );
    }
    respond(
        StatusCode::OK,
        "text/event-stream",
        MockBody::Sse(SseBody {
            head: Vec::new(),
            delta: c.gem_delta.clone(),
            each_delta: None,
            tail: c.gem_tail.clone(),
            deltas,
            pos: 0,
            interval,
            sleep: None,
            waited: false,
        }),
    )
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let port: u16 = arg("--port").and_then(|s| s.parse().ok()).unwrap_or(0);
    let deltas: usize = arg("--deltas").and_then(|s| s.parse().ok()).unwrap_or(20);
    let threads: usize = arg("--threads")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let lifeline = args.iter().any(|a| a == "--stdin-lifeline");
    let canned = Arc::new(Canned::new(deltas));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        println!(
            "{}",
            serde_json::json!({
                "port": port,
                "anthropic": format!("http://127.0.0.1:{port}"),
                "openai": format!("http://127.0.0.1:{port}/v1"),
                "responses": format!("http://127.0.0.1:{port}/v1"),
                "gemini": format!("http://127.0.0.1:{port}"),
            })
        );
        use std::io::Write;
        std::io::stdout().flush()?;
        if lifeline {
            std::thread::spawn(|| {
                let mut sink = Vec::new();
                let _ = std::io::stdin().read_to_end(&mut sink);
                std::process::exit(0);
            });
        }
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("bench_upstream: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let c = canned.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| handle(c.clone(), req));
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::wants_stream;

    #[test]
    fn stream_flag() {
        assert!(wants_stream(br#"{"model":"x","stream":true}"#));
        assert!(wants_stream(br#"{"stream" :  true, "model":"x"}"#));
        assert!(!wants_stream(br#"{"stream":false}"#));
        assert!(!wants_stream(br#"{"content":"stream"}"#));
        assert!(!wants_stream(b""));
    }
}
