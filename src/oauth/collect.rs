//! Folding a Responses SSE stream into the final `response` object, so a client
//! that did not ask for a stream can be served by a backend that only streams (the
//! ChatGPT Codex backend). The answer is the `response` of the terminal event
//! (`response.completed`, `response.incomplete` or `response.failed`); with
//! `store: false` the backend may send it with an empty `output`, so the items of
//! `response.output_item.done` events are put there, in `output_index` order.
//!
//! Feed bytes as they arrive with [`Collector::push`] (events may be split across
//! chunks anywhere, CRLF or LF), then [`Collector::finish`]. Pure: no I/O.

use std::collections::BTreeMap;

use serde_json::Value;

/// How the stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminal {
    Completed,
    Incomplete,
    Failed,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// An `error` event, and no final response after it.
    #[error("the upstream stream reported an error: {0}")]
    Upstream(String),
    #[error("the upstream stream ended without a final response")]
    Truncated,
}

/// The final response and how the stream ended (a `failed` response carries its
/// `error`; the caller decides the status to answer with).
#[derive(Debug)]
pub struct Collected {
    pub response: Value,
    pub terminal: Terminal,
}

#[derive(Default)]
pub struct Collector {
    /// Bytes of an unfinished line.
    line: Vec<u8>,
    /// `data:` lines of the event being read.
    data: Vec<String>,
    /// Output items by `output_index` (arrival order when it is missing).
    items: BTreeMap<u64, Value>,
    arrivals: u64,
    terminal: Option<(Terminal, Value)>,
    error: Option<String>,
}

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Take the next chunk of the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.line(&line);
            } else {
                self.line.push(b);
            }
        }
    }

    fn line(&mut self, raw: &[u8]) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            self.dispatch();
            return;
        }
        if let Some(rest) = raw.strip_prefix(b"data:") {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            self.data.push(String::from_utf8_lossy(rest).into_owned());
        }
        // `event:`, `id:`, `retry:` and comments add nothing: `type` is in the data.
    }

    fn dispatch(&mut self) {
        if self.data.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        if data.trim() == "[DONE]" {
            return;
        }
        let Ok(mut event) = serde_json::from_str::<Value>(&data) else {
            return;
        };
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "response.output_item.done" => {
                let index = event.get("output_index").and_then(Value::as_u64);
                if let Some(item) = event.get_mut("item").map(Value::take) {
                    // Items without an index go after every indexed one.
                    let key = index.unwrap_or(u64::MAX / 2 + self.arrivals);
                    self.arrivals += 1;
                    self.items.insert(key, item);
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                let terminal = match kind {
                    "response.completed" => Terminal::Completed,
                    "response.incomplete" => Terminal::Incomplete,
                    _ => Terminal::Failed,
                };
                if let Some(r) = event.get_mut("response").map(Value::take) {
                    self.terminal = Some((terminal, r));
                }
            }
            "error" => {
                let msg = event
                    .get("message")
                    .or_else(|| event.get("error").and_then(|e| e.get("message")))
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error");
                self.error = Some(msg.to_string());
            }
            _ => {}
        }
    }

    /// The final response, once the stream has ended.
    pub fn finish(mut self) -> Result<Collected, CollectError> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line(&line);
        }
        self.dispatch();
        let Some((terminal, mut response)) = self.terminal else {
            return Err(match self.error {
                Some(e) => CollectError::Upstream(e),
                None => CollectError::Truncated,
            });
        };
        let has_output = response
            .get("output")
            .and_then(Value::as_array)
            .is_some_and(|o| !o.is_empty());
        if !has_output
            && !self.items.is_empty()
            && let Some(obj) = response.as_object_mut()
        {
            obj.insert(
                "output".into(),
                Value::Array(self.items.into_values().collect()),
            );
        }
        Ok(Collected { response, terminal })
    }
}

/// Collect a whole stream held in memory.
pub fn collect(sse: &[u8]) -> Result<Collected, CollectError> {
    let mut c = Collector::new();
    c.push(sse);
    c.finish()
}

#[cfg(test)]
#[path = "collect_tests.rs"]
mod tests;
