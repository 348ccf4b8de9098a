//! S2 reads and records from arbitrary bytes: the bytes as an SSE read
//! (`batch`, `ping`, `error`, `[DONE]`) and as the JSON bodies of the
//! session routes. No panic; a read event encodes back to itself; headers
//! and trim commands are read without panicking; the splice reader's cursor
//! only moves forward.
#![no_main]

use headstart::protocol::record::{
    parse_trim_command_body, trim_command_body, AppendAck, AppendResponse, InEnvelope, ReadEvent, SequencedRecord,
    SessionRecords, TurnComplete,
};
use headstart::platform::splice::{Splice, SpliceEvent};
use headstart::protocol::sse::SseDecoder;
use libfuzzer_sys::fuzz_target;

fn check_record(r: &SequencedRecord) {
    let _ = (r.kind(), r.metered_size());
    let tc = TurnComplete::from_headers(&r.headers);
    // One pass normalizes (a reason without `session-closed` is dropped);
    // after it, headers and parsing are inverse.
    let once = TurnComplete::from_headers(&tc.headers());
    assert_eq!(TurnComplete::from_headers(&once.headers()), once);
    if let Some(seq) = parse_trim_command_body(r.body.as_bytes()) {
        assert_eq!(trim_command_body(seq), r.body.as_bytes());
    }
}

fuzz_target!(|data: &[u8]| {
    // The route handler's phase-2 reader on the same events: its cursor only
    // moves forward, and nothing follows a turn-complete.
    let mut splice = Splice::new();
    let mut complete = false;
    for event in SseDecoder::new().feed(data) {
        let before = splice.cursor();
        for e in splice.feed(&event) {
            assert!(!complete, "an event after turn-complete: {e:?}");
            complete = matches!(e, SpliceEvent::TurnComplete { .. });
        }
        assert!(splice.cursor() >= before, "{before:?} -> {:?}", splice.cursor());
    }
    for event in SseDecoder::new().feed(data) {
        let Ok(read) = ReadEvent::from_sse(&event) else { continue };
        if let ReadEvent::Batch(b) = &read {
            b.records.iter().for_each(check_record);
        }
        let sse = read.to_sse((3, 1024));
        let events = SseDecoder::new().feed(sse.as_bytes());
        assert_eq!(events.len(), 1, "{sse:?}");
        assert_eq!(ReadEvent::from_sse(&events[0]).expect("our own encoding parses"), read, "{sse:?}");
    }
    if let Ok(records) = serde_json::from_slice::<SessionRecords>(data) {
        let json = serde_json::to_string(&records).unwrap();
        assert_eq!(serde_json::from_str::<SessionRecords>(&json).unwrap(), records, "{json}");
    }
    if let Ok(r) = serde_json::from_slice::<SequencedRecord>(data) {
        check_record(&r);
    }
    let _ = serde_json::from_slice::<InEnvelope>(data);
    let _ = serde_json::from_slice::<AppendResponse>(data);
    if let Ok(ack) = serde_json::from_slice::<AppendAck>(data) {
        let _ = ack.last_seq();
    }
});
