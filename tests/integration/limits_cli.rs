//! Per-key limits on the command line (`apikey add` / `set` / `show` / `list`) against
//! the real binary, with a temp HOME.

use crate::common;

use common::Env;
use serde_json::{Value, json};

fn fail(env: &Env, args: &[&str]) -> String {
    let out = env.run(args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn add_with_limits_then_set_and_clear() {
    let env = Env::new();
    let v = env.json(&[
        "apikey",
        "add",
        "--name",
        "ci",
        "--rpm",
        "60",
        "--tpm",
        "100000",
        "--budget",
        "25",
        "--budget-period",
        "week",
        "--models",
        "claude-*,gpt-4o",
    ]);
    assert!(v["key"].as_str().unwrap().starts_with("lgw_"));
    assert_eq!(v["rpm"], 60);
    assert_eq!(v["tpm"], 100_000);
    assert_eq!(v["budget_usd"], 25.0);
    assert_eq!(v["budget_period"], "week");
    assert_eq!(v["models"], json!(["claude-*", "gpt-4o"]));
    let id = v["id"].as_str().unwrap().to_string();

    // Stored in the config as the documented fields.
    let file = std::fs::read_to_string(env.config_path()).unwrap();
    for line in [
        "rpm: 60",
        "tpm: 100000",
        "budget_usd: 25",
        "budget_period: week",
    ] {
        assert!(file.contains(line), "{line} missing:\n{file}");
    }

    // `set`: change one, clear others, leave the rest.
    let v = env.json(&[
        "apikey", "set", "ci", "--rpm", "none", "--budget", "$7.50", "--models", "none",
    ]);
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["rpm"], Value::Null);
    assert_eq!(v["tpm"], 100_000);
    assert_eq!(v["budget_usd"], 7.5);
    assert_eq!(v["budget_period"], "week");
    assert_eq!(v["models"], json!([]));
    let v = env.json(&[
        "apikey",
        "set",
        &id,
        "--budget-period",
        "day",
        "--tpm",
        "none",
    ]);
    assert_eq!(
        (v["tpm"].clone(), v["budget_period"].clone()),
        (Value::Null, json!("day"))
    );

    let shown = env.json(&["apikey", "show", "ci"]);
    assert_eq!(shown["budget_usd"], 7.5);
    assert!(shown.get("usage").is_none(), "no server runs: limits only");
    assert!(shown.get("key").is_none());
    let human = env.ok(&["apikey", "show", "ci"]);
    assert!(human.contains("budget:      $7.50 per day"), "{human}");
    assert!(human.contains("rpm:         unlimited"), "{human}");
    assert!(human.contains("models:      all"), "{human}");

    let human = env.ok(&["apikey", "set", "ci", "--rpm", "5"]);
    assert!(human.contains("rpm 5, $7.50 per day"), "{human}");
}

#[test]
fn list_shows_limits_and_json_is_one_document() {
    let env = Env::new();
    env.ok(&["apikey", "add", "--name", "free"]);
    env.ok(&[
        "apikey", "add", "--name", "capped", "--rpm", "3", "--budget", "1",
    ]);
    let list = env.json(&["apikey", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["rpm"], Value::Null);
    assert_eq!(list[0]["budget_period"], "month");
    assert_eq!(list[1]["rpm"], 3);
    assert_eq!(list[1]["budget_usd"], 1.0);

    let human = env.ok(&["apikey", "list"]);
    assert!(human.lines().next().unwrap().contains("LIMITS"), "{human}");
    let capped = human.lines().find(|l| l.contains("capped")).unwrap();
    assert!(capped.contains("rpm 3, $1.00 per month"), "{capped}");
    let free = human.lines().find(|l| l.contains("free")).unwrap();
    assert!(free.trim_end().ends_with("none"), "{free}");

    // --json show and set print exactly one document.
    for args in [
        vec!["--json", "apikey", "show", "capped"],
        vec!["--json", "apikey", "set", "capped", "--tpm", "10"],
    ] {
        let out = env.ok(&args);
        serde_json::from_str::<Value>(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"));
    }
}

#[test]
fn bad_values_are_refused_and_nothing_is_written() {
    let env = Env::new();
    env.ok(&["apikey", "add", "--name", "k"]);
    let before = std::fs::read(env.config_path()).unwrap();
    for (args, needle) in [
        (vec!["apikey", "set", "k", "--rpm", "0"], "--rpm"),
        (vec!["apikey", "set", "k", "--tpm", "lots"], "--tpm"),
        (vec!["apikey", "set", "k", "--rpm", "-1"], "--rpm"),
        (vec!["apikey", "set", "k", "--budget", "-5"], "--budget"),
        (vec!["apikey", "set", "k", "--budget", "inf"], "--budget"),
        (
            vec!["apikey", "set", "k", "--models", "a,,b"],
            "empty pattern",
        ),
        (vec!["apikey", "set", "k"], "nothing to change"),
        (
            vec!["apikey", "set", "nope", "--rpm", "1"],
            "no gateway key",
        ),
        (
            vec!["apikey", "set", "k", "--budget-period", "year"],
            "year",
        ),
    ] {
        let err = fail(&env, &args);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let err = fail(&env, &["apikey", "add", "--name", "z", "--rpm", "0"]);
    assert!(err.contains("--rpm must be at least 1"), "{err}");
    let err = fail(&env, &["apikey", "add", "--name", "z", "--budget", "0"]);
    assert!(err.contains("--budget"), "{err}");
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);
}

#[test]
fn show_and_list_with_a_running_server() {
    let env = Env::new();
    env.ok(&[
        "apikey", "add", "--name", "capped", "--rpm", "3", "--budget", "1",
    ]);
    let _server = env.start();
    // With a server that answers, the documents stay single and the limits are there;
    // `usage` appears once the server reports each key's use (`keys[].usage`).
    let list = env.json(&["apikey", "list"]);
    let capped = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "capped")
        .unwrap();
    assert_eq!(capped["rpm"], 3);
    if let Some(u) = capped.get("usage") {
        assert_eq!(u["budget_period"], "month");
    }
    assert_eq!(env.json(&["apikey", "show", "capped"])["budget_usd"], 1.0);
    assert!(env.ok(&["apikey", "list"]).contains("capped"));
}
