//! One run of the reference agent: the agent side of the protocol
//! (PROTOCOL.md §7, §8.3) over a [`Session`] — the chat's streams and
//! storage, which the Durable Object provides and tests fake in memory.
//!
//! Modes, chosen by the run payload's `trigger`: `handover-prepare` waits
//! for the route handler's `handover` (or `handover-skip`) and finishes that
//! turn; `preload` fires `onPreload` and waits for the first message; a
//! continuation picks up the queue after the last consumed record. Every
//! turn ends with a `turn-complete` control record; a `stop` aborts the
//! turn's model call.

use std::cell::{Cell, RefCell};
use std::pin::pin;

use futures_util::future::{select, Either};
use serde_json::{json, Value};

use super::handover::{synthesize, without_approvals};
use super::tools::{run_calls, tool_calls, ToolCall, ToolRegistry};
use super::transcript::{merge_objects, MessageBuilder};
use crate::io::{Clock, Fetch};
use crate::protocol::chunk::{Abort, ErrorChunk, Finish, Start};
use crate::protocol::convert::{convert_to_model_messages, ConvertOptions};
use crate::protocol::handover::EDGE_TURN_COMPLETE;
use crate::protocol::input::{ChatInput, Handover};
use crate::protocol::json::Object;
use crate::protocol::message::{FinishReason, Role, UiMessage};
use crate::protocol::model::{ModelMessage, ModelPart};
use crate::protocol::record::{Header, TurnComplete};
use crate::protocol::timeline::{self, AgentMarks, EdgeMarks};
use crate::protocol::UiChunk;
use crate::provider::config::ModelSettings;
use crate::provider::run::run_step;
use crate::provider::step::Step;

/// A record read from `.in`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRecord {
    pub seq: u64,
    pub input: ChatInput,
}

/// What the run reports about itself (the platform reuses a live run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Booting,
    Running,
    Idle,
    Exited,
}

/// The chat as the agent sees it. Writes are synchronous: the Durable
/// Object's storage is.
#[allow(async_fn_in_trait)]
pub trait Session {
    /// The next `.in` record after `after` (all when `None`), waiting at
    /// most `timeout_ms`; `None` when the time ran out.
    async fn next_input(&self, after: Option<u64>, timeout_ms: u32) -> Option<InputRecord>;
    /// Appends one data record to `.out`; returns its seq.
    fn write(&self, chunk: &UiChunk) -> u64;
    /// Appends a control record to `.out`; returns its seq.
    fn control(&self, headers: Vec<Header>) -> u64;
    /// Appends a trim command: records before `first_kept` may go.
    fn trim_out(&self, first_kept: u64);
    /// A fresh session access token for the browser (1 h).
    fn access_token(&self) -> Option<String>;
    fn set_state(&self, state: RunState);
    /// The transcript, and the last `.in` seq a turn consumed.
    fn load(&self) -> (Vec<UiMessage>, Option<u64>);
    fn save(&self, messages: &[UiMessage], consumed: Option<u64>);
    /// A new message id (16 random alphanumerics).
    fn new_id(&self) -> String;
    /// Posts a lifecycle event to the app's webhook, if one is configured;
    /// never fails the turn.
    async fn hook(&self, event: Value);
}

/// How the agent behaves (from the worker's environment).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub model: ModelSettings,
    pub tools: ToolRegistry,
    /// Stand-in for a container cold start (benchmarks only).
    pub boot_delay_ms: u32,
    /// Warm wait for the next record before reporting idle.
    pub idle_timeout_ms: u32,
    /// Total wait for the next message before the run exits.
    pub turn_timeout_ms: u32,
    /// Model steps per turn at most.
    pub max_steps: u32,
    /// How long a `handover-prepare` run waits for the head start's handover
    /// (or skip). Past it the turn is recorded as failed on `.out` and the
    /// run waits for messages as usual: the edge's own limits (its idle
    /// timeout plus the append's retries) end well before this.
    pub handover_timeout_ms: u32,
}

/// The `error` chunk a run writes when no handover came in time.
pub const HANDOVER_TIMED_OUT: &str = "the head start never handed the turn over";

impl AgentConfig {
    pub fn new(model: ModelSettings, tools: ToolRegistry) -> Self {
        Self {
            model,
            tools,
            boot_delay_ms: 0,
            idle_timeout_ms: 30_000,
            turn_timeout_ms: 3_600_000,
            max_steps: 8,
            handover_timeout_ms: 300_000,
        }
    }
}

/// The run payload (`basePayload` + `sessionId`, §5.2, §8.2).
#[derive(Debug, Clone, Default)]
pub struct RunPayload {
    pub trigger: Option<String>,
    pub chat_id: String,
    pub head_start_messages: Vec<UiMessage>,
    pub metadata: Option<Value>,
    pub continuation: bool,
    pub run_id: String,
}

impl RunPayload {
    pub fn from_payload(payload: &Object, run_id: &str) -> Self {
        let str_of = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_string);
        Self {
            trigger: str_of("trigger"),
            chat_id: str_of("chatId").unwrap_or_default(),
            head_start_messages: payload
                .get("headStartMessages")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default(),
            metadata: payload.get("metadata").cloned(),
            continuation: payload.get("continuation").and_then(Value::as_bool).unwrap_or(false),
            run_id: run_id.to_string(),
        }
    }
}

/// Runs until the run exits (skip, idle timeout) and reports it.
pub async fn run_agent<S: Session, F: Fetch, C: Clock>(
    session: &S,
    fetch: &F,
    clock: &C,
    config: &AgentConfig,
    payload: RunPayload,
) {
    let run_started = clock.now_ms();
    session.set_state(RunState::Booting);
    if config.boot_delay_ms > 0 {
        clock.sleep(config.boot_delay_ms).await;
    }
    session.set_state(RunState::Running);
    let boot = Some((run_started, clock.now_ms()));
    let mut agent =
        Agent { session, fetch, clock, config, payload, prev_turn_complete: None, boot, first_chunk_at: Cell::new(None) };
    agent.run().await;
    session.set_state(RunState::Exited);
}

struct Agent<'a, S, F, C> {
    session: &'a S,
    fetch: &'a F,
    clock: &'a C,
    config: &'a AgentConfig,
    payload: RunPayload,
    /// Seq of this run's previous turn-complete (trimmed after the next).
    prev_turn_complete: Option<u64>,
    /// When the run started and was ready, until its first turn's timeline
    /// shows them.
    boot: Option<(f64, f64)>,
    /// The current turn's first chunk after `start`.
    first_chunk_at: Cell<Option<f64>>,
}

enum Wait {
    Record(Box<InputRecord>),
    TimedOut,
}

impl<S: Session, F: Fetch, C: Clock> Agent<'_, S, F, C> {
    async fn run(&mut self) {
        let (mut history, mut cursor) = self.session.load();
        let trigger = if self.payload.continuation { None } else { self.payload.trigger.clone() };
        let mut preloaded = false;
        let mut first_turn = !self.payload.continuation;
        match trigger.as_deref() {
            Some("handover-prepare") => {
                if history.is_empty() {
                    history = self.payload.head_start_messages.clone();
                }
                let deadline = self.clock.now_ms() + f64::from(self.config.handover_timeout_ms);
                // The browser stopped before the head start handed over.
                let mut stopped = false;
                loop {
                    let left = (deadline - self.clock.now_ms()).max(0.0) as u32;
                    let next = if left == 0 { None } else { self.session.next_input(cursor, left).await };
                    let Some(rec) = next else {
                        self.handover_timed_out(&history, cursor);
                        break;
                    };
                    cursor = Some(rec.seq);
                    match rec.input {
                        ChatInput::Stop(_) => stopped = true,
                        ChatInput::Handover(h) if stopped => {
                            self.stopped_before_handover(&mut history, rec.seq, Some(&h));
                            first_turn = false;
                            break;
                        }
                        ChatInput::HandoverSkip(_) if stopped => {
                            self.stopped_before_handover(&mut history, rec.seq, None);
                            return;
                        }
                        ChatInput::Handover(h) => {
                            self.hook_chat_start(false).await;
                            self.turn(&mut history, rec.seq, TurnInput::Handover(h)).await;
                            first_turn = false;
                            break;
                        }
                        ChatInput::HandoverSkip(_) => {
                            self.session.save(&history, cursor);
                            return;
                        }
                        // Only a handover satisfies this wait (§7.3).
                        _ => {}
                    }
                }
            }
            Some("preload") => {
                preloaded = true;
                self.session
                    .hook(json!({ "type": "onPreload", "chatId": self.payload.chat_id, "runId": self.payload.run_id,
                                  "clientData": self.payload.metadata }))
                    .await;
            }
            _ => {}
        }
        loop {
            let rec = match self.wait(cursor).await {
                Wait::Record(rec) => *rec,
                Wait::TimedOut => return,
            };
            cursor = Some(rec.seq);
            if let ChatInput::Message(m) = rec.input {
                if first_turn {
                    self.hook_chat_start(preloaded).await;
                    first_turn = false;
                }
                if m.payload.trigger.as_deref() == Some("close") {
                    self.session.save(&history, cursor);
                    return;
                }
                self.turn(&mut history, rec.seq, TurnInput::Message(Box::new(m.payload))).await;
            }
            // Stops outside a turn and late handovers have nothing to act on.
        }
    }

    /// Records a head start the browser stopped before its handover: what
    /// step 1 teed to `.out` is closed with `abort` and a turn-complete, and
    /// step 1's answer (when the handover brought it) is kept, with nothing
    /// more run for it.
    fn stopped_before_handover(&mut self, history: &mut Vec<UiMessage>, seq: u64, handover: Option<&Handover>) {
        let input_read = self.clock.now_ms();
        let written = handover.and_then(edge_turn_complete);
        if written.is_none() {
            self.session.write(&UiChunk::Abort(Abort { reason: Some("stopped".into()), extra: Object::new() }));
        }
        let mut message = handover.map(|h| synthesize(&h.message_id.clone().unwrap_or_else(|| self.session.new_id()), h));
        let marks = self.marks(input_read, true);
        if timeline::wanted(self.payload.metadata.as_ref()) {
            self.write_timeline(None, &marks, message.as_mut(), written.is_none());
        }
        self.close_turn(history, seq, message, false, written);
    }

    /// Ends a turn: its message into the history, the turn-complete on
    /// `.out` (unless the edge wrote it: `written`), the previous turn
    /// trimmed, and the transcript saved with `.in` consumed to `in_seq`.
    fn close_turn(
        &mut self,
        history: &mut Vec<UiMessage>,
        in_seq: u64,
        message: Option<UiMessage>,
        errored: bool,
        written: Option<u64>,
    ) -> u64 {
        if let Some(message) = message {
            history.retain(|m| m.id != message.id);
            history.push(message);
        }
        let seq = match written {
            Some(seq) => seq,
            None => {
                let tc = TurnComplete {
                    public_access_token: if errored { None } else { self.session.access_token() },
                    session_in_event_id: Some(in_seq),
                    session_in_consumed_id: Some(in_seq),
                    ..TurnComplete::default()
                };
                self.session.control(tc.headers())
            }
        };
        if let Some(prev) = self.prev_turn_complete.replace(seq) {
            self.session.trim_out(prev);
        }
        self.session.save(history, Some(in_seq));
        seq
    }

    /// The agent's marks of the turn now ending; the run's boot goes with
    /// its first turn only.
    fn marks(&mut self, input_read: f64, stopped: bool) -> AgentMarks {
        let boot = self.boot.take();
        AgentMarks {
            run_started: boot.map(|b| b.0),
            booted: boot.map(|b| b.1),
            input_read,
            first_chunk: self.first_chunk_at.get(),
            complete: self.clock.now_ms(),
            stopped,
        }
    }

    /// Writes the turn's timeline to `.out` and keeps it on the message.
    /// The turn's timeline, merged into its message as the browser merges
    /// it, and written to `.out` unless `to_out` is false: after the edge's
    /// own turn-complete a chunk would be read as the next turn's.
    fn write_timeline(&self, edge: Option<&EdgeMarks>, marks: &AgentMarks, message: Option<&mut UiMessage>, to_out: bool) {
        let chunk = timeline::metadata_chunk(edge, marks);
        if to_out {
            self.session.write(&chunk);
        }
        if let (Some(message), UiChunk::MessageMetadata(m)) = (message, &chunk) {
            if let Some(added) = &m.message_metadata {
                message.metadata = Some(merge_objects(message.metadata.take().unwrap_or(Value::Null), added));
            }
        }
    }

    /// Closes what step 1 teed to `.out` with an error and a turn-complete,
    /// so no reader waits on it, and keeps the user's message.
    fn handover_timed_out(&self, history: &[UiMessage], cursor: Option<u64>) {
        self.session.write(&UiChunk::Error(ErrorChunk { error_text: HANDOVER_TIMED_OUT.into(), extra: Object::new() }));
        self.session.control(TurnComplete { session_in_event_id: cursor, ..TurnComplete::default() }.headers());
        self.session.save(history, cursor);
    }

    async fn hook_chat_start(&self, preloaded: bool) {
        self.session
            .hook(json!({ "type": "onChatStart", "chatId": self.payload.chat_id, "runId": self.payload.run_id,
                          "preloaded": preloaded, "continuation": self.payload.continuation,
                          "clientData": self.payload.metadata }))
            .await;
    }

    /// Waits warm for the idle timeout, then (reported idle) until the turn
    /// timeout.
    async fn wait(&self, after: Option<u64>) -> Wait {
        if let Some(rec) = self.session.next_input(after, self.config.idle_timeout_ms).await {
            return Wait::Record(Box::new(rec));
        }
        self.session.set_state(RunState::Idle);
        let rest = self.config.turn_timeout_ms.saturating_sub(self.config.idle_timeout_ms);
        match self.session.next_input(after, rest).await {
            Some(rec) => {
                self.session.set_state(RunState::Running);
                Wait::Record(Box::new(rec))
            }
            None => Wait::TimedOut,
        }
    }

    async fn turn(&mut self, history: &mut Vec<UiMessage>, in_seq: u64, input: TurnInput) {
        let input_read = self.clock.now_ms();
        self.first_chunk_at.set(None);
        let (wants_timeline, edge) = match &input {
            TurnInput::Message(m) => (timeline::wanted(m.metadata.as_ref()), None),
            TurnInput::Handover(h) => (timeline::wanted(self.payload.metadata.as_ref()), EdgeMarks::from_handover(&h.extra)),
        };
        let chat_id = self.payload.chat_id.clone();
        let written = match &input {
            TurnInput::Handover(h) => edge_turn_complete(h),
            TurnInput::Message(_) => None,
        };
        self.session.hook(json!({ "type": "onTurnStart", "chatId": chat_id, "runId": self.payload.run_id })).await;
        let mut stopped = false;
        let mut outcome = {
            let builder = RefCell::new(None::<MessageBuilder>);
            let turn = pin!(self.turn_body(history, &input, &builder));
            let stop = pin!(self.watch_stop(in_seq));
            match select(turn, stop).await {
                Either::Left((outcome, _)) => outcome,
                Either::Right(_) => {
                    // The turn future is dropped here, which aborts its
                    // model call; the message so far is kept.
                    let chunk = UiChunk::Abort(Abort { reason: Some("stopped".into()), extra: Object::new() });
                    self.emit(&builder, &chunk);
                    stopped = true;
                    TurnOutcome { message: builder.borrow().as_ref().map(MessageBuilder::message), errored: false }
                }
            }
        };
        let marks = self.marks(input_read, stopped);
        if wants_timeline {
            self.write_timeline(edge.as_ref(), &marks, outcome.message.as_mut(), written.is_none());
        }
        let seq = self.close_turn(history, in_seq, outcome.message, outcome.errored, written);
        self.session
            .hook(json!({ "type": "onTurnComplete", "chatId": chat_id, "runId": self.payload.run_id,
                          "lastEventId": seq.to_string(), "messages": history }))
            .await;
    }

    /// Resolves when a `stop` arrives on `.in` after the turn's record.
    async fn watch_stop(&self, after: u64) {
        let mut cursor = after;
        loop {
            match self.session.next_input(Some(cursor), u32::MAX).await {
                Some(InputRecord { input: ChatInput::Stop(_), .. }) => return,
                Some(rec) => cursor = rec.seq,
                None => {}
            }
        }
    }

    fn emit(&self, builder: &RefCell<Option<MessageBuilder>>, chunk: &UiChunk) {
        if self.first_chunk_at.get().is_none() && !matches!(chunk, UiChunk::Start(_)) {
            self.first_chunk_at.set(Some(self.clock.now_ms()));
        }
        self.session.write(chunk);
        if let Some(b) = builder.borrow_mut().as_mut() {
            let _ = b.push(chunk);
        }
    }

    async fn turn_body(
        &self,
        history: &mut Vec<UiMessage>,
        input: &TurnInput,
        builder: &RefCell<Option<MessageBuilder>>,
    ) -> TurnOutcome {
        let (message_id, mut model_messages, pending) = match input {
            TurnInput::Message(payload) => {
                if payload.trigger.as_deref() == Some("regenerate-message") {
                    if history.last().is_some_and(|m| m.role == Role::Assistant) {
                        history.pop();
                    }
                } else if let Some(m) = &payload.message {
                    history.retain(|h| h.id != m.id);
                    history.push(m.clone());
                }
                let model = convert_to_model_messages(history, &ConvertOptions::default()).unwrap_or_default();
                *builder.borrow_mut() = Some(MessageBuilder::new(None));
                (self.session.new_id(), model, Vec::new())
            }
            TurnInput::Handover(h) => {
                let message_id = h.message_id.clone().unwrap_or_else(|| self.session.new_id());
                let synthesized = synthesize(&message_id, h);
                let mut model = convert_to_model_messages(history, &ConvertOptions::default()).unwrap_or_default();
                let (partial, pending) = without_approvals(&h.partial_assistant_message);
                model.extend(partial);
                *builder.borrow_mut() = Some(MessageBuilder::new(Some(synthesized.clone())));
                if h.is_final {
                    // Step 1 was the whole answer: persist it, no model call.
                    return TurnOutcome { message: Some(synthesized), errored: false };
                }
                (message_id, model, pending)
            }
        };

        self.emit(builder, &UiChunk::Start(Start { message_id: Some(message_id.clone()), ..Start::default() }));
        let mut calls = pending;
        let mut reason = FinishReason::Stop;
        let mut errored = false;
        for step_no in 0..=self.config.max_steps {
            if !calls.is_empty() {
                let results = self.execute(builder, &calls).await;
                model_messages.push(ModelMessage::tool(results));
                calls.clear();
            }
            if step_no == self.config.max_steps {
                break;
            }
            let mut options = self.config.model.call(model_messages.clone());
            options.tools = self.config.tools.specs();
            let mut step = Step::new(message_id.clone(), &options.tools);
            let mut emit = |chunk: UiChunk| {
                // One `start` and one `finish` per turn, whatever the steps.
                if !matches!(chunk, UiChunk::Start(_) | UiChunk::Finish(_)) {
                    self.emit(builder, &chunk);
                }
            };
            run_step(self.fetch, self.clock, &self.config.model, &options, &mut step, &mut emit).await;
            match step.into_outcome() {
                Some(Ok(result)) => {
                    let wants_tools = result.wants_tools();
                    reason = result.finish_reason.clone();
                    calls = tool_calls(&result.response_messages);
                    model_messages.extend(result.response_messages);
                    if !wants_tools {
                        calls.clear();
                        break;
                    }
                }
                _ => {
                    reason = FinishReason::Error;
                    errored = true;
                    break;
                }
            }
        }
        self.emit(builder, &UiChunk::Finish(Finish { finish_reason: Some(reason), ..Finish::default() }));
        TurnOutcome { message: builder.borrow().as_ref().map(MessageBuilder::message), errored }
    }

    /// Runs tool calls in order, streaming each result.
    async fn execute(&self, builder: &RefCell<Option<MessageBuilder>>, calls: &[ToolCall]) -> Vec<ModelPart> {
        run_calls(&self.config.tools, self.fetch, self.clock, calls, &mut |chunk| self.emit(builder, &chunk)).await
    }
}

enum TurnInput {
    Handover(Handover),
    Message(Box<crate::protocol::input::MessagePayload>),
}

struct TurnOutcome {
    message: Option<UiMessage>,
    errored: bool,
}

/// The `.out` seq of the turn-complete the route handler wrote itself, for
/// a turn it finished with edge steps.
fn edge_turn_complete(h: &Handover) -> Option<u64> {
    h.extra.get(EDGE_TURN_COMPLETE).and_then(Value::as_u64).filter(|_| h.is_final)
}
