//! Claude subscription accounts against a mock OAuth server and a strict Anthropic
//! mock in OAuth mode: logins (pasted code and callback), refresh before expiry and
//! on a 401, rotation persisted, invalid_grant, concurrent refreshes, and request
//! shaping through the running server.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::mock::{Flavor, Mock};
use common::oauth_mock::OAuthMock;
use common::{Env, post_json};
use serde_json::{Value, json};

const CC: &str = "You are Claude Code, Anthropic's official CLI for Claude.";

struct World {
    env: Env,
    ant: Mock,
    oauth: OAuthMock,
}

fn world() -> World {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-unused");
    let oauth = OAuthMock::start(ant.oauth_tokens.clone());
    env.set_var("LLM_GATEWAY_ANTHROPIC_OAUTH_TOKEN_URL", &oauth.token_url());
    env.set_var(
        "LLM_GATEWAY_ANTHROPIC_OAUTH_AUTHORIZE_URL",
        &oauth.authorize_url(),
    );
    World { env, ant, oauth }
}

impl World {
    fn cmd(&self) -> Command {
        self.env.cmd()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.cmd().arg("--json").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Add an OAuth upstream from a refresh token the mock knows.
    fn add_with_refresh(&self, name: &str) {
        self.oauth.add_refresh(&format!("sk-ant-ort01-seed-{name}"));
        self.json(&[
            "upstream",
            "add",
            "--type",
            "oauth",
            "--provider",
            "anthropic",
            "--name",
            name,
            "--base-url",
            &self.ant.base_url(),
            "--refresh-token",
            &format!("sk-ant-ort01-seed-{name}"),
        ]);
    }

    fn tokens(&self, name: &str) -> Value {
        let text = std::fs::read_to_string(self.env.config_path()).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let v: Value = serde_json::to_value(v).unwrap();
        v["upstreams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap()["oauth"]
            .clone()
    }

    fn start(&self) -> common::Server {
        self.env.start()
    }
}

/// Start an interactive login, return the child and the authorize URL it printed.
fn begin_login(w: &World, extra: &[&str]) -> (std::process::Child, String) {
    common::begin_login(
        w.cmd()
            .args([
                "--json",
                "upstream",
                "add",
                "--type",
                "oauth",
                "--provider",
                "anthropic",
                "--name",
                "sub",
                "--no-browser",
            ])
            .args(["--base-url", &w.ant.base_url()])
            .args(extra),
    )
}

#[test]
fn pasted_code_login_checks_pkce_and_state() {
    let w = world();
    let (mut child, url) = begin_login(&w, &["--paste"]);
    assert!(url.starts_with(&w.oauth.authorize_url()));
    for p in [
        "code=true",
        "response_type=code",
        "code_challenge_method=S256",
        "client_id=9d1c250a-e61b-44d9-88ed-5944d1962f5e",
    ] {
        assert!(url.contains(p), "{p} in {url}");
    }
    let state = common::query_param(&url, "state");
    let challenge = common::query_param(&url, "code_challenge");
    w.oauth
        .with(|s| s.codes.insert("good-code".into(), challenge));
    writeln!(child.stdin.take().unwrap(), "good-code#{state}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["type"], "oauth");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("sk-ant-oat01-mock-1"),
        "token redacted"
    );
    let body = w.oauth.with(|s| s.last_body.clone()).unwrap();
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["state"], state.as_str());
    let t = w.tokens("sub");
    assert_eq!(t["access_token"], "sk-ant-oat01-mock-1");
    assert_eq!(t["refresh_token"], "sk-ant-ort01-mock-1");
    let st = w.json(&["oauth", "status", "sub"]);
    assert_eq!(st["has_refresh_token"], true);
    assert_eq!(st["needs_login"], false);
    assert!(st["expires_in_secs"].as_i64().unwrap() > 3500);
}

#[test]
fn wrong_state_is_refused_before_any_exchange() {
    let w = world();
    let (mut child, url) = begin_login(&w, &["--paste"]);
    let challenge = common::query_param(&url, "code_challenge");
    w.oauth
        .with(|s| s.codes.insert("good-code".into(), challenge));
    writeln!(child.stdin.take().unwrap(), "good-code#not-the-state").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert_eq!(w.oauth.with(|s| s.exchange_calls), 0);
    assert!(
        !w.env.config_path().exists()
            || !std::fs::read_to_string(w.env.config_path())
                .unwrap()
                .contains("sub")
    );
}

#[test]
fn callback_login() {
    let w = world();
    let (child, url) = begin_login(&w, &["--callback"]);
    let redirect = common::query_param(&url, "redirect_uri");
    assert!(
        redirect.starts_with("http://localhost:") && redirect.ends_with("/callback"),
        "{redirect}"
    );
    let state = common::query_param(&url, "state");
    let challenge = common::query_param(&url, "code_challenge");
    w.oauth
        .with(|s| s.codes.insert("cb-code".into(), challenge));
    let port = redirect
        .trim_start_matches("http://localhost:")
        .trim_end_matches("/callback")
        .to_string();
    // The browser's redirect, on loopback.
    let r = common::send(
        "GET",
        &format!("http://127.0.0.1:{port}/callback?code=cb-code&state={state}"),
        &[],
        "",
    );
    assert_eq!(r.status, 200);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.tokens("sub")["access_token"], "sk-ant-oat01-mock-1");
}

#[test]
fn requests_are_shaped_for_the_subscription() {
    let w = world();
    w.add_with_refresh("sub");
    let key = w.env.add_key("c", "read,write");
    let server = w.start();
    let url = format!("{}/v1/messages?beta=true", server.url);
    // A plain client: the identity line is added, betas merged, bearer used.
    let r = post_json(
        &url,
        &[
            ("x-api-key", &key),
            ("anthropic-beta", "prompt-caching-2024-07-31"),
        ],
        &json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "system": "Be brief.", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let got = w.ant.inference_requests().pop().unwrap();
    assert_eq!(got.headers["authorization"], "Bearer sk-ant-oat01-mock-1");
    assert!(got.headers.get("x-api-key").is_none());
    assert_eq!(
        got.headers["anthropic-beta"],
        "prompt-caching-2024-07-31,oauth-2025-04-20"
    );
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["system"][0]["text"], CC);
    assert_eq!(body["system"][1]["text"], "Be brief.");
    // Claude Code's own prompt is not doubled, and its body goes out untouched.
    let raw = json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "system": [{"type": "text", "text": CC}, {"type": "text", "text": "ctx"}], "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let r = common::send(
        "POST",
        &url,
        &[
            ("x-api-key", &key),
            ("content-type", "application/json"),
            ("anthropic-beta", "oauth-2025-04-20"),
        ],
        raw.clone(),
    );
    assert_eq!(r.status, 200);
    let got = w.ant.inference_requests().pop().unwrap();
    assert_eq!(got.body, bytes::Bytes::from(raw));
    assert_eq!(got.headers["anthropic-beta"], "oauth-2025-04-20");
    assert!(
        !server.logs().contains("sk-ant-oat01-mock"),
        "no tokens in logs"
    );
}

#[test]
fn refresh_before_expiry_persists_the_rotation() {
    let w = world();
    w.oauth.with(|s| s.expires_in = 30); // the first token is about to expire
    w.add_with_refresh("sub");
    assert_eq!(w.tokens("sub")["refresh_token"], "sk-ant-ort01-mock-1");
    w.oauth.with(|s| s.expires_in = 3600);
    let key = w.env.add_key("c", "read,write");
    let server = w.start();
    let r = post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &key)],
        &json!({"model": "claude-x", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Refreshed (by the proactive task and/or before the request), each rotation
    // written back, and the request carried the newest token.
    let t = w.tokens("sub");
    let n = w.oauth.with(|s| s.counter);
    assert_eq!(n, 2, "refreshed exactly once after the add");
    assert_eq!(
        t["refresh_token"],
        format!("sk-ant-ort01-mock-{n}"),
        "rotated token written back"
    );
    let got = w.ant.inference_requests().pop().unwrap();
    assert_eq!(
        got.headers["authorization"],
        format!("Bearer sk-ant-oat01-mock-{n}")
    );
    assert_eq!(w.oauth.with(|s| s.reuse_attempts), 0);
}

#[test]
fn refresh_once_on_401_then_retry() {
    let w = world();
    w.add_with_refresh("sub");
    let key = w.env.add_key("c", "read,write");
    let server = w.start();
    // The upstream forgets the token (revoked / expired early).
    w.ant.oauth_tokens.lock().unwrap().clear();
    let r = post_json(
        &format!("{}/v1/messages", server.url),
        &[("x-api-key", &key)],
        &json!({"model": "claude-x", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        w.oauth.with(|s| s.refresh_calls),
        2,
        "one at add time, one after the 401"
    );
    assert_eq!(w.tokens("sub")["access_token"], "sk-ant-oat01-mock-2");
}

#[test]
fn invalid_grant_marks_the_account_for_login_and_routing_skips_it() {
    let w = world();
    w.add_with_refresh("sub");
    let key = w.env.add_key("c", "read,write");
    let server = w.start();
    w.ant.oauth_tokens.lock().unwrap().clear();
    w.oauth.with(|s| s.refresh_valid.clear());
    let ask = || {
        post_json(
            &format!("{}/v1/messages", server.url),
            &[("x-api-key", &key)],
            &json!({"model": "claude-x", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}),
        )
    };
    let r = ask();
    assert_eq!(r.status, 401, "{}", r.text());
    let st = w.json(&["oauth", "status", "sub"]);
    assert_eq!(st["needs_login"], true, "{st}");
    assert!(st["last_error"].as_str().unwrap().contains("log in again"));
    let r = ask();
    assert_eq!(r.status, 529, "{}", r.text());
    assert!(r.text().contains("oauth start sub"));
    let before = w.ant.inference_requests().len();
    ask();
    assert_eq!(
        w.ant.inference_requests().len(),
        before,
        "skipped by routing"
    );
    let status = w.env.json(&["status"]);
    assert!(status["upstreams"][0]["state"].is_string());
}

#[test]
fn concurrent_refreshes_never_spend_a_token_twice() {
    let w = world();
    w.add_with_refresh("sub");
    w.oauth.with(|s| s.delay = Some(Duration::from_millis(300)));
    let children: Vec<_> = (0..4)
        .map(|_| {
            w.cmd()
                .args(["oauth", "refresh", "sub"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        w.oauth.with(|s| s.reuse_attempts),
        0,
        "no refresh token spent twice"
    );
    assert_eq!(w.oauth.with(|s| s.refresh_calls), 5);
    assert_eq!(w.tokens("sub")["refresh_token"], "sk-ant-ort01-mock-5");
}

#[test]
fn long_lived_tokens_and_import() {
    let w = world();
    w.ant
        .oauth_tokens
        .lock()
        .unwrap()
        .insert("sk-ant-oat01-longlived".into());
    w.json(&[
        "upstream",
        "add",
        "--type",
        "oauth",
        "--provider",
        "anthropic",
        "--name",
        "lt",
        "--base-url",
        &w.ant.base_url(),
        "--access-token",
        "sk-ant-oat01-longlived",
        "--expires-at",
        "2027-11-01T00:00:00Z",
    ]);
    let st = w.json(&["oauth", "status", "lt"]);
    assert_eq!(st["has_refresh_token"], false);
    assert_eq!(st["expires_at"], "2027-11-01T00:00:00Z");
    let out = w.cmd().args(["oauth", "refresh", "lt"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("long-lived"));

    let creds = w.env.home.path().join("creds.json");
    std::fs::write(&creds, r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-imported","refreshToken":"sk-ant-ort01-imported","expiresAt":1900000000000,"scopes":["user:inference"]}}"#).unwrap();
    let v = w.json(&[
        "oauth",
        "import",
        "--file",
        creds.to_str().unwrap(),
        "--name",
        "cc",
    ]);
    assert_eq!(v["has_refresh_token"], true);
    assert_eq!(w.tokens("cc")["access_token"], "sk-ant-oat01-imported");
    // Secrets stay out of every listing.
    let list = w.env.ok(&["upstream", "list"]);
    assert!(
        !list.contains("longlived") && !list.contains("imported"),
        "{list}"
    );
    let shown = w.env.ok(&["config", "show"]);
    assert!(
        !shown.contains("sk-ant-oat01-imported") && !shown.contains("sk-ant-ort01-imported"),
        "{shown}"
    );
}
