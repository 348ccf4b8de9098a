//! The SSE push decoder on arbitrary bytes: the events, the last id and the
//! error do not depend on where the bytes are cut, with the default limits
//! and with tiny ones; every decoded event encodes back to itself.
#![no_main]

use headstart::protocol::sse::{encode_event, SseDecoder, SseError, SseEvent, SseLimits};
use headstart_fuzz::{deliveries, Rng};
use libfuzzer_sys::fuzz_target;

type Decoded = (Vec<SseEvent>, Option<String>, bool, Option<SseError>);

fn decode(limits: SseLimits, pieces: &[&[u8]]) -> Decoded {
    let mut dec = SseDecoder::with_limits(limits);
    let mut events = Vec::new();
    let mut error = None;
    for piece in pieces {
        if let Err(e) = dec.feed_into(piece, &mut events) {
            assert!(error.is_none() || error == Some(e), "a failed decoder keeps its error");
            error = Some(e);
        }
    }
    assert_eq!(dec.error(), error);
    (events, dec.last_id().map(str::to_string), dec.has_partial_event(), error)
}

fuzz_target!(|data: &[u8]| {
    let mut rng = Rng::from_bytes(data);
    let tiny = SseLimits { max_line: rng.below(64) as usize, max_event_data: rng.below(128) as usize };
    for limits in [SseLimits::default(), tiny] {
        let deliveries = deliveries(data);
        let (whole, rest) = deliveries.split_first().expect("the whole input comes first");
        let want = decode(limits, whole);
        for pieces in rest {
            assert_eq!(decode(limits, pieces), want, "cut into {pieces:?}");
        }
        for event in &want.0 {
            let name = (event.event != "message").then_some(event.event.as_str());
            let bytes = encode_event(name, event.id.as_deref(), &event.data);
            let again = SseDecoder::new().feed(bytes.as_bytes());
            assert_eq!(again.as_slice(), std::slice::from_ref(event), "re-encoded as {bytes:?}");
        }
    }
});
