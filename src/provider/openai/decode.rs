//! The Chat Completions stream (`data: <chunk>` frames, `data: [DONE]`) to
//! stream parts, as `@ai-sdk/openai`'s chat model `doStream` emits them.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::holdback::State;
use super::tracker::{InvalidToolCall, ToolCallTracker};
use super::{status_from_error, PROVIDER};
use crate::protocol::message::FinishReason;
use crate::protocol::sse::SseDecoder;
use crate::provider::error::ProviderError;
use crate::provider::part::{StreamPart, Usage};
use crate::provider::{StreamDecoder, MAX_RETAINED_BYTES, MAX_TRACKED_BLOCKS};

/// One `chat.completion.chunk`, with the fields the SDK's chunk schema
/// declares (`openaiChatChunkSchema`); everything else is ignored.
#[derive(Debug, Deserialize)]
struct Chunk {
    id: Option<String>,
    created: Option<f64>,
    model: Option<String>,
    choices: Vec<Choice>,
    usage: Option<RawUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    delta: Option<Delta>,
    logprobs: Option<Logprobs>,
    finish_reason: Option<String>,
    #[allow(dead_code)]
    index: f64,
}

#[derive(Debug, Deserialize)]
struct Delta {
    #[serde(default, deserialize_with = "assistant_role")]
    #[allow(dead_code)]
    role: Option<String>,
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: Option<Vec<ToolCallDelta>>,
    #[allow(dead_code)]
    annotations: Option<Vec<Annotation>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ToolCallDelta {
    pub index: f64,
    pub id: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "function_type")]
    #[allow(dead_code)]
    pub kind: Option<String>,
    pub function: FunctionDelta,
}

#[derive(Debug, Deserialize)]
pub(super) struct FunctionDelta {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Annotation {
    #[serde(rename = "type", deserialize_with = "url_citation")]
    kind: String,
    url_citation: UrlCitation,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct UrlCitation {
    start_index: f64,
    end_index: f64,
    url: String,
    title: String,
}

#[derive(Debug, Deserialize)]
struct Logprobs {
    content: Option<Vec<Value>>,
    refusal: Option<Vec<Value>>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawUsage {
    prompt_tokens: Option<f64>,
    completion_tokens: Option<f64>,
    #[allow(dead_code)]
    total_tokens: Option<f64>,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Clone, Deserialize)]
struct PromptDetails {
    cached_tokens: Option<f64>,
    #[allow(dead_code)]
    cache_write_tokens: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<f64>,
    accepted_prediction_tokens: Option<f64>,
    rejected_prediction_tokens: Option<f64>,
}

/// `{"error": {"message": string, "type"?, "param"?, "code"?}}`.
#[derive(Debug, Deserialize)]
struct ErrorFrame {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    code: Option<String>,
}

fn literal<'de, D: serde::Deserializer<'de>>(d: D, expected: &str) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) if s != expected => Err(serde::de::Error::custom(format!("expected {expected:?}, got {s:?}"))),
        s => Ok(s),
    }
}

fn assistant_role<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    literal(d, "assistant")
}

fn function_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    literal(d, "function")
}

fn url_citation<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    literal(d, "url_citation")?.ok_or_else(|| serde::de::Error::custom("missing type"))
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(serde::de::Error::custom("code must be a string or a number")),
    }
}

enum Frame {
    Chunk(Box<Chunk>),
    Error(ErrorBody),
    Malformed(String),
}

fn parse_frame(data: &str) -> Frame {
    // Nearly every frame is a well-formed chunk: read it straight into the
    // struct. Anything else takes the slow path, which classifies it and
    // words the error as the SDK's schema check does.
    if let Ok(chunk) = serde_json::from_str::<Chunk>(data) {
        return Frame::Chunk(Box::new(chunk));
    }
    let value: Value = match serde_json::from_str(data) {
        Ok(v) => v,
        Err(e) => return Frame::Malformed(format!("JSON parsing failed: Text: {data}.\nError message: {e}")),
    };
    match Chunk::deserialize(&value) {
        Ok(chunk) => Frame::Chunk(Box::new(chunk)),
        Err(chunk_err) => match serde_json::from_value::<ErrorFrame>(value) {
            Ok(frame) => Frame::Error(frame.error),
            Err(_) => Frame::Malformed(format!("Type validation failed: Value: {data}.\nError message: {chunk_err}")),
        },
    }
}

/// Decodes an OpenAI Chat Completions stream into [`StreamPart`]s.
///
/// Emits `response-metadata` (first chunk with an id, model or timestamp),
/// `text-start`/`text-delta` with id `"0"` (also for the role chunk's empty
/// `content: ""`), `tool-input-start`/`-delta` as tool call pieces arrive,
/// then, when the message ends (`[DONE]`, or the end of the body),
/// `text-end`, `tool-input-end` + `tool-call` for every call in index order,
/// and `finish`. An error frame before any output becomes a single
/// `Error(Http)` (the SDK fails the call with an `APICallError`, status
/// inferred from the error's type/code); later it is an `Error(Stream)` that
/// makes the finish reason `error` unless a `finish_reason` follows.
#[derive(Debug)]
pub struct OpenAiDecoder {
    sse: SseDecoder,
    state: State,
    tools: ToolCallTracker,
    id_prefix: Option<String>,
    response_id: Option<String>,
    metadata_extracted: bool,
    text_active: bool,
    has_refusal: bool,
    /// Set to `error` by error frames; `finish_reason` wins at the end.
    finish_reason: FinishReason,
    raw_finish_reason: Option<String>,
    usage: Option<RawUsage>,
    /// `providerMetadata.openai` of the `finish` part.
    metadata: Map<String, Value>,
    logprobs: Option<Vec<Value>>,
    /// Bytes of the frames whose content is kept between events (held back
    /// before output, tool call arguments, logprobs).
    retained: usize,
    /// A decoder limit was broken (the state is then `Failed`).
    limit: Option<ProviderError>,
}

impl Default for OpenAiDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenAiDecoder {
    pub fn new() -> Self {
        Self {
            sse: SseDecoder::new(),
            state: State::default(),
            tools: ToolCallTracker::default(),
            id_prefix: None,
            response_id: None,
            metadata_extracted: false,
            text_active: false,
            has_refusal: false,
            finish_reason: FinishReason::Interrupted,
            raw_finish_reason: None,
            usage: None,
            metadata: Map::new(),
            logprobs: None,
            retained: 0,
            limit: None,
        }
    }

    /// Tool calls that arrive without an id get `<prefix><n>` (n from 0).
    /// The default prefix is `<response id>-call-`, or `call-` before any
    /// response id; the SDK uses random ids there.
    pub fn with_tool_call_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.id_prefix = Some(prefix.into());
        self
    }

    fn on_data(&mut self, data: &str, out: &mut Vec<StreamPart>) {
        if self.state.is_over() {
            return;
        }
        if data == "[DONE]" {
            self.state.release(out);
            self.finish(out);
            return;
        }
        let mut parts = Vec::new();
        let is_output = match parse_frame(data) {
            Frame::Malformed(detail) => {
                self.finish_reason = FinishReason::Error;
                self.raw_finish_reason = None;
                parts.push(StreamPart::Error(ProviderError::Malformed { provider: PROVIDER, detail }));
                // A chunk that fails to parse ends the look-ahead.
                true
            }
            Frame::Error(error) => {
                if self.state.is_before_output() {
                    self.state = State::Failed;
                    let status = status_from_error(error.kind.as_deref(), error.code.as_deref());
                    out.push(StreamPart::Error(ProviderError::Http {
                        provider: PROVIDER,
                        status,
                        kind: error.kind.or(error.code),
                        message: error.message,
                        retry_after_ms: None,
                    }));
                    return;
                }
                self.finish_reason = FinishReason::Error;
                self.raw_finish_reason = None;
                let kind = error.kind.or(error.code).unwrap_or_else(|| "error".into());
                parts.push(StreamPart::Error(ProviderError::Stream { provider: PROVIDER, kind, message: error.message }));
                true
            }
            Frame::Chunk(chunk) => {
                let first = chunk.choices.first();
                let retains = self.state.is_before_output()
                    || first.is_some_and(|c| c.logprobs.is_some() || c.delta.as_ref().is_some_and(|d| d.tool_calls.is_some()));
                if retains {
                    self.retained += data.len();
                    if self.retained > MAX_RETAINED_BYTES {
                        return self.fail(format!(
                            "the response keeps more than {MAX_RETAINED_BYTES} bytes of tool calls, logprobs and held-back parts"
                        ));
                    }
                }
                let is_output = chunk.choices.iter().any(|c| {
                    c.delta.as_ref().is_some_and(|d| {
                        d.content.as_deref().is_some_and(|s| !s.is_empty())
                            || d.refusal.as_deref().is_some_and(|s| !s.is_empty())
                            || d.tool_calls.as_ref().is_some_and(|t| !t.is_empty())
                            || d.annotations.as_ref().is_some_and(|a| !a.is_empty())
                    })
                });
                let result = self.on_chunk(*chunk, &mut parts);
                if self.tools.len() > MAX_TRACKED_BLOCKS {
                    return self.fail(format!("more than {MAX_TRACKED_BLOCKS} tool calls in one response"));
                }
                if let Err(InvalidToolCall(detail)) = result {
                    parts.push(StreamPart::Error(ProviderError::Malformed { provider: PROVIDER, detail }));
                    self.state.release(out);
                    out.append(&mut parts);
                    self.state = State::Failed;
                    return;
                }
                is_output
            }
        };
        self.state.pass(is_output, &mut parts, out);
    }

    fn fail(&mut self, detail: String) {
        self.state = State::Failed;
        self.tools = ToolCallTracker::default();
        self.logprobs = None;
        self.limit = Some(ProviderError::Malformed { provider: PROVIDER, detail });
    }

    fn on_chunk(&mut self, chunk: Chunk, out: &mut Vec<StreamPart>) -> Result<(), InvalidToolCall> {
        if !self.metadata_extracted {
            let id = chunk.id.clone();
            let created = chunk.created.filter(|c| *c != 0.0 && !c.is_nan());
            if id.as_deref().is_some_and(|s| !s.is_empty())
                || chunk.model.as_deref().is_some_and(|s| !s.is_empty())
                || created.is_some()
            {
                self.metadata_extracted = true;
                self.response_id = id.clone().filter(|s| !s.is_empty());
                out.push(StreamPart::ResponseMetadata { id, model_id: chunk.model.clone() });
            }
        }
        if let Some(usage) = chunk.usage {
            let details = usage.completion_tokens_details.as_ref();
            if let Some(n) = details.and_then(|d| d.accepted_prediction_tokens) {
                self.metadata.insert("acceptedPredictionTokens".into(), number(n));
            }
            if let Some(n) = details.and_then(|d| d.rejected_prediction_tokens) {
                self.metadata.insert("rejectedPredictionTokens".into(), number(n));
            }
            self.usage = Some(usage);
        }
        let Some(choice) = chunk.choices.into_iter().next() else { return Ok(()) };
        if let Some(reason) = choice.finish_reason {
            self.raw_finish_reason = Some(reason);
        }
        if let Some(lp) = choice.logprobs {
            if lp.content.is_some() || lp.refusal.is_some() {
                let all = self.logprobs.get_or_insert_with(Vec::new);
                all.extend(lp.content.unwrap_or_default());
                all.extend(lp.refusal.unwrap_or_default());
            }
        }
        let Some(delta) = choice.delta else { return Ok(()) };
        let mut texts: Vec<String> = Vec::new();
        if let Some(c) = delta.content.as_ref().filter(|c| !c.is_empty()) {
            texts.push(c.clone());
        }
        if let Some(r) = delta.refusal.filter(|r| !r.is_empty()) {
            self.has_refusal = true;
            texts.push(r);
        }
        if texts.is_empty() && delta.content.as_deref() == Some("") {
            texts.push(String::new());
        }
        for text in texts {
            if !self.text_active {
                out.push(StreamPart::TextStart { id: "0".into(), provider_metadata: None });
                self.text_active = true;
            }
            out.push(StreamPart::TextDelta { id: "0".into(), delta: text, provider_metadata: None });
        }
        if let Some(calls) = delta.tool_calls {
            let prefix = self
                .id_prefix
                .clone()
                .unwrap_or_else(|| self.response_id.as_ref().map_or("call-".into(), |id| format!("{id}-call-")));
            let mut new_id = |n: u64| format!("{prefix}{n}");
            for call in &calls {
                self.tools.process(call, &mut new_id, out)?;
            }
        }
        // `annotations` become `source` parts in the SDK; StreamPart has none.
        Ok(())
    }

    /// The SDK's `flush`: closes text and tool calls, then `finish`.
    fn finish(&mut self, out: &mut Vec<StreamPart>) {
        if self.text_active {
            out.push(StreamPart::TextEnd { id: "0".into(), provider_metadata: None });
            self.text_active = false;
        }
        self.tools.flush(out);
        if let Some(raw) = &self.raw_finish_reason {
            self.finish_reason = map_finish_reason(raw, self.has_refusal);
        }
        let mut metadata = std::mem::take(&mut self.metadata);
        if let Some(lp) = self.logprobs.take() {
            metadata.insert("logprobs".into(), Value::Array(lp));
        }
        let mut provider_metadata = Map::new();
        provider_metadata.insert("openai".into(), Value::Object(metadata));
        out.push(StreamPart::Finish {
            reason: self.finish_reason.clone(),
            raw_reason: self.raw_finish_reason.clone(),
            usage: convert_usage(self.usage.as_ref()),
            provider_metadata: Some(provider_metadata),
        });
        self.state = State::Finished;
    }
}

impl StreamDecoder for OpenAiDecoder {
    fn feed(&mut self, bytes: &[u8]) -> Vec<StreamPart> {
        let mut out = Vec::new();
        for event in self.sse.feed(bytes) {
            self.on_data(&event.data, &mut out);
        }
        out
    }

    /// A body that ends without `[DONE]` still finishes: with the last
    /// `finish_reason` seen, else `error` after an error frame, else
    /// `interrupted`. An unterminated last frame is dropped, as the SDK's
    /// event-stream parser drops it.
    fn end(&mut self) -> Vec<StreamPart> {
        let mut out = Vec::new();
        if self.state.is_over() || self.sse.error().is_some() {
            return out;
        }
        self.state.release(&mut out);
        self.finish(&mut out);
        out
    }

    fn failure(&self) -> Option<ProviderError> {
        let sse = || self.sse.error().map(|e| ProviderError::Malformed { provider: PROVIDER, detail: e.to_string() });
        self.limit.clone().or_else(sse)
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// `mapOpenAIFinishReason`.
pub(super) fn map_finish_reason(raw: &str, has_refusal: bool) -> FinishReason {
    match raw {
        "stop" if has_refusal => FinishReason::ContentFilter,
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        "function_call" | "tool_calls" => FinishReason::ToolCalls,
        _ => FinishReason::Other,
    }
}

/// `convertOpenAIChatUsage`: no usage chunk, no counts; otherwise missing
/// counts are 0.
fn convert_usage(usage: Option<&RawUsage>) -> Usage {
    let Some(u) = usage else { return Usage::default() };
    let count = |n: Option<f64>| Some(n.unwrap_or(0.0).max(0.0) as u64);
    Usage {
        input_tokens: count(u.prompt_tokens),
        output_tokens: count(u.completion_tokens),
        reasoning_tokens: count(u.completion_tokens_details.as_ref().and_then(|d| d.reasoning_tokens)),
        cached_input_tokens: count(u.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens)),
    }
}
