//! Abuse limits: a caller over its rate gets `429` with `Retry-After`
//! before anything is read or spent, other callers are still served, and
//! the caps on step 1 and on the first turn's history hold.

use serde_json::json;

use super::*;
use crate::routes::limit::{Budget, Check, RateLimiter};

fn from(ip: &str, mut req: RouteRequest<Vec<u8>>) -> RouteRequest<Vec<u8>> {
    req.headers.push(("cf-connecting-ip".into(), ip.into()));
    req
}

fn head_start(chat_id: &str) -> RouteRequest<Vec<u8>> {
    post("/api/chat", json!({ "chatId": chat_id, "headStartMessages": user("hi") }).to_string())
}

fn retry_after(response: &RouteResponse) -> u64 {
    response.header("retry-after").expect("a Retry-After").parse().expect("whole seconds")
}

#[test]
fn over_the_rate_a_caller_gets_429_with_retry_after_and_spends_nothing() {
    // 2 a minute, 2 at once: the third turn waits 30 s.
    let h = harness(&[("HEADSTART_RATE_LIMIT_PER_MINUTE", "2"), ("HEADSTART_ALLOWED_ORIGINS", "https://app.example")]);
    for id in ["a1", "a2"] {
        let response = h.handle(from("1.1.1.1", head_start(id)));
        assert_eq!(response.status, 200, "{response:?}");
        h.read_sse(response);
    }
    let spent = h.fetches();
    let mut req = from("1.1.1.1", head_start("a3"));
    req.headers.push(("origin".into(), "https://app.example".into()));
    let refused = h.handle(req);
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert!((29..=30).contains(&retry_after(&refused)), "{refused:?}");
    assert_eq!(refused.header("access-control-allow-origin"), Some("https://app.example"), "a page can read the 429");
    assert!(refused.header("access-control-expose-headers").is_some_and(|h| h.contains("Retry-After")));
    let body = json_of(&refused);
    assert_eq!(body["code"], "rate_limited");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("try again")), "{body}");
    // The detached head start and the start spend the same budget.
    let detached = post("/api/chat/detached", json!({ "chatId": "a4", "headStartMessages": user("hi") }).to_string());
    assert_eq!(h.handle(from("1.1.1.1", detached)).status, 429);
    assert_eq!(h.handle(from("1.1.1.1", post("/api/chat/start", r#"{"chatId":"a5"}"#))).status, 429);
    assert_eq!(h.fetches(), spent, "a refused call reaches neither the platform nor the model");
    // Tokens are their own budget; other callers their own buckets.
    assert_eq!(h.handle(from("1.1.1.1", post("/api/chat/token", r#"{"chatId":"a1"}"#))).status, 200);
    let other = h.handle(from("2.2.2.2", head_start("b1")));
    assert_eq!(other.status, 200);
    h.read_sse(other);
    let mut forwarded = head_start("c1");
    forwarded.headers.push(("x-forwarded-for".into(), "3.3.3.3, 10.0.0.1".into()));
    let forwarded = h.handle(forwarded);
    assert_eq!(forwarded.status, 200, "the first X-Forwarded-For hop is a caller of its own");
    h.read_sse(forwarded);
    // Once the wait is over, the caller is served again.
    h.clock.0.now.set(h.clock.0.now.get() + 30_000.0);
    let again = h.handle(from("1.1.1.1", head_start("a6")));
    assert_eq!(again.status, 200);
    h.read_sse(again);
}

#[test]
fn the_limit_is_on_by_default_and_off_only_when_set_to_0() {
    let token = || from("1.1.1.1", post("/api/chat/token", r#"{"chatId":"t1"}"#));
    let h = harness(&[]);
    for i in 0..20 {
        assert_eq!(h.handle(token()).status, 200, "{i}");
    }
    let refused = h.handle(token());
    assert_eq!((refused.status, retry_after(&refused)), (429, 3), "20 a minute: one every 3 s");
    let h = harness(&[("HEADSTART_RATE_LIMIT_PER_MINUTE", "0")]);
    for i in 0..100 {
        assert_eq!(h.handle(token()).status, 200, "{i}");
    }
    // A burst of its own.
    let h = harness(&[("HEADSTART_RATE_LIMIT_PER_MINUTE", "60"), ("HEADSTART_RATE_LIMIT_BURST", "3")]);
    for i in 0..3 {
        assert_eq!(h.handle(token()).status, 200, "{i}");
    }
    assert_eq!(retry_after(&h.handle(token())), 1);
}

/// A limiter that fails, as a store out of reach.
struct Broken;

impl RateLimiter for Broken {
    fn check<'a>(&'a self, _: Budget, _: &'a str, _: f64) -> Check<'a> {
        Box::pin(async { Err("the store is unreachable".to_string()) })
    }
}

/// A limiter that records what it was asked.
#[derive(Default)]
struct Recording(RefCell<Vec<(Budget, String)>>);

impl RateLimiter for Recording {
    fn check<'a>(&'a self, budget: Budget, key: &'a str, _: f64) -> Check<'a> {
        self.0.borrow_mut().push((budget, key.to_string()));
        Box::pin(async { Ok(limit::Verdict::Limited { retry_after_secs: 7 }) })
    }
}

/// The harness with the binding's own limiter in place of the in-memory one.
fn with_limiter(limiter: Rc<dyn RateLimiter>) -> Harness {
    let h = harness(&[]);
    let mut runtime = h.runtime.clone();
    runtime.limiter = Some(limiter);
    let config = Rc::new(h.routes.config().clone());
    let routes = Routes::new(config, h.platform.clone(), h.model.clone(), h.clock.clone(), runtime.clone());
    Harness { routes, runtime, ..h }
}

#[test]
fn the_binding_limiter_decides_and_a_failing_one_lets_the_call_through() {
    let h = with_limiter(Rc::new(Broken));
    let response = h.handle(head_start("x1"));
    assert_eq!(response.status, 200);
    h.read_sse(response);
    assert!(h.runtime.logs.borrow().iter().any(|l| l.contains("rate limiter failed") && l.contains("unreachable")));

    let recording = Rc::new(Recording::default());
    let h = with_limiter(recording.clone());
    let refused = h.handle(from("9.9.9.9", post("/api/chat/token", r#"{"chatId":"x"}"#)));
    assert_eq!((refused.status, retry_after(&refused)), (429, 7));
    h.handle(head_start("x2"));
    assert_eq!(*recording.0.borrow(), [(Budget::Token, "9.9.9.9".to_string()), (Budget::Turn, "anonymous".to_string())]);
    assert_eq!(h.fetches(), 0);
    // Preflights and wrong methods are not counted.
    h.handle(RouteRequest { method: "OPTIONS".into(), ..head_start("x3") });
    h.handle(RouteRequest { method: "GET".into(), ..head_start("x3") });
    assert_eq!(recording.0.borrow().len(), 2);
}

#[test]
fn a_first_turn_over_the_message_cap_is_refused_before_anything_is_spent() {
    let messages = |n: usize| -> Value {
        (0..n).map(|i| json!({ "id": format!("m{i}"), "role": if i % 2 == 0 { "user" } else { "assistant" }, "parts": [{ "type": "text", "text": "x" }] })).collect()
    };
    let body = |n| json!({ "chatId": "h1", "headStartMessages": messages(n) }).to_string();
    let h =
        harness(&[("HEADSTART_MAX_BODY_BYTES", "65536"), ("HEADSTART_PROVIDER", "anthropic"), ("ANTHROPIC_API_KEY", "sk-test")]);
    let refused = h.handle(post("/api/chat", body(51)));
    assert_eq!(refused.status, 413);
    assert_eq!(json_of(&refused)["code"], "too_many_messages");
    assert!(json_of(&refused)["error"].as_str().unwrap().contains("51"));
    let detached = h.handle(post("/api/chat/detached", body(51)));
    assert_eq!((detached.status, json_of(&detached)["code"].as_str()), (413, Some("too_many_messages")));
    assert_eq!(h.fetches(), 0, "nothing spent");
    // At the cap, the turn runs (the scripted model).
    let h = harness(&[("HEADSTART_MAX_HISTORY_MESSAGES", "3"), ("HEADSTART_MAX_BODY_BYTES", "65536")]);
    assert_eq!(h.handle(post("/api/chat", body(4))).status, 413);
    let response = h.handle(post("/api/chat", body(3)));
    assert_eq!(response.status, 200);
    h.read_sse(response);
}

#[test]
fn step_1_output_tokens_have_a_ceiling_whatever_the_model_settings_say() {
    let config = |vars: &'static [(&'static str, &'static str)]| {
        let all = [&[("HEADSTART_LOCAL", "1")][..], vars].concat();
        RoutesConfig::from_vars(
            move |n| all.iter().rev().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()),
            "https://me.example",
        )
    };
    let max = |vars| config(vars).unwrap().turn.model.max_output_tokens;
    assert_eq!(max(&[]), Some(4096));
    assert_eq!(max(&[("HEADSTART_MAX_TOKENS", "100000")]), Some(4096));
    assert_eq!(max(&[("HEADSTART_MAX_TOKENS", "512")]), Some(512));
    assert_eq!(max(&[("HEADSTART_MAX_STEP1_TOKENS", "256"), ("HEADSTART_MAX_TOKENS", "1024")]), Some(256));
    assert_eq!(
        max(&[("HEADSTART_MAX_STEP1_TOKENS", "256"), ("HEADSTART_PROVIDER", "openai"), ("OPENAI_API_KEY", "k")]),
        Some(256)
    );
    // Bad numbers are refused by name, not read as the default.
    for (name, value) in [
        ("HEADSTART_MAX_STEP1_TOKENS", "0"),
        ("HEADSTART_MAX_STEP1_TOKENS", "lots"),
        ("HEADSTART_MAX_HISTORY_MESSAGES", "-1"),
        ("HEADSTART_RATE_LIMIT_PER_MINUTE", "twenty"),
        ("HEADSTART_RATE_LIMIT_BURST", "0"),
    ] {
        let vars: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(name, value)]));
        let e = config(vars).unwrap_err().to_string();
        assert!(e.contains(name), "{name}={value}: {e}");
    }
    let c = config(&[]).unwrap();
    assert_eq!((c.rate_limit, c.max_history_messages), (Some(limit::DEFAULT_RATE), 50));
    assert_eq!(config(&[("HEADSTART_RATE_LIMIT_PER_MINUTE", " 0 ")]).unwrap().rate_limit, None);
}

/// A limiter that never answers, as a store that hangs.
struct Silent;

impl RateLimiter for Silent {
    fn check<'a>(&'a self, _: Budget, _: &'a str, _: f64) -> Check<'a> {
        Box::pin(std::future::pending())
    }
}

#[test]
fn a_limiter_that_hangs_does_not_hold_the_request() {
    let h = with_limiter(Rc::new(Silent));
    let response = h.handle(head_start("x1"));
    assert_eq!(response.status, 200);
    h.read_sse(response);
    assert!(h.runtime.logs.borrow().iter().any(|l| l.contains("rate limiter failed") && l.contains("no answer")));
}
