//! Mid-stream errors between Chat and Responses streams. Codex decides from a
//! `response.failed` error's `code` whether to retry (`rate_limit_exceeded`, reading the
//! delay from "Please try again in Ns", `server_is_overloaded`, `server_error`) or to
//! stop (`context_length_exceeded`, `insufficient_quota`), so Chat errors are sorted into
//! those codes; the way back restores the Chat `type`/`code` pairs the other converters
//! understand.

use serde_json::{Value, json};

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Whether `lower` carries a retry delay: `Some(true)` when already in Codex's
/// "try again in N" wording, `Some(false)` for another wording ("retry after N").
fn retry_hint(lower: &str) -> Option<bool> {
    for marker in ["try again in", "retry after", "retry-after", "retry in"] {
        if let Some(pos) = lower.find(marker) {
            let rest = lower[pos + marker.len()..].trim_start_matches([' ', ':']);
            if rest.starts_with(|c: char| c.is_ascii_digit()) {
                return Some(marker == "try again in");
            }
        }
    }
    None
}

/// The number that follows a retry marker, e.g. "20" in "retry after 20 seconds".
fn retry_seconds(lower: &str) -> Option<String> {
    for marker in ["retry after", "retry-after", "retry in"] {
        if let Some(pos) = lower.find(marker) {
            let rest = lower[pos + marker.len()..].trim_start_matches([' ', ':']);
            let n: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            if !n.is_empty() {
                return Some(n);
            }
        }
    }
    None
}

/// A Chat stream error object → (`code`, `message`) of a `response.failed`.
pub(super) fn failure_of_chat_error(err: &Value) -> (String, String) {
    let err = if err.is_object() {
        err.clone()
    } else {
        json!({"message": err.as_str().map(String::from).unwrap_or_else(|| err.to_string())})
    };
    let message = match str_at(&err, "message") {
        "" => "upstream error".to_string(),
        m => m.to_string(),
    };
    let (code, kind) = (str_at(&err, "code"), str_at(&err, "type"));
    let lower = message.to_ascii_lowercase();
    let context = code == "context_length_exceeded"
        || [
            "context length",
            "context_length",
            "context window",
            "prompt is too long",
            "maximum context",
            "max tokens exceeded",
            "too many tokens",
        ]
        .iter()
        .any(|m| lower.contains(m));
    if context {
        return ("context_length_exceeded".into(), message);
    }
    let quota =
        code == "insufficient_quota" || matches!(kind, "insufficient_quota" | "billing_error");
    let rate =
        code.contains("rate_limit") || matches!(kind, "requests" | "tokens" | "rate_limit_error");
    let quota_words = ["quota", "billing", "credit balance"];
    if quota || (!rate && quota_words.iter().any(|w| lower.contains(w))) {
        return ("insufficient_quota".into(), message);
    }
    if rate || lower.contains("rate limit") || lower.contains("too many requests") {
        let message = match retry_hint(&lower) {
            Some(true) => message,
            Some(false) => match retry_seconds(&lower) {
                Some(n) => format!("{message} Please try again in {n}s."),
                None => format!("{message} Please try again in 1s."),
            },
            None => "Rate limit reached. Please try again in 1s.".to_string(),
        };
        return ("rate_limit_exceeded".into(), message);
    }
    if code == "overloaded"
        || code == "server_is_overloaded"
        || kind == "overloaded_error"
        || code.contains("unavailable")
        || lower.contains("overloaded")
    {
        return ("server_is_overloaded".into(), message);
    }
    ("server_error".into(), message)
}

/// A Responses error (`response.error` or an `error` event) → the Chat error chunk.
pub(super) fn chat_error_of_failure(err: &Value) -> Value {
    let message = match str_at(err, "message") {
        "" => "upstream error",
        m => m,
    };
    let code = str_at(err, "code");
    let (kind, code) = match code {
        "rate_limit_exceeded" => ("requests", Some("rate_limit_exceeded")),
        "insufficient_quota" => ("insufficient_quota", Some("insufficient_quota")),
        "context_length_exceeded" => ("invalid_request_error", Some("context_length_exceeded")),
        "server_is_overloaded" | "slow_down" => ("server_error", Some("overloaded")),
        "invalid_prompt" | "invalid_request_error" => ("invalid_request_error", Some(code)),
        "" => ("server_error", None),
        c => ("server_error", Some(c)),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(err: Value) -> (String, String) {
        failure_of_chat_error(&err)
    }

    #[test]
    fn chat_errors_get_codes_codex_understands() {
        let (c, m) = code_of(
            json!({"message": "Rate limit reached for gpt-4o. Please try again in 7.5s.",
            "type": "requests", "code": "rate_limit_exceeded"}),
        );
        assert_eq!(c, "rate_limit_exceeded");
        assert!(m.ends_with("try again in 7.5s."));
        let (c, m) = code_of(json!({"message": "slow down", "type": "requests"}));
        assert_eq!(
            (c.as_str(), m.as_str()),
            (
                "rate_limit_exceeded",
                "Rate limit reached. Please try again in 1s."
            )
        );
        let (_, m) =
            code_of(json!({"message": "Rate limited, retry after 20 seconds", "type": "requests"}));
        assert!(m.ends_with("Please try again in 20s."), "{m}");
        let cases = [
            (
                json!({"message": "Overloaded", "type": "server_error", "code": "overloaded"}),
                "server_is_overloaded",
            ),
            (
                json!({"message": "prompt is too long: 210000 tokens > 200000 maximum", "type": "invalid_request_error"}),
                "context_length_exceeded",
            ),
            (
                json!({"message": "This model's maximum context length is 128000 tokens."}),
                "context_length_exceeded",
            ),
            (
                json!({"message": "You exceeded your current quota", "type": "insufficient_quota"}),
                "insufficient_quota",
            ),
            (
                json!({"message": "Your credit balance is too low"}),
                "insufficient_quota",
            ),
            (
                json!({"message": "boom", "type": "server_error"}),
                "server_error",
            ),
            (json!("plain text"), "server_error"),
        ];
        for (err, code) in cases {
            assert_eq!(code_of(err.clone()).0, code, "{err}");
        }
    }

    #[test]
    fn responses_errors_map_back_to_chat_errors() {
        let e = chat_error_of_failure(&json!({"code": "rate_limit_exceeded", "message": "m"}));
        assert_eq!(e["error"]["type"], "requests");
        assert_eq!(e["error"]["code"], "rate_limit_exceeded");
        let e = chat_error_of_failure(&json!({"code": "context_length_exceeded", "message": "m"}));
        assert_eq!(e["error"]["type"], "invalid_request_error");
        let e = chat_error_of_failure(&json!({"code": "insufficient_quota", "message": "m"}));
        assert_eq!(e["error"]["code"], "insufficient_quota");
        let e = chat_error_of_failure(&json!({"code": "server_is_overloaded", "message": "m"}));
        assert_eq!(e["error"]["code"], "overloaded");
        let e = chat_error_of_failure(&json!({}));
        assert_eq!(e["error"]["message"], "upstream error");
        assert_eq!(e["error"]["type"], "server_error");
    }
}
