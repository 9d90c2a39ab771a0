//! OpenAI Responses stream → Chat Completions chunk stream, one upstream event at a time,
//! in the style of `AnthropicToOpenAiStream`.
//!
//! The first chunk is `{role: assistant, content: ""}`. Output text becomes `content`,
//! refusal text `refusal`, reasoning summary / reasoning text `reasoning_content` (summary
//! parts after the first of an item are preceded by a blank line); a finished reasoning
//! item's `encrypted_content` becomes a `reasoning_signature` delta (OpenAI's tagged with
//! its origin, an Anthropic signature restored untagged). Each `function_call` item opens
//! `tool_calls[n]` (own 0-based counter) and its argument deltas follow; a
//! `custom_tool_call` is a tool call whose arguments, `{"input": <input>}`, come in one
//! fragment when it is done. `response.completed` gives the finish chunk (`tool_calls` or
//! `stop`), `response.incomplete` `length` / `content_filter`, then the usage chunk when
//! asked for, then `[DONE]`, exactly once. `response.failed`, an `error` event, or a
//! stream that stops before any terminal event end with an error chunk and `[DONE]`.
//! Event types not listed here are ignored.

use bytes::Bytes;
use serde_json::{Value, json};

use super::common::{
    ANTHROPIC_REDACTED_TAG, ANTHROPIC_THINKING_TAG, CUSTOM_INPUT_FIELD, OPENAI_REASONING_TAG,
    usage_to_chat,
};
use super::stream_errors::chat_error_of_failure;
use crate::convert::common::{
    REASONING_SIGNATURE_FIELD, done_frame, now_secs, openai_frame, restore_tool_name,
};
use crate::sse::Event;

/// A tool call opened from an output item.
#[derive(Debug)]
struct Call {
    item_id: String,
    output_index: Option<u64>,
    index: u32,
    custom: bool,
    /// How many bytes of the arguments were sent.
    sent: usize,
}

/// See the module docs.
#[derive(Debug)]
pub struct ResponsesToChatStream {
    model: String,
    include_usage: bool,
    id: String,
    created: u64,
    started: bool,
    calls: Vec<Call>,
    /// (item id, summary index) of the last reasoning delta.
    last_summary: Option<(String, u64)>,
    done: bool,
}

impl ResponsesToChatStream {
    pub fn new(client_model: &str, include_usage: bool) -> Self {
        ResponsesToChatStream {
            model: client_model.to_string(),
            include_usage,
            id: "chatcmpl-gateway".to_string(),
            created: now_secs(),
            started: false,
            calls: Vec::new(),
            last_summary: None,
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
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(ev.event.as_str());
        let text = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or("");
        match kind {
            "response.created" | "response.in_progress" => {
                if let Some(id) = data.pointer("/response/id").and_then(Value::as_str)
                    && !self.started
                {
                    self.id = format!("chatcmpl-{id}");
                }
                self.start(&mut out);
            }
            "response.output_item.added" => {
                self.start(&mut out);
                let item = data.get("item").unwrap_or(&Value::Null);
                self.item_added(item, data.get("output_index"), &mut out);
            }
            "response.output_text.delta" => {
                self.content(json!({"content": text("delta")}), &mut out)
            }
            "response.refusal.delta" => self.content(json!({"refusal": text("delta")}), &mut out),
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let key = (
                    text("item_id").to_string(),
                    data.get("summary_index")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                );
                let new_part = self
                    .last_summary
                    .as_ref()
                    .is_some_and(|(id, i)| *id == key.0 && *i != key.1 && kind.contains("summary"));
                let delta = if new_part {
                    format!("\n\n{}", text("delta"))
                } else {
                    text("delta").to_string()
                };
                self.last_summary = Some(key);
                self.content(json!({"reasoning_content": delta}), &mut out);
            }
            "response.function_call_arguments.delta" => {
                if let Some(c) = self.call_of(&data) {
                    let delta = text("delta").to_string();
                    self.args(c, &delta, false, &mut out);
                }
            }
            "response.function_call_arguments.done" => {
                if let Some(c) = self.call_of(&data) {
                    let all = text("arguments").to_string();
                    self.args(c, &all, true, &mut out);
                }
            }
            "response.output_item.done" => {
                self.start(&mut out);
                let item = data.get("item").unwrap_or(&Value::Null);
                self.item_done(item, data.get("output_index"), &mut out);
            }
            "response.completed" | "response.incomplete" => {
                self.start(&mut out);
                let resp = data.get("response").unwrap_or(&Value::Null);
                self.complete(resp, &mut out);
            }
            "response.failed" => {
                let err = data.pointer("/response/error").unwrap_or(&Value::Null);
                self.fail(err, &mut out);
            }
            "error" => self.fail(&data, &mut out),
            _ => {}
        }
        out
    }

    /// Upstream ended: write what is still owed, `[DONE]` included, exactly once.
    pub fn finish(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        if !self.done {
            let err = json!({"code": "server_error",
                "message": "upstream stream ended before the response was complete"});
            self.fail(&err, &mut out);
        }
        out
    }

    fn start(&mut self, out: &mut Vec<Bytes>) {
        if !self.started {
            self.started = true;
            out.push(self.chunk(json!({"role": "assistant", "content": ""}), None));
        }
    }

    fn item_added(&mut self, item: &Value, output_index: Option<&Value>, out: &mut Vec<Bytes>) {
        let custom = match item.get("type").and_then(Value::as_str) {
            Some("function_call") => false,
            Some("custom_tool_call") => true,
            _ => return,
        };
        let field = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("");
        let index = self.calls.len() as u32;
        let call_id = match field("call_id") {
            "" => field("id"),
            id => id,
        };
        let call = json!({"index": index, "id": call_id, "type": "function",
            "function": {"name": restore_tool_name(field("name")), "arguments": ""}});
        out.push(self.chunk(json!({"tool_calls": [call]}), None));
        self.calls.push(Call {
            item_id: field("id").to_string(),
            output_index: output_index.and_then(Value::as_u64),
            index,
            custom,
            sent: 0,
        });
        if !custom {
            let args = field("arguments").to_string();
            self.args(self.calls.len() - 1, &args, true, out);
        }
    }

    fn item_done(&mut self, item: &Value, output_index: Option<&Value>, out: &mut Vec<Bytes>) {
        let field = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("");
        match field("type") {
            "reasoning" => {
                let enc = field("encrypted_content");
                let sig = if let Some(sig) = enc.strip_prefix(ANTHROPIC_THINKING_TAG) {
                    sig.to_string()
                } else if enc.is_empty() || enc.starts_with(ANTHROPIC_REDACTED_TAG) {
                    return; // nothing a thinking block can carry
                } else {
                    format!("{OPENAI_REASONING_TAG}{enc}")
                };
                self.content(json!({REASONING_SIGNATURE_FIELD: sig}), out);
            }
            "function_call" | "custom_tool_call" => {
                let found = self.find_call(field("id"), output_index.and_then(Value::as_u64));
                let c = match found {
                    Some(c) => c,
                    None => {
                        self.item_added(item, output_index, out);
                        self.calls.len() - 1
                    }
                };
                let all = if self.calls[c].custom {
                    json!({CUSTOM_INPUT_FIELD: field("input")}).to_string()
                } else {
                    field("arguments").to_string()
                };
                self.args(c, &all, true, out);
            }
            _ => {}
        }
    }

    fn find_call(&self, item_id: &str, output_index: Option<u64>) -> Option<usize> {
        self.calls.iter().position(|c| {
            if item_id.is_empty() || c.item_id.is_empty() {
                output_index.is_some() && c.output_index == output_index
            } else {
                c.item_id == item_id
            }
        })
    }

    fn call_of(&self, data: &Value) -> Option<usize> {
        let item_id = data.get("item_id").and_then(Value::as_str).unwrap_or("");
        let c = self.find_call(item_id, data.get("output_index").and_then(Value::as_u64))?;
        (!self.calls[c].custom).then_some(c)
    }

    /// Send argument text of call `c`: a delta, or (`whole`) the full arguments of which
    /// only the part not sent yet goes out.
    fn args(&mut self, c: usize, text: &str, whole: bool, out: &mut Vec<Bytes>) {
        let sent = self.calls[c].sent;
        let part = if whole {
            let Some(rest) = text.get(sent..) else {
                return;
            };
            rest
        } else {
            text
        };
        if part.is_empty() {
            return;
        }
        self.calls[c].sent += part.len();
        let call = json!({"index": self.calls[c].index, "function": {"arguments": part}});
        out.push(self.chunk(json!({"tool_calls": [call]}), None));
    }

    fn complete(&mut self, resp: &Value, out: &mut Vec<Bytes>) {
        let reason = match resp
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str)
        {
            Some("content_filter") => "content_filter",
            Some(_) => "length",
            None if !self.calls.is_empty() => "tool_calls",
            None => "stop",
        };
        out.push(self.chunk(json!({}), Some(reason)));
        if self.include_usage {
            let usage = json!({"id": self.id, "object": "chat.completion.chunk",
                "created": self.created, "model": self.model, "choices": [],
                "usage": usage_to_chat(resp.get("usage").unwrap_or(&Value::Null))});
            out.push(openai_frame(&usage));
        }
        out.push(done_frame());
        self.done = true;
    }

    fn fail(&mut self, err: &Value, out: &mut Vec<Bytes>) {
        out.push(openai_frame(&chat_error_of_failure(err)));
        out.push(done_frame());
        self.done = true;
    }

    /// A delta chunk, skipped when its only string is empty.
    fn content(&mut self, delta: Value, out: &mut Vec<Bytes>) {
        self.start(out);
        let empty = delta
            .as_object()
            .is_some_and(|m| m.values().all(|v| v.as_str().is_some_and(str::is_empty)));
        if !empty {
            out.push(self.chunk(delta, None));
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Bytes {
        let mut c = json!({"id": self.id, "object": "chat.completion.chunk",
            "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if self.include_usage {
            c["usage"] = Value::Null;
        }
        openai_frame(&c)
    }
}

#[cfg(test)]
#[path = "stream_in_tests.rs"]
mod tests;
