//! Tool results as `function_call_output` items
//! (`convertFunctionToolResultOutput`), and the joined output of an expanded
//! `parallel` group.

use serde_json::{json, Map, Value};

use super::super::js_json;
use super::super::messages::unknown_part;
use super::super::request::config;
use super::files::content_item;
use super::input::{breakpoint, put};
use super::parallel::Group;
use crate::protocol::model::ToolOutput;
use crate::provider::error::ProviderError;

/// The one output of an expanded `parallel` call: the results' outputs,
/// one a line (input_text parts when one has a cache breakpoint).
pub(super) fn group_output(g: &Group) -> Result<Value, ProviderError> {
    let mut texts = Vec::with_capacity(g.results.len());
    let mut breakpoints = Vec::with_capacity(g.results.len());
    for r in &g.results {
        let text = match tool_output_value(&r.output, r.provider_options.as_ref(), false)? {
            Value::String(s) => s,
            other => js_json::to_string(&other),
        };
        texts.push(text);
        breakpoints.push(scalar_breakpoint(&r.output, r.provider_options.as_ref()));
    }
    let output = if breakpoints.iter().any(Option::is_some) {
        let parts = texts
            .iter()
            .zip(breakpoints)
            .enumerate()
            .map(|(i, (text, b))| {
                let mut p = Map::new();
                p.insert("type".into(), json!("input_text"));
                p.insert("text".into(), json!(if i == 0 { text.clone() } else { format!("\n{text}") }));
                put(&mut p, "prompt_cache_breakpoint", b);
                Value::Object(p)
            })
            .collect();
        Value::Array(parts)
    } else {
        json!(texts.join("\n"))
    };
    Ok(json!({ "type": "function_call_output", "call_id": g.meta.tool_call_id, "output": output }))
}

/// `getScalarToolResultPromptCacheBreakpoint`.
fn scalar_breakpoint(output: &ToolOutput, result_options: Option<&Map<String, Value>>) -> Option<Value> {
    let own = match output {
        ToolOutput::Content(_) => return None,
        ToolOutput::Text(o) | ToolOutput::Json(o) | ToolOutput::ErrorText(o) | ToolOutput::ErrorJson(o) => {
            o.provider_options.as_ref()
        }
        ToolOutput::ExecutionDenied(d) => d.provider_options.as_ref(),
        ToolOutput::Unknown(_) => None,
    };
    breakpoint(own).or_else(|| breakpoint(result_options))
}

/// `convertFunctionToolResultOutput`, with the scalar output's cache
/// breakpoint.
pub(super) fn tool_output(output: &ToolOutput, result_options: Option<&Map<String, Value>>) -> Result<Value, ProviderError> {
    tool_output_value(output, result_options, true)
}

fn tool_output_value(
    output: &ToolOutput,
    result_options: Option<&Map<String, Value>>,
    with_breakpoint: bool,
) -> Result<Value, ProviderError> {
    let value = |v: &Option<Value>| v.clone().unwrap_or(Value::Null);
    let b = if with_breakpoint { scalar_breakpoint(output, result_options) } else { None };
    let scalar = |text: String| match b.clone() {
        None => json!(text),
        Some(b) => json!([{ "type": "input_text", "text": text, "prompt_cache_breakpoint": b }]),
    };
    Ok(match output {
        ToolOutput::Text(o) => match value(&o.value) {
            Value::String(t) => scalar(t),
            // Not a string: the SDK passes it on as it is.
            other => other,
        },
        ToolOutput::ErrorText(o) | ToolOutput::ErrorJson(o) => scalar(js_json::to_string(&json!({ "error": value(&o.value) }))),
        ToolOutput::ExecutionDenied(d) => scalar(d.reason.clone().unwrap_or_else(|| "Tool call execution denied.".into())),
        ToolOutput::Json(o) => scalar(js_json::to_string(&value(&o.value))),
        ToolOutput::Content(o) => {
            let items = match &o.value {
                Some(Value::Array(items)) => items,
                _ => return Err(config("tool result content must be an array")),
            };
            let mut out = Vec::new();
            for item in items {
                if let Some(v) = content_item(item)? {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        ToolOutput::Unknown(o) => return Err(unknown_part(o)),
    })
}
