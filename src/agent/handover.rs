//! Reading a handover (PROTOCOL.md §5.5, §7.4): the UI message the
//! turn starts from, and the tool calls its approval round approved.
//!
//! A handover from step 1 holds one assistant message; the agent builds
//! the UI message from it as the SDK does (§7.4). A handover after edge
//! steps (the route handler ran edge-safe tools and later steps itself)
//! holds every step's response messages in order, tool results between
//! them: the UI message is then rebuilt by replaying those steps as the
//! chunks the browser got, through the same assembler, so the transcript
//! is the message the browser shows, part for part.

use serde_json::{json, Value};

use super::tools::ToolCall;
use super::transcript::MessageBuilder;
use crate::protocol::chunk::{
    Custom, Delta, Marker, PartBoundary, Start, TextEnd, ToolInput, ToolOutputAvailable, ToolOutputError,
};
use crate::protocol::handover::EDGE_LAST_STEP_EMPTY;
use crate::protocol::input::Handover;
use crate::protocol::json::Object;
use crate::protocol::message::{Role, UiMessage, UiPart};
use crate::protocol::model::{Content, ContentMessage, ModelMessage, ModelPart, ToolOutput};
use crate::protocol::UiChunk;

/// The UI assistant message the SDK synthesizes from a handover (§7.4):
/// text, reasoning (done, with its provider metadata), tool calls as
/// `input-available`; approval requests skipped.
pub fn synthesize(message_id: &str, handover: &Handover) -> UiMessage {
    let partial = &handover.partial_assistant_message;
    let assistants = partial.iter().filter(|m| matches!(m, ModelMessage::Assistant(_))).count();
    let has_results = partial.iter().flat_map(|m| m.parts()).any(|p| matches!(p, ModelPart::ToolResult(_)));
    if assistants > 1 || has_results {
        // The edge's last step answered nothing: the browser still got it.
        let empty_last = handover.is_final && handover.extra.get(EDGE_LAST_STEP_EMPTY) == Some(&Value::Bool(true));
        return replay_steps(message_id, partial, empty_last);
    }
    let mut parts = Vec::new();
    if let Some(first) = handover.partial_assistant_message.iter().find(|m| matches!(m, ModelMessage::Assistant(_))) {
        for part in first.parts() {
            let ui = match part {
                ModelPart::Text(t) => json!({ "type": "text", "text": t.text }),
                ModelPart::Reasoning(r) => {
                    let mut v = json!({ "type": "reasoning", "text": r.text, "state": "done" });
                    if let Some(meta) = &r.provider_options {
                        v["providerMetadata"] = Value::Object(meta.clone());
                    }
                    v
                }
                ModelPart::ToolCall(c) => json!({ "type": format!("tool-{}", c.tool_name), "toolCallId": c.tool_call_id,
                                                  "state": "input-available", "input": c.input }),
                _ => continue,
            };
            if let Ok(p) = serde_json::from_value::<UiPart>(ui) {
                parts.push(p);
            }
        }
    }
    UiMessage { id: message_id.to_string(), role: Role::Assistant, metadata: None, parts, extra: Object::new() }
}

/// The partial without its synthetic approval round, and the tool calls
/// the round approved (to run before the model is called again).
pub fn without_approvals(partial: &[ModelMessage]) -> (Vec<ModelMessage>, Vec<ToolCall>) {
    let mut approved_ids = Vec::new();
    let mut out = Vec::new();
    for m in partial {
        match m {
            ModelMessage::Tool(c) => {
                let parts: Vec<ModelPart> = m
                    .parts()
                    .iter()
                    .filter(|p| match p {
                        ModelPart::ToolApprovalResponse(r) => {
                            if r.approved {
                                approved_ids.push(r.approval_id.clone());
                            }
                            false
                        }
                        _ => true,
                    })
                    .cloned()
                    .collect();
                if !parts.is_empty() {
                    out.push(ModelMessage::Tool(ContentMessage { content: Content::Parts(parts), ..c.clone() }));
                }
            }
            ModelMessage::Assistant(c) => {
                let parts: Vec<ModelPart> =
                    m.parts().iter().filter(|p| !matches!(p, ModelPart::ToolApprovalRequest(_))).cloned().collect();
                out.push(ModelMessage::Assistant(ContentMessage { content: Content::Parts(parts), ..c.clone() }));
            }
            other => out.push(other.clone()),
        }
    }
    let approved_calls: Vec<String> = partial
        .iter()
        .flat_map(|m| m.parts())
        .filter_map(|p| match p {
            ModelPart::ToolApprovalRequest(r) if approved_ids.contains(&r.approval_id) => Some(r.tool_call_id.clone()),
            _ => None,
        })
        .collect();
    let calls = partial
        .iter()
        .flat_map(|m| m.parts())
        .filter_map(|p| match p {
            ModelPart::ToolCall(c) if approved_calls.contains(&c.tool_call_id) => {
                Some((c.tool_call_id.clone(), c.tool_name.clone(), c.input.clone().unwrap_or(Value::Null)))
            }
            _ => None,
        })
        .collect();
    (out, calls)
}

/// The message of several steps, as the browser assembled it from their
/// chunks: a `step-start` per assistant message, its text, reasoning and
/// tool calls, and each tool result on its call; `empty_last`: then one
/// more step with nothing in it.
fn replay_steps(message_id: &str, messages: &[ModelMessage], empty_last: bool) -> UiMessage {
    let mut builder = MessageBuilder::new(None);
    let mut chunks = vec![UiChunk::Start(Start { message_id: Some(message_id.to_string()), ..Start::default() })];
    let mut open = false;
    for (n, message) in messages.iter().enumerate() {
        match message {
            ModelMessage::Assistant(_) => {
                if open {
                    chunks.push(UiChunk::FinishStep(Marker::new()));
                }
                open = true;
                chunks.push(UiChunk::StartStep(Marker::new()));
                for (i, part) in message.parts().iter().enumerate() {
                    let id = format!("h{n}-{i}");
                    let boundary = |meta: &Option<Object>| PartBoundary {
                        id: id.clone(),
                        provider_metadata: meta.clone(),
                        extra: Object::new(),
                    };
                    match part {
                        ModelPart::Text(t) => {
                            chunks.push(UiChunk::TextStart(boundary(&t.provider_options)));
                            chunks.push(UiChunk::TextDelta(Delta {
                                id: id.clone(),
                                delta: t.text.clone(),
                                provider_metadata: None,
                                extra: Object::new(),
                            }));
                            chunks.push(UiChunk::TextEnd(TextEnd {
                                id: id.clone(),
                                citations: None,
                                provider_metadata: t.provider_options.clone(),
                                extra: Object::new(),
                            }));
                        }
                        ModelPart::Reasoning(r) => {
                            chunks.push(UiChunk::ReasoningStart(boundary(&r.provider_options)));
                            chunks.push(UiChunk::ReasoningDelta(Delta {
                                id: id.clone(),
                                delta: r.text.clone(),
                                provider_metadata: None,
                                extra: Object::new(),
                            }));
                            chunks.push(UiChunk::ReasoningEnd(boundary(&r.provider_options)));
                        }
                        ModelPart::ToolCall(c) => chunks.push(UiChunk::ToolInputAvailable(ToolInput {
                            tool_call_id: c.tool_call_id.clone(),
                            tool_name: c.tool_name.clone(),
                            input: Some(c.input.clone().unwrap_or_else(|| json!({}))),
                            provider_metadata: c.provider_options.clone(),
                            ..ToolInput::default()
                        })),
                        ModelPart::Custom(c) => chunks.push(UiChunk::Custom(Custom {
                            kind: c.kind.clone(),
                            provider_metadata: c.provider_options.clone(),
                            extra: Object::new(),
                        })),
                        _ => {}
                    }
                }
            }
            ModelMessage::Tool(_) => {
                for part in message.parts() {
                    let ModelPart::ToolResult(r) = part else { continue };
                    chunks.push(match &r.output {
                        ToolOutput::ErrorText(v) | ToolOutput::ErrorJson(v) => UiChunk::ToolOutputError(ToolOutputError {
                            tool_call_id: r.tool_call_id.clone(),
                            error_text: match &v.value {
                                Some(Value::String(s)) => s.clone(),
                                Some(other) => other.to_string(),
                                None => String::new(),
                            },
                            ..Default::default()
                        }),
                        ToolOutput::Text(v) | ToolOutput::Json(v) | ToolOutput::Content(v) => {
                            UiChunk::ToolOutputAvailable(ToolOutputAvailable {
                                tool_call_id: r.tool_call_id.clone(),
                                output: Some(v.value.clone().unwrap_or(Value::Null)),
                                ..Default::default()
                            })
                        }
                        _ => continue,
                    });
                }
            }
            _ => {}
        }
    }
    if empty_last {
        if open {
            chunks.push(UiChunk::FinishStep(Marker::new()));
        }
        chunks.push(UiChunk::StartStep(Marker::new()));
        open = true;
    }
    if open {
        chunks.push(UiChunk::FinishStep(Marker::new()));
    }
    for chunk in &chunks {
        // A chunk the assembler refuses (a result for a call it never
        // saw) changes nothing: the rest still builds.
        let _ = builder.push(chunk);
    }
    let mut message = builder.into_message();
    message.id = message_id.to_string();
    message
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn handover(partial: Value, is_final: bool, empty_last: bool) -> Handover {
        serde_json::from_value(json!({ "kind": "handover", "messageId": "m1", "isFinal": is_final,
            "partialAssistantMessage": partial, "edgeLastStepEmpty": empty_last }))
        .unwrap()
    }

    fn parts(message: &UiMessage) -> Vec<Value> {
        serde_json::to_value(&message.parts).unwrap().as_array().unwrap().clone()
    }

    /// A final handover after edge steps keeps the calls' results; and the
    /// last step when the edge says it answered nothing, as the browser
    /// showed it.
    #[test]
    fn a_final_handover_ending_on_tool_results_keeps_them_and_an_empty_last_step() {
        let partial = json!([
            { "role": "assistant", "content": [{ "type": "tool-call", "toolCallId": "c1", "toolName": "lookup",
                "input": { "query": "x" } }] },
            { "role": "tool", "content": [{ "type": "tool-result", "toolCallId": "c1", "toolName": "lookup",
                "output": { "type": "error-text", "value": "timed out after 5000 ms" } }] }
        ]);
        let message = synthesize("m1", &handover(partial.clone(), true, true));
        let got = parts(&message);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0]["type"], "step-start");
        assert_eq!(got[1]["state"], "output-error");
        assert_eq!(got[1]["errorText"], "timed out after 5000 ms");
        assert_eq!(got[2]["type"], "step-start");
        // A last step cut before it showed anything (the idle limit), or a
        // handover that is not final: no empty step.
        for (is_final, empty_last) in [(true, false), (false, false)] {
            let got = parts(&synthesize("m1", &handover(partial.clone(), is_final, empty_last)));
            assert_eq!(got.len(), 2, "{got:?}");
            assert_eq!(got[1]["state"], "output-error");
        }
    }
}
