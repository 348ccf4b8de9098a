//! Building the Messages API request (the SDK's `getArgs`,
//! `convertToAnthropicPrompt` and `prepareTools`), key order included.

use serde_json::{json, Map, Value};

use super::{API_VERSION, DEFAULT_MAX_TOKENS};
use crate::protocol::json::Object;
use crate::protocol::model::{Content, ModelMessage, ModelPart, ToolOutput};
use crate::provider::{CallOptions, HttpProviderConfig, HttpRequest, ProviderError, ToolChoice};

pub fn build_request(config: &HttpProviderConfig, options: &CallOptions) -> Result<HttpRequest, ProviderError> {
    let opts = options.provider_options.get("anthropic").and_then(Value::as_object);
    let thinking = opts.and_then(|o| o.get("thinking")).and_then(Value::as_object);
    let thinking_type = thinking.and_then(|t| t.get("type")).and_then(Value::as_str);
    let is_thinking = matches!(thinking_type, Some("enabled" | "adaptive"));
    let budget = match thinking_type {
        Some("enabled") => Some(thinking.and_then(|t| t.get("budgetTokens")).and_then(Value::as_u64).unwrap_or(1024)),
        _ => None,
    };
    let max_tokens = u64::from(options.max_output_tokens.unwrap_or(DEFAULT_MAX_TOKENS)) + budget.unwrap_or(0);

    let mut body = Map::new();
    body.insert("model".into(), config.model.clone().into());
    body.insert("max_tokens".into(), max_tokens.into());
    // Extended thinking does not take a temperature.
    if let (Some(t), false) = (options.temperature, is_thinking) {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(kind) = thinking_type {
        let mut t = Map::new();
        t.insert("type".into(), kind.into());
        if let Some(b) = budget {
            t.insert("budget_tokens".into(), b.into());
        }
        body.insert("thinking".into(), Value::Object(t));
    }
    if let Some(effort) = opts.and_then(|o| o.get("effort")) {
        body.insert("output_config".into(), json!({ "effort": effort }));
    }
    if let Some(tier) = opts.and_then(|o| o.get("serviceTier")) {
        body.insert("service_tier".into(), tier.clone());
    }
    if let Some(user) = opts.and_then(|o| o.get("metadata")).and_then(|m| m.get("userId")) {
        body.insert("metadata".into(), json!({ "user_id": user }));
    }
    let mut betas: Vec<&'static str> = Vec::new();
    let (system, messages) = prompt(options, &mut betas)?;
    if let Some(system) = system {
        body.insert("system".into(), system);
    }
    body.insert("messages".into(), messages);
    if !options.tools.is_empty() {
        let tools: Vec<Value> = options
            .tools
            .iter()
            .map(|t| {
                let mut tool = Map::new();
                tool.insert("name".into(), t.name.clone().into());
                if let Some(d) = &t.description {
                    tool.insert("description".into(), d.clone().into());
                }
                tool.insert("input_schema".into(), t.input_schema.clone());
                tool.insert("eager_input_streaming".into(), true.into());
                Value::Object(tool)
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        let choice = match options.tool_choice.as_ref().unwrap_or(&ToolChoice::Auto) {
            ToolChoice::Auto => json!({ "type": "auto" }),
            ToolChoice::Required => json!({ "type": "any" }),
            ToolChoice::None => json!({ "type": "none" }),
            ToolChoice::Tool { tool_name } => json!({ "type": "tool", "name": tool_name }),
        };
        body.insert("tool_choice".into(), choice);
    }
    body.insert("stream".into(), true.into());

    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("x-api-key".to_string(), config.api_key.clone()),
        ("anthropic-version".to_string(), API_VERSION.to_string()),
    ];
    if !options.tools.is_empty() {
        betas.push("structured-outputs-2025-11-13");
    }
    if !betas.is_empty() {
        headers.push(("anthropic-beta".into(), betas.join(",")));
    }
    Ok(HttpRequest {
        method: "POST",
        url: format!("{}/messages", config.base_url.trim_end_matches('/')),
        headers,
        body: Value::Object(body).to_string(),
    })
}

/// The system blocks and the messages, consecutive user and tool messages
/// merged into one user turn as the API wants.
fn prompt(options: &CallOptions, betas: &mut Vec<&'static str>) -> Result<(Option<Value>, Value), ProviderError> {
    let mut system: Vec<Value> = Vec::new();
    if let Some(s) = &options.system {
        system.push(json!({ "type": "text", "text": s }));
    }
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let n = options.messages.len();
    for (i, message) in options.messages.iter().enumerate() {
        let is_last = i + 1 == n;
        match message {
            ModelMessage::System(s) => system.push(json!({ "type": "text", "text": s.content })),
            ModelMessage::User(m) => push_turn(&mut messages, "user", user_content(&m.content, betas)?),
            ModelMessage::Tool(m) => push_turn(&mut messages, "user", tool_results(&m.content)),
            ModelMessage::Assistant(m) => {
                let parts = assistant_content(&m.content, is_last);
                push_turn(&mut messages, "assistant", parts);
            }
            ModelMessage::Unknown(o) => {
                return Err(ProviderError::Config(format!(
                    "unsupported message role {:?}",
                    o.get("role").and_then(Value::as_str).unwrap_or("")
                )))
            }
        }
    }
    let messages = messages
        .into_iter()
        .map(|(role, content)| {
            let content = if role == "assistant" { tool_use_last(content) } else { content };
            json!({ "role": role, "content": content })
        })
        .collect();
    Ok(((!system.is_empty()).then_some(Value::Array(system)), Value::Array(messages)))
}

fn push_turn(messages: &mut Vec<(&'static str, Vec<Value>)>, role: &'static str, content: Vec<Value>) {
    match messages.last_mut() {
        Some((r, c)) if *r == role => c.extend(content),
        _ => messages.push((role, content)),
    }
}

fn user_content(content: &Content, betas: &mut Vec<&'static str>) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::new();
    for part in content.to_parts().iter() {
        match part {
            ModelPart::Text(t) => out.push(json!({ "type": "text", "text": t.text })),
            ModelPart::Image(img) => {
                let media = img.media_type.clone().unwrap_or_else(|| "image/*".into());
                out.push(media_block("image", &media, img.image.as_ref())?);
            }
            ModelPart::File(f) => {
                let top = f.media_type.split('/').next().unwrap_or("");
                let kind = match (top, f.media_type.as_str()) {
                    ("image", _) => "image",
                    (_, "application/pdf") => {
                        if !betas.contains(&"pdfs-2024-09-25") {
                            betas.push("pdfs-2024-09-25");
                        }
                        "document"
                    }
                    (_, "text/plain") => "document",
                    _ => return Err(ProviderError::Config(format!("media type {} is not supported by Anthropic", f.media_type))),
                };
                let mut block = media_block(kind, &f.media_type, f.data.as_ref())?;
                if kind == "document" {
                    if let Some(name) = &f.filename {
                        block["title"] = name.clone().into();
                    }
                }
                out.push(block);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// An `image` or `document` block from a file part's data: a URL, a data
/// URL, `{type:"url"}`, `{type:"data"}` or bare base64.
fn media_block(kind: &str, media_type: &str, data: Option<&Value>) -> Result<Value, ProviderError> {
    let (url, inline) = match data {
        Some(Value::Object(o)) if o.get("type").and_then(Value::as_str) == Some("url") => {
            (o.get("url").and_then(Value::as_str).map(str::to_string), None)
        }
        Some(Value::Object(o)) if o.get("type").and_then(Value::as_str) == Some("data") => {
            (None, o.get("data").and_then(Value::as_str).map(str::to_string))
        }
        Some(Value::String(s)) if s.starts_with("http://") || s.starts_with("https://") => (Some(s.clone()), None),
        Some(Value::String(s)) => (None, Some(s.clone())),
        _ => return Err(ProviderError::Config(format!("unsupported {kind} data"))),
    };
    let source = match (url, inline) {
        (Some(url), _) if url.starts_with("data:") => {
            let (meta, b64) = url.split_once(',').unwrap_or(("", ""));
            let media = meta.trim_start_matches("data:").split(';').next().filter(|m| !m.is_empty()).unwrap_or(media_type);
            json!({ "type": "base64", "media_type": media, "data": b64 })
        }
        (Some(url), _) => json!({ "type": "url", "url": url }),
        (None, Some(b64)) if media_type == "text/plain" => {
            json!({ "type": "text", "media_type": "text/plain", "data": b64 })
        }
        (None, Some(b64)) => json!({ "type": "base64", "media_type": media_type, "data": b64 }),
        (None, None) => return Err(ProviderError::Config(format!("{kind} part without data"))),
    };
    Ok(json!({ "type": kind, "source": source }))
}

fn tool_results(content: &Content) -> Vec<Value> {
    content
        .to_parts()
        .iter()
        .filter_map(|p| match p {
            ModelPart::ToolResult(r) => {
                let (content, is_error) = match &r.output {
                    ToolOutput::Text(v) | ToolOutput::ErrorText(v) => {
                        let text = v.value.as_ref().and_then(Value::as_str).unwrap_or_default().to_string();
                        (Value::String(text), matches!(r.output, ToolOutput::ErrorText(_)))
                    }
                    ToolOutput::ExecutionDenied(d) => {
                        (Value::String(d.reason.clone().unwrap_or_else(|| "Tool call execution denied.".into())), false)
                    }
                    ToolOutput::Content(v) => (content_output(v.value.as_ref()), false),
                    ToolOutput::Json(v) | ToolOutput::ErrorJson(v) => {
                        let json = v.value.clone().unwrap_or(Value::Null);
                        (Value::String(json.to_string()), matches!(r.output, ToolOutput::ErrorJson(_)))
                    }
                    ToolOutput::Unknown(o) => (Value::String(Value::Object(o.clone()).to_string()), false),
                };
                let mut block = Map::new();
                block.insert("type".into(), "tool_result".into());
                block.insert("tool_use_id".into(), r.tool_call_id.as_str().into());
                block.insert("content".into(), content);
                if is_error {
                    block.insert("is_error".into(), true.into());
                }
                Some(Value::Object(block))
            }
            _ => None,
        })
        .collect()
}

/// `content` tool outputs: text and media blocks.
fn content_output(value: Option<&Value>) -> Value {
    let items = value.and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(
        items
            .iter()
            .filter_map(|item| match item.get("type").and_then(Value::as_str) {
                Some("text") => Some(json!({ "type": "text", "text": item.get("text").cloned().unwrap_or_default() })),
                Some("file" | "image-data" | "file-data") => {
                    let media = item.get("mediaType").and_then(Value::as_str).unwrap_or("application/octet-stream");
                    let kind = if media.starts_with("image/") { "image" } else { "document" };
                    media_block(kind, media, item.get("data")).ok()
                }
                _ => None,
            })
            .collect(),
    )
}

fn assistant_content(content: &Content, is_last_message: bool) -> Vec<Value> {
    let all = content.to_parts();
    let parts: Vec<&ModelPart> = all.iter().filter(|p| !matches!(p, ModelPart::Text(t) if t.text.is_empty())).collect();
    let n = parts.len();
    let mut out = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        match part {
            ModelPart::Text(t) => {
                // A trailing assistant text is a prefill: the API rejects
                // trailing whitespace there.
                let text = if is_last_message && i + 1 == n { t.text.trim().to_string() } else { t.text.clone() };
                out.push(json!({ "type": "text", "text": text }));
            }
            ModelPart::Reasoning(r) => {
                let meta = r.provider_options.as_ref().and_then(|o| o.get("anthropic")).and_then(Value::as_object);
                if let Some(sig) = meta.and_then(|m| m.get("signature")).and_then(Value::as_str) {
                    out.push(json!({ "type": "thinking", "thinking": r.text, "signature": sig }));
                } else if let Some(data) = meta.and_then(|m| m.get("redactedData")).and_then(Value::as_str) {
                    out.push(json!({ "type": "redacted_thinking", "data": data }));
                }
            }
            ModelPart::ToolCall(c) => {
                out.push(json!({ "type": "tool_use", "id": c.tool_call_id, "name": c.tool_name, "input": tool_input(c.input.as_ref()) }));
            }
            _ => {}
        }
    }
    out
}

/// The API wants an object; the SDK wraps anything else.
fn tool_input(input: Option<&Value>) -> Value {
    match input {
        Some(Value::Object(o)) => Value::Object(o.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(o)) => Value::Object(o),
            _ => json!({ "rawInvalidInput": s }),
        },
        Some(other) => json!({ "rawInvalidInput": other }),
        None => Value::Object(Object::new()),
    }
}

/// The SDK moves `tool_use` blocks after the other blocks of each segment
/// between thinking blocks.
fn tool_use_last(content: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(content.len());
    let mut segment: Vec<Value> = Vec::new();
    let flush = |segment: &mut Vec<Value>, out: &mut Vec<Value>| {
        let (tools, rest): (Vec<_>, Vec<_>) = segment.drain(..).partition(|b| b["type"] == "tool_use");
        out.extend(rest);
        out.extend(tools);
    };
    for block in content {
        if matches!(block["type"].as_str(), Some("thinking" | "redacted_thinking")) {
            flush(&mut segment, &mut out);
            out.push(block);
        } else {
            segment.push(block);
        }
    }
    flush(&mut segment, &mut out);
    out
}
