//! The chat routes over Web `Request`/`Response`, on any JS runtime with
//! `fetch`, streams and timers, against the platform at `platformUrl`.
//! [`crate::routes`] does the work, as it does for the Cloudflare worker;
//! this file only converts the request and the response, and watches the
//! request's `signal`.
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
//! Each route first checks its caller ([`crate::identity`]): a bearer JWT
//! (the `auth*` options), the app's `authorize(request)` hook, or anonymous
//! access (`auth: "anonymous"`, or `local`); `401`/`503` JSON otherwise, or
//! the hook's own `Response`.
//!
//! A client that goes away (the response body cancelled, or the request's
//! `signal` aborted) drops the turn, which aborts the model call; before the
//! handover decision that sends `handover-skip`, in the background
//! (`ctx.waitUntil` when the runtime gives one, else `spawn_local`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_util::future::{select, Either};
use futures_util::{Stream, StreamExt};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{AbortSignal, Headers, Request, Response, ResponseInit};

use super::authorize::JsAuthorize;
use super::options;
use crate::identity::Authorize;
use crate::routes::limit::{self, Budget, Check, MemoryLimiter, RateLimiter, Verdict};
use crate::routes::{
    read_capped, BodyError, RequestBody, RequestError, RouteBody, RouteRequest, RouteResponse, Routes, RoutesConfig, Runtime,
};
use crate::turn::calls::log;
use crate::web::fetch::{WebClock, WebFetch};

/// A configured set of chat routes.
#[wasm_bindgen]
pub struct Handler {
    config: Rc<RoutesConfig>,
    on_turn: Option<Function>,
    authorize: Option<Function>,
    /// The built-in limiter, kept across requests (per process).
    memory_limiter: Option<Rc<MemoryLimiter>>,
    /// `rateLimit` as a function.
    rate_limit_fn: Option<Function>,
}

#[wasm_bindgen]
impl Handler {
    /// Checks the options (throws a `TypeError` naming the bad option).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Handler, JsValue> {
        let parsed = options::parse(&options)?;
        let memory_limiter = parsed.routes.rate_limit.map(|rate| Rc::new(MemoryLimiter::new(rate, limit::DEFAULT_MAX_KEYS)));
        Ok(Handler {
            config: Rc::new(parsed.routes),
            on_turn: parsed.on_turn,
            authorize: parsed.authorize,
            memory_limiter,
            rate_limit_fn: parsed.rate_limit_fn,
        })
    }

    /// Answers one request: a `Promise<Response>`. `ctx` is optional; when
    /// it has `waitUntil(promise)` (Workers, Vercel Edge), background work
    /// (a detached drain, a `handover-skip`) is handed to it.
    pub fn handle(&self, request: Request, ctx: JsValue) -> Promise {
        let limiter: Option<Rc<dyn RateLimiter>> = match (&self.rate_limit_fn, &self.memory_limiter) {
            (Some(function), _) => Some(Rc::new(FnLimiter { function: function.clone(), request: JsValue::clone(&request) })),
            (None, Some(memory)) => Some(memory.clone()),
            (None, None) => None,
        };
        let runtime = JsRuntime { background: Background::from_ctx(ctx), on_turn: self.on_turn.clone(), limiter };
        let routes = Routes::new(self.config.clone(), WebFetch, WebFetch, WebClock, runtime);
        let hook =
            self.authorize.clone().map(|hook| JsAuthorize { hook, request: Clone::clone(&request), answer: RefCell::new(None) });
        future_to_promise(async move {
            let watch = AbortWatch::new(signal_of(&request));
            let answer = match route_request(&request) {
                Ok(req) => {
                    // A client gone (the runtime aborts the request's
                    // signal) drops the turn at once, whether the body is
                    // being read or the session created.
                    let handled = routes.handle_authorized(req, hook.as_ref().map(|h| h as &dyn Authorize));
                    match select(pin!(handled), pin!(watch.fired())).await {
                        Either::Left((answer, _)) => answer,
                        Either::Right(_) => {
                            RouteResponse::error(&RequestError::new(499, "the client closed the request", "client_closed"))
                        }
                    }
                }
                Err(e) => {
                    RouteResponse::error(&RequestError::internal(format!("the request could not be read: {}", describe(&e))))
                }
            };
            // The hook answered itself: its Response, as it is.
            if let Some(own) = hook.and_then(|h| h.answer.take()) {
                return Ok(own.into());
            }
            Ok(web_response(answer, watch)?.into())
        })
    }
}

fn route_request(request: &Request) -> Result<RouteRequest<JsBody>, JsValue> {
    let mut headers = Vec::new();
    if let Some(entries) = js_sys::try_iter(&request.headers())? {
        for entry in entries {
            let pair: js_sys::Array = entry?.unchecked_into();
            headers.push((pair.get(0).as_string().unwrap_or_default(), pair.get(1).as_string().unwrap_or_default()));
        }
    }
    Ok(RouteRequest { method: request.method(), url: request.url(), headers, body: JsBody(request.body()) })
}

fn web_response(answer: RouteResponse, watch: AbortWatch) -> Result<Response, JsValue> {
    let headers = Headers::new()?;
    for (name, value) in &answer.headers {
        headers.set(name, value)?;
    }
    let init = ResponseInit::new();
    init.set_status(answer.status);
    init.set_headers(&headers);
    match answer.body {
        RouteBody::Empty => Response::new_with_opt_str_and_init(None, &init),
        RouteBody::Json(text) => Response::new_with_opt_str_and_init(Some(&text), &init),
        RouteBody::Sse(stream) => {
            let body = watch.guard(stream).map(Ok);
            Response::new_with_opt_readable_stream_and_init(Some(&crate::web::stream::byte_stream(body)), &init)
        }
    }
}

/// The request body, read with the routes' cap.
struct JsBody(Option<web_sys::ReadableStream>);

impl RequestBody for JsBody {
    async fn read(self, max: usize) -> Result<Vec<u8>, BodyError> {
        let Some(body) = self.0 else { return Ok(Vec::new()) };
        let chunks = wasm_streams::ReadableStream::from_raw(body).into_stream().map(|chunk| {
            let chunk = chunk.map_err(|e| describe(&e))?;
            chunk.dyn_into::<Uint8Array>().map(|bytes| bytes.to_vec()).map_err(|_| "the request body is not bytes".to_string())
        });
        read_capped(chunks, max).await
    }
}

struct JsRuntime {
    background: Background,
    on_turn: Option<Function>,
    limiter: Option<Rc<dyn RateLimiter>>,
}

impl Runtime for JsRuntime {
    fn spawn_background(&self, task: Pin<Box<dyn Future<Output = ()>>>) {
        self.background.spawn(task);
    }
    fn random_u64(&self) -> u64 {
        (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
    }
    fn now_secs(&self) -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }
    fn log(&self, line: &str) {
        log(line);
    }
    fn limiter(&self) -> Option<&dyn RateLimiter> {
        self.limiter.as_deref()
    }
    /// Timings go to `onTurn` only (no log line: the package's host owns
    /// its logs).
    fn turn_done(&self, timing: &serde_json::Value) {
        if let Some(on_turn) = &self.on_turn {
            if let Ok(value) = js_sys::JSON::parse(&timing.to_string()) {
                let _ = on_turn.call1(&JsValue::NULL, &value);
            }
        }
    }
}

/// `rateLimit` as a function: `(key, request, budget)` → `true` (go on),
/// `false` (refused, retry in a minute), `{retryAfterSeconds}` (refused),
/// or a promise of one of those. A throw, a rejection or another answer is
/// the limiter failing (the routes let the call through and log it).
struct FnLimiter {
    function: Function,
    /// The same request object (not a `clone()`, which would tee its body).
    request: JsValue,
}

impl RateLimiter for FnLimiter {
    fn check<'a>(&'a self, budget: Budget, key: &'a str, _now_ms: f64) -> Check<'a> {
        Box::pin(async move {
            let answer = self
                .function
                .call3(&JsValue::NULL, &key.into(), &self.request, &budget.name().into())
                .map_err(|e| format!("rateLimit threw: {}", describe(&e)))?;
            let answer = wasm_bindgen_futures::JsFuture::from(Promise::resolve(&answer))
                .await
                .map_err(|e| format!("rateLimit rejected: {}", describe(&e)))?;
            if let Some(allowed) = answer.as_bool() {
                return Ok(if allowed { Verdict::Allowed } else { Verdict::Limited { retry_after_secs: 60 } });
            }
            let secs = answer.is_object().then(|| Reflect::get(&answer, &"retryAfterSeconds".into()).ok()).flatten();
            match secs.and_then(|s| s.as_f64()).filter(|s| s.is_finite() && *s >= 0.0) {
                Some(secs) => Ok(Verdict::Limited { retry_after_secs: limit::retry_after_secs(secs * 1000.0) }),
                None => Err(format!(
                    "rateLimit answered {}; expected true, false or {{ retryAfterSeconds }}",
                    js_sys::JSON::stringify(&answer).ok().and_then(|s| s.as_string()).unwrap_or_else(|| "undefined".into())
                )),
            }
        })
    }
}

/// Work that outlives the response.
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

type SseStream = Pin<Box<dyn Stream<Item = Vec<u8>>>>;

/// Watches the request's signal: [`AbortWatch::fired`] resolves when it
/// aborts, and [`AbortWatch::guard`] drops a response body at that moment —
/// even while nobody polls it (a body not being read) — which drops the
/// turn inside.
struct AbortWatch {
    shared: Rc<AbortShared>,
    _listener: Option<AbortListener>,
}

struct AbortShared {
    stream: RefCell<Option<SseStream>>,
    wakers: RefCell<Vec<Waker>>,
    fired: Cell<bool>,
}

impl AbortShared {
    fn abort(&self) {
        self.fired.set(true);
        // Busy only if the abort came from inside a poll; that poll's end
        // sees `fired`.
        let taken = self.stream.try_borrow_mut().ok().and_then(|mut s| s.take());
        drop(taken);
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        wakers.into_iter().for_each(Waker::wake);
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

impl AbortWatch {
    fn new(signal: Option<AbortSignal>) -> Self {
        let shared =
            Rc::new(AbortShared { stream: RefCell::new(None), wakers: RefCell::new(Vec::new()), fired: Cell::new(false) });
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

    /// Resolves once the signal aborts (never without a signal).
    fn fired(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.shared.fired.get() {
                return Poll::Ready(());
            }
            let mut wakers = self.shared.wakers.borrow_mut();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
    }

    /// `stream`, dropped as soon as the signal aborts; then it ends.
    fn guard(self, stream: SseStream) -> DropOnAbort {
        if !self.shared.fired.get() {
            *self.shared.stream.borrow_mut() = Some(stream);
        }
        DropOnAbort(self)
    }
}

struct DropOnAbort(AbortWatch);

impl Stream for DropOnAbort {
    type Item = Vec<u8>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        let shared = &self.0.shared;
        if !shared.fired.get() {
            *shared.wakers.borrow_mut() = vec![cx.waker().clone()];
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

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|err| String::from(err.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
