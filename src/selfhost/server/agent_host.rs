//! Hosting the reference agent inside the session's object: its
//! [`Session`] is the object's own storage and wake-ups, its runs are tasks
//! of the object ([`Host::spawn_local`]), its model and tool calls go
//! through [`Host::agent_fetch`].
//!
//! Storage failures end the run, never silently: a write the agent makes
//! (`write`, `control`, `trim_out`, `save`) is tried [`WRITE_ATTEMPTS`]
//! times; if it still fails, the run is *failed*: every later write is
//! refused (so the streams never get a gap followed by more records, and
//! no turn-complete or transcript claims a turn whose chunks are missing),
//! and the run task ends at its next await. The row still says the run is
//! live, so the object resumes it from the transcript after a backoff
//! ([`resume_backoff_ms`]: by itself, or on the first request after it),
//! as after a restart: the cut turn is answered again (the reader may see
//! its partial message before the new one). Reads of `.in` are retried
//! [`READ_ATTEMPTS`] times, [`READ_RETRY_MS`] apart, then fail the run the
//! same way. A failed state report (`set_state`) or token read only logs:
//! the row then errs on the side of "live", which resumes a run, never
//! loses one.

use std::cell::Cell;
use std::pin::pin;
use std::rc::Rc;

use futures_util::future::{select, Either};
use serde_json::Value;

use super::{Core, Host};
use crate::agent::run::{run_agent, InputRecord, RunPayload, RunState, Session};
use crate::io::{Clock, Fetch, HttpRequest, Notify, ResponseBody};
use crate::protocol::input::ChatInput;
use crate::protocol::message::UiMessage;
use crate::protocol::record::{trim_command_headers, AppendInput, AppendRecord, Header, InEnvelope, OutEnvelope, RecordKind};
use crate::protocol::UiChunk;
use crate::selfhost::command::trim_body;
use crate::selfhost::log::{self, LogError};
use crate::selfhost::sessions::{self, RunToStart, SessionRow};
use crate::selfhost::store::{self, SessionStore, StoreError, StreamLog, CONSUMED, TRANSCRIPT};
use crate::selfhost::Io;

/// Tries of one agent write before the run fails.
pub const WRITE_ATTEMPTS: u32 = 3;
/// Tries of one `.in` read before the run fails.
pub const READ_ATTEMPTS: u32 = 3;
/// Pause between `.in` read tries.
pub const READ_RETRY_MS: u32 = 100;
/// After a run ends on a storage failure, the next is resumed this long
/// after it, doubling with each failure in a row up to
/// [`RESUME_BACKOFF_MAX_MS`]; a run that ends normally resets it.
pub const RESUME_BACKOFF_MS: u32 = 1_000;
pub const RESUME_BACKOFF_MAX_MS: u32 = 60_000;

/// The backoff after `failures` failed runs in a row.
pub fn resume_backoff_ms(failures: u32) -> u32 {
    RESUME_BACKOFF_MS.saturating_mul(1 << failures.saturating_sub(1).min(16)).min(RESUME_BACKOFF_MAX_MS)
}

/// Resumes a live run no task here executes (a restart, a failed run),
/// unless a failed run's backoff has not passed yet.
pub(crate) fn resume_orphaned_run<S: SessionStore + 'static, H: Host + 'static>(core: &Rc<Core<S, H>>) {
    if core.running.borrow().is_some() || core.host.clock().now_ms() < core.resume_not_before.get() {
        return;
    }
    let run = core.row().and_then(|row| match row {
        Some(row) => resume(core, &row),
        None => Ok(None),
    });
    match run {
        Ok(Some(run)) => start_run(core, run),
        Ok(None) => {}
        Err(e) => core.host.log(&format!("could not check for an orphaned run: {e}")),
    }
}

/// The transcript and the last `.in` seq a turn consumed.
pub(crate) fn load_transcript<S: SessionStore, H>(core: &Core<S, H>) -> Result<(Vec<UiMessage>, Option<u64>), StoreError> {
    Ok((store::get_json(&core.store, TRANSCRIPT)?.unwrap_or_default(), store::get_json(&core.store, CONSUMED)?))
}

/// A run for an object that lost its task (restart, failed run) while the
/// row says the run is live: the same run id, continuing from storage. A
/// run that had not consumed anything yet (still waiting for its handover
/// or its first message) starts over in its own mode; one past a turn
/// continues.
pub(crate) fn resume<S: SessionStore, H>(core: &Core<S, H>, row: &SessionRow) -> Result<Option<RunToStart>, StoreError> {
    if !row.run_state.is_live() {
        return Ok(None);
    }
    let Some(run_id) = row.current_run_id.clone() else { return Ok(None) };
    let mut payload = row.trigger_config.base_payload.clone();
    if load_transcript(core)?.1.is_some() {
        payload.insert("continuation".into(), true.into());
    }
    Ok(Some(RunToStart {
        run_id: run_id.clone(),
        task_identifier: row.task_identifier.clone(),
        payload,
        continuation: true,
        previous_run_id: Some(run_id),
        trigger_config: row.trigger_config.clone(),
    }))
}

/// Starts a run as a task of the object.
pub(crate) fn start_run<S: SessionStore + 'static, H: Host + 'static>(core: &Rc<Core<S, H>>, run: RunToStart) {
    let config = match core.host.agent_config() {
        Ok(c) => c,
        Err(e) => {
            core.host.log(&format!("the reference agent is misconfigured, run {} not started: {e}", run.run_id));
            return;
        }
    };
    *core.running.borrow_mut() = Some(run.run_id.clone());
    let session =
        HostedSession { core: core.clone(), run_id: run.run_id.clone(), failed: Cell::new(false), fail: Notify::default() };
    let payload = RunPayload::from_payload(&run.payload, &run.run_id);
    core.host.spawn_local(Box::pin(async move {
        {
            let host = &session.core.host;
            let run = pin!(run_agent(&session, host.agent_fetch(), host.clock(), &config, payload));
            let failed = pin!(session.fail.changed_since(0));
            let core = &session.core;
            match select(run, failed).await {
                Either::Left(_) => core.failed_runs.set(0),
                Either::Right(_) => {
                    let failures = core.failed_runs.get().saturating_add(1);
                    let backoff = resume_backoff_ms(failures);
                    core.failed_runs.set(failures);
                    core.resume_not_before.set(host.clock().now_ms() + f64::from(backoff));
                    host.log(&format!(
                        "run {} ended on a storage failure ({failures} in a row); resumed in {backoff} ms",
                        session.run_id
                    ));
                }
            }
        }
        let core = session.core.clone();
        let failed = session.failed.get();
        {
            let mut running = core.running.borrow_mut();
            if running.as_deref() == Some(session.run_id.as_str()) {
                *running = None;
            }
        }
        drop(session);
        // Resumed by itself once the backoff has passed (or by a request
        // after it, whichever comes first; the other finds it running).
        if failed {
            let wait = (core.resume_not_before.get() - core.host.clock().now_ms()).max(0.0);
            core.host.clock().sleep(wait.ceil() as u32).await;
            resume_orphaned_run(&core);
        }
    }));
}

struct HostedSession<S, H> {
    core: Rc<Core<S, H>>,
    run_id: String,
    failed: Cell<bool>,
    /// Notified once, when the run fails.
    fail: Notify,
}

impl<S: SessionStore, H: Host> HostedSession<S, H> {
    fn fail(&self, what: &str, e: impl std::fmt::Display) {
        self.core.host.log(&format!("run {}: {what} failed: {e}", self.run_id));
        if !self.failed.replace(true) {
            self.fail.notify();
        }
    }

    /// A failed run's async calls never return: the run task ends instead.
    async fn halt_if_failed(&self) {
        if self.failed.get() {
            std::future::pending::<()>().await;
        }
    }

    /// Tries a storage write up to [`WRITE_ATTEMPTS`] times; fails the run
    /// after that. `None` when nothing was written.
    fn write_with_retry<T>(&self, what: &str, mut op: impl FnMut() -> Result<T, StoreError>) -> Option<T> {
        if self.failed.get() {
            return None;
        }
        let mut last = None;
        for _ in 0..WRITE_ATTEMPTS {
            match op() {
                Ok(v) => return Some(v),
                Err(e) => last = Some(e),
            }
        }
        self.fail(what, last.expect("at least one attempt"));
        None
    }

    /// Appends to `.out`; the seq, or 0 when nothing was written.
    fn append(&self, record: AppendRecord) -> u64 {
        let input = AppendInput { records: vec![record], ..AppendInput::default() };
        let mut refused = None;
        let seq = self.write_with_retry("a write to .out", || match self.core.append(Io::Out, &input) {
            Ok(ack) => Ok(Some(ack.start.seq_num)),
            Err(LogError::Storage(e)) => Err(e),
            // Not a storage failure (a chunk over the record limit): retrying
            // or resuming cannot help, so the chunk is dropped and logged.
            Err(e) => {
                refused = Some(e);
                Ok(None)
            }
        });
        if let Some(e) = refused {
            self.core.host.log(&format!("run {}: a write to .out was refused: {e}", self.run_id));
        }
        seq.flatten().unwrap_or(0)
    }
}

impl<S: SessionStore, H: Host> Session for HostedSession<S, H> {
    async fn next_input(&self, after: Option<u64>, timeout_ms: u32) -> Option<InputRecord> {
        let clock = self.core.host.clock();
        let deadline = clock.now_ms() + f64::from(timeout_ms);
        let mut from = after.map_or(0, |a| a + 1);
        let mut failures = 0;
        loop {
            self.halt_if_failed().await;
            let seen = self.core.changed(Io::In).version();
            match log::read(&StreamLog::new(&self.core.store, Io::In), from, true, 64, usize::MAX) {
                Ok(batch) => {
                    failures = 0;
                    for record in batch.records {
                        from = record.seq_num + 1;
                        if record.kind() != RecordKind::Data {
                            continue;
                        }
                        let input = serde_json::from_str::<InEnvelope>(&record.body)
                            .ok()
                            .and_then(|e| serde_json::from_str::<ChatInput>(&e.data).ok());
                        match input {
                            Some(input) => return Some(InputRecord { seq: record.seq_num, input }),
                            None => self.core.host.log(&format!("skipping an unreadable .in record {}", record.seq_num)),
                        }
                    }
                }
                Err(e) => {
                    failures += 1;
                    if failures >= READ_ATTEMPTS {
                        self.fail("a read of .in", e);
                    } else {
                        clock.sleep(READ_RETRY_MS).await;
                    }
                    continue;
                }
            }
            let left = deadline - clock.now_ms();
            if left <= 0.0 {
                return None;
            }
            let nap = left.min(f64::from(i32::MAX as u32)) as u32;
            if let Either::Right(_) = select(pin!(self.core.changed(Io::In).changed_since(seen)), pin!(clock.sleep(nap))).await {
                return None;
            }
        }
    }

    fn write(&self, chunk: &UiChunk) -> u64 {
        let body = OutEnvelope { data: chunk.clone(), id: self.core.nanoid(7) }.to_json();
        self.append(AppendRecord::data(body))
    }

    fn control(&self, headers: Vec<Header>) -> u64 {
        self.append(AppendRecord::control(headers))
    }

    fn trim_out(&self, first_kept: u64) {
        self.append(AppendRecord { headers: trim_command_headers(), body: trim_body(first_kept), timestamp: None });
    }

    fn access_token(&self) -> Option<String> {
        match self.core.row() {
            Ok(row) => row.map(|r| self.core.token(r.addressing_key())),
            Err(e) => {
                self.core.host.log(&format!("run {}: no token for the turn-complete: {e}", self.run_id));
                None
            }
        }
    }

    fn set_state(&self, state: RunState) {
        if self.failed.get() {
            return;
        }
        let state = match state {
            RunState::Booting => sessions::RunState::Booting,
            RunState::Running => sessions::RunState::Running,
            RunState::Idle => sessions::RunState::Idle,
            RunState::Exited => sessions::RunState::Exited,
        };
        let result = self.core.row().and_then(|row| match row {
            Some(mut row) => match row.report_run_state(&self.run_id, state, self.core.host.now_ms()) {
                true => self.core.save_row(&row),
                false => Ok(()),
            },
            None => Ok(()),
        });
        if let Err(e) = result {
            self.core.host.log(&format!("run {}: state {state:?} not recorded: {e}", self.run_id));
        }
    }

    fn load(&self) -> (Vec<UiMessage>, Option<u64>) {
        match load_transcript(&self.core) {
            Ok(loaded) => loaded,
            Err(e) => {
                // Going on with an empty transcript would save over the real one.
                self.fail("loading the transcript", e);
                (Vec::new(), None)
            }
        }
    }

    fn save(&self, messages: &[UiMessage], consumed: Option<u64>) {
        let mut entries = vec![(TRANSCRIPT, store::to_json(messages))];
        if let Some(seq) = consumed {
            entries.push((CONSUMED, store::to_json(&seq)));
        }
        // Both or neither: a consumed seq without its turn in the transcript
        // (or the reverse) would lose or repeat the turn on resume.
        self.write_with_retry("saving the transcript", || self.core.store.put(&entries));
    }

    fn new_id(&self) -> String {
        const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut x = self.core.host.random_u64();
        (0..16)
            .map(|i| {
                if i == 8 {
                    x = self.core.host.random_u64();
                }
                let c = ALNUM[(x % 62) as usize] as char;
                x /= 62;
                c
            })
            .collect()
    }

    async fn hook(&self, event: Value) {
        self.halt_if_failed().await;
        let host = &self.core.host;
        let Some(url) = host.settings().webhook_url.clone() else { return };
        let request = HttpRequest {
            method: "POST",
            url,
            headers: vec![("content-type".into(), "application/json".into())],
            body: event.to_string(),
        };
        let clock = host.clock();
        for (attempt, backoff) in [200u32, 1000, 0].into_iter().enumerate() {
            match crate::io::timeout(clock, 5000, host.agent_fetch().fetch(&request)).await {
                Some(Ok(mut r)) if r.status < 300 => {
                    let _ = r.body.text().await;
                    return;
                }
                Some(Ok(r)) => host.log(&format!("webhook answered {} (attempt {})", r.status, attempt + 1)),
                Some(Err(e)) => host.log(&format!("webhook failed: {e} (attempt {})", attempt + 1)),
                None => host.log(&format!("webhook timed out (attempt {})", attempt + 1)),
            }
            if backoff > 0 {
                clock.sleep(backoff).await;
            }
        }
    }
}
