//! Local token counts for `count_tokens` when no Anthropic upstream can answer it.
//!
//! Claude's tokenizer is not public; the estimate uses OpenAI's `cl100k_base` BPE
//! (tiktoken), loaded on first use, over every text the request would send: system,
//! message text, tool inputs and results, and tool definitions.

use std::sync::OnceLock;

use serde_json::Value;
use tiktoken_rs::CoreBPE;

fn bpe() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().ok()).as_ref()
}

/// Count the tokens of an Anthropic `count_tokens` / `messages` request body.
pub fn estimate(body: &Value) -> u64 {
    let mut texts = Vec::new();
    // Images and documents: a flat allowance each (a 1092x1092 image is ~1,600 tokens).
    let mut fixed = 0u64;
    collect(body.get("system"), &mut texts, &mut fixed);
    if let Some(msgs) = body.get("messages").and_then(Value::as_array) {
        for m in msgs {
            collect(m.get("content"), &mut texts, &mut fixed);
        }
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        for t in tools {
            texts.push(t.to_string());
        }
    }
    let per_message = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(0, |m| m.len() as u64 * 4);
    count(&texts) + per_message + fixed
}

/// Tokens of `texts` with the BPE (a quarter of the bytes if it cannot be loaded).
fn count(texts: &[String]) -> u64 {
    match bpe() {
        Some(bpe) => texts
            .iter()
            .map(|t| bpe.encode_ordinary(t).len() as u64)
            .sum(),
        None => texts.iter().map(|t| t.len() as u64 / 4).sum(),
    }
}

/// Count the tokens of a Chat Completions request body (message text, tool calls and
/// tool definitions), as [`estimate`] does for Anthropic bodies.
pub fn estimate_chat(body: &Value) -> u64 {
    let mut texts = Vec::new();
    let mut fixed = 0u64;
    let msgs = body
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for m in msgs {
        match m.get("content") {
            Some(Value::Array(parts)) => {
                for p in parts {
                    match p.get("type").and_then(Value::as_str) {
                        Some("text") => collect(p.get("text"), &mut texts, &mut fixed),
                        Some("image_url") | Some("file") => fixed += 1600,
                        _ => {}
                    }
                }
            }
            other => collect(other, &mut texts, &mut fixed),
        }
        for call in m
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            texts.push(call.to_string());
        }
    }
    for t in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        texts.push(t.to_string());
    }
    count(&texts) + msgs.len() as u64 * 4 + fixed
}

fn collect(v: Option<&Value>, out: &mut Vec<String>, fixed: &mut u64) {
    match v {
        Some(Value::String(s)) => out.push(s.clone()),
        Some(Value::Array(items)) => {
            for item in items {
                match item.get("type").and_then(Value::as_str) {
                    Some("text") => collect(item.get("text"), out, fixed),
                    Some("thinking") => collect(item.get("thinking"), out, fixed),
                    Some("tool_use") => {
                        out.push(item.get("input").map(Value::to_string).unwrap_or_default())
                    }
                    Some("tool_result") => collect(item.get("content"), out, fixed),
                    Some("image") | Some("document") => *fixed += 1600,
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_grow_with_text() {
        let small = estimate(&json!({"messages": [{"role": "user", "content": "hi"}]}));
        let big = estimate(&json!({
            "system": [{"type": "text", "text": "You are a helpful assistant."}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hello world ".repeat(50)}]}]
        }));
        assert!((1..10).contains(&small), "{small}");
        assert!(big > 100, "{big}");
    }
}
