//! A turn's timeline as message metadata, for a client that asks for it
//! (`metadata.headstartTimeline: true`, e.g. the transport's `clientData`):
//! the chat page draws it under each answer.
//!
//! The edge's marks travel to the agent inside the handover record (an
//! extra field the TypeScript agent ignores); the agent adds its own and
//! writes one `message-metadata` chunk after the turn's `finish`, so the
//! timeline reaches the browser live, is replayed from `.out` after a
//! reload and is kept in the transcript. All marks are wall-clock ms since
//! the epoch, each as its own process saw it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::chunk::MessageMetadata;
use super::json::Object;
use super::UiChunk;

/// The metadata flag a client sets to get timelines.
pub const ASK: &str = "headstartTimeline";
/// The handover's field with the edge's marks.
pub const HANDOVER_FIELD: &str = "headStartTiming";
/// The message metadata's field with the timeline.
pub const METADATA_FIELD: &str = "headstart";

/// Whether a turn's metadata asks for a timeline.
pub fn wanted(metadata: Option<&Value>) -> bool {
    metadata.and_then(|m| m.get(ASK)).and_then(Value::as_bool) == Some(true)
}

/// What the head start saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeMarks {
    /// The request reached the route.
    pub request_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_created: Option<f64>,
    /// Step 1's first output from the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_first_byte: Option<f64>,
    /// The first model output on its way to the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_chunk_out: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_end: Option<f64>,
    /// The handover went to `.in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handover: Option<f64>,
}

impl EdgeMarks {
    /// Marks read from a handover record: only finite numbers pass, so a
    /// record written by someone else cannot put anything else in the
    /// metadata.
    pub fn from_handover(extra: &Object) -> Option<Self> {
        let marks: Self = serde_json::from_value(extra.get(HANDOVER_FIELD)?.clone()).ok()?;
        let all = [
            Some(marks.request_at),
            marks.session_created,
            marks.model_first_byte,
            marks.first_chunk_out,
            marks.step_end,
            marks.handover,
        ];
        all.iter().flatten().all(|t| t.is_finite()).then_some(marks)
    }
}

/// What the agent saw of one turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentMarks {
    /// The run started booting, and was ready: set on the run's first turn
    /// only (later turns find it warm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_started: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booted: Option<f64>,
    /// The turn's input (message or handover) was read from `.in`.
    pub input_read: f64,
    /// The agent's first chunk of the turn on `.out` (after `start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_chunk: Option<f64>,
    /// The turn was complete (its `finish`, `abort` or error written).
    pub complete: f64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}

/// The `message-metadata` chunk with the turn's timeline; `path` is
/// `head-start` when the edge ran step 1, `direct` otherwise.
pub fn metadata_chunk(edge: Option<&EdgeMarks>, agent: &AgentMarks) -> UiChunk {
    let path = if edge.is_some() { "head-start" } else { "direct" };
    let mut timeline = json!({ "path": path, "agent": agent });
    if let Some(edge) = edge {
        timeline["edge"] = json!(edge);
    }
    UiChunk::MessageMetadata(MessageMetadata {
        message_metadata: Some(json!({ METADATA_FIELD: timeline })),
        extra: Object::new(),
    })
}

/// The agent's marks in a `message-metadata` chunk's JSON, if it is a
/// timeline.
pub fn agent_marks_of(json: &str) -> Option<AgentMarks> {
    let chunk: Value = serde_json::from_str(json).ok()?;
    serde_json::from_value(chunk.get("messageMetadata")?.get(METADATA_FIELD)?.get("agent")?.clone()).ok()
}

/// A head-start turn's log line (`{"event":"headstart.turn", ...}`, ms
/// since `startedAt`) in the shape of a message's timeline, for the status
/// page. `None` for a line without its start.
pub fn from_turn_log(line: &Value) -> Option<Value> {
    let start = line.get("startedAt")?.as_f64()?;
    let at = |k: &str| line.get(k).and_then(Value::as_f64).map(|t| start + t);
    let edge = EdgeMarks {
        request_at: start,
        session_created: at("sessionCreatedMs"),
        model_first_byte: at("providerTtfbMs"),
        first_chunk_out: at("firstChunkOutMs"),
        step_end: at("stepEndMs"),
        handover: at("handoverMs"),
    };
    let agent = line.get("agent").cloned().and_then(|a| serde_json::from_value::<AgentMarks>(a).ok());
    // Without the agent's own marks, what the edge saw of it.
    let agent = agent
        .map(|a| json!(a))
        .unwrap_or_else(|| json!({ "firstChunk": at("firstAgentChunkMs"), "complete": at("turnCompleteMs") }));
    let decision = line.get("decision").and_then(Value::as_str).unwrap_or("");
    Some(json!({ "path": "head-start", "decision": decision, "edge": edge, "agent": agent }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_log_line_becomes_a_timeline() {
        let line = json!({ "event": "headstart.turn", "decision": "handover", "startedAt": 1000.0, "sessionCreatedMs": 40.0,
            "providerTtfbMs": 30.0, "firstChunkOutMs": 40.0, "stepEndMs": 300.0, "handoverMs": 310.0,
            "firstAgentChunkMs": 330.0, "turnCompleteMs": 600.0, "agent": null });
        let t = from_turn_log(&line).unwrap();
        assert_eq!(t["edge"]["requestAt"], 1000.0);
        assert_eq!(t["edge"]["handover"], 1310.0);
        assert_eq!((t["agent"]["firstChunk"].as_f64(), t["agent"]["complete"].as_f64()), (Some(1330.0), Some(1600.0)));
        let mut line = line;
        line["agent"] = json!({ "runStarted": 1001.0, "booted": 1200.0, "inputRead": 1311.0, "complete": 1590.0 });
        assert_eq!(from_turn_log(&line).unwrap()["agent"]["booted"], 1200.0);
        assert_eq!(from_turn_log(&json!({ "decision": "skip" })), None);
    }

    #[test]
    fn only_a_true_flag_asks() {
        assert!(wanted(Some(&json!({ "headstartTimeline": true, "other": 1 }))));
        for m in [json!({}), json!({ "headstartTimeline": "yes" }), json!({ "headstartTimeline": false }), json!([1])] {
            assert!(!wanted(Some(&m)), "{m}");
        }
        assert!(!wanted(None));
    }

    #[test]
    fn edge_marks_round_trip_through_a_handover_and_refuse_anything_else() {
        let marks =
            EdgeMarks { request_at: 1000.0, session_created: Some(1050.5), handover: Some(1400.0), ..EdgeMarks::default() };
        let mut extra = Object::new();
        extra.insert(HANDOVER_FIELD.into(), json!(marks));
        assert_eq!(EdgeMarks::from_handover(&extra), Some(marks));
        for bad in [json!({ "requestAt": "now" }), json!({}), json!("x"), json!({ "requestAt": 1, "stepEnd": [1] })] {
            extra.insert(HANDOVER_FIELD.into(), bad.clone());
            assert_eq!(EdgeMarks::from_handover(&extra), None, "{bad}");
        }
        assert_eq!(EdgeMarks::from_handover(&Object::new()), None);
    }

    #[test]
    fn the_chunk_is_message_metadata_under_one_field() {
        let agent = AgentMarks { input_read: 5.0, complete: 9.0, stopped: true, ..AgentMarks::default() };
        let chunk = serde_json::to_value(metadata_chunk(None, &agent)).unwrap();
        assert_eq!(chunk["type"], "message-metadata");
        assert_eq!(chunk["messageMetadata"]["headstart"]["path"], "direct");
        assert_eq!(chunk["messageMetadata"]["headstart"]["agent"]["stopped"], true);
        assert!(chunk["messageMetadata"]["headstart"].get("edge").is_none());
        let edge = EdgeMarks { request_at: 1.0, ..EdgeMarks::default() };
        let chunk = serde_json::to_value(metadata_chunk(Some(&edge), &AgentMarks::default())).unwrap();
        assert_eq!(chunk["messageMetadata"]["headstart"]["path"], "head-start");
        assert_eq!(chunk["messageMetadata"]["headstart"]["edge"]["requestAt"], 1.0);
        assert!(chunk["messageMetadata"]["headstart"]["agent"].get("stopped").is_none());
        let agent =
            AgentMarks { run_started: Some(1.0), booted: Some(2.0), input_read: 3.0, complete: 4.0, ..AgentMarks::default() };
        assert_eq!(agent_marks_of(&metadata_chunk(None, &agent).to_json()), Some(agent));
        assert_eq!(agent_marks_of(r#"{"type":"message-metadata","messageMetadata":{"other":1}}"#), None);
    }
}
