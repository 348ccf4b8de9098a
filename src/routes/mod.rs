//! The chat routes, once for every runtime: the head start (`POST
//! /api/chat`), its detached variant, the session start and the token
//! route, with their preflight, 404 and 405. The Cloudflare worker and the
//! JS package both call [`Routes::handle`]; they only convert their
//! runtime's request and response to and from [`RouteRequest`] and
//! [`RouteResponse`].
//!
//! Everything runs over the IO traits of [`crate::io`] and a small
//! [`Runtime`] (background work, randomness, time, log), so the routes are
//! tested on the host. The rules they keep:
//!
//! - every chat route knows its caller ([`crate::identity`]) before it reads
//!   the body or spends anything: `401`, or `503` when no authentication is
//!   configured (anonymous access is a setting, or a local process's
//!   default);
//! - every body is read under one cap, declared or chunked (`413`);
//! - each caller's turns and tokens are rate limited ([`limit`]) before
//!   anything is read or spent (`429` with `Retry-After`);
//! - bad input is refused with a 4xx JSON error before anything is spent;
//! - one place ([`RequestError`]) maps every refusal and failure to a status
//!   and `{"error", "code"}`; what the platform answered goes to the log,
//!   never to the browser.
//!
//! ```
//! # use headstart::routes::*;
//! # fn answer(routes: &Routes<impl headstart::io::Fetch + 'static, impl headstart::io::Fetch + 'static, impl headstart::io::Clock + 'static, impl Runtime + 'static>, body: Vec<u8>) {
//! let request = RouteRequest {
//!     method: "POST".into(),
//!     url: "https://app.example/api/chat".into(),
//!     headers: vec![("content-type".into(), "application/json".into())],
//!     body,
//! };
//! let response = routes.handle(request); // a future of the RouteResponse
//! # drop(response);
//! # }
//! ```

use std::rc::Rc;

use crate::identity::{anonymous, AuthError, AuthMode, Authorize, Identity};
use crate::io::{Clock, Fetch};

mod body;
mod config;
mod head_start;
pub mod limit;
pub mod request;
mod response;
mod runtime;
mod session;
#[cfg(test)]
mod tests;

pub use body::{read_capped, BodyError, RequestBody};
pub use config::{
    auth_from_vars, cap_step1_tokens, Paths, RoutesConfig, RoutesConfigError, TokenSource, DEFAULT_AGENT_ID,
    DEFAULT_MAX_HISTORY_MESSAGES, DEFAULT_MAX_STEP1_TOKENS, DEV_SECRET_KEY,
};
pub use request::RequestError;
pub use response::{RouteBody, RouteResponse};
pub use runtime::{message_id, nanoid, Runtime};

/// How long a rate limiter may take to answer.
pub const LIMITER_DEADLINE_MS: u32 = 2_000;

/// How long an app's `authorize` hook may take. One that has not answered
/// by then refuses the caller (503, fail closed): a hook waiting on a store
/// that hangs must not hold the request, and must not let it through.
pub const AUTHORIZE_DEADLINE_MS: u32 = 10_000;

/// A request to one of the routes.
#[derive(Debug, Clone)]
pub struct RouteRequest<B> {
    pub method: String,
    /// Absolute, as the runtime gives it.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: B,
}

impl<B> RouteRequest<B> {
    /// The first value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What a route knows of its request besides the request: who calls. The
/// turn and session code takes ownership and rate limits from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteContext {
    pub identity: Identity,
}

impl RouteContext {
    /// Who a chat is created for: a verified identity; anonymous callers
    /// own nothing (their address is no identity to keep a chat by).
    pub fn owner(&self) -> Option<&str> {
        (self.identity.source != crate::identity::IdentitySource::Anonymous).then_some(self.identity.id.as_str())
    }
}

/// The configured routes over their IO: `platform` reaches the session
/// platform, `model` the model API. Cheap to clone.
pub struct Routes<P, M, C, R> {
    inner: Rc<Inner<P, M, C, R>>,
}

impl<P, M, C, R> Clone for Routes<P, M, C, R> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

struct Inner<P, M, C, R> {
    config: Rc<RoutesConfig>,
    platform: P,
    model: M,
    clock: C,
    runtime: R,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    HeadStart,
    Detached,
    Start,
    Token,
}

impl<P, M, C, R> Routes<P, M, C, R>
where
    P: Fetch + 'static,
    M: Fetch + 'static,
    C: Clock + 'static,
    R: Runtime + 'static,
{
    pub fn new(config: Rc<RoutesConfig>, platform: P, model: M, clock: C, runtime: R) -> Self {
        Self { inner: Rc::new(Inner { config, platform, model, clock, runtime }) }
    }

    pub fn config(&self) -> &RoutesConfig {
        &self.inner.config
    }

    /// Whether `path` is one of the routes (a binding with other routes of
    /// its own sends only these here).
    pub fn serves(&self, path: &str) -> bool {
        self.route_of(path).is_some()
    }

    fn route_of(&self, path: &str) -> Option<Route> {
        let paths = &self.inner.config.paths;
        [
            (&paths.head_start, Route::HeadStart),
            (&paths.detached, Route::Detached),
            (&paths.start, Route::Start),
            (&paths.token, Route::Token),
        ]
        .into_iter()
        .find(|(p, _)| p.as_str() == path)
        .map(|(_, r)| r)
    }

    /// Answers one request. Never fails: every refusal and failure is a
    /// JSON answer with its status.
    pub async fn handle<B: RequestBody>(&self, req: RouteRequest<B>) -> RouteResponse {
        self.handle_authorized(req, None).await
    }

    /// [`Self::handle`] where the binding's own `hook` says who calls (the
    /// configuration's auth is [`AuthMode::Hook`]). When the hook answers
    /// the request itself ([`AuthError::Answered`]), the binding sends that
    /// answer instead of this one.
    pub async fn handle_authorized<B: RequestBody>(&self, req: RouteRequest<B>, hook: Option<&dyn Authorize>) -> RouteResponse {
        let path = path_of(&req.url);
        let Some(route) = self.route_of(&path) else {
            return RouteResponse::error(&RequestError::not_found(&path));
        };
        let config = &self.inner.config;
        let cors = req
            .header("origin")
            .filter(|origin| request::origin_allowed(origin, config.allowed_origins.iter().map(String::as_str)))
            .map(str::to_string);
        if req.method.eq_ignore_ascii_case("OPTIONS") {
            return response::preflight(cors.as_deref(), req.header("access-control-request-headers"));
        }
        if !req.method.eq_ignore_ascii_case("POST") {
            return RouteResponse::error(&RequestError::method_not_allowed(&req.method, &path)).with_cors(cors.as_deref());
        }
        let ctx = match self.authenticate(&req.headers, hook).await {
            Ok(identity) => RouteContext { identity },
            Err(e) => {
                if let Some(detail) = e.detail() {
                    self.log(&format!("headstart: {path}: {}: {detail}", e.code()));
                } else if matches!(e, AuthError::HookTimedOut(_)) {
                    self.log(&format!("headstart: {path}: {e}"));
                }
                return refusal(&e).with_cors(cors.as_deref());
            }
        };
        // Per caller: its id, or its address when anonymous.
        if let Err(e) = self.check_limit(route, &ctx.identity.limit_key()).await {
            return RouteResponse::error(&e).with_cors(cors.as_deref());
        }
        let answer = match route {
            Route::HeadStart => self.head_start(req, false, ctx).await,
            Route::Detached => self.head_start(req, true, ctx).await,
            Route::Start => self.start(req, ctx).await,
            Route::Token => self.token(req, ctx).await,
        };
        answer.unwrap_or_else(|e| RouteResponse::error(&e)).with_cors(cors.as_deref())
    }

    /// Who calls: before the body is read, so a refused caller costs a
    /// header check (and, for a new JWKS key, one bounded fetch).
    async fn authenticate(&self, headers: &[(String, String)], hook: Option<&dyn Authorize>) -> Result<Identity, AuthError> {
        match (&self.inner.config.auth, hook) {
            (AuthMode::Jwt(auth), _) => auth.authenticate(headers, &self.inner.clock, self.inner.runtime.now_secs()).await,
            (AuthMode::Anonymous, _) => Ok(anonymous(headers)),
            (AuthMode::Hook, Some(hook)) => crate::io::timeout(&self.inner.clock, AUTHORIZE_DEADLINE_MS, hook.authorize())
                .await
                .unwrap_or(Err(AuthError::HookTimedOut(AUTHORIZE_DEADLINE_MS))),
            (AuthMode::Hook, None) => Err(AuthError::Hook("the binding passed no authorize hook".into())),
            (AuthMode::NotConfigured, _) => Err(AuthError::NotConfigured),
        }
    }

    /// Whether `key` may spend what `route` spends: the binding's limiter
    /// decides; one that fails lets the call through (and says so in the
    /// log), and so does one that does not answer within
    /// [`LIMITER_DEADLINE_MS`] (a binding or an app's store that hangs must
    /// not hold every request).
    async fn check_limit(&self, route: Route, key: &str) -> Result<(), RequestError> {
        let Some(limiter) = self.inner.runtime.limiter() else { return Ok(()) };
        let budget = if route == Route::Token { limit::Budget::Token } else { limit::Budget::Turn };
        let check = limiter.check(budget, key, self.inner.clock.now_ms());
        let verdict = crate::io::timeout(&self.inner.clock, LIMITER_DEADLINE_MS, check)
            .await
            .unwrap_or_else(|| Err(format!("no answer within {LIMITER_DEADLINE_MS} ms")));
        match verdict {
            Ok(limit::Verdict::Allowed) => Ok(()),
            Ok(limit::Verdict::Limited { retry_after_secs }) => Err(RequestError::rate_limited(budget.name(), retry_after_secs)),
            Err(e) => {
                self.log(&format!("headstart: the rate limiter failed, the call goes through: {e}"));
                Ok(())
            }
        }
    }

    /// The body of any route: the declared length first (nothing is read
    /// when it is over), then the body itself under the same cap.
    async fn read_body<B: RequestBody>(&self, req: RouteRequest<B>) -> Result<Vec<u8>, RequestError> {
        let max = self.inner.config.max_body_bytes;
        request::check_declared_length(req.header("content-length"), max)?;
        Ok(req.body.read(max).await?)
    }

    fn log(&self, line: &str) {
        self.inner.runtime.log(line);
    }
}

/// The answer to a refused caller: JSON, and on a 401 the
/// `WWW-Authenticate` challenge of RFC 6750.
fn refusal(e: &AuthError) -> RouteResponse {
    let mut response = RouteResponse::error(&RequestError::from_auth(e));
    if response.status == 401 {
        let challenge = match e {
            AuthError::Missing | AuthError::NotBearer => "Bearer",
            _ => "Bearer error=\"invalid_token\"",
        };
        response.headers.push(("www-authenticate".into(), challenge.into()));
    }
    response
}

/// The path of an absolute URL (`new URL(url).pathname`, undecoded).
pub fn path_of(url: &str) -> String {
    let rest = url.find("://").map_or(url, |i| &url[i + 3..]);
    let path = rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]);
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    if path.is_empty() {
        "/".into()
    } else {
        path.into()
    }
}
