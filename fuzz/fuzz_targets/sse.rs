//! `SseParser`: never panics; the events do not depend on how the bytes are split, and
//! written back as frames they parse into the same events again.
//!
//! Input: byte 0 picks the line limit (small limits exercise overlong-line dropping),
//! bytes 1..3 pick the chunk sizes of the split feed, the rest is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llm_gateway::sse::{Event, SseParser};
use llm_gateway_fuzz::parse_events;

fn feed_in(max_line: usize, chunks: &[&[u8]]) -> Vec<Event> {
    let mut parser = SseParser::new(max_line);
    let mut out = Vec::new();
    for c in chunks {
        parser.feed(c, |e| out.push(e));
    }
    out
}

/// `events` as a server would write them.
fn write_frames(events: &[Event]) -> Vec<u8> {
    let mut out = String::new();
    for e in events {
        if !e.event.is_empty() {
            out.push_str(&format!("event: {}\n", e.event));
        }
        for line in e.data.split('\n') {
            out.push_str(&format!("data: {line}\n"));
        }
        out.push('\n');
    }
    out.into_bytes()
}

fuzz_target!(|input: &[u8]| {
    let Some((&[limit, a, b], stream)) = input.split_first_chunk::<3>() else {
        return;
    };
    let max_line = match limit {
        0..=127 => usize::from(limit),
        _ => 16 * 1024 * 1024,
    };
    let whole = feed_in(max_line, &[stream]);

    for e in &whole {
        assert!(
            !e.event.contains(['\r', '\n']),
            "line break in an event name: {e:?}"
        );
        assert!(!e.data.contains('\r'), "CR in event data: {e:?}");
    }

    // Two cuts chosen by the input, then the same bytes one at a time.
    let n = stream.len();
    let (mut i, mut j) = (usize::from(a) * n / 256, usize::from(b) * n / 256);
    if i > j {
        std::mem::swap(&mut i, &mut j);
    }
    let split = feed_in(max_line, &[&stream[..i], &[], &stream[i..j], &stream[j..]]);
    assert_eq!(split, whole, "split at {i} and {j}");
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(feed_in(max_line, &bytes), whole, "byte by byte");

    // What the parser read, written back, reads the same.
    assert_eq!(parse_events(&write_frames(&whole)), whole, "round trip");
});
