//! Google Gemini, streaming (`:streamGenerateContent?alt=sse`), through the
//! Generative Language API (an API key) or Vertex AI (an API key in express
//! mode, or a service account's OAuth token), with what `@ai-sdk/google`
//! 4.0.121's language model sends and how it reads the answer:
//!
//! - [`build_request`]: the request, byte for byte as the SDK sends it when
//!   `streamText` calls it (key order included);
//! - [`GoogleDecoder`]: the response body to [`StreamPart`](super::StreamPart)s,
//!   in the order and shape of the SDK's stream parts;
//! - [`http_error`]: a non-2xx answer (`{"error":{code,message,status}}`) to
//!   a [`ProviderError`];
//! - [`auth`]: the Vertex service-account token (a JWT signed through a
//!   [`auth::JwtSigner`], exchanged and cached until shortly before expiry).
//!
//! Covered: system instruction; user text and files (inline data, file
//! URIs); assistant text, thoughts and their signatures, files and function
//! calls (Gemini 3's signature sentinel included); tool results of every
//! output type (Gemini 3's function response parts included); function
//! tools and `toolConfig`; `providerOptions.google` (`thinkingConfig`,
//! `safetySettings`, `threshold`, `cachedContent`, `responseModalities`,
//! `mediaResolution`, `audioTimestamp`, `labels`, `serviceTier`). Left out:
//! provider-defined tools (search, code execution, URL context), streamed
//! function-call arguments, long-decode continuations, structured output.

pub mod auth;
mod chunk;
mod decode;
mod messages;
mod request;
mod tools;

#[cfg(test)]
mod tests;

pub use auth::ServiceAccount;
pub use decode::GoogleDecoder;
pub use request::build_request;

use serde_json::Value;

use super::error::{retry_after_ms, ProviderError};

/// The Generative Language API's base URL (the SDK's default).
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";
/// Vertex AI's express-mode base URL (API key, no project).
pub const VERTEX_EXPRESS_BASE_URL: &str = "https://aiplatform.googleapis.com/v1/publishers/google";
/// The model when none is set.
pub const DEFAULT_MODEL: &str = "gemini-2.5-flash";

/// Which API and how it is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoogleAuth {
    /// `x-goog-api-key` (Generative Language API, or Vertex express mode).
    ApiKey(String),
    /// `Authorization: Bearer` with a token of this service account.
    ServiceAccount(ServiceAccount),
}

/// One Gemini model on the Generative Language API or Vertex AI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleConfig {
    /// Up to the `/models` segment, no trailing slash: e.g.
    /// `https://generativelanguage.googleapis.com/v1beta` or
    /// `https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google`.
    pub base_url: String,
    pub auth: GoogleAuth,
    pub model: String,
    /// Vertex AI: `providerOptions.googleVertex`/`vertex` are read first, the
    /// response's metadata is keyed `googleVertex` and `vertex`, and function
    /// calls and responses carry no `id` (the SDK's `google.vertex.chat`).
    pub vertex: bool,
}

impl GoogleConfig {
    /// The name in logs and errors.
    pub fn provider(&self) -> &'static str {
        names(self.vertex).0
    }

    /// The Vertex base URL of a project and location (`global` has no
    /// regional host).
    pub fn vertex_base_url(project: &str, location: &str) -> String {
        let host = if location == "global" {
            "aiplatform.googleapis.com".to_string()
        } else {
            format!("{location}-aiplatform.googleapis.com")
        };
        format!("https://{host}/v1/projects/{project}/locations/{location}/publishers/google")
    }

    /// The provider option namespaces, in the order they are read and
    /// written (`providerOptionsNames` of the SDK).
    pub(crate) fn option_names(&self) -> &'static [&'static str] {
        names(self.vertex).1
    }
}

/// The provider's name and the `providerOptions` keys it reads (and its
/// response metadata is keyed by), first the preferred.
pub(crate) fn names(vertex: bool) -> (&'static str, &'static [&'static str]) {
    if vertex {
        ("vertex", &["googleVertex", "vertex"])
    } else {
        ("google", &["google"])
    }
}

/// The error of a non-2xx response: Google's `{"error": {"code", "message",
/// "status"}}` (the SDK's `googleFailedResponseHandler`: the message is the
/// error's message; anything else keeps the status text).
pub fn http_error(status: u16, headers: &[(String, String)], body: &str) -> ProviderError {
    http_error_of("google", status, headers, body)
}

/// [`http_error`] for Vertex AI.
pub fn vertex_http_error(status: u16, headers: &[(String, String)], body: &str) -> ProviderError {
    http_error_of("vertex", status, headers, body)
}

fn http_error_of(provider: &'static str, status: u16, headers: &[(String, String)], body: &str) -> ProviderError {
    let error = serde_json::from_str::<Value>(body).ok().and_then(|v| v.get("error").cloned());
    let kind = error.as_ref().and_then(|e| e.get("status")).and_then(Value::as_str).map(str::to_string);
    let message = error.as_ref().and_then(|e| e.get("message")).and_then(Value::as_str).map(str::to_string);
    ProviderError::Http {
        provider,
        status,
        kind,
        message: message.unwrap_or_else(|| format!("HTTP {status}")),
        retry_after_ms: retry_after_ms(headers),
    }
}

/// The HTTP status of a Google RPC status name
/// (`mapGoogleErrorStatusToHttpStatusCode`).
pub(crate) fn status_code(status: &str) -> Option<u16> {
    Some(match status {
        "CANCELLED" => 499,
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => 400,
        "DEADLINE_EXCEEDED" => 504,
        "NOT_FOUND" => 404,
        "ALREADY_EXISTS" | "ABORTED" => 409,
        "PERMISSION_DENIED" => 403,
        "UNAUTHENTICATED" => 401,
        "RESOURCE_EXHAUSTED" => 429,
        "UNIMPLEMENTED" => 501,
        "UNKNOWN" | "INTERNAL" | "DATA_LOSS" => 500,
        "UNAVAILABLE" => 503,
        _ => return None,
    })
}

/// What the SDK decides from a model id (`getGoogleModelCapabilities` and
/// the model catalog's request config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModelTraits {
    /// Gemini 3 and newer: function response parts, the signature sentinel.
    pub gemini3: bool,
    /// Gemma: the system prompt goes into the first user turn.
    pub gemma: bool,
    /// Gemini 2.5 on the Gemini API takes no penalties.
    pub gemini25: bool,
}

impl ModelTraits {
    pub fn of(model: &str) -> Self {
        let lower = model.to_ascii_lowercase();
        // `(^|[/.])gemini-<rest>` patterns, case-insensitive.
        let after_gemini: Vec<&str> = lower
            .match_indices("gemini-")
            .filter(|(i, _)| *i == 0 || matches!(lower.as_bytes()[i - 1], b'/' | b'.'))
            .map(|(i, _)| &lower[i + "gemini-".len()..])
            .collect();
        let version = |v: &str| {
            after_gemini
                .iter()
                .any(|rest| rest.strip_prefix(v).is_some_and(|r| r.is_empty() || r.starts_with('.') || r.starts_with('-')))
        };
        let is_gemini = !after_gemini.is_empty();
        let gemini2 = version("2");
        let pre2 = version("1")
            || after_gemini.iter().any(|r| *r == "pro" || *r == "pro-vision")
            || after_gemini.iter().any(|r| {
                r.strip_prefix("robotics-er-1.5").is_some_and(|r| r.is_empty() || r.starts_with('.') || r.starts_with('-'))
            });
        let gemini25 = after_gemini
            .iter()
            .any(|rest| rest.strip_prefix("2.5").is_some_and(|r| r.is_empty() || r.starts_with('.') || r.starts_with('-')));
        Self { gemini3: is_gemini && !(pre2 || gemini2), gemma: lower.starts_with("gemma-"), gemini25 }
    }
}
