//! UI messages: the chat history as the AI SDK's `useChat` holds it and the
//! browser sends it (`headStartMessages`, `message` payloads), from
//! `ai@7.0.173` `UIMessage`.
//!
//! Parts are typed as in the SDK; a part type this crate does not know is
//! kept whole in [`UiPart::Unknown`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::{present, tagged_union, Object, Suffixed};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UiMessage {
    pub id: String,
    pub role: Role,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    pub parts: Vec<UiPart>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

tagged_union! {
    /// One part of a [`UiMessage`].
    pub enum UiPart, tag = "type" {
        Text(TextPart) = "text",
        Reasoning(ReasoningPart) = "reasoning",
        File(FilePart) = "file",
        ReasoningFile(ReasoningFilePart) = "reasoning-file",
        SourceUrl(super::chunk::SourceUrl) = "source-url",
        SourceDocument(super::chunk::SourceDocument) = "source-document",
        StepStart(super::chunk::Marker) = "step-start",
        Custom(super::chunk::Custom) = "custom",
        SteeringMessage(super::chunk::SteeringMessage) = "steering-message",
        /// `dynamic-tool`: a tool whose name travels in `toolName`.
        DynamicTool(ToolPart) = "dynamic-tool",
    }
    prefixed {
        /// `data-<name>`.
        Data(DataPart) = "data-",
        /// `tool-<name>`: a static tool; the name is in the type.
        Tool(ToolPart) = "tool-",
    }
}

impl UiPart {
    /// The tool part behind a `tool-<name>` or `dynamic-tool` part.
    pub fn as_tool(&self) -> Option<&ToolPart> {
        match self {
            Self::Tool(t) | Self::DynamicTool(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextPart {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningPart {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilePart {
    // The order of `convertUserMessageToUIParts`, so `steering-message`
    // chunks serialize as the SDK writes them.
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    pub url: String,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<Value>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningFilePart {
    pub media_type: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

/// Where a tool call is in its life (`UIToolInvocation.state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolState {
    InputStreaming,
    InputAvailable,
    ApprovalRequested,
    ApprovalResponded,
    OutputAvailable,
    OutputError,
    OutputDenied,
}

/// `tool-<name>` and `dynamic-tool` parts (`UIToolInvocation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolPart {
    /// For `tool-<name>` parts: `<name>`, from the type. Not serialized there.
    #[serde(skip)]
    pub static_name: String,
    /// For `dynamic-tool` parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    pub tool_call_id: String,
    pub state: ToolState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub raw_input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_encoding: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_executed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preliminary: Option<bool>,
    /// `dynamic: false` on a `dynamic-tool` part marks a tool that is no
    /// longer available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_provider_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_provider_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    #[serde(flatten)]
    pub extra: Object,
}

impl ToolPart {
    /// The tool's name, static or dynamic (the SDK's `getToolName`).
    pub fn name(&self) -> &str {
        match &self.tool_name {
            Some(n) if self.static_name.is_empty() => n,
            _ => &self.static_name,
        }
    }
}

impl Suffixed for ToolPart {
    fn suffix(&self) -> &str {
        &self.static_name
    }
    fn set_suffix(&mut self, suffix: String) {
        self.static_name = suffix;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<bool>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_automatic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub input_schema_input: Option<Value>,
    #[serde(flatten)]
    pub extra: Object,
}

/// `data-<name>` parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataPart {
    #[serde(skip)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(flatten)]
    pub extra: Object,
}

impl Suffixed for DataPart {
    fn suffix(&self) -> &str {
        &self.name
    }
    fn set_suffix(&mut self, suffix: String) {
        self.name = suffix;
    }
}

/// Why a step or a stream ended. Values the SDK may add later are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
    ContentFilter,
    ToolCalls,
    Error,
    Interrupted,
    Other,
    Unknown(String),
}

impl FinishReason {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ContentFilter => "content-filter",
            Self::ToolCalls => "tool-calls",
            Self::Error => "error",
            Self::Interrupted => "interrupted",
            Self::Other => "other",
            Self::Unknown(s) => s,
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "stop" => Self::Stop,
            "length" => Self::Length,
            "content-filter" => Self::ContentFilter,
            "tool-calls" => Self::ToolCalls,
            "error" => Self::Error,
            "interrupted" => Self::Interrupted,
            "other" => Self::Other,
            s => Self::Unknown(s.to_string()),
        }
    }
}

impl Serialize for FinishReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self::parse(&s))
    }
}
