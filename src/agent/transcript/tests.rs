//! Unit tests of the message assembler; the check against the SDK, chunk by
//! chunk, is tests/transcript_reference.rs.

use serde_json::{json, Value};

use super::*;

fn chunks(values: Value) -> Vec<UiChunk> {
    serde_json::from_value(values).unwrap()
}

fn build(builder: &mut MessageBuilder, values: Value) {
    for chunk in chunks(values) {
        builder.push(&chunk).unwrap();
    }
}

fn part_types(message: &UiMessage) -> Vec<String> {
    message.parts.iter().map(|p| p.type_name().into_owned()).collect()
}

#[test]
fn the_head_start_splice_is_one_message() {
    let mut b = MessageBuilder::default();
    build(
        &mut b,
        json!([
            { "type": "start", "messageId": "m1" }, { "type": "start-step" },
            { "type": "text-start", "id": "0" }, { "type": "text-delta", "id": "0", "delta": "Checking." },
            { "type": "text-end", "id": "0" },
            { "type": "tool-input-start", "toolCallId": "c1", "toolName": "get_weather" },
            { "type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{\"city\":\"Par" },
        ]),
    );
    let streaming = b.message();
    let tool = streaming.parts[2].as_tool().unwrap();
    assert_eq!((&tool.state, &tool.input), (&ToolState::InputStreaming, &Some(json!({ "city": "Par" }))));
    build(
        &mut b,
        json!([
            { "type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "is\"}" },
            { "type": "tool-input-available", "toolCallId": "c1", "toolName": "get_weather", "input": { "city": "Paris" } },
            { "type": "finish-step" }, { "type": "finish", "finishReason": "tool-calls" },
        ]),
    );
    assert_eq!(b.finish_reason(), Some(&FinishReason::ToolCalls));
    build(
        &mut b,
        json!([
            { "type": "start", "messageId": "m1" },
            { "type": "tool-output-available", "toolCallId": "c1", "output": { "temperatureC": 18 } },
            { "type": "start-step" },
            { "type": "text-start", "id": "1" }, { "type": "text-delta", "id": "1", "delta": "18 °C." },
            { "type": "text-end", "id": "1" },
            { "type": "finish-step" }, { "type": "finish", "finishReason": "stop" },
        ]),
    );
    let message = b.into_message();
    assert_eq!(message.id, "m1");
    assert_eq!(part_types(&message), ["step-start", "text", "tool-get_weather", "step-start", "text"]);
    let tool = message.parts[2].as_tool().unwrap();
    assert_eq!(
        (&tool.state, &tool.raw_input, &tool.output),
        (&ToolState::OutputAvailable, &None, &Some(json!({ "temperatureC": 18 })))
    );
}

#[test]
fn a_refused_chunk_stops_the_assembly() {
    let mut b = MessageBuilder::default();
    build(&mut b, json!([{ "type": "start", "messageId": "m" }, { "type": "error", "errorText": "ignored" }]));
    let refused = chunks(json!([{ "type": "reasoning-delta", "id": "r", "delta": "x" }]));
    let err = b.push(&refused[0]).unwrap_err();
    assert_eq!(err.chunk_type, "reasoning-delta");
    assert!(err.to_string().starts_with("Received reasoning-delta for missing reasoning part with ID \"r\"."));
    build(&mut b, json!([{ "type": "start-step" }, { "type": "text-start", "id": "0" }]));
    assert!(b.message().parts.is_empty());
    assert_eq!(b.error(), Some(&err));
}

#[test]
fn another_message_id_starts_over() {
    let mut b = MessageBuilder::default();
    build(
        &mut b,
        json!([
            { "type": "start", "messageId": "a", "messageMetadata": { "x": 1 } }, { "type": "start-step" },
            { "type": "finish", "finishReason": "stop" },
            { "type": "start", "messageId": "b" },
        ]),
    );
    assert_eq!((b.message().id.as_str(), b.message().parts.len(), &b.message().metadata), ("b", 0, &None));
    assert_eq!(b.finish_reason(), None);
}

#[test]
fn an_existing_message_is_continued_only_if_it_is_the_assistants() {
    let user: UiMessage =
        serde_json::from_value(json!({ "id": "u", "role": "user", "parts": [{ "type": "text", "text": "q" }] })).unwrap();
    let b = MessageBuilder::new(Some(user));
    assert_eq!((b.message().id.as_str(), b.message().role, b.message().parts.len()), ("u", Role::Assistant, 0));

    let assistant: UiMessage = serde_json::from_value(json!({
        "id": "m", "role": "assistant", "parts": [{ "type": "dynamic-tool", "toolName": "t", "toolCallId": "c",
            "state": "input-streaming", "inputEncoding": "text", "rawInput": "ab" }]
    }))
    .unwrap();
    let mut b = MessageBuilder::new(Some(assistant));
    build(
        &mut b,
        json!([{ "type": "start", "messageId": "m" }, { "type": "tool-input-delta", "toolCallId": "c", "inputTextDelta": "c" }]),
    );
    let tool = b.message().parts[0].as_tool().unwrap().clone();
    assert_eq!((tool.input, tool.raw_input, tool.input_encoding), (Some(json!("abc")), Some(json!("abc")), Some("text".into())));
}

#[test]
fn metadata_merges_deeply() {
    let merged =
        merge_objects(json!({ "a": { "b": 1, "c": [1] }, "d": 1 }), &json!({ "a": { "c": [2], "e": null }, "__proto__": 1 }));
    assert_eq!(merged, json!({ "a": { "b": 1, "c": [2], "e": null }, "d": 1 }));
    assert_eq!(merge_objects(json!({ "a": 1 }), &json!("s")), json!("s"));
    assert_eq!(merge_objects(json!(3), &json!({ "a": 1 })), json!({ "a": 1 }));
}
