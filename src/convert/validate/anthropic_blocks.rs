//! Per-block and per-turn rules of Anthropic requests (see `anthropic.rs` for the list):
//! which blocks each role may send, what each block must hold, and the pairing of
//! `tool_use` with `tool_result` across turns.

use std::collections::HashSet;

use serde_json::Value;

use super::{Res, fail, is_name, kind};

const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

pub(super) fn allowed(role: &str, kind: &str, path: &str) -> Res {
    let ok = match role {
        "user" => matches!(
            kind,
            "text" | "image" | "document" | "tool_result" | "search_result"
        ),
        "assistant" => {
            matches!(
                kind,
                "text" | "thinking" | "redacted_thinking" | "tool_use" | "server_tool_use"
            ) || (kind.ends_with("_tool_result") && kind != "tool_result")
        }
        _ => kind == "text",
    };
    if ok {
        Ok(())
    } else {
        fail(
            path,
            format!("a {kind:?} block is not allowed in a {role} message"),
        )
    }
}

pub(super) fn block(b: &Value, path: &str, cache: &mut usize) -> Res {
    if let Some(cc) = b.get("cache_control") {
        if kind(cc) != "ephemeral" {
            return fail(
                &format!("{path}.cache_control"),
                "type must be \"ephemeral\"",
            );
        }
        *cache += 1;
    }
    let str_at = |k: &str| b.get(k).and_then(Value::as_str);
    match kind(b) {
        "text" => match str_at("text") {
            Some(t) if !t.trim().is_empty() => Ok(()),
            _ => fail(path, "text content blocks must contain non-whitespace text"),
        },
        "image" => image_source(b.get("source").unwrap_or(&Value::Null), path),
        "document" => match b.pointer("/source/type").and_then(Value::as_str) {
            Some("base64")
                if b.pointer("/source/media_type") == Some(&"application/pdf".into()) =>
            {
                Ok(())
            }
            Some("text" | "url" | "content" | "file") => Ok(()),
            _ => fail(
                &format!("{path}.source"),
                "must be a base64 PDF, text, content, url or file source",
            ),
        },
        "tool_use" | "server_tool_use" => {
            if !str_at("id").is_some_and(|id| is_name(id, usize::MAX)) {
                return fail(&format!("{path}.id"), "must match ^[a-zA-Z0-9_-]+$");
            }
            if str_at("name").is_none_or(str::is_empty) {
                return fail(&format!("{path}.name"), "required");
            }
            if !b.get("input").is_some_and(Value::is_object) {
                return fail(&format!("{path}.input"), "must be an object");
            }
            Ok(())
        }
        "tool_result" => {
            if !str_at("tool_use_id").is_some_and(|id| is_name(id, usize::MAX)) {
                return fail(
                    &format!("{path}.tool_use_id"),
                    "must match ^[a-zA-Z0-9_-]+$",
                );
            }
            match b.get("content") {
                None | Some(Value::String(_)) => Ok(()),
                Some(Value::Array(items)) => items.iter().enumerate().try_for_each(|(k, item)| {
                    let ipath = format!("{path}.content[{k}]");
                    if !matches!(kind(item), "text" | "image" | "document" | "search_result") {
                        return fail(&ipath, "not allowed in a tool_result");
                    }
                    block(item, &ipath, cache)
                }),
                Some(_) => fail(&format!("{path}.content"), "must be a string or blocks"),
            }
        }
        "thinking" => match (str_at("thinking"), str_at("signature")) {
            (Some(_), Some(_)) => Ok(()),
            _ => fail(
                path,
                "thinking blocks need `thinking` and `signature` strings",
            ),
        },
        "redacted_thinking" => match str_at("data") {
            Some(_) => Ok(()),
            None => fail(path, "redacted_thinking needs `data`"),
        },
        _ => Ok(()),
    }
}

fn image_source(source: &Value, path: &str) -> Res {
    let path = format!("{path}.source");
    match kind(source) {
        "base64" => {
            let media = source
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !IMAGE_TYPES.contains(&media) {
                return fail(&path, format!("unsupported image media type {media:?}"));
            }
            if source
                .get("data")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return fail(&path, "base64 data required");
            }
            Ok(())
        }
        "url" => match source.get("url").and_then(Value::as_str) {
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => Ok(()),
            _ => fail(&path, "url must be http(s)"),
        },
        "file" => Ok(()),
        other => fail(&path, format!("unknown source type {other:?}")),
    }
}

pub(super) fn tool_pairing(turns: &[(String, Vec<Value>)], tool_names: &[String]) -> Res {
    let mut seen_ids = HashSet::new();
    let mut uses_tools = false;
    for (i, (role, blocks)) in turns.iter().enumerate() {
        let ids = |k: &str, f: &str| -> Vec<String> {
            blocks
                .iter()
                .filter(|b| kind(b) == k)
                .filter_map(|b| b.get(f).and_then(Value::as_str).map(str::to_string))
                .collect()
        };
        if role == "assistant" {
            let uses = ids("tool_use", "id");
            for id in &uses {
                if !seen_ids.insert(id.clone()) {
                    return fail(
                        &format!("turn {i}"),
                        format!("duplicate tool_use id {id:?}"),
                    );
                }
            }
            uses_tools |= !uses.is_empty();
            let answered = match turns.get(i + 1) {
                Some((r, _)) if r == "user" => {
                    let next = &turns[i + 1].1;
                    next.iter()
                        .filter(|b| kind(b) == "tool_result")
                        .filter_map(|b| b.get("tool_use_id").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                }
                _ => Vec::new(),
            };
            if let Some(missing) = uses.iter().find(|id| !answered.contains(id)) {
                return fail(
                    &format!("turn {i}"),
                    format!(
                        "tool_use ids were found without tool_result blocks immediately after: {missing}"
                    ),
                );
            }
        } else {
            let results = ids("tool_result", "tool_use_id");
            uses_tools |= !results.is_empty();
            let prev: Vec<String> = match i.checked_sub(1).map(|p| &turns[p]) {
                Some((r, b)) if r == "assistant" => b
                    .iter()
                    .filter(|b| kind(b) == "tool_use")
                    .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            let mut answered = HashSet::new();
            for id in &results {
                if !prev.contains(id) {
                    return fail(
                        &format!("turn {i}"),
                        format!(
                            "unexpected tool_use_id {id:?}: each tool_result must have a corresponding tool_use in the previous message"
                        ),
                    );
                }
                if !answered.insert(id) {
                    return fail(
                        &format!("turn {i}"),
                        format!("duplicate tool_result for {id:?}"),
                    );
                }
            }
            let first_other = blocks.iter().position(|b| kind(b) != "tool_result");
            let last_result = blocks.iter().rposition(|b| kind(b) == "tool_result");
            if let (Some(o), Some(r)) = (first_other, last_result)
                && o < r
            {
                return fail(
                    &format!("turn {i}"),
                    "tool_result blocks must come first in the user message",
                );
            }
        }
    }
    if uses_tools && tool_names.is_empty() {
        return fail(
            "tools",
            "requests which include tool_use or tool_result blocks must define tools",
        );
    }
    Ok(())
}
