//! Fallback across models over in-memory IO with a virtual clock: which
//! failures hand the step to the next model, the retry budget, and that no
//! model is tried once a byte of another reached the step.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use serde_json::Value;

use super::run_step;
use crate::io::{Clock, Fetch, FetchError, HttpRequest, HttpResponse, ResponseBody};
use crate::protocol::UiChunk;
use crate::provider::config::{Model, ModelSettings};
use crate::provider::models::{ModelChoice, RequestHeaders};
use crate::provider::step::Step;
use crate::provider::{HttpProviderConfig, ProviderError};

const ANTHROPIC_TEXT: &str = include_str!("../../../tests/fixtures/providers/anthropic/text.sse");
const ANTHROPIC_OVERLOADED_FIRST: &str = include_str!("../../../tests/fixtures/providers/anthropic/error-event-first.sse");
const ANTHROPIC_400: &str = include_str!("../../../tests/fixtures/providers/anthropic/http-400-invalid-request.body.json");
const ANTHROPIC_529: &str = include_str!("../../../tests/fixtures/providers/anthropic/http-529-overloaded.body.json");
const OPENAI_TEXT: &str = include_str!("../../../tests/fixtures/providers/openai/text.sse");
const OPENAI_500: &str = include_str!("../../../tests/fixtures/providers/openai/http-500-server-error.body.json");

/// Sleeps return at once and advance virtual time.
#[derive(Default)]
struct VirtualClock {
    now: Cell<f64>,
    sleeps: RefCell<Vec<u32>>,
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> f64 {
        self.now.get()
    }
    async fn sleep(&self, ms: u32) {
        self.sleeps.borrow_mut().push(ms);
        self.now.set(self.now.get() + f64::from(ms));
    }
}

#[derive(Clone)]
enum Piece {
    Bytes(String),
    Cut,
    Stall,
}

enum Reply {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        pieces: Vec<Piece>,
    },
    Network,
    /// No response head, ever.
    Hang,
}

#[derive(Default)]
struct FakeFetch {
    replies: RefCell<VecDeque<Reply>>,
    requests: RefCell<Vec<HttpRequest>>,
}

struct FakeBody(VecDeque<Piece>);

impl ResponseBody for FakeBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        match self.0.pop_front()? {
            Piece::Bytes(b) => Some(Ok(b.into_bytes())),
            Piece::Cut => Some(Err(FetchError("connection reset".into()))),
            Piece::Stall => std::future::pending().await,
        }
    }
}

impl Fetch for FakeFetch {
    type Body = FakeBody;
    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<FakeBody>, FetchError> {
        self.requests.borrow_mut().push(request.clone());
        let reply = self.replies.borrow_mut().pop_front().expect("a reply for every request");
        match reply {
            Reply::Answer { status, headers, pieces } => {
                Ok(HttpResponse { status, headers, body: FakeBody(pieces.into_iter().collect()) })
            }
            Reply::Network => Err(FetchError("connection refused".into())),
            Reply::Hang => std::future::pending().await,
        }
    }
}

/// A stream body, frame by frame as a server flushes it.
fn stream(body: &str) -> Reply {
    Reply::Answer { status: 200, headers: vec![], pieces: frames(body) }
}

fn frames(body: &str) -> Vec<Piece> {
    body.split_inclusive("\n\n").map(|f| Piece::Bytes(f.to_string())).collect()
}

fn status(code: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply::Answer {
        status: code,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        pieces: vec![Piece::Bytes(body.to_string())],
    }
}

fn http(base_url: &str) -> HttpProviderConfig {
    HttpProviderConfig { base_url: base_url.into(), api_key: "k".into(), model: "m".into() }
}

/// Anthropic at `a.test`, then OpenAI (Chat Completions) at `b.test`.
fn two_models(max_attempts: u32, retry_budget_ms: u32) -> ModelSettings {
    ModelSettings {
        model: Model::Anthropic(http("http://a.test/v1")),
        fallback: vec![ModelChoice { model: Model::OpenAi(http("http://b.test/v1")), headers: RequestHeaders::default() }],
        stall_timeout_ms: 5_000,
        max_attempts,
        retry_budget_ms,
        ..ModelSettings::scripted()
    }
}

struct Run {
    chunks: Vec<Value>,
    step: Step,
    hosts: Vec<String>,
}

fn run(fetch: &FakeFetch, clock: &VirtualClock, settings: &ModelSettings) -> Run {
    let messages = serde_json::from_value(serde_json::json!([{ "role": "user", "content": [{ "type": "text", "text": "hi" }] }]))
        .expect("a user message");
    let options = settings.call(messages);
    let mut step = Step::new("m1", &options.tools);
    let mut chunks = Vec::new();
    futures_executor::block_on(run_step(fetch, clock, settings, &options, &mut step, &mut |c: UiChunk| {
        chunks.push(serde_json::to_value(&c).expect("chunks serialize"))
    }));
    assert!(step.is_done());
    assert!(fetch.replies.borrow().is_empty(), "every scripted reply was used");
    let hosts = fetch.requests.borrow().iter().map(|r| r.url.split('/').nth(2).unwrap_or_default().to_string()).collect();
    Run { chunks, step, hosts }
}

fn types(chunks: &[Value]) -> Vec<&str> {
    chunks.iter().map(|c| c["type"].as_str().unwrap_or_default()).collect()
}

fn answered_by_b(r: &Run) {
    assert!(r.step.outcome().is_some_and(|o| o.is_ok()), "{:?}", r.step.outcome());
    assert_eq!(types(&r.chunks).iter().filter(|t| **t == "start").count(), 1, "one start: {:?}", types(&r.chunks));
    assert!(!types(&r.chunks).contains(&"error"), "{:?}", types(&r.chunks));
    assert_eq!(types(&r.chunks).last(), Some(&"finish"));
    assert_eq!(r.hosts.last().map(String::as_str), Some("b.test"));
}

#[test]
fn each_failure_before_the_first_byte_hands_the_step_to_the_next_model() {
    let cases: Vec<(&str, Reply)> = vec![
        ("429", status(429, &[], r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#)),
        ("500", status(500, &[], r#"{"type":"error","error":{"type":"api_error","message":"oops"}}"#)),
        ("503", status(503, &[], "<html>Service Unavailable</html>")),
        ("529", status(529, &[], ANTHROPIC_529)),
        ("network", Reply::Network),
        ("no response head", Reply::Hang),
        ("a stall before the first byte", Reply::Answer { status: 200, headers: vec![], pieces: vec![Piece::Stall] }),
        ("a cut before the first byte", Reply::Answer { status: 200, headers: vec![], pieces: vec![Piece::Cut] }),
        ("an overloaded first event", stream(ANTHROPIC_OVERLOADED_FIRST)),
    ];
    for (what, reply) in cases {
        let fetch = FakeFetch { replies: RefCell::new(VecDeque::from([reply, stream(OPENAI_TEXT)])), ..Default::default() };
        let r = run(&fetch, &VirtualClock::default(), &two_models(1, 15_000));
        assert_eq!(r.hosts, ["a.test", "b.test"], "{what}");
        answered_by_b(&r);
    }
}

#[test]
fn client_errors_do_not_fall_through() {
    for (code, body) in [
        (400, ANTHROPIC_400),
        (401, r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#),
        (403, r#"{"type":"error","error":{"type":"permission_error","message":"no"}}"#),
    ] {
        let fetch = FakeFetch { replies: RefCell::new(VecDeque::from([status(code, &[], body)])), ..Default::default() };
        let r = run(&fetch, &VirtualClock::default(), &two_models(3, 15_000));
        assert_eq!(r.hosts, ["a.test"], "{code}");
        assert_eq!(types(&r.chunks), ["start", "error"]);
        assert!(matches!(r.step.outcome(), Some(Err(ProviderError::Http { status, .. })) if *status == code));
    }
}

#[test]
fn a_retry_after_within_the_budget_is_waited_for_on_the_same_model() {
    let fetch = FakeFetch {
        replies: RefCell::new(VecDeque::from([status(429, &[("retry-after", "2")], "{}"), stream(ANTHROPIC_TEXT)])),
        ..Default::default()
    };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &two_models(3, 5_000));
    assert_eq!(r.hosts, ["a.test", "a.test"]);
    assert_eq!(*clock.sleeps.borrow(), [2000]);
    assert!(r.step.outcome().is_some_and(|o| o.is_ok()));
}

#[test]
fn a_retry_after_over_the_budget_moves_on_without_waiting() {
    let fetch = FakeFetch {
        replies: RefCell::new(VecDeque::from([status(429, &[("retry-after", "17")], "{}"), stream(OPENAI_TEXT)])),
        ..Default::default()
    };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &two_models(3, 5_000));
    assert_eq!(r.hosts, ["a.test", "b.test"]);
    assert!(clock.sleeps.borrow().is_empty(), "{:?}", clock.sleeps.borrow());
    answered_by_b(&r);
}

#[test]
fn attempts_and_backoff_are_per_model_out_of_one_budget() {
    let fetch = FakeFetch {
        replies: RefCell::new(VecDeque::from([
            status(529, &[], ANTHROPIC_529),
            status(529, &[], ANTHROPIC_529),
            status(529, &[], ANTHROPIC_529),
            status(500, &[], OPENAI_500),
            stream(OPENAI_TEXT),
        ])),
        ..Default::default()
    };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &two_models(3, 60_000));
    assert_eq!(r.hosts, ["a.test", "a.test", "a.test", "b.test", "b.test"]);
    assert_eq!(*clock.sleeps.borrow(), [2000, 4000, 2000], "each model backs off from 2 s");
    answered_by_b(&r);

    // 7 s: model a spends 6 s; model b's first backoff (2 s) does not fit,
    // and it is the last model, so the step fails with its error.
    let fetch = FakeFetch {
        replies: RefCell::new(VecDeque::from([
            status(529, &[], ANTHROPIC_529),
            status(529, &[], ANTHROPIC_529),
            status(529, &[], ANTHROPIC_529),
            status(500, &[], OPENAI_500),
        ])),
        ..Default::default()
    };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &two_models(3, 7_000));
    assert_eq!(*clock.sleeps.borrow(), [2000, 4000]);
    assert_eq!(types(&r.chunks), ["start", "error"]);
    assert!(matches!(r.step.outcome(), Some(Err(ProviderError::Http { status: 500, provider: "openai", .. }))));
}

#[test]
fn after_the_first_byte_there_is_no_fallback() {
    // Model a streams a few frames, then breaks (or stalls): the client has
    // seen its text, so the step ends with an error and b is never called.
    for tail in [Piece::Cut, Piece::Stall] {
        let mut pieces = frames(ANTHROPIC_TEXT);
        pieces.truncate(4);
        pieces.push(tail);
        let fetch = FakeFetch {
            replies: RefCell::new(VecDeque::from([Reply::Answer { status: 200, headers: vec![], pieces }])),
            ..Default::default()
        };
        let r = run(&fetch, &VirtualClock::default(), &two_models(3, 15_000));
        assert_eq!(r.hosts, ["a.test"]);
        assert!(types(&r.chunks).contains(&"text-delta"));
        assert_eq!(&types(&r.chunks)[types(&r.chunks).len() - 3..], ["error", "finish-step", "finish"]);
        assert!(matches!(r.step.outcome(), Some(Err(ProviderError::Disconnected { .. } | ProviderError::Stalled { .. }))));
    }
}

#[test]
fn when_every_model_fails_the_step_fails_with_the_last_error() {
    let fetch = FakeFetch {
        replies: RefCell::new(VecDeque::from([status(529, &[], ANTHROPIC_529), status(500, &[], OPENAI_500)])),
        ..Default::default()
    };
    let r = run(&fetch, &VirtualClock::default(), &two_models(1, 15_000));
    assert_eq!(r.hosts, ["a.test", "b.test"]);
    assert_eq!(types(&r.chunks), ["start", "error"]);
    assert!(matches!(r.step.outcome(), Some(Err(ProviderError::Http { status: 500, provider: "openai", .. }))));
}

#[test]
fn models_that_never_answer_end_the_step_within_its_deadline() {
    let stall = 5_000u32;
    let settings = two_models(3, 15_000);
    let fetch = FakeFetch { replies: RefCell::new((0..2).map(|_| Reply::Hang).collect()), ..Default::default() };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &settings);
    // A stall is not retried on the same model (it already cost a stall
    // timeout); the next model gets its turn.
    assert_eq!(r.hosts, ["a.test", "b.test"]);
    assert!(matches!(r.step.outcome(), Some(Err(ProviderError::Stalled { .. }))));
    let bound = 2.0 * f64::from(settings.max_attempts) * 2.0 * f64::from(stall) + f64::from(settings.retry_budget_ms);
    assert!(clock.now_ms() <= bound, "{} ms > {bound} ms", clock.now_ms());

    // Network errors are retried per model until the budget runs out.
    let fetch = FakeFetch { replies: RefCell::new((0..6).map(|_| Reply::Network).collect()), ..Default::default() };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &settings);
    assert_eq!(r.hosts, ["a.test", "a.test", "a.test", "b.test", "b.test", "b.test"]);
    assert!(clock.now_ms() <= f64::from(settings.retry_budget_ms));
    assert!(matches!(r.step.outcome(), Some(Err(ProviderError::Network { .. }))));
}

#[test]
fn a_model_s_headers_are_sent_with_its_calls_only() {
    let mut settings = two_models(1, 15_000);
    settings.fallback[0].headers = RequestHeaders(vec![
        ("cf-aig-authorization".into(), "Bearer gateway".into()),
        ("authorization".into(), "Bearer replaced".into()),
    ]);
    let fetch = FakeFetch { replies: RefCell::new(VecDeque::from([Reply::Network, stream(OPENAI_TEXT)])), ..Default::default() };
    run(&fetch, &VirtualClock::default(), &settings);
    let requests = fetch.requests.borrow();
    let header = |i: usize, name: &str| {
        requests[i].headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).collect::<Vec<_>>()
    };
    assert!(header(0, "cf-aig-authorization").is_empty());
    assert_eq!(header(1, "cf-aig-authorization"), ["Bearer gateway"]);
    assert_eq!(header(1, "authorization"), ["Bearer replaced"], "replaced, not doubled");
    assert!(!format!("{settings:?}").contains("gateway"), "Debug shows no header value");
}
