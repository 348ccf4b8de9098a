//! The `parallel` wrapper: some OpenAI models call an undeclared function
//! `parallel` with `{"tool_uses": [{"recipient_name": "functions.<tool>",
//! "parameters": {...}}, ...]}` instead of emitting one call per tool. The
//! SDK (`expand-parallel-tool-call.ts`) expands it into the nested calls
//! when every recipient is one of the call's function tools, marks each with
//! `providerMetadata.openai.parallelToolCall`, and, when the API keeps the
//! conversation (`conversation` / `previousResponseId`), sends the group back
//! as the one wrapper call and one joined output.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::super::js_json;
use crate::protocol::model::{ModelMessage, ModelPart, ToolResultPart};

const PARALLEL: &str = "parallel";
const RECIPIENT_PREFIX: &str = "functions.";

/// A `parallel` call while no tool of that name was offered.
pub(super) fn is_undeclared(name: &str, tools: &[String]) -> bool {
    name == PARALLEL && !tools.iter().any(|t| t == PARALLEL)
}

/// One nested call: `(id, tool name, input JSON, provider metadata)`.
pub(super) type Expanded = (String, String, String, Map<String, Value>);

/// `expandParallelToolCall`: the nested calls, or `None` when the wrapper is
/// not one the SDK expands.
pub(super) fn expand(call_id: &str, arguments: &str, item_id: &str, tools: &[String]) -> Option<Vec<Expanded>> {
    let parsed: Value = serde_json::from_str(arguments).ok()?;
    let uses = parsed.as_object()?.get("tool_uses")?.as_array()?;
    if uses.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(uses.len());
    for (index, tool_use) in uses.iter().enumerate() {
        let tool_use = tool_use.as_object()?;
        let name = tool_use.get("recipient_name")?.as_str()?.strip_prefix(RECIPIENT_PREFIX)?;
        let parameters = tool_use.get("parameters").filter(|p| p.is_object())?;
        if name.is_empty() || !tools.iter().any(|t| t == name) {
            return None;
        }
        let mut group = Map::new();
        group.insert("itemId".into(), json!(item_id));
        group.insert("toolCallId".into(), json!(call_id));
        group.insert("toolName".into(), json!(PARALLEL));
        if index == 0 {
            group.insert("input".into(), json!(arguments));
        }
        group.insert("index".into(), json!(index));
        group.insert("count".into(), json!(uses.len()));
        let mut openai = Map::new();
        openai.insert("parallelToolCall".into(), Value::Object(group));
        let mut meta = Map::new();
        meta.insert("openai".into(), Value::Object(openai));
        out.push((format!("{call_id}_{index}"), name.to_string(), js_json::to_string(parameters), meta));
    }
    Some(out)
}

/// `providerOptions.openai.parallelToolCall` of a call or result part.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GroupMeta {
    pub item_id: String,
    pub tool_call_id: String,
    pub tool_name: String,
    pub input: Option<String>,
    pub index: u64,
    pub count: u64,
}

/// `getParallelToolCallMetadata`: `None` unless every field is well formed.
pub(super) fn metadata(provider_options: Option<&Map<String, Value>>) -> Option<GroupMeta> {
    let m = provider_options?.get("openai")?.get("parallelToolCall")?.as_object()?;
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    let count =
        |k: &str| m.get(k).and_then(Value::as_f64).filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n < 9.0e15).map(|n| n as u64);
    let input = match m.get("input") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return None,
    };
    let meta = GroupMeta {
        item_id: text("itemId")?,
        tool_call_id: text("toolCallId")?,
        tool_name: text("toolName")?,
        input,
        index: count("index")?,
        count: count("count")?,
    };
    (meta.count > meta.index).then_some(meta)
}

/// `hasSameParallelToolCall`.
pub(super) fn same(a: &GroupMeta, b: &GroupMeta) -> bool {
    a.item_id == b.item_id
        && a.tool_call_id == b.tool_call_id
        && a.tool_name == b.tool_name
        && (a.input.is_none() || b.input.is_none() || a.input == b.input)
        && a.count == b.count
}

/// A complete group: the wrapper's metadata (with its input) and the
/// results by index.
pub(super) struct Group<'a> {
    pub meta: GroupMeta,
    pub results: Vec<&'a ToolResultPart>,
}

/// `collectCompleteParallelToolResultGroups`: by the wrapper's call id.
pub(super) fn complete_groups(messages: &[ModelMessage]) -> HashMap<String, Group<'_>> {
    struct Pending<'a> {
        meta: GroupMeta,
        results: HashMap<u64, &'a ToolResultPart>,
        invalid: bool,
    }
    let mut pending: Vec<(String, Pending)> = Vec::new();
    for message in messages {
        let ModelMessage::Tool(_) = message else { continue };
        for part in message.parts() {
            let ModelPart::ToolResult(r) = part else { continue };
            let Some(meta) = metadata(r.provider_options.as_ref()) else { continue };
            match pending.iter_mut().find(|(id, _)| *id == meta.tool_call_id) {
                None => pending.push((
                    meta.tool_call_id.clone(),
                    Pending { results: HashMap::from([(meta.index, r)]), meta, invalid: false },
                )),
                Some((_, group)) => {
                    if !same(&group.meta, &meta) || group.results.contains_key(&meta.index) {
                        group.invalid = true;
                        continue;
                    }
                    let index = meta.index;
                    if group.meta.input.is_none() && meta.input.is_some() {
                        group.meta = meta;
                    }
                    group.results.insert(index, r);
                }
            }
        }
    }
    let mut out = HashMap::new();
    for (id, group) in pending {
        if group.invalid || group.results.len() as u64 != group.meta.count || group.meta.input.is_none() {
            continue;
        }
        let results: Option<Vec<&ToolResultPart>> = (0..group.meta.count).map(|i| group.results.get(&i).copied()).collect();
        if let Some(results) = results {
            out.insert(id, Group { meta: group.meta, results });
        }
    }
    out
}
