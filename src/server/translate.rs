//! The glue between the proxy and the pure converters in `crate::convert`: which
//! request body an upstream gets, and how its answer (JSON, SSE stream, or error) is
//! turned into what the client expects.
//!
//! Shapes: a client speaks Anthropic Messages, OpenAI Chat Completions, the legacy
//! OpenAI Completions (served through chat), OpenAI Responses or Gemini
//! `generateContent`; an upstream speaks Messages, Chat, Responses or Gemini. Chat
//! Completions is the pivot every conversion passes through (docs/architecture.md,
//! "Formats").

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::Value;

use super::errors::GatewayError;
use crate::config::{Api, Provider, Upstream};
use crate::convert::gemini::{
    self, ChatToGeminiStream, Framing, GeminiClientCtx, GeminiCtx, GeminiToChatStream,
};
use crate::convert::responses::{self, ChatToResponsesStream, ResponsesCtx, ResponsesToChatStream};
use crate::convert::{
    self, AnthropicToOpenAiStream, ChatToCompletionsStream, ConvertError, OpenAiToAnthropicStream,
    RequestOptions,
};
use crate::sse::{Event, SseParser};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Messages,
    Chat,
    Completions,
    Responses,
    Gemini,
}

impl Shape {
    pub fn of_upstream(u: &Upstream) -> Shape {
        match (u.provider, u.api) {
            (Provider::Anthropic, _) => Shape::Messages,
            (Provider::Openai, Api::Chat) => Shape::Chat,
            (Provider::Openai, Api::Responses) => Shape::Responses,
            (Provider::Gemini, _) => Shape::Gemini,
        }
    }

    /// The API path (and query) of this shape's inference endpoint, for a converted
    /// request: Gemini's names the model and whether it streams (as SSE).
    pub fn path(self, model: &str, stream: bool) -> (String, Option<&'static str>) {
        let fixed = match self {
            Shape::Messages => "/v1/messages",
            Shape::Chat => "/v1/chat/completions",
            Shape::Completions => "/v1/completions",
            Shape::Responses => "/v1/responses",
            Shape::Gemini => return gemini_path("v1beta", model, stream),
        };
        (fixed.to_string(), None)
    }
}

/// `/{version}/models/{model}:generateContent`, or `:streamGenerateContent?alt=sse`.
pub fn gemini_path(version: &str, model: &str, stream: bool) -> (String, Option<&'static str>) {
    if stream {
        let p = gemini_method_path(version, model, "streamGenerateContent");
        (p, Some("alt=sse"))
    } else {
        (gemini_method_path(version, model, "generateContent"), None)
    }
}

/// `/{version}/models/{model}:{method}`, the model percent-encoded where a path
/// segment needs it.
pub fn gemini_method_path(version: &str, model: &str, method: &str) -> String {
    let mut m = String::with_capacity(model.len());
    for b in model.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            m.push(b as char);
        } else {
            m.push_str(&format!("%{b:02X}"));
        }
    }
    format!("/{version}/models/{m}:{method}")
}

pub fn convert_error(e: ConvertError) -> GatewayError {
    GatewayError::BadRequest(e.to_string())
}

fn set_model(v: &mut Value, model: &str) {
    if let Some(o) = v.as_object_mut() {
        o.insert("model".into(), Value::String(model.into()));
    }
}

/// A request body converted for an upstream, and what converting its answer needs.
#[derive(Debug)]
pub struct Converted {
    pub body: Bytes,
    /// For a Gemini upstream: the renamed functions, the model, whether it streams.
    pub gemini: Option<GeminiCtx>,
}

/// What the client's request says beyond its body: Gemini clients name the model
/// and ask for a stream in the URL.
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    pub model: &'a str,
    pub stream: bool,
}

/// The request body for an upstream of shape `to`, from the client's parsed body.
/// Chat Completions is the pivot: a client body is read into Chat (unless it is
/// Chat), then written in the upstream's shape (unless that is Chat). The Chat ⇄
/// Messages pair is the one the gateway started with; Responses and Gemini plug in
/// beside it.
pub fn request_body(
    client: Shape,
    to: Shape,
    json: &Value,
    upstream_model: &str,
    req: ClientRequest<'_>,
) -> Result<Converted, GatewayError> {
    let opts = RequestOptions {
        upstream_model: upstream_model.to_string(),
        // Reasoning of the other vendor rides in Chat's `thinking_blocks` extension
        // only when another step reads it; a real Chat upstream never sees it.
        keep_reasoning: to != Shape::Chat,
    };
    let mut gemini_ctx = None;
    let out = if client == to {
        let mut v = json.clone();
        if to != Shape::Gemini {
            set_model(&mut v, upstream_model);
        }
        v
    } else {
        let chat: Cow<'_, Value> = match client {
            Shape::Chat => Cow::Borrowed(json),
            Shape::Completions => Cow::Owned(convert::completions_to_chat_request(json)?),
            Shape::Messages => Cow::Owned(convert::anthropic_to_openai_request(json, &opts)?),
            Shape::Responses => Cow::Owned(responses::responses_to_chat_request(json, &opts)?),
            Shape::Gemini => {
                let (mut chat, _) = gemini::gemini_to_chat_request(json, req.model, req.stream)?;
                set_model(&mut chat, upstream_model);
                Cow::Owned(chat)
            }
        };
        match to {
            Shape::Messages => convert::openai_to_anthropic_request(&chat, &opts)?,
            Shape::Responses => responses::chat_to_responses_request(&chat, &opts)?,
            Shape::Gemini => {
                let (body, ctx) = gemini::chat_to_gemini_request(&chat, &opts)?;
                gemini_ctx = Some(ctx);
                body
            }
            Shape::Chat | Shape::Completions => {
                let mut v = chat.into_owned();
                set_model(&mut v, upstream_model);
                // Gemini's `topK` rides in Chat as `top_k` for the Anthropic and Gemini
                // writers; OpenAI's Chat API refuses the field.
                if let Some(o) = v.as_object_mut() {
                    o.remove("top_k");
                }
                v
            }
        }
    };
    let body = serde_json::to_vec(&out)
        .map(Bytes::from)
        .map_err(|e| GatewayError::Internal(e.to_string()))?;
    Ok(Converted {
        body,
        gemini: gemini_ctx,
    })
}

impl From<ConvertError> for GatewayError {
    fn from(e: ConvertError) -> Self {
        convert_error(e)
    }
}

/// What converting an answer needs to know of the request.
pub struct AnswerCtx<'a> {
    /// The model the client asked for (answers carry it, whatever served them).
    pub client_model: &'a str,
    /// For Responses clients: the request's tools and echoed parameters.
    pub responses: Option<&'a ResponsesCtx>,
    /// For Gemini upstreams: what converting the request learned.
    pub gemini: Option<&'a GeminiCtx>,
}

/// A complete (non-streaming) successful answer, converted through Chat.
pub fn response_json(
    from: Shape,
    to: Shape,
    v: Value,
    cx: &AnswerCtx<'_>,
) -> Result<Value, GatewayError> {
    let bad = |e: ConvertError| {
        GatewayError::BadGateway(format!("could not convert the upstream's answer: {e}"))
    };
    if from == to {
        return Ok(v);
    }
    let model = cx.client_model;
    let mut chat = match from {
        Shape::Messages => convert::anthropic_to_openai_response(&v, model).map_err(bad)?,
        Shape::Responses => responses::responses_to_chat_response(&v, model).map_err(bad)?,
        Shape::Gemini => {
            let fallback = GeminiCtx::default();
            gemini::gemini_to_chat_response(&v, cx.gemini.unwrap_or(&fallback), model)
        }
        Shape::Chat | Shape::Completions => v,
    };
    Ok(match to {
        Shape::Chat => chat,
        Shape::Completions => {
            set_model(&mut chat, model);
            convert::chat_to_completions_response(&chat)
        }
        Shape::Messages => convert::openai_to_anthropic_response(&chat, model).map_err(bad)?,
        Shape::Responses => {
            let fallback;
            let ctx = match cx.responses {
                Some(c) => c,
                None => {
                    fallback = ResponsesCtx::of_request(&Value::Null, model);
                    &fallback
                }
            };
            responses::chat_to_responses_response(&chat, ctx).map_err(bad)?
        }
        Shape::Gemini => gemini::chat_to_gemini_response(&chat, &gemini_client(model)),
    })
}

fn gemini_client(model: &str) -> GeminiClientCtx {
    GeminiClientCtx {
        model: model.to_string(),
    }
}

/// An upstream error, in the client's shape.
pub fn error_json(to: Shape, status: u16, body: &[u8]) -> (u16, Value) {
    match to {
        Shape::Messages => convert::error_to_anthropic(status, body),
        Shape::Chat | Shape::Completions | Shape::Responses => {
            convert::error_to_openai(status, body)
        }
        Shape::Gemini => convert::error_to_gemini(status, body),
    }
}

/// One step of stream conversion: SSE events in, SSE frames out.
trait Stage: Send {
    fn push(&mut self, ev: &Event) -> Vec<Bytes>;
    fn finish(&mut self) -> Vec<Bytes>;
    /// The whole answer, for stages that build one (Responses' final `response`).
    fn final_response(&self) -> Option<&Value> {
        None
    }
}

macro_rules! stage {
    ($t:ty) => {
        impl Stage for $t {
            fn push(&mut self, ev: &Event) -> Vec<Bytes> {
                <$t>::push(self, ev)
            }
            fn finish(&mut self) -> Vec<Bytes> {
                <$t>::finish(self)
            }
        }
    };
}
stage!(AnthropicToOpenAiStream);
stage!(OpenAiToAnthropicStream);
stage!(ChatToCompletionsStream);
stage!(ResponsesToChatStream);
stage!(GeminiToChatStream);
stage!(ChatToGeminiStream);

impl Stage for ChatToResponsesStream {
    fn push(&mut self, ev: &Event) -> Vec<Bytes> {
        ChatToResponsesStream::push(self, ev)
    }
    fn finish(&mut self) -> Vec<Bytes> {
        ChatToResponsesStream::finish(self)
    }
    fn final_response(&self) -> Option<&Value> {
        ChatToResponsesStream::final_response(self)
    }
}

/// What building a [`StreamConverter`] needs to know of the request.
pub struct StreamCtx<'a> {
    /// The model the client asked for.
    pub client_model: &'a str,
    /// A Chat client asked for a usage chunk.
    pub include_usage: bool,
    pub responses: Option<&'a ResponsesCtx>,
    /// For Gemini upstreams.
    pub gemini: Option<&'a GeminiCtx>,
    /// For Gemini clients: SSE (`?alt=sse`) or the JSON array.
    pub framing: Framing,
}

/// Converts an upstream SSE byte stream into the client's, event by event, with
/// bounded memory (a line longer than the parser's limit is dropped): through a
/// stage into Chat chunks and a stage out of them, either of which may be absent.
pub struct StreamConverter {
    parser: SseParser,
    first: Box<dyn Stage>,
    /// A second stage, fed the first one's frames.
    second: Option<(SseParser, Box<dyn Stage>)>,
    /// Given the complete answer when the stream ends with one.
    on_final: Option<OnFinal>,
}

/// What to do with a converted stream's complete answer (keep it for
/// `previous_response_id`).
pub type OnFinal = Box<dyn FnOnce(&Value) + Send>;

impl StreamConverter {
    /// `None` when no conversion is needed.
    pub fn new(from: Shape, to: Shape, cx: &StreamCtx<'_>) -> Option<Self> {
        if from == to {
            return None;
        }
        let client_model = cx.client_model;
        // Usage is always asked of an inner step: the next one needs it.
        let usage = cx.include_usage || to != Shape::Chat;
        let into_chat: Option<Box<dyn Stage>> = match from {
            Shape::Messages => Some(Box::new(AnthropicToOpenAiStream::new(client_model, usage))),
            Shape::Responses => Some(Box::new(ResponsesToChatStream::new(client_model, usage))),
            Shape::Gemini => {
                let mut ctx = cx.gemini.cloned().unwrap_or_default();
                ctx.include_usage = usage;
                Some(Box::new(GeminiToChatStream::new(ctx, client_model)))
            }
            Shape::Chat | Shape::Completions => None,
        };
        let out_of_chat: Option<Box<dyn Stage>> = match to {
            Shape::Messages => Some(Box::new(OpenAiToAnthropicStream::new(client_model))),
            Shape::Completions => Some(Box::new(ChatToCompletionsStream::new(client_model))),
            Shape::Responses => Some(Box::new(ChatToResponsesStream::new(
                cx.responses
                    .cloned()
                    .unwrap_or_else(|| ResponsesCtx::of_request(&Value::Null, client_model)),
            ))),
            Shape::Gemini => Some(Box::new(ChatToGeminiStream::new(
                gemini_client(client_model),
                cx.framing,
            ))),
            Shape::Chat => None,
        };
        let (first, second) = match (into_chat, out_of_chat) {
            (Some(a), Some(b)) => (a, Some(b)),
            (Some(a), None) | (None, Some(a)) => (a, None),
            (None, None) => return None,
        };
        Some(StreamConverter {
            parser: SseParser::new(4 * 1024 * 1024),
            first,
            second: second.map(|s| (SseParser::new(4 * 1024 * 1024), s)),
            on_final: None,
        })
    }

    /// Call `f` with the complete answer if the stream ends with one.
    pub fn on_final(&mut self, f: OnFinal) {
        self.on_final = Some(f);
    }

    /// The complete answer, once the stream ended, where the last stage builds one.
    pub fn final_response(&self) -> Option<&Value> {
        match &self.second {
            Some((_, s)) => s.final_response(),
            None => self.first.final_response(),
        }
    }

    /// Feed upstream bytes; returns the client bytes ready now.
    pub fn feed(&mut self, chunk: &[u8]) -> Bytes {
        let mut frames = Vec::new();
        let first = &mut self.first;
        self.parser.feed(chunk, |ev| frames.extend(first.push(&ev)));
        self.chain(frames)
    }

    /// The upstream ended (cleanly or not): whatever closing frames are owed.
    pub fn finish(&mut self) -> Bytes {
        let frames = self.first.finish();
        let mut out = self.chain(frames).to_vec();
        if let Some((_, s)) = &mut self.second {
            for f in s.finish() {
                out.extend_from_slice(&f);
            }
        }
        if let Some(f) = self.on_final.take()
            && let Some(answer) = self.final_response()
            && answer.get("status").and_then(Value::as_str) != Some("failed")
        {
            f(answer);
        }
        Bytes::from(out)
    }

    fn chain(&mut self, frames: Vec<Bytes>) -> Bytes {
        let mut out = Vec::new();
        match &mut self.second {
            None => {
                for f in frames {
                    out.extend_from_slice(&f);
                }
            }
            Some((parser, stage)) => {
                for f in frames {
                    parser.feed(&f, |ev| {
                        for g in stage.push(&ev) {
                            out.extend_from_slice(&g);
                        }
                    });
                }
            }
        }
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cx(model: &str) -> StreamCtx<'_> {
        StreamCtx {
            client_model: model,
            include_usage: true,
            responses: None,
            gemini: None,
            framing: Framing::Sse,
        }
    }

    #[test]
    fn anthropic_stream_to_legacy_completions() {
        let mut c =
            StreamConverter::new(Shape::Messages, Shape::Completions, &cx("claude-x")).unwrap();
        let mut out = Vec::new();
        for e in [
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [], "stop_reason": null, "usage": {"input_tokens": 3, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
            json!({"type": "message_stop"}),
        ] {
            let t = e["type"].as_str().unwrap().to_string();
            out.extend_from_slice(&c.feed(format!("event: {t}\ndata: {e}\n\n").as_bytes()));
        }
        out.extend_from_slice(&c.finish());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("text_completion"), "{text}");
        assert!(
            text.contains("\"Hel\"") && text.contains("\"lo\""),
            "{text}"
        );
        assert_eq!(text.matches("[DONE]").count(), 1, "{text}");
    }

    #[test]
    fn same_shape_needs_no_converter() {
        assert!(StreamConverter::new(Shape::Chat, Shape::Chat, &cx("m")).is_none());
        assert!(StreamConverter::new(Shape::Messages, Shape::Messages, &cx("m")).is_none());
        assert!(StreamConverter::new(Shape::Gemini, Shape::Gemini, &cx("m")).is_none());
    }
}
