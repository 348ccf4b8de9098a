//! One chat session's object, runtime-agnostic: the platform routes of
//! PROTOCOL.md §5-§7 over a [`SessionStore`], live SSE tails woken by
//! appends, and the reference agent's runs ([`agent_host`]). The Cloudflare
//! Durable Object (`src/cloudflare/session.rs`) is a thin adapter over
//! [`Server`]; host tests and the deterministic simulation run the same
//! server over [`super::mem_store::MemSessionStore`] and an in-memory
//! [`Host`].
//!
//! A server is one object's memory: dropping it and building a new one over
//! the same store is a restart. The first request after a restart resumes a
//! run the row says is live ([`agent_host`]).
//!
//! Storage failures never pass for "nothing there": a route whose reads or
//! writes fail answers `503` (`code: "storage_unavailable"`, retryable) and
//! acknowledges nothing it did not store.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use futures_util::{Stream, StreamExt};
use serde::Serialize;

use super::auth::{self, AuthError};
use super::http::{self, error_body, ErrorResponse};
use super::log::{self, LogError};
use super::part_ids::{PartIds, PART_ID_TTL_MS};
use super::route;
use super::sessions::SessionRow;
use super::store::{self, SessionStore, StoreError, StreamLog};
use super::Io;
use crate::agent::run::AgentConfig;
use crate::io::{Clock, Fetch, FetchError, HttpRequest, HttpResponse, Notify, ResponseBody};
use crate::protocol::record::{AppendAck, AppendInput};

pub mod agent_host;
mod read;
pub(crate) mod routes;
pub mod target;
#[cfg(test)]
mod tests;

/// Internal path: the alias object of a `session_…` id answers with the
/// chat id it stands for (`GET`), or remembers it (`POST`, body = chat id).
pub const ALIAS_PATH: &str = "/__headstart/alias";

/// How many of a stream's last records rebuild the part-id claims after a
/// restart.
const RECENT_PART_IDS: usize = 256;

/// Largest request body any route takes (an S2 append of a full 1 MiB batch
/// in base64 and JSON); adapters read at most this much, routes cap lower.
pub const BODY_MAX: usize = 4 * 1024 * 1024;

/// Name of the S2 basin this platform reports (a valid S2 basin name).
const BASIN: &str = "headstart-local";

/// A request as the adapter read it: `url` is absolute, `body` is at most
/// [`BODY_MAX`] bytes (the adapter answers 413 itself beyond that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ServerRequest {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `scheme://host[:port]` of the URL.
    pub fn origin(&self) -> &str {
        let after_scheme = self.url.find("://").map_or(0, |i| i + 3);
        let end = self.url[after_scheme..].find(['/', '?', '#']).map_or(self.url.len(), |i| after_scheme + i);
        &self.url[..end]
    }

    /// The path (no query), `/` when the URL has none.
    pub fn path(&self) -> &str {
        let rest = &self.url[self.origin().len()..];
        match rest.split(['?', '#']).next().unwrap_or_default() {
            "" => "/",
            path => path,
        }
    }

    /// A query parameter, percent-decoded (`+` is a space).
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.url.split('#').next()?.split_once('?')?.1;
        query.split('&').filter_map(|pair| pair.split_once('=').or(Some((pair, "")))).find_map(|(k, v)| {
            let decode = |s: &str| route::percent_decode(&s.replace('+', " ")).ok();
            (decode(k)? == name).then(|| decode(v)).flatten()
        })
    }

    /// The body as text (invalid UTF-8 replaced, as `Request.text()` does).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl From<&HttpRequest> for ServerRequest {
    /// A request off an in-memory network (the simulation's).
    fn from(r: &HttpRequest) -> Self {
        Self { method: r.method.to_string(), url: r.url.clone(), headers: r.headers.clone(), body: r.body.clone().into_bytes() }
    }
}

/// A response body: whole, or a live SSE stream of text pieces.
pub enum ServerBody {
    Text(String),
    Events(Pin<Box<dyn Stream<Item = String>>>),
}

/// Read like a network body: the text in one chunk, or one chunk per event
/// (each produced only when asked for).
impl ResponseBody for ServerBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        match self {
            ServerBody::Text(t) if t.is_empty() => None,
            ServerBody::Text(t) => Some(Ok(std::mem::take(t).into_bytes())),
            ServerBody::Events(events) => events.next().await.map(|e| Ok(e.into_bytes())),
        }
    }
}

pub struct ServerResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ServerBody,
}

impl std::fmt::Debug for ServerResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = match &self.body {
            ServerBody::Text(t) => t.as_str(),
            ServerBody::Events(_) => "<events>",
        };
        f.debug_struct("ServerResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &body)
            .finish()
    }
}

impl ServerResponse {
    pub fn text(status: u16, content_type: &str, body: String) -> Self {
        Self { status, headers: vec![("content-type".into(), content_type.into())], body: ServerBody::Text(body) }
    }

    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Sets a header, replacing any of the same name.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// As a [`crate::io::Fetch`] answer (header names lower-cased).
    pub fn into_http(self) -> HttpResponse<ServerBody> {
        let headers = self.headers.into_iter().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect();
        HttpResponse { status: self.status, headers, body: self.body }
    }

    /// The whole text body (`None` for a stream).
    pub fn body_text(&self) -> Option<&str> {
        match &self.body {
            ServerBody::Text(t) => Some(t),
            ServerBody::Events(_) => None,
        }
    }
}

impl From<ErrorResponse> for ServerResponse {
    fn from(e: ErrorResponse) -> Self {
        let mut r = Self::text(e.status, "application/json", e.body);
        for (name, value) in &e.headers {
            r.set_header(name, value);
        }
        r
    }
}

/// The platform's credentials and knobs.
#[derive(Clone)]
pub struct Settings {
    /// The environment's secret key (route handler, agent).
    pub secret_key: String,
    /// Key that signs session tokens.
    pub signing_key: Vec<u8>,
    /// `sub` of session tokens.
    pub env_id: String,
    /// Benchmark knob: `POST /api/v1/sessions` sleeps this long first.
    pub create_delay_ms: Option<u32>,
    /// Where the agent posts lifecycle events.
    pub webhook_url: Option<String>,
}

/// What a server needs from its runtime. Single-threaded: nothing is `Send`.
#[allow(async_fn_in_trait)]
pub trait Host {
    /// The agent's model and tool calls, and its webhook.
    type Fetch: Fetch;
    type Clock: Clock;
    /// Wall-clock ms (record timestamps, token times, row times).
    fn now_ms(&self) -> u64;
    /// 64 random bits (ids; tokens are signed, not random).
    fn random_u64(&self) -> u64;
    /// Runs an agent run as a task of the object; dropping the task (the
    /// object went away) cancels the run.
    fn spawn_local(&self, task: Pin<Box<dyn Future<Output = ()>>>);
    fn settings(&self) -> &Settings;
    /// The reference agent's settings; `Err` names a bad variable.
    fn agent_config(&self) -> Result<AgentConfig, String>;
    /// Lets `session_id` (a `session_…` id) find the object of `chat_id`:
    /// on Cloudflare a POST to the alias object named by `session_id`, in
    /// memory a map. A failure is logged; the session works by chat id.
    async fn register_alias(&self, session_id: &str, chat_id: &str) -> Result<(), String>;
    fn agent_fetch(&self) -> &Self::Fetch;
    fn clock(&self) -> &Self::Clock;
    /// An operator log line (never carries a secret).
    fn log(&self, message: &str);
}

/// One session object: see the module docs.
pub struct Server<S, H> {
    core: Rc<Core<S, H>>,
}

pub(crate) struct Core<S, H> {
    pub(crate) store: S,
    pub(crate) host: H,
    changed_in: Notify,
    changed_out: Notify,
    /// Loaded from storage on first use (a failed load is retried, never
    /// taken for an empty set).
    part_ids: RefCell<Option<PartIds>>,
    /// The run this object is executing, if any.
    running: RefCell<Option<String>>,
    /// Runs in a row that ended on a storage failure, and the time (ms on
    /// the host's clock) before which none is resumed: storage that keeps
    /// failing gets a run a backoff apart, not one per request.
    pub(crate) failed_runs: Cell<u32>,
    pub(crate) resume_not_before: Cell<f64>,
}

type Served = Result<ServerResponse, ErrorResponse>;

impl<S: SessionStore + 'static, H: Host + 'static> Server<S, H> {
    /// An object over `store` (fresh or restarted: nothing is read yet).
    pub fn new(store: S, host: H) -> Self {
        let core = Core {
            store,
            host,
            changed_in: Notify::default(),
            changed_out: Notify::default(),
            part_ids: RefCell::new(None),
            running: RefCell::new(None),
            failed_runs: Cell::new(0),
            resume_not_before: Cell::new(f64::NEG_INFINITY),
        };
        Self { core: Rc::new(core) }
    }

    pub fn store(&self) -> &S {
        &self.core.store
    }

    pub fn host(&self) -> &H {
        &self.core.host
    }

    /// The id of the run this object is executing, if any.
    pub fn running_run(&self) -> Option<String> {
        self.core.running.borrow().clone()
    }

    /// Serves one request; CORS headers are on every answer but the
    /// internal alias route's.
    pub async fn handle(&self, req: ServerRequest) -> ServerResponse {
        if req.path() == ALIAS_PATH {
            return self.alias(&req);
        }
        self.resume_orphaned_run();
        let result = match route::parse(&req.method, req.path()) {
            Ok(route) => self.serve(route, &req).await,
            Err(e) => Err(e.response()),
        };
        let mut response = result.unwrap_or_else(ServerResponse::from);
        for (name, value) in http::cors_headers(req.header("origin")) {
            response.set_header(name, &value);
        }
        response
    }

    fn alias(&self, req: &ServerRequest) -> ServerResponse {
        let plain = |status, body: String| ServerResponse::text(status, "text/plain; charset=utf-8", body);
        if req.method == "POST" {
            return match store::put_json(&self.core.store, store::ALIAS, &req.text()) {
                Ok(()) => plain(200, String::new()),
                Err(e) => self.core.unavailable(e).into(),
            };
        }
        match store::get_json::<String>(&self.core.store, store::ALIAS) {
            Ok(Some(chat_id)) => plain(200, chat_id),
            Ok(None) => plain(404, String::new()),
            Err(e) => self.core.unavailable(e).into(),
        }
    }

    /// The object restarted under a live run (its row says so, but no task
    /// runs it here), or its run ended on a storage failure: resume it where
    /// its transcript left off. Done on any request, not only the next
    /// append, so a turn cut off by the restart is answered without one.
    fn resume_orphaned_run(&self) {
        agent_host::resume_orphaned_run(&self.core);
    }
}

impl<S: SessionStore, H: Host> Core<S, H> {
    pub(crate) fn changed(&self, io: Io) -> &Notify {
        match io {
            Io::In => &self.changed_in,
            Io::Out => &self.changed_out,
        }
    }

    pub(crate) fn row(&self) -> Result<Option<SessionRow>, StoreError> {
        store::get_json(&self.store, store::ROW)
    }

    pub(crate) fn save_row(&self, row: &SessionRow) -> Result<(), StoreError> {
        store::put_json(&self.store, store::ROW, row)
    }

    /// Appends to a stream and wakes its readers; `Err` stored nothing.
    pub(crate) fn append(&self, io: Io, input: &AppendInput) -> Result<AppendAck, LogError> {
        let ack = log::append(&mut StreamLog::new(&self.store, io), input, self.host.now_ms())?;
        self.changed(io).notify();
        Ok(ack)
    }

    pub(crate) fn token(&self, key: &str) -> String {
        let s = self.host.settings();
        auth::mint_session_token(&s.signing_key, &s.env_id, key, self.host.now_ms() / 1000)
    }

    /// Claims a part id (loading the claims first if needed).
    fn claim_part(&self, io: Io, part_id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let mut ids = self.part_ids.borrow_mut();
        if ids.is_none() {
            let mut loaded: PartIds = store::get_json(&self.store, store::PART_IDS)?.unwrap_or_default();
            // The streams are the truth: an append whose claims were not
            // saved before a restart is found by its envelope id, so its
            // retry is not appended twice.
            for io in [Io::In, Io::Out] {
                for (id, at) in self.recent_part_ids(io, now_ms)? {
                    loaded.claim(io, &id, at);
                }
            }
            *ids = Some(loaded);
        }
        Ok(ids.as_mut().expect("loaded above").claim(io, part_id, now_ms))
    }

    /// The envelope ids of the last records of `io` (at most
    /// [`RECENT_PART_IDS`]) appended within the dedupe window, oldest first.
    fn recent_part_ids(&self, io: Io, now_ms: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let meta = self.store.meta(io)?;
        let from = meta.next_seq.saturating_sub(RECENT_PART_IDS as u64).max(meta.trim_point);
        /// Only the envelope's id is read, not its data.
        #[derive(serde::Deserialize)]
        struct Envelope {
            id: String,
        }
        let records = self.store.range(io, from, RECENT_PART_IDS)?;
        Ok(records
            .iter()
            // Rows past the tail are a failed commit's leftovers, not records.
            .filter(|r| r.seq_num < meta.next_seq && r.timestamp.saturating_add(PART_ID_TTL_MS) > now_ms)
            .filter_map(|r| Some((serde_json::from_str::<Envelope>(&r.body).ok()?.id, r.timestamp)))
            .collect())
    }

    fn release_part(&self, io: Io, part_id: Option<&str>) {
        if let (Some(id), Some(ids)) = (part_id, self.part_ids.borrow_mut().as_mut()) {
            ids.release(io, id);
        }
    }

    fn save_part_ids(&self) -> Result<(), StoreError> {
        match &*self.part_ids.borrow() {
            Some(ids) => store::put_json(&self.store, store::PART_IDS, ids),
            None => Ok(()),
        }
    }

    /// A random id of `n` URL-safe characters (the SDK's nanoid alphabet).
    pub(crate) fn nanoid(&self, n: usize) -> String {
        const ALPHABET: &[u8] = b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
        let mut bits = self.host.random_u64();
        (0..n)
            .map(|i| {
                if i % 10 == 9 {
                    bits = self.host.random_u64();
                }
                let c = ALPHABET[(bits % 64) as usize] as char;
                bits >>= 6;
                c
            })
            .collect()
    }

    /// The 503 of a storage failure, logged with its cause.
    pub(crate) fn unavailable(&self, e: StoreError) -> ErrorResponse {
        self.host.log(&format!("session storage failed: {e}"));
        e.response()
    }

    /// The answer to a failed append: the log's own status, or a 503 for storage.
    fn append_error(&self, e: LogError) -> ErrorResponse {
        match e {
            LogError::Storage(e) => self.unavailable(e),
            e => error_body(e.status(), &e.to_string(), Some(e.code())),
        }
    }
}

fn json<T: Serialize>(status: u16, body: &T) -> Served {
    let text = serde_json::to_string(body).map_err(|_| error_body(500, "Something went wrong", None))?;
    Ok(ServerResponse::text(status, "application/json", text))
}

fn auth_error(e: AuthError) -> ErrorResponse {
    error_body(e.status(), &e.to_string(), None)
}

/// The token of `Authorization: Bearer <token>`; the scheme in any case,
/// as [`auth::authenticate`] reads it.
fn bearer(req: &ServerRequest) -> Option<String> {
    let (scheme, token) = req.header("authorization")?.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}
