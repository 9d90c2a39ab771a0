//! Test harness: a temp HOME, the real `llm-gateway` binary, a running server, and a
//! small HTTP client. Everything talks to 127.0.0.1 only, with bounded waits.

#![allow(dead_code)]

pub mod chatgpt_mock;
pub mod fwdproxy;
pub mod mock;
pub mod oauth_mock;
pub mod redis;
pub mod serve;
pub mod tls;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_llm-gateway");

/// A fresh HOME with its own config.
pub struct Env {
    pub home: tempfile::TempDir,
    /// Extra environment for every process started from this Env.
    pub vars: std::sync::Mutex<Vec<(String, String)>>,
}

impl Env {
    pub fn new() -> Env {
        Env {
            home: tempfile::tempdir().expect("tempdir"),
            vars: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub fn set_var(&self, k: &str, v: &str) {
        self.vars.lock().expect("vars").push((k.into(), v.into()));
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.path().join(".llm-gateway").join("config.yaml")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("HOME", self.home.path())
            .env_remove("LLM_GATEWAY_CONFIG")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (k, v) in self.vars.lock().expect("vars").iter() {
            c.env(k, v);
        }
        c
    }

    /// Run a command; returns the output whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run llm-gateway")
    }

    /// Run a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "llm-gateway {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// Run a command with `--json` that must succeed; returns the parsed document.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// Create a gateway key; returns the key.
    pub fn add_key(&self, name: &str, perms: &str) -> String {
        let v = self.json(&["apikey", "add", "--name", name, "--permissions", perms]);
        v["key"].as_str().expect("key").to_string()
    }

    pub fn add_upstream(&self, name: &str, m: &mock::Mock, extra: &[&str]) -> String {
        // A Responses mock is an OpenAI upstream spoken to with `--api responses`.
        let (provider, api): (&str, &[&str]) = match m.flavor {
            mock::Flavor::Anthropic => ("anthropic", &[]),
            mock::Flavor::OpenAi => ("openai", &[]),
            mock::Flavor::Responses => ("openai", &["--api", "responses"]),
            // Gemini upstreams come with issue 14's `--provider gemini`.
            mock::Flavor::Gemini => ("gemini", &[]),
        };
        let base = m.base_url();
        let mut args = vec![
            "upstream",
            "add",
            "--type",
            "api-key",
            "--provider",
            provider,
            "--name",
            name,
            "--key",
            &m.key,
            "--base-url",
            &base,
        ];
        args.extend_from_slice(api);
        args.extend_from_slice(extra);
        self.json(&args)["id"].as_str().expect("id").to_string()
    }

    /// Edit the config file's YAML directly (for settings without a CLI command).
    pub fn edit_config(&self, f: impl FnOnce(&mut serde_yaml::Value)) {
        // Make sure the file exists first.
        self.ok(&["env", "list"]);
        let path = self.config_path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut v: serde_yaml::Value = if text.trim().is_empty() {
            serde_yaml::from_str("version: 1").expect("yaml")
        } else {
            serde_yaml::from_str(&text).expect("yaml")
        };
        f(&mut v);
        std::fs::write(&path, serde_yaml::to_string(&v).expect("yaml")).expect("write");
    }

    pub fn set_server(&self, key: &str, value: u64) {
        self.edit_config(|v| {
            v["server"][key] = serde_yaml::Value::Number(value.into());
        });
    }

    pub fn start(&self) -> Server {
        Server::start(self, &[])
    }
}

/// A running `llm-gateway server start --port 0`.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(env: &Env, extra: &[&str]) -> Server {
        let mut cmd = env.cmd();
        cmd.args(["server", "start", "--port", "0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn server");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let so = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.trim().to_string());
                }
                so.lock().expect("lock").push_str(&(line + "\n"));
            }
        });
        let err = child.stderr.take().expect("stderr");
        let se = stderr.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(err);
            let mut buf = [0u8; 4096];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                se.lock()
                    .expect("lock")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start: {}", stderr.lock().expect("lock"));
            }
        };
        Server {
            child,
            url,
            stdout,
            stderr,
        }
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").clone()
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Wait for exit (bounded); returns the exit code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Send one request and read the whole answer (bounded by 30 s).
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Resp {
    let body = body.into();
    runtime().block_on(async move {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let mut b = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(body)).expect("request");
        let resp = tokio::time::timeout(Duration::from_secs(30), client.request(req))
            .await
            .expect("timed out")
            .expect("request failed");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = tokio::time::timeout(Duration::from_secs(30), resp.into_body().collect())
            .await
            .expect("body timed out")
            .expect("body")
            .to_bytes();
        Resp {
            status,
            headers,
            body,
        }
    })
}

pub fn post_json(url: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    send("POST", url, &h, body.to_string())
}

/// Poll until `f` is true or the limit passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// Start an interactive login (`cmd`, a CLI command) with piped stdio; return the child
/// and the authorize URL it printed on stderr (the rest of stderr is drained).
pub fn begin_login(cmd: &mut Command) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the login");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the CLI printed the authorize URL")
            .expect("stderr line");
        if line.starts_with("http") {
            break line.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// A query parameter of a URL (`%3A` and `%2F` decoded, as in redirect URIs).
pub fn query_param(url: &str, name: &str) -> String {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    let raw = q
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} in {url}"));
    raw.replace("%3A", ":").replace("%2F", "/")
}
