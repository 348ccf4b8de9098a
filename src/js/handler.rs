//! The head-start routes over Web `Request`/`Response`, on any JS runtime
//! with `fetch`, streams and timers: the same routes, validation, headers
//! and streaming as the Cloudflare worker's `/api/chat*` (src/cloudflare/
//! chat.rs), against the platform at `platformUrl`.
//!
//! | route (default path) | answer |
//! |---|---|
//! | `POST /api/chat` | the head start: SSE, opened as soon as the session exists |
//! | `POST /api/chat/detached` | the session's `{chatId, publicAccessToken}`; step 1 drains into `.out` in the background |
//! | `POST /api/chat/start` `{chatId, clientData?}` | a preload session: `{publicAccessToken, runId, sessionId}` |
//! | `POST /api/chat/token` `{chatId}` | `{publicAccessToken}`, by re-posting the session |
//! | `OPTIONS` on those | CORS preflight (headers only for `allowedOrigins`) |
//! | anything else | `404` JSON |
//!
//! A client that goes away (the response body cancelled, or the request's
//! `signal` aborted) drops the turn, which aborts the model call; before the
//! handover decision that sends `handover-skip`, in the background
//! (`ctx.waitUntil` when the runtime gives one, else `spawn_local`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_util::future::ready;
use futures_util::{Stream, StreamExt};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{AbortSignal, Headers, Request, Response, ResponseInit};

use super::options::{self, HandlerConfig};
use super::{message_id, nanoid};
use crate::io::emitted_stream;
use crate::protocol::session::preload_request;
use crate::protocol::sse::write_data;
use crate::turn::calls::log;
use crate::turn::request::{
    self as validate, check_declared_length, parse_chat_body, parse_head_start, ParsedHeadStart, RequestError,
};
use crate::turn::{head_start as run_turn, Frame};
use crate::web::fetch::{WebClock, WebFetch};

/// A configured set of head-start routes.
#[wasm_bindgen]
pub struct Handler {
    config: Rc<HandlerConfig>,
}

#[wasm_bindgen]
impl Handler {
    /// Checks the options (throws a `TypeError` naming the bad option).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Handler, JsValue> {
        Ok(Handler { config: Rc::new(options::parse(&options)?) })
    }

    /// Answers one request: a `Promise<Response>`. `ctx` is optional; when
    /// it has `waitUntil(promise)` (Workers, Vercel Edge), background work
    /// (a detached drain, a `handover-skip`) is handed to it.
    pub fn handle(&self, request: Request, ctx: JsValue) -> Promise {
        let config = self.config.clone();
        future_to_promise(async move {
            let response = match route(config, request, Background::from_ctx(ctx)).await {
                Ok(r) => r,
                Err(e) => error_response(&RequestError::new(500, format!("internal error: {}", describe(&e)), "internal"), None)?,
            };
            Ok(response.into())
        })
    }
}

/// Work that outlives the response.
#[derive(Clone)]
struct Background {
    wait_until: Option<(JsValue, Function)>,
}

impl Background {
    fn from_ctx(ctx: JsValue) -> Self {
        let wait_until = if ctx.is_object() {
            Reflect::get(&ctx, &"waitUntil".into()).ok().and_then(|f| f.dyn_into::<Function>().ok()).map(|f| (ctx, f))
        } else {
            None
        };
        Self { wait_until }
    }

    fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        match &self.wait_until {
            Some((ctx, wait_until)) => {
                let promise = future_to_promise(async move {
                    fut.await;
                    Ok(JsValue::UNDEFINED)
                });
                let _ = wait_until.call1(ctx, &promise);
            }
            None => wasm_bindgen_futures::spawn_local(fut),
        }
    }
}

/// A refusal (answered as JSON) or a JS exception.
enum Failure {
    Refused(RequestError),
    Js(JsValue),
}

impl From<RequestError> for Failure {
    fn from(e: RequestError) -> Self {
        Self::Refused(e)
    }
}

impl From<JsValue> for Failure {
    fn from(e: JsValue) -> Self {
        Self::Js(e)
    }
}

#[derive(Clone, Copy)]
enum Route {
    HeadStart,
    Detached,
    Start,
    Token,
}

async fn route(config: Rc<HandlerConfig>, request: Request, bg: Background) -> Result<Response, JsValue> {
    let method = request.method();
    let path = path_of(&request.url());
    let paths = &config.paths;
    let which = if path == paths.head_start {
        Route::HeadStart
    } else if path == paths.detached {
        Route::Detached
    } else if path == paths.start {
        Route::Start
    } else if path == paths.token {
        Route::Token
    } else {
        return error_response(&RequestError::not_found(&path), None);
    };
    let cors = request
        .headers()
        .get("origin")?
        .filter(|origin| validate::origin_allowed(origin, config.allowed_origins.iter().map(String::as_str)));
    if method.eq_ignore_ascii_case("OPTIONS") {
        return preflight(cors.as_deref(), request.headers().get("access-control-request-headers")?.as_deref());
    }
    if method != "POST" {
        return error_response(&RequestError::method_not_allowed(&method, &path), cors.as_deref());
    }
    let answer = match which {
        Route::HeadStart => head_start(&config, &request, cors.as_deref(), &bg, false).await,
        Route::Detached => head_start(&config, &request, cors.as_deref(), &bg, true).await,
        Route::Start => start(&config, &request, cors.as_deref()).await,
        Route::Token => token(&config, &request, cors.as_deref()).await,
    };
    match answer {
        Ok(response) => Ok(response),
        Err(Failure::Refused(e)) => error_response(&e, cors.as_deref()),
        Err(Failure::Js(e)) => Err(e),
    }
}

/// The head start; `detached` answers with the session and drains the turn
/// in the background instead of streaming it.
async fn head_start(
    config: &Rc<HandlerConfig>,
    request: &Request,
    cors: Option<&str>,
    bg: &Background,
    detached: bool,
) -> Result<Response, Failure> {
    let max = config.max_body_bytes;
    check_declared_length(request.headers().get("content-length")?.as_deref(), max)?;
    let body = read_body(request, max).await?;
    let parsed = parse_head_start(&body, max)?;
    let chat_id = parsed.request.chat_id.trim().to_string();
    // A client gone (the runtime aborts the request's signal) drops the
    // turn at once, whether or not the body is being read.
    let mut frames = DropOnAbort::new(turn_frames(config.clone(), parsed, bg.clone()), signal_of(request));
    let first = frames.next().await;
    if frames.aborted() {
        return Err(RequestError::new(499, "the client closed the request", "client_closed").into());
    }
    match first {
        Some(Frame::Open { access_token, pending_version, session_ms }) => {
            if detached {
                // The turn outlives the request.
                if let Some(frames) = frames.into_inner() {
                    bg.spawn(async move { frames.for_each(|_| ready(())).await });
                }
                let mut body = serde_json::json!({ "chatId": chat_id, "publicAccessToken": access_token });
                if pending_version {
                    body["pendingVersion"] = true.into();
                }
                return Ok(json_response(200, &body.to_string(), cors)?);
            }
            let body = frames.filter_map(|frame| {
                ready(match frame {
                    Frame::Chunk(json) => {
                        let mut text = String::with_capacity(json.len() + 8);
                        write_data(&mut text, &json);
                        Some(Ok(text.into_bytes()))
                    }
                    _ => None,
                })
            });
            let headers = Headers::new()?;
            headers.set("content-type", "text/event-stream")?;
            headers.set("cache-control", "no-cache, no-transform")?;
            headers.set("x-vercel-ai-ui-message-stream", "v1")?;
            headers.set("x-accel-buffering", "no")?;
            headers.set("x-trigger-chat-access-token", &access_token)?;
            if pending_version {
                headers.set("x-trigger-chat-pending-version", "1")?;
            }
            headers.set("server-timing", &format!("session;desc=\"session create\";dur={session_ms:.1}"))?;
            add_cors(&headers, cors)?;
            let init = ResponseInit::new();
            init.set_status(200);
            init.set_headers(&headers);
            Ok(Response::new_with_opt_readable_stream_and_init(Some(&crate::web::stream::byte_stream(body)), &init)?)
        }
        Some(Frame::Failed { status, message }) => Err(RequestError::session_failed(status, &message).into()),
        _ => Err(RequestError::new(500, "the turn ended before it started", "internal").into()),
    }
}

/// The frames of a turn, run lazily as the stream is polled; dropping the
/// stream drops the turn.
fn turn_frames(config: Rc<HandlerConfig>, parsed: ParsedHeadStart, bg: Background) -> Pin<Box<dyn Stream<Item = Frame>>> {
    let ParsedHeadStart { request, model_messages } = parsed;
    let chat_id = request.chat_id.trim().to_string();
    let skip_client = config.turn.platform.clone();
    // A client gone before the decision: tell the agent, after the turn's
    // future is dropped.
    let on_abandon: Box<dyn FnOnce(crate::turn::Abandoned)> = Box::new(move |owed| {
        bg.spawn(async move {
            let result =
                crate::turn::calls::append_in(&WebFetch, &WebClock, &skip_client, &chat_id, &owed.input, &owed.part_id).await;
            log(&format!(
                "headstart: turn on {chat_id} ended before the agent was told; {} sent ({:?})",
                owed.input.type_name(),
                result.map(|_| ())
            ));
        });
    });
    Box::pin(emitted_stream(move |out| async move {
        let timing = run_turn(
            &WebFetch,
            &WebFetch,
            &WebClock,
            &config.turn,
            &request,
            model_messages,
            message_id(),
            &|| nanoid(7),
            &out,
            on_abandon,
        )
        .await;
        if let Some(on_turn) = &config.on_turn {
            let line = serde_json::json!({ "event": "headstart.turn", "chatId": request.chat_id, "decision": timing.decision,
                "sessionCreatedMs": timing.session_created, "providerTtfbMs": timing.provider_ttfb, "firstChunkOutMs": timing.first_chunk_out,
                "stepEndMs": timing.step_end, "handoverMs": timing.handover, "firstAgentChunkMs": timing.first_agent_chunk,
                "turnCompleteMs": timing.turn_complete });
            if let Ok(value) = js_sys::JSON::parse(&line.to_string()) {
                let _ = on_turn.call1(&JsValue::NULL, &value);
            }
        }
    }))
}

/// `{chatId, clientData?}` → a session with a preload run (the transport's
/// `startSession`).
async fn start(config: &HandlerConfig, request: &Request, cors: Option<&str>) -> Result<Response, Failure> {
    let (chat_id, body) = chat_body(config, request).await?;
    let create = preload_request(&chat_id, validate::client_data(&body), &config.turn.session);
    match crate::turn::create(&WebFetch, &WebClock, &config.turn.platform, &create).await {
        Ok(s) => {
            let mut out = serde_json::json!({ "publicAccessToken": s.public_access_token, "runId": s.run_id, "sessionId": s.id });
            if s.pending_version == Some(true) {
                out["pendingVersion"] = true.into();
            }
            Ok(json_response(200, &out.to_string(), cors)?)
        }
        Err(e) => Err(RequestError::session_failed(e.status.unwrap_or(502), &e.message).into()),
    }
}

/// `{chatId}` → a fresh session token (the transport's `accessToken`): the
/// session is re-posted, and the platform's cached answer carries a new
/// token (as the worker does against `TRIGGER_API_URL`).
async fn token(config: &HandlerConfig, request: &Request, cors: Option<&str>) -> Result<Response, Failure> {
    let (chat_id, _) = chat_body(config, request).await?;
    let create = preload_request(&chat_id, None, &config.turn.session);
    match crate::turn::create(&WebFetch, &WebClock, &config.turn.platform, &create).await {
        Ok(s) => Ok(json_response(200, &serde_json::json!({ "publicAccessToken": s.public_access_token }).to_string(), cors)?),
        Err(e) => Err(RequestError::session_failed(e.status.unwrap_or(502), &e.message).into()),
    }
}

async fn chat_body(config: &HandlerConfig, request: &Request) -> Result<(String, serde_json::Value), Failure> {
    let max = config.max_body_bytes;
    check_declared_length(request.headers().get("content-length")?.as_deref(), max)?;
    let body = read_body(request, max).await?;
    Ok(parse_chat_body(&body)?)
}

/// The request body, refused as soon as it passes `max`.
async fn read_body(request: &Request, max: usize) -> Result<Vec<u8>, Failure> {
    let Some(body) = request.body() else { return Ok(Vec::new()) };
    let mut stream = wasm_streams::ReadableStream::from_raw(body).into_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            RequestError::new(400, format!("the request body could not be read: {}", describe(&e)), "invalid_body")
        })?;
        let chunk: Uint8Array =
            chunk.dyn_into().map_err(|_| RequestError::new(400, "the request body is not bytes", "invalid_body"))?;
        if bytes.len() + chunk.length() as usize > max {
            return Err(RequestError::too_large(max).into());
        }
        bytes.extend(chunk.to_vec());
    }
    Ok(bytes)
}

/// The request's `signal`, when the runtime gives it one. Not on Deno,
/// whose `Deno.serve` warns about its legacy signal semantics as soon as the
/// signal is used; it cancels the response body when the client goes away,
/// which drops the turn as well.
fn signal_of(request: &Request) -> Option<AbortSignal> {
    if Reflect::has(&js_sys::global(), &"Deno".into()).unwrap_or(false) {
        return None;
    }
    Reflect::get(request, &"signal".into()).ok().filter(JsValue::is_object).map(JsCast::unchecked_into)
}

type FrameStream = Pin<Box<dyn Stream<Item = Frame>>>;

/// A turn's frames, dropped as soon as the request's signal aborts — even
/// while nobody polls them (a body not being read) — which drops the turn.
/// Then the stream ends.
struct DropOnAbort {
    shared: Rc<AbortShared>,
    _listener: Option<AbortListener>,
}

struct AbortShared {
    stream: RefCell<Option<FrameStream>>,
    waker: RefCell<Option<Waker>>,
    fired: Cell<bool>,
}

impl AbortShared {
    fn abort(&self) {
        self.fired.set(true);
        // Busy only if the abort came from inside a poll; that poll's end
        // sees `fired`.
        let taken = self.stream.try_borrow_mut().ok().and_then(|mut s| s.take());
        drop(taken);
        let waker = self.waker.borrow_mut().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The `abort` listener, removed with it.
struct AbortListener {
    signal: AbortSignal,
    callback: Closure<dyn FnMut()>,
}

impl Drop for AbortListener {
    fn drop(&mut self) {
        let _ = self.signal.remove_event_listener_with_callback("abort", self.callback.as_ref().unchecked_ref());
    }
}

impl DropOnAbort {
    fn new(stream: FrameStream, signal: Option<AbortSignal>) -> Self {
        let shared =
            Rc::new(AbortShared { stream: RefCell::new(Some(stream)), waker: RefCell::new(None), fired: Cell::new(false) });
        let listener = signal.map(|signal| {
            let on_abort = shared.clone();
            let callback = Closure::<dyn FnMut()>::new(move || on_abort.abort());
            if signal.aborted() {
                shared.abort();
            } else {
                let _ = signal.add_event_listener_with_callback("abort", callback.as_ref().unchecked_ref());
            }
            AbortListener { signal, callback }
        });
        Self { shared, _listener: listener }
    }

    fn aborted(&self) -> bool {
        self.shared.fired.get()
    }

    /// The frames, no longer watched.
    fn into_inner(self) -> Option<FrameStream> {
        let stream = self.shared.stream.borrow_mut().take();
        stream
    }
}

impl Stream for DropOnAbort {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let shared = &self.shared;
        if !shared.fired.get() {
            *shared.waker.borrow_mut() = Some(cx.waker().clone());
            let mut slot = shared.stream.borrow_mut();
            let Some(stream) = slot.as_mut() else { return Poll::Ready(None) };
            match stream.as_mut().poll_next(cx) {
                Poll::Ready(None) => *slot = None,
                Poll::Pending if !shared.fired.get() => return Poll::Pending,
                Poll::Pending => {}
                ready => return ready,
            }
        }
        let taken = shared.stream.borrow_mut().take();
        drop(taken);
        Poll::Ready(None)
    }
}

fn add_cors(headers: &Headers, origin: Option<&str>) -> Result<(), JsValue> {
    if let Some(origin) = origin {
        headers.set("access-control-allow-origin", origin)?;
        headers.set("vary", "Origin")?;
        headers.set("access-control-expose-headers", validate::EXPOSE_HEADERS)?;
    }
    Ok(())
}

/// `204`, with the CORS preflight headers for an allowed origin only.
fn preflight(origin: Option<&str>, asked: Option<&str>) -> Result<Response, JsValue> {
    let headers = Headers::new()?;
    if let Some(origin) = origin {
        for (name, value) in crate::selfhost::http::preflight_headers(Some(origin), asked) {
            // These routes take POST only.
            let value = if name == "Access-Control-Allow-Methods" { "POST, OPTIONS".to_string() } else { value };
            headers.set(name, &value)?;
        }
    }
    let init = ResponseInit::new();
    init.set_status(204);
    init.set_headers(&headers);
    Response::new_with_opt_str_and_init(None, &init)
}

fn json_response(status: u16, body: &str, cors: Option<&str>) -> Result<Response, JsValue> {
    let headers = Headers::new()?;
    headers.set("content-type", "application/json")?;
    add_cors(&headers, cors)?;
    let init = ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    Response::new_with_opt_str_and_init(Some(body), &init)
}

fn error_response(e: &RequestError, cors: Option<&str>) -> Result<Response, JsValue> {
    json_response(e.status, &e.to_json(), cors)
}

/// The path of an absolute URL (`new URL(url).pathname`, undecoded).
fn path_of(url: &str) -> String {
    let rest = url.find("://").map_or(url, |i| &url[i + 3..]);
    let path = rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]);
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    if path.is_empty() {
        "/".into()
    } else {
        path.into()
    }
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|err| String::from(err.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
