//! `tools` and `tool_choice` of a Chat Completions request
//! (`prepareChatTools` and `normalizeOpenAIJsonSchema` of `@ai-sdk/openai`).

use serde_json::{json, Map, Value};

use crate::provider::error::ProviderError;
use crate::provider::tool::{ToolChoice, ToolSpec};

/// `(tools, tool_choice)`, both absent without tools. A `None` choice with
/// tools is `"auto"`: `streamText` always passes a tool choice, `auto` unless
/// told otherwise, so this is what the SDK sends for an unset one.
pub(super) fn prepare_tools(tools: &[ToolSpec], choice: Option<&ToolChoice>) -> Result<Option<(Value, Value)>, ProviderError> {
    if tools.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(tools.len());
    for tool in tools {
        let mut function = Map::new();
        function.insert("name".into(), Value::String(tool.name.clone()));
        if let Some(d) = &tool.description {
            function.insert("description".into(), Value::String(d.clone()));
        }
        function.insert("parameters".into(), normalize_schema(&tool.input_schema)?);
        out.push(json!({ "type": "function", "function": function }));
    }
    let choice = match choice.unwrap_or(&ToolChoice::Auto) {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool { tool_name } => json!({ "type": "function", "function": { "name": tool_name } }),
    };
    Ok(Some((Value::Array(out), choice)))
}

/// OpenAI rejects `propertyNames`, regex lookaround in `pattern` and `allOf`;
/// the SDK drops the first two and rewrites a singleton `allOf: [{$ref}]`.
pub(super) fn normalize_schema(schema: &Value) -> Result<Value, ProviderError> {
    match schema {
        Value::Object(o) => normalize(o, true).map(Value::Object),
        other => Ok(other.clone()),
    }
}

fn present<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).filter(|v| !v.is_null())
}

fn normalize(schema: &Map<String, Value>, is_root: bool) -> Result<Map<String, Value>, ProviderError> {
    if let Some(names) = present(schema, "propertyNames") {
        let non_string = match names {
            Value::Bool(_) => true,
            Value::Object(o) => present(o, "type").is_some_and(|t| t != "string"),
            _ => false,
        };
        if non_string {
            return Err(ProviderError::Config(
                "JSON Schema propertyNames that does not use a string schema is not supported by OpenAI".into(),
            ));
        }
    }
    let mut n = schema.clone();
    n.shift_remove("propertyNames");
    if present(&n, "pattern").and_then(Value::as_str).is_some_and(contains_regex_lookaround) {
        n.shift_remove("pattern");
    }
    for key in ["properties", "patternProperties", "definitions", "$defs"] {
        if let Some(Value::Object(record)) = present(&n, key) {
            let record = normalize_record(record)?;
            n.insert(key.into(), Value::Object(record));
        }
    }
    for key in ["additionalProperties", "additionalItems", "contains", "not", "if", "then", "else"] {
        if let Some(def) = present(&n, key) {
            let def = normalize_definition(def)?;
            n.insert(key.into(), def);
        }
    }
    if let Some(items) = present(&n, "items") {
        let items = match items {
            Value::Array(a) => Value::Array(a.iter().map(normalize_definition).collect::<Result<_, _>>()?),
            def => normalize_definition(def)?,
        };
        n.insert("items".into(), items);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(a)) = present(&n, key) {
            let a = a.iter().map(normalize_definition).collect::<Result<_, _>>()?;
            n.insert(key.into(), Value::Array(a));
        }
    }
    if let Some(Value::Object(deps)) = present(&n, "dependencies") {
        let mut out = Map::new();
        for (k, dep) in deps {
            let dep = if dep.is_array() { dep.clone() } else { normalize_definition(dep)? };
            out.insert(k.clone(), dep);
        }
        n.insert("dependencies".into(), Value::Object(out));
    }

    let Some(reference) = singleton_reference(&n) else { return Ok(n) };
    let mut rest = n.clone();
    rest.shift_remove("allOf");
    if !is_root {
        rest.insert("$ref".into(), Value::String(reference));
        return Ok(rest);
    }
    let Some(referenced) = local_reference(&reference, &n) else { return Ok(n) };
    // `{...referenced, ...rest}`: keys of `referenced` keep their place.
    let mut out = referenced.clone();
    for (k, v) in rest {
        out.insert(k, v);
    }
    Ok(out)
}

fn normalize_record(record: &Map<String, Value>) -> Result<Map<String, Value>, ProviderError> {
    record.iter().map(|(k, v)| Ok((k.clone(), normalize_definition(v)?))).collect()
}

fn normalize_definition(def: &Value) -> Result<Value, ProviderError> {
    match def {
        Value::Object(o) => normalize(o, false).map(Value::Object),
        other => Ok(other.clone()),
    }
}

fn singleton_reference(schema: &Map<String, Value>) -> Option<String> {
    let Some(Value::Array(all_of)) = schema.get("allOf") else { return None };
    match all_of.as_slice() {
        [Value::Object(o)] if o.len() == 1 => o.get("$ref").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn local_reference<'a>(reference: &str, schema: &'a Map<String, Value>) -> Option<&'a Map<String, Value>> {
    let rest = reference.strip_prefix("#/")?;
    let (keyword, name) = rest.split_once('/')?;
    if name.is_empty() || !matches!(keyword, "definitions" | "$defs") {
        return None;
    }
    let name = name.replace("~1", "/").replace("~0", "~");
    schema.get(keyword)?.get(&name)?.as_object()
}

fn contains_regex_lookaround(pattern: &str) -> bool {
    // JavaScript indexes UTF-16 code units; the characters looked at are ASCII.
    let chars: Vec<char> = pattern.chars().collect();
    let (mut escaped, mut in_class) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class && chars.get(i + 1) == Some(&'?') => match chars.get(i + 2) {
                Some('=' | '!') => return true,
                Some('<') if matches!(chars.get(i + 3), Some('=' | '!')) => return true,
                _ => {}
            },
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_property_names_and_lookaround_patterns() {
        let schema = json!({
            "type": "object",
            "properties": {
                "tags": { "type": "object", "propertyNames": { "pattern": "^[a-z]+$" } },
                "code": { "type": "string", "pattern": "^(?!x)[a-z]+$" },
                "plain": { "type": "string", "pattern": "^[(?=]$" }
            }
        });
        let n = normalize_schema(&schema).unwrap();
        assert_eq!(
            n,
            json!({
                "type": "object",
                "properties": {
                    "tags": { "type": "object" },
                    "code": { "type": "string" },
                    "plain": { "type": "string", "pattern": "^[(?=]$" }
                }
            })
        );
        let bad = json!({ "type": "object", "propertyNames": { "type": "number" } });
        assert!(matches!(normalize_schema(&bad), Err(ProviderError::Config(_))));
    }

    #[test]
    fn rewrites_singleton_all_of_references() {
        let schema = json!({
            "allOf": [{ "$ref": "#/$defs/node" }],
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": { "next": { "allOf": [{ "$ref": "#/$defs/node" }], "description": "d" } }
                }
            }
        });
        let n = normalize_schema(&schema).unwrap();
        let expected = json!({
            "type": "object",
            "properties": { "next": { "description": "d", "$ref": "#/$defs/node" } },
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": { "next": { "description": "d", "$ref": "#/$defs/node" } }
                }
            }
        });
        assert_eq!(n, expected);
        assert_eq!(serde_json::to_string(&n).unwrap(), serde_json::to_string(&expected).unwrap(), "key order");
    }
}
