//! The scripted model's rules on arbitrary user text: no panic; without a
//! `[fault:...]` directive it always answers with text and a finish; every
//! tool call it makes carries a JSON object.
#![no_main]

use headstart::provider::scripted::{plan, Plan, ScriptedConfig};
use headstart::provider::{CallOptions, StreamPart, ToolSpec};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let tools = ["get_weather", "calculator", "fetch_url"]
        .iter()
        .map(|n| ToolSpec { name: n.to_string(), description: None, input_schema: json!({"type": "object"}) })
        .collect();
    let messages = json!([{ "role": "user", "content": [{ "type": "text", "text": text }] }]);
    let options = CallOptions { messages: serde_json::from_value(messages).unwrap(), tools, ..CallOptions::default() };
    let config = ScriptedConfig::default();
    match plan(&config, &options) {
        Plan::Stream { parts, stalls } => {
            if text.contains("[fault:") {
                return;
            }
            assert!(!stalls);
            assert!(matches!(parts.last().map(|p| &p.part), Some(StreamPart::Finish { .. })), "{parts:?}");
            assert!(parts.iter().any(|p| matches!(&p.part, StreamPart::TextDelta { delta, .. } if !delta.is_empty())));
            assert!(parts.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "time runs forward");
            for p in &parts {
                if let StreamPart::ToolCall { input, .. } = &p.part {
                    let v: Value = serde_json::from_str(input).expect("tool input is JSON");
                    assert!(v.is_object(), "{input}");
                }
            }
        }
        Plan::Fail { .. } => assert!(text.contains("[fault:"), "only a directive fails a call"),
    }
});
