//! Session stream records: what `.in` and `.out` hold, and the S2-style
//! append and read messages that carry them (PROTOCOL.md §5.4, §5.5, §5.7,
//! §7.5).
//!
//! Three kinds of record share a stream: data records (a JSON envelope
//! `{data,id}`), header-only Trigger control records (`trigger-control`), and
//! S2 command records (one header with an empty name, e.g. trim). Readers
//! classify them with [`SequencedRecord::kind`] in that order.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::chunk::UiChunk;
use super::json::Object;

/// Largest `.out` data record body the SDK writer sends (1 MiB − 1 KiB).
pub const OUT_RECORD_BODY_MAX: usize = 1_047_552;
/// Largest metered record S2 accepts.
pub const RECORD_METERED_MAX: usize = 1_048_576;
/// Largest S2 append batch.
pub const BATCH_RECORDS_MAX: usize = 1000;
/// Largest S2 append batch, metered.
pub const BATCH_METERED_MAX: usize = 1_048_576;
/// Default batch linger of the `.out` writer (`X-S2-Flush-Interval-Ms`).
pub const DEFAULT_FLUSH_INTERVAL_MS: u32 = 200;

/// Header naming a Trigger control record.
pub const CONTROL_HEADER: &str = "trigger-control";

/// A record header: `[name, value]` on the wire.
pub type Header = (String, String);

/// The S2 metered size of a record: `8 + 2·H + Σ(name+value) + body`.
pub fn metered_size(headers: &[Header], body_len: usize) -> usize {
    8 + 2 * headers.len() + headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>() + body_len
}

/// The body of a `.out` data record: the chunk object and a random id that
/// readers dedupe on (§5.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutEnvelope<T = UiChunk> {
    pub data: T,
    pub id: String,
}

impl OutEnvelope<UiChunk> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }
}

/// A `.out` envelope parsed without parsing the chunk, for forwarding it
/// byte for byte.
pub type RawOutEnvelope = OutEnvelope<Box<RawValue>>;

/// The body of a `.in` record: the append's raw body as a JSON *string*
/// (double-encoded, unlike `.out`) and the append's part id (§5.5 step 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InEnvelope {
    pub data: String,
    pub id: String,
}

/// Trigger control subtypes (§5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    TurnComplete,
    UpgradeRequired,
    SessionClosed,
    PendingVersion,
    Other(String),
}

impl Control {
    pub fn parse(s: &str) -> Self {
        match s {
            "turn-complete" => Self::TurnComplete,
            "upgrade-required" => Self::UpgradeRequired,
            "session-closed" => Self::SessionClosed,
            "pending-version" => Self::PendingVersion,
            s => Self::Other(s.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::TurnComplete => "turn-complete",
            Self::UpgradeRequired => "upgrade-required",
            Self::SessionClosed => "session-closed",
            Self::PendingVersion => "pending-version",
            Self::Other(s) => s,
        }
    }
}

/// What a reader does with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKind<'a> {
    /// An S2 command (`["", "trim"]`): advances the cursor, never dispatched.
    Command(&'a str),
    /// A Trigger control record.
    Control(Control),
    /// A data record.
    Data,
}

/// Headers of the agent's `turn-complete` control record (§7.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnComplete {
    /// A refreshed session token; absent on errored turns.
    pub public_access_token: Option<String>,
    /// The `.in` seq the agent has committed; readers skip turn-completes
    /// below the seq of the message they sent.
    pub session_in_event_id: Option<u64>,
    /// The highest `.in` seq the agent has consumed.
    pub session_in_consumed_id: Option<u64>,
    /// Set when the session was closed this turn.
    pub session_closed_reason: Option<String>,
    pub session_closed: bool,
}

impl TurnComplete {
    pub fn headers(&self) -> Vec<Header> {
        let mut h = vec![(CONTROL_HEADER.to_string(), Control::TurnComplete.as_str().to_string())];
        if let Some(t) = &self.public_access_token {
            h.push(("public-access-token".into(), t.clone()));
        }
        if let Some(s) = self.session_in_event_id {
            h.push(("session-in-event-id".into(), s.to_string()));
        }
        if let Some(s) = self.session_in_consumed_id {
            h.push(("session-in-consumed-id".into(), s.to_string()));
        }
        if self.session_closed {
            h.push(("session-closed".into(), "true".into()));
            if let Some(r) = &self.session_closed_reason {
                h.push(("session-closed-reason".into(), r.clone()));
            }
        }
        h
    }

    pub fn from_headers(headers: &[Header]) -> Self {
        let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        Self {
            public_access_token: get("public-access-token").map(str::to_string),
            session_in_event_id: get("session-in-event-id").and_then(|v| v.parse().ok()),
            session_in_consumed_id: get("session-in-consumed-id").and_then(|v| v.parse().ok()),
            session_closed: get("session-closed") == Some("true"),
            session_closed_reason: get("session-closed-reason").map(str::to_string),
        }
    }
}

/// Header of the S2 trim command.
pub fn trim_command_headers() -> Vec<Header> {
    vec![(String::new(), "trim".into())]
}

/// Body of a trim command: the first seq to keep, 8 bytes big-endian.
pub fn trim_command_body(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The seq a trim command body names.
pub fn parse_trim_command_body(body: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(body.try_into().ok()?))
}

/// One record to append (S2 JSON `AppendRecord`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppendRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "header_pairs")]
    pub headers: Vec<Header>,
    #[serde(default)]
    pub body: String,
}

impl AppendRecord {
    pub fn data(body: String) -> Self {
        Self { body, ..Self::default() }
    }

    pub fn control(headers: Vec<Header>) -> Self {
        Self { headers, ..Self::default() }
    }

    pub fn metered_size(&self) -> usize {
        metered_size(&self.headers, self.body.len())
    }
}

/// S2 JSON append request (`AppendInput`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppendInput {
    pub records: Vec<AppendRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_seq_num: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fencing_token: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPosition {
    pub seq_num: u64,
    pub timestamp: u64,
}

/// S2 append acknowledgement: `end` is exclusive, so the last record written
/// is `end.seq_num - 1`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendAck {
    pub start: StreamPosition,
    pub end: StreamPosition,
    pub tail: StreamPosition,
}

impl AppendAck {
    /// The seq of the last record of this append, if it wrote any.
    pub fn last_seq(&self) -> Option<u64> {
        (self.end.seq_num > self.start.seq_num).then(|| self.end.seq_num - 1)
    }
}

/// A stored record as reads return it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SequencedRecord {
    pub seq_num: u64,
    pub timestamp: u64,
    #[serde(default, with = "header_pairs")]
    pub headers: Vec<Header>,
    #[serde(default)]
    pub body: String,
}

impl SequencedRecord {
    pub fn kind(&self) -> RecordKind<'_> {
        match self.headers.first() {
            Some((name, value)) if name.is_empty() => RecordKind::Command(value),
            _ => match self.headers.iter().find(|(n, _)| n == CONTROL_HEADER) {
                Some((_, v)) => RecordKind::Control(Control::parse(v)),
                None => RecordKind::Data,
            },
        }
    }

    pub fn metered_size(&self) -> usize {
        metered_size(&self.headers, self.body.len())
    }
}

/// `data` of an SSE `batch` event (§5.7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadBatch {
    pub records: Vec<SequencedRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<StreamPosition>,
}

/// `data` of an SSE `ping` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    pub timestamp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<StreamPosition>,
}

/// One event of an S2 SSE read.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadEvent {
    Batch(ReadBatch),
    Ping(Ping),
    /// The read failed; the reader reconnects from its cursor.
    Error(String),
    /// `data: [DONE]`: the read ended cleanly (idle timeout).
    Done,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadEventError {
    #[error("malformed `{event}` event: {source}")]
    Malformed { event: String, source: serde_json::Error },
    #[error("unexpected SSE event `{0}` in a session stream read")]
    UnknownEvent(String),
}

impl ReadEvent {
    /// Interprets one decoded SSE event of a read.
    pub fn from_sse(event: &super::sse::SseEvent) -> Result<Self, ReadEventError> {
        let malformed = |source| ReadEventError::Malformed { event: event.event.clone(), source };
        match event.event.as_str() {
            "batch" => serde_json::from_str(&event.data).map(Self::Batch).map_err(malformed),
            "ping" => serde_json::from_str(&event.data).map(Self::Ping).map_err(malformed),
            "error" => Ok(Self::Error(event.data.clone())),
            "message" if event.data == "[DONE]" => Ok(Self::Done),
            other => Err(ReadEventError::UnknownEvent(other.to_string())),
        }
    }

    /// Encodes as an SSE event. `read_stats` is the `(records, metered
    /// bytes)` delivered so far by this read, for the batch `id:` line.
    pub fn to_sse(&self, read_stats: (u64, u64)) -> String {
        use super::sse::encode_event;
        match self {
            Self::Batch(b) => {
                let last = b.records.last().map(|r| r.seq_num).unwrap_or(0);
                let id = format!("{last},{},{}", read_stats.0, read_stats.1);
                encode_event(Some("batch"), Some(&id), &serde_json::to_string(b).expect("batch serializes"))
            }
            Self::Ping(p) => encode_event(Some("ping"), None, &serde_json::to_string(p).expect("ping serializes")),
            Self::Error(e) => encode_event(Some("error"), None, e),
            Self::Done => encode_event(None, None, "[DONE]"),
        }
    }
}

/// Response of `POST …/{io}/append` (§5.5): `seq` is absent for a duplicate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppendResponse {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "closedReason")]
    pub closed_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "pendingVersion")]
    pub pending_version: Option<bool>,
}

/// One record of `GET …/{io}/records` (§7.1): `data` is the chunk object on
/// `.out` and the raw string on `.in`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    #[serde(default)]
    pub data: Value,
    pub id: String,
    pub seq_num: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "header_pairs")]
    pub headers: Vec<Header>,
    #[serde(flatten)]
    pub extra: Object,
}

/// Response of `GET …/{io}/records`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionRecords {
    pub records: Vec<SessionRecord>,
}

/// Headers travel as `[["name","value"], ...]`.
mod header_pairs {
    use super::Header;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(headers: &[Header], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(headers.iter().map(|(n, v)| [n, v]))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Header>, D::Error> {
        let pairs = Option::<Vec<[String; 2]>>::deserialize(d)?.unwrap_or_default();
        Ok(pairs.into_iter().map(|[n, v]| (n, v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_classify_command_then_control_then_data() {
        let rec = |headers: Vec<Header>| SequencedRecord { headers, ..Default::default() };
        assert_eq!(rec(trim_command_headers()).kind(), RecordKind::Command("trim"));
        assert_eq!(rec(TurnComplete::default().headers()).kind(), RecordKind::Control(Control::TurnComplete));
        assert_eq!(rec(vec![]).kind(), RecordKind::Data);
    }

    #[test]
    fn turn_complete_headers_round_trip() {
        let tc = TurnComplete {
            public_access_token: Some("eyJ".into()),
            session_in_event_id: Some(0),
            session_in_consumed_id: Some(0),
            ..Default::default()
        };
        let headers = tc.headers();
        assert_eq!(
            serde_json::to_string(&AppendRecord::control(headers.clone())).unwrap(),
            r#"{"headers":[["trigger-control","turn-complete"],["public-access-token","eyJ"],["session-in-event-id","0"],["session-in-consumed-id","0"]],"body":""}"#
        );
        assert_eq!(TurnComplete::from_headers(&headers), tc);
    }

    #[test]
    fn ack_last_seq_is_end_minus_one() {
        let ack: AppendAck = serde_json::from_str(
            r#"{"start":{"seq_num":0,"timestamp":1},"end":{"seq_num":2,"timestamp":2},"tail":{"seq_num":2,"timestamp":2}}"#,
        )
        .unwrap();
        assert_eq!(ack.last_seq(), Some(1));
    }

    #[test]
    fn metered_size_counts_headers() {
        let r = AppendRecord::control(vec![("ab".into(), "cde".into())]);
        assert_eq!(r.metered_size(), 8 + 2 + 5);
        assert_eq!(parse_trim_command_body(&trim_command_body(20)), Some(20));
    }

    #[test]
    fn batch_event_encodes_like_s2() {
        let batch = ReadEvent::Batch(ReadBatch {
            records: vec![SequencedRecord { seq_num: 12, timestamp: 5, headers: vec![], body: "{}".into() }],
            tail: Some(StreamPosition { seq_num: 13, timestamp: 5 }),
        });
        let sse = batch.to_sse((3, 1044));
        assert_eq!(sse, "event: batch\nid: 12,3,1044\ndata: {\"records\":[{\"seq_num\":12,\"timestamp\":5,\"headers\":[],\"body\":\"{}\"}],\"tail\":{\"seq_num\":13,\"timestamp\":5}}\n\n");
        let mut dec = crate::protocol::sse::SseDecoder::new();
        let events = dec.feed(sse.as_bytes());
        assert_eq!(ReadEvent::from_sse(&events[0]).unwrap(), batch);
        let done = ReadEvent::Done.to_sse((0, 0));
        assert_eq!(done, "data: [DONE]\n\n");
        assert_eq!(ReadEvent::from_sse(&dec.feed(done.as_bytes())[0]).unwrap(), ReadEvent::Done);
    }
}
