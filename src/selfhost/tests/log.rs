use serde_json::json;

use crate::protocol::record::{
    trim_command_headers, AppendInput, AppendRecord, SequencedRecord, StreamPosition, TurnComplete, BATCH_METERED_MAX,
    RECORD_METERED_MAX,
};
use crate::selfhost::command::CommandError;
use crate::selfhost::log::*;

fn data(body: &str) -> AppendRecord {
    AppendRecord::data(body.to_string())
}

fn trim(seq: u64) -> AppendRecord {
    AppendRecord { headers: trim_command_headers(), body: seq.to_string(), timestamp: None }
}

fn turn_complete() -> AppendRecord {
    AppendRecord::control(TurnComplete::default().headers())
}

fn batch(records: Vec<AppendRecord>) -> AppendInput {
    AppendInput { records, ..Default::default() }
}

fn seqs(store: &MemStore, from: u64) -> Vec<u64> {
    read(store, from, true, 1000, usize::MAX).unwrap().records.iter().map(|r| r.seq_num).collect()
}

/// A record whose metered size is exactly `n` bytes.
fn sized(n: usize) -> AppendRecord {
    data(&"x".repeat(n - 8))
}

#[test]
fn seqs_are_dense_and_acks_exclusive() {
    let mut s = MemStore::default();
    let ack = append(&mut s, &batch(vec![data("a"), data("b")]), 100).unwrap();
    assert_eq!(ack.start, StreamPosition { seq_num: 0, timestamp: 100 });
    assert_eq!(ack.end, StreamPosition { seq_num: 2, timestamp: 100 });
    assert_eq!(ack.tail, ack.end);
    assert_eq!(ack.last_seq(), Some(1));
    let ack = append(&mut s, &batch(vec![data("c")]), 101).unwrap();
    assert_eq!((ack.start.seq_num, ack.end.seq_num), (2, 3));
    assert_eq!(seqs(&s, 0), [0, 1, 2]);
    assert_eq!(s.records[&2].body, "c");
}

#[test]
fn timestamps_never_go_backwards_or_into_the_future() {
    let mut s = MemStore::default();
    let at = |ts| AppendRecord { timestamp: Some(ts), ..data("x") };
    append(&mut s, &batch(vec![at(50), at(40), data("now"), at(5_000)]), 1_000).unwrap();
    let ts: Vec<u64> = s.records.values().map(|r| r.timestamp).collect();
    assert_eq!(ts, [50, 50, 1_000, 1_000]);
    // A clock that steps back does not move timestamps back.
    let ack = append(&mut s, &batch(vec![data("y")]), 900).unwrap();
    assert_eq!(ack.start.timestamp, 1_000);
    assert_eq!(s.meta.last_timestamp, 1_000);
}

#[test]
fn trim_removes_earlier_records_and_seqs_are_never_reused() {
    let mut s = MemStore::default();
    append(&mut s, &batch((0..5).map(|i| data(&i.to_string())).collect()), 1).unwrap();
    // The trim command takes seq 5 and drops 0..3.
    let ack = append(&mut s, &batch(vec![trim(3)]), 2).unwrap();
    assert_eq!(ack.start.seq_num, 5);
    assert_eq!(seqs(&s, 0), [3, 4, 5]);
    assert_eq!(s.records[&5].headers, trim_command_headers());
    // Trimming everything (even past the tail) stops at just after the command.
    append(&mut s, &batch(vec![trim(1_000)]), 3).unwrap();
    assert_eq!(s.meta.trim_point, 7);
    assert!(s.records.is_empty());
    assert_eq!(read(&s, 0, true, 10, usize::MAX).unwrap().tail.unwrap().seq_num, 7);
    // Seqs continue after the trim point even with no records left.
    let ack = append(&mut s, &batch(vec![data("after")]), 4).unwrap();
    assert_eq!(ack.start.seq_num, 7);
    // A trim never moves the trim point back.
    append(&mut s, &batch(vec![trim(2)]), 5).unwrap();
    assert_eq!(s.meta.trim_point, 7);
    assert_eq!(seqs(&s, 0), [7, 8]);
}

#[test]
fn trim_inside_a_batch_keeps_later_records_and_accepts_raw_bytes() {
    let mut s = MemStore::default();
    let raw = String::from_utf8(2u64.to_be_bytes().to_vec()).unwrap();
    let cmd = AppendRecord { headers: trim_command_headers(), body: raw, timestamp: None };
    append(&mut s, &batch(vec![data("0"), data("1"), data("2"), cmd, data("4")]), 1).unwrap();
    assert_eq!(seqs(&s, 0), [2, 3, 4]);
    // A batch trimming itself to the end stores none of its records.
    let mut s = MemStore::default();
    append(&mut s, &batch(vec![data("0"), trim(u64::MAX)]), 1).unwrap();
    assert!(s.records.is_empty());
    assert_eq!((s.meta.next_seq, s.meta.trim_point), (2, 2));
}

#[test]
fn bad_commands_fail_the_whole_batch() {
    let mut s = MemStore::default();
    let bad = AppendRecord { headers: trim_command_headers(), body: "soon".into(), timestamp: None };
    let err = append(&mut s, &batch(vec![data("a"), bad]), 1).unwrap_err();
    assert_eq!(err, LogError::Command { index: 1, source: CommandError::TrimBody });
    assert_eq!(err.status(), 422);
    assert_eq!(s.meta.next_seq, 0);
    assert!(s.records.is_empty());
}

#[test]
fn limits_at_and_one_over_the_boundary() {
    let mut s = MemStore::default();
    assert_eq!(append(&mut s, &batch(vec![]), 1), Err(LogError::Empty));
    append(&mut s, &batch(vec![data(""); 1000]), 1).unwrap();
    assert_eq!(append(&mut s, &batch(vec![data(""); 1001]), 1), Err(LogError::TooManyRecords(1001)));

    append(&mut s, &batch(vec![sized(RECORD_METERED_MAX)]), 1).unwrap();
    let err = append(&mut s, &batch(vec![data("a"), sized(RECORD_METERED_MAX + 1)]), 1).unwrap_err();
    assert_eq!(err, LogError::RecordTooLarge { index: 1, metered: RECORD_METERED_MAX + 1 });
    assert_eq!(err.status(), 413);

    let half = BATCH_METERED_MAX / 2;
    append(&mut s, &batch(vec![sized(half), sized(half)]), 1).unwrap();
    let err = append(&mut s, &batch(vec![sized(half), sized(half + 1)]), 1).unwrap_err();
    assert_eq!(err, LogError::BatchTooLarge(BATCH_METERED_MAX + 1));
    assert_eq!(err.status(), 413);
    // Headers count: 8 + 2·1 + 15 + 13 bytes.
    let tc = turn_complete();
    assert_eq!(tc.metered_size(), 8 + 2 + "trigger-control".len() + "turn-complete".len());
}

#[test]
fn match_seq_num_and_fencing() {
    let mut s = MemStore::default();
    let mut input = batch(vec![data("a")]);
    input.match_seq_num = Some(0);
    append(&mut s, &input, 1).unwrap();
    let err = append(&mut s, &input, 1).unwrap_err();
    assert_eq!(err, LogError::SeqNumMismatch { expected: 0, actual: 1 });
    assert_eq!(err.status(), 412);
    input.match_seq_num = Some(1);
    append(&mut s, &input, 1).unwrap();

    let fence = AppendRecord { headers: vec![(String::new(), "fence".into())], body: "tok".into(), timestamp: None };
    append(&mut s, &batch(vec![fence]), 1).unwrap();
    let mut fenced = batch(vec![data("b")]);
    assert!(append(&mut s, &fenced, 1).is_ok(), "no token given: not checked");
    fenced.fencing_token = Some("other".into());
    assert!(matches!(append(&mut s, &fenced, 1), Err(LogError::FencingTokenMismatch { .. })));
    fenced.fencing_token = Some("tok".into());
    assert!(append(&mut s, &fenced, 1).is_ok());
}

#[test]
fn read_clamps_at_both_ends() {
    let mut s = MemStore::default();
    // Never written: reads wait at seq 0.
    let b = read(&s, 0, true, 10, usize::MAX).unwrap();
    assert!(b.records.is_empty());
    assert_eq!(b.tail, Some(StreamPosition::default()));
    assert_eq!(next_start(&b, 0), 0);

    append(&mut s, &batch((0..4).map(|i| data(&i.to_string())).collect()), 7).unwrap();
    append(&mut s, &batch(vec![trim(2)]), 8).unwrap();
    // Before the trim point: the first surviving record.
    assert_eq!(seqs(&s, 0), [2, 3, 4]);
    // At the tail: nothing yet.
    let b = read(&s, 5, true, 10, usize::MAX).unwrap();
    assert!(b.records.is_empty());
    assert_eq!(b.tail, Some(StreamPosition { seq_num: 5, timestamp: 8 }));
    assert_eq!(next_start(&b, 5), 5);
    // Beyond the tail: clamped to it, or an error without clamp.
    let b = read(&s, 99, true, 10, usize::MAX).unwrap();
    assert!(b.records.is_empty());
    assert_eq!(next_start(&b, 99), 5);
    let err = read(&s, 99, false, 10, usize::MAX).unwrap_err();
    assert_eq!(err.status(), 416);
    assert!(read(&s, 5, false, 10, usize::MAX).is_ok());
    // A read resumes after its last record.
    let b = read(&s, 3, true, 10, usize::MAX).unwrap();
    assert_eq!(next_start(&b, 3), 5);
}

#[test]
fn read_respects_count_and_byte_limits_across_pages() {
    let mut s = MemStore::default();
    append(&mut s, &batch((0..100).map(|_| sized(100)).collect()), 1).unwrap();
    assert_eq!(read(&s, 0, true, 70, usize::MAX).unwrap().records.len(), 70);
    assert_eq!(read(&s, 0, true, 1000, usize::MAX).unwrap().records.len(), 100);
    assert_eq!(read(&s, 0, true, 0, usize::MAX).unwrap().records.len(), 0);
    let b = read(&s, 10, true, 1000, 350).unwrap();
    assert_eq!(b.records.iter().map(|r| r.seq_num).collect::<Vec<_>>(), [10, 11, 12]);
    assert_eq!(next_start(&b, 10), 13);
    // The first record always fits, so a read makes progress.
    assert_eq!(read(&s, 0, true, 1000, 1).unwrap().records.len(), 1);
}

#[test]
fn settled_peek_skips_commands() {
    let mut s = MemStore::default();
    assert!(!peek_settled(&s).unwrap());
    append(&mut s, &batch(vec![data("a")]), 1).unwrap();
    assert!(!peek_settled(&s).unwrap());
    append(&mut s, &batch(vec![turn_complete()]), 1).unwrap();
    assert!(peek_settled(&s).unwrap());
    append(&mut s, &batch(vec![trim(1)]), 1).unwrap();
    assert!(peek_settled(&s).unwrap(), "turn-complete under a trim");
    append(&mut s, &batch(vec![trim(2)]), 1).unwrap();
    assert!(!peek_settled(&s).unwrap(), "only commands among the last two");
    append(&mut s, &batch(vec![data("b"), turn_complete(), trim(5)]), 1).unwrap();
    assert!(peek_settled(&s).unwrap());
    append(&mut s, &batch(vec![data("c")]), 1).unwrap();
    assert!(!peek_settled(&s).unwrap(), "a new turn started");
    let other = AppendRecord::control(vec![("trigger-control".into(), "upgrade-required".into())]);
    append(&mut s, &batch(vec![turn_complete(), other]), 1).unwrap();
    assert!(!peek_settled(&s).unwrap());
}

#[test]
fn records_view_drops_commands_and_unwraps_envelopes() {
    let recs = vec![
        SequencedRecord { seq_num: 0, body: r#"{"data":{"type":"start"},"id":"Qw3rTy1"}"#.into(), ..Default::default() },
        SequencedRecord { seq_num: 1, body: r#"{"data":"{\"kind\":\"stop\"}","id":"p1"}"#.into(), ..Default::default() },
        SequencedRecord { seq_num: 2, headers: TurnComplete::default().headers(), ..Default::default() },
        SequencedRecord { seq_num: 3, headers: trim_command_headers(), body: "2".into(), ..Default::default() },
        SequencedRecord { seq_num: 4, body: "not json".into(), ..Default::default() },
    ];
    let view = serde_json::to_value(session_records(&recs)).unwrap();
    assert_eq!(
        view,
        json!({ "records": [
            { "data": { "type": "start" }, "id": "Qw3rTy1", "seqNum": 0 },
            { "data": "{\"kind\":\"stop\"}", "id": "p1", "seqNum": 1 },
            { "data": "", "id": "", "seqNum": 2, "headers": [["trigger-control", "turn-complete"]] },
            { "data": "", "id": "", "seqNum": 4 }
        ]})
    );
    assert_eq!(records_start(None), Some(0));
    assert_eq!(records_start(Some("9")), Some(10));
    assert_eq!(records_start(Some("-1")), None);
    assert_eq!(records_start(Some("")), None);
    assert_eq!(records_start(Some("1e3")), None);
}

#[test]
fn stream_meta_survives_serde_for_sqlite_rows() {
    let mut s = MemStore::default();
    append(&mut s, &batch(vec![data("a"), trim(1)]), 42).unwrap();
    let json = serde_json::to_string(&s.meta).unwrap();
    assert_eq!(json, r#"{"next_seq":2,"trim_point":1,"last_timestamp":42,"fencing_token":""}"#);
    assert_eq!(serde_json::from_str::<StreamMeta>(&json).unwrap(), s.meta);
}
