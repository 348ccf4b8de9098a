//! The step driver over in-memory IO with a virtual clock: retries before
//! streaming, stalls, cut connections, abort by drop, and the scripted model
//! played at its own pace. No sockets, no sleeps.

mod common;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::Context;

use headstart::io::{Clock, Fetch, FetchError, HttpRequest, HttpResponse, ResponseBody};
use headstart::protocol::message::FinishReason;
use headstart::protocol::UiChunk;
use headstart::provider::config::{Model, ModelSettings};
use headstart::provider::run::run_step;
use headstart::provider::scripted::ScriptedConfig;
use headstart::provider::step::Step;
use headstart::provider::{HttpProviderConfig, ProviderError};
use serde_json::Value;

/// A clock whose sleeps return at once and advance virtual time, unless
/// frozen (then they never return).
#[derive(Default)]
struct VirtualClock {
    now: Cell<f64>,
    sleeps: RefCell<Vec<u32>>,
    frozen: Cell<bool>,
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> f64 {
        self.now.get()
    }
    async fn sleep(&self, ms: u32) {
        if self.frozen.get() {
            std::future::pending::<()>().await;
        }
        self.sleeps.borrow_mut().push(ms);
        self.now.set(self.now.get() + f64::from(ms));
    }
}

#[derive(Clone)]
enum Piece {
    Bytes(Vec<u8>),
    Fail,
    Stall,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    pieces: Vec<Piece>,
}

#[derive(Default)]
struct FakeFetch {
    replies: RefCell<Vec<Result<Reply, FetchError>>>,
    requests: RefCell<Vec<HttpRequest>>,
    dropped_bodies: Rc<Cell<u32>>,
}

struct FakeBody {
    pieces: std::vec::IntoIter<Piece>,
    dropped: Rc<Cell<u32>>,
}

impl Drop for FakeBody {
    fn drop(&mut self) {
        self.dropped.set(self.dropped.get() + 1);
    }
}

impl ResponseBody for FakeBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        match self.pieces.next()? {
            Piece::Bytes(b) => Some(Ok(b)),
            Piece::Fail => Some(Err(FetchError("connection reset".into()))),
            Piece::Stall => std::future::pending().await,
        }
    }
}

impl Fetch for FakeFetch {
    type Body = FakeBody;
    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<FakeBody>, FetchError> {
        self.requests.borrow_mut().push(request.clone());
        let reply = self.replies.borrow_mut().remove(0)?;
        Ok(HttpResponse {
            status: reply.status,
            headers: reply.headers,
            body: FakeBody { pieces: reply.pieces.into_iter(), dropped: self.dropped_bodies.clone() },
        })
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let dir = common::fixtures("providers").join("anthropic");
    std::fs::read(dir.join(format!("{name}.sse"))).or_else(|_| std::fs::read(dir.join(format!("{name}.body.json")))).unwrap()
}

fn ok(name: &str) -> Result<Reply, FetchError> {
    // Frame by frame, as a server flushes them.
    let body = fixture(name);
    let text = String::from_utf8(body).unwrap();
    let pieces = text.split_inclusive("\n\n").map(|f| Piece::Bytes(f.as_bytes().to_vec())).collect();
    Ok(Reply { status: 200, headers: vec![], pieces })
}

fn status(code: u16, headers: &[(&str, &str)], name: &str) -> Result<Reply, FetchError> {
    Ok(Reply {
        status: code,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        pieces: vec![Piece::Bytes(fixture(name))],
    })
}

fn anthropic() -> ModelSettings {
    ModelSettings {
        model: Model::Anthropic(HttpProviderConfig {
            base_url: "http://model.test/v1".into(),
            api_key: "k".into(),
            model: "m".into(),
        }),
        stall_timeout_ms: 5_000,
        ..ModelSettings::scripted()
    }
}

fn user(text: &str) -> Vec<headstart::protocol::ModelMessage> {
    serde_json::from_value(serde_json::json!([{ "role": "user", "content": [{ "type": "text", "text": text }] }])).unwrap()
}

struct Run {
    chunks: Vec<Value>,
    step: Step,
}

fn run(fetch: &FakeFetch, clock: &VirtualClock, settings: &ModelSettings, text: &str) -> Run {
    let options = settings.call(user(text));
    let mut step = Step::new("m1", &options.tools);
    let mut chunks = Vec::new();
    futures_executor::block_on(run_step(fetch, clock, settings, &options, &mut step, &mut |c: UiChunk| {
        chunks.push(serde_json::to_value(&c).unwrap())
    }));
    assert!(step.is_done());
    Run { chunks, step }
}

fn types(chunks: &[Value]) -> Vec<&str> {
    chunks.iter().map(|c| c["type"].as_str().unwrap()).collect()
}

#[test]
fn a_clean_stream_resolves_without_waiting() {
    let fetch = FakeFetch { replies: RefCell::new(vec![ok("text")]), ..Default::default() };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &anthropic(), "hi");
    assert_eq!(r.step.outcome().unwrap().as_ref().unwrap().finish_reason, FinishReason::Stop);
    assert_eq!(types(&r.chunks).last(), Some(&"finish"));
    assert!(clock.sleeps.borrow().is_empty());
    assert_eq!(fetch.requests.borrow()[0].url, "http://model.test/v1/messages");
}

#[test]
fn rate_limits_are_retried_after_retry_after_before_anything_is_shown() {
    let fetch = FakeFetch {
        replies: RefCell::new(vec![status(429, &[("retry-after", "2")], "http-429-rate-limit"), ok("text")]),
        ..Default::default()
    };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &anthropic(), "hi");
    assert_eq!(*clock.sleeps.borrow(), [2000]);
    assert!(!types(&r.chunks).contains(&"error"), "{:?}", types(&r.chunks));
    assert!(r.step.outcome().unwrap().is_ok());
}

#[test]
fn an_overloaded_first_event_is_retried_too() {
    let fetch = FakeFetch { replies: RefCell::new(vec![ok("error-event-first"), ok("text")]), ..Default::default() };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &anthropic(), "hi");
    assert_eq!(fetch.requests.borrow().len(), 2);
    assert!(r.step.outcome().unwrap().is_ok());
}

#[test]
fn server_errors_give_up_after_the_attempts_with_backoff() {
    let replies = (0..3).map(|_| status(500, &[], "http-500-api-error")).collect();
    let fetch = FakeFetch { replies: RefCell::new(replies), ..Default::default() };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &anthropic(), "hi");
    assert_eq!(*clock.sleeps.borrow(), [2000, 4000]);
    assert_eq!(types(&r.chunks), ["start", "error"]);
    assert!(matches!(r.step.outcome().unwrap(), Err(ProviderError::Http { status: 500, .. })));
}

#[test]
fn client_errors_are_not_retried() {
    let fetch = FakeFetch { replies: RefCell::new(vec![status(400, &[], "http-400-invalid-request")]), ..Default::default() };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &anthropic(), "hi");
    assert_eq!(fetch.requests.borrow().len(), 1);
    assert!(
        matches!(r.step.outcome().unwrap(), Err(ProviderError::Http { status: 400, message, .. }) if message.contains("prompt is too long"))
    );
}

#[test]
fn a_stall_mid_stream_ends_well_formed() {
    let Ok(mut reply) = ok("text") else { unreachable!() };
    reply.pieces.truncate(4);
    reply.pieces.push(Piece::Stall);
    let fetch = FakeFetch { replies: RefCell::new(vec![Ok(reply)]), ..Default::default() };
    let clock = VirtualClock::default();
    let r = run(&fetch, &clock, &anthropic(), "hi");
    assert_eq!(&types(&r.chunks)[types(&r.chunks).len() - 3..], ["error", "finish-step", "finish"]);
    assert_eq!(r.chunks.last().unwrap()["finishReason"], "error");
    assert!(matches!(r.step.outcome().unwrap(), Err(ProviderError::Stalled { after_ms: 5000, .. })));
    assert_eq!(fetch.dropped_bodies.get(), 1);
}

#[test]
fn a_cut_connection_ends_well_formed() {
    let Ok(mut reply) = ok("text") else { unreachable!() };
    reply.pieces.truncate(5);
    reply.pieces.push(Piece::Fail);
    let fetch = FakeFetch { replies: RefCell::new(vec![Ok(reply)]), ..Default::default() };
    let r = run(&fetch, &VirtualClock::default(), &anthropic(), "hi");
    assert_eq!(types(&r.chunks).last(), Some(&"finish"));
    assert!(matches!(r.step.outcome().unwrap(), Err(ProviderError::Disconnected { .. })));
}

#[test]
fn a_line_that_never_ends_fails_the_call_at_the_sse_limit() {
    let Ok(mut reply) = ok("text") else { unreachable!() };
    reply.pieces.truncate(4);
    // 9 MiB without a line end, then silence: the call must fail at the
    // 8 MiB line limit, not buffer until the stall timeout.
    reply.pieces.extend(std::iter::repeat_n(Piece::Bytes(vec![b'x'; 1 << 20]), 9));
    reply.pieces.push(Piece::Stall);
    let fetch = FakeFetch { replies: RefCell::new(vec![Ok(reply)]), ..Default::default() };
    let r = run(&fetch, &VirtualClock::default(), &anthropic(), "hi");
    assert_eq!(&types(&r.chunks)[types(&r.chunks).len() - 3..], ["error", "finish-step", "finish"]);
    assert!(
        matches!(r.step.outcome().unwrap(), Err(ProviderError::Malformed { detail, .. }) if detail.contains("SseLimits::max_line")),
        "{:?}",
        r.step.outcome()
    );
    assert_eq!(fetch.dropped_bodies.get(), 1);
}

#[test]
fn dropping_the_step_drops_the_body_which_aborts_the_request() {
    let Ok(mut reply) = ok("text") else { unreachable!() };
    reply.pieces.truncate(3);
    reply.pieces.push(Piece::Stall);
    let fetch = FakeFetch { replies: RefCell::new(vec![Ok(reply)]), ..Default::default() };
    let clock = VirtualClock { frozen: Cell::new(true), ..Default::default() };
    let settings = anthropic();
    let options = settings.call(user("hi"));
    let mut step = Step::new("m1", &options.tools);
    let mut chunks = Vec::new();
    {
        let mut emit = |c: UiChunk| chunks.push(c);
        let mut fut = pin!(run_step(&fetch, &clock, &settings, &options, &mut step, &mut emit));
        let waker = futures_util::task::noop_waker();
        assert!(fut.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        assert_eq!(fetch.dropped_bodies.get(), 0);
    }
    assert_eq!(fetch.dropped_bodies.get(), 1, "the body went with the future");
    assert!(!step.is_done());
    let closing = step.abort(Some("client disconnected".into()));
    assert_eq!(
        serde_json::to_value(&closing).unwrap(),
        serde_json::json!([{ "type": "abort", "reason": "client disconnected" }])
    );
    assert!(matches!(step.outcome().unwrap(), Err(ProviderError::Aborted)));
    assert!(!chunks.is_empty());
}

#[test]
fn the_scripted_model_plays_at_its_pace() {
    let settings = ModelSettings {
        model: Model::Scripted(ScriptedConfig { ttfb_ms: 400, token_ms: 20, fault: None }),
        ..ModelSettings::scripted()
    };
    let clock = VirtualClock::default();
    let r = run(&FakeFetch::default(), &clock, &settings, "What's the weather in Paris and Tokyo?");
    assert_eq!(clock.sleeps.borrow()[0], 400);
    let result = r.step.outcome().unwrap().as_ref().unwrap();
    assert!(result.wants_tools());
    assert_eq!(types(&r.chunks).iter().filter(|t| **t == "tool-input-available").count(), 2);
    assert_eq!(result.response_messages.len(), 1);
}

#[test]
fn scripted_faults_stall_or_fail_with_retries() {
    let settings = ModelSettings { stall_timeout_ms: 1000, ..ModelSettings::scripted() };
    let clock = VirtualClock::default();
    let r = run(&FakeFetch::default(), &clock, &settings, "tell me a story [fault:stall]");
    assert_eq!(*clock.sleeps.borrow().last().unwrap(), 1000);
    assert!(matches!(r.step.outcome().unwrap(), Err(ProviderError::Stalled { .. })));

    let clock = VirtualClock::default();
    let r = run(&FakeFetch::default(), &clock, &settings, "hi [fault:http-429]");
    assert_eq!(clock.sleeps.borrow()[1..], [1000, 1000]);
    assert_eq!(types(&r.chunks), ["start", "error"]);

    let r = run(&FakeFetch::default(), &VirtualClock::default(), &settings, "tell me a story [fault:error]");
    assert_eq!(r.chunks.last().unwrap()["finishReason"], "error");
    assert_eq!(r.step.outcome().unwrap().as_ref().unwrap().finish_reason, FinishReason::Error);
}
