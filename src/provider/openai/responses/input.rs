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
use super::super::media::{detect_media_type, is_full_media_type, top_level_media_type, TopLevel};
use super::super::messages::{file_data, unknown_part, unsupported, FileData};
use super::super::request::config;
use super::parallel::{self, Group};
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
fn openai<'a>(provider_options: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Value> {
    provider_options?.get("openai")?.get(key)
}

/// `providerOptions.openai.promptCacheBreakpoint`, when not null.
fn breakpoint(provider_options: Option<&Map<String, Value>>) -> Option<Value> {
    openai(provider_options, "promptCacheBreakpoint").filter(|v| !v.is_null()).cloned()
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
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

/// One part of a user message.
fn user_part(part: &ModelPart, index: usize, s: &InputSettings) -> Result<Value, ProviderError> {
    let (data, media_type, filename, po) = match part {
        ModelPart::Text(t) => {
            let mut p = Map::new();
            p.insert("type".into(), json!("input_text"));
            p.insert("text".into(), json!(t.text));
            put(&mut p, "prompt_cache_breakpoint", breakpoint(t.provider_options.as_ref()));
            return Ok(Value::Object(p));
        }
        ModelPart::Image(i) => (
            i.image.as_ref().unwrap_or(&Value::Null),
            i.media_type.clone().unwrap_or_else(|| "image".into()),
            None,
            i.provider_options.as_ref(),
        ),
        ModelPart::File(f) => {
            (f.data.as_ref().unwrap_or(&Value::Null), f.media_type.clone(), f.filename.clone(), f.provider_options.as_ref())
        }
        ModelPart::Unknown(p) => return Err(unknown_part(p)),
        _ => return Err(config("user messages may only contain text, image and file parts")),
    };
    let (data, data_url_media_type) = file_data(data)?;
    let mut media_type = data_url_media_type.unwrap_or(media_type);
    if let FileData::Data(b64) = &data {
        // streamText sniffs every inline file for an image signature.
        if let Some(detected) = detect_media_type(b64, Some(TopLevel::Image)) {
            media_type = detected.to_string();
        }
    }
    let file = FileInput {
        data,
        media_type,
        filename,
        detail: openai(po, "imageDetail").cloned(),
        breakpoint: breakpoint(po),
        default_filename: |pdf| if pdf { format!("part-{index}.pdf") } else { format!("part-{index}") },
    };
    file.convert(s.pass_through_unsupported_files, true)
}

/// A file of a user message or of a tool result's content.
struct FileInput<F: Fn(bool) -> String> {
    data: FileData,
    media_type: String,
    filename: Option<String>,
    detail: Option<Value>,
    breakpoint: Option<Value>,
    /// The file name when none is given (`true` for a PDF).
    default_filename: F,
}

impl<F: Fn(bool) -> String> FileInput<F> {
    fn convert(self, pass_through: bool, user: bool) -> Result<Value, ProviderError> {
        let image = top_level_media_type(&self.media_type) == "image";
        let mut p = Map::new();
        p.insert("type".into(), json!(if image { "input_image" } else { "input_file" }));
        match self.data {
            FileData::Reference(reference) => {
                let id = reference.get("openai").filter(|v| !v.is_null()).cloned().ok_or_else(|| {
                    config(format!("No provider reference found for provider 'openai'. Available: {reference}"))
                })?;
                p.insert("file_id".into(), id);
                if image {
                    put(&mut p, "detail", self.detail);
                }
            }
            FileData::Text => return Err(unsupported("text file parts")),
            FileData::Url(url) => {
                let http = url.starts_with("http://") || url.starts_with("https://");
                // streamText downloads and inlines the URLs the model does
                // not take (all but http(s) images and PDFs); no IO here.
                if user && !(http && (image || self.media_type == "application/pdf")) {
                    return Err(config(format!(
                        "file URL {url} ({}) would have to be downloaded and inlined; pass the data instead",
                        self.media_type
                    )));
                }
                p.insert(if image { "image_url" } else { "file_url" }.into(), json!(url));
                if image {
                    put(&mut p, "detail", self.detail);
                }
            }
            FileData::Data(b64) => {
                // createOpenAI passes `file-...` strings as uploaded file ids.
                let file_id = user && b64.starts_with("file-");
                let full = || -> Result<String, ProviderError> {
                    if is_full_media_type(&self.media_type) {
                        return Ok(self.media_type.clone());
                    }
                    TopLevel::parse(top_level_media_type(&self.media_type))
                        .and_then(|t| detect_media_type(&b64, Some(t)))
                        .map(str::to_string)
                        .ok_or_else(|| {
                            unsupported(format!(
                                "file of media type \"{}\" must specify subtype since it could not be auto-detected",
                                self.media_type
                            ))
                        })
                };
                if image {
                    if file_id {
                        p.insert("file_id".into(), json!(b64));
                    } else {
                        p.insert("image_url".into(), json!(format!("data:{};base64,{b64}", full()?)));
                    }
                    put(&mut p, "detail", self.detail);
                } else {
                    let full = full()?;
                    if user && full != "application/pdf" && !pass_through {
                        return Err(unsupported(format!("file part media type {full}")));
                    }
                    if file_id {
                        p.insert("file_id".into(), json!(b64));
                    } else {
                        let name = self.filename.unwrap_or_else(|| (self.default_filename)(full == "application/pdf"));
                        p.insert("filename".into(), json!(name));
                        p.insert("file_data".into(), json!(format!("data:{full};base64,{b64}")));
                    }
                }
            }
        }
        put(&mut p, "prompt_cache_breakpoint", self.breakpoint);
        Ok(Value::Object(p))
    }
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

/// The one output of an expanded `parallel` call: the results' outputs,
/// one a line (input_text parts when one has a cache breakpoint).
fn group_output(g: &Group) -> Result<Value, ProviderError> {
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
fn tool_output(output: &ToolOutput, result_options: Option<&Map<String, Value>>) -> Result<Value, ProviderError> {
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

/// One item of a `content` tool result; `None` for what the SDK skips.
fn content_item(item: &Value) -> Result<Option<Value>, ProviderError> {
    let po = item.get("providerOptions").and_then(Value::as_object);
    let media_type = item.get("mediaType").and_then(Value::as_str).unwrap_or("").to_string();
    let data = match item.get("type").and_then(Value::as_str) {
        Some("text") => {
            let mut p = Map::new();
            p.insert("type".into(), json!("input_text"));
            p.insert("text".into(), item.get("text").cloned().unwrap_or(Value::Null));
            put(&mut p, "prompt_cache_breakpoint", breakpoint(po));
            return Ok(Some(Value::Object(p)));
        }
        Some("file") => match item.get("data") {
            Some(d) => file_data(d)?.0,
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let file = FileInput {
        data,
        media_type,
        filename: item.get("filename").and_then(Value::as_str).map(str::to_string),
        detail: openai(po, "imageDetail").cloned(),
        breakpoint: breakpoint(po),
        default_filename: |_| "data".to_string(),
    };
    file.convert(true, false).map(Some)
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
