//! The command-line interface against the real binary, with a temp HOME.

use crate::common;

use std::time::Duration;

use common::{Env, mode};
use serde_json::Value;

#[test]
fn apikey_lifecycle_and_secrecy() {
    let env = Env::new();
    let created = env.json(&["apikey", "add", "--name", "laptop"]);
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("lgw_") && key.len() >= 48, "{key}");
    assert_eq!(created["permissions"], serde_json::json!(["read", "write"]));

    // Stored only as a hash; never printed again.
    let file = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(!file.contains(&key));
    let hash = llm_gateway::keys::hash_hex(&key);
    assert!(file.contains(&hash));
    for args in [
        vec!["apikey", "list"],
        vec!["--json", "apikey", "list"],
        vec!["apikey", "show", "laptop"],
        vec!["--json", "apikey", "show", &id],
        vec!["config", "show"],
    ] {
        let out = env.ok(&args);
        assert!(!out.contains(&key), "{args:?} leaked the key");
    }

    let list = env.json(&["apikey", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["prefix"].as_str().unwrap(), &key[..10]);

    assert_eq!(
        env.json(&["apikey", "disable", "laptop"])["status"],
        "disabled"
    );
    assert_eq!(env.json(&["apikey", "show", &id])["status"], "disabled");
    assert_eq!(env.json(&["apikey", "enable", &id])["status"], "enabled");

    let human = env.ok(&["apikey", "list"]);
    assert!(human.starts_with("ID "), "{human}");
    assert!(human.contains("laptop") && human.contains("read,write"));

    // Duplicate names are refused and nothing is written.
    let before = std::fs::read(env.config_path()).unwrap();
    let out = env.run(&["apikey", "add", "--name", "laptop"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);

    env.ok(&["apikey", "remove", "laptop"]);
    assert_eq!(env.json(&["apikey", "list"]), serde_json::json!([]));
}

#[test]
fn apikey_permissions_and_expiry() {
    let env = Env::new();
    let v = env.json(&[
        "apikey",
        "add",
        "--name",
        "ops",
        "--permissions",
        "admin,read",
        "--expires",
        "30d",
    ]);
    assert_eq!(v["permissions"], serde_json::json!(["read", "admin"]));
    let exp = humantime::parse_rfc3339(v["expires_at"].as_str().unwrap()).unwrap();
    let days = exp
        .duration_since(std::time::SystemTime::now())
        .unwrap()
        .as_secs()
        / 86400;
    assert!((29..=30).contains(&days), "{days}");
    let bad = env.run(&["apikey", "add", "--name", "x", "--expires", "soon"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid duration"));
    let bad = env.run(&["apikey", "add", "--name", "x", "--permissions", "root"]);
    assert!(!bad.status.success());
}

#[test]
fn upstreams_are_redacted_everywhere() {
    let env = Env::new();
    let secret = "sk-ant-api03-SECRETSECRETSECRET-xyz";
    let v = env.json(&[
        "upstream",
        "add",
        "--type",
        "api-key",
        "--provider",
        "anthropic",
        "--name",
        "main",
        "--key",
        secret,
        "--priority",
        "3",
        "--models",
        "claude-*, my-model",
    ]);
    assert_eq!(v["base_url"], "https://api.anthropic.com");
    assert_eq!(v["priority"], 3);
    assert_eq!(v["models"], serde_json::json!(["claude-*", "my-model"]));
    let id = v["id"].as_str().unwrap().to_string();

    // Key from stdin with `--key -`.
    let mut child = env
        .cmd()
        .args([
            "--json",
            "upstream",
            "add",
            "--type",
            "api-key",
            "--provider",
            "openai",
            "--name",
            "ds",
            "--key",
            "-",
            "--base-url",
            "https://api.deepseek.com/v1",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"sk-deepseek-STDINSECRET-123\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let file = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(file.contains("sk-deepseek-STDINSECRET-123"));

    for args in [
        vec!["upstream", "list"],
        vec!["--json", "upstream", "list"],
        vec!["upstream", "show", "main"],
        vec!["--json", "upstream", "show", &id],
        vec!["config", "show"],
        vec!["--json", "config", "show"],
    ] {
        let out = env.ok(&args);
        assert!(!out.contains("SECRETSECRET"), "{args:?} leaked: {out}");
        assert!(!out.contains("STDINSECRET"), "{args:?} leaked: {out}");
    }

    assert_eq!(
        env.json(&["upstream", "disable", "main"])["status"],
        "disabled"
    );
    assert_eq!(
        env.json(&["upstream", "enable", "main"])["status"],
        "enabled"
    );

    // Bad input: clear one-line errors, non-zero exit, nothing written.
    let before = std::fs::read(env.config_path()).unwrap();
    for args in [
        vec![
            "upstream",
            "add",
            "--type",
            "api-key",
            "--provider",
            "openai",
            "--name",
            "x",
            "--key",
            "k",
            "--base-url",
            "ftp://x",
        ],
        vec![
            "upstream",
            "add",
            "--type",
            "api-key",
            "--provider",
            "openai",
            "--name",
            "main",
            "--key",
            "k",
        ],
        vec![
            "upstream",
            "add",
            "--type",
            "api-key",
            "--provider",
            "openai",
            "--name",
            "nokey",
        ],
        vec![
            "upstream",
            "add",
            "--type",
            "oauth",
            "--provider",
            "openai",
            "--api",
            "chat",
            "--name",
            "sub",
        ],
        vec!["upstream", "show", "nope"],
    ] {
        let out = env.run(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);

    env.ok(&["upstream", "remove", "ds"]);
    assert_eq!(env.json(&["upstream", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn routes_in_trial_order() {
    let env = Env::new();
    env.json(&[
        "upstream",
        "add",
        "--type",
        "api-key",
        "--provider",
        "openai",
        "--name",
        "oai",
        "--key",
        "sk-1",
    ]);
    let a = env.json(&[
        "route",
        "add",
        "--match",
        "claude-*",
        "--upstream",
        "oai",
        "--model",
        "gpt-4o",
    ]);
    env.json(&[
        "route",
        "add",
        "--match",
        "claude-haiku-*",
        "--provider",
        "openai",
    ]);
    env.json(&[
        "route",
        "add",
        "--match",
        "fast",
        "--upstream",
        "oai",
        "--model",
        "gpt-4o-mini",
    ]);
    let list = env.json(&["route", "list"]);
    let order: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["match"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec!["fast", "claude-haiku-*", "claude-*"]);
    assert_eq!(list[2]["upstream_name"], "oai");
    let human = env.ok(&["route", "list"]);
    assert!(human.contains("ORDER") && human.contains("gpt-4o-mini"));

    let out = env.run(&["route", "add", "--match", "x", "--upstream", "missing"]);
    assert!(!out.status.success());
    let out = env.run(&["route", "add", "--match", "x"]);
    assert!(!out.status.success(), "a target is required");

    env.ok(&["route", "remove", a["id"].as_str().unwrap()]);
    assert_eq!(env.json(&["route", "list"]).as_array().unwrap().len(), 2);
    // Removing the upstream removes the routes that point at it.
    let out = env.ok(&["upstream", "remove", "oai"]);
    assert!(out.contains("1 route"), "{out}");
    assert_eq!(env.json(&["route", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn env_proxy_settings() {
    let env = Env::new();
    env.ok(&[
        "env",
        "set",
        "--https-proxy",
        "http://bob:hunter2@127.0.0.1:3128",
        "--no-proxy",
        "localhost,.internal",
    ]);
    let list = env.json(&["env", "list"]);
    assert_eq!(list[1]["name"], "https_proxy");
    assert_eq!(list[1]["value"], "http://bob:****@127.0.0.1:3128");
    assert_eq!(list[0]["value"], Value::Null);
    assert_eq!(
        env.ok(&["env", "show", "--name", "NO_PROXY"]).trim(),
        "localhost,.internal"
    );
    assert!(!env.ok(&["env", "list"]).contains("hunter2"));
    env.ok(&["env", "unset", "--name", "https_proxy"]);
    assert_eq!(
        env.json(&["env", "show", "--name", "https_proxy"])["value"],
        Value::Null
    );
    assert!(
        !env.run(&["env", "set", "--http-proxy", "not a url"])
            .status
            .success()
    );
    assert!(
        !env.run(&["env", "show", "--name", "ftp_proxy"])
            .status
            .success()
    );
    assert!(!env.run(&["env", "set"]).status.success());
}

#[test]
fn broken_config_is_refused_and_left_untouched() {
    let env = Env::new();
    env.ok(&["apikey", "add", "--name", "a"]);
    let path = env.config_path();
    let mut text = std::fs::read_to_string(&path).unwrap();
    text = text.replace("  port: 3847", "  port: 3847\n  prot: 1");
    std::fs::write(&path, &text).unwrap();

    for args in [
        vec!["apikey", "list"],
        vec!["apikey", "add", "--name", "b"],
        vec!["config", "validate"],
    ] {
        let out = env.run(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("line 6"), "{args:?}: {err}");
        assert!(err.contains("prot"), "{err}");
        assert!(err.contains("mv "), "recovery hint: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "never overwritten"
    );

    let v = env.run(&["--json", "config", "validate"]);
    assert!(!v.status.success());
    let doc: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(doc["valid"], false);

    // Syntax errors too.
    std::fs::write(&path, "version: 1\ngateway_keys: [\n").unwrap();
    let out = env.run(&["apikey", "list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("line"));
}

#[test]
fn config_path_flag_env_and_permissions() {
    let env = Env::new();
    let custom = env.home.path().join("elsewhere").join("gw.yaml");
    env.ok(&[
        "--config",
        custom.to_str().unwrap(),
        "apikey",
        "add",
        "--name",
        "a",
    ]);
    assert!(custom.exists());
    assert!(!env.config_path().exists());
    assert_eq!(mode(&custom), 0o600);
    assert_eq!(mode(custom.parent().unwrap()), 0o700);

    let out = env
        .cmd()
        .env("LLM_GATEWAY_CONFIG", &custom)
        .args(["--json", "apikey", "list"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(
        env.ok(&["--config", custom.to_str().unwrap(), "config", "path"])
            .trim(),
        custom.to_str().unwrap()
    );

    env.ok(&["apikey", "add", "--name", "default-home"]);
    assert_eq!(mode(&env.config_path()), 0o600);
    assert_eq!(mode(env.config_path().parent().unwrap()), 0o700);
    assert!(env.ok(&["config", "validate"]).contains("is valid"));
}

#[test]
fn concurrent_writers_lose_nothing() {
    let env = Env::new();
    let children: Vec<_> = (0..24)
        .map(|i| {
            env.cmd()
                .args(["apikey", "add", "--name", &format!("k{i}")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let list = env.json(&["apikey", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 24);
    // No temp files left behind.
    let leftovers: Vec<_> = std::fs::read_dir(env.config_path().parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn completions_and_help() {
    let env = Env::new();
    let bash = env.ok(&["completions", "bash"]);
    assert!(bash.contains("llm-gateway") && bash.contains("apikey"));
    let help = env.ok(&["--help"]);
    for cmd in [
        "apikey",
        "upstream",
        "route",
        "env",
        "server",
        "status",
        "health",
        "config",
        "completions",
    ] {
        assert!(help.contains(cmd), "help lacks {cmd}");
    }
}

#[test]
fn status_without_server_fails_clearly() {
    let env = Env::new();
    let start = std::time::Instant::now();
    let out = env.run(&["status"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running"));
    let out = env.run(&["--json", "health"]);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["healthy"], false);
    assert!(start.elapsed() < Duration::from_secs(10));
}
