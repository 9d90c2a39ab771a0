//! JSON Schema (what Chat, Anthropic and Responses tools declare) → the OpenAPI subset
//! Gemini's `functionDeclarations[].parameters` and `responseSchema` accept.
//!
//! Gemini refuses, with a 400 for the whole request, keys outside its subset and some
//! shapes inside it. What the tools of Claude Code and Codex send is made to fit:
//! - `$ref` to `#/$defs/…` or `#/definitions/…` is inlined (a cycle, or nesting deeper
//!   than [`MAX_DEPTH`], ends in a plain `{"type": "object"}`); `$defs` go away;
//! - `type: ["string", "null"]` becomes `type: string, nullable: true`; a list of
//!   several real types becomes `anyOf`;
//! - `const` becomes a one-value `enum`; `oneOf` becomes `anyOf`; an `allOf` is merged;
//! - `enum` stays only when every value is a string (Gemini's enums are strings);
//! - `format` stays only where Gemini knows it (`enum` and `date-time` on strings,
//!   `int32`/`int64`/`float`/`double` on numbers);
//! - `exclusiveMinimum` / `exclusiveMaximum` (numbers, draft 6 on) become
//!   `minimum` / `maximum`, a bound one step looser than asked, rather than no bound;
//! - `required` keeps only names that are in `properties`; an object with no
//!   properties loses `properties` and `required`;
//! - every other key (`$schema`, `$id`, `additionalProperties`, `patternProperties`,
//!   `examples`, `not`, `if`/`then`/`else`, `dependentRequired`, `unevaluated*`, …) is
//!   dropped. The model sees less, but the request is accepted.

use serde_json::{Map, Value, json};

/// Deepest nesting (of properties, items, anyOf, and inlined references) kept.
pub const MAX_DEPTH: usize = 32;

/// Most schema nodes one conversion writes. References can fan out (a definition that
/// uses another twice, thirty levels down, is 2^30 nodes inlined): past this budget the
/// rest is written as plain objects, so a small schema can never cost much.
pub const MAX_NODES: usize = 10_000;

/// Keys Gemini's `Schema` takes that are copied as they are (after their values are
/// checked where that matters).
const PLAIN: &[&str] = &[
    "description",
    "title",
    "nullable",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "pattern",
    "default",
    "example",
    "propertyOrdering",
];

const TYPES: &[&str] = &["string", "number", "integer", "boolean", "array", "object"];

/// The Gemini form of `schema`. `root` is the document its `$ref`s point into (the
/// tool's whole parameter schema).
pub fn to_gemini_schema(schema: &Value) -> Value {
    let mut walk = Walk {
        refs: Vec::new(),
        budget: MAX_NODES,
    };
    convert(schema, schema, 0, &mut walk)
}

/// The references being inlined (for cycles) and the nodes left to write.
struct Walk {
    refs: Vec<String>,
    budget: usize,
}

fn convert(s: &Value, root: &Value, depth: usize, refs: &mut Walk) -> Value {
    if refs.budget == 0 {
        return json!({"type": "object"});
    }
    refs.budget -= 1;
    let Some(obj) = s.as_object() else {
        // `true` (anything) or a malformed schema: an unconstrained string is the least
        // surprising thing Gemini accepts for a value.
        return json!({"type": "string"});
    };
    if depth > MAX_DEPTH {
        return json!({"type": "object"});
    }
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        if refs.refs.iter().any(|x| x == r) {
            return json!({"type": "object"});
        }
        let Some(target) = resolve(root, r) else {
            return json!({"type": "object"});
        };
        refs.refs.push(r.to_string());
        let mut out = convert(target, root, depth + 1, refs);
        refs.refs.pop();
        // Siblings of `$ref` (a description, usually) win over the target's.
        if let (Some(o), Some(d)) = (out.as_object_mut(), obj.get("description")) {
            o.insert("description".into(), d.clone());
        }
        return out;
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        let mut merged = obj.clone();
        merged.remove("allOf");
        for part in all {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) => resolve(root, r).unwrap_or(part),
                None => part,
            };
            merge_into(&mut merged, part);
        }
        return convert(&Value::Object(merged), root, depth + 1, refs);
    }

    let mut out = Map::new();
    let mut nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
    let mut types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"null") {
        nullable = true;
        types.retain(|t| *t != "null");
    }
    types.retain(|t| TYPES.contains(t));
    if types.len() > 1 {
        // Several real types: one alternative per type, each with this schema's other
        // keys.
        let alternatives: Vec<Value> = types
            .iter()
            .map(|t| {
                let mut one = obj.clone();
                one.insert("type".into(), Value::String((*t).to_string()));
                convert(&Value::Object(one), root, depth + 1, refs)
            })
            .collect();
        let mut any = json!({"anyOf": alternatives});
        if nullable {
            any["nullable"] = Value::Bool(true);
        }
        if let Some(d) = obj.get("description") {
            any["description"] = d.clone();
        }
        return any;
    }
    let mut ty = types.first().map(|t| (*t).to_string());
    if ty.is_none() {
        // Gemini wants a type; infer the obvious ones.
        if obj.contains_key("properties") {
            ty = Some("object".into());
        } else if obj.contains_key("items") {
            ty = Some("array".into());
        } else if obj.contains_key("enum") || obj.contains_key("const") {
            ty = Some("string".into());
        }
    }

    for key in PLAIN {
        if let Some(v) = obj.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
    // Draft 4 wrote exclusive bounds as booleans beside minimum/maximum: those stay
    // (a bound a step looser). Draft 6 on: numbers.
    for (ex, plain) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(n) = obj.get(ex).filter(|v| v.is_number())
            && !out.contains_key(plain)
        {
            out.insert(plain.to_string(), n.clone());
        }
    }
    if nullable {
        out.insert("nullable".into(), Value::Bool(true));
    }

    let mut values: Option<Vec<Value>> = obj.get("enum").and_then(Value::as_array).cloned();
    if let Some(c) = obj.get("const") {
        values = Some(vec![c.clone()]);
    }
    if let Some(vals) = values {
        let strings: Vec<&Value> = vals.iter().filter(|v| !v.is_null()).collect();
        if !strings.is_empty() && strings.iter().all(|v| v.is_string()) {
            out.insert(
                "enum".into(),
                Value::Array(strings.into_iter().cloned().collect()),
            );
            if ty.is_none() || ty.as_deref() == Some("string") {
                ty = Some("string".into());
            }
        }
    }

    if let Some(f) = obj.get("format").and_then(Value::as_str) {
        let known = match ty.as_deref() {
            Some("string") => matches!(f, "enum" | "date-time"),
            Some("integer") => matches!(f, "int32" | "int64"),
            Some("number") => matches!(f, "float" | "double"),
            _ => false,
        };
        if known {
            out.insert("format".into(), Value::String(f.into()));
        }
    }

    let alternatives = obj
        .get("anyOf")
        .or_else(|| obj.get("oneOf"))
        .and_then(Value::as_array);
    if let Some(alts) = alternatives {
        let mut kept = Vec::new();
        for a in alts {
            if a.get("type").and_then(Value::as_str) == Some("null") {
                out.insert("nullable".into(), Value::Bool(true));
            } else {
                kept.push(convert(a, root, depth + 1, refs));
            }
        }
        match kept.len() {
            0 => {}
            // `anyOf: [X, null]` is X, nullable.
            1 if ty.is_none() => {
                if let Some(Value::Object(one)) = kept.pop() {
                    for (k, v) in one {
                        out.entry(k).or_insert(v);
                    }
                }
            }
            _ => {
                out.insert("anyOf".into(), Value::Array(kept));
            }
        }
    }

    match ty.as_deref() {
        Some("object") => {
            if let Some(props) = obj.get("properties").and_then(Value::as_object)
                && !props.is_empty()
            {
                let converted: Map<String, Value> = props
                    .iter()
                    .map(|(k, v)| (k.clone(), convert(v, root, depth + 1, refs)))
                    .collect();
                if let Some(req) = obj.get("required").and_then(Value::as_array) {
                    let req: Vec<Value> = req
                        .iter()
                        .filter(|r| r.as_str().is_some_and(|n| converted.contains_key(n)))
                        .cloned()
                        .collect();
                    if !req.is_empty() {
                        out.insert("required".into(), Value::Array(req));
                    }
                }
                out.insert("properties".into(), Value::Object(converted));
            }
        }
        Some("array") => {
            let items = match obj.get("items") {
                Some(Value::Array(tuple)) => tuple.first().cloned().unwrap_or(json!({})),
                Some(i) => i.clone(),
                None => json!({}),
            };
            let mut items = convert(&items, root, depth + 1, refs);
            if items.get("type").is_none() && items.get("anyOf").is_none() {
                items["type"] = json!("string");
            }
            out.insert("items".into(), items);
        }
        _ => {}
    }
    if let Some(t) = ty {
        out.insert("type".into(), Value::String(t));
    } else if !out.contains_key("anyOf") {
        // No type and nothing to infer it from: anything goes, said as a string.
        out.insert("type".into(), json!("string"));
    }
    Value::Object(out)
}

/// `#/$defs/Name`, `#/definitions/Name` or any other local JSON pointer.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

/// `allOf`: properties and required lists are unioned; other keys, first one wins.
fn merge_into(into: &mut Map<String, Value>, part: &Value) {
    let Some(part) = part.as_object() else {
        return;
    };
    for (k, v) in part {
        match (k.as_str(), into.get_mut(k)) {
            ("properties", Some(Value::Object(have))) => {
                if let Some(more) = v.as_object() {
                    for (pk, pv) in more {
                        have.entry(pk.clone()).or_insert_with(|| pv.clone());
                    }
                }
            }
            ("required", Some(Value::Array(have))) => {
                if let Some(more) = v.as_array() {
                    for r in more {
                        if !have.contains(r) {
                            have.push(r.clone());
                        }
                    }
                }
            }
            (_, Some(_)) => {}
            (_, None) => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_code_style_schema_fits() {
        let s = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "command": {"type": "string", "description": "what to run"},
                "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600000},
                "mode": {"const": "fast"},
                "tags": {"type": "array", "items": {"type": ["string", "null"]}, "uniqueItems": true},
                "url": {"type": "string", "format": "uri"},
                "when": {"type": "string", "format": "date-time"},
                "level": {"enum": [1, 2, 3]}
            },
            "required": ["command", "ghost"]
        });
        let g = to_gemini_schema(&s);
        assert_eq!(
            g,
            json!({
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "what to run"},
                    "timeout": {"type": "number", "minimum": 0, "maximum": 600000},
                    "mode": {"type": "string", "enum": ["fast"]},
                    "tags": {"type": "array", "items": {"type": "string", "nullable": true}},
                    "url": {"type": "string"},
                    "when": {"type": "string", "format": "date-time"},
                    "level": {"type": "string"}
                },
                "required": ["command"]
            })
        );
    }

    #[test]
    fn refs_are_inlined_and_cycles_end() {
        let s = json!({
            "type": "object",
            "$defs": {
                "Node": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "child": {"$ref": "#/$defs/Node"}
                }},
                "Color": {"type": "string", "enum": ["red", "blue"]}
            },
            "properties": {
                "root": {"$ref": "#/$defs/Node", "description": "the top"},
                "color": {"$ref": "#/definitions/Missing"},
                "paint": {"$ref": "#/$defs/Color"}
            }
        });
        let g = to_gemini_schema(&s);
        assert_eq!(g["properties"]["root"]["description"], "the top");
        assert_eq!(
            g["properties"]["root"]["properties"]["name"]["type"],
            "string"
        );
        // The cycle is cut one level down.
        assert_eq!(
            g["properties"]["root"]["properties"]["child"],
            json!({"type": "object"})
        );
        assert_eq!(g["properties"]["color"], json!({"type": "object"}));
        assert_eq!(
            g["properties"]["paint"],
            json!({"type": "string", "enum": ["red", "blue"]})
        );
        assert!(g.get("$defs").is_none());
    }

    #[test]
    fn unions_nullables_and_all_of() {
        let s = json!({"type": "object", "properties": {
            "a": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "b": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "c": {"type": ["string", "integer"], "description": "either"},
            "d": {"allOf": [
                {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
                {"properties": {"y": {"type": "integer"}}, "required": ["y"]}
            ]},
            "e": {"type": "object", "properties": {}},
            "f": {}
        }});
        let g = to_gemini_schema(&s);
        let p = &g["properties"];
        assert_eq!(p["a"], json!({"type": "string", "nullable": true}));
        assert_eq!(
            p["b"],
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})
        );
        assert_eq!(p["c"]["anyOf"].as_array().map(Vec::len), Some(2));
        assert_eq!(p["c"]["description"], "either");
        assert_eq!(p["d"]["type"], "object");
        assert_eq!(p["d"]["required"], json!(["x", "y"]));
        assert_eq!(p["d"]["properties"]["y"]["type"], "integer");
        assert_eq!(p["e"], json!({"type": "object"}));
        assert_eq!(p["f"], json!({"type": "string"}));
    }

    #[test]
    fn fanning_references_are_bounded() {
        // D0 uses D1 twice, D1 uses D2 twice, … : 2^30 nodes if inlined in full.
        let mut defs = serde_json::Map::new();
        for i in 0..30 {
            let next = format!("#/$defs/D{}", i + 1);
            defs.insert(
                format!("D{i}"),
                json!({"type": "object", "properties": {"a": {"$ref": next}, "b": {"$ref": next}}}),
            );
        }
        defs.insert("D30".into(), json!({"type": "string"}));
        let s = json!({"$defs": defs, "$ref": "#/$defs/D0"});
        let started = std::time::Instant::now();
        let g = to_gemini_schema(&s);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(g.to_string().len() < 2_000_000);
        assert_eq!(g["type"], "object");
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut s = json!({"type": "string"});
        for _ in 0..200 {
            s = json!({"type": "array", "items": s});
        }
        let g = to_gemini_schema(&s);
        let text = g.to_string();
        assert!(text.matches("\"array\"").count() <= MAX_DEPTH + 1);
    }
}
