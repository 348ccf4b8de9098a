//! Request building beyond the recorded calls (those are compared with the
//! AI SDK in tests/provider_reference.rs), and error mapping.

use serde_json::{json, Value};

use super::*;
use crate::provider::{CallOptions, HttpProviderConfig, StreamDecoder, StreamPart, ToolChoice, ToolSpec};

fn config() -> HttpProviderConfig {
    HttpProviderConfig {
        base_url: "https://api.anthropic.com/v1/".into(),
        api_key: "k".into(),
        model: "claude-sonnet-4-5".into(),
    }
}

fn body(options: &CallOptions) -> Value {
    let req = build_request(&config(), options).unwrap();
    assert_eq!(req.url, "https://api.anthropic.com/v1/messages");
    serde_json::from_str(&req.body).unwrap()
}

fn options(messages: Value) -> CallOptions {
    CallOptions { messages: serde_json::from_value(messages).unwrap(), ..CallOptions::default() }
}

#[test]
fn thinking_drops_temperature_and_adds_the_budget() {
    let mut o = options(json!([{ "role": "user", "content": "hi" }]));
    o.temperature = Some(0.2);
    o.max_output_tokens = Some(100);
    assert_eq!(body(&o)["temperature"], json!(0.2));
    o.provider_options =
        json!({ "anthropic": { "thinking": { "type": "enabled", "budgetTokens": 2000 } } }).as_object().cloned().unwrap();
    let b = body(&o);
    assert!(b.get("temperature").is_none());
    assert_eq!(b["max_tokens"], 2100);
    assert_eq!(b["thinking"], json!({ "type": "enabled", "budget_tokens": 2000 }));
}

#[test]
fn tool_choice_maps_to_the_api_names() {
    let mut o = options(json!([{ "role": "user", "content": "hi" }]));
    o.tools = vec![ToolSpec { name: "t".into(), description: None, input_schema: json!({ "type": "object" }) }];
    for (choice, expected) in [
        (ToolChoice::Required, json!({ "type": "any" })),
        (ToolChoice::None, json!({ "type": "none" })),
        (ToolChoice::Tool { tool_name: "t".into() }, json!({ "type": "tool", "name": "t" })),
    ] {
        o.tool_choice = Some(choice);
        assert_eq!(body(&o)["tool_choice"], expected);
    }
    assert_eq!(body(&options(json!([{ "role": "user", "content": "hi" }]))).get("tools"), None);
}

#[test]
fn tool_use_blocks_go_after_text_within_a_segment_and_prefill_is_trimmed() {
    let o = options(json!([
        { "role": "user", "content": "hi" },
        { "role": "assistant", "content": [
            { "type": "tool-call", "toolCallId": "a", "toolName": "t", "input": "not json" },
            { "type": "text", "text": "Checking.  " }
        ] }
    ]));
    let b = body(&o);
    assert_eq!(
        b["messages"][1]["content"],
        json!([
            { "type": "text", "text": "Checking." },
            { "type": "tool_use", "id": "a", "name": "t", "input": { "rawInvalidInput": "not json" } }
        ])
    );
}

#[test]
fn unsupported_media_is_a_config_error() {
    let o = options(json!([{ "role": "user", "content": [{ "type": "file", "mediaType": "audio/wav", "data": "AAAA" }] }]));
    assert!(matches!(build_request(&config(), &o), Err(ProviderError::Config(_))));
}

#[test]
fn http_errors_carry_type_message_and_retry_after() {
    let e = http_error(
        429,
        &[("retry-after".into(), "17".into())],
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
    );
    assert_eq!(
        e,
        ProviderError::Http {
            provider: "anthropic",
            status: 429,
            kind: Some("rate_limit_error".into()),
            message: "slow down".into(),
            retry_after_ms: Some(17_000)
        }
    );
    assert_eq!(e.retry_delay_ms(1), Some(17_000));
    assert!(matches!(http_error(502, &[], "<html>"), ProviderError::Http { message, .. } if message == "HTTP 502"));
}

#[test]
fn an_endless_event_fails_the_decoder_instead_of_growing() {
    let mut dec = AnthropicDecoder::new();
    let line = format!("data: {}\n", " ".repeat(1 << 20));
    // Seven 1 MiB lines and their joins fit in 8 MiB; the eighth does not.
    for _ in 0..7 {
        assert!(dec.feed(line.as_bytes()).is_empty());
    }
    assert_eq!(dec.failure(), None);
    assert!(dec.feed(line.as_bytes()).is_empty());
    assert!(matches!(dec.failure(), Some(ProviderError::Malformed { detail, .. }) if detail.contains("max_event_data")));
    assert!(dec.end().is_empty());
}

fn sse_frames(events: impl IntoIterator<Item = Value>) -> Vec<u8> {
    events.into_iter().map(|e| format!("event: x\ndata: {e}\n\n")).collect::<String>().into_bytes()
}

#[test]
fn too_many_open_blocks_fail_the_decoder() {
    let start = json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {}}});
    let blocks = (0..=crate::provider::MAX_TRACKED_BLOCKS as u64)
        .map(|i| json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}));
    let mut dec = AnthropicDecoder::new();
    let parts = dec.feed(&sse_frames(std::iter::once(start).chain(blocks)));
    let starts = parts.iter().filter(|p| matches!(p, StreamPart::TextStart { .. })).count();
    assert_eq!(starts, crate::provider::MAX_TRACKED_BLOCKS);
    assert!(matches!(dec.failure(), Some(ProviderError::Malformed { detail, .. }) if detail.contains("content blocks")));
    assert!(dec.feed(b"data: {\"type\":\"ping\"}\n\n").is_empty());
    assert!(dec.end().is_empty());
}

#[test]
fn endless_tool_input_fails_the_decoder() {
    let piece = "1".repeat(1 << 20);
    let mut events = vec![
        json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {}}}),
    ];
    events.extend((0..17).map(
        |_| json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}}),
    ));
    let mut dec = AnthropicDecoder::new();
    let parts = dec.feed(&sse_frames(events));
    assert_eq!(parts.iter().filter(|p| matches!(p, StreamPart::ToolInputDelta { .. })).count(), 16);
    assert!(matches!(dec.failure(), Some(ProviderError::Malformed { detail, .. }) if detail.contains("bytes of tool input")));
}
