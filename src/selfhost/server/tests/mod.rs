//! The session object on the host: the real server over
//! [`MemSessionStore`], a virtual clock, runs on a local executor that a
//! "restart" drops (as a Durable Object restart kills its tasks).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use futures_executor::{LocalPool, LocalSpawner};
use futures_util::task::LocalSpawnExt;
use futures_util::{FutureExt, StreamExt};
use serde_json::{json, Value};

use super::{Host, Server, ServerBody, ServerRequest, ServerResponse, Settings};
use crate::agent::run::AgentConfig;
use crate::agent::tools::ToolRegistry;
use crate::io::{Clock, Fetch, FetchError, HttpRequest, HttpResponse, ResponseBody};
use crate::protocol::record::{AppendInput, AppendRecord, OutEnvelope, ReadBatch, SequencedRecord};
use crate::protocol::UiChunk;
use crate::provider::config::{Model, ModelSettings};
use crate::provider::scripted::ScriptedConfig;
use crate::selfhost::ids::splitmix64;
use crate::selfhost::mem_store::MemSessionStore;

mod faults;
mod turn;

pub const T0: u64 = 1_755_856_800_000;
pub const SECRET: &str = "tr_test_secret";
pub const CHAT: &str = "chat_1";

/// A clock that moves only when the test says so.
#[derive(Default)]
pub struct SimClock {
    now: Cell<f64>,
    timers: RefCell<Vec<(f64, Waker)>>,
}

impl Clock for SimClock {
    fn now_ms(&self) -> f64 {
        self.now.get()
    }

    async fn sleep(&self, ms: u32) {
        let deadline = self.now.get() + f64::from(ms);
        std::future::poll_fn(|cx| {
            if self.now.get() >= deadline {
                return Poll::Ready(());
            }
            self.timers.borrow_mut().push((deadline, cx.waker().clone()));
            Poll::Pending
        })
        .await
    }
}

pub struct NoNet;
pub struct NoBody;
impl ResponseBody for NoBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        None
    }
}
impl Fetch for NoNet {
    type Body = NoBody;
    async fn fetch(&self, _: &HttpRequest) -> Result<HttpResponse<NoBody>, FetchError> {
        Err(FetchError("no network in this test".into()))
    }
}

pub struct Shared {
    clock: SimClock,
    rng: RefCell<Box<dyn FnMut() -> u64>>,
    spawner: RefCell<Option<LocalSpawner>>,
    pub aliases: RefCell<HashMap<String, String>>,
    pub logs: RefCell<Vec<String>>,
    /// Whether runs start (a misconfigured agent starts none).
    agent: Cell<bool>,
}

pub struct TestHost {
    shared: Rc<Shared>,
    settings: Settings,
}

impl Host for TestHost {
    type Fetch = NoNet;
    type Clock = SimClock;

    fn now_ms(&self) -> u64 {
        T0 + self.shared.clock.now_ms() as u64
    }
    fn random_u64(&self) -> u64 {
        (self.shared.rng.borrow_mut())()
    }
    fn spawn_local(&self, task: Pin<Box<dyn Future<Output = ()>>>) {
        if let Some(s) = self.shared.spawner.borrow().as_ref() {
            s.spawn_local(task).expect("the pool is alive");
        }
    }
    fn settings(&self) -> &Settings {
        &self.settings
    }
    fn agent_config(&self) -> Result<AgentConfig, String> {
        if !self.shared.agent.get() {
            return Err("agent disabled in this test".into());
        }
        let model = ModelSettings {
            model: Model::Scripted(ScriptedConfig { ttfb_ms: 0, token_ms: 0, fault: None }),
            ..ModelSettings::scripted()
        };
        Ok(AgentConfig::new(model, ToolRegistry::default()))
    }
    async fn register_alias(&self, session_id: &str, chat_id: &str) -> Result<(), String> {
        self.shared.aliases.borrow_mut().insert(session_id.into(), chat_id.into());
        Ok(())
    }
    fn agent_fetch(&self) -> &NoNet {
        &NoNet
    }
    fn clock(&self) -> &SimClock {
        &self.shared.clock
    }
    fn log(&self, message: &str) {
        self.shared.logs.borrow_mut().push(message.to_string());
    }
}

/// One session object and its world.
pub struct Sim {
    pool: LocalPool,
    pub shared: Rc<Shared>,
    pub store: MemSessionStore,
    pub server: Server<MemSessionStore, TestHost>,
}

impl Sim {
    pub fn new() -> Self {
        Self::with_agent(true)
    }

    pub fn with_agent(agent: bool) -> Self {
        let pool = LocalPool::new();
        let shared = Rc::new(Shared {
            clock: SimClock::default(),
            rng: RefCell::new(Box::new(splitmix64(7))),
            spawner: RefCell::new(Some(pool.spawner())),
            aliases: RefCell::default(),
            logs: RefCell::default(),
            agent: Cell::new(agent),
        });
        let store = MemSessionStore::default();
        let server = Server::new(store.clone(), host(&shared));
        Self { pool, shared, store, server }
    }

    /// The object restarts: its tasks die, a new server opens the same store.
    pub fn restart(&mut self) {
        let pool = LocalPool::new();
        *self.shared.spawner.borrow_mut() = Some(pool.spawner());
        self.server = Server::new(self.store.clone(), host(&self.shared));
        self.pool = pool; // drops the old pool and with it the old runs
    }

    /// Runs every task until all wait.
    pub fn settle(&mut self) {
        self.pool.run_until_stalled();
    }

    /// Moves the clock by `ms`, firing timers on the way.
    pub fn advance(&mut self, ms: u32) {
        let end = self.shared.clock.now.get() + f64::from(ms);
        loop {
            self.settle();
            let next = self.shared.clock.timers.borrow().iter().map(|(d, _)| *d).fold(f64::INFINITY, f64::min);
            if next > end {
                break;
            }
            self.shared.clock.now.set(next.max(self.shared.clock.now.get()));
            let due: Vec<Waker> = {
                let mut timers = self.shared.clock.timers.borrow_mut();
                let (due, rest): (Vec<_>, Vec<_>) = timers.drain(..).partition(|(d, _)| *d <= next);
                *timers = rest;
                due.into_iter().map(|(_, w)| w).collect()
            };
            due.into_iter().for_each(Waker::wake);
        }
        self.shared.clock.now.set(end);
        self.settle();
    }

    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> ServerResponse {
        let mut h: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        if !body.is_empty() {
            h.push(("content-length".into(), body.len().to_string()));
        }
        let req =
            ServerRequest { method: method.into(), url: format!("https://platform.test{path}"), headers: h, body: body.into() };
        let response = self.pool.run_until(self.server.handle(req));
        self.settle();
        response
    }

    /// A request with the secret key.
    pub fn secret(&mut self, method: &str, path: &str, body: &str) -> ServerResponse {
        self.send(method, path, &[("authorization", &format!("Bearer {SECRET}"))], body)
    }

    pub fn create(&mut self) -> ServerResponse {
        self.secret("POST", "/api/v1/sessions", &create_body())
    }

    pub fn append_in(&mut self, part_id: &str, body: &str) -> ServerResponse {
        let auth = format!("Bearer {SECRET}");
        self.send(
            "POST",
            &format!("/realtime/v1/sessions/{CHAT}/in/append"),
            &[("authorization", &auth), ("x-part-id", part_id)],
            body,
        )
    }

    pub fn s2_append_out(&mut self, chunks: &[Value]) -> ServerResponse {
        let records = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let chunk: UiChunk = serde_json::from_value(c.clone()).unwrap();
                AppendRecord::data(OutEnvelope { data: chunk, id: format!("r{i}") }.to_json())
            })
            .collect();
        let body = serde_json::to_string(&AppendInput { records, ..AppendInput::default() }).unwrap();
        self.secret("POST", &format!("/s2/v1/streams/sessions%2F{CHAT}%2Fout/records"), &body)
    }

    /// The SSE events a read has ready now, without waiting.
    pub fn events_now(&mut self, response: &mut ServerResponse, max: usize) -> Vec<String> {
        let ServerBody::Events(events) = &mut response.body else { panic!("not an SSE body: {response:?}") };
        let mut out = Vec::new();
        while out.len() < max {
            self.settle();
            match events.next().now_or_never() {
                Some(Some(e)) => out.push(e),
                _ => break,
            }
        }
        out
    }
}

fn host(shared: &Rc<Shared>) -> TestHost {
    let settings = Settings {
        secret_key: SECRET.into(),
        signing_key: b"signing".to_vec(),
        env_id: "env_test".into(),
        create_delay_ms: None,
        webhook_url: None,
    };
    TestHost { shared: shared.clone(), settings }
}

pub fn create_body() -> String {
    json!({
        "type": "chat.agent", "externalId": CHAT, "taskIdentifier": "chat",
        "triggerConfig": { "basePayload": {
            "chatId": CHAT, "trigger": "handover-prepare",
            "headStartMessages": [{ "id": "u1", "role": "user", "parts": [{ "type": "text", "text": "Weather in Paris?" }] }]
        } }
    })
    .to_string()
}

/// The route handler's handover after a step 1 that called a tool.
pub fn handover() -> String {
    json!({ "kind": "handover", "messageId": "M1", "isFinal": false, "partialAssistantMessage": [
        { "role": "assistant", "content": [
            { "type": "text", "text": "Let me check." },
            { "type": "tool-call", "toolCallId": "c1", "toolName": "get_weather", "input": { "city": "Paris" } },
            { "type": "tool-approval-request", "approvalId": "a1", "toolCallId": "c1" }
        ] },
        { "role": "tool", "content": [{ "type": "tool-approval-response", "approvalId": "a1", "approved": true }] }
    ] })
    .to_string()
}

/// Step 1 as the route handler streams it to `.out`.
pub fn step_one() -> Vec<Value> {
    vec![
        json!({ "type": "start", "messageId": "M1" }),
        json!({ "type": "text-start", "id": "t1" }),
        json!({ "type": "text-delta", "id": "t1", "delta": "Let me check." }),
    ]
}

pub fn body_json(r: &ServerResponse) -> Value {
    serde_json::from_str(r.body_text().expect("a text body")).unwrap_or(Value::Null)
}

/// The records of SSE `batch` events.
pub fn batch_records(events: &[String]) -> Vec<SequencedRecord> {
    events
        .iter()
        .filter(|e| e.starts_with("event: batch"))
        .flat_map(|e| {
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            serde_json::from_str::<ReadBatch>(data).unwrap().records
        })
        .collect()
}
