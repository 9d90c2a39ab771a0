//! Anthropic Messages stream → OpenAI `chat.completion.chunk` stream, one upstream event
//! at a time. Holds only the current block's kind and a few counters.
//!
//! The first chunk is `{role: assistant, content: ""}`; each `tool_use` start opens
//! `tool_calls[n]` (own 0-based counter) with `arguments: ""`, and `input_json_delta`s
//! follow as argument fragments; `message_delta` gives the finish chunk and, when asked
//! for, a usage chunk with `choices: []`; `[DONE]` is written exactly once. An upstream
//! `error` event becomes `data: {"error": ...}` then `[DONE]`; a stream that stops
//! before `message_delta` ends the same way, so a truncated answer never looks complete.

use bytes::Bytes;
use serde_json::{Value, json};

use super::common::{
    JSON_TOOL_NAME, REASONING_SIGNATURE_FIELD, done_frame, finish_reason_from_anthropic, now_secs,
    openai_frame, usage_to_openai,
};
use super::errors::anthropic_stream_error_to_openai;
use crate::sse::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    Tool(u32),
    /// The JSON-mode tool: its input is streamed as `content`.
    JsonTool,
    Other,
}

/// See the module docs.
#[derive(Debug)]
pub struct AnthropicToOpenAiStream {
    model: String,
    include_usage: bool,
    id: String,
    created: u64,
    started: bool,
    block: Option<Block>,
    tool_calls: u32,
    json_answer: bool,
    usage: Value,
    finish_sent: bool,
    done: bool,
}

impl AnthropicToOpenAiStream {
    pub fn new(client_model: &str, include_usage: bool) -> Self {
        AnthropicToOpenAiStream {
            model: client_model.to_string(),
            include_usage,
            id: "chatcmpl-gateway".to_string(),
            created: now_secs(),
            started: false,
            block: None,
            tool_calls: 0,
            json_answer: false,
            usage: json!({}),
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
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(ev.event.as_str());
        match kind {
            "message_start" => {
                let msg = data.get("message").unwrap_or(&Value::Null);
                if let Some(id) = msg.get("id").and_then(Value::as_str) {
                    self.id = format!("chatcmpl-{id}");
                }
                merge_usage(&mut self.usage, msg.get("usage"));
                self.start(&mut out);
            }
            "content_block_start" => {
                self.start(&mut out);
                self.block_start(data.get("content_block").unwrap_or(&Value::Null), &mut out);
            }
            "content_block_delta" => {
                self.start(&mut out);
                self.block_delta(data.get("delta").unwrap_or(&Value::Null), &mut out);
            }
            "content_block_stop" => self.block = None,
            "message_delta" => {
                self.start(&mut out);
                merge_usage(&mut self.usage, data.get("usage"));
                let stop = data.pointer("/delta/stop_reason").and_then(Value::as_str);
                self.finish_chunks(stop, &mut out);
            }
            "message_stop" => {
                self.start(&mut out);
                self.finish_chunks(None, &mut out);
                out.push(done_frame());
                self.done = true;
            }
            "error" => {
                let err = data.get("error").unwrap_or(&Value::Null);
                out.push(openai_frame(&anthropic_stream_error_to_openai(err)));
                out.push(done_frame());
                self.done = true;
            }
            // ping and anything newer
            _ => {}
        }
        out
    }

    /// Upstream ended: write what is still owed, `[DONE]` included, exactly once.
    pub fn finish(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if !self.finish_sent {
            let err = json!({"type": "api_error",
                "message": "upstream stream ended before the response was complete"});
            out.push(openai_frame(&anthropic_stream_error_to_openai(&err)));
        }
        out.push(done_frame());
        self.done = true;
        out
    }

    fn start(&mut self, out: &mut Vec<Bytes>) {
        if !self.started {
            self.started = true;
            out.push(self.chunk(json!({"role": "assistant", "content": ""}), None));
        }
    }

    fn block_start(&mut self, block: &Value, out: &mut Vec<Bytes>) {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        let text_field = |k: &str| block.get(k).and_then(Value::as_str).unwrap_or("");
        self.block = Some(match kind {
            "text" => {
                self.content(json!({"content": text_field("text")}), out);
                Block::Text
            }
            "thinking" => {
                self.content(json!({"reasoning_content": text_field("thinking")}), out);
                Block::Thinking
            }
            "tool_use" if text_field("name") == JSON_TOOL_NAME => {
                self.json_answer = true;
                Block::JsonTool
            }
            "tool_use" => {
                let index = self.tool_calls;
                self.tool_calls += 1;
                let call = json!({"index": index, "id": text_field("id"), "type": "function",
                    "function": {"name": text_field("name"), "arguments": ""}});
                out.push(self.chunk(json!({"tool_calls": [call]}), None));
                Block::Tool(index)
            }
            _ => Block::Other,
        });
    }

    fn block_delta(&mut self, delta: &Value, out: &mut Vec<Bytes>) {
        let field = |k: &str| delta.get(k).and_then(Value::as_str).unwrap_or("");
        match (delta.get("type").and_then(Value::as_str), self.block) {
            (Some("text_delta"), _) => self.content(json!({"content": field("text")}), out),
            (Some("thinking_delta"), _) => {
                self.content(json!({"reasoning_content": field("thinking")}), out);
            }
            (Some("signature_delta"), _) => {
                self.content(json!({REASONING_SIGNATURE_FIELD: field("signature")}), out);
            }
            (Some("input_json_delta"), Some(Block::Tool(index))) => {
                let part = field("partial_json");
                if !part.is_empty() {
                    let call = json!({"index": index, "function": {"arguments": part}});
                    out.push(self.chunk(json!({"tool_calls": [call]}), None));
                }
            }
            (Some("input_json_delta"), Some(Block::JsonTool)) => {
                self.content(json!({"content": field("partial_json")}), out);
            }
            _ => {}
        }
    }

    /// A delta chunk, skipped when its only string is empty.
    fn content(&self, delta: Value, out: &mut Vec<Bytes>) {
        let empty = delta
            .as_object()
            .is_some_and(|m| m.values().all(|v| v.as_str().is_some_and(str::is_empty)));
        if !empty {
            out.push(self.chunk(delta, None));
        }
    }

    fn finish_chunks(&mut self, stop: Option<&str>, out: &mut Vec<Bytes>) {
        if self.finish_sent {
            return;
        }
        self.finish_sent = true;
        let reason = if self.json_answer && self.tool_calls == 0 {
            "stop"
        } else {
            finish_reason_from_anthropic(stop)
        };
        out.push(self.chunk(json!({}), Some(reason)));
        if self.include_usage {
            let usage = json!({"id": self.id, "object": "chat.completion.chunk",
                "created": self.created, "model": self.model, "choices": [],
                "usage": usage_to_openai(&self.usage)});
            out.push(openai_frame(&usage));
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Bytes {
        openai_frame(&Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: [ChunkChoice {
                index: 0,
                delta: &delta,
                logprobs: (),
                finish_reason: finish,
            }],
            usage: self.include_usage.then_some(()),
        })
    }
}

/// A `chat.completion.chunk`, serialized without building a `Value` (one per event).
#[derive(serde::Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [ChunkChoice<'a>; 1],
    /// `"usage": null` on every chunk but the last when the client asked for usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<()>,
}

#[derive(serde::Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: &'a Value,
    logprobs: (),
    finish_reason: Option<&'a str>,
}

/// Later usage reports (message_delta) override earlier ones field by field.
fn merge_usage(acc: &mut Value, usage: Option<&Value>) {
    if let (Some(acc), Some(Value::Object(new))) = (acc.as_object_mut(), usage) {
        for (k, v) in new {
            if v.is_u64() {
                acc.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
#[path = "stream_to_openai_tests.rs"]
mod tests;
