//! The invariants every seed must keep, checked on what the client got and
//! on what the platform stored.

use std::collections::{HashMap, HashSet};

use headstart::agent::run::HANDOVER_TIMED_OUT;
use headstart::protocol::record::{AppendAck, AppendInput, Control, InEnvelope, OutEnvelope, RecordKind, SequencedRecord};
use headstart::selfhost::mem_store::MemSessionStore;
use headstart::selfhost::route::{self, Route};
use headstart::selfhost::Io;
use headstart::turn::calls::{AGENT_SILENT, AGENT_UNREACHABLE};
use headstart::turn::HANDOVER_FAILED;
use serde_json::Value;

use crate::net::{Exchange, Fault};

/// Errors the edge writes on its own when the agent's part did not come:
/// they are the browser's, never `.out`'s.
pub fn is_edge_error(chunk: &Value) -> bool {
    chunk["type"] == "error"
        && [AGENT_SILENT, AGENT_UNREACHABLE, HANDOVER_FAILED].iter().any(|m| chunk["errorText"].as_str() == Some(m))
}

/// A UI message chunk sequence as the AI SDK's `processUIMessageStream`
/// reads it: parts are opened before they are written to and closed once,
/// tool results name a call the stream has seen, the Trigger pseudo-chunks
/// come last. `complete` asks for a proper end as well.
pub fn ui_stream(chunks: &[Value], complete: bool) -> Result<(), String> {
    let mut open_text = HashSet::new();
    let mut open_reasoning = HashSet::new();
    let mut tool_inputs = HashSet::new();
    let mut tools = HashSet::new();
    let mut trailing = false;
    for (i, chunk) in chunks.iter().enumerate() {
        let kind = chunk["type"].as_str().ok_or_else(|| format!("chunk {i} has no type: {chunk}"))?;
        let id = || chunk["id"].as_str().unwrap_or_default().to_string();
        let call = || chunk["toolCallId"].as_str().unwrap_or_default().to_string();
        if trailing && !kind.starts_with("trigger:") {
            return Err(format!("chunk {i} ({kind}) after the trigger pseudo-chunks"));
        }
        match kind {
            "text-start" => {
                open_text.insert(id());
            }
            "text-delta" if !open_text.contains(&id()) => {
                return Err(format!("chunk {i}: text-delta of a text part never started"))
            }
            "text-end" if !open_text.remove(&id()) => return Err(format!("chunk {i}: text-end of a text part not open")),
            "reasoning-start" => {
                open_reasoning.insert(id());
            }
            "reasoning-delta" if !open_reasoning.contains(&id()) => {
                return Err(format!("chunk {i}: reasoning-delta of a part never started"))
            }
            "reasoning-end" if !open_reasoning.remove(&id()) => {
                return Err(format!("chunk {i}: reasoning-end of a part not open"))
            }
            "tool-input-start" => {
                tool_inputs.insert(call());
                tools.insert(call());
            }
            "tool-input-delta" if !tool_inputs.contains(&call()) => {
                return Err(format!("chunk {i}: tool-input-delta of a call never started"))
            }
            "tool-input-available" | "tool-input-error" => {
                tools.insert(call());
            }
            "tool-output-available" | "tool-output-error" | "tool-output-denied" if !tools.contains(&call()) => {
                return Err(format!("chunk {i}: {kind} for call {} the stream never showed", call()))
            }
            "trigger:turn-complete" | "trigger:session-state" => trailing = true,
            _ => {}
        }
    }
    if complete {
        let last = chunks.iter().rev().find(|c| !c["type"].as_str().unwrap_or_default().starts_with("trigger:"));
        match last.and_then(|c| c["type"].as_str()) {
            Some("finish" | "error" | "abort") => {}
            other => return Err(format!("the stream ended on {other:?}, not on finish, error or abort")),
        }
    }
    Ok(())
}

/// `.out`'s data chunks (deduped by envelope id, as readers do) up to and
/// including the first turn-complete (`true` when there was one).
pub fn out_turn(records: &[SequencedRecord]) -> (Vec<Value>, bool) {
    let mut seen = HashSet::new();
    let mut chunks = Vec::new();
    for record in records {
        match record.kind() {
            RecordKind::Control(Control::TurnComplete) => return (chunks, true),
            RecordKind::Data => {
                if let Ok(env) = serde_json::from_str::<OutEnvelope<Value>>(&record.body) {
                    if seen.insert(env.id) {
                        chunks.push(env.data);
                    }
                }
            }
            _ => {}
        }
    }
    (chunks, false)
}

/// Every append the platform acknowledged is in storage, as sent.
pub fn acked_appends_stored(log: &[Exchange], stores: &HashMap<String, MemSessionStore>) -> Result<(), String> {
    for ex in log {
        if ex.status.is_none_or(|s| !(200..300).contains(&s)) || ex.method != "POST" {
            continue;
        }
        let Some(body) = &ex.response_body else { continue };
        let path = headstart::routes::path_of(&ex.url);
        match route::parse("POST", &path) {
            Ok(Route::Append { key, io: Io::In }) => {
                let chat = key.as_str();
                let Some(seq) = serde_json::from_str::<Value>(body).ok().and_then(|v| v["seq"].as_u64()) else { continue };
                let store = stores.get(chat).ok_or_else(|| format!("no storage for {chat}"))?;
                if seq < store.stream_meta(Io::In).trim_point {
                    continue;
                }
                let record = store.records(Io::In).into_iter().find(|r| r.seq_num == seq);
                let stored = record.and_then(|r| serde_json::from_str::<InEnvelope>(&r.body).ok()).map(|e| e.data);
                if stored.as_deref() != Some(ex.request_body.as_str()) {
                    return Err(format!(".in append acked as seq {seq} at {} ms is not stored as sent", ex.at_ms));
                }
            }
            Ok(Route::S2Append { key, io }) => {
                let Ok(ack) = serde_json::from_str::<AppendAck>(body) else { continue };
                let Ok(input) = serde_json::from_str::<AppendInput>(&ex.request_body) else { continue };
                let chat = key.as_str();
                let store = stores.get(chat).ok_or_else(|| format!("no storage for S2 stream of {chat}"))?;
                let trim_point = store.stream_meta(io).trim_point;
                let records = store.records(io);
                for (i, sent) in input.records.iter().enumerate() {
                    let seq = ack.start.seq_num + i as u64;
                    if seq < trim_point {
                        continue;
                    }
                    if records.iter().find(|r| r.seq_num == seq).map(|r| &r.body) != Some(&sent.body) {
                        return Err(format!("S2 append acked at seq {seq} ({} ms) is not stored as sent", ex.at_ms));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether the edge's writes to the platform met a fault that could have
/// kept a record from landing (the only excuse for a missing one).
pub fn edge_write_faulted(log: &[Exchange]) -> bool {
    log.iter().any(|ex| {
        ex.from == "edge"
            && ex.url.contains("platform.sim")
            && (ex.fault.is_some_and(|f| f != Fault::ResetAfter) || ex.status.is_none_or(|s| s >= 500))
    })
}

/// The edge tried to tell the agent and gave up only after the whole retry
/// policy: some `.in` append (one part id) failed every one of its
/// attempts. Nothing less excuses an agent left to its own timeout.
pub fn edge_decision_exhausted(log: &[Exchange]) -> bool {
    let mut attempts: HashMap<&str, (u32, bool)> = HashMap::new();
    for ex in log.iter().filter(|ex| ex.from == "edge" && ex.url.ends_with("/in/append")) {
        let Some(id) = ex.part_id.as_deref() else { continue };
        let entry = attempts.entry(id).or_default();
        entry.0 += 1;
        entry.1 |= ex.status.is_some_and(|s| (200..300).contains(&s)) && ex.fault != Some(Fault::ResetAfter);
    }
    attempts.values().any(|(n, ok)| !ok && *n >= headstart::platform::retry::MAX_ATTEMPTS)
}

/// The agent gave up waiting for the handover.
pub fn handover_timed_out(out: &[SequencedRecord]) -> bool {
    out.iter().any(|r| {
        serde_json::from_str::<OutEnvelope<Value>>(&r.body)
            .is_ok_and(|e| e.data["type"] == "error" && e.data["errorText"] == HANDOVER_TIMED_OUT)
    })
}

/// The `.in` log holds a handover decision (a handover or a skip).
pub fn has_decision(records: &[SequencedRecord]) -> bool {
    records.iter().any(|r| {
        serde_json::from_str::<InEnvelope>(&r.body)
            .ok()
            .and_then(|e| serde_json::from_str::<Value>(&e.data).ok())
            .is_some_and(|v| v["kind"] == "handover" || v["kind"] == "handover-skip")
    })
}

/// No record is doubled on a stream by retries: envelope ids are unique on
/// `.in` (the platform dedupes appends by part id).
pub fn no_doubled_inputs(records: &[SequencedRecord]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for r in records {
        if let Ok(env) = serde_json::from_str::<InEnvelope>(&r.body) {
            if !seen.insert(env.id.clone()) {
                return Err(format!(".in holds part {} twice (seq {})", env.id, r.seq_num));
            }
        }
    }
    Ok(())
}
