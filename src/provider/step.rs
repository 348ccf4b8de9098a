//! One LLM step as the AI SDK's `streamText(...).toUIMessageStream()` shows
//! it: provider [`StreamPart`]s in, UI message chunks out, and at the end the
//! step's response messages and finish reason, which the handover carries
//! (PROTOCOL.md §5.5).
//!
//! The ordering rules are the SDK's: `start` first; `start-step` with the
//! first part of the response; empty text deltas dropped; `finish-step` and
//! `finish` only when the stream has ended. A call that fails before any
//! output yields `start, error` and a rejected outcome (the TypeScript
//! handler then sends `handover-skip`); an error event after output yields an
//! `error` chunk and finish reason `error`, which still hands over.
//!
//! Deliberate difference: where the SDK's UI stream throws (the connection
//! cut mid-stream, a stall), this step ends well-formed with `error`,
//! `finish-step`, `finish{finishReason:"error"}`, so a reader never sees a
//! half-closed message; the outcome is rejected as the SDK's is.

use serde_json::Value;

use crate::protocol::chunk::{
    Abort, Custom, Delta, ErrorChunk, Finish, Marker, PartBoundary, Start, TextEnd, ToolInput, ToolInputDelta, ToolInputStart,
    UiChunk,
};
use crate::protocol::json::Object;
use crate::protocol::message::FinishReason;
use crate::protocol::model::{CustomPart, ModelMessage, ModelPart, TextPart, ToolCallPart};

use super::error::ProviderError;
use super::part::{StreamPart, Usage};
use super::tool::ToolSpec;

/// The error text the browser sees (the SDK's default `onError`): provider
/// details stay in the server logs.
pub const ERROR_TEXT: &str = "An error occurred.";

/// The result of a step whose finish reason resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    pub finish_reason: FinishReason,
    pub raw_finish_reason: Option<String>,
    /// `(await result.response).messages`: at most one assistant message.
    pub response_messages: Vec<ModelMessage>,
    pub usage: Usage,
    /// Errors reported inside the stream (the step still resolved).
    pub errors: Vec<ProviderError>,
}

impl StepResult {
    /// True when the step ended in tool calls: the agent takes over.
    pub fn wants_tools(&self) -> bool {
        self.finish_reason == FinishReason::ToolCalls
    }
}

/// How a step ended: resolved, or rejected (no decision could be made).
pub type StepOutcome = Result<StepResult, ProviderError>;

#[derive(Debug)]
enum Recorded {
    /// A text or reasoning part.
    Prose {
        reasoning: bool,
        id: String,
        text: String,
        meta: Option<Object>,
        open: bool,
    },
    Custom {
        kind: String,
        meta: Option<Object>,
    },
    ToolCall {
        id: String,
        name: String,
        input: Value,
        meta: Option<Object>,
    },
}

/// The state of one step.
#[derive(Debug)]
pub struct Step {
    message_id: String,
    tool_names: Vec<String>,
    started: bool,
    opened: bool,
    output: bool,
    terminal: bool,
    recorded: Vec<Recorded>,
    finish: Option<(FinishReason, Option<String>, Usage)>,
    errors: Vec<ProviderError>,
    outcome: Option<StepOutcome>,
    /// End open text and reasoning before an `error` or `abort` chunk.
    end_open_on_failure: bool,
    /// The step's first text part, and the latest provider metadata of its
    /// deltas: `streamText`'s output transform sends every later delta of
    /// that part with it (a Gemini `thoughtSignature` comes on one delta).
    first_text_id: Option<String>,
    first_text_meta: Option<Object>,
}

impl Step {
    /// A step of the assistant message `message_id`; `tools` are the tools
    /// the model was offered (a call to any other is invalid).
    pub fn new(message_id: impl Into<String>, tools: &[ToolSpec]) -> Self {
        Self {
            message_id: message_id.into(),
            tool_names: tools.iter().map(|t| t.name.clone()).collect(),
            started: false,
            opened: false,
            output: false,
            terminal: false,
            recorded: Vec::new(),
            finish: None,
            errors: Vec::new(),
            outcome: None,
            end_open_on_failure: false,
            first_text_id: None,
            first_text_meta: None,
        }
    }

    /// A step whose failure ends its open text and reasoning first. The
    /// SDK leaves them open (step 1 does the same); a later edge step's
    /// partial output is handed over final, the agent keeps it done, and
    /// the browser and `.out` must show it done too.
    pub fn ending_open_parts_on_failure(mut self) -> Self {
        self.end_open_on_failure = true;
        self
    }

    /// Pushes an `error` or `abort` chunk, after the ends of the open parts
    /// when [`Self::ending_open_parts_on_failure`].
    fn push_failure(&mut self, out: &mut Vec<UiChunk>, chunk: UiChunk) {
        if self.end_open_on_failure {
            for r in &mut self.recorded {
                if let Recorded::Prose { reasoning, id, open, .. } = r {
                    if std::mem::replace(open, false) {
                        let id = id.clone();
                        out.push(if *reasoning {
                            UiChunk::ReasoningEnd(PartBoundary { id, provider_metadata: None, extra: Object::new() })
                        } else {
                            UiChunk::TextEnd(TextEnd { id, citations: None, provider_metadata: None, extra: Object::new() })
                        });
                    }
                }
            }
        }
        out.push(chunk);
    }

    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// True once the step has an outcome: no more chunks will come.
    pub fn is_done(&self) -> bool {
        self.outcome.is_some()
    }

    /// The `start` chunk, sent before the call is made.
    pub fn start(&mut self) -> Vec<UiChunk> {
        if self.started {
            return vec![];
        }
        self.started = true;
        vec![UiChunk::Start(Start { message_id: Some(self.message_id.clone()), ..Start::default() })]
    }

    /// Feeds one part of the provider's stream.
    pub fn push(&mut self, part: StreamPart) -> Vec<UiChunk> {
        if self.is_done() {
            return vec![];
        }
        let mut out = self.start();
        if !self.opened {
            if let StreamPart::Error(e @ (ProviderError::Http { .. } | ProviderError::Stream { .. })) = part {
                // The API refused the call in its first event: the SDK
                // reads ahead and fails the call (a malformed first event
                // is shown in the stream instead).
                out.extend(self.fail(e));
                return out;
            }
            self.opened = true;
            out.push(UiChunk::StartStep(Marker::new()));
        }
        match part {
            StreamPart::ResponseMetadata { .. } => {}
            StreamPart::TextStart { id, provider_metadata } => {
                self.first_text_id.get_or_insert_with(|| id.clone());
                self.recorded.push(Recorded::Prose {
                    reasoning: false,
                    id: id.clone(),
                    text: String::new(),
                    meta: provider_metadata.clone(),
                    open: true,
                });
                out.push(UiChunk::TextStart(PartBoundary { id, provider_metadata, extra: Object::new() }));
            }
            StreamPart::TextDelta { id, delta, mut provider_metadata } => {
                if self.first_text_id.get_or_insert_with(|| id.clone()) == &id {
                    if provider_metadata.is_some() {
                        self.first_text_meta.clone_from(&provider_metadata);
                    } else if !delta.is_empty() {
                        provider_metadata.clone_from(&self.first_text_meta);
                    }
                }
                if delta.is_empty() && provider_metadata.is_none() {
                    return out;
                }
                if !self.update_prose(&id, false, Some(&delta), &provider_metadata) {
                    return self.stream_error(out, format!("text part {id} not found"));
                }
                out.push(UiChunk::TextDelta(Delta { id, delta, provider_metadata, extra: Object::new() }));
            }
            StreamPart::TextEnd { id, provider_metadata } => {
                if !self.update_prose(&id, false, None, &provider_metadata) {
                    return self.stream_error(out, format!("text part {id} not found"));
                }
                out.push(UiChunk::TextEnd(TextEnd { id, citations: None, provider_metadata, extra: Object::new() }));
            }
            StreamPart::ReasoningStart { id, provider_metadata } => {
                self.recorded.push(Recorded::Prose {
                    reasoning: true,
                    id: id.clone(),
                    text: String::new(),
                    meta: provider_metadata.clone(),
                    open: true,
                });
                out.push(UiChunk::ReasoningStart(PartBoundary { id, provider_metadata, extra: Object::new() }));
            }
            StreamPart::ReasoningDelta { id, delta, provider_metadata } => {
                if !self.update_prose(&id, true, Some(&delta), &provider_metadata) {
                    return self.stream_error(out, format!("reasoning part {id} not found"));
                }
                out.push(UiChunk::ReasoningDelta(Delta { id, delta, provider_metadata, extra: Object::new() }));
            }
            StreamPart::ReasoningEnd { id, provider_metadata } => {
                if !self.update_prose(&id, true, None, &provider_metadata) {
                    return self.stream_error(out, format!("reasoning part {id} not found"));
                }
                out.push(UiChunk::ReasoningEnd(PartBoundary { id, provider_metadata, extra: Object::new() }));
            }
            StreamPart::ToolInputStart { id, tool_name, provider_metadata } => {
                out.push(UiChunk::ToolInputStart(ToolInputStart {
                    tool_call_id: id,
                    tool_name,
                    provider_metadata,
                    ..ToolInputStart::default()
                }));
            }
            StreamPart::ToolInputDelta { id, delta } => {
                self.output |= !delta.is_empty();
                out.push(UiChunk::ToolInputDelta(ToolInputDelta {
                    tool_call_id: id,
                    input_text_delta: delta,
                    extra: Object::new(),
                }));
            }
            StreamPart::ToolInputEnd { .. } => {}
            StreamPart::ToolCall { tool_call_id, tool_name, input, provider_metadata } => {
                self.output = true;
                out.push(self.tool_call(tool_call_id, tool_name, &input, provider_metadata));
            }
            StreamPart::Custom { kind, provider_metadata } => {
                self.recorded.push(Recorded::Custom { kind: kind.clone(), meta: provider_metadata.clone() });
                out.push(UiChunk::Custom(Custom { kind, provider_metadata, extra: Object::new() }));
            }
            StreamPart::Finish { reason, raw_reason, usage, .. } => {
                self.terminal = true;
                self.finish = Some((reason, raw_reason, usage));
            }
            StreamPart::Error(e) => {
                self.terminal = true;
                self.finish = Some((FinishReason::Error, None, self.finish.as_ref().map(|f| f.2).unwrap_or_default()));
                self.errors.push(e);
                self.push_failure(&mut out, error_chunk());
            }
        }
        out
    }

    /// The response body ended cleanly (after the decoder's own `end`).
    pub fn end(&mut self) -> Vec<UiChunk> {
        if self.is_done() {
            return vec![];
        }
        let mut out = self.start();
        if !self.terminal && !self.output {
            self.push_failure(&mut out, error_chunk());
            self.outcome = Some(Err(ProviderError::Malformed {
                provider: "model",
                detail: "no output generated: the model stream ended without a finish chunk".into(),
            }));
            return out;
        }
        let (reason, raw, usage) = self.finish.take().unwrap_or((FinishReason::Other, None, Usage::default()));
        out.push(UiChunk::FinishStep(Marker::new()));
        out.push(UiChunk::Finish(Finish { finish_reason: Some(reason.clone()), ..Finish::default() }));
        self.outcome = Some(Ok(StepResult {
            finish_reason: reason,
            raw_finish_reason: raw,
            response_messages: self.response_messages(),
            usage,
            errors: std::mem::take(&mut self.errors),
        }));
        out
    }

    /// The call failed (HTTP error, network error, connection cut, stall).
    pub fn fail(&mut self, error: ProviderError) -> Vec<UiChunk> {
        if self.is_done() {
            return vec![];
        }
        let mut out = self.start();
        self.push_failure(&mut out, error_chunk());
        if self.opened {
            out.push(UiChunk::FinishStep(Marker::new()));
            out.push(UiChunk::Finish(Finish { finish_reason: Some(FinishReason::Error), ..Finish::default() }));
        }
        self.outcome = Some(Err(error));
        out
    }

    /// The caller aborted (client gone, idle timeout): the SDK's `abort`.
    pub fn abort(&mut self, reason: Option<String>) -> Vec<UiChunk> {
        if self.is_done() {
            return vec![];
        }
        let mut out = self.start();
        self.push_failure(&mut out, UiChunk::Abort(Abort { reason, extra: Object::new() }));
        self.outcome = Some(Err(ProviderError::Aborted));
        out
    }

    /// The outcome, once [`is_done`](Self::is_done).
    pub fn outcome(&self) -> Option<&StepOutcome> {
        self.outcome.as_ref()
    }

    /// The response messages of what the step showed so far: its text and
    /// reasoning, and its complete tool calls (for a step that failed after
    /// output, whose outcome has none).
    pub fn partial_messages(&self) -> Vec<ModelMessage> {
        self.response_messages()
    }

    pub fn into_outcome(self) -> Option<StepOutcome> {
        self.outcome
    }

    /// Appends a delta to (or, with `None`, closes) the open text or
    /// reasoning part `id`; the latest provider metadata wins, as in the SDK.
    /// False when no such part is open.
    fn update_prose(&mut self, id: &str, reasoning: bool, delta: Option<&str>, meta: &Option<Object>) -> bool {
        let part = self.recorded.iter_mut().rev().find(|r| {
            matches!(r, Recorded::Prose { reasoning: r_reasoning, id: i, open: true, .. } if *r_reasoning == reasoning && i == id)
        });
        let Some(Recorded::Prose { text, meta: recorded, open, .. }) = part else { return false };
        match delta {
            Some(d) => {
                text.push_str(d);
                self.output |= !d.is_empty();
            }
            None => *open = false,
        }
        if meta.is_some() {
            recorded.clone_from(meta);
        }
        true
    }

    fn stream_error(&mut self, mut out: Vec<UiChunk>, detail: String) -> Vec<UiChunk> {
        self.terminal = true;
        self.finish = Some((FinishReason::Error, None, Usage::default()));
        self.errors.push(ProviderError::Malformed { provider: "model", detail });
        self.push_failure(&mut out, error_chunk());
        out
    }

    /// A complete tool call: valid when the tool was offered and its input
    /// is JSON (an empty input reads as `{}`), else `tool-input-error`.
    fn tool_call(&mut self, id: String, name: String, input: &str, meta: Option<Object>) -> UiChunk {
        let known = self.tool_names.iter().any(|n| n == &name);
        let parsed: Result<Value, _> =
            if input.trim().is_empty() { Ok(Value::Object(Object::new())) } else { serde_json::from_str(input) };
        let error = match (&parsed, known) {
            (_, false) => {
                Some(format!("Model tried to call unavailable tool '{name}'. Available tools: {}.", self.tool_names.join(", ")))
            }
            (Err(e), true) => {
                Some(format!("Invalid input for tool {name}: JSON parsing failed: Text: {input}.\nError message: {e}"))
            }
            (Ok(_), true) => None,
        };
        let value = parsed.unwrap_or_else(|_| Value::String(input.to_string()));
        self.recorded.push(Recorded::ToolCall {
            id: id.clone(),
            name: name.clone(),
            // The SDK hands an invalid, non-object input on as `{}`.
            input: if error.is_some() && !value.is_object() { Value::Object(Object::new()) } else { value.clone() },
            meta: meta.clone(),
        });
        let chunk = ToolInput {
            tool_call_id: id,
            tool_name: name,
            input: Some(value),
            provider_metadata: meta,
            dynamic: error.is_some().then_some(true),
            error_text: error.clone(),
            ..ToolInput::default()
        };
        if error.is_some() {
            UiChunk::ToolInputError(chunk)
        } else {
            UiChunk::ToolInputAvailable(chunk)
        }
    }

    /// `toResponseMessages` for a step whose tools were not executed here.
    fn response_messages(&self) -> Vec<ModelMessage> {
        let parts: Vec<ModelPart> = self
            .recorded
            .iter()
            .filter_map(|r| match r {
                Recorded::Prose { reasoning: false, text, meta, .. } => (!text.is_empty() || meta.is_some()).then(|| {
                    ModelPart::Text(TextPart { text: text.clone(), provider_options: meta.clone(), extra: Object::new() })
                }),
                Recorded::Prose { reasoning: true, text, meta, .. } => Some(ModelPart::Reasoning(TextPart {
                    text: text.clone(),
                    provider_options: meta.clone(),
                    extra: Object::new(),
                })),
                Recorded::Custom { kind, meta } => Some(ModelPart::Custom(CustomPart {
                    kind: kind.clone(),
                    provider_options: meta.clone(),
                    extra: Object::new(),
                })),
                Recorded::ToolCall { id, name, input, meta } => Some(ModelPart::ToolCall(ToolCallPart {
                    tool_call_id: id.clone(),
                    tool_name: name.clone(),
                    input: Some(input.clone()),
                    provider_executed: None,
                    provider_options: meta.clone(),
                    extra: Object::new(),
                })),
            })
            .collect();
        if parts.is_empty() {
            vec![]
        } else {
            vec![ModelMessage::assistant(parts)]
        }
    }
}

fn error_chunk() -> UiChunk {
    UiChunk::Error(ErrorChunk { error_text: ERROR_TEXT.into(), extra: Object::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(chunks: &[UiChunk]) -> Vec<String> {
        chunks.iter().map(|c| serde_json::to_value(c).unwrap()["type"].as_str().unwrap().to_string()).collect()
    }

    fn streaming(step: &mut Step) {
        step.start();
        step.push(StreamPart::TextStart { id: "t1".into(), provider_metadata: None });
        step.push(StreamPart::TextDelta { id: "t1".into(), delta: "half an ans".into(), provider_metadata: None });
    }

    #[test]
    fn a_later_step_ends_its_open_text_before_it_fails_or_aborts() {
        let mut first = Step::new("m1", &[]);
        streaming(&mut first);
        assert_eq!(types(&first.abort(None)), ["abort"], "step 1 stays as the SDK sends it");

        let mut later = Step::new("m1", &[]).ending_open_parts_on_failure();
        streaming(&mut later);
        assert_eq!(types(&later.abort(Some("idle timeout".into()))), ["text-end", "abort"]);

        let mut later = Step::new("m1", &[]).ending_open_parts_on_failure();
        streaming(&mut later);
        let failed = later.fail(ProviderError::Aborted);
        assert_eq!(types(&failed)[..2], ["text-end", "error"]);
        assert!(later
            .partial_messages()
            .iter()
            .flat_map(|m| m.parts())
            .any(|p| matches!(p, ModelPart::Text(t) if t.text == "half an ans")));
    }
}
