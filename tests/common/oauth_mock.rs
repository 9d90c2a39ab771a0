//! A strict mock of Anthropic's OAuth token endpoint (`POST /v1/oauth/token`, JSON
//! bodies, PKCE S256, rotating refresh tokens). Access tokens it issues are accepted
//! by the Anthropic mock in OAuth mode (`Mock::oauth_tokens`).

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use sha2::Digest;

pub const CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

#[derive(Default)]
pub struct OAuthState {
    /// code → PKCE challenge registered by the test (what the browser step would do).
    pub codes: HashMap<String, String>,
    /// Refresh tokens that may still be spent.
    pub refresh_valid: HashSet<String>,
    /// Refresh tokens already spent (rotation).
    pub refresh_spent: HashSet<String>,
    pub refresh_calls: u32,
    /// A spent refresh token presented again: the bug this design must never have.
    pub reuse_attempts: u32,
    pub exchange_calls: u32,
    pub expires_in: u64,
    pub delay: Option<Duration>,
    pub counter: u32,
    pub last_body: Option<Value>,
}

pub struct OAuthMock {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<OAuthState>>,
    /// Shared with the Anthropic mock: the access tokens it accepts.
    pub access: Arc<Mutex<HashSet<String>>>,
    _thread: std::thread::JoinHandle<()>,
}

impl OAuthMock {
    pub fn start(access: Arc<Mutex<HashSet<String>>>) -> OAuthMock {
        let state = Arc::new(Mutex::new(OAuthState {
            expires_in: 3600,
            ..Default::default()
        }));
        let (s, a) = (state.clone(), access.clone());
        let (addr, thread) = super::serve::serve(move |req| handle(req, s.clone(), a.clone()));
        OAuthMock {
            addr,
            state,
            access,
            _thread: thread,
        }
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/v1/oauth/token", self.addr)
    }

    pub fn authorize_url(&self) -> String {
        format!("http://{}/oauth/authorize", self.addr)
    }

    /// Make a refresh token spendable.
    pub fn add_refresh(&self, token: &str) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refresh_valid
            .insert(token.into());
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut OAuthState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn reply(status: u16, v: &Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("ct"));
    r
}

fn invalid(kind: &str, desc: &str) -> Response<Full<Bytes>> {
    reply(400, &json!({"error": kind, "error_description": desc}))
}

fn s256(verifier: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let d = sha2::Sha256::digest(verifier.as_bytes());
    let mut out = String::new();
    for chunk in d.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<OAuthState>>,
    access: Arc<Mutex<HashSet<String>>>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if path != "/v1/oauth/token" {
        return reply(404, &json!({"error": "not_found"}));
    }
    if !ct.starts_with("application/json") {
        return invalid("invalid_request", "the token endpoint takes JSON");
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return invalid("invalid_request", "malformed JSON");
    };
    let delay = state.lock().unwrap_or_else(|p| p.into_inner()).delay;
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    st.last_body = Some(v.clone());
    if v["client_id"] != CLIENT_ID {
        return invalid("invalid_client", "unknown client_id");
    }
    match v["grant_type"].as_str() {
        Some("authorization_code") => {
            st.exchange_calls += 1;
            let code = v["code"].as_str().unwrap_or("");
            let Some(challenge) = st.codes.remove(code) else {
                return invalid("invalid_grant", "unknown or used code");
            };
            let verifier = v["code_verifier"].as_str().unwrap_or("");
            if s256(verifier) != challenge {
                return invalid(
                    "invalid_grant",
                    "code_verifier does not match the challenge",
                );
            }
            if v["redirect_uri"].as_str().is_none_or(str::is_empty)
                || v["state"].as_str().is_none_or(str::is_empty)
            {
                return invalid("invalid_request", "redirect_uri and state are required");
            }
        }
        Some("refresh_token") => {
            st.refresh_calls += 1;
            let r = v["refresh_token"].as_str().unwrap_or("").to_string();
            if st.refresh_spent.contains(&r) {
                st.reuse_attempts += 1;
                return invalid("invalid_grant", "refresh token already used");
            }
            if !st.refresh_valid.remove(&r) {
                return invalid("invalid_grant", "Refresh token not found or invalid");
            }
            st.refresh_spent.insert(r);
        }
        _ => return invalid("unsupported_grant_type", "unsupported grant_type"),
    }
    st.counter += 1;
    let n = st.counter;
    let access_token = format!("sk-ant-oat01-mock-{n}");
    let refresh_token = format!("sk-ant-ort01-mock-{n}");
    st.refresh_valid.insert(refresh_token.clone());
    access
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(access_token.clone());
    reply(
        200,
        &json!({
            "token_type": "Bearer",
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_in": st.expires_in,
            "scope": "user:inference user:profile",
            "account": {"uuid": "acc-1", "email_address": "dev@example.com"},
        }),
    )
}
