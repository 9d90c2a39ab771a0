//! Reads token usage out of a response as it streams past, without holding the
//! stream: SSE events are parsed incrementally; a JSON body is copied up to a bound.

use serde_json::Value;

use crate::sse::SseParser;

/// Token counts seen so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
}

const JSON_LIMIT: usize = 1024 * 1024;

pub enum UsageSniffer {
    Sse(SseParser, Usage),
    Json(Vec<u8>),
    Off,
}

impl UsageSniffer {
    pub fn for_content_type(ct: Option<&str>) -> Self {
        match ct {
            Some(ct) if ct.starts_with("text/event-stream") => {
                UsageSniffer::Sse(SseParser::new(1024 * 1024), Usage::default())
            }
            Some(ct) if ct.starts_with("application/json") => UsageSniffer::Json(Vec::new()),
            _ => UsageSniffer::Off,
        }
    }

    pub fn observe(&mut self, chunk: &[u8]) {
        match self {
            UsageSniffer::Sse(parser, usage) => parser.feed(chunk, |e| {
                if e.data.contains("\"usage\"")
                    && let Ok(v) = serde_json::from_str::<Value>(&e.data)
                {
                    merge(usage, &v);
                }
            }),
            UsageSniffer::Json(buf) => {
                if buf.len() + chunk.len() <= JSON_LIMIT {
                    buf.extend_from_slice(chunk);
                } else {
                    *self = UsageSniffer::Off;
                }
            }
            UsageSniffer::Off => {}
        }
    }

    pub fn finish(&self) -> Usage {
        match self {
            UsageSniffer::Sse(_, u) => *u,
            UsageSniffer::Json(buf) => {
                // Only `usage` is built; the rest of the answer is skipped, not parsed
                // into values.
                let mut u = Usage::default();
                if let Ok(only) = serde_json::from_slice::<UsageOnly>(buf)
                    && let Some(usage) = only.usage
                {
                    merge(&mut u, &serde_json::json!({ "usage": usage }));
                }
                u
            }
            UsageSniffer::Off => Usage::default(),
        }
    }
}

#[derive(serde::Deserialize)]
struct UsageOnly {
    usage: Option<Value>,
}

/// Take the usage from an Anthropic message / event or an OpenAI completion / chunk.
fn merge(u: &mut Usage, v: &Value) {
    let usage = v
        .get("usage")
        .or_else(|| v.get("message").and_then(|m| m.get("usage")));
    let Some(usage) = usage.filter(|x| x.is_object()) else {
        return;
    };
    let n = |k: &str| usage.get(k).and_then(Value::as_u64);
    // OpenAI
    if let Some(p) = n("prompt_tokens") {
        u.input = p;
    }
    if let Some(c) = n("completion_tokens") {
        u.output = c;
    }
    // Anthropic: input excludes the cache; count it all as input.
    if let Some(i) = n("input_tokens") {
        u.input = i
            + n("cache_read_input_tokens").unwrap_or(0)
            + n("cache_creation_input_tokens").unwrap_or(0);
    }
    if let Some(o) = n("output_tokens") {
        u.output = o;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_stream_usage() {
        let mut s = UsageSniffer::for_content_type(Some("text/event-stream"));
        s.observe(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n");
        s.observe(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":42}}\n\n");
        assert_eq!(
            s.finish(),
            Usage {
                input: 15,
                output: 42
            }
        );
    }

    #[test]
    fn openai_json_usage() {
        let mut s = UsageSniffer::for_content_type(Some("application/json"));
        s.observe(br#"{"choices":[],"usage":{"prompt_tokens":7,"#);
        s.observe(br#""completion_tokens":3,"total_tokens":10}}"#);
        assert_eq!(
            s.finish(),
            Usage {
                input: 7,
                output: 3
            }
        );
    }
}
