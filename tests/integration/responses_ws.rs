//! The Responses API's WebSocket mode through the running gateway: `GET /v1/responses`
//! upgraded, `response.create` messages served through the ordinary pipeline on
//! converted (Anthropic, Chat) and passed-through (Responses) upstreams, the
//! conversation continued by `previous_response_id` with only the new input, Codex's
//! warm-up (`generate: false`), errors as `error` events on a socket that stays usable,
//! and keys refused before the upgrade.

use crate::common;

use std::time::Duration;

use common::mock::{Flavor, Mock};
use common::{Env, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Setup {
    _env: Env,
    ant: Mock,
    oai: Mock,
    resp: Mock,
    key: String,
    /// A key with `read` only.
    read_only: String,
    server: Server,
}

/// Anthropic, OpenAI Chat and OpenAI Responses upstreams: `claude-*` to Anthropic,
/// `gpt-4o` to Chat, `gpt-5*` to Responses.
fn setup() -> Setup {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    let oai = Mock::start(Flavor::OpenAi, "sk-oai-k");
    let resp = Mock::start(Flavor::Responses, "sk-resp-k");
    env.add_upstream("ant", &ant, &[]);
    env.add_upstream("oai", &oai, &["--models", "gpt-4o*"]);
    env.add_upstream("resp", &resp, &["--models", "gpt-5*"]);
    let key = env.add_key("c", "read,write");
    let read_only = env.add_key("ro", "read");
    let server = env.start();
    Setup {
        _env: env,
        ant,
        oai,
        resp,
        key,
        read_only,
        server,
    }
}

fn ws_url(s: &Setup) -> String {
    format!(
        "{}/v1/responses",
        s.server.url.replacen("http://", "ws://", 1)
    )
}

async fn connect(s: &Setup, key: &str) -> Result<Ws, WsError> {
    let mut req = ws_url(s).into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert("authorization", format!("Bearer {key}").parse().unwrap());
    h.insert(
        "openai-beta",
        "responses_websockets=2026-02-06".parse().unwrap(),
    );
    let (ws, _) = tokio::time::timeout(Duration::from_secs(10), connect_async(req))
        .await
        .expect("connect timed out")?;
    Ok(ws)
}

/// Send one `response.create` and read events up to a terminal one (or an `error`).
async fn turn(ws: &mut Ws, body: Value) -> Vec<Value> {
    let mut msg = json!({"type": "response.create"});
    msg.as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    ws.send(Message::text(msg.to_string())).await.unwrap();
    let mut events = Vec::new();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("no event within 20 s")
            .expect("socket ended")
            .expect("socket failed");
        let Message::Text(t) = m else { continue };
        let v: Value = serde_json::from_str(&t).unwrap();
        let kind = v["type"].as_str().unwrap().to_string();
        events.push(v);
        if matches!(
            kind.as_str(),
            "response.completed" | "response.incomplete" | "response.failed" | "error"
        ) {
            return events;
        }
    }
}

/// The events of a turn, checked as an SDK would accumulate them; the final response.
fn valid(events: &[Value]) -> Value {
    let pairs: Vec<(String, Value)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_string(), e.clone()))
        .collect();
    llm_gateway::convert::validate_responses_stream(&pairs)
        .unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.completed", "{last}");
    last["response"].clone()
}

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather of a city",
        "strict": false,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

fn output_text(r: &Value) -> String {
    r["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().iter())
        .filter_map(|p| p["text"].as_str())
        .collect()
}

fn last_body(m: &Mock) -> Value {
    serde_json::from_slice(&m.inference_requests().last().unwrap().body).unwrap()
}

/// Two turns on one socket: a tool call, then only its output with
/// `previous_response_id`; the upstream gets the whole conversation the second time.
#[test]
fn a_tool_round_trip_continues_by_id_on_every_kind_of_upstream() {
    let s = setup();
    common::runtime().block_on(async {
        let mut ws = connect(&s, &s.key).await.unwrap();
        for (model, mock) in [
            ("gpt-4o", &s.oai),
            ("claude-sonnet-4-5", &s.ant),
            ("gpt-5.5", &s.resp),
        ] {
            let first = valid(
                &turn(
                    &mut ws,
                    json!({"model": model, "store": false, "tools": [weather_tool()],
                        "input": [{"role": "user", "content": "Weather in Paris?"}]}),
                )
                .await,
            );
            let call = first["output"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["type"] == "function_call")
                .cloned()
                .unwrap_or_else(|| panic!("{model}: no function_call in {first}"));
            let second = valid(
                &turn(
                    &mut ws,
                    json!({"model": model, "store": false, "tools": [weather_tool()],
                        "previous_response_id": first["id"],
                        "input": [{"type": "function_call_output", "call_id": call["call_id"],
                            "output": "21C and sunny"}]}),
                )
                .await,
            );
            assert_eq!(
                output_text(&second),
                "The tool said: 21C and sunny",
                "{model}"
            );
            // The whole history went upstream, and no id the upstream never issued.
            let sent = last_body(mock);
            assert!(
                sent.get("previous_response_id").is_none(),
                "{model}: {sent}"
            );
            assert!(sent.get("generate").is_none(), "{model}: {sent}");
            let history = match mock.flavor {
                Flavor::Responses => sent["input"].clone(),
                _ => sent["messages"].clone(),
            };
            let text = history.to_string();
            assert!(text.contains("Weather in Paris?"), "{model}: {text}");
            assert!(text.contains("get_weather"), "{model}: {text}");
            assert!(text.contains("21C and sunny"), "{model}: {text}");
        }
    });
    assert!(
        s.server.logs().contains("websocket opened"),
        "{}",
        s.server.logs()
    );
}

/// Codex's warm-up: `generate: false` with the whole input reaches no upstream and
/// completes empty; the first turn continues from it with no new input at all.
#[test]
fn a_warm_up_is_answered_here_and_continued() {
    let s = setup();
    common::runtime().block_on(async {
        let mut ws = connect(&s, &s.key).await.unwrap();
        let input = json!([{"type": "message", "role": "developer", "content": "Be brief."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hi"}]}]);
        let warm = valid(
            &turn(
                &mut ws,
                json!({"model": "claude-sonnet-4-5", "store": false, "generate": false, "input": input}),
            )
            .await,
        );
        assert_eq!(warm["output"], json!([]));
        assert!(s.ant.inference_requests().is_empty(), "a warm-up reached the upstream");
        let answer = valid(
            &turn(
                &mut ws,
                json!({"model": "claude-sonnet-4-5", "store": false,
                    "previous_response_id": warm["id"], "input": []}),
            )
            .await,
        );
        assert_eq!(output_text(&answer), "Hello from the mock upstream.");
        let sent = last_body(&s.ant);
        assert_eq!(sent["system"], "Be brief.", "{sent}");
        assert!(sent["messages"].to_string().contains("Say hi"), "{sent}");
    });
}

/// Errors are `error` events (with the status Codex reads) and the socket stays usable:
/// an unknown id, an unknown model, a malformed message, a binary message.
#[test]
fn errors_are_events_and_the_socket_stays_usable() {
    let s = setup();
    common::runtime().block_on(async {
        let mut ws = connect(&s, &s.key).await.unwrap();
        let unknown = turn(
            &mut ws,
            json!({"model": "gpt-4o", "previous_response_id": "resp_nobody", "input": "Hi"}),
        )
        .await;
        let [e] = unknown.as_slice() else {
            panic!("{unknown:?}")
        };
        assert_eq!(e["type"], "error");
        assert_eq!(e["status"], 400);
        assert_eq!(e["error"]["code"], "previous_response_not_found");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("resp_nobody")
        );
        assert!(s.oai.inference_requests().is_empty());

        let no_model = turn(&mut ws, json!({"model": "no-such-model", "input": "Hi"})).await;
        assert_eq!(no_model[0]["status"], 404, "{no_model:?}");
        assert_eq!(no_model[0]["error"]["code"], "model_not_found");

        ws.send(Message::text("not json")).await.unwrap();
        ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        for _ in 0..2 {
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                panic!("no error event")
            };
            let v: Value = serde_json::from_str(&t).unwrap();
            assert_eq!(
                (v["type"].as_str(), v["status"].as_u64()),
                (Some("error"), Some(400)),
                "{v}"
            );
        }

        // An upstream's own refusal keeps its message.
        s.oai.set(|b| {
            b.fail_with = Some((
                400,
                json!({"error": {"message": "mock refused", "type": "invalid_request_error",
                    "param": null, "code": null}})
                .to_string(),
            ))
        });
        let refused = turn(&mut ws, json!({"model": "gpt-4o", "input": "Hi"})).await;
        assert_eq!(refused[0]["status"], 400, "{refused:?}");
        assert!(
            refused[0]["error"]["message"]
                .to_string()
                .contains("mock refused")
        );
        s.oai.set(|b| b.fail_with = None);

        let ok = valid(&turn(&mut ws, json!({"model": "gpt-4o", "input": "Hello"})).await);
        assert_eq!(output_text(&ok), "Hello from the mock upstream.");
        ws.close(None).await.unwrap();
    });
}

/// A bad or missing key, or a key without `write`, is refused before the upgrade, in
/// OpenAI's error shape; a plain GET (no upgrade) gets a 426 that says what to do.
#[test]
fn keys_are_checked_before_the_upgrade() {
    let s = setup();
    common::runtime().block_on(async {
        for (key, status) in [("lgw_wrong", 401), (s.read_only.as_str(), 403)] {
            match connect(&s, key).await {
                Err(WsError::Http(resp)) => {
                    assert_eq!(resp.status().as_u16(), status);
                    let body: Value =
                        serde_json::from_slice(resp.body().as_deref().unwrap()).unwrap();
                    assert!(body["error"]["message"].is_string(), "{body}");
                }
                other => panic!("expected HTTP {status}, got {other:?}"),
            }
        }
    });
    let plain = common::send(
        "GET",
        &format!("{}/v1/responses", s.server.url),
        &[("authorization", &format!("Bearer {}", s.key))],
        "",
    );
    assert_eq!(plain.status, 426, "{}", plain.text());
    assert!(plain.text().contains("WebSocket"), "{}", plain.text());
}

/// A client that goes away mid-stream cancels the upstream request.
#[test]
fn closing_mid_stream_cancels_the_answer() {
    let s = setup();
    s.oai.set(|b| {
        b.deltas = 40;
        b.event_gap = Some(Duration::from_millis(100));
    });
    common::runtime().block_on(async {
        let mut ws = connect(&s, &s.key).await.unwrap();
        let msg = json!({"type": "response.create", "model": "gpt-4o", "input": "Hello"});
        ws.send(Message::text(msg.to_string())).await.unwrap();
        // Wait for the first event, then leave.
        let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap();
        assert!(matches!(first, Some(Ok(Message::Text(_)))), "{first:?}");
        drop(ws);
    });
    assert!(
        common::eventually(Duration::from_secs(10), || s
            .server
            .logs()
            .contains("client_closed")),
        "{}",
        s.server.logs()
    );
}
