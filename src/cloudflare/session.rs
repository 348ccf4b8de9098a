//! One chat session's Durable Object: the platform routes of PROTOCOL.md
//! §5-§7 over the session's SQLite storage, live SSE tails woken by appends,
//! and the reference agent's runs (see `agent_host`). Everything a chat
//! needs is in one object, so appends, reads and the agent share memory and
//! never poll.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use serde::Serialize;
use worker::{durable_object, DurableObject, Env, Headers, Request, Response, Result, SqlStorage, State};

use super::agent_host;
use super::config::Platform;
use super::store::{self, SqlLog};
use crate::io::{emitted_stream, Notify};
use crate::protocol::record::{AppendInput, AppendRecord, AppendResponse, InEnvelope, RECORD_METERED_MAX};
use crate::protocol::session::{CreateSessionRequest, APPEND_BODY_MAX, CREATE_BODY_MAX};
use crate::selfhost::auth::{self, AuthError, Credential, Op};
use crate::selfhost::http::{self, error_body, ErrorResponse};
use crate::selfhost::log::{self, LogStore};
use crate::selfhost::part_ids::PartIds;
use crate::selfhost::route::{self, Route, SessionKey};
use crate::selfhost::sessions::{self, SessionRow};
use crate::selfhost::{command, tail, Io};
use crate::web::fetch::WebClock;

/// Internal path: the alias object of a `session_…` id answers with the
/// chat id it stands for.
pub const ALIAS_PATH: &str = "/__headstart/alias";

/// Name of the S2 basin this platform reports (a valid S2 basin name).
const BASIN: &str = "headstart-local";

#[durable_object(fetch)]
pub struct SessionObject {
    core: Rc<Core>,
}

pub struct Core {
    pub env: Env,
    pub sql: SqlStorage,
    pub platform: Platform,
    changed_in: Notify,
    changed_out: Notify,
    part_ids: RefCell<PartIds>,
    /// The run this object is executing, if any.
    pub running: RefCell<Option<String>>,
}

impl Core {
    pub fn changed(&self, io: Io) -> &Notify {
        match io {
            Io::In => &self.changed_in,
            Io::Out => &self.changed_out,
        }
    }

    pub fn row(&self) -> Option<SessionRow> {
        store::get(&self.sql, "row")
    }

    pub fn save_row(&self, row: &SessionRow) {
        store::put(&self.sql, "row", row);
    }

    /// Appends to a stream and wakes its readers.
    pub fn append(&self, io: Io, input: &AppendInput) -> std::result::Result<crate::protocol::record::AppendAck, log::LogError> {
        let ack = log::append(&mut SqlLog { sql: &self.sql, io }, input, now_ms())?;
        self.changed(io).notify();
        Ok(ack)
    }

    pub fn token(&self, key: &str) -> String {
        auth::mint_session_token(&self.platform.signing_key, &self.platform.env_id, key, now_ms() / 1000)
    }
}

pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// 64 random bits (ids are not secrets; tokens are signed with a key).
pub fn random_u64() -> u64 {
    let half = || (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (half() << 32) | half()
}

impl DurableObject for SessionObject {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = store::migrate(&sql) {
            worker::console_error!("session storage migration failed: {e}");
        }
        let part_ids = store::get(&sql, "part_ids").unwrap_or_default();
        let platform = Platform::from_env(&env);
        let core = Core {
            env,
            sql,
            platform,
            changed_in: Notify::default(),
            changed_out: Notify::default(),
            part_ids: RefCell::new(part_ids),
            running: RefCell::new(None),
        };
        Self { core: Rc::new(core) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        if path == ALIAS_PATH {
            return alias(&self.core, &mut req).await;
        }
        self.resume_orphaned_run();
        let origin = req.headers().get("origin")?;
        let result = match route::parse(req.method().as_ref(), &path) {
            Ok(route) => self.serve(route, &mut req).await,
            Err(e) => Err(e.response()),
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => error_response(e)?,
        };
        for (name, value) in http::cors_headers(origin.as_deref()) {
            response.headers_mut().set(name, &value)?;
        }
        Ok(response)
    }
}

type Served = std::result::Result<Response, ErrorResponse>;

fn error_response(e: ErrorResponse) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    for (name, value) in &e.headers {
        headers.set(name, value)?;
    }
    Ok(Response::ok(e.body)?.with_status(e.status).with_headers(headers))
}

fn json<T: Serialize>(status: u16, body: &T) -> Served {
    let mut r = Response::from_json(body).map_err(internal)?;
    r = r.with_status(status);
    Ok(r)
}

fn internal(e: impl std::fmt::Display) -> ErrorResponse {
    worker::console_error!("internal error: {e}");
    error_body(500, "Something went wrong", None)
}

fn auth_error(e: AuthError) -> ErrorResponse {
    error_body(e.status(), &e.to_string(), None)
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

impl SessionObject {
    fn authenticate(&self, req: &Request) -> std::result::Result<Credential, ErrorResponse> {
        let p = &self.core.platform;
        auth::authenticate(header(req, "authorization").as_deref(), &p.secret_key, &p.signing_key, now_ms() / 1000)
            .map_err(auth_error)
    }

    /// The row a route's key names; `None` for a chat never created.
    fn row_for(&self, key: &SessionKey) -> std::result::Result<Option<SessionRow>, ErrorResponse> {
        let row = self.core.row();
        if let (SessionKey::Friendly(_), None) = (key, &row) {
            return Err(error_body(404, "Session not found", None));
        }
        Ok(row)
    }

    fn keys<'a>(key: &'a SessionKey, row: &'a Option<SessionRow>) -> Vec<&'a str> {
        match row {
            Some(r) => r.keys(),
            None => vec![key_str(key)],
        }
    }

    async fn serve(&self, route: Route, req: &mut Request) -> Served {
        match route {
            Route::CreateSession => self.create_session(req).await,
            Route::InitStream { key, io } => self.init_stream(req, &key, io),
            Route::Append { key, io } => self.append(req, &key, io).await,
            Route::Read { key, io } => self.read(req, &key, io),
            Route::ReadRecords { key, io } => self.read_records(req, &key, io),
            Route::S2Append { key, io } => self.s2_append(req, &key, io).await,
            Route::ChatMessages { chat_id } => self.chat_messages(req, &chat_id),
            Route::RetrieveSession { key } => self.retrieve(req, &key),
            Route::CloseSession { key } => self.close(req, &key).await,
            Route::Preflight => Err(error_body(404, "Not found", None)),
        }
    }

    async fn create_session(&self, req: &mut Request) -> Served {
        if !http::content_length_ok(header(req, "content-length").as_deref(), CREATE_BODY_MAX) {
            return Err(http::too_large());
        }
        let cred = self.authenticate(req)?;
        // Benchmark knob: a slower control plane.
        if let Some(ms) =
            super::config::var(&self.core.env, "HEADSTART_PLATFORM_CREATE_DELAY_MS").and_then(|v| v.parse::<u32>().ok())
        {
            crate::io::Clock::sleep(&WebClock, ms).await;
        }
        let body = req.text().await.map_err(internal)?;
        let request: CreateSessionRequest =
            serde_json::from_str(&body).map_err(|e| error_body(422, &format!("Invalid request body: {e}"), None))?;
        auth::authorize(&cred, Op::CreateSession { task_identifier: &request.task_identifier }).map_err(auth_error)?;
        let existing = self.core.row();
        let mut rng = random_u64;
        let outcome = sessions::create_or_reuse(existing.as_ref(), &request, now_ms(), &mut rng).map_err(|e| e.response())?;
        self.core.save_row(&outcome.row);
        if existing.is_none() {
            agent_host::register_alias(&self.core, &outcome.row).await;
        }
        let token = self.core.token(outcome.row.addressing_key());
        if let Some(run) = outcome.run {
            agent_host::start_run(&self.core, run);
        }
        json(outcome.status, &sessions::created_response(&outcome.row, token, outcome.is_cached))
    }

    fn init_stream(&self, req: &Request, key: &SessionKey, io: Io) -> Served {
        let cred = self.authenticate(req)?;
        let row = self.row_for(key)?.ok_or_else(|| error_body(404, "Session not found", None))?;
        auth::authorize_any(&cred, &row.keys(), |k| Op::InitStream { key: k, io }).map_err(auth_error)?;
        if row.is_closed() {
            return Err(error_body(400, "Session is closed", None));
        }
        // The S2 token is the caller's own credential: a secret key for the
        // route handler, its session token for a browser writing `.in`.
        let token = match cred {
            Credential::Secret => self.core.platform.secret_key.clone(),
            Credential::Session(_) => bearer(req).unwrap_or_default(),
        };
        let url = req.url().map_err(internal)?;
        let endpoint = format!("{}{}", url.origin().ascii_serialization(), route::S2_ENDPOINT_PATH);
        let mut r = json(202, &serde_json::json!({ "version": "v2" }))?;
        let h = r.headers_mut();
        let set = |n: &str, v: &str| h.set(n, v).map_err(internal);
        set("X-S2-Access-Token", &token)?;
        set("X-S2-Basin", BASIN)?;
        set("X-S2-Stream-Name", &route::s2_stream_name(row.addressing_key(), io))?;
        set("X-S2-Endpoint", &endpoint)?;
        Ok(r)
    }

    async fn append(&self, req: &mut Request, key: &SessionKey, io: Io) -> Served {
        if !http::content_length_ok(header(req, "content-length").as_deref(), APPEND_BODY_MAX) {
            return Err(http::too_large());
        }
        let cred = self.authenticate(req)?;
        let mut row = self.row_for(key)?.ok_or_else(|| error_body(404, "Session not found", None))?;
        auth::authorize_any(&cred, &row.keys(), |k| Op::Append { key: k, io }).map_err(auth_error)?;
        sessions::check_appendable(&row, now_ms()).map_err(|e| e.response())?;
        let part_id = http::part_id(header(req, "x-part-id").as_deref()).map_err(|e| e.response())?.map(str::to_string);
        let body = req.text().await.map_err(internal)?;
        let now = now_ms();
        if let Some(id) = &part_id {
            let claimed = self.core.part_ids.borrow_mut().claim(io, id, now);
            if !claimed {
                // A retry of an append that landed: no second record.
                self.ensure_run(&mut row, io);
                return json(200, &AppendResponse { ok: true, ..AppendResponse::default() });
            }
        }
        let envelope = InEnvelope { data: body, id: part_id.clone().unwrap_or_else(|| nanoid(7)) };
        let record = AppendRecord::data(serde_json::to_string(&envelope).map_err(internal)?);
        if record.metered_size() > RECORD_METERED_MAX {
            self.release(io, part_id.as_deref());
            return Err(http::too_large());
        }
        let ack = match self.core.append(io, &AppendInput { records: vec![record], ..AppendInput::default() }) {
            Ok(ack) => ack,
            Err(e) => {
                self.release(io, part_id.as_deref());
                return Err(error_body(e.status(), &e.to_string(), Some(e.code())));
            }
        };
        store::put(&self.core.sql, "part_ids", &*self.core.part_ids.borrow());
        self.ensure_run(&mut row, io);
        json(200, &AppendResponse { ok: true, seq: Some(ack.start.seq_num), ..AppendResponse::default() })
    }

    fn release(&self, io: Io, part_id: Option<&str>) {
        if let Some(id) = part_id {
            self.core.part_ids.borrow_mut().release(io, id);
        }
    }

    /// A message to a session whose run exited boots a continuation (§5.5).
    fn ensure_run(&self, row: &mut SessionRow, io: Io) {
        if io != Io::In {
            return;
        }
        let mut rng = random_u64;
        if let Some(run) = sessions::ensure_run_for_append(row, now_ms(), &mut rng) {
            self.core.save_row(row);
            agent_host::start_run(&self.core, run);
        }
    }

    /// The object restarted under a live run (its row says so, but no task
    /// runs it here): the task died with the old instance, so resume it
    /// where its transcript left off. Done on any request, not only the next
    /// append, so a turn cut off by the restart is answered without one.
    fn resume_orphaned_run(&self) {
        if self.core.running.borrow().is_some() {
            return;
        }
        if let Some(run) = self.core.row().and_then(|row| agent_host::resume(&self.core, &row)) {
            agent_host::start_run(&self.core, run);
        }
    }

    fn read(&self, req: &Request, key: &SessionKey, io: Io) -> Served {
        let cred = self.authenticate(req)?;
        let row = self.row_for(key)?;
        auth::authorize_any(&cred, &Self::keys(key, &row), |k| Op::Read { key: k, io }).map_err(auth_error)?;
        let sql_log = SqlLog { sql: &self.core.sql, io };
        let start = match header(req, "last-event-id") {
            Some(id) => http::last_event_id_start(Some(&id)),
            None if http::stream_start_latest(header(req, "x-trigger-stream-start").as_deref()) => sql_log.meta().next_seq,
            None => 0,
        };
        let mut wait = http::timeout_seconds(header(req, "timeout-seconds").as_deref()).map_err(|e| e.response())?;
        let settled =
            io == Io::Out && http::peek_settled(header(req, "x-peek-settled").as_deref()) && log::peek_settled(&sql_log);
        if settled {
            wait = 0;
        }
        let core = self.core.clone();
        let events = emitted_stream(move |emitter| async move {
            let store = RefCell::new(SqlLog { sql: &core.sql, io });
            tail::tail(&store, core.changed(io), &WebClock, start, wait, &emitter).await;
        });
        let body = events.map(|text: String| Ok::<Vec<u8>, worker::Error>(text.into_bytes()));
        let mut r = Response::from_stream(body).map_err(internal)?;
        let h = r.headers_mut();
        let set = |n: &str, v: &str| h.set(n, v).map_err(internal);
        set("content-type", "text/event-stream")?;
        set("cache-control", "no-cache, no-transform")?;
        set("X-Stream-Version", "v2")?;
        set("Access-Control-Expose-Headers", "*")?;
        if settled {
            set("X-Session-Settled", "true")?;
        }
        Ok(r)
    }

    fn read_records(&self, req: &Request, key: &SessionKey, io: Io) -> Served {
        let cred = self.authenticate(req)?;
        let row = self.row_for(key)?;
        auth::authorize_any(&cred, &Self::keys(key, &row), |k| Op::ReadRecords { key: k, io }).map_err(auth_error)?;
        let url = req.url().map_err(internal)?;
        let after = url.query_pairs().find(|(k, _)| k == "afterEventId").map(|(_, v)| v.into_owned());
        let start =
            log::records_start(after.as_deref()).ok_or_else(|| error_body(400, "afterEventId must be a seq number", None))?;
        let store = SqlLog { sql: &self.core.sql, io };
        let mut records = Vec::new();
        let mut from = start;
        loop {
            let page = store.range(from, 500);
            let Some(last) = page.last() else { break };
            from = last.seq_num + 1;
            records.extend(page);
        }
        json(200, &log::session_records(&records))
    }

    async fn s2_append(&self, req: &mut Request, key: &SessionKey, io: Io) -> Served {
        let s2 = |status, message: &str, code| http::s2_error(status, message, code);
        let cred = self.authenticate(req).map_err(|e| s2(e.status, "unauthorized", "unauthorized"))?;
        let row = self.row_for(key)?.ok_or_else(|| s2(404, "stream not found", "stream_not_found"))?;
        auth::authorize_any(&cred, &row.keys(), |k| Op::Append { key: k, io })
            .map_err(|e| s2(e.status(), &e.to_string(), "forbidden"))?;
        if header(req, "content-type").is_some_and(|c| c.contains("protobuf")) {
            return Err(s2(415, "this platform speaks the JSON append format only", "unsupported_media_type"));
        }
        let body = req.text().await.map_err(internal)?;
        let mut input: AppendInput =
            serde_json::from_str(&body).map_err(|e| s2(400, &format!("invalid append: {e}"), "bad_request"))?;
        if header(req, "s2-format").as_deref() == Some("base64") {
            input = command::decode_base64_format(input).map_err(|e| s2(400, &e.to_string(), "bad_request"))?;
        }
        let ack = self.core.append(io, &input).map_err(|e| s2(e.status(), &e.to_string(), e.code()))?;
        json(200, &ack)
    }

    /// `GET /api/v1/sessions/{key}`: the session item (secret key, or a
    /// token that can read the session).
    fn retrieve(&self, req: &Request, key: &SessionKey) -> Served {
        let cred = self.authenticate(req)?;
        let row = self.row_for(key)?.ok_or_else(|| error_body(404, "Session not found", None))?;
        auth::authorize_any(&cred, &row.keys(), |k| Op::Read { key: k, io: Io::Out }).map_err(auth_error)?;
        json(200, &session_item(&row))
    }

    /// `POST /api/v1/sessions/{key}/close` (secret key): later appends get
    /// 409 `session_closed`; a running agent is told to stop waiting.
    async fn close(&self, req: &mut Request, key: &SessionKey) -> Served {
        let cred = self.authenticate(req)?;
        if !matches!(cred, Credential::Secret) {
            return Err(error_body(403, "Closing a session needs the secret key", None));
        }
        let mut row = self.row_for(key)?.ok_or_else(|| error_body(404, "Session not found", None))?;
        let body: serde_json::Value = serde_json::from_str(&req.text().await.map_err(internal)?).unwrap_or_default();
        let reason = body.get("reason").and_then(|r| r.as_str()).map(str::to_string);
        if !row.is_closed() {
            row.close(reason, now_ms());
            self.core.save_row(&row);
            if body.get("callingRunId").is_none() {
                // The wake-up record: the agent exits on a `close` trigger.
                let close =
                    serde_json::json!({ "kind": "message", "payload": { "chatId": row.addressing_key(), "trigger": "close" } });
                let envelope = InEnvelope { data: close.to_string(), id: nanoid(7) };
                let record = AppendRecord::data(serde_json::to_string(&envelope).map_err(internal)?);
                let _ = self.core.append(Io::In, &AppendInput { records: vec![record], ..AppendInput::default() });
            }
        }
        json(200, &session_item(&row))
    }

    fn chat_messages(&self, req: &Request, key: &SessionKey) -> Served {
        let cred = self.authenticate(req)?;
        let row = self.row_for(key)?;
        auth::authorize_any(&cred, &Self::keys(key, &row), |k| Op::ChatMessages { key: k }).map_err(auth_error)?;
        let (messages, _) = agent_host::load_transcript(&self.core);
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

fn key_str(key: &SessionKey) -> &str {
    match key {
        SessionKey::External(k) | SessionKey::Friendly(k) => k,
    }
}

fn bearer(req: &Request) -> Option<String> {
    header(req, "authorization")?.strip_prefix("Bearer ").map(str::to_string)
}

/// A random id of `n` URL-safe characters (the SDK's nanoid alphabet).
pub fn nanoid(n: usize) -> String {
    const ALPHABET: &[u8] = b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
    (0..n).map(|_| ALPHABET[(js_sys::Math::random() * 64.0) as usize % 64] as char).collect()
}

/// The alias object of a `session_…` id: `POST` stores the chat id it
/// stands for, `GET` returns it.
async fn alias(core: &Core, req: &mut Request) -> Result<Response> {
    if req.method() == worker::Method::Post {
        let chat_id = req.text().await?;
        store::put(&core.sql, "alias", &chat_id);
        return Response::ok("");
    }
    match store::get::<String>(&core.sql, "alias") {
        Some(chat_id) => Response::ok(chat_id),
        None => Ok(Response::ok("")?.with_status(404)),
    }
}
