//! The Responses API `tools` and `tool_choice` rules:
//!
//! - `function` tools are flat (`type, name, description, parameters, strict`): name
//!   `^[a-zA-Z0-9_-]{1,64}$`, `parameters` required, an object schema of `type: object`
//!   or null; when `strict` is true *or absent* (the Responses default) every object
//!   level needs `additionalProperties: false` and lists all its properties in
//!   `required` ("Invalid schema for function ..."); a Chat-style `function` wrapper is
//!   refused;
//! - `custom` tools: a name, an optional format `{type: text}` or `{type: grammar,
//!   syntax: lark|regex, definition}`;
//! - the built-in tools (web_search, file_search, ...) are accepted; unknown types
//!   refused; function and custom names unique;
//! - `tool_choice` none/auto/required, `{type: function|custom, name}` naming a declared
//!   tool of that type, `{type: allowed_tools, mode: auto|required, tools}` whose named
//!   tools are declared, `{type: mcp, server_label}` or a built-in tool type.

use serde_json::{Map, Value};

use super::responses::opt;
use super::{Res, fail, is_name, kind};

/// Tool types other than `function` and `custom` that the API offers.
const BUILT_IN_TOOLS: &[&str] = &[
    "apply_patch",
    "code_interpreter",
    "computer",
    "computer_use_preview",
    "file_search",
    "image_generation",
    "local_shell",
    "mcp",
    "shell",
    "web_search",
    "web_search_2025_08_26",
    "web_search_preview",
    "web_search_preview_2025_03_11",
];

/// The declared function and custom tools, by name and type.
pub(super) type Declared = Vec<(String, String)>;

pub(super) fn tools(body: &Value) -> Result<Declared, String> {
    let mut names: Declared = Vec::new();
    let Some(tools) = opt(body, "tools") else {
        return Ok(names);
    };
    let Some(tools) = tools.as_array() else {
        return fail("tools", "must be an array");
    };
    for (i, t) in tools.iter().enumerate() {
        let path = format!("tools[{i}]");
        let ty = kind(t);
        match ty {
            "function" => function_tool(t, &path)?,
            "custom" => custom_tool(t, &path)?,
            _ if BUILT_IN_TOOLS.contains(&ty) => continue,
            other => {
                return fail(
                    &format!("{path}.type"),
                    format!(
                        "Invalid value: '{other}'. Supported values are: 'function', 'custom', {}.",
                        BUILT_IN_TOOLS.join(", ")
                    ),
                );
            }
        }
        let name = t.get("name").and_then(Value::as_str).unwrap_or("");
        if names.iter().any(|(n, _)| n == name) {
            return fail(
                &format!("{path}.name"),
                format!("duplicate tool name {name:?}"),
            );
        }
        names.push((name.to_string(), ty.to_string()));
    }
    Ok(names)
}

fn function_tool(t: &Value, path: &str) -> Res {
    let name = t.get("name").and_then(Value::as_str).unwrap_or("");
    if !is_name(name, 64) {
        return fail(&format!("{path}.name"), "must match ^[a-zA-Z0-9_-]{1,64}$");
    }
    if t.get("function").is_some() {
        return fail(
            &format!("{path}.function"),
            "Unknown parameter: 'function' (Responses function tools are flat: type, name, parameters, strict)",
        );
    }
    let strict = match t.get("strict") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return fail(&format!("{path}.strict"), "must be a boolean"),
    };
    if t.get("description")
        .is_some_and(|d| !d.is_null() && !d.is_string())
    {
        return fail(&format!("{path}.description"), "must be a string");
    }
    match t.get("parameters") {
        None => fail(
            &format!("{path}.parameters"),
            "Missing required parameter: 'parameters'.",
        ),
        Some(Value::Null) => Ok(()),
        Some(p) if p.get("type").and_then(Value::as_str) == Some("object") => {
            if strict {
                strict_schema(p, &format!("{path}.parameters")).map_err(|e| {
                    format!("Invalid schema for function '{name}' (strict mode, the default): {e}")
                })
            } else {
                Ok(())
            }
        }
        Some(_) => fail(
            &format!("{path}.parameters"),
            format!(
                "Invalid schema for function '{name}': schema must be a JSON Schema of 'type: \"object\"'."
            ),
        ),
    }
}

fn custom_tool(t: &Value, path: &str) -> Res {
    if t.get("name")
        .and_then(Value::as_str)
        .is_none_or(|n| !is_name(n, 64))
    {
        return fail(&format!("{path}.name"), "must match ^[a-zA-Z0-9_-]{1,64}$");
    }
    let Some(f) = opt(t, "format") else {
        return Ok(());
    };
    match kind(f) {
        "text" => Ok(()),
        "grammar" => {
            if !matches!(
                f.get("syntax").and_then(Value::as_str),
                Some("lark" | "regex")
            ) {
                return fail(&format!("{path}.format.syntax"), "must be lark or regex");
            }
            if f.get("definition")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return fail(&format!("{path}.format.definition"), "required string");
            }
            Ok(())
        }
        _ => fail(&format!("{path}.format.type"), "must be text or grammar"),
    }
}

/// Strict mode (function tools and json_schema formats): every object schema has
/// `additionalProperties: false` and lists each property in `required`.
pub(super) fn strict_schema(s: &Value, path: &str) -> Res {
    let Some(obj) = s.as_object() else {
        return Ok(());
    };
    let is_object = match obj.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => obj.contains_key("properties"),
    };
    if is_object {
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            return fail(
                path,
                "'additionalProperties' is required to be supplied and to be false",
            );
        }
        let props = obj.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(missing) = props
            .into_iter()
            .flat_map(Map::keys)
            .find(|k| !required.contains(&k.as_str()))
        {
            return fail(
                path,
                format!(
                    "'required' is required to be supplied and to be an array including every key in properties. Missing '{missing}'."
                ),
            );
        }
        for (k, v) in props.into_iter().flatten() {
            strict_schema(v, &format!("{path}.properties.{k}"))?;
        }
    }
    for key in ["items", "additionalItems"] {
        match obj.get(key) {
            Some(Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    strict_schema(v, &format!("{path}.{key}[{i}]"))?;
                }
            }
            Some(v) => strict_schema(v, &format!("{path}.{key}"))?,
            None => {}
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for (i, v) in obj
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            strict_schema(v, &format!("{path}.{key}[{i}]"))?;
        }
    }
    for key in ["$defs", "definitions"] {
        for (k, v) in obj
            .get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            strict_schema(v, &format!("{path}.{key}.{k}"))?;
        }
    }
    Ok(())
}

pub(super) fn tool_choice(body: &Value, declared: &Declared) -> Res {
    let Some(choice) = opt(body, "tool_choice") else {
        return Ok(());
    };
    let named = |ty: &str, name: &str, path: &str| -> Res {
        if declared.iter().any(|(n, t)| n == name && t == ty) {
            Ok(())
        } else {
            fail(
                path,
                format!("Tool choice '{ty}' with name '{name}' not found in 'tools' parameter."),
            )
        }
    };
    match choice {
        Value::String(s) if matches!(s.as_str(), "none" | "auto" | "required") => Ok(()),
        Value::Object(_) => match kind(choice) {
            ty @ ("function" | "custom") => {
                let name = choice.get("name").and_then(Value::as_str).unwrap_or("");
                named(ty, name, "tool_choice.name")
            }
            "allowed_tools" => {
                if !matches!(
                    choice.get("mode").and_then(Value::as_str),
                    Some("auto" | "required")
                ) {
                    return fail("tool_choice.mode", "must be auto or required");
                }
                let Some(list) = choice.get("tools").and_then(Value::as_array) else {
                    return fail("tool_choice.tools", "required array");
                };
                for (i, t) in list.iter().enumerate() {
                    let ty = kind(t);
                    if matches!(ty, "function" | "custom") {
                        let name = t.get("name").and_then(Value::as_str).unwrap_or("");
                        named(ty, name, &format!("tool_choice.tools[{i}]"))?;
                    }
                }
                Ok(())
            }
            "mcp" if choice.get("server_label").is_some_and(Value::is_string) => Ok(()),
            ty if BUILT_IN_TOOLS.contains(&ty) => Ok(()),
            other => fail("tool_choice.type", format!("Invalid value: '{other}'.")),
        },
        _ => fail(
            "tool_choice",
            "must be none, auto, required or a tool choice object",
        ),
    }
}
