//! The OpenAI Responses stream decoder on arbitrary bytes: no panic, and the
//! parts (with the end of the body and any decoding failure) do not depend on
//! where the body is cut. Summary parts end as with `store: true`, logprobs
//! are kept, and `get_weather` is offered (so a `parallel` wrapper may expand).
#![no_main]

use headstart::provider::openai::responses::ResponsesDecoder;
use headstart_fuzz::check_provider_decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| check_provider_decoder(data, || ResponsesDecoder::new(true, true).with_tools(vec!["get_weather".into()])));
