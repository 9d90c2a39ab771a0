//! `llm-gateway prices list|set|unset` against the real binary, with a temp HOME.

use crate::common;

use common::Env;
use serde_json::Value;

fn find<'a>(list: &'a Value, model: &str) -> Option<&'a Value> {
    list["prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["model"] == model)
}

#[test]
fn list_shows_the_built_in_table() {
    let env = Env::new();
    let all = env.json(&["prices", "list"]);
    assert_eq!(all["unit"], "USD per million tokens");
    let date = all["snapshot"]["date"].as_str().unwrap().to_string();
    assert_eq!(
        all["snapshot"]["models"].as_u64(),
        Some(all["prices"].as_array().unwrap().len() as u64)
    );
    assert_eq!(date.len(), 10, "{date}");
    assert!(all["prices"].as_array().unwrap().len() > 50);
    let sonnet = find(&all, "claude-sonnet-4-5").unwrap();
    assert_eq!(sonnet["source"], "builtin");
    assert_eq!(sonnet["provider"], "anthropic");
    assert_eq!(
        (sonnet["input"].as_f64(), sonnet["cache_read"].as_f64()),
        (Some(3.0), Some(0.3))
    );
    let pro = find(&all, "gemini-2.5-pro").unwrap();
    assert_eq!(pro["long_context"]["threshold_tokens"], 200_000);

    // --model: a glob, or a plain substring.
    let claude = env.json(&["prices", "list", "--model", "claude-*"]);
    let models: Vec<&str> = claude["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["model"].as_str().unwrap())
        .collect();
    assert!(!models.is_empty() && models.iter().all(|m| m.starts_with("claude-")));
    let gpt = env.json(&["prices", "list", "--model", "4o-mini"]);
    assert!(find(&gpt, "gpt-4o-mini").is_some());
    assert!(find(&gpt, "gpt-4o").is_none());

    let human = env.ok(&["prices", "list", "--model", "gemini-2.5-pro"]);
    let first = human.lines().next().unwrap();
    for col in [
        "MODEL",
        "INPUT",
        "OUTPUT",
        "CACHE READ",
        "CACHE WRITE",
        "SOURCE",
    ] {
        assert!(first.contains(col), "{first}");
    }
    assert!(
        human.contains(&format!("built-in (LiteLLM {date})")),
        "{human}"
    );
    assert!(human.contains(">200k: 2.5 / 15"), "{human}");
    assert!(env.ok(&["--help"]).contains("prices"));
    // Listing writes nothing.
    assert!(!env.config_path().exists());
}

#[test]
fn set_overrides_and_unset_restores() {
    let env = Env::new();
    let v = env.json(&[
        "prices",
        "set",
        "claude-sonnet-4-5",
        "--input",
        "2",
        "--output",
        "10",
        "--cache-read",
        "0.2",
    ]);
    assert_eq!(v["effective_source"], "config");
    assert_eq!(v["effective"]["cache_write"], 2.0, "defaults to input: {v}");
    let file = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(file.contains("prices:\n  claude-sonnet-4-5:\n"), "{file}");
    assert!(!file.contains("cache_write"), "{file}");

    let list = env.json(&["prices", "list", "--model", "claude-sonnet-4-5"]);
    let rows: Vec<_> = list["prices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["model"] == "claude-sonnet-4-5")
        .collect();
    assert_eq!(rows.len(), 1, "the config entry hides the built-in one");
    assert_eq!(rows[0]["source"], "config");
    assert_eq!(rows[0]["input"], 2.0);
    let human = env.ok(&["prices", "list", "--model", "claude-sonnet-4-5"]);
    assert!(human.contains("config"), "{human}");

    // A model the snapshot does not know.
    env.ok(&[
        "prices",
        "set",
        "deepseek-chat",
        "--input",
        "0.27",
        "--output",
        "1.1",
    ]);
    assert!(find(&env.json(&["prices", "list"]), "deepseek-chat").is_some());

    let v = env.json(&["prices", "unset", "claude-sonnet-4-5"]);
    assert_eq!(v["price"], Value::Null);
    assert!(
        v["effective_source"]
            .as_str()
            .unwrap()
            .starts_with("built-in")
    );
    assert_eq!(v["effective"]["input"], 3.0);
    let out = env.ok(&["prices", "unset", "deepseek-chat"]);
    assert!(out.contains("no price now"), "{out}");
    let file = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(!file.contains("prices:"), "{file}");
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let env = Env::new();
    env.ok(&["prices", "set", "m", "--input", "1", "--output", "2"]);
    let before = std::fs::read(env.config_path()).unwrap();
    for args in [
        vec!["prices", "set", "m", "--input", "-1", "--output", "2"],
        vec!["prices", "set", "m", "--input", "1", "--output", "nan"],
        vec![
            "prices",
            "set",
            "m",
            "--input",
            "1",
            "--output",
            "2",
            "--cache-write",
            "inf",
        ],
        vec!["prices", "set", "m", "--input", "x", "--output", "2"],
        vec!["prices", "set", " ", "--input", "1", "--output", "2"],
        vec!["prices", "set", "m", "--input", "1"],
        vec!["prices", "unset", "claude-sonnet-4-5"],
    ] {
        let out = env.run(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(!out.stderr.is_empty(), "{args:?} said nothing");
    }
    let out = env.run(&["prices", "unset", "claude-sonnet-4-5"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("built-in prices cannot be removed"), "{err}");
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);
}
