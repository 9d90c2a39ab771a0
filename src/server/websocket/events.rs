//! The messages the gateway itself writes on a Responses WebSocket — `error` events
//! in the shape Codex reads, the empty response that answers a warm-up — and what a
//! served stream is watched for: its output items and how it ended.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::convert::responses::ResponsesCtx;
use crate::convert::responses::common::usage_from_chat;

/// An `error` event: `{"type": "error", "status": N, "error": {type, code, message,
/// param}}`. Codex takes one with a `status` like an HTTP answer of that status (a 429
/// is retried, a 400 fails the turn and shows the message); the top-level `code` and
/// `message` are those of the Responses stream's own `error` event, for other clients.
pub fn error_event(status: u16, error: Value, retry_after: Option<&str>) -> Value {
    let mut ev = json!({
        "type": "error",
        "status": status,
        "code": error.get("code").cloned().unwrap_or(Value::Null),
        "message": error.get("message").cloned().unwrap_or(Value::Null),
        "param": error.get("param").cloned().unwrap_or(Value::Null),
        "error": error,
    });
    if let Some(secs) = retry_after {
        ev["headers"] = json!({ "retry-after": secs });
    }
    ev
}

/// The `error` event for an answer of `status` whose body is `body` (OpenAI's error
/// shape when the gateway or the upstream made it; any other text is the message).
pub fn answer_error(status: u16, body: &[u8], retry_after: Option<&str>) -> Value {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").cloned())
        .filter(Value::is_object)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(2000).collect();
            json!({
                "type": if status >= 500 { "server_error" } else { "invalid_request_error" },
                "code": null,
                "message": if text.trim().is_empty() { format!("HTTP {status}") } else { text },
                "param": null,
            })
        });
    error_event(status, error, retry_after)
}

/// A 400 `invalid_request_error` about the message itself.
pub fn client_error(message: &str, code: Option<&str>, param: Option<&str>) -> Value {
    error_event(
        400,
        json!({"type": "invalid_request_error", "code": code, "message": message, "param": param}),
        None,
    )
}

/// The events answering a warm-up request (`generate: false`): a response that
/// produces nothing and uses no tokens, whose id the next request continues. Returns
/// the id and the events.
pub fn warm_up(request: &Value) -> (String, Vec<Value>) {
    let model = request.get("model").and_then(Value::as_str).unwrap_or("");
    let cx = ResponsesCtx::of_request(request, model);
    let usage = usage_from_chat(&json!({}));
    let events = vec![
        json!({"type": "response.created", "sequence_number": 0,
            "response": cx.response("in_progress", Vec::new(), None)}),
        json!({"type": "response.in_progress", "sequence_number": 1,
            "response": cx.response("in_progress", Vec::new(), None)}),
        json!({"type": "response.completed", "sequence_number": 2,
            "response": cx.response("completed", Vec::new(), Some(usage))}),
    ];
    (cx.response_id, events)
}

/// How a watched stream stands.
pub enum End {
    /// No terminal event yet.
    Open,
    /// `response.completed` or `response.incomplete`: the conversation continues from
    /// this response id, with these output items.
    Finished { id: String, output: Vec<Value> },
    /// `response.failed` or an `error` event.
    Failed,
}

/// Watches the events of one served stream.
pub struct Watch {
    /// Items of `response.output_item.done` events, in order (what Codex keeps).
    items: Vec<Value>,
    pub end: End,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
}

impl Watch {
    pub fn new() -> Self {
        Watch {
            items: Vec::new(),
            end: End::Open,
        }
    }

    /// Look at one event's data (a JSON object); only a few kinds are parsed whole.
    /// Returns the event to send instead, for the one the gateway's own stream ends
    /// with when the upstream broke (`{"error": {...}}`, which has no `type`).
    pub fn observe(&mut self, data: &str) -> Option<Value> {
        if !matches!(self.end, End::Open) {
            return None;
        }
        let Ok(head) = serde_json::from_str::<Head>(data) else {
            let broke = serde_json::from_str::<Value>(data)
                .ok()
                .filter(|v| v.get("error").is_some_and(Value::is_object))?;
            self.end = End::Failed;
            return Some(answer_error(502, broke.to_string().as_bytes(), None));
        };
        match head.kind.as_str() {
            "response.output_item.done" => {
                if let Ok(mut v) = serde_json::from_str::<Value>(data)
                    && let Some(item) = v.get_mut("item").map(Value::take)
                {
                    self.items.push(item);
                }
            }
            "response.completed" | "response.incomplete" => {
                let Ok(mut v) = serde_json::from_str::<Value>(data) else {
                    self.end = End::Failed;
                    return None;
                };
                let response = v.get_mut("response").map(Value::take).unwrap_or_default();
                let id = response
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                // The items streamed one by one; the response's list when none were.
                let output = if self.items.is_empty() {
                    match response.get("output") {
                        Some(Value::Array(items)) => items.clone(),
                        _ => Vec::new(),
                    }
                } else {
                    std::mem::take(&mut self.items)
                };
                self.end = End::Finished { id, output };
            }
            "response.failed" | "error" => self.end = End::Failed,
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_watched_to_its_end() {
        let mut w = Watch::new();
        w.observe(r#"{"type":"response.created","response":{"id":"resp_1"}}"#);
        w.observe(r#"{"type":"response.output_item.done","item":{"type":"message","id":"m1"}}"#);
        assert!(matches!(w.end, End::Open));
        w.observe(r#"{"type":"response.completed","response":{"id":"resp_1","output":[]}}"#);
        let End::Finished { id, output } = &w.end else {
            panic!("not finished");
        };
        assert_eq!(id, "resp_1");
        assert_eq!(output, &vec![json!({"type": "message", "id": "m1"})]);
        let mut f = Watch::new();
        f.observe(r#"{"type":"response.failed","response":{"id":"resp_2"}}"#);
        assert!(matches!(f.end, End::Failed));
        let mut b = Watch::new();
        let instead = b.observe(r#"{"error":{"type":"server_error","message":"cut"}}"#);
        assert_eq!(instead.expect("an error event")["status"], 502);
        assert!(matches!(b.end, End::Failed));
    }

    #[test]
    fn errors_keep_the_answer_s_error_object() {
        let ev = answer_error(
            429,
            br#"{"error":{"type":"requests","code":"rate_limit_exceeded","message":"slow down","param":null}}"#,
            Some("3"),
        );
        assert_eq!(ev["status"], 429);
        assert_eq!(ev["error"]["code"], "rate_limit_exceeded");
        assert_eq!(ev["message"], "slow down");
        assert_eq!(ev["headers"]["retry-after"], "3");
        let plain = answer_error(502, b"bad gateway", None);
        assert_eq!(plain["error"]["type"], "server_error");
        assert_eq!(plain["error"]["message"], "bad gateway");
    }

    #[test]
    fn a_warm_up_completes_with_no_output() {
        let (id, events) = warm_up(&json!({"model": "gpt-5.5", "input": []}));
        assert!(id.starts_with("resp"), "{id}");
        let pairs: Vec<(String, Value)> = events
            .into_iter()
            .map(|e| (e["type"].as_str().unwrap_or_default().to_string(), e))
            .collect();
        crate::convert::validate_responses_stream(&pairs).expect("valid stream");
        assert_eq!(pairs[2].1["response"]["id"], id.as_str());
    }
}
