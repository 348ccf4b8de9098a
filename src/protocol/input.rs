//! What the browser sends: the head-start POST body (PROTOCOL.md §3.2) and
//! the `ChatInputChunk`s written to a session's `.in` stream (§5.5, §6.1).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::{present, tagged_union, Object};
use super::message::UiMessage;
use super::model::ModelMessage;

/// Longest chat id the platform accepts (characters after trimming).
pub const CHAT_ID_MAX_CHARS: usize = 256;

/// The head-start POST body. Keys from `useChat`'s `body` option are kept in
/// `extra`: they travel on into the agent's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeadStartRequest {
    #[serde(default)]
    pub head_start_messages: Vec<UiMessage>,
    pub chat_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatIdError {
    #[error("chatId must not be empty")]
    Empty,
    #[error("chatId must be at most {CHAT_ID_MAX_CHARS} characters, got {0}")]
    TooLong(usize),
    #[error("chatId must not start with `session_` (that prefix names platform session ids)")]
    SessionPrefix,
}

/// The metadata flag of a head start whose turn outlives its request: a
/// browser that goes away before the handover (a reload) does not end the
/// turn; step 1 is drained into `.out` and handed over, as the detached
/// route does, so the reloaded page resumes it from `.out`.
pub const OUTLIVE_CLIENT: &str = "headstartResumable";

/// Whether a head start's metadata asks its turn to outlive the request.
pub fn outlives_client(metadata: Option<&Value>) -> bool {
    metadata.and_then(|m| m.get(OUTLIVE_CLIENT)).and_then(Value::as_bool) == Some(true)
}

/// Checks a chat id against the platform's `externalId` rules (§1, §9.5) and
/// returns it trimmed, as the platform stores it.
pub fn validate_chat_id(chat_id: &str) -> Result<&str, ChatIdError> {
    let trimmed = chat_id.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        Err(ChatIdError::Empty)
    } else if chars > CHAT_ID_MAX_CHARS {
        Err(ChatIdError::TooLong(chars))
    } else if trimmed.starts_with("session_") {
        Err(ChatIdError::SessionPrefix)
    } else {
        Ok(trimmed)
    }
}

tagged_union! {
    /// A `ChatInputChunk`: one record on `.in`, routed by `kind` (§7.2).
    pub enum ChatInput, tag = "kind" {
        /// A user message (or an action) for the agent.
        Message(MessageInput) = "message",
        /// Stop the current turn.
        Stop(StopInput) = "stop",
        /// Step 1 is done: here it is (§5.5).
        Handover(Handover) = "handover",
        /// The route handler could not finish step 1; the agent exits.
        HandoverSkip(super::chunk::Marker) = "handover-skip",
    }
    prefixed {}
}

impl ChatInput {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an input chunk always serializes")
    }

    pub fn handover_skip() -> Self {
        Self::HandoverSkip(Default::default())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageInput {
    pub payload: MessagePayload,
    #[serde(flatten)]
    pub extra: Object,
}

/// The payload of a `message` record (§6.1): one message (none for
/// regenerate), plus the `useChat` body extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<UiMessage>,
    pub chat_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub action: Option<Value>,
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StopInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(flatten)]
    pub extra: Object,
}

/// The handover record (§5.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handover {
    /// Step 1's response messages; reshaped (§5.6) when `is_final` is false.
    pub partial_assistant_message: Vec<ModelMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// False iff step 1 finished with `tool-calls`.
    pub is_final: bool,
    #[serde(flatten)]
    pub extra: Object,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_ids_follow_the_external_id_rules() {
        assert_eq!(validate_chat_id("  chat_1 "), Ok("chat_1"));
        assert_eq!(validate_chat_id("   "), Err(ChatIdError::Empty));
        assert_eq!(validate_chat_id("session_abc"), Err(ChatIdError::SessionPrefix));
        assert_eq!(validate_chat_id(&"é".repeat(256)).map(str::len), Ok(512));
        assert_eq!(validate_chat_id(&"x".repeat(257)), Err(ChatIdError::TooLong(257)));
    }

    #[test]
    fn body_extras_survive_into_the_payload() {
        let body = r#"{"headStartMessages":[],"chatId":"c","trigger":"submit-message","model":"fast","metadata":null}"#;
        let req: HeadStartRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.extra.get("model").and_then(|v| v.as_str()), Some("fast"));
        assert_eq!(req.metadata, Some(Value::Null));
        let back: Value = serde_json::to_value(&req).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(body).unwrap());
    }

    #[test]
    fn handover_skip_is_just_its_kind() {
        assert_eq!(ChatInput::handover_skip().to_json(), r#"{"kind":"handover-skip"}"#);
        let stop: ChatInput = serde_json::from_str(r#"{"kind":"stop"}"#).unwrap();
        assert!(matches!(stop, ChatInput::Stop(_)));
        let odd: ChatInput = serde_json::from_str(r#"{"kind":"close","why":1}"#).unwrap();
        assert_eq!(odd.type_name(), "close");
        assert_eq!(odd.to_json(), r#"{"kind":"close","why":1}"#);
    }
}
