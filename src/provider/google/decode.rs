//! Parsing the `alt=sse` stream, as the SDK's `doStream` does: every
//! `data:` event is a whole `GenerateContentResponse`; text and thought
//! parts open, continue and close text and reasoning blocks numbered in
//! order ("0", "1", ...); function calls arrive whole and become a tool
//! input start, delta, end and call; `thoughtSignature` rides along as
//! `providerMetadata.google.thoughtSignature`; the finish (with usage) is
//! sent when the body ends, `interrupted` when no finish reason came.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use super::chunk::{Chunk, FunctionCall, Part, PromptFeedback};
use crate::protocol::json::Object;
use crate::protocol::message::FinishReason;
use crate::protocol::sse::SseDecoder;
use crate::provider::openai::js_json;
use crate::provider::{ProviderError, StreamDecoder, StreamPart, Usage, MAX_RETAINED_BYTES, MAX_TRACKED_BLOCKS};

/// Makes the id of a function call the API sent without one (the SDK's
/// `generateId`).
pub type IdGenerator = Box<dyn FnMut() -> String>;

pub struct GoogleDecoder {
    provider: &'static str,
    names: &'static [&'static str],
    sse: SseDecoder,
    /// `None`: ids from the response id (see [`GoogleDecoder::new`]).
    generate_id: Option<IdGenerator>,
    generated: u32,
    response_id: Option<String>,
    text_id: Option<String>,
    reasoning_id: Option<String>,
    /// Text and reasoning blocks opened (their ids count them, as the
    /// SDK's `blockCounter`), and function calls made: at most
    /// `MAX_TRACKED_BLOCKS` together.
    blocks: usize,
    calls: usize,
    has_tool_calls: bool,
    finish: (FinishReason, Option<String>),
    /// The latest `usageMetadata`, `promptFeedback` and `safetyRatings`, as
    /// the API sent them.
    usage: Option<String>,
    prompt_feedback: Option<String>,
    prompt_blocked: bool,
    safety_ratings: Option<String>,
    finish_message: Option<String>,
    /// Bytes of call arguments passed on; with the latest usage, ratings
    /// and feedback kept for the finish, against `MAX_RETAINED_BYTES`.
    retained: usize,
    failed: Option<ProviderError>,
    ended: bool,
}

impl std::fmt::Debug for GoogleDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleDecoder").field("provider", &self.provider).field("blocks", &self.blocks).finish_non_exhaustive()
    }
}

impl GoogleDecoder {
    /// A decoder for the Gemini API (`vertex: false`) or Vertex AI. The id
    /// of a call the API sent without one is `<responseId>-<n>`: unique, as
    /// response ids are, where the SDK takes a random one.
    pub fn new(vertex: bool) -> Self {
        let (provider, names) = super::names(vertex);
        Self {
            provider,
            names,
            sse: SseDecoder::new(),
            generate_id: None,
            generated: 0,
            response_id: None,
            text_id: None,
            reasoning_id: None,
            blocks: 0,
            calls: 0,
            has_tool_calls: false,
            finish: (FinishReason::Interrupted, None),
            usage: None,
            prompt_feedback: None,
            prompt_blocked: false,
            safety_ratings: None,
            finish_message: None,
            retained: 0,
            failed: None,
            ended: false,
        }
    }

    /// Takes the ids of calls sent without one from `generate_id` (the
    /// reference tests give the SDK's side the same generator).
    pub fn with_id_generator(mut self, generate_id: IdGenerator) -> Self {
        self.generate_id = Some(generate_id);
        self
    }

    fn generate_id(&mut self) -> String {
        if let Some(g) = &mut self.generate_id {
            return g();
        }
        self.generated += 1;
        format!("{}-{}", self.response_id.as_deref().unwrap_or("call"), self.generated)
    }

    /// `{google: payload}` (on Vertex `{googleVertex: .., vertex: ..}`).
    fn wrap(&self, payload: Value) -> Object {
        self.names.iter().map(|n| (n.to_string(), payload.clone())).collect()
    }

    fn next_block(&mut self) -> Option<String> {
        if !self.track() {
            return None;
        }
        self.blocks += 1;
        Some((self.blocks - 1).to_string())
    }

    /// Room for one more block or call; false (and failed) past the limit.
    fn track(&mut self) -> bool {
        if self.blocks + self.calls >= MAX_TRACKED_BLOCKS {
            self.fail(format!("more than {MAX_TRACKED_BLOCKS} parts in one response"));
        }
        self.failed.is_none()
    }

    fn event(&mut self, data: &str, out: &mut Vec<StreamPart>) {
        let chunk: Chunk = match serde_json::from_str(data) {
            Ok(c) => c,
            Err(e) => return self.chunk_error(out, malformed(self.provider, format!("{e}: {}", clip(data)))),
        };
        if let Some(error) = chunk.error {
            self.finish = (FinishReason::Error, None);
            let (kind, message) = (error.status.into_owned(), error.message.into_owned());
            return out.push(StreamPart::Error(ProviderError::Stream { provider: self.provider, kind, message }));
        }
        if self.response_id.is_none() {
            if let Some(id) = chunk.response_id {
                self.response_id = Some(id.to_string());
                out.push(StreamPart::ResponseMetadata { id: Some(id.into_owned()), model_id: None });
            }
        }
        // Kept raw, replaced by each event: read once, at the finish.
        if let Some(usage) = chunk.usage_metadata {
            keep(&mut self.usage, usage.get());
        }
        if let (Some(feedback), false) = (chunk.prompt_feedback, self.prompt_blocked) {
            keep(&mut self.prompt_feedback, feedback.get());
            let reason = serde_json::from_str::<PromptFeedback>(feedback.get()).ok().and_then(|f| f.block_reason);
            if let Some(reason) = reason.filter(|r| confirmed_block_reason(r)) {
                self.prompt_blocked = true;
                self.finish = (FinishReason::ContentFilter, Some(reason));
            }
        }
        let Some(candidate) = chunk.candidates.and_then(|c| c.into_iter().next()) else { return };
        if let Some(r) = candidate.safety_ratings {
            keep(&mut self.safety_ratings, r.get());
        }
        if !self.retain(0) {
            return;
        }
        if let Some(m) = candidate.finish_message {
            self.finish_message = Some(m.into_owned());
        }
        if self.prompt_blocked {
            return;
        }
        for part in candidate.content.and_then(|c| c.parts).unwrap_or_default() {
            self.part(part, out);
            if self.failed.is_some() {
                return;
            }
        }
        if let Some(raw) = candidate.finish_reason {
            self.finish = (finish_reason(&raw, self.has_tool_calls), Some(raw.into_owned()));
        }
    }

    fn part(&mut self, part: Part, out: &mut Vec<StreamPart>) {
        let meta = match part.thought_signature.as_deref() {
            Some(s) if !s.is_empty() => Some(self.wrap(json!({ "thoughtSignature": s }))),
            _ => None,
        };
        // As the SDK's schema union: a function call first, then a file,
        // then text.
        if let Some(call) = part.function_call {
            return self.function_call(call, meta, out);
        }
        if part.inline_data.is_some() {
            // Files the model generates (image output) are out of scope; one
            // still ends the open blocks, as in the SDK.
            self.close_text(out);
            self.close_reasoning(out);
            return;
        }
        let Some(text) = part.text else { return };
        let thought = part.thought == Some(true);
        if text.is_empty() {
            // An empty part only carries a signature.
            let Some(meta) = meta else { return };
            if let Some(id) = self.text_id.clone() {
                return out.push(StreamPart::TextDelta { id, delta: String::new(), provider_metadata: Some(meta) });
            }
            self.close_reasoning(out);
            let Some(id) = self.next_block() else { return };
            let m = Some(meta);
            if thought {
                out.push(StreamPart::ReasoningStart { id: id.clone(), provider_metadata: m.clone() });
                out.push(StreamPart::ReasoningDelta { id: id.clone(), delta: String::new(), provider_metadata: m });
                out.push(StreamPart::ReasoningEnd { id, provider_metadata: None });
            } else {
                out.push(StreamPart::TextStart { id: id.clone(), provider_metadata: m.clone() });
                out.push(StreamPart::TextDelta { id: id.clone(), delta: String::new(), provider_metadata: m });
                out.push(StreamPart::TextEnd { id, provider_metadata: None });
            }
        } else if thought {
            self.close_text(out);
            let id = match self.reasoning_id.clone() {
                Some(id) => id,
                None => {
                    let Some(id) = self.next_block() else { return };
                    self.reasoning_id = Some(id.clone());
                    out.push(StreamPart::ReasoningStart { id: id.clone(), provider_metadata: meta.clone() });
                    id
                }
            };
            out.push(StreamPart::ReasoningDelta { id, delta: text.into_owned(), provider_metadata: meta });
        } else {
            self.close_reasoning(out);
            let id = match self.text_id.clone() {
                Some(id) => id,
                None => {
                    let Some(id) = self.next_block() else { return };
                    self.text_id = Some(id.clone());
                    out.push(StreamPart::TextStart { id: id.clone(), provider_metadata: meta.clone() });
                    id
                }
            };
            out.push(StreamPart::TextDelta { id, delta: text.into_owned(), provider_metadata: meta });
        }
    }

    /// A complete function call (streamed arguments are a Vertex option we
    /// do not set).
    fn function_call(&mut self, call: FunctionCall, meta: Option<Object>, out: &mut Vec<StreamPart>) {
        let Some(name) = call.name.map(Cow::into_owned) else { return };
        if call.partial_args.is_some() || call.will_continue == Some(true) {
            return self.chunk_error(out, malformed(self.provider, "streamed function call arguments are not supported".into()));
        }
        self.close_text(out);
        self.close_reasoning(out);
        if !self.track() {
            return;
        }
        self.calls += 1;
        let id = match call.id {
            Some(id) if !id.is_empty() => id.into_owned(),
            _ => self.generate_id(),
        };
        out.push(StreamPart::ToolInputStart { id: id.clone(), tool_name: name.clone(), provider_metadata: meta.clone() });
        // `JSON.stringify(args)` (a string is passed on as is).
        let args = match call.args.map(|a| serde_json::from_str::<Value>(a.get())) {
            Some(Ok(Value::String(s))) => Some(s),
            Some(Ok(v)) => Some(js_json::to_string(&v)),
            Some(Err(e)) => return self.chunk_error(out, malformed(self.provider, format!("function call args: {e}"))),
            None => None,
        };
        let input = match args {
            Some(args) => {
                if !self.retain(args.len()) {
                    return;
                }
                out.push(StreamPart::ToolInputDelta { id: id.clone(), delta: args.clone() });
                args
            }
            None => "{}".to_string(),
        };
        out.push(StreamPart::ToolInputEnd { id: id.clone() });
        out.push(StreamPart::ToolCall { tool_call_id: id, tool_name: name, input, provider_metadata: meta });
        self.has_tool_calls = true;
    }

    fn close_text(&mut self, out: &mut Vec<StreamPart>) {
        if let Some(id) = self.text_id.take() {
            out.push(StreamPart::TextEnd { id, provider_metadata: None });
        }
    }

    fn close_reasoning(&mut self, out: &mut Vec<StreamPart>) {
        if let Some(id) = self.reasoning_id.take() {
            out.push(StreamPart::ReasoningEnd { id, provider_metadata: None });
        }
    }

    /// A chunk that failed to parse: an error part, and the finish becomes
    /// `error` unless a reason came already.
    fn chunk_error(&mut self, out: &mut Vec<StreamPart>, part: StreamPart) {
        if self.finish.0 == FinishReason::Interrupted {
            self.finish = (FinishReason::Error, None);
        }
        out.push(part);
    }

    fn retain(&mut self, bytes: usize) -> bool {
        self.retained += bytes;
        let kept = [&self.usage, &self.safety_ratings, &self.prompt_feedback].map(|v| v.as_ref().map_or(0, String::len));
        if self.retained + kept.iter().sum::<usize>() > MAX_RETAINED_BYTES {
            self.fail(format!("the response keeps more than {MAX_RETAINED_BYTES} bytes of arguments and metadata"));
        }
        self.failed.is_none()
    }

    fn fail(&mut self, detail: String) {
        self.failed = Some(ProviderError::Malformed { provider: self.provider, detail });
    }

    /// `convertGoogleUsage`, from the raw usage metadata.
    fn usage(usage: &Value) -> Usage {
        if usage.is_null() {
            return Usage::default();
        }
        let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
        Usage {
            input_tokens: Some(n("promptTokenCount") + n("toolUsePromptTokenCount")),
            output_tokens: Some(n("candidatesTokenCount") + n("thoughtsTokenCount")),
            reasoning_tokens: Some(n("thoughtsTokenCount")),
            cached_input_tokens: Some(n("cachedContentTokenCount")),
        }
    }
}

impl StreamDecoder for GoogleDecoder {
    fn feed(&mut self, bytes: &[u8]) -> Vec<StreamPart> {
        let mut out = Vec::new();
        if self.failed.is_some() || self.ended {
            return out;
        }
        for event in self.sse.feed(bytes) {
            self.event(&event.data, &mut out);
            if self.failed.is_some() {
                break;
            }
        }
        out
    }

    /// The SDK's `flush`: the open blocks end and the finish follows, with
    /// whatever reason came (`interrupted` when none did).
    fn end(&mut self) -> Vec<StreamPart> {
        if self.failure().is_some() || self.ended {
            return vec![];
        }
        self.ended = true;
        let mut out = Vec::new();
        self.close_text(&mut out);
        self.close_reasoning(&mut out);
        let raw = |v: &Option<String>| v.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok()).unwrap_or(Value::Null);
        let usage_metadata = raw(&self.usage);
        let service_tier = usage_metadata.get("serviceTier").cloned().unwrap_or(Value::Null);
        let mut meta = Map::new();
        meta.insert("promptFeedback".into(), raw(&self.prompt_feedback));
        meta.insert("groundingMetadata".into(), Value::Null);
        meta.insert("urlContextMetadata".into(), Value::Null);
        meta.insert("safetyRatings".into(), raw(&self.safety_ratings));
        meta.insert("usageMetadata".into(), usage_metadata.clone());
        meta.insert("finishMessage".into(), self.finish_message.clone().map_or(Value::Null, Value::String));
        meta.insert("serviceTier".into(), service_tier);
        let (reason, raw) = self.finish.clone();
        out.push(StreamPart::Finish {
            reason,
            raw_reason: raw,
            usage: Self::usage(&usage_metadata),
            provider_metadata: Some(self.wrap(Value::Object(meta))),
        });
        out
    }

    fn failure(&self) -> Option<ProviderError> {
        let sse = || self.sse.error().map(|e| ProviderError::Malformed { provider: self.provider, detail: e.to_string() });
        self.failed.clone().or_else(sse)
    }
}

/// `mapGoogleFinishReason`.
fn finish_reason(raw: &str, has_tool_calls: bool) -> FinishReason {
    match raw {
        "STOP" if has_tool_calls => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" | "CONTINUATION" => FinishReason::Length,
        "IMAGE_SAFETY" | "RECITATION" | "SAFETY" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" => FinishReason::ContentFilter,
        "MALFORMED_FUNCTION_CALL" => FinishReason::Error,
        _ => FinishReason::Other,
    }
}

/// A `promptFeedback.blockReason` that means the prompt was refused.
fn confirmed_block_reason(reason: &str) -> bool {
    !matches!(reason, "" | "BLOCK_REASON_UNSPECIFIED" | "BLOCKED_REASON_UNSPECIFIED")
}

fn clip(data: &str) -> &str {
    match data.char_indices().nth(200) {
        Some((i, _)) => &data[..i],
        None => data,
    }
}

fn malformed(provider: &'static str, detail: String) -> StreamPart {
    StreamPart::Error(ProviderError::Malformed { provider, detail })
}

/// Keeps the latest raw value of a field every event repeats, in the
/// buffer of the previous one (no allocation per event once it fits).
fn keep(slot: &mut Option<String>, raw: &str) {
    let buffer = slot.get_or_insert_with(String::new);
    buffer.clear();
    buffer.push_str(raw);
}
