//! The chat routes' rate limiter on the worker: the Workers rate-limit
//! binding `CHAT_RATE_LIMIT` when the deploy has one (wrangler.toml
//! `[[ratelimits]]`; counted per Cloudflare location, across isolates),
//! else the in-memory limiter of this isolate (each isolate counts on its
//! own), said once in the log.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::Env;

use crate::routes::limit::{Budget, Check, MemoryLimiter, Rate, RateLimiter, Verdict, DEFAULT_MAX_KEYS};

/// The binding's name in wrangler.toml.
pub const BINDING: &str = "CHAT_RATE_LIMIT";

/// The binding says only yes or no, and its window is 10 or 60 s: a refused
/// caller is told to wait the longer one.
const BINDING_RETRY_AFTER_SECS: u64 = 60;

thread_local! {
    /// This isolate's in-memory limiter, kept across requests.
    static MEMORY: RefCell<Option<Rc<MemoryLimiter>>> = const { RefCell::new(None) };
    static SAID_FALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// The limiter for a `rate` (the routes' configuration; `None` is no limit,
/// binding or not).
pub fn limiter(env: &Env, rate: Option<Rate>) -> Option<Rc<dyn RateLimiter>> {
    let rate = rate?;
    if let Some(binding) = Reflect::get(env, &BINDING.into()).ok().filter(JsValue::is_object) {
        if let Ok(limit) = Reflect::get(&binding, &"limit".into()).and_then(JsCast::dyn_into::<Function>) {
            return Some(Rc::new(BindingLimiter { binding, limit }));
        }
    }
    if !SAID_FALLBACK.replace(true) {
        worker::console_log!(
            "headstart: no {BINDING} rate-limit binding; the chat routes' rate limit ({} a minute, {} at once) is counted \
             in each isolate's memory",
            rate.per_minute,
            rate.burst
        );
    }
    let memory = MEMORY.with_borrow_mut(|slot| match slot {
        Some(m) if m.rate() == rate => m.clone(),
        _ => slot.insert(Rc::new(MemoryLimiter::new(rate, DEFAULT_MAX_KEYS))).clone(),
    });
    Some(memory)
}

/// `env.CHAT_RATE_LIMIT.limit({ key })` → `{ success }`, one key per
/// budget and caller.
struct BindingLimiter {
    binding: JsValue,
    limit: Function,
}

impl RateLimiter for BindingLimiter {
    fn check<'a>(&'a self, budget: Budget, key: &'a str, _now_ms: f64) -> Check<'a> {
        Box::pin(async move {
            let options = Object::new();
            Reflect::set(&options, &"key".into(), &format!("{}:{key}", budget.name()).into()).map_err(describe)?;
            let outcome = self.limit.call1(&self.binding, &options).map_err(describe)?;
            let outcome = JsFuture::from(Promise::resolve(&outcome)).await.map_err(describe)?;
            match Reflect::get(&outcome, &"success".into()).ok().and_then(|s| s.as_bool()) {
                Some(true) => Ok(Verdict::Allowed),
                Some(false) => Ok(Verdict::Limited { retry_after_secs: BINDING_RETRY_AFTER_SECS }),
                None => Err(format!("{BINDING}.limit() answered no `success`")),
            }
        })
    }
}

fn describe(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{BINDING}.limit() failed: {e:?}"))
}
