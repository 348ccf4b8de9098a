//! The providers against the real AI SDK: for every recorded stream in
//! tests/fixtures/providers, `tests/js/provider-reference.mjs` runs
//! `streamText` (step 1 only, as the TypeScript head-start handler does) with
//! `@ai-sdk/anthropic` / `@ai-sdk/openai` / `@ai-sdk/google` against a loopback server replaying
//! it, and this test feeds the same bytes, split at random points, through
//! our decoder and `Step`. The request we would send, the UI chunks, the
//! finish reason and the response messages must equal the SDK's.
//!
//! One deliberate difference (see `provider::step`): where the SDK's UI
//! stream throws (connection cut mid-stream) ours ends with `error`,
//! `finish-step`, `finish(error)`; the outcome is rejected on both sides.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use headstart::protocol::model::ModelMessage;
use headstart::provider::google::{GoogleAuth, GoogleConfig, GoogleDecoder};
use headstart::provider::models::RequestHeaders;
use headstart::provider::step::Step;
use headstart::provider::{
    anthropic, google, openai, CallOptions, HttpProviderConfig, ProviderError, StreamDecoder, ToolSpec, Usage,
};
use serde_json::{json, Value};

struct Fixture {
    body: Vec<u8>,
    status: u16,
    headers: Vec<(String, String)>,
    cut_off: bool,
    provider_options: Value,
    /// The prompt file of the call (`prompt.json` unless the sidecar names one).
    prompt: String,
    /// The model id asked for; OpenAI-compatible hosts: also, the base URL's path and the
    /// extra request headers.
    model: Option<String>,
    base_path: String,
    request_headers: Vec<(String, String)>,
}

fn load(provider: &str, name: &str) -> Fixture {
    let dir = common::fixtures("providers").join(provider);
    let sidecar: Value =
        std::fs::read(dir.join(format!("{name}.json"))).map(|b| serde_json::from_slice(&b).unwrap()).unwrap_or(json!({}));
    let body = std::fs::read(dir.join(format!("{name}.sse")))
        .or_else(|_| std::fs::read(dir.join(format!("{name}.body.json"))))
        .unwrap_or_else(|e| panic!("{provider}/{name}: no body file: {e}"));
    let headers = sidecar["headers"]
        .as_object()
        .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    Fixture {
        body,
        status: sidecar["status"].as_u64().unwrap_or(200) as u16,
        headers,
        cut_off: sidecar["cutOff"].as_bool().unwrap_or(false),
        provider_options: sidecar["providerOptions"].clone(),
        prompt: sidecar["prompt"].as_str().unwrap_or("prompt.json").to_string(),
        model: sidecar["model"].as_str().map(str::to_string),
        base_path: sidecar["basePath"].as_str().unwrap_or("/v1").to_string(),
        request_headers: sidecar["requestHeaders"]
            .as_object()
            .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default(),
    }
}

fn call_options(fixture: &Fixture) -> CallOptions {
    let dir = common::fixtures("providers");
    let prompt: Value = serde_json::from_slice(&std::fs::read(dir.join(&fixture.prompt)).unwrap()).unwrap();
    let tools: Value = serde_json::from_slice(&std::fs::read(dir.join("tools.json")).unwrap()).unwrap();
    // An object of tools by name, in request order (serde_json keeps it).
    let tools: Vec<ToolSpec> = tools
        .as_object()
        .expect("tools.json maps tool names to tools")
        .iter()
        .map(|(name, t)| ToolSpec {
            name: name.clone(),
            description: t["description"].as_str().map(str::to_string),
            input_schema: t["inputSchema"].clone(),
        })
        .collect();
    CallOptions {
        system: prompt["system"].as_str().map(str::to_string),
        messages: serde_json::from_value::<Vec<ModelMessage>>(prompt["messages"].clone()).unwrap(),
        tools,
        max_output_tokens: prompt["maxOutputTokens"].as_u64().map(|n| n as u32),
        provider_options: fixture.provider_options.as_object().cloned().unwrap_or_default(),
        ..CallOptions::default()
    }
}

/// What our side produced for one fixture.
struct Ours {
    request: Value,
    url: String,
    headers: Vec<(String, String)>,
    chunks: Vec<Value>,
    outcome: Result<(String, Value), ProviderError>,
    usage: Option<Usage>,
}

fn run_ours(provider: &str, fixture: &Fixture, splits: &[usize]) -> Ours {
    let options = call_options(fixture);
    let config = HttpProviderConfig {
        base_url: format!("http://127.0.0.1:1{}", fixture.base_path),
        api_key: "test-key".into(),
        model: fixture.model.clone().unwrap_or_else(|| model(provider).into()),
    };
    type HttpError = fn(u16, &[(String, String)], &str) -> ProviderError;
    let (request, mut decoder, http_error): (_, Box<dyn StreamDecoder>, HttpError) = match provider {
        "anthropic" => (
            anthropic::build_request(&config, &options).unwrap(),
            Box::new(anthropic::AnthropicDecoder::new()),
            anthropic::http_error,
        ),
        "openai" => {
            (openai::build_request(&config, &options).unwrap(), Box::new(openai::OpenAiDecoder::new()), openai::http_error)
        }
        "openai-responses" => (
            openai::responses::build_request(&config, &options).unwrap(),
            Box::new(openai::responses::decoder(&options)()),
            openai::responses::http_error,
        ),
        "google" => {
            let config = GoogleConfig {
                base_url: "http://127.0.0.1:1/v1beta".into(),
                auth: GoogleAuth::ApiKey("test-key".into()),
                model: fixture.model.clone().unwrap_or_else(|| model(provider).into()),
                vertex: false,
            };
            // The same ids as the reference's `generateId` for calls the
            // API sent without one.
            let mut n = 0;
            let ids = Box::new(move || {
                n += 1;
                format!("gen-{n}")
            });
            (
                google::build_request(&config, &options).unwrap(),
                Box::new(GoogleDecoder::new(false).with_id_generator(ids)),
                google::http_error,
            )
        }
        // Through Chat Completions with the host's headers, as `run_step`
        // sends them.
        "openai-compatible" => {
            let mut request = openai::build_request(&config, &options).unwrap();
            RequestHeaders(fixture.request_headers.clone()).apply(&mut request.headers);
            (request, Box::new(openai::OpenAiDecoder::new()), openai::http_error)
        }
        other => panic!("unknown provider {other}"),
    };
    let mut step = Step::new("msg_turn_1", &options.tools);
    let mut chunks = step.start();
    if fixture.status >= 300 {
        chunks.extend(step.fail(http_error(fixture.status, &fixture.headers, &String::from_utf8_lossy(&fixture.body))));
    } else {
        let mut rest = &fixture.body[..];
        for &n in splits {
            let n = n.min(rest.len());
            for part in decoder.feed(&rest[..n]) {
                chunks.extend(step.push(part));
            }
            rest = &rest[n..];
        }
        for part in decoder.feed(rest) {
            chunks.extend(step.push(part));
        }
        if fixture.cut_off {
            chunks.extend(step.fail(ProviderError::Disconnected { provider: "test" }));
        } else {
            for part in decoder.end() {
                chunks.extend(step.push(part));
            }
            chunks.extend(step.end());
        }
    }
    let outcome = step.into_outcome().expect("the step ended");
    let usage = outcome.as_ref().ok().map(|r| r.usage);
    let outcome = outcome.map(|r| (r.finish_reason.as_str().to_string(), serde_json::to_value(&r.response_messages).unwrap()));
    Ours {
        request: serde_json::from_str(&request.body).unwrap(),
        url: request.url,
        headers: request.headers,
        chunks: chunks.iter().map(|c| serde_json::to_value(c).unwrap()).collect(),
        outcome,
        usage,
    }
}

/// The providers whose usage is compared with the SDK's `result.usage`.
fn compares_usage(provider: &str) -> bool {
    matches!(provider, "openai" | "openai-compatible" | "anthropic")
}

fn model(provider: &str) -> &'static str {
    match provider {
        "anthropic" => "claude-sonnet-4-5",
        "google" => "gemini-2.5-flash",
        _ => "gpt-4o-mini",
    }
}

/// Pseudo-random split sizes (xorshift), so every run covers the same cases.
fn splits(seed: u64, len: usize) -> Vec<usize> {
    let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut out = Vec::new();
    let mut total = 0;
    while total < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (x % 23) as usize;
        out.push(n);
        total += n.max(1);
    }
    out
}

/// Fixtures whose stream opens with an error event (see `check`).
const REFUSED_IN_FIRST_EVENT: &[&str] = &["google/error-first"];

fn check(name: &str, reference: &Value, provider: &str, fixture_name: &str) {
    let fixture = load(provider, fixture_name);
    for seed in [0u64, 1, 2, 3] {
        let pieces = if seed == 0 { vec![usize::MAX] } else { splits(seed, fixture.body.len()) };
        let ours = run_ours(provider, &fixture, &pieces);

        let sdk_request = &reference["request"]["body"];
        common::assert_json_eq(&format!("{name}: request body"), sdk_request, &ours.request);
        assert_eq!(
            serde_json::to_string(sdk_request).unwrap(),
            serde_json::to_string(&ours.request).unwrap(),
            "{name}: request body key order"
        );
        // The path after the replay server's `/<provider>/<fixture>` prefix.
        let sdk_path = reference["request"]["path"].as_str().unwrap_or_default();
        let sdk_path = sdk_path.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_default();
        let query = reference["request"]["query"].as_str().unwrap_or_default();
        assert_eq!(
            ours.url.strip_prefix("http://127.0.0.1:1"),
            Some(format!("{sdk_path}{query}").as_str()),
            "{name}: request path"
        );
        let sdk_headers = reference["request"]["headers"].as_object().cloned().unwrap_or_default();
        for (k, v) in &sdk_headers {
            let ours_v = ours.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
            assert_eq!(ours_v, v.as_str(), "{name}: request header {k}");
        }

        let mut expected: Vec<Value> = reference["chunks"].as_array().cloned().unwrap_or_default();
        if REFUSED_IN_FIRST_EVENT.contains(&name) {
            // Deliberate: an error as the stream's first event is a refusal
            // before any output, handled as an HTTP error is (retried when
            // retryable, then the call fails), where `@ai-sdk/google` streams
            // it as an error part and finishes the step with `error`.
            assert_eq!(expected.len(), 5, "{name}: the SDK streams start, start-step, error, finish-step, finish");
            common::assert_json_eq(
                &format!("{name} (split seed {seed}): UI chunks"),
                &json!([expected[0], expected[2]]),
                &Value::Array(ours.chunks.clone()),
            );
            assert!(ours.outcome.is_err(), "{name}: the call fails");
            continue;
        }
        if reference.get("uiStreamError").is_some() {
            expected.extend([
                json!({"type":"error","errorText":"An error occurred."}),
                json!({"type":"finish-step"}),
                json!({"type":"finish","finishReason":"error"}),
            ]);
        }
        common::assert_json_eq(
            &format!("{name} (split seed {seed}): UI chunks"),
            &Value::Array(expected),
            &Value::Array(ours.chunks.clone()),
        );

        match (&reference["finishReason"], &ours.outcome) {
            (Value::String(sdk), Ok((reason, messages))) => {
                assert_eq!(sdk, reason, "{name}: finish reason");
                common::assert_json_eq(&format!("{name}: response messages"), &reference["responseMessages"], messages);
            }
            (sdk, Err(_)) if sdk.get("rejected").is_some() => {}
            (sdk, ours) => panic!("{name}: the SDK's finish reason is {sdk}, ours {:?}", ours.as_ref().map(|o| &o.0)),
        }
        if let (Some(sdk), Some(ours)) = (reference.get("usage").filter(|_| compares_usage(provider)), ours.usage) {
            let n = |v: &Value| v.as_u64();
            let sdk = (
                n(&sdk["inputTokens"]),
                n(&sdk["outputTokens"]),
                n(&sdk["outputTokenDetails"]["reasoningTokens"]),
                n(&sdk["inputTokenDetails"]["cacheReadTokens"]),
            );
            let ours = (ours.input_tokens, ours.output_tokens, ours.reasoning_tokens, ours.cached_input_tokens);
            assert_eq!(sdk, ours, "{name}: usage (input, output, reasoning, cached input)");
        }
    }
}

fn reference() -> BTreeMap<String, Value> {
    let out = common::run_node("provider-reference.mjs", &[]);
    serde_json::from_value(out).expect("provider-reference.mjs prints an object")
}

#[test]
fn anthropic_matches_the_ai_sdk() {
    let all = reference();
    let mut checked = 0;
    for (name, reference) in &all {
        let Some(fixture) = name.strip_prefix("anthropic/") else { continue };
        assert!(reference.get("error").is_none(), "{name}: the reference run failed: {}", reference["error"]);
        check(name, reference, "anthropic", fixture);
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} anthropic fixtures");
    let _ = Path::new("");
}

#[test]
fn openai_matches_the_ai_sdk() {
    let all = reference();
    let mut checked = 0;
    for (name, reference) in &all {
        let Some(fixture) = name.strip_prefix("openai/") else { continue };
        assert!(reference.get("error").is_none(), "{name}: the reference run failed: {}", reference["error"]);
        check(name, reference, "openai", fixture);
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} openai fixtures");
}

#[test]
fn openai_responses_matches_the_ai_sdk() {
    let all = reference();
    let mut checked = 0;
    for (name, reference) in &all {
        let Some(fixture) = name.strip_prefix("openai-responses/") else { continue };
        assert!(reference.get("error").is_none(), "{name}: the reference run failed: {}", reference["error"]);
        check(name, reference, "openai-responses", fixture);
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} openai-responses fixtures");
}

#[test]
fn google_matches_the_ai_sdk() {
    let all = reference();
    let mut checked = 0;
    for (name, reference) in &all {
        let Some(fixture) = name.strip_prefix("google/") else { continue };
        assert!(reference.get("error").is_none(), "{name}: the reference run failed: {}", reference["error"]);
        check(name, reference, "google", fixture);
        checked += 1;
    }
    assert!(checked >= 21, "only {checked} google fixtures");
}

/// xAI, Groq, OpenRouter and the Vercel and Cloudflare AI gateways through
/// our Chat Completions provider, against `createOpenAI({ baseURL, apiKey,
/// headers }).chat(model)` on their own streams (see the fixtures' README).
#[test]
fn openai_compatible_hosts_match_the_ai_sdk() {
    let all = reference();
    let mut checked = 0;
    for (name, reference) in &all {
        let Some(fixture) = name.strip_prefix("openai-compatible/") else { continue };
        assert!(reference.get("error").is_none(), "{name}: the reference run failed: {}", reference["error"]);
        check(name, reference, "openai-compatible", fixture);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} openai-compatible fixtures");
}
