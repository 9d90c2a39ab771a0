//! Gemini `streamGenerateContent?alt=sse` → Chat `chat.completion.chunk` stream, one
//! upstream event at a time.
//!
//! Gemini sends `data:` events without names, each a partial answer: text and thought
//! parts are deltas, a `functionCall` arrives whole in one part, and the last event
//! carries `finishReason` (usage may come on every event; the last one counts). So:
//! the first event gives the `{role: assistant}` chunk; text becomes `content`,
//! thoughts `reasoning_content`, each call one complete `tool_calls[n]` delta (id, name,
//! arguments and signature at once); `finishReason` gives the finish chunk; when the
//! upstream ends, the usage chunk (when asked for) and `[DONE]`. A stream that ends
//! before a `finishReason`, or an `error` event, ends in an error frame then `[DONE]`,
//! so a cut answer never looks complete.

use bytes::Bytes;
use serde_json::{Value, json};

use super::response_in::tool_call;
use super::{GeminiCtx, finish_reason, random_salt, usage_to_chat};
use crate::convert::common::{done_frame, now_secs, openai_frame};
use crate::sse::Event;

/// See the module docs.
#[derive(Debug)]
pub struct GeminiToChatStream {
    ctx: GeminiCtx,
    model: String,
    salt: Option<String>,
    created: u64,
    started: bool,
    calls: usize,
    usage: Option<Value>,
    finish_sent: bool,
    done: bool,
}

impl GeminiToChatStream {
    pub fn new(ctx: GeminiCtx, client_model: &str) -> Self {
        GeminiToChatStream {
            ctx,
            model: client_model.to_string(),
            salt: None,
            created: now_secs(),
            started: false,
            calls: 0,
            usage: None,
            finish_sent: false,
            done: false,
        }
    }

    /// Convert one upstream event; returns the frames to write now.
    pub fn push(&mut self, ev: &Event) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        let Ok(data) = serde_json::from_str::<Value>(&ev.data) else {
            return out;
        };
        if let Some(err) = data.get("error") {
            out.push(openai_frame(&error_to_openai(err)));
            out.push(done_frame());
            self.done = true;
            return out;
        }
        if self.salt.is_none() {
            self.salt = Some(
                data.get("responseId")
                    .and_then(Value::as_str)
                    .map_or_else(random_salt, str::to_string),
            );
        }
        if !self.started {
            self.started = true;
            out.push(self.chunk(json!({"role": "assistant", "content": ""}), None));
        }
        if let Some(u) = data.get("usageMetadata") {
            self.usage = Some(usage_to_chat(u));
        }
        if self.finish_sent {
            return out;
        }
        let candidate = data.pointer("/candidates/0").unwrap_or(&Value::Null);
        if let Some(parts) = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
        {
            for part in parts {
                if let Some(call) = part.get("functionCall") {
                    let salt = self.salt.clone().unwrap_or_default();
                    let mut tc = tool_call(call, part, &self.ctx, &salt, self.calls);
                    tc["index"] = json!(self.calls);
                    self.calls += 1;
                    out.push(self.chunk(json!({"tool_calls": [tc]}), None));
                } else if let Some(t) = part.get("text").and_then(Value::as_str) {
                    if t.is_empty() {
                        continue;
                    }
                    let delta = if part.get("thought").and_then(Value::as_bool) == Some(true) {
                        json!({"reasoning_content": t})
                    } else {
                        json!({"content": t})
                    };
                    out.push(self.chunk(delta, None));
                }
            }
        }
        let reason = candidate.get("finishReason").and_then(Value::as_str);
        let blocked = candidate.is_null()
            && data
                .pointer("/promptFeedback/blockReason")
                .is_some_and(|r| !r.is_null());
        if reason.is_some() || blocked {
            let finish = if blocked {
                "content_filter"
            } else {
                finish_reason(reason, self.calls > 0)
            };
            out.push(self.chunk(json!({}), Some(finish)));
            self.finish_sent = true;
        }
        out
    }

    /// Upstream ended: the usage chunk when asked for, `[DONE]`; an error first when
    /// the answer never finished.
    pub fn finish(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if !self.finish_sent {
            out.push(openai_frame(&json!({"error": {
                "message": "upstream stream ended before the response was complete",
                "type": "server_error", "param": null, "code": null}})));
        } else if self.ctx.include_usage
            && let Some(u) = self.usage.take()
        {
            let mut v = self.chunk_value(Value::Null, None);
            v["choices"] = json!([]);
            v["usage"] = u;
            out.push(openai_frame(&v));
        }
        out.push(done_frame());
        self.done = true;
        out
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Bytes {
        openai_frame(&self.chunk_value(delta, finish))
    }

    fn chunk_value(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": format!("chatcmpl-{}", self.salt.as_deref().unwrap_or("gemini")),
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    }
}

/// A Gemini error object (`{code, message, status}`) as an OpenAI error body.
pub fn error_to_openai(err: &Value) -> Value {
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("upstream error");
    let status = err.get("status").and_then(Value::as_str).unwrap_or("");
    let kind = match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" | "NOT_FOUND" => {
            "invalid_request_error"
        }
        "UNAUTHENTICATED" => "authentication_error",
        "PERMISSION_DENIED" => "permission_error",
        "RESOURCE_EXHAUSTED" => "rate_limit_error",
        _ => "server_error",
    };
    json!({"error": {"message": message, "type": kind, "param": null,
        "code": if status.is_empty() { Value::Null } else { json!(status.to_ascii_lowercase()) }}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: Value) -> Event {
        Event {
            event: String::new(),
            data: data.to_string(),
        }
    }

    fn frames(out: &[Bytes]) -> Vec<Value> {
        out.iter()
            .filter_map(|b| {
                let s = std::str::from_utf8(b).ok()?;
                let d = s.strip_prefix("data: ")?.trim_end();
                serde_json::from_str(d).ok().or(Some(json!(d)))
            })
            .collect()
    }

    #[test]
    fn text_thoughts_and_parallel_calls_stream_as_chunks() {
        let mut s = GeminiToChatStream::new(
            GeminiCtx {
                include_usage: true,
                ..GeminiCtx::default()
            },
            "claude-sonnet-4-5",
        );
        let mut out = Vec::new();
        out.extend(s.push(&ev(
            json!({"responseId": "r9", "candidates": [{"content": {"role": "model",
            "parts": [{"text": "hmm", "thought": true}]}}]}),
        )));
        out.extend(s.push(&ev(
            json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]}),
        )));
        out.extend(s.push(&ev(
            json!({"candidates": [{"content": {"parts": [{"text": "lo"}]}}]}),
        )));
        out.extend(s.push(&ev(json!({"candidates": [{"content": {"parts": [
            {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "S"},
            {"functionCall": {"name": "f", "args": {"a": 2}}}]},
            "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 4, "thoughtsTokenCount": 1}}))));
        out.extend(s.finish());
        let f = frames(&out);
        assert_eq!(
            f[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(f[1]["choices"][0]["delta"]["reasoning_content"], "hmm");
        assert_eq!(f[2]["choices"][0]["delta"]["content"], "Hel");
        assert_eq!(f[3]["choices"][0]["delta"]["content"], "lo");
        let c0 = &f[4]["choices"][0]["delta"]["tool_calls"][0];
        let c1 = &f[5]["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(
            (c0["index"].as_u64(), c1["index"].as_u64()),
            (Some(0), Some(1))
        );
        assert_ne!(c0["id"], c1["id"]);
        assert_eq!(c0["function"]["arguments"], "{\"a\":1}");
        assert_eq!(c0["extra_content"]["google"]["thought_signature"], "S");
        assert_eq!(f[6]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(f[7]["choices"], json!([]));
        assert_eq!(f[7]["usage"]["completion_tokens"], 5);
        assert_eq!(f[8], json!("[DONE]"));
        assert_eq!(f.len(), 9);
        assert!(f[..8].iter().all(|c| c["model"] == "claude-sonnet-4-5"));
        assert!(f[..8].iter().all(|c| c["id"] == f[0]["id"]), "one id");
    }

    #[test]
    fn cut_streams_and_errors_never_look_complete() {
        let mut s = GeminiToChatStream::new(GeminiCtx::default(), "m");
        let mut out = s.push(&ev(
            json!({"candidates": [{"content": {"parts": [{"text": "par"}]}}]}),
        ));
        out.extend(s.finish());
        out.extend(s.finish());
        let f = frames(&out);
        assert!(
            f[2]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("ended before")
        );
        assert_eq!(f[3], json!("[DONE]"));
        assert_eq!(f.len(), 4, "[DONE] once");

        let mut s = GeminiToChatStream::new(GeminiCtx::default(), "m");
        let f = frames(
            &s.push(&ev(json!({"error": {"code": 429, "message": "quota",
            "status": "RESOURCE_EXHAUSTED"}}))),
        );
        assert_eq!(f[0]["error"]["type"], "rate_limit_error");
        assert_eq!(f[0]["error"]["code"], "resource_exhausted");
        assert_eq!(f[1], json!("[DONE]"));
        assert!(s.finish().is_empty());
    }

    #[test]
    fn a_blocked_prompt_finishes_filtered_without_usage_unless_asked() {
        let mut s = GeminiToChatStream::new(GeminiCtx::default(), "m");
        let mut out = s.push(&ev(json!({"promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": 3}})));
        out.extend(s.finish());
        let f = frames(&out);
        assert_eq!(f[1]["choices"][0]["finish_reason"], "content_filter");
        assert_eq!(f[2], json!("[DONE]"));
    }
}
