//! Team mode's shared state with a real `redis-server` started by the test: two gateway
//! processes with the same config (as two replicas behind a load balancer) share one
//! key's rpm (N in total, not N per replica) and budget, and an upstream's 429
//! cool-down; Redis killed mid-run leaves both serving and `status` saying degraded,
//! and Redis back makes them share again by themselves; fail-closed refuses budgeted
//! keys while Redis is down.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common;

use common::mock::{Flavor, Mock};
use common::redis::Redis;
use common::{Env, Server, eventually, post_json};

struct Team {
    envs: [Env; 2],
    servers: [Server; 2],
    ant: Mock,
    key: String,
}

/// One config, copied to two HOMEs (each replica writes its own runtime file and
/// ledger), both pointed at `redis`.
fn team(redis: &Redis, key_args: &[&str], tune: impl FnOnce(&Env)) -> Team {
    let a = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    a.add_upstream("ant", &ant, &[]);
    let mut args = vec!["apikey", "add", "--name", "team"];
    args.extend_from_slice(key_args);
    let key = a.json(&args)["key"].as_str().unwrap().to_string();
    let url = redis.url();
    a.edit_config(|v| {
        v["server"]["shared_state"] = url.clone().into();
        v["server"]["shared_state_timeout_ms"] = 50.into();
    });
    tune(&a);
    let b = Env::new();
    std::fs::create_dir_all(b.config_path().parent().unwrap()).unwrap();
    std::fs::copy(a.config_path(), b.config_path()).unwrap();
    let servers = [a.start(), b.start()];
    Team {
        envs: [a, b],
        servers,
        ant,
        key,
    }
}

fn ask(s: &Server, key: &str) -> common::Resp {
    post_json(
        &format!("{}/v1/messages", s.url),
        &[("x-api-key", key)],
        &json!({"model": "claude-sonnet-4-5", "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}]}),
    )
}

fn shared_state(env: &Env) -> Value {
    env.json(&["status"])["shared_state"].clone()
}

#[test]
fn two_replicas_share_a_keys_rpm() {
    let redis = Redis::start();
    let t = team(&redis, &["--rpm", "4"], |_| {});
    let mut statuses = Vec::new();
    for i in 0..8 {
        statuses.push(ask(&t.servers[i % 2], &t.key).status);
    }
    // Four in total, not four per replica.
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 429, 429, 429, 429],
        "{statuses:?}"
    );
    assert_eq!(t.ant.inference_requests().len(), 4);
    let r = ask(&t.servers[1], &t.key);
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(shared_state(&t.envs[0])["state"], "ok");
}

#[test]
fn two_replicas_share_a_budget_and_a_cooldown() {
    let redis = Redis::start();
    // The mock's answer (12 in, 5 out) costs $0.000111 at the built-in Sonnet price.
    let t = team(&redis, &["--budget", "0.0001"], |_| {});
    assert_eq!(ask(&t.servers[0], &t.key).status, 200);
    // The spend is charged off the request path: the other replica sees it shortly.
    assert!(
        eventually(Duration::from_secs(5), || ask(&t.servers[1], &t.key).status
            == 429),
        "replica b never saw the budget spent on replica a"
    );
    let r = ask(&t.servers[1], &t.key);
    assert_eq!(r.headers["x-should-retry"], "false");
    assert!(r.text().contains("budget"), "{}", r.text());

    // An upstream's 429 on one replica: the other rests it too, without asking it.
    let free = t.envs[0].json(&["apikey", "add", "--name", "free"])["key"]
        .as_str()
        .unwrap()
        .to_string();
    for e in &t.envs[1..] {
        // The same key in the second replica's copy of the config.
        std::fs::copy(t.envs[0].config_path(), e.config_path()).unwrap();
    }
    t.ant.set(|b| {
        b.fail_with = Some((
            429,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#.into(),
        ));
    });
    assert!(eventually(Duration::from_secs(5), || ask(
        &t.servers[0],
        &free
    )
    .status
        == 429));
    let seen = t.ant.inference_requests().len();
    t.ant.set(|b| b.fail_with = None);
    assert!(
        eventually(Duration::from_secs(5), || {
            let st = t.envs[1].json(&["status"]);
            st["upstreams"][0]["cooling_until"].is_string()
        }),
        "replica b never learnt the cool-down"
    );
    assert!(eventually(Duration::from_secs(5), || ask(
        &t.servers[1],
        &free
    )
    .status
        == 429));
    assert_eq!(
        t.ant.inference_requests().len(),
        seen,
        "replica b asked a resting upstream"
    );
}

#[test]
fn redis_down_degrades_and_recovers() {
    let mut redis = Redis::start();
    let t = team(&redis, &["--rpm", "100"], |_| {});
    assert_eq!(ask(&t.servers[0], &t.key).status, 200);
    redis.kill();
    // Both keep serving, on their own counts, and say so.
    for s in &t.servers {
        assert_eq!(ask(s, &t.key).status, 200);
    }
    let st = shared_state(&t.envs[1]);
    assert_eq!(st["state"], "degraded", "{st}");
    assert!(st["last_error"].is_string());
    let human = t.envs[1].ok(&["status"]);
    assert!(human.contains("shared state: degraded"), "{human}");
    assert!(t.servers[0].logs().contains("shared state unavailable"));
    // Redis back: shared again without a restart (the cool-down reader's calls and
    // the next request both find it).
    redis.restart();
    assert!(
        eventually(
            Duration::from_secs(10),
            || shared_state(&t.envs[0])["state"] == "ok"
        ),
        "never recovered: {}",
        shared_state(&t.envs[0])
    );
    // Requests count in Redis again (a worker's first call after the outage may still
    // find its old connection broken and count locally; the next ones are shared).
    assert!(eventually(Duration::from_secs(5), || {
        ask(&t.servers[0], &t.key).status == 200 && redis.cli(&["KEYS", "lgw:*"]).contains(":req")
    }));
}

#[test]
fn fail_closed_refuses_budgeted_keys_while_redis_is_down() {
    let mut redis = Redis::start();
    let t = team(&redis, &["--budget", "5"], |e| {
        e.edit_config(|v| v["server"]["shared_state_fail"] = "closed".into());
    });
    assert_eq!(ask(&t.servers[0], &t.key).status, 200);
    redis.kill();
    let r = ask(&t.servers[0], &t.key);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.text().contains("shared state is unavailable"),
        "{}",
        r.text()
    );
}

#[test]
fn two_replicas_spend_a_refresh_token_once() {
    use common::oauth_mock::OAuthMock;
    let redis = Redis::start();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-unused");
    let oauth = OAuthMock::start(ant.oauth_tokens.clone());
    let envs = [Env::new(), Env::new()];
    for e in &envs {
        e.set_var("LLM_GATEWAY_ANTHROPIC_OAUTH_TOKEN_URL", &oauth.token_url());
    }
    let a = &envs[0];
    // The first access token expires within the refresh margin: both replicas want to
    // refresh as soon as they start, and the token server is slow to answer.
    oauth.with(|s| s.expires_in = 30);
    oauth.add_refresh("sk-ant-ort01-seed");
    a.json(&[
        "upstream",
        "add",
        "--type",
        "oauth",
        "--provider",
        "anthropic",
        "--name",
        "sub",
        "--base-url",
        &ant.base_url(),
        "--refresh-token",
        "sk-ant-ort01-seed",
    ]);
    oauth.with(|s| {
        s.expires_in = 3600;
        s.delay = Some(Duration::from_millis(300));
    });
    let key = a.add_key("c", "read,write");
    let url = redis.url();
    a.edit_config(|v| v["server"]["shared_state"] = url.into());
    std::fs::create_dir_all(envs[1].config_path().parent().unwrap()).unwrap();
    std::fs::copy(a.config_path(), envs[1].config_path()).unwrap();
    let servers = [envs[0].start(), envs[1].start()];
    // Both serve, with the one new token; it was spent once, never twice.
    for s in &servers {
        assert!(
            eventually(Duration::from_secs(10), || ask(s, &key).status == 200),
            "{}",
            s.logs()
        );
    }
    assert_eq!(
        oauth.with(|s| s.reuse_attempts),
        0,
        "a refresh token spent twice"
    );
    assert_eq!(
        oauth.with(|s| s.refresh_calls),
        2,
        "one at add, one shared refresh"
    );
    let got: Vec<_> = ant
        .inference_requests()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_string())
        .collect();
    assert!(
        got.iter().all(|h| h == "Bearer sk-ant-oat01-mock-2"),
        "{got:?}"
    );
}

#[test]
fn the_window_in_redis_frees_what_a_minute_left_behind() {
    // The check script itself, with the clock given: rpm 3.
    let redis = Redis::start();
    let script = llm_gateway::shared::check_script();
    let check = |now: u64| -> Vec<String> {
        let out = redis.cli(&[
            "EVAL",
            &script,
            "3",
            "r",
            "t",
            "s",
            &now.to_string(),
            "3",
            "-1",
            "-1",
            "0",
            "60",
        ]);
        out.lines().map(str::to_string).collect()
    };
    assert_eq!(check(1000)[0], "0");
    assert_eq!(check(1010)[0], "0");
    assert_eq!(check(1030)[0], "0");
    // Full: the oldest request (second 1000) leaves at 1061.
    assert_eq!(check(1040), ["3", "3", "21", "0"]);
    // A replica whose clock is behind counts in the newest second, and is refused too.
    assert_eq!(check(1020)[0], "3");
    assert_eq!(check(1060)[0], "3");
    assert_eq!(check(1061)[0], "0");
    // Next frees at 1071 (second 1010); after a long quiet spell everything is free.
    assert_eq!(check(1062), ["3", "3", "9", "0"]);
    for now in [2000, 2000, 2000] {
        assert_eq!(check(now)[0], "0");
    }
    assert_eq!(redis.cli(&["HGET", "r", "n"]), "3");
}

#[test]
fn a_server_with_a_data_dir_writes_nothing_beside_its_config() {
    // What a read-only config mount needs (root ignores file modes, so the test looks
    // at what is written rather than making the directory read-only).
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    let key = env.add_key("c", "read,write");
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap().to_string();
    env.edit_config(|v| v["server"]["data_dir"] = data_dir.clone().into());
    let cfg_dir = env.config_path().parent().unwrap().to_path_buf();
    // The CLI's lock file: a server that took the lock (to write) would make it again.
    let _ = std::fs::remove_file(cfg_dir.join("config.yaml.lock"));
    let before: Vec<_> = std::fs::read_dir(&cfg_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let server = env.start();
    assert_eq!(ask(&server, &key).status, 200);
    // The CLI finds the server through the runtime file in the data dir.
    assert_eq!(env.json(&["status"])["upstreams"][0]["name"], "ant");
    assert!(data.path().join("server.json").exists());
    assert!(eventually(Duration::from_secs(5), || data
        .path()
        .join("usage.db")
        .exists()));
    let after: Vec<_> = std::fs::read_dir(&cfg_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "the server wrote beside its config");
}

#[test]
fn a_busy_key_leases_its_requests_instead_of_asking_redis_each_time() {
    let redis = Redis::start();
    let t = team(&redis, &["--rpm", "1000000"], |_| {});
    let calls = || -> u64 {
        let info = redis.cli(&["INFO", "commandstats"]);
        info.lines()
            .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
            .filter_map(|l| {
                l.split("calls=")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    };
    let before = calls();
    let start = std::time::Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_millis(2500) {
        assert_eq!(ask(&t.servers[0], &t.key).status, 200);
        n += 1;
    }
    let used = calls() - before;
    // After its first second, a lease covers about a second's worth of requests.
    assert!(used * 2 < n, "{used} script calls for {n} requests");
    // Every admitted request is counted in the shared window (leased ones included).
    let counted: u64 = redis
        .cli(&["HGET", &format!("lgw:{{{}}}:req", key_id(&t)), "n"])
        .parse()
        .unwrap_or(0);
    assert!(counted >= n, "{counted} counted for {n} admitted");
}

fn key_id(t: &Team) -> String {
    t.envs[0].json(&["apikey", "show", "team"])["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_conversation_stays_on_its_account_across_replicas() {
    let redis = Redis::start();
    let other = Mock::start(Flavor::Anthropic, "sk-ant-k2");
    let t = team(&redis, &[], |e| {
        e.add_upstream("ant2", &other, &[]);
        // Without stickiness the replicas would take turns between the two accounts.
        e.edit_config(|v| v["routing"]["strategy"] = "round-robin".into());
    });
    let served_by = |server: &Server, session: &str| -> &str {
        let (a, b) = (
            t.ant.inference_requests().len(),
            other.inference_requests().len(),
        );
        let r = post_json(
            &format!("{}/v1/messages", server.url),
            &[("x-api-key", &t.key)],
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 16,
                "metadata": {"user_id": session},
                "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        match (
            t.ant.inference_requests().len() - a,
            other.inference_requests().len() - b,
        ) {
            (1, 0) => "ant",
            (0, 1) => "ant2",
            x => panic!("served by {x:?}"),
        }
    };
    let mut seen = std::collections::HashSet::new();
    for i in 0..6 {
        let session = format!("user_abc_account__session_{i}");
        let first = served_by(&t.servers[0], &session);
        seen.insert(first);
        // The turn the other replica takes goes to the same account.
        std::thread::sleep(Duration::from_millis(100)); // the publish is off the request path
        assert_eq!(served_by(&t.servers[1], &session), first, "session {i}");
        assert_eq!(served_by(&t.servers[1], &session), first, "session {i}");
    }
    assert_eq!(seen.len(), 2, "round-robin should have used both accounts");
    // Sessions are stored hashed.
    assert!(!redis.cli(&["KEYS", "lgw:sticky:*"]).contains("session_"));
}
