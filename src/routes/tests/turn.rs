//! Accepted requests against the scripted platform: a head start end to
//! end, the detached drain, the session routes, a client gone mid-step, what
//! a failed platform call answers, CORS, and the worker's variables.

use serde_json::json;

use super::*;

fn head_start_body(chat_id: &str) -> Vec<u8> {
    json!({ "chatId": chat_id, "headStartMessages": user("What is the weather in Madrid?"), "trigger": "submit-message" })
        .to_string()
        .into_bytes()
}

fn requests(h: &Harness) -> Vec<String> {
    h.platform.0.requests.borrow().iter().map(|r| format!("{} {}", r.method, r.url)).collect()
}

#[test]
fn a_head_start_end_to_end() {
    let h = harness(&[]);
    let response = h.handle(post("/api/chat", head_start_body(" c1 ")));
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("x-trigger-chat-access-token"), Some("pat_1"));
    assert_eq!(response.header("x-vercel-ai-ui-message-stream"), Some("v1"));
    assert!(response.header("server-timing").is_some_and(|t| t.starts_with("session;desc=\"session create\";dur=")));
    assert_eq!(response.header("access-control-allow-origin"), None, "no Origin, no CORS");
    let text = h.read_sse(response);
    let chunks: Vec<Value> =
        text.split("\n\n").filter_map(|f| f.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect();
    let types: Vec<&str> = chunks.iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"start"));
    assert!(types.contains(&"finish"), "{types:?}");
    assert!(chunks.iter().any(|c| c["delta"] == "from the agent"), "the agent's chunk is spliced in");
    assert_eq!(types[types.len() - 2..], ["trigger:turn-complete", "trigger:session-state"]);
    assert_eq!(h.platform.in_kinds(), ["handover"]);
    let calls = requests(&h);
    assert_eq!(calls[0], "POST https://app.example/api/v1/sessions", "this deploy's own platform: {calls:?}");
    assert!(calls.iter().any(|c| c.starts_with("POST http://s2.test/v1/streams/")), "step 1 is teed to .out");
    assert_eq!(calls.last().map(String::as_str), Some("GET https://app.example/realtime/v1/sessions/c1/out"));
    let logs = h.runtime.logs.borrow();
    let timing: Value =
        logs.iter().find_map(|l| serde_json::from_str(l).ok().filter(|v: &Value| v["event"] == "headstart.turn")).unwrap();
    assert_eq!((timing["chatId"].as_str(), timing["decision"].as_str()), (Some(" c1 "), Some("handover")));
    assert_eq!(h.model.0.get(), 0, "the scripted model calls no API");
}

#[test]
fn a_client_gone_before_the_decision_gets_the_agent_a_skip() {
    let h = harness(&[("HEADSTART_SCRIPTED_TTFB_MS", "500")]);
    let response = h.handle(post("/api/chat", head_start_body("gone")));
    assert_eq!(response.status, 200);
    assert!(h.platform.in_kinds().is_empty());
    drop(response);
    assert_eq!(h.runtime.tasks.borrow().len(), 1, "the skip is background work");
    h.runtime.run_background(&h.clock);
    assert_eq!(h.platform.in_kinds(), ["handover-skip"]);
}

#[test]
fn step_1_waits_for_a_slow_session_create_without_spinning() {
    let h = harness(&[]);
    *h.platform.0.create_delay.borrow_mut() = Some((h.clock.clone(), 5_000));
    let response = h.handle(post("/api/chat", head_start_body("slow")));
    assert_eq!(response.status, 200, "{response:?}");
    let text = h.read_sse(response);
    assert!(text.contains("from the agent"), "{text}");
    assert!(h.clock.now_ms() >= 5_000.0);
    // Step 1 is over in well under a second; what is left of the 5 s is a
    // wait for the session, which costs a handful of timers, not one a ms.
    let sleeps = h.clock.0.sleeps.get();
    assert!(sleeps < 100, "{sleeps} sleeps while the session was created");
}

#[test]
fn detached_answers_where_the_chat_is_and_drains_in_the_background() {
    let h = harness(&[]);
    let response = h.handle(post("/api/chat/detached", head_start_body("d1")));
    assert_eq!(response.status, 200);
    assert_eq!(json_of(&response), json!({ "chatId": "d1", "publicAccessToken": "pat_1" }));
    h.runtime.run_background(&h.clock);
    assert_eq!(h.platform.in_kinds(), ["handover"]);
}

#[test]
fn a_failed_session_create_passes_no_platform_text_on() {
    for (status, answer, code) in
        [(500, 502, "session_failed"), (401, 502, "session_failed"), (409, 409, "session_failed"), (429, 429, "session_failed")]
    {
        for path in ["/api/chat", "/api/chat/detached", "/api/chat/start"] {
            let h = harness(&[("HEADSTART_MAX_ATTEMPTS", "1")]);
            h.platform.0.create_status.set(Some(status));
            *h.platform.0.create_body.borrow_mut() = r#"{"error":"pg: password authentication failed for hunter2"}"#.into();
            let body = if path == "/api/chat/start" { br#"{"chatId":"c1"}"#.to_vec() } else { head_start_body("c1") };
            let response = h.handle(post(path, body));
            assert_eq!(response.status, answer, "{path} on a platform {status}");
            let body = json_of(&response);
            assert_eq!(body["code"], code);
            assert!(!body.to_string().contains("hunter2"), "{path}: {body}");
            assert!(h.runtime.logs.borrow().iter().any(|l| l.contains("hunter2")), "{path}: the detail is logged");
            h.runtime.run_background(&h.clock);
        }
    }
    // A closed session keeps its code, not the platform's text.
    let h = harness(&[]);
    h.platform.0.create_status.set(Some(409));
    *h.platform.0.create_body.borrow_mut() = r#"{"error":"closed by hunter2","code":"session_closed"}"#.into();
    let response = h.handle(post("/api/chat/start", br#"{"chatId":"c1"}"#.to_vec()));
    assert_eq!((response.status, json_of(&response)["code"].as_str()), (409, Some("session_closed")));
    assert!(!json_of(&response).to_string().contains("hunter2"));
}

#[test]
fn start_and_token() {
    let h = harness(&[]);
    let response = h.handle(post("/api/chat/start", br#"{"chatId":" c1 ","clientData":{"userId":"u_1"}}"#.to_vec()));
    assert_eq!(json_of(&response), json!({ "publicAccessToken": "pat_1", "runId": "run_1", "sessionId": "session_1" }));
    let create: Value = serde_json::from_str(&h.platform.0.requests.borrow()[0].body).unwrap();
    assert_eq!(create["externalId"], "c1");

    // This deploy's platform: minted here, no platform call.
    let h = harness(&[]);
    let response = h.handle(post("/api/chat/token", br#"{"chatId":"c1"}"#.to_vec()));
    let token = json_of(&response)["publicAccessToken"].as_str().unwrap().to_string();
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(h.fetches(), 0);

    // A remote platform: the session is posted again.
    let h = harness(&[("TRIGGER_API_URL", "https://api.trigger.example")]);
    let response = h.handle(post("/api/chat/token", br#"{"chatId":"c1"}"#.to_vec()));
    assert_eq!(json_of(&response), json!({ "publicAccessToken": "pat_1" }));
    assert_eq!(requests(&h), ["POST https://api.trigger.example/api/v1/sessions"]);
}

#[test]
fn cors_for_allowed_origins_only() {
    let h = harness(&[("HEADSTART_ALLOWED_ORIGINS", "https://a.example, https://b.example")]);
    for (origin, allowed) in [("https://b.example", true), ("https://evil.example", false)] {
        let mut pre = post("/api/chat", Vec::new());
        pre.method = "OPTIONS".into();
        pre.headers =
            vec![("Origin".into(), origin.into()), ("Access-Control-Request-Headers".into(), "content-type, x-custom".into())];
        let response = h.handle(pre);
        assert_eq!(response.status, 204);
        assert!(matches!(response.body, RouteBody::Empty));
        assert_eq!(response.header("access-control-allow-origin"), allowed.then_some(origin));
        if allowed {
            assert_eq!(response.header("access-control-allow-methods"), Some("POST, OPTIONS"));
            assert!(response.header("access-control-allow-headers").unwrap().contains("x-custom"));
        }
        // Answers and refusals carry them too.
        for body in [head_start_body("c1"), b"{".to_vec()] {
            let mut req = post("/api/chat", body);
            req.headers.push(("origin".into(), origin.into()));
            let response = h.handle(req);
            assert_eq!(response.header("access-control-allow-origin"), allowed.then_some(origin));
            if allowed {
                assert!(response.header("access-control-expose-headers").unwrap().contains("X-Trigger-Chat-Access-Token"));
            }
        }
    }
    h.runtime.run_background(&h.clock);
}

#[test]
fn worker_variables() {
    let config = |vars: &[(&str, &str)]| {
        let var =
            |name: &str| vars.iter().chain([&("HEADSTART_LOCAL", "1")]).find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
        RoutesConfig::from_vars(var, "https://me.example").unwrap()
    };
    let defaults = config(&[("HEADSTART_MAX_BODY_BYTES", "")]);
    assert_eq!(defaults.max_body_bytes, crate::protocol::session::CREATE_BODY_MAX);
    assert!(matches!(defaults.token, TokenSource::Mint { .. }));
    assert_eq!(defaults.turn.idle_timeout_ms, 60_000);
    assert!(defaults.allowed_origins.is_empty() && !defaults.bench);
    let set = config(&[
        ("HEADSTART_MAX_BODY_BYTES", "4096"),
        ("HEADSTART_ALLOWED_ORIGINS", "*"),
        ("HEADSTART_IDLE_TIMEOUT_SECS", "5"),
        ("HEADSTART_AGENT_ID", "my-agent"),
        ("TRIGGER_API_URL", "https://api.trigger.dev"),
    ]);
    assert_eq!((set.max_body_bytes, set.allowed_origins.as_slice()), (4096, ["*".to_string()].as_slice()));
    assert_eq!((set.turn.idle_timeout_ms, set.turn.session.agent_id.as_str()), (5000, "my-agent"));
    assert!(matches!(set.token, TokenSource::Repost));
    assert!(RoutesConfig::from_vars(|n| (n == "HEADSTART_PROVIDER").then(|| "nope".into()), "https://me.example").is_err());
    // Deployed (not local), the secrets are required, by name.
    let deployed = |vars: &'static [(&'static str, &'static str)]| {
        RoutesConfig::from_vars(move |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()), "https://me.example")
    };
    let missing = |e: RoutesConfigError| match e {
        RoutesConfigError::Missing(m) => m.0,
        other => panic!("{other}"),
    };
    assert_eq!(missing(deployed(&[]).unwrap_err()), ["TRIGGER_SECRET_KEY", "HEADSTART_SIGNING_KEY"]);
    assert_eq!(missing(deployed(&[("TRIGGER_API_URL", "https://api.trigger.dev")]).unwrap_err()), ["TRIGGER_SECRET_KEY"]);
    let set = deployed(&[("TRIGGER_SECRET_KEY", "tr_prod_1"), ("HEADSTART_SIGNING_KEY", "s3cret")]).unwrap();
    assert!(matches!(set.token, TokenSource::Mint { ref signing_key, .. } if signing_key == b"s3cret"));
}

#[test]
fn sequential_only_in_bench_mode() {
    for (bench, header) in [(false, true), (true, true), (true, false)] {
        let h = harness(if bench { &[("HEADSTART_BENCH", "1")] } else { &[] });
        let mut req = post("/api/chat", head_start_body("s1"));
        if header {
            req.headers.push(("x-headstart-sequential".into(), "1".into()));
        }
        let response = h.handle(req);
        assert_eq!(response.status, 200);
        h.read_sse(response);
    }
}

#[test]
fn a_resumable_head_start_outlives_a_client_gone_before_the_decision() {
    let h = harness(&[("HEADSTART_SCRIPTED_TTFB_MS", "500")]);
    let body = json!({ "chatId": "stays", "headStartMessages": user("What is the weather in Madrid?"), "trigger": "submit-message",
        "metadata": { "headstartResumable": true } });
    let response = h.handle(post("/api/chat", body.to_string().into_bytes()));
    assert_eq!(response.status, 200);
    assert!(h.platform.in_kinds().is_empty());
    drop(response);
    assert_eq!(h.runtime.tasks.borrow().len(), 1, "the rest of the turn is background work");
    h.runtime.run_background(&h.clock);
    assert_eq!(h.platform.in_kinds(), ["handover"], "step 1 was drained and handed over, not skipped");
    let requests = requests(&h);
    assert!(requests.iter().any(|c| c.starts_with("POST http://s2.test/v1/streams/")), "step 1 went to .out: {requests:?}");
    assert!(requests.iter().any(|c| c.ends_with("/realtime/v1/sessions/stays/in/records")), "it looked for a stop first");
}

#[test]
fn a_resumable_head_start_stopped_by_its_browser_ends_like_any_other() {
    let h = harness(&[("HEADSTART_SCRIPTED_TTFB_MS", "500")]);
    let body = json!({ "chatId": "stopped", "headStartMessages": user("What is the weather in Madrid?"), "trigger": "submit-message",
        "metadata": { "headstartResumable": true } });
    let response = h.handle(post("/api/chat", body.to_string().into_bytes()));
    assert_eq!(response.status, 200);
    // The page appends its stop, then drops the response.
    h.platform.0.in_records.borrow_mut().push(r#"{"kind":"stop"}"#.into());
    drop(response);
    h.runtime.run_background(&h.clock);
    assert_eq!(h.platform.in_kinds(), ["handover-skip"], "the turn was dropped: the agent gets its skip");
}

#[test]
fn a_head_start_that_asks_for_its_timeline_hands_the_edge_marks_over() {
    let h = harness(&[]);
    let appended_handover = |h: &Harness| -> Value {
        let requests = h.platform.0.requests.borrow();
        let append = requests.iter().find(|r| r.url.ends_with("/in/append")).unwrap();
        serde_json::from_str(&append.body).unwrap()
    };
    let body = json!({ "chatId": "t1", "headStartMessages": user("What is the weather in Madrid?"), "trigger": "submit-message",
        "metadata": { "headstartTimeline": true } });
    let response = h.handle(post("/api/chat", body.to_string().into_bytes()));
    assert_eq!(response.status, 200);
    h.read_sse(response);
    let handover = appended_handover(&h);
    let marks = &handover["headStartTiming"];
    let at = |k: &str| marks[k].as_f64().unwrap_or_else(|| panic!("{k} in {marks}"));
    assert!(at("requestAt") <= at("sessionCreated") && at("sessionCreated") <= at("stepEnd") && at("stepEnd") <= at("handover"));
    assert!(at("modelFirstByte") <= at("firstChunkOut"));

    let h = harness(&[]);
    let response = h.handle(post("/api/chat", head_start_body("t2")));
    h.read_sse(response);
    assert!(appended_handover(&h).get("headStartTiming").is_none(), "only when asked");
}
