//! Hosting the reference agent inside the session's Durable Object: its
//! [`Session`] is the object's own storage and wake-ups, its runs are tasks
//! of the object, its model and tool calls go through the runtime's fetch.

use std::pin::pin;
use std::rc::Rc;

use futures_util::future::{select, Either};
use serde_json::Value;

use super::config;
use super::session::{nanoid, now_ms, random_u64, Core, ALIAS_PATH};
use super::store::{self, SqlLog};
use crate::agent::run::{run_agent, InputRecord, RunPayload, RunState, Session};
use crate::io::{Clock, Fetch, HttpRequest, ResponseBody};
use crate::protocol::input::ChatInput;
use crate::protocol::message::UiMessage;
use crate::protocol::record::{trim_command_headers, AppendInput, AppendRecord, Header, InEnvelope, OutEnvelope, RecordKind};
use crate::protocol::UiChunk;
use crate::selfhost::command::trim_body;
use crate::selfhost::log::LogStore;
use crate::selfhost::sessions::{self, RunToStart, SessionRow};
use crate::selfhost::Io;
use crate::web::fetch::{WebClock, WebFetch};

/// Lets `session_…` ids find this object: the alias object named by the id
/// remembers the chat id.
pub async fn register_alias(core: &Core, row: &SessionRow) {
    let Some(chat_id) = row.external_id.clone() else { return };
    let result = async {
        let ns = core.env.durable_object("SESSIONS")?;
        let stub = ns.id_from_name(&row.id)?.get_stub()?;
        let init = worker::RequestInit { method: worker::Method::Post, body: Some(chat_id.into()), ..Default::default() };
        stub.fetch_with_request(worker::Request::new_with_init(&format!("https://alias{ALIAS_PATH}"), &init)?).await
    }
    .await;
    if let Err(e) = result {
        worker::console_error!("could not register the session alias {}: {e}", row.id);
    }
}

pub fn load_transcript(core: &Core) -> (Vec<UiMessage>, Option<u64>) {
    (store::get(&core.sql, "transcript").unwrap_or_default(), store::get(&core.sql, "consumed"))
}

/// A run for an object that lost its task (restart) while the row says the
/// run is live: the same run id, continuing from storage. A run that had not
/// consumed anything yet (still waiting for its handover or its first
/// message) starts over in its own mode; one past a turn continues.
pub fn resume(core: &Core, row: &SessionRow) -> Option<RunToStart> {
    if !row.run_state.is_live() {
        return None;
    }
    let mut payload = row.trigger_config.base_payload.clone();
    if load_transcript(core).1.is_some() {
        payload.insert("continuation".into(), true.into());
    }
    Some(RunToStart {
        run_id: row.current_run_id.clone()?,
        task_identifier: row.task_identifier.clone(),
        payload,
        continuation: true,
        previous_run_id: row.current_run_id.clone(),
        trigger_config: row.trigger_config.clone(),
    })
}

/// Starts a run as a task of the object.
pub fn start_run(core: &Rc<Core>, run: RunToStart) {
    let config = match config::agent(&core.env) {
        Ok(c) => c,
        Err(e) => {
            worker::console_error!("the reference agent is misconfigured, run {} not started: {e}", run.run_id);
            return;
        }
    };
    *core.running.borrow_mut() = Some(run.run_id.clone());
    let session = DoSession { core: core.clone(), run_id: run.run_id.clone() };
    let payload = RunPayload::from_payload(&run.payload, &run.run_id);
    wasm_bindgen_futures::spawn_local(async move {
        run_agent(&session, &WebFetch, &WebClock, &config, payload).await;
        let mut running = session.core.running.borrow_mut();
        if running.as_deref() == Some(session.run_id.as_str()) {
            *running = None;
        }
    });
}

struct DoSession {
    core: Rc<Core>,
    run_id: String,
}

impl DoSession {
    fn append(&self, record: AppendRecord) -> u64 {
        match self.core.append(Io::Out, &AppendInput { records: vec![record], ..AppendInput::default() }) {
            Ok(ack) => ack.start.seq_num,
            Err(e) => {
                worker::console_error!("agent write to out failed: {e}");
                0
            }
        }
    }

    fn key(&self) -> Option<String> {
        self.core.row().map(|r| r.addressing_key().to_string())
    }
}

impl Session for DoSession {
    async fn next_input(&self, after: Option<u64>, timeout_ms: u32) -> Option<InputRecord> {
        let clock = WebClock;
        let deadline = clock.now_ms() + f64::from(timeout_ms);
        let mut from = after.map_or(0, |a| a + 1);
        loop {
            let seen = self.core.changed(Io::In).version();
            let log = SqlLog { sql: &self.core.sql, io: Io::In };
            for record in log.range(from, 64) {
                from = record.seq_num + 1;
                if record.kind() != RecordKind::Data {
                    continue;
                }
                let input = serde_json::from_str::<InEnvelope>(&record.body)
                    .ok()
                    .and_then(|e| serde_json::from_str::<ChatInput>(&e.data).ok());
                match input {
                    Some(input) => return Some(InputRecord { seq: record.seq_num, input }),
                    None => worker::console_warn!("skipping an unreadable .in record {}", record.seq_num),
                }
            }
            let left = deadline - clock.now_ms();
            if left <= 0.0 {
                return None;
            }
            let nap = left.min(f64::from(i32::MAX as u32)) as u32;
            match select(pin!(self.core.changed(Io::In).changed_since(seen)), pin!(clock.sleep(nap))).await {
                Either::Left(_) => {}
                Either::Right(_) => return None,
            }
        }
    }

    fn write(&self, chunk: &UiChunk) -> u64 {
        let body = OutEnvelope { data: chunk.clone(), id: nanoid(7) }.to_json();
        self.append(AppendRecord::data(body))
    }

    fn control(&self, headers: Vec<Header>) -> u64 {
        self.append(AppendRecord::control(headers))
    }

    fn trim_out(&self, first_kept: u64) {
        self.append(AppendRecord { headers: trim_command_headers(), body: trim_body(first_kept), timestamp: None });
    }

    fn access_token(&self) -> Option<String> {
        self.key().map(|k| self.core.token(&k))
    }

    fn set_state(&self, state: RunState) {
        let Some(mut row) = self.core.row() else { return };
        let state = match state {
            RunState::Booting => sessions::RunState::Booting,
            RunState::Running => sessions::RunState::Running,
            RunState::Idle => sessions::RunState::Idle,
            RunState::Exited => sessions::RunState::Exited,
        };
        if row.report_run_state(&self.run_id, state, now_ms()) {
            self.core.save_row(&row);
        }
    }

    fn load(&self) -> (Vec<UiMessage>, Option<u64>) {
        load_transcript(&self.core)
    }

    fn save(&self, messages: &[UiMessage], consumed: Option<u64>) {
        store::put(&self.core.sql, "transcript", &messages);
        if let Some(seq) = consumed {
            store::put(&self.core.sql, "consumed", &seq);
        }
    }

    fn new_id(&self) -> String {
        const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut x = random_u64();
        (0..16)
            .map(|i| {
                if i == 8 {
                    x = random_u64();
                }
                let c = ALNUM[(x % 62) as usize] as char;
                x /= 62;
                c
            })
            .collect()
    }

    async fn hook(&self, event: Value) {
        let Some(url) = config::var(&self.core.env, "HEADSTART_AGENT_WEBHOOK_URL") else { return };
        let request = HttpRequest {
            method: "POST",
            url,
            headers: vec![("content-type".into(), "application/json".into())],
            body: event.to_string(),
        };
        let clock = WebClock;
        for (attempt, backoff) in [200u32, 1000, 0].into_iter().enumerate() {
            match crate::io::timeout(&clock, 5000, WebFetch.fetch(&request)).await {
                Some(Ok(mut r)) if r.status < 300 => {
                    let _ = r.body.text().await;
                    return;
                }
                Some(Ok(r)) => worker::console_warn!("webhook answered {} (attempt {})", r.status, attempt + 1),
                Some(Err(e)) => worker::console_warn!("webhook failed: {e} (attempt {})", attempt + 1),
                None => worker::console_warn!("webhook timed out (attempt {})", attempt + 1),
            }
            if backoff > 0 {
                clock.sleep(backoff).await;
            }
        }
    }
}
