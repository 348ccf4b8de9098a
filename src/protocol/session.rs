//! Creating a chat session: the `POST /api/v1/sessions` request and response
//! (PROTOCOL.md §5.2, §8.2) and their limits (§9.5), plus the builders for
//! the two bodies this crate sends (head start and preload).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::input::{validate_chat_id, ChatIdError, HeadStartRequest};
use super::json::{present, Object};

/// Largest `POST /api/v1/sessions` body (a `Content-Length` is required).
pub const CREATE_BODY_MAX: usize = 32 * 1024;
/// Largest `POST …/{io}/append` body.
pub const APPEND_BODY_MAX: usize = 1024 * 1024;
/// Tags per session or run, and characters per tag.
pub const TAGS_MAX: usize = 10;
pub const TAG_CHARS_MAX: usize = 128;
/// Default handover wait, seconds (`idleTimeoutInSeconds`).
pub const DEFAULT_IDLE_TIMEOUT_SECS: u32 = 60;
/// Session public access tokens live this long.
pub const PAT_TTL_SECS: u64 = 3600;
/// `Timeout-Seconds` of a stream read: allowed range and default.
pub const READ_TIMEOUT_SECS_MAX: u32 = 600;
pub const DEFAULT_READ_TIMEOUT_SECS: u32 = 60;
/// How long an `X-Part-Id` dedupes appends.
pub const PART_ID_TTL_SECS: u64 = 300;

/// `run.trigger` values this protocol uses in `basePayload`.
pub const TRIGGER_HANDOVER_PREPARE: &str = "handover-prepare";
pub const TRIGGER_PRELOAD: &str = "preload";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub external_id: String,
    pub task_identifier: String,
    pub trigger_config: TriggerConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(flatten)]
    pub extra: Object,
}

/// `SessionTriggerConfig`: how the platform triggers the agent run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerConfig {
    /// The run's payload (plus `sessionId`).
    pub base_payload: Object,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_in_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_to_version: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_deployment_id: Option<String>,
    #[serde(flatten)]
    pub extra: Object,
}

/// `CreatedSessionResponseBody`. The route handler schema-checks it, so a
/// platform must send every required field with the right type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedSession {
    pub id: String,
    pub external_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub task_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_config: Option<TriggerConfig>,
    #[serde(default)]
    pub current_run_id: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Option<Object>,
    pub closed_at: Option<String>,
    pub closed_reason: Option<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub run_id: String,
    pub public_access_token: String,
    pub is_cached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_version: Option<bool>,
    #[serde(flatten)]
    pub extra: Object,
}

/// A violated limit of the create-session request, as the platform's 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionRequestError {
    #[error("externalId: {0}")]
    ExternalId(#[from] ChatIdError),
    #[error("{field} must be 1 to {max} characters")]
    Length { field: &'static str, max: usize },
    #[error("{field}: at most {TAGS_MAX} tags of at most {TAG_CHARS_MAX} characters each")]
    Tags { field: &'static str },
    #[error("triggerConfig.maxAttempts must be 1 to 10")]
    MaxAttempts,
    #[error("triggerConfig.maxDuration must be positive")]
    MaxDuration,
    #[error("triggerConfig.idleTimeoutInSeconds must be 1 to 3600")]
    IdleTimeout,
    #[error("triggerConfig.queue must be at most 128 characters")]
    Queue,
}

impl CreateSessionRequest {
    /// Checks the limits of the core `CreateSessionRequestBody` schema.
    pub fn validate(&self) -> Result<(), SessionRequestError> {
        let chars = |s: &str| s.chars().count();
        if !(1..=64).contains(&chars(&self.kind)) {
            return Err(SessionRequestError::Length { field: "type", max: 64 });
        }
        validate_chat_id(&self.external_id)?;
        if !(1..=128).contains(&chars(&self.task_identifier)) {
            return Err(SessionRequestError::Length { field: "taskIdentifier", max: 128 });
        }
        let tags_ok = |t: &Option<Vec<String>>| {
            t.as_ref().is_none_or(|t| t.len() <= TAGS_MAX && t.iter().all(|s| chars(s) <= TAG_CHARS_MAX))
        };
        if !tags_ok(&self.tags) {
            return Err(SessionRequestError::Tags { field: "tags" });
        }
        let tc = &self.trigger_config;
        if !tags_ok(&tc.tags) {
            return Err(SessionRequestError::Tags { field: "triggerConfig.tags" });
        }
        if tc.max_attempts.is_some_and(|n| !(1..=10).contains(&n)) {
            return Err(SessionRequestError::MaxAttempts);
        }
        if tc.max_duration == Some(0) {
            return Err(SessionRequestError::MaxDuration);
        }
        if tc.idle_timeout_in_seconds.is_some_and(|n| !(1..=3600).contains(&n)) {
            return Err(SessionRequestError::IdleTimeout);
        }
        if tc.queue.as_ref().is_some_and(|q| chars(q) > 128) {
            return Err(SessionRequestError::Queue);
        }
        Ok(())
    }
}

/// `["chat:<id>", ...user]`, at most ten; the chat tag is dropped when the
/// id makes it longer than a tag may be.
pub fn run_tags(chat_id: &str, user_tags: &[String]) -> Vec<String> {
    let chat_tag = format!("chat:{chat_id}");
    let mut tags = Vec::with_capacity(TAGS_MAX);
    if chat_tag.chars().count() <= TAG_CHARS_MAX {
        tags.push(chat_tag);
    }
    tags.extend(user_tags.iter().cloned());
    tags.truncate(TAGS_MAX);
    tags
}

/// The options of a create-session call that the app configures.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// The agent's task identifier.
    pub agent_id: String,
    /// `idleTimeoutInSeconds` for the handover wait (default 60).
    pub idle_timeout_secs: Option<u32>,
    /// Extra run tags (after `chat:<id>`).
    pub tags: Vec<String>,
    /// Keys spread into `basePayload` first (the request overrides them).
    pub base_payload: Object,
}

/// The session tag naming the identity that owns a chat: `owner:` and the
/// SHA-256 of the identity (base64url), so the tag stays under the tag
/// length limit and does not show the user's id to whoever lists tags.
pub fn owner_tag(owner_id: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(owner_id.as_bytes());
    format!("{OWNER_TAG_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
}

/// Prefix of [`owner_tag`].
pub const OWNER_TAG_PREFIX: &str = "owner:";

/// The owner tag among a session's tags, if it has one.
pub fn owner_of(tags: &[String]) -> Option<&str> {
    tags.iter().map(String::as_str).find(|t| t.starts_with(OWNER_TAG_PREFIX))
}

impl CreateSessionRequest {
    /// The session is created for `owner` (its [`owner_tag`] among the
    /// session's tags); a platform that keeps owners refuses the create of
    /// an existing chat for anyone else.
    pub fn owned_by(mut self, owner_id: &str) -> Self {
        let tags = self.tags.get_or_insert_with(Vec::new);
        tags.retain(|t| !t.starts_with(OWNER_TAG_PREFIX));
        tags.push(owner_tag(owner_id));
        self
    }
}

/// The head-start body (§5.2): `basePayload` = configured keys, then the
/// whole browser body, then `chatId`, `trigger: "handover-prepare"` and
/// `idleTimeoutInSeconds`.
pub fn handover_prepare_request(request: &HeadStartRequest, options: &SessionOptions) -> CreateSessionRequest {
    let idle = options.idle_timeout_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS);
    let mut base = options.base_payload.clone();
    if let Value::Object(body) = serde_json::to_value(request).expect("a request serializes") {
        base.extend(body);
    }
    base.insert("chatId".into(), Value::String(request.chat_id.clone()));
    base.insert("trigger".into(), TRIGGER_HANDOVER_PREPARE.into());
    base.insert("idleTimeoutInSeconds".into(), idle.into());
    CreateSessionRequest {
        kind: "chat.agent".into(),
        external_id: request.chat_id.clone(),
        task_identifier: options.agent_id.clone(),
        trigger_config: TriggerConfig {
            base_payload: base,
            tags: Some(run_tags(&request.chat_id, &options.tags)),
            idle_timeout_in_seconds: Some(idle),
            ..TriggerConfig::default()
        },
        tags: None,
        metadata: None,
        expires_at: None,
        extra: Object::new(),
    }
}

/// The preload body (§8.2): `{messages: [], trigger: "preload", ...configured,
/// metadata: clientData (when given), chatId}`.
pub fn preload_request(chat_id: &str, client_data: Option<Value>, options: &SessionOptions) -> CreateSessionRequest {
    let mut base = Object::new();
    base.insert("messages".into(), Value::Array(vec![]));
    base.insert("trigger".into(), TRIGGER_PRELOAD.into());
    base.extend(options.base_payload.clone());
    if let Some(data) = client_data {
        base.insert("metadata".into(), data);
    }
    base.insert("chatId".into(), chat_id.into());
    CreateSessionRequest {
        kind: "chat.agent".into(),
        external_id: chat_id.to_string(),
        task_identifier: options.agent_id.clone(),
        trigger_config: TriggerConfig {
            base_payload: base,
            tags: Some(run_tags(chat_id, &options.tags)),
            idle_timeout_in_seconds: options.idle_timeout_secs,
            ..TriggerConfig::default()
        },
        tags: None,
        metadata: None,
        expires_at: None,
        extra: Object::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options() -> SessionOptions {
        SessionOptions { agent_id: "my-chat".into(), ..Default::default() }
    }

    #[test]
    fn owners_are_tagged_by_a_hash() {
        let req = preload_request("c1", None, &options()).owned_by("user_42");
        let tags = req.tags.clone().unwrap();
        assert_eq!(tags.len(), 1);
        assert_eq!(owner_of(&tags), Some(owner_tag("user_42").as_str()));
        assert!(!tags[0].contains("user_42") && tags[0].len() <= TAG_CHARS_MAX);
        assert_ne!(owner_tag("user_42"), owner_tag("user_43"));
        let again = req.owned_by("user_43");
        assert_eq!(again.tags.unwrap(), [owner_tag("user_43")], "one owner tag at most");
        assert!(req_without_owner().tags.is_none());
    }

    fn req_without_owner() -> CreateSessionRequest {
        preload_request("c1", None, &options())
    }

    #[test]
    fn handover_prepare_matches_the_minimal_body_of_the_spec() {
        let req: HeadStartRequest = serde_json::from_value(json!({
            "headStartMessages": [{ "id": "hN2xQ0mT7cPp4VZr", "role": "user",
                "parts": [{ "type": "text", "text": "What is on https://example.com?" }] }],
            "chatId": "chat_7f3c2a", "trigger": "submit-message", "metadata": { "userId": "user_42" }
        }))
        .unwrap();
        let body = serde_json::to_value(handover_prepare_request(&req, &options())).unwrap();
        assert_eq!(
            body,
            json!({
                "type": "chat.agent", "externalId": "chat_7f3c2a", "taskIdentifier": "my-chat",
                "triggerConfig": {
                    "basePayload": {
                        "headStartMessages": [{ "id": "hN2xQ0mT7cPp4VZr", "role": "user",
                            "parts": [{ "type": "text", "text": "What is on https://example.com?" }] }],
                        "chatId": "chat_7f3c2a", "trigger": "handover-prepare",
                        "metadata": { "userId": "user_42" }, "idleTimeoutInSeconds": 60
                    },
                    "tags": ["chat:chat_7f3c2a"], "idleTimeoutInSeconds": 60
                }
            })
        );
    }

    #[test]
    fn configured_base_payload_loses_to_the_request() {
        let mut o = options();
        o.base_payload.insert("model".into(), "slow".into());
        o.base_payload.insert("trigger".into(), "x".into());
        let req: HeadStartRequest = serde_json::from_value(json!({ "chatId": "c", "model": "fast" })).unwrap();
        let body = handover_prepare_request(&req, &o);
        assert_eq!(body.trigger_config.base_payload["model"], "fast");
        assert_eq!(body.trigger_config.base_payload["trigger"], "handover-prepare");
        body.validate().unwrap();
    }

    #[test]
    fn preload_body_and_tags() {
        let body = serde_json::to_value(preload_request("chat_7f3c2a", Some(json!({"userId":"user_42"})), &options())).unwrap();
        assert_eq!(
            body["triggerConfig"],
            json!({
                "basePayload": { "messages": [], "trigger": "preload", "metadata": { "userId": "user_42" }, "chatId": "chat_7f3c2a" },
                "tags": ["chat:chat_7f3c2a"]
            })
        );
        let many: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
        assert_eq!(run_tags("c", &many).len(), 10);
        assert_eq!(run_tags(&"x".repeat(200), &["a".into()]), ["a"]);
    }

    #[test]
    fn limits_are_enforced() {
        let req: HeadStartRequest = serde_json::from_value(json!({ "chatId": "c" })).unwrap();
        let mut body = handover_prepare_request(&req, &options());
        body.trigger_config.idle_timeout_in_seconds = Some(3601);
        assert_eq!(body.validate(), Err(SessionRequestError::IdleTimeout));
        body.trigger_config.idle_timeout_in_seconds = Some(60);
        body.task_identifier = String::new();
        assert!(matches!(body.validate(), Err(SessionRequestError::Length { field: "taskIdentifier", .. })));
    }

    #[test]
    fn created_session_parses_the_spec_example() {
        let v = json!({
            "id": "session_cm9x2plfh000abcd1efgh", "externalId": "chat_7f3c2a", "type": "chat.agent",
            "taskIdentifier": "my-chat",
            "triggerConfig": { "basePayload": { "chatId": "chat_7f3c2a", "trigger": "handover-prepare" },
                "tags": ["chat:chat_7f3c2a"], "idleTimeoutInSeconds": 60 },
            "currentRunId": "run_cm9x2pm0k000bcde2fghi", "tags": [], "metadata": null, "closedAt": null,
            "closedReason": null, "expiresAt": null, "createdAt": "2026-08-22T10:00:00.000Z",
            "updatedAt": "2026-08-22T10:00:00.000Z", "runId": "run_cm9x2pm0k000bcde2fghi",
            "publicAccessToken": "eyJhbGciOiJIUzI1NiJ9", "isCached": false, "pendingVersion": true
        });
        let s: CreatedSession = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(s.pending_version, Some(true));
        assert_eq!(serde_json::to_value(&s).unwrap(), v);
        let mut missing = v.clone();
        missing.as_object_mut().unwrap().remove("publicAccessToken");
        assert!(serde_json::from_value::<CreatedSession>(missing).is_err());
    }
}
