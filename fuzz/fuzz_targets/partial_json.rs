//! The partial JSON of streamed tool input (`parsePartialJson`), on arbitrary
//! text and on prefixes of it: no panic, and a complete JSON document
//! parses as itself (numbers as JavaScript holds them aside).
#![no_main]

use headstart::agent::transcript::{fix_json, parse_partial_json};
use headstart_fuzz::Rng;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = fix_json(&text);
    let whole = parse_partial_json(&text);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        // Only forbidden keys (`__proto__`, ...) refuse a valid document.
        let forbidden = text.contains("__proto__") || text.contains("constructor");
        assert!(whole.is_some() || forbidden, "{text:?} is JSON ({value}) but did not parse");
    }
    // The model streams the arguments and every prefix is shown on the way:
    // 16 of them per input (all of them would make each run quadratic).
    let mut rng = Rng::from_bytes(data);
    for _ in 0..16 {
        let mut cut = rng.below(text.len() as u64 + 1) as usize;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let _ = parse_partial_json(&text[..cut]);
    }
});
