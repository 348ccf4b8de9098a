//! The OpenAI provider against the AI SDK: recorded streams
//! (tests/fixtures/providers/openai) and the SDK's saved results for them
//! (reference.json), plus the cases in `testdata/` whose expected results
//! `testdata/generate.mjs` wrote from `@ai-sdk/openai` itself.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::*;
use crate::protocol::model::ModelMessage;
use crate::provider::{StreamDecoder, StreamPart, ToolChoice, ToolSpec};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers")
}

fn read_json(path: PathBuf) -> Value {
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn reference() -> Map<String, Value> {
    match read_json(fixtures().join("reference.json")) {
        Value::Object(o) => o,
        _ => panic!("reference.json is an object"),
    }
}

/// The recorded `.sse` streams, by fixture name.
fn sse_fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixtures().join("openai"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sse"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    assert!(out.len() >= 10, "expected the openai fixtures, found {}", out.len());
    out
}

fn is_cut_off(name: &str) -> bool {
    let sidecar = fixtures().join("openai").join(format!("{name}.json"));
    std::fs::read(sidecar).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()).is_some_and(|v| v["cutOff"] == json!(true))
}

/// Feeds `body` in pieces of the given sizes (the rest in one piece), then
/// ends it unless the connection was cut.
fn decode(body: &[u8], pieces: &[usize], end: bool) -> Vec<StreamPart> {
    let mut decoder = OpenAiDecoder::new().with_tool_call_id_prefix("gen-");
    let mut parts = Vec::new();
    let mut rest = body;
    for &n in pieces {
        let n = n.min(rest.len());
        parts.extend(decoder.feed(&rest[..n]));
        rest = &rest[n..];
    }
    parts.extend(decoder.feed(rest));
    if end {
        parts.extend(decoder.end());
    }
    parts
}

/// Deterministic pseudo-random piece sizes (xorshift) covering `len` bytes.
fn random_pieces(seed: u64, len: usize, max: u64) -> Vec<usize> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::new();
    let mut total = 0;
    while total < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (x % max) as usize;
        out.push(n);
        total += n.max(1);
    }
    out
}

#[test]
fn every_fixture_decodes_the_same_at_any_split() {
    for (name, body) in sse_fixtures() {
        let end = !is_cut_off(&name);
        let whole = decode(&body, &[], end);
        assert!(!whole.is_empty(), "{name}: no parts");
        // Small bodies: every split point (two pieces). All fixtures are.
        if body.len() <= 8 * 1024 {
            for i in 0..=body.len() {
                assert_eq!(decode(&body, &[i], end), whole, "{name}: split at byte {i}");
            }
        }
        // And random cuts into many pieces, down to single bytes.
        for seed in 1..=64 {
            let pieces = random_pieces(seed, body.len(), if seed % 2 == 0 { 7 } else { 97 });
            assert_eq!(decode(&body, &pieces, end), whole, "{name}: random pieces, seed {seed}");
        }
        let bytes: Vec<usize> = vec![1; body.len()];
        assert_eq!(decode(&body, &bytes, end), whole, "{name}: byte by byte");
    }
}

fn text_delta(delta: &str) -> StreamPart {
    StreamPart::TextDelta { id: "0".into(), delta: delta.into(), provider_metadata: None }
}

fn finish_of(parts: &[StreamPart]) -> Option<(FinishReason, Option<String>, Usage)> {
    parts.iter().find_map(|p| match p {
        StreamPart::Finish { reason, raw_reason, usage, .. } => Some((reason.clone(), raw_reason.clone(), *usage)),
        _ => None,
    })
}

use crate::protocol::message::FinishReason;
use crate::provider::Usage;

#[test]
fn text_fixture_parts() {
    let body = std::fs::read(fixtures().join("openai/text.sse")).unwrap();
    let parts = decode(&body, &[], true);
    assert_eq!(
        parts[0],
        StreamPart::ResponseMetadata {
            id: Some("chatcmpl-CFv2qH8tYb3LmN6pXw1Kd9RzAs4Ue".into()),
            model_id: Some("gpt-4o-mini-2024-07-18".into())
        }
    );
    assert_eq!(parts[1], StreamPart::TextStart { id: "0".into(), provider_metadata: None });
    // The role chunk's `content: ""` is an empty delta, as the SDK emits it.
    assert_eq!(parts[2], text_delta(""));
    assert_eq!(parts[3], text_delta("I can't check live conditions,"));
    assert_eq!(parts[8], StreamPart::TextEnd { id: "0".into(), provider_metadata: None });
    let StreamPart::Finish { reason, raw_reason, usage, provider_metadata } = &parts[9] else { panic!("{:?}", parts[9]) };
    assert_eq!(*reason, FinishReason::Stop);
    assert_eq!(raw_reason.as_deref(), Some("stop"));
    assert_eq!(
        *usage,
        Usage { input_tokens: Some(187), output_tokens: Some(58), reasoning_tokens: Some(0), cached_input_tokens: Some(0) }
    );
    assert_eq!(
        provider_metadata.as_ref().map(|m| Value::Object(m.clone())),
        Some(json!({"openai": {"acceptedPredictionTokens": 0, "rejectedPredictionTokens": 0}}))
    );
    assert_eq!(parts.len(), 10);
}

#[test]
fn finish_comes_at_done_and_end_adds_nothing_after_it() {
    let body = std::fs::read(fixtures().join("openai/tool-call.sse")).unwrap();
    let mut decoder = OpenAiDecoder::new();
    let parts = decoder.feed(&body);
    assert!(matches!(parts.last(), Some(StreamPart::Finish { .. })));
    assert_eq!(decoder.end(), vec![]);
    // Tool calls complete at the end, after their deltas.
    let kinds: Vec<&str> = parts
        .iter()
        .map(|p| match p {
            StreamPart::ResponseMetadata { .. } => "meta",
            StreamPart::ToolInputStart { .. } => "start",
            StreamPart::ToolInputDelta { .. } => "delta",
            StreamPart::ToolInputEnd { .. } => "end",
            StreamPart::ToolCall { .. } => "call",
            StreamPart::Finish { .. } => "finish",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["meta", "start", "delta", "delta", "delta", "delta", "delta", "end", "call", "finish"]);
    let (reason, raw, usage) = finish_of(&parts).unwrap();
    assert_eq!((reason, raw.as_deref(), usage.output_tokens), (FinishReason::ToolCalls, Some("tool_calls"), Some(15)));
}

#[test]
fn error_and_end_of_body_fixtures() {
    let read = |n: &str| std::fs::read(fixtures().join(format!("openai/{n}.sse"))).unwrap();

    // An error frame before any output fails the call, like an HTTP error.
    let parts = decode(&read("error-event-first"), &[], true);
    assert_eq!(
        parts,
        vec![StreamPart::Error(ProviderError::Http {
            provider: "openai",
            status: 500,
            kind: Some("server_error".into()),
            message: "The server had an error while processing your request. Sorry about that!".into(),
            retry_after_ms: None,
        })]
    );
    assert!(matches!(&parts[0], StreamPart::Error(e) if e.is_retryable()));

    // Mid-stream: an error part, then at the end of the body text-end and
    // finish(error) without usage.
    let parts = decode(&read("error-event-mid-stream"), &[], true);
    let n = parts.len();
    assert!(matches!(
        &parts[n - 3],
        StreamPart::Error(ProviderError::Stream { provider: "openai", kind, .. }) if kind == "server_error"
    ));
    assert_eq!(parts[n - 2], StreamPart::TextEnd { id: "0".into(), provider_metadata: None });
    assert_eq!(finish_of(&parts), Some((FinishReason::Error, None, Usage::default())));

    // No finish_reason, no [DONE]: interrupted.
    let parts = decode(&read("eof-without-done"), &[], true);
    assert_eq!(finish_of(&parts), Some((FinishReason::Interrupted, None, Usage::default())));

    // A malformed line is an error part; the stream goes on and its
    // finish_reason wins over the error.
    let parts = decode(&read("malformed-chunk"), &[], true);
    assert!(parts.iter().any(|p| matches!(p, StreamPart::Error(ProviderError::Malformed { provider: "openai", .. }))));
    assert_eq!(finish_of(&parts).map(|f| f.0), Some(FinishReason::Stop));

    // Cut mid-line: the partial frame is not decoded, nothing finishes
    // until the IO layer reports the cut.
    let parts = decode(&read("cut-off"), &[], false);
    assert!(finish_of(&parts).is_none());
    assert!(matches!(parts.last(), Some(StreamPart::TextDelta { delta, .. }) if delta == " the evenings get"));

    // reasoning_content is not read; the usage split is.
    let parts = decode(&read("reasoning-content"), &[], true);
    assert!(!parts.iter().any(|p| matches!(p, StreamPart::ReasoningDelta { .. })));
    assert_eq!(finish_of(&parts).unwrap().2.reasoning_tokens, Some(31));
}

/// What `streamText(...).toUIMessageStream()` makes of the parts, reduced to
/// what this provider decides (the full `Step` is tested in
/// tests/provider_reference.rs).
fn ui_projection(parts: &[StreamPart]) -> Vec<Value> {
    let mut out = vec![json!({"type": "start", "messageId": "msg_turn_1"})];
    if let Some(StreamPart::Error(ProviderError::Http { .. })) = parts.first() {
        out.push(json!({"type": "error", "errorText": "An error occurred."}));
        return out;
    }
    out.push(json!({"type": "start-step"}));
    for part in parts {
        match part {
            StreamPart::TextStart { id, .. } => out.push(json!({"type": "text-start", "id": id})),
            StreamPart::TextDelta { delta, .. } if delta.is_empty() => {}
            StreamPart::TextDelta { id, delta, .. } => out.push(json!({"type": "text-delta", "id": id, "delta": delta})),
            StreamPart::TextEnd { id, .. } => out.push(json!({"type": "text-end", "id": id})),
            StreamPart::ToolInputStart { id, tool_name, .. } => {
                out.push(json!({"type": "tool-input-start", "toolCallId": id, "toolName": tool_name}))
            }
            StreamPart::ToolInputDelta { id, delta } => {
                out.push(json!({"type": "tool-input-delta", "toolCallId": id, "inputTextDelta": delta}))
            }
            StreamPart::ToolCall { tool_call_id, tool_name, input, .. } => out.push(json!({
                "type": "tool-input-available",
                "toolCallId": tool_call_id,
                "toolName": tool_name,
                "input": serde_json::from_str::<Value>(input).unwrap(),
            })),
            StreamPart::Error(_) => out.push(json!({"type": "error", "errorText": "An error occurred."})),
            StreamPart::Finish { reason, .. } => {
                out.push(json!({"type": "finish-step"}));
                out.push(json!({"type": "finish", "finishReason": reason.as_str()}));
            }
            _ => {}
        }
    }
    out
}

#[test]
fn fixtures_give_the_sdk_chunks() {
    let reference = reference();
    let mut checked = 0;
    for (name, body) in sse_fixtures() {
        let sdk = &reference[&format!("openai/{name}")];
        let parts = decode(&body, &[], !is_cut_off(&name));
        assert_eq!(Value::Array(ui_projection(&parts)), sdk["chunks"], "openai/{name}");
        if let (Some(StreamPart::Error(ProviderError::Http { status, message, .. })), Some(err)) =
            (parts.first(), sdk["errors"].get(0))
        {
            assert_eq!(json!(status), err["statusCode"], "{name}: status");
            assert_eq!(json!(message), err["message"], "{name}: message");
        }
        checked += 1;
    }
    assert!(checked >= 10);
}

#[test]
fn http_error_fixtures() {
    let reference = reference();
    for name in ["http-429-rate-limit", "http-500-server-error"] {
        let dir = fixtures().join("openai");
        let body = std::fs::read_to_string(dir.join(format!("{name}.body.json"))).unwrap();
        let sidecar = read_json(dir.join(format!("{name}.json")));
        let headers: Vec<(String, String)> =
            sidecar["headers"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
        let status = sidecar["status"].as_u64().unwrap() as u16;
        let error = http_error(status, &headers, &body);
        let sdk = &reference[&format!("openai/{name}")]["errors"][0];
        let ProviderError::Http { provider, status: s, message, .. } = &error else { panic!("{error:?}") };
        assert_eq!((*provider, json!(s)), ("openai", sdk["statusCode"].clone()), "{name}");
        assert_eq!(json!(message), sdk["message"], "{name}");
        assert_eq!(json!(error.is_retryable()), sdk["isRetryable"], "{name}");
    }
    let dir = fixtures().join("openai");
    let body = std::fs::read_to_string(dir.join("http-429-rate-limit.body.json")).unwrap();
    let ProviderError::Http { kind, retry_after_ms, .. } = http_error(429, &[("retry-after".into(), "2".into())], &body) else {
        panic!()
    };
    assert_eq!((kind.as_deref(), retry_after_ms), (Some("tokens"), Some(2000)));
    let ProviderError::Http { message, kind, .. } = http_error(502, &[], "<html>bad gateway</html>") else { panic!() };
    assert_eq!((message.as_str(), kind), ("Bad Gateway", None));
}

#[test]
fn error_frame_status_inference() {
    assert_eq!(status_from_error(Some("server_error"), None), 500);
    assert_eq!(status_from_error(Some("requests"), Some("rate_limit_exceeded")), 429);
    assert_eq!(status_from_error(None, Some("insufficient_quota")), 429);
    assert_eq!(status_from_error(Some("invalid_request_error"), Some("context_length_exceeded")), 400);
    assert_eq!(status_from_error(Some("authentication_error"), None), 401);
    assert_eq!(status_from_error(None, Some("503")), 503);
    assert_eq!(status_from_error(None, Some("200")), 500);
    assert_eq!(status_from_error(Some("engine_overloaded"), None), 503);
}

fn tool_specs(tools: &Value) -> Vec<ToolSpec> {
    tools
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
        .unwrap_or_default()
}

/// A call as `streamText` gets it (the request cases' and prompt.json's format).
fn call_options(case: &Value, tools: &Value) -> CallOptions {
    let tool_choice = match &case["toolChoice"] {
        Value::Null => None,
        Value::String(s) => Some(serde_json::from_value::<ToolChoice>(json!({ "type": s })).unwrap()),
        v => Some(serde_json::from_value::<ToolChoice>(v.clone()).unwrap()),
    };
    CallOptions {
        system: case["system"].as_str().map(str::to_string),
        messages: serde_json::from_value::<Vec<ModelMessage>>(case["messages"].clone()).unwrap(),
        tools: tool_specs(tools),
        tool_choice,
        max_output_tokens: case["maxOutputTokens"].as_u64().map(|n| n as u32),
        temperature: case["temperature"].as_f64(),
        provider_options: case["providerOptions"].as_object().cloned().unwrap_or_default(),
    }
}

fn config(model: &str) -> HttpProviderConfig {
    HttpProviderConfig { base_url: "http://127.0.0.1:1/openai/text/v1/".into(), api_key: "test-key".into(), model: model.into() }
}

#[test]
fn request_matches_the_reference_byte_for_byte() {
    let prompt = read_json(fixtures().join("prompt.json"));
    let tools = read_json(fixtures().join("tools.json"));
    let options = call_options(&prompt, &tools);
    let request = build_request(&config("gpt-4o-mini"), &options).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "http://127.0.0.1:1/openai/text/v1/chat/completions");
    let mut checked = 0;
    for (name, entry) in reference().iter().filter(|(n, _)| n.starts_with("openai/")) {
        let sdk = &entry["request"];
        assert_eq!(sdk["method"], "POST", "{name}");
        assert!(sdk["path"].as_str().unwrap().ends_with("/v1/chat/completions"), "{name}");
        // reference.json keeps the body parsed; the raw body is its
        // JSON.stringify (the reference runner records `rawBody` otherwise).
        assert!(sdk.get("rawBody").is_none(), "{name}");
        assert_eq!(request.body, serde_json::to_string(&sdk["body"]).unwrap(), "{name}: request body");
        let headers: Vec<(String, String)> =
            sdk["headers"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
        assert_eq!(request.headers, headers, "{name}: headers");
        checked += 1;
    }
    assert!(checked >= 12, "{checked} openai fixtures");
}

#[test]
fn request_cases_match_the_sdk() {
    let cases = serde_json::from_str::<Value>(include_str!("testdata/request-cases.json")).unwrap();
    let expected = serde_json::from_str::<Value>(include_str!("testdata/request-expected.json")).unwrap();
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let model = case["model"].as_str().unwrap_or("gpt-4o-mini");
        let sdk = &expected[name];
        let ours = build_request(&config(model), &call_options(case, &case["tools"]));
        match (sdk.get("body").and_then(Value::as_str), ours) {
            (Some(body), Ok(request)) => {
                if body != request.body {
                    let (a, b): (Value, Value) =
                        (serde_json::from_str(body).unwrap(), serde_json::from_str(&request.body).unwrap());
                    panic!(
                        "{name}: request body differs\n  sdk:  {body}\n  ours: {}\n  (equal as JSON: {})",
                        request.body,
                        a == b
                    );
                }
            }
            (None, Err(ProviderError::Config(_))) => {}
            (sdk, ours) => panic!("{name}: the SDK gives {sdk:?} / {}, ours {ours:?}", expected[name]),
        }
    }
}

/// Our parts in the shape `generate.mjs` reduces the SDK's to.
fn reduce(parts: &[StreamPart]) -> Vec<Value> {
    parts
        .iter()
        .map(|p| match p {
            StreamPart::ResponseMetadata { id, model_id } => {
                let mut o = Map::new();
                o.insert("type".into(), json!("response-metadata"));
                if let Some(id) = id {
                    o.insert("id".into(), json!(id));
                }
                if let Some(m) = model_id {
                    o.insert("modelId".into(), json!(m));
                }
                Value::Object(o)
            }
            StreamPart::TextStart { id, .. } => json!({"type": "text-start", "id": id}),
            StreamPart::TextDelta { id, delta, .. } => json!({"type": "text-delta", "id": id, "delta": delta}),
            StreamPart::TextEnd { id, .. } => json!({"type": "text-end", "id": id}),
            StreamPart::ToolInputStart { id, tool_name, .. } => {
                json!({"type": "tool-input-start", "id": id, "toolName": tool_name})
            }
            StreamPart::ToolInputDelta { id, delta } => json!({"type": "tool-input-delta", "id": id, "delta": delta}),
            StreamPart::ToolInputEnd { id } => json!({"type": "tool-input-end", "id": id}),
            StreamPart::ToolCall { tool_call_id, tool_name, input, .. } => {
                json!({"type": "tool-call", "toolCallId": tool_call_id, "toolName": tool_name, "input": input})
            }
            StreamPart::Finish { reason, raw_reason, usage, provider_metadata } => {
                let mut finish_reason = json!({"unified": reason.as_str()});
                if let Some(raw) = raw_reason {
                    finish_reason["raw"] = json!(raw);
                }
                json!({
                    "type": "finish",
                    "finishReason": finish_reason,
                    "usage": {
                        "input": usage.input_tokens,
                        "output": usage.output_tokens,
                        "reasoning": usage.reasoning_tokens,
                        "cached": usage.cached_input_tokens,
                    },
                    "providerMetadata": provider_metadata,
                })
            }
            StreamPart::Error(ProviderError::Stream { kind, message, .. }) => {
                json!({"type": "error", "kind": kind, "message": message})
            }
            StreamPart::Error(ProviderError::Malformed { .. }) => json!({"type": "error", "malformed": true}),
            StreamPart::Error(ProviderError::Http { status, message, .. }) => {
                json!({"thrown": {"statusCode": status, "message": message}})
            }
            other => panic!("unexpected part {other:?}"),
        })
        .collect()
}

/// The SDK's parts, adjusted for what `StreamPart` cannot or does not carry.
fn sdk_parts(expected: &Value) -> Vec<Value> {
    expected
        .as_array()
        .unwrap()
        .iter()
        // `source` parts (url_citation annotations) have no StreamPart.
        .filter(|p| p["type"] != "source")
        .map(|p| match p {
            // A tool call delta the SDK throws on ends its stream; ours ends
            // with a malformed-event error.
            p if p["thrown"]["statusCode"].is_null() && p.get("thrown").is_some() => {
                json!({"type": "error", "malformed": true})
            }
            // Error codes may be numbers; `kind` is a string.
            p if p["type"] == "error" && p["kind"].is_number() => {
                let mut p = p.clone();
                p["kind"] = json!(p["kind"].to_string());
                p
            }
            p => p.clone(),
        })
        .collect()
}

#[test]
fn decode_cases_match_the_sdk() {
    let cases = serde_json::from_str::<Value>(include_str!("testdata/decode-cases.json")).unwrap();
    let expected = serde_json::from_str::<Value>(include_str!("testdata/decode-expected.json")).unwrap();
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let body = case["sse"].as_str().unwrap().as_bytes();
        let sdk = sdk_parts(&expected[name]);
        let whole = decode(body, &[], true);
        assert_eq!(Value::Array(reduce(&whole)), Value::Array(sdk), "{name}");
        for seed in 1..=16 {
            let pieces = random_pieces(seed, body.len(), 41);
            assert_eq!(decode(body, &pieces, true), whole, "{name}: random pieces, seed {seed}");
        }
    }
}

#[test]
fn nothing_after_done_or_a_failed_call() {
    let chunk = |c: &str| format!("data: {{\"id\":\"x\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{c}\"}}}}]}}\n\n");
    let body = format!("{}data: [DONE]\n\n{}", chunk("a"), chunk("b"));
    let parts = decode(body.as_bytes(), &[], true);
    assert!(matches!(parts.last(), Some(StreamPart::Finish { .. })));
    assert!(!parts.iter().any(|p| matches!(p, StreamPart::TextDelta { delta, .. } if delta == "b")));

    let body = format!("data: {{\"error\":{{\"message\":\"no\",\"type\":\"server_error\"}}}}\n\n{}", chunk("a"));
    let parts = decode(body.as_bytes(), &[], true);
    assert_eq!(parts.len(), 1);
    assert!(matches!(parts[0], StreamPart::Error(ProviderError::Http { status: 500, .. })));
}

#[test]
fn generated_tool_call_ids_default_to_the_response_id() {
    let body = "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"t\",\"arguments\":\"{}\"}}]}}]}\n\ndata: [DONE]\n\n";
    let parts = OpenAiDecoder::new().feed(body.as_bytes());
    assert!(parts.iter().any(|p| matches!(p, StreamPart::ToolCall { tool_call_id, .. } if tool_call_id == "chatcmpl-9-call-0")));
}

#[test]
fn request_config_errors() {
    let base = CallOptions { messages: vec![ModelMessage::user(vec![])], ..CallOptions::default() };
    let with = |po: Value| CallOptions { provider_options: po.as_object().unwrap().clone(), ..base.clone() };
    let cfg = config("gpt-4o-mini");
    assert!(matches!(build_request(&cfg, &with(json!({"openai": {"user": 7}}))), Err(ProviderError::Config(_))));
    assert!(matches!(build_request(&cfg, &with(json!({"openai": "x"}))), Err(ProviderError::Config(_))));
    assert!(build_request(&cfg, &with(json!({"anthropic": {"thinking": 1}}))).is_ok());
    let zero = CallOptions { max_output_tokens: Some(0), ..base.clone() };
    assert!(matches!(build_request(&cfg, &zero), Err(ProviderError::Config(_))));
    // An empty multi-part user message stays an (empty) array.
    let body: Value = serde_json::from_str(&build_request(&cfg, &base).unwrap().body).unwrap();
    assert_eq!(body["messages"], json!([{"role": "user", "content": []}]));
}

#[test]
fn an_endless_frame_fails_the_decoder_instead_of_growing() {
    let mut dec = OpenAiDecoder::new();
    assert!(dec.feed(b"data: {\"id\":\"x\",").is_empty());
    assert_eq!(dec.failure(), None);
    for _ in 0..9 {
        assert!(dec.feed(&[b' '; 1 << 20]).is_empty());
    }
    assert!(matches!(dec.failure(), Some(ProviderError::Malformed { detail, .. }) if detail.contains("max_line")));
    assert!(dec.feed(b"\n\ndata: [DONE]\n\n").is_empty(), "a failed decoder reads nothing more");
}

fn chunk_frames(chunks: impl IntoIterator<Item = Value>) -> Vec<u8> {
    chunks.into_iter().map(|c| format!("data: {c}\n\n")).collect::<String>().into_bytes()
}

#[test]
fn too_many_tool_calls_fail_the_decoder() {
    let calls: Vec<Value> = (0..=crate::provider::MAX_TRACKED_BLOCKS)
        .map(|i| json!({"index": i, "id": format!("c{i}"), "type": "function", "function": {"name": "f", "arguments": ""}}))
        .collect();
    let mut dec = OpenAiDecoder::new();
    let frame = json!({"id": "r", "choices": [{"index": 0, "delta": {"tool_calls": calls}}]});
    dec.feed(&chunk_frames([frame]));
    assert!(matches!(dec.failure(), Some(ProviderError::Malformed { detail, .. }) if detail.contains("tool calls")));
    assert!(dec.feed(b"data: [DONE]\n\n").is_empty());
    assert!(dec.end().is_empty());
}

#[test]
fn endless_tool_arguments_fail_the_decoder() {
    let piece = "1".repeat(1 << 20);
    let frames = (0..17).map(|i| {
        let call = if i == 0 {
            json!({"index": 0, "id": "c", "function": {"name": "f", "arguments": piece}})
        } else {
            json!({"index": 0, "function": {"arguments": piece}})
        };
        json!({"id": "r", "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})
    });
    let mut dec = OpenAiDecoder::new();
    let parts = dec.feed(&chunk_frames(frames));
    assert_eq!(parts.iter().filter(|p| matches!(p, StreamPart::ToolInputDelta { .. })).count(), 15);
    assert!(matches!(dec.failure(), Some(ProviderError::Malformed { detail, .. }) if detail.contains("bytes of tool calls")));
}
