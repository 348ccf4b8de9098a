//! Provider-neutral stream parts (the AI SDK's `LanguageModelV4StreamPart`,
//! reduced to what chat steps use). Providers emit them; [`super::step`]
//! consumes them.

use crate::protocol::json::Object;
use crate::protocol::message::FinishReason;

use super::error::ProviderError;

#[derive(Debug, Clone, PartialEq)]
pub enum StreamPart {
    TextStart {
        id: String,
        provider_metadata: Option<Object>,
    },
    TextDelta {
        id: String,
        delta: String,
        provider_metadata: Option<Object>,
    },
    TextEnd {
        id: String,
        provider_metadata: Option<Object>,
    },
    ReasoningStart {
        id: String,
        provider_metadata: Option<Object>,
    },
    ReasoningDelta {
        id: String,
        delta: String,
        provider_metadata: Option<Object>,
    },
    ReasoningEnd {
        id: String,
        provider_metadata: Option<Object>,
    },
    ToolInputStart {
        id: String,
        tool_name: String,
        provider_metadata: Option<Object>,
    },
    ToolInputDelta {
        id: String,
        delta: String,
    },
    ToolInputEnd {
        id: String,
    },
    /// A complete tool call; `input` is JSON text.
    ToolCall {
        tool_call_id: String,
        tool_name: String,
        input: String,
        provider_metadata: Option<Object>,
    },
    /// Provider-specific content (`{"type":"custom","kind":"a.b"}`).
    Custom {
        kind: String,
        provider_metadata: Option<Object>,
    },
    ResponseMetadata {
        id: Option<String>,
        model_id: Option<String>,
    },
    Finish {
        reason: FinishReason,
        raw_reason: Option<String>,
        usage: Usage,
        provider_metadata: Option<Object>,
    },
    Error(ProviderError),
}

/// Token counts of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
}
