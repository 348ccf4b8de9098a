use serde_json::json;

use crate::platform::tee::*;
use crate::protocol::chunk::UiChunk;
use crate::protocol::record::{
    AppendAck, AppendInput, StreamPosition, BATCH_METERED_MAX, BATCH_RECORDS_MAX, OUT_RECORD_BODY_MAX,
};
use crate::selfhost::log::check_limits;

fn delta(text: &str) -> UiChunk {
    serde_json::from_value(json!({ "type": "text-delta", "id": "0", "delta": text })).unwrap()
}

/// 7-character ids, as `nanoid(7)` makes them.
fn id(n: usize) -> String {
    format!("{n:07}")
}

/// A text delta whose envelope body is exactly `len` bytes.
fn chunk_with_body(len: usize) -> UiChunk {
    let overhead = r#"{"data":{"type":"text-delta","id":"0","delta":""},"id":"0000000"}"#.len();
    delta(&"a".repeat(len - overhead))
}

fn ack(start: u64, end: u64) -> AppendAck {
    let pos = |seq_num| StreamPosition { seq_num, timestamp: 1 };
    AppendAck { start: pos(start), end: pos(end), tail: pos(end) }
}

/// Sends every batch as soon as it is due, acking with dense seqs, and
/// returns the batches.
fn drain(tee: &mut Tee, now_ms: u64, next_seq: &mut u64) -> Vec<AppendInput> {
    let mut batches = Vec::new();
    while let Some(batch) = tee.poll_batch(now_ms) {
        check_limits(&batch).expect("every batch is within the S2 limits");
        let n = batch.records.len() as u64;
        tee.on_ack(&ack(*next_seq, *next_seq + n));
        *next_seq += n;
        batches.push(batch);
    }
    batches
}

#[test]
fn records_are_envelopes_of_the_chunk() {
    let mut tee = Tee::new(0);
    tee.push(&delta("Let me"), "x7Gq2Lp".into(), 0).unwrap();
    let batch = tee.poll_batch(0).unwrap();
    assert_eq!(
        serde_json::to_string(&batch).unwrap(),
        r#"{"records":[{"body":"{\"data\":{\"type\":\"text-delta\",\"id\":\"0\",\"delta\":\"Let me\"},\"id\":\"x7Gq2Lp\"}"}]}"#
    );
    assert!(batch.records[0].headers.is_empty());
    assert_eq!(tee.record_ids(), ["x7Gq2Lp"]);
}

#[test]
fn a_batch_lingers_from_its_first_record() {
    let mut tee = Tee::new(200);
    assert_eq!(tee.poll_timeout(), None);
    assert!(tee.is_drained());
    tee.push(&delta("a"), id(0), 1000).unwrap();
    tee.push(&delta("b"), id(1), 1150).unwrap();
    assert!(!tee.is_drained());
    assert_eq!(tee.poll_timeout(), Some(1200));
    assert_eq!(tee.poll_batch(1199), None);
    let batch = tee.poll_batch(1200).unwrap();
    assert_eq!(batch.records.len(), 2);
    assert!(tee.in_flight());
    assert!(!tee.is_drained());
    tee.on_ack(&ack(0, 2));
    assert!(tee.is_drained());
    assert_eq!(tee.last_seq(), Some(1));
}

#[test]
fn the_linger_can_change_while_records_wait() {
    let mut tee = Tee::new(0);
    tee.push(&delta("a"), id(0), 1000).unwrap();
    tee.set_linger(200);
    assert_eq!(tee.poll_timeout(), Some(1200), "due 200 ms after the first record, not at once");
    assert!(tee.poll_batch(1199).is_none());
    assert_eq!(tee.poll_batch(1200).map(|b| b.records.len()), Some(1));
}

#[test]
fn zero_linger_sends_at_once() {
    let mut tee = Tee::new(0);
    tee.push(&delta("a"), id(0), 42).unwrap();
    assert_eq!(tee.poll_timeout(), Some(42));
    assert_eq!(tee.poll_batch(42).unwrap().records.len(), 1);
}

#[test]
fn single_flight_and_the_next_batch_keeps_its_own_linger() {
    let mut tee = Tee::new(200);
    tee.push(&delta("a"), id(0), 0).unwrap();
    let first = tee.poll_batch(200).unwrap();
    assert_eq!(first.records.len(), 1);
    // Pushed while the first batch is in flight.
    tee.push(&delta("b"), id(1), 250).unwrap();
    tee.push(&delta("c"), id(2), 300).unwrap();
    assert_eq!(tee.poll_timeout(), None, "waiting for the ack, not a timer");
    assert_eq!(tee.poll_batch(10_000), None);
    tee.flush();
    assert_eq!(tee.poll_batch(10_000), None, "not even when flushing");
    tee.on_ack(&ack(0, 1));
    assert_eq!(tee.last_seq(), Some(0));
    // Flushing: due at once.
    assert_eq!(tee.poll_timeout(), Some(250));
    let second = tee.poll_batch(260).unwrap();
    assert_eq!(second.records.len(), 2, "records queued behind the flight go together");
    tee.on_ack(&ack(1, 3));
    assert_eq!(tee.last_seq(), Some(2));
    assert_eq!(tee.acked_records(), 3);
}

#[test]
fn a_late_ack_releases_a_batch_whose_linger_has_passed() {
    let mut tee = Tee::new(200);
    tee.push(&delta("a"), id(0), 0).unwrap();
    tee.poll_batch(200).unwrap();
    tee.push(&delta("b"), id(1), 210).unwrap();
    tee.on_ack(&ack(0, 1));
    assert_eq!(tee.poll_timeout(), Some(410));
    assert_eq!(tee.poll_batch(409), None);
    assert!(tee.poll_batch(410).is_some());
}

#[test]
fn flush_ends_the_linger() {
    let mut tee = Tee::new(60_000);
    tee.push(&delta("a"), id(0), 5).unwrap();
    assert_eq!(tee.poll_batch(6), None);
    tee.flush();
    assert_eq!(tee.poll_timeout(), Some(5));
    assert!(tee.poll_batch(6).is_some());
    tee.on_ack(&ack(0, 1));
    // Sticky: a chunk after the flush is not held either.
    tee.push(&delta("b"), id(1), 7).unwrap();
    assert!(tee.poll_batch(7).is_some());
}

#[test]
fn a_thousand_records_fill_a_batch() {
    let mut tee = Tee::new(60_000);
    for n in 0..BATCH_RECORDS_MAX - 1 {
        tee.push(&delta("x"), id(n), 0).unwrap();
    }
    assert_eq!(tee.poll_batch(1), None, "999 records still linger");
    tee.push(&delta("x"), id(999), 0).unwrap();
    assert_eq!(tee.poll_timeout(), Some(0));
    assert_eq!(tee.poll_batch(1).unwrap().records.len(), 1000);
    tee.on_ack(&ack(0, 1000));

    for n in 0..BATCH_RECORDS_MAX + 1 {
        tee.push(&delta("y"), id(1000 + n), 10).unwrap();
    }
    assert_eq!(tee.poll_batch(11).unwrap().records.len(), 1000);
    tee.on_ack(&ack(1000, 2000));
    assert_eq!(tee.pending_records(), 1);
    assert_eq!(tee.poll_batch(11), None, "the one left over lingers again");
    assert_eq!(tee.poll_batch(60_010).unwrap().records.len(), 1);
}

#[test]
fn a_mebibyte_metered_fills_a_batch() {
    // Two records of exactly 512 KiB metered (8 + body) each.
    let half = BATCH_METERED_MAX / 2 - 8;
    let mut tee = Tee::new(60_000);
    tee.push(&chunk_with_body(half), id(0), 0).unwrap();
    assert_eq!(tee.poll_batch(1), None);
    tee.push(&chunk_with_body(half), id(1), 0).unwrap();
    let batch = tee.poll_batch(1).expect("exactly 1 MiB is full");
    assert_eq!(batch.records.len(), 2);
    assert_eq!(batch.records.iter().map(|r| r.metered_size()).sum::<usize>(), BATCH_METERED_MAX);
    tee.on_ack(&ack(0, 2));

    // One byte more and the second record waits for the next batch.
    let mut tee = Tee::new(60_000);
    tee.push(&chunk_with_body(half), id(0), 0).unwrap();
    tee.push(&chunk_with_body(half + 1), id(1), 0).unwrap();
    tee.push(&delta("small"), id(2), 0).unwrap();
    let mut seq = 0;
    let batches = drain(&mut tee, 1, &mut seq);
    assert_eq!(batches.iter().map(|b| b.records.len()).collect::<Vec<_>>(), [1]);
    assert_eq!(tee.pending_records(), 2, "the rest is under 1 MiB and lingers");
    tee.flush();
    let batches = drain(&mut tee, 1, &mut seq);
    assert_eq!(batches.iter().map(|b| b.records.len()).collect::<Vec<_>>(), [2]);
    assert_eq!(tee.last_seq(), Some(2));
}

#[test]
fn chunk_size_limit_at_and_over_the_boundary() {
    let mut tee = Tee::new(0);
    let largest = chunk_with_body(OUT_RECORD_BODY_MAX);
    tee.push(&largest, id(0), 0).unwrap();
    let batch = tee.poll_batch(0).unwrap();
    assert_eq!(batch.records[0].body.len(), OUT_RECORD_BODY_MAX);
    check_limits(&batch).unwrap();
    tee.on_ack(&ack(0, 1));

    tee.push(&delta("before"), id(1), 0).unwrap();
    let err = tee.push(&chunk_with_body(OUT_RECORD_BODY_MAX + 1), id(2), 0).unwrap_err();
    assert_eq!(err, TeeError::ChunkTooLarge { size: OUT_RECORD_BODY_MAX + 1 });
    assert_eq!(err.to_string(), "chat chunk too large for the .out stream: 1047553 bytes (max 1047552)");
    assert_eq!(tee.push(&delta("after"), id(3), 0), Err(TeeError::Stopped));
    // What was accepted before the refusal is still written.
    let batch = tee.poll_batch(0).unwrap();
    assert_eq!(batch.records.len(), 1);
    assert!(batch.records[0].body.contains("before"));
    tee.on_ack(&ack(1, 2));
    assert!(tee.is_drained());
    assert!(!tee.is_failed());
    assert_eq!(tee.last_seq(), Some(1));
    assert_eq!(tee.record_ids(), [id(0), id(1)]);
}

#[test]
fn a_failed_append_stops_the_tee() {
    let mut tee = Tee::new(0);
    tee.push(&delta("a"), id(0), 0).unwrap();
    tee.poll_batch(0).unwrap();
    tee.on_ack(&ack(0, 1));
    tee.push(&delta("b"), id(1), 0).unwrap();
    tee.poll_batch(0).unwrap();
    tee.push(&delta("c"), id(2), 0).unwrap();
    tee.on_error();
    assert!(tee.is_failed());
    assert!(tee.is_drained(), "nothing more will be written");
    assert_eq!(tee.pending_records(), 0);
    assert_eq!(tee.poll_timeout(), None);
    assert_eq!(tee.poll_batch(1000), None);
    assert_eq!(tee.push(&delta("d"), id(3), 0), Err(TeeError::Stopped));
    assert_eq!(tee.last_seq(), Some(0), "the last ack still counts");
    assert_eq!(tee.splice_after(), None, "but the splice reads from the start");
}

#[test]
fn the_splice_starts_after_the_last_ack_of_a_healthy_tee() {
    let mut tee = Tee::new(0);
    assert_eq!(tee.splice_after(), None, "nothing written: from the start");
    tee.push(&delta("a"), id(0), 0).unwrap();
    tee.push(&delta("b"), id(1), 0).unwrap();
    let mut seq = 7;
    drain(&mut tee, 0, &mut seq);
    assert_eq!(tee.splice_after(), Some(8));
}

#[test]
fn acks_without_a_flight_or_records_change_nothing() {
    let mut tee = Tee::new(0);
    tee.on_ack(&ack(0, 5));
    assert_eq!((tee.last_seq(), tee.acked_records()), (None, 0));
    tee.push(&delta("a"), id(0), 0).unwrap();
    tee.poll_batch(0).unwrap();
    tee.on_ack(&ack(3, 3));
    assert_eq!(tee.last_seq(), None, "an empty ack names no record");
    assert!(tee.is_drained());
}

#[test]
fn trigger_pseudo_chunks_are_never_written() {
    let mut tee = Tee::new(0);
    let tc: UiChunk = serde_json::from_value(json!({ "type": "trigger:turn-complete" })).unwrap();
    let state: UiChunk = serde_json::from_value(json!({ "type": "trigger:session-state", "lastEventId": "3" })).unwrap();
    tee.push(&tc, id(0), 0).unwrap();
    tee.push(&state, id(1), 0).unwrap();
    assert!(tee.is_drained());
    assert_eq!(tee.poll_batch(0), None);
    assert!(tee.record_ids().is_empty());
}

#[test]
fn order_holds_across_many_batches() {
    let mut tee = Tee::new(20);
    let mut seq = 0;
    let mut sent = Vec::new();
    let mut now = 0;
    for n in 0..2500 {
        // Bursts, pauses and one big chunk in between.
        now += if n % 100 == 0 { 37 } else { 0 };
        let chunk = if n == 1234 { chunk_with_body(700_000) } else { delta(&format!("{n}")) };
        tee.push(&chunk, id(n), now).unwrap();
        if n % 7 == 0 {
            sent.extend(drain(&mut tee, now, &mut seq));
        }
    }
    tee.flush();
    sent.extend(drain(&mut tee, now, &mut seq));
    assert!(tee.is_drained());
    assert!(sent.len() > 3);
    let ids: Vec<String> = sent
        .iter()
        .flat_map(|b| &b.records)
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, (0..2500).map(id).collect::<Vec<_>>());
    assert_eq!(tee.last_seq(), Some(2499));
    assert_eq!(tee.acked_records(), 2500);
}
