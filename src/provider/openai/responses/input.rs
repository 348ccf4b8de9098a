//! Model messages to Responses `input` items: `convertToOpenAIResponsesInput`
//! of `@ai-sdk/openai`, for function tools (headstart offers no provider
//! tools), after `streamText`'s own prompt normalization (string content to
//! a text part, empty text parts dropped, image parts to file parts,
//! `data:` URLs split, inline files sniffed for image types).
//!
//! What the SDK carries across turns decides what is sent back: an
//! assistant text or reasoning part with `providerOptions.openai.itemId`
//! becomes an `item_reference` while `store` is on (the API kept the item),
//! and a reasoning item with its `reasoningEncryptedContent` (and summary)
//! when `store` is off.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::super::js_json;
use super::super::messages::unknown_part;
use super::super::request::config;
use super::files::user_part;
use super::parallel::{self, Group};
use super::tool_results::{group_output, tool_output};
use crate::protocol::model::{Content, ModelMessage, ModelPart, TextPart, ToolOutput};
use crate::provider::error::ProviderError;
use crate::provider::CallOptions;

/// How the history is converted (the SDK's arguments that vary for us).
pub(super) struct InputSettings<'a> {
    pub system_message_mode: &'a str,
    pub store: bool,
    pub is_reasoning_model: bool,
    pub has_conversation: bool,
    pub has_previous_response_id: bool,
    pub pass_through_unsupported_files: bool,
}

/// `providerOptions.openai.<key>`, absent when `openai` or the key is.
pub(super) fn openai<'a>(provider_options: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Value> {
    provider_options?.get("openai")?.get(key)
}

/// `providerOptions.openai.promptCacheBreakpoint`, when not null.
pub(super) fn breakpoint(provider_options: Option<&Map<String, Value>>) -> Option<Value> {
    openai(provider_options, "promptCacheBreakpoint").filter(|v| !v.is_null()).cloned()
}

pub(super) fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.into(), v);
    }
}

fn item_reference(id: &str) -> Value {
    json!({ "type": "item_reference", "id": id })
}

/// Expanded `parallel` wrapper calls whose results are all in the history,
/// sent back as the one wrapper call and one output while the API keeps the
/// conversation.
struct Groups<'a> {
    groups: HashMap<String, Group<'a>>,
    calls_sent: HashSet<String>,
    results_sent: HashSet<String>,
}

/// The complete group `part_options` belongs to.
fn group_of<'m, 'a>(groups: &'m HashMap<String, Group<'a>>, part_options: Option<&Map<String, Value>>) -> Option<&'m Group<'a>> {
    let meta = parallel::metadata(part_options)?;
    groups.get(&meta.tool_call_id).filter(|g| parallel::same(&g.meta, &meta))
}

pub(super) fn convert_input(options: &CallOptions, s: &InputSettings) -> Result<Vec<Value>, ProviderError> {
    let mut input = Vec::new();
    let mut groups = Groups {
        groups: if s.has_conversation || s.has_previous_response_id {
            parallel::complete_groups(&options.messages)
        } else {
            HashMap::new()
        },
        calls_sent: HashSet::new(),
        results_sent: HashSet::new(),
    };
    if let Some(system) = &options.system {
        system_message(&mut input, system, None, s)?;
    }
    for message in &options.messages {
        match message {
            ModelMessage::System(m) => system_message(&mut input, &m.content, m.provider_options.as_ref(), s)?,
            ModelMessage::User(m) => {
                let single;
                let parts: Vec<&ModelPart> = match &m.content {
                    Content::Text(t) => {
                        single = ModelPart::Text(TextPart::new(t.clone()));
                        vec![&single]
                    }
                    Content::Parts(p) => p.iter().filter(|p| !matches!(p, ModelPart::Text(t) if t.text.is_empty())).collect(),
                };
                let content =
                    parts.iter().enumerate().map(|(index, part)| user_part(part, index, s)).collect::<Result<Vec<_>, _>>()?;
                input.push(json!({ "role": "user", "content": content }));
            }
            ModelMessage::Assistant(m) => assistant_message(&mut input, &m.content, s, &mut groups)?,
            ModelMessage::Tool(_) => tool_message(&mut input, message.parts(), s, &mut groups)?,
            ModelMessage::Unknown(m) => {
                let role = m.get("role").and_then(Value::as_str).unwrap_or("");
                return Err(config(format!("Unsupported role: {role}")));
            }
        }
    }
    if !s.store {
        // Without stored items, a reasoning item is only usable with its
        // encrypted content.
        input.retain(|item| {
            item.get("type") != Some(&json!("reasoning")) || item.get("encrypted_content").is_some_and(|e| !e.is_null())
        });
    }
    Ok(input)
}

fn system_message(
    input: &mut Vec<Value>,
    content: &str,
    provider_options: Option<&Map<String, Value>>,
    s: &InputSettings,
) -> Result<(), ProviderError> {
    for key in ["reasoningEffortUpdate", "textFormatUpdate", "additionalTools"] {
        if openai(provider_options, key).is_some_and(|v| !v.is_null()) {
            return Err(config(format!("the system message option openai.{key} is not supported by headstart")));
        }
    }
    let role = match s.system_message_mode {
        "remove" => return Ok(()),
        mode => mode,
    };
    let content = match breakpoint(provider_options) {
        None => json!(content),
        Some(b) => json!([{ "type": "input_text", "text": content, "prompt_cache_breakpoint": b }]),
    };
    input.push(json!({ "role": role, "content": content }));
    Ok(())
}

fn assistant_message(
    input: &mut Vec<Value>,
    content: &Content,
    s: &InputSettings,
    groups: &mut Groups,
) -> Result<(), ProviderError> {
    let single;
    let parts: Vec<&ModelPart> = match content {
        Content::Text(t) => {
            single = ModelPart::Text(TextPart::new(t.clone()));
            vec![&single]
        }
        Content::Parts(p) => p.iter().collect(),
    };
    // Reasoning items of this message by id: the index of the item in
    // `input`, or `None` once referenced.
    let mut reasoning: Vec<(String, Option<usize>)> = Vec::new();
    let mut emitted_text_ids: Vec<String> = Vec::new();
    let mut has_preceding_reasoning = false;
    for part in parts {
        match part {
            // streamText drops empty text parts without provider options.
            ModelPart::Text(t) if t.text.is_empty() && t.provider_options.is_none() => {}
            ModelPart::Text(t) => {
                let po = t.provider_options.as_ref();
                let id = openai(po, "itemId").and_then(Value::as_str);
                if s.has_conversation && id.is_some() {
                    continue;
                }
                if let Some(id) = id.filter(|_| s.store && (!s.is_reasoning_model || has_preceding_reasoning)) {
                    if !emitted_text_ids.iter().any(|e| e == id) {
                        emitted_text_ids.push(id.to_string());
                        input.push(item_reference(id));
                    }
                    continue;
                }
                let mut m = Map::new();
                m.insert("role".into(), json!("assistant"));
                m.insert("content".into(), json!(t.text));
                put(&mut m, "phase", openai(po, "phase").filter(|v| !v.is_null()).cloned());
                input.push(Value::Object(m));
            }
            ModelPart::ToolCall(c) => {
                let po = c.provider_options.as_ref();
                if let Some(g) = group_of(&groups.groups, po) {
                    let meta = &g.meta;
                    if groups.calls_sent.insert(meta.tool_call_id.clone()) && !s.has_conversation {
                        input.push(json!({
                            "type": "function_call",
                            "call_id": meta.tool_call_id,
                            "name": meta.tool_name,
                            "arguments": meta.input,
                        }));
                    }
                    continue;
                }
                let id = openai(po, "itemId").filter(|v| !v.is_null());
                if s.has_conversation && id.is_some() {
                    continue;
                }
                if c.provider_executed == Some(true) {
                    if let Some(id) = id.filter(|_| s.store) {
                        input.push(json!({ "type": "item_reference", "id": id }));
                    }
                    continue;
                }
                let mut m = Map::new();
                m.insert("type".into(), json!("function_call"));
                m.insert("call_id".into(), json!(c.tool_call_id));
                m.insert("name".into(), json!(c.tool_name));
                m.insert("arguments".into(), json!(tool_call_arguments(c.input.as_ref())));
                put(&mut m, "async", openai(po, "async").filter(|v| !v.is_null()).cloned());
                put(&mut m, "namespace", openai(po, "namespace").filter(|v| !v.is_null()).cloned());
                put(&mut m, "caller", openai(po, "caller").filter(|v| !v.is_null()).map(tool_caller));
                input.push(Value::Object(m));
            }
            ModelPart::ToolResult(r) => {
                // A provider-executed tool's result, kept by the API.
                let denied = matches!(&r.output, ToolOutput::ExecutionDenied(_))
                    || matches!(&r.output, ToolOutput::Json(o) if o.value.as_ref().and_then(|v| v.get("type")) == Some(&json!("execution-denied")));
                if denied || s.has_conversation || !s.store {
                    continue;
                }
                let id = openai(r.provider_options.as_ref(), "itemId")
                    .filter(|v| !v.is_null())
                    .cloned()
                    .unwrap_or_else(|| json!(r.tool_call_id));
                input.push(json!({ "type": "item_reference", "id": id }));
            }
            ModelPart::Reasoning(t) => {
                has_preceding_reasoning = true;
                let po = t.provider_options.as_ref();
                let text_option = |key: &str| -> Result<Option<String>, ProviderError> {
                    match openai(po, key) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(v)) => Ok(Some(v.clone())),
                        Some(_) => Err(config(format!("invalid openai reasoning options: `{key}` must be a string"))),
                    }
                };
                let item_id = text_option("itemId")?;
                let encrypted = text_option("reasoningEncryptedContent")?;
                if (s.has_conversation || s.has_previous_response_id) && item_id.is_some() {
                    continue;
                }
                let summary =
                    |text: &str| if text.is_empty() { vec![] } else { vec![json!({ "type": "summary_text", "text": text })] };
                let Some(item_id) = item_id else {
                    // Reasoning of another provider has no encrypted content
                    // and is dropped (the SDK warns).
                    if let Some(e) = encrypted {
                        input.push(json!({ "type": "reasoning", "encrypted_content": e, "summary": summary(&t.text) }));
                    }
                    continue;
                };
                let known = reasoning.iter().find(|(id, _)| *id == item_id).map(|(_, at)| *at);
                match (s.store, known) {
                    (true, Some(_)) => {}
                    (true, None) => {
                        input.push(item_reference(&item_id));
                        reasoning.push((item_id, None));
                    }
                    (false, None) => {
                        let mut m = Map::new();
                        m.insert("type".into(), json!("reasoning"));
                        m.insert("id".into(), json!(item_id));
                        put(&mut m, "encrypted_content", encrypted.map(Value::String));
                        m.insert("summary".into(), Value::Array(summary(&t.text)));
                        reasoning.push((item_id, Some(input.len())));
                        input.push(Value::Object(m));
                    }
                    (false, Some(at)) => {
                        let item = at.and_then(|i| input.get_mut(i)).and_then(Value::as_object_mut);
                        if let Some(item) = item {
                            if let Some(Value::Array(parts)) = item.get_mut("summary") {
                                parts.extend(summary(&t.text));
                            }
                            if let Some(e) = encrypted {
                                // The key keeps its place when it was there.
                                if item.contains_key("encrypted_content") {
                                    item.insert("encrypted_content".into(), Value::String(e));
                                } else {
                                    let summary = item.shift_remove("summary");
                                    item.insert("encrypted_content".into(), Value::String(e));
                                    put(item, "summary", summary);
                                }
                            }
                        }
                    }
                }
            }
            ModelPart::Custom(c) if c.kind == "openai.compaction" => {
                let po = c.provider_options.as_ref();
                let id = openai(po, "itemId").filter(|v| !v.is_null());
                if s.has_conversation && id.is_some() {
                    continue;
                }
                match id {
                    Some(id) if s.store => input.push(json!({ "type": "item_reference", "id": id })),
                    Some(id) => {
                        let mut m = Map::new();
                        m.insert("type".into(), json!("compaction"));
                        m.insert("id".into(), id.clone());
                        put(&mut m, "encrypted_content", openai(po, "encryptedContent").cloned());
                        input.push(Value::Object(m));
                    }
                    None => {}
                }
            }
            ModelPart::Unknown(p) => return Err(unknown_part(p)),
            // Files, other custom parts and approval requests are not sent.
            _ => {}
        }
    }
    Ok(())
}

fn tool_message(
    input: &mut Vec<Value>,
    parts: &[ModelPart],
    s: &InputSettings,
    groups: &mut Groups,
) -> Result<(), ProviderError> {
    let mut approvals: Vec<&str> = Vec::new();
    for part in parts {
        let r = match part {
            ModelPart::ToolApprovalResponse(a) => {
                // streamText passes on only the answers to provider-executed
                // tools' approval requests.
                if a.provider_executed != Some(true) || approvals.contains(&a.approval_id.as_str()) {
                    continue;
                }
                approvals.push(&a.approval_id);
                if s.store && !s.has_conversation && !s.has_previous_response_id {
                    input.push(item_reference(&a.approval_id));
                }
                input.push(
                    json!({ "type": "mcp_approval_response", "approval_request_id": a.approval_id, "approve": a.approved }),
                );
                continue;
            }
            ModelPart::ToolResult(r) => r,
            ModelPart::Unknown(p) => return Err(unknown_part(p)),
            _ => continue,
        };
        if let Some(g) = group_of(&groups.groups, r.provider_options.as_ref()) {
            if groups.results_sent.insert(g.meta.tool_call_id.clone()) {
                input.push(group_output(g)?);
            }
            continue;
        }
        if let ToolOutput::ExecutionDenied(d) = &r.output {
            if openai(d.provider_options.as_ref(), "approvalId")
                .is_some_and(|v| !v.is_null() && v != &json!(false) && v != &json!(""))
            {
                continue;
            }
        }
        let caller = openai(r.provider_options.as_ref(), "caller").filter(|v| !v.is_null());
        let mut m = Map::new();
        m.insert("type".into(), json!("function_call_output"));
        m.insert("call_id".into(), json!(r.tool_call_id));
        m.insert("output".into(), tool_output(&r.output, r.provider_options.as_ref())?);
        put(&mut m, "caller", caller.map(tool_caller));
        input.push(Value::Object(m));
    }
    Ok(())
}

/// `mapToolCaller`: `{type: "program", callerId}` to the API's `caller_id`.
fn tool_caller(caller: &Value) -> Value {
    match caller.get("type").and_then(Value::as_str) {
        Some("program") => json!({ "type": "program", "caller_id": caller.get("callerId").cloned().unwrap_or(Value::Null) }),
        _ => caller.clone(),
    }
}

/// `serializeToolCallArguments`: a string that parses as JSON as it is,
/// anything else as JSON text (`{}` for no input).
fn tool_call_arguments(input: Option<&Value>) -> String {
    match input {
        Some(Value::String(s)) if serde_json::from_str::<Value>(s).is_ok() => s.clone(),
        Some(v) => js_json::to_string(v),
        None => "{}".into(),
    }
}
