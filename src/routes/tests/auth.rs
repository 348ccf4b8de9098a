//! Who calls: every chat route refuses a caller without a good token (401)
//! or when nothing is configured or the keys cannot be had (503) before it
//! reads the body, so the platform and the model API see nothing.

use std::cell::Cell;
use std::rc::Rc;

use serde_json::json;

use super::*;
use crate::identity::tests::{claims, host_authenticator, settings, sign, FakeJwks, StepClock, HS_SECRET, ISSUER, NOW};
use crate::identity::{AuthMode, Authorize, AuthorizeFuture, Identity, IdentitySource};

/// A deploy's platform secrets (not local: the development keys are refused).
const SECRETS: [(&str, &str); 2] =
    [("TRIGGER_SECRET_KEY", "tr_prod_routes_test"), ("HEADSTART_SIGNING_KEY", "routes-test-signing-key")];

const ROUTES: [&str; 4] = ["/api/chat", "/api/chat/detached", "/api/chat/start", "/api/chat/token"];

fn body_of(path: &str) -> Vec<u8> {
    let body = match path {
        "/api/chat" | "/api/chat/detached" => json!({ "chatId": "c1", "headStartMessages": user("hi") }),
        _ => json!({ "chatId": "c1" }),
    };
    body.to_string().into_bytes()
}

/// A request whose body counts the pieces read.
fn request(path: &str, authorization: Option<&str>, read: &Rc<Cell<usize>>) -> RouteRequest<Chunked> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(value) = authorization {
        headers.push(("Authorization".into(), value.into()));
    }
    let body = Chunked { pieces: vec![body_of(path)], read: read.clone() };
    RouteRequest { method: "POST".into(), url: format!("https://app.example{path}"), headers, body }
}

/// The worker as deployed with `vars` (not local), with an HTTP model whose
/// calls the counter sees.
fn deployed(vars: &[(&str, &str)]) -> Harness {
    let mut all = vec![("HEADSTART_LOCAL", ""), ("HEADSTART_PROVIDER", "anthropic"), ("ANTHROPIC_API_KEY", "sk-test")];
    all.extend_from_slice(&SECRETS);
    all.extend_from_slice(vars);
    harness(&all)
}

fn refused(h: &Harness, path: &str, authorization: Option<&str>, status: u16, code: &str, what: &str) -> RouteResponse {
    let read = Rc::new(Cell::new(0));
    let response = h.handle(request(path, authorization, &read));
    assert_eq!(response.status, status, "{what} on {path}: {response:?}");
    let body = json_of(&response);
    assert_eq!(body["code"], code, "{what} on {path}: {body}");
    assert_eq!(read.get(), 0, "{what} on {path}: the body was read");
    assert_eq!(h.fetches(), 0, "{what} on {path}: something was spent");
    if let Some(token) = authorization.and_then(|a| a.split_once(' ')).map(|(_, t)| t).filter(|t| t.len() > 8) {
        assert!(!body.to_string().contains(token), "{what}: the token is echoed");
    }
    response
}

#[test]
fn a_deploy_with_no_auth_configured_answers_503_naming_the_setting() {
    let h = deployed(&[]);
    for path in ROUTES {
        let response = refused(&h, path, None, 503, "auth_not_configured", "no auth");
        let message = json_of(&response)["error"].as_str().unwrap().to_string();
        assert!(message.contains("HEADSTART_AUTH_JWT_SECRET") && message.contains("HEADSTART_AUTH=anonymous"), "{message}");
    }
    // The preflight still answers (it carries no credentials).
    let preflight = RouteRequest { method: "OPTIONS".into(), ..post("/api/chat", "") };
    assert_eq!(h.handle(preflight).status, 204);
}

#[test]
fn anonymous_is_explicit_or_local() {
    for vars in [[("HEADSTART_LOCAL", ""), ("HEADSTART_AUTH", "anonymous")], [("HEADSTART_LOCAL", "1"), ("HEADSTART_AUTH", "")]] {
        let h = harness(&[&vars[..], &SECRETS[..]].concat());
        let response = h.handle(post("/api/chat/start", body_of("/api/chat/start")));
        assert_eq!(response.status, 200, "{vars:?}: {response:?}");
    }
    let bad = |vars: &[(&str, &str)]| {
        let var = |n: &str| vars.iter().chain(&SECRETS).find(|(k, _)| *k == n).map(|(_, v)| v.to_string());
        RoutesConfig::from_vars(var, "https://app.example").unwrap_err().to_string()
    };
    assert!(bad(&[("HEADSTART_AUTH", "anonymous"), ("HEADSTART_AUTH_JWT_SECRET", "s")]).contains("keep one"));
    assert!(bad(&[("HEADSTART_AUTH", "open")]).contains("must be \"anonymous\" or \"jwt\""));
    assert!(bad(&[("HEADSTART_AUTH", "jwt")]).contains("neither HEADSTART_AUTH_JWT_SECRET"));
    assert!(bad(&[("HEADSTART_AUTH_JWKS_URL", "https://x.example/jwks")]).contains("HEADSTART_AUTH_ISSUER is required"));
    assert!(bad(&[("HEADSTART_AUTH_JWT_SECRET", "s"), ("HEADSTART_AUTH_LEEWAY_SECS", "forever")]).contains("0 to 600"));
}

#[test]
fn hs256_callers_are_checked_before_anything_is_spent() {
    let vars = [("HEADSTART_AUTH_JWT_SECRET", HS_SECRET), ("HEADSTART_AUTH_ISSUER", ISSUER), ("HEADSTART_AUTH_AUDIENCE", "app")];
    let h = deployed(&vars);
    let hs = json!({ "alg": "HS256", "typ": "JWT" });
    let with = |extra: serde_json::Value| {
        let mut c = claims();
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        sign(hs.clone(), c)
    };
    // The harness's wall clock is NOW.
    assert_eq!(h.runtime.now_secs(), NOW);
    let expired = format!("Bearer {}", with(json!({ "exp": NOW - 3600 })));
    let wrong_aud = format!("Bearer {}", with(json!({ "aud": "another-app" })));
    let other_key = format!("Bearer {}", crate::identity::jwt::sign_hs256(b"not the secret", &hs, &claims()));
    let none = format!("Bearer {}", sign(json!({ "alg": "none" }), claims()));
    for path in ROUTES {
        let missing = refused(&h, path, None, 401, "unauthenticated", "no token");
        assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
        refused(&h, path, Some("Basic dXNlcjpwdw=="), 401, "unauthenticated", "basic auth");
        let bad = refused(&h, path, Some("Bearer not-a-jwt"), 401, "invalid_token", "garbage");
        assert_eq!(bad.header("www-authenticate"), Some("Bearer error=\"invalid_token\""));
        refused(&h, path, Some(&expired), 401, "token_expired", "expired");
        refused(&h, path, Some(&wrong_aud), 401, "invalid_token", "wrong aud");
        refused(&h, path, Some(&other_key), 401, "invalid_token", "another secret");
        refused(&h, path, Some(&none), 401, "invalid_token", "alg none");
    }
    // A good token: the route runs (the scripted model answers).
    let h = harness(&[&vars[..], &[("HEADSTART_LOCAL", "")][..], &SECRETS[..]].concat());
    let mut req = post("/api/chat", body_of("/api/chat"));
    req.headers.push(("authorization".into(), format!("bearer {}", with(json!({})))));
    let response = h.handle(req);
    assert_eq!(response.status, 200, "{response:?}");
    assert!(h.read_sse(response).contains("\"type\":\"finish\""));
}

/// The worker with a JWKS (served by `jwks`) and the host's RSA/P-256.
fn with_jwks(jwks: &FakeJwks) -> Harness {
    let vars = [("HEADSTART_AUTH_JWKS_URL", crate::identity::tests::JWKS_URL), ("HEADSTART_AUTH_ISSUER", ISSUER)];
    let mut all = vec![("HEADSTART_LOCAL", "")];
    all.extend_from_slice(&vars);
    all.extend_from_slice(&SECRETS);
    // The fake JWKS answers at once: its deadline never fires.
    harness_with(&all, |config| {
        config.auth = AuthMode::Jwt(host_authenticator(settings(false, true, None), jwks, StepClock::default()));
    })
}

#[test]
fn a_jwks_that_cannot_be_fetched_is_503_and_spends_nothing() {
    let jwks = FakeJwks::default();
    let h = with_jwks(&jwks);
    jwks.down.set(true);
    let token = format!("Bearer {}", sign(json!({ "alg": "RS256", "kid": "rsa1" }), claims()));
    for path in ROUTES {
        refused(&h, path, Some(&token), 503, "auth_unavailable", "JWKS down");
    }
    assert_eq!(jwks.fetches.get(), 1, "one fetch, then the interval");
    let h = with_jwks(&FakeJwks::default());
    let token = format!("Bearer {}", sign(json!({ "alg": "ES256", "kid": "ec1" }), claims()));
    let mut req = post("/api/chat/start", body_of("/api/chat/start"));
    req.headers.push(("authorization".into(), token));
    assert_eq!(h.handle(req).status, 200);
}

/// A binding's hook: an identity, or the binding's own answer.
struct Hook(Result<Identity, AuthError>, Rc<Cell<usize>>);

impl Authorize for Hook {
    fn authorize(&self) -> AuthorizeFuture<'_> {
        self.1.set(self.1.get() + 1);
        Box::pin(std::future::ready(self.0.clone()))
    }
}

#[test]
fn a_hook_decides_when_configured() {
    let h = harness_with(&[&[("HEADSTART_LOCAL", "")][..], &SECRETS[..]].concat(), |config| config.auth = AuthMode::Hook);
    let calls = Rc::new(Cell::new(0));
    let who = Identity { id: "u1".into(), source: IdentitySource::Hook };
    let ok = Hook(Ok(who), calls.clone());
    // (`start`: a verified caller's token is only for a chat that exists.)
    let response = block_on(&h.clock, h.routes.handle_authorized(post("/api/chat/start", body_of("/api/chat/start")), Some(&ok)));
    assert_eq!(response.status, 200);
    let answered = Hook(Err(AuthError::Answered), calls.clone());
    let read = Rc::new(Cell::new(0));
    let spent = h.fetches();
    let response = block_on(&h.clock, h.routes.handle_authorized(request("/api/chat", None, &read), Some(&answered)));
    assert_eq!((response.status, read.get(), h.fetches() - spent), (401, 0, 0));
    assert_eq!(calls.get(), 2);
    // A binding that forgot its hook fails closed.
    assert_eq!(h.handle(post("/api/chat/start", body_of("/api/chat/start"))).status, 500);
    // A hook that throws: 500; its words go to the log, not to the browser.
    let throws = Hook(Err(AuthError::Hook("db at 10.0.0.5 is down".into())), calls.clone());
    let response = block_on(&h.clock, h.routes.handle_authorized(post("/api/chat", body_of("/api/chat")), Some(&throws)));
    assert_eq!((response.status, json_of(&response)["code"].as_str()), (500, Some("authorize_failed")));
    assert!(!json_of(&response).to_string().contains("10.0.0.5"));
    assert!(h.runtime.logs.borrow().iter().any(|l| l.contains("10.0.0.5")));
}

/// A hook waiting on something that never answers.
struct HangingHook;

impl Authorize for HangingHook {
    fn authorize(&self) -> AuthorizeFuture<'_> {
        Box::pin(std::future::pending())
    }
}

#[test]
fn a_hook_that_never_answers_refuses_the_caller_at_its_deadline() {
    let h = harness_with(&[&[("HEADSTART_LOCAL", "")][..], &SECRETS[..]].concat(), |config| config.auth = AuthMode::Hook);
    let read = Rc::new(Cell::new(0));
    let response = block_on(&h.clock, h.routes.handle_authorized(request("/api/chat", None, &read), Some(&HangingHook)));
    assert_eq!((response.status, json_of(&response)["code"].as_str()), (503, Some("auth_unavailable")));
    assert_eq!((read.get(), h.fetches()), (0, 0), "nothing read, nothing spent");
    assert_eq!(h.clock.now_ms(), f64::from(AUTHORIZE_DEADLINE_MS));
    assert!(h.runtime.logs.borrow().iter().any(|l| l.contains("did not answer within 10000 ms")));
}

#[test]
fn the_rate_limit_is_per_caller_not_per_address() {
    let vars = [("HEADSTART_AUTH_JWT_SECRET", HS_SECRET), ("HEADSTART_RATE_LIMIT_PER_MINUTE", "1")];
    let h = deployed(&vars);
    let as_user = |sub: &str| {
        let mut req = post("/api/chat/start", body_of("/api/chat/start"));
        let token = sign(json!({ "alg": "HS256" }), json!({ "sub": sub, "exp": NOW + 300 }));
        req.headers.push(("authorization".into(), format!("Bearer {token}")));
        req.headers.push(("cf-connecting-ip".into(), "203.0.113.7".into()));
        h.handle(req).status
    };
    assert_eq!(as_user("alice"), 200);
    assert_eq!(as_user("alice"), 429);
    assert_eq!(as_user("bob"), 200, "another user behind the same address has a bucket of their own");
    // A `sub` that looks like an address does not share that address's bucket.
    assert_eq!(Identity { id: "203.0.113.7".into(), source: IdentitySource::Token }.limit_key(), "id:203.0.113.7");
}
