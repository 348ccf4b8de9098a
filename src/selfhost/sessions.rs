//! The session row and its lifecycle (PROTOCOL.md §5.2, §5.5 steps 1-2,
//! §7.6, §8.2, §9.3).
//!
//! `POST /api/v1/sessions` is idempotent on the externalId: the first call
//! creates the row and triggers a run (201); later calls write the new
//! trigger config, tags and metadata through, reuse a live run (200,
//! `isCached: true`) or, when the run has exited, trigger a continuation
//! run. An `.in` append to a session whose run exited triggers a
//! continuation too. The row records the run's state as the agent last
//! reported it; the platform never probes a run.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{error_body, session_closed, ErrorResponse};
use super::ids::{run_id, session_id};
use super::time::{format_iso, parse_iso};
use crate::protocol::input::validate_chat_id;
use crate::protocol::json::Object;
use crate::protocol::session::{owner_of, CreateSessionRequest, CreatedSession, SessionRequestError, TriggerConfig};

/// A run's state as its agent last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Triggered, not yet reported in.
    Booting,
    /// Executing a turn.
    Running,
    /// Waiting for input.
    Idle,
    /// Returned or crashed: the next input needs a continuation run.
    Exited,
}

impl RunState {
    /// Whether the run will still consume `.in` records.
    pub fn is_live(self) -> bool {
        self != RunState::Exited
    }
}

/// One session, as the Durable Object stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    /// Friendly id, `session_<25 chars>`.
    pub id: String,
    pub external_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub task_identifier: String,
    pub trigger_config: TriggerConfig,
    pub tags: Vec<String>,
    pub metadata: Option<Object>,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub closed_at_ms: Option<u64>,
    pub closed_reason: Option<String>,
    pub expires_at_ms: Option<u64>,
    /// `run_<25 chars>`.
    pub current_run_id: Option<String>,
    /// State of the current run.
    pub run_state: RunState,
}

impl SessionRow {
    /// The key of the session's streams and token scopes: externalId, else
    /// the friendly id.
    pub fn addressing_key(&self) -> &str {
        self.external_id.as_deref().unwrap_or(&self.id)
    }

    /// Every key that names this session in a URL or a token scope.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys = vec![self.id.as_str()];
        keys.extend(self.external_id.as_deref());
        keys
    }

    pub fn is_closed(&self) -> bool {
        self.closed_at_ms.is_some()
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_some_and(|at| at < now_ms)
    }

    /// Closes the session for good (later appends get 409).
    pub fn close(&mut self, reason: Option<String>, now_ms: u64) {
        if !self.is_closed() {
            self.closed_at_ms = Some(now_ms);
            self.closed_reason = reason;
            self.updated_at_ms = now_ms;
        }
    }

    /// Records a state the agent reports for `run_id`; ignored (`false`)
    /// when that run is no longer the session's current run.
    pub fn report_run_state(&mut self, run_id: &str, state: RunState, now_ms: u64) -> bool {
        if self.current_run_id.as_deref() != Some(run_id) {
            return false;
        }
        self.run_state = state;
        self.updated_at_ms = now_ms;
        true
    }
}

/// A run the Durable Object must start.
#[derive(Debug, Clone, PartialEq)]
pub struct RunToStart {
    pub run_id: String,
    pub task_identifier: String,
    /// `{...basePayload, idleTimeoutInSeconds?, sessionId, continuation?,
    /// previousRunId?}`.
    pub payload: Object,
    /// The run replaces one that exited.
    pub continuation: bool,
    pub previous_run_id: Option<String>,
    /// Run options (machine, queue, tags, …) as configured.
    pub trigger_config: TriggerConfig,
}

/// What `POST /api/v1/sessions` did.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateOutcome {
    /// The row to store.
    pub row: SessionRow,
    /// 201 for a new row, 200 for an existing one.
    pub status: u16,
    pub is_cached: bool,
    /// A run to start, if the session had no live one.
    pub run: Option<RunToStart>,
}

/// Why `POST /api/v1/sessions` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    Invalid(#[from] SessionRequestError),
    #[error("expiresAt: invalid date")]
    ExpiresAt,
    #[error("Session is closed; use a different externalId to create a new session")]
    Closed,
    #[error("Session is expired; use a different externalId to create a new session")]
    Expired,
    /// The chat was created for another identity (its owner tag differs).
    #[error("This chat belongs to another user")]
    NotOwner,
}

impl CreateError {
    pub fn status(&self) -> u16 {
        match self {
            CreateError::Invalid(_) | CreateError::ExpiresAt => 422,
            CreateError::Closed | CreateError::Expired => 409,
            CreateError::NotOwner => 403,
        }
    }

    /// `{"error": message}` with the status.
    pub fn response(&self) -> ErrorResponse {
        error_body(self.status(), &self.to_string(), None)
    }
}

/// Creates the session or reuses `existing` (the row stored under the
/// request's externalId), triggering a run when there is no live one.
pub fn create_or_reuse(
    existing: Option<&SessionRow>,
    req: &CreateSessionRequest,
    now_ms: u64,
    rng: &mut impl FnMut() -> u64,
) -> Result<CreateOutcome, CreateError> {
    req.validate()?;
    let external_id = validate_chat_id(&req.external_id).map_err(SessionRequestError::from)?;
    let expires_at_ms = match &req.expires_at {
        Some(s) => Some(parse_iso(s).ok_or(CreateError::ExpiresAt)?),
        None => None,
    };
    let Some(existing) = existing else {
        if expires_at_ms.is_some_and(|at| at < now_ms) {
            return Err(CreateError::Expired);
        }
        let mut row = SessionRow {
            id: session_id(now_ms, rng),
            external_id: Some(external_id.to_string()),
            kind: req.kind.clone(),
            task_identifier: req.task_identifier.clone(),
            trigger_config: req.trigger_config.clone(),
            tags: req.tags.clone().unwrap_or_default(),
            metadata: req.metadata.clone(),
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            closed_at_ms: None,
            closed_reason: None,
            expires_at_ms,
            current_run_id: None,
            run_state: RunState::Exited,
        };
        let run = start_run(&mut row, now_ms, rng);
        return Ok(CreateOutcome { row, status: 201, is_cached: false, run: Some(run) });
    };
    if existing.is_closed() {
        return Err(CreateError::Closed);
    }
    if existing.is_expired(now_ms) {
        return Err(CreateError::Expired);
    }
    // A chat with an owner is reused by its owner alone (checked here, in
    // the same step as the reuse, so no run starts for anyone else).
    if let Some(owner) = owner_of(&existing.tags) {
        if owner_of(req.tags.as_deref().unwrap_or_default()) != Some(owner) {
            return Err(CreateError::NotOwner);
        }
    }
    let mut row = existing.clone();
    row.trigger_config = req.trigger_config.clone();
    if let Some(tags) = &req.tags {
        row.tags = tags.clone();
    }
    if req.metadata.is_some() {
        row.metadata = req.metadata.clone();
    }
    row.updated_at_ms = now_ms;
    let run = ensure_run(&mut row, now_ms, rng);
    Ok(CreateOutcome { row, status: 200, is_cached: true, run })
}

/// For an `.in` append (§5.5 step 2): when the current run has exited,
/// start a continuation run. `None` when a run is live or the session is
/// closed.
pub fn ensure_run_for_append(row: &mut SessionRow, now_ms: u64, rng: &mut impl FnMut() -> u64) -> Option<RunToStart> {
    if row.is_closed() {
        return None;
    }
    ensure_run(row, now_ms, rng)
}

fn ensure_run(row: &mut SessionRow, now_ms: u64, rng: &mut impl FnMut() -> u64) -> Option<RunToStart> {
    let live = row.current_run_id.is_some() && row.run_state.is_live();
    (!live).then(|| start_run(row, now_ms, rng))
}

/// Triggers a new run for the row: a continuation when it had one before.
fn start_run(row: &mut SessionRow, now_ms: u64, rng: &mut impl FnMut() -> u64) -> RunToStart {
    let previous = row.current_run_id.take();
    let config = &row.trigger_config;
    let mut payload = config.base_payload.clone();
    if let Some(idle) = config.idle_timeout_in_seconds {
        payload.insert("idleTimeoutInSeconds".into(), idle.into());
    }
    payload.insert("sessionId".into(), Value::String(row.id.clone()));
    if let Some(prev) = &previous {
        payload.insert("continuation".into(), true.into());
        payload.insert("previousRunId".into(), Value::String(prev.clone()));
        for key in ["message", "messages", "trigger"] {
            payload.shift_remove(key);
        }
    }
    let run_id = run_id(now_ms, rng);
    row.current_run_id = Some(run_id.clone());
    row.run_state = RunState::Booting;
    row.updated_at_ms = now_ms;
    RunToStart {
        run_id,
        task_identifier: row.task_identifier.clone(),
        payload,
        continuation: previous.is_some(),
        previous_run_id: previous,
        trigger_config: row.trigger_config.clone(),
    }
}

/// Why an append was refused before touching the stream (§5.5 step 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendRefusal {
    /// 409 `session_closed`.
    Closed { reason: Option<String> },
    /// 400.
    Expired,
}

impl AppendRefusal {
    pub fn response(&self) -> ErrorResponse {
        match self {
            AppendRefusal::Closed { reason } => session_closed(reason.as_deref()),
            AppendRefusal::Expired => error_body(400, "Cannot append to an expired session", Some("session_expired")),
        }
    }
}

/// Checks that a session accepts appends.
pub fn check_appendable(row: &SessionRow, now_ms: u64) -> Result<(), AppendRefusal> {
    if row.is_closed() {
        return Err(AppendRefusal::Closed { reason: row.closed_reason.clone() });
    }
    if row.is_expired(now_ms) {
        return Err(AppendRefusal::Expired);
    }
    Ok(())
}

/// The `CreatedSessionResponseBody` for a row (§5.2).
pub fn created_response(row: &SessionRow, public_access_token: String, is_cached: bool) -> CreatedSession {
    CreatedSession {
        id: row.id.clone(),
        external_id: row.external_id.clone(),
        kind: row.kind.clone(),
        task_identifier: row.task_identifier.clone(),
        trigger_config: Some(row.trigger_config.clone()),
        current_run_id: row.current_run_id.clone(),
        tags: row.tags.clone(),
        metadata: row.metadata.clone(),
        closed_at: row.closed_at_ms.map(format_iso),
        closed_reason: row.closed_reason.clone(),
        expires_at: row.expires_at_ms.map(format_iso),
        created_at: format_iso(row.created_at_ms),
        updated_at: format_iso(row.updated_at_ms),
        run_id: row.current_run_id.clone().unwrap_or_default(),
        public_access_token,
        is_cached,
        pending_version: None,
        extra: Object::new(),
    }
}
