//! LLM providers as pure state machines.
//!
//! A provider turns [`CallOptions`] into an HTTP request and the bytes of its
//! streaming response into [`StreamPart`]s, the provider-neutral parts the
//! AI SDK's language models emit. A [`step::Step`] then turns those parts into
//! the UI message chunks `streamText(...).toUIMessageStream()` would send for
//! one step, and into the step's response messages for the handover. No IO
//! happens here: the same code runs in the worker, in the agent and in
//! `cargo test`, where recorded provider streams are fed in at any byte split.

pub mod error;
pub mod part;
pub mod scripted;
pub mod tool;

pub use error::ProviderError;
pub use part::{StreamPart, Usage};
pub use tool::{ToolChoice, ToolSpec};

use crate::protocol::json::Object;
use crate::protocol::model::ModelMessage;

/// What one LLM call is asked to do (the AI SDK's call options, reduced to
/// what a chat step uses).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallOptions {
    pub system: Option<String>,
    pub messages: Vec<ModelMessage>,
    pub tools: Vec<ToolSpec>,
    pub tool_choice: Option<ToolChoice>,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f64>,
    /// Passed through per provider, e.g. `{"anthropic": {"thinking": ...}}`.
    pub provider_options: Object,
}

/// An HTTP request a provider wants sent; the IO layer sends it as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}
