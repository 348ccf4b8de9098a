//! Lossless JSON round trips of the wire types (UI message chunks, UI
//! messages, model messages, `.in` chat inputs), with the fixtures checked
//! against the real AI SDK (tests/js/chunks.mjs; needs `npm ci`).
//!
//! Fixtures, in tests/fixtures/chunks:
//! * catalogue.jsonl: every chunk type of PROTOCOL.md §4.3, optional fields
//!   present and absent, written as the SDK writes them (its key order; keys
//!   of nested JSON values sorted, see `nested_objects_keep_their_key_order`):
//!   the SDK's schema must accept each line and `to_json` must give it back
//!   byte for byte;
//! * lossless.jsonl: extra unknown fields and nested objects: SDK-valid,
//!   equal as JSON after the round trip (extra keys may come back reordered);
//! * not-sdk.jsonl: Trigger pseudo-chunks, unknown types, chunks missing a
//!   required unknown-typed field: the SDK's schema rejects them, we still
//!   forward them unchanged;
//! * stream-parts.json: stream parts the SDK's `toUIMessageChunk` turns into
//!   chunks; ours must serialize each one to the exact same bytes.

mod common;

use std::sync::OnceLock;

use headstart::protocol::chunk::{Marker, SessionState};
use headstart::protocol::model::{Content, ToolOutput};
use headstart::protocol::{ChatInput, ModelMessage, ModelPart, UiChunk, UiMessage, UiPart};
use serde_json::Value;

use common::{assert_json_eq, fixtures, read_json, run_node};

/// Every chunk type of the catalogue (PROTOCOL.md §4.3), `data-*` as `data-`.
const CHUNK_TYPES: &[&str] = &[
    "start",
    "start-step",
    "finish-step",
    "finish",
    "abort",
    "error",
    "message-metadata",
    "text-start",
    "text-delta",
    "text-end",
    "reasoning-start",
    "reasoning-delta",
    "reasoning-end",
    "file",
    "reasoning-file",
    "source-url",
    "source-document",
    "tool-input-start",
    "tool-input-delta",
    "tool-input-available",
    "tool-input-error",
    "tool-approval-request",
    "tool-approval-response",
    "tool-output-available",
    "tool-output-error",
    "tool-output-denied",
    "custom",
    "steering-message",
    "reset-step",
    "data-",
];

fn sdk() -> &'static Value {
    static SDK: OnceLock<Value> = OnceLock::new();
    SDK.get_or_init(|| run_node("chunks.mjs", &[]))
}

/// The non-blank lines of tests/fixtures/chunks/<file>.
fn lines(file: &str) -> Vec<String> {
    let path = fixtures("chunks").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

fn parse_chunk(what: &str, json: &str) -> UiChunk {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{what}: does not parse as a UiChunk: {e}\n{json}"))
}

/// JSON -> UiChunk -> JSON gives the same JSON value, and the chunk is typed
/// whenever its type is one this crate knows.
fn assert_round_trip(what: &str, json: &str) -> UiChunk {
    let original: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    let chunk = parse_chunk(what, json);
    assert_eq!(chunk.type_name(), original["type"].as_str().unwrap(), "{what}: type name");
    let back = serde_json::to_value(&chunk).unwrap();
    assert_json_eq(&format!("{what}: chunk round trip"), &original, &back);
    assert_eq!(serde_json::from_str::<Value>(&chunk.to_json()).unwrap(), original, "{what}: to_json");
    chunk
}

fn sdk_verdicts(file: &str) -> Vec<Value> {
    let v = sdk()["chunks"][file].as_array().unwrap_or_else(|| panic!("no SDK verdicts for {file}"));
    assert_eq!(v.len(), lines(file).len(), "{file}: one SDK verdict per line");
    v.clone()
}

#[test]
fn chunk_fixtures_agree_with_the_sdk_schema() {
    for file in ["catalogue.jsonl", "lossless.jsonl"] {
        for (line, verdict) in lines(file).iter().zip(sdk_verdicts(file)) {
            assert!(verdict.is_null(), "{file}: the AI SDK rejects {line}: {verdict}");
        }
    }
    for (line, verdict) in lines("not-sdk.jsonl").iter().zip(sdk_verdicts("not-sdk.jsonl")) {
        assert!(!verdict.is_null(), "not-sdk.jsonl: the AI SDK accepts {line}; move it to lossless.jsonl");
    }
}

#[test]
fn catalogue_chunks_round_trip_byte_for_byte() {
    let mut seen = std::collections::BTreeSet::new();
    for (n, line) in lines("catalogue.jsonl").iter().enumerate() {
        let what = format!("catalogue.jsonl:{}", n + 1);
        let chunk = assert_round_trip(&what, line);
        assert!(!matches!(chunk, UiChunk::Unknown(_)), "{what}: a known type parsed as Unknown");
        assert_eq!(&chunk.to_json(), line, "{what}: to_json is not byte-identical");
        let ty = chunk.type_name();
        seen.insert(if ty.starts_with("data-") { "data-".to_string() } else { ty.into_owned() });
    }
    let missing: Vec<_> = CHUNK_TYPES.iter().filter(|t| !seen.contains(**t)).collect();
    assert!(missing.is_empty(), "catalogue.jsonl lacks chunk types {missing:?}");
}

#[test]
fn extra_fields_unknown_types_and_nulls_survive() {
    for file in ["lossless.jsonl", "not-sdk.jsonl"] {
        for (n, line) in lines(file).iter().enumerate() {
            assert_round_trip(&format!("{file}:{}", n + 1), line);
        }
    }
    let start = parse_chunk("extras", &lines("lossless.jsonl")[0]);
    let UiChunk::Start(start) = start else { panic!("a start chunk") };
    assert_eq!(start.message_id.as_deref(), Some("m"));
    assert_eq!(start.extra["futureField"]["nested"]["deep"][2]["a"], "b");
    assert_eq!(start.extra.get("anotherOne"), Some(&Value::Null));

    // `null` is kept where the SDK allows any JSON, and differs from absent.
    let nulls = [
        (r#"{"type":"tool-input-available","toolCallId":"c","toolName":"t","input":null}"#, true),
        (r#"{"type":"tool-input-available","toolCallId":"c","toolName":"t"}"#, false),
    ];
    for (json, has_input) in nulls {
        let UiChunk::ToolInputAvailable(c) = parse_chunk("null", json) else { panic!("tool-input-available") };
        assert_eq!(c.input.is_some(), has_input, "{json}");
        assert_eq!(UiChunk::ToolInputAvailable(c).to_json(), json);
    }
}

#[test]
fn trigger_pseudo_chunks() {
    let done = UiChunk::TriggerTurnComplete(Marker::new());
    assert_eq!(done.to_json(), r#"{"type":"trigger:turn-complete"}"#);
    assert!(done.is_trigger_control());
    let state = UiChunk::TriggerSessionState(SessionState { last_event_id: "20".into(), extra: Default::default() });
    assert_eq!(state.to_json(), r#"{"type":"trigger:session-state","lastEventId":"20"}"#);
    assert_eq!(parse_chunk("trigger", &state.to_json()), state);
    assert!(state.is_trigger_control());
    for line in lines("not-sdk.jsonl").iter().filter(|l| l.contains("\"trigger:")) {
        assert!(parse_chunk("trigger", line).is_trigger_control(), "{line}");
    }
    assert!(!parse_chunk("start", r#"{"type":"start"}"#).is_trigger_control());
}

#[test]
fn sdk_generated_chunks_serialize_byte_for_byte() {
    let generated = sdk()["generated"].as_array().expect("generated chunks");
    let parts = read_json(&fixtures("chunks").join("stream-parts.json"));
    assert_eq!(generated.len(), parts.as_array().unwrap().len());
    for (n, json) in generated.iter().enumerate() {
        let json = json.as_str().unwrap();
        let what = format!("stream-parts.json[{n}]");
        let chunk = assert_round_trip(&what, json);
        assert!(!matches!(chunk, UiChunk::Unknown(_)), "{what}: parsed as Unknown");
        assert_eq!(chunk.to_json(), json, "{what}: ours differs from the bytes the AI SDK writes");
    }
}

/// The SDK keeps the key order of nested objects (tool inputs, metadata) as
/// they were built, and so do we (serde_json's `preserve_order`): a tool
/// input shown in the UI reads as the model wrote it.
#[test]
fn nested_objects_keep_their_key_order() {
    for json in [
        r#"{"type":"start","messageMetadata":{"model":"fast","createdAt":1718000000000},"messageId":"m"}"#,
        r#"{"type":"tool-input-available","toolCallId":"c","toolName":"t","input":{"url":"https://e.com","depth":2}}"#,
        r#"{"type":"text-delta","id":"0","delta":"x","zExtra":1,"aExtra":2}"#,
    ] {
        assert_eq!(parse_chunk("order", json).to_json(), json);
    }
}

fn round_trip_file<T>(file: &str) -> Vec<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let original = read_json(&fixtures("roundtrip").join(file));
    let parsed: Vec<T> = serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_json_eq(&format!("{file}: round trip"), &original, &serde_json::to_value(&parsed).unwrap());
    parsed
}

#[test]
fn ui_messages_with_every_part_type_round_trip() {
    assert_eq!(sdk()["uiMessages"], Value::Null, "validateUIMessages rejects roundtrip/ui-messages.json");
    let messages: Vec<UiMessage> = round_trip_file("ui-messages.json");
    let parts: Vec<&UiPart> = messages.iter().flat_map(|m| &m.parts).collect();
    assert!(parts.iter().all(|p| !matches!(p, UiPart::Unknown(_))), "ui-messages.json: an Unknown part");
    let kinds = [
        "text",
        "reasoning",
        "file",
        "reasoning-file",
        "source-url",
        "source-document",
        "step-start",
        "custom",
        "steering-message",
        "dynamic-tool",
        "data-",
        "tool-",
    ];
    for kind in kinds {
        let found = parts.iter().any(|p| {
            let t = p.type_name();
            if kind.ends_with('-') {
                t.starts_with(kind) && t != "tool-"
            } else {
                t == kind
            }
        });
        assert!(found, "ui-messages.json has no {kind} part");
    }
    let states: std::collections::BTreeSet<_> =
        parts.iter().filter_map(|p| p.as_tool()).map(|t| format!("{:?}", t.state)).collect();
    assert_eq!(states.len(), 7, "ui-messages.json should hold every tool state, has {states:?}");

    let lossless: Vec<UiMessage> = round_trip_file("ui-messages-lossless.json");
    assert!(matches!(lossless[0].parts[1], UiPart::Unknown(_)));
    assert_eq!(lossless[0].extra["createdAt"], "2025-01-01T00:00:00.000Z");
}

#[test]
fn model_messages_with_every_part_type_round_trip() {
    let verdicts = sdk()["modelMessages"].as_array().expect("model message verdicts");
    for (n, v) in verdicts.iter().enumerate() {
        assert!(v.is_null(), "modelMessageSchema rejects roundtrip/model-messages.json[{n}]: {v}");
    }
    let messages: Vec<ModelMessage> = round_trip_file("model-messages.json");
    assert!(messages.iter().all(|m| !matches!(m, ModelMessage::Unknown(_))));
    let parts: Vec<&ModelPart> = messages
        .iter()
        .flat_map(|m| match m {
            ModelMessage::User(c) | ModelMessage::Assistant(c) | ModelMessage::Tool(c) => match &c.content {
                Content::Parts(p) => p.iter().collect(),
                Content::Text(_) => Vec::new(),
            },
            _ => Vec::new(),
        })
        .collect();
    let part_types: std::collections::BTreeSet<_> = parts.iter().map(|p| p.type_name().into_owned()).collect();
    assert_eq!(part_types.len(), 10, "every ModelPart type, found {part_types:?}");
    assert!(!part_types.iter().any(|t| t.is_empty()), "an Unknown part");
    let outputs: std::collections::BTreeSet<_> = parts
        .iter()
        .filter_map(|p| match p {
            ModelPart::ToolResult(r) => Some(r.output.type_name().into_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(outputs.len(), 6, "every ToolOutput type, found {outputs:?}");
    assert!(parts.iter().all(|p| match p {
        ModelPart::ToolResult(r) => !matches!(r.output, ToolOutput::Unknown(_)),
        _ => !matches!(p, ModelPart::Unknown(_)),
    }));

    let lossless: Vec<ModelMessage> = round_trip_file("model-messages-lossless.json");
    assert!(matches!(lossless[2], ModelMessage::Unknown(_)), "an unknown role is kept whole");
}

#[test]
fn chat_inputs_round_trip() {
    let inputs: Vec<ChatInput> = round_trip_file("chat-inputs.json");
    let kinds: Vec<_> = inputs.iter().map(|i| i.type_name().into_owned()).collect();
    for kind in ["message", "stop", "handover", "handover-skip", "future-kind"] {
        assert!(kinds.iter().any(|k| k == kind), "chat-inputs.json has no {kind}");
    }
    let ChatInput::Message(m) = &inputs[0] else { panic!("a message input") };
    assert_eq!(m.payload.extra["model"], "fast");
    assert_eq!(m.payload.extra["userContext"]["flags"][1], Value::Null);
    assert_eq!(m.payload.message.as_ref().map(|m| m.parts.len()), Some(2));
    let ChatInput::Message(m) = &inputs[3] else { panic!("a message input") };
    assert_eq!(m.payload.action, Some(Value::Null), "an explicit null action is kept");
    let ChatInput::Handover(h) = &inputs[6] else { panic!("a handover") };
    assert!(!h.is_final);
    assert!(matches!(h.partial_assistant_message[1], ModelMessage::Tool(_)));
    assert!(matches!(inputs.last(), Some(ChatInput::Unknown(_))));
    assert_eq!(ChatInput::handover_skip().to_json(), r#"{"kind":"handover-skip"}"#);
}

/// Found by the `chunk` fuzz target: serde_json's default float parser is off
/// by one unit in the last place for some long numbers, so a number forwarded
/// twice changed. JSON.parse is correctly rounded; so must we be.
#[test]
fn numbers_survive_being_forwarded_twice() {
    for json in [
        r#"{"type":"tool-output-available","toolCallId":"c","output":{"n":100000000060100000000}}"#,
        r#"{"type":"tool-output-available","toolCallId":"c","output":{"n":0.30000000000000004,"m":2.2250738585072011e-308}}"#,
    ] {
        let once = parse_chunk("float", json);
        let twice = parse_chunk("float again", &once.to_json());
        assert_eq!(twice, once, "{json}");
        assert_eq!(twice.to_json(), once.to_json());
        let n = serde_json::from_str::<Value>(json).unwrap()["output"]["n"].as_f64().unwrap();
        let exact: f64 = json.split("\"n\":").nth(1).unwrap().split([',', '}']).next().unwrap().parse().unwrap();
        assert_eq!(n, exact, "parsed as Rust's correctly rounded parse does");
    }
}
