//! Reads token usage out of a response as it streams past, without holding the
//! stream: SSE `data:` lines are scanned as they arrive and only those that mention
//! `"usage"` are parsed; a JSON body is copied up to a bound.

use serde_json::Value;

/// Token counts seen so far, each counted once: `input` excludes the cached part
/// (read from or written to a prompt cache), which prices differently; `output`
/// includes `reasoning`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

impl Usage {
    /// Every prompt token, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input + self.cache_read + self.cache_write
    }
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
    // `"usage"` (OpenAI, Anthropic, Responses) or `"usageMetadata` (Gemini), in one pass.
    if !data
        .windows(7)
        .any(|w| &w[..6] == b"\"usage" && (w[6] == b'"' || w[6] == b'M'))
    {
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
    /// Gemini's, on answers and on every stream chunk.
    #[serde(rename = "usageMetadata")]
    usage_metadata: Option<GeminiUsage>,
}

/// Gemini's `usageMetadata`: the prompt count includes the cached part; thoughts are
/// counted apart from the candidates (and billed as output).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiUsage {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
}

impl GeminiUsage {
    fn merge(&self, u: &mut Usage) {
        if let Some(p) = self.prompt_token_count {
            let c = self.cached_content_token_count.unwrap_or(0).min(p);
            u.input = p - c;
            u.cache_read = c;
        }
        let thoughts = self.thoughts_token_count.unwrap_or(0);
        if self.candidates_token_count.is_some() || thoughts > 0 {
            u.output = self.candidates_token_count.unwrap_or(0) + thoughts;
            u.reasoning = thoughts;
        }
    }
}

#[derive(serde::Deserialize)]
struct MessageUsage {
    usage: Option<RawUsage>,
}

/// Token counts in any API's spelling.
#[derive(serde::Deserialize)]
struct RawUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<Details>,
    completion_tokens_details: Option<Details>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    input_tokens_details: Option<Details>,
    output_tokens_details: Option<Details>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

#[derive(serde::Deserialize, Default)]
struct Details {
    cached_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
}

/// Take the usage from the JSON text of an answer or event: typed, and only when the
/// typed read fails (an odd field type somewhere) through a `Value`.
fn merge_json(u: &mut Usage, json: &[u8]) {
    match serde_json::from_slice::<UsageCarrier>(json) {
        Ok(UsageCarrier {
            usage_metadata: Some(g),
            ..
        }) => g.merge(u),
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

/// Fields present overwrite what was seen before (streams repeat and complete usage).
fn merge_raw(u: &mut Usage, r: &RawUsage) {
    let cached = |d: &Option<Details>| d.as_ref().and_then(|d| d.cached_tokens);
    let reasoning = |d: &Option<Details>| d.as_ref().and_then(|d| d.reasoning_tokens);
    // OpenAI Chat: `prompt_tokens` includes the cached part.
    if let Some(p) = r.prompt_tokens {
        let c = cached(&r.prompt_tokens_details).unwrap_or(0).min(p);
        u.input = p - c;
        u.cache_read = c;
    }
    if let Some(c) = r.completion_tokens {
        u.output = c;
    }
    if let Some(n) = reasoning(&r.completion_tokens_details) {
        u.reasoning = n;
    }
    if let Some(i) = r.input_tokens {
        match cached(&r.input_tokens_details) {
            // Responses: `input_tokens` includes the cached part.
            Some(c) => {
                let c = c.min(i);
                u.input = i - c;
                u.cache_read = c;
            }
            // Anthropic: `input_tokens` excludes the cache, counted apart.
            None => u.input = i,
        }
    }
    if let Some(n) = r.cache_read_input_tokens {
        u.cache_read = n;
    }
    if let Some(n) = r.cache_creation_input_tokens {
        u.cache_write = n;
    }
    if let Some(o) = r.output_tokens {
        u.output = o;
    }
    if let Some(n) = reasoning(&r.output_tokens_details) {
        u.reasoning = n;
    }
}

/// Take the usage from a `Value` (the typed read failed on some odd field).
fn merge_value(u: &mut Usage, v: &Value) {
    // Gemini's JSON-array stream: each chunk carries the usage so far.
    if let Some(items) = v.as_array() {
        for item in items {
            merge_value(u, item);
        }
        return;
    }
    if let Some(g) = v.get("usageMetadata").filter(|g| g.is_object()) {
        if let Ok(g) = serde_json::from_value::<GeminiUsage>(g.clone()) {
            g.merge(u);
        }
        return;
    }
    let usage = v
        .get("usage")
        .or_else(|| v.get("message").and_then(|m| m.get("usage")))
        .or_else(|| v.get("response").and_then(|m| m.get("usage")));
    let Some(usage) = usage.filter(|x| x.is_object()) else {
        return;
    };
    let n = |k: &str| usage.get(k).and_then(Value::as_u64);
    let d = |k: &str| {
        usage.get(k).filter(|x| x.is_object()).map(|x| Details {
            cached_tokens: x.get("cached_tokens").and_then(Value::as_u64),
            reasoning_tokens: x.get("reasoning_tokens").and_then(Value::as_u64),
        })
    };
    merge_raw(
        u,
        &RawUsage {
            prompt_tokens: n("prompt_tokens"),
            completion_tokens: n("completion_tokens"),
            prompt_tokens_details: d("prompt_tokens_details"),
            completion_tokens_details: d("completion_tokens_details"),
            input_tokens: n("input_tokens"),
            output_tokens: n("output_tokens"),
            input_tokens_details: d("input_tokens_details"),
            output_tokens_details: d("output_tokens_details"),
            cache_read_input_tokens: n("cache_read_input_tokens"),
            cache_creation_input_tokens: n("cache_creation_input_tokens"),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(input: u64, output: u64, cache_read: u64, cache_write: u64, reasoning: u64) -> Usage {
        Usage {
            input,
            output,
            cache_read,
            cache_write,
            reasoning,
        }
    }

    #[test]
    fn anthropic_stream_usage_keeps_cache_apart() {
        let mut s = UsageSniffer::for_content_type(Some("text/event-stream"));
        s.observe(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"cache_creation_input_tokens\":2,\"output_tokens\":1}}}\n\n");
        s.observe(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":42}}\n\n");
        let got = s.finish();
        assert_eq!(got, u(10, 42, 5, 2, 0));
        assert_eq!(got.total_input(), 17);
    }

    #[test]
    fn gemini_usage_counts_thoughts_as_output_and_cache_apart() {
        let mut s = UsageSniffer::for_content_type(Some("text/event-stream"));
        s.observe(b"data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":1}}\r\n\r\n");
        s.observe(b"data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":10,\"cachedContentTokenCount\":4,\"candidatesTokenCount\":7,\"thoughtsTokenCount\":3}}\r\n\r\n");
        assert_eq!(s.finish(), u(6, 10, 4, 0, 3));
        // The JSON-array stream, read whole.
        let mut s = UsageSniffer::for_content_type(Some("application/json"));
        s.observe(br#"[{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1}}"#);
        s.observe(br#",{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9}}]"#);
        assert_eq!(s.finish(), u(5, 9, 0, 0, 0));
        assert_eq!(
            of_value(
                &serde_json::json!({"usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}})
            ),
            u(3, 2, 0, 0, 0)
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
            assert_eq!(s.finish(), u(9, 4, 0, 0, 0), "split at {split}");
        }
    }

    #[test]
    fn openai_cached_tokens_are_counted_once() {
        let mut s = UsageSniffer::for_content_type(Some("application/json"));
        s.observe(br#"{"choices":[],"usage":{"prompt_tokens":100,"prompt_tokens_details":{"cached_tokens":60},"#);
        s.observe(br#""completion_tokens":30,"completion_tokens_details":{"reasoning_tokens":12},"total_tokens":130}}"#);
        let got = s.finish();
        assert_eq!(got, u(40, 30, 60, 0, 12));
        assert_eq!(got.total_input(), 100);
    }

    #[test]
    fn responses_usage_in_a_completed_event() {
        let mut s = UsageSniffer::for_content_type(Some("text/event-stream"));
        s.observe(b"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\n\n");
        s.observe(b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":50,\"input_tokens_details\":{\"cached_tokens\":20},\"output_tokens\":8,\"output_tokens_details\":{\"reasoning_tokens\":3},\"total_tokens\":58}}}\n\n");
        assert_eq!(s.finish(), u(30, 8, 20, 0, 3));
    }

    #[test]
    fn odd_field_types_fall_back_to_a_lenient_read() {
        let mut s = UsageSniffer::for_content_type(Some("application/json"));
        s.observe(
            br#"{"usage":{"input_tokens":5,"output_tokens":"7","cache_read_input_tokens":null}}"#,
        );
        assert_eq!(s.finish(), u(5, 0, 0, 0, 0));
        let mut s = UsageSniffer::for_content_type(Some("application/json"));
        s.observe(br#"{"id":"x","usage":null}"#);
        assert_eq!(s.finish(), Usage::default());
    }

    #[test]
    fn usage_of_a_parsed_answer() {
        let v = serde_json::json!({"type": "message", "usage": {"input_tokens": 3, "cache_creation_input_tokens": 2, "output_tokens": 9}});
        assert_eq!(of_value(&v), u(3, 9, 0, 2, 0));
    }
}
