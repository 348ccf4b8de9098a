//! An in-memory session and a virtual clock for running the reference agent
//! in host tests.

use std::cell::{Cell, RefCell};

use headstart::agent::run::{InputRecord, RunState, Session};
use headstart::io::{Clock, Fetch, FetchError, HttpRequest, HttpResponse, ResponseBody};
use headstart::protocol::input::ChatInput;
use headstart::protocol::message::UiMessage;
use headstart::protocol::record::Header;
use headstart::protocol::UiChunk;
use serde_json::Value;

#[derive(Default)]
pub struct Now(pub Cell<f64>);
impl Clock for Now {
    fn now_ms(&self) -> f64 {
        self.0.get()
    }
    async fn sleep(&self, ms: u32) {
        self.0.set(self.0.get() + f64::from(ms));
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

#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Chunk(Value),
    Control(Vec<Header>),
    Trim(u64),
}

#[derive(Default)]
pub struct MemSession {
    pub input: RefCell<Vec<(u64, ChatInput)>>,
    pub out: RefCell<Vec<Out>>,
    pub states: RefCell<Vec<RunState>>,
    pub saved: RefCell<(Vec<UiMessage>, Option<u64>)>,
    pub hooks: RefCell<Vec<Value>>,
    pub ids: Cell<u32>,
}

impl MemSession {
    pub fn with_input(inputs: Vec<Value>) -> Self {
        let s = Self::default();
        for (i, v) in inputs.into_iter().enumerate() {
            s.input.borrow_mut().push((i as u64, serde_json::from_value(v).unwrap()));
        }
        s
    }
    pub fn types(&self) -> Vec<String> {
        self.out
            .borrow()
            .iter()
            .map(|o| match o {
                Out::Chunk(c) => c["type"].as_str().unwrap().to_string(),
                Out::Control(h) => format!("control:{}", h[0].1),
                Out::Trim(s) => format!("trim:{s}"),
            })
            .collect()
    }
}

impl Session for MemSession {
    async fn next_input(&self, after: Option<u64>, _timeout_ms: u32) -> Option<InputRecord> {
        let input = self.input.borrow();
        input
            .iter()
            .find(|(seq, _)| after.is_none_or(|a| *seq > a))
            .map(|(seq, input)| InputRecord { seq: *seq, input: input.clone() })
    }
    fn write(&self, chunk: &UiChunk) -> u64 {
        self.out.borrow_mut().push(Out::Chunk(serde_json::to_value(chunk).unwrap()));
        self.out.borrow().len() as u64 - 1
    }
    fn control(&self, headers: Vec<Header>) -> u64 {
        self.out.borrow_mut().push(Out::Control(headers));
        self.out.borrow().len() as u64 - 1
    }
    fn trim_out(&self, first_kept: u64) {
        self.out.borrow_mut().push(Out::Trim(first_kept));
    }
    fn access_token(&self) -> Option<String> {
        Some("pat".into())
    }
    fn set_state(&self, state: RunState) {
        self.states.borrow_mut().push(state);
    }
    fn load(&self) -> (Vec<UiMessage>, Option<u64>) {
        self.saved.borrow().clone()
    }
    fn save(&self, messages: &[UiMessage], consumed: Option<u64>) {
        *self.saved.borrow_mut() = (messages.to_vec(), consumed);
    }
    fn new_id(&self) -> String {
        self.ids.set(self.ids.get() + 1);
        format!("id{}", self.ids.get())
    }
    async fn hook(&self, event: Value) {
        self.hooks.borrow_mut().push(event);
    }
}
