//! Validating what the browser posts to the chat routes, and the one
//! mapping of every refusal or failure to an HTTP status and a JSON body
//! `{"error": message, "code": code}`. The checks run before anything is
//! spent; what the platform said goes to the log, never to the browser.

use serde_json::Value;

use crate::identity::AuthError;
use crate::platform::{PlatformError, PlatformErrorKind};
use crate::protocol::convert::{convert_to_model_messages, ConvertOptions};
use crate::protocol::input::{validate_chat_id, HeadStartRequest};
use crate::protocol::ModelMessage;

/// A refused or failed request: the status, a message for the browser and
/// a machine-readable code. Its `message` never carries what a platform or
/// a provider answered (that may hold internals); log those instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct RequestError {
    pub status: u16,
    pub message: String,
    pub code: &'static str,
    /// The `Retry-After` of a `429`, in seconds.
    pub retry_after_secs: Option<u64>,
}

impl RequestError {
    pub fn new(status: u16, message: impl Into<String>, code: &'static str) -> Self {
        Self { status, message: message.into(), code, retry_after_secs: None }
    }

    /// `429 rate_limited`, with `Retry-After`.
    pub fn rate_limited(what: &str, retry_after_secs: u64) -> Self {
        let message = format!("too many {what} requests from this caller; try again in {retry_after_secs} s");
        Self { retry_after_secs: Some(retry_after_secs), ..Self::new(429, message, "rate_limited") }
    }

    /// `413 too_many_messages`: a first turn longer than the routes take.
    pub fn too_many_messages(count: usize, max: usize) -> Self {
        let message = format!("headStartMessages holds {count} messages, over the limit of {max}; send the recent ones");
        Self::new(413, message, "too_many_messages")
    }

    /// The JSON body, `{"error": message, "code": code}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "error": self.message, "code": self.code }).to_string()
    }

    /// `413 body_too_large`.
    pub fn too_large(max: usize) -> Self {
        Self::new(413, format!("request body is over {max} bytes"), "body_too_large")
    }

    /// `404 not_found` for a path no route serves.
    pub fn not_found(path: &str) -> Self {
        Self::new(404, format!("no route for {path}"), "not_found")
    }

    /// `405 method_not_allowed` on a route's path.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(405, format!("{method} is not allowed on {path}"), "method_not_allowed")
    }

    /// The session could not be created, from the platform's status alone
    /// (its text stays in the log). A conflict (a closed session), a body
    /// the platform finds too large or invalid, and its rate limit keep
    /// their status, as the browser can act on them; anything else (a 5xx,
    /// a network failure, a 401 for our own bad key) is `502`.
    pub fn session_failed(platform_status: Option<u16>) -> Self {
        match platform_status {
            Some(status @ (409 | 413 | 422 | 429)) => {
                Self::new(status, format!("the session platform refused the session ({status})"), "session_failed")
            }
            _ => Self::new(502, "the session platform is unavailable; try again", "session_failed"),
        }
    }

    /// [`Self::session_failed`] from the platform client's error: a closed
    /// session is `409 session_closed`.
    pub fn from_platform(e: &PlatformError) -> Self {
        match e.kind {
            PlatformErrorKind::SessionClosed { .. } => Self::new(409, "the chat's session is closed", "session_closed"),
            _ => Self::session_failed(e.status),
        }
    }

    /// `403 not_owner`: the chat belongs to another identity.
    pub fn not_owner() -> Self {
        Self::new(403, "this chat belongs to another user", "not_owner")
    }

    /// `400 no_messages`: nothing for the model to answer.
    pub fn no_messages() -> Self {
        Self::new(400, "headStartMessages must hold at least one message to answer", "no_messages")
    }

    /// A refused caller: `401` for a missing or bad token, `503` when the
    /// keys cannot be had or no authentication is configured. The message
    /// says what to fix and never quotes the token.
    pub fn from_auth(e: &AuthError) -> Self {
        let message = match e {
            // What the app's hook or the runtime's crypto said goes to the
            // log ([`AuthError::detail`]), not to the browser.
            AuthError::Hook(_) => "the authorize hook failed; the server log says why".to_string(),
            AuthError::KeyUnusable(_) => "the token's key could not be used to check it".to_string(),
            _ => e.to_string(),
        };
        Self::new(e.status(), message, e.code())
    }

    /// `500 internal`: a bug, not the request's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message, "internal")
    }
}

/// A declared `Content-Length` over `max` is refused before the body is read.
pub fn check_declared_length(content_length: Option<&str>, max: usize) -> Result<(), RequestError> {
    match content_length.and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(n) if n > max => Err(RequestError::too_large(max)),
        _ => Ok(()),
    }
}

/// A validated head-start body and its conversation as model messages.
#[derive(Debug, Clone)]
pub struct ParsedHeadStart {
    pub request: HeadStartRequest,
    pub model_messages: Vec<ModelMessage>,
}

/// Parses and validates a head-start body (PROTOCOL.md §3.2): size cap,
/// JSON, the request shape, the chat id rules, the UI messages.
pub fn parse_head_start(body: &[u8], max: usize) -> Result<ParsedHeadStart, RequestError> {
    if body.len() > max {
        return Err(RequestError::too_large(max));
    }
    let request: HeadStartRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) if e.is_syntax() || e.is_eof() => {
            return Err(RequestError::new(400, format!("request body is not JSON: {e}"), "invalid_json"))
        }
        Err(e) => return Err(RequestError::new(400, format!("invalid head-start request: {e}"), "invalid_request")),
    };
    validate_chat_id(&request.chat_id).map_err(|e| RequestError::new(400, e.to_string(), "invalid_chat_id"))?;
    let model_messages = convert_to_model_messages(&request.head_start_messages, &ConvertOptions::default())
        .map_err(|e| RequestError::new(400, e.to_string(), "invalid_messages"))?;
    Ok(ParsedHeadStart { request, model_messages })
}

/// A head start the routes run must have something to answer: with no
/// message (or only system text) the model would be called for nothing, or
/// refuse the call after the session was paid for. (`SessionClient` opens
/// such sessions: its caller runs step 1.)
pub fn require_messages(parsed: &ParsedHeadStart) -> Result<(), RequestError> {
    match parsed.model_messages.iter().any(|m| !matches!(m, ModelMessage::System(_))) {
        true => Ok(()),
        false => Err(RequestError::no_messages()),
    }
}

/// The first turn's history is capped: each message is model input paid
/// for by the operator (the body cap bounds its bytes).
pub fn check_history(parsed: &ParsedHeadStart, max_messages: usize) -> Result<(), RequestError> {
    match parsed.request.head_start_messages.len() {
        n if n > max_messages => Err(RequestError::too_many_messages(n, max_messages)),
        _ => Ok(()),
    }
}

/// The body of the start and token routes, `{chatId, ...}`: the trimmed
/// chat id and the whole body.
pub fn parse_chat_body(body: &[u8]) -> Result<(String, Value), RequestError> {
    let body: Value = serde_json::from_slice(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| RequestError::new(400, "request body must be a JSON object with chatId", "invalid_json"))?;
    let chat_id = body.get("chatId").and_then(Value::as_str).unwrap_or_default();
    let chat_id = validate_chat_id(chat_id).map_err(|e| RequestError::new(400, e.to_string(), "invalid_chat_id"))?.to_string();
    Ok((chat_id, body))
}

/// The `clientData` of a start body (`metadata` is the older name).
pub fn client_data(body: &Value) -> Option<Value> {
    body.get("clientData").or_else(|| body.get("metadata")).cloned().filter(|v| !v.is_null())
}

/// Response headers a cross-origin page may read from a head start.
pub const EXPOSE_HEADERS: &str = "X-Trigger-Chat-Access-Token, X-Trigger-Chat-Pending-Version, Server-Timing, Retry-After";

/// Whether `origin` is one of `allowed` (exact origins, or `*` for any).
pub fn origin_allowed<'a>(origin: &str, allowed: impl IntoIterator<Item = &'a str>) -> bool {
    allowed.into_iter().map(str::trim).any(|a| a == "*" || a == origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> (u16, &'static str) {
        let e = parse_head_start(body.as_bytes(), 32 * 1024).unwrap_err();
        (e.status, e.code)
    }

    #[test]
    fn refusals_have_a_status_and_a_code() {
        assert_eq!(code("not json"), (400, "invalid_json"));
        assert_eq!(code("{\"headStartMessages\":[]}"), (400, "invalid_request"));
        assert_eq!(code("{\"headStartMessages\":[],\"chatId\":\"session_abc\"}"), (400, "invalid_chat_id"));
        assert_eq!(code("{\"headStartMessages\":[],\"chatId\":\"   \"}"), (400, "invalid_chat_id"));
        let bad_file = r#"{"chatId":"x","headStartMessages":[{"id":"u","role":"user","parts":[{"type":"file","mediaType":"image/png","url":"nope"}]}]}"#;
        assert_eq!(code(bad_file), (400, "invalid_messages"));
        let e = parse_head_start(&[b' '; 11], 10).unwrap_err();
        assert_eq!((e.status, e.code), (413, "body_too_large"));
        assert_eq!(check_declared_length(Some("11"), 10).unwrap_err().code, "body_too_large");
        assert!(check_declared_length(Some("10"), 10).is_ok() && check_declared_length(None, 10).is_ok());
        let json: Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(json, serde_json::json!({ "error": "request body is over 10 bytes", "code": "body_too_large" }));
    }

    #[test]
    fn a_valid_head_start() {
        let body =
            r#"{"chatId":" c1 ","headStartMessages":[{"id":"u","role":"user","parts":[{"type":"text","text":"hi"}]}],"extra":1}"#;
        let parsed = parse_head_start(body.as_bytes(), 1024).unwrap();
        assert_eq!(parsed.request.chat_id, " c1 ");
        assert_eq!(parsed.model_messages.len(), 1);
        assert_eq!(parsed.request.extra.get("extra"), Some(&Value::from(1)));
    }

    #[test]
    fn chat_bodies() {
        let (id, body) = parse_chat_body(br#"{"chatId":" c1 ","clientData":{"u":1}}"#).unwrap();
        assert_eq!(id, "c1");
        assert_eq!(client_data(&body), Some(serde_json::json!({ "u": 1 })));
        assert_eq!(parse_chat_body(b"[]").unwrap_err().code, "invalid_json");
        assert_eq!(parse_chat_body(b"{}").unwrap_err().code, "invalid_chat_id");
        assert_eq!(parse_chat_body(br#"{"chatId":""}"#).unwrap_err().status, 400);
    }

    #[test]
    fn origins() {
        assert!(origin_allowed("https://a.example", "https://b.example, https://a.example".split(',')));
        assert!(origin_allowed("https://a.example", ["*"]));
        assert!(!origin_allowed("https://a.example", ["https://b.example"]));
        assert!(!origin_allowed("https://a.example", []));
    }
}
