//! Model messages to Chat Completions messages: `convertToOpenAIChatMessages`
//! of `@ai-sdk/openai`, after `streamText`'s own normalization of the prompt
//! (string content to a text part, empty text parts dropped, image parts to
//! file parts, `data:` URLs split, inline files sniffed for image types).

use serde_json::{json, Map, Value};

use super::js_json;
use super::request::config;
use crate::protocol::model::{Content, FilePart, ModelMessage, ModelPart, TextPart, ToolOutput};
use crate::provider::error::ProviderError;
pub(super) use crate::provider::file::{file_data, file_media_type, full_media_type, unknown_part, unsupported, FileData};
use crate::provider::media::top_level_media_type;
use crate::provider::CallOptions;

/// `providerOptions.openai.<key>`, when not null.
fn openai_option<'a>(provider_options: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Value> {
    provider_options?.get("openai")?.get(key).filter(|v| !v.is_null())
}

fn breakpoint(provider_options: Option<&Map<String, Value>>) -> Option<Value> {
    openai_option(provider_options, "promptCacheBreakpoint").cloned()
}

/// The message-level `providerOptions.openai.name`.
fn message_name(provider_options: Option<&Map<String, Value>>) -> Result<Option<String>, ProviderError> {
    match openai_option(provider_options, "name") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(config("invalid openai provider options: message `name` must be a string")),
    }
}

fn text_block(text: &str, breakpoint: Value) -> Value {
    json!([{ "type": "text", "text": text, "prompt_cache_breakpoint": breakpoint }])
}

/// `convertToOpenAIChatMessages`, after `streamText`'s own prompt
/// normalization (string content to a text part, empty text parts dropped,
/// image parts to file parts, approval parts dropped).
pub(super) fn convert_messages(options: &CallOptions, mode: &str) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::new();
    let system = |out: &mut Vec<Value>, content: &str, po: Option<&Map<String, Value>>| -> Result<(), ProviderError> {
        let name = message_name(po)?;
        if mode == "remove" {
            return Ok(());
        }
        let mut m = Map::new();
        m.insert("role".into(), json!(mode));
        if let Some(n) = name {
            m.insert("name".into(), Value::String(n));
        }
        let content = match breakpoint(po) {
            None => json!(content),
            Some(b) => text_block(content, b),
        };
        m.insert("content".into(), content);
        out.push(Value::Object(m));
        Ok(())
    };
    if let Some(s) = &options.system {
        system(&mut out, s, None)?;
    }
    for message in &options.messages {
        match message {
            ModelMessage::System(s) => system(&mut out, &s.content, s.provider_options.as_ref())?,
            ModelMessage::User(m) => {
                let name = message_name(m.provider_options.as_ref())?;
                let parts: Vec<&ModelPart>;
                let single;
                match &m.content {
                    Content::Text(t) => {
                        single = ModelPart::Text(TextPart::new(t.clone()));
                        parts = vec![&single];
                    }
                    Content::Parts(p) => {
                        parts = p.iter().filter(|p| !matches!(p, ModelPart::Text(t) if t.text.is_empty())).collect();
                    }
                }
                if let [ModelPart::Text(t)] = parts.as_slice() {
                    if breakpoint(t.provider_options.as_ref()).is_none() {
                        let mut msg = Map::new();
                        msg.insert("role".into(), json!("user"));
                        msg.insert("content".into(), json!(t.text));
                        if let Some(n) = name {
                            msg.insert("name".into(), Value::String(n));
                        }
                        out.push(Value::Object(msg));
                        continue;
                    }
                }
                let content =
                    parts.iter().enumerate().map(|(index, part)| user_part(part, index)).collect::<Result<Vec<_>, _>>()?;
                let mut msg = Map::new();
                msg.insert("role".into(), json!("user"));
                if let Some(n) = name {
                    msg.insert("name".into(), Value::String(n));
                }
                msg.insert("content".into(), Value::Array(content));
                out.push(Value::Object(msg));
            }
            ModelMessage::Assistant(m) => {
                let name = message_name(m.provider_options.as_ref())?;
                let mut text = String::new();
                let mut text_parts = Vec::new();
                let mut has_breakpoint = false;
                let mut tool_calls = Vec::new();
                let mut add_text = |t: &str, po: Option<&Map<String, Value>>| {
                    text.push_str(t);
                    let mut part = Map::new();
                    part.insert("type".into(), json!("text"));
                    part.insert("text".into(), json!(t));
                    if let Some(b) = breakpoint(po) {
                        part.insert("prompt_cache_breakpoint".into(), b);
                        has_breakpoint = true;
                    }
                    text_parts.push(Value::Object(part));
                };
                match &m.content {
                    Content::Text(t) => add_text(t, None),
                    Content::Parts(parts) => {
                        for part in parts {
                            match part {
                                // streamText drops empty text parts without provider options.
                                ModelPart::Text(t) if t.text.is_empty() && t.provider_options.is_none() => {}
                                ModelPart::Text(t) => add_text(&t.text, t.provider_options.as_ref()),
                                ModelPart::ToolCall(c) => tool_calls.push(json!({
                                    "id": c.tool_call_id,
                                    "type": "function",
                                    "function": { "name": c.tool_name, "arguments": tool_call_arguments(c.input.as_ref()) },
                                })),
                                ModelPart::Unknown(p) => return Err(unknown_part(p)),
                                // Reasoning, files, custom and provider-executed
                                // results are not sent back to the Chat API.
                                _ => {}
                            }
                        }
                    }
                }
                let mut msg = Map::new();
                msg.insert("role".into(), json!("assistant"));
                if let Some(n) = name {
                    msg.insert("name".into(), Value::String(n));
                }
                let content = if has_breakpoint {
                    Value::Array(text_parts)
                } else if !tool_calls.is_empty() && text.is_empty() {
                    Value::Null
                } else {
                    Value::String(text)
                };
                msg.insert("content".into(), content);
                if !tool_calls.is_empty() {
                    msg.insert("tool_calls".into(), Value::Array(tool_calls));
                }
                out.push(Value::Object(msg));
            }
            ModelMessage::Tool(m) => {
                message_name(m.provider_options.as_ref())?;
                for part in message.parts() {
                    let r = match part {
                        ModelPart::ToolResult(r) => r,
                        ModelPart::Unknown(p) => return Err(unknown_part(p)),
                        _ => continue,
                    };
                    let (content, output_breakpoint) = tool_output(&r.output)?;
                    let b = output_breakpoint.or_else(|| breakpoint(r.provider_options.as_ref()));
                    let content = match (b, content) {
                        (None, c) => c,
                        (Some(b), Value::String(s)) => text_block(&s, b),
                        (Some(b), c) => json!([{ "type": "text", "text": c, "prompt_cache_breakpoint": b }]),
                    };
                    let mut msg = Map::new();
                    msg.insert("role".into(), json!("tool"));
                    msg.insert("tool_call_id".into(), json!(r.tool_call_id));
                    msg.insert("content".into(), content);
                    out.push(Value::Object(msg));
                }
            }
            ModelMessage::Unknown(m) => {
                let role = m.get("role").and_then(Value::as_str).unwrap_or("");
                return Err(config(format!("Unsupported role: {role}")));
            }
        }
    }
    Ok(out)
}

/// streamText validates the prompt first: a part type it does not know is
/// an invalid prompt.
/// `serializeToolCallArguments`: a JSON object as text; anything else `{}`.
fn tool_call_arguments(input: Option<&Value>) -> String {
    match input {
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(_)) => s.clone(),
            _ => "{}".into(),
        },
        Some(v @ Value::Object(_)) => js_json::to_string(v),
        _ => "{}".into(),
    }
}

/// The `content` of a `tool` message and the output's cache breakpoint.
fn tool_output(output: &ToolOutput) -> Result<(Value, Option<Value>), ProviderError> {
    let stringify = |v: &Value| Value::String(js_json::to_string(v));
    let value = |v: &Option<Value>| v.clone().unwrap_or(Value::Null);
    Ok(match output {
        ToolOutput::Text(o) => (value(&o.value), breakpoint(o.provider_options.as_ref())),
        ToolOutput::ErrorText(o) | ToolOutput::ErrorJson(o) => {
            (stringify(&json!({ "error": value(&o.value) })), breakpoint(o.provider_options.as_ref()))
        }
        ToolOutput::ExecutionDenied(d) => (
            json!(d.reason.clone().unwrap_or_else(|| "Tool call execution denied.".into())),
            breakpoint(d.provider_options.as_ref()),
        ),
        ToolOutput::Json(o) => (stringify(&value(&o.value)), breakpoint(o.provider_options.as_ref())),
        ToolOutput::Content(o) => {
            let b = match &o.value {
                Some(Value::Array(items)) => {
                    items.iter().find_map(|item| breakpoint(item.get("providerOptions").and_then(Value::as_object)))
                }
                _ => None,
            };
            (stringify(&value(&o.value)), b)
        }
        ToolOutput::Unknown(o) => return Err(unknown_part(o)),
    })
}

/// One part of a multi-part user message.
fn user_part(part: &ModelPart, index: usize) -> Result<Value, ProviderError> {
    let (data, media_type, filename, provider_options) = match part {
        ModelPart::Text(t) => {
            let mut p = Map::new();
            p.insert("type".into(), json!("text"));
            p.insert("text".into(), json!(t.text));
            if let Some(b) = breakpoint(t.provider_options.as_ref()) {
                p.insert("prompt_cache_breakpoint".into(), b);
            }
            return Ok(Value::Object(p));
        }
        ModelPart::Image(i) => (
            i.image.as_ref().unwrap_or(&Value::Null),
            i.media_type.clone().unwrap_or_else(|| "image".into()),
            None,
            i.provider_options.as_ref(),
        ),
        ModelPart::File(FilePart { data, media_type, filename, provider_options, .. }) => {
            (data.as_ref().unwrap_or(&Value::Null), media_type.clone(), filename.clone(), provider_options.as_ref())
        }
        _ => return Err(config("user messages may only contain text, image and file parts")),
    };
    let (data, data_url_media_type) = file_data(data)?;
    let media_type = file_media_type(&data, data_url_media_type, media_type);
    let with_breakpoint = |mut v: Map<String, Value>| {
        if let Some(b) = breakpoint(provider_options) {
            v.insert("prompt_cache_breakpoint".into(), b);
        }
        Value::Object(v)
    };
    let obj = |v: Value| match v {
        Value::Object(o) => o,
        _ => unreachable!(),
    };
    let b64 = match data {
        FileData::Reference(reference) => {
            let id =
                reference.get("openai").filter(|v| !v.is_null()).cloned().ok_or_else(|| {
                    config(format!("No provider reference found for provider 'openai'. Available: {reference}"))
                })?;
            return Ok(with_breakpoint(obj(json!({ "type": "file", "file": { "file_id": id } }))));
        }
        FileData::Text(_) => return Err(unsupported("text file parts")),
        FileData::Url(url) => {
            // streamText downloads URLs the model does not take (all but
            // http(s) images) and inlines them; no IO happens here.
            let http = url.starts_with("http://") || url.starts_with("https://");
            if top_level_media_type(&media_type) == "image" && http {
                let mut image_url = Map::new();
                image_url.insert("url".into(), json!(url));
                if let Some(d) = openai_option(provider_options, "imageDetail") {
                    image_url.insert("detail".into(), d.clone());
                }
                return Ok(with_breakpoint(obj(json!({ "type": "image_url", "image_url": image_url }))));
            }
            return Err(config(format!(
                "file URL {url} ({media_type}) would have to be downloaded and inlined; pass the data instead"
            )));
        }
        FileData::Data(b64) => b64,
    };
    let full_media_type = || full_media_type(&media_type, &b64);
    match top_level_media_type(&media_type) {
        "image" => {
            let mut image_url = Map::new();
            image_url.insert("url".into(), json!(format!("data:{};base64,{b64}", full_media_type()?)));
            if let Some(d) = openai_option(provider_options, "imageDetail") {
                image_url.insert("detail".into(), d.clone());
            }
            Ok(with_breakpoint(obj(json!({ "type": "image_url", "image_url": image_url }))))
        }
        "audio" => {
            let full = full_media_type()?;
            let format = match full.as_str() {
                "audio/wav" => "wav",
                "audio/mp3" | "audio/mpeg" => "mp3",
                _ => return Err(unsupported(format!("audio content parts with media type {full}"))),
            };
            Ok(with_breakpoint(obj(json!({ "type": "input_audio", "input_audio": { "data": b64, "format": format } }))))
        }
        _ => {
            let full = full_media_type()?;
            if full != "application/pdf" {
                return Err(unsupported(format!("file part media type {full}")));
            }
            let filename = filename.unwrap_or_else(|| format!("part-{index}.pdf"));
            Ok(with_breakpoint(obj(json!({
                "type": "file",
                "file": { "filename": filename, "file_data": format!("data:application/pdf;base64,{b64}") },
            }))))
        }
    }
}
