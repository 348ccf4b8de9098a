//! Serving a stream read as S2's SSE (PROTOCOL.md §5.7): batches from the
//! start seq, then wait at the tail for new records — woken by the append,
//! never by polling — with `ping`s while idle, and `data: [DONE]` once
//! `wait` seconds pass with nothing delivered (an idle timeout, reset by
//! every batch, as s2-lite does).

use std::cell::RefCell;

use futures_util::future::{select, Either};
use std::pin::pin;

use super::log::{next_start, read, LogStore};
use crate::io::{Clock, Emitter, Notify};
use crate::protocol::record::{Ping, ReadEvent};

/// Records per batch event.
pub const BATCH_RECORDS: usize = 1000;
/// Bytes per batch event (metered).
pub const BATCH_BYTES: usize = 1024 * 1024;
/// A ping while waiting at the tail this often.
pub const PING_INTERVAL_MS: u32 = 10_000;

/// Emits the SSE text of a read until it ends (idle timeout) — or forever,
/// when the reader stays and records keep coming; dropping the future ends it.
pub async fn tail<S: LogStore, C: Clock>(
    store: &RefCell<S>,
    changed: &Notify,
    clock: &C,
    start_seq: u64,
    wait_secs: u32,
    emit: &Emitter<String>,
) {
    let mut next = start_seq;
    let mut delivered = (0u64, 0u64);
    let mut idle_since = clock.now_ms();
    let wait_ms = f64::from(wait_secs) * 1000.0;
    loop {
        let seen = changed.version();
        let batch = match read(&*store.borrow(), next, true, BATCH_RECORDS, BATCH_BYTES) {
            Ok(b) => b,
            Err(e) => {
                emit.emit(ReadEvent::Error(e.to_string()).to_sse(delivered));
                return;
            }
        };
        if !batch.records.is_empty() {
            delivered.0 += batch.records.len() as u64;
            delivered.1 += batch.records.iter().map(|r| r.metered_size() as u64).sum::<u64>();
            next = next_start(&batch, next);
            emit.emit(ReadEvent::Batch(batch).to_sse(delivered));
            idle_since = clock.now_ms();
            continue;
        }
        next = next_start(&batch, next);
        let left = wait_ms - (clock.now_ms() - idle_since);
        if left <= 0.0 {
            emit.emit(ReadEvent::Done.to_sse(delivered));
            return;
        }
        let nap = (left.ceil() as u32).min(PING_INTERVAL_MS);
        match select(pin!(changed.changed_since(seen)), pin!(clock.sleep(nap))).await {
            Either::Left(_) => {}
            Either::Right(_) => {
                if clock.now_ms() - idle_since < wait_ms {
                    let tail = batch.tail;
                    emit.emit(ReadEvent::Ping(Ping { timestamp: clock.now_ms() as u64, tail }).to_sse(delivered));
                }
            }
        }
    }
}
