//! The head-start body (and the start/token route bodies) from arbitrary
//! bytes: a 4xx `RequestError` or a request, never a panic; the UI → model
//! conversion of an accepted body gives model messages that serialize and
//! parse back unchanged.
#![no_main]

use headstart::protocol::ModelMessage;
use headstart::routes::request::{client_data, parse_chat_body, parse_head_start};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_head_start(data, 1 << 20) {
        Ok(parsed) => {
            let json = serde_json::to_string(&parsed.model_messages).expect("model messages serialize");
            let again: Vec<ModelMessage> =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json} does not parse back: {e}"));
            assert_eq!(again, parsed.model_messages, "{json}");
        }
        Err(e) => {
            assert!((400..500).contains(&e.status), "{e:?}");
            let _ = e.to_json();
        }
    }
    if let Ok((_, body)) = parse_chat_body(data) {
        let _ = client_data(&body);
    }
});
