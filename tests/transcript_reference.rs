//! `agent::transcript::MessageBuilder` against the real AI SDK's
//! `readUIMessageStream` (`node_modules/ai`, via tests/js/transcript.mjs),
//! fixture by fixture (tests/fixtures/transcripts: an array of chunks, or
//! `{message, chunks}` to start from an existing message). Needs `npm ci`:
//! without the SDK these tests fail.
//!
//! The SDK yields a snapshot of the message only on chunks that change what
//! the user sees; after every such chunk our message must equal its
//! snapshot, and the errors reported (`error` chunks, refused chunks) must
//! be the same, in order.

mod common;

use headstart::agent::transcript::MessageBuilder;
use headstart::protocol::{UiChunk, UiMessage};
use serde_json::Value;

use common::{assert_json_eq, fixtures, json_files, read_json, run_node};

fn load(name: &str, json: Value) -> (Option<UiMessage>, Vec<UiChunk>) {
    let (message, chunks) = match json {
        Value::Array(_) => (None, json),
        Value::Object(mut o) => (o.remove("message"), o.remove("chunks").unwrap_or_else(|| panic!("{name}: no `chunks`"))),
        _ => panic!("{name}: a fixture is an array or an object"),
    };
    let message = message.map(|m| serde_json::from_value(m).unwrap_or_else(|e| panic!("{name}: not a UiMessage: {e}")));
    let chunks = serde_json::from_value(chunks).unwrap_or_else(|e| panic!("{name}: not UiChunks: {e}"));
    (message, chunks)
}

#[test]
fn messages_equal_the_sdks_after_every_chunk() {
    let files = json_files(&fixtures("transcripts"));
    assert!(files.len() >= 12, "expected at least 12 fixtures, found {}", files.len());
    let sdk = run_node("transcript.mjs", &[]);
    for (name, path) in files {
        let expected = sdk.get(&name).unwrap_or_else(|| panic!("{name}: not in the SDK's output"));
        let (message, chunks) = load(&name, read_json(&path));
        let prefixes = expected["prefixes"].as_array().expect("prefixes");
        assert_eq!(prefixes.len(), chunks.len(), "{name}: one SDK result per chunk");

        let mut builder = MessageBuilder::new(message);
        let mut errors = Vec::new();
        let mut writes = 0;
        let mut compared = 0;
        for (k, chunk) in chunks.iter().enumerate() {
            if builder.error().is_none() {
                if let UiChunk::Error(e) = chunk {
                    errors.push(e.error_text.clone());
                }
            }
            if let Err(e) = builder.push(chunk) {
                errors.push(e.to_string());
            }
            let sdk_writes = prefixes[k]["writes"].as_u64().expect("writes");
            if sdk_writes > writes {
                writes = sdk_writes;
                let ours = serde_json::to_value(builder.message()).unwrap();
                assert_json_eq(&format!("{name} after chunk {k} ({})", chunk.type_name()), &prefixes[k]["message"], &ours);
                compared += 1;
            }
        }
        assert!(compared > 0, "{name}: the SDK yielded no message");
        let ours = serde_json::to_value(builder.message()).unwrap();
        let last_type = chunks.last().map(|c| c.type_name().into_owned());
        if last_type.as_deref() != Some("start-step") {
            assert_json_eq(&format!("{name}: final message"), &expected["message"], &ours);
        }
        let sdk_errors: Vec<String> = serde_json::from_value(expected["errors"].clone()).unwrap();
        assert_eq!(errors, sdk_errors, "{name}: errors");
    }
}
