//! The openai stream decoder on arbitrary bytes: no panic, and the parts (with
//! the end of the body and any decoding failure) do not depend on where the
//! body is cut.
#![no_main]

use headstart::provider::openai::OpenAiDecoder;
use headstart::provider::{ProviderError, StreamDecoder, StreamPart};
use headstart_fuzz::deliveries;
use libfuzzer_sys::fuzz_target;

fn decode(pieces: &[&[u8]]) -> (Vec<StreamPart>, Option<ProviderError>) {
    let mut dec = OpenAiDecoder::new();
    let mut parts = Vec::new();
    for piece in pieces {
        parts.extend(dec.feed(piece));
    }
    parts.extend(dec.end());
    (parts, dec.failure())
}

fuzz_target!(|data: &[u8]| {
    let deliveries = deliveries(data);
    let (whole, rest) = deliveries.split_first().expect("the whole input comes first");
    let want = decode(whole);
    for pieces in rest {
        assert_eq!(decode(pieces), want, "cut into {pieces:?}");
    }
});
