//! Model messages to Gemini `contents` and `systemInstruction`
//! (`convertToGoogleMessages` of the SDK), after `streamText`'s own prompt
//! normalization (string content to a text part, empty text parts dropped,
//! image parts to file parts, `data:` URLs split, inline files sniffed for
//! an image type). Messages are not merged: each becomes one content.

use serde_json::{json, Map, Value};

use super::{GoogleConfig, ModelTraits};
use crate::protocol::model::{Content, FilePart, ModelMessage, ModelPart, ToolOutput, ToolResultPart};
use crate::protocol::url::normalize_url;
use crate::provider::file::{file_data, file_media_type, full_media_type, unknown_part, unsupported, FileData};
use crate::provider::media::{is_full_media_type, top_level_media_type};
use crate::provider::{CallOptions, ProviderError};

/// What Gemini 3 accepts in place of a missing thought signature on a
/// replayed function call.
const SKIP_THOUGHT_SIGNATURE_VALIDATOR: &str = "skip_thought_signature_validator";

/// `(contents, systemInstruction)`.
pub(super) fn convert_messages(
    config: &GoogleConfig,
    traits: ModelTraits,
    options: &CallOptions,
) -> Result<(Vec<Value>, Option<Value>), ProviderError> {
    let mut system: Vec<Value> = Vec::new();
    let mut contents: Vec<Value> = Vec::new();
    let mut system_allowed = true;
    if let Some(s) = &options.system {
        system.push(json!({ "text": s }));
    }
    let reader = OptionReader(config);
    for message in &options.messages {
        match message {
            ModelMessage::System(s) => {
                if !system_allowed {
                    return Err(unsupported("system messages are only supported at the beginning of the conversation"));
                }
                system.push(json!({ "text": s.content }));
            }
            ModelMessage::User(m) => {
                system_allowed = false;
                let mut parts = Vec::new();
                for part in m.content.to_parts().iter() {
                    match part {
                        ModelPart::Text(t) if t.text.is_empty() => {}
                        ModelPart::Text(t) => parts.push(json!({ "text": t.text })),
                        ModelPart::Image(_) | ModelPart::File(_) => parts.push(user_file(&reader, &part)?),
                        ModelPart::Unknown(p) => return Err(unknown_part(&p)),
                        _ => {}
                    }
                }
                contents.push(json!({ "role": "user", "parts": parts }));
            }
            ModelMessage::Assistant(m) => {
                system_allowed = false;
                let parts = assistant_parts(&reader, traits, &m.content)?;
                contents.push(json!({ "role": "model", "parts": parts }));
            }
            ModelMessage::Tool(m) => {
                system_allowed = false;
                let mut parts = Vec::new();
                for part in m.content.to_parts().iter() {
                    match part {
                        ModelPart::ToolResult(r) => {
                            if let Some(server) = server_tool(&reader, r.provider_options.as_ref()) {
                                // A provider-executed tool's result belongs to
                                // the model turn before.
                                if let Some(last) =
                                    contents.last_mut().filter(|c| c["role"] == "model").and_then(|c| c["parts"].as_array_mut())
                                {
                                    last.push(server.response(&r, reader.signature(r.provider_options.as_ref())));
                                    continue;
                                }
                            }
                            tool_result(config, traits, &r, &mut parts);
                        }
                        ModelPart::Unknown(p) => return Err(unknown_part(&p)),
                        _ => {}
                    }
                }
                contents.push(json!({ "role": "user", "parts": parts }));
            }
            ModelMessage::Unknown(m) => {
                let role = m.get("role").and_then(Value::as_str).unwrap_or("");
                return Err(ProviderError::Config(format!("Unsupported role: {role}")));
            }
        }
    }
    if traits.gemma && !system.is_empty() {
        if let Some(first) = contents.first_mut().filter(|c| c["role"] == "user") {
            let text: Vec<&str> = system.iter().filter_map(|p| p["text"].as_str()).collect();
            if let Some(parts) = first["parts"].as_array_mut() {
                parts.insert(0, json!({ "text": format!("{}\n\n", text.join("\n\n")) }));
            }
        }
    }
    let system = (!system.is_empty()).then(|| json!({ "parts": system }));
    Ok((contents, system))
}

/// Reads a part's Google options as the SDK does (`readProviderOpts`).
struct OptionReader<'a>(&'a GoogleConfig);

impl OptionReader<'_> {
    fn read<'o>(&self, options: Option<&'o Map<String, Value>>) -> Option<&'o Map<String, Value>> {
        let options = options?;
        let get = |name: &str| options.get(name).filter(|v| !v.is_null()).and_then(Value::as_object);
        let mut found = self.0.option_names().iter().find_map(|n| get(n));
        if found.is_none() {
            found = if self.0.vertex { get("google") } else { get("googleVertex").or_else(|| get("vertex")) };
        }
        found
    }

    fn signature(&self, options: Option<&Map<String, Value>>) -> Option<String> {
        self.read(options)?.get("thoughtSignature").filter(|v| !v.is_null()).map(js_string)
    }
}

/// `String(value)`.
fn js_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A provider-executed (server) tool call's id and type.
struct ServerTool {
    id: String,
    kind: String,
}

impl ServerTool {
    fn response(&self, r: &ToolResultPart, signature: Option<String>) -> Value {
        let response = match &r.output {
            ToolOutput::Json(v) => v.value.clone().unwrap_or(Value::Null),
            _ => json!({}),
        };
        let mut part = Map::new();
        part.insert("toolResponse".into(), json!({ "toolType": self.kind, "response": response, "id": self.id }));
        if let Some(s) = signature {
            part.insert("thoughtSignature".into(), s.into());
        }
        Value::Object(part)
    }
}

fn server_tool(reader: &OptionReader, options: Option<&Map<String, Value>>) -> Option<ServerTool> {
    let o = reader.read(options)?;
    let field = |k: &str| o.get(k).filter(|v| !v.is_null()).map(js_string).filter(|s| !s.is_empty());
    Some(ServerTool { id: field("serverToolCallId")?, kind: field("serverToolType")? })
}

/// A part object with an optional `thoughtSignature` last (JSON.stringify
/// drops it when undefined).
fn with_signature(mut part: Map<String, Value>, signature: Option<String>) -> Value {
    if let Some(s) = signature {
        part.insert("thoughtSignature".into(), s.into());
    }
    Value::Object(part)
}

fn assistant_parts(reader: &OptionReader, traits: ModelTraits, content: &Content) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::new();
    let mut has_signed_function_call = false;
    for part in content.to_parts().iter() {
        let reasoning = matches!(part, ModelPart::Reasoning(_));
        match part {
            ModelPart::Text(t) | ModelPart::Reasoning(t) => {
                let signature = reader.signature(t.provider_options.as_ref());
                // streamText drops empty text parts without provider options;
                // the SDK those without a signature.
                if t.text.is_empty() && signature.is_none() {
                    continue;
                }
                let mut p = Map::new();
                p.insert("text".into(), t.text.clone().into());
                if reasoning {
                    p.insert("thought".into(), true.into());
                }
                out.push(with_signature(p, signature));
            }
            ModelPart::ReasoningFile(f) => {
                let signature = reader.signature(f.provider_options.as_ref());
                let (data, _) = file_data(f.data.as_ref().unwrap_or(&Value::Null))?;
                let FileData::Data(b64) = data else {
                    return Err(unsupported("File data URLs in assistant messages are not supported"));
                };
                let mut p = Map::new();
                p.insert("inlineData".into(), json!({ "mimeType": f.media_type, "data": b64 }));
                p.insert("thought".into(), true.into());
                out.push(with_signature(p, signature));
            }
            ModelPart::File(f) => {
                let opts = reader.read(f.provider_options.as_ref());
                let signature = reader.signature(f.provider_options.as_ref());
                let thought = opts.and_then(|o| o.get("thought")) == Some(&Value::Bool(true));
                let (data, _) = file_data(f.data.as_ref().unwrap_or(&Value::Null))?;
                let mut p = Map::new();
                match data {
                    FileData::Url(_) => return Err(unsupported("File data URLs in assistant messages are not supported")),
                    FileData::Reference(r) => {
                        p.insert("fileData".into(), json!({ "mimeType": f.media_type, "fileUri": reference(reader, &r)? }));
                    }
                    FileData::Text(text) => {
                        let mime = if is_full_media_type(&f.media_type) { f.media_type.clone() } else { "text/plain".into() };
                        p.insert("inlineData".into(), json!({ "mimeType": mime, "data": base64(text.as_bytes()) }));
                    }
                    FileData::Data(b64) => {
                        p.insert("inlineData".into(), json!({ "mimeType": f.media_type, "data": b64 }));
                    }
                }
                if thought {
                    p.insert("thought".into(), true.into());
                }
                out.push(with_signature(p, signature));
            }
            ModelPart::ToolCall(c) => {
                let signature = reader.signature(c.provider_options.as_ref());
                let server = server_tool(reader, c.provider_options.as_ref());
                // Gemini 3 rejects a replayed call without a signature, except
                // after a signed one in the same turn (parallel calls).
                let effective = signature.clone().or_else(|| {
                    let skip = traits.gemini3 && (server.is_some() || !has_signed_function_call);
                    skip.then(|| SKIP_THOUGHT_SIGNATURE_VALIDATOR.to_string())
                });
                if server.is_none() && signature.is_some() {
                    has_signed_function_call = true;
                }
                let args = match &c.input {
                    Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
                    other => other.clone().unwrap_or(Value::Null),
                };
                let mut p = Map::new();
                match server {
                    Some(s) => {
                        p.insert("toolCall".into(), json!({ "toolType": s.kind, "args": args, "id": s.id }));
                    }
                    None => {
                        let mut call = Map::new();
                        if !reader.0.vertex {
                            call.insert("id".into(), c.tool_call_id.clone().into());
                        }
                        call.insert("name".into(), c.tool_name.clone().into());
                        if c.input.is_some() {
                            call.insert("args".into(), args);
                        }
                        p.insert("functionCall".into(), Value::Object(call));
                    }
                }
                out.push(with_signature(p, effective));
            }
            ModelPart::ToolResult(r) => {
                if let Some(s) = server_tool(reader, r.provider_options.as_ref()) {
                    out.push(s.response(&r, reader.signature(r.provider_options.as_ref())));
                }
            }
            ModelPart::Unknown(p) => return Err(unknown_part(&p)),
            _ => {}
        }
    }
    Ok(out)
}

/// One tool result as `functionResponse` part(s).
fn tool_result(config: &GoogleConfig, traits: ModelTraits, r: &ToolResultPart, parts: &mut Vec<Value>) {
    let with_id = |mut fr: Map<String, Value>| {
        if !config.vertex {
            fr.insert("id".into(), r.tool_call_id.clone().into());
        }
        fr
    };
    let name = &r.tool_name;
    let (key, value) = match &r.output {
        ToolOutput::Content(v) => {
            let items = v.value.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
            if traits.gemini3 {
                return content_result(with_id(Map::new()), name, &items, parts);
            }
            return legacy_content_result(config, r, &items, parts);
        }
        ToolOutput::Text(v) | ToolOutput::Json(v) => ("content", serialize(v.value.clone().unwrap_or(Value::Null))),
        ToolOutput::ErrorText(v) | ToolOutput::ErrorJson(v) => ("error", serialize(v.value.clone().unwrap_or(Value::Null))),
        ToolOutput::ExecutionDenied(d) => {
            ("error", Value::String(d.reason.clone().unwrap_or_else(|| "Tool call execution denied.".into())))
        }
        ToolOutput::Unknown(o) => ("content", serialize(o.get("value").cloned().unwrap_or(Value::Null))),
    };
    let mut fr = with_id(Map::new());
    fr.insert("name".into(), name.clone().into());
    let mut response = Map::new();
    response.insert("name".into(), name.clone().into());
    response.insert(key.into(), value);
    fr.insert("response".into(), Value::Object(response));
    parts.push(json!({ "functionResponse": fr }));
}

/// `serializeFunctionResponseContent`: a value with a `$ref` anywhere goes
/// as JSON text (the API would read it as a schema reference).
fn serialize(value: Value) -> Value {
    fn has_ref(v: &Value) -> bool {
        match v {
            Value::Object(o) => o.iter().any(|(k, v)| k == "$ref" || has_ref(v)),
            Value::Array(a) => a.iter().any(has_ref),
            _ => false,
        }
    }
    if has_ref(&value) {
        Value::String(value.to_string())
    } else {
        value
    }
}

/// `appendToolResultParts` (Gemini 3): text joined into `content`, inline
/// files as the response's `parts`.
fn content_result(mut fr: Map<String, Value>, name: &str, items: &[Value], parts: &mut Vec<Value>) {
    let mut files = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for item in items {
        match item.get("type").and_then(Value::as_str) {
            Some("text") => texts.push(item.get("text").map(js_string).unwrap_or_default()),
            Some("file") => match inline_of(item) {
                Some((mime, data)) => files.push(json!({ "inlineData": { "mimeType": mime, "data": data } })),
                None => texts.push(item.to_string()),
            },
            _ => texts.push(item.to_string()),
        }
    }
    fr.insert("name".into(), name.into());
    let content = if texts.is_empty() { "Tool executed successfully.".to_string() } else { texts.join("\n") };
    fr.insert("response".into(), json!({ "name": name, "content": content }));
    if !files.is_empty() {
        fr.insert("parts".into(), Value::Array(files));
    }
    parts.push(json!({ "functionResponse": fr }));
}

/// `appendLegacyToolResultParts` (before Gemini 3): one function response
/// per text, inline files as parts of their own.
fn legacy_content_result(config: &GoogleConfig, r: &ToolResultPart, items: &[Value], parts: &mut Vec<Value>) {
    for item in items {
        match item.get("type").and_then(Value::as_str) {
            Some("text") => {
                let mut fr = Map::new();
                if !config.vertex {
                    fr.insert("id".into(), r.tool_call_id.clone().into());
                }
                fr.insert("name".into(), r.tool_name.clone().into());
                let text = item.get("text").cloned().unwrap_or(Value::Null);
                fr.insert("response".into(), json!({ "name": r.tool_name, "content": text }));
                parts.push(json!({ "functionResponse": fr }));
            }
            Some("file") => match inline_of(item) {
                Some((mime, data)) => {
                    let kind = if top_level_media_type(&mime) == "image" { "image" } else { "file" };
                    parts.push(json!({ "inlineData": { "mimeType": mime, "data": data } }));
                    parts.push(json!({ "text": format!("Tool executed successfully and returned this {kind} as a response") }));
                }
                None => parts.push(json!({ "text": item.to_string() })),
            },
            _ => parts.push(json!({ "text": item.to_string() })),
        }
    }
}

/// A `content` output's inline file: `(full media type, base64)`.
fn inline_of(item: &Value) -> Option<(String, String)> {
    let data = item.get("data")?;
    let media = item.get("mediaType").and_then(Value::as_str).unwrap_or("");
    let b64 = match data {
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("data") => o.get("data")?.as_str()?.to_string(),
        Value::String(s) if normalize_url(s).is_none() => s.clone(),
        _ => return None,
    };
    Some((full_media_type(media, &b64).ok()?, b64))
}

/// A user image or file part.
fn user_file(reader: &OptionReader, part: &ModelPart) -> Result<Value, ProviderError> {
    let (data, media_type, provider_options) = match part {
        ModelPart::Image(i) => {
            (i.image.as_ref(), i.media_type.clone().unwrap_or_else(|| "image".into()), i.provider_options.as_ref())
        }
        ModelPart::File(FilePart { data, media_type, provider_options, .. }) => {
            (data.as_ref(), media_type.clone(), provider_options.as_ref())
        }
        _ => unreachable!("called for image and file parts"),
    };
    let (data, data_url_media_type) = file_data(data.unwrap_or(&Value::Null))?;
    let media_type = file_media_type(&data, data_url_media_type, media_type);
    let video = reader.read(provider_options).and_then(|o| o.get("videoMetadata")).filter(|v| !v.is_null()).cloned();
    let mut p = Map::new();
    match data {
        // streamText downloads the URLs the model does not take (for
        // Gemini: https URLs of other media types); no IO happens here, the
        // URL is passed on (see tests/fixtures/providers/README.md).
        FileData::Url(url) => {
            if !is_full_media_type(&media_type) {
                return Err(unsupported(format!(
                    "file of media type \"{media_type}\" must specify subtype since it is not passed as inline bytes"
                )));
            }
            p.insert("fileData".into(), json!({ "mimeType": media_type, "fileUri": url }));
        }
        FileData::Reference(r) => {
            if reader.0.vertex {
                return Err(unsupported("file parts with provider references"));
            }
            let mime = full_media_type(&media_type, "")?;
            p.insert("fileData".into(), json!({ "mimeType": mime, "fileUri": reference(reader, &r)? }));
        }
        FileData::Text(text) => {
            let mime = if is_full_media_type(&media_type) { media_type.clone() } else { "text/plain".into() };
            p.insert("inlineData".into(), json!({ "mimeType": mime, "data": base64(text.as_bytes()) }));
        }
        FileData::Data(b64) => {
            let mime = full_media_type(&media_type, &b64)?;
            p.insert("inlineData".into(), json!({ "mimeType": mime, "data": b64 }));
        }
    }
    if let Some(v) = video {
        p.insert("videoMetadata".into(), v);
    }
    Ok(Value::Object(p))
}

fn reference(reader: &OptionReader, r: &Value) -> Result<Value, ProviderError> {
    if reader.0.vertex {
        return Err(unsupported("file parts with provider references"));
    }
    r.get("google")
        .filter(|v| !v.is_null())
        .cloned()
        .ok_or_else(|| config(format!("No provider reference found for provider 'google'. Available: {r}")))
}

/// `resolveFullMediaType`: the given type when full, else sniffed from the
/// inline bytes.

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn config(message: impl Into<String>) -> ProviderError {
    ProviderError::Config(message.into())
}
