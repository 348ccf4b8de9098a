//! LLM providers as pure state machines.
//!
//! A provider turns [`CallOptions`] into an HTTP request and the bytes of its
//! streaming response into [`StreamPart`]s, the provider-neutral parts the
//! AI SDK's language models emit. A [`step::Step`] then turns those parts into
//! the UI message chunks `streamText(...).toUIMessageStream()` would send for
//! one step, and into the step's response messages for the handover. No IO
//! happens here: the same code runs in the worker, in the agent and in
//! `cargo test`, where recorded provider streams are fed in at any byte split.

pub mod anthropic;
pub mod config;
pub mod error;
pub mod file;
pub mod google;
pub(crate) mod media;
pub mod models;
pub mod openai;
pub mod part;
pub mod run;
pub mod scripted;
pub mod step;
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

pub use crate::io::HttpRequest;

/// At most this many content blocks (Anthropic) or tool calls (OpenAI) of one
/// response are tracked at once; real responses have a handful. More fails
/// the call (see [`StreamDecoder::failure`]).
pub const MAX_TRACKED_BLOCKS: usize = 1024;
/// At most this many bytes of a response are kept by a decoder between
/// events (streamed tool input, usage, logprobs, parts held back); more fails
/// the call. Text is not kept: it is passed on as it comes.
pub const MAX_RETAINED_BYTES: usize = 16 << 20;

/// Turns the bytes of a streaming response body into stream parts. Bytes
/// may be split anywhere.
pub trait StreamDecoder {
    /// Feeds body bytes; returns the parts they completed.
    fn feed(&mut self, bytes: &[u8]) -> Vec<StreamPart>;
    /// The body ended cleanly (EOF). Returns what the provider makes of an
    /// unfinished message (e.g. a `finish` with reason `interrupted`).
    fn end(&mut self) -> Vec<StreamPart>;
    /// Set once the body broke a decoding limit (an SSE line or event larger
    /// than [`SseLimits`](crate::protocol::sse::SseLimits) allows, more than
    /// [`MAX_TRACKED_BLOCKS`] or [`MAX_RETAINED_BYTES`]): the rest of the
    /// body cannot be read, [`feed`](Self::feed) returns nothing more, and
    /// the call fails with this error.
    fn failure(&self) -> Option<ProviderError>;
}

/// An API provider reached over HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpProviderConfig {
    /// Up to and including the version segment, e.g.
    /// `https://api.anthropic.com/v1`; no trailing slash.
    pub base_url: String,
    pub api_key: String,
    pub model: String,
}
