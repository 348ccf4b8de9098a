//! The Responses stream (`data: {"type": "response.…", "sequence_number": n,
//! …}` events) to [`StreamPart`]s, as `@ai-sdk/openai`'s responses model
//! reads it in `doStream`, for function tools and text.
//!
//! Events are checked as the SDK's zod schema checks them: a known event
//! type without the fields the SDK reads is an `error` part (as is invalid
//! JSON), an unknown type is ignored. Provider-executed tools (web search,
//! code interpreter, …) are never offered by headstart; their items are
//! ignored, as are citations' `source` parts (no [`StreamPart`] carries
//! them; their annotations stay in the text's provider metadata).

mod items;

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};

use super::super::holdback::State;
use super::super::PROVIDER;
use super::schema::{
    convert_usage, early_error, error_event, incomplete_reason, index, map_finish_reason, num_field, opt_index, response_error,
    str_field, usage, well_formed_error,
};
use crate::protocol::message::FinishReason;
use crate::protocol::sse::SseDecoder;
use crate::provider::error::ProviderError;
use crate::provider::part::StreamPart;
use crate::provider::{StreamDecoder, MAX_RETAINED_BYTES, MAX_TRACKED_BLOCKS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Summary {
    Active,
    CanConclude,
    Concluded,
}

#[derive(Debug)]
struct Reasoning {
    encrypted: Option<String>,
    /// By summary index (a JS object's integer keys: ascending).
    parts: BTreeMap<u64, Summary>,
}

/// A function call being streamed.
#[derive(Debug)]
struct Ongoing {
    call_id: String,
    name: String,
    /// A `parallel` wrapper call: its input is buffered, not streamed, until
    /// it is known whether it expands.
    buffered: Option<Vec<String>>,
    async_flag: Option<Value>,
}

/// Decodes an OpenAI Responses stream into [`StreamPart`]s.
///
/// `finish` comes at the end of the body (the SDK's `flush`), with the
/// reason of `response.completed` / `response.incomplete` /
/// `response.failed`, `error` after an error event, else `interrupted`.
#[derive(Debug)]
pub struct ResponsesDecoder {
    sse: SseDecoder,
    state: State,
    /// `store: true` was asked for: a summary part ends when it is done,
    /// not when the next one starts or the item ends.
    store: bool,
    /// `logprobs` was asked for: text deltas' logprobs go to the finish
    /// metadata.
    logprobs_requested: bool,
    finish_reason: FinishReason,
    raw_finish_reason: Option<String>,
    usage: Option<Value>,
    response_id: Option<String>,
    /// The function tools offered (for the `parallel` wrapper).
    tools: Vec<String>,
    /// Function calls by output index.
    tool_calls: HashMap<u64, Ongoing>,
    reasoning: HashMap<String, Reasoning>,
    /// The item id of an open message or reasoning item by output index.
    output_items: HashMap<u64, String>,
    annotations: Vec<Value>,
    message_phase: Option<Value>,
    has_function_call: bool,
    has_refusal: bool,
    stream_error: bool,
    service_tier: Option<String>,
    reasoning_context: Option<Value>,
    prompt_cache_diagnostics: Option<Value>,
    logprobs: Vec<Value>,
    /// Bytes kept between events (held back before output, annotations,
    /// logprobs).
    retained: usize,
    limit: Option<ProviderError>,
}

fn meta(fields: Value) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    m.insert(PROVIDER.into(), fields);
    Some(m)
}

impl Default for ResponsesDecoder {
    fn default() -> Self {
        Self::new(false, false)
    }
}

impl ResponsesDecoder {
    /// `store` and `logprobs` as the request asked for them
    /// (`providerOptions.openai.store === true`, `.logprobs` truthy).
    pub fn new(store: bool, logprobs_requested: bool) -> Self {
        Self {
            sse: SseDecoder::new(),
            state: State::default(),
            store,
            logprobs_requested,
            finish_reason: FinishReason::Interrupted,
            raw_finish_reason: None,
            usage: None,
            response_id: None,
            tools: Vec::new(),
            tool_calls: HashMap::new(),
            reasoning: HashMap::new(),
            output_items: HashMap::new(),
            annotations: Vec::new(),
            message_phase: None,
            has_function_call: false,
            has_refusal: false,
            stream_error: false,
            service_tier: None,
            reasoning_context: None,
            prompt_cache_diagnostics: None,
            logprobs: Vec::new(),
            retained: 0,
            limit: None,
        }
    }

    /// The names of the function tools offered.
    pub fn with_tools(mut self, tools: Vec<String>) -> Self {
        self.tools = tools;
        self
    }

    fn tracked(&self) -> usize {
        self.tool_calls.len() + self.output_items.len() + self.reasoning.values().map(|r| 1 + r.parts.len()).sum::<usize>()
    }

    fn fail(&mut self, detail: String) {
        self.state = State::Failed;
        self.tool_calls.clear();
        self.reasoning.clear();
        self.output_items.clear();
        self.annotations.clear();
        self.logprobs.clear();
        self.limit = Some(ProviderError::Malformed { provider: PROVIDER, detail });
    }

    fn retain(&mut self, bytes: usize) -> bool {
        self.retained += bytes;
        if self.retained > MAX_RETAINED_BYTES {
            self.fail(format!(
                "the response keeps more than {MAX_RETAINED_BYTES} bytes of held-back events, annotations and logprobs"
            ));
            return false;
        }
        true
    }

    fn on_data(&mut self, data: &str, out: &mut Vec<StreamPart>) {
        if self.state.is_over() {
            return;
        }
        if self.text_delta_fast(data, out) {
            return;
        }
        let value: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) => return self.malformed(format!("JSON parsing failed: Text: {data}.\nError message: {e}"), out),
        };
        let Some(kind) = value.get("type").and_then(Value::as_str) else {
            return self
                .malformed(format!("Type validation failed: Value: {data}.\nError message: `type` must be a string"), out);
        };
        let before_output = self.state.is_before_output();
        // The look-ahead's view: an error fails the call, an output event
        // ends the look-ahead.
        if before_output && well_formed_error(kind, &value) {
            if let Some(error) = early_error(kind, &value) {
                self.state = State::Failed;
                out.push(StreamPart::Error(error));
                return;
            }
        }
        let mut parts = Vec::new();
        let known = match self.on_event(kind, &value, &mut parts) {
            Ok(known) => known,
            Err(detail) => {
                return self.malformed(format!("Type validation failed: Value: {data}.\nError message: {detail}"), out);
            }
        };
        if matches!(self.state, State::Failed) {
            return;
        }
        if self.tracked() > MAX_TRACKED_BLOCKS {
            return self.fail(format!("more than {MAX_TRACKED_BLOCKS} items and summary parts open in one response"));
        }
        let is_output = known && !matches!(kind, "response.created" | "response.in_progress" | "response.failed" | "error");
        if self.state.pass(is_output, &mut parts, out) {
            self.retain(data.len());
        }
    }

    /// Most events of a stream are text deltas: a well-formed one is read
    /// straight into its struct, not through a JSON value. False when the
    /// event is not one the short path takes (then the general path reads
    /// it, with its errors).
    fn text_delta_fast(&mut self, data: &str, out: &mut Vec<StreamPart>) -> bool {
        #[derive(serde::Deserialize)]
        struct TextDelta {
            #[serde(rename = "type")]
            kind: String,
            item_id: String,
            output_index: Option<f64>,
            delta: String,
            logprobs: Option<Value>,
        }
        if !data.contains("\"response.output_text.delta\"") {
            return false;
        }
        let Ok(event) = serde_json::from_str::<TextDelta>(data) else { return false };
        let index = match event.output_index {
            None => None,
            Some(n) => match index(n) {
                Ok(i) => Some(i),
                Err(_) => return false,
            },
        };
        let kept_logprobs = self.logprobs_requested && event.logprobs.as_ref().is_some_and(|l| !l.is_null());
        if event.kind != "response.output_text.delta"
            || kept_logprobs
            || event.logprobs.as_ref().is_some_and(|l| !l.is_null() && !l.is_array())
        {
            return false;
        }
        self.state.release(out);
        let id = self.item_id(&event.item_id, index);
        out.push(StreamPart::TextDelta { id, delta: event.delta, provider_metadata: None });
        true
    }

    /// An event that does not parse or fit its schema: an `error` part
    /// (the look-ahead ends there), and the finish reason becomes `error`.
    fn malformed(&mut self, detail: String, out: &mut Vec<StreamPart>) {
        self.state.release(out);
        self.stream_error = true;
        self.finish_reason = FinishReason::Error;
        self.raw_finish_reason = None;
        out.push(StreamPart::Error(ProviderError::Malformed { provider: PROVIDER, detail }));
    }

    /// Handles one event; `Ok(false)` for a type the SDK does not model.
    fn on_event(&mut self, kind: &str, v: &Value, out: &mut Vec<StreamPart>) -> Result<bool, String> {
        match kind {
            "response.created" | "response.in_progress" => {
                let r = v.get("response").ok_or("`response` is missing")?;
                let id = str_field(r, "id")?;
                num_field(r, "created_at")?;
                let model = str_field(r, "model")?;
                if kind == "response.created" {
                    self.response_id = Some(id.to_string());
                    out.push(StreamPart::ResponseMetadata { id: Some(id.to_string()), model_id: Some(model.to_string()) });
                }
            }
            "response.output_item.added" => return self.item_added(v, out),
            "response.output_item.done" => return self.item_done(v, out),
            "response.function_call_arguments.delta" => {
                let oi = index(num_field(v, "output_index")?)?;
                str_field(v, "item_id")?;
                let delta = str_field(v, "delta")?;
                match self.tool_calls.get_mut(&oi) {
                    Some(Ongoing { buffered: Some(buffered), .. }) => {
                        buffered.push(delta.to_string());
                        self.retain(delta.len());
                    }
                    Some(call) => out.push(StreamPart::ToolInputDelta { id: call.call_id.clone(), delta: delta.to_string() }),
                    None => {}
                }
            }
            "response.function_call_arguments.done" => {
                index(num_field(v, "output_index")?)?;
                str_field(v, "item_id")?;
                str_field(v, "arguments")?;
            }
            "response.output_text.delta" => {
                let item_id = str_field(v, "item_id")?;
                let oi = opt_index(v, "output_index")?;
                let delta = str_field(v, "delta")?.to_string();
                let logprobs = v.get("logprobs").filter(|l| !l.is_null());
                if logprobs.is_some_and(|l| !l.is_array()) {
                    return Err("`logprobs` must be an array".into());
                }
                let id = self.item_id(item_id, oi);
                out.push(StreamPart::TextDelta { id, delta, provider_metadata: None });
                if let Some(l) = logprobs.filter(|_| self.logprobs_requested) {
                    if self.retain(l.to_string().len()) {
                        self.logprobs.push(l.clone());
                    }
                }
            }
            "response.refusal.delta" => {
                let item_id = str_field(v, "item_id")?;
                let oi = opt_index(v, "output_index")?;
                let delta = str_field(v, "delta")?.to_string();
                self.has_refusal = true;
                let id = self.item_id(item_id, oi);
                out.push(StreamPart::TextDelta { id, delta, provider_metadata: None });
            }
            "response.refusal.done" => {
                str_field(v, "item_id")?;
                str_field(v, "refusal")?;
                self.has_refusal = true;
            }
            "response.reasoning_summary_part.added" => {
                let item_id = str_field(v, "item_id")?;
                let oi = opt_index(v, "output_index")?;
                let n = index(num_field(v, "summary_index")?)?;
                let id = self.item_id(item_id, oi);
                if n > 0 {
                    if let Some(r) = self.reasoning.get_mut(&id) {
                        r.parts.insert(n, Summary::Active);
                        for (k, status) in r.parts.iter_mut() {
                            if *status == Summary::CanConclude {
                                out.push(StreamPart::ReasoningEnd {
                                    id: format!("{id}:{k}"),
                                    provider_metadata: meta(json!({ "itemId": id })),
                                });
                                *status = Summary::Concluded;
                            }
                        }
                        out.push(StreamPart::ReasoningStart {
                            id: format!("{id}:{n}"),
                            provider_metadata: meta(json!({ "itemId": id, "reasoningEncryptedContent": r.encrypted })),
                        });
                    }
                }
            }
            "response.reasoning_summary_text.delta" => {
                let item_id = str_field(v, "item_id")?;
                let oi = opt_index(v, "output_index")?;
                let n = index(num_field(v, "summary_index")?)?;
                let delta = str_field(v, "delta")?.to_string();
                let id = self.item_id(item_id, oi);
                out.push(StreamPart::ReasoningDelta {
                    id: format!("{id}:{n}"),
                    delta,
                    provider_metadata: meta(json!({ "itemId": id })),
                });
            }
            "response.reasoning_summary_part.done" => {
                let item_id = str_field(v, "item_id")?;
                let oi = opt_index(v, "output_index")?;
                let n = index(num_field(v, "summary_index")?)?;
                let id = self.item_id(item_id, oi);
                let store = self.store;
                if let Some(r) = self.reasoning.get_mut(&id) {
                    if store {
                        out.push(StreamPart::ReasoningEnd {
                            id: format!("{id}:{n}"),
                            provider_metadata: meta(json!({ "itemId": id })),
                        });
                        r.parts.insert(n, Summary::Concluded);
                    } else {
                        r.parts.insert(n, Summary::CanConclude);
                    }
                }
            }
            "response.completed" | "response.incomplete" => {
                let r = v.get("response").filter(|r| r.is_object()).ok_or("`response` must be an object")?;
                let reason = incomplete_reason(r)?;
                let usage = usage(r)?;
                if !self.stream_error {
                    self.finish_reason = map_finish_reason(reason.as_deref(), self.has_function_call, self.has_refusal);
                    self.raw_finish_reason = reason;
                }
                self.usage = usage;
                self.prompt_cache_diagnostics = r.get("prompt_cache_diagnostics").filter(|d| !d.is_null()).cloned();
                if let Some(t) = r.get("service_tier").and_then(Value::as_str) {
                    self.service_tier = Some(t.to_string());
                }
                if let Some(c) = r.pointer("/reasoning/context").filter(|c| !c.is_null()) {
                    self.reasoning_context = Some(c.clone());
                }
            }
            "response.failed" => {
                num_field(v, "sequence_number")?;
                let r = v.get("response").filter(|r| r.is_object()).ok_or("`response` must be an object")?;
                let error = response_error(r)?;
                let reason = incomplete_reason(r)?;
                self.prompt_cache_diagnostics = r.get("prompt_cache_diagnostics").filter(|d| !d.is_null()).cloned();
                self.finish_reason = match &reason {
                    Some(reason) => map_finish_reason(Some(reason), self.has_function_call, false),
                    None => FinishReason::Error,
                };
                self.raw_finish_reason = Some(reason.unwrap_or_else(|| "error".into()));
                self.usage = usage(r)?;
                if let Some(c) = r.pointer("/reasoning/context").filter(|c| !c.is_null()) {
                    self.reasoning_context = Some(c.clone());
                }
                if let Some((code, message)) = error.filter(|_| !self.stream_error) {
                    self.stream_error = true;
                    out.push(StreamPart::Error(ProviderError::Stream {
                        provider: PROVIDER,
                        kind: code.unwrap_or_else(|| "response.failed".into()),
                        message,
                    }));
                }
            }
            "response.output_text.annotation.added" => {
                let a = v.get("annotation").filter(|a| a.is_object()).ok_or("`annotation` must be an object")?;
                match a.get("type").and_then(Value::as_str) {
                    Some("url_citation" | "file_citation" | "container_file_citation" | "file_path") => {}
                    _ => return Err("`annotation.type` is not a known citation".into()),
                }
                if self.retain(a.to_string().len()) {
                    self.annotations.push(a.clone());
                }
            }
            "error" => {
                num_field(v, "sequence_number")?;
                let (kind, message) = error_event(v)?;
                self.stream_error = true;
                self.finish_reason = FinishReason::Error;
                self.raw_finish_reason = Some("error".into());
                out.push(StreamPart::Error(ProviderError::Stream { provider: PROVIDER, kind, message }));
            }
            // Known types of provider-executed tools headstart never offers.
            "response.custom_tool_call_input.delta"
            | "response.image_generation_call.partial_image"
            | "response.code_interpreter_call_code.delta"
            | "response.code_interpreter_call_code.done"
            | "response.apply_patch_call_operation_diff.delta"
            | "response.apply_patch_call_operation_diff.done" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The id of the open item at `output_index`, else the event's own.
    fn item_id(&self, item_id: &str, output_index: Option<u64>) -> String {
        output_index.and_then(|oi| self.output_items.get(&oi)).cloned().unwrap_or_else(|| item_id.to_string())
    }

    /// The SDK's `flush`.
    fn finish(&mut self, out: &mut Vec<StreamPart>) {
        // A wrapper call that never completed shows its input (in output
        // index order; the SDK's object keys are in that order too).
        let mut open: Vec<(&u64, &Ongoing)> = self.tool_calls.iter().filter(|(_, c)| c.buffered.is_some()).collect();
        open.sort_by_key(|(oi, _)| **oi);
        for (_, call) in open {
            out.push(StreamPart::ToolInputStart {
                id: call.call_id.clone(),
                tool_name: call.name.clone(),
                provider_metadata: None,
            });
            for delta in call.buffered.iter().flatten() {
                out.push(StreamPart::ToolInputDelta { id: call.call_id.clone(), delta: delta.clone() });
            }
        }
        let mut m = Map::new();
        m.insert("responseId".into(), json!(self.response_id));
        if !self.logprobs.is_empty() {
            m.insert("logprobs".into(), Value::Array(std::mem::take(&mut self.logprobs)));
        }
        if let Some(t) = &self.service_tier {
            m.insert("serviceTier".into(), json!(t));
        }
        if let Some(c) = &self.reasoning_context {
            m.insert("reasoningContext".into(), c.clone());
        }
        if let Some(d) = &self.prompt_cache_diagnostics {
            m.insert("promptCacheDiagnostics".into(), d.clone());
        }
        out.push(StreamPart::Finish {
            reason: self.finish_reason.clone(),
            raw_reason: self.raw_finish_reason.clone(),
            usage: convert_usage(self.usage.as_ref()),
            provider_metadata: meta(Value::Object(m)),
        });
    }
}

impl StreamDecoder for ResponsesDecoder {
    fn feed(&mut self, bytes: &[u8]) -> Vec<StreamPart> {
        let mut out = Vec::new();
        for event in self.sse.feed(bytes) {
            self.on_data(&event.data, &mut out);
        }
        out
    }

    /// The body ended: `finish` with what the stream said, `interrupted`
    /// when it never said how it ended. An unterminated last event is
    /// dropped, as the SDK's event-stream parser drops it.
    fn end(&mut self) -> Vec<StreamPart> {
        let mut out = Vec::new();
        if self.state.is_over() || self.sse.error().is_some() {
            return out;
        }
        self.state.release(&mut out);
        self.finish(&mut out);
        self.state = State::Finished;
        out
    }

    fn failure(&self) -> Option<ProviderError> {
        let sse = || self.sse.error().map(|e| ProviderError::Malformed { provider: PROVIDER, detail: e.to_string() });
        self.limit.clone().or_else(sse)
    }
}
