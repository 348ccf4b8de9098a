//! Driving one head-start turn: the futures of the session create, step 1
//! and the tee run together; the handover and the splice follow.

use std::cell::{Cell, RefCell};
use std::pin::pin;

use futures_util::future::{join3, select, Either};

use super::calls::{self, append_batch, append_in, follow_out, init_out, log};
use super::edge::{decide, EdgeSteps};
use crate::agent::tools::run_calls;
use crate::io::{timeout, Clock, Emitter, Fetch, FetchError, Notify};
use crate::platform::client::{PlatformClient, S2Credentials};
use crate::platform::splice::EDGE_HEADER;
use crate::platform::PlatformError;
use crate::platform::{Splice, Tee, TeeError};
use crate::protocol::chunk::{ErrorChunk, Marker, SessionState, UiChunk};
use crate::protocol::handover::EDGE_TURN_COMPLETE;
use crate::protocol::input::{ChatInput, HeadStartRequest};
use crate::protocol::json::Object;
use crate::protocol::record::DEFAULT_FLUSH_INTERVAL_MS;
use crate::protocol::record::{AppendInput, AppendRecord, TurnComplete};
use crate::protocol::session::{handover_prepare_request, CreatedSession, SessionOptions};
use crate::protocol::timeline::{self, AgentMarks, EdgeMarks};
use crate::protocol::ModelMessage;
use crate::provider::config::ModelSettings;
use crate::provider::run::run_step;
use crate::provider::step::Step;
use crate::provider::CallOptions;

/// The chunk after step 1 when the agent could not be handed the turn.
pub const HANDOVER_FAILED: &str = "the agent could not be handed the turn";

/// What the browser response is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The session exists: send the headers. `session_ms` is how long the
    /// create took, `model_ms` when the model's first output came if it came
    /// before (both for `Server-Timing`).
    Open { access_token: String, pending_version: bool, session_ms: f64, model_ms: Option<f64> },
    /// A UI message chunk, as JSON text.
    Chunk(String),
    /// The session could not be created: no response was opened.
    Failed { status: u16, message: String },
}

#[derive(Debug, Clone)]
pub struct HeadStartConfig {
    pub platform: PlatformClient,
    pub session: SessionOptions,
    pub model: ModelSettings,
    /// Until the handover decision (default 60 s).
    pub idle_timeout_ms: u32,
    /// Linger of the tee's batches: 0 writes as soon as the last write is
    /// acked; `None` follows the platform's `X-S2-Flush-Interval-Ms` (200 ms
    /// when it sends none), as the SDK's writer does. Batching costs the
    /// browser nothing (it gets chunks live, and the tee is flushed before
    /// the handover) and saves an S2 append, and its CPU, per chunk.
    pub tee_linger_ms: Option<u64>,
    /// Start step 1 only once the session exists, as the TypeScript handler
    /// does (for side-by-side measurements; off by default).
    pub sequential: bool,
    /// Edge-safe tools and later steps run here (off by default).
    pub edge: Option<EdgeSteps>,
}

/// Per-turn timing for operators, ms since the request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnTiming {
    /// When the request came (wall clock).
    pub started_at: f64,
    pub session_created: Option<f64>,
    /// The model's first output (its time to first token, as seen here).
    pub provider_ttfb: Option<f64>,
    /// The first model output on its way to the browser (after the session).
    pub first_chunk_out: Option<f64>,
    pub step_end: Option<f64>,
    pub handover: Option<f64>,
    pub first_agent_chunk: Option<f64>,
    pub turn_complete: Option<f64>,
    pub decision: &'static str,
    /// The agent's marks, when the client asked for the turn's timeline
    /// and the agent wrote it (wall clock, as the agent saw it).
    pub agent: Option<AgentMarks>,
    /// Model steps run here (1 without edge steps).
    pub steps: u32,
}

/// What the agent is still owed when a turn is dropped (the client went
/// away) or ends before its decision reached `.in`: the caller appends it in
/// the background, outside the dropped future, with
/// [`calls::append_in`] (the part id makes a repeat harmless).
#[derive(Debug, Clone, PartialEq)]
pub struct Abandoned {
    pub input: ChatInput,
    pub part_id: String,
}

/// Hands [`Abandoned`] to `on_abandon` if the turn ends while something is
/// owed: `handover-skip` before the decision, the handover itself while its
/// append is in flight (its retries may be cut off with the client).
struct DecisionGuard<'a> {
    owed: RefCell<Option<Abandoned>>,
    on_abandon: Cell<Option<OnAbandon<'a>>>,
}

/// The caller's way to deliver what is owed, in the background.
type OnAbandon<'a> = Box<dyn FnOnce(Abandoned) + 'a>;

impl DecisionGuard<'_> {
    fn owe(&self, what: Option<Abandoned>) {
        *self.owed.borrow_mut() = what;
    }
}

impl Drop for DecisionGuard<'_> {
    fn drop(&mut self) {
        if let Some(owed) = self.owed.borrow_mut().take() {
            if let Some(f) = self.on_abandon.take() {
                f(owed);
            }
        }
    }
}

struct Shared {
    opened: Cell<bool>,
    buffer: RefCell<Vec<String>>,
    tee: RefCell<Tee>,
    creds: RefCell<Option<S2Credentials>>,
    session_failed: Cell<bool>,
    step_done: Cell<bool>,
    changed: Notify,
}

/// The handler's steps: the one running or last run, and the response
/// messages and tool results of those before it.
struct Steps {
    current: Step,
    done: Vec<ModelMessage>,
    count: u32,
}

/// Runs the turn; frames go to `out` as they are ready. Returns the timing.
/// `fetch` reaches the platform, `model_fetch` the model API.
#[allow(clippy::too_many_arguments)]
pub async fn head_start<F: Fetch, M: Fetch, C: Clock>(
    fetch: &F,
    model_fetch: &M,
    clock: &C,
    config: &HeadStartConfig,
    request: &HeadStartRequest,
    model_messages: Vec<ModelMessage>,
    message_id: String,
    record_id: &dyn Fn() -> String,
    out: &Emitter<Frame>,
    on_abandon: OnAbandon<'_>,
) -> TurnTiming {
    let skip = || Abandoned { input: ChatInput::handover_skip(), part_id: record_id() };
    let guard = DecisionGuard { owed: RefCell::new(Some(skip())), on_abandon: Cell::new(Some(on_abandon)) };
    let t0 = clock.now_ms();
    let since = |c: &C| c.now_ms() - t0;
    let mut timing = TurnTiming { started_at: t0, ..TurnTiming::default() };
    let chat_id = request.chat_id.trim().to_string();
    let shared = Shared {
        opened: Cell::new(false),
        buffer: RefCell::new(Vec::new()),
        tee: RefCell::new(Tee::new(config.tee_linger_ms.unwrap_or(u64::from(DEFAULT_FLUSH_INTERVAL_MS)))),
        creds: RefCell::new(None),
        session_failed: Cell::new(false),
        step_done: Cell::new(false),
        changed: Notify::default(),
    };
    let mut options = config.model.call(model_messages);
    if let Some(edge) = &config.edge {
        let missing = edge.missing_specs(&options.tools);
        options.tools.extend(missing);
    }
    let mut steps = Steps { current: Step::new(message_id.clone(), &options.tools), done: Vec::new(), count: 0 };
    let first_chunk = Cell::new(None::<f64>);
    // The `finish` of a step, held until it is known whether the message
    // ends there or the edge runs its tools and another step.
    let held_finish = RefCell::new(None::<UiChunk>);
    let started = Cell::new(false);

    // 1-3: session, step 1 and the tee, together.
    let session = async {
        // The create retries on its own; the idle limit bounds it all.
        let created =
            timeout(clock, config.idle_timeout_ms, create_session(fetch, clock, config, request)).await.unwrap_or_else(|| {
                Err(PlatformError::network(&FetchError("the platform did not create the session in time".into())))
            });
        match created {
            Ok(session) => {
                out.emit(Frame::Open {
                    access_token: session.public_access_token.clone(),
                    pending_version: session.pending_version == Some(true),
                    session_ms: since(clock),
                    model_ms: first_chunk.get(),
                });
                for chunk in shared.buffer.borrow_mut().drain(..) {
                    out.emit(Frame::Chunk(chunk));
                }
                shared.opened.set(true);
                let created_at = since(clock);
                match init_out(fetch, clock, &config.platform, &chat_id).await {
                    Ok(creds) => {
                        if config.tee_linger_ms.is_none() {
                            shared.tee.borrow_mut().set_linger(creds.flush_interval_ms);
                        }
                        *shared.creds.borrow_mut() = Some(creds);
                    }
                    // The browser still gets step 1 live; only the `.out`
                    // copy is missing (§9.4).
                    Err(e) => {
                        log(&format!("headstart: no .out credentials for {chat_id}: {e}"));
                        shared.tee.borrow_mut().on_error();
                    }
                }
                shared.changed.notify();
                Some((session, created_at))
            }
            Err(e) => {
                // A create that failed by the platform's own definite answer
                // started no run; one that timed out or was cut off may have,
                // and that run waits for a handover: it is still owed a skip.
                if !e.retryable {
                    guard.owe(None);
                }
                shared.session_failed.set(true);
                shared.changed.notify();
                out.emit(Frame::Failed { status: e.status.filter(|s| *s >= 400).unwrap_or(502), message: e.message });
                None
            }
        }
    };
    let step_fut = async {
        let send = |chunk: UiChunk| {
            // `start` is made before the call; the model's first output is
            // what the browser waits for.
            if first_chunk.get().is_none() && !matches!(chunk, UiChunk::Start(_)) {
                first_chunk.set(Some(since(clock)));
            }
            let json = chunk.to_json();
            // A stopped tee refuses every later chunk: its failure was
            // logged once already, so only a refusal of its own is.
            if let Err(e @ TeeError::ChunkTooLarge { .. }) =
                shared.tee.borrow_mut().push_json(&json, record_id(), clock.now_ms() as u64)
            {
                log(&format!("headstart: tee refused a chunk: {e}"));
            }
            if shared.opened.get() {
                out.emit(Frame::Chunk(json));
            } else {
                shared.buffer.borrow_mut().push(json);
            }
            shared.changed.notify();
        };
        // One `start` and one `finish` per message, whatever the steps.
        let emit = |chunk: UiChunk| match chunk {
            UiChunk::Start(_) if started.replace(true) => {}
            UiChunk::Finish(_) => *held_finish.borrow_mut() = Some(chunk),
            _ => send(chunk),
        };
        if config.sequential {
            wait_for(&shared.changed, || shared.opened.get() || shared.session_failed.get()).await;
        }
        let idle_ended = {
            let run = pin!(run_steps(model_fetch, clock, config, &options, &message_id, &mut steps, &emit, &held_finish));
            let failed = pin!(wait_for(&shared.changed, || shared.session_failed.get()));
            let idle = pin!(clock.sleep(config.idle_timeout_ms));
            // A failed session create or the idle timeout drops the model
            // call (or the edge's tool call).
            matches!(select(run, select(failed, idle)).await, Either::Right((Either::Right(_), _)))
        };
        if idle_ended && !steps.current.is_done() {
            // Close the message, on the browser and in `.out` alike.
            for chunk in steps.current.abort(Some("idle timeout".into())) {
                emit(chunk);
            }
        }
        if let Some(finish) = held_finish.borrow_mut().take() {
            send(finish);
        }
        shared.step_done.set(true);
        shared.tee.borrow_mut().flush();
        shared.changed.notify();
    };
    let tee_fut = pump_tee(fetch, clock, &shared);
    let (created, (), ()) = join3(session, step_fut, tee_fut).await;
    timing.provider_ttfb = first_chunk.get();
    timing.step_end = Some(since(clock));

    let Some((_, created_at)) = created else {
        timing.decision = "no-session";
        return timing;
    };
    timing.session_created = Some(created_at);
    timing.first_chunk_out = timing.provider_ttfb.map(|t| t.max(created_at));

    // 4-5: the decision.
    timing.steps = steps.count;
    let input = match steps.current.outcome() {
        Some(Ok(result)) => decide(&steps.done, Ok(result), &message_id),
        _ => decide(&steps.done, Err(steps.current.partial_messages()), &message_id),
    };
    let mut input = input;
    if let (true, ChatInput::Handover(h)) = (timeline::wanted(request.metadata.as_ref()), &mut input) {
        let at = |t: Option<f64>| t.map(|t| t0 + t);
        let marks = EdgeMarks {
            request_at: t0,
            session_created: at(timing.session_created),
            model_first_byte: at(timing.provider_ttfb),
            first_chunk_out: at(timing.first_chunk_out),
            step_end: at(timing.step_end),
            handover: Some(clock.now_ms()),
        };
        h.extra.insert(timeline::HANDOVER_FIELD.into(), marks.to_json());
    }
    // A turn the edge finished is whole in `.out` once its turn-complete is
    // there: written here, before the handover (the agent writes `.out`
    // only after it), the agent only persists the turn, and the response
    // need not wait for it to boot.
    let edge_complete = match &mut input {
        ChatInput::Handover(h) if h.is_final && steps.count > 1 => {
            let seq = write_turn_complete(fetch, clock, &shared, &chat_id).await;
            if let Some(seq) = seq {
                h.extra.insert(EDGE_TURN_COMPLETE.into(), seq.into());
            }
            seq
        }
        _ => None,
    };
    let is_skip = matches!(input, ChatInput::HandoverSkip(_));
    // Owed until its append resolves: a client gone in the middle of the
    // append's retries must not leave the agent with neither record.
    let owed = Abandoned { input, part_id: record_id() };
    guard.owe(Some(owed.clone()));
    let appended = append_in(fetch, clock, &config.platform, &chat_id, &owed.input, &owed.part_id).await.map(|_| ());
    timing.handover = Some(since(clock));
    match (is_skip, appended) {
        (true, result) => {
            guard.owe(None);
            if let Err(e) = result {
                log(&format!("headstart: handover-skip for {chat_id} failed ({e}); the agent's own timeout ends its wait"));
            }
            timing.decision = "skip";
            return timing;
        }
        (false, Err(e)) => {
            log(&format!("headstart: handover for {chat_id} failed ({e}); sending handover-skip"));
            let fallback = skip();
            guard.owe(Some(fallback.clone()));
            if append_in(fetch, clock, &config.platform, &chat_id, &fallback.input, &fallback.part_id).await.is_err() {
                log(&format!("headstart: handover-skip for {chat_id} failed too; the agent's own timeout ends its wait"));
            }
            guard.owe(None);
            out.emit(Frame::Chunk(
                UiChunk::Error(ErrorChunk { error_text: HANDOVER_FAILED.into(), extra: Object::new() }).to_json(),
            ));
            // The edge's own turn-complete is on `.out` already: the cursor
            // after it keeps turn 2 from reading this turn back and ending
            // on it.
            if let Some(seq) = edge_complete {
                let state = UiChunk::TriggerSessionState(SessionState { last_event_id: seq.to_string(), extra: Object::new() });
                out.emit(Frame::Chunk(state.to_json()));
            }
            timing.decision = "skip";
            return timing;
        }
        (false, Ok(())) => {
            guard.owe(None);
            timing.decision = "handover";
        }
    }

    if let Some(seq) = edge_complete {
        out.emit(Frame::Chunk(UiChunk::TriggerTurnComplete(Marker::new()).to_json()));
        let state = UiChunk::TriggerSessionState(SessionState { last_event_id: seq.to_string(), extra: Object::new() });
        out.emit(Frame::Chunk(state.to_json()));
        timing.decision = "edge-final";
        timing.turn_complete = Some(since(clock));
        return timing;
    }

    // 6: the splice.
    let mut splice = {
        let tee = shared.tee.borrow();
        Splice::starting_after(tee.splice_after()).with_seen_ids(tee.record_ids().iter().cloned())
    };
    let mut agent_marks = None;
    let marks = follow_out(fetch, clock, &config.platform, &chat_id, &mut splice, config.idle_timeout_ms, &mut |json| {
        // A turn has one timeline: once found, no chunk is searched again.
        if agent_marks.is_none() && json.contains(r#""type":"message-metadata""#) {
            agent_marks = timeline::agent_marks_of(&json);
        }
        out.emit(Frame::Chunk(json))
    })
    .await;
    timing.agent = agent_marks;
    timing.first_agent_chunk = marks.first_agent_chunk.map(|t| t - t0);
    timing.turn_complete = marks.turn_complete.map(|t| t - t0);
    timing
}

/// Appends the turn-complete of a turn the edge finished, once the tee has
/// written all of it; its seq, or `None` when `.out` is not writable (the
/// agent then writes the turn-complete, and the splice waits for it).
async fn write_turn_complete<F: Fetch, C: Clock>(fetch: &F, clock: &C, shared: &Shared, chat_id: &str) -> Option<u64> {
    let creds = shared.creds.borrow().clone()?;
    if shared.tee.borrow().is_failed() || !shared.tee.borrow().is_drained() {
        return None;
    }
    // No `session-in-event-id`: the handover's `.in` seq is not known yet,
    // and a reader takes a turn-complete without one as its turn's.
    // Marked, so that a splice after a write that failed unconfirmed does
    // not take it for the agent's.
    let mut headers = TurnComplete::default().headers();
    headers.push((EDGE_HEADER.into(), "1".into()));
    let record = AppendRecord::control(headers);
    let batch = AppendInput { records: vec![record], match_seq_num: None, fencing_token: None };
    match append_batch(fetch, clock, &creds, &batch).await {
        Ok(ack) => ack.last_seq(),
        Err(e) => {
            log(&format!("headstart: the edge's turn-complete for {chat_id} failed ({e}); the agent writes it"));
            None
        }
    }
}

/// Step 1 and, with edge steps, the tools and steps after it, until a
/// step ends the handler's part of the turn. Dropped to abort.
#[allow(clippy::too_many_arguments)]
async fn run_steps<M: Fetch, C: Clock>(
    model_fetch: &M,
    clock: &C,
    config: &HeadStartConfig,
    options: &CallOptions,
    message_id: &str,
    steps: &mut Steps,
    emit: &dyn Fn(UiChunk),
    held_finish: &RefCell<Option<UiChunk>>,
) {
    loop {
        let mut call = options.clone();
        call.messages.extend(steps.done.iter().cloned());
        run_step(model_fetch, clock, &config.model, &call, &mut steps.current, &mut |c| emit(c)).await;
        steps.count += 1;
        let Some(edge) = &config.edge else { return };
        let Some(Ok(result)) = steps.current.outcome() else { return };
        let Some(calls) = edge.next_calls(result, steps.count, &steps.done) else { return };
        let response = result.response_messages.clone();
        // The message goes on: this step's `finish` is not its end.
        held_finish.borrow_mut().take();
        // Tools go out on the model's link: the general outbound fetch,
        // not the platform's.
        let results = run_calls(&edge.registry, model_fetch, clock, &calls, &mut |c| emit(c)).await;
        steps.done.extend(response);
        steps.done.push(ModelMessage::tool(results));
        steps.current = Step::new(message_id.to_string(), &options.tools).ending_open_parts_on_failure();
    }
}

async fn create_session<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    config: &HeadStartConfig,
    request: &HeadStartRequest,
) -> Result<CreatedSession, crate::platform::PlatformError> {
    calls::create(fetch, clock, &config.platform, &handover_prepare_request(request, &config.session)).await
}

/// Writes the tee's batches, one at a time, until step 1 is done and all
/// is written (or the tee has failed).
async fn pump_tee<F: Fetch, C: Clock>(fetch: &F, clock: &C, shared: &Shared) {
    loop {
        let seen = shared.changed.version();
        if shared.session_failed.get() || shared.tee.borrow().is_failed() {
            return;
        }
        if shared.step_done.get() && shared.tee.borrow().is_drained() {
            return;
        }
        let creds = shared.creds.borrow().clone();
        let batch = creds.as_ref().and_then(|_| shared.tee.borrow_mut().poll_batch(clock.now_ms() as u64));
        let (Some(creds), Some(batch)) = (creds, batch) else {
            // Without credentials there is nothing to write however due a
            // batch is: wait for them (their arrival notifies), not for the
            // batch's time, which has passed and would wake every ms.
            let have_creds = shared.creds.borrow().is_some();
            let wake = shared.tee.borrow().poll_timeout().filter(|_| have_creds);
            let wake = wake.map(|t| (t as f64 - clock.now_ms()).max(1.0) as u32);
            match wake {
                Some(ms) => {
                    let _ = select(pin!(shared.changed.changed_since(seen)), pin!(clock.sleep(ms))).await;
                }
                None => shared.changed.changed_since(seen).await,
            }
            continue;
        };
        match append_batch(fetch, clock, &creds, &batch).await {
            Ok(ack) => shared.tee.borrow_mut().on_ack(&ack),
            Err(e) => {
                log(&format!("headstart: a .out write failed ({e}); the rest of step 1 is not teed"));
                shared.tee.borrow_mut().on_error();
            }
        }
        shared.changed.notify();
    }
}

async fn wait_for(changed: &Notify, ready: impl Fn() -> bool) {
    loop {
        let seen = changed.version();
        if ready() {
            return;
        }
        changed.changed_since(seen).await;
    }
}
