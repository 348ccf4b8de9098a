//! The OpenAI Responses API (`POST {base}/responses`, `stream: true`), what
//! `@ai-sdk/openai@4.0.118`'s `createOpenAI({ baseURL, apiKey })
//! .responses(model)` (the SDK's default `openai(model)`) sends and how it
//! reads the answer:
//!
//! - [`build_request`]: the request, byte for byte as the SDK sends it when
//!   `streamText` calls it (key order included);
//! - [`ResponsesDecoder`]: the event stream to [`StreamPart`]s, in the order
//!   and shape of the SDK's stream parts;
//! - [`http_error`]: a non-2xx answer (the same error body as Chat
//!   Completions).
//!
//! Some models call an undeclared `parallel` wrapper instead of several
//! functions; it is expanded into the nested calls and, while the API keeps
//! the conversation, sent back as the one wrapper call (`parallel.rs`).
//!
//! Reasoning is carried across turns as the SDK carries it: a reasoning
//! part's `providerMetadata.openai` holds its `itemId` and, with
//! `include: ["reasoning.encrypted_content"]` (added by itself when
//! `store: false` on a reasoning model), its `reasoningEncryptedContent`.
//! The step's response messages keep them as `providerOptions`, and the
//! next request sends them back as `item_reference`s (`store` on, the
//! default) or as reasoning items with their encrypted content (`store`
//! off).
//!
//! `provider_options["openai"]` takes the SDK's Responses options:
//! `store`, `previousResponseId`, `conversation`, `include`,
//! `instructions`, `reasoningEffort`, `reasoningSummary`, `reasoningMode`,
//! `reasoningContext`, `reasoningEffortUpdate`, `parallelToolCalls`,
//! `user`, `metadata`, `serviceTier`, `textVerbosity`, `truncation`,
//! `maxToolCalls`, `safetyIdentifier`, `promptCacheKey`,
//! `promptCacheOptions`, `promptCacheRetention`, `logprobs`,
//! `systemMessageMode`, `forceReasoning`, `passThroughUnsupportedFiles`,
//! `contextManagement`, `compactionTrigger`, `allowedTools`
//! (`includeWebSearchSources` and `strictJsonSchema` are checked and have
//! no effect without provider tools or structured output). `textFormat`
//! is refused. Message and part options: `itemId`, `phase`,
//! `reasoningEncryptedContent`, `promptCacheBreakpoint`, `imageDetail`.

mod decode;
mod files;
mod input;
mod options;
mod parallel;
mod request;
mod schema;
mod tool_results;

#[cfg(test)]
mod tests;

pub use decode::ResponsesDecoder;

use serde_json::Value;

use super::js_json;
use crate::provider::error::ProviderError;
use crate::provider::{CallOptions, HttpProviderConfig, HttpRequest};

/// The streaming Responses request for `options`.
///
/// Fails with [`ProviderError::Config`] where the SDK throws before
/// sending: invalid `openai` provider options, file parts the API does not
/// take (or that the SDK would first download: only `http(s)` image and PDF
/// URLs are passed as URLs), unsupported JSON Schema `propertyNames`.
pub fn build_request(config: &HttpProviderConfig, options: &CallOptions) -> Result<HttpRequest, ProviderError> {
    let body = request::request_body(&config.model, options)?;
    Ok(HttpRequest {
        method: "POST",
        url: format!("{}/responses", config.base_url.trim_end_matches('/')),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("authorization".into(), format!("Bearer {}", config.api_key)),
        ],
        body: js_json::to_string(&body),
    })
}

/// Makes decoders for the answer to `options`' request (one per attempt):
/// how reasoning summary parts end depends on `store`, and logprobs are
/// kept only when asked for.
pub fn decoder(options: &CallOptions) -> impl Fn() -> ResponsesDecoder + 'static {
    let openai = options.provider_options.get("openai");
    let store = openai.and_then(|o| o.get("store")) == Some(&Value::Bool(true));
    let logprobs = match openai.and_then(|o| o.get("logprobs")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        _ => false,
    };
    let tools: Vec<String> = options.tools.iter().map(|t| t.name.clone()).collect();
    move || ResponsesDecoder::new(store, logprobs).with_tools(tools.clone())
}

/// A non-2xx answer: as for Chat Completions.
pub use super::http_error;
