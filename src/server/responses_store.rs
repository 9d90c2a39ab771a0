//! Recent Responses answers the gateway produced by conversion, kept so that a client
//! can continue a conversation with `previous_response_id` although the upstream
//! (Anthropic or Chat) keeps no state of its own.
//!
//! Bounded three ways: entries live [`TTL`]; at most [`MAX_ENTRIES`] are kept and
//! at most [`MAX_BYTES`] of conversation in all (the oldest go first); a single
//! conversation larger than [`MAX_ENTRY_BYTES`] is not kept. In memory only: a
//! restart forgets them, and each server instance has its own.
//! Answers of requests sent with `store: false` are never kept.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TTL: Duration = Duration::from_secs(60 * 60);
pub const MAX_ENTRIES: usize = 4096;
pub const MAX_BYTES: usize = 256 << 20;
pub const MAX_ENTRY_BYTES: usize = 32 << 20;

/// A finished turn: every item of the conversation up to and including its answer.
pub struct Conversation {
    pub items: Vec<Value>,
    bytes: usize,
}

impl Conversation {
    /// The turn that `request` (its input already expanded with earlier turns) and the
    /// answer's `output` items make; none when it is over [`MAX_ENTRY_BYTES`].
    pub fn of_turn(request: &Value, output: &[Value]) -> Option<Conversation> {
        let mut items = input_items(request);
        // Instructions are not inherited by the next turn (as on OpenAI's side).
        items.extend(output.iter().cloned());
        let bytes: usize = items.iter().map(|v| v.to_string().len()).sum();
        (bytes <= MAX_ENTRY_BYTES).then_some(Conversation { items, bytes })
    }
}

#[derive(Default)]
pub struct ResponsesStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, (Instant, Arc<Conversation>)>,
    order: VecDeque<String>,
    bytes: usize,
}

impl ResponsesStore {
    /// The conversation that ended with response `id`, if it is still kept.
    pub fn get(&self, id: &str) -> Option<Arc<Conversation>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (at, c) = inner.by_id.get(id)?;
        (at.elapsed() < TTL).then(|| c.clone())
    }

    /// Keep the turn that `request` (its input already expanded with earlier turns)
    /// and `response` (a Responses `response` object) make.
    pub fn put(&self, request: &Value, response: &Value) {
        let Some(id) = response.get("id").and_then(Value::as_str) else {
            return;
        };
        let output = response
            .get("output")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let Some(conversation) = Conversation::of_turn(request, output) else {
            return;
        };
        let bytes = conversation.bytes;
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        inner.bytes += bytes;
        inner.order.push_back(id.to_string());
        if let Some((_, old)) = inner
            .by_id
            .insert(id.to_string(), (now, Arc::new(conversation)))
        {
            inner.bytes -= old.bytes;
        }
        // Oldest first out: expired ones, then while over a bound.
        while let Some(front) = inner.order.front().cloned() {
            let expired = inner
                .by_id
                .get(&front)
                .is_none_or(|(at, _)| now.duration_since(*at) >= TTL);
            let over = inner.by_id.len() > MAX_ENTRIES || inner.bytes > MAX_BYTES;
            if !expired && !over {
                break;
            }
            inner.order.pop_front();
            if let Some((_, c)) = inner.by_id.remove(&front) {
                inner.bytes -= c.bytes;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A request's `input` as a list of items (a string is one user message).
pub fn input_items(request: &Value) -> Vec<Value> {
    match request.get("input") {
        Some(Value::String(s)) => {
            vec![serde_json::json!({"type": "message", "role": "user", "content": s})]
        }
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

/// Put the stored conversation before the request's own input, and drop the id (the
/// converted request goes to an upstream that never issued it).
pub fn prepend_history(request: &mut Value, prev: &Conversation) {
    let mut items = prev.items.clone();
    items.extend(input_items(request));
    if let Some(o) = request.as_object_mut() {
        o.insert("input".into(), Value::Array(items));
        o.remove("previous_response_id");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_turn_is_kept_and_continued() {
        let store = ResponsesStore::default();
        let req = json!({"model": "m", "input": "Hi"});
        let resp = json!({"id": "resp_1", "output": [{"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello"}]}]});
        store.put(&req, &resp);
        let prev = store.get("resp_1").unwrap();
        let mut next = json!({"model": "m", "input": "Again", "previous_response_id": "resp_1"});
        prepend_history(&mut next, &prev);
        let items = next["input"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["content"], "Hi");
        assert_eq!(items[1]["role"], "assistant");
        assert_eq!(items[2]["content"], "Again");
        assert!(next.get("previous_response_id").is_none());
        assert!(store.get("resp_unknown").is_none());
    }

    #[test]
    fn the_store_is_bounded_in_entries() {
        let store = ResponsesStore::default();
        for i in 0..MAX_ENTRIES + 10 {
            store.put(
                &json!({"input": "x"}),
                &json!({"id": format!("resp_{i}"), "output": []}),
            );
        }
        assert_eq!(store.len(), MAX_ENTRIES);
        assert!(store.get("resp_0").is_none());
        assert!(store.get(&format!("resp_{}", MAX_ENTRIES + 9)).is_some());
    }
}
