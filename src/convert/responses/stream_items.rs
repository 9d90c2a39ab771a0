//! The output items [`super::stream_out::ChatToResponsesStream`] builds while it streams:
//! their kind, ids, accumulated text/arguments and the JSON of their `added` form.

use serde_json::{Value, json};

use super::common::{
    ANTHROPIC_THINKING_TAG, OPENAI_REASONING_TAG, custom_input_of_arguments, item_id,
    reasoning_item,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ItemKind {
    Reasoning,
    Message,
    Function,
    Custom,
}

/// A content part of a message item, or the summary part of a reasoning item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Text,
    Refusal,
    Summary,
}

impl Part {
    /// The part as it appears in a message's `content` (or a summary).
    pub(super) fn json(self, text: &str) -> Value {
        match self {
            Part::Text => json!({"type": "output_text", "text": text, "annotations": []}),
            Part::Refusal => json!({"type": "refusal", "refusal": text}),
            Part::Summary => json!({"type": "summary_text", "text": text}),
        }
    }

    pub(super) fn text_field(self) -> &'static str {
        match self {
            Part::Refusal => "refusal",
            _ => "text",
        }
    }

    pub(super) fn delta_event(self) -> &'static str {
        match self {
            Part::Refusal => "response.refusal.delta",
            Part::Summary => "response.reasoning_summary_text.delta",
            Part::Text => "response.output_text.delta",
        }
    }

    pub(super) fn done_event(self) -> &'static str {
        match self {
            Part::Refusal => "response.refusal.done",
            Part::Summary => "response.reasoning_summary_text.done",
            Part::Text => "response.output_text.done",
        }
    }
}

/// One output item; `done` holds its final JSON once `output_item.done` was sent.
#[derive(Debug)]
pub(super) struct Item {
    pub kind: ItemKind,
    pub id: String,
    pub parts: Vec<(Part, String)>,
    pub encrypted: String,
    pub name: String,
    /// The Codex tool namespace of a namespaced function (`name` is then the inner name).
    pub namespace: Option<String>,
    pub call_id: String,
    pub args: String,
    pub done: Option<Value>,
}

impl Item {
    pub(super) fn new(kind: ItemKind) -> Self {
        let prefix = match kind {
            ItemKind::Reasoning => "rs",
            ItemKind::Message => "msg",
            ItemKind::Function => "fc",
            ItemKind::Custom => "ctc",
        };
        Item {
            kind,
            id: item_id(prefix),
            parts: Vec::new(),
            encrypted: String::new(),
            name: String::new(),
            namespace: None,
            call_id: String::new(),
            args: String::new(),
            done: None,
        }
    }

    pub(super) fn is_tool(&self) -> bool {
        matches!(self.kind, ItemKind::Function | ItemKind::Custom)
    }

    fn with_namespace(&self, mut v: Value) -> Value {
        if let Some(ns) = &self.namespace {
            v["namespace"] = json!(ns);
        }
        v
    }

    /// The item as `response.output_item.added` shows it.
    pub(super) fn added_json(&self) -> Value {
        match self.kind {
            ItemKind::Reasoning => json!({"id": self.id, "type": "reasoning", "summary": []}),
            ItemKind::Message => json!({"id": self.id, "type": "message",
                "status": "in_progress", "role": "assistant", "content": []}),
            ItemKind::Function => self.with_namespace(json!({"id": self.id,
                "type": "function_call", "status": "in_progress", "arguments": "",
                "call_id": self.call_id, "name": self.name})),
            ItemKind::Custom => json!({"id": self.id, "type": "custom_tool_call",
                "status": "in_progress", "call_id": self.call_id, "name": self.name,
                "input": ""}),
        }
    }

    /// The finished item as `response.output_item.done` and the response's `output`
    /// show it.
    pub(super) fn done_json(&self) -> Value {
        match self.kind {
            ItemKind::Reasoning => {
                let text = self.parts.first().map(|p| p.1.as_str()).unwrap_or("");
                reasoning_item(&self.id, text, &self.encrypted)
            }
            ItemKind::Message => {
                let content: Vec<Value> = self.parts.iter().map(|(p, t)| p.json(t)).collect();
                json!({"id": self.id, "type": "message", "status": "completed",
                    "role": "assistant", "content": content})
            }
            ItemKind::Function => self.with_namespace(json!({"id": self.id,
                "type": "function_call", "status": "completed", "arguments": self.args,
                "call_id": self.call_id, "name": self.name})),
            ItemKind::Custom => json!({"id": self.id, "type": "custom_tool_call",
                "status": "completed", "call_id": self.call_id, "name": self.name,
                "input": custom_input_of_arguments(&self.args)}),
        }
    }
}

/// A Chat `reasoning_signature` as a reasoning item's `encrypted_content`: OpenAI's own
/// content comes back untagged, an Anthropic signature gets its origin tag.
pub(super) fn encrypted_of_signature(sig: &str) -> String {
    match sig.strip_prefix(OPENAI_REASONING_TAG) {
        Some(enc) => enc.to_string(),
        None => format!("{ANTHROPIC_THINKING_TAG}{sig}"),
    }
}
