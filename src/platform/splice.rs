//! Phase 2 of a head-start turn: reading the agent's `.out` and splicing it
//! into the browser's response (PROTOCOL.md §4.2 phase 2, §5.7 "How the
//! route handler consumes it", §9.3).
//!
//! The driver subscribes with `Last-Event-ID` = the tee's last seq, decodes
//! SSE with `protocol::sse::SseDecoder` and feeds each event to
//! [`Splice::feed`], which classifies records in order (§5.7 table):
//!
//! - S2 command records (first header name `""`): skipped; they advance the
//!   reconnect [`cursor`](Splice::cursor) only.
//! - Trigger control records: `turn-complete` → [`SpliceEvent::TurnComplete`]
//!   and nothing after it is read; other subtypes are ignored (not
//!   forwarded) but count as seen.
//! - Data records: deduped on the envelope `id` (at most
//!   [`DEDUPE_IDS_MAX`] remembered), then [`SpliceEvent::Forward`] with the
//!   envelope's `data` exactly as stored (a `RawValue`: nothing is parsed
//!   into types or re-serialized). An unparsable body, or one without
//!   `data`, is dropped (the browser does the same).
//!
//! [`last_event_id`](Splice::last_event_id) is the seq of the last data or
//! control record delivered — the handler's `latestEventId`, sent to the
//! browser as `trigger:session-state` — while duplicates and commands move
//! only the reconnect cursor. An `event: error`, or a batch that does not
//! parse, is [`SpliceEvent::Error`] (reconnect from the cursor), never a
//! panic; `data: [DONE]` is [`SpliceEvent::Done`]; pings and unknown
//! events are ignored.
//!
//! Differences, on purpose: the dedupe set survives reconnects (the SDK's is
//! per connection; keeping it only drops more duplicates), records at or
//! below the cursor are skipped (a server that ignored `Last-Event-ID`
//! cannot replay step 1), and the set can be seeded with the tee's ids. Left
//! out: the legacy in-band `trigger:*` data chunks (4.8.3 never stores
//! them; they are forwarded like any chunk) and `session-in-event-id`
//! filtering (`chat.headStart` does not look at it, §10).

use std::collections::{HashSet, VecDeque};

use crate::protocol::chunk::{SessionState, UiChunk};
use crate::protocol::json::Object;
use crate::protocol::record::{Control, RawOutEnvelope, ReadEvent, ReadEventError, RecordKind, SequencedRecord, TurnComplete};
use crate::protocol::sse::SseEvent;

/// Envelope ids remembered for dedupe (§9.3).
pub const DEDUPE_IDS_MAX: usize = 5000;

/// What the route handler does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpliceEvent {
    /// Send this chunk JSON to the browser, as is.
    Forward(String),
    /// The agent's turn is over: send `trigger:turn-complete`, then the
    /// session state, and close.
    TurnComplete { seq: u64, headers: TurnComplete },
    /// The read ended cleanly (the server's idle wait ran out).
    Done,
    /// The read failed: reconnect from [`Splice::cursor`].
    Error(String),
}

/// The header that marks a turn-complete the route handler wrote for a
/// turn it finished with edge steps ([`crate::turn::edge`]).
pub const EDGE_HEADER: &str = "headstart-edge";

/// The phase-2 reader of one head-start turn.
#[derive(Debug, Default)]
pub struct Splice {
    cursor: Option<u64>,
    last_event_id: Option<u64>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    turn_complete: bool,
}

impl Splice {
    /// A reader with no cursor (the read starts at seq 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// A reader whose subscription starts after `seq` (the tee's last seq).
    pub fn starting_after(seq: Option<u64>) -> Self {
        Self { cursor: seq, ..Self::default() }
    }

    /// Remembers envelope ids as already delivered (the tee's own records).
    pub fn with_seen_ids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        for id in ids {
            self.remember(id.into());
        }
        self
    }

    /// Interprets one SSE event of the subscription.
    pub fn feed(&mut self, event: &SseEvent) -> Vec<SpliceEvent> {
        if self.turn_complete {
            return Vec::new();
        }
        match ReadEvent::from_sse(event) {
            Ok(ReadEvent::Batch(batch)) => {
                let mut out = Vec::new();
                for record in &batch.records {
                    if let Some(e) = self.record(record) {
                        let done = matches!(e, SpliceEvent::TurnComplete { .. });
                        out.push(e);
                        if done {
                            break;
                        }
                    }
                }
                out
            }
            Ok(ReadEvent::Ping(_)) => Vec::new(),
            Ok(ReadEvent::Error(message)) => vec![SpliceEvent::Error(message)],
            Ok(ReadEvent::Done) => vec![SpliceEvent::Done],
            // Heartbeats are not read (as in the SDK), even when garbled.
            Err(ReadEventError::Malformed { event, .. }) if event == "ping" => Vec::new(),
            Err(e @ ReadEventError::Malformed { .. }) => vec![SpliceEvent::Error(e.to_string())],
            // Other events (and `message`s other than `[DONE]`) mean nothing
            // to a session read.
            Err(ReadEventError::UnknownEvent(_)) => Vec::new(),
        }
    }

    fn record(&mut self, record: &SequencedRecord) -> Option<SpliceEvent> {
        let seq = record.seq_num;
        if self.cursor.is_some_and(|c| seq <= c) {
            return None;
        }
        self.cursor = Some(seq);
        match record.kind() {
            RecordKind::Command(_) => None,
            RecordKind::Control(control) => {
                self.last_event_id = Some(seq);
                // The route handler's own turn-complete (a write it could
                // not confirm) is not the agent's: the turn goes on.
                let edge = record.headers.iter().any(|(name, _)| name == EDGE_HEADER);
                (control == Control::TurnComplete && !edge).then(|| {
                    self.turn_complete = true;
                    SpliceEvent::TurnComplete { seq, headers: TurnComplete::from_headers(&record.headers) }
                })
            }
            RecordKind::Data => {
                let envelope: RawOutEnvelope = match serde_json::from_str(&record.body) {
                    Ok(e) => e,
                    Err(_) => {
                        self.last_event_id = Some(seq);
                        return None;
                    }
                };
                if self.seen.contains(&envelope.id) {
                    return None;
                }
                self.remember(envelope.id);
                self.last_event_id = Some(seq);
                let data = envelope.data.get();
                (data != "null").then(|| SpliceEvent::Forward(data.to_string()))
            }
        }
    }

    fn remember(&mut self, id: String) {
        if !self.seen.insert(id.clone()) {
            return;
        }
        self.seen_order.push_back(id);
        if self.seen_order.len() > DEDUPE_IDS_MAX {
            if let Some(oldest) = self.seen_order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
    }

    /// The seq of the last data or control record delivered: the handler's
    /// `latestEventId`.
    pub fn last_event_id(&self) -> Option<u64> {
        self.last_event_id
    }

    /// The seq of the last record of any kind read (or the starting seq):
    /// `Last-Event-ID` for a reconnect.
    pub fn cursor(&self) -> Option<u64> {
        self.cursor
    }

    /// The agent's `turn-complete` was read; later events are ignored.
    pub fn is_turn_complete(&self) -> bool {
        self.turn_complete
    }

    /// `{"type":"trigger:session-state","lastEventId":"<seq>"}`, when a
    /// record was delivered (§4.2: only then).
    pub fn session_state(&self) -> Option<UiChunk> {
        let seq = self.last_event_id?;
        Some(UiChunk::TriggerSessionState(SessionState { last_event_id: seq.to_string(), extra: Object::new() }))
    }
}
