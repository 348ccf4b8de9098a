//! The routes of one session object (PROTOCOL.md §5.2-§5.7, §6, §7.1),
//! but the SSE read ([`super::read`]).

use super::{agent_host, auth_error, bearer, json, Host, Served, Server, ServerRequest, BASIN, BODY_MAX};
use crate::protocol::record::{AppendInput, AppendRecord, AppendResponse, InEnvelope, SequencedRecord, RECORD_METERED_MAX};
use crate::protocol::session::{CreateSessionRequest, APPEND_BODY_MAX, CREATE_BODY_MAX};
use crate::selfhost::auth::{self, Credential, Op};
use crate::selfhost::http::{self, error_body, ErrorResponse};
use crate::selfhost::log;
use crate::selfhost::route::{self, Route, SessionKey};
use crate::selfhost::sessions::{self, SessionRow};
use crate::selfhost::store::{SessionStore, StoreError, StreamLog};
use crate::selfhost::{command, Io};

/// The most a `GET …/records` answers with, metered: 16 S2 batches' worth.
pub const RECORDS_MAX_BYTES: usize = 16 * 1024 * 1024;

/// Whether a body is within `max`: the declared `Content-Length` (required,
/// as on the hosted platform) and the bytes that came.
fn body_ok(req: &ServerRequest, max: usize) -> bool {
    http::content_length_ok(req.header("content-length"), max) && req.body.len() <= max
}

impl<S: SessionStore + 'static, H: Host + 'static> Server<S, H> {
    pub(super) async fn serve(&self, route: Route, req: &ServerRequest) -> Served {
        match route {
            Route::CreateSession => self.create_session(req).await,
            Route::InitStream { key, io } => self.init_stream(req, &key, io),
            Route::Append { key, io } => self.append(req, &key, io),
            Route::Read { key, io } => self.read(req, &key, io),
            Route::ReadRecords { key, io } => self.read_records(req, &key, io),
            Route::S2Append { key, io } => self.s2_append(req, &key, io),
            Route::ChatMessages { chat_id } => self.chat_messages(req, &chat_id),
            Route::RetrieveSession { key } => self.retrieve(req, &key),
            Route::CloseSession { key } => self.close(req, &key),
            Route::Preflight => Err(error_body(404, "Not found", None)),
        }
    }

    pub(super) fn authenticate(&self, req: &ServerRequest) -> Result<Credential, ErrorResponse> {
        let s = self.core.host.settings();
        auth::authenticate(req.header("authorization"), &s.secret_key, &s.signing_key, self.core.host.now_ms() / 1000)
            .map_err(auth_error)
    }

    /// The row a route's key names; `None` for a chat never created, a 503
    /// when storage cannot say.
    pub(super) fn row_for(&self, key: &SessionKey) -> Result<Option<SessionRow>, ErrorResponse> {
        let row = self.core.row().map_err(|e| self.core.unavailable(e))?;
        if let (SessionKey::Friendly(_), None) = (key, &row) {
            return Err(error_body(404, "Session not found", None));
        }
        Ok(row)
    }

    fn existing_row(&self, key: &SessionKey) -> Result<SessionRow, ErrorResponse> {
        self.row_for(key)?.ok_or_else(|| error_body(404, "Session not found", None))
    }

    pub(super) fn keys<'a>(key: &'a SessionKey, row: &'a Option<SessionRow>) -> Vec<&'a str> {
        match row {
            Some(r) => r.keys(),
            None => vec![key.as_str()],
        }
    }

    async fn create_session(&self, req: &ServerRequest) -> Served {
        if !body_ok(req, CREATE_BODY_MAX) {
            return Err(http::too_large());
        }
        let cred = self.authenticate(req)?;
        let core = &self.core;
        if let Some(ms) = core.host.settings().create_delay_ms {
            crate::io::Clock::sleep(core.host.clock(), ms).await;
        }
        let request: CreateSessionRequest =
            serde_json::from_str(&req.text()).map_err(|e| error_body(422, &format!("Invalid request body: {e}"), None))?;
        auth::authorize(&cred, Op::CreateSession { task_identifier: &request.task_identifier }).map_err(auth_error)?;
        // A row that cannot be read is not a missing row: nothing is created
        // over it.
        let existing = core.row().map_err(|e| core.unavailable(e))?;
        let mut rng = || core.host.random_u64();
        let outcome =
            sessions::create_or_reuse(existing.as_ref(), &request, core.host.now_ms(), &mut rng).map_err(|e| e.response())?;
        core.save_row(&outcome.row).map_err(|e| core.unavailable(e))?;
        if existing.is_none() {
            if let Some(chat_id) = &outcome.row.external_id {
                if let Err(e) = core.host.register_alias(&outcome.row.id, chat_id).await {
                    core.host.log(&format!("could not register the session alias {}: {e}", outcome.row.id));
                }
            }
        }
        let token = core.token(outcome.row.addressing_key());
        if let Some(run) = outcome.run {
            agent_host::start_run(core, run);
        }
        json(outcome.status, &sessions::created_response(&outcome.row, token, outcome.is_cached))
    }

    fn init_stream(&self, req: &ServerRequest, key: &SessionKey, io: Io) -> Served {
        let cred = self.authenticate(req)?;
        let row = self.existing_row(key)?;
        auth::authorize_any(&cred, &row.keys(), |k| Op::InitStream { key: k, io }).map_err(auth_error)?;
        if row.is_closed() {
            return Err(error_body(400, "Session is closed", None));
        }
        // The S2 token is the caller's own credential: a secret key for the
        // route handler, its session token for a browser writing `.in`.
        let token = match cred {
            Credential::Secret => self.core.host.settings().secret_key.clone(),
            Credential::Session(_) => bearer(req).unwrap_or_default(),
        };
        let endpoint = format!("{}{}", req.origin(), route::S2_ENDPOINT_PATH);
        let mut r = json(202, &serde_json::json!({ "version": "v2" }))?;
        r.set_header("X-S2-Access-Token", &token);
        r.set_header("X-S2-Basin", BASIN);
        r.set_header("X-S2-Stream-Name", &route::s2_stream_name(row.addressing_key(), io));
        r.set_header("X-S2-Endpoint", &endpoint);
        Ok(r)
    }

    /// `POST …/{io}/append`: one record, acknowledged only once stored. A
    /// failed commit releases the part id, so the client's retry lands.
    fn append(&self, req: &ServerRequest, key: &SessionKey, io: Io) -> Served {
        if !body_ok(req, APPEND_BODY_MAX) {
            return Err(http::too_large());
        }
        let core = &self.core;
        let cred = self.authenticate(req)?;
        let mut row = self.existing_row(key)?;
        auth::authorize_any(&cred, &row.keys(), |k| Op::Append { key: k, io }).map_err(auth_error)?;
        sessions::check_appendable(&row, core.host.now_ms()).map_err(|e| e.response())?;
        let part_id = http::part_id(req.header("x-part-id")).map_err(|e| e.response())?.map(str::to_string);
        let now = core.host.now_ms();
        if let Some(id) = &part_id {
            if !core.claim_part(io, id, now).map_err(|e| core.unavailable(e))? {
                // A retry of an append that landed: no second record.
                self.ensure_run(&mut row, io).map_err(|e| core.unavailable(e))?;
                return json(200, &AppendResponse { ok: true, ..AppendResponse::default() });
            }
        }
        let envelope = InEnvelope { data: req.text(), id: part_id.clone().unwrap_or_else(|| core.nanoid(7)) };
        let record =
            AppendRecord::data(serde_json::to_string(&envelope).map_err(|_| error_body(500, "Something went wrong", None))?);
        if record.metered_size() > RECORD_METERED_MAX {
            core.release_part(io, part_id.as_deref());
            return Err(http::too_large());
        }
        let ack = match core.append(io, &AppendInput { records: vec![record], ..AppendInput::default() }) {
            Ok(ack) => ack,
            Err(e) => {
                core.release_part(io, part_id.as_deref());
                return Err(core.append_error(e));
            }
        };
        if let Err(e) = core.save_part_ids() {
            // The record is stored and the claim held in memory; after a
            // restart the claim is found again in the stream (its envelope
            // id), so a retry is not appended twice.
            core.host.log(&format!("could not persist part ids: {e}"));
        }
        // Stored, but no run to answer it: 503, and the retry (same part id)
        // is answered 200 once the run starts.
        self.ensure_run(&mut row, io).map_err(|e| core.unavailable(e))?;
        json(200, &AppendResponse { ok: true, seq: Some(ack.start.seq_num), ..AppendResponse::default() })
    }

    /// A message to a session whose run exited boots a continuation (§5.5).
    fn ensure_run(&self, row: &mut SessionRow, io: Io) -> Result<(), StoreError> {
        if io != Io::In {
            return Ok(());
        }
        let core = &self.core;
        let mut rng = || core.host.random_u64();
        if let Some(run) = sessions::ensure_run_for_append(row, core.host.now_ms(), &mut rng) {
            core.save_row(row)?;
            agent_host::start_run(core, run);
        }
        Ok(())
    }

    /// `GET …/{io}/records`: what the stream holds after `afterEventId`, at
    /// most [`RECORDS_MAX_BYTES`] of it (metered as S2 does).
    fn read_records(&self, req: &ServerRequest, key: &SessionKey, io: Io) -> Served {
        let cred = self.authenticate(req)?;
        let row = self.row_for(key)?;
        auth::authorize_any(&cred, &Self::keys(key, &row), |k| Op::ReadRecords { key: k, io }).map_err(auth_error)?;
        let after = req.query("afterEventId");
        let start =
            log::records_start(after.as_deref()).ok_or_else(|| error_body(400, "afterEventId must be a seq number", None))?;
        let store = StreamLog::new(&self.core.store, io);
        let mut records = Vec::new();
        let mut from = start;
        let mut metered = 0;
        loop {
            // At most what is left of the cap (and one record past it, which
            // the check below refuses): memory stays bounded by the cap.
            let left = RECORDS_MAX_BYTES.saturating_sub(metered);
            let batch = log::read(&store, from, true, 500, left).map_err(|e| self.core.append_error(e))?;
            if batch.records.is_empty() {
                break;
            }
            from = log::next_start(&batch, from);
            metered += batch.records.iter().map(SequencedRecord::metered_size).sum::<usize>();
            // Refused, not cut short: a reader scans this answer for the
            // newest checkpoint, and a truncated one would hide it.
            if metered > RECORDS_MAX_BYTES {
                return Err(error_body(
                    413,
                    &format!(
                        "more than {RECORDS_MAX_BYTES} bytes of records after this point; read the stream as SSE from a later \
                         afterEventId"
                    ),
                    Some("records_too_large"),
                ));
            }
            records.extend(batch.records);
        }
        json(200, &log::session_records(&records))
    }

    fn s2_append(&self, req: &ServerRequest, key: &SessionKey, io: Io) -> Served {
        let s2 = |status, message: &str, code| http::s2_error(status, message, code);
        let core = &self.core;
        let cred = self.authenticate(req).map_err(|e| s2(e.status, "unauthorized", "unauthorized"))?;
        let row = self.row_for(key)?.ok_or_else(|| s2(404, "stream not found", "stream_not_found"))?;
        auth::authorize_any(&cred, &row.keys(), |k| Op::Append { key: k, io })
            .map_err(|e| s2(e.status(), &e.to_string(), "forbidden"))?;
        if req.header("content-type").is_some_and(|c| c.contains("protobuf")) {
            return Err(s2(415, "this platform speaks the JSON append format only", "unsupported_media_type"));
        }
        if req.body.len() > BODY_MAX {
            return Err(s2(413, "append body too large", "too_large"));
        }
        let mut input: AppendInput =
            serde_json::from_str(&req.text()).map_err(|e| s2(400, &format!("invalid append: {e}"), "bad_request"))?;
        if req.header("s2-format") == Some("base64") {
            input = command::decode_base64_format(input).map_err(|e| s2(400, &e.to_string(), "bad_request"))?;
        }
        let ack = core.append(io, &input).map_err(|e| match e {
            log::LogError::Storage(e) => {
                core.host.log(&format!("session storage failed: {e}"));
                let mut r = s2(503, "storage unavailable; retry", "unavailable");
                r.headers.push(("Retry-After", "1".into()));
                r
            }
            e => match e.condition_failed() {
                Some(body) => http::s2_condition_failed(body),
                None => s2(e.status(), &e.to_string(), e.code()),
            },
        })?;
        json(200, &ack)
    }

    /// `GET /api/v1/sessions/{key}`: the session item (secret key, or a
    /// token that can read the session).
    fn retrieve(&self, req: &ServerRequest, key: &SessionKey) -> Served {
        let cred = self.authenticate(req)?;
        let row = self.existing_row(key)?;
        auth::authorize_any(&cred, &row.keys(), |k| Op::Read { key: k, io: Io::Out }).map_err(auth_error)?;
        json(200, &session_item(&row))
    }

    /// `POST /api/v1/sessions/{key}/close` (secret key): later appends get
    /// 409 `session_closed`; a running agent is told to stop waiting. The
    /// wake-up record is stored before the closed row, so a failure of
    /// either answers 503 and the retry does the rest.
    fn close(&self, req: &ServerRequest, key: &SessionKey) -> Served {
        let core = &self.core;
        let cred = self.authenticate(req)?;
        if !matches!(cred, Credential::Secret) {
            return Err(error_body(403, "Closing a session needs the secret key", None));
        }
        if req.body.len() > CREATE_BODY_MAX {
            return Err(http::too_large());
        }
        let mut row = self.existing_row(key)?;
        let body: serde_json::Value = serde_json::from_str(&req.text()).unwrap_or_default();
        let reason = body.get("reason").and_then(|r| r.as_str()).map(str::to_string);
        if !row.is_closed() {
            row.close(reason, core.host.now_ms());
            if body.get("callingRunId").is_none() {
                // The wake-up record: the agent exits on a `close` trigger.
                let close =
                    serde_json::json!({ "kind": "message", "payload": { "chatId": row.addressing_key(), "trigger": "close" } });
                let envelope = InEnvelope { data: close.to_string(), id: core.nanoid(7) };
                let record = AppendRecord::data(serde_json::to_string(&envelope).expect("an envelope serializes"));
                core.append(Io::In, &AppendInput { records: vec![record], ..AppendInput::default() })
                    .map_err(|e| core.append_error(e))?;
            }
            core.save_row(&row).map_err(|e| core.unavailable(e))?;
        }
        json(200, &session_item(&row))
    }

    fn chat_messages(&self, req: &ServerRequest, key: &SessionKey) -> Served {
        let cred = self.authenticate(req)?;
        let row = self.row_for(key)?;
        auth::authorize_any(&cred, &Self::keys(key, &row), |k| Op::ChatMessages { key: k }).map_err(auth_error)?;
        let (messages, _) = agent_host::load_transcript(&self.core).map_err(|e| self.core.unavailable(e))?;
        json(200, &messages)
    }
}

/// The `SessionItem` shape: the create response without the run's token.
fn session_item(row: &SessionRow) -> serde_json::Value {
    let mut item = serde_json::to_value(sessions::created_response(row, String::new(), false)).unwrap_or_default();
    if let Some(o) = item.as_object_mut() {
        for k in ["runId", "publicAccessToken", "isCached", "pendingVersion"] {
            o.shift_remove(k);
        }
    }
    item
}
