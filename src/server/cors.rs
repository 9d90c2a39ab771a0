//! CORS for browser clients (`server.cors`): the official SDKs run in browsers too
//! (Anthropic's with `dangerouslyAllowBrowser`, OpenAI's, google-genai), and a page on
//! another origin may call the gateway only if the gateway says so.
//!
//! - Off unless `server.cors.allowed_origins` lists origins (`https://app.example.com`,
//!   exact), or `*` for any origin (refused with `allow_credentials`, as the Fetch
//!   standard refuses it).
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is
//!   answered here, before authentication: the browser sends it without the key. An
//!   allowed origin gets 204 with the methods and the requested headers that are among
//!   the ones SDKs send (credentials, versions, `x-stainless-*`, Google's `x-goog-*`);
//!   any other origin gets 403 and no CORS headers.
//! - Every answer to an allowed origin carries `Access-Control-Allow-Origin` and the
//!   headers a client may read (`x-request-id`, `retry-after`, rate-limit headers).
//!   Requests from other origins are served as usual, without CORS headers, so the
//!   browser keeps the answer from the page.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use super::body::GatewayBody;
use crate::config::CorsConfig;

/// Request headers a browser client may send (compared lower-case), and prefixes.
const ALLOWED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "accept",
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "x-goog-api-key",
    "x-goog-api-client",
    "x-request-id",
    "openai-organization",
    "openai-project",
    "openai-beta",
    "idempotency-key",
];
const ALLOWED_PREFIXES: &[&str] = &["x-stainless-", "x-goog-"];

/// Response headers a page may read.
const EXPOSED: &str = "x-request-id, request-id, retry-after, x-should-retry, \
    anthropic-ratelimit-requests-remaining, anthropic-ratelimit-tokens-remaining, \
    x-ratelimit-remaining-requests, x-ratelimit-remaining-tokens";

/// How long a browser may cache a preflight answer.
const MAX_AGE: &str = "600";

fn header_allowed(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    ALLOWED_HEADERS.contains(&n.as_str()) || ALLOWED_PREFIXES.iter().any(|p| n.starts_with(p))
}

/// The value for `Access-Control-Allow-Origin` if `origin` may call the gateway.
fn allow_origin(cfg: &CorsConfig, origin: &HeaderValue) -> Option<HeaderValue> {
    if cfg.allowed_origins.is_empty() {
        return None;
    }
    let o = origin.to_str().ok()?;
    if cfg.allowed_origins.iter().any(|a| a == o) {
        return Some(origin.clone());
    }
    if !cfg.allow_credentials && cfg.allowed_origins.iter().any(|a| a == "*") {
        return Some(HeaderValue::from_static("*"));
    }
    None
}

/// Is this a CORS preflight?
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Answer a preflight.
pub fn preflight(cfg: &CorsConfig, headers: &HeaderMap, request_id: &str) -> Response<GatewayBody> {
    let origin = headers.get(header::ORIGIN);
    let allowed = origin.and_then(|o| allow_origin(cfg, o));
    let method_ok = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| matches!(m, "GET" | "POST"));
    let requested: Vec<&str> = headers
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let refused: Vec<&str> = requested
        .iter()
        .copied()
        .filter(|h| !header_allowed(h))
        .collect();
    let mut resp = Response::new(GatewayBody::full(bytes::Bytes::new()));
    super::handler::set_request_id(resp.headers_mut(), request_id);
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(allow) = allowed.filter(|_| method_ok && refused.is_empty()) else {
        *resp.status_mut() = StatusCode::FORBIDDEN;
        tracing::info!(
            target: "llm_gateway::access",
            id = %request_id,
            origin = ?origin,
            refused_headers = ?refused,
            "CORS preflight refused"
        );
        return resp;
    };
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    if !requested.is_empty()
        && let Ok(v) = HeaderValue::from_str(&requested.join(", "))
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE),
    );
    if cfg.allow_credentials {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    resp
}

/// Add the CORS headers to an answer for an allowed origin.
pub fn decorate(cfg: &CorsConfig, origin: Option<&HeaderValue>, resp: &mut Response<GatewayBody>) {
    let Some(allow) = origin.and_then(|o| allow_origin(cfg, o)) else {
        return;
    };
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    if cfg.allow_credentials {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(origins: &[&str], creds: bool) -> CorsConfig {
        CorsConfig {
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_credentials: creds,
        }
    }

    fn req(origin: &str, method: &str, headers: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, origin.parse().unwrap());
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            method.parse().unwrap(),
        );
        if !headers.is_empty() {
            h.insert(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                headers.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn preflights() {
        let c = cfg(&["https://app.example"], false);
        let sdk = "content-type, x-api-key, anthropic-version, \
            anthropic-dangerous-direct-browser-access, x-stainless-os, x-stainless-retry-count";
        let r = preflight(&c, &req("https://app.example", "POST", sdk), "r");
        assert_eq!(r.status(), 204);
        assert_eq!(
            r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
        assert!(
            r.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
                .to_str()
                .unwrap()
                .contains("x-stainless-os")
        );
        // Another origin, a method the gateway has no use for, an odd header: refused.
        for h in [
            req("https://evil.example", "POST", "x-api-key"),
            req("https://app.example", "DELETE", ""),
            req("https://app.example", "POST", "x-api-key, cookie-monster"),
        ] {
            let r = preflight(&c, &h, "r");
            assert_eq!(r.status(), 403);
            assert!(
                r.headers()
                    .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                    .is_none()
            );
        }
        // `*`: any origin, but never with credentials.
        let any = cfg(&["*"], false);
        let r = preflight(&any, &req("https://x.example", "POST", ""), "r");
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let r = preflight(
            &cfg(&["*"], true),
            &req("https://x.example", "POST", ""),
            "r",
        );
        assert_eq!(r.status(), 403);
        // Off by default.
        let r = preflight(
            &CorsConfig::default(),
            &req("https://app.example", "POST", ""),
            "r",
        );
        assert_eq!(r.status(), 403);
    }

    #[test]
    fn answers_to_allowed_origins_only() {
        let c = cfg(&["https://app.example"], true);
        let mut r = Response::new(GatewayBody::full(bytes::Bytes::new()));
        decorate(
            &c,
            Some(&HeaderValue::from_static("https://app.example")),
            &mut r,
        );
        assert_eq!(
            r.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
            "true"
        );
        assert!(
            r.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
                .to_str()
                .unwrap()
                .contains("x-request-id")
        );
        let mut r = Response::new(GatewayBody::full(bytes::Bytes::new()));
        decorate(
            &c,
            Some(&HeaderValue::from_static("https://evil.example")),
            &mut r,
        );
        assert!(r.headers().is_empty());
    }
}
