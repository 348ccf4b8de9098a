//! UI message chunks (and `.in` chat inputs) from arbitrary JSON: no panic,
//! and what parses serializes to JSON that parses back to the same value and
//! serializes to the same bytes (the crate forwards chunks losslessly). The
//! input's lines, read as chunks, are also assembled into a message (the
//! agent's transcript, partial tool-input JSON included) without panicking.
#![no_main]

use headstart::agent::transcript::MessageBuilder;
use headstart::protocol::record::RawOutEnvelope;
use headstart::protocol::{ChatInput, UiChunk};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(chunk) = serde_json::from_slice::<UiChunk>(data) {
        let json = chunk.to_json();
        let again: UiChunk = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json} does not parse back: {e}"));
        assert_eq!(again, chunk, "{json}");
        assert_eq!(again.to_json(), json);
        let _ = (chunk.type_name(), chunk.is_trigger_control());
        // A `.out` envelope forwards the chunk byte for byte.
        let envelope = format!(r#"{{"data":{json},"id":"r1"}}"#);
        let raw: RawOutEnvelope = serde_json::from_str(&envelope).expect("an envelope of a chunk parses");
        assert_eq!(raw.data.get(), json);
    }
    let mut transcript = MessageBuilder::new(None);
    for line in data.split(|&b| b == b'\n') {
        if let Ok(chunk) = serde_json::from_slice::<UiChunk>(line) {
            let _ = transcript.push(&chunk);
        }
    }
    let message = serde_json::to_string(&transcript.message()).expect("a message serializes");
    assert!(serde_json::from_str::<serde_json::Value>(&message).is_ok());
    if let Ok(input) = serde_json::from_slice::<ChatInput>(data) {
        let json = input.to_json();
        let again: ChatInput = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json} does not parse back: {e}"));
        assert_eq!(again, input, "{json}");
        assert_eq!(again.to_json(), json);
    }
});
