//! The Gemini flavor of the mock upstream (`Flavor::Gemini`): the Generative Language
//! API's routes, key checks, errors and answer shapes.
//!
//! - `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent` (SSE with
//!   `?alt=sse`, else one JSON array sent as it grows), `:countTokens`;
//!   `GET /v1beta/models`. The same under `/v1/`.
//! - The key in `x-goog-api-key` or `?key=`. A wrong key is a 400 `INVALID_ARGUMENT`
//!   with reason `API_KEY_INVALID`, a missing one a 403 `PERMISSION_DENIED`, as the real
//!   API answers.
//! - Bodies are checked by `validate_gemini_request` (unknown fields, part shapes,
//!   Gemini 3's thought signatures, the schema subset).
//! - Function calls come back with a `thoughtSignature` (as Gemini 3 sends them), so a
//!   client that drops it on the next turn is refused on a `gemini-3*` model.

use serde_json::{Value, json};

use super::{Reply, split_text};

/// The signature the mock puts on its function calls (base64 of "sig-mock").
pub const SIGNATURE: &str = "c2lnLW1vY2s=";

/// A Gemini route: (API version, model, method) from `/v1beta/models/{model}:{method}`.
pub fn route(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix('/')?;
    let (version, rest) = rest.split_once('/')?;
    if version != "v1beta" && version != "v1" {
        return None;
    }
    let rest = rest.strip_prefix("models/")?;
    let (model, method) = rest.rsplit_once(':')?;
    Some((version, model, method))
}

/// `?key=` from a query string.
pub fn query_key(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("key="))
        .map(String::from)
}

/// `{"error": {code, message, status}}`, with `details` for a bad key.
pub fn error_body(code: u16, status: &str, msg: &str) -> Value {
    let mut e = json!({"error": {"code": code, "message": msg, "status": status}});
    if msg.starts_with("API key not valid") {
        e["error"]["details"] = json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]);
    }
    e
}

/// The status word for an HTTP status.
pub fn status_word(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}

pub fn models() -> Value {
    json!({"models": [{"name": "models/gemini-mock-1", "version": "001", "displayName": "Gemini Mock",
        "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens"]}]})
}

/// The last `functionResponse` in the conversation, as text.
pub fn last_tool_output(req: &Value) -> Option<String> {
    req["contents"]
        .as_array()?
        .iter()
        .rev()
        .flat_map(|c| c["parts"].as_array().into_iter().flatten().rev())
        .find_map(|p| p.get("functionResponse"))
        .map(|r| {
            let resp = &r["response"];
            match resp.as_object() {
                Some(o) if o.len() == 1 => match o.values().next() {
                    Some(Value::String(s)) => s.clone(),
                    _ => resp.to_string(),
                },
                _ => resp.to_string(),
            }
        })
}

/// The one function `toolConfig` forces, if any.
pub fn forced_tool(req: &Value) -> Option<&str> {
    let cfg = &req["toolConfig"]["functionCallingConfig"];
    if cfg["mode"] != "ANY" {
        return None;
    }
    cfg["allowedFunctionNames"][0].as_str()
}

/// Declared functions, shaped like Chat tools (`name`, `parameters`) for the script.
pub fn tools_as_chat(req: &Value) -> Vec<Value> {
    req["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["functionDeclarations"].as_array().into_iter().flatten())
        .map(|d| {
            let schema = if d["parameters"].is_object() {
                &d["parameters"]
            } else {
                &d["parametersJsonSchema"]
            };
            json!({"name": d["name"], "parameters": schema})
        })
        .collect()
}

fn usage() -> Value {
    json!({"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 17})
}

fn parts(reply: &Reply) -> Vec<Value> {
    match reply {
        Reply::Text(t) => vec![json!({"text": t})],
        Reply::Tool { name, input, .. } => {
            let mut v = Vec::new();
            if let Some(p) = reply.preamble() {
                v.push(json!({"text": p}));
            }
            v.push(json!({"functionCall": {"name": name, "args": input}, "thoughtSignature": SIGNATURE}));
            v
        }
    }
}

/// A `generateContent` answer.
pub fn response(model: &str, reply: &Reply) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": parts(reply)}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage(),
        "modelVersion": model,
        "responseId": "mock-response-1",
    })
}

/// The chunks of a streamed answer: text in `deltas` pieces, then a function call whole,
/// the last chunk with `finishReason` and usage.
pub fn chunks(model: &str, reply: &Reply, deltas: usize) -> Vec<Value> {
    let chunk = |parts: Vec<Value>, last: bool| {
        let mut c = json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            "modelVersion": model, "responseId": "mock-response-s"});
        if last {
            c["candidates"][0]["finishReason"] = json!("STOP");
            c["usageMetadata"] = usage();
        } else {
            c["usageMetadata"] = json!({"promptTokenCount": 12, "totalTokenCount": 12});
        }
        c
    };
    let mut out = Vec::new();
    match reply {
        Reply::Text(t) => {
            let pieces = split_text(t, deltas);
            let n = pieces.len();
            for (i, p) in pieces.into_iter().enumerate() {
                out.push(chunk(vec![json!({"text": p})], i + 1 == n));
            }
        }
        Reply::Tool { .. } => {
            let all = parts(reply);
            let (call, text) = all
                .split_last()
                .map(|(c, t)| (c.clone(), t.to_vec()))
                .unwrap_or_default();
            for t in text {
                out.push(chunk(vec![t], false));
            }
            out.push(chunk(vec![call], true));
        }
    }
    out
}

/// Frame chunks as SSE events or as one JSON array.
pub fn frame(chunks: &[Value], sse: bool) -> Vec<String> {
    if sse {
        return chunks
            .iter()
            .map(|c| format!("data: {c}\r\n\r\n"))
            .collect();
    }
    let n = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let open = if i == 0 { "[" } else { ",\r\n" };
            let close = if i + 1 == n { "]" } else { "" };
            format!("{open}{c}{close}")
        })
        .collect()
}
