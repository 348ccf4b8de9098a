//! The routes over in-memory IO: a virtual clock stepped by a small
//! executor, a scripted platform that records every request, a model API
//! that counts its calls, and a runtime that queues background work.

mod auth;
mod edge;
mod limits;
mod refusals;
mod turn;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::StreamExt;
use serde_json::{json, Value};

use super::*;
use crate::io::{FetchError, HttpRequest, HttpResponse, ResponseBody};
use crate::protocol::record::{AppendInput, ReadBatch, ReadEvent, SequencedRecord};

// ---- time and the executor ----

#[derive(Default)]
pub struct ClockState {
    now: Cell<f64>,
    timers: RefCell<Vec<(f64, Waker)>>,
    /// How many sleeps were started: a busy wait shows up here.
    pub sleeps: Cell<usize>,
}

#[derive(Clone, Default)]
pub struct VClock(pub Rc<ClockState>);

impl Clock for VClock {
    fn now_ms(&self) -> f64 {
        self.0.now.get()
    }
    async fn sleep(&self, ms: u32) {
        self.0.sleeps.set(self.0.sleeps.get() + 1);
        let deadline = self.0.now.get() + f64::from(ms);
        std::future::poll_fn(|cx| {
            if self.0.now.get() >= deadline {
                Poll::Ready(())
            } else {
                self.0.timers.borrow_mut().push((deadline, cx.waker().clone()));
                Poll::Pending
            }
        })
        .await
    }
}

impl VClock {
    /// Jumps to the next timer; false when there is none.
    fn advance(&self) -> bool {
        let next = self.0.timers.borrow().iter().map(|(t, _)| *t).fold(f64::INFINITY, f64::min);
        if !next.is_finite() {
            return false;
        }
        self.0.now.set(self.0.now.get().max(next));
        let due: Vec<Waker> = {
            let mut timers = self.0.timers.borrow_mut();
            let (due, rest) = timers.drain(..).partition(|(t, _)| *t <= next);
            *timers = rest;
            due.into_iter().map(|(_, w)| w).collect()
        };
        due.into_iter().for_each(Waker::wake);
        true
    }
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls `fut` to its end, stepping the virtual clock whenever nothing else
/// can move. A future that waits on nothing at all is a hang: it panics.
pub fn block_on<F: Future>(clock: &VClock, fut: F) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        if !flag.0.swap(false, Ordering::SeqCst) && !clock.advance() {
            panic!("stuck: pending with no timer and no wake-up");
        }
    }
    panic!("no end after a million polls");
}

// ---- the runtime ----

pub type Task = Pin<Box<dyn Future<Output = ()>>>;

#[derive(Clone, Default)]
pub struct TestRuntime {
    pub rng: Rc<Cell<u64>>,
    pub tasks: Rc<RefCell<Vec<Task>>>,
    pub logs: Rc<RefCell<Vec<String>>>,
    pub limiter: Option<Rc<dyn limit::RateLimiter>>,
}

impl Runtime for TestRuntime {
    fn spawn_background(&self, task: Task) {
        self.tasks.borrow_mut().push(task);
    }
    fn random_u64(&self) -> u64 {
        // xorshift64*: deterministic ids.
        let mut x = self.rng.get() | 1;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn now_secs(&self) -> u64 {
        1_800_000_000
    }
    fn log(&self, line: &str) {
        self.logs.borrow_mut().push(line.to_string());
    }
    fn limiter(&self) -> Option<&dyn limit::RateLimiter> {
        self.limiter.as_deref()
    }
}

impl TestRuntime {
    /// Runs the queued background work to its end.
    pub fn run_background(&self, clock: &VClock) {
        loop {
            let tasks: Vec<_> = self.tasks.borrow_mut().drain(..).collect();
            if tasks.is_empty() {
                return;
            }
            for task in tasks {
                block_on(clock, task);
            }
        }
    }
}

// ---- the platform and the model ----

pub struct Bytes(Option<Vec<u8>>);

impl ResponseBody for Bytes {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        self.0.take().map(Ok)
    }
}

/// A scripted platform: sessions are created (or fail with `create_status`
/// and `create_body`), `.out` takes S2 appends, `.in` takes appends, and a
/// `.out` read answers one agent chunk and the agent's turn-complete.
#[derive(Default)]
pub struct PlatformState {
    pub requests: RefCell<Vec<HttpRequest>>,
    pub create_status: Cell<Option<u16>>,
    pub create_body: RefCell<String>,
    /// What `.in`'s records read answers (inputs as JSON text, as the
    /// browser appended them).
    pub in_records: RefCell<Vec<String>>,
    /// The session create answers this long after it is asked, on this clock.
    pub create_delay: RefCell<Option<(VClock, u32)>>,
    /// `.out` appends that carry a control record fail (503).
    pub fail_control: Cell<bool>,
    /// `.in` appends of a `handover` fail (503).
    pub fail_handover: Cell<bool>,
    seq: Cell<u64>,
}

#[derive(Clone, Default)]
pub struct FakePlatform(pub Rc<PlatformState>);

fn reply(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> HttpResponse<Bytes> {
    HttpResponse {
        status,
        headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        body: Bytes(Some(body.into())),
    }
}

impl Fetch for FakePlatform {
    type Body = Bytes;
    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<Bytes>, FetchError> {
        self.0.requests.borrow_mut().push(request.clone());
        let url = request.url.as_str();
        let delay = self.0.create_delay.borrow().clone();
        if let Some((clock, ms)) = delay.filter(|_| request.method == "POST" && url.ends_with("/api/v1/sessions")) {
            clock.sleep(ms).await;
        }
        Ok(match request.method {
            "POST" if url.ends_with("/api/v1/sessions") => match self.0.create_status.get() {
                Some(status) => reply(status, &[], self.0.create_body.borrow().clone()),
                None => {
                    let created = json!({ "id": "session_1", "externalId": "c", "type": "chat.agent",
                        "taskIdentifier": "headstart-agent", "currentRunId": "run_1", "tags": [], "metadata": null,
                        "closedAt": null, "closedReason": null, "expiresAt": null, "createdAt": "2026-08-22T10:00:00.000Z",
                        "updatedAt": "2026-08-22T10:00:00.000Z", "runId": "run_1", "publicAccessToken": "pat_1", "isCached": false });
                    reply(200, &[], created.to_string())
                }
            },
            "PUT" => reply(
                200,
                &[
                    ("x-s2-access-token", "s2token"),
                    ("x-s2-basin", "headstart-test"),
                    ("x-s2-stream-name", "out"),
                    ("x-s2-endpoint", "http://s2.test/v1"),
                ],
                r#"{"version":"v2"}"#,
            ),
            "POST" if url.starts_with("http://s2.test/") => {
                let input = serde_json::from_str::<AppendInput>(&request.body).ok();
                if self.0.fail_control.get() && input.iter().flat_map(|b| &b.records).any(|r| !r.headers.is_empty()) {
                    return Ok(reply(503, &[], r#"{"error":"unavailable"}"#));
                }
                let n = input.map_or(0, |b| b.records.len() as u64);
                let start = self.0.seq.get();
                self.0.seq.set(start + n);
                let pos = |s: u64| json!({ "seq_num": s, "timestamp": 1 });
                reply(200, &[], json!({ "start": pos(start), "end": pos(start + n), "tail": pos(start + n) }).to_string())
            }
            "POST" if url.ends_with("/in/append") => {
                if self.0.fail_handover.get() && request.body.contains(r#""kind":"handover""#) {
                    return Ok(reply(503, &[], r#"{"error":"unavailable"}"#));
                }
                reply(200, &[], r#"{"ok":true}"#)
            }
            "GET" if url.ends_with("/in/records") => {
                let records: Vec<Value> = self
                    .0
                    .in_records
                    .borrow()
                    .iter()
                    .enumerate()
                    .map(|(i, data)| json!({ "data": data, "id": format!("in{i}"), "seqNum": i, "headers": [] }))
                    .collect();
                reply(200, &[], json!({ "records": records }).to_string())
            }
            "GET" => {
                let from = self.0.seq.get() + 10;
                let agent = json!({ "data": { "type": "text-delta", "id": "t9", "delta": "from the agent" }, "id": "agent1" });
                let records = vec![
                    SequencedRecord { seq_num: from, timestamp: 1, headers: vec![], body: agent.to_string() },
                    SequencedRecord {
                        seq_num: from + 1,
                        timestamp: 1,
                        headers: vec![("trigger-control".into(), "turn-complete".into())],
                        body: String::new(),
                    },
                ];
                let sse = ReadEvent::Batch(ReadBatch { records, tail: None }).to_sse((0, 0));
                reply(200, &[("x-stream-version", "v2"), ("content-type", "text/event-stream")], sse)
            }
            _ => reply(404, &[], "{}"),
        })
    }
}

impl FakePlatform {
    pub fn count(&self) -> usize {
        self.0.requests.borrow().len()
    }
    /// The `kind`s appended to `.in`.
    pub fn in_kinds(&self) -> Vec<String> {
        let requests = self.0.requests.borrow();
        let appends = requests.iter().filter(|r| r.url.ends_with("/in/append"));
        appends.filter_map(|r| serde_json::from_str::<Value>(&r.body).ok()?.get("kind")?.as_str().map(str::to_string)).collect()
    }
}

/// How the tool host (`https://tools.example/`) answers edge tools.
#[derive(Debug, Clone, Default)]
pub enum ToolHost {
    /// Connection refused.
    #[default]
    Offline,
    /// Status, content type, body.
    Answer(u16, &'static str, String),
    /// Never answers.
    Hang,
}

/// A model API that counts calls and refuses them all (the routes' tests
/// that reach a model use the scripted one); requests to the tool host are
/// answered as [`ToolHost`] says, and kept.
#[derive(Clone, Default)]
pub struct CountingModel(pub Rc<Cell<usize>>, pub Rc<RefCell<ToolHost>>, pub Rc<RefCell<Vec<HttpRequest>>>);

impl Fetch for CountingModel {
    type Body = Bytes;
    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<Bytes>, FetchError> {
        if request.url.starts_with("https://tools.example/") {
            self.2.borrow_mut().push(request.clone());
            let host = self.1.borrow().clone();
            return match host {
                ToolHost::Offline => Err(FetchError("connection refused".into())),
                ToolHost::Answer(status, content_type, body) => Ok(reply(status, &[("content-type", content_type)], body)),
                ToolHost::Hang => std::future::pending().await,
            };
        }
        self.0.set(self.0.get() + 1);
        Err(FetchError("the test model API is offline".into()))
    }
}

// ---- request bodies ----

/// A body in pieces, as a chunked upload; counts the pieces read.
pub struct Chunked {
    pub pieces: Vec<Vec<u8>>,
    pub read: Rc<Cell<usize>>,
}

impl RequestBody for Chunked {
    async fn read(self, max: usize) -> Result<Vec<u8>, BodyError> {
        let read = self.read.clone();
        let pieces = futures_util::stream::iter(self.pieces).inspect(move |_| read.set(read.get() + 1)).map(Ok);
        read_capped(pieces, max).await
    }
}

// ---- the harness ----

pub type TestRoutes = Routes<FakePlatform, CountingModel, VClock, TestRuntime>;

pub struct Harness {
    pub routes: TestRoutes,
    pub platform: FakePlatform,
    pub model: CountingModel,
    pub clock: VClock,
    pub runtime: TestRuntime,
}

/// The worker's configuration for `vars` (on top of a scripted model that
/// answers at once and a 1 KiB body cap unless set).
pub fn harness(vars: &[(&str, &str)]) -> Harness {
    harness_with(vars, |_| {})
}

/// [`harness`] with the configuration edited after it is read.
pub fn harness_with(vars: &[(&str, &str)], edit: impl FnOnce(&mut RoutesConfig)) -> Harness {
    let mut all: Vec<(&str, &str)> = vec![
        ("HEADSTART_LOCAL", "1"),
        ("HEADSTART_SCRIPTED_TTFB_MS", "20"),
        ("HEADSTART_SCRIPTED_TOKEN_MS", "5"),
        ("HEADSTART_MAX_BODY_BYTES", "1024"),
    ];
    all.extend_from_slice(vars);
    let var = |name: &str| all.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
    let mut config = RoutesConfig::from_vars(var, "https://app.example").expect("test config");
    edit(&mut config);
    let (platform, model, clock, mut runtime): (FakePlatform, CountingModel, VClock, TestRuntime) = Default::default();
    // As the bindings do: the in-memory limiter at the configured rate.
    runtime.limiter = config
        .rate_limit
        .map(|rate| Rc::new(limit::MemoryLimiter::new(rate, limit::DEFAULT_MAX_KEYS)) as Rc<dyn limit::RateLimiter>);
    let routes = Routes::new(
        Rc::new(config),
        FakePlatform::clone(&platform),
        CountingModel::clone(&model),
        VClock::clone(&clock),
        TestRuntime::clone(&runtime),
    );
    Harness { routes, platform, model, clock, runtime }
}

/// The same harness with an HTTP model (whose calls the counter sees).
pub fn harness_http_model() -> Harness {
    harness(&[("HEADSTART_PROVIDER", "anthropic"), ("ANTHROPIC_API_KEY", "sk-test")])
}

pub fn post(path: &str, body: impl Into<Vec<u8>>) -> RouteRequest<Vec<u8>> {
    RouteRequest {
        method: "POST".into(),
        url: format!("https://app.example{path}"),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.into(),
    }
}

pub fn user(text: &str) -> Value {
    json!([{ "id": "u1", "role": "user", "parts": [{ "type": "text", "text": text }] }])
}

impl Harness {
    pub fn handle<B: RequestBody>(&self, req: RouteRequest<B>) -> RouteResponse {
        block_on(&self.clock, self.routes.handle(req))
    }

    /// The whole SSE body, as text.
    pub fn read_sse(&self, response: RouteResponse) -> String {
        let RouteBody::Sse(stream) = response.body else { panic!("not SSE: {response:?}") };
        let pieces: Vec<Vec<u8>> = block_on(&self.clock, stream.collect());
        String::from_utf8(pieces.concat()).unwrap()
    }

    pub fn fetches(&self) -> usize {
        self.platform.count() + self.model.0.get()
    }
}

/// The JSON body of an answer.
pub fn json_of(response: &RouteResponse) -> Value {
    match &response.body {
        RouteBody::Json(text) => serde_json::from_str(text).unwrap(),
        other => panic!("not JSON: {other:?}"),
    }
}
