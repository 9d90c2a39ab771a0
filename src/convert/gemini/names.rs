//! Field names as Google reads them. Gemini parses request bodies as protobuf JSON,
//! which accepts each field under its `lowerCamelCase` JSON name and under its
//! original `snake_case` proto name. The google-genai SDKs rely on it: they rename
//! the outer keys and leave nested ones as written (`parameters_json_schema`,
//! `thinking_config.include_thoughts`, `inline_data.mime_type`, ...). The converters
//! and the validator read camelCase names, so a body is brought to them first.
//!
//! Free-form values are left exactly as sent: a call's `args`, a result's `response`,
//! JSON Schemas (`parametersJsonSchema`, `responseJsonSchema`), `labels`, and in
//! Gemini's own schema objects the property names, `example`, `default` and `enum`.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// What a value is, for renaming keys inside it.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A protobuf message: keys are field names.
    Message,
    /// Gemini's `Schema` message (`parameters`, `responseSchema`, `items`, ...).
    Schema,
    /// A map of property names to schemas (`Schema.properties`).
    Properties,
    /// Left as sent.
    Free,
}

/// The body with every field name in camelCase; borrowed when it already is.
pub fn camel_case_fields(body: &Value) -> Cow<'_, Value> {
    if needs_renaming(body, Kind::Message) {
        Cow::Owned(rename(body, Kind::Message))
    } else {
        Cow::Borrowed(body)
    }
}

fn camel(key: &str) -> Cow<'_, str> {
    if !key.contains('_') {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The kind of the value under field `key` (already camelCase) of a value of `parent`.
fn child(parent: Kind, key: &str) -> Kind {
    match parent {
        Kind::Free => Kind::Free,
        Kind::Properties => Kind::Schema,
        Kind::Schema => match key {
            "properties" => Kind::Properties,
            "example" | "default" | "enum" => Kind::Free,
            _ => Kind::Schema,
        },
        Kind::Message => match key {
            "args" | "response" | "parametersJsonSchema" | "responseJsonSchema" | "labels" => {
                Kind::Free
            }
            "parameters" | "responseSchema" => Kind::Schema,
            _ => Kind::Message,
        },
    }
}

fn renames_keys(kind: Kind) -> bool {
    matches!(kind, Kind::Message | Kind::Schema)
}

fn needs_renaming(v: &Value, kind: Kind) -> bool {
    match v {
        Value::Object(o) if kind != Kind::Free => o.iter().any(|(k, x)| {
            (renames_keys(kind) && k.contains('_')) || needs_renaming(x, child(kind, &camel(k)))
        }),
        Value::Array(a) if kind != Kind::Free => a.iter().any(|x| needs_renaming(x, kind)),
        _ => false,
    }
}

fn rename(v: &Value, kind: Kind) -> Value {
    match v {
        Value::Object(o) if kind != Kind::Free => {
            let mut out = Map::with_capacity(o.len());
            for (k, x) in o {
                let name = if renames_keys(kind) {
                    camel(k).into_owned()
                } else {
                    k.clone()
                };
                let sub = rename(x, child(kind, &name));
                // A field sent under both names keeps the camelCase one.
                if renames_keys(kind) && k.contains('_') && o.contains_key(&name) {
                    continue;
                }
                out.insert(name, sub);
            }
            Value::Object(out)
        }
        Value::Array(a) if kind != Kind::Free => {
            Value::Array(a.iter().map(|x| rename(x, kind)).collect())
        }
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sdk_snake_case_becomes_camel_case_but_free_values_stay() {
        let body = json!({
            "contents": [{"role": "user", "parts": [
                {"inline_data": {"mime_type": "image/png", "data": "AA=="}},
                {"function_response": {"name": "f", "will_continue": false,
                    "response": {"snake_key": 1}}},
            ]}],
            "tools": [{"function_declarations": [{
                "name": "f",
                "parameters_json_schema": {"type": "object", "properties": {"user_id": {"type": "string"}},
                    "additionalProperties": false},
                "parameters": {"type": "OBJECT", "properties": {"user_id": {"type": "STRING", "max_length": "5"}},
                    "property_ordering": ["user_id"]},
            }]}],
            "generation_config": {"thinking_config": {"include_thoughts": true, "thinking_budget": 8}},
            "labels": {"team_name": "x"},
        });
        let out = camel_case_fields(&body);
        assert!(matches!(out, Cow::Owned(_)));
        let out = out.into_owned();
        let parts = &out["contents"][0]["parts"];
        assert_eq!(parts[0]["inlineData"]["mimeType"], "image/png");
        assert_eq!(parts[1]["functionResponse"]["willContinue"], false);
        assert_eq!(
            parts[1]["functionResponse"]["response"],
            json!({"snake_key": 1})
        );
        let decl = &out["tools"][0]["functionDeclarations"][0];
        assert_eq!(
            decl["parametersJsonSchema"]["properties"]["user_id"]["type"],
            "string"
        );
        assert_eq!(
            decl["parameters"]["properties"]["user_id"]["maxLength"],
            "5"
        );
        assert_eq!(decl["parameters"]["propertyOrdering"], json!(["user_id"]));
        assert_eq!(
            out["generationConfig"]["thinkingConfig"],
            json!({"includeThoughts": true, "thinkingBudget": 8})
        );
        assert_eq!(out["labels"], json!({"team_name": "x"}));
    }

    #[test]
    fn camel_case_bodies_are_borrowed() {
        let body =
            json!({"contents": [{"parts": [{"functionCall": {"name": "f", "args": {"a_b": 1}}}]}]});
        assert!(matches!(camel_case_fields(&body), Cow::Borrowed(_)));
    }
}
