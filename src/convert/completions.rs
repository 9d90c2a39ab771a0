//! The legacy `/v1/completions` API on top of chat: request → chat request, chat response
//! → `text_completion`, chat chunks → `text_completion` chunks.
//!
//! Dropped knowingly: `suffix`, `echo`, `best_of`, `logprobs` (chat has no equivalent
//! with the same meaning). Refused: several prompts at once and token-id prompts.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::ConvertError;
use super::common::{copy_field, done_frame, now_secs, openai_frame};
use crate::sse::Event;

/// Fields that mean the same in both request shapes.
const SHARED_FIELDS: &[&str] = &[
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "stream",
    "stream_options",
    "user",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "seed",
];

/// Legacy completions body → chat body with the prompt as one user message.
pub fn completions_to_chat_request(body: &Value) -> Result<Value, ConvertError> {
    if !body.is_object() {
        return Err(ConvertError::Invalid(
            "request body must be a JSON object".into(),
        ));
    }
    let prompt = match body.get("prompt") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => match items.as_slice() {
            [Value::String(s)] => s.clone(),
            [] => String::new(),
            [_] => {
                return Err(ConvertError::Unsupported(
                    "token-id prompts are not supported; send the prompt as text".into(),
                ));
            }
            _ => {
                return Err(ConvertError::Unsupported(
                    "several prompts in one request are not supported; send one request per prompt"
                        .into(),
                ));
            }
        },
        None | Some(Value::Null) => String::new(),
        Some(_) => return Err(ConvertError::Invalid("`prompt` must be a string".into())),
    };
    if prompt.trim().is_empty() {
        return Err(ConvertError::Invalid("`prompt` must not be empty".into()));
    }
    let mut out = Map::new();
    for key in SHARED_FIELDS {
        copy_field(body, &mut out, key);
    }
    out.insert(
        "messages".into(),
        json!([{"role": "user", "content": prompt}]),
    );
    Ok(Value::Object(out))
}

/// `chat.completion` → `text_completion`: each choice's message content becomes `text`.
pub fn chat_to_completions_response(resp: &Value) -> Value {
    let choices: Vec<Value> = resp
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(n, c)| {
            let text = c
                .pointer("/message/content")
                .and_then(Value::as_str)
                .unwrap_or("");
            json!({"text": text, "index": c.get("index").cloned().unwrap_or(json!(n)),
                "logprobs": null, "finish_reason": c.get("finish_reason").cloned().unwrap_or(Value::Null)})
        })
        .collect();
    let mut out = json!({
        "id": resp.get("id").cloned().unwrap_or(json!("cmpl-gateway")),
        "object": "text_completion",
        "created": resp.get("created").cloned().unwrap_or(json!(now_secs())),
        "model": resp.get("model").cloned().unwrap_or(Value::Null),
        "choices": choices,
    });
    if let Some(u) = resp.get("usage").filter(|u| u.is_object()) {
        out["usage"] = u.clone();
    }
    out
}

/// `chat.completion.chunk` events → `text_completion` chunks; `[DONE]` exactly once.
#[derive(Debug)]
pub struct ChatToCompletionsStream {
    model: String,
    done: bool,
}

impl ChatToCompletionsStream {
    pub fn new(client_model: &str) -> Self {
        ChatToCompletionsStream {
            model: client_model.to_string(),
            done: false,
        }
    }

    /// Convert one chat chunk event; returns the frames to write now.
    pub fn push(&mut self, ev: &Event) -> Vec<Bytes> {
        if self.done {
            return Vec::new();
        }
        if ev.data.trim() == "[DONE]" {
            return self.finish();
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else {
            return Vec::new();
        };
        if chunk.get("error").is_some_and(|e| !e.is_null()) {
            let mut out = vec![openai_frame(&chunk)];
            out.extend(self.finish());
            return out;
        }
        let choices: Vec<Value> = chunk
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let text = c
                    .pointer("/delta/content")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let finish = c.get("finish_reason").filter(|f| !f.is_null());
                (!text.is_empty() || finish.is_some()).then(|| {
                    json!({"text": text, "index": c.get("index").cloned().unwrap_or(json!(0)),
                        "logprobs": null, "finish_reason": finish.cloned().unwrap_or(Value::Null)})
                })
            })
            .collect();
        let usage = chunk.get("usage").filter(|u| u.is_object());
        if choices.is_empty() && usage.is_none() {
            return Vec::new();
        }
        let mut out = json!({
            "id": chunk.get("id").cloned().unwrap_or(json!("cmpl-gateway")),
            "object": "text_completion",
            "created": chunk.get("created").cloned().unwrap_or(json!(now_secs())),
            "model": self.model,
            "choices": choices,
        });
        if let Some(u) = usage {
            out["usage"] = u.clone();
        }
        vec![openai_frame(&out)]
    }

    /// Upstream ended: `[DONE]` unless already written.
    pub fn finish(&mut self) -> Vec<Bytes> {
        if std::mem::replace(&mut self.done, true) {
            return Vec::new();
        }
        vec![done_frame()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::test_util::{data_event, frames_json};

    #[test]
    fn prompt_becomes_a_user_message() {
        let body = json!({"model": "gpt-3.5-turbo-instruct", "prompt": ["Say hi"], "max_tokens": 7,
            "stop": "\n", "echo": false, "suffix": "x"});
        let chat = completions_to_chat_request(&body).unwrap();
        assert_eq!(
            chat,
            json!({"model": "gpt-3.5-turbo-instruct", "max_tokens": 7, "stop": "\n",
                "messages": [{"role": "user", "content": "Say hi"}]})
        );
        assert!(matches!(
            completions_to_chat_request(&json!({"prompt": ["a", "b"]})),
            Err(ConvertError::Unsupported(_))
        ));
        assert!(matches!(
            completions_to_chat_request(&json!({"prompt": [[1, 2]]})),
            Err(ConvertError::Unsupported(_))
        ));
        assert!(completions_to_chat_request(&json!({"prompt": " "})).is_err());
    }

    #[test]
    fn chat_response_becomes_text_completion() {
        let resp = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 5, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}});
        let out = chat_to_completions_response(&resp);
        assert_eq!(out["object"], "text_completion");
        assert_eq!(out["choices"][0]["text"], "hello");
        assert_eq!(out["choices"][0]["finish_reason"], "length");
        assert_eq!(out["usage"]["total_tokens"], 3);
    }

    #[test]
    fn chat_chunks_become_text_chunks() {
        let mut s = ChatToCompletionsStream::new("client-model");
        let mut frames = Vec::new();
        for data in [
            r#"{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            r#"{"id":"c","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
            r#"{"id":"c","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
            r#"{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
            "[DONE]",
        ] {
            frames.extend(s.push(&data_event(data)));
        }
        frames.extend(s.finish());
        let (chunks, done) = frames_json(&frames);
        assert_eq!(done, 1);
        let texts: Vec<&str> = chunks
            .iter()
            .filter_map(|c| c.pointer("/choices/0/text").and_then(Value::as_str))
            .collect();
        assert_eq!(texts, ["Hel", "lo"]);
        assert_eq!(chunks[1]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[2]["usage"]["total_tokens"], 3);
        assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
        assert!(chunks.iter().all(|c| c["model"] == "client-model"));
    }
}
