//! Assembling a UI message from UI message chunks, as the AI SDK's
//! `readUIMessageStream` does (`processUIMessageStream` with
//! `createStreamingUIMessageState`, `ai@7.0.173`).
//!
//! The agent keeps each chat's transcript as `UIMessage`s (served at
//! `GET /api/chats/{chatId}/messages`), and one assistant message of a
//! head-start turn is written by two parties: step 1 by the route handler,
//! the tool results and step 2+ by the agent, under the same message id. A
//! [`MessageBuilder`] fed the whole `.out` stream of a turn (or started from
//! the message synthesized at the handover and fed the agent's chunks)
//! yields the message the browser shows, part for part.
//!
//! Differences from the SDK, all deliberate:
//! - [`MessageBuilder::message`] is the assembler's current state, as
//!   `onFinish`'s `responseMessage` is; `readUIMessageStream` yields a
//!   snapshot only on chunks that change what the user sees, so its last
//!   snapshot lacks a trailing `step-start` part that no later chunk showed.
//! - Partial tool input is repaired as the SDK repairs it but parsed with
//!   `serde_json` (see [`partial_json`]).
//! - Message metadata that is not a JSON object replaces the old metadata
//!   (the SDK spreads strings and arrays into index-keyed objects).
//! - No schema validation (`messageMetadataSchema`, `dataPartSchemas`) and
//!   no callbacks (`onToolCall`, `onData`); `error` chunks are left to the
//!   caller, as they do not change the message.
//! - A chunk type this crate does not parse (`UiChunk::Unknown`, including a
//!   bare `data-` type) is ignored; the SDK ignores all but `data-`.
//!   `trigger:*` chunks, which never reach the SDK, are ignored too.

mod partial_json;
#[cfg(test)]
mod tests;
mod tool_parts;

use std::collections::HashMap;

use serde_json::Value;

use crate::protocol::chunk::Marker;
use crate::protocol::json::Object;
use crate::protocol::message::{DataPart, FinishReason, ReasoningPart, Role, TextPart, ToolState};
use crate::protocol::{UiChunk, UiMessage, UiPart};

pub use partial_json::{fix_json, parse_partial_json};
use tool_parts::step_begin;

/// A chunk the SDK refuses (its `UIMessageStreamError`): a delta or end for
/// a part never started, a result for an unknown tool call. The message
/// matches the SDK's word for word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TranscriptError {
    pub chunk_type: String,
    pub chunk_id: String,
    pub message: String,
}

/// A tool call whose input is still streaming (`partialToolCalls`).
#[derive(Debug, Clone)]
struct PartialToolCall {
    text: String,
    input_encoding: Option<String>,
    tool_name: String,
    dynamic: bool,
    title: Option<String>,
    tool_metadata: Option<Object>,
}

/// Builds one assistant [`UiMessage`] from [`UiChunk`]s.
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    message: UiMessage,
    /// Text and reasoning parts still streaming: chunk id → part index.
    active_text: HashMap<String, usize>,
    active_reasoning: HashMap<String, usize>,
    partial_tool_calls: HashMap<String, PartialToolCall>,
    finish_reason: Option<FinishReason>,
    halted: Option<TranscriptError>,
}

impl Default for MessageBuilder {
    fn default() -> Self {
        Self::new(None)
    }
}

impl MessageBuilder {
    /// Starts from `existing` when it is an assistant message (chunks then
    /// continue it, as long as a `start` chunk carries its id or none), else
    /// from an empty assistant message with `existing`'s id or `""`.
    pub fn new(existing: Option<UiMessage>) -> Self {
        let message = match existing {
            Some(m) if m.role == Role::Assistant => m,
            other => empty_message(other.map(|m| m.id).unwrap_or_default()),
        };
        let mut builder = Self {
            message,
            active_text: HashMap::new(),
            active_reasoning: HashMap::new(),
            partial_tool_calls: HashMap::new(),
            finish_reason: None,
            halted: None,
        };
        builder.resume_partial_tool_calls();
        builder
    }

    /// The message so far.
    pub fn message(&self) -> UiMessage {
        self.message.clone()
    }

    pub fn into_message(self) -> UiMessage {
        self.message
    }

    /// The last `finish` chunk's reason, if any (since the last reset).
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.finish_reason.as_ref()
    }

    /// The chunk that stopped the assembly, if one did.
    pub fn error(&self) -> Option<&TranscriptError> {
        self.halted.as_ref()
    }

    /// Applies one chunk. A chunk the SDK refuses returns the error and
    /// stops the assembly, as it ends the SDK's stream: later chunks are
    /// ignored and the message stays as it was.
    pub fn push(&mut self, chunk: &UiChunk) -> Result<(), TranscriptError> {
        if self.halted.is_some() {
            return Ok(());
        }
        let result = self.apply(chunk);
        if let Err(e) = &result {
            self.halted = Some(e.clone());
        }
        result
    }

    /// Tool parts of the last step still streaming their input can take
    /// more `tool-input-delta` chunks (`createStreamingUIMessageState`).
    fn resume_partial_tool_calls(&mut self) {
        let begin = step_begin(&self.message.parts);
        for part in &self.message.parts[begin..] {
            let dynamic = matches!(part, UiPart::DynamicTool(_));
            let Some(tool) = part.as_tool() else { continue };
            if tool.state != ToolState::InputStreaming {
                continue;
            }
            self.partial_tool_calls.insert(
                tool.tool_call_id.clone(),
                PartialToolCall {
                    text: tool.raw_input.as_ref().and_then(Value::as_str).unwrap_or_default().to_string(),
                    input_encoding: tool.input_encoding.clone(),
                    tool_name: tool.name().to_string(),
                    dynamic,
                    title: tool.title.clone(),
                    tool_metadata: tool.tool_metadata.clone(),
                },
            );
        }
    }

    fn apply(&mut self, chunk: &UiChunk) -> Result<(), TranscriptError> {
        let parts = &mut self.message.parts;
        match chunk {
            UiChunk::Start(c) => {
                if c.message_id.as_ref().is_some_and(|id| *id != self.message.id) {
                    *self = Self::new(None);
                }
                if let Some(id) = &c.message_id {
                    self.message.id = id.clone();
                }
                self.merge_metadata(c.message_metadata.as_ref());
            }
            UiChunk::Finish(c) => {
                if let Some(reason) = &c.finish_reason {
                    self.finish_reason = Some(reason.clone());
                }
                self.merge_metadata(c.message_metadata.as_ref());
            }
            UiChunk::MessageMetadata(c) => self.merge_metadata(c.message_metadata.as_ref()),
            UiChunk::StartStep(_) => parts.push(UiPart::StepStart(Marker::new())),
            UiChunk::ResetStep(_) => {
                self.active_text.clear();
                self.active_reasoning.clear();
                self.partial_tool_calls.clear();
                parts.truncate(step_begin(parts));
            }
            UiChunk::TextStart(c) => {
                self.active_text.insert(c.id.clone(), parts.len());
                parts.push(UiPart::Text(TextPart {
                    provider_metadata: c.provider_metadata.clone(),
                    state: Some("streaming".into()),
                    ..TextPart::default()
                }));
            }
            UiChunk::TextDelta(c) => {
                let part = text_part(parts, &self.active_text, "delta", &c.id)?;
                part.text.push_str(&c.delta);
                keep_or_replace(&mut part.provider_metadata, &c.provider_metadata);
            }
            UiChunk::TextEnd(c) => {
                let part = text_part(parts, &self.active_text, "end", &c.id)?;
                part.state = Some("done".into());
                if c.citations.is_some() {
                    part.citations = c.citations.clone();
                }
                keep_or_replace(&mut part.provider_metadata, &c.provider_metadata);
                self.active_text.remove(&c.id);
            }
            UiChunk::ReasoningStart(c) => {
                self.active_reasoning.insert(c.id.clone(), parts.len());
                parts.push(UiPart::Reasoning(ReasoningPart {
                    id: Some(c.id.clone()),
                    provider_metadata: c.provider_metadata.clone(),
                    state: Some("streaming".into()),
                    ..ReasoningPart::default()
                }));
            }
            UiChunk::ReasoningDelta(c) => {
                let part = reasoning_part(parts, &self.active_reasoning, "delta", &c.id)?;
                part.text.push_str(&c.delta);
                keep_or_replace(&mut part.provider_metadata, &c.provider_metadata);
            }
            UiChunk::ReasoningEnd(c) => {
                let part = reasoning_part(parts, &self.active_reasoning, "end", &c.id)?;
                keep_or_replace(&mut part.provider_metadata, &c.provider_metadata);
                part.state = Some("done".into());
                self.active_reasoning.remove(&c.id);
            }
            UiChunk::File(c) | UiChunk::ReasoningFile(c) => {
                let mut map = Object::new();
                map.insert("type".into(), chunk.type_name().into_owned().into());
                map.insert("mediaType".into(), c.media_type.clone().into());
                map.insert("url".into(), c.url.clone().into());
                if let Some(m) = &c.provider_metadata {
                    map.insert("providerMetadata".into(), Value::Object(m.clone()));
                }
                parts.push(serde_json::from_value(Value::Object(map)).expect("a file part"));
            }
            UiChunk::SourceUrl(c) => {
                parts.push(UiPart::SourceUrl(crate::protocol::chunk::SourceUrl { extra: Object::new(), ..c.clone() }))
            }
            UiChunk::SourceDocument(c) => {
                parts.push(UiPart::SourceDocument(crate::protocol::chunk::SourceDocument { extra: Object::new(), ..c.clone() }))
            }
            UiChunk::Custom(c) => {
                parts.push(UiPart::Custom(crate::protocol::chunk::Custom { extra: Object::new(), ..c.clone() }))
            }
            UiChunk::SteeringMessage(c) => {
                parts.push(UiPart::SteeringMessage(crate::protocol::chunk::SteeringMessage { extra: Object::new(), ..c.clone() }))
            }
            UiChunk::Data(c) => {
                if c.transient == Some(true) {
                    return Ok(());
                }
                let existing = c.id.as_ref().and_then(|id| {
                    parts.iter_mut().find_map(|p| match p {
                        UiPart::Data(d) if d.name == c.name && d.id.as_ref() == Some(id) => Some(d),
                        _ => None,
                    })
                });
                match existing {
                    Some(part) => part.data = c.data.clone(),
                    None => {
                        let mut extra = c.extra.clone();
                        if let Some(t) = c.transient {
                            extra.insert("transient".into(), t.into());
                        }
                        parts.push(UiPart::Data(DataPart {
                            name: c.name.clone(),
                            id: c.id.clone(),
                            data: c.data.clone(),
                            extra,
                        }));
                    }
                }
            }
            UiChunk::ToolInputStart(_)
            | UiChunk::ToolInputDelta(_)
            | UiChunk::ToolInputAvailable(_)
            | UiChunk::ToolInputError(_)
            | UiChunk::ToolApprovalRequest(_)
            | UiChunk::ToolApprovalResponse(_)
            | UiChunk::ToolOutputDenied(_)
            | UiChunk::ToolOutputAvailable(_)
            | UiChunk::ToolOutputError(_) => return self.apply_tool(chunk),
            UiChunk::FinishStep(_)
            | UiChunk::Error(_)
            | UiChunk::Abort(_)
            | UiChunk::TriggerTurnComplete(_)
            | UiChunk::TriggerSessionState(_)
            | UiChunk::Unknown(_) => {}
        }
        Ok(())
    }

    /// `updateMessageMetadata`: a non-null value is deep-merged into the
    /// metadata so far.
    fn merge_metadata(&mut self, metadata: Option<&Value>) {
        let Some(new) = metadata.filter(|m| !m.is_null()) else { return };
        self.message.metadata = Some(match self.message.metadata.take() {
            Some(old) if !old.is_null() => merge_objects(old, new),
            _ => new.clone(),
        });
    }
}

fn empty_message(id: String) -> UiMessage {
    UiMessage { id, role: Role::Assistant, metadata: None, parts: Vec::new(), extra: Object::new() }
}

/// `chunk.providerMetadata ?? part.providerMetadata`.
fn keep_or_replace(slot: &mut Option<Object>, new: &Option<Object>) {
    if new.is_some() {
        slot.clone_from(new);
    }
}

fn missing(kind: &str, what: &str, id: &str) -> TranscriptError {
    TranscriptError {
        chunk_type: format!("{kind}-{what}"),
        chunk_id: id.into(),
        message: format!(
            "Received {kind}-{what} for missing {kind} part with ID \"{id}\". Ensure a \"{kind}-start\" chunk is sent before any \"{kind}-{what}\" chunks."
        ),
    }
}

fn text_part<'a>(
    parts: &'a mut [UiPart],
    active: &HashMap<String, usize>,
    what: &str,
    id: &str,
) -> Result<&'a mut TextPart, TranscriptError> {
    match active.get(id).map(|&i| &mut parts[i]) {
        Some(UiPart::Text(t)) => Ok(t),
        _ => Err(missing("text", what, id)),
    }
}

fn reasoning_part<'a>(
    parts: &'a mut [UiPart],
    active: &HashMap<String, usize>,
    what: &str,
    id: &str,
) -> Result<&'a mut ReasoningPart, TranscriptError> {
    match active.get(id).map(|&i| &mut parts[i]) {
        Some(UiPart::Reasoning(r)) => Ok(r),
        _ => Err(missing("reasoning", what, id)),
    }
}

/// The SDK's `mergeObjects`: nested objects merge key by key, anything else
/// (arrays included) replaces; `__proto__`, `constructor` and `prototype`
/// keys are skipped. A non-object on either side replaces the old value.
pub(crate) fn merge_objects(base: Value, overrides: &Value) -> Value {
    let (Value::Object(mut base), Value::Object(overrides)) = (base, overrides) else {
        return overrides.clone();
    };
    for (key, value) in overrides {
        if matches!(key.as_str(), "__proto__" | "constructor" | "prototype") {
            continue;
        }
        match base.get_mut(key) {
            Some(old) if old.is_object() && value.is_object() => *old = merge_objects(old.take(), value),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(base)
}
