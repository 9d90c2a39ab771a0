//! Helpers shared by the Responses stream tests: building upstream events and reading
//! back (and strictly validating) the frames the converters wrote.

use bytes::Bytes;
use serde_json::{Value, json};

use super::common::ResponsesCtx;
use super::{ChatToResponsesStream, ResponsesToChatStream};
use crate::convert::test_util::{data_event, frames_events, frames_json};
use crate::convert::validate::{validate_openai_stream, validate_responses_stream};
use crate::sse::Event;

/// A Responses event: `event:` is the payload's `type`.
pub fn responses_event(v: &Value) -> Event {
    Event {
        event: v["type"].as_str().unwrap_or("").to_string(),
        data: v.to_string(),
    }
}

/// Responses frames → (event name, payload) pairs.
pub fn frames_responses(frames: &[Bytes]) -> Vec<(String, Value)> {
    frames_events(frames)
        .into_iter()
        .map(|ev| {
            let v: Value = serde_json::from_str(&ev.data).unwrap();
            (ev.event, v)
        })
        .collect()
}

/// A request context with `custom` as its freeform tools.
pub fn ctx(custom: &[&str]) -> ResponsesCtx {
    let tools: Vec<Value> = custom
        .iter()
        .map(|n| json!({"type": "custom", "name": n}))
        .collect();
    ResponsesCtx::of_request(&json!({"model": "gpt-5", "tools": tools}), "gpt-5-client")
}

/// A Chat chunk with one choice.
pub fn chunk(delta: Value, finish: Option<&str>) -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    .to_string()
}

/// The Chat usage chunk.
pub fn usage_chunk() -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
        "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59,
            "prompt_tokens_details": {"cached_tokens": 20}}})
    .to_string()
}

/// Feed Chat `datas` (then `finish()` twice) and validate the Responses stream.
pub fn run_out(s: &mut ChatToResponsesStream, datas: &[String]) -> Vec<(String, Value)> {
    let mut frames = Vec::new();
    for d in datas {
        frames.extend(s.push(&data_event(d)));
    }
    frames.extend(s.finish());
    frames.extend(s.finish());
    let events = frames_responses(&frames);
    validate_responses_stream(&events).unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    events
}

/// Feed Responses `events` (then `finish()` twice); validate the Chat stream and return
/// its frames and JSON chunks.
pub fn run_in(s: &mut ResponsesToChatStream, events: &[Value]) -> (Vec<Bytes>, Vec<Value>) {
    let mut frames = Vec::new();
    for e in events {
        frames.extend(s.push(&responses_event(e)));
    }
    frames.extend(s.finish());
    frames.extend(s.finish());
    let (chunks, done) = frames_json(&frames);
    assert_eq!(done, 1, "[DONE] exactly once");
    let mut datas: Vec<String> = chunks.iter().map(Value::to_string).collect();
    datas.push("[DONE]".into());
    validate_openai_stream(&datas).unwrap_or_else(|e| panic!("{e}\n{datas:#?}"));
    (frames, chunks)
}

/// Number each event's `sequence_number` in order (for hand-written upstream streams).
pub fn numbered(mut events: Vec<Value>) -> Vec<Value> {
    for (n, e) in events.iter_mut().enumerate() {
        e["sequence_number"] = json!(n);
    }
    events
}

/// Builds an upstream Responses stream the way the real API orders it.
#[derive(Default)]
pub struct RespBuilder {
    pub events: Vec<Value>,
    pub output: Vec<Value>,
}

impl RespBuilder {
    pub fn new() -> Self {
        let resp = json!({"id": "resp_up", "object": "response", "status": "in_progress",
            "output": [], "usage": null});
        RespBuilder {
            events: vec![
                json!({"type": "response.created", "response": resp}),
                json!({"type": "response.in_progress", "response": resp}),
            ],
            output: Vec::new(),
        }
    }

    fn oi(&self) -> usize {
        self.output.len()
    }

    fn added(&mut self, item: Value) {
        let oi = self.oi();
        self.events
            .push(json!({"type": "response.output_item.added", "output_index": oi, "item": item}));
    }

    fn done(&mut self, item: Value) {
        let oi = self.oi();
        self.events
            .push(json!({"type": "response.output_item.done", "output_index": oi, "item": item}));
        self.output.push(item);
    }

    /// A message item of one output_text part, streamed as `pieces`.
    pub fn message(&mut self, pieces: &[String]) {
        let (oi, id) = (self.oi(), format!("msg_{}", self.oi()));
        self.added(json!({"id": id, "type": "message", "status": "in_progress",
            "role": "assistant", "content": []}));
        let at = json!({"item_id": id, "output_index": oi, "content_index": 0});
        let with = |t: &str, extra: Value| {
            let mut e = at.clone();
            e["type"] = json!(t);
            if let (Some(e), Value::Object(x)) = (e.as_object_mut(), extra) {
                e.extend(x);
            }
            e
        };
        let text: String = pieces.concat();
        self.events.push(with(
            "response.content_part.added",
            json!({"part": {"type": "output_text", "text": "", "annotations": []}}),
        ));
        for p in pieces {
            self.events.push(with(
                "response.output_text.delta",
                json!({"delta": p, "logprobs": []}),
            ));
        }
        self.events.push(with(
            "response.output_text.done",
            json!({"text": text, "logprobs": []}),
        ));
        let part = json!({"type": "output_text", "text": text, "annotations": []});
        self.events
            .push(with("response.content_part.done", json!({"part": part})));
        self.done(json!({"id": id, "type": "message", "status": "completed",
            "role": "assistant", "content": [part]}));
    }

    /// A reasoning item with one summary part per entry of `parts` (each as pieces).
    pub fn reasoning(&mut self, parts: &[Vec<String>], encrypted: Option<&str>) {
        let (oi, id) = (self.oi(), format!("rs_{}", self.oi()));
        self.added(json!({"id": id, "type": "reasoning", "summary": []}));
        let mut summary = Vec::new();
        for (si, pieces) in parts.iter().enumerate() {
            let at = json!({"item_id": id, "output_index": oi, "summary_index": si});
            let with = |t: &str, k: &str, v: Value| {
                let mut e = at.clone();
                e["type"] = json!(t);
                e[k] = v;
                e
            };
            self.events.push(with(
                "response.reasoning_summary_part.added",
                "part",
                json!({"type": "summary_text", "text": ""}),
            ));
            for p in pieces {
                self.events.push(with(
                    "response.reasoning_summary_text.delta",
                    "delta",
                    json!(p),
                ));
            }
            let text = pieces.concat();
            self.events.push(with(
                "response.reasoning_summary_text.done",
                "text",
                json!(text),
            ));
            let part = json!({"type": "summary_text", "text": text});
            self.events.push(with(
                "response.reasoning_summary_part.done",
                "part",
                part.clone(),
            ));
            summary.push(part);
        }
        let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
        if let Some(enc) = encrypted {
            item["encrypted_content"] = json!(enc);
        }
        self.done(item);
    }

    /// A function_call item whose arguments stream as `pieces`.
    pub fn function_call(&mut self, call_id: &str, name: &str, pieces: &[String]) {
        let (oi, id) = (self.oi(), format!("fc_{}", self.oi()));
        let item = json!({"id": id, "type": "function_call", "status": "in_progress",
            "arguments": "", "call_id": call_id, "name": name});
        self.added(item);
        for p in pieces {
            self.events
                .push(json!({"type": "response.function_call_arguments.delta",
                "item_id": id, "output_index": oi, "delta": p}));
        }
        let args = pieces.concat();
        self.events
            .push(json!({"type": "response.function_call_arguments.done",
            "item_id": id, "output_index": oi, "arguments": args}));
        self.done(
            json!({"id": id, "type": "function_call", "status": "completed",
            "arguments": args, "call_id": call_id, "name": name}),
        );
    }

    /// A custom_tool_call item whose input streams as `pieces`.
    pub fn custom_call(&mut self, call_id: &str, name: &str, pieces: &[String]) {
        let (oi, id) = (self.oi(), format!("ctc_{}", self.oi()));
        self.added(
            json!({"id": id, "type": "custom_tool_call", "call_id": call_id,
            "name": name, "input": ""}),
        );
        for p in pieces {
            self.events
                .push(json!({"type": "response.custom_tool_call_input.delta",
                "item_id": id, "output_index": oi, "delta": p}));
        }
        let input = pieces.concat();
        self.events
            .push(json!({"type": "response.custom_tool_call_input.done",
            "item_id": id, "output_index": oi, "input": input}));
        self.done(
            json!({"id": id, "type": "custom_tool_call", "call_id": call_id,
            "name": name, "input": input}),
        );
    }

    /// The terminal event: `completed`, `incomplete` (with `reason`) or `failed`.
    pub fn end(mut self, status: &str, reason: Option<&str>) -> Vec<Value> {
        let mut resp = json!({"id": "resp_up", "object": "response", "status": status,
            "output": self.output,
            "usage": {"input_tokens": 40, "input_tokens_details": {"cached_tokens": 8},
                "output_tokens": 12, "output_tokens_details": {"reasoning_tokens": 4},
                "total_tokens": 52}});
        if let Some(r) = reason {
            resp["incomplete_details"] = json!({"reason": r});
        }
        if status == "failed" {
            resp["usage"] = Value::Null;
            resp["error"] = json!({"code": reason.unwrap_or("server_error"), "message": "failed"});
        }
        self.events
            .push(json!({"type": format!("response.{status}"), "response": resp}));
        numbered(self.events)
    }
}

/// `&str`s as owned pieces.
pub fn owned(pieces: &[&str]) -> Vec<String> {
    pieces.iter().map(|p| p.to_string()).collect()
}
