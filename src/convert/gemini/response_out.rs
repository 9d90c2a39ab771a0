//! Chat Completions answer → Gemini `generateContent` answer, and the same for the
//! stream: Chat chunks → Gemini answer chunks, framed as SSE (`?alt=sse`) or as one
//! JSON array (Gemini's stream without `alt=sse`).
//!
//! The answer is one candidate: `reasoning_content` as a `thought: true` part, the text,
//! then each tool call as a `functionCall` (arguments parsed, the Chat id kept as the
//! call's `id`, so a client that returns it is matched exactly; a `thoughtSignature`
//! from a Gemini upstream kept). `finish_reason` → `finishReason` (`stop` and
//! `tool_calls` STOP, `length` MAX_TOKENS, `content_filter` SAFETY); `usage` →
//! `usageMetadata`, with reasoning tokens as `thoughtsTokenCount`, outside
//! `candidatesTokenCount` as Gemini counts them.
//!
//! In the stream, text and thoughts go out as they come; a tool call's arguments come in
//! pieces, so each call goes out whole when the next one starts or the answer finishes
//! (Gemini streams calls whole too). The last chunk carries `finishReason` and
//! `usageMetadata` and is written when the upstream's stream ends (Chat sends usage
//! after the finish). A Chat `error` frame becomes a Gemini error object and ends the
//! stream.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::THOUGHT_SIGNATURE_FIELD;
use super::request_in::GeminiClientCtx;
use crate::convert::common::parse_arguments;
use crate::sse::Event;

/// Convert a Chat answer for a Gemini client.
pub fn chat_to_gemini_response(body: &Value, ctx: &GeminiClientCtx) -> Value {
    let choice = body.pointer("/choices/0").unwrap_or(&Value::Null);
    let msg = choice.get("message").unwrap_or(&Value::Null);
    let mut parts = Vec::new();
    if let Some(r) = msg.get("reasoning_content").and_then(Value::as_str)
        && !r.is_empty()
    {
        parts.push(json!({"text": r, "thought": true}));
    }
    if let Some(t) =
        crate::convert::common::openai_content_text(msg.get("content").unwrap_or(&Value::Null))
        && !t.is_empty()
    {
        parts.push(json!({"text": t}));
    }
    for c in msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        parts.push(function_call_part(c));
    }
    let mut out = json!({
        "candidates": [{
            "content": {"role": "model", "parts": parts},
            "finishReason": finish_reason(choice.get("finish_reason").and_then(Value::as_str)),
            "index": 0,
        }],
        "modelVersion": ctx.model,
    });
    if let Some(id) = body.get("id").and_then(Value::as_str) {
        out["responseId"] = json!(id);
    }
    if let Some(u) = body.get("usage") {
        out["usageMetadata"] = usage_metadata(u);
    }
    out
}

fn function_call_part(c: &Value) -> Value {
    let name = c
        .pointer("/function/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let args = c
        .pointer("/function/arguments")
        .and_then(Value::as_str)
        .map(parse_arguments)
        .unwrap_or_else(|| json!({}));
    let mut call = json!({"name": name, "args": args});
    if let Some(id) = c.get("id").and_then(Value::as_str) {
        call["id"] = json!(id);
    }
    let mut part = json!({"functionCall": call});
    if let Some(sig) = c
        .pointer(&format!("/extra_content/google/{THOUGHT_SIGNATURE_FIELD}"))
        .and_then(Value::as_str)
    {
        part["thoughtSignature"] = json!(sig);
    }
    part
}

/// Chat `finish_reason` → Gemini `finishReason`.
pub fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("length") => "MAX_TOKENS",
        Some("content_filter") => "SAFETY",
        _ => "STOP",
    }
}

/// Chat `usage` → Gemini `usageMetadata`.
pub fn usage_metadata(u: &Value) -> Value {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let prompt = n("/prompt_tokens");
    let completion = n("/completion_tokens");
    let thoughts = n("/completion_tokens_details/reasoning_tokens").min(completion);
    let mut m = json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion - thoughts,
        "totalTokenCount": prompt + completion,
    });
    if thoughts > 0 {
        m["thoughtsTokenCount"] = json!(thoughts);
    }
    let cached = n("/prompt_tokens_details/cached_tokens");
    if cached > 0 {
        m["cachedContentTokenCount"] = json!(cached);
    }
    m
}

/// How a Gemini stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `?alt=sse`: `data: {chunk}\r\n\r\n` events.
    Sse,
    /// No `alt`: one JSON array, `[{chunk}\r\n,{chunk}…]`, sent as it grows.
    JsonArray,
}

/// A tool call being gathered from its pieces.
#[derive(Debug, Default)]
struct PendingCall {
    id: Option<String>,
    name: String,
    arguments: String,
    signature: Option<String>,
}

/// Chat chunks → Gemini chunks; see the module docs.
#[derive(Debug)]
pub struct ChatToGeminiStream {
    ctx: GeminiClientCtx,
    framing: Framing,
    id: Option<String>,
    pending: Vec<PendingCall>,
    finish: Option<String>,
    usage: Option<Value>,
    wrote: bool,
    done: bool,
}

impl ChatToGeminiStream {
    pub fn new(ctx: GeminiClientCtx, framing: Framing) -> Self {
        ChatToGeminiStream {
            ctx,
            framing,
            id: None,
            pending: Vec::new(),
            finish: None,
            usage: None,
            wrote: false,
            done: false,
        }
    }

    /// Convert one upstream Chat event; returns the bytes to write now.
    pub fn push(&mut self, ev: &Event) -> Vec<Bytes> {
        if self.done {
            return Vec::new();
        }
        if ev.data.trim() == "[DONE]" {
            return self.finish();
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else {
            return Vec::new();
        };
        if let Some(err) = chunk.get("error") {
            let mut out = Vec::new();
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("upstream error");
            self.write(
                &mut out,
                json!({"error": {"code": 500, "message": message, "status": "INTERNAL"}}),
            );
            self.close(&mut out);
            return out;
        }
        if self.id.is_none() {
            self.id = chunk.get("id").and_then(Value::as_str).map(str::to_string);
        }
        if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
            self.usage = Some(usage_metadata(u));
        }
        let mut parts = Vec::new();
        for choice in chunk
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let delta = choice.get("delta").unwrap_or(&Value::Null);
            if let Some(r) = delta.get("reasoning_content").and_then(Value::as_str)
                && !r.is_empty()
            {
                parts.push(json!({"text": r, "thought": true}));
            }
            if let Some(t) = delta.get("content").and_then(Value::as_str)
                && !t.is_empty()
            {
                parts.push(json!({"text": t}));
            }
            for tc in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = tc.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                // A new call: the ones before it are complete.
                if index >= self.pending.len() {
                    parts.extend(self.take_calls());
                    self.pending.resize_with(index + 1, PendingCall::default);
                    // Keep earlier indexes' slots empty but present.
                }
                if let Some(p) = self.pending.get_mut(index) {
                    if let Some(id) = tc.get("id").and_then(Value::as_str) {
                        p.id = Some(id.to_string());
                    }
                    if let Some(n) = tc.pointer("/function/name").and_then(Value::as_str) {
                        p.name.push_str(n);
                    }
                    if let Some(a) = tc.pointer("/function/arguments").and_then(Value::as_str) {
                        p.arguments.push_str(a);
                    }
                    if let Some(s) = tc
                        .pointer(&format!("/extra_content/google/{THOUGHT_SIGNATURE_FIELD}"))
                        .and_then(Value::as_str)
                    {
                        p.signature = Some(s.to_string());
                    }
                }
            }
            // The calls still gathering go out with the last chunk, as Gemini sends its
            // final call beside the finish reason.
            if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish = Some(f.to_string());
            }
        }
        let mut out = Vec::new();
        if !parts.is_empty() {
            let c = self.chunk(parts, None);
            self.write(&mut out, c);
        }
        out
    }

    /// Upstream ended: the last chunk (finish reason, usage), then the array's end.
    /// A stream that never finished ends in an error object instead.
    pub fn finish(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        let calls = self.take_calls();
        match self.finish.take() {
            Some(f) => {
                let mut last = self.chunk(calls, Some(finish_reason(Some(&f))));
                if let Some(u) = self.usage.take() {
                    last["usageMetadata"] = u;
                }
                self.write(&mut out, last);
            }
            None => {
                self.write(
                    &mut out,
                    json!({"error": {"code": 502, "status": "UNAVAILABLE",
                        "message": "upstream stream ended before the response was complete"}}),
                );
            }
        }
        self.close(&mut out);
        out
    }

    /// Calls gathered so far, as `functionCall` parts, in order.
    fn take_calls(&mut self) -> Vec<Value> {
        let calls = std::mem::take(&mut self.pending);
        // Slots stay so that later indexes keep their place.
        self.pending = calls.iter().map(|_| PendingCall::default()).collect();
        calls
            .into_iter()
            .filter(|p| !p.name.is_empty())
            .map(|p| {
                let mut tc = json!({"function": {"name": p.name, "arguments": p.arguments}});
                if let Some(id) = p.id {
                    tc["id"] = json!(id);
                }
                if let Some(s) = p.signature {
                    tc["extra_content"] = json!({"google": {THOUGHT_SIGNATURE_FIELD: s}});
                }
                function_call_part(&tc)
            })
            .collect()
    }

    fn chunk(&self, parts: Vec<Value>, finish: Option<&str>) -> Value {
        let parts = if parts.is_empty() {
            vec![json!({"text": ""})]
        } else {
            parts
        };
        let mut candidate = Map::new();
        candidate.insert("content".into(), json!({"role": "model", "parts": parts}));
        if let Some(f) = finish {
            candidate.insert("finishReason".into(), json!(f));
        }
        candidate.insert("index".into(), json!(0));
        let mut c = json!({"candidates": [candidate], "modelVersion": self.ctx.model});
        if let Some(id) = &self.id {
            c["responseId"] = json!(id);
        }
        c
    }

    fn write(&mut self, out: &mut Vec<Bytes>, v: Value) {
        let text = v.to_string();
        out.push(match self.framing {
            Framing::Sse => Bytes::from(format!("data: {text}\r\n\r\n")),
            Framing::JsonArray => {
                let sep = if self.wrote { ",\r\n" } else { "[" };
                Bytes::from(format!("{sep}{text}"))
            }
        });
        self.wrote = true;
    }

    fn close(&mut self, out: &mut Vec<Bytes>) {
        if self.framing == Framing::JsonArray {
            out.push(Bytes::from_static(if self.wrote { b"]" } else { b"[]" }));
        }
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> GeminiClientCtx {
        GeminiClientCtx {
            model: "gemini-2.5-pro".into(),
        }
    }

    fn ev(v: Value) -> Event {
        Event {
            event: String::new(),
            data: v.to_string(),
        }
    }

    fn chunk(delta: Value, finish: Option<&str>) -> Event {
        ev(
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
        )
    }

    #[test]
    fn an_answer_with_calls_and_usage() {
        let g = chat_to_gemini_response(
            &json!({"id": "chatcmpl-9", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Checking.", "reasoning_content": "think",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "ls", "arguments": "{\"dir\":\".\"}"}}]}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18,
                    "completion_tokens_details": {"reasoning_tokens": 3}, "prompt_tokens_details": {"cached_tokens": 4}}}),
            &ctx(),
        );
        let c = &g["candidates"][0];
        assert_eq!(c["finishReason"], "STOP");
        assert_eq!(
            c["content"]["parts"][0],
            json!({"text": "think", "thought": true})
        );
        assert_eq!(c["content"]["parts"][1], json!({"text": "Checking."}));
        assert_eq!(
            c["content"]["parts"][2],
            json!({"functionCall": {"id": "call_1", "name": "ls", "args": {"dir": "."}}})
        );
        assert_eq!(
            g["usageMetadata"],
            json!({"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 3,
                "totalTokenCount": 18, "cachedContentTokenCount": 4})
        );
        assert_eq!(g["modelVersion"], "gemini-2.5-pro");
        assert_eq!(g["responseId"], "chatcmpl-9");
    }

    fn run(framing: Framing) -> String {
        let mut s = ChatToGeminiStream::new(ctx(), framing);
        let mut out = Vec::new();
        out.extend(s.push(&chunk(json!({"role": "assistant", "content": ""}), None)));
        out.extend(s.push(&chunk(json!({"content": "Hel"}), None)));
        out.extend(s.push(&chunk(json!({"content": "lo"}), None)));
        out.extend(s.push(&chunk(json!({"tool_calls": [{"index": 0, "id": "c0", "function": {"name": "ls", "arguments": ""}}]}), None)));
        out.extend(s.push(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"dir\":"}}]}),
            None,
        )));
        out.extend(s.push(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\".\"}"}}]}),
            None,
        )));
        out.extend(s.push(&chunk(json!({"tool_calls": [{"index": 1, "id": "c1", "function": {"name": "ls", "arguments": "{}"}}]}), None)));
        out.extend(s.push(&chunk(json!({}), Some("tool_calls"))));
        out.extend(s.push(&ev(json!({"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}))));
        out.extend(s.push(&Event {
            event: String::new(),
            data: "[DONE]".into(),
        }));
        out.extend(s.finish());
        out.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn the_stream_as_sse_and_as_a_json_array() {
        let sse = run(Framing::Sse);
        let chunks: Vec<Value> = sse
            .split("\r\n\r\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        let parts: Vec<&Value> = chunks
            .iter()
            .map(|c| &c["candidates"][0]["content"]["parts"][0])
            .collect();
        assert_eq!(parts[0]["text"], "Hel");
        assert_eq!(parts[1]["text"], "lo");
        // The first call goes out whole when the second starts; the second at the end.
        assert_eq!(
            parts[2]["functionCall"],
            json!({"id": "c0", "name": "ls", "args": {"dir": "."}})
        );
        let last = chunks.last().unwrap();
        assert_eq!(
            last["candidates"][0]["content"]["parts"][0]["functionCall"]["id"],
            "c1"
        );
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 5);
        assert_eq!(chunks.len(), 4);

        let array: Value = serde_json::from_str(&run(Framing::JsonArray)).unwrap();
        assert_eq!(array.as_array().map(Vec::len), Some(4));
        assert_eq!(&array, &Value::Array(chunks));
    }

    #[test]
    fn cut_streams_and_errors() {
        let mut s = ChatToGeminiStream::new(ctx(), Framing::JsonArray);
        let mut out = s.push(&chunk(json!({"content": "par"}), None));
        out.extend(s.finish());
        out.extend(s.finish());
        let text: String = out
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[1]["error"]["status"], "UNAVAILABLE");

        let mut s = ChatToGeminiStream::new(ctx(), Framing::Sse);
        let out = s.push(&ev(
            json!({"error": {"message": "boom", "type": "server_error"}}),
        ));
        assert!(String::from_utf8_lossy(&out[0]).contains("\"status\":\"INTERNAL\""));
        assert!(s.finish().is_empty());

        let mut s = ChatToGeminiStream::new(ctx(), Framing::JsonArray);
        let text: String = s
            .finish()
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert!(text.starts_with('[') && text.ends_with(']'), "{text}");
    }
}
