//! Properties of the SSE encoder and the push decoder (src/protocol/sse.rs):
//! whatever the events and however the byte stream is cut (1-byte pieces,
//! empty pieces, cuts inside UTF-8 sequences and between CR and LF), the
//! decoder gives back exactly what was encoded, and for arbitrary bytes the
//! decoded events never depend on where the input was cut.

use headstart::protocol::sse::{encode_event, SseDecoder, SseError, SseEvent, SseLimits};
use proptest::prelude::*;
use proptest::sample::Index;

#[derive(Debug, Clone)]
struct Event {
    event: Option<String>,
    id: Option<String>,
    data: String,
}

/// Pieces biased towards what is hard for an SSE decoder.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => any::<char>().prop_map(String::from),
        2 => "[a-z]{1,4}",
        1 => Just("\n".to_string()),
        1 => Just("\r".to_string()),
        1 => Just("\r\n".to_string()),
        1 => Just(":".to_string()),
        1 => Just(" ".to_string()),
        1 => Just("  ".to_string()),
        1 => Just("data: ".to_string()),
        1 => Just("id:".to_string()),
        1 => Just("\u{feff}".to_string()),
        1 => Just("é😀€".to_string()),
        1 => Just("\0".to_string()),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

/// Event names and ids cannot hold a line break (no SSE encoding exists for
/// one), and the decoder ignores an id holding NUL, as the spec says.
fn field(forbidden: &'static [char]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(tricky_text().prop_map(move |s| s.chars().filter(|c| !forbidden.contains(c)).collect()))
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    let event =
        (field(&['\r', '\n']), field(&['\r', '\n', '\0']), tricky_text()).prop_map(|(event, id, data)| Event { event, id, data });
    prop::collection::vec(event, 0..6)
}

fn encode(events: &[Event]) -> Vec<u8> {
    events.iter().map(|e| encode_event(e.event.as_deref(), e.id.as_deref(), &e.data)).collect::<String>().into_bytes()
}

/// What a spec-conforming reader dispatches for `events`.
fn expected(events: &[Event]) -> Vec<SseEvent> {
    let mut last_id = None;
    events
        .iter()
        .map(|e| {
            if let Some(id) = &e.id {
                last_id = Some(id.clone());
            }
            SseEvent {
                // An empty `event:` is the default type.
                event: e.event.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "message".into()),
                // Any line end inside the data comes back as LF.
                data: e.data.replace("\r\n", "\n").replace('\r', "\n"),
                id: last_id.clone(),
            }
        })
        .collect()
}

/// Cuts `bytes` at the given points (duplicates make empty pieces).
fn pieces<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut start = 0;
    for p in points {
        out.push(&bytes[start..p]);
        start = p;
    }
    out.push(&bytes[start..]);
    out
}

type Decoded = (Vec<SseEvent>, Option<String>, bool, Option<SseError>);

/// Decodes the pieces in order; also reports the decoder's final state.
fn decode(pieces: &[&[u8]]) -> Decoded {
    decode_with(SseLimits::default(), pieces)
}

fn decode_with(limits: SseLimits, pieces: &[&[u8]]) -> Decoded {
    let mut decoder = SseDecoder::with_limits(limits);
    let mut events = Vec::new();
    let mut error = None;
    for piece in pieces {
        if let Err(e) = decoder.feed_into(piece, &mut events) {
            // A failed decoder stays failed with the same error.
            assert!(error.is_none_or(|first| first == e));
            error = Some(e);
        }
    }
    assert_eq!(decoder.error(), error);
    (events, decoder.last_id().map(str::to_string), decoder.has_partial_event(), error)
}

fn cut_lists() -> impl Strategy<Value = Vec<Vec<Index>>> {
    prop::collection::vec(prop::collection::vec(any::<Index>(), 0..24), 3)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn encoded_events_decode_exactly(events in events(), cuts in cut_lists()) {
        let bytes = encode(&events);
        let want = expected(&events);
        let (whole, _, partial, error) = decode(&[&bytes]);
        prop_assert_eq!(error, None);
        prop_assert_eq!(&whole, &want);
        prop_assert!(!partial, "a complete stream leaves nothing buffered");
        let one_byte: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(&decode(&one_byte).0, &want);
        for cut in &cuts {
            prop_assert_eq!(&decode(&pieces(&bytes, cut)).0, &want, "cut at {:?}", cut);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_does_not_depend_on_cuts(
        bytes in prop::collection::vec(
            prop_oneof![
                3 => tricky_text().prop_map(String::into_bytes),
                1 => prop::collection::vec(any::<u8>(), 0..8),
                1 => prop::sample::select(vec![&b"data:"[..], b"event:", b"id:", b"retry: 5", b"\xff", b"\xc3", b"\xf0\x9f"])
                    .prop_map(<[u8]>::to_vec),
            ],
            0..24,
        ).prop_map(|v| v.concat()),
        cuts in cut_lists(),
        max_line in 0usize..16,
        max_event_data in 0usize..24,
    ) {
        // Small limits, so that breaking them is common: the error and the
        // events before it must not depend on the cuts either.
        for limits in [SseLimits::default(), SseLimits { max_line, max_event_data }] {
            let whole = decode_with(limits, &[&bytes]);
            let one_byte: Vec<&[u8]> = bytes.chunks(1).collect();
            prop_assert_eq!(&decode_with(limits, &one_byte), &whole);
            for cut in &cuts {
                prop_assert_eq!(&decode_with(limits, &pieces(&bytes, cut)), &whole, "cut at {:?}", cut);
            }
        }
    }
}

#[test]
fn an_empty_piece_between_cr_and_lf_changes_nothing() {
    let bytes = b"data: a\r\ndata: b\n\n";
    let want = decode(&[bytes]);
    assert_eq!(want.0.len(), 1);
    assert_eq!(want.0[0].data, "a\nb");
    assert_eq!(decode(&[b"data: a\r", b"", b"\ndata: b\n\n"]), want);
}

#[test]
fn leading_spaces_and_line_ends_in_data_survive() {
    let data = "  two spaces\n\tx\r\n: not a comment\r";
    let bytes = encode_event(Some(" ev"), Some(" 7"), data);
    let (events, last_id, _, _) = decode(&[bytes.as_bytes()]);
    assert_eq!(
        events,
        [SseEvent { event: " ev".into(), data: "  two spaces\n\tx\n: not a comment\n".into(), id: Some(" 7".into()) }]
    );
    assert_eq!(last_id.as_deref(), Some(" 7"));
}
