//! Serving a stream read as S2's SSE (PROTOCOL.md §5.7): batches from the
//! start seq, then wait at the tail for new records — woken by the append,
//! never by polling — with `ping`s while idle, and `data: [DONE]` once
//! `wait` seconds pass with nothing delivered (an idle timeout, reset by
//! every batch, as s2-lite does).
//!
//! The read is pulled: [`Tail::next_event`] reads one batch (at most
//! [`BATCH_BYTES`]) when the consumer asks for the next event, so a reader
//! that is slower than the backlog holds one batch in memory, never the
//! backlog.

use std::pin::pin;

use futures_util::future::{select, Either};

use super::log::{next_start, read, LogError, LogStore};
use crate::io::{Clock, Notify};
use crate::protocol::record::{Ping, ReadEvent};

/// Records per batch event.
pub const BATCH_RECORDS: usize = 1000;
/// Bytes per batch event (metered).
pub const BATCH_BYTES: usize = 1024 * 1024;
/// A ping while waiting at the tail this often.
pub const PING_INTERVAL_MS: u32 = 10_000;

/// Where a read is: its next seq, what it delivered, since when it idles.
#[derive(Debug, Clone)]
pub struct Tail {
    next: u64,
    delivered: (u64, u64),
    idle_since: f64,
    wait_ms: f64,
    ended: bool,
}

impl Tail {
    /// A read from `start_seq` that ends after `wait_secs` without records.
    pub fn new(start_seq: u64, wait_secs: u32, now_ms: f64) -> Self {
        Self { next: start_seq, delivered: (0, 0), idle_since: now_ms, wait_ms: f64::from(wait_secs) * 1000.0, ended: false }
    }

    /// The SSE text of the next event: a batch when records are there, else
    /// (after waiting at the tail) a ping, `[DONE]` at the idle timeout, or
    /// an `error` event when storage fails. `None` once the read ended.
    /// Dropping the future mid-wait loses nothing.
    pub async fn next_event<S: LogStore, C: Clock>(&mut self, store: &S, changed: &Notify, clock: &C) -> Option<String> {
        if self.ended {
            return None;
        }
        loop {
            let seen = changed.version();
            let batch = match read(store, self.next, true, BATCH_RECORDS, BATCH_BYTES) {
                Ok(b) => b,
                Err(e) => {
                    self.ended = true;
                    // The reader reconnects from its cursor; a storage cause
                    // stays in the operator's log, not the stream.
                    let message = match e {
                        LogError::Storage(_) => "session storage is unavailable; reconnect".to_string(),
                        e => e.to_string(),
                    };
                    return Some(ReadEvent::Error(message).to_sse(self.delivered));
                }
            };
            self.next = next_start(&batch, self.next);
            if !batch.records.is_empty() {
                self.delivered.0 += batch.records.len() as u64;
                self.delivered.1 += batch.records.iter().map(|r| r.metered_size() as u64).sum::<u64>();
                self.idle_since = clock.now_ms();
                return Some(ReadEvent::Batch(batch).to_sse(self.delivered));
            }
            let left = self.wait_ms - (clock.now_ms() - self.idle_since);
            if left <= 0.0 {
                self.ended = true;
                return Some(ReadEvent::Done.to_sse(self.delivered));
            }
            let nap = (left.ceil() as u32).min(PING_INTERVAL_MS);
            if let Either::Right(_) = select(pin!(changed.changed_since(seen)), pin!(clock.sleep(nap))).await {
                if clock.now_ms() - self.idle_since < self.wait_ms {
                    let ping = Ping { timestamp: clock.now_ms() as u64, tail: batch.tail };
                    return Some(ReadEvent::Ping(ping).to_sse(self.delivered));
                }
            }
        }
    }
}
