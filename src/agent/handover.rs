//! The agent's side of a head start's handover: the assistant message the
//! SDK synthesizes from it, and the tool calls its approval round approved.

use serde_json::{json, Value};

use crate::protocol::input::Handover;
use crate::protocol::json::Object;
use crate::protocol::message::{Role, UiMessage, UiPart};
use crate::protocol::model::{Content, ContentMessage, ModelMessage, ModelPart};

/// The UI assistant message the SDK synthesizes from a handover (§7.4):
/// text, reasoning (done, with its provider metadata), tool calls as
/// `input-available`; approval requests skipped.
pub fn synthesize(message_id: &str, handover: &Handover) -> UiMessage {
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
pub(super) fn without_approvals(partial: &[ModelMessage]) -> (Vec<ModelMessage>, Vec<(String, String, Value)>) {
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

/// The tool calls of a step's response.
pub(super) fn tool_calls(messages: &[ModelMessage]) -> Vec<(String, String, Value)> {
    messages
        .iter()
        .flat_map(|m| m.parts())
        .filter_map(|p| match p {
            ModelPart::ToolCall(c) => Some((c.tool_call_id.clone(), c.tool_name.clone(), c.input.clone().unwrap_or(Value::Null))),
            _ => None,
        })
        .collect()
}
