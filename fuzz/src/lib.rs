//! Helpers shared by the fuzz targets: the strict-property switch and the checks that
//! stream converters wrote well-formed SSE frames.

use std::sync::OnceLock;

use bytes::Bytes;
use llm_gateway::sse::{Event, SseParser};
use serde_json::Value;

/// Whether the cross-format properties that are not yet known to hold are asserted
/// (`LLM_GATEWAY_FUZZ_STRICT=1`). Without it those targets assert only "no panic".
pub fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| {
        std::env::var("LLM_GATEWAY_FUZZ_STRICT").is_ok_and(|v| !v.is_empty() && v != "0")
    })
}

/// Every event of `bytes`, parsed in one piece with the default line limit.
pub fn parse_events(bytes: &[u8]) -> Vec<Event> {
    let mut parser = SseParser::default();
    let mut out = Vec::new();
    parser.feed(bytes, |e| out.push(e));
    out
}

/// Check one frame written by a stream converter and return its event: it ends with a
/// blank line, has no other blank line and no CR, carries only `event: ` and `data: `
/// lines (one `data:` line), and parses back into exactly one event whose payload is
/// `[DONE]` or a JSON object.
pub fn check_frame(frame: &Bytes) -> (Event, Option<Value>) {
    let text = std::str::from_utf8(frame)
        .unwrap_or_else(|e| panic!("frame is not UTF-8 ({e}): {frame:?}"));
    let body = text
        .strip_suffix("\n\n")
        .unwrap_or_else(|| panic!("frame not terminated by a blank line: {text:?}"));
    assert!(!text.contains('\r'), "CR in frame: {text:?}");
    let mut data_lines = 0;
    for line in body.split('\n') {
        if line.starts_with("data: ") {
            data_lines += 1;
        } else {
            assert!(
                line.starts_with("event: "),
                "unexpected line {line:?} in frame {text:?}"
            );
        }
    }
    assert_eq!(data_lines, 1, "one data line per frame: {text:?}");
    let mut events = parse_events(frame);
    assert_eq!(events.len(), 1, "one event per frame: {text:?}");
    let ev = events.remove(0);
    if ev.data == "[DONE]" {
        return (ev, None);
    }
    let v: Value = serde_json::from_str(&ev.data)
        .unwrap_or_else(|e| panic!("frame payload is not JSON ({e}): {text:?}"));
    assert!(v.is_object(), "frame payload is not an object: {text:?}");
    (ev, Some(v))
}
