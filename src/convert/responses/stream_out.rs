//! Chat Completions chunk stream → OpenAI Responses stream, one upstream event at a time.
//!
//! `response.created` and `response.in_progress` come first. Each kind of content gets
//! its own output item, numbered 0, 1, 2… in the order added: `reasoning_content` a
//! `reasoning` item (one summary part; a `reasoning_signature` delta becomes its
//! `encrypted_content` and closes it), `content` / `refusal` a `message` item (one
//! content part per run of either), each tool call index a `function_call` item, or a
//! `custom_tool_call` item for the request's freeform tools (whose input is known only
//! once the arguments are whole, so it is sent at the end in one delta). Only one
//! non-tool item is open at a time; tool calls stay open until other content starts or
//! the response ends, so that fragments of parallel calls interleaved by index still
//! reach their own item. The remembered `finish_reason` plus the usage chunk (or
//! `[DONE]`, or the end of the stream) close everything and send `response.completed`,
//! or `response.incomplete` for `length` / `content_filter`. An error chunk, or a stream
//! that ends before any `finish_reason`, becomes `response.failed` with an error code
//! Codex understands. Nothing follows the terminal event.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::common::{ResponsesCtx, custom_input_of_arguments, usage_from_chat};
use super::stream_items::{Item, ItemKind, Part};
use crate::convert::common::{REASONING_SIGNATURE_FIELD, anthropic_frame, restore_tool_name};
use crate::sse::Event;

/// See the module docs.
#[derive(Debug)]
pub struct ChatToResponsesStream {
    ctx: ResponsesCtx,
    seq: u64,
    started: bool,
    items: Vec<Item>,
    /// Chat tool call index → position in `items`.
    tools: Vec<(u64, usize)>,
    finish: Option<String>,
    usage: Option<Value>,
    final_response: Option<Value>,
    done: bool,
}

impl ChatToResponsesStream {
    pub fn new(ctx: ResponsesCtx) -> Self {
        ChatToResponsesStream {
            ctx,
            seq: 0,
            started: false,
            items: Vec::new(),
            tools: Vec::new(),
            finish: None,
            usage: None,
            final_response: None,
            done: false,
        }
    }

    /// The `response` object of `response.completed` / `response.incomplete`, once sent.
    pub fn final_response(&self) -> Option<&Value> {
        self.final_response.as_ref()
    }

    /// Convert one upstream event; returns the frames to write now.
    pub fn push(&mut self, ev: &Event) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if ev.data.trim() == "[DONE]" {
            self.end(&mut out);
            return out;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else {
            return out;
        };
        self.start(&mut out);
        if let Some(err) = chunk.get("error").filter(|e| !e.is_null()) {
            let (code, message) = super::stream_errors::failure_of_chat_error(err);
            self.fail(&code, &message, &mut out);
            return out;
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let choice = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.iter().find(|c| c["index"].as_u64().unwrap_or(0) == 0));
        if let Some(choice) = choice {
            self.delta(choice.get("delta").unwrap_or(&Value::Null), &mut out);
            if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish = Some(f.to_string());
            }
        }
        if self.finish.is_some() && self.usage.is_some() {
            self.end(&mut out);
        }
        out
    }

    /// Upstream ended: send the terminal event if it is still owed, exactly once.
    pub fn finish(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        if !self.done {
            self.start(&mut out);
            self.end(&mut out);
        }
        out
    }

    fn start(&mut self, out: &mut Vec<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        let resp = self.ctx.response("in_progress", vec![], None);
        self.emit("response.created", json!({"response": resp}), out);
        self.emit("response.in_progress", json!({"response": resp}), out);
    }

    /// The terminal event for a clean end (`[DONE]`, usage, or end of stream).
    fn end(&mut self, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        let Some(finish) = self.finish.clone() else {
            self.fail(
                "server_error",
                "upstream stream ended before the response was complete",
                out,
            );
            return;
        };
        self.close_all(out);
        let usage = usage_from_chat(self.usage.as_ref().unwrap_or(&Value::Null));
        let reason = match finish.as_str() {
            "length" => Some("max_output_tokens"),
            "content_filter" => Some("content_filter"),
            _ => None,
        };
        let status = if reason.is_some() {
            "incomplete"
        } else {
            "completed"
        };
        let mut resp = self.ctx.response(status, self.output(), Some(usage));
        if let Some(reason) = reason {
            resp["incomplete_details"] = json!({"reason": reason});
        }
        self.emit(
            &format!("response.{status}"),
            json!({"response": resp}),
            out,
        );
        self.final_response = Some(resp);
        self.done = true;
    }

    fn fail(&mut self, code: &str, message: &str, out: &mut Vec<Bytes>) {
        let mut resp = self.ctx.response("failed", self.output(), None);
        resp["error"] = json!({"code": code, "message": message});
        self.emit("response.failed", json!({"response": resp}), out);
        self.done = true;
    }

    /// The items done so far, in output order.
    fn output(&self) -> Vec<Value> {
        self.items.iter().filter_map(|i| i.done.clone()).collect()
    }

    fn delta(&mut self, delta: &Value, out: &mut Vec<Bytes>) {
        let text = |k: &str| {
            delta
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        if let Some(r) = text("reasoning_content").or_else(|| text("reasoning")) {
            let i = self.ensure_reasoning(out);
            self.reasoning_delta(i, r, out);
        }
        if let Some(sig) = text(REASONING_SIGNATURE_FIELD) {
            let i = self.ensure_reasoning(out);
            self.items[i].encrypted = super::stream_items::encrypted_of_signature(sig);
            self.close(i, out);
        }
        for (key, part) in [("content", Part::Text), ("refusal", Part::Refusal)] {
            if let Some(t) = text(key) {
                let i = self.ensure_message(out);
                self.message_delta(i, part, t, out);
            }
        }
        let calls = delta.get("tool_calls").and_then(Value::as_array);
        for call in calls.into_iter().flatten() {
            self.tool_call(call, out);
        }
    }

    /// The open item of `kind` that is last, if any.
    fn open_last(&self, kind: ItemKind) -> Option<usize> {
        let i = self.items.len().checked_sub(1)?;
        (self.items[i].done.is_none() && self.items[i].kind == kind).then_some(i)
    }

    fn ensure_reasoning(&mut self, out: &mut Vec<Bytes>) -> usize {
        if let Some(i) = self.open_last(ItemKind::Reasoning) {
            return i;
        }
        self.add(Item::new(ItemKind::Reasoning), out)
    }

    fn ensure_message(&mut self, out: &mut Vec<Bytes>) -> usize {
        if let Some(i) = self.open_last(ItemKind::Message) {
            return i;
        }
        self.add(Item::new(ItemKind::Message), out)
    }

    /// Close every open item, then open `item` as the next output index.
    fn add(&mut self, item: Item, out: &mut Vec<Bytes>) -> usize {
        self.close_all(out);
        let i = self.items.len();
        let added = item.added_json();
        self.items.push(item);
        self.emit(
            "response.output_item.added",
            json!({"output_index": i, "item": added}),
            out,
        );
        i
    }

    fn reasoning_delta(&mut self, i: usize, text: &str, out: &mut Vec<Bytes>) {
        let id = self.items[i].id.clone();
        if self.items[i].parts.is_empty() {
            self.items[i].parts.push((Part::Summary, String::new()));
            self.emit(
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": i, "summary_index": 0,
                    "part": {"type": "summary_text", "text": ""}}),
                out,
            );
        }
        if let Some(p) = self.items[i].parts.last_mut() {
            p.1.push_str(text);
        }
        self.emit(
            "response.reasoning_summary_text.delta",
            json!({"item_id": id, "output_index": i, "summary_index": 0, "delta": text}),
            out,
        );
    }

    fn message_delta(&mut self, i: usize, part: Part, text: &str, out: &mut Vec<Bytes>) {
        let id = self.items[i].id.clone();
        if self.items[i].parts.last().map(|p| p.0) != Some(part) {
            self.close_part(i, out);
            let ci = self.items[i].parts.len();
            self.items[i].parts.push((part, String::new()));
            self.emit(
                "response.content_part.added",
                json!({"item_id": id, "output_index": i, "content_index": ci,
                    "part": part.json("")}),
                out,
            );
        }
        let ci = self.items[i].parts.len() - 1;
        if let Some(p) = self.items[i].parts.last_mut() {
            p.1.push_str(text);
        }
        let mut ev = json!({"item_id": id, "output_index": i, "content_index": ci, "delta": text});
        if part == Part::Text {
            ev["logprobs"] = json!([]);
        }
        self.emit(part.delta_event(), ev, out);
    }

    fn tool_call(&mut self, call: &Value, out: &mut Vec<Bytes>) {
        let current = self.tools.last().map(|t| t.0);
        let has_id = call
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        let index = match call.get("index").and_then(Value::as_u64) {
            Some(i) => i,
            // No index: a new call when it carries an id, else the latest one.
            None if has_id || current.is_none() => {
                self.tools.iter().map(|t| t.0 + 1).max().unwrap_or(0)
            }
            None => current.unwrap_or(0),
        };
        let function = call.get("function").unwrap_or(&Value::Null);
        let known = self.tools.iter().find(|t| t.0 == index).map(|t| t.1);
        let i = match known {
            Some(i) => i,
            None => {
                let name = function.get("name").and_then(Value::as_str).unwrap_or("");
                let name = restore_tool_name(name);
                let call_id = match call.get("id").and_then(Value::as_str) {
                    Some(id) if !id.is_empty() => id.to_string(),
                    _ => super::common::item_id("call"),
                };
                let kind = if self.ctx.is_custom(&name) {
                    ItemKind::Custom
                } else {
                    ItemKind::Function
                };
                let mut item = Item::new(kind);
                match self.ctx.split_namespace(&name) {
                    Some((ns, inner)) => {
                        item.namespace = Some(ns.to_string());
                        item.name = inner.to_string();
                    }
                    None => item.name = name,
                }
                item.call_id = call_id;
                // Other tool calls stay open: parallel fragments may interleave.
                let open_other = self
                    .items
                    .iter()
                    .position(|it| it.done.is_none() && !it.is_tool());
                if let Some(o) = open_other {
                    self.close(o, out);
                }
                let i = self.items.len();
                let added = item.added_json();
                self.items.push(item);
                self.emit(
                    "response.output_item.added",
                    json!({"output_index": i, "item": added}),
                    out,
                );
                self.tools.push((index, i));
                i
            }
        };
        let args = function.get("arguments").and_then(Value::as_str);
        let Some(args) = args.filter(|a| !a.is_empty()) else {
            return;
        };
        if self.items[i].done.is_some() {
            return; // closed when other content started; cannot be delivered
        }
        self.items[i].args.push_str(args);
        if self.items[i].kind == ItemKind::Function {
            let id = self.items[i].id.clone();
            self.emit(
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": i, "delta": args}),
                out,
            );
        }
    }

    fn close_all(&mut self, out: &mut Vec<Bytes>) {
        for i in 0..self.items.len() {
            self.close(i, out);
        }
    }

    /// Close the open content part of message item `i`.
    fn close_part(&mut self, i: usize, out: &mut Vec<Bytes>) {
        let Some((part, text)) = self.items[i].parts.last().cloned() else {
            return;
        };
        let id = self.items[i].id.clone();
        let ci = self.items[i].parts.len() - 1;
        let mut done = json!({"item_id": id, "output_index": i, "content_index": ci});
        done[part.text_field()] = json!(text);
        if part == Part::Text {
            done["logprobs"] = json!([]);
        }
        self.emit(part.done_event(), done, out);
        self.emit(
            "response.content_part.done",
            json!({"item_id": id, "output_index": i, "content_index": ci,
                "part": part.json(&text)}),
            out,
        );
    }

    /// Send the closing events of item `i` (no-op when already done).
    fn close(&mut self, i: usize, out: &mut Vec<Bytes>) {
        let item = &self.items[i];
        if item.done.is_some() {
            return;
        }
        let at = json!({"item_id": item.id, "output_index": i});
        let with = |fields: Value| {
            let mut v = at.clone();
            if let (Some(v), Value::Object(f)) = (v.as_object_mut(), fields) {
                v.extend(f);
            }
            v
        };
        match item.kind {
            ItemKind::Reasoning => {
                if let Some((_, text)) = item.parts.first().cloned() {
                    let done = with(json!({"summary_index": 0, "text": text}));
                    let part = with(json!({"summary_index": 0,
                        "part": {"type": "summary_text", "text": text}}));
                    self.emit("response.reasoning_summary_text.done", done, out);
                    self.emit("response.reasoning_summary_part.done", part, out);
                }
            }
            ItemKind::Message => self.close_part(i, out),
            ItemKind::Function => {
                // A call without arguments still carries a JSON object, as OpenAI sends.
                if item.args.trim().is_empty() {
                    let delta = with(json!({"delta": "{}"}));
                    self.emit("response.function_call_arguments.delta", delta, out);
                    self.items[i].args = "{}".to_string();
                }
                let item = &self.items[i];
                let done = with(json!({"name": item.name, "arguments": item.args}));
                self.emit("response.function_call_arguments.done", done, out);
            }
            ItemKind::Custom => {
                let input = custom_input_of_arguments(&item.args);
                let (delta, done) = (with(json!({"delta": input})), with(json!({"input": input})));
                if !input.is_empty() {
                    self.emit("response.custom_tool_call_input.delta", delta, out);
                }
                self.emit("response.custom_tool_call_input.done", done, out);
            }
        }
        let done = self.items[i].done_json();
        self.emit(
            "response.output_item.done",
            json!({"output_index": i, "item": done}),
            out,
        );
        self.items[i].done = Some(done);
    }

    /// One `event: <type>` frame; `fields` gets `type` and the next `sequence_number`.
    fn emit(&mut self, kind: &str, fields: Value, out: &mut Vec<Bytes>) {
        let mut m = Map::new();
        m.insert("type".into(), json!(kind));
        m.insert("sequence_number".into(), json!(self.seq));
        if let Value::Object(f) = fields {
            m.extend(f);
        }
        self.seq += 1;
        out.push(anthropic_frame(kind, &Value::Object(m)));
    }
}

#[cfg(test)]
#[path = "stream_out_tests.rs"]
mod tests;
