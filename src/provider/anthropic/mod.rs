//! Anthropic Messages API, streaming: the request `@ai-sdk/anthropic`
//! (4.0.105) sends for a chat step, and its parsing of the event stream into
//! [`StreamPart`](super::StreamPart)s.
//!
//! Covered: system; user text, images and PDFs (URL or base64) and plain
//! text documents; assistant text, thinking with signature, redacted
//! thinking and tool use; tool results of every output type; function tools
//! with `tool_choice`; extended thinking (`providerOptions.anthropic.thinking`),
//! `effort`, `metadata.userId`, `serviceTier`. Left out: cache control,
//! citations, server tools (web search, code execution), MCP, containers,
//! the Files API.

mod decode;
mod request;

pub use decode::AnthropicDecoder;
pub use request::build_request;

use super::error::{error_body, retry_after_ms, ProviderError};

/// Default API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com/v1";
/// The `anthropic-version` header.
pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` when the call sets none (the API requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The error of a non-2xx response.
pub fn http_error(status: u16, headers: &[(String, String)], body: &str) -> ProviderError {
    let (kind, message) = error_body(body);
    ProviderError::Http {
        provider: "anthropic",
        status,
        kind,
        message: message.unwrap_or_else(|| format!("HTTP {status}")),
        retry_after_ms: retry_after_ms(headers),
    }
}

#[cfg(test)]
mod tests;
