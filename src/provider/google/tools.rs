//! Function tools (`prepareTools` of the SDK). `@ai-sdk/google` 4.0.121
//! sends a tool's JSON Schema unchanged as `parametersJsonSchema` (the API
//! takes JSON Schema there; the older OpenAPI conversion into `parameters`
//! is gone), so the schema is passed through as given, key order included.

use serde_json::{json, Value};

use crate::provider::{CallOptions, ToolChoice};

/// `(tools, toolConfig)` of the request. `streamText` always passes a tool
/// choice with its tools (`auto` by default), so no choice means `auto`.
pub(super) fn prepare_tools(options: &CallOptions) -> (Option<Value>, Option<Value>) {
    if options.tools.is_empty() {
        return (None, None);
    }
    let declarations: Vec<Value> = options
        .tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "description": t.description.clone().unwrap_or_default(),
                "parametersJsonSchema": t.input_schema,
            })
        })
        .collect();
    let config = match options.tool_choice.as_ref().unwrap_or(&ToolChoice::Auto) {
        ToolChoice::Auto => json!({ "functionCallingConfig": { "mode": "AUTO" } }),
        ToolChoice::None => json!({ "functionCallingConfig": { "mode": "NONE" } }),
        ToolChoice::Required => json!({ "functionCallingConfig": { "mode": "ANY" } }),
        ToolChoice::Tool { tool_name } => {
            json!({ "functionCallingConfig": { "mode": "ANY", "allowedFunctionNames": [tool_name] } })
        }
    };
    (Some(json!([{ "functionDeclarations": declarations }])), Some(config))
}
