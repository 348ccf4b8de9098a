//! The step-1 `.out` writer (PROTOCOL.md §5.4, step 3 of DESIGN.md's turn):
//! every UI chunk the browser gets live is also appended, in order, to the
//! session's `.out` stream, so a reload (or turn 2) can replay it and the
//! agent's records land after it.
//!
//! A state machine, not async: the driver pushes chunks, asks
//! [`Tee::poll_batch`] for the next S2 append when it is due, sends it,
//! and reports [`Tee::on_ack`] or [`Tee::on_error`]; [`Tee::poll_timeout`]
//! says when to poll again. As `StreamsWriterV2` + the S2 `BatchTransform`:
//!
//! - one record per chunk, body `{"data":<chunk>,"id":<7-char id>}`, no
//!   headers; a body over [`OUT_RECORD_BODY_MAX`] is refused
//!   ([`TeeError::ChunkTooLarge`], the SDK's `ChatChunkTooLargeError`);
//! - a batch is due when the linger (`X-S2-Flush-Interval-Ms`, 0 allowed)
//!   since its first record has passed, at once when it is full (1000
//!   records or 1 MiB metered), and at once after [`Tee::flush`];
//! - single flight (the fetch transport): nothing is sent while a batch is
//!   in flight; records pushed meanwhile form the next batch, so order holds
//!   across batches;
//! - [`Tee::last_seq`] = `end.seq_num − 1` of the last ack: the handler's
//!   `Last-Event-ID` for the phase-2 splice ([`Tee::splice_after`]), unless
//!   the tee failed.
//!
//! Differences, on purpose: after a refused chunk the tee accepts no more
//! chunks but still writes those it had accepted (the SDK's pipeline drops
//! its unsent buffer), so `.out` keeps the longest valid prefix; and batches
//! queued behind an in-flight one are merged (up to the limits) instead of
//! being sent one by one. Trigger pseudo-chunks (`trigger:*`) are never
//! written (§4.3). Left out: retries of one batch (the driver re-sends the
//! same [`AppendInput`], see `retry::decide_s2`) and `maxInflightBytes`
//! (with single flight, at most one batch is in the air).

use std::collections::VecDeque;

use crate::protocol::chunk::UiChunk;
use crate::protocol::record::{AppendAck, AppendInput, AppendRecord, BATCH_METERED_MAX, BATCH_RECORDS_MAX, OUT_RECORD_BODY_MAX};

/// Why a chunk was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeeError {
    /// The record body would exceed [`OUT_RECORD_BODY_MAX`].
    #[error("chat chunk too large for the .out stream: {size} bytes (max {OUT_RECORD_BODY_MAX})")]
    ChunkTooLarge { size: usize },
    /// An earlier chunk was refused or an append failed: the tee writes no
    /// more chunks.
    #[error("the .out writer has stopped; the chunk was not written")]
    Stopped,
}

#[derive(Debug)]
struct Pending {
    record: AppendRecord,
    metered: usize,
    /// When it was pushed: a batch lingers from its first record.
    at_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// A chunk was refused: accepted records are still written.
    Refused,
    /// An append failed for good: nothing more is written.
    Failed,
}

/// The `.out` writer of one head-start turn.
#[derive(Debug)]
pub struct Tee {
    linger_ms: u64,
    pending: VecDeque<Pending>,
    pending_metered: usize,
    /// Records in the batch in flight.
    in_flight: Option<usize>,
    flushing: bool,
    state: State,
    last_seq: Option<u64>,
    acked_records: u64,
    ids: Vec<String>,
}

impl Tee {
    /// A writer whose batches linger `flush_interval_ms` from their first
    /// record (0: a batch is due as soon as it has a record).
    pub fn new(flush_interval_ms: u64) -> Self {
        Self {
            linger_ms: flush_interval_ms,
            pending: VecDeque::new(),
            pending_metered: 0,
            in_flight: None,
            flushing: false,
            state: State::Open,
            last_seq: None,
            acked_records: 0,
            ids: Vec::new(),
        }
    }

    /// Queues one chunk under the record id `record_id` (`nanoid(7)` in the
    /// SDK; readers dedupe on it).
    pub fn push(&mut self, chunk: &UiChunk, record_id: String, now_ms: u64) -> Result<(), TeeError> {
        if chunk.is_trigger_control() {
            return if self.state == State::Open { Ok(()) } else { Err(TeeError::Stopped) };
        }
        self.push_json(&chunk.to_json(), record_id, now_ms)
    }

    /// As [`push`](Self::push), for a chunk already serialized (the handler
    /// has its JSON for the browser anyway): the envelope is written around
    /// it, with no second serialization.
    pub fn push_json(&mut self, chunk_json: &str, record_id: String, now_ms: u64) -> Result<(), TeeError> {
        if self.state != State::Open {
            return Err(TeeError::Stopped);
        }
        let id = serde_json::to_string(&record_id).expect("a string serializes");
        let body = format!(r#"{{"data":{chunk_json},"id":{id}}}"#);
        if body.len() > OUT_RECORD_BODY_MAX {
            self.state = State::Refused;
            return Err(TeeError::ChunkTooLarge { size: body.len() });
        }
        let record = AppendRecord::data(body);
        let metered = record.metered_size();
        self.pending_metered += metered;
        self.pending.push_back(Pending { record, metered, at_ms: now_ms });
        self.ids.push(record_id);
        Ok(())
    }

    /// The linger from now on, for pending records too: the platform says
    /// its `X-S2-Flush-Interval-Ms` only once the credentials arrive, after
    /// the first chunks may have been pushed.
    pub fn set_linger(&mut self, linger_ms: u64) {
        self.linger_ms = linger_ms;
    }

    /// Sends what is pending as soon as possible, lingering no more (also
    /// for chunks pushed later). Call it when step 1 has ended.
    pub fn flush(&mut self) {
        self.flushing = true;
    }

    fn is_full(&self) -> bool {
        self.pending.len() >= BATCH_RECORDS_MAX || self.pending_metered >= BATCH_METERED_MAX
    }

    /// When the next batch will be due (ms, same clock as `now_ms`), if one
    /// can be sent at all: `None` while a batch is in flight (wait for its
    /// ack), with nothing pending, or after a failure. A time in the past
    /// means "now".
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.in_flight.is_some() || self.state == State::Failed {
            return None;
        }
        let first = self.pending.front()?.at_ms;
        if self.flushing || self.is_full() {
            Some(first)
        } else {
            Some(first.saturating_add(self.linger_ms))
        }
    }

    /// The next append, when one is due and none is in flight: as many
    /// pending records, in order, as fit in 1000 records and 1 MiB metered.
    pub fn poll_batch(&mut self, now_ms: u64) -> Option<AppendInput> {
        if now_ms < self.poll_timeout()? {
            return None;
        }
        let mut records = Vec::new();
        let mut metered = 0;
        while let Some(next) = self.pending.front() {
            let fits = records.len() < BATCH_RECORDS_MAX && metered + next.metered <= BATCH_METERED_MAX;
            if !fits {
                break;
            }
            let next = self.pending.pop_front().expect("front exists");
            metered += next.metered;
            records.push(next.record);
        }
        self.pending_metered -= metered;
        self.in_flight = Some(records.len());
        Some(AppendInput { records, match_seq_num: None, fencing_token: None })
    }

    /// The batch in flight was written. An ack with nothing in flight is
    /// ignored.
    pub fn on_ack(&mut self, ack: &AppendAck) {
        let Some(count) = self.in_flight.take() else { return };
        self.acked_records += count as u64;
        if let Some(seq) = ack.last_seq() {
            self.last_seq = Some(seq);
        }
    }

    /// The batch in flight failed for good (after the driver's retries):
    /// the tee stops and drops what is pending. `last_seq` keeps the last
    /// ack; the failed batch may or may not have landed.
    pub fn on_error(&mut self) {
        self.in_flight = None;
        self.state = State::Failed;
        self.pending.clear();
        self.pending_metered = 0;
    }

    /// Nothing pending and nothing in flight: every accepted chunk was
    /// acknowledged, or the tee failed.
    pub fn is_drained(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_none()
    }

    /// A batch is waiting for its ack.
    pub fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// An append failed for good.
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// The seq of the last record written, from the last ack.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// Where the phase-2 splice starts reading `.out` (after this seq;
    /// `None`: from the start). A failed tee is no cursor: its last ack may
    /// name a stream that is gone (S2 restarted in memory, the stream
    /// deleted and made again by the agent's append), and reading after it
    /// would skip the agent's first records. From the start instead, as the
    /// SDK reads when its writer rejects; [`record_ids`](Self::record_ids)
    /// then drop step 1's records, which the SDK sends the browser twice.
    pub fn splice_after(&self) -> Option<u64> {
        if self.is_failed() {
            None
        } else {
            self.last_seq
        }
    }

    /// Records acknowledged so far.
    pub fn acked_records(&self) -> u64 {
        self.acked_records
    }

    /// Records accepted and not yet sent.
    pub fn pending_records(&self) -> usize {
        self.pending.len()
    }

    /// The envelope ids of every chunk accepted, in order: seed
    /// [`super::splice::Splice::with_seen_ids`] with them so that, if the
    /// splice has to start before them (no ack), step-1 chunks that did
    /// reach `.out` are not shown twice.
    pub fn record_ids(&self) -> &[String] {
        &self.ids
    }
}
