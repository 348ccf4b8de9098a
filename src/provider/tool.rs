//! Schema-only tools: what the model may call. The route handler has no
//! tool implementations (the agent does); it only describes them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the input (an object schema).
    pub input_schema: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Tool {
        #[serde(rename = "toolName")]
        tool_name: String,
    },
}

/// The tools the reference agent executes, as schemas: what the head-start
/// handler offers the model by default, so step 1 and the agent agree.
pub fn builtin_tools() -> Vec<ToolSpec> {
    let spec = |name: &str, description: &str, schema: Value| ToolSpec {
        name: name.into(),
        description: Some(description.into()),
        input_schema: schema,
    };
    vec![
        spec(
            "get_weather",
            "Get the current weather for a city.",
            serde_json::json!({
                "type": "object",
                "properties": { "city": { "type": "string", "description": "City name, e.g. \"Paris\"." } },
                "required": ["city"],
                "additionalProperties": false
            }),
        ),
        spec(
            "calculator",
            "Evaluate an arithmetic expression (+ - * / ^ %, parentheses) and return the number.",
            serde_json::json!({
                "type": "object",
                "properties": { "expression": { "type": "string", "description": "For example \"0.18 * 240\"." } },
                "required": ["expression"],
                "additionalProperties": false
            }),
        ),
        spec(
            "fetch_url",
            "Fetch a web page and return its text.",
            serde_json::json!({
                "type": "object",
                "properties": { "url": { "type": "string", "description": "An http(s) URL." } },
                "required": ["url"],
                "additionalProperties": false
            }),
        ),
    ]
}
