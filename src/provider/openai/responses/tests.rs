//! The Responses provider against the AI SDK's request bodies
//! (`testdata/`, written by `testdata/generate.mjs` from `@ai-sdk/openai`
//! itself), the recorded streams at every byte split, and bad input: garbage,
//! events out of order, limits.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::*;
use crate::protocol::model::ModelMessage;
use crate::provider::step::Step;
use crate::provider::{StreamDecoder, StreamPart, ToolChoice, ToolSpec, MAX_RETAINED_BYTES, MAX_TRACKED_BLOCKS};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers/openai-responses")
}

fn config(model: &str) -> HttpProviderConfig {
    HttpProviderConfig { base_url: "http://127.0.0.1:1/v1/".into(), api_key: "test-key".into(), model: model.into() }
}

fn call_options(case: &Value) -> CallOptions {
    let tools = case["tools"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(name, t)| ToolSpec {
                    name: name.clone(),
                    description: t["description"].as_str().map(str::to_string),
                    input_schema: t["inputSchema"].clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let tool_choice = match &case["toolChoice"] {
        Value::Null => None,
        Value::String(s) => Some(serde_json::from_value::<ToolChoice>(json!({ "type": s })).unwrap()),
        v => Some(serde_json::from_value::<ToolChoice>(v.clone()).unwrap()),
    };
    CallOptions {
        system: case["system"].as_str().map(str::to_string),
        messages: serde_json::from_value::<Vec<ModelMessage>>(case["messages"].clone()).unwrap(),
        tools,
        tool_choice,
        max_output_tokens: case["maxOutputTokens"].as_u64().map(|n| n as u32),
        temperature: case["temperature"].as_f64(),
        provider_options: case["providerOptions"].as_object().cloned().unwrap_or_default(),
    }
}

#[test]
fn request_cases_match_the_sdk_byte_for_byte() {
    let cases = serde_json::from_str::<Value>(include_str!("testdata/request-cases.json")).unwrap();
    let expected = serde_json::from_str::<Value>(include_str!("testdata/request-expected.json")).unwrap();
    let mut bodies = 0;
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let model = case["model"].as_str().unwrap_or("gpt-4o-mini");
        let ours = build_request(&config(model), &call_options(case));
        match (expected[name].get("body").and_then(Value::as_str), ours) {
            (Some(body), Ok(request)) => {
                assert_eq!(request.url, "http://127.0.0.1:1/v1/responses");
                assert_eq!(body, request.body, "{name}: request body");
                bodies += 1;
            }
            (None, Err(ProviderError::Config(_))) => {}
            (sdk, ours) => panic!("{name}: the SDK gives {sdk:?} / {}, ours {ours:?}", expected[name]),
        }
    }
    assert!(bodies >= 20, "{bodies} bodies");
}

fn decode_all(decoder: &mut ResponsesDecoder, body: &[u8], piece: usize) -> Vec<StreamPart> {
    let mut parts = Vec::new();
    for chunk in body.chunks(piece.max(1)) {
        parts.extend(decoder.feed(chunk));
    }
    parts.extend(decoder.end());
    parts
}

#[test]
fn every_fixture_decodes_the_same_at_any_split() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sse") {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        let whole = decode_all(&mut ResponsesDecoder::new(false, false), &body, usize::MAX);
        for piece in [1, 2, 7, 64] {
            let split = decode_all(&mut ResponsesDecoder::new(false, false), &body, piece);
            assert_eq!(whole, split, "{}: split into {piece}-byte pieces", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 16, "{checked} fixtures");
}

/// Runs `body` through a decoder and a step; the step must end (no panic,
/// no hang), and the chunks are returned with the outcome.
fn through_step(decoder: &mut ResponsesDecoder, body: &[u8]) -> (Vec<Value>, bool) {
    let mut step = Step::new("m", &[ToolSpec { name: "get_weather".into(), description: None, input_schema: json!({}) }]);
    let mut chunks = step.start();
    for part in decoder.feed(body) {
        chunks.extend(step.push(part));
    }
    match decoder.failure() {
        Some(e) => chunks.extend(step.fail(e)),
        None => {
            for part in decoder.end() {
                chunks.extend(step.push(part));
            }
            chunks.extend(step.end());
        }
    }
    assert!(step.is_done());
    let ok = step.outcome().is_some_and(Result::is_ok);
    (chunks.iter().map(|c| serde_json::to_value(c).unwrap()).collect(), ok)
}

fn event(v: Value) -> String {
    format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap_or("x"))
}

fn created() -> String {
    event(json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "created_at": 1, "model": "m"}}))
}

#[test]
fn garbage_events_fail_cleanly() {
    let garbage: Vec<String> = vec![
        "data: not json\n\n".into(),
        "data: 42\n\n".into(),
        "data: []\n\n".into(),
        "data: {\"type\": 7}\n\n".into(),
        "data: {\"no\": \"type\"}\n\n".into(),
        event(json!({"type": "response.output_text.delta", "item_id": 5, "delta": "x"})),
        event(json!({"type": "response.output_text.delta", "item_id": "m", "output_index": 0.5, "delta": "x"})),
        event(json!({"type": "response.output_text.delta", "item_id": "m", "delta": 7})),
        event(json!({"type": "response.output_text.delta", "item_id": "m", "delta": "x", "logprobs": "many"})),
        event(json!({"type": "response.output_item.added", "output_index": -1, "item": {"type": "message", "id": "m"}})),
        event(json!({"type": "response.output_item.added", "output_index": 0.5, "item": {"type": "message", "id": "m"}})),
        event(json!({"type": "response.output_item.added", "output_index": 0, "item": "message"})),
        event(json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "message"}})),
        event(json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "function_call", "id": "f"}})),
        event(json!({"type": "response.reasoning_summary_part.added", "item_id": "r", "summary_index": 1e300})),
        event(json!({"type": "response.completed", "response": {"usage": {"input_tokens": "many"}}})),
        event(json!({"type": "response.failed", "sequence_number": 1, "response": {"error": {"message": 3}}})),
        event(json!({"type": "error", "sequence_number": 1, "error": {"message": "x"}})),
        event(json!({"type": "response.output_text.annotation.added", "annotation": {"type": "weird"}})),
        "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"\u{1F600}\",\"delta\":\"\\ud800\"}\n\n".into(),
    ];
    for g in &garbage {
        for prefix in [String::new(), created()] {
            let body = format!("{prefix}{g}");
            let (chunks, _) = through_step(&mut ResponsesDecoder::new(false, false), body.as_bytes());
            let types: Vec<&str> = chunks.iter().filter_map(|c| c["type"].as_str()).collect();
            assert!(types.contains(&"error"), "{g:?}: {types:?}");
        }
    }
    // Lines that are no SSE field carry no event: an empty stream, which
    // finishes `interrupted` (the SDK's flush).
    let (chunks, _) = through_step(&mut ResponsesDecoder::new(false, false), "\u{0}\u{1}\u{ff}garbage\n\n".as_bytes());
    assert_eq!(chunks.last().unwrap()["finishReason"], "interrupted", "{chunks:?}");
    // Unknown event and item types are ignored, as the SDK ignores them.
    let body = format!(
        "{}{}{}",
        created(),
        event(json!({"type": "response.queued", "sequence_number": 1})),
        event(
            json!({"type": "response.output_item.added", "sequence_number": 2, "output_index": 0, "item": {"type": "new_kind", "id": "x"}})
        ),
    );
    let (chunks, _) = through_step(&mut ResponsesDecoder::new(false, false), body.as_bytes());
    let types: Vec<&str> = chunks.iter().filter_map(|c| c["type"].as_str()).collect();
    assert_eq!(types, ["start", "start-step", "finish-step", "finish"]);
    assert_eq!(chunks[3]["finishReason"], "interrupted");
}

#[test]
fn events_out_of_order_do_not_panic() {
    let text_delta = |item: &str, oi: Option<u64>| {
        event(
            json!({"type": "response.output_text.delta", "sequence_number": 3, "item_id": item, "output_index": oi, "delta": "hi"}),
        )
    };
    let cases: Vec<String> = vec![
        // A delta for an item never added.
        text_delta("msg_x", Some(0)),
        // An item done that was never added, twice.
        event(json!({"type": "response.output_item.done", "sequence_number": 3, "output_index": 4, "item": {"type": "message", "id": "m"}})).repeat(2),
        event(json!({"type": "response.output_item.done", "sequence_number": 3, "output_index": 4, "item": {"type": "reasoning", "id": "r"}})),
        // Arguments for a call never added; a call done never added.
        event(json!({"type": "response.function_call_arguments.delta", "sequence_number": 3, "item_id": "f", "output_index": 9, "delta": "{"})),
        event(json!({"type": "response.output_item.done", "sequence_number": 3, "output_index": 1, "item": {"type": "function_call", "id": "f", "call_id": "c", "name": "get_weather", "arguments": "{", "status": "completed"}})),
        // Summary events for a reasoning item never added.
        event(json!({"type": "response.reasoning_summary_text.delta", "sequence_number": 3, "item_id": "r", "summary_index": 2, "delta": "x"})),
        event(json!({"type": "response.reasoning_summary_part.added", "sequence_number": 3, "item_id": "r", "summary_index": 2})),
        event(json!({"type": "response.reasoning_summary_part.done", "sequence_number": 3, "item_id": "r", "summary_index": 2})),
        // Completed first, then output after it.
        event(json!({"type": "response.completed", "sequence_number": 1, "response": {"usage": null}})) + &text_delta("m", None),
        // The same message added twice, then done once.
        event(json!({"type": "response.output_item.added", "sequence_number": 2, "output_index": 0, "item": {"type": "message", "id": "m"}})).repeat(2)
            + &event(json!({"type": "response.output_item.done", "sequence_number": 4, "output_index": 0, "item": {"type": "message", "id": "m"}})),
    ];
    for case in &cases {
        for prefix in [String::new(), created()] {
            let body = format!("{prefix}{case}");
            for store in [false, true] {
                let mut decoder = ResponsesDecoder::new(store, true);
                through_step(&mut decoder, body.as_bytes());
                // Bytes after the end are ignored.
                assert!(decoder.feed(body.as_bytes()).is_empty());
            }
        }
    }
}

#[test]
fn held_back_events_past_the_retention_limit_fail_the_call() {
    // Events that are not output are held back (an error may still fail
    // the call); past MAX_RETAINED_BYTES the call fails instead.
    let padding = "x".repeat(4 << 20);
    let one = event(
        json!({"type": "response.in_progress", "sequence_number": 1, "response": {"id": "r", "created_at": 1, "model": "m", "pad": padding}}),
    );
    let mut decoder = ResponsesDecoder::new(false, false);
    let mut fed = 0;
    while decoder.failure().is_none() {
        decoder.feed(one.as_bytes());
        fed += one.len();
        assert!(fed <= MAX_RETAINED_BYTES + 2 * one.len(), "no failure after {fed} bytes");
    }
    assert!(matches!(decoder.failure(), Some(ProviderError::Malformed { .. })));
    assert!(decoder.feed(created().as_bytes()).is_empty());
    assert!(decoder.end().is_empty());

    // A text delta of any size passes through without being kept.
    let mut decoder = ResponsesDecoder::new(false, false);
    let mut parts = decoder.feed(
        (created()
            + &event(json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": {"type": "message", "id": "m"}})))
        .as_bytes(),
    );
    for _ in 0..5 {
        let delta = event(
            json!({"type": "response.output_text.delta", "sequence_number": 2, "item_id": "m", "output_index": 0, "delta": padding}),
        );
        parts.extend(decoder.feed(delta.as_bytes()));
    }
    assert!(decoder.failure().is_none());
    assert_eq!(parts.iter().filter(|p| matches!(p, StreamPart::TextDelta { .. })).count(), 5);
}

#[test]
fn too_many_open_items_fail_the_call() {
    let mut body = created();
    for i in 0..=MAX_TRACKED_BLOCKS {
        body += &event(json!({
            "type": "response.output_item.added", "sequence_number": i + 1, "output_index": i,
            "item": {"type": "function_call", "id": format!("fc_{i}"), "call_id": format!("call_{i}"), "name": "get_weather", "arguments": ""}
        }));
    }
    let mut decoder = ResponsesDecoder::new(false, false);
    let (chunks, ok) = through_step(&mut decoder, body.as_bytes());
    assert!(!ok);
    assert!(matches!(decoder.failure(), Some(ProviderError::Malformed { .. })));
    assert_eq!(chunks.last().unwrap()["type"], "finish");

    // Summary parts count too.
    let mut body = created()
        + &event(
            json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": {"type": "reasoning", "id": "r"}}),
        );
    for i in 1..=MAX_TRACKED_BLOCKS {
        body += &event(
            json!({"type": "response.reasoning_summary_part.added", "sequence_number": i + 1, "item_id": "r", "output_index": 0, "summary_index": i}),
        );
    }
    let mut decoder = ResponsesDecoder::new(true, false);
    through_step(&mut decoder, body.as_bytes());
    assert!(decoder.failure().is_some());
}

#[test]
fn an_error_before_output_fails_the_call_as_the_sdk_does() {
    let body = std::fs::read(fixtures().join("error-event-first.sse")).unwrap();
    let parts = decode_all(&mut ResponsesDecoder::new(false, false), &body, usize::MAX);
    match parts.as_slice() {
        [StreamPart::Error(ProviderError::Http { status: 400, kind, .. })] => {
            assert_eq!(kind.as_deref(), Some("context_length_exceeded"))
        }
        other => panic!("{other:?}"),
    }
    let body = std::fs::read(fixtures().join("response-failed-first.sse")).unwrap();
    let parts = decode_all(&mut ResponsesDecoder::new(false, false), &body, 5);
    match parts.as_slice() {
        [StreamPart::Error(e @ ProviderError::Http { status: 429, .. })] => assert!(e.is_retryable()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_errors_read_the_body_and_retry_after() {
    let body = std::fs::read_to_string(fixtures().join("http-429-rate-limit.body.json")).unwrap();
    let ProviderError::Http { status, kind, retry_after_ms, .. } = http_error(429, &[("retry-after".into(), "1".into())], &body)
    else {
        panic!()
    };
    assert_eq!((status, kind.as_deref(), retry_after_ms), (429, Some("requests"), Some(1000)));
}

#[test]
fn the_decoder_follows_the_request_options() {
    let options = |po: Value| CallOptions { provider_options: po.as_object().cloned().unwrap(), ..CallOptions::default() };
    // With store on, a summary part ends when it is done.
    let body = std::fs::read(fixtures().join("reasoning.sse")).unwrap();
    let ends = |d: ResponsesDecoder| {
        let mut d = d;
        let parts = decode_all(&mut d, &body, usize::MAX);
        let first_end = parts.iter().position(|p| matches!(p, StreamPart::ReasoningEnd { .. })).unwrap();
        let second_start = parts.iter().rposition(|p| matches!(p, StreamPart::ReasoningStart { .. })).unwrap();
        first_end < second_start
    };
    assert!(ends(decoder(&options(json!({"openai": {"store": true}})))()));
    assert!(ends(decoder(&options(json!({"openai": {}})))()), "the next part's start ends it too");
}

#[test]
fn a_parallel_wrapper_that_does_not_expand_is_passed_on_as_it_is() {
    let tools = vec!["get_weather".to_string()];
    let call = |args: &str, done: bool| {
        let mut body = created()
            + &event(json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
                "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "parallel", "arguments": ""}}))
            + &event(
                json!({"type": "response.function_call_arguments.delta", "sequence_number": 2, "item_id": "fc_1", "output_index": 0, "delta": args}),
            );
        if done {
            body += &event(json!({"type": "response.output_item.done", "sequence_number": 3, "output_index": 0,
                "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "parallel", "arguments": args, "status": "completed"}}));
        }
        decode_all(&mut ResponsesDecoder::new(false, false).with_tools(tools.clone()), body.as_bytes(), 3)
    };
    let names = |parts: &[StreamPart]| -> Vec<String> {
        parts
            .iter()
            .filter_map(|p| match p {
                StreamPart::ToolCall { tool_name, .. } => Some(tool_name.clone()),
                _ => None,
            })
            .collect()
    };
    let unknown = r#"{"tool_uses":[{"recipient_name":"functions.launch","parameters":{}}]}"#;
    assert_eq!(names(&call(unknown, true)), ["parallel"], "a recipient that is no tool of the call");
    let ok = r#"{"tool_uses":[{"recipient_name":"functions.get_weather","parameters":{"city":"Paris"}}]}"#;
    assert_eq!(names(&call(ok, true)), ["get_weather"]);
    // Never completed: its input is shown at the end, with no call.
    let parts = call(ok, false);
    assert!(names(&parts).is_empty());
    assert!(parts.iter().any(|p| matches!(p, StreamPart::ToolInputDelta { id, .. } if id == "call_1")));
    // A tool named `parallel` is an ordinary call.
    let body = created()
        + &event(json!({"type": "response.output_item.done", "sequence_number": 3, "output_index": 0,
            "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "parallel", "arguments": ok, "status": "completed"}}));
    let parts = decode_all(&mut ResponsesDecoder::new(false, false).with_tools(vec!["parallel".into()]), body.as_bytes(), 9);
    assert_eq!(names(&parts), ["parallel"]);
}
