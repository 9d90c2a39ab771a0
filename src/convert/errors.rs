//! Upstream errors in the client's format. The status keeps its meaning (429 stays 429;
//! Anthropic's 529 "overloaded" and OpenAI's 503 map to each other) and the body gets the
//! client API's shape and type names. Bodies that are not JSON are quoted, shortened.

use serde_json::{Value, json};

/// How much of a non-JSON upstream body is quoted in the message.
const MAX_RAW_MESSAGE: usize = 500;

/// The message of an upstream error body in either format, or its text.
fn upstream_message(status: u16, body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let msg = v
            .pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .and_then(Value::as_str);
        if let Some(m) = msg {
            return m.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return format!("upstream returned HTTP {status}");
    }
    let mut short: String = text.chars().take(MAX_RAW_MESSAGE).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!("upstream returned HTTP {status}: {short}")
}

/// Any upstream error → OpenAI `{"error": {message, type, param, code}}`.
pub fn error_to_openai(status: u16, body: &[u8]) -> (u16, Value) {
    let message = upstream_message(status, body);
    let (status, kind, code) = match status {
        400 | 422 => (status, "invalid_request_error", None),
        401 => (401, "invalid_request_error", Some("invalid_api_key")),
        402 => (402, "insufficient_quota", Some("insufficient_quota")),
        403 => (
            403,
            "invalid_request_error",
            Some("insufficient_permissions"),
        ),
        404 => (404, "invalid_request_error", Some("model_not_found")),
        413 => (413, "invalid_request_error", Some("request_too_large")),
        429 => (429, "requests", Some("rate_limit_exceeded")),
        529 | 503 => (503, "server_error", Some("overloaded")),
        504 => (504, "server_error", Some("timeout")),
        s if s >= 500 => (s, "server_error", None),
        s if s >= 400 => (s, "invalid_request_error", None),
        // A "success" status with an error body: report it as a bad gateway.
        _ => (502, "server_error", None),
    };
    (
        status,
        json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

/// Any upstream error → Anthropic `{"type": "error", "error": {type, message}}`.
pub fn error_to_anthropic(status: u16, body: &[u8]) -> (u16, Value) {
    let message = upstream_message(status, body);
    let (status, kind) = match status {
        400 | 422 => (400, "invalid_request_error"),
        401 => (401, "authentication_error"),
        402 => (402, "billing_error"),
        403 => (403, "permission_error"),
        404 => (404, "not_found_error"),
        413 => (413, "request_too_large"),
        429 => (429, "rate_limit_error"),
        503 | 529 => (529, "overloaded_error"),
        504 => (504, "timeout_error"),
        s if s >= 500 => (s, "api_error"),
        s if s >= 400 => (s, "invalid_request_error"),
        _ => (502, "api_error"),
    };
    (
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

/// Any upstream error → Google's `{"error": {code, message, status}}`, where `status`
/// is the `google.rpc.Code` name the HTTP status stands for. Anthropic's 529
/// "overloaded" is Google's 503 `UNAVAILABLE`.
pub fn error_to_gemini(status: u16, body: &[u8]) -> (u16, Value) {
    let message = upstream_message(status, body);
    let status = match status {
        529 => 503,
        422 => 400,
        s if s < 400 => 502,
        s => s,
    };
    (
        status,
        json!({"error": {"code": status, "message": message, "status": google_status(status)}}),
    )
}

/// The `google.rpc.Code` name Google's APIs answer an HTTP status with.
pub fn google_status(http: u16) -> &'static str {
    match http {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 | 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        400..=499 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// An Anthropic error type (from a mid-stream `error` event) → OpenAI error object.
pub(super) fn anthropic_stream_error_to_openai(err: &Value) -> Value {
    let kind = err
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("api_error");
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("upstream error");
    let (kind, code) = match kind {
        "overloaded_error" => ("server_error", Some("overloaded")),
        "rate_limit_error" => ("requests", Some("rate_limit_exceeded")),
        "invalid_request_error" => ("invalid_request_error", None),
        _ => ("server_error", None),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// An OpenAI mid-stream error object → Anthropic `error` event payload.
pub(super) fn openai_stream_error_to_anthropic(err: &Value) -> Value {
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("upstream error");
    let code = err.get("code").and_then(Value::as_str).unwrap_or("");
    let kind = err.get("type").and_then(Value::as_str).unwrap_or("");
    let kind = if code.contains("rate_limit") || kind == "requests" || kind == "tokens" {
        "rate_limit_error"
    } else if code == "overloaded" || code.contains("unavailable") {
        "overloaded_error"
    } else if kind == "invalid_request_error" {
        "invalid_request_error"
    } else {
        "api_error"
    };
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_googles_shape() {
        let body =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let (status, v) = error_to_gemini(529, body);
        assert_eq!(status, 503);
        assert_eq!(
            v,
            json!({"error": {"code": 503, "message": "Overloaded", "status": "UNAVAILABLE"}})
        );
        let (status, v) = error_to_gemini(429, br#"{"error":{"message":"slow"}}"#);
        assert_eq!(
            (status, v["error"]["status"].as_str()),
            (429, Some("RESOURCE_EXHAUSTED"))
        );
        let (_, v) = error_to_gemini(400, b"plain text");
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("plain text")
        );
    }

    #[test]
    fn anthropic_errors_become_openai_errors() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#;
        let (status, v) = error_to_openai(529, body);
        assert_eq!(status, 503);
        assert_eq!(v["error"]["message"], "Overloaded");
        assert_eq!(v["error"]["type"], "server_error");
        let (status, v) = error_to_openai(
            429,
            br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        );
        assert_eq!(status, 429);
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        let (status, v) = error_to_openai(401, b"");
        assert_eq!(status, 401);
        assert_eq!(v["error"]["code"], "invalid_api_key");
        assert_eq!(v["error"]["message"], "upstream returned HTTP 401");
    }

    #[test]
    fn openai_errors_become_anthropic_errors() {
        let body = br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        let (status, v) = error_to_anthropic(429, body);
        assert_eq!(status, 429);
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "rate_limit_error");
        assert_eq!(v["error"]["message"], "Rate limit reached");
        for (from, to, kind) in [
            (503, 529, "overloaded_error"),
            (400, 400, "invalid_request_error"),
            (401, 401, "authentication_error"),
            (403, 403, "permission_error"),
            (404, 404, "not_found_error"),
            (413, 413, "request_too_large"),
            (500, 500, "api_error"),
        ] {
            let (status, v) = error_to_anthropic(from, b"{}");
            assert_eq!((status, v["error"]["type"].as_str()), (to, Some(kind)));
        }
    }

    #[test]
    fn non_json_bodies_are_quoted_and_shortened() {
        let html = format!("<html>{}</html>", "x".repeat(2000));
        let (status, v) = error_to_anthropic(502, html.as_bytes());
        assert_eq!(status, 502);
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.starts_with("upstream returned HTTP 502: <html>"));
        assert!(msg.chars().count() < 600);
        let (_, v) = error_to_openai(500, &[0xff, 0xfe]);
        assert!(v["error"]["message"].as_str().unwrap().contains("500"));
    }
}
