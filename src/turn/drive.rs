//! Driving one head-start turn: the futures of the session create, step 1
//! and the tee run together; the handover and the splice follow.

use std::cell::{Cell, RefCell};
use std::pin::pin;

use futures_util::future::{join3, select, Either};

use super::calls::{self, append_batch, append_in, follow_out, init_out, log};
use crate::io::{timeout, Clock, Emitter, Fetch, FetchError, Notify};
use crate::platform::client::{PlatformClient, S2Credentials};
use crate::platform::PlatformError;
use crate::platform::{Splice, Tee, TeeError};
use crate::protocol::chunk::{ErrorChunk, UiChunk};
use crate::protocol::handover::reshape_for_handover;
use crate::protocol::input::{ChatInput, Handover, HeadStartRequest};
use crate::protocol::json::Object;
use crate::protocol::record::DEFAULT_FLUSH_INTERVAL_MS;
use crate::protocol::session::{handover_prepare_request, CreatedSession, SessionOptions};
use crate::protocol::ModelMessage;
use crate::provider::config::ModelSettings;
use crate::provider::run::run_step;
use crate::provider::step::{Step, StepOutcome};

/// The chunk after step 1 when the agent could not be handed the turn.
pub const HANDOVER_FAILED: &str = "the agent could not be handed the turn";

/// What the browser response is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The session exists: send the headers. `session_ms` is how long the
    /// create took (for `Server-Timing`).
    Open { access_token: String, pending_version: bool, session_ms: f64 },
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
}

/// Per-turn timing for operators, ms since the request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnTiming {
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
    let mut timing = TurnTiming::default();
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
    let options = config.model.call(model_messages);
    let mut step = Step::new(message_id.clone(), &options.tools);
    let first_chunk = Cell::new(None::<f64>);

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
        let mut emit = |chunk: UiChunk| {
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
        if config.sequential {
            wait_for(&shared.changed, || shared.opened.get() || shared.session_failed.get()).await;
        }
        let idle_ended = {
            let run = pin!(run_step(model_fetch, clock, &config.model, &options, &mut step, &mut emit));
            let failed = pin!(wait_for(&shared.changed, || shared.session_failed.get()));
            let idle = pin!(clock.sleep(config.idle_timeout_ms));
            // A failed session create or the idle timeout drops the model call.
            matches!(select(run, select(failed, idle)).await, Either::Right((Either::Right(_), _)))
        };
        if idle_ended && !step.is_done() {
            // Close step 1's message, on the browser and in `.out` alike.
            for chunk in step.abort(Some("idle timeout".into())) {
                emit(chunk);
            }
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
    let input = match step.outcome() {
        Some(StepOutcome::Ok(result)) => {
            let messages = &result.response_messages;
            ChatInput::Handover(Handover {
                partial_assistant_message: if result.wants_tools() { reshape_for_handover(messages) } else { messages.clone() },
                message_id: Some(message_id.clone()),
                is_final: !result.wants_tools(),
                extra: Object::new(),
            })
        }
        _ => ChatInput::handover_skip(),
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
            timing.decision = "skip";
            return timing;
        }
        (false, Ok(())) => {
            guard.owe(None);
            timing.decision = "handover";
        }
    }

    // 6: the splice.
    let mut splice = {
        let tee = shared.tee.borrow();
        Splice::starting_after(tee.splice_after()).with_seen_ids(tee.record_ids().iter().cloned())
    };
    let marks = follow_out(fetch, clock, &config.platform, &chat_id, &mut splice, config.idle_timeout_ms, &mut |json| {
        out.emit(Frame::Chunk(json))
    })
    .await;
    timing.first_agent_chunk = marks.first_agent_chunk.map(|t| t - t0);
    timing.turn_complete = marks.turn_complete.map(|t| t - t0);
    timing
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
            let wake = shared.tee.borrow().poll_timeout().map(|t| (t as f64 - clock.now_ms()).max(1.0) as u32);
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
