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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeMarks {
    /// The request reached the route.
    pub request_at: f64,
    pub session_created: Option<f64>,
    /// Step 1's first output from the model.
    pub model_first_byte: Option<f64>,
    /// The first model output on its way to the browser.
    pub first_chunk_out: Option<f64>,
    pub step_end: Option<f64>,
    /// The handover went to `.in`.
    pub handover: Option<f64>,
}

// (De)serialized by hand, not derived: the derives cost the worker's wasm
// more than these few numbers are worth.
impl EdgeMarks {
    pub fn to_json(&self) -> Value {
        numbers(&[
            ("requestAt", Some(self.request_at)),
            ("sessionCreated", self.session_created),
            ("modelFirstByte", self.model_first_byte),
            ("firstChunkOut", self.first_chunk_out),
            ("stepEnd", self.step_end),
            ("handover", self.handover),
        ])
    }

    /// Marks as JSON: only numbers pass, so a record written by someone
    /// else cannot put anything else in the metadata.
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            request_at: number(v, "requestAt")??,
            session_created: number(v, "sessionCreated")?,
            model_first_byte: number(v, "modelFirstByte")?,
            first_chunk_out: number(v, "firstChunkOut")?,
            step_end: number(v, "stepEnd")?,
            handover: number(v, "handover")?,
        })
    }

    /// The marks a handover record carries, if any.
    pub fn from_handover(extra: &Object) -> Option<Self> {
        Self::from_json(extra.get(HANDOVER_FIELD)?)
    }
}

/// What the agent saw of one turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentMarks {
    /// The run started booting, and was ready: set on the run's first turn
    /// only (later turns find it warm).
    pub run_started: Option<f64>,
    pub booted: Option<f64>,
    /// The turn's input (message or handover) was read from `.in`.
    pub input_read: f64,
    /// The agent's first chunk of the turn on `.out` (after `start`).
    pub first_chunk: Option<f64>,
    /// The turn was complete (its `finish`, `abort` or error written).
    pub complete: f64,
    pub stopped: bool,
}

impl AgentMarks {
    pub fn to_json(&self) -> Value {
        let mut v = numbers(&[
            ("runStarted", self.run_started),
            ("booted", self.booted),
            ("inputRead", Some(self.input_read)),
            ("firstChunk", self.first_chunk),
            ("complete", Some(self.complete)),
        ]);
        if self.stopped {
            v["stopped"] = true.into();
        }
        v
    }

    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            run_started: number(v, "runStarted")?,
            booted: number(v, "booted")?,
            input_read: number(v, "inputRead")??,
            first_chunk: number(v, "firstChunk")?,
            complete: number(v, "complete")??,
            stopped: v.get("stopped").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

/// An object of the numbers that are there.
fn numbers(fields: &[(&str, Option<f64>)]) -> Value {
    Value::Object(fields.iter().filter_map(|(k, v)| Some(((*k).to_string(), json!((*v)?)))).collect())
}

/// `Some(None)` for a field that is absent (or null), `Some(Some(n))` for a
/// finite number, `None` for anything else.
fn number(v: &Value, key: &str) -> Option<Option<f64>> {
    match v.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(n) => n.as_f64().filter(|n| n.is_finite()).map(Some),
    }
}

/// The `message-metadata` chunk with the turn's timeline; `path` is
/// `head-start` when the edge ran step 1, `direct` otherwise.
pub fn metadata_chunk(edge: Option<&EdgeMarks>, agent: &AgentMarks) -> UiChunk {
    let path = if edge.is_some() { "head-start" } else { "direct" };
    let mut timeline = json!({ "path": path, "agent": agent.to_json() });
    if let Some(edge) = edge {
        timeline["edge"] = edge.to_json();
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
    AgentMarks::from_json(chunk.get("messageMetadata")?.get(METADATA_FIELD)?.get("agent")?)
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
    let agent = line.get("agent").and_then(AgentMarks::from_json);
    // Without the agent's own marks, what the edge saw of it.
    let agent = agent
        .map(|a| a.to_json())
        .unwrap_or_else(|| json!({ "firstChunk": at("firstAgentChunkMs"), "complete": at("turnCompleteMs") }));
    let decision = line.get("decision").and_then(Value::as_str).unwrap_or("");
    Some(json!({ "path": "head-start", "decision": decision, "edge": edge.to_json(), "agent": agent }))
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
        extra.insert(HANDOVER_FIELD.into(), marks.to_json());
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
