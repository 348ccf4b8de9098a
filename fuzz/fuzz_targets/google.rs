//! The Gemini stream decoder on arbitrary bytes: no panic, and the parts (with
//! the end of the body and any decoding failure) do not depend on where the
//! body is cut.
#![no_main]

use headstart::provider::google::GoogleDecoder;
use headstart_fuzz::check_provider_decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| check_provider_decoder(data, || GoogleDecoder::new(false)));
