//! Model messages: what an LLM call takes and what a step's response is made
//! of (the AI SDK's `ModelMessage`). The handover carries step 1's response
//! as model messages (PROTOCOL.md §5.5), and the providers build their
//! requests from them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::{present, tagged_union, Object};

tagged_union! {
    /// One `ModelMessage`, discriminated by `role`.
    pub enum ModelMessage, tag = "role" {
        System(SystemMessage) = "system",
        User(ContentMessage) = "user",
        Assistant(ContentMessage) = "assistant",
        Tool(ContentMessage) = "tool",
    }
    prefixed {}
}

impl ModelMessage {
    pub fn system(text: impl Into<String>) -> Self {
        Self::System(SystemMessage { content: text.into(), provider_options: None, extra: Object::new() })
    }
    pub fn user(parts: Vec<ModelPart>) -> Self {
        Self::User(ContentMessage::parts(parts))
    }
    pub fn assistant(parts: Vec<ModelPart>) -> Self {
        Self::Assistant(ContentMessage::parts(parts))
    }
    pub fn tool(parts: Vec<ModelPart>) -> Self {
        Self::Tool(ContentMessage::parts(parts))
    }

    /// The content parts of a user, assistant or tool message.
    pub fn parts(&self) -> &[ModelPart] {
        match self {
            Self::User(m) | Self::Assistant(m) | Self::Tool(m) => match &m.content {
                Content::Parts(p) => p,
                Content::Text(_) => &[],
            },
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemMessage {
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentMessage {
    pub content: Content,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

impl ContentMessage {
    pub fn parts(parts: Vec<ModelPart>) -> Self {
        Self { content: Content::Parts(parts), provider_options: None, extra: Object::new() }
    }
}

/// A message's content: a bare string (user/assistant shorthand) or parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ModelPart>),
}

impl Content {
    /// The content as parts: a bare string as one text part, parts
    /// borrowed (a history's files are not copied per request).
    pub fn to_parts(&self) -> std::borrow::Cow<'_, [ModelPart]> {
        match self {
            Self::Text(t) => std::borrow::Cow::Owned(vec![ModelPart::Text(TextPart::new(t.clone()))]),
            Self::Parts(p) => std::borrow::Cow::Borrowed(p),
        }
    }
}

tagged_union! {
    /// One content part of a model message.
    pub enum ModelPart, tag = "type" {
        Text(TextPart) = "text",
        Image(ImagePart) = "image",
        File(FilePart) = "file",
        Reasoning(TextPart) = "reasoning",
        ReasoningFile(FilePart) = "reasoning-file",
        Custom(CustomPart) = "custom",
        ToolCall(ToolCallPart) = "tool-call",
        ToolResult(ToolResultPart) = "tool-result",
        ToolApprovalRequest(ToolApprovalRequestPart) = "tool-approval-request",
        ToolApprovalResponse(ToolApprovalResponsePart) = "tool-approval-response",
    }
    prefixed {}
}

/// `text` and `reasoning` parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextPart {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

impl TextPart {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), ..Self::default() }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagePart {
    #[serde(deserialize_with = "present")]
    pub image: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

/// `file` and `reasoning-file` parts. `data` is a `FileData` object
/// (`{type:"url",url}`, `{type:"data",data}`, `{type:"reference",...}`) or a
/// bare string (base64 or URL), kept as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilePart {
    #[serde(deserialize_with = "present")]
    pub data: Option<Value>,
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomPart {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallPart {
    pub tool_call_id: String,
    pub tool_name: String,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_executed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResultPart {
    pub tool_call_id: String,
    pub tool_name: String,
    pub output: ToolOutput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

tagged_union! {
    /// A tool result as the model sees it (`ToolResultOutput`).
    pub enum ToolOutput, tag = "type" {
        Text(OutputValue) = "text",
        Json(OutputValue) = "json",
        ExecutionDenied(ExecutionDenied) = "execution-denied",
        ErrorText(OutputValue) = "error-text",
        ErrorJson(OutputValue) = "error-json",
        Content(OutputValue) = "content",
    }
    prefixed {}
}

impl Default for ToolOutput {
    fn default() -> Self {
        Self::Json(OutputValue { value: Some(Value::Null), ..OutputValue::default() })
    }
}

impl ToolOutput {
    pub fn json(value: Value) -> Self {
        Self::Json(OutputValue { value: Some(value), ..OutputValue::default() })
    }
    pub fn text(value: impl Into<String>) -> Self {
        Self::Text(OutputValue { value: Some(Value::String(value.into())), ..OutputValue::default() })
    }
    pub fn error_text(value: impl Into<String>) -> Self {
        Self::ErrorText(OutputValue { value: Some(Value::String(value.into())), ..OutputValue::default() })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputValue {
    #[serde(deserialize_with = "present")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDenied {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<Object>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolApprovalRequestPart {
    pub approval_id: String,
    pub tool_call_id: String,
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolApprovalResponsePart {
    pub approval_id: String,
    pub approved: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_executed: Option<bool>,
    #[serde(flatten)]
    pub extra: Object,
}
