//! Gemini `generateContent` requests, as strictly as the API reads them: it parses the
//! body as protobuf JSON, so an unknown field anywhere is a 400 ("Invalid JSON payload
//! received. Unknown name …"), and checks the rules below. The model goes in the URL,
//! so it is passed in.
//!
//! - `contents`: a non-empty list of turns, role `user` or `model` (or none), each with a
//!   non-empty `parts` list; a part holds exactly one of `text`, `inlineData`,
//!   `fileData`, `functionCall`, `functionResponse`, `executableCode`,
//!   `codeExecutionResult`, beside optional `thought` and `thoughtSignature`;
//!   `functionCall`s only in `model` turns, `functionResponse`s only in `user` turns,
//!   and a `functionResponse` needs an object `response`;
//! - Gemini 3 models: every `functionCall` of the current turn (the model turns after
//!   the last user turn with text) carries a `thoughtSignature`;
//! - `tools[].functionDeclarations`: names `^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$`, unique;
//!   `parameters` in Gemini's schema subset (no `additionalProperties`, `$ref`, `$schema`,
//!   `const`, `oneOf`, …; string `enum`s), not beside `parametersJsonSchema`;
//! - `toolConfig.functionCallingConfig`: a known `mode`; `allowedFunctionNames` only with
//!   `ANY`;
//! - field names in camelCase or snake_case (protobuf JSON accepts both; the SDKs send
//!   nested ones in snake_case);
//! - `generationConfig`: known fields; at most 5 `stopSequences`; `candidateCount` 1–8;
//!   `responseSchema` only with `responseMimeType: application/json` (or `text/x.enum`).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{Res, fail};

const TOP: &[&str] = &[
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
    "labels",
    "model",
];
const PART: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "thought",
    "thoughtSignature",
    "videoMetadata",
    "partMetadata",
];
const PART_DATA: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
];
const SCHEMA: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];
const GENERATION: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "mediaResolution",
    "imageConfig",
];
const TYPES: &[&str] = &[
    "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL",
];

fn known(obj: &Map<String, Value>, path: &str, allowed: &[&str]) -> Res {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return fail(
                path,
                format!("Invalid JSON payload received. Unknown name {k:?}"),
            );
        }
    }
    Ok(())
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .map_or_else(|| fail(path, "must be an object"), Ok)
}

/// Check a `generateContent` body for `model` (the URL's model, without `models/`).
pub fn validate_gemini_request(body: &Value, model: &str) -> Res {
    // Protobuf JSON: each field under its camelCase or its snake_case name.
    let body = crate::convert::gemini::names::camel_case_fields(body);
    let top = object(&body, "body")?;
    known(top, "body", TOP)?;
    let contents = match top.get("contents") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        _ => return fail("contents", "is not specified (a non-empty list of turns)"),
    };
    let mut declared: HashSet<String> = HashSet::new();
    if let Some(tools) = top.get("tools") {
        let Some(tools) = tools.as_array() else {
            return fail("tools", "must be a list");
        };
        for (i, t) in tools.iter().enumerate() {
            tool(t, &format!("tools[{i}]"), &mut declared)?;
        }
    }
    for (i, c) in contents.iter().enumerate() {
        content(c, &format!("contents[{i}]"))?;
    }
    if model.starts_with("gemini-3") {
        signatures(contents)?;
    }
    if let Some(s) = top.get("systemInstruction") {
        let path = "systemInstruction";
        let o = object(s, path)?;
        known(o, path, &["parts", "role"])?;
        for (j, p) in o
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let po = object(p, &format!("{path}.parts[{j}]"))?;
            known(po, &format!("{path}.parts[{j}]"), &["text"])?;
        }
    }
    if let Some(tc) = top.get("toolConfig") {
        tool_config(tc)?;
    }
    if let Some(g) = top.get("generationConfig") {
        generation(g)?;
    }
    Ok(())
}

fn content(c: &Value, path: &str) -> Res {
    let o = object(c, path)?;
    known(o, path, &["role", "parts"])?;
    let role = match o.get("role") {
        None => "user",
        Some(Value::String(r)) if r == "user" || r == "model" => r.as_str(),
        Some(r) => {
            return fail(
                &format!("{path}.role"),
                format!("Please use a valid role: user, model (got {r})"),
            );
        }
    };
    let parts = match o.get("parts") {
        Some(Value::Array(p)) if !p.is_empty() => p,
        _ => return fail(&format!("{path}.parts"), "must contain at least one part"),
    };
    for (j, p) in parts.iter().enumerate() {
        let pp = format!("{path}.parts[{j}]");
        let po = object(p, &pp)?;
        known(po, &pp, PART)?;
        let data: Vec<&str> = PART_DATA
            .iter()
            .copied()
            .filter(|k| po.contains_key(*k))
            .collect();
        if data.len() != 1 {
            return fail(
                &pp,
                format!("a part holds exactly one kind of data, not {data:?}"),
            );
        }
        match data[0] {
            "text" if !po["text"].is_string() => return fail(&pp, "text must be a string"),
            "inlineData" => {
                let d = object(&po["inlineData"], &format!("{pp}.inlineData"))?;
                known(d, &format!("{pp}.inlineData"), &["mimeType", "data"])?;
                if !d.get("mimeType").is_some_and(Value::is_string)
                    || !d.get("data").is_some_and(Value::is_string)
                {
                    return fail(&format!("{pp}.inlineData"), "needs mimeType and data");
                }
            }
            "fileData" => {
                let d = object(&po["fileData"], &format!("{pp}.fileData"))?;
                known(d, &format!("{pp}.fileData"), &["mimeType", "fileUri"])?;
                if !d.get("fileUri").is_some_and(Value::is_string) {
                    return fail(&format!("{pp}.fileData"), "needs fileUri");
                }
            }
            "functionCall" => {
                if role != "model" {
                    return fail(&pp, "a functionCall belongs in a model turn");
                }
                let f = object(&po["functionCall"], &format!("{pp}.functionCall"))?;
                known(f, &format!("{pp}.functionCall"), &["name", "args", "id"])?;
                if !f
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(is_function_name)
                {
                    return fail(&format!("{pp}.functionCall.name"), "invalid function name");
                }
                if f.get("args").is_some_and(|a| !a.is_object()) {
                    return fail(&format!("{pp}.functionCall.args"), "must be an object");
                }
            }
            "functionResponse" => {
                if role != "user" {
                    return fail(&pp, "a functionResponse belongs in a user turn");
                }
                let f = object(&po["functionResponse"], &format!("{pp}.functionResponse"))?;
                known(
                    f,
                    &format!("{pp}.functionResponse"),
                    &[
                        "name",
                        "response",
                        "id",
                        "parts",
                        "willContinue",
                        "scheduling",
                    ],
                )?;
                if !f
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(is_function_name)
                {
                    return fail(
                        &format!("{pp}.functionResponse.name"),
                        "invalid function name",
                    );
                }
                if !f.get("response").is_some_and(Value::is_object) {
                    return fail(
                        &format!("{pp}.functionResponse.response"),
                        "must be an object",
                    );
                }
            }
            _ => {}
        }
        if po.get("thought").is_some_and(|t| !t.is_boolean()) {
            return fail(&format!("{pp}.thought"), "must be a boolean");
        }
        if po.get("thoughtSignature").is_some_and(|t| !t.is_string()) {
            return fail(&format!("{pp}.thoughtSignature"), "must be a string");
        }
    }
    Ok(())
}

/// Gemini 3: the current turn's function calls carry their signatures.
fn signatures(contents: &[Value]) -> Res {
    let turn_start = contents
        .iter()
        .rposition(|c| {
            c.get("role").and_then(Value::as_str).unwrap_or("user") == "user"
                && c["parts"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p.get("text").is_some()))
        })
        .unwrap_or(0);
    for (i, c) in contents.iter().enumerate().skip(turn_start) {
        if c.get("role").and_then(Value::as_str) != Some("model") {
            continue;
        }
        let first_call = c["parts"]
            .as_array()
            .into_iter()
            .flatten()
            .position(|p| p.get("functionCall").is_some());
        if let Some(j) = first_call
            && !c["parts"][j]
                .get("thoughtSignature")
                .is_some_and(Value::is_string)
        {
            return fail(
                &format!("contents[{i}].parts[{j}]"),
                "Function call is missing a thought_signature in functionCall parts. This is \
                 required for tools to work correctly",
            );
        }
    }
    Ok(())
}

fn is_function_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

fn tool(t: &Value, path: &str, declared: &mut HashSet<String>) -> Res {
    let o = object(t, path)?;
    known(
        o,
        path,
        &[
            "functionDeclarations",
            "googleSearch",
            "googleSearchRetrieval",
            "codeExecution",
            "urlContext",
            "computerUse",
            "fileSearch",
            "googleMaps",
        ],
    )?;
    for (k, d) in o
        .get("functionDeclarations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let dp = format!("{path}.functionDeclarations[{k}]");
        let d = object(d, &dp)?;
        known(
            d,
            &dp,
            &[
                "name",
                "description",
                "parameters",
                "parametersJsonSchema",
                "response",
                "responseJsonSchema",
                "behavior",
            ],
        )?;
        let name = d.get("name").and_then(Value::as_str).unwrap_or("");
        if !is_function_name(name) {
            return fail(
                &format!("{dp}.name"),
                "must start with a letter or an underscore and hold only a-z, A-Z, 0-9, _ . : - (at most 64)",
            );
        }
        if !declared.insert(name.to_string()) {
            return fail(
                &format!("{dp}.name"),
                format!("duplicate function declaration {name:?}"),
            );
        }
        if d.contains_key("parameters") && d.contains_key("parametersJsonSchema") {
            return fail(&dp, "parameters and parametersJsonSchema are exclusive");
        }
        if let Some(p) = d.get("parameters") {
            schema(p, &format!("{dp}.parameters"), 0)?;
        }
    }
    Ok(())
}

fn schema(s: &Value, path: &str, depth: usize) -> Res {
    if depth > 64 {
        return fail(path, "schema nested too deep");
    }
    let o = object(s, path)?;
    known(o, path, SCHEMA)?;
    let ty = o
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase);
    if let Some(t) = &ty
        && !TYPES.contains(&t.as_str())
    {
        return fail(&format!("{path}.type"), format!("unknown type {t:?}"));
    }
    if let Some(e) = o.get("enum") {
        let ok = e.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        if !ok {
            return fail(&format!("{path}.enum"), "enum values must be strings");
        }
    }
    if let Some(props) = o.get("properties") {
        let Some(props) = props.as_object() else {
            return fail(&format!("{path}.properties"), "must be an object");
        };
        for (k, v) in props {
            schema(v, &format!("{path}.properties.{k}"), depth + 1)?;
        }
    }
    if let Some(i) = o.get("items") {
        schema(i, &format!("{path}.items"), depth + 1)?;
    }
    for (k, a) in o
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        schema(a, &format!("{path}.anyOf[{k}]"), depth + 1)?;
    }
    if let Some(req) = o.get("required").and_then(Value::as_array) {
        let props = o.get("properties").and_then(Value::as_object);
        for r in req {
            let name = r.as_str().unwrap_or("");
            if !props.is_some_and(|p| p.contains_key(name)) {
                return fail(
                    &format!("{path}.required"),
                    format!("property {name:?} is not defined"),
                );
            }
        }
    }
    Ok(())
}

fn tool_config(tc: &Value) -> Res {
    let o = object(tc, "toolConfig")?;
    known(
        o,
        "toolConfig",
        &["functionCallingConfig", "retrievalConfig"],
    )?;
    if let Some(f) = o.get("functionCallingConfig") {
        let path = "toolConfig.functionCallingConfig";
        let f = object(f, path)?;
        known(f, path, &["mode", "allowedFunctionNames"])?;
        let mode = f
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("MODE_UNSPECIFIED");
        if !["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"].contains(&mode) {
            return fail(&format!("{path}.mode"), format!("unknown mode {mode:?}"));
        }
        if f.contains_key("allowedFunctionNames") && mode != "ANY" {
            return fail(
                path,
                "allowed_function_names may only be set when mode is ANY",
            );
        }
    }
    Ok(())
}

fn generation(g: &Value) -> Res {
    let path = "generationConfig";
    let o = object(g, path)?;
    known(o, path, GENERATION)?;
    if let Some(s) = o.get("stopSequences") {
        match s.as_array() {
            Some(a) if a.len() <= 5 && a.iter().all(Value::is_string) => {}
            _ => return fail(&format!("{path}.stopSequences"), "at most 5 strings"),
        }
    }
    if let Some(n) = o.get("candidateCount")
        && !n.as_u64().is_some_and(|n| (1..=8).contains(&n))
    {
        return fail(&format!("{path}.candidateCount"), "must be 1 to 8");
    }
    if let Some(s) = o.get("responseSchema") {
        let mime = o
            .get("responseMimeType")
            .and_then(Value::as_str)
            .unwrap_or("text/plain");
        if mime != "application/json" && mime != "text/x.enum" {
            return fail(
                &format!("{path}.responseSchema"),
                "needs responseMimeType application/json",
            );
        }
        schema(s, &format!("{path}.responseSchema"), 0)?;
    }
    if let Some(t) = o.get("thinkingConfig") {
        let t = object(t, &format!("{path}.thinkingConfig"))?;
        known(
            t,
            &format!("{path}.thinkingConfig"),
            &["includeThoughts", "thinkingBudget", "thinkingLevel"],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(v: Value) {
        if let Err(e) = validate_gemini_request(&v, "gemini-3-pro") {
            panic!("{e}\n{v}");
        }
    }

    fn bad(v: Value, want: &str) {
        match validate_gemini_request(&v, "gemini-3-pro") {
            Ok(()) => panic!("accepted: {v}"),
            Err(e) => assert!(e.contains(want), "{e} (wanted {want})"),
        }
    }

    #[test]
    fn a_tool_round_trip_passes() {
        ok(json!({
            "systemInstruction": {"parts": [{"text": "s"}]},
            "contents": [
                {"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "c2ln"}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"r": 1}}}]}
            ],
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "STRING", "enum": ["x"]}}, "required": ["a"]}}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
            "generationConfig": {"maxOutputTokens": 10, "stopSequences": ["a"], "thinkingConfig": {"thinkingBudget": 0}}
        }));
    }

    #[test]
    fn what_the_api_refuses() {
        let user = json!({"role": "user", "parts": [{"text": "hi"}]});
        bad(json!({"contents": []}), "contents");
        bad(
            json!({"contents": [user], "temperature": 1}),
            "Unknown name \"temperature\"",
        );
        bad(
            json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}),
            "valid role",
        );
        bad(
            json!({"contents": [{"role": "user", "parts": []}]}),
            "at least one part",
        );
        bad(
            json!({"contents": [{"parts": [{"text": "a", "inlineData": {"mimeType": "x", "data": "y"}}]}]}),
            "exactly one",
        );
        bad(
            json!({"contents": [{"role": "user", "parts": [{"functionCall": {"name": "f"}}]}]}),
            "model turn",
        );
        bad(
            json!({"contents": [user, {"role": "model", "parts": [{"functionCall": {"name": "f"}}]}]}),
            "thought_signature",
        );
        bad(
            json!({"contents": [{"parts": [{"functionResponse": {"name": "f", "response": "x"}}]}]}),
            "must be an object",
        );
        bad(
            json!({"contents": [user], "tools": [{"functionDeclarations": [{"name": "9f"}]}]}),
            "must start with",
        );
        bad(
            json!({"contents": [user], "tools": [{"functionDeclarations": [{"name": "f"}, {"name": "f"}]}]}),
            "duplicate",
        );
        bad(
            json!({"contents": [user], "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "additionalProperties": false}}]}]}),
            "additionalProperties",
        );
        bad(
            json!({"contents": [user], "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "integer", "enum": [1]}}}}]}]}),
            "strings",
        );
        bad(
            json!({"contents": [user], "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "properties": {}, "required": ["x"]}}]}]}),
            "not defined",
        );
        bad(
            json!({"contents": [user], "toolConfig": {"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["f"]}}}),
            "only be set when mode is ANY",
        );
        bad(
            json!({"contents": [user], "generationConfig": {"stopSequences": ["1", "2", "3", "4", "5", "6"]}}),
            "at most 5",
        );
        bad(
            json!({"contents": [user], "generationConfig": {"responseSchema": {"type": "object"}}}),
            "responseMimeType",
        );
        bad(
            json!({"contents": [user], "generationConfig": {"max_tokens": 5}}),
            "Unknown name",
        );
    }

    #[test]
    fn older_models_do_not_need_signatures() {
        let v = json!({"contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f"}}]}]});
        assert!(validate_gemini_request(&v, "gemini-2.5-flash").is_ok());
        // Calls of earlier turns (before the last user text) are not checked.
        let v = json!({"contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f"}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}, {"text": "next"}]}]});
        assert!(validate_gemini_request(&v, "gemini-3-pro").is_ok());
    }
}
