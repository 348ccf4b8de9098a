//! The handover's tool-approval reshape (PROTOCOL.md §5.6).
//!
//! When step 1 ends in tool calls, the route handler hands the agent the
//! step's response messages with every pending call wrapped in an approved
//! approval round. The agent's AI SDK `streamText` reads an approved round in
//! the *last* message as "run these tools first, then call the model", which
//! is exactly the splice: so the trailing `tool` message must stay last.

use std::collections::HashSet;

use super::json::Object;
use super::model::{Content, ContentMessage, ModelMessage, ModelPart, ToolApprovalRequestPart, ToolApprovalResponsePart};

/// A final handover's field (an extension of PROTOCOL.md §5.5): the `.out`
/// seq of the turn-complete the route handler wrote itself, for a turn it
/// finished with edge steps. An agent that reads it persists the turn and
/// writes no turn-complete of its own; one that does not know it writes a
/// second one, which readers skip as an earlier turn's.
pub const EDGE_TURN_COMPLETE: &str = "edgeTurnComplete";

/// A final handover's field (an extension of PROTOCOL.md §5.5): `true` when
/// the route handler's last step, after edge steps, answered nothing (no
/// response message; a model may end so after a function's result), so the
/// agent's transcript keeps that step as the browser showed it.
pub const EDGE_LAST_STEP_EMPTY: &str = "edgeLastStepEmpty";

/// Prefix of the synthetic approval ids (`handover-approval-1`, `-2`, ...).
pub const APPROVAL_ID_PREFIX: &str = "handover-approval-";

/// `reshapeForHandoverResume`: returns the messages with an approval request
/// after every tool call that has no result yet, and one trailing `tool`
/// message approving them all. Messages without pending calls come back as
/// they were.
pub fn reshape_for_handover(messages: &[ModelMessage]) -> Vec<ModelMessage> {
    let complete: HashSet<&str> = messages
        .iter()
        .filter(|m| matches!(m, ModelMessage::Tool(_)))
        .flat_map(|m| m.parts())
        .filter_map(|p| match p {
            ModelPart::ToolResult(r) => Some(r.tool_call_id.as_str()),
            _ => None,
        })
        .collect();

    let mut approvals = Vec::new();
    let mut out: Vec<ModelMessage> = messages.to_vec();
    for message in &mut out {
        let ModelMessage::Assistant(ContentMessage { content: Content::Parts(parts), .. }) = message else {
            continue;
        };
        let pending: Vec<String> = parts
            .iter()
            .filter_map(|p| match p {
                ModelPart::ToolCall(c) if !complete.contains(c.tool_call_id.as_str()) => Some(c.tool_call_id.clone()),
                _ => None,
            })
            .collect();
        for tool_call_id in pending {
            let approval_id = format!("{APPROVAL_ID_PREFIX}{}", approvals.len() + 1);
            parts.push(ModelPart::ToolApprovalRequest(ToolApprovalRequestPart {
                approval_id: approval_id.clone(),
                tool_call_id,
                ..ToolApprovalRequestPart::default()
            }));
            approvals.push(ModelPart::ToolApprovalResponse(ToolApprovalResponsePart {
                approval_id,
                approved: true,
                reason: None,
                provider_executed: None,
                extra: Object::new(),
            }));
        }
    }
    if !approvals.is_empty() {
        out.push(ModelMessage::tool(approvals));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(v: serde_json::Value) -> Vec<ModelMessage> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn pending_calls_get_an_approved_round_at_the_end() {
        let step = msgs(json!([{ "role": "assistant", "content": [
            { "type": "text", "text": "Let me fetch that page." },
            { "type": "tool-call", "toolCallId": "toolu_01A", "toolName": "fetchPage", "input": { "url": "https://example.com" } }
        ]}]));
        let reshaped = serde_json::to_value(reshape_for_handover(&step)).unwrap();
        assert_eq!(
            reshaped,
            json!([
                { "role": "assistant", "content": [
                    { "type": "text", "text": "Let me fetch that page." },
                    { "type": "tool-call", "toolCallId": "toolu_01A", "toolName": "fetchPage", "input": { "url": "https://example.com" } },
                    { "type": "tool-approval-request", "approvalId": "handover-approval-1", "toolCallId": "toolu_01A" }
                ]},
                { "role": "tool", "content": [
                    { "type": "tool-approval-response", "approvalId": "handover-approval-1", "approved": true }
                ]}
            ])
        );
    }

    #[test]
    fn parallel_calls_are_numbered_in_order_and_executed_ones_skipped() {
        let step = msgs(json!([
            { "role": "assistant", "content": [
                { "type": "tool-call", "toolCallId": "a", "toolName": "w", "input": {} },
                { "type": "tool-call", "toolCallId": "b", "toolName": "w", "input": {} },
                { "type": "tool-call", "toolCallId": "c", "toolName": "w", "input": {} }
            ]},
            { "role": "tool", "content": [
                { "type": "tool-result", "toolCallId": "b", "toolName": "w", "output": { "type": "json", "value": 1 } }
            ]}
        ]));
        let out = reshape_for_handover(&step);
        assert_eq!(out.len(), 3);
        let ids: Vec<_> = out[0]
            .parts()
            .iter()
            .filter_map(|p| match p {
                ModelPart::ToolApprovalRequest(r) => Some((r.approval_id.as_str(), r.tool_call_id.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(ids, [("handover-approval-1", "a"), ("handover-approval-2", "c")]);
        assert!(matches!(out.last(), Some(ModelMessage::Tool(_))));
        assert_eq!(out.last().unwrap().parts().len(), 2);
    }

    #[test]
    fn text_only_steps_are_unchanged() {
        let step = msgs(json!([{ "role": "assistant", "content": [{ "type": "text", "text": "Hi!" }] }]));
        assert_eq!(reshape_for_handover(&step), step);
    }
}
