//! A strict mock of auth.openai.com's token endpoint (`POST /oauth/token`) as Codex
//! CLI uses it: the code exchange is form-urlencoded with Codex's client id, a
//! `localhost:<port>/auth/callback` redirect and a PKCE S256 verifier; the refresh is
//! JSON; refresh tokens rotate and a spent one is refused with OpenAI's
//! `refresh_token_reused` (401). Answers carry an ID token and an access token that
//! are JWTs with the `https://api.openai.com/auth` claim (account id, plan) and an
//! `exp`, and no `expires_in` (the client must read the JWT).

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use sha2::Digest;

pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
pub const ACCOUNT_ID: &str = "a1b2c3d4-acct-mock-5678-90abcdef1234";

#[derive(Default)]
pub struct State {
    /// code → PKCE challenge registered by the test (the browser step).
    pub codes: HashMap<String, String>,
    pub refresh_valid: HashSet<String>,
    pub refresh_spent: HashSet<String>,
    pub refresh_calls: u32,
    pub reuse_attempts: u32,
    pub exchange_calls: u32,
    pub counter: u32,
    pub last_body: Option<Value>,
    pub last_content_type: String,
}

pub struct ChatgptAuthMock {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    _thread: std::thread::JoinHandle<()>,
}

impl ChatgptAuthMock {
    pub fn start() -> ChatgptAuthMock {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let (addr, thread) = super::serve::serve(move |req| handle(req, s.clone()));
        ChatgptAuthMock {
            addr,
            state,
            _thread: thread,
        }
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/oauth/token", self.addr)
    }

    pub fn authorize_url(&self) -> String {
        format!("http://{}/oauth/authorize", self.addr)
    }

    pub fn add_refresh(&self, token: &str) {
        self.with(|s| s.refresh_valid.insert(token.into()));
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

pub fn base64url(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An unsigned JWT carrying OpenAI's ChatGPT claims, expiring in an hour.
pub fn jwt(subject: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 3600;
    let claims = json!({
        "sub": subject,
        "exp": exp,
        "email": "dev@example.com",
        "https://api.openai.com/auth": {
            "chatgpt_account_id": ACCOUNT_ID,
            "chatgpt_plan_type": "plus",
        },
    });
    format!(
        "{}.{}.c2ln",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(claims.to_string().as_bytes())
    )
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
    base64url(&sha2::Sha256::digest(verifier.as_bytes()))
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let mut m = serde_json::Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        m.insert(decode(k), Value::String(decode(v)));
    }
    Value::Object(m)
}

async fn handle(req: Request<Incoming>, state: Arc<Mutex<State>>) -> Response<Full<Bytes>> {
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
    if path != "/oauth/token" {
        return reply(404, &json!({"error": "not_found"}));
    }
    let v = if ct.starts_with("application/x-www-form-urlencoded") {
        form(&body)
    } else if ct.starts_with("application/json") {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => v,
            Err(_) => return invalid("invalid_request", "malformed JSON"),
        }
    } else {
        return invalid("invalid_request", "unsupported content type");
    };
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    st.last_body = Some(v.clone());
    st.last_content_type = ct.clone();
    if v["client_id"] != CLIENT_ID {
        return invalid("invalid_client", "unknown client_id");
    }
    match v["grant_type"].as_str() {
        Some("authorization_code") => {
            // Codex sends the exchange as a form.
            if !ct.starts_with("application/x-www-form-urlencoded") {
                return invalid("invalid_request", "the code exchange is form-encoded");
            }
            st.exchange_calls += 1;
            let code = v["code"].as_str().unwrap_or("");
            let Some(challenge) = st.codes.remove(code) else {
                return invalid("invalid_grant", "unknown or used code");
            };
            if s256(v["code_verifier"].as_str().unwrap_or("")) != challenge {
                return invalid("invalid_grant", "code_verifier does not match");
            }
            let redirect = v["redirect_uri"].as_str().unwrap_or("");
            let port_ok = redirect
                .strip_prefix("http://localhost:")
                .and_then(|r| r.strip_suffix("/auth/callback"))
                .is_some_and(|p| p.parse::<u16>().is_ok());
            if !port_ok {
                return invalid("invalid_request", "redirect_uri is not registered");
            }
        }
        Some("refresh_token") => {
            // Codex refreshes with JSON.
            if !ct.starts_with("application/json") {
                return invalid("invalid_request", "the refresh is JSON");
            }
            st.refresh_calls += 1;
            let r = v["refresh_token"].as_str().unwrap_or("").to_string();
            if st.refresh_spent.contains(&r) {
                st.reuse_attempts += 1;
                return reply(
                    401,
                    &json!({"error": {"message": "Your refresh token has already been used",
                        "type": "invalid_request_error", "code": "refresh_token_reused"}}),
                );
            }
            if !st.refresh_valid.remove(&r) {
                return reply(
                    401,
                    &json!({"error": {"message": "invalid refresh token",
                        "code": "refresh_token_invalidated"}}),
                );
            }
            st.refresh_spent.insert(r);
        }
        _ => return invalid("unsupported_grant_type", "unsupported grant_type"),
    }
    st.counter += 1;
    let n = st.counter;
    let refresh_token = format!("rt_mock_{n}_rotating");
    st.refresh_valid.insert(refresh_token.clone());
    reply(
        200,
        &json!({
            "id_token": jwt(&format!("id-{n}")),
            "access_token": jwt(&format!("access-{n}")),
            "refresh_token": refresh_token,
        }),
    )
}
