//! Placeholder until the stream converters land.
use bytes::Bytes;
use serde_json::Value;

use super::common::ResponsesCtx;
use crate::sse::Event;

pub struct ChatToResponsesStream {
    _ctx: ResponsesCtx,
}
impl ChatToResponsesStream {
    pub fn new(ctx: ResponsesCtx) -> Self {
        ChatToResponsesStream { _ctx: ctx }
    }
    pub fn push(&mut self, _ev: &Event) -> Vec<Bytes> {
        Vec::new()
    }
    pub fn finish(&mut self) -> Vec<Bytes> {
        Vec::new()
    }
    pub fn final_response(&self) -> Option<&Value> {
        None
    }
}
pub struct ResponsesToChatStream;
impl ResponsesToChatStream {
    pub fn new(_m: &str, _u: bool) -> Self {
        ResponsesToChatStream
    }
    pub fn push(&mut self, _ev: &Event) -> Vec<Bytes> {
        Vec::new()
    }
    pub fn finish(&mut self) -> Vec<Bytes> {
        Vec::new()
    }
}
