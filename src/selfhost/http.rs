//! The HTTP details of the platform's routes that are not the path: request
//! headers (PROTOCOL.md §5.5, §5.7, §6.1-§6.3), CORS for browser callers
//! (§10 "Platform stand-in MUST" 4) and the JSON error bodies the SDKs
//! expect (§5.1, §5.2, §5.5, §6.1).

use serde_json::{json, Value};

use crate::protocol::session::{DEFAULT_READ_TIMEOUT_SECS, READ_TIMEOUT_SECS_MAX};

/// Longest `X-Part-Id` accepted.
pub const PART_ID_MAX: usize = 128;

/// A request header the platform cannot accept (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid {header} header: {reason}")]
pub struct HeaderError {
    pub header: &'static str,
    pub reason: &'static str,
}

impl HeaderError {
    pub fn status(&self) -> u16 {
        400
    }

    pub fn response(&self) -> ErrorResponse {
        error_body(400, &self.to_string(), Some("invalid_header"))
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `Last-Event-ID` → the seq a read starts at (§5.7): the last seen seq
/// plus one when the header (or its part before a `-`) is a non-negative
/// integer; 0 when absent or anything else (e.g. an S2 `id:` triple).
pub fn last_event_id_start(header: Option<&str>) -> u64 {
    let Some(value) = header.map(str::trim) else { return 0 };
    let head = value.split('-').next().unwrap_or_default();
    if !digits(head) {
        return 0;
    }
    head.parse::<u64>().map_or(0, |n| n.saturating_add(1))
}

/// `Timeout-Seconds`: the read's idle wait, 1-600, default 60.
pub fn timeout_seconds(header: Option<&str>) -> Result<u32, HeaderError> {
    let Some(value) = header.map(str::trim) else { return Ok(DEFAULT_READ_TIMEOUT_SECS) };
    let err = HeaderError { header: "Timeout-Seconds", reason: "must be an integer from 1 to 600" };
    if !digits(value) {
        return Err(err);
    }
    match value.parse::<u32>() {
        Ok(n) if (1..=READ_TIMEOUT_SECS_MAX).contains(&n) => Ok(n),
        _ => Err(err),
    }
}

/// `X-Peek-Settled: 1` (or `true`).
pub fn peek_settled(header: Option<&str>) -> bool {
    header.map(str::trim).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// `X-Trigger-Stream-Start: latest`: start at the tail (only honoured
/// without a `Last-Event-ID`).
pub fn stream_start_latest(header: Option<&str>) -> bool {
    header.map(str::trim).is_some_and(|v| v.eq_ignore_ascii_case("latest"))
}

/// `X-Part-Id`: at most 128 printable ASCII characters. Absent or empty is
/// `None` (no cross-request dedupe).
pub fn part_id(header: Option<&str>) -> Result<Option<&str>, HeaderError> {
    let Some(value) = header.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.len() > PART_ID_MAX {
        return Err(HeaderError { header: "X-Part-Id", reason: "at most 128 characters" });
    }
    if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(HeaderError { header: "X-Part-Id", reason: "printable ASCII only" });
    }
    Ok(Some(value))
}

/// Methods the platform's routes use.
pub const CORS_ALLOW_METHODS: &str = "GET, POST, PUT, OPTIONS";
/// Request headers browsers may send (§10 platform MUST 4, plus the common
/// SDK headers and S2's, so a browser S2 writer works too).
pub const CORS_ALLOW_HEADERS: &[&str] = &[
    "Authorization",
    "Content-Type",
    "Accept",
    "X-Part-Id",
    "x-trigger-source",
    "Last-Event-ID",
    "Timeout-Seconds",
    "X-Peek-Settled",
    "X-Trigger-Stream-Start",
    "trigger-version",
    "x-trigger-api-version",
    "x-trigger-realtime-streams-version",
    "x-trigger-branch",
    "s2-basin",
    "s2-format",
];
/// Response headers scripts may read: `*` plus the names, for clients that
/// send credentials (where `*` is not a wildcard).
pub const CORS_EXPOSE_HEADERS: &str = "*, X-Stream-Version, X-Session-Settled, X-Trigger-Chat-Access-Token, \
X-Trigger-Chat-Pending-Version, X-S2-Access-Token, X-S2-Basin, X-S2-Stream-Name, X-S2-Endpoint, \
X-S2-Flush-Interval-Ms, X-S2-Max-Retries, Last-Event-ID, x-ratelimit-limit, x-ratelimit-remaining, \
x-ratelimit-reset";
/// How long a browser may cache a preflight (browsers cap it lower).
pub const CORS_MAX_AGE: &str = "86400";

/// Whether `origin` may call the platform: every origin when `allowed` is
/// empty, else only those listed (exactly, e.g. `https://app.example`).
pub fn origin_allowed(origin: Option<&str>, allowed: &[&str]) -> bool {
    allowed.is_empty() || origin.is_some_and(|o| allowed.contains(&o))
}

/// CORS headers of an actual response: the request's `Origin` echoed (with
/// `Vary: Origin`) or `*`, and the exposed headers.
pub fn cors_headers(origin: Option<&str>) -> Vec<(&'static str, String)> {
    let mut h = Vec::with_capacity(4);
    match origin.filter(|o| !o.is_empty()) {
        Some(o) => {
            h.push(("Access-Control-Allow-Origin", o.to_string()));
            h.push(("Vary", "Origin".to_string()));
        }
        None => h.push(("Access-Control-Allow-Origin", "*".to_string())),
    }
    h.push(("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS.to_string()));
    h
}

fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b))
}

/// Headers of a preflight (`OPTIONS`, answered 204): [`cors_headers`], the
/// methods, the allowed request headers (the list above plus any other
/// well-formed names in `Access-Control-Request-Headers`, for the
/// transport's `headers` option) and the max age.
pub fn preflight_headers(origin: Option<&str>, request_headers: Option<&str>) -> Vec<(&'static str, String)> {
    let mut allow: Vec<String> = CORS_ALLOW_HEADERS.iter().map(|s| s.to_string()).collect();
    for name in request_headers.unwrap_or_default().split(',').map(str::trim).take(64) {
        if is_token(name) && !allow.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            allow.push(name.to_string());
        }
    }
    let mut h = cors_headers(origin);
    h.push(("Access-Control-Allow-Methods", CORS_ALLOW_METHODS.to_string()));
    h.push(("Access-Control-Allow-Headers", allow.join(", ")));
    h.push(("Access-Control-Max-Age", CORS_MAX_AGE.to_string()));
    h
}

/// A JSON error response: status, body, and extra headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    pub status: u16,
    /// JSON text.
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl ErrorResponse {
    fn new(status: u16, body: Value) -> Self {
        // The SDK's JSON client retries 409s unless told not to (§5.1); every
        // 409 here is terminal.
        let headers = if status == 409 { vec![("x-should-retry", "false".to_string())] } else { vec![] };
        Self { status, body: body.to_string(), headers }
    }
}

/// `{"error": message}`, with `"code"` when given: the platform's error
/// shape (`413 {"error":"Request body too large"}`, `422 {"error":…}`,
/// `409 {"error":"Session is closed; …"}`).
pub fn error_body(status: u16, message: &str, code: Option<&str>) -> ErrorResponse {
    let mut body = json!({ "error": message });
    if let Some(code) = code {
        body["code"] = code.into();
    }
    ErrorResponse::new(status, body)
}

/// `409` for an append to a closed session (§5.5, §6.1): the browser marks
/// the chat closed on `code: "session_closed"`.
pub fn session_closed(closed_reason: Option<&str>) -> ErrorResponse {
    ErrorResponse::new(
        409,
        json!({ "ok": false, "error": "Cannot append to a closed session", "code": "session_closed",
                "closedReason": closed_reason }),
    )
}

/// `413 {"error":"Request body too large"}`: a body over the route's limit
/// or without a `Content-Length`.
pub fn too_large() -> ErrorResponse {
    error_body(413, "Request body too large", None)
}

/// An S2-style error (`{"message":…,"code":…}`) for the S2 append endpoint.
pub fn s2_error(status: u16, message: &str, code: &str) -> ErrorResponse {
    ErrorResponse::new(status, json!({ "message": message, "code": code }))
}

/// A 412 with S2's `AppendConditionFailed` body (`{"seq_num_mismatch": N}`
/// or `{"fencing_token_mismatch": "…"}`), not the `{message, code}` shape.
pub fn s2_condition_failed(body: Value) -> ErrorResponse {
    ErrorResponse::new(412, body)
}

/// Whether a declared `Content-Length` is present and within `max` (§5.2,
/// §5.5: missing or larger ⇒ 413).
pub fn content_length_ok(header: Option<&str>, max: usize) -> bool {
    header.map(str::trim).filter(|v| digits(v)).and_then(|v| v.parse::<usize>().ok()).is_some_and(|n| n <= max)
}
