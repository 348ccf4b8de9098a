//! Requests the route handler sends to the session platform, and what it
//! makes of the answers (PROTOCOL.md §5.1-§5.7, §6.2, §9).
//!
//! | call | builder | parser |
//! |---|---|---|
//! | `POST /api/v1/sessions` (§5.2) | [`PlatformClient::create_session`] | [`parse_created`] |
//! | `PUT /realtime/v1/sessions/{key}/{io}` (§5.3) | [`PlatformClient::init_stream`] | [`parse_credentials`] |
//! | `POST {s2}/streams/{name}/records` (§5.4 (b)) | [`s2_append`] | [`parse_ack`] |
//! | `POST …/{key}/in/append` (§5.5) | [`PlatformClient::append_input`] | [`parse_append`] |
//! | `GET …/{key}/{io}` SSE (§5.7) | [`PlatformClient::subscribe`] | [`check_subscription`] |
//!
//! Every platform call carries the headers of §5.1 in the SDK's order.
//! Success bodies are schema-checked (serde into the protocol types), as
//! the SDK's `zodfetch` does; a non-2xx becomes a [`PlatformError`] with
//! the status, the body's message and whether the retry policy
//! ([`super::retry`]) would try again.
//!
//! Left out: the S2S/HTTP2 and protobuf transports (a Worker can only use
//! the JSON one, §5.4 (b)), `x-trigger-branch` (preview environments), the
//! in-task headers, and the session token route (the handler uses the PAT
//! that create returns).

use super::retry::{header, is_retryable_status, js_parse_int, s2_is_retryable_status, subscribe_is_fatal};
use crate::io::{FetchError, HttpRequest};
use crate::protocol::input::ChatInput;
use crate::protocol::record::{AppendAck, AppendInput, AppendResponse, DEFAULT_FLUSH_INTERVAL_MS};
use crate::protocol::session::{CreateSessionRequest, CreatedSession};
use crate::selfhost::Io;

/// `trigger-version`: the SDK release this client speaks for.
pub const TRIGGER_VERSION: &str = "4.8.3";
/// `x-trigger-api-version`.
pub const API_VERSION: &str = "2025-07-16";
/// `x-trigger-realtime-streams-version` and the required `X-Stream-Version`.
pub const STREAMS_VERSION: &str = "v2";
/// The hosted platform.
pub const DEFAULT_BASE_URL: &str = "https://api.trigger.dev";

/// What `init_stream` answers when the credentials are missing (§5.3).
pub const MISSING_CREDENTIALS: &str = "Session stream initialize did not return S2 credentials — server may be \
configured for v1 realtime streams, which sessions do not support.";

/// The route handler's client: base URL and secret key (`Debug` hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct PlatformClient {
    /// Without a trailing `/`.
    pub base_url: String,
    /// `tr_dev_…` / `tr_prod_…` (or the self-hosted platform's key).
    pub secret_key: String,
}

impl std::fmt::Debug for PlatformClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformClient").field("base_url", &self.base_url).field("secret_key", &"…").finish()
    }
}

impl PlatformClient {
    pub fn new(base_url: &str, secret_key: &str) -> Self {
        Self { base_url: base_url.trim_end_matches('/').to_string(), secret_key: secret_key.to_string() }
    }

    /// The headers of every call (§5.1), in the SDK's order.
    pub fn common_headers(&self) -> Vec<(String, String)> {
        [
            ("Content-Type", "application/json".to_string()),
            ("Authorization", format!("Bearer {}", self.secret_key)),
            ("trigger-version", TRIGGER_VERSION.to_string()),
            ("x-trigger-source", "sdk".to_string()),
            ("x-trigger-api-version", API_VERSION.to_string()),
            ("x-trigger-realtime-streams-version", STREAMS_VERSION.to_string()),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect()
    }

    /// `{base}/realtime/v1/sessions/{encodeURIComponent(key)}/{io}`.
    pub fn session_url(&self, key: &str, io: Io) -> String {
        format!("{}/realtime/v1/sessions/{}/{io}", self.base_url, encode_uri_component(key))
    }

    /// `POST /api/v1/sessions` (§5.2).
    pub fn create_session(&self, request: &CreateSessionRequest) -> HttpRequest {
        HttpRequest {
            method: "POST",
            url: format!("{}/api/v1/sessions", self.base_url),
            headers: self.common_headers(),
            body: serde_json::to_string(request).expect("a create-session request always serializes"),
        }
    }

    /// `GET /api/v1/sessions/{key}`: the session item (its tags carry its
    /// owner, see [`crate::protocol::session::owner_tag`]).
    pub fn retrieve_session(&self, key: &str) -> HttpRequest {
        HttpRequest {
            method: "GET",
            url: format!("{}/api/v1/sessions/{}", self.base_url, encode_uri_component(key)),
            headers: self.common_headers(),
            body: String::new(),
        }
    }

    /// `PUT /realtime/v1/sessions/{key}/{io}` with no body (§5.3).
    pub fn init_stream(&self, key: &str, io: Io) -> HttpRequest {
        HttpRequest { method: "PUT", url: self.session_url(key, io), headers: self.common_headers(), body: String::new() }
    }

    /// `POST …/{key}/in/append` (§5.5): the chunk's raw JSON as the body and
    /// `X-Part-Id`, which the caller reuses on every retry of this append.
    pub fn append_input(&self, key: &str, input: &ChatInput, part_id: &str) -> HttpRequest {
        let mut headers = self.common_headers();
        headers.push(("X-Part-Id".into(), part_id.to_string()));
        HttpRequest { method: "POST", url: format!("{}/append", self.session_url(key, Io::In)), headers, body: input.to_json() }
    }

    /// `GET …/{key}/{io}/records`: the stream's records so far, no wait
    /// (the self-hosted platform's; `.in` needs the secret key).
    pub fn read_records(&self, key: &str, io: Io) -> HttpRequest {
        HttpRequest {
            method: "GET",
            url: format!("{}/records", self.session_url(key, io)),
            headers: self.common_headers(),
            body: String::new(),
        }
    }

    /// `GET …/{key}/{io}` as the route handler subscribes (§5.7): `Accept`,
    /// the common headers, `Last-Event-ID` when given; no `Timeout-Seconds`
    /// (the server's default wait applies) and no `X-Peek-Settled`.
    pub fn subscribe(&self, key: &str, io: Io, last_event_id: Option<u64>) -> HttpRequest {
        let mut headers = vec![("Accept".to_string(), "text/event-stream".to_string())];
        headers.extend(self.common_headers());
        if let Some(id) = last_event_id {
            headers.push(("Last-Event-ID".into(), id.to_string()));
        }
        HttpRequest { method: "GET", url: self.session_url(key, io), headers, body: String::new() }
    }
}

/// S2 write credentials from `init_stream` (§5.3). `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct S2Credentials {
    pub access_token: String,
    pub basin: String,
    pub stream_name: String,
    /// The S2 data plane base, with its path (`…/v1`) and no trailing `/`.
    pub endpoint: String,
    /// The platform named the endpoint: S2 calls then carry `s2-basin`.
    pub endpoint_given: bool,
    /// Batch linger, `X-S2-Flush-Interval-Ms` (default 200).
    pub flush_interval_ms: u64,
    /// `X-S2-Max-Retries`: parsed, unused (as in the SDK).
    pub max_retries: Option<u64>,
}

impl std::fmt::Debug for S2Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S2Credentials")
            .field("access_token", &"…")
            .field("basin", &self.basin)
            .field("stream_name", &self.stream_name)
            .field("endpoint", &self.endpoint)
            .field("endpoint_given", &self.endpoint_given)
            .field("flush_interval_ms", &self.flush_interval_ms)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// What went wrong in a platform call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformErrorKind {
    /// The request could not be made or the connection failed.
    Network,
    /// A non-2xx answer.
    Status,
    /// `409` with `code: "session_closed"`: the chat is closed for good.
    SessionClosed { reason: Option<String> },
    /// A 2xx whose body does not match the schema.
    Schema,
    /// `init_stream` answered without token, basin or stream name.
    MissingCredentials,
    /// `X-S2-Basin` is not a valid S2 basin name.
    InvalidBasin,
    /// A subscription answered without `X-Stream-Version: v2`.
    StreamVersion,
}

/// A failed platform call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PlatformError {
    pub kind: PlatformErrorKind,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    pub message: String,
    /// Whether the call's retry policy would try again (attempts aside).
    pub retryable: bool,
}

impl PlatformError {
    fn new(kind: PlatformErrorKind, status: Option<u16>, message: impl Into<String>, retryable: bool) -> Self {
        Self { kind, status, message: message.into(), retryable }
    }

    /// A fetch that got no response (retried by every policy).
    pub fn network(error: &FetchError) -> Self {
        Self::new(PlatformErrorKind::Network, None, format!("Connection error: {error}"), true)
    }

    /// A non-2xx answer of a platform JSON call, classified by `zodfetch`'s
    /// policy. A closed session is never retryable, whatever the headers.
    pub fn from_response(status: u16, headers: &[(String, String)], body: &str) -> Self {
        Self::from_body(status, body, is_retryable_status(status, headers))
    }

    fn from_body(status: u16, body: &str, retryable: bool) -> Self {
        let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let field = |name: &str| json.as_ref().and_then(|j| j.get(name)).and_then(|v| v.as_str()).map(str::to_string);
        let text = field("message").or_else(|| field("error")).unwrap_or_else(|| {
            let trimmed = body.trim();
            if json.is_none() && !trimmed.is_empty() {
                trimmed.chars().take(500).collect()
            } else {
                "(no message)".to_string()
            }
        });
        let message = format!("{status} {text}");
        if status == 409 && field("code").as_deref() == Some("session_closed") {
            let kind = PlatformErrorKind::SessionClosed { reason: field("closedReason") };
            return Self::new(kind, Some(status), message, false);
        }
        Self::new(PlatformErrorKind::Status, Some(status), message, retryable)
    }

    fn schema(status: u16, what: &str, error: impl std::fmt::Display) -> Self {
        Self::new(PlatformErrorKind::Schema, Some(status), format!("invalid response from {what}: {error}"), false)
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The answer to [`PlatformClient::create_session`].
pub fn parse_created(status: u16, headers: &[(String, String)], body: &str) -> Result<CreatedSession, PlatformError> {
    if !is_success(status) {
        return Err(PlatformError::from_response(status, headers, body));
    }
    serde_json::from_str(body).map_err(|e| PlatformError::schema(status, "POST /api/v1/sessions", e))
}

/// The tags of a session, from [`PlatformClient::retrieve_session`]:
/// `None` when there is no such session (404).
pub fn parse_session_tags(status: u16, headers: &[(String, String)], body: &str) -> Result<Option<Vec<String>>, PlatformError> {
    if status == 404 {
        return Ok(None);
    }
    if !is_success(status) {
        return Err(PlatformError::from_response(status, headers, body));
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        tags: Vec<String>,
    }
    let item: Item = serde_json::from_str(body).map_err(|e| PlatformError::schema(status, "GET /api/v1/sessions/{key}", e))?;
    Ok(Some(item.tags))
}

/// Whether `.in`'s records (from [`PlatformClient::read_records`]) hold a
/// `stop`. Each record's `data` is the input's JSON text (or the input).
pub fn parse_stop_requested(status: u16, headers: &[(String, String)], body: &str) -> Result<bool, PlatformError> {
    if !is_success(status) {
        return Err(PlatformError::from_response(status, headers, body));
    }
    let body: serde_json::Value =
        serde_json::from_str(body).map_err(|e| PlatformError::from_response(502, headers, &e.to_string()))?;
    let records = body.get("records").and_then(serde_json::Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Ok(records.iter().any(|r| {
        let input = match r.get("data") {
            Some(serde_json::Value::String(text)) => serde_json::from_str(text).ok(),
            other => other.cloned(),
        };
        input.and_then(|i| i.get("kind").and_then(|k| k.as_str()).map(|k| k == "stop")) == Some(true)
    }))
}

/// The answer to [`PlatformClient::init_stream`]: a JSON body with a string
/// `version` (the SDK checks it), credentials in the headers.
pub fn parse_credentials(status: u16, headers: &[(String, String)], body: &str) -> Result<S2Credentials, PlatformError> {
    if !is_success(status) {
        return Err(PlatformError::from_response(status, headers, body));
    }
    let json: serde_json::Value =
        serde_json::from_str(body).map_err(|e| PlatformError::schema(status, "stream initialize", e))?;
    if !json.get("version").is_some_and(serde_json::Value::is_string) {
        return Err(PlatformError::schema(status, "stream initialize", "no string `version` in the body"));
    }
    let get = |name: &str| header(headers, name).filter(|v| !v.is_empty());
    let (Some(token), Some(basin), Some(stream)) = (get("x-s2-access-token"), get("x-s2-basin"), get("x-s2-stream-name")) else {
        return Err(PlatformError::new(PlatformErrorKind::MissingCredentials, Some(status), MISSING_CREDENTIALS, false));
    };
    if !is_valid_basin(basin) {
        let message = format!("invalid S2 basin name {basin:?}: expected 8 to 48 of a-z, 0-9 and inner '-'");
        return Err(PlatformError::new(PlatformErrorKind::InvalidBasin, Some(status), message, false));
    }
    let given = get("x-s2-endpoint");
    let endpoint = match given {
        Some(e) => normalize_endpoint(e),
        None => format!("https://{basin}.b.s2.dev/v1"),
    };
    let number = |name: &str| get(name).and_then(js_parse_int).and_then(|n| u64::try_from(n).ok());
    Ok(S2Credentials {
        access_token: token.to_string(),
        basin: basin.to_string(),
        stream_name: stream.to_string(),
        endpoint,
        endpoint_given: given.is_some(),
        flush_interval_ms: number("x-s2-flush-interval-ms").unwrap_or(u64::from(DEFAULT_FLUSH_INTERVAL_MS)),
        max_retries: number("x-s2-max-retries"),
    })
}

/// `^[a-z0-9][a-z0-9-]{6,46}[a-z0-9]$`, the S2 SDK's client-side check.
pub fn is_valid_basin(name: &str) -> bool {
    let b = name.as_bytes();
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (8..=48).contains(&b.len()) && edge(b[0]) && edge(b[b.len() - 1]) && b.iter().all(|&c| edge(c) || c == b'-')
}

/// An endpoint with no path gets `/v1`; a trailing `/` is dropped.
fn normalize_endpoint(endpoint: &str) -> String {
    let e = endpoint.trim();
    let after_scheme = e.find("://").map_or(0, |i| i + 3);
    let has_path = e[after_scheme..].find('/').is_some_and(|i| !e[after_scheme + i..].trim_end_matches('/').is_empty());
    if has_path {
        e.trim_end_matches('/').to_string()
    } else {
        format!("{}/v1", e.trim_end_matches('/'))
    }
}

/// `POST {endpoint}/streams/{encodeURIComponent(stream)}/records` with a JSON
/// `AppendInput` (§5.4 (b)).
pub fn s2_append(credentials: &S2Credentials, input: &AppendInput) -> HttpRequest {
    let mut headers = vec![
        ("Authorization".to_string(), format!("Bearer {}", credentials.access_token)),
        ("Content-Type".to_string(), "application/json".to_string()),
    ];
    if credentials.endpoint_given {
        headers.push(("s2-basin".into(), credentials.basin.clone()));
    }
    HttpRequest {
        method: "POST",
        url: format!("{}/streams/{}/records", credentials.endpoint, encode_uri_component(&credentials.stream_name)),
        headers,
        body: serde_json::to_string(input).expect("an append always serializes"),
    }
}

/// The answer to [`s2_append`]: an `AppendAck` whose `end` is not before
/// its `start`. Errors carry S2's `{message, code}` and the S2 policy's
/// retryability.
pub fn parse_ack(status: u16, _headers: &[(String, String)], body: &str) -> Result<AppendAck, PlatformError> {
    if !is_success(status) {
        return Err(PlatformError::from_body(status, body, s2_is_retryable_status(status)));
    }
    let ack: AppendAck = serde_json::from_str(body).map_err(|e| PlatformError::schema(status, "S2 append", e))?;
    if ack.end.seq_num < ack.start.seq_num {
        return Err(PlatformError::schema(status, "S2 append", "end before start"));
    }
    Ok(ack)
}

/// The answer to [`PlatformClient::append_input`]: `{ok, seq?}`, with a
/// boolean `ok` required (§5.5). A 2xx with `ok: false` is returned as is,
/// as the SDK does. `409` + `code: "session_closed"` is
/// [`PlatformErrorKind::SessionClosed`].
pub fn parse_append(status: u16, headers: &[(String, String)], body: &str) -> Result<AppendResponse, PlatformError> {
    if !is_success(status) {
        return Err(PlatformError::from_response(status, headers, body));
    }
    serde_json::from_str(body).map_err(|e| PlatformError::schema(status, "POST …/in/append", e))
}

/// Checks the head of a [`PlatformClient::subscribe`] answer: a 2xx with
/// `X-Stream-Version: v2`. A non-2xx is retryable unless
/// [`subscribe_is_fatal`]; a missing version is fatal.
pub fn check_subscription(status: u16, headers: &[(String, String)]) -> Result<(), PlatformError> {
    if !is_success(status) {
        let retryable = !subscribe_is_fatal(status);
        let message = format!("{status} Could not subscribe to stream");
        return Err(PlatformError::new(PlatformErrorKind::Status, Some(status), message, retryable));
    }
    match header(headers, "x-stream-version") {
        Some(v) if v.trim() == STREAMS_VERSION => Ok(()),
        other => {
            let message = format!(
                "the .out subscription answered without `X-Stream-Version: v2` (got {other:?}); \
                 its records would be read in the legacy v1 format"
            );
            Err(PlatformError::new(PlatformErrorKind::StreamVersion, Some(status), message, false))
        }
    }
}

/// JavaScript's `encodeURIComponent`: UTF-8 bytes, `%XX` in upper case,
/// except `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
pub fn encode_uri_component(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}
