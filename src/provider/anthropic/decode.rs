//! Parsing the Messages API event stream, as the SDK's `doStream` does:
//! content blocks by index become text, reasoning and tool-call parts with
//! the block index as id; `message_stop` gives the finish; an `error` event
//! becomes an error part; a body that ends mid-message after some output
//! finishes as `interrupted`.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::protocol::json::Object;
use crate::protocol::message::FinishReason;
use crate::protocol::sse::SseDecoder;
use crate::provider::{ProviderError, StreamDecoder, StreamPart, Usage, MAX_RETAINED_BYTES, MAX_TRACKED_BLOCKS};

#[derive(Debug)]
enum Block {
    Text,
    Reasoning,
    ToolCall { id: String, name: String, input: String },
}

#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    sse: SseDecoder,
    blocks: HashMap<u64, Block>,
    /// Type of the block being streamed (signatures only count in thinking).
    block_type: Option<String>,
    message_open: bool,
    message_id: Option<String>,
    finish: Option<(FinishReason, Option<String>)>,
    usage: Usage,
    raw_usage: Object,
    stop_sequence: Value,
    // Tracked as the SDK does to decide an `interrupted` finish at EOF.
    has_output: bool,
    has_stream_error: bool,
    last_finish: Option<(Usage, Object)>,
    /// Bytes kept between events (tool input, usage), against
    /// `MAX_RETAINED_BYTES`.
    retained: usize,
    /// A decoder limit was broken; the rest of the body is ignored.
    failed: Option<ProviderError>,
}

impl AnthropicDecoder {
    pub fn new() -> Self {
        Self { stop_sequence: Value::Null, ..Self::default() }
    }

    fn event(&mut self, data: &str, out: &mut Vec<StreamPart>) {
        let value: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) => return self.emit(out, malformed(format!("{e}: {data}"))),
        };
        let ty = value.get("type").and_then(Value::as_str).unwrap_or("");
        let index = value.get("index").and_then(Value::as_u64);
        match ty {
            "ping" => {}
            "message_start" => self.message_start(&value, out),
            "content_block_start" => {
                let (Some(index), Some(block)) = (index, value.get("content_block")) else {
                    return self.emit(out, malformed(format!("content_block_start without index or block: {data}")));
                };
                if self.blocks.len() >= MAX_TRACKED_BLOCKS && !self.blocks.contains_key(&index) {
                    return self.fail(format!("more than {MAX_TRACKED_BLOCKS} content blocks open at once"));
                }
                self.block_start(index, block, out);
            }
            "content_block_delta" => {
                let (Some(index), Some(delta)) = (index, value.get("delta")) else {
                    return self.emit(out, malformed(format!("content_block_delta without index or delta: {data}")));
                };
                self.block_delta(index, delta, out);
            }
            "content_block_stop" => {
                if let Some(index) = index {
                    self.block_stop(index, out);
                }
                self.block_type = None;
            }
            "message_delta" => {
                let usage = value.get("usage").and_then(Value::as_object);
                if let Some(u) = usage {
                    if !self.retain(data.len()) {
                        return;
                    }
                    if let Some(n) = u.get("output_tokens").and_then(Value::as_u64) {
                        self.usage.output_tokens = Some(n);
                    }
                    if let Some(n) = u.get("input_tokens").and_then(Value::as_u64) {
                        self.usage.input_tokens = Some(n);
                    }
                    for (k, v) in u {
                        self.raw_usage.insert(k.clone(), v.clone());
                    }
                }
                let raw = value.pointer("/delta/stop_reason").and_then(Value::as_str);
                self.finish = Some((stop_reason(raw), raw.map(str::to_string)));
                self.stop_sequence = value.pointer("/delta/stop_sequence").cloned().unwrap_or(Value::Null);
            }
            "message_stop" => {
                self.message_open = false;
                self.message_id = None;
                let (reason, raw) = self.finish.clone().unwrap_or((FinishReason::Other, None));
                let meta = json!({ "anthropic": { "usage": self.raw_usage, "stopSequence": self.stop_sequence } });
                let meta = meta.as_object().cloned();
                self.emit(out, StreamPart::Finish { reason, raw_reason: raw, usage: self.usage, provider_metadata: meta });
            }
            "error" => {
                let err = value.get("error");
                let kind = err.and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or("error").to_string();
                let message = err.and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("").to_string();
                self.emit(out, StreamPart::Error(ProviderError::Stream { provider: "anthropic", kind, message }));
            }
            other => self.emit(out, malformed(format!("unknown event type {other:?}"))),
        }
    }

    fn message_start(&mut self, value: &Value, out: &mut Vec<StreamPart>) {
        let message = value.get("message").cloned().unwrap_or(Value::Null);
        let id = message.get("id").and_then(Value::as_str).map(str::to_string);
        if self.message_open {
            if id.is_some() && id == self.message_id {
                return;
            }
            return self.emit(out, malformed(format!("message_start for {id:?} while {:?} is still open", self.message_id)));
        }
        self.message_open = true;
        self.message_id.clone_from(&id);
        let usage = message.get("usage").and_then(Value::as_object).cloned().unwrap_or_default();
        self.usage.input_tokens = usage.get("input_tokens").and_then(Value::as_u64);
        self.usage.cached_input_tokens = usage.get("cache_read_input_tokens").and_then(Value::as_u64);
        self.raw_usage = usage;
        if let Some(raw) = message.get("stop_reason").and_then(Value::as_str) {
            self.finish = Some((stop_reason(Some(raw)), Some(raw.to_string())));
        }
        let model = message.get("model").and_then(Value::as_str).map(str::to_string);
        self.emit(out, StreamPart::ResponseMetadata { id: id.clone(), model_id: model.clone() });
        let meta = json!({ "anthropic": { "id": id, "model": model, "usage": self.raw_usage } });
        self.emit(
            out,
            StreamPart::Custom { kind: "anthropic.message_start".into(), provider_metadata: meta.as_object().cloned() },
        );
        // A message may arrive with tool calls already complete.
        for block in message.get("content").and_then(Value::as_array).into_iter().flatten() {
            if block.get("type").and_then(Value::as_str) == Some("tool_use") {
                let id = str_field(block, "id");
                let name = str_field(block, "name");
                let input = block.get("input").cloned().unwrap_or_else(|| json!({})).to_string();
                self.emit(out, StreamPart::ToolInputStart { id: id.clone(), tool_name: name.clone(), provider_metadata: None });
                self.emit(out, StreamPart::ToolInputDelta { id: id.clone(), delta: input.clone() });
                self.emit(out, StreamPart::ToolInputEnd { id: id.clone() });
                self.emit(out, StreamPart::ToolCall { tool_call_id: id, tool_name: name, input, provider_metadata: None });
            }
        }
    }

    fn block_start(&mut self, index: u64, block: &Value, out: &mut Vec<StreamPart>) {
        let ty = block.get("type").and_then(Value::as_str).unwrap_or("").to_string();
        let id = index.to_string();
        match ty.as_str() {
            "text" => {
                self.blocks.insert(index, Block::Text);
                self.emit(out, StreamPart::TextStart { id, provider_metadata: None });
            }
            "thinking" => {
                self.blocks.insert(index, Block::Reasoning);
                self.emit(out, StreamPart::ReasoningStart { id, provider_metadata: None });
            }
            "redacted_thinking" => {
                self.blocks.insert(index, Block::Reasoning);
                let meta = json!({ "anthropic": { "redactedData": block.get("data") } });
                self.emit(out, StreamPart::ReasoningStart { id, provider_metadata: meta.as_object().cloned() });
            }
            "tool_use" => {
                let call_id = str_field(block, "id");
                let name = str_field(block, "name");
                let input = match block.get("input") {
                    Some(Value::Object(o)) if !o.is_empty() => Value::Object(o.clone()).to_string(),
                    _ => String::new(),
                };
                self.blocks.insert(index, Block::ToolCall { id: call_id.clone(), name: name.clone(), input });
                self.emit(out, StreamPart::ToolInputStart { id: call_id, tool_name: name, provider_metadata: None });
            }
            // Server tools and other block types are out of scope; their
            // deltas are ignored with them.
            _ => {}
        }
        self.block_type = Some(ty);
    }

    fn block_delta(&mut self, index: u64, delta: &Value, out: &mut Vec<StreamPart>) {
        let id = index.to_string();
        match delta.get("type").and_then(Value::as_str).unwrap_or("") {
            "text_delta" => {
                self.emit(out, StreamPart::TextDelta { id, delta: str_field(delta, "text"), provider_metadata: None })
            }
            "thinking_delta" => {
                self.emit(out, StreamPart::ReasoningDelta { id, delta: str_field(delta, "thinking"), provider_metadata: None })
            }
            "signature_delta" if self.block_type.as_deref() == Some("thinking") => {
                let meta = json!({ "anthropic": { "signature": str_field(delta, "signature") } });
                self.emit(
                    out,
                    StreamPart::ReasoningDelta { id, delta: String::new(), provider_metadata: meta.as_object().cloned() },
                );
            }
            "input_json_delta" => {
                let piece = str_field(delta, "partial_json");
                if piece.is_empty() {
                    return;
                }
                if !self.retain(piece.len()) {
                    return;
                }
                if let Some(Block::ToolCall { id, input, .. }) = self.blocks.get_mut(&index) {
                    input.push_str(&piece);
                    let id = id.clone();
                    self.emit(out, StreamPart::ToolInputDelta { id, delta: piece });
                }
            }
            "signature_delta" | "citations_delta" => {}
            other => self.emit(out, malformed(format!("unsupported delta type {other:?}"))),
        }
    }

    fn block_stop(&mut self, index: u64, out: &mut Vec<StreamPart>) {
        let id = index.to_string();
        match self.blocks.remove(&index) {
            Some(Block::Text) => self.emit(out, StreamPart::TextEnd { id, provider_metadata: None }),
            Some(Block::Reasoning) => self.emit(out, StreamPart::ReasoningEnd { id, provider_metadata: None }),
            Some(Block::ToolCall { id, name, input }) => {
                self.emit(out, StreamPart::ToolInputEnd { id: id.clone() });
                let input = if input.is_empty() { "{}".to_string() } else { input };
                self.emit(out, StreamPart::ToolCall { tool_call_id: id, tool_name: name, input, provider_metadata: None });
            }
            None => {}
        }
    }

    /// Counts `bytes` more kept; false (and failed) past the limit.
    fn retain(&mut self, bytes: usize) -> bool {
        self.retained += bytes;
        if self.retained > MAX_RETAINED_BYTES {
            self.fail(format!("the response keeps more than {MAX_RETAINED_BYTES} bytes of tool input and usage"));
        }
        self.failed.is_none()
    }

    fn fail(&mut self, detail: String) {
        self.blocks = HashMap::new();
        self.failed = Some(ProviderError::Malformed { provider: "anthropic", detail });
    }

    fn emit(&mut self, out: &mut Vec<StreamPart>, part: StreamPart) {
        match &part {
            StreamPart::ResponseMetadata { .. } => self.has_output = false,
            StreamPart::Finish { usage, provider_metadata, .. } => {
                self.has_output = false;
                self.last_finish = Some((*usage, provider_metadata.clone().unwrap_or_default()));
            }
            StreamPart::Error(_) => self.has_stream_error = true,
            StreamPart::TextDelta { delta, .. }
            | StreamPart::ReasoningDelta { delta, .. }
            | StreamPart::ToolInputDelta { delta, .. } => {
                self.has_output |= !delta.is_empty();
            }
            StreamPart::ToolCall { .. } => self.has_output = true,
            _ => {}
        }
        out.push(part);
    }
}

impl StreamDecoder for AnthropicDecoder {
    fn feed(&mut self, bytes: &[u8]) -> Vec<StreamPart> {
        let mut out = Vec::new();
        if self.failed.is_some() {
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

    fn end(&mut self) -> Vec<StreamPart> {
        if self.has_output && !self.has_stream_error && self.failure().is_none() {
            let (usage, meta) = self.last_finish.clone().unwrap_or_default();
            self.has_output = false;
            return vec![StreamPart::Finish {
                reason: FinishReason::Interrupted,
                raw_reason: None,
                usage,
                provider_metadata: (!meta.is_empty()).then_some(meta),
            }];
        }
        vec![]
    }

    fn failure(&self) -> Option<ProviderError> {
        let sse = || self.sse.error().map(|e| ProviderError::Malformed { provider: "anthropic", detail: e.to_string() });
        self.failed.clone().or_else(sse)
    }
}

fn stop_reason(raw: Option<&str>) -> FinishReason {
    match raw {
        Some("end_turn" | "stop_sequence" | "pause_turn") => FinishReason::Stop,
        Some("refusal") => FinishReason::ContentFilter,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        _ => FinishReason::Other,
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn malformed(detail: String) -> StreamPart {
    StreamPart::Error(ProviderError::Malformed { provider: "anthropic", detail })
}
