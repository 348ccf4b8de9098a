use serde_json::json;

use crate::platform::splice::*;
use crate::protocol::record::{trim_command_headers, Header, ReadBatch, ReadEvent, SequencedRecord, TurnComplete};
use crate::protocol::sse::{SseDecoder, SseEvent};

fn data(seq: u64, id: &str, chunk: &str) -> SequencedRecord {
    SequencedRecord { seq_num: seq, timestamp: 1, headers: vec![], body: format!(r#"{{"data":{chunk},"id":"{id}"}}"#) }
}

fn control(seq: u64, headers: Vec<Header>) -> SequencedRecord {
    SequencedRecord { seq_num: seq, timestamp: 1, headers, body: String::new() }
}

fn h(name: &str, value: &str) -> Header {
    (name.to_string(), value.to_string())
}

/// A batch as the platform sends it, through the real SSE decoder.
fn batch(records: Vec<SequencedRecord>) -> SseEvent {
    let text = ReadEvent::Batch(ReadBatch { records, tail: None }).to_sse((0, 0));
    let mut events = SseDecoder::new().feed(text.as_bytes());
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn event(name: &str, data: &str) -> SseEvent {
    SseEvent { event: name.into(), data: data.into(), id: None }
}

fn forwards(events: &[SpliceEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            SpliceEvent::Forward(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn data_is_forwarded_byte_for_byte() {
    let mut s = Splice::new();
    // Odd spacing, key order and escapes survive: nothing is re-serialized.
    let odd = r#"{ "delta":"\u00e9 \"q\"",  "type":"text-delta","id":"0" }"#;
    let events = s.feed(&batch(vec![data(0, "a000001", r#"{"type":"start","messageId":"m1"}"#), data(1, "a000002", odd)]));
    assert_eq!(forwards(&events), [r#"{"type":"start","messageId":"m1"}"#, odd]);
    assert_eq!(events.len(), 2);
    assert_eq!((s.last_event_id(), s.cursor()), (Some(1), Some(1)));
}

#[test]
fn duplicates_are_dropped_and_only_move_the_cursor() {
    let mut s = Splice::new();
    let chunk = r#"{"type":"text-delta","id":"0","delta":"x"}"#;
    let events = s.feed(&batch(vec![data(3, "dup0001", chunk), data(4, "dup0001", chunk)]));
    assert_eq!(forwards(&events), [chunk]);
    assert_eq!((s.last_event_id(), s.cursor()), (Some(3), Some(4)));
    // Across batches (and reconnects) too.
    assert!(s.feed(&batch(vec![data(5, "dup0001", chunk)])).is_empty());
    assert_eq!((s.last_event_id(), s.cursor()), (Some(3), Some(5)));
}

#[test]
fn commands_are_skipped_but_advance_the_cursor() {
    let mut s = Splice::new();
    let mut trim = control(7, trim_command_headers());
    trim.body = "\0\0\0\0\0\0\0\x05".into();
    let events = s.feed(&batch(vec![data(6, "c000001", r#"{"type":"start-step"}"#), trim]));
    assert_eq!(forwards(&events), [r#"{"type":"start-step"}"#]);
    assert_eq!((s.last_event_id(), s.cursor()), (Some(6), Some(7)));
    // A command-only batch still moves the reconnect cursor.
    let fence = control(8, vec![h("", "fence")]);
    assert!(s.feed(&batch(vec![fence])).is_empty());
    assert_eq!((s.last_event_id(), s.cursor()), (Some(6), Some(8)));
}

#[test]
fn turn_complete_ends_the_splice() {
    let mut s = Splice::starting_after(Some(9));
    let tc = TurnComplete {
        public_access_token: Some("eyJ".into()),
        session_in_event_id: Some(0),
        session_in_consumed_id: Some(0),
        ..Default::default()
    };
    let events = s.feed(&batch(vec![
        data(10, "t000001", r#"{"type":"tool-output-available","toolCallId":"toolu_01A","output":"ok"}"#),
        control(11, tc.headers()),
        data(12, "t000002", r#"{"type":"start"}"#),
    ]));
    assert_eq!(
        events,
        [
            SpliceEvent::Forward(r#"{"type":"tool-output-available","toolCallId":"toolu_01A","output":"ok"}"#.into()),
            SpliceEvent::TurnComplete { seq: 11, headers: tc },
        ]
    );
    assert!(s.is_turn_complete());
    assert_eq!((s.last_event_id(), s.cursor()), (Some(11), Some(11)), "nothing after the turn-complete is read");
    assert!(s.feed(&batch(vec![data(13, "t000003", "{}")])).is_empty());
    assert!(s.feed(&event("error", "boom")).is_empty());
    assert_eq!(
        serde_json::to_value(s.session_state().unwrap()).unwrap(),
        json!({ "type": "trigger:session-state", "lastEventId": "11" })
    );
}

#[test]
fn other_control_records_are_seen_but_not_forwarded() {
    let mut s = Splice::new();
    let events = s.feed(&batch(vec![
        control(0, vec![h("trigger-control", "upgrade-required")]),
        control(1, vec![h("trigger-control", "pending-version")]),
        control(2, vec![h("trigger-control", "something-new")]),
    ]));
    assert!(events.is_empty());
    assert_eq!((s.last_event_id(), s.cursor()), (Some(2), Some(2)));
    assert!(!s.is_turn_complete());
    // Classification order: a leading empty-name header makes a command even
    // with a trigger-control header after it.
    assert!(s.feed(&batch(vec![control(3, vec![h("", "trim"), h("trigger-control", "turn-complete")])])).is_empty());
    assert!(!s.is_turn_complete());
    assert_eq!(s.last_event_id(), Some(2));
}

#[test]
fn unparsable_bodies_are_dropped() {
    let mut s = Splice::new();
    let not_json = SequencedRecord { seq_num: 0, timestamp: 1, headers: vec![], body: "not json".into() };
    let no_data = SequencedRecord { seq_num: 1, timestamp: 1, headers: vec![], body: r#"{"id":"n000001"}"#.into() };
    let no_id = SequencedRecord { seq_num: 2, timestamp: 1, headers: vec![], body: r#"{"data":{}}"#.into() };
    let null = data(3, "n000002", "null");
    let fine = data(4, "n000003", r#"{"type":"finish"}"#);
    let events = s.feed(&batch(vec![not_json, no_data, no_id, null, fine]));
    assert_eq!(forwards(&events), [r#"{"type":"finish"}"#]);
    assert_eq!(events.len(), 1);
    assert_eq!((s.last_event_id(), s.cursor()), (Some(4), Some(4)));
}

#[test]
fn malformed_batches_and_error_events_ask_for_a_reconnect() {
    let mut s = Splice::starting_after(Some(2));
    for bad in ["{", r#"{"records":"x"}"#, r#"{"records":[{"seq_num":"3"}]}"#, ""] {
        let events = s.feed(&event("batch", bad));
        assert!(
            matches!(events.as_slice(), [SpliceEvent::Error(m)] if m.contains("malformed `batch` event")),
            "{bad}: {events:?}"
        );
    }
    assert_eq!(
        s.feed(&event("error", r#"{"message":"read failed"}"#)),
        [SpliceEvent::Error(r#"{"message":"read failed"}"#.into())]
    );
    assert_eq!(s.cursor(), Some(2), "a failed batch moves nothing");
    assert_eq!(s.last_event_id(), None);
    // And the next connection carries on.
    let events = s.feed(&batch(vec![data(3, "m000001", r#"{"type":"start"}"#)]));
    assert_eq!(forwards(&events), [r#"{"type":"start"}"#]);
}

#[test]
fn done_pings_and_strangers() {
    let mut s = Splice::new();
    let mut dec = SseDecoder::new();
    let evs =
        dec.feed(b"event: ping\ndata: {\"timestamp\":1755856808000}\n\ndata: [DONE]\n\nevent: hello\ndata: x\n\ndata: hi\n\n");
    assert_eq!(evs.len(), 4);
    let out: Vec<_> = evs.iter().flat_map(|e| s.feed(e)).collect();
    assert_eq!(out, [SpliceEvent::Done]);
    assert_eq!(s.session_state(), None, "nothing seen, no session state");
    // Heartbeats are never read, not even garbled ones.
    assert!(s.feed(&event("ping", "?")).is_empty());
}

#[test]
fn records_at_or_before_the_cursor_are_skipped() {
    let mut s = Splice::starting_after(Some(9));
    let events = s.feed(&batch((5..=12).map(|n| data(n, &format!("r{n:06}"), &format!(r#"{{"n":{n}}}"#))).collect()));
    assert_eq!(forwards(&events), [r#"{"n":10}"#, r#"{"n":11}"#, r#"{"n":12}"#]);
    assert!(s.feed(&batch(vec![data(12, "other01", "{}")])).is_empty(), "a replayed seq");
    assert_eq!(s.cursor(), Some(12));
}

#[test]
fn seeded_ids_are_not_shown_twice() {
    // The tee failed before any ack: the splice starts at seq 0 and sees the
    // handler's own step-1 records first.
    let mut s = Splice::new().with_seen_ids(["own0001", "own0002"]);
    let events = s.feed(&batch(vec![
        data(0, "own0001", r#"{"type":"start"}"#),
        data(1, "own0002", r#"{"type":"finish"}"#),
        data(2, "agt0001", r#"{"type":"start"}"#),
    ]));
    assert_eq!(forwards(&events), [r#"{"type":"start"}"#]);
    assert_eq!((s.last_event_id(), s.cursor()), (Some(2), Some(2)));
}

#[test]
fn dedupe_remembers_the_last_five_thousand_ids() {
    let mut s = Splice::new();
    let records: Vec<_> = (0..=DEDUPE_IDS_MAX as u64).map(|n| data(n, &format!("i{n:06}"), "{}")).collect();
    assert_eq!(s.feed(&batch(records)).len(), DEDUPE_IDS_MAX + 1);
    let next = DEDUPE_IDS_MAX as u64 + 1;
    // The oldest id was forgotten; a recent one is still known.
    let events = s.feed(&batch(vec![data(next, "i000000", r#"{"again":true}"#), data(next + 1, "i004000", "{}")]));
    assert_eq!(forwards(&events), [r#"{"again":true}"#]);
}

#[test]
fn bytes_split_anywhere_give_the_same_events() {
    let records = vec![
        data(0, "s000001", r#"{"type":"text-delta","id":"0","delta":"héllo"}"#),
        control(1, TurnComplete::default().headers()),
    ];
    let text = ReadEvent::Batch(ReadBatch { records, tail: None }).to_sse((2, 99)) + "data: [DONE]\n\n";
    let whole = {
        let mut s = Splice::new();
        SseDecoder::new().feed(text.as_bytes()).iter().flat_map(|e| s.feed(e)).collect::<Vec<_>>()
    };
    assert_eq!(whole.len(), 2, "turn-complete stops before [DONE]");
    for split in 1..text.len() {
        let mut s = Splice::new();
        let mut dec = SseDecoder::new();
        let (a, b) = text.as_bytes().split_at(split);
        let out: Vec<_> = dec.feed(a).iter().chain(dec.feed(b).iter()).flat_map(|e| s.feed(e)).collect();
        assert_eq!(out, whole, "split at {split}");
    }
}

#[test]
fn the_route_handlers_own_turn_complete_is_not_the_agents() {
    // A write of the edge's turn-complete that failed unconfirmed may have
    // landed: the splice reads on to the agent's.
    let mut s = Splice::starting_after(Some(9));
    let mut edge = TurnComplete::default().headers();
    edge.push(h(EDGE_HEADER, "1"));
    let agent = TurnComplete { session_in_event_id: Some(0), ..TurnComplete::default() }.headers();
    let events = s.feed(&batch(vec![control(10, edge), control(11, agent)]));
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0], SpliceEvent::TurnComplete { seq: 11, .. }), "{events:?}");
    assert_eq!(s.session_state().map(|c| c.to_json()), Some(r#"{"type":"trigger:session-state","lastEventId":"11"}"#.into()));
}
