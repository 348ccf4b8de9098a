//! The chat routes (`/api/chat`, `/api/chat/detached`, `/api/chat/start`,
//! `/api/chat/token`) on the worker: [`crate::routes`] does the work; this
//! file only converts `worker::Request`/`Response` and gives the routes the
//! worker's IO (the platform in-process unless `TRIGGER_API_URL` is set,
//! `fetch` for the model, `ctx.waitUntil` for background work, the
//! rate-limit binding or this isolate's memory for the rate limit).

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use worker::{Context, Env, Request, Response, Result};

use super::config;
use super::rate_limit;
use super::self_fetch::PlatformFetch;
use crate::identity::{AuthMode, Authenticator};
use crate::routes::{
    read_capped, BodyError, Paths, RequestBody, RequestError, RouteBody, RouteRequest, RouteResponse, Routes, RoutesConfig,
    RoutesConfigError, Runtime,
};
use crate::web::fetch::{WebClock, WebFetch};

thread_local! {
    /// The isolate's JWT authenticator: the configuration is read per
    /// request, but the JWKS cache must outlive it.
    static AUTHENTICATOR: RefCell<Option<Authenticator>> = const { RefCell::new(None) };
}

/// Whether `path` is one of the chat routes (at their default paths).
pub fn serves(path: &str) -> bool {
    let p = Paths::default();
    [p.head_start, p.detached, p.start, p.token].iter().any(|route| route == path)
}

pub async fn handle(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let url = req.url()?;
    let own_origin = url.origin().ascii_serialization();
    let remote = config::var(&env, "TRIGGER_API_URL").is_some();
    let mut routes_config = match RoutesConfig::from_vars(|name| config::var(&env, name), &own_origin) {
        Ok(c) => c,
        Err(RoutesConfigError::Missing(missing)) => return config::missing_response(&missing),
        Err(e) => {
            return to_response(RouteResponse::error(&RequestError::new(500, format!("configuration: {e}"), "misconfigured")))
        }
    };
    if let AuthMode::Jwt(auth) = &mut routes_config.auth {
        AUTHENTICATOR.with(|kept| {
            let mut kept = kept.borrow_mut();
            if let Some(previous) = kept.as_ref() {
                auth.share_cache(previous);
            }
            *kept = Some(auth.clone());
        });
    }
    let headers = req.headers().entries().collect();
    let request =
        RouteRequest { method: req.method().to_string(), url: url.to_string(), headers, body: WorkerBody(req.stream().ok()) };
    let runtime = WorkerRuntime { ctx, limiter: rate_limit::limiter(&env, routes_config.rate_limit) };
    let routes = Routes::new(Rc::new(routes_config), PlatformFetch::new(remote, env), WebFetch, WebClock, runtime);
    to_response(routes.handle(request).await)
}

/// The request body, read with the routes' cap.
struct WorkerBody(Option<worker::ByteStream>);

impl RequestBody for WorkerBody {
    async fn read(self, max: usize) -> std::result::Result<Vec<u8>, BodyError> {
        let Some(stream) = self.0 else { return Ok(Vec::new()) };
        read_capped(stream.map(|chunk| chunk.map_err(|e| e.to_string())), max).await
    }
}

struct WorkerRuntime {
    ctx: Context,
    limiter: Option<Rc<dyn crate::routes::limit::RateLimiter>>,
}

impl Runtime for WorkerRuntime {
    fn spawn_background(&self, task: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>) {
        self.ctx.wait_until(task);
    }
    fn random_u64(&self) -> u64 {
        (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
    }
    fn now_secs(&self) -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }
    fn log(&self, line: &str) {
        worker::console_log!("{line}");
    }
    fn limiter(&self) -> Option<&dyn crate::routes::limit::RateLimiter> {
        self.limiter.as_deref()
    }
    fn turn_done(&self, timing: &serde_json::Value) {
        self.log(&timing.to_string());
        super::status::remember_turn(timing);
    }
}

fn to_response(r: RouteResponse) -> Result<Response> {
    let mut response = match r.body {
        RouteBody::Empty => Response::empty()?,
        RouteBody::Json(text) => Response::ok(text)?,
        RouteBody::Sse(stream) => Response::from_stream(stream.map(Ok::<Vec<u8>, worker::Error>))?,
    }
    .with_status(r.status);
    let headers = response.headers_mut();
    for (name, value) in &r.headers {
        headers.set(name, value)?;
    }
    Ok(response)
}
