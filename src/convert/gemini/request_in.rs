//! Gemini `generateContent` request → Chat Completions request: the way in for a
//! Gemini client (the google-genai SDKs, Gemini CLI) whose upstream speaks Chat, or,
//! one step further, Anthropic Messages or Responses.
//!
//! - `systemInstruction` → a `system` message;
//! - a `user` turn → a `user` message (text, `inlineData` images as data URLs, audio as
//!   `input_audio`, PDFs as `file`, `fileData` images as URLs); its `functionResponse`
//!   parts → `tool` messages, before the turn's other parts;
//! - a `model` turn → an `assistant` message: text as `content`, `thought` parts as
//!   `reasoning_content`, each `functionCall` a tool call. Gemini's calls usually carry
//!   no id, so each gets one from its place in the conversation, and each
//!   `functionResponse` answers the oldest unanswered call of its name (or the call of
//!   its `id`, when the client kept ids);
//! - `tools[].functionDeclarations` → function tools (`parameters` from Gemini's schema:
//!   types lower-cased, `nullable` as a `null` type; or `parametersJsonSchema` as it
//!   is); `toolConfig.functionCallingConfig` → `tool_choice`;
//! - `generationConfig`: `temperature`, `topP`, `maxOutputTokens`, `stopSequences`,
//!   `seed`, `presencePenalty`, `frequencyPenalty`; `responseMimeType:
//!   application/json` (with `responseSchema` / `responseJsonSchema`) → `response_format`;
//!   `thinkingConfig` → `reasoning_effort`; `topK` → `top_k`, an extension of Chat that
//!   the Anthropic and Gemini writers read (a real Chat upstream never gets it).
//!
//! Refused: `candidateCount` above 1, `cachedContent` (a cache on Google's side), hosted
//! tools (`googleSearch`, `codeExecution`, `urlContext`, …), `fileData` that is not an
//! image. Dropped knowingly: `safetySettings`, `responseModalities`,
//! `speechConfig`, `labels`, `thoughtSignature`s of text parts.

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value, json};

use super::THOUGHT_SIGNATURE_FIELD;
use crate::convert::ConvertError;

/// What converting a Gemini request learned that converting its answer needs.
#[derive(Debug, Clone, Default)]
pub struct GeminiClientCtx {
    /// The model the client asked for (from the URL), echoed as `modelVersion`.
    pub model: String,
}

/// Convert a Gemini request body for `model` (taken from the URL, `models/` prefix
/// removed by the caller) into a Chat Completions body.
pub fn gemini_to_chat_request(
    body: &Value,
    model: &str,
    stream: bool,
) -> Result<(Value, GeminiClientCtx), ConvertError> {
    // The SDKs send nested fields in snake_case, which Google accepts.
    let body = super::names::camel_case_fields(body);
    let Some(obj) = body.as_object() else {
        return Err(ConvertError::Invalid(
            "request body must be a JSON object".into(),
        ));
    };
    if obj.get("cachedContent").is_some_and(|v| !v.is_null()) {
        return Err(ConvertError::Unsupported(
            "`cachedContent` names a cache kept by Google; this gateway's upstream cannot \
             read it (send the contents instead)"
                .into(),
        ));
    }
    let mut messages: Vec<Value> = Vec::new();
    if let Some(sys) = obj.get("systemInstruction") {
        let text = parts_text(sys.get("parts"));
        if !text.trim().is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    let Some(contents) = obj.get("contents").and_then(Value::as_array) else {
        return Err(ConvertError::Invalid("`contents` must be an array".into()));
    };
    if contents.is_empty() {
        return Err(ConvertError::Invalid("`contents` is empty".into()));
    }
    let mut calls = Calls::default();
    for (i, turn) in contents.iter().enumerate() {
        let role = turn.get("role").and_then(Value::as_str).unwrap_or("user");
        let parts = turn.get("parts").and_then(Value::as_array).ok_or_else(|| {
            ConvertError::Invalid(format!("contents[{i}].parts must be an array"))
        })?;
        match role {
            "user" | "function" | "tool" => user_turn(parts, i, &mut calls, &mut messages)?,
            "model" => messages.push(model_turn(parts, i, &mut calls)?),
            other => {
                return Err(ConvertError::Invalid(format!(
                    "contents[{i}].role must be \"user\" or \"model\", not {other:?}"
                )));
            }
        }
    }

    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    out.insert("messages".into(), Value::Array(messages));
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        let fns = function_tools(tools)?;
        if !fns.is_empty() {
            out.insert("tools".into(), Value::Array(fns));
        }
    }
    if let Some(cfg) = obj
        .get("toolConfig")
        .and_then(|t| t.get("functionCallingConfig"))
    {
        out.insert("tool_choice".into(), tool_choice(cfg));
    }
    if let Some(g) = obj.get("generationConfig").and_then(Value::as_object) {
        generation_config(g, &mut out)?;
    }
    if stream {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok((
        Value::Object(out),
        GeminiClientCtx {
            model: model.to_string(),
        },
    ))
}

/// The calls made so far and not yet answered, by function name, and every call by id.
#[derive(Default)]
struct Calls {
    open: HashMap<String, VecDeque<String>>,
    by_id: HashMap<String, String>,
}

fn parts_text(parts: Option<&Value>) -> String {
    parts
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn user_turn(
    parts: &[Value],
    i: usize,
    calls: &mut Calls,
    messages: &mut Vec<Value>,
) -> Result<(), ConvertError> {
    let mut content: Vec<Value> = Vec::new();
    for (j, p) in parts.iter().enumerate() {
        if let Some(r) = p.get("functionResponse") {
            let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
            let id = r
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| calls.by_id.contains_key(*id))
                .map(str::to_string)
                .or_else(|| calls.open.get_mut(name).and_then(VecDeque::pop_front))
                .ok_or_else(|| {
                    ConvertError::Invalid(format!(
                        "contents[{i}].parts[{j}]: functionResponse `{name}` answers no \
                         functionCall in the conversation"
                    ))
                })?;
            if let Some(q) = calls.open.get_mut(name) {
                q.retain(|x| *x != id);
            }
            let response = r.get("response").cloned().unwrap_or(Value::Null);
            // `{"output": "text"}` / `{"result": "text"}` is the usual shape; a lone
            // string goes as it is, anything else as JSON.
            let text = match response.as_object() {
                Some(o) if o.len() == 1 => match o.values().next() {
                    Some(Value::String(s)) => s.clone(),
                    _ => response.to_string(),
                },
                _ => response.to_string(),
            };
            messages.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
        } else if let Some(t) = p.get("text").and_then(Value::as_str) {
            content.push(json!({"type": "text", "text": t}));
        } else if let Some(d) = p.get("inlineData") {
            content.push(inline_part(d, i, j)?);
        } else if let Some(f) = p.get("fileData") {
            let mime = f.get("mimeType").and_then(Value::as_str).unwrap_or("");
            let uri = f.get("fileUri").and_then(Value::as_str).unwrap_or("");
            if !mime.starts_with("image/") || uri.is_empty() {
                return Err(ConvertError::Unsupported(format!(
                    "contents[{i}].parts[{j}]: fileData of type {mime:?} can only reach a \
                     Gemini upstream (send it as inlineData)"
                )));
            }
            content.push(json!({"type": "image_url", "image_url": {"url": uri}}));
        } else if p.get("functionCall").is_some() {
            return Err(ConvertError::Invalid(format!(
                "contents[{i}].parts[{j}]: a functionCall belongs in a model turn"
            )));
        }
    }
    if !content.is_empty() {
        let only_text = content.iter().all(|c| c["type"] == "text");
        let value = if only_text {
            Value::String(
                content
                    .iter()
                    .filter_map(|c| c["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        } else {
            Value::Array(content)
        };
        messages.push(json!({"role": "user", "content": value}));
    }
    Ok(())
}

fn inline_part(d: &Value, i: usize, j: usize) -> Result<Value, ConvertError> {
    let mime = d.get("mimeType").and_then(Value::as_str).unwrap_or("");
    let data = d.get("data").and_then(Value::as_str).ok_or_else(|| {
        ConvertError::Invalid(format!("contents[{i}].parts[{j}].inlineData needs data"))
    })?;
    Ok(match mime {
        m if m.starts_with("image/") => {
            json!({"type": "image_url", "image_url": {"url": format!("data:{m};base64,{data}")}})
        }
        m if m.starts_with("audio/") => {
            let format = m.trim_start_matches("audio/").trim_start_matches("x-");
            json!({"type": "input_audio", "input_audio": {"data": data, "format": format}})
        }
        "application/pdf" => json!({"type": "file", "file": {
            "filename": "document.pdf", "file_data": format!("data:application/pdf;base64,{data}")}}),
        "text/plain" => {
            // The decoder takes both base64 alphabets.
            let text = crate::oauth::jwt::base64url_decode(data)
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ConvertError::Invalid(format!(
                        "contents[{i}].parts[{j}]: text/plain inlineData is not base64 UTF-8"
                    ))
                })?;
            json!({"type": "text", "text": text})
        }
        other => {
            return Err(ConvertError::Unsupported(format!(
                "contents[{i}].parts[{j}]: inlineData of type {other:?} cannot be converted"
            )));
        }
    })
}

fn model_turn(parts: &[Value], i: usize, calls: &mut Calls) -> Result<Value, ConvertError> {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for (j, p) in parts.iter().enumerate() {
        if let Some(c) = p.get("functionCall") {
            let name = c.get("name").and_then(Value::as_str).ok_or_else(|| {
                ConvertError::Invalid(format!(
                    "contents[{i}].parts[{j}]: functionCall needs a name"
                ))
            })?;
            let id = c
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| crate::convert::common::is_valid_id(id))
                .map_or_else(|| format!("call_{i}_{j}"), str::to_string);
            calls
                .open
                .entry(name.to_string())
                .or_default()
                .push_back(id.clone());
            calls.by_id.insert(id.clone(), name.to_string());
            let args = c.get("args").cloned().unwrap_or_else(|| json!({}));
            let mut tc = json!({"id": id, "type": "function",
                "function": {"name": name, "arguments": args.to_string()}});
            if let Some(sig) = p.get("thoughtSignature").and_then(Value::as_str) {
                tc["extra_content"] = json!({"google": {THOUGHT_SIGNATURE_FIELD: sig}});
            }
            tool_calls.push(tc);
        } else if let Some(t) = p.get("text").and_then(Value::as_str) {
            if p.get("thought").and_then(Value::as_bool) == Some(true) {
                reasoning.push_str(t);
            } else {
                text.push_str(t);
            }
        }
    }
    let mut m = json!({"role": "assistant",
        "content": if text.is_empty() && !tool_calls.is_empty() { Value::Null } else { Value::String(text) }});
    if !reasoning.is_empty() {
        m["reasoning_content"] = Value::String(reasoning);
    }
    if !tool_calls.is_empty() {
        m["tool_calls"] = Value::Array(tool_calls);
    }
    Ok(m)
}

fn function_tools(tools: &[Value]) -> Result<Vec<Value>, ConvertError> {
    let mut out = Vec::new();
    for (i, t) in tools.iter().enumerate() {
        let Some(obj) = t.as_object() else { continue };
        for key in obj.keys() {
            if key != "functionDeclarations" {
                return Err(ConvertError::Unsupported(format!(
                    "tools[{i}].{key}: Google's hosted tools run only on a Gemini upstream"
                )));
            }
        }
        for d in obj
            .get("functionDeclarations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = d.get("name").and_then(Value::as_str).ok_or_else(|| {
                ConvertError::Invalid(format!("tools[{i}]: a functionDeclaration needs a name"))
            })?;
            let params = match (d.get("parametersJsonSchema"), d.get("parameters")) {
                (Some(js), _) if !js.is_null() => js.clone(),
                (_, Some(p)) if !p.is_null() => to_json_schema(p),
                _ => json!({"type": "object", "properties": {}}),
            };
            let mut f = json!({"name": name, "parameters": params});
            if let Some(desc) = d.get("description").and_then(Value::as_str) {
                f["description"] = json!(desc);
            }
            out.push(json!({"type": "function", "function": f}));
        }
    }
    Ok(out)
}

/// Gemini's schema (OpenAPI subset, `STRING` or `string`, `nullable`) → JSON Schema.
pub fn to_json_schema(s: &Value) -> Value {
    let Some(obj) = s.as_object() else {
        return s.clone();
    };
    let mut out = Map::new();
    let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
    for (k, v) in obj {
        match k.as_str() {
            "type" => {
                let t = v.as_str().map(str::to_ascii_lowercase);
                match (t, nullable) {
                    (Some(t), true) => out.insert("type".into(), json!([t, "null"])),
                    (Some(t), false) => out.insert("type".into(), json!(t)),
                    (None, _) => out.insert("type".into(), v.clone()),
                };
            }
            "nullable" | "propertyOrdering" => {}
            "properties" => {
                let props: Map<String, Value> = v
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), to_json_schema(v)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" => {
                out.insert(k.clone(), to_json_schema(v));
            }
            "anyOf" => {
                let alts = v
                    .as_array()
                    .map(|a| a.iter().map(to_json_schema).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(alts));
            }
            "format" if v == "enum" => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

fn tool_choice(cfg: &Value) -> Value {
    let mode = cfg.get("mode").and_then(Value::as_str).unwrap_or("AUTO");
    let allowed: Vec<&str> = cfg
        .get("allowedFunctionNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match mode.to_ascii_uppercase().as_str() {
        "NONE" => json!("none"),
        "ANY" if allowed.len() == 1 => {
            json!({"type": "function", "function": {"name": allowed[0]}})
        }
        "ANY" => json!("required"),
        // AUTO, VALIDATED, MODE_UNSPECIFIED
        _ => json!("auto"),
    }
}

fn generation_config(
    g: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), ConvertError> {
    if let Some(n) = g.get("candidateCount").and_then(Value::as_u64)
        && n > 1
    {
        return Err(ConvertError::Unsupported(format!(
            "candidateCount = {n}: this gateway relays one candidate"
        )));
    }
    for (from, to) in [
        ("temperature", "temperature"),
        ("topP", "top_p"),
        ("seed", "seed"),
        ("presencePenalty", "presence_penalty"),
        ("frequencyPenalty", "frequency_penalty"),
        ("maxOutputTokens", "max_tokens"),
        ("topK", "top_k"),
    ] {
        if let Some(v) = g.get(from).filter(|v| v.is_number()) {
            out.insert(to.into(), v.clone());
        }
    }
    if let Some(stops) = g.get("stopSequences").and_then(Value::as_array)
        && !stops.is_empty()
    {
        out.insert("stop".into(), Value::Array(stops.clone()));
    }
    if g.get("responseMimeType").and_then(Value::as_str) == Some("application/json") {
        let schema = g
            .get("responseJsonSchema")
            .filter(|v| !v.is_null())
            .cloned()
            .or_else(|| {
                g.get("responseSchema")
                    .filter(|v| !v.is_null())
                    .map(to_json_schema)
            });
        let rf = match schema {
            Some(s) => {
                json!({"type": "json_schema", "json_schema": {"name": "response", "schema": s}})
            }
            None => json!({"type": "json_object"}),
        };
        out.insert("response_format".into(), rf);
    }
    if let Some(t) = g.get("thinkingConfig") {
        let level = t.get("thinkingLevel").and_then(Value::as_str);
        let budget = t.get("thinkingBudget").and_then(Value::as_i64);
        let effort = match (level.map(str::to_ascii_lowercase).as_deref(), budget) {
            (Some("minimal"), _) | (None, Some(0)) => Some("minimal"),
            (Some("low"), _) => Some("low"),
            (Some("medium"), _) => Some("medium"),
            (Some("high"), _) => Some("high"),
            (None, Some(b)) if b < 0 => Some("medium"),
            (None, Some(b)) if b <= 2048 => Some("low"),
            (None, Some(b)) if b <= 12288 => Some("medium"),
            (None, Some(_)) => Some("high"),
            _ => None,
        };
        if let Some(e) = effort {
            out.insert("reasoning_effort".into(), json!(e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gemini_cli_style_conversation_becomes_chat() {
        let (c, ctx) = gemini_to_chat_request(
            &json!({
                "systemInstruction": {"parts": [{"text": "You are a CLI."}]},
                "contents": [
                    {"role": "user", "parts": [{"text": "List files"}]},
                    {"role": "model", "parts": [
                        {"text": "plan", "thought": true},
                        {"functionCall": {"name": "ls", "args": {"dir": "."}}, "thoughtSignature": "sig"},
                        {"functionCall": {"name": "ls", "args": {"dir": "src"}}}
                    ]},
                    {"role": "user", "parts": [
                        {"functionResponse": {"name": "ls", "response": {"output": "a b"}}},
                        {"functionResponse": {"name": "ls", "response": {"files": ["x"], "n": 1}}}
                    ]}
                ],
                "tools": [{"functionDeclarations": [{"name": "ls", "description": "list",
                    "parameters": {"type": "OBJECT", "properties": {"dir": {"type": "STRING", "nullable": true}}, "required": ["dir"]}}]}],
                "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["ls"]}},
                "generationConfig": {"temperature": 0.1, "maxOutputTokens": 512, "topK": 40,
                    "thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": true}},
                "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
            }),
            "gemini-2.5-pro",
            true,
        )
        .unwrap();
        assert_eq!(ctx.model, "gemini-2.5-pro");
        let m = c["messages"].as_array().unwrap();
        assert_eq!(m[0], json!({"role": "system", "content": "You are a CLI."}));
        assert_eq!(m[1], json!({"role": "user", "content": "List files"}));
        let calls = m[2]["tool_calls"].as_array().unwrap();
        assert_eq!(m[2]["reasoning_content"], "plan");
        assert_ne!(calls[0]["id"], calls[1]["id"]);
        assert_eq!(
            calls[0]["extra_content"]["google"]["thought_signature"],
            "sig"
        );
        // Results answer the calls of their name in order.
        assert_eq!(m[3]["tool_call_id"], calls[0]["id"]);
        assert_eq!(m[3]["content"], "a b");
        assert_eq!(m[4]["tool_call_id"], calls[1]["id"]);
        assert_eq!(
            serde_json::from_str::<Value>(m[4]["content"].as_str().unwrap()).unwrap(),
            json!({"files": ["x"], "n": 1})
        );
        assert_eq!(m.len(), 5);
        assert_eq!(
            c["tools"][0]["function"]["parameters"],
            json!({"type": "object", "properties": {"dir": {"type": ["string", "null"]}}, "required": ["dir"]})
        );
        assert_eq!(
            c["tool_choice"],
            json!({"type": "function", "function": {"name": "ls"}})
        );
        assert_eq!(
            (c["temperature"].as_f64(), c["max_tokens"].as_u64()),
            (Some(0.1), Some(512))
        );
        assert_eq!(c["reasoning_effort"], "medium");
        assert_eq!(c["stream"], true);
        assert_eq!(c["stream_options"]["include_usage"], true);
        assert_eq!(c["top_k"], 40);
        assert!(c.get("safetySettings").is_none());
    }

    #[test]
    fn media_json_mode_and_ids() {
        let (c, _) = gemini_to_chat_request(
            &json!({"contents": [
                {"role": "user", "parts": [
                    {"text": "see"},
                    {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                    {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
                    {"inlineData": {"mimeType": "text/plain", "data": "aGVsbG8="}}
                ]},
                {"role": "model", "parts": [{"functionCall": {"id": "fc-7", "name": "f", "args": {}}}]},
                {"role": "user", "parts": [{"functionResponse": {"id": "fc-7", "name": "f", "response": {"result": "ok"}}}]}
            ],
            "generationConfig": {"responseMimeType": "application/json",
                "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}}}}),
            "gemini-2.5-flash",
            false,
        )
        .unwrap();
        let parts = c["messages"][0]["content"].as_array().unwrap();
        assert_eq!(parts[1]["image_url"]["url"], "data:image/png;base64,AAAA");
        assert_eq!(
            parts[2]["file"]["file_data"],
            "data:application/pdf;base64,JVBE"
        );
        assert_eq!(parts[3], json!({"type": "text", "text": "hello"}));
        assert_eq!(c["messages"][1]["tool_calls"][0]["id"], "fc-7");
        assert_eq!(c["messages"][2]["tool_call_id"], "fc-7");
        assert_eq!(
            c["response_format"]["json_schema"]["schema"]["properties"]["a"]["type"],
            "integer"
        );
        assert!(c.get("stream").is_none());
    }

    #[test]
    fn what_cannot_be_said_is_refused_clearly() {
        for (body, want) in [
            (json!({"contents": []}), "empty"),
            (
                json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "cachedContent": "cachedContents/1"}),
                "cachedContent",
            ),
            (
                json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "generationConfig": {"candidateCount": 2}}),
                "one candidate",
            ),
            (
                json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "tools": [{"googleSearch": {}}]}),
                "hosted tools",
            ),
            (
                json!({"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]}),
                "answers no functionCall",
            ),
            (
                json!({"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "video/mp4", "fileUri": "gs://x"}}]}]}),
                "only reach a Gemini upstream",
            ),
            (
                json!({"contents": [{"role": "robot", "parts": []}]}),
                "\"user\" or \"model\"",
            ),
        ] {
            let e = gemini_to_chat_request(&body, "m", false)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e} (wanted {want})");
        }
    }
}
