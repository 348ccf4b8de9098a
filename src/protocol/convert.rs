//! UI messages to model messages, with the same result as the AI SDK's
//! `convertToModelMessages` (`ai@7.0.173`), which the route handler calls on
//! `headStartMessages` before step 1 (PROTOCOL.md §5.8) and the agent on its
//! history.
//!
//! Left out on purpose: the SDK's per-tool `toModelOutput` hook (our tools
//! are schema-only in the handler) and its `convertDataPart` callback is
//! offered as [`ConvertOptions::convert_data_part`]. URLs are normalized as
//! `new URL(...)` does ([`normalize_url`]).

use serde_json::Value;

pub use super::url::normalize_url;

use super::json::Object;
use super::message::{DataPart, Role, ToolPart, ToolState, UiMessage, UiPart};
use super::model::{
    ContentMessage, CustomPart, ExecutionDenied, FilePart, ModelMessage, ModelPart, OutputValue, SystemMessage, TextPart,
    ToolApprovalRequestPart, ToolApprovalResponsePart, ToolCallPart, ToolOutput, ToolResultPart,
};

/// Turns a `data-*` part into a model part, or drops it (`None`).
pub type DataPartConverter = dyn Fn(&DataPart) -> Option<ModelPart>;

/// Options of [`convert_to_model_messages`].
#[derive(Default)]
pub struct ConvertOptions<'a> {
    /// Drop tool parts that have no result yet (`ignoreIncompleteToolCalls`).
    pub ignore_incomplete_tool_calls: bool,
    /// Turns a `data-*` part into a model part; `None` (the default) drops it.
    pub convert_data_part: Option<&'a DataPartConverter>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("message {message_id}: `{url}` is not a valid URL")]
    InvalidUrl { message_id: String, url: String },
}

/// Converts a UI history into model messages. Fails only where the SDK
/// throws: a file part whose `url` is not a URL.
pub fn convert_to_model_messages(
    messages: &[UiMessage],
    options: &ConvertOptions<'_>,
) -> Result<Vec<ModelMessage>, ConvertError> {
    let last_user = messages.iter().rposition(|m| m.role == Role::User);
    let filter = options.ignore_incomplete_tool_calls || matches!(last_user, Some(i) if i > 0);
    let mut out = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let keep = |part: &&UiPart| -> bool {
            if !filter {
                return true;
            }
            let Some(tool) = part.as_tool() else { return true };
            // Approval requests older than the last user message were never
            // answered: the SDK drops them.
            let stale_request = tool.state == ToolState::ApprovalRequested && last_user.is_some_and(|last| index < last);
            let incomplete = options.ignore_incomplete_tool_calls
                && !matches!(tool.state, ToolState::ApprovalResponded | ToolState::OutputError | ToolState::OutputDenied)
                && !(tool.state == ToolState::OutputAvailable && tool.preliminary != Some(true));
            !stale_request && !incomplete
        };
        let parts: Vec<&UiPart> = message.parts.iter().filter(keep).collect();
        let bad_url = |url: String| ConvertError::InvalidUrl { message_id: message.id.clone(), url };
        match message.role {
            Role::System => out.push(system_message(&parts)),
            Role::User => {
                let mut content = Vec::new();
                for part in parts {
                    match part {
                        UiPart::Text(_) | UiPart::File(_) => content.push(user_content(part).map_err(bad_url)?),
                        UiPart::Data(d) => content.extend(options.convert_data_part.and_then(|f| f(d))),
                        _ => {}
                    }
                }
                out.push(ModelMessage::User(ContentMessage::parts(content)));
            }
            Role::Assistant => {
                let mut block: Vec<&UiPart> = Vec::new();
                for part in parts {
                    match part {
                        UiPart::StepStart(_) => flush_block(&mut block, options, &mut out).map_err(bad_url)?,
                        UiPart::SteeringMessage(s) => {
                            flush_block(&mut block, options, &mut out).map_err(bad_url)?;
                            // Every part is taken for a text or file part, as the SDK does:
                            // anything else fails on its missing `url`.
                            let content = s.parts.iter().map(user_content).collect::<Result<Vec<_>, _>>().map_err(bad_url)?;
                            out.push(ModelMessage::User(ContentMessage::parts(content)));
                        }
                        UiPart::Text(_)
                        | UiPart::Custom(_)
                        | UiPart::Reasoning(_)
                        | UiPart::ReasoningFile(_)
                        | UiPart::File(_)
                        | UiPart::Tool(_)
                        | UiPart::DynamicTool(_)
                        | UiPart::Data(_) => block.push(part),
                        // Sources and unknown parts never reach the model.
                        _ => {}
                    }
                }
                flush_block(&mut block, options, &mut out).map_err(bad_url)?;
            }
        }
    }
    Ok(out)
}

fn system_message(parts: &[&UiPart]) -> ModelMessage {
    let mut content = String::new();
    let mut options = Object::new();
    for part in parts {
        if let UiPart::Text(t) = part {
            content.push_str(&t.text);
            if let Some(meta) = &t.provider_metadata {
                options.extend(meta.clone());
            }
        }
    }
    ModelMessage::System(SystemMessage {
        content,
        provider_options: (!options.is_empty()).then_some(options),
        extra: Object::new(),
    })
}

/// A text or file part of a user message (or of a steering message).
fn user_content(part: &UiPart) -> Result<ModelPart, String> {
    Ok(match part {
        UiPart::Text(t) => ModelPart::Text(TextPart {
            text: t.text.clone(),
            provider_options: t.provider_metadata.clone(),
            extra: Object::new(),
        }),
        UiPart::File(f) => ModelPart::File(FilePart {
            data: Some(file_data(f.provider_reference.as_ref(), &f.url)?),
            media_type: f.media_type.clone(),
            filename: f.filename.clone(),
            provider_options: f.provider_metadata.clone(),
            extra: Object::new(),
        }),
        // `convertUserContentUIPart` makes a file part of anything that is not
        // text, and `new URL(undefined)` throws.
        _ => return Err("undefined".into()),
    })
}

fn file_data(reference: Option<&Value>, url: &str) -> Result<Value, String> {
    Ok(match reference {
        Some(r) if !r.is_null() => serde_json::json!({ "type": "reference", "reference": r }),
        _ => serde_json::json!({ "type": "url", "url": normalize_url(url).ok_or_else(|| url.to_string())? }),
    })
}

/// One step's worth of assistant parts becomes an assistant message, then a
/// tool message with the results (the SDK's `processBlock`).
fn flush_block(block: &mut Vec<&UiPart>, options: &ConvertOptions<'_>, out: &mut Vec<ModelMessage>) -> Result<(), String> {
    if block.is_empty() {
        return Ok(());
    }
    let mut content = Vec::new();
    for part in block.iter() {
        match part {
            UiPart::Text(t) => content.push(ModelPart::Text(TextPart {
                text: t.text.clone(),
                provider_options: t.provider_metadata.clone(),
                extra: Object::new(),
            })),
            UiPart::Custom(c) => content.push(ModelPart::Custom(CustomPart {
                kind: c.kind.clone(),
                provider_options: c.provider_metadata.clone(),
                extra: Object::new(),
            })),
            UiPart::File(f) => content.push(ModelPart::File(FilePart {
                data: Some(file_data(f.provider_reference.as_ref(), &f.url)?),
                media_type: f.media_type.clone(),
                filename: f.filename.clone(),
                provider_options: f.provider_metadata.clone(),
                extra: Object::new(),
            })),
            UiPart::ReasoningFile(f) => content.push(ModelPart::ReasoningFile(FilePart {
                data: Some(file_data(None, &f.url)?),
                media_type: f.media_type.clone(),
                filename: None,
                provider_options: f.provider_metadata.clone(),
                extra: Object::new(),
            })),
            UiPart::Reasoning(r) => content.push(ModelPart::Reasoning(TextPart {
                text: r.text.clone(),
                provider_options: r.provider_metadata.clone(),
                extra: Object::new(),
            })),
            UiPart::Tool(t) | UiPart::DynamicTool(t) => assistant_tool_parts(t, &mut content),
            UiPart::Data(d) => content.extend(options.convert_data_part.and_then(|f| f(d))),
            _ => {}
        }
    }
    if !content.is_empty() {
        out.push(ModelMessage::Assistant(ContentMessage::parts(content)));
    }

    let mut results = Vec::new();
    for part in block.iter() {
        let Some(tool) = part.as_tool() else { continue };
        let approved = tool.approval.as_ref().and_then(|a| a.approved);
        if tool.provider_executed == Some(true) && approved.is_none() {
            continue;
        }
        if let (Some(approval), Some(approved)) = (&tool.approval, approved) {
            results.push(ModelPart::ToolApprovalResponse(ToolApprovalResponsePart {
                approval_id: approval.id.clone(),
                approved,
                reason: approval.reason.clone(),
                provider_executed: tool.provider_executed,
                extra: Object::new(),
            }));
        }
        if tool.state == ToolState::ApprovalResponded && approved == Some(false) {
            results.push(tool_result(
                tool,
                ToolOutput::ExecutionDenied(ExecutionDenied {
                    reason: tool.approval.as_ref().and_then(|a| a.reason.clone()),
                    ..ExecutionDenied::default()
                }),
                tool.call_provider_metadata.clone(),
            ));
        }
        if tool.provider_executed == Some(true) {
            continue;
        }
        let output = match tool.state {
            ToolState::OutputDenied => ToolOutput::error_text(
                tool.approval.as_ref().and_then(|a| a.reason.clone()).unwrap_or_else(|| "Tool call execution denied.".into()),
            ),
            ToolState::OutputError => ToolOutput::error_text(
                // `getErrorMessage(undefined)`.
                tool.error_text.clone().unwrap_or_else(|| "unknown error".into()),
            ),
            ToolState::OutputAvailable => model_output(tool, tool.output.as_ref()),
            _ => continue,
        };
        results.push(tool_result(tool, output, tool.call_provider_metadata.clone()));
    }
    if !results.is_empty() {
        out.push(ModelMessage::Tool(ContentMessage::parts(results)));
    }
    block.clear();
    Ok(())
}

fn assistant_tool_parts(tool: &ToolPart, content: &mut Vec<ModelPart>) {
    if tool.state == ToolState::InputStreaming {
        return;
    }
    let call_meta = tool
        .call_provider_metadata
        .clone()
        .or_else(|| (tool.state == ToolState::OutputError).then(|| tool.result_provider_metadata.clone()).flatten());
    let input = if tool.state == ToolState::OutputError {
        // `part.input ?? part.rawInput`: a null input falls back too.
        tool.input.clone().filter(|v| !v.is_null()).or_else(|| tool.raw_input.clone())
    } else {
        tool.input.clone()
    };
    content.push(ModelPart::ToolCall(ToolCallPart {
        tool_call_id: tool.tool_call_id.clone(),
        tool_name: tool.name().to_string(),
        input,
        provider_executed: tool.provider_executed,
        provider_options: call_meta,
        extra: Object::new(),
    }));
    if let Some(approval) = &tool.approval {
        content.push(ModelPart::ToolApprovalRequest(ToolApprovalRequestPart {
            approval_id: approval.id.clone(),
            tool_call_id: tool.tool_call_id.clone(),
            reason: approval.request_reason.clone(),
            is_automatic: approval.is_automatic,
            signature: approval.signature.clone(),
            input_schema_input: approval.input_schema_input.clone(),
            extra: Object::new(),
        }));
    }
    let done = matches!(tool.state, ToolState::OutputAvailable | ToolState::OutputError);
    if tool.provider_executed == Some(true) && done {
        let output = if tool.state == ToolState::OutputError {
            let text = tool.error_text.clone().map(Value::String).unwrap_or(Value::Null);
            ToolOutput::ErrorJson(OutputValue { value: Some(text), ..OutputValue::default() })
        } else {
            model_output(tool, tool.output.as_ref())
        };
        let meta = tool.result_provider_metadata.clone().or_else(|| tool.call_provider_metadata.clone());
        content.push(tool_result(tool, output, meta));
    }
}

fn tool_result(tool: &ToolPart, output: ToolOutput, meta: Option<Object>) -> ModelPart {
    ModelPart::ToolResult(ToolResultPart {
        tool_call_id: tool.tool_call_id.clone(),
        tool_name: tool.name().to_string(),
        output,
        provider_options: meta,
        extra: Object::new(),
    })
}

/// A successful tool output as the model sees it (`createToolModelOutput`
/// with no tool-specific hook).
fn model_output(tool: &ToolPart, output: Option<&Value>) -> ToolOutput {
    // A dynamic tool marked `dynamic: false` is one the app no longer has.
    if tool.tool_name.is_some() && tool.static_name.is_empty() && tool.dynamic == Some(false) {
        return ToolOutput::text("Tool output omitted because the tool is no longer available.");
    }
    match output {
        Some(Value::String(s)) => ToolOutput::text(s.clone()),
        Some(v) => ToolOutput::json(v.clone()),
        None => ToolOutput::json(Value::Null),
    }
}
