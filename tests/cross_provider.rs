//! A tool turn whose step 1 ran at the edge on one provider and whose later
//! steps run in the reference agent on another (issue 14, point 6).
//!
//! Step 1 is a recorded tool-call stream of provider A, decoded by our
//! decoder and step as the route handler does; its response messages go to
//! the agent in a handover (the pending calls in an approved round). The
//! agent, configured for provider B, runs the tools and calls B, which
//! answers with B's recorded text stream. Checked:
//! - the turn completes: tool results, step 2's text, a turn-complete, and a
//!   transcript holding step 1's calls with their results and step 2;
//! - the request the agent sent to B equals, byte for byte, the one the AI
//!   SDK sends for the same handover (`tests/js/handover-reference.mjs`: its
//!   `streamText` runs the approved tools, with the outputs our tools gave,
//!   then calls B through `@ai-sdk/*`). So A's history, provider metadata
//!   included, is converted for B exactly as the SDK converts it.

mod common;

use std::cell::RefCell;
use std::collections::VecDeque;

use common::agent::{MemSession, Now, Out};
use headstart::agent::run::{run_agent, AgentConfig, RunPayload};
use headstart::agent::tools::ToolRegistry;
use headstart::io::{Fetch, FetchError, HttpRequest, HttpResponse, ResponseBody};
use headstart::protocol::handover::reshape_for_handover;
use headstart::protocol::model::ModelMessage;
use headstart::protocol::record::TurnComplete;
use headstart::provider::config::{Model, ModelSettings};
use headstart::provider::google::{self, GoogleAuth, GoogleConfig};
use headstart::provider::step::Step;
use headstart::provider::tool::builtin_tools;
use headstart::provider::{anthropic, openai, HttpProviderConfig, StreamDecoder};
use serde_json::{json, Value};

const SYSTEM: &str = "You are a helpful assistant.";
const MAX_TOKENS: u32 = 1024;

/// A provider as both sides see it: its fixtures, its decoder (step 1) and
/// its model (the agent's steps).
struct Provider {
    /// The fixture directory and the replay server's route prefix.
    name: &'static str,
    decoder: fn() -> Box<dyn StreamDecoder>,
    /// The model, from a base URL up to the API version and a model id.
    model: fn(String, String) -> Model,
    model_id: &'static str,
    /// The API version segment of the base URL.
    version: &'static str,
}

fn http(model: fn(HttpProviderConfig) -> Model) -> impl Fn(String, String) -> Model {
    move |base_url, model_id| model(HttpProviderConfig { base_url, api_key: "test-key".into(), model: model_id })
}

fn provider(name: &str) -> Provider {
    match name {
        "anthropic" => Provider {
            name: "anthropic",
            decoder: || Box::new(anthropic::AnthropicDecoder::new()),
            model: |url, id| http(Model::Anthropic)(url, id),
            model_id: "claude-sonnet-4-5",
            version: "/v1",
        },
        "openai" => Provider {
            name: "openai",
            decoder: || Box::new(openai::OpenAiDecoder::new()),
            model: |url, id| http(Model::OpenAi)(url, id),
            model_id: "gpt-4o-mini",
            version: "/v1",
        },
        // The Responses API (provider name `openai`; fixtures in openai-responses/).
        "openai-responses" => Provider {
            name: "openai-responses",
            decoder: || {
                let tools = builtin_tools().into_iter().map(|t| t.name).collect();
                Box::new(openai::responses::ResponsesDecoder::new(false, false).with_tools(tools))
            },
            model: |url, id| http(Model::OpenAiResponses)(url, id),
            model_id: "gpt-4o-mini",
            version: "/v1",
        },
        // Gemini on the Generative Language API.
        "google" => Provider {
            name: "google",
            decoder: || Box::new(google::GoogleDecoder::new(false)),
            model: |base_url, model| {
                Model::Google(GoogleConfig { base_url, auth: GoogleAuth::ApiKey("test-key".into()), model, vertex: false })
            },
            model_id: "gemini-2.5-flash",
            version: "/v1beta",
        },
        other => panic!("no provider {other}"),
    }
}

fn fixture(provider: &Provider, name: &str) -> Vec<u8> {
    std::fs::read(common::fixtures("providers").join(provider.name).join(format!("{name}.sse"))).unwrap()
}

/// Step 1 at the edge: the recorded stream through A's decoder and a step.
fn step_one(a: &Provider, name: &str) -> Vec<ModelMessage> {
    let mut decoder = (a.decoder)();
    let mut step = Step::new("M1", &builtin_tools());
    step.start();
    for part in decoder.feed(&fixture(a, name)) {
        step.push(part);
    }
    for part in decoder.end() {
        step.push(part);
    }
    step.end();
    let result = step.into_outcome().unwrap().expect("step 1 resolved");
    assert!(result.wants_tools(), "{}/{name}: step 1 ends in tool calls", a.name);
    result.response_messages
}

/// Answers every request with one recorded stream, one SSE event per chunk,
/// and keeps the requests.
struct Replay {
    body: Vec<u8>,
    requests: RefCell<Vec<HttpRequest>>,
}

struct Events(VecDeque<Vec<u8>>);

impl ResponseBody for Events {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        self.0.pop_front().map(Ok)
    }
}

impl Fetch for Replay {
    type Body = Events;
    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<Events>, FetchError> {
        self.requests.borrow_mut().push(request.clone());
        let text = String::from_utf8(self.body.clone()).unwrap();
        let events = text.split_inclusive("\n\n").map(|e| e.as_bytes().to_vec()).collect();
        Ok(HttpResponse { status: 200, headers: vec![("content-type".into(), "text/event-stream".into())], body: Events(events) })
    }
}

fn user() -> Value {
    json!({ "id": "u1", "role": "user", "parts": [{ "type": "text", "text": "What's the weather in Paris?" }] })
}

struct Turn {
    session: MemSession,
    requests: Vec<HttpRequest>,
    handover: Vec<ModelMessage>,
}

/// The agent, on B, takes over the handover of A's step 1.
fn hand_over(a: &Provider, step1: &str, b: &Provider) -> Turn {
    let handover = reshape_for_handover(&step_one(a, step1));
    let input = json!({ "kind": "handover", "messageId": "M1", "isFinal": false,
        "partialAssistantMessage": handover });
    let session = MemSession::with_input(vec![input]);
    let model = (b.model)(format!("http://model.test{}", b.version), b.model_id.into());
    let settings =
        ModelSettings { model, system: Some(SYSTEM.into()), max_output_tokens: Some(MAX_TOKENS), ..ModelSettings::scripted() };
    let config = AgentConfig { max_steps: 2, ..AgentConfig::new(settings, ToolRegistry::default()) };
    let fetch = Replay { body: fixture(b, "text"), requests: RefCell::default() };
    let payload = json!({ "chatId": "chat_1", "trigger": "handover-prepare", "headStartMessages": [user()] });
    let payload = RunPayload::from_payload(payload.as_object().unwrap(), "run_1");
    futures_executor::block_on(run_agent(&session, &fetch, &Now::default(), &config, payload));
    Turn { session, requests: fetch.requests.into_inner(), handover }
}

/// The tool outputs the agent wrote, by call id.
fn tool_outputs(session: &MemSession) -> serde_json::Map<String, Value> {
    session
        .out
        .borrow()
        .iter()
        .filter_map(|o| match o {
            Out::Chunk(c) if c["type"] == "tool-output-available" => {
                Some((c["toolCallId"].as_str().unwrap().to_string(), c["output"].clone()))
            }
            _ => None,
        })
        .collect()
}

/// What the AI SDK sends to B for the same handover.
fn sdk_request(b: &Provider, turn: &Turn) -> Value {
    let tools: Vec<Value> = builtin_tools()
        .iter()
        .map(|t| json!({ "name": t.name, "description": t.description, "inputSchema": t.input_schema }))
        .collect();
    let mut messages = vec![json!({ "role": "user", "content": [{ "type": "text", "text": "What's the weather in Paris?" }] })];
    messages.extend(turn.handover.iter().map(|m| serde_json::to_value(m).unwrap()));
    let input = json!({
        "provider": b.name, "fixture": "text", "version": b.version, "system": SYSTEM, "maxOutputTokens": MAX_TOKENS,
        "messages": messages, "tools": tools, "toolOutputs": tool_outputs(&turn.session),
    });
    // Tests run in parallel threads of one process: one file per call.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("headstart-handover-{}-{}-{n}.json", b.name, std::process::id()));
    std::fs::write(&path, serde_json::to_vec(&input).unwrap()).unwrap();
    let out = common::run_node("handover-reference.mjs", &[path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert!(out.get("error").is_none(), "the SDK's run failed: {}", out["error"]);
    out["request"].clone()
}

fn check(a: &str, step1: &str, b: &str) {
    let (a, b) = (provider(a), provider(b));
    let name = format!("{}/{step1} then {}", a.name, b.name);
    let turn = hand_over(&a, step1, &b);

    // The turn completed on B.
    let types = turn.session.types();
    assert_eq!(types.last().map(String::as_str), Some("control:turn-complete"), "{name}: {types:?}");
    let out = turn.session.out.borrow();
    let Some(Out::Control(headers)) = out.last() else { panic!("{name}: no turn-complete") };
    assert_eq!(TurnComplete::from_headers(headers).session_in_event_id, Some(0), "{name}");
    let calls = turn
        .handover
        .iter()
        .flat_map(|m| m.parts())
        .filter(|p| matches!(p, headstart::protocol::model::ModelPart::ToolCall(_)))
        .count();
    assert!(calls >= 1);
    assert_eq!(tool_outputs(&turn.session).len(), calls, "{name}: every call of step 1 ran");
    assert!(types.iter().any(|t| t == "text-delta"), "{name}: step 2 answered: {types:?}");
    assert!(!types.iter().any(|t| t == "error"), "{name}: {types:?}");
    let (saved, _) = turn.session.saved.borrow().clone();
    let assistant = serde_json::to_value(&saved[1]).unwrap();
    let parts = assistant["parts"].as_array().unwrap();
    assert_eq!(
        parts
            .iter()
            .filter(|p| p["type"].as_str().is_some_and(|t| t.starts_with("tool-")) && p["state"] == "output-available")
            .count(),
        calls,
        "{name}: the transcript has every call with its result: {assistant}"
    );

    // The request to B is the SDK's.
    assert_eq!(turn.requests.len(), 1, "{name}: one call to B");
    let ours: Value = serde_json::from_str(&turn.requests[0].body).unwrap();
    let sdk = sdk_request(&b, &turn);
    common::assert_json_eq(&format!("{name}: request body"), &sdk["body"], &ours);
    assert_eq!(serde_json::to_string(&sdk["body"]).unwrap(), turn.requests[0].body, "{name}: request body bytes");
    let path = sdk["path"].as_str().unwrap();
    let sdk_path = format!("{}{}", &path[path.find(&format!("{}/", b.version)).unwrap()..], sdk["query"].as_str().unwrap_or(""));
    assert!(turn.requests[0].url.ends_with(&sdk_path), "{name}: {} vs {sdk_path}", turn.requests[0].url);
}

#[test]
fn anthropic_step_one_then_an_openai_agent() {
    check("anthropic", "tool-call", "openai");
    check("anthropic", "parallel-tool-calls", "openai");
}

#[test]
fn openai_step_one_then_an_anthropic_agent() {
    check("openai", "tool-call", "anthropic");
    check("openai", "parallel-tool-calls", "anthropic");
}

#[test]
fn openai_responses_step_one_then_an_anthropic_agent() {
    check("openai-responses", "tool-call", "anthropic");
    check("openai-responses", "parallel-tool-calls", "anthropic");
}

#[test]
fn anthropic_step_one_then_an_openai_responses_agent() {
    check("anthropic", "tool-call", "openai-responses");
    check("anthropic", "parallel-tool-calls", "openai-responses");
}

/// Step 1's reasoning item comes back to the Responses API by reference
/// (`store` is on by default), then the calls and their outputs.
#[test]
fn openai_responses_on_both_sides_refers_to_step_one_items() {
    let turn = hand_over(&provider("openai-responses"), "reasoning-store", &provider("openai-responses"));
    let body: Value = serde_json::from_str(&turn.requests[0].body).unwrap();
    assert_eq!(body["input"][2], json!({ "type": "item_reference", "id": "rs_68e3a3c7a5c681a2e8f0a2b4d6f8a0c2" }));
    check("openai-responses", "reasoning-store", "openai-responses");
    check("openai-responses", "tool-call", "openai-responses");
    check("openai", "tool-call", "openai-responses");
}

#[test]
fn google_step_one_then_an_anthropic_agent() {
    check("google", "tool-call", "anthropic");
    check("google", "parallel-tool-calls", "anthropic");
}

#[test]
fn anthropic_step_one_then_a_google_agent() {
    check("anthropic", "tool-call", "google");
    check("anthropic", "parallel-tool-calls", "google");
}

/// Gemini's thought signature on a call of step 1 goes back to Gemini with
/// it; and the OpenAI APIs on either side of Gemini.
#[test]
fn google_with_gemini_and_openai() {
    let turn = hand_over(&provider("google"), "tool-call", &provider("google"));
    let body: Value = serde_json::from_str(&turn.requests[0].body).unwrap();
    let model_turn = &body["contents"][1];
    assert_eq!(model_turn["role"], "model", "{body}");
    let call = model_turn["parts"].as_array().unwrap().iter().find(|p| p.get("functionCall").is_some()).expect("the call");
    assert_eq!(call["thoughtSignature"], "CiQBjz1rX2Z1bmN0aW9uQ2FsbFNpZ25hdHVyZQ==", "{body}");
    assert_eq!(body["contents"][2]["parts"][0]["functionResponse"]["name"], "get_weather", "{body}");
    check("google", "tool-call", "google");
    check("google", "parallel-tool-calls", "openai-responses");
    check("openai-responses", "parallel-tool-calls", "google");
    check("openai", "tool-call", "google");
}
