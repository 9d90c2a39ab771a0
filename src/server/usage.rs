//! Reads token usage out of a response as it streams past, without holding the
//! stream: SSE `data:` lines are scanned as they arrive and only those that mention
//! `"usage"` are parsed; a JSON body is copied up to a bound.

use serde_json::Value;

/// Token counts seen so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
}

const JSON_LIMIT: usize = 1024 * 1024;

pub enum UsageSniffer {
    /// The unfinished last line, and the usage seen so far.
    Sse(Vec<u8>, Usage),
    Json(Vec<u8>),
    /// Already known (taken from an answer the gateway parsed anyway).
    Known(Usage),
    Off,
}

/// Longest SSE line kept while waiting for its end; longer lines are skipped.
const LINE_LIMIT: usize = 1024 * 1024;

impl UsageSniffer {
    pub fn for_content_type(ct: Option<&str>) -> Self {
        match ct {
            Some(ct) if ct.starts_with("text/event-stream") => {
                UsageSniffer::Sse(Vec::new(), Usage::default())
            }
            Some(ct) if ct.starts_with("application/json") => UsageSniffer::Json(Vec::new()),
            _ => UsageSniffer::Off,
        }
    }

    pub fn observe(&mut self, chunk: &[u8]) {
        match self {
            UsageSniffer::Sse(carry, usage) => {
                let mut rest = chunk;
                while let Some(i) = rest.iter().position(|&b| b == b'\n') {
                    let (line, tail) = rest.split_at(i);
                    rest = &tail[1..];
                    if carry.is_empty() {
                        sniff_line(line, usage);
                    } else {
                        carry.extend_from_slice(line);
                        sniff_line(carry, usage);
                        carry.clear();
                    }
                }
                if carry.len() + rest.len() <= LINE_LIMIT {
                    carry.extend_from_slice(rest);
                } else {
                    carry.clear();
                }
            }
            UsageSniffer::Json(buf) => {
                if buf.len() + chunk.len() <= JSON_LIMIT {
                    buf.extend_from_slice(chunk);
                } else {
                    *self = UsageSniffer::Off;
                }
            }
            UsageSniffer::Known(_) | UsageSniffer::Off => {}
        }
    }

    pub fn finish(&self) -> Usage {
        match self {
            UsageSniffer::Sse(_, u) | UsageSniffer::Known(u) => *u,
            UsageSniffer::Json(buf) => {
                let mut u = Usage::default();
                merge_json(&mut u, buf);
                u
            }
            UsageSniffer::Off => Usage::default(),
        }
    }
}

/// The usage of a parsed Anthropic message or OpenAI completion.
pub fn of_value(v: &Value) -> Usage {
    let mut u = Usage::default();
    merge_value(&mut u, v);
    u
}

/// Parse one SSE line when it is a `data:` line that carries usage.
fn sniff_line(line: &[u8], usage: &mut Usage) {
    let Some(data) = line.strip_prefix(b"data:") else {
        return;
    };
    if !data.windows(7).any(|w| w == b"\"usage\"") {
        return;
    }
    merge_json(usage, data.trim_ascii());
}

/// Where usage sits: at the top (an answer, a `message_delta`, an OpenAI chunk), in
/// `message` (Anthropic's `message_start`) or in `response` (Responses events). Everything else is skipped, not built.
#[derive(serde::Deserialize)]
struct UsageCarrier {
    usage: Option<RawUsage>,
    message: Option<MessageUsage>,
    /// Responses stream events (`response.completed`).
    response: Option<MessageUsage>,
}

#[derive(serde::Deserialize)]
struct MessageUsage {
    usage: Option<RawUsage>,
}

/// Token counts in either API's spelling.
#[derive(serde::Deserialize)]
struct RawUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

/// Take the usage from the JSON text of an answer or event: typed, and only when the
/// typed read fails (an odd field type somewhere) through a `Value`.
fn merge_json(u: &mut Usage, json: &[u8]) {
    match serde_json::from_slice::<UsageCarrier>(json) {
        Ok(c) => {
            if let Some(raw) = c
                .usage
                .or_else(|| c.message.and_then(|m| m.usage))
                .or_else(|| c.response.and_then(|m| m.usage))
            {
                merge_raw(u, &raw);
            }
        }
        Err(_) => {
            if let Ok(v) = serde_json::from_slice::<Value>(json) {
                merge_value(u, &v);
            }
        }
    }
}

fn merge_raw(u: &mut Usage, r: &RawUsage) {
    // OpenAI
    if let Some(p) = r.prompt_tokens {
        u.input = p;
    }
    if let Some(c) = r.completion_tokens {
        u.output = c;
    }
    // Anthropic: input excludes the cache; count it all as input.
    if let Some(i) = r.input_tokens {
        u.input =
            i + r.cache_read_input_tokens.unwrap_or(0) + r.cache_creation_input_tokens.unwrap_or(0);
    }
    if let Some(o) = r.output_tokens {
        u.output = o;
    }
}

/// Take the usage from an Anthropic message / event or an OpenAI completion / chunk.
fn merge_value(u: &mut Usage, v: &Value) {
    let usage = v
        .get("usage")
        .or_else(|| v.get("message").and_then(|m| m.get("usage")))
        .or_else(|| v.get("response").and_then(|m| m.get("usage")));
    let Some(usage) = usage.filter(|x| x.is_object()) else {
        return;
    };
    let n = |k: &str| usage.get(k).and_then(Value::as_u64);
    merge_raw(
        u,
        &RawUsage {
            prompt_tokens: n("prompt_tokens"),
            completion_tokens: n("completion_tokens"),
            input_tokens: n("input_tokens"),
            output_tokens: n("output_tokens"),
            cache_read_input_tokens: n("cache_read_input_tokens"),
            cache_creation_input_tokens: n("cache_creation_input_tokens"),
        },
    );
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
    fn usage_split_across_chunks_and_crlf() {
        let stream = b"data: {\"choices\":[]}\r\n\r\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}\r\n\r\ndata: [DONE]\r\n\r\n";
        for split in 1..stream.len() {
            let mut s = UsageSniffer::for_content_type(Some("text/event-stream"));
            let (a, b) = stream.split_at(split);
            s.observe(a);
            s.observe(b);
            assert_eq!(
                s.finish(),
                Usage {
                    input: 9,
                    output: 4
                },
                "split at {split}"
            );
        }
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

    #[test]
    fn odd_field_types_fall_back_to_a_lenient_read() {
        let mut s = UsageSniffer::for_content_type(Some("application/json"));
        s.observe(
            br#"{"usage":{"input_tokens":5,"output_tokens":"7","cache_read_input_tokens":null}}"#,
        );
        assert_eq!(
            s.finish(),
            Usage {
                input: 5,
                output: 0
            }
        );
        let mut s = UsageSniffer::for_content_type(Some("application/json"));
        s.observe(br#"{"id":"x","usage":null}"#);
        assert_eq!(s.finish(), Usage::default());
    }

    #[test]
    fn usage_of_a_parsed_answer() {
        let v = serde_json::json!({"type": "message", "usage": {"input_tokens": 3, "cache_creation_input_tokens": 2, "output_tokens": 9}});
        assert_eq!(
            of_value(&v),
            Usage {
                input: 5,
                output: 9
            }
        );
    }
}
