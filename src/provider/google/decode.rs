//! Parsing the `alt=sse` stream, as the SDK's `doStream` does: every
//! `data:` event is a whole `GenerateContentResponse`; text and thought
//! parts open, continue and close text and reasoning blocks numbered in
//! order ("0", "1", ...); function calls arrive whole and become a tool
//! input start, delta, end and call; `thoughtSignature` rides along as
//! `providerMetadata.google.thoughtSignature`; the finish (with usage) is
//! sent when the body ends, `interrupted` when no finish reason came.

use serde_json::{json, Map, Value};

use crate::protocol::json::Object;
use crate::protocol::message::FinishReason;
use crate::protocol::sse::SseDecoder;
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
    blocks: usize,
    has_tool_calls: bool,
    finish: (FinishReason, Option<String>),
    usage: Option<Value>,
    prompt_feedback: Value,
    prompt_blocked: bool,
    safety_ratings: Value,
    finish_message: Value,
    /// Bytes of call arguments passed on, plus the latest usage and safety
    /// ratings kept for the finish, against `MAX_RETAINED_BYTES`.
    retained: usize,
    /// Sizes of the events the kept usage, ratings and feedback came from
    /// (an event's values are replaced by the next's, not added).
    meta_bytes: [usize; 3],
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
        let (provider, names): (_, &'static [&'static str]) =
            if vertex { ("vertex", &["googleVertex", "vertex"]) } else { ("google", &["google"]) };
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
            has_tool_calls: false,
            finish: (FinishReason::Interrupted, None),
            usage: None,
            prompt_feedback: Value::Null,
            prompt_blocked: false,
            safety_ratings: Value::Null,
            finish_message: Value::Null,
            retained: 0,
            meta_bytes: [0; 3],
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

    fn signature_meta(&self, part: &Value) -> Option<Object> {
        match part.get("thoughtSignature") {
            Some(Value::String(s)) if !s.is_empty() => Some(self.wrap(json!({ "thoughtSignature": s }))),
            _ => None,
        }
    }

    fn next_block(&mut self) -> Option<String> {
        if self.blocks >= MAX_TRACKED_BLOCKS {
            self.fail(format!("more than {MAX_TRACKED_BLOCKS} parts in one response"));
            return None;
        }
        self.blocks += 1;
        Some((self.blocks - 1).to_string())
    }

    fn event(&mut self, data: &str, out: &mut Vec<StreamPart>) {
        let value: Value = match serde_json::from_str(data) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return self.chunk_error(out, malformed(self.provider, format!("not a JSON object: {}", clip(data)))),
            Err(e) => return self.chunk_error(out, malformed(self.provider, format!("{e}: {}", clip(data)))),
        };
        if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
            self.finish = (FinishReason::Error, None);
            let kind = error.get("status").and_then(Value::as_str).unwrap_or("UNKNOWN").to_string();
            let message = error.get("message").and_then(Value::as_str).unwrap_or("").to_string();
            return out.push(StreamPart::Error(ProviderError::Stream { provider: self.provider, kind, message }));
        }
        if self.response_id.is_none() {
            if let Some(id) = value.get("responseId").and_then(Value::as_str) {
                self.response_id = Some(id.to_string());
                out.push(StreamPart::ResponseMetadata { id: Some(id.to_string()), model_id: None });
            }
        }
        if let Some(usage) = value.get("usageMetadata").filter(|u| !u.is_null()) {
            self.usage = Some(usage.clone());
            self.meta_bytes[0] = data.len();
        }
        if let Some(feedback) = value.get("promptFeedback").filter(|f| !f.is_null()) {
            if !self.prompt_blocked {
                self.prompt_feedback = feedback.clone();
                self.meta_bytes[2] = data.len();
                if let Some(reason) = feedback.get("blockReason").and_then(Value::as_str) {
                    if confirmed_block_reason(reason) {
                        self.prompt_blocked = true;
                        self.finish = (FinishReason::ContentFilter, Some(reason.to_string()));
                    }
                }
            }
        }
        let Some(candidate) = value.get("candidates").and_then(Value::as_array).and_then(|c| c.first()) else { return };
        if let Some(r) = candidate.get("safetyRatings").filter(|r| !r.is_null()) {
            self.safety_ratings = r.clone();
            self.meta_bytes[1] = data.len();
        }
        if !self.retain(0) {
            return;
        }
        if let Some(m) = candidate.get("finishMessage").filter(|m| !m.is_null()) {
            self.finish_message = m.clone();
        }
        if self.prompt_blocked {
            return;
        }
        let parts = candidate.pointer("/content/parts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for part in parts {
            self.part(part, out);
            if self.failed.is_some() {
                return;
            }
        }
        if let Some(raw) = candidate.get("finishReason").and_then(Value::as_str) {
            self.finish = (finish_reason(raw, self.has_tool_calls), Some(raw.to_string()));
        }
    }

    fn part(&mut self, part: &Value, out: &mut Vec<StreamPart>) {
        let meta = self.signature_meta(part);
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            let thought = part.get("thought") == Some(&Value::Bool(true));
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
                out.push(StreamPart::ReasoningDelta { id, delta: text.to_string(), provider_metadata: meta });
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
                out.push(StreamPart::TextDelta { id, delta: text.to_string(), provider_metadata: meta });
            }
        } else if let Some(call) = part.get("functionCall").filter(|c| c.is_object()) {
            self.function_call(call, meta, out);
        } else if part.get("inlineData").is_some() || part.get("text").is_some() {
            // Files the model generates (image output) and `text: null` are
            // out of scope; a file still ends the open blocks, as in the SDK.
            if part.get("inlineData").is_some() {
                self.close_text(out);
                self.close_reasoning(out);
            }
        }
    }

    /// A complete function call (streamed arguments are a Vertex option we
    /// do not set).
    fn function_call(&mut self, call: &Value, meta: Option<Object>, out: &mut Vec<StreamPart>) {
        let Some(name) = call.get("name").and_then(Value::as_str).map(str::to_string) else { return };
        if call.get("partialArgs").is_some_and(|p| !p.is_null()) || call.get("willContinue") == Some(&Value::Bool(true)) {
            return self.chunk_error(out, malformed(self.provider, "streamed function call arguments are not supported".into()));
        }
        self.close_text(out);
        self.close_reasoning(out);
        if self.blocks >= MAX_TRACKED_BLOCKS {
            return self.fail(format!("more than {MAX_TRACKED_BLOCKS} parts in one response"));
        }
        self.blocks += 1;
        let id = match call.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => self.generate_id(),
        };
        out.push(StreamPart::ToolInputStart { id: id.clone(), tool_name: name.clone(), provider_metadata: meta.clone() });
        let args = match call.get("args").filter(|a| !a.is_null()) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => Some(v.to_string()),
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
        if self.retained + self.meta_bytes.iter().sum::<usize>() > MAX_RETAINED_BYTES {
            self.fail(format!("the response keeps more than {MAX_RETAINED_BYTES} bytes of arguments and metadata"));
        }
        self.failed.is_none()
    }

    fn fail(&mut self, detail: String) {
        self.failed = Some(ProviderError::Malformed { provider: self.provider, detail });
    }

    fn usage(&self) -> Usage {
        let Some(u) = &self.usage else { return Usage::default() };
        let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        let input = n("promptTokenCount") + n("toolUsePromptTokenCount");
        Usage {
            input_tokens: Some(input),
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
        let usage_metadata = self.usage.clone().unwrap_or(Value::Null);
        let service_tier = usage_metadata.get("serviceTier").cloned().unwrap_or(Value::Null);
        let mut meta = Map::new();
        meta.insert("promptFeedback".into(), self.prompt_feedback.clone());
        meta.insert("groundingMetadata".into(), Value::Null);
        meta.insert("urlContextMetadata".into(), Value::Null);
        meta.insert("safetyRatings".into(), self.safety_ratings.clone());
        meta.insert("usageMetadata".into(), usage_metadata);
        meta.insert("finishMessage".into(), self.finish_message.clone());
        meta.insert("serviceTier".into(), service_tier);
        let (reason, raw) = self.finish.clone();
        out.push(StreamPart::Finish {
            reason,
            raw_reason: raw,
            usage: self.usage(),
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
