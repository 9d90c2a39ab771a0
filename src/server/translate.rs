//! The glue between the proxy and the pure converters in `crate::convert`: which
//! request body an upstream gets, and how its answer (JSON, SSE stream, or error) is
//! turned into what the client expects.
//!
//! Shapes: a client speaks Anthropic Messages, OpenAI Chat Completions, or the legacy
//! OpenAI Completions (served through chat); an upstream speaks Messages or Chat.

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::Value;

use super::errors::GatewayError;
use crate::config::Provider;
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
}

impl Shape {
    pub fn of_upstream(p: Provider) -> Shape {
        match p {
            Provider::Anthropic => Shape::Messages,
            Provider::Openai => Shape::Chat,
        }
    }

    /// The API path for this shape's inference endpoint.
    pub fn path(self) -> &'static str {
        match self {
            Shape::Messages => "/v1/messages",
            Shape::Chat => "/v1/chat/completions",
            Shape::Completions => "/v1/completions",
        }
    }
}

pub fn convert_error(e: ConvertError) -> GatewayError {
    GatewayError::BadRequest(e.to_string())
}

/// The request body for an upstream of shape `to`, from the client's parsed body.
pub fn request_body(
    client: Shape,
    to: Shape,
    json: &Value,
    upstream_model: &str,
) -> Result<Bytes, GatewayError> {
    let opts = RequestOptions {
        upstream_model: upstream_model.to_string(),
    };
    // A legacy completions request is read as a chat one; others are used as they are.
    fn chat(client: Shape, v: &Value) -> Result<Cow<'_, Value>, GatewayError> {
        match client {
            Shape::Completions => convert::completions_to_chat_request(v)
                .map(Cow::Owned)
                .map_err(convert_error),
            _ => Ok(Cow::Borrowed(v)),
        }
    }
    let out = match (client, to) {
        (Shape::Messages, Shape::Chat) => {
            convert::anthropic_to_openai_request(json, &opts).map_err(convert_error)?
        }
        (Shape::Chat | Shape::Completions, Shape::Messages) => {
            convert::openai_to_anthropic_request(chat(client, json)?.as_ref(), &opts)
                .map_err(convert_error)?
        }
        (Shape::Completions, Shape::Chat) => {
            let mut v = chat(client, json)?.into_owned();
            if let Some(o) = v.as_object_mut() {
                o.insert("model".into(), Value::String(upstream_model.into()));
            }
            v
        }
        _ => {
            let mut v = json.clone();
            if let Some(o) = v.as_object_mut() {
                o.insert("model".into(), Value::String(upstream_model.into()));
            }
            v
        }
    };
    serde_json::to_vec(&out)
        .map(Bytes::from)
        .map_err(|e| GatewayError::Internal(e.to_string()))
}

/// A complete (non-streaming) successful answer, converted.
pub fn response_json(
    from: Shape,
    to: Shape,
    v: Value,
    client_model: &str,
) -> Result<Value, GatewayError> {
    let bad = |e: ConvertError| {
        GatewayError::BadGateway(format!("could not convert the upstream's answer: {e}"))
    };
    Ok(match (from, to) {
        (Shape::Messages, Shape::Chat) => {
            convert::anthropic_to_openai_response(&v, client_model).map_err(bad)?
        }
        (Shape::Messages, Shape::Completions) => convert::chat_to_completions_response(
            &convert::anthropic_to_openai_response(&v, client_model).map_err(bad)?,
        ),
        (Shape::Chat, Shape::Messages) => {
            convert::openai_to_anthropic_response(&v, client_model).map_err(bad)?
        }
        (Shape::Chat, Shape::Completions) => {
            let mut v = v;
            if let Some(o) = v.as_object_mut() {
                o.insert("model".into(), Value::String(client_model.into()));
            }
            convert::chat_to_completions_response(&v)
        }
        _ => v,
    })
}

/// An upstream error, in the client's shape.
pub fn error_json(to: Shape, status: u16, body: &[u8]) -> (u16, Value) {
    match to {
        Shape::Messages => convert::error_to_anthropic(status, body),
        Shape::Chat | Shape::Completions => convert::error_to_openai(status, body),
    }
}

/// One step of stream conversion: SSE events in, SSE frames out.
trait Stage: Send {
    fn push(&mut self, ev: &Event) -> Vec<Bytes>;
    fn finish(&mut self) -> Vec<Bytes>;
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

/// Converts an upstream SSE byte stream into the client's, event by event, with
/// bounded memory (a line longer than the parser's limit is dropped).
pub struct StreamConverter {
    parser: SseParser,
    first: Box<dyn Stage>,
    /// Anthropic → legacy completions goes through chat chunks.
    second: Option<(SseParser, Box<dyn Stage>)>,
}

impl StreamConverter {
    /// `None` when no conversion is needed.
    pub fn new(from: Shape, to: Shape, client_model: &str, include_usage: bool) -> Option<Self> {
        let (first, second): (Box<dyn Stage>, Option<Box<dyn Stage>>) = match (from, to) {
            (Shape::Messages, Shape::Chat) => (
                Box::new(AnthropicToOpenAiStream::new(client_model, include_usage)),
                None,
            ),
            (Shape::Messages, Shape::Completions) => (
                Box::new(AnthropicToOpenAiStream::new(client_model, include_usage)),
                Some(Box::new(ChatToCompletionsStream::new(client_model))),
            ),
            (Shape::Chat, Shape::Messages) => {
                (Box::new(OpenAiToAnthropicStream::new(client_model)), None)
            }
            (Shape::Chat, Shape::Completions) => {
                (Box::new(ChatToCompletionsStream::new(client_model)), None)
            }
            _ => return None,
        };
        Some(StreamConverter {
            parser: SseParser::new(4 * 1024 * 1024),
            first,
            second: second.map(|s| (SseParser::new(4 * 1024 * 1024), s)),
        })
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

    #[test]
    fn anthropic_stream_to_legacy_completions() {
        let mut c =
            StreamConverter::new(Shape::Messages, Shape::Completions, "claude-x", false).unwrap();
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
        assert!(StreamConverter::new(Shape::Chat, Shape::Chat, "m", true).is_none());
        assert!(StreamConverter::new(Shape::Messages, Shape::Messages, "m", true).is_none());
    }
}
