//! What a request through a Claude subscription (OAuth) account must carry:
//! `Authorization: Bearer <access token>` (no `x-api-key`), `anthropic-beta` including
//! `oauth-2025-04-20` merged with the client's betas, and a system prompt that begins
//! with Claude Code's identity line — added only when the client did not send it.

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};

pub const CLAUDE_CODE_SYSTEM: &str = "You are Claude Code, Anthropic's official CLI for Claude.";
pub const OAUTH_BETA: &str = "oauth-2025-04-20";

/// Put the bearer token and the OAuth beta on the upstream request.
pub fn apply_headers(headers: &mut HeaderMap, access_token: &str) {
    headers.remove("x-api-key");
    if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {access_token}")) {
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
    }
    merge_beta(headers);
    if !headers.contains_key("anthropic-version") {
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    }
}

/// Add `oauth-2025-04-20` to `anthropic-beta`, keeping the client's betas, in order,
/// without duplicates (several headers are folded into one).
pub fn merge_beta(headers: &mut HeaderMap) {
    let mut betas: Vec<String> = Vec::new();
    for v in headers.get_all("anthropic-beta") {
        for b in v.to_str().unwrap_or("").split(',') {
            let b = b.trim();
            if !b.is_empty() && !betas.iter().any(|x| x == b) {
                betas.push(b.to_string());
            }
        }
    }
    if !betas.iter().any(|b| b == OAUTH_BETA) {
        betas.push(OAUTH_BETA.to_string());
    }
    if let Ok(v) = HeaderValue::from_str(&betas.join(",")) {
        headers.insert("anthropic-beta", v);
    }
}

/// The body with Claude Code's identity line first in `system`, or `None` when the
/// client already sent it (the body then goes out untouched).
pub fn ensure_system_prefix(body: &[u8]) -> Option<Bytes> {
    let mut v: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let identity = json!({"type": "text", "text": CLAUDE_CODE_SYSTEM});
    let new_system = match v.remove("system") {
        None | Some(Value::Null) => Value::String(CLAUDE_CODE_SYSTEM.into()),
        Some(Value::String(s)) if s.starts_with(CLAUDE_CODE_SYSTEM) => return None,
        Some(Value::String(s)) if s.trim().is_empty() => Value::String(CLAUDE_CODE_SYSTEM.into()),
        Some(Value::String(s)) => json!([identity, {"type": "text", "text": s}]),
        Some(Value::Array(blocks)) => {
            let first = blocks
                .first()
                .and_then(|b| b.get("text"))
                .and_then(Value::as_str);
            if first.is_some_and(|t| t.starts_with(CLAUDE_CODE_SYSTEM)) {
                return None;
            }
            let mut out = vec![identity];
            out.extend(blocks);
            Value::Array(out)
        }
        Some(other) => other, // not ours to fix; the upstream will say what is wrong
    };
    v.insert("system".into(), new_system);
    serde_json::to_vec(&v).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn betas_are_merged_once() {
        let mut h = HeaderMap::new();
        h.append(
            "anthropic-beta",
            "prompt-caching-2024-07-31, interleaved-thinking-2025-05-14"
                .parse()
                .unwrap(),
        );
        h.append("anthropic-beta", "oauth-2025-04-20".parse().unwrap());
        h.insert("x-api-key", "lgw_client".parse().unwrap());
        apply_headers(&mut h, "sk-ant-oat01-abc");
        assert_eq!(
            h["anthropic-beta"],
            "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14,oauth-2025-04-20"
        );
        assert_eq!(h.get_all("anthropic-beta").iter().count(), 1);
        assert_eq!(h[AUTHORIZATION], "Bearer sk-ant-oat01-abc");
        assert!(h.get("x-api-key").is_none());
        let mut h = HeaderMap::new();
        merge_beta(&mut h);
        assert_eq!(h["anthropic-beta"], OAUTH_BETA);
    }

    #[test]
    fn system_prefix_added_once() {
        let add = |v: Value| -> Option<Value> {
            ensure_system_prefix(v.to_string().as_bytes())
                .map(|b| serde_json::from_slice(&b).unwrap())
        };
        assert_eq!(
            add(json!({"model": "m"})).unwrap()["system"],
            CLAUDE_CODE_SYSTEM
        );
        let v = add(json!({"system": "Be brief."})).unwrap();
        assert_eq!(v["system"][0]["text"], CLAUDE_CODE_SYSTEM);
        assert_eq!(v["system"][1]["text"], "Be brief.");
        let v = add(json!({"system": [{"type": "text", "text": "X", "cache_control": {"type": "ephemeral"}}]})).unwrap();
        assert_eq!(v["system"][0]["text"], CLAUDE_CODE_SYSTEM);
        assert_eq!(v["system"][1]["cache_control"]["type"], "ephemeral");
        // Claude Code sends its own: untouched.
        assert!(add(json!({"system": [{"type": "text", "text": CLAUDE_CODE_SYSTEM}, {"type": "text", "text": "more"}]})).is_none());
        assert!(add(json!({"system": format!("{CLAUDE_CODE_SYSTEM} And more.")})).is_none());
    }
}
