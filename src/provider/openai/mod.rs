//! OpenAI Chat Completions (`POST {base}/chat/completions`, streaming), for
//! OpenAI and any server that speaks its dialect, with what
//! `@ai-sdk/openai@4.0.118`'s chat model (`createOpenAI({ baseURL, apiKey })
//! .chat(model)`) sends and how it reads the answer:
//!
//! - [`build_request`]: the request, byte for byte as the SDK sends it when
//!   `streamText` calls it (key order included);
//! - [`OpenAiDecoder`]: the response body to [`StreamPart`]s, in the order
//!   and shape of the SDK's `LanguageModelV4StreamPart`s;
//! - [`http_error`]: a non-2xx answer to a [`ProviderError`].
//!
//! `provider_options["openai"]` takes the SDK's chat options:
//! `user`, `parallelToolCalls` (`parallel_tool_calls`), `reasoningEffort`
//! (`reasoning_effort`), `maxCompletionTokens` (`max_completion_tokens`),
//! `logitBias`, `logprobs` (`true` or a top-n count), `store`, `metadata`,
//! `prediction`, `serviceTier`, `textVerbosity` (`verbosity`),
//! `promptCacheKey`, `promptCacheOptions`, `promptCacheRetention`,
//! `safetyIdentifier`, `systemMessageMode` (`system`/`developer`/`remove`)
//! and `forceReasoning`. Message and part options: `name` on a message,
//! `promptCacheBreakpoint` on a message or part, `imageDetail` on an image.
//!
//! Reasoning models by name (`o1`, `o3-mini`, `gpt-5*` but not
//! `gpt-5-chat*`, ...; or `forceReasoning`) get the SDK's adjustments: the
//! system prompt as a `developer` message, `max_completion_tokens` instead
//! of `max_tokens`, no `temperature`.

mod decode;
mod holdback;
pub(crate) mod js_json;
mod messages;
mod request;
pub mod responses;
mod tools;
mod tracker;

#[cfg(test)]
mod tests;

pub use decode::OpenAiDecoder;

use super::error::{error_body, retry_after_ms, ProviderError};
use super::{CallOptions, HttpProviderConfig, HttpRequest};

pub(crate) const PROVIDER: &str = "openai";

/// Default API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The streaming Chat Completions request for `options`.
///
/// Fails with [`ProviderError::Config`] where the SDK throws before
/// sending: invalid `openai` provider options, file parts the Chat API does
/// not take (or that the SDK would first download: only `http(s)` image
/// URLs are passed as URLs), unsupported JSON Schema `propertyNames`.
pub fn build_request(config: &HttpProviderConfig, options: &CallOptions) -> Result<HttpRequest, ProviderError> {
    let body = request::request_body(&config.model, options)?;
    Ok(HttpRequest {
        method: "POST",
        url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("authorization".into(), format!("Bearer {}", config.api_key)),
        ],
        body: js_json::to_string(&body),
    })
}

/// A non-2xx answer: the `{"error": {"message", "type", "code"}}` body's
/// message (the status text when there is none) and type, and the
/// `retry-after(-ms)` header.
pub fn http_error(status: u16, headers: &[(String, String)], body: &str) -> ProviderError {
    let (kind, message) = error_body(body);
    ProviderError::Http {
        provider: PROVIDER,
        status,
        kind,
        message: message.unwrap_or_else(|| status_text(status).to_string()),
        retry_after_ms: retry_after_ms(headers),
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// The HTTP status the SDK infers for an error frame (`getStatusCode` in
/// `openai-stream-error.ts`): an explicit 4xx/5xx `code`, else by keywords
/// of `code` and `type`, else 500.
pub(crate) fn status_from_error(kind: Option<&str>, code: Option<&str>) -> u16 {
    if let Some(status) = code
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|s| (400..=599).contains(s))
    {
        return status;
    }
    let words = [code, kind].into_iter().flatten().collect::<Vec<_>>().join(" ").to_lowercase();
    let has = |terms: &[&str]| terms.iter().any(|t| words.contains(t));
    if has(&["insufficient_quota", "rate_limit"]) {
        429
    } else if has(&["authentication"]) {
        401
    } else if has(&["permission"]) {
        403
    } else if has(&["not_found"]) {
        404
    } else if has(&["invalid", "bad_request", "context_length"]) {
        400
    } else if has(&["overload"]) {
        503
    } else if has(&["timeout"]) {
        504
    } else {
        500
    }
}
