//! Strict mock upstreams for tests: an Anthropic Messages API, an OpenAI Chat
//! Completions API, an OpenAI Responses API (`Flavor::Responses`, its shapes in
//! `mock_responses.rs`) and a Gemini API (`Flavor::Gemini`, `mock_gemini.rs`) on
//! 127.0.0.1, port 0. They reject what the real APIs reject
//! (wrong credentials, missing headers, malformed bodies), record every request, and
//! can be told to fail, stall or stream slowly.
//!
//! Shared by the integration tests and `examples/mock_upstream.rs` (used by the SDK
//! end-to-end tests).

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[path = "mock_responses.rs"]
mod responses;

#[path = "mock_gemini.rs"]
pub mod gemini;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Anthropic,
    OpenAi,
    /// OpenAI Responses API: `POST /v1/responses`, Bearer auth, OpenAI errors.
    Responses,
    /// Gemini API: `POST /v1beta/models/{model}:generateContent` and friends, the key
    /// in `x-goog-api-key` or `?key=`, Google's errors (`mock_gemini.rs`).
    Gemini,
}

/// One request as the mock saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// How the mock misbehaves, changeable while it runs.
#[derive(Clone, Debug, Default)]
pub struct Behavior {
    /// Answer every inference request with this status and body.
    pub fail_with: Option<(u16, String)>,
    /// Wait this long before sending response headers.
    pub delay_headers: Option<Duration>,
    /// Pause between stream events.
    pub event_gap: Option<Duration>,
    /// Text deltas per streamed answer.
    pub deltas: usize,
    /// Abort the connection after this many stream events.
    pub break_after: Option<usize>,
    /// Go silent (connection open) after this many stream events.
    pub stall_after: Option<usize>,
    /// Send these bytes as the whole SSE stream instead of a well-formed one.
    pub raw_stream: Option<String>,
    /// Responses flavor: answer a stream with 200, `response.created`,
    /// `response.in_progress`, then `response.failed` with this error code (e.g.
    /// `rate_limit_exceeded`, `server_is_overloaded`), as the real API does.
    pub fail_in_stream: Option<String>,
}

pub struct Mock {
    pub flavor: Flavor,
    pub addr: SocketAddr,
    pub key: String,
    pub log: Arc<Mutex<Vec<Recorded>>>,
    pub behavior: Arc<Mutex<Behavior>>,
    /// Set when a client went away while a stream was being sent.
    pub aborted_streams: Arc<Mutex<u32>>,
    /// Access tokens accepted in OAuth mode (Bearer + `oauth-2025-04-20` beta).
    pub oauth_tokens: Arc<Mutex<std::collections::HashSet<String>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Mock {
    pub fn start(flavor: Flavor, key: &str) -> Mock {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind mock");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let behavior = Arc::new(Mutex::new(Behavior {
            deltas: 3,
            ..Default::default()
        }));
        let aborted = Arc::new(Mutex::new(0));
        let oauth_tokens = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let shared = Shared {
            flavor,
            key: key.to_string(),
            log: log.clone(),
            behavior: behavior.clone(),
            aborted: aborted.clone(),
            oauth_tokens: oauth_tokens.clone(),
        };
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                loop {
                    tokio::select! {
                        r = listener.accept() => {
                            let Ok((stream, _)) = r else { continue };
                            let shared = shared.clone();
                            tokio::spawn(async move {
                                let svc = service_fn(move |req| {
                                    let shared = shared.clone();
                                    async move { Ok::<_, Infallible>(shared.handle(req).await) }
                                });
                                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .await;
                            });
                        }
                        _ = &mut rx => break,
                    }
                }
            });
        });
        Mock {
            flavor,
            addr,
            key: key.to_string(),
            log,
            behavior,
            aborted_streams: aborted,
            oauth_tokens,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// Base URL as the gateway's `--base-url` wants it for this flavor.
    pub fn base_url(&self) -> String {
        match self.flavor {
            Flavor::Anthropic | Flavor::Gemini => format!("http://{}", self.addr),
            Flavor::OpenAi | Flavor::Responses => format!("http://{}/v1", self.addr),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("log").clone()
    }

    pub fn inference_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect()
    }

    pub fn set(&self, f: impl FnOnce(&mut Behavior)) {
        f(&mut self.behavior.lock().expect("behavior"));
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type MockBody = BoxBody<Bytes, std::io::Error>;

#[derive(Clone)]
struct Shared {
    flavor: Flavor,
    key: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    behavior: Arc<Mutex<Behavior>>,
    aborted: Arc<Mutex<u32>>,
    oauth_tokens: Arc<Mutex<std::collections::HashSet<String>>>,
}

fn boxed_full(b: Bytes) -> MockBody {
    Full::new(b)
        .map_err(|never: Infallible| match never {})
        .boxed()
}

fn full(status: u16, v: &Value) -> Response<MockBody> {
    canned(status, &v.to_string())
}

/// `body` as it is (a test's failure body need not be JSON), labelled JSON.
fn canned(status: u16, body: &str) -> Response<MockBody> {
    let mut r = Response::new(boxed_full(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("ct"));
    r
}

impl Shared {
    fn error(&self, status: u16, kind: &str, msg: &str) -> Response<MockBody> {
        match self.flavor {
            Flavor::Anthropic => full(
                status,
                &json!({"type": "error", "error": {"type": kind, "message": msg}, "request_id": "req_mock_err"}),
            ),
            Flavor::OpenAi => full(
                status,
                &json!({"error": {"message": msg, "type": kind, "param": null, "code": null}}),
            ),
            Flavor::Gemini => {
                let word = if kind.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    kind
                } else {
                    gemini::status_word(status)
                };
                full(status, &gemini::error_body(status, word, msg))
            }
            Flavor::Responses => {
                // Validator messages are "<path>: <what>": the path is the API's `param`.
                let param = msg
                    .split_once(": ")
                    .map(|(p, _)| p)
                    .filter(|p| !p.contains(' '));
                let code = msg
                    .contains("Unknown parameter")
                    .then_some("unknown_parameter");
                full(
                    status,
                    &json!({"error": {"message": msg, "type": kind, "param": param, "code": code}}),
                )
            }
        }
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<MockBody> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        };
        self.log.lock().expect("log").push(Recorded {
            method: parts.method.to_string(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers: parts.headers.clone(),
            body: body.clone(),
        });
        if let Some(resp) = self.control(parts.uri.path(), &body) {
            return resp;
        }
        if self.flavor == Flavor::Gemini {
            return self.handle_gemini(&parts, &body).await;
        }
        if let Err(msg) = self.check_auth(&parts.headers) {
            return self.error(401, "authentication_error", &msg);
        }
        let oauth = self.flavor == Flavor::Anthropic && parts.headers.contains_key("authorization");
        let behavior = self.behavior.lock().expect("behavior").clone();
        let path = parts.uri.path();
        match (parts.method.as_str(), self.flavor, path) {
            ("GET", Flavor::Anthropic, "/v1/models") => {
                return full(
                    200,
                    &json!({"data": [{"type": "model", "id": "claude-mock-1", "display_name": "Claude Mock", "created_at": "2025-01-01T00:00:00Z"}], "has_more": false, "first_id": "claude-mock-1", "last_id": "claude-mock-1"}),
                );
            }
            ("GET", Flavor::OpenAi | Flavor::Responses, "/v1/models") => {
                return full(
                    200,
                    &json!({"object": "list", "data": [{"id": "gpt-mock-1", "object": "model", "created": 0, "owned_by": "mock"}]}),
                );
            }
            ("POST", Flavor::Anthropic, "/v1/messages")
            | ("POST", Flavor::Anthropic, "/v1/messages/count_tokens")
            | ("POST", Flavor::OpenAi, "/v1/chat/completions")
            | ("POST", Flavor::Responses, "/v1/responses") => {}
            _ => return self.error(404, "not_found_error", "Not found"),
        }
        if parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| !v.starts_with("application/json"))
        {
            return self.error(
                400,
                "invalid_request_error",
                "content-type must be application/json",
            );
        }
        let v: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return self.error(400, "invalid_request_error", &format!("invalid JSON: {e}"));
            }
        };
        if let Err(msg) = self.validate(path, &v) {
            return self.error(400, "invalid_request_error", &msg);
        }
        if oauth && path == "/v1/messages" {
            let first = match &v["system"] {
                Value::String(s) => s.clone(),
                Value::Array(b) => b
                    .first()
                    .and_then(|b| b["text"].as_str())
                    .unwrap_or("")
                    .to_string(),
                _ => String::new(),
            };
            if !first.starts_with("You are Claude Code, Anthropic's official CLI for Claude.") {
                return self.error(
                    400,
                    "invalid_request_error",
                    "This credential is only authorized for use with Claude Code and cannot be used for other API requests.",
                );
            }
        }
        if let Some(d) = behavior.delay_headers {
            tokio::time::sleep(d).await;
        }
        if let Some((status, body)) = &behavior.fail_with {
            let mut r = canned(*status, body);
            r.headers_mut()
                .insert("retry-after", "1".parse().expect("ra"));
            return r;
        }
        if path == "/v1/messages/count_tokens" {
            return full(200, &json!({"input_tokens": 42}));
        }
        let model = v["model"].as_str().unwrap_or("").to_string();
        let stream = v["stream"].as_bool().unwrap_or(false);
        let reply = script(&v, self.flavor);
        let mut resp = if stream {
            self.stream(&model, &reply, &v, &behavior)
        } else {
            full(200, &self.message(&model, &reply, &v))
        };
        let h = resp.headers_mut();
        h.insert("request-id", "req_mock_123".parse().expect("h"));
        h.insert("x-request-id", "req_mock_123".parse().expect("h"));
        h.insert(
            "anthropic-ratelimit-requests-remaining",
            "99".parse().expect("h"),
        );
        h.insert("x-ratelimit-remaining-requests", "99".parse().expect("h"));
        resp
    }

    /// `/__mock/*`: let out-of-process tests steer the mock and read what it saw.
    /// `POST /__mock/behavior {"fail_with": [429, "{...}"], "delay_ms": 0, "gap_ms": 0, "deltas": 3,
    /// "break_after": null, "fail_in_stream": "rate_limit_exceeded"}` (each call replaces all),
    /// `GET /__mock/requests` → `[{method, path, headers: {..}, body: <json or string>}]`.
    fn control(&self, path: &str, body: &Bytes) -> Option<Response<MockBody>> {
        match path {
            "/__mock/behavior" => {
                let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let mut b = self.behavior.lock().expect("behavior");
                b.fail_with = v["fail_with"].as_array().and_then(|a| {
                    Some((a.first()?.as_u64()? as u16, a.get(1)?.as_str()?.to_string()))
                });
                b.delay_headers = v["delay_ms"]
                    .as_u64()
                    .filter(|&d| d > 0)
                    .map(Duration::from_millis);
                b.event_gap = v["gap_ms"]
                    .as_u64()
                    .filter(|&d| d > 0)
                    .map(Duration::from_millis);
                b.deltas = v["deltas"].as_u64().unwrap_or(3) as usize;
                b.break_after = v["break_after"].as_u64().map(|n| n as usize);
                b.fail_in_stream = v["fail_in_stream"].as_str().map(String::from);
                Some(full(200, &json!({"ok": true})))
            }
            "/__mock/requests" => {
                let log = self.log.lock().expect("log");
                let items: Vec<Value> = log
                    .iter()
                    .filter(|r| !r.path_and_query.starts_with("/__mock"))
                    .map(|r| {
                        let headers: serde_json::Map<String, Value> = r
                            .headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
                            .collect();
                        let body = serde_json::from_slice::<Value>(&r.body)
                            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&r.body)));
                        json!({"method": r.method, "path": r.path_and_query, "headers": headers, "body": body})
                    })
                    .collect();
                Some(full(200, &Value::Array(items)))
            }
            _ => None,
        }
    }

    /// The Gemini flavor's routes (see `mock_gemini.rs`).
    async fn handle_gemini(
        &self,
        parts: &http::request::Parts,
        body: &Bytes,
    ) -> Response<MockBody> {
        let key = parts
            .headers
            .get("x-goog-api-key")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .or_else(|| gemini::query_key(parts.uri.query()));
        match key {
            None => {
                return self.error(
                    403,
                    "PERMISSION_DENIED",
                    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                );
            }
            Some(k) if k != self.key => {
                return self.error(
                    400,
                    "INVALID_ARGUMENT",
                    "API key not valid. Please pass a valid API key.",
                );
            }
            Some(_) => {}
        }
        let path = parts.uri.path();
        if parts.method == http::Method::GET && (path == "/v1beta/models" || path == "/v1/models") {
            return full(200, &gemini::models());
        }
        if parts.method == http::Method::GET
            && let Some(id) = path
                .strip_prefix("/v1beta/models/")
                .or_else(|| path.strip_prefix("/v1/models/"))
        {
            return match gemini::models()["models"]
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["name"] == format!("models/{id}")))
            {
                Some(m) => full(200, m),
                None => self.error(404, "NOT_FOUND", &format!("models/{id} is not found")),
            };
        }
        let Some((_, model, method)) = gemini::route(path) else {
            return self.error(
                404,
                "NOT_FOUND",
                &format!("Requested entity was not found: {path}"),
            );
        };
        if parts.method != http::Method::POST
            || !["generateContent", "streamGenerateContent", "countTokens"].contains(&method)
        {
            return self.error(404, "NOT_FOUND", &format!("Method not found: {method}"));
        }
        if parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| !v.starts_with("application/json"))
        {
            return self.error(
                400,
                "INVALID_ARGUMENT",
                "Invalid JSON payload received. Expected a JSON body.",
            );
        }
        let v: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return self.error(
                    400,
                    "INVALID_ARGUMENT",
                    &format!("Invalid JSON payload received. {e}"),
                );
            }
        };
        if method == "countTokens" {
            let inner = v.get("generateContentRequest").unwrap_or(&v);
            if let Err(msg) = llm_gateway::convert::validate_gemini_request(inner, model) {
                return self.error(400, "INVALID_ARGUMENT", &msg);
            }
            return full(200, &json!({"totalTokens": 42}));
        }
        if let Err(msg) = llm_gateway::convert::validate_gemini_request(&v, model) {
            return self.error(400, "INVALID_ARGUMENT", &msg);
        }
        let behavior = self.behavior.lock().expect("behavior").clone();
        if let Some(d) = behavior.delay_headers {
            tokio::time::sleep(d).await;
        }
        if let Some((status, body)) = &behavior.fail_with {
            return canned(*status, body);
        }
        // The SDKs send nested fields in snake_case, which Google reads too.
        let v = llm_gateway::convert::gemini::names::camel_case_fields(&v).into_owned();
        let reply = script(&v, Flavor::Gemini);
        if method == "generateContent" {
            return full(200, &gemini::response(model, &reply));
        }
        let sse = parts
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
        let events = gemini::frame(&gemini::chunks(model, &reply, behavior.deltas), sse);
        let ct = if sse {
            "text/event-stream"
        } else {
            "application/json"
        };
        self.send_events(events, &behavior, ct)
    }

    fn check_auth(&self, h: &HeaderMap) -> Result<(), String> {
        match self.flavor {
            Flavor::Anthropic if h.contains_key("authorization") => {
                // OAuth mode: a bearer token we issued, the OAuth beta, no x-api-key.
                if h.contains_key("x-api-key") {
                    return Err("send either x-api-key or a bearer token, not both".into());
                }
                let token = h
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or("");
                let betas = h
                    .get_all("anthropic-beta")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect::<Vec<_>>()
                    .join(",");
                if !betas.split(',').any(|b| b.trim() == "oauth-2025-04-20") {
                    return Err("OAuth authentication is currently not supported.".into());
                }
                if !self.oauth_tokens.lock().expect("tokens").contains(token) {
                    return Err("OAuth token has expired or is invalid".into());
                }
                if !h.contains_key("anthropic-version") {
                    return Err("anthropic-version header is required".into());
                }
            }
            Flavor::Anthropic => {
                if h.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(self.key.as_str()) {
                    return Err("invalid x-api-key".into());
                }
                if !h.contains_key("anthropic-version") {
                    return Err("anthropic-version header is required".into());
                }
            }
            // Checked in `handle_gemini`, which also reads `?key=`.
            Flavor::Gemini => {}
            Flavor::OpenAi | Flavor::Responses => {
                if h.contains_key("x-api-key") {
                    return Err("unexpected x-api-key header".into());
                }
                let want = format!("Bearer {}", self.key);
                if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
                    return Err("Incorrect API key provided".into());
                }
            }
        }
        Ok(())
    }

    fn validate(&self, path: &str, v: &Value) -> Result<(), String> {
        if !v.is_object() {
            return Err("body must be a JSON object".into());
        }
        // The rules the real APIs enforce (roles, pairing of tool calls and results,
        // ids, non-empty text, thinking budgets...), shared with the converter tests.
        if path != "/v1/messages/count_tokens" {
            match self.flavor {
                Flavor::Anthropic => llm_gateway::convert::validate_anthropic_request(v)?,
                Flavor::OpenAi => llm_gateway::convert::validate_openai_request(v)?,
                Flavor::Responses => return llm_gateway::convert::validate_responses_request(v),
                Flavor::Gemini => return llm_gateway::convert::validate_gemini_request(v, ""),
            }
        }
        if !v["model"].is_string() {
            return Err("model: Field required".into());
        }
        let msgs = v["messages"]
            .as_array()
            .filter(|m| !m.is_empty())
            .ok_or("messages: must be a non-empty array")?;
        match self.flavor {
            Flavor::Anthropic => {
                if path == "/v1/messages" && v["max_tokens"].as_u64().is_none_or(|n| n == 0) {
                    return Err("max_tokens: Field required".into());
                }
                for m in msgs {
                    // `system` messages inside `messages` are part of the current
                    // Messages API (SystemMessageParam; Claude Code sends one per turn).
                    match m["role"].as_str() {
                        Some("user" | "assistant" | "system") => {}
                        _ => {
                            return Err("messages: roles must be user, assistant or system".into());
                        }
                    }
                    match &m["content"] {
                        Value::String(s) if !s.is_empty() => {}
                        Value::Array(blocks) if !blocks.is_empty() => {
                            for b in blocks {
                                if b["type"] == "text"
                                    && b["text"].as_str().is_none_or(str::is_empty)
                                {
                                    return Err("text content blocks must be non-empty".into());
                                }
                            }
                        }
                        _ => return Err("messages: content must be non-empty".into()),
                    }
                }
            }
            Flavor::OpenAi => {
                for m in msgs {
                    match m["role"].as_str() {
                        Some("system" | "developer" | "user" | "assistant" | "tool") => {}
                        _ => return Err("messages: invalid role".into()),
                    }
                }
                if v["n"].as_u64().is_some_and(|n| n > 1) && v["stream"] == true {
                    return Err("n > 1 is not supported with streaming".into());
                }
            }
            Flavor::Responses | Flavor::Gemini => {}
        }
        Ok(())
    }

    fn message(&self, model: &str, reply: &Reply, req: &Value) -> Value {
        match (self.flavor, reply) {
            (Flavor::Responses, _) => responses::response_object(model, reply, req),
            (Flavor::Gemini, _) => gemini::response(model, reply),
            (Flavor::Anthropic, Reply::Text(t)) => json!({
                "id": "msg_mock_1", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": t}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            }),
            (Flavor::Anthropic, Reply::Tool { id, name, input }) => json!({
                "id": "msg_mock_2", "type": "message", "role": "assistant", "model": model,
                "content": reply.preamble().map(|p| vec![json!({"type": "text", "text": p})]).unwrap_or_default()
                    .into_iter().chain([json!({"type": "tool_use", "id": id, "name": name, "input": input})]).collect::<Vec<_>>(),
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 9},
            }),
            (Flavor::OpenAi, Reply::Text(t)) => json!({
                "id": "chatcmpl-mock1", "object": "chat.completion", "created": 1_700_000_000, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
            }),
            (Flavor::OpenAi, Reply::Tool { id, name, input }) => json!({
                "id": "chatcmpl-mock2", "object": "chat.completion", "created": 1_700_000_000, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
                    {"id": id, "type": "function", "function": {"name": name, "arguments": input.to_string()}}
                ]}, "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
            }),
        }
    }

    fn stream(&self, model: &str, reply: &Reply, req: &Value, b: &Behavior) -> Response<MockBody> {
        let events = match self.flavor {
            Flavor::Anthropic => anthropic_events(model, reply, b.deltas),
            Flavor::OpenAi => openai_events(
                model,
                reply,
                b.deltas,
                req["stream_options"]["include_usage"] == true,
            ),
            Flavor::Responses => match &b.fail_in_stream {
                Some(code) => responses::failed_events(model, req, code),
                None => responses::response_events(model, reply, req, b.deltas),
            },
            Flavor::Gemini => gemini::frame(&gemini::chunks(model, reply, b.deltas), true),
        };
        self.send_events(events, b, "text/event-stream")
    }

    /// Send `events` (or the behaviour's raw stream) as a streamed body, with the
    /// behaviour's gaps, breaks and stalls.
    fn send_events(
        &self,
        events: Vec<String>,
        b: &Behavior,
        content_type: &str,
    ) -> Response<MockBody> {
        let events = match &b.raw_stream {
            Some(raw) => vec![raw.clone()],
            None => events,
        };
        let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
        let gap = b.event_gap;
        let break_after = b.break_after;
        let stall_after = b.stall_after;
        let aborted = self.aborted.clone();
        tokio::spawn(async move {
            for (i, e) in events.into_iter().enumerate() {
                if stall_after == Some(i) {
                    // Silent but open until the client gives up.
                    tx.closed().await;
                    *aborted.lock().expect("aborted") += 1;
                    return;
                }
                if break_after == Some(i) {
                    // Let what was sent reach the wire first, as on a real broken connection.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = tx
                        .send(Err(std::io::Error::other("mock breaks the stream")))
                        .await;
                    return;
                }
                if tx.send(Ok(Frame::data(Bytes::from(e)))).await.is_err() {
                    *aborted.lock().expect("aborted") += 1;
                    return;
                }
                if let Some(g) = gap {
                    tokio::time::sleep(g).await;
                }
            }
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
        r.headers_mut()
            .insert("content-type", content_type.parse().expect("ct"));
        r.headers_mut()
            .insert("cache-control", "no-cache".parse().expect("cc"));
        r
    }
}

/// What the mock "model" answers.
pub enum Reply {
    Text(String),
    Tool {
        id: String,
        name: String,
        input: Value,
    },
}

impl Reply {
    /// Words before a tool call; a forced tool call has none (the API prefills it).
    fn preamble(&self) -> Option<&'static str> {
        match self {
            Reply::Tool { id, .. } if id == "toolu_mock_forced" => None,
            Reply::Tool { .. } => Some("Let me run that."),
            Reply::Text(_) => None,
        }
    }
}

/// A tiny scripted model: when offered a Bash/shell tool and no tool result has come
/// back yet, it calls the tool; otherwise it answers with text that quotes the last
/// tool result (so a tool round trip is visible in the final answer). A forced tool
/// choice is always called. Reads Chat `messages`, Anthropic `messages` and Responses
/// `input` items (`function_call_output` / `custom_tool_call_output`).
pub fn script(req: &Value, flavor: Flavor) -> Reply {
    let msgs = req["messages"].as_array().cloned().unwrap_or_default();
    let last_tool_result = if flavor == Flavor::Responses {
        responses::last_tool_output(req)
    } else if flavor == Flavor::Gemini {
        gemini::last_tool_output(req)
    } else {
        msgs.iter().rev().find_map(|m| match flavor {
            Flavor::OpenAi if m["role"] == "tool" => Some(content_text(&m["content"])),
            Flavor::Anthropic => m["content"].as_array().and_then(|blocks| {
                blocks
                    .iter()
                    .find(|b| b["type"] == "tool_result")
                    .map(|b| content_text(&b["content"]))
            }),
            _ => None,
        })
    };
    // A forced tool (Anthropic `tool_choice: {type: tool}`, OpenAI `{type: function}`)
    // is always called, as the real APIs do.
    let forced = match flavor {
        Flavor::Anthropic if req["tool_choice"]["type"] == "tool" => {
            req["tool_choice"]["name"].as_str()
        }
        Flavor::OpenAi if req["tool_choice"]["type"] == "function" => {
            req["tool_choice"]["function"]["name"].as_str()
        }
        Flavor::Responses => responses::forced_tool(req),
        Flavor::Gemini => gemini::forced_tool(req),
        _ => None,
    };
    if let Some(name) = forced {
        return Reply::Tool {
            id: "toolu_mock_forced".into(),
            name: name.to_string(),
            input: json!({"city": "Paris", "temperature_c": 21}),
        };
    }
    if let Some(result) = last_tool_result {
        return Reply::Text(format!("The tool said: {}", result.trim()));
    }
    let tools = if flavor == Flavor::Gemini {
        gemini::tools_as_chat(req)
    } else {
        req["tools"].as_array().cloned().unwrap_or_default()
    };
    let tool_name = |t: &Value| -> Option<String> {
        t["name"]
            .as_str()
            .or_else(|| t["function"]["name"].as_str())
            .map(String::from)
    };
    const SHELLS: &[&str] = &[
        "Bash",
        "bash",
        "run_shell",
        "exec_command",
        "shell_command",
        "shell",
        "run_shell_command",
        "get_weather",
    ];
    if let Some(tool) = tools
        .iter()
        .find(|t| tool_name(t).is_some_and(|n| SHELLS.contains(&n.as_str())))
    {
        let name = tool_name(tool).unwrap_or_default();
        // Arguments shaped by the tool's schema: Codex's `exec_command` takes `cmd`.
        let schema = if tool["parameters"].is_object() {
            &tool["parameters"]
        } else if tool["function"]["parameters"].is_object() {
            &tool["function"]["parameters"]
        } else {
            &tool["input_schema"]
        };
        let input = if name == "get_weather" {
            json!({"city": "Paris"})
        } else if schema["properties"]["cmd"].is_object() {
            json!({"cmd": "echo gateway-e2e-ok"})
        } else if schema["properties"]["command"]["type"] == "array" {
            json!({"command": ["bash", "-lc", "echo gateway-e2e-ok"]})
        } else {
            json!({"command": "echo gateway-e2e-ok", "description": "Print a marker"})
        };
        return Reply::Tool {
            id: "toolu_mock_01".into(),
            name,
            input,
        };
    }
    Reply::Text("Hello from the mock upstream.".into())
}

fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn sse(event: &str, data: &Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

fn split_text(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let n = n.max(1);
    let size = chars.len().div_ceil(n).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

pub fn anthropic_events(model: &str, reply: &Reply, deltas: usize) -> Vec<String> {
    let mut out = vec![sse(
        "message_start",
        &json!({"type": "message_start", "message": {"id": "msg_mock_s", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 12, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
    )];
    out.push(sse("ping", &json!({"type": "ping"})));
    let (text, tool) = match reply {
        Reply::Text(t) => (t.clone(), None),
        Reply::Tool { id, name, input } => {
            ("Let me run that.".to_string(), Some((id, name, input)))
        }
    };
    out.push(sse("content_block_start", &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
    for piece in split_text(&text, deltas) {
        out.push(sse("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})));
    }
    out.push(sse(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    let stop = if let Some((id, name, input)) = tool {
        out.push(sse("content_block_start", &json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})));
        out.push(sse("content_block_delta", &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}})));
        for piece in split_text(&input.to_string(), 3) {
            out.push(sse("content_block_delta", &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": piece}})));
        }
        out.push(sse(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": 1}),
        ));
        "tool_use"
    } else {
        "end_turn"
    };
    out.push(sse("message_delta", &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 5}})));
    out.push(sse("message_stop", &json!({"type": "message_stop"})));
    out
}

pub fn openai_events(
    model: &str,
    reply: &Reply,
    deltas: usize,
    include_usage: bool,
) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({"id": "chatcmpl-mock-s", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        if include_usage {
            c["usage"] = Value::Null;
        }
        format!("data: {c}\n\n")
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    let finish = match reply {
        Reply::Text(t) => {
            for piece in split_text(t, deltas) {
                out.push(chunk(json!({"content": piece}), Value::Null));
            }
            "stop"
        }
        Reply::Tool { id, name, input } => {
            out.push(chunk(json!({"tool_calls": [{"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}), Value::Null));
            for piece in split_text(&input.to_string(), 3) {
                out.push(chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                    Value::Null,
                ));
            }
            "tool_calls"
        }
    };
    out.push(chunk(json!({}), json!(finish)));
    if include_usage {
        let u = json!({"id": "chatcmpl-mock-s", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
            "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}});
        out.push(format!("data: {u}\n\n"));
    }
    out.push("data: [DONE]\n\n".to_string());
    out
}
