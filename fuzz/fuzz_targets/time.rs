//! ISO-8601 timestamps on arbitrary text: no panic; a parsed time formats
//! and parses back to the same instant; any instant up to year 9999 formats
//! to text that parses back to it.
#![no_main]

use headstart::selfhost::time::{format_iso, parse_iso};
use libfuzzer_sys::fuzz_target;

/// 10000-01-01T00:00:00Z: `format_iso` writes four-digit years below it.
const YEAR_10000_MS: u64 = 253_402_300_800_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(ms) = parse_iso(text) {
            if ms < YEAR_10000_MS {
                assert_eq!(parse_iso(&format_iso(ms)), Some(ms), "{text:?} -> {}", format_iso(ms));
            }
        }
    }
    if let Some(bytes) = data.get(..8) {
        let ms = u64::from_le_bytes(bytes.try_into().unwrap());
        let _ = format_iso(ms);
        let ms = ms % YEAR_10000_MS;
        assert_eq!(parse_iso(&format_iso(ms)), Some(ms), "{}", format_iso(ms));
    }
});
