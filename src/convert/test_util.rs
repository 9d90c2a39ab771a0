//! Helpers shared by the converter tests: building upstream events and reading back the
//! frames a stream converter wrote.

use bytes::Bytes;
use serde_json::Value;

use crate::sse::{Event, SseParser};

/// An event with only `data:` (OpenAI style).
pub fn data_event(data: &str) -> Event {
    Event {
        event: String::new(),
        data: data.to_string(),
    }
}

/// An Anthropic event: `event:` is the payload's `type`.
pub fn anthropic_event(v: &Value) -> Event {
    Event {
        event: v["type"].as_str().unwrap_or("").to_string(),
        data: v.to_string(),
    }
}

/// Parse written frames back into events, checking each frame is whole.
pub fn frames_events(frames: &[Bytes]) -> Vec<Event> {
    let mut parser = SseParser::default();
    let mut out = Vec::new();
    for f in frames {
        assert!(f.ends_with(b"\n\n"), "frame not terminated: {f:?}");
        let before = out.len();
        parser.feed(f, |e| out.push(e));
        assert_eq!(out.len(), before + 1, "one event per frame: {f:?}");
    }
    out
}

/// OpenAI frames → (JSON chunks, number of `[DONE]`s).
pub fn frames_json(frames: &[Bytes]) -> (Vec<Value>, usize) {
    let mut chunks = Vec::new();
    let mut done = 0;
    for ev in frames_events(frames) {
        assert!(ev.event.is_empty(), "OpenAI frames carry no event name");
        if ev.data == "[DONE]" {
            done += 1;
        } else {
            chunks.push(serde_json::from_str(&ev.data).unwrap());
        }
    }
    (chunks, done)
}

/// Anthropic frames → JSON payloads, checking `event:` matches the payload `type`.
pub fn frames_anthropic(frames: &[Bytes]) -> Vec<Value> {
    frames_events(frames)
        .into_iter()
        .map(|ev| {
            let v: Value = serde_json::from_str(&ev.data).unwrap();
            assert_eq!(v["type"].as_str(), Some(ev.event.as_str()));
            v
        })
        .collect()
}

/// `tests/fixtures/{dir}/{name}`.
pub fn fixture(dir: &str, name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name)
}

/// A JSON fixture.
pub fn read_fixture(dir: &str, name: &str) -> Value {
    let path = fixture(dir, name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Compare with the expected fixture (or write it, when it is missing or with
/// `UPDATE_GOLDEN=1` after a deliberate change: review the diff).
pub fn golden(dir: &str, name: &str, got: &Value) {
    let path = fixture(dir, name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() || !path.exists() {
        let mut text = serde_json::to_string_pretty(got).unwrap_or_default();
        text.push('\n');
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        return;
    }
    let want = read_fixture(dir, name);
    assert_eq!(
        got,
        &want,
        "{name} differs; if the change is deliberate, rerun with UPDATE_GOLDEN=1 and review \
         the diff\ngot:\n{}",
        serde_json::to_string_pretty(got).unwrap_or_default()
    );
}
