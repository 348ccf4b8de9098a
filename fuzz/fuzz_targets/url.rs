//! URL normalization (WHATWG parsing of file URLs) on arbitrary text: no
//! panic, and a normalized URL normalizes to itself.
#![no_main]

use headstart::protocol::url::normalize_url;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(url) = normalize_url(text) {
        assert_eq!(normalize_url(&url).as_deref(), Some(url.as_str()), "from {text:?}");
    }
});
