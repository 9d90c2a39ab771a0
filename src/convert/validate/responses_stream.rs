//! Responses stream rules, checked the way an SDK accumulates a stream (events as
//! `(event name, data)` pairs, in order).
//!
//! Every event's name equals its `type` and `sequence_number`s run 0, 1, 2…; the stream
//! opens with `response.created` then `response.in_progress`. Output items are added at
//! `output_index` 0, 1, 2…, each before its deltas and done once, every event naming the
//! item's id; content / summary parts are added (at the next index) before their deltas
//! and done once; each text `.done` equals its joined deltas, a function call's
//! `arguments` equal its joined deltas and parse as JSON, a custom call's `input` its
//! joined deltas; `output_item.done` carries the accumulated item. Exactly one terminal
//! event — `response.completed`, `response.incomplete` or `response.failed` — comes last
//! (or an `error` event ends the stream instead); its response keeps the created id,
//! has the matching status, lists the items done in order as `output`, and, unless
//! failed, has no item still open and carries usage with the three token counts.

use serde_json::Value;

use super::{Res, kind};

#[derive(Debug)]
struct Item {
    id: String,
    kind: String,
    done: bool,
    /// (part type, joined text, text done, part done)
    parts: Vec<(String, String, bool, bool)>,
    args: String,
    args_done: bool,
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn u(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

const TERMINAL: &[&str] = &[
    "response.completed",
    "response.incomplete",
    "response.failed",
];

/// Check a Responses stream: `(event name, data)` pairs in order.
pub fn validate_responses_stream(events: &[(String, Value)]) -> Res {
    let mut items: Vec<Item> = Vec::new();
    let mut done_items: Vec<Value> = Vec::new();
    let mut response_id = String::new();
    let mut ended = false;
    for (n, (name, data)) in events.iter().enumerate() {
        let t = kind(data);
        let at = |what: &str| Err(format!("event {n} ({t}): {what}"));
        if ended {
            return at("nothing may follow the terminal event");
        }
        if name != t {
            return at(&format!("event name {name:?} differs from type"));
        }
        if t == "error" {
            if n + 1 != events.len() {
                return at("an error event must end the stream");
            }
            return Ok(());
        }
        if u(data, "sequence_number") != Some(n as u64) {
            return at(&format!("sequence_number must be {n}"));
        }
        match (n, t) {
            (0, "response.created") | (1, "response.in_progress") => {
                let id = data.pointer("/response/id").and_then(Value::as_str);
                let Some(id) = id.filter(|i| !i.is_empty()) else {
                    return at("response.id required");
                };
                if n == 1 && id != response_id {
                    return at("response.id differs from response.created");
                }
                response_id = id.to_string();
                if data.pointer("/response/status").and_then(Value::as_str) != Some("in_progress") {
                    return at("status must be in_progress");
                }
                continue;
            }
            (0, _) => return at("the stream must begin with response.created"),
            (1, _) => return at("response.in_progress must follow response.created"),
            _ => {}
        }
        if TERMINAL.contains(&t) {
            terminal(t, data, &response_id, &items, &done_items).or_else(|e| at(&e))?;
            ended = true;
            continue;
        }
        let index = u(data, "output_index");
        if t == "response.output_item.added" {
            let item = data.get("item").unwrap_or(&Value::Null);
            if index != Some(items.len() as u64) {
                return at(&format!("output_index must be {}", items.len()));
            }
            let id = s(item, "id");
            if id.is_empty() || items.iter().any(|i| i.id == id) {
                return at("item.id missing or reused");
            }
            items.push(Item {
                id: id.to_string(),
                kind: kind(item).to_string(),
                done: false,
                parts: Vec::new(),
                args: String::new(),
                args_done: false,
            });
            continue;
        }
        let Some(item) = index.and_then(|i| items.get_mut(i as usize)) else {
            return at("output_index names no added item");
        };
        if item.done {
            return at("the item is already done");
        }
        if t == "response.output_item.done" {
            let got = data.get("item").unwrap_or(&Value::Null);
            item_done(item, got).or_else(|e| at(&e))?;
            item.done = true;
            done_items.push(got.clone());
            continue;
        }
        if s(data, "item_id") != item.id {
            return at("item_id is not the id of the item at output_index");
        }
        event_on_item(t, data, item).or_else(|e| at(&e))?;
    }
    if !ended {
        return Err("the stream must end with a terminal event".into());
    }
    Ok(())
}

/// The part index a part event addresses (`content_index` or `summary_index`).
fn part_index(t: &str, data: &Value) -> Option<usize> {
    let key = if t.contains("reasoning_summary") {
        "summary_index"
    } else {
        "content_index"
    };
    u(data, key).map(|i| i as usize)
}

fn event_on_item(t: &str, data: &Value, item: &mut Item) -> Res {
    let want_kind = match t {
        "response.content_part.added"
        | "response.content_part.done"
        | "response.output_text.delta"
        | "response.output_text.done"
        | "response.refusal.delta"
        | "response.refusal.done" => "message",
        "response.reasoning_summary_part.added"
        | "response.reasoning_summary_part.done"
        | "response.reasoning_summary_text.delta"
        | "response.reasoning_summary_text.done"
        | "response.reasoning_text.delta"
        | "response.reasoning_text.done" => "reasoning",
        "response.function_call_arguments.delta" | "response.function_call_arguments.done" => {
            "function_call"
        }
        "response.custom_tool_call_input.delta" | "response.custom_tool_call_input.done" => {
            "custom_tool_call"
        }
        _ => return Err("unknown event type".into()),
    };
    if item.kind != want_kind {
        return Err(format!("not allowed on a {} item", item.kind));
    }
    if want_kind == "function_call" || want_kind == "custom_tool_call" {
        if item.args_done {
            return Err("arguments already done".into());
        }
        if t.ends_with(".delta") {
            item.args.push_str(s(data, "delta"));
            return Ok(());
        }
        let field = if want_kind == "function_call" {
            "arguments"
        } else {
            "input"
        };
        if s(data, field) != item.args {
            return Err(format!("{field} differ from the joined deltas"));
        }
        if want_kind == "function_call" && serde_json::from_str::<Value>(&item.args).is_err() {
            return Err(format!("arguments do not parse as JSON: {}", item.args));
        }
        item.args_done = true;
        return Ok(());
    }
    let Some(pi) = part_index(t, data) else {
        return Err("part index missing".into());
    };
    if t.ends_with("part.added") {
        if pi != item.parts.len() {
            return Err(format!("part index must be {}", item.parts.len()));
        }
        if item.parts.last().is_some_and(|p| !p.3) {
            return Err("the previous part is still open".into());
        }
        let part = data.get("part").unwrap_or(&Value::Null);
        let text = part.get("text").or_else(|| part.get("refusal"));
        if text.and_then(Value::as_str) != Some("") {
            return Err("an added part must be empty".into());
        }
        item.parts
            .push((kind(part).to_string(), String::new(), false, false));
        return Ok(());
    }
    if t.starts_with("response.reasoning_text") {
        // Raw reasoning text (no part events of its own): joined in `args`.
        if t.ends_with(".delta") {
            item.args.push_str(s(data, "delta"));
        } else if s(data, "text") != item.args {
            return Err("text differs from the joined deltas".into());
        } else {
            item.args.clear();
        }
        return Ok(());
    }
    let Some(part) = item.parts.get_mut(pi) else {
        return Err("the part was not added".into());
    };
    let want_part = match t {
        "response.output_text.delta" | "response.output_text.done" => "output_text",
        "response.refusal.delta" | "response.refusal.done" => "refusal",
        "response.reasoning_summary_text.delta" | "response.reasoning_summary_text.done" => {
            "summary_text"
        }
        _ => part.0.as_str(), // part.done
    };
    if part.0 != want_part {
        return Err(format!("not allowed on a {} part", part.0));
    }
    if t.ends_with("part.done") {
        if part.3 || !part.2 {
            return Err("part done twice, or before its text was done".into());
        }
        let got = data.get("part").unwrap_or(&Value::Null);
        let text = got.get("text").or_else(|| got.get("refusal"));
        if text.and_then(Value::as_str) != Some(part.1.as_str()) {
            return Err("part text differs from the joined deltas".into());
        }
        part.3 = true;
        return Ok(());
    }
    if part.2 {
        return Err("the text is already done".into());
    }
    if t.ends_with(".delta") {
        match data.get("delta").and_then(Value::as_str) {
            Some(d) => part.1.push_str(d),
            None => return Err("delta must be a string".into()),
        }
        return Ok(());
    }
    let field = if want_part == "refusal" {
        "refusal"
    } else {
        "text"
    };
    if data.get(field).and_then(Value::as_str) != Some(part.1.as_str()) {
        return Err(format!("{field} differs from the joined deltas"));
    }
    part.2 = true;
    Ok(())
}

/// `output_item.done`: the item matches what was streamed for it.
fn item_done(item: &Item, got: &Value) -> Res {
    if s(got, "id") != item.id || kind(got) != item.kind {
        return Err("item id or type differs from the added item".into());
    }
    if item.parts.iter().any(|p| !p.3) {
        return Err("a part is still open".into());
    }
    let texts = |key: &str| -> Vec<String> {
        got.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| s(p, "text").to_string() + s(p, "refusal"))
            .collect()
    };
    match item.kind.as_str() {
        "message" => {
            let want: Vec<String> = item.parts.iter().map(|p| p.1.clone()).collect();
            if texts("content") != want {
                return Err("message content differs from the streamed parts".into());
            }
        }
        "reasoning" => {
            let want: Vec<String> = item
                .parts
                .iter()
                .filter(|p| p.0 == "summary_text")
                .map(|p| p.1.clone())
                .collect();
            if texts("summary") != want {
                return Err("reasoning summary differs from the streamed parts".into());
            }
        }
        "function_call" | "custom_tool_call" => {
            let field = if item.kind == "function_call" {
                "arguments"
            } else {
                "input"
            };
            if !item.args_done || s(got, field) != item.args {
                return Err(format!(
                    "{field} missing its .done or differ from the deltas"
                ));
            }
            if s(got, "call_id").is_empty() || s(got, "name").is_empty() {
                return Err("a tool call needs call_id and name".into());
            }
        }
        _ => {}
    }
    Ok(())
}

fn terminal(t: &str, data: &Value, id: &str, items: &[Item], done: &[Value]) -> Res {
    let resp = data.get("response").unwrap_or(&Value::Null);
    let status = t.trim_start_matches("response.");
    if s(resp, "id") != id {
        return Err("response.id differs from response.created".into());
    }
    if s(resp, "status") != status {
        return Err(format!("status must be {status}"));
    }
    if resp
        .get("output")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        != Some(done)
    {
        return Err("output must be the items done, in order".into());
    }
    if status == "failed" {
        let err = resp.get("error").unwrap_or(&Value::Null);
        if s(err, "code").is_empty() || s(err, "message").is_empty() {
            return Err("a failed response needs error.code and error.message".into());
        }
        return Ok(());
    }
    if items.iter().any(|i| !i.done) {
        return Err("an item is still open".into());
    }
    let usage = resp.get("usage").unwrap_or(&Value::Null);
    for k in ["input_tokens", "output_tokens", "total_tokens"] {
        if u(usage, k).is_none() {
            return Err(format!("usage.{k} required"));
        }
    }
    if status == "incomplete"
        && resp
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str)
            .is_none()
    {
        return Err("incomplete_details.reason required".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::responses::test_util::{RespBuilder, numbered, owned};
    use serde_json::json;

    fn named(events: &[Value]) -> Vec<(String, Value)> {
        events
            .iter()
            .map(|e| (e["type"].as_str().unwrap_or("").to_string(), e.clone()))
            .collect()
    }

    fn valid() -> Vec<Value> {
        let mut b = RespBuilder::new();
        b.reasoning(&[owned(&["a", "b"])], Some("enc"));
        b.message(&owned(&["Hel", "lo"]));
        b.function_call("call_1", "f", &owned(&["{\"a\":", "1}"]));
        b.end("completed", None)
    }

    /// `valid()` changed by `f` (sequence numbers redone) must be rejected.
    fn rejects(what: &str, f: impl Fn(&mut Vec<Value>)) {
        let mut events = valid();
        f(&mut events);
        let events = numbered(events);
        assert!(
            validate_responses_stream(&named(&events)).is_err(),
            "{what}"
        );
    }

    fn find(events: &[Value], t: &str) -> usize {
        events.iter().position(|e| e["type"] == t).unwrap()
    }

    #[test]
    fn accepts_a_valid_stream_and_rejects_broken_ones() {
        validate_responses_stream(&named(&valid())).unwrap();
        let mut bad_seq = valid();
        bad_seq[3]["sequence_number"] = json!(7);
        assert!(validate_responses_stream(&named(&bad_seq)).is_err());
        let mut bad_name = named(&valid());
        bad_name[2].0 = "response.output_item.done".into();
        assert!(validate_responses_stream(&bad_name).is_err());
        rejects("no created", |e| {
            e.remove(0);
        });
        rejects("no terminal", |e| {
            e.pop();
        });
        rejects("event after terminal", |e| e.push(e[1].clone()));
        rejects("delta before added", |e| {
            let i = find(e, "response.output_text.delta");
            let d = e.remove(i);
            e.insert(2, d);
        });
        rejects("text done differs", |e| {
            let i = find(e, "response.output_text.done");
            e[i]["text"] = json!("Hello!");
        });
        rejects("wrong item id", |e| {
            let i = find(e, "response.function_call_arguments.delta");
            e[i]["item_id"] = json!("fc_other");
        });
        rejects("arguments not JSON", |e| {
            let i = find(e, "response.function_call_arguments.delta");
            e.remove(i);
        });
        rejects("item done twice", |e| {
            let i = find(e, "response.output_item.done");
            let d = e[i].clone();
            e.insert(i + 1, d);
        });
        rejects("output differs", |e| {
            let last = e.len() - 1;
            e[last]["response"]["output"] = json!([]);
        });
        rejects("usage missing", |e| {
            let last = e.len() - 1;
            e[last]["response"]["usage"] = Value::Null;
        });
        rejects("output_index skips", |e| {
            for ev in e.iter_mut().filter(|ev| ev["output_index"] == 2) {
                ev["output_index"] = json!(3);
            }
        });
        rejects("part delta before part added", |e| {
            let i = find(e, "response.content_part.added");
            e.remove(i);
        });
    }
}
