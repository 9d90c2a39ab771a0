//! Anthropic → Anthropic: fold in-message `system` turns (sent by Claude Code ≥ 2.1.15x)
//! into the top-level `system`, in order, for upstreams that refuse `role: system` in
//! `messages`. Everything else is left as it is.

use serde_json::{Value, json};

/// The body with every `role: system` message moved to the end of the top-level
/// `system` (as text blocks, `cache_control` kept). Unchanged when there are none.
pub fn merge_system_messages(body: &Value) -> Value {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return body.clone();
    };
    let is_system = |m: &Value| m.get("role").and_then(Value::as_str) == Some("system");
    if !messages.iter().any(is_system) {
        return body.clone();
    }
    let mut system: Vec<Value> = match body.get("system") {
        Some(Value::String(s)) if !s.is_empty() => vec![json!({"type": "text", "text": s})],
        Some(Value::Array(blocks)) => blocks.clone(),
        _ => Vec::new(),
    };
    let mut kept = Vec::with_capacity(messages.len());
    for m in messages {
        if !is_system(m) {
            kept.push(m.clone());
            continue;
        }
        match m.get("content") {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                system.push(json!({"type": "text", "text": s}));
            }
            Some(Value::Array(blocks)) => system.extend(
                blocks
                    .iter()
                    .filter(|b| {
                        b.get("text")
                            .and_then(Value::as_str)
                            .is_some_and(|t| !t.trim().is_empty())
                    })
                    .cloned(),
            ),
            _ => {}
        }
    }
    let mut out = body.clone();
    out["messages"] = Value::Array(kept);
    if !system.is_empty() {
        out["system"] = Value::Array(system);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_message_system_turns_move_to_the_top() {
        let body = json!({"model": "c", "max_tokens": 5, "system": "Base.",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "Reminder."},
            {"role": "assistant", "content": "ok"},
            {"role": "system", "content": [{"type": "text", "text": "Late.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": "go"},
        ]});
        let out = merge_system_messages(&body);
        assert_eq!(
            out["system"],
            json!([{"type": "text", "text": "Base."}, {"type": "text", "text": "Reminder."},
                {"type": "text", "text": "Late.", "cache_control": {"type": "ephemeral"}}])
        );
        let roles: Vec<&str> = out["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        crate::convert::validate_anthropic_request(&out).unwrap();
        let plain = json!({"messages": [{"role": "user", "content": "x"}]});
        assert_eq!(merge_system_messages(&plain), plain);
    }
}
