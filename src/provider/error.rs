//! What can go wrong in an LLM call, and which failures may be retried.

use crate::protocol::json::Object;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The API answered with an error status before streaming.
    #[error("{provider} API error {status}: {message}")]
    Http {
        provider: &'static str,
        status: u16,
        /// The API's error type (`rate_limit_error`, `overloaded_error`, ...).
        kind: Option<String>,
        message: String,
        /// From `retry-after` / `retry-after-ms`, when the API sent one.
        retry_after_ms: Option<u64>,
    },
    /// The API reported an error inside the stream (e.g. `overloaded_error`).
    #[error("{provider} stream error ({kind}): {message}")]
    Stream { provider: &'static str, kind: String, message: String },
    /// An event could not be parsed.
    #[error("{provider} sent a malformed event: {detail}")]
    Malformed { provider: &'static str, detail: String },
    /// The response body ended before the message did.
    #[error("the {provider} stream ended before the message was complete")]
    Disconnected { provider: &'static str },
    /// No byte arrived for too long.
    #[error("no data from {provider} for {after_ms} ms")]
    Stalled { provider: &'static str, after_ms: u64 },
    /// The request could not be sent or the connection failed.
    #[error("network error calling {provider}: {message}")]
    Network { provider: &'static str, message: String },
    /// The caller aborted the call.
    #[error("the call was aborted")]
    Aborted,
    /// The configuration cannot produce a request (missing key, bad option).
    #[error("provider configuration: {0}")]
    Config(String),
}

/// At most this many attempts of one call (the first included).
pub const MAX_ATTEMPTS: u32 = 3;

impl ProviderError {
    /// Whether sending the same request again may succeed. Only failures
    /// before any byte was streamed are candidates: once the browser has
    /// seen part of a step, a retry would show it twice.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http { status, .. } => matches!(status, 408 | 409 | 429 | 500..=599),
            Self::Network { .. } => true,
            // Only ever seen here as the first event of a stream, i.e. the
            // API refused the call before any output.
            Self::Stream { kind, .. } => {
                matches!(kind.as_str(), "overloaded_error" | "api_error" | "rate_limit_error" | "server_error")
                    // Google's RPC status names, retryable as their HTTP
                    // statuses are (408, 409, 429, 5xx).
                    || super::google::status_code(kind).is_some_and(|s| matches!(s, 408 | 409 | 429 | 500..=599))
            }
            _ => false,
        }
    }

    /// Whether the step may hand this failure, met before any output, to
    /// the next model of its list: what may pass on a retry, and a stall or
    /// a cut before the first part (this host is slow or broken, another
    /// may answer). Not a client error (400, 401, 403, 404, 422), a
    /// malformed first event or a configuration error: the next model would
    /// likely fail alike, or the deploy is misconfigured, and falling
    /// through would hide it.
    pub fn falls_through(&self) -> bool {
        self.is_retryable() || matches!(self, Self::Stalled { .. } | Self::Disconnected { .. })
    }

    /// How long to wait before attempt `attempt + 1` (1-based `attempt`),
    /// or `None` when no retry should be made. Honours the API's
    /// retry-after (the step's retry budget decides whether to wait that
    /// long, see [`run`](super::run)); otherwise exponential backoff from
    /// 2 s (the AI SDK's `maxRetries` policy).
    pub fn retry_delay_ms(&self, attempt: u32) -> Option<u64> {
        if !self.is_retryable() || attempt >= MAX_ATTEMPTS {
            return None;
        }
        let backoff = 2000u64 << (attempt - 1).min(10);
        match self {
            Self::Http { retry_after_ms: Some(ms), .. } => Some(*ms),
            _ => Some(backoff),
        }
    }
}

/// Parses `retry-after-ms` (milliseconds) or `retry-after` (seconds, or an
/// HTTP date, which we do not trust clocks for and ignore).
pub fn retry_after_ms(headers: &[(String, String)]) -> Option<u64> {
    let get = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return (ms >= 0.0).then_some(ms as u64);
    }
    get("retry-after").and_then(|v| v.parse::<f64>().ok()).filter(|s| *s >= 0.0).map(|s| (s * 1000.0) as u64)
}

/// The `{"error": {"type", "message"}}` body both Anthropic and OpenAI use.
pub fn error_body(body: &str) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_str::<Object>(body) else { return (None, None) };
    let err = v.get("error");
    let kind = err.and_then(|e| e.get("type").or_else(|| e.get("code"))).and_then(|t| t.as_str()).map(str::to_string);
    let message = err
        .and_then(|e| e.get("message").and_then(|m| m.as_str()).or_else(|| e.as_str()))
        .or_else(|| v.get("message").and_then(|m| m.as_str()))
        .map(str::to_string);
    (kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry_after_ms: Option<u64>) -> ProviderError {
        ProviderError::Http { provider: "anthropic", status, kind: None, message: String::new(), retry_after_ms }
    }

    #[test]
    fn retries_only_transient_statuses_and_respects_retry_after() {
        assert_eq!(http(429, Some(1500)).retry_delay_ms(1), Some(1500));
        assert_eq!(http(529, None).retry_delay_ms(1), Some(2000));
        assert_eq!(http(500, None).retry_delay_ms(2), Some(4000));
        assert_eq!(http(500, None).retry_delay_ms(3), None);
        assert_eq!(http(400, None).retry_delay_ms(1), None);
        assert_eq!(http(429, Some(120_000)).retry_delay_ms(1), Some(120_000), "the retry budget decides");
        assert_eq!(ProviderError::Disconnected { provider: "openai" }.retry_delay_ms(1), None);
    }

    #[test]
    fn retry_after_headers() {
        let h = |n: &str, v: &str| vec![(n.to_string(), v.to_string())];
        assert_eq!(retry_after_ms(&h("Retry-After", "2")), Some(2000));
        assert_eq!(retry_after_ms(&h("retry-after-ms", "250")), Some(250));
        assert_eq!(retry_after_ms(&h("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")), None);
    }

    #[test]
    fn error_bodies_of_both_apis() {
        assert_eq!(
            error_body(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            (Some("overloaded_error".into()), Some("Overloaded".into()))
        );
        assert_eq!(
            error_body(r#"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}"#),
            (Some("requests".into()), Some("Rate limit".into()))
        );
        assert_eq!(error_body("<html>"), (None, None));
    }
}
