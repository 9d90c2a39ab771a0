//! ChatGPT (Codex) subscription accounts through the real binary, against a strict
//! mock of auth.openai.com: the pasted-URL and callback logins (PKCE S256, state,
//! Codex's authorize parameters, form-encoded exchange), importing Codex's
//! `auth.json`, refresh rotating the token (JSON body), a spent token marking the
//! account for a new login, a taken callback port, and secrets redacted everywhere.

use crate::common;

use std::io::Write;
use std::process::Command;

use common::Env;
use common::chatgpt_mock::{ACCOUNT_ID, ChatgptAuthMock, jwt};
use serde_json::Value;

struct World {
    env: Env,
    auth: ChatgptAuthMock,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn world() -> World {
    let env = Env::new();
    let auth = ChatgptAuthMock::start();
    let port = free_port();
    env.set_var("LLM_GATEWAY_OPENAI_OAUTH_TOKEN_URL", &auth.token_url());
    env.set_var(
        "LLM_GATEWAY_OPENAI_OAUTH_AUTHORIZE_URL",
        &auth.authorize_url(),
    );
    env.set_var("LLM_GATEWAY_OPENAI_OAUTH_CALLBACK_PORT", &port.to_string());
    World { env, auth, port }
}

impl World {
    fn cmd(&self) -> Command {
        self.env.cmd()
    }

    fn json(&self, args: &[&str]) -> Value {
        self.env.json(args)
    }

    fn upstream(&self, name: &str) -> Value {
        let text = std::fs::read_to_string(self.env.config_path()).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let v: Value = serde_json::to_value(v).unwrap();
        v["upstreams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap()
            .clone()
    }

    /// No secret of `name` appears in any listing.
    fn assert_redacted(&self, name: &str) {
        let t = self.upstream(name)["oauth"].clone();
        let secrets = [
            t["access_token"].as_str().unwrap().to_string(),
            t["refresh_token"].as_str().unwrap().to_string(),
            t["id_token"]
                .as_str()
                .unwrap_or("no-id-token-here")
                .to_string(),
            ACCOUNT_ID.to_string(),
        ];
        for args in [
            vec!["--json", "upstream", "show", name],
            vec!["upstream", "show", name],
            vec!["--json", "upstream", "list"],
            vec!["config", "show"],
            vec!["--json", "config", "show"],
            vec!["--json", "oauth", "status", name],
            vec!["oauth", "status", name],
        ] {
            let out = self.env.ok(&args);
            for s in &secrets {
                assert!(!out.contains(s.as_str()), "{args:?} shows a secret: {out}");
            }
        }
    }
}

/// Start an interactive ChatGPT login; return the child and the URL it printed.
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
                "openai",
            ])
            .args(["--name", "gpt-sub", "--no-browser"])
            .args(extra),
    )
}

#[test]
fn pasted_url_login() {
    let w = world();
    let (mut child, url) = begin_login(&w, &["--paste"]);
    assert!(url.starts_with(&w.auth.authorize_url()), "{url}");
    for p in [
        "response_type=code",
        "client_id=app_EMoamEEZ73f0CkXaXp7hrann",
        "code_challenge_method=S256",
        "id_token_add_organizations=true",
        "codex_cli_simplified_flow=true",
        "originator=codex_cli_rs",
        "offline_access",
    ] {
        assert!(url.contains(p), "{p} in {url}");
    }
    let redirect = common::query_param(&url, "redirect_uri");
    assert_eq!(
        redirect,
        format!("http://localhost:{}/auth/callback", w.port)
    );
    let state = common::query_param(&url, "state");
    let challenge = common::query_param(&url, "code_challenge");
    w.auth
        .with(|s| s.codes.insert("good-code".into(), challenge));
    // What the browser's address bar shows after the login.
    writeln!(
        child.stdin.take().unwrap(),
        "{redirect}?code=good-code&scope=openid+profile&state={state}"
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["type"], "oauth");
    assert_eq!(v["provider"], "openai");
    assert_eq!(v["api"], "responses");
    assert_eq!(v["base_url"], "https://chatgpt.com/backend-api/codex");

    let body = w.auth.with(|s| s.last_body.clone()).unwrap();
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["redirect_uri"], redirect.as_str());
    assert!(w.auth.with(|s| {
        s.last_content_type
            .starts_with("application/x-www-form-urlencoded")
    }));
    let u = w.upstream("gpt-sub");
    assert_eq!(u["api"], "responses");
    assert_eq!(u["oauth"]["account_id"], ACCOUNT_ID);
    assert_eq!(u["oauth"]["refresh_token"], "rt_mock_1_rotating");
    assert!(u["oauth"]["id_token"].as_str().unwrap().contains('.'));

    let st = w.json(&["oauth", "status", "gpt-sub"]);
    assert_eq!(st["has_refresh_token"], true);
    assert_eq!(st["needs_login"], false);
    assert_eq!(st["plan"], "plus");
    // No expires_in in the answer: the expiry comes from the access token's JWT.
    assert!(st["expires_in_secs"].as_i64().unwrap() > 3500, "{st}");
    w.assert_redacted("gpt-sub");
    w.env.ok(&["config", "validate"]);
}

#[test]
fn wrong_state_is_refused_before_any_exchange() {
    let w = world();
    let (mut child, url) = begin_login(&w, &["--paste"]);
    let challenge = common::query_param(&url, "code_challenge");
    w.auth
        .with(|s| s.codes.insert("good-code".into(), challenge));
    writeln!(
        child.stdin.take().unwrap(),
        "http://localhost:{}/auth/callback?code=good-code&state=forged",
        w.port
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert_eq!(w.auth.with(|s| s.exchange_calls), 0);
}

#[test]
fn callback_login() {
    let w = world();
    let (child, url) = begin_login(&w, &["--callback"]);
    let state = common::query_param(&url, "state");
    let challenge = common::query_param(&url, "code_challenge");
    w.auth.with(|s| s.codes.insert("cb-code".into(), challenge));
    let r = common::send(
        "GET",
        &format!(
            "http://127.0.0.1:{}/auth/callback?code=cb-code&scope=openid&state={state}",
            w.port
        ),
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
    assert_eq!(w.upstream("gpt-sub")["oauth"]["account_id"], ACCOUNT_ID);
}

#[test]
fn taken_callback_port_suggests_paste() {
    let w = world();
    // Hold a port from the start (binding `w.port` after `free_port` released it can
    // lose a race with another test), and make it the callback port.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    w.env
        .set_var("LLM_GATEWAY_OPENAI_OAUTH_CALLBACK_PORT", &port.to_string());
    let out = w
        .cmd()
        .args(["upstream", "add", "--type", "oauth", "--provider", "openai"])
        .args(["--name", "gpt-sub", "--no-browser", "--callback"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&port.to_string()) && err.contains("--paste"),
        "{err}"
    );
}

#[test]
fn import_codex_login_then_refresh_rotates() {
    let w = world();
    let codex_home = w.env.home.path().join("codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    let file = codex_home.join("auth.json");
    let id_token = jwt("imported");
    std::fs::write(
        &file,
        serde_json::json!({
            "OPENAI_API_KEY": null,
            "tokens": {
                "id_token": id_token,
                "access_token": jwt("imported-access"),
                "refresh_token": "rt_imported_seed",
                "account_id": ACCOUNT_ID,
            },
            "last_refresh": "2025-09-01T12:34:56.123456Z",
        })
        .to_string(),
    )
    .unwrap();
    w.auth.add_refresh("rt_imported_seed");
    let v = w.json(&[
        "oauth",
        "import",
        "--provider",
        "openai",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(v["name"], "codex");
    assert_eq!(v["has_refresh_token"], true);
    let u = w.upstream("codex");
    assert_eq!(u["provider"], "openai");
    assert_eq!(u["api"], "responses");
    assert_eq!(u["oauth"]["account_id"], ACCOUNT_ID);
    w.assert_redacted("codex");

    // Refresh: a JSON body, and the rotated token is written back.
    let before = u["oauth"]["access_token"].clone();
    w.json(&["oauth", "refresh", "codex"]);
    let body = w.auth.with(|s| s.last_body.clone()).unwrap();
    assert_eq!(body["grant_type"], "refresh_token");
    assert_eq!(body["refresh_token"], "rt_imported_seed");
    assert!(
        w.auth
            .with(|s| s.last_content_type.starts_with("application/json"))
    );
    let u = w.upstream("codex");
    assert_eq!(u["oauth"]["refresh_token"], "rt_mock_1_rotating");
    assert_ne!(u["oauth"]["access_token"], before);
    assert_eq!(u["oauth"]["account_id"], ACCOUNT_ID);
    w.json(&["oauth", "refresh", "codex"]);
    assert_eq!(
        w.upstream("codex")["oauth"]["refresh_token"],
        "rt_mock_2_rotating"
    );
    assert_eq!(w.auth.with(|s| s.reuse_attempts), 0);

    // The token the Codex CLI still holds is spent: using it marks a login as needed.
    let v = w.json(&[
        "oauth",
        "import",
        "--provider",
        "openai",
        "--file",
        file.to_str().unwrap(),
        "--upstream",
        "codex",
    ]);
    assert_eq!(v["name"], "codex");
    let out = w.env.run(&["oauth", "refresh", "codex"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("log in again"));
    let st = w.json(&["oauth", "status", "codex"]);
    assert_eq!(st["needs_login"], true);
    assert_eq!(w.auth.with(|s| s.reuse_attempts), 1);

    // Importing into a Claude upstream, or Claude's file as Codex's, is refused.
    let out = w
        .env
        .run(&["oauth", "import", "--file", file.to_str().unwrap()]);
    assert!(!out.status.success());
}

#[test]
fn requests_reach_the_codex_backend_shaped_and_json_clients_get_the_folded_stream() {
    let w = world();
    let access = jwt("backend-access");
    // The Codex backend: a strict Responses mock that takes the subscription's token.
    let backend = common::mock::Mock::start(common::mock::Flavor::Responses, &access);
    w.env
        .set_var("LLM_GATEWAY_CODEX_BASE_URL", &backend.base_url());
    let file = w.env.home.path().join("auth.json");
    std::fs::write(
        &file,
        serde_json::json!({"OPENAI_API_KEY": null, "tokens": {"id_token": jwt("i"),
            "access_token": access, "refresh_token": "rt_seed", "account_id": ACCOUNT_ID}})
        .to_string(),
    )
    .unwrap();
    w.json(&[
        "oauth",
        "import",
        "--provider",
        "openai",
        "--file",
        file.to_str().unwrap(),
    ]);
    let key = w.env.add_key("c", "read,write");
    let server = w.env.start();
    let auth = format!("Bearer {key}");

    // A Responses client that wants one JSON answer, and a Chat client (converted).
    let r = common::post_json(
        &format!("{}/v1/responses", server.url),
        &[("authorization", &auth)],
        &serde_json::json!({"model": "gpt-5-codex", "input": "hi", "max_output_tokens": 500,
            "temperature": 0.2}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "response", "{v}");
    assert_eq!(v["status"], "completed");
    let c = common::post_json(
        &format!("{}/v1/chat/completions", server.url),
        &[("authorization", &auth)],
        &serde_json::json!({"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(c.status, 200, "{}", c.text());
    assert_eq!(
        c.json()["choices"][0]["message"]["content"],
        "Hello from the mock upstream."
    );

    for req in backend.inference_requests() {
        assert_eq!(req.path_and_query, "/v1/responses");
        let h = &req.headers;
        assert_eq!(h["chatgpt-account-id"], ACCOUNT_ID);
        assert_eq!(h["authorization"], format!("Bearer {access}").as_str());
        assert!(h.get("session_id").is_some());
        assert!(h.get("anthropic-version").is_none() && h.get("anthropic-beta").is_none());
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["stream"], true, "the backend only streams");
        assert_eq!(body["store"], false);
        assert!(body["input"].is_array());
        assert!(body.get("max_output_tokens").is_none(), "{body}");
        assert!(body["instructions"].is_string(), "{body}");
    }
    assert_eq!(backend.inference_requests().len(), 2);
}
