//! The tool-part half of the message assembler: `updateToolPart` and
//! `updateDynamicToolPart` of the SDK's `processUIMessageStream`, and the
//! look-ups by tool call id and approval id. The SDK's quirks are kept on
//! purpose, so a transcript reads back exactly as the browser built it: an
//! update overwrites `input`, `output`, `errorText`, `rawInput` and
//! `preliminary` with what the chunk carries (dropping them when it carries
//! none), drops `inputEncoding` unless given, and keeps `title`,
//! `toolMetadata` and `providerExecuted` unless given.

use serde_json::Value;

use crate::protocol::chunk::ToolInput;
use crate::protocol::json::Object;
use crate::protocol::message::{Approval, ToolPart, ToolState, UiPart};
use crate::protocol::UiChunk;

use super::{parse_partial_json, MessageBuilder, PartialToolCall, TranscriptError};

impl MessageBuilder {
    /// The `tool-*` chunks.
    pub(super) fn apply_tool(&mut self, chunk: &UiChunk) -> Result<(), TranscriptError> {
        let parts = &mut self.message.parts;
        match chunk {
            UiChunk::ToolInputStart(c) => {
                let dynamic = c.dynamic == Some(true);
                self.partial_tool_calls.insert(
                    c.tool_call_id.clone(),
                    PartialToolCall {
                        text: String::new(),
                        input_encoding: c.input_encoding.clone(),
                        tool_name: c.tool_name.clone(),
                        dynamic,
                        title: c.title.clone(),
                        tool_metadata: c.tool_metadata.clone(),
                    },
                );
                let update = ToolUpdate {
                    tool_call_id: c.tool_call_id.clone(),
                    tool_name: c.tool_name.clone(),
                    state: Some(ToolState::InputStreaming),
                    input_encoding: c.input_encoding.clone(),
                    provider_executed: c.provider_executed,
                    title: c.title.clone(),
                    tool_metadata: c.tool_metadata.clone(),
                    provider_metadata: c.provider_metadata.clone(),
                    ..ToolUpdate::default()
                };
                update_tool_part(parts, update, None, dynamic);
            }
            UiChunk::ToolInputDelta(c) => {
                let Some(call) = self.partial_tool_calls.get_mut(&c.tool_call_id) else {
                    return Err(TranscriptError {
                        chunk_type: "tool-input-delta".into(),
                        chunk_id: c.tool_call_id.clone(),
                        message: format!(
                            "Received tool-input-delta for missing tool call with ID \"{}\". Ensure a \"tool-input-start\" chunk is sent before any \"tool-input-delta\" chunks.",
                            c.tool_call_id
                        ),
                    });
                };
                call.text.push_str(&c.input_text_delta);
                let input = if call.input_encoding.as_deref() == Some("text") {
                    Some(Value::String(call.text.clone()))
                } else {
                    parse_partial_json(&call.text)
                };
                let update = ToolUpdate {
                    tool_call_id: c.tool_call_id.clone(),
                    tool_name: call.tool_name.clone(),
                    state: Some(ToolState::InputStreaming),
                    input_encoding: call.input_encoding.clone(),
                    input,
                    raw_input: Some(Value::String(call.text.clone())),
                    title: call.title.clone(),
                    tool_metadata: call.tool_metadata.clone(),
                    ..ToolUpdate::default()
                };
                update_tool_part(parts, update, None, call.dynamic);
            }
            UiChunk::ToolInputAvailable(c) => {
                let update = ToolUpdate { state: Some(ToolState::InputAvailable), title: c.title.clone(), ..input_update(c) };
                update_tool_part(parts, update, None, c.dynamic == Some(true));
            }
            UiChunk::ToolInputError(c) => {
                let begin = step_begin(parts);
                let existing = parts[begin..].iter().find(|p| p.as_tool().is_some_and(|t| t.tool_call_id == c.tool_call_id));
                let dynamic = match existing {
                    Some(p) => matches!(p, UiPart::DynamicTool(_)),
                    None => c.dynamic == Some(true),
                };
                let update =
                    ToolUpdate { state: Some(ToolState::OutputError), error_text: c.error_text.clone(), ..input_update(c) };
                update_tool_part(parts, update, None, dynamic);
            }
            UiChunk::ToolApprovalRequest(c) => {
                let index = find_invocation(parts, &c.tool_call_id)?;
                let part = tool_mut(&mut parts[index]);
                part.state = ToolState::ApprovalRequested;
                part.approval = Some(Approval {
                    id: c.approval_id.clone(),
                    descriptor: c.approval_descriptor.clone().filter(|d| !d.is_null()),
                    input_schema_input: c.input_schema_input.clone(),
                    request_reason: c.reason.clone(),
                    is_automatic: (c.is_automatic == Some(true)).then_some(true),
                    signature: c.signature.clone(),
                    ..Approval::default()
                });
            }
            UiChunk::ToolApprovalResponse(c) => {
                let index = find_by_approval(parts, &c.approval_id)?;
                let part = tool_mut(&mut parts[index]);
                let mut approval = part.approval.take().unwrap_or_default();
                approval.id = c.approval_id.clone();
                approval.approved = Some(c.approved);
                if c.reason.is_some() {
                    approval.reason = c.reason.clone();
                }
                part.approval = Some(approval);
                part.state = ToolState::ApprovalResponded;
                if c.provider_executed.is_some() {
                    part.provider_executed = c.provider_executed;
                }
                if c.provider_metadata.is_some() {
                    part.call_provider_metadata = c.provider_metadata.clone();
                }
            }
            UiChunk::ToolOutputDenied(c) => {
                let index = find_invocation(parts, &c.tool_call_id)?;
                tool_mut(&mut parts[index]).state = ToolState::OutputDenied;
            }
            UiChunk::ToolOutputAvailable(c) => {
                let index = find_invocation(parts, &c.tool_call_id)?;
                let update = ToolUpdate {
                    tool_call_id: c.tool_call_id.clone(),
                    state: Some(ToolState::OutputAvailable),
                    output: c.output.clone(),
                    preliminary: c.preliminary,
                    provider_executed: c.provider_executed,
                    provider_metadata: c.provider_metadata.clone(),
                    tool_metadata: c.tool_metadata.clone(),
                    ..ToolUpdate::default()
                };
                settle(parts, index, update);
            }
            UiChunk::ToolOutputError(c) => {
                let index = find_invocation(parts, &c.tool_call_id)?;
                let update = ToolUpdate {
                    tool_call_id: c.tool_call_id.clone(),
                    state: Some(ToolState::OutputError),
                    error_text: Some(c.error_text.clone()),
                    provider_executed: c.provider_executed,
                    provider_metadata: c.provider_metadata.clone(),
                    tool_metadata: c.tool_metadata.clone(),
                    ..ToolUpdate::default()
                };
                settle(parts, index, update);
            }
            _ => unreachable!("apply_tool takes tool chunks"),
        }
        Ok(())
    }
}

/// The fields `tool-input-available` and `tool-input-error` share.
fn input_update(c: &ToolInput) -> ToolUpdate {
    ToolUpdate {
        tool_call_id: c.tool_call_id.clone(),
        tool_name: c.tool_name.clone(),
        input: c.input.clone(),
        provider_executed: c.provider_executed,
        provider_metadata: c.provider_metadata.clone(),
        tool_metadata: c.tool_metadata.clone(),
        ..ToolUpdate::default()
    }
}

/// What one chunk sets on a tool part (the SDK's `options` of
/// `updateToolPart`; `None` is `undefined`).
#[derive(Debug, Default)]
pub(super) struct ToolUpdate {
    pub tool_call_id: String,
    pub tool_name: String,
    pub state: Option<ToolState>,
    pub input: Option<Value>,
    pub input_encoding: Option<String>,
    pub output: Option<Value>,
    pub raw_input: Option<Value>,
    pub error_text: Option<String>,
    pub provider_executed: Option<bool>,
    pub preliminary: Option<bool>,
    pub title: Option<String>,
    pub tool_metadata: Option<Object>,
    pub provider_metadata: Option<Object>,
}

/// Index of the first part of the current step (after the last
/// `step-start`).
pub(super) fn step_begin(parts: &[UiPart]) -> usize {
    parts.iter().rposition(|p| matches!(p, UiPart::StepStart(_))).map_or(0, |i| i + 1)
}

/// The SDK's `getToolInvocation`: the current step's tool part with this
/// call id, else the last such part of the whole message.
pub(super) fn find_invocation(parts: &[UiPart], tool_call_id: &str) -> Result<usize, TranscriptError> {
    let begin = step_begin(parts);
    let matches = |p: &UiPart| p.as_tool().is_some_and(|t| t.tool_call_id == tool_call_id);
    parts[begin..].iter().position(matches).map(|i| begin + i).or_else(|| parts.iter().rposition(matches)).ok_or_else(|| {
        TranscriptError {
            chunk_type: "tool-invocation".into(),
            chunk_id: tool_call_id.into(),
            message: format!("No tool invocation found for tool call ID \"{tool_call_id}\"."),
        }
    })
}

/// The SDK's `getToolInvocationByApprovalId`: the first tool part whose
/// approval has this id.
pub(super) fn find_by_approval(parts: &[UiPart], approval_id: &str) -> Result<usize, TranscriptError> {
    parts.iter().position(|p| p.as_tool().and_then(|t| t.approval.as_ref()).is_some_and(|a| a.id == approval_id)).ok_or_else(
        || TranscriptError {
            chunk_type: "tool-approval-response".into(),
            chunk_id: approval_id.into(),
            message: format!("No tool invocation found for approval ID \"{approval_id}\"."),
        },
    )
}

pub(super) fn tool_mut(part: &mut UiPart) -> &mut ToolPart {
    match part {
        UiPart::Tool(t) | UiPart::DynamicTool(t) => t,
        _ => unreachable!("the index of a tool part"),
    }
}

fn is_result_state(state: &ToolState) -> bool {
    matches!(state, ToolState::OutputAvailable | ToolState::OutputError)
}

/// `updateToolPart` (`dynamic == false`) or `updateDynamicToolPart`: updates
/// `existing`, else the current step's tool part of that kind with the call
/// id, else appends a new part.
pub(super) fn update_tool_part(parts: &mut Vec<UiPart>, o: ToolUpdate, existing: Option<usize>, dynamic: bool) {
    let state = o.state.expect("every tool update sets a state");
    let found = existing.or_else(|| {
        let begin = step_begin(parts);
        parts[begin..]
            .iter()
            .position(|p| match p {
                UiPart::Tool(t) if !dynamic => t.tool_call_id == o.tool_call_id,
                UiPart::DynamicTool(t) if dynamic => t.tool_call_id == o.tool_call_id,
                _ => false,
            })
            .map(|i| begin + i)
    });
    let result_metadata = is_result_state(&state);
    if let Some(index) = found {
        let part = tool_mut(&mut parts[index]);
        part.state = state;
        if dynamic {
            part.tool_name = Some(o.tool_name);
        } else {
            part.static_name = o.tool_name;
        }
        part.input = o.input;
        part.output = o.output;
        part.error_text = o.error_text;
        part.raw_input = o.raw_input;
        part.input_encoding = o.input_encoding;
        part.preliminary = o.preliminary;
        if o.title.is_some() {
            part.title = o.title;
        }
        if o.tool_metadata.is_some() {
            part.tool_metadata = o.tool_metadata;
        }
        part.provider_executed = o.provider_executed.or(part.provider_executed);
        if let Some(metadata) = o.provider_metadata {
            if result_metadata {
                part.result_provider_metadata = Some(metadata);
            } else {
                part.call_provider_metadata = Some(metadata);
            }
        }
        return;
    }
    let (call_metadata, result_provider_metadata) =
        if result_metadata { (None, o.provider_metadata) } else { (o.provider_metadata, None) };
    let part = ToolPart {
        static_name: if dynamic { String::new() } else { o.tool_name.clone() },
        tool_name: dynamic.then_some(o.tool_name),
        tool_call_id: o.tool_call_id,
        state,
        title: o.title,
        input: o.input,
        raw_input: o.raw_input,
        input_encoding: o.input_encoding,
        output: o.output,
        error_text: o.error_text,
        provider_executed: o.provider_executed,
        preliminary: o.preliminary,
        dynamic: None,
        call_provider_metadata: call_metadata,
        result_provider_metadata,
        tool_metadata: o.tool_metadata,
        approval: None,
        extra: Object::new(),
    };
    parts.push(if dynamic { UiPart::DynamicTool(part) } else { UiPart::Tool(part) });
}

/// `tool-output-available` / `tool-output-error` on the part at `index`:
/// the part keeps its name, input and title; `toolMetadata` falls back to
/// the part's. A static part also keeps its `rawInput` on an error (the SDK
/// passes it there and nowhere else).
pub(super) fn settle(parts: &mut Vec<UiPart>, index: usize, mut update: ToolUpdate) {
    let (dynamic, name, input, title, metadata, raw_input) = match &parts[index] {
        UiPart::DynamicTool(t) => (true, t.tool_name.clone().unwrap_or_default(), &t.input, &t.title, &t.tool_metadata, None),
        UiPart::Tool(t) => {
            let raw = matches!(update.state, Some(ToolState::OutputError)).then(|| t.raw_input.clone()).flatten();
            (false, t.static_name.clone(), &t.input, &t.title, &t.tool_metadata, raw)
        }
        _ => unreachable!("the index of a tool part"),
    };
    update.tool_name = name;
    update.input = input.clone();
    update.title = title.clone();
    update.tool_metadata = update.tool_metadata.or_else(|| metadata.clone());
    update.raw_input = raw_input;
    update_tool_part(parts, update, Some(index), dynamic);
}
