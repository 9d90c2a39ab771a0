//! Chat Completions request → Gemini `generateContent` request: the way out to a Gemini
//! upstream for every client format (Anthropic and Responses requests reach Chat first).
//!
//! - `system` / `developer` messages → `systemInstruction` (joined);
//! - `user` → a `user` turn: text, images as `inlineData` (data URLs) or `fileData`
//!   (other URLs), `input_audio` as `inlineData`;
//! - `assistant` → a `model` turn: text, and each tool call as a `functionCall` part
//!   (arguments parsed to an object) carrying its `thoughtSignature`; a call with none
//!   (history from another provider, or a client that dropped it) gets Google's
//!   documented `skip_thought_signature_validator`, since Gemini 3 refuses a replayed
//!   call without a signature;
//! - `tool` messages → `functionResponse` parts of one `user` turn, named after the call
//!   they answer (Gemini matches results by name and order; the ids stay on our side);
//! - consecutive turns of one role are merged (Gemini wants them alternating);
//! - `tools` → one `functionDeclarations` list with schemas cut to Gemini's subset
//!   ([`super::schema`]) and names made valid ([`gemini_function_name`]);
//! - `tool_choice` → `toolConfig.functionCallingConfig` (`auto` AUTO, `none` NONE,
//!   `required` ANY, one named function ANY with `allowedFunctionNames`);
//! - `temperature`, `top_p`, `top_k` (an extension a Gemini client's request carries),
//!   `max_tokens` / `max_completion_tokens`, `stop`, `seed`,
//!   `presence_penalty`, `frequency_penalty` → `generationConfig`; `response_format`
//!   → `responseMimeType` (+ `responseSchema`); `reasoning_effort` →
//!   `thinkingConfig` (`thinkingBudget` 0 / 1024 / 8192 / 24576, thoughts included).
//!
//! Refused: `n` above 1 (one candidate is all the gateway relays). Dropped knowingly:
//! `logprobs`, `top_logprobs`, `logit_bias`, `user`, `metadata`, `store`,
//! `parallel_tool_calls`, `stream_options`, `service_tier`, `prediction`, `modalities`.
//! The model goes in the URL, not the body; `stream` decides the method
//! (`streamGenerateContent?alt=sse`).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::schema::to_gemini_schema;
use super::{GeminiCtx, SKIP_SIGNATURE, THOUGHT_SIGNATURE_FIELD, gemini_function_name};
use crate::convert::common::{openai_content_text, parse_arguments, parse_data_url};
use crate::convert::{ConvertError, RequestOptions};

/// Gemini's limit on `stopSequences`.
const MAX_STOP_SEQUENCES: usize = 5;

/// Convert a Chat Completions body into a Gemini `generateContent` body, and what the
/// answer's conversion needs to know.
pub fn chat_to_gemini_request(
    body: &Value,
    opts: &RequestOptions,
) -> Result<(Value, GeminiCtx), ConvertError> {
    let Some(obj) = body.as_object() else {
        return Err(ConvertError::Invalid(
            "request body must be a JSON object".into(),
        ));
    };
    if let Some(n) = obj.get("n").and_then(Value::as_u64)
        && n > 1
    {
        return Err(ConvertError::Unsupported(format!(
            "`n` = {n}: a Gemini upstream is asked for one candidate through this gateway"
        )));
    }
    let Some(messages) = obj.get("messages").and_then(Value::as_array) else {
        return Err(ConvertError::Invalid("`messages` must be an array".into()));
    };
    let mut ctx = GeminiCtx {
        model: opts.upstream_model.clone(),
        ..GeminiCtx::default()
    };

    // Names of the calls in the history, for the results that answer them.
    let mut call_names: HashMap<String, String> = HashMap::new();
    let mut system: Vec<String> = Vec::new();
    let mut contents: Vec<Value> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        match role {
            "system" | "developer" => {
                if let Some(t) = m.get("content").and_then(openai_content_text)
                    && !t.trim().is_empty()
                {
                    system.push(t);
                }
            }
            "user" => push_turn(&mut contents, "user", user_parts(m, i)?),
            "assistant" => {
                let parts = model_parts(m, i, &mut call_names, &mut ctx)?;
                push_turn(&mut contents, "model", parts);
            }
            "tool" | "function" => {
                let id = m
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let name = call_names
                    .get(id)
                    .cloned()
                    .or_else(|| {
                        m.get("name")
                            .and_then(Value::as_str)
                            .map(gemini_function_name)
                    })
                    .ok_or_else(|| {
                        ConvertError::Invalid(format!(
                            "messages[{i}]: tool result `{id}` answers no tool call in the \
                             conversation"
                        ))
                    })?;
                let text = m
                    .get("content")
                    .and_then(openai_content_text)
                    .unwrap_or_default();
                let response = match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(o)) => Value::Object(o),
                    _ => json!({"result": text}),
                };
                push_turn(
                    &mut contents,
                    "user",
                    vec![json!({"functionResponse": {"name": name, "response": response}})],
                );
            }
            other => {
                return Err(ConvertError::Invalid(format!(
                    "messages[{i}]: unknown role {other:?}"
                )));
            }
        }
    }
    if contents.is_empty() {
        return Err(ConvertError::Invalid(
            "the conversation has no user or assistant message".into(),
        ));
    }

    let mut out = Map::new();
    out.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        out.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system.join("\n\n")}]}),
        );
    }
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        let decls = declarations(tools, &mut ctx)?;
        if !decls.is_empty() {
            out.insert("tools".into(), json!([{"functionDeclarations": decls}]));
        }
    }
    if let Some(choice) = obj.get("tool_choice") {
        out.insert("toolConfig".into(), tool_config(choice)?);
    }
    let config = generation_config(obj)?;
    if !config.is_empty() {
        out.insert("generationConfig".into(), Value::Object(config));
    }
    ctx.stream = obj.get("stream").and_then(Value::as_bool) == Some(true);
    ctx.include_usage = obj
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        == Some(true);
    Ok((Value::Object(out), ctx))
}

/// Append `parts` as a `role` turn, merged into the last turn when it has that role.
fn push_turn(contents: &mut Vec<Value>, role: &str, parts: Vec<Value>) {
    if parts.is_empty() {
        return;
    }
    if let Some(last) = contents.last_mut()
        && last.get("role").and_then(Value::as_str) == Some(role)
        && let Some(have) = last.get_mut("parts").and_then(Value::as_array_mut)
    {
        have.extend(parts);
        return;
    }
    contents.push(json!({"role": role, "parts": parts}));
}

fn user_parts(m: &Value, i: usize) -> Result<Vec<Value>, ConvertError> {
    match m.get("content") {
        Some(Value::String(s)) => Ok(vec![json!({"text": s})]),
        Some(Value::Array(items)) => {
            let mut parts = Vec::new();
            for (j, p) in items.iter().enumerate() {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(t) = p.get("text").and_then(Value::as_str) {
                            parts.push(json!({"text": t}));
                        }
                    }
                    Some("image_url") => {
                        let url = p
                            .pointer("/image_url/url")
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                ConvertError::Invalid(format!(
                                    "messages[{i}].content[{j}]: image_url without a url"
                                ))
                            })?;
                        parts.push(media_part(url));
                    }
                    Some("input_audio") => {
                        let data = p.pointer("/input_audio/data").and_then(Value::as_str);
                        let fmt = p
                            .pointer("/input_audio/format")
                            .and_then(Value::as_str)
                            .unwrap_or("wav");
                        if let Some(d) = data {
                            parts.push(json!({"inlineData": {
                                "mimeType": format!("audio/{fmt}"), "data": d}}));
                        }
                    }
                    Some("file") => {
                        let data = p.pointer("/file/file_data").and_then(Value::as_str);
                        match data.and_then(parse_data_url) {
                            Some((mime, d)) => {
                                parts.push(json!({"inlineData": {"mimeType": mime, "data": d}}))
                            }
                            None => {
                                return Err(ConvertError::Unsupported(format!(
                                    "messages[{i}].content[{j}]: only inline files (data \
                                     URLs) reach a Gemini upstream"
                                )));
                            }
                        }
                    }
                    other => {
                        return Err(ConvertError::Invalid(format!(
                            "messages[{i}].content[{j}]: unknown part type {other:?}"
                        )));
                    }
                }
            }
            Ok(parts)
        }
        Some(Value::Null) | None => Ok(Vec::new()),
        Some(_) => Err(ConvertError::Invalid(format!(
            "messages[{i}].content must be a string or an array"
        ))),
    }
}

/// A data URL as `inlineData`; any other URL as `fileData` (Gemini fetches what it can).
fn media_part(url: &str) -> Value {
    match parse_data_url(url) {
        Some((mime, data)) => json!({"inlineData": {"mimeType": mime, "data": data}}),
        None => json!({"fileData": {"mimeType": guess_mime(url), "fileUri": url}}),
    }
}

fn guess_mime(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    match path.rsplit('.').next().unwrap_or("") {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        _ => "image/jpeg",
    }
}

fn model_parts(
    m: &Value,
    i: usize,
    call_names: &mut HashMap<String, String>,
    ctx: &mut GeminiCtx,
) -> Result<Vec<Value>, ConvertError> {
    let mut parts = Vec::new();
    if let Some(t) = m.get("content").and_then(openai_content_text)
        && !t.is_empty()
    {
        parts.push(json!({"text": t}));
    }
    if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
        for (j, c) in calls.iter().enumerate() {
            let name = c
                .pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ConvertError::Invalid(format!(
                        "messages[{i}].tool_calls[{j}]: a function call needs a name"
                    ))
                })?;
            let gname = gemini_function_name(name);
            ctx.remember_name(&gname, name);
            if let Some(id) = c.get("id").and_then(Value::as_str) {
                call_names.insert(id.to_string(), gname.clone());
            }
            let args = c
                .pointer("/function/arguments")
                .and_then(Value::as_str)
                .map(parse_arguments)
                .unwrap_or_else(|| json!({}));
            let signature = c
                .pointer(&format!("/extra_content/google/{THOUGHT_SIGNATURE_FIELD}"))
                .and_then(Value::as_str)
                .unwrap_or(SKIP_SIGNATURE);
            parts.push(json!({
                "functionCall": {"name": gname, "args": args},
                "thoughtSignature": signature,
            }));
        }
    }
    Ok(parts)
}

fn declarations(tools: &[Value], ctx: &mut GeminiCtx) -> Result<Vec<Value>, ConvertError> {
    let mut out = Vec::new();
    for (i, t) in tools.iter().enumerate() {
        if t.get("type").and_then(Value::as_str) != Some("function") {
            return Err(ConvertError::Unsupported(format!(
                "tools[{i}]: only function tools reach a Gemini upstream"
            )));
        }
        let f = t.get("function").unwrap_or(&Value::Null);
        let name = f
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ConvertError::Invalid(format!("tools[{i}]: a function needs a name")))?;
        let gname = gemini_function_name(name);
        ctx.remember_name(&gname, name);
        let mut d = Map::new();
        d.insert("name".into(), Value::String(gname));
        if let Some(desc) = f.get("description").and_then(Value::as_str) {
            d.insert("description".into(), Value::String(desc.into()));
        }
        if let Some(params) = f.get("parameters") {
            let schema = to_gemini_schema(params);
            // A function without arguments declares none (an empty object is refused).
            if schema.get("properties").is_some() {
                d.insert("parameters".into(), schema);
            }
        }
        out.push(Value::Object(d));
    }
    Ok(out)
}

fn tool_config(choice: &Value) -> Result<Value, ConvertError> {
    let (mode, allowed) = match choice {
        Value::String(s) => match s.as_str() {
            "auto" => ("AUTO", None),
            "none" => ("NONE", None),
            "required" => ("ANY", None),
            other => {
                return Err(ConvertError::Invalid(format!(
                    "unknown tool_choice {other:?}"
                )));
            }
        },
        Value::Object(o) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| ConvertError::Invalid("tool_choice names no function".into()))?;
            ("ANY", Some(vec![gemini_function_name(name)]))
        }
        _ => {
            return Err(ConvertError::Invalid(
                "tool_choice must be a string or an object".into(),
            ));
        }
    };
    let mut cfg = json!({"mode": mode});
    if let Some(names) = allowed {
        cfg["allowedFunctionNames"] = json!(names);
    }
    Ok(json!({"functionCallingConfig": cfg}))
}

fn generation_config(obj: &Map<String, Value>) -> Result<Map<String, Value>, ConvertError> {
    let mut g = Map::new();
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("top_k", "topK"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ] {
        if let Some(v) = obj.get(from).filter(|v| v.is_number()) {
            g.insert(to.into(), v.clone());
        }
    }
    if let Some(v) = obj
        .get("max_completion_tokens")
        .or_else(|| obj.get("max_tokens"))
        .filter(|v| v.is_u64())
    {
        g.insert("maxOutputTokens".into(), v.clone());
    }
    match obj.get("stop") {
        Some(Value::String(s)) => {
            g.insert("stopSequences".into(), json!([s]));
        }
        Some(Value::Array(a)) if a.len() > MAX_STOP_SEQUENCES => {
            return Err(ConvertError::Unsupported(format!(
                "{} stop sequences: a Gemini upstream takes at most {MAX_STOP_SEQUENCES}",
                a.len()
            )));
        }
        Some(Value::Array(a)) if !a.is_empty() => {
            g.insert("stopSequences".into(), Value::Array(a.clone()));
        }
        _ => {}
    }
    if let Some(rf) = obj.get("response_format") {
        match rf.get("type").and_then(Value::as_str) {
            Some("json_object") => {
                g.insert("responseMimeType".into(), json!("application/json"));
            }
            Some("json_schema") => {
                g.insert("responseMimeType".into(), json!("application/json"));
                if let Some(s) = rf.pointer("/json_schema/schema") {
                    g.insert("responseSchema".into(), to_gemini_schema(s));
                }
            }
            Some("text") | None => {}
            Some(other) => {
                return Err(ConvertError::Invalid(format!(
                    "unknown response_format type {other:?}"
                )));
            }
        }
    }
    if let Some(effort) = obj.get("reasoning_effort").and_then(Value::as_str) {
        let budget = match effort {
            "none" | "minimal" => 0,
            "low" => 1024,
            "medium" => 8192,
            "high" | "xhigh" => 24576,
            other => {
                return Err(ConvertError::Invalid(format!(
                    "unknown reasoning_effort {other:?}"
                )));
            }
        };
        g.insert(
            "thinkingConfig".into(),
            json!({"thinkingBudget": budget, "includeThoughts": budget > 0}),
        );
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(body: Value) -> (Value, GeminiCtx) {
        let opts = RequestOptions {
            upstream_model: "gemini-2.5-flash".into(),
            keep_reasoning: false,
        };
        chat_to_gemini_request(&body, &opts).unwrap()
    }

    #[test]
    fn a_tool_round_trip_becomes_alternating_turns() {
        let (g, ctx) = convert(json!({
            "model": "x",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"},
                     "extra_content": {"google": {"thought_signature": "sig-1"}}},
                    {"id": "call_b", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_a", "content": "{\"c\": 21}"},
                {"role": "tool", "tool_call_id": "call_b", "content": "sunny"},
                {"role": "user", "content": "Thanks"}
            ],
            "tools": [{"type": "function", "function": {"name": "weather", "description": "d",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}}],
            "tool_choice": "required",
            "max_tokens": 100, "temperature": 0.2, "stop": "END", "stream": true,
            "stream_options": {"include_usage": true}
        }));
        assert_eq!(
            g["systemInstruction"],
            json!({"parts": [{"text": "Be brief.\n\nUse tools."}]})
        );
        let c = g["contents"].as_array().unwrap();
        let roles: Vec<&str> = c.iter().map(|t| t["role"].as_str().unwrap()).collect();
        // The two results and the next user message are one user turn.
        assert_eq!(roles, ["user", "model", "user"]);
        assert_eq!(
            c[1]["parts"][0]["functionCall"],
            json!({"name": "weather", "args": {"city": "Paris"}})
        );
        assert_eq!(c[1]["parts"][0]["thoughtSignature"], "sig-1");
        assert_eq!(c[1]["parts"][1]["thoughtSignature"], SKIP_SIGNATURE);
        assert_eq!(
            c[2]["parts"][0],
            json!({"functionResponse": {"name": "weather", "response": {"c": 21}}})
        );
        assert_eq!(
            c[2]["parts"][1],
            json!({"functionResponse": {"name": "weather", "response": {"result": "sunny"}}})
        );
        assert_eq!(c[2]["parts"][2], json!({"text": "Thanks"}));
        assert_eq!(
            g["tools"][0]["functionDeclarations"][0]["parameters"],
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
        );
        assert_eq!(
            g["toolConfig"],
            json!({"functionCallingConfig": {"mode": "ANY"}})
        );
        assert_eq!(
            g["generationConfig"],
            json!({"maxOutputTokens": 100, "temperature": 0.2, "stopSequences": ["END"]})
        );
        assert!(ctx.stream && ctx.include_usage);
        assert_eq!(ctx.model, "gemini-2.5-flash");
    }

    #[test]
    fn names_images_json_and_thinking() {
        let long = "mcp__server__".to_string() + &"x".repeat(80);
        let (g, ctx) = convert(json!({
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "image_url", "image_url": {"url": "https://example.test/cat.webp?x=1"}}
            ]}],
            "tools": [
                {"type": "function", "function": {"name": long, "parameters": {"type": "object", "properties": {}}}},
                {"type": "function", "function": {"name": "bad name!"}}
            ],
            "tool_choice": {"type": "function", "function": {"name": "bad name!"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "properties": {"a": {"const": "b"}}}}},
            "reasoning_effort": "low"
        }));
        let parts = &g["contents"][0]["parts"];
        assert_eq!(
            parts[1],
            json!({"inlineData": {"mimeType": "image/png", "data": "AAAA"}})
        );
        assert_eq!(parts[2]["fileData"]["mimeType"], "image/webp");
        let decls = g["tools"][0]["functionDeclarations"].as_array().unwrap();
        let n0 = decls[0]["name"].as_str().unwrap();
        let n1 = decls[1]["name"].as_str().unwrap();
        assert!(n0.len() <= 64 && n1.len() <= 64);
        assert!(
            decls[0].get("parameters").is_none(),
            "no empty object schema"
        );
        assert_eq!(ctx.original_name(n0), long);
        assert_eq!(ctx.original_name(n1), "bad name!");
        assert_eq!(
            g["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"],
            json!([n1])
        );
        assert_eq!(
            g["generationConfig"]["responseMimeType"],
            "application/json"
        );
        assert_eq!(
            g["generationConfig"]["responseSchema"]["properties"]["a"]["enum"],
            json!(["b"])
        );
        assert_eq!(
            g["generationConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 1024, "includeThoughts": true})
        );
    }

    #[test]
    fn what_it_writes_passes_the_strict_validator() {
        use crate::convert::validate::validate_gemini_request;
        for body in [
            json!({"messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b"], "max_tokens": 5}),
            json!({"messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": [{"type": "text", "text": "x"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AA"}}]},
                {"role": "assistant", "content": "ok", "tool_calls": [
                    {"id": "1", "type": "function", "function": {"name": "bad name", "arguments": "not json"}},
                    {"id": "2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "1", "content": "r1"},
                {"role": "tool", "tool_call_id": "2", "content": "[1, 2]"}],
              "tools": [
                {"type": "function", "function": {"name": "bad name", "parameters": {"type": "object",
                    "properties": {"q": {"type": "string", "format": "email"}, "n": {"type": ["integer", "null"]},
                        "o": {"type": "object", "additionalProperties": {"type": "string"}},
                        "l": {"type": "array", "items": {"$ref": "#/$defs/X"}}},
                    "$defs": {"X": {"type": "object", "properties": {"k": {"const": 1}}}},
                    "required": ["q", "zzz"]}}},
                {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
              "tool_choice": {"type": "function", "function": {"name": "f"}},
              "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false}}},
              "reasoning_effort": "high"}),
        ] {
            let (g, _) = chat_to_gemini_request(&body, &RequestOptions::default()).unwrap();
            for model in ["gemini-2.5-flash", "gemini-3-pro"] {
                if let Err(e) = validate_gemini_request(&g, model) {
                    panic!("{e}\n{g:#}");
                }
            }
        }
        let six = json!({"messages": [{"role": "user", "content": "hi"}], "stop": ["1", "2", "3", "4", "5", "6"]});
        assert!(chat_to_gemini_request(&six, &RequestOptions::default()).is_err());
    }

    #[test]
    fn what_cannot_be_said_is_refused_clearly() {
        let opts = RequestOptions::default();
        for (body, want) in [
            (
                json!({"messages": [{"role": "user", "content": "hi"}], "n": 2}),
                "one candidate",
            ),
            (json!({"messages": []}), "no user or assistant"),
            (
                json!({"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]}),
                "answers no tool call",
            ),
            (
                json!({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "web_search"}]}),
                "only function tools",
            ),
            (
                json!({"messages": [{"role": "robot", "content": "hi"}]}),
                "unknown role",
            ),
            (json!([1]), "JSON object"),
        ] {
            let e = chat_to_gemini_request(&body, &opts)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e} (wanted {want})");
        }
    }
}
