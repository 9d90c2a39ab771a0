//! A look at the start of a successful (200) stream before it is given to the client:
//! overload and rate-limit failures that an upstream reports inside the stream, before
//! any output (Responses' `response.failed`, Anthropic's `error` event after
//! `message_start`), count as failures of that upstream, so the request fails over as
//! it would for an HTTP 429 or 529. What was read is handed on unchanged when the
//! stream is served.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use crate::sse::{Event, SseParser};

/// Read no more than this before deciding.
const PEEK_BYTES: usize = 256 * 1024;
/// Wait no longer than this for the first output event.
pub const PEEK_TIME: Duration = Duration::from_secs(30);

/// How a stream failed before its first output.
#[derive(Debug, Clone, PartialEq)]
pub enum EarlyFailure {
    /// Rate limited: rest the upstream this long.
    RateLimited(Duration),
    /// Overloaded, or the upstream's own error: a failure of its health.
    Overloaded(String),
}

/// Read the stream's first events: up to the first one that is output (or `until`,
/// or [`PEEK_BYTES`]). Returns what was read, and the failure when the stream opened
/// with one.
pub async fn peek(
    body: &mut Incoming,
    until: tokio::time::Instant,
) -> (Bytes, Option<EarlyFailure>) {
    let mut read = BytesMut::new();
    let mut parser = SseParser::new(PEEK_BYTES);
    loop {
        let frame = match tokio::time::timeout_at(until, body.frame()).await {
            Err(_) => return (read.freeze(), None), // slow to start: serve as it comes
            Ok(None) => return (read.freeze(), None),
            Ok(Some(Err(e))) => {
                return (
                    read.freeze(),
                    Some(EarlyFailure::Overloaded(format!(
                        "the stream broke before any output: {e}"
                    ))),
                );
            }
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        read.extend_from_slice(&data);
        let mut verdict: Option<Option<EarlyFailure>> = None;
        parser.feed(&data, |ev| {
            if verdict.is_none() {
                verdict = judge(&ev);
            }
        });
        if let Some(v) = verdict {
            return (read.freeze(), v);
        }
        if read.len() >= PEEK_BYTES {
            return (read.freeze(), None);
        }
    }
}

/// The start of an error body (up to `limit` bytes, until `until`), read to look at
/// before deciding what the error means; the rest stays in `body`.
pub async fn read_start(body: &mut Incoming, limit: usize, until: tokio::time::Instant) -> Bytes {
    let mut read = BytesMut::new();
    while read.len() < limit {
        match tokio::time::timeout_at(until, body.frame()).await {
            Ok(Some(Ok(f))) => {
                if let Ok(data) = f.into_data() {
                    read.extend_from_slice(&data);
                }
            }
            _ => break,
        }
    }
    read.freeze()
}

/// `None`: a preamble event, keep reading; `Some(None)`: output starts, serve;
/// `Some(Some(f))`: the stream failed before any output.
fn judge(ev: &Event) -> Option<Option<EarlyFailure>> {
    let name = if ev.event.is_empty() {
        // Named by its `type` (data-only streams).
        serde_json::from_str::<Value>(&ev.data)
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(String::from))
            .unwrap_or_default()
    } else {
        ev.event.clone()
    };
    match name.as_str() {
        "response.created" | "response.in_progress" | "message_start" | "ping" => None,
        "response.failed" | "error" => Some(failure(&ev.data)),
        _ => Some(None),
    }
}

/// The failure an error event reports, if it is one of load or rate (a request's own
/// fault, such as a context too long, goes to the client as it is).
fn failure(data: &str) -> Option<EarlyFailure> {
    let v: Value = serde_json::from_str(data).ok()?;
    // Responses: `response.error` or a top-level error event; Anthropic: `error`.
    let err = v
        .pointer("/response/error")
        .or_else(|| v.get("error"))
        .filter(|e| e.is_object())
        .unwrap_or(&v);
    let code = err
        .get("code")
        .or_else(|| err.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = err.get("message").and_then(Value::as_str).unwrap_or("");
    match code {
        "rate_limit_exceeded" | "rate_limit_error" => Some(EarlyFailure::RateLimited(
            try_again_in(message).unwrap_or(Duration::from_secs(1)),
        )),
        "server_is_overloaded"
        | "overloaded_error"
        | "server_error"
        | "api_error"
        | "internal_error"
        | "slow_down" => Some(EarlyFailure::Overloaded(format!(
            "the upstream stream failed before any output: {code}"
        ))),
        _ => None,
    }
}

/// "Please try again in 1.5s" / "in 20ms" → that long (rounded up to whole ms).
fn try_again_in(message: &str) -> Option<Duration> {
    let rest = &message[message.find("try again in ")? + "try again in ".len()..];
    let num: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let n: f64 = num.parse().ok()?;
    let unit = &rest[num.len()..];
    let secs = if unit.starts_with("ms") {
        n / 1000.0
    } else {
        n
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_millis((secs * 1000.0).ceil() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, data: &str) -> Event {
        Event {
            event: name.into(),
            data: data.into(),
        }
    }

    #[test]
    fn preambles_wait_output_serves_failures_fail() {
        assert_eq!(judge(&ev("response.created", "{}")), None);
        assert_eq!(judge(&ev("message_start", "{}")), None);
        assert_eq!(judge(&ev("response.output_item.added", "{}")), Some(None));
        assert_eq!(
            judge(&ev(
                "response.failed",
                r#"{"type":"response.failed","response":{"error":{"code":"rate_limit_exceeded","message":"Rate limit reached. Please try again in 1.5s."}}}"#
            )),
            Some(Some(EarlyFailure::RateLimited(Duration::from_millis(1500))))
        );
        assert!(matches!(
            judge(&ev(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            )),
            Some(Some(EarlyFailure::Overloaded(_)))
        ));
        // A request's own fault is the client's to see.
        assert_eq!(
            judge(&ev(
                "response.failed",
                r#"{"response":{"error":{"code":"context_length_exceeded","message":"too long"}}}"#
            )),
            Some(None)
        );
        // Data-only streams are judged by `type`.
        assert_eq!(judge(&ev("", r#"{"type":"response.in_progress"}"#)), None);
    }

    #[test]
    fn waits_are_read_from_messages() {
        assert_eq!(
            try_again_in("Please try again in 20ms."),
            Some(Duration::from_millis(20))
        );
        assert_eq!(
            try_again_in("try again in 2s"),
            Some(Duration::from_secs(2))
        );
        assert_eq!(try_again_in("no hint"), None);
    }
}
