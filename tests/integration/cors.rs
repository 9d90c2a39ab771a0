//! CORS through the running gateway: a preflight answered without a key for a listed
//! origin and refused for others, CORS headers on answers (errors included) to a
//! listed origin only, and a config that pairs `*` with credentials refused.

use crate::common;

use common::mock::{Flavor, Mock};
use common::{Env, send};

#[test]
fn preflights_and_answers_follow_the_listed_origins() {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    let key = env.add_key("c", "read,write");
    env.edit_config(|v| {
        v["server"]["cors"] =
            serde_yaml::from_str("{allowed_origins: ['https://app.example']}").unwrap();
    });
    let server = env.start();
    let url = format!("{}/v1/messages", server.url);
    let pre = |origin: &str| {
        send(
            "OPTIONS",
            &url,
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "content-type,x-api-key,x-stainless-os",
                ),
            ],
            "",
        )
    };
    let ok = pre("https://app.example");
    assert_eq!(ok.status, 204);
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        ok.headers["access-control-allow-headers"],
        "content-type, x-api-key, x-stainless-os"
    );
    let no = pre("https://evil.example");
    assert_eq!(no.status, 403);
    assert!(no.headers.get("access-control-allow-origin").is_none());
    // Answers: CORS headers for the listed origin, on errors too; none for others.
    let body = r#"{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#;
    let r = send(
        "POST",
        &url,
        &[
            ("origin", "https://app.example"),
            ("x-api-key", &key),
            ("content-type", "application/json"),
        ],
        body,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(
        r.headers["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("x-request-id")
    );
    let r = send("POST", &url, &[("origin", "https://app.example")], body);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let r = send(
        "POST",
        &url,
        &[
            ("origin", "https://evil.example"),
            ("x-api-key", &key),
            ("content-type", "application/json"),
        ],
        body,
    );
    assert_eq!(r.status, 200);
    assert!(r.headers.get("access-control-allow-origin").is_none());
    // The preflights never reached the upstream or needed a key.
    assert_eq!(ant.inference_requests().len(), 2);
}

#[test]
fn any_origin_with_credentials_is_refused() {
    let env = Env::new();
    env.add_key("c", "read,write");
    env.edit_config(|v| {
        v["server"]["cors"] =
            serde_yaml::from_str("{allowed_origins: ['*'], allow_credentials: true}").unwrap();
    });
    let out = env.run(&["server", "start", "--port", "0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot go with allow_credentials"), "{err}");
}
