//! One S2-style stream, a session's `in` or `out` channel (PROTOCOL.md §5.4,
//! §5.5, §5.7, §7.1, §7.5, §9.5), over a storage trait the Durable Object
//! implements on SQLite.
//!
//! Semantics follow S2 (and s2-lite): seqs are assigned densely from 0 and
//! never reused, trims included; a record's timestamp is its own (capped at
//! `now_ms`) or `now_ms`, and never below the previous record's; a `trim`
//! command moves the trim point forward (never back, and at most to just
//! after the command itself, so a trim never removes records appended after
//! it); the command record is stored and takes a seq like any other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::command::{parse_command, Command, CommandError};
use super::store::StoreError;
use crate::protocol::record::{
    AppendAck, AppendInput, Control, ReadBatch, RecordKind, SequencedRecord, SessionRecord, SessionRecords, StreamPosition,
    BATCH_METERED_MAX, BATCH_RECORDS_MAX, RECORD_METERED_MAX,
};

/// The per-stream state kept next to the records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamMeta {
    /// The seq the next record gets (the tail).
    pub next_seq: u64,
    /// Records before this seq are gone.
    pub trim_point: u64,
    /// Timestamp of the last record appended (0 before any).
    pub last_timestamp: u64,
    /// Set by a `fence` command; appends naming another token fail.
    pub fencing_token: String,
}

impl StreamMeta {
    pub fn tail(&self) -> StreamPosition {
        StreamPosition { seq_num: self.next_seq, timestamp: self.last_timestamp }
    }
}

/// Where a stream's records live. On SQLite: a `records(seq PRIMARY KEY,
/// timestamp, headers, body)` table and a one-row meta table per stream.
///
/// Every call can fail: a failed [`meta`](LogStore::meta) must never read
/// as a fresh stream (the next append would overwrite records), and a
/// failed [`commit`](LogStore::commit) must never be acknowledged.
pub trait LogStore {
    /// The stream's state; the default for a stream never written.
    fn meta(&self) -> Result<StreamMeta, StoreError>;
    /// Insert `records`, store `meta`, delete every record with
    /// `seq < meta.trim_point`. `Ok` only once `records` and `meta` are
    /// stored. A commit that fails midway may leave records at or past the
    /// stored `next_seq`: readers never look there ([`read`] stops at the
    /// tail) and the next append overwrites them.
    fn commit(&mut self, records: &[SequencedRecord], meta: &StreamMeta) -> Result<(), StoreError>;
    /// Up to `limit` records with `seq >= from`, in seq order.
    fn range(&self, from: u64, limit: usize) -> Result<Vec<SequencedRecord>, StoreError>;
}

/// A [`LogStore`] in memory, for tests and for the fake agent.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    pub meta: StreamMeta,
    pub records: BTreeMap<u64, SequencedRecord>,
}

impl LogStore for MemStore {
    fn meta(&self) -> Result<StreamMeta, StoreError> {
        Ok(self.meta.clone())
    }

    fn commit(&mut self, records: &[SequencedRecord], meta: &StreamMeta) -> Result<(), StoreError> {
        for r in records {
            self.records.insert(r.seq_num, r.clone());
        }
        self.records = self.records.split_off(&meta.trim_point);
        self.meta = meta.clone();
        Ok(())
    }

    fn range(&self, from: u64, limit: usize) -> Result<Vec<SequencedRecord>, StoreError> {
        Ok(self.records.range(from..).take(limit).map(|(_, r)| r.clone()).collect())
    }
}

/// Why an append or read was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("append must contain at least one record")]
    Empty,
    #[error("append of {0} records exceeds the limit of {BATCH_RECORDS_MAX}")]
    TooManyRecords(usize),
    #[error("record {index} has metered size {metered} bytes, over the limit of {RECORD_METERED_MAX}")]
    RecordTooLarge { index: usize, metered: usize },
    #[error("append has metered size {0} bytes, over the limit of {BATCH_METERED_MAX}")]
    BatchTooLarge(usize),
    #[error("record {index}: {source}")]
    Command { index: usize, source: CommandError },
    #[error("match_seq_num {expected} does not match the tail {actual}")]
    SeqNumMismatch { expected: u64, actual: u64 },
    #[error("fencing token does not match")]
    FencingTokenMismatch { expected: String, actual: String },
    #[error("start seq {start} is beyond the tail {}", tail.seq_num)]
    BeyondTail { start: u64, tail: StreamPosition },
    /// Nothing was appended (or read); the caller may retry.
    #[error("{0}")]
    Storage(#[from] StoreError),
}

impl LogError {
    /// The HTTP status S2 answers with.
    pub fn status(&self) -> u16 {
        match self {
            LogError::RecordTooLarge { .. } | LogError::BatchTooLarge(_) => 413,
            LogError::SeqNumMismatch { .. } | LogError::FencingTokenMismatch { .. } => 412,
            LogError::BeyondTail { .. } => 416,
            LogError::Storage(_) => 503,
            LogError::Empty | LogError::TooManyRecords(_) | LogError::Command { .. } => 422,
        }
    }

    /// S2's body for a failed append condition (a 412): the stream's tail,
    /// or its fencing token, under the name the S2 SDK reads into its
    /// `SeqNumMismatchError` / `FencingTokenMismatchError` (s2-lite answers
    /// the same). `None` for every other error.
    pub fn condition_failed(&self) -> Option<serde_json::Value> {
        match self {
            LogError::SeqNumMismatch { actual, .. } => Some(serde_json::json!({ "seq_num_mismatch": actual })),
            LogError::FencingTokenMismatch { actual, .. } => Some(serde_json::json!({ "fencing_token_mismatch": actual })),
            _ => None,
        }
    }

    /// A short machine-readable code for S2-style `{message, code}` bodies.
    pub fn code(&self) -> &'static str {
        match self {
            LogError::RecordTooLarge { .. } | LogError::BatchTooLarge(_) => "too_large",
            LogError::SeqNumMismatch { .. } => "seq_num_mismatch",
            LogError::FencingTokenMismatch { .. } => "fencing_token_mismatch",
            LogError::BeyondTail { .. } => "range_not_satisfiable",
            LogError::Storage(_) => "unavailable",
            LogError::Empty | LogError::TooManyRecords(_) | LogError::Command { .. } => "invalid",
        }
    }
}

/// Checks the S2 limits of a batch: 1-1000 records, each and all together
/// at most 1 MiB metered.
pub fn check_limits(input: &AppendInput) -> Result<(), LogError> {
    let n = input.records.len();
    if n == 0 {
        return Err(LogError::Empty);
    }
    if n > BATCH_RECORDS_MAX {
        return Err(LogError::TooManyRecords(n));
    }
    let mut total = 0;
    for (index, r) in input.records.iter().enumerate() {
        let metered = r.metered_size();
        if metered > RECORD_METERED_MAX {
            return Err(LogError::RecordTooLarge { index, metered });
        }
        total += metered;
    }
    if total > BATCH_METERED_MAX {
        return Err(LogError::BatchTooLarge(total));
    }
    Ok(())
}

/// Appends a batch: checks limits, conditions (`match_seq_num`,
/// `fencing_token`) and command records, assigns seqs and timestamps,
/// applies commands, and commits everything in one store transaction.
pub fn append(store: &mut impl LogStore, input: &AppendInput, now_ms: u64) -> Result<AppendAck, LogError> {
    check_limits(input)?;
    let commands = input
        .records
        .iter()
        .enumerate()
        .map(|(index, r)| parse_command(&r.headers, &r.body).map_err(|source| LogError::Command { index, source }))
        .collect::<Result<Vec<_>, _>>()?;
    let mut meta = store.meta()?;
    if let Some(token) = &input.fencing_token {
        if *token != meta.fencing_token {
            return Err(LogError::FencingTokenMismatch { expected: token.clone(), actual: meta.fencing_token });
        }
    }
    if let Some(expected) = input.match_seq_num {
        if expected != meta.next_seq {
            return Err(LogError::SeqNumMismatch { expected, actual: meta.next_seq });
        }
    }
    let first = meta.next_seq;
    let mut records = Vec::with_capacity(input.records.len());
    for (i, (r, command)) in input.records.iter().zip(commands).enumerate() {
        let seq_num = first + i as u64;
        let timestamp = r.timestamp.unwrap_or(now_ms).min(now_ms).max(meta.last_timestamp);
        meta.last_timestamp = timestamp;
        match command {
            Some(Command::Trim(to)) => meta.trim_point = meta.trim_point.max(to.min(seq_num + 1)),
            Some(Command::Fence(token)) => meta.fencing_token = token,
            None => {}
        }
        records.push(SequencedRecord { seq_num, timestamp, headers: r.headers.clone(), body: r.body.clone() });
    }
    meta.next_seq = first + records.len() as u64;
    let start = StreamPosition { seq_num: first, timestamp: records[0].timestamp };
    let keep = records.iter().position(|r| r.seq_num >= meta.trim_point).unwrap_or(records.len());
    store.commit(&records[keep..], &meta)?;
    Ok(AppendAck { start, end: meta.tail(), tail: meta.tail() })
}

/// Records a read fetches from the store at a time while filling a batch.
const READ_PAGE: usize = 32;

/// Reads from `start_seq`: at most `max_records` records and `max_bytes`
/// metered bytes (the first record always fits, so a read makes progress).
/// A start before the trim point reads from the first surviving record. A
/// start beyond the tail is an error unless `clamp`, which reads (nothing
/// yet) from the tail: the caller then waits for appends. The batch always
/// carries `tail`; continue from [`next_start`].
pub fn read(
    store: &impl LogStore,
    start_seq: u64,
    clamp: bool,
    max_records: usize,
    max_bytes: usize,
) -> Result<ReadBatch, LogError> {
    let meta = store.meta()?;
    let tail = Some(meta.tail());
    if start_seq > meta.next_seq {
        return if clamp {
            Ok(ReadBatch { records: vec![], tail })
        } else {
            Err(LogError::BeyondTail { start: start_seq, tail: meta.tail() })
        };
    }
    let mut from = start_seq.max(meta.trim_point);
    let (mut records, mut bytes) = (Vec::new(), 0);
    'pages: while records.len() < max_records && from < meta.next_seq {
        let page = store.range(from, READ_PAGE.min(max_records - records.len()))?;
        if page.is_empty() {
            break;
        }
        // Records at or past the tail are leftovers of a commit that failed
        // midway: never acknowledged, so never read.
        for r in page.into_iter().take_while(|r| r.seq_num < meta.next_seq) {
            let size = r.metered_size();
            if !records.is_empty() && bytes + size > max_bytes {
                break 'pages;
            }
            bytes += size;
            from = r.seq_num + 1;
            records.push(r);
        }
    }
    Ok(ReadBatch { records, tail })
}

/// Where the read after `batch` (which started at `start_seq`) starts: after
/// its last record, else at `start_seq`, clamped to the tail.
pub fn next_start(batch: &ReadBatch, start_seq: u64) -> u64 {
    match batch.records.last() {
        Some(r) => r.seq_num + 1,
        None => batch.tail.map_or(start_seq, |t| start_seq.min(t.seq_num)),
    }
}

/// `X-Peek-Settled` on `out` (§5.7): whether the newest non-command record among the
/// last two is a `turn-complete` control record, i.e. the agent finished a
/// turn and nothing more comes without new input.
pub fn peek_settled(store: &impl LogStore) -> Result<bool, StoreError> {
    let meta = store.meta()?;
    let from = meta.next_seq.saturating_sub(2).max(meta.trim_point);
    Ok(store
        .range(from, 2)?
        .iter()
        .filter(|r| r.seq_num < meta.next_seq)
        .rev()
        .find(|r| !matches!(r.kind(), RecordKind::Command(_)))
        .is_some_and(|r| r.kind() == RecordKind::Control(Control::TurnComplete)))
}

/// `GET …/{io}/records` (§7.1): command records dropped; for the rest, the
/// envelope's `data` (the chunk object on `out`, the raw string on `in`)
/// and `id`, or `""` for either when the body is not an envelope (control
/// records).
pub fn session_records(records: &[SequencedRecord]) -> SessionRecords {
    let records = records
        .iter()
        .filter(|r| !matches!(r.kind(), RecordKind::Command(_)))
        .map(|r| {
            let body = serde_json::from_str::<Value>(&r.body).ok();
            let field = |name| body.as_ref().and_then(|b| b.get(name)).filter(|v| !v.is_null());
            let data = field("data").cloned().unwrap_or_else(|| "".into());
            let id = field("id").and_then(Value::as_str).unwrap_or_default().to_string();
            SessionRecord { data, id, seq_num: r.seq_num, headers: r.headers.clone(), extra: Default::default() }
        })
        .collect();
    SessionRecords { records }
}

/// The start seq of `GET …/records?afterEventId=N`: `N + 1`, or 0.
pub fn records_start(after_event_id: Option<&str>) -> Option<u64> {
    match after_event_id {
        None => Some(0),
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse::<u64>().ok().map(|n| n.saturating_add(1)),
        Some(_) => None,
    }
}
