//! Talking to upstreams: pooled HTTPS clients (HTTP/1.1 and HTTP/2 by ALPN) built
//! when the server starts or its proxy settings change, never per request; and how a
//! request is addressed and authenticated for each provider.
//!
//! The server runs one single-threaded runtime per core (see `server::workers`). A
//! pooled connection is driven by a task on the runtime that opened it, so a request
//! that borrowed another worker's connection would wake that worker's thread twice.
//! Each worker therefore has its own pool: [`UpstreamClient`] holds one client per
//! *pool slot*, and a thread picks its slot with [`enter_pool_slot`] (threads that
//! never do, such as the control runtime and the CLI, share slot 0).

mod connector;

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use thiserror::Error;

use crate::config::{Environment, Provider, ServerConfig, Upstream};
pub use connector::ProxyConnector;

/// Why an upstream call produced no response.
#[derive(Debug, Error)]
pub enum UpstreamError {
    #[error("could not connect to the upstream: {0}")]
    Connect(String),
    #[error("the upstream did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the upstream connection failed: {0}")]
    Io(String),
    #[error("invalid upstream address {0}")]
    BadUrl(String),
}

/// How many pool slots a new [`UpstreamClient`] has (1 until the server sets it).
static POOL_SLOTS: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static POOL_SLOT: Cell<usize> = const { Cell::new(0) };
}

/// Give clients built from now on `n` pool slots (at least 1).
pub fn set_pool_slots(n: usize) {
    POOL_SLOTS.store(n.max(1), Ordering::Relaxed);
}

/// Make this thread use pool slot `slot` of every client.
pub fn enter_pool_slot(slot: usize) {
    POOL_SLOT.with(|s| s.set(slot));
}

type PooledClient = Client<HttpsConnector<ProxyConnector>, Full<Bytes>>;

/// The pooled clients (one per slot) and the timeouts that apply to them.
pub struct UpstreamClient {
    clients: Vec<PooledClient>,
    matcher: Arc<Matcher>,
    pub first_byte_timeout: Duration,
    pub idle_stream_timeout: Duration,
}

impl UpstreamClient {
    pub fn new(env: &Environment, server: &ServerConfig) -> Result<Self, rustls::Error> {
        let mut b = Matcher::builder();
        if let Some(p) = &env.http_proxy {
            b = b.http(p.clone());
        }
        if let Some(p) = &env.https_proxy {
            b = b.https(p.clone());
        }
        if let Some(n) = &env.no_proxy {
            b = b.no(n.clone());
        }
        let matcher = Arc::new(b.build());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(ProxyConnector::new(
                matcher.clone(),
                Duration::from_secs(server.connect_timeout_secs),
            ));
        let slots = POOL_SLOTS.load(Ordering::Relaxed);
        let clients = (0..slots)
            .map(|_| {
                Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(90))
                    .pool_max_idle_per_host((256 / slots).max(32))
                    .pool_timer(TokioTimer::new())
                    .timer(TokioTimer::new())
                    .build(https.clone())
            })
            .collect();
        Ok(UpstreamClient {
            clients,
            matcher,
            first_byte_timeout: Duration::from_secs(server.first_byte_timeout_secs),
            idle_stream_timeout: Duration::from_secs(server.idle_stream_timeout_secs),
        })
    }

    /// Send a request and wait for the response head (bounded by the first-byte timeout).
    pub async fn send(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        self.send_before(req, None).await
    }

    /// Like [`send`](Self::send), also bounded by `deadline` (the instant, and the
    /// total time it stands for in error messages): one timer for both limits.
    pub async fn send_before(
        &self,
        mut req: Request<Full<Bytes>>,
        deadline: Option<(tokio::time::Instant, Duration)>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        if req.uri().scheme_str() == Some("http")
            && let Some(auth) = self
                .matcher
                .intercept(req.uri())
                .and_then(|i| i.basic_auth().cloned())
        {
            req.headers_mut().insert(header::PROXY_AUTHORIZATION, auth);
        }
        let slot = POOL_SLOT.with(Cell::get);
        let client = &self.clients[slot % self.clients.len()];
        let first_byte = (
            tokio::time::Instant::now() + self.first_byte_timeout,
            self.first_byte_timeout,
        );
        let (until, limit) = match deadline {
            Some(d) if d.0 < first_byte.0 => d,
            _ => first_byte,
        };
        match tokio::time::timeout_at(until, client.request(req)).await {
            Err(_) => Err(UpstreamError::Timeout(limit)),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) if e.is_connect() => Err(UpstreamError::Connect(error_chain(&e))),
            Ok(Err(e)) => Err(UpstreamError::Io(error_chain(&e))),
        }
    }
}

/// The error and its sources on one line (`a: b: c`), for logs.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The URL for an API path (`/v1/messages`, `/v1/chat/completions`, `/v1/models`)
/// on an upstream, keeping the client's query string.
///
/// Anthropic base URLs are hosts (`https://api.anthropic.com`, like
/// `ANTHROPIC_BASE_URL`); OpenAI base URLs include the version (`.../v1`, like
/// `OPENAI_BASE_URL`). A trailing `/v1` on an Anthropic base is tolerated. Gemini
/// base URLs are hosts too (`https://generativelanguage.googleapis.com`, like
/// `GOOGLE_GEMINI_BASE_URL`), and its API paths carry their version (`/v1beta/...`);
/// a trailing `/v1beta` or `/v1` on the base is tolerated.
pub fn upstream_uri(
    u: &Upstream,
    api_path: &str,
    query: Option<&str>,
) -> Result<Uri, UpstreamError> {
    let base = u.base_url().trim_end_matches('/');
    let path = match u.provider {
        Provider::Anthropic => format!("{}{api_path}", base.strip_suffix("/v1").unwrap_or(base)),
        Provider::Openai => format!("{base}{}", api_path.strip_prefix("/v1").unwrap_or(api_path)),
        Provider::Gemini => {
            let host = ["/v1beta", "/v1"]
                .iter()
                .find_map(|v| base.strip_suffix(v))
                .unwrap_or(base);
            format!("{host}{api_path}")
        }
    };
    let full = match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path,
    };
    full.parse()
        .map_err(|_| UpstreamError::BadUrl(u.base_url().to_string()))
}

/// Headers that belong to one connection (RFC 9110 §7.6.1, plus the legacy
/// `keep-alive` / `proxy-connection`) and never cross the gateway, either way.
pub const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Request headers not copied upstream: hop-by-hop ones, plus those the client
/// library sets for the new request itself.
pub fn is_hop_or_owned(name: &HeaderName) -> bool {
    let n = name.as_str();
    HOP_BY_HOP.contains(&n) || n == "host" || n == "content-length"
}

/// Put the upstream's credentials on a request, replacing the client's. Claude
/// subscriptions get their bearer token and the OAuth beta (see `oauth::shaping`);
/// ChatGPT subscriptions their bearer token, account id and Codex's headers (see
/// `oauth::chatgpt`; the body needs `chatgpt::shape` too).
pub fn authenticate(u: &Upstream, headers: &mut HeaderMap) {
    headers.remove(header::AUTHORIZATION);
    headers.remove("x-api-key");
    headers.remove(GOOG_API_KEY);
    if u.auth_type == crate::config::AuthType::OAuth {
        if let Some(t) = &u.oauth {
            match u.provider {
                Provider::Anthropic => {
                    crate::oauth::shaping::apply_headers(headers, &t.access_token)
                }
                Provider::Openai => crate::oauth::chatgpt::apply_headers(headers, t, None),
                Provider::Gemini => {} // refused by config validation
            }
        }
        return;
    }
    let Some(key) = u.api_key.as_deref() else {
        return;
    };
    match u.provider {
        Provider::Anthropic => {
            if let Ok(v) = HeaderValue::from_str(key) {
                let mut v = v;
                v.set_sensitive(true);
                headers.insert("x-api-key", v);
            }
            if !headers.contains_key("anthropic-version") {
                headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
            }
        }
        Provider::Openai => {
            if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {key}")) {
                v.set_sensitive(true);
                headers.insert(header::AUTHORIZATION, v);
            }
        }
        Provider::Gemini => {
            if let Ok(mut v) = HeaderValue::from_str(key) {
                v.set_sensitive(true);
                headers.insert(GOOG_API_KEY, v);
            }
        }
    }
}

/// The header Gemini's API key travels in (both ways: clients send the gateway key
/// there, and Gemini upstreams get theirs there).
pub const GOOG_API_KEY: &str = "x-goog-api-key";

#[cfg(test)]
mod tests {
    use super::*;

    fn up(p: Provider, base: Option<&str>) -> Upstream {
        Upstream {
            base_url: base.map(Into::into),
            api_key: Some("secret".into()),
            ..Upstream::for_test("u", p)
        }
    }

    #[test]
    fn uris_per_provider() {
        let a = up(Provider::Anthropic, None);
        assert_eq!(
            upstream_uri(&a, "/v1/messages", Some("beta=true"))
                .unwrap()
                .to_string(),
            "https://api.anthropic.com/v1/messages?beta=true"
        );
        let a = up(Provider::Anthropic, Some("http://127.0.0.1:9/v1"));
        assert_eq!(
            upstream_uri(&a, "/v1/messages", None).unwrap().to_string(),
            "http://127.0.0.1:9/v1/messages"
        );
        let o = up(Provider::Openai, Some("https://api.deepseek.com/v1/"));
        assert_eq!(
            upstream_uri(&o, "/v1/chat/completions", None)
                .unwrap()
                .to_string(),
            "https://api.deepseek.com/v1/chat/completions"
        );
        let g = up(Provider::Gemini, None);
        let path = "/v1beta/models/gemini-2.5-pro:streamGenerateContent";
        assert_eq!(
            upstream_uri(&g, path, Some("alt=sse")).unwrap().to_string(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        let g = up(Provider::Gemini, Some("http://127.0.0.1:9/v1beta/"));
        assert_eq!(
            upstream_uri(&g, "/v1beta/models", None)
                .unwrap()
                .to_string(),
            "http://127.0.0.1:9/v1beta/models"
        );
    }

    #[test]
    fn credentials_replace_the_clients() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer lgw_client"),
        );
        authenticate(&up(Provider::Anthropic, None), &mut h);
        assert!(h.get(header::AUTHORIZATION).is_none());
        assert_eq!(h["x-api-key"], "secret");
        assert_eq!(h["anthropic-version"], "2023-06-01");
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static("lgw_client"));
        authenticate(&up(Provider::Openai, None), &mut h);
        assert!(h.get("x-api-key").is_none());
        assert_eq!(h[header::AUTHORIZATION], "Bearer secret");
        let mut h = HeaderMap::new();
        h.insert(GOOG_API_KEY, HeaderValue::from_static("lgw_client"));
        authenticate(&up(Provider::Gemini, None), &mut h);
        assert_eq!(h[GOOG_API_KEY], "secret");
        assert!(h.get(header::AUTHORIZATION).is_none());
    }
}
