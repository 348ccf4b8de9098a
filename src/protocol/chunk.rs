//! UI message chunks: what the route handler streams to the browser and what
//! `.out` data records carry (PROTOCOL.md §4.3, from `ai@7.0.173`).
//!
//! Each chunk type is a struct; fields the AI SDK may add later land in
//! `extra` and are written back unchanged, and chunk types this crate does
//! not know are kept whole in [`UiChunk::Unknown`], so forwarding a chunk
//! through this crate never loses anything. Serialization writes `type`
//! first and the fields in the AI SDK's order.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::{present, tagged_union, Object, Suffixed};
use super::message::{FinishReason, UiPart};

tagged_union! {
    /// One `UIMessageChunk`.
    pub enum UiChunk, tag = "type" {
        Start(Start) = "start",
        StartStep(Marker) = "start-step",
        FinishStep(Marker) = "finish-step",
        Finish(Finish) = "finish",
        Abort(Abort) = "abort",
        Error(ErrorChunk) = "error",
        MessageMetadata(MessageMetadata) = "message-metadata",
        TextStart(PartBoundary) = "text-start",
        TextDelta(Delta) = "text-delta",
        TextEnd(TextEnd) = "text-end",
        ReasoningStart(PartBoundary) = "reasoning-start",
        ReasoningDelta(Delta) = "reasoning-delta",
        ReasoningEnd(PartBoundary) = "reasoning-end",
        File(FileChunk) = "file",
        ReasoningFile(FileChunk) = "reasoning-file",
        SourceUrl(SourceUrl) = "source-url",
        SourceDocument(SourceDocument) = "source-document",
        ToolInputStart(ToolInputStart) = "tool-input-start",
        ToolInputDelta(ToolInputDelta) = "tool-input-delta",
        ToolInputAvailable(ToolInput) = "tool-input-available",
        ToolInputError(ToolInput) = "tool-input-error",
        ToolApprovalRequest(ToolApprovalRequest) = "tool-approval-request",
        ToolApprovalResponse(ToolApprovalResponse) = "tool-approval-response",
        ToolOutputAvailable(ToolOutputAvailable) = "tool-output-available",
        ToolOutputError(ToolOutputError) = "tool-output-error",
        ToolOutputDenied(ToolOutputDenied) = "tool-output-denied",
        Custom(Custom) = "custom",
        SteeringMessage(SteeringMessage) = "steering-message",
        ResetStep(Marker) = "reset-step",
        /// `trigger:turn-complete`: only on the route handler → browser hop.
        TriggerTurnComplete(Marker) = "trigger:turn-complete",
        /// `trigger:session-state`: the browser's `.out` cursor for turn 2.
        TriggerSessionState(SessionState) = "trigger:session-state",
    }
    prefixed {
        /// `data-<name>`.
        Data(DataChunk) = "data-",
    }
}

impl UiChunk {
    /// Serializes to compact JSON, as `JSON.stringify` would.
    pub fn to_json(&self) -> String {
        // A chunk is a tree of strings, numbers and maps: it always serializes.
        serde_json::to_string(self).expect("a chunk always serializes")
    }

    /// True for the Trigger pseudo-chunks that never go to `.out`.
    pub fn is_trigger_control(&self) -> bool {
        matches!(self, Self::TriggerTurnComplete(_) | Self::TriggerSessionState(_))
    }
}

/// A chunk with no fields of its own (`start-step`, `finish-step`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    // `toUIMessageChunk` writes `messageMetadata` before `messageId`.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub message_metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finish {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub message_metadata: Option<Value>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Abort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorChunk {
    pub error_text: String,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageMetadata {
    /// Required by the SDK; a chunk without it is still forwarded as is.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub message_metadata: Option<Value>,
    #[serde(flatten)]
    pub extra: Object,
}

/// `text-start`, `reasoning-start`, `reasoning-end`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartBoundary {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

/// `text-delta`, `reasoning-delta`. Field order differs between the two in
/// the SDK's types but not in what it writes: `id` then `delta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delta {
    pub id: String,
    pub delta: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextEnd {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

/// `file`, `reasoning-file` (the SDK writes `mediaType` before `url`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChunk {
    pub media_type: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceUrl {
    pub source_id: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceDocument {
    pub source_id: String,
    pub media_type: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolInputStart {
    pub tool_call_id: String,
    pub tool_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_executed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolInputDelta {
    pub tool_call_id: String,
    pub input_text_delta: String,
    #[serde(flatten)]
    pub extra: Object,
}

/// `tool-input-available` and `tool-input-error` (which adds `errorText`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolInput {
    pub tool_call_id: String,
    pub tool_name: String,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_executed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolApprovalRequest {
    pub approval_id: String,
    pub tool_call_id: String,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub approval_descriptor: Option<Value>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub input_schema_input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_automatic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolApprovalResponse {
    pub approval_id: String,
    pub approved: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_executed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolOutputAvailable {
    pub tool_call_id: String,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_executed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_metadata: Option<Object>,
    // `toUIMessageChunk` writes `preliminary` before `dynamic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preliminary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolOutputError {
    pub tool_call_id: String,
    pub error_text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_executed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolOutputDenied {
    pub tool_call_id: String,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Custom {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SteeringMessage {
    pub id: String,
    pub parts: Vec<UiPart>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionState {
    /// A JSON string: the transport ignores a number.
    pub last_event_id: String,
    #[serde(flatten)]
    pub extra: Object,
}

/// `data-<name>`: application data parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataChunk {
    #[serde(skip)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Required by the SDK; a chunk without it is still forwarded as is.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient: Option<bool>,
    #[serde(flatten)]
    pub extra: Object,
}

impl Suffixed for DataChunk {
    fn suffix(&self) -> &str {
        &self.name
    }
    fn set_suffix(&mut self, suffix: String) {
        self.name = suffix;
    }
}

impl Marker {
    pub fn new() -> Self {
        Self::default()
    }
}
