//! OpenAI `chat.completion.chunk` stream → Anthropic Messages stream, one upstream event
//! at a time. Holds only the open block's kind, the next block index, the tool-call
//! indices seen and the pending stop reason / usage.
//!
//! `message_start` comes first (input usage 0, cache fields present). One block is open
//! at a time, indices are 0-based and contiguous; a new block opens on each change of
//! kind (thinking, text, each new tool call `index`); a `reasoning_signature` delta is
//! the open thinking block's `signature_delta` (opening an empty one if needed) and ends
//! that block's reasoning. Argument fragments are passed on as
//! `input_json_delta` as they come. On `finish_reason` the block closes but
//! `message_delta` waits for the usage chunk (or `[DONE]` / `finish()`); `message_stop`
//! ends the stream. `[DONE]` is never written. A fragment for a tool call whose block was
//! already closed (upstreams interleaving parallel calls) cannot be delivered and is
//! dropped. A stream cut before any `finish_reason` or `[DONE]` ends with an `error`
//! event rather than a normal stop.

use bytes::Bytes;
use serde_json::{Value, json};

use super::common::{
    REASONING_SIGNATURE_FIELD, anthropic_frame, restore_tool_name, sanitize_id,
    stop_reason_from_openai, usage_to_anthropic,
};
use super::errors::openai_stream_error_to_anthropic;
use crate::sse::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Thinking,
    /// A thinking block whose signature was sent: more reasoning opens a new block.
    SignedThinking,
    Text,
    Tool(u64),
}

/// See the module docs.
#[derive(Debug)]
pub struct OpenAiToAnthropicStream {
    model: String,
    started: bool,
    open: Option<Open>,
    next_index: u64,
    tools_seen: Vec<u64>,
    stop_reason: Option<&'static str>,
    usage: Option<Value>,
    finished: bool,
}

impl OpenAiToAnthropicStream {
    pub fn new(client_model: &str) -> Self {
        OpenAiToAnthropicStream {
            model: client_model.to_string(),
            started: false,
            open: None,
            next_index: 0,
            tools_seen: Vec::new(),
            stop_reason: None,
            usage: None,
            finished: false,
        }
    }

    /// Convert one upstream event; returns the frames to write now.
    pub fn push(&mut self, ev: &Event) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        if ev.data.trim() == "[DONE]" {
            return self.end(true);
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else {
            return out;
        };
        if let Some(err) = chunk.get("error").filter(|e| !e.is_null()) {
            let err = if err.is_object() {
                err.clone()
            } else {
                json!({"message": err.to_string()})
            };
            out.push(anthropic_frame(
                "error",
                &openai_stream_error_to_anthropic(&err),
            ));
            self.finished = true;
            return out;
        }
        self.start(&chunk, &mut out);
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let choice = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.iter().find(|c| c["index"].as_u64().unwrap_or(0) == 0));
        if let Some(choice) = choice {
            let delta = choice.get("delta").unwrap_or(&Value::Null);
            self.delta(delta, &mut out);
            if let Some(finish) = choice.get("finish_reason").and_then(Value::as_str) {
                self.close(&mut out);
                let has_tools = !self.tools_seen.is_empty();
                self.stop_reason = Some(if has_tools && finish != "length" {
                    "tool_use"
                } else {
                    stop_reason_from_openai(Some(finish))
                });
            }
        }
        if self.stop_reason.is_some() && self.usage.is_some() {
            out.extend(self.end(true));
        }
        out
    }

    /// Upstream ended: close what is open and end the message, exactly once.
    pub fn finish(&mut self) -> Vec<Bytes> {
        self.end(false)
    }

    fn end(&mut self, clean: bool) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        self.finished = true;
        if !clean && self.stop_reason.is_none() {
            let err = json!({"type": "error", "error": {"type": "api_error",
                "message": "upstream stream ended before the response was complete"}});
            out.push(anthropic_frame("error", &err));
            return out;
        }
        self.start(&Value::Null, &mut out);
        self.close(&mut out);
        let usage = usage_to_anthropic(self.usage.as_ref().unwrap_or(&Value::Null));
        let delta = json!({"type": "message_delta",
            "delta": {"stop_reason": self.stop_reason.unwrap_or("end_turn"), "stop_sequence": null},
            "usage": usage});
        out.push(anthropic_frame("message_delta", &delta));
        out.push(anthropic_frame(
            "message_stop",
            &json!({"type": "message_stop"}),
        ));
        out
    }

    fn start(&mut self, chunk: &Value, out: &mut Vec<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = chunk.get("id").and_then(Value::as_str).unwrap_or("");
        let id = if id.is_empty() {
            crate::util::new_id("msg")
        } else {
            format!("msg_{}", sanitize_id(id))
        };
        let start = json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }});
        out.push(anthropic_frame("message_start", &start));
    }

    fn delta(&mut self, delta: &Value, out: &mut Vec<Bytes>) {
        let text = |k: &str| {
            delta
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        if let Some(r) = text("reasoning_content").or_else(|| text("reasoning")) {
            self.ensure(Open::Thinking, None, out);
            self.block_delta(json!({"type": "thinking_delta", "thinking": r}), out);
        }
        if let Some(sig) = text(REASONING_SIGNATURE_FIELD) {
            self.ensure(Open::Thinking, None, out);
            self.block_delta(json!({"type": "signature_delta", "signature": sig}), out);
            self.open = Some(Open::SignedThinking);
        }
        for t in [text("content"), text("refusal")].into_iter().flatten() {
            self.ensure(Open::Text, None, out);
            self.block_delta(json!({"type": "text_delta", "text": t}), out);
        }
        let legacy = delta
            .get("function_call")
            .filter(|f| f.is_object())
            .map(|f| json!({"index": 0, "id": "call_fn", "function": f}));
        let calls = delta.get("tool_calls").and_then(Value::as_array);
        for call in calls.into_iter().flatten().chain(legacy.as_ref()) {
            self.tool_call(call, out);
        }
    }

    fn tool_call(&mut self, call: &Value, out: &mut Vec<Bytes>) {
        let current = match self.open {
            Some(Open::Tool(i)) => Some(i),
            _ => None,
        };
        let has_id = call
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        let index = match call.get("index").and_then(Value::as_u64) {
            Some(i) => i,
            // No index: a new call when it carries an id, else the current one.
            None if has_id || current.is_none() => {
                self.tools_seen.iter().max().map(|m| m + 1).unwrap_or(0)
            }
            None => current.unwrap_or(0),
        };
        let function = call.get("function").unwrap_or(&Value::Null);
        if current != Some(index) {
            if self.tools_seen.contains(&index) {
                return; // that block is closed; see the module docs
            }
            let id = match call.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => sanitize_id(id),
                _ => format!("toolu_{}_{index}", crate::util::new_id("gw")),
            };
            let name = function.get("name").and_then(Value::as_str).unwrap_or("");
            let block = json!({"type": "tool_use", "id": id, "name": restore_tool_name(name),
                "input": {}});
            self.ensure(Open::Tool(index), Some(block), out);
            self.tools_seen.push(index);
        }
        if let Some(args) = function.get("arguments").and_then(Value::as_str)
            && !args.is_empty()
        {
            self.block_delta(
                json!({"type": "input_json_delta", "partial_json": args}),
                out,
            );
        }
    }

    /// Make `kind` the open block, closing another kind first.
    fn ensure(&mut self, kind: Open, block: Option<Value>, out: &mut Vec<Bytes>) {
        if self.open == Some(kind) {
            return;
        }
        self.close(out);
        let block = block.unwrap_or_else(|| match kind {
            Open::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
            _ => json!({"type": "text", "text": ""}),
        });
        let start = json!({"type": "content_block_start", "index": self.next_index,
            "content_block": block});
        out.push(anthropic_frame("content_block_start", &start));
        self.open = Some(kind);
    }

    fn block_delta(&self, delta: Value, out: &mut Vec<Bytes>) {
        #[derive(serde::Serialize)]
        struct BlockDelta<'a> {
            r#type: &'static str,
            index: u64,
            delta: &'a Value,
        }
        let v = BlockDelta {
            r#type: "content_block_delta",
            index: self.next_index,
            delta: &delta,
        };
        out.push(anthropic_frame("content_block_delta", &v));
    }

    fn close(&mut self, out: &mut Vec<Bytes>) {
        if self.open.take().is_some() {
            let v = json!({"type": "content_block_stop", "index": self.next_index});
            out.push(anthropic_frame("content_block_stop", &v));
            self.next_index += 1;
        }
    }
}

#[cfg(test)]
#[path = "stream_to_anthropic_tests.rs"]
mod tests;
