//! Edge steps through the routes: edge-safe tools and the steps after
//! them run in the handler, against the scripted model and a tool host
//! whose faults each test picks; what the browser gets, what `.out` holds,
//! and what the agent is handed.

use serde_json::json;

use super::*;
use crate::agent::tools::{ToolOptions, ToolRegistry};

const LOOKUP: &str = r#"{"lookup": {"url": "https://tools.example/lookup", "timeoutMs": 1000}}"#;

fn body(chat_id: &str, text: &str) -> Vec<u8> {
    json!({ "chatId": chat_id, "headStartMessages": user(text), "trigger": "submit-message" }).to_string().into_bytes()
}

/// The chunks of an SSE body.
fn chunks(text: &str) -> Vec<Value> {
    text.split("\n\n").filter_map(|f| f.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect()
}

fn types(chunks: &[Value]) -> Vec<String> {
    chunks.iter().map(|c| c["type"].as_str().unwrap().to_string()).collect()
}

/// What the edge wrote to `.out`, in order: each data record's chunk, and
/// `control:<kind>` for a control record.
fn out_records(h: &Harness) -> Vec<Value> {
    let requests = h.platform.0.requests.borrow();
    requests
        .iter()
        .filter(|r| r.url.starts_with("http://s2.test/"))
        .flat_map(|r| serde_json::from_str::<AppendInput>(&r.body).unwrap().records)
        .map(|r| match r.headers.first() {
            Some((name, value)) if name == "trigger-control" => json!(format!("control:{value}")),
            _ => serde_json::from_str::<Value>(&r.body).unwrap()["data"].clone(),
        })
        .collect()
}

/// The data chunks of `.out`.
fn out_chunks(h: &Harness) -> Vec<Value> {
    out_records(h).into_iter().filter(|r| r.is_object()).collect()
}

/// The `.in` records appended, as JSON.
fn inputs(h: &Harness) -> Vec<Value> {
    let requests = h.platform.0.requests.borrow();
    requests.iter().filter(|r| r.url.ends_with("/in/append")).map(|r| serde_json::from_str(&r.body).unwrap()).collect()
}

fn roles(handover: &Value) -> Vec<&str> {
    handover["partialAssistantMessage"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect()
}

fn timing(h: &Harness) -> Value {
    let logs = h.runtime.logs.borrow();
    logs.iter().find_map(|l| serde_json::from_str(l).ok().filter(|v: &Value| v["event"] == "headstart.turn")).unwrap()
}

fn text_of(chunks: &[Value]) -> String {
    chunks.iter().filter(|c| c["type"] == "text-delta").map(|c| c["delta"].as_str().unwrap()).collect()
}

fn run(h: &Harness, chat_id: &str, text: &str) -> Vec<Value> {
    let response = h.handle(post("/api/chat", body(chat_id, text)));
    assert_eq!(response.status, 200, "{response:?}");
    let got = chunks(&h.read_sse(response));
    h.runtime.run_background(&h.clock);
    got
}

/// Browser chunks without the handler's `trigger:*` ones.
fn data_chunks(chunks: &[Value]) -> Vec<Value> {
    chunks.iter().filter(|c| !c["type"].as_str().unwrap().starts_with("trigger:")).cloned().collect()
}

#[test]
fn an_edge_safe_tool_turn_is_finished_at_the_edge_and_handed_over_final() {
    let h = harness(&[("HEADSTART_EDGE_TOOLS", "get_weather")]);
    let got = run(&h, "e1", "What is the weather in Madrid?");
    let t = types(&got);
    // One multi-step message: one start, one finish, the tool's result
    // between the steps.
    assert_eq!(t.iter().filter(|x| *x == "start").count(), 1, "{t:?}");
    assert_eq!(t.iter().filter(|x| *x == "finish").count(), 1, "{t:?}");
    assert_eq!(t.iter().filter(|x| *x == "start-step").count(), 2, "{t:?}");
    let output = t.iter().position(|x| x == "tool-output-available").unwrap();
    assert!(t[..output].contains(&"tool-input-available".to_string()));
    assert_eq!(t[output + 1], "start-step");
    // The edge wrote the turn-complete: the agent's boot is not awaited.
    assert_eq!(t[t.len() - 3..], ["finish", "trigger:turn-complete", "trigger:session-state"]);
    assert!(text_of(&got).contains("in Madrid."), "{}", text_of(&got));
    // `.out` holds exactly what the browser got, then the turn-complete,
    // and the cursor is that record.
    let out = out_records(&h);
    assert_eq!(out[..out.len() - 1], data_chunks(&got));
    assert_eq!(out.last().unwrap(), "control:turn-complete");
    assert_eq!(got.last().unwrap()["lastEventId"], (out.len() - 1).to_string());
    assert!(!requests_of(&h).iter().any(|r| r.starts_with("GET ")), "no splice: {:?}", requests_of(&h));
    // The agent is handed the whole turn as final, under the one id, and
    // told the turn-complete is written.
    let inputs = inputs(&h);
    assert_eq!(inputs.len(), 1);
    let handover = &inputs[0];
    assert_eq!((handover["kind"].as_str(), handover["isFinal"].as_bool()), (Some("handover"), Some(true)));
    assert_eq!(handover["edgeTurnComplete"], out.len() - 1);
    assert_eq!(handover["messageId"], got[0]["messageId"]);
    assert_eq!(roles(handover), ["assistant", "tool", "assistant"]);
    let result = &handover["partialAssistantMessage"][1]["content"][0];
    assert_eq!((result["type"].as_str(), result["toolName"].as_str()), (Some("tool-result"), Some("get_weather")));
    let t = timing(&h);
    assert_eq!((t["decision"].as_str(), t["steps"].as_u64()), (Some("edge-final"), Some(2)));
}

fn requests_of(h: &Harness) -> Vec<String> {
    h.platform.0.requests.borrow().iter().map(|r| format!("{} {}", r.method, r.url)).collect()
}

#[test]
fn when_the_edge_cannot_write_the_turn_complete_the_agent_does_and_the_splice_waits_for_it() {
    let h = harness(&[("HEADSTART_EDGE_TOOLS", "get_weather"), ("HEADSTART_MAX_ATTEMPTS", "1")]);
    h.platform.0.fail_control.set(true);
    let got = run(&h, "e1b", "What is the weather in Madrid?");
    let handover = &inputs(&h)[0];
    assert_eq!(handover["isFinal"], true);
    assert!(handover.get("edgeTurnComplete").is_none(), "{handover}");
    assert!(got.iter().any(|c| c["delta"] == "from the agent"), "the agent's part is awaited");
    assert_eq!(types(&got)[types(&got).len() - 2..], ["trigger:turn-complete", "trigger:session-state"]);
    assert_eq!(timing(&h)["decision"], "handover");
}

#[test]
fn a_handover_that_fails_after_the_edge_finished_still_gives_the_browser_its_cursor() {
    let h = harness(&[("HEADSTART_EDGE_TOOLS", "get_weather"), ("HEADSTART_MAX_ATTEMPTS", "1")]);
    h.platform.0.fail_handover.set(true);
    let got = run(&h, "e1c", "What is the weather in Madrid?");
    assert_eq!(h.platform.in_kinds().last().map(String::as_str), Some("handover-skip"));
    let t = types(&got);
    assert_eq!(t[t.len() - 3..], ["finish", "error", "trigger:session-state"]);
    // The cursor is the edge's turn-complete: turn 2 reads after it.
    let out = out_records(&h);
    assert_eq!(out.last().unwrap(), "control:turn-complete");
    assert_eq!(got.last().unwrap()["lastEventId"], (out.len() - 1).to_string());
}

#[test]
fn a_tool_that_is_not_edge_safe_hands_over_mid_turn_as_an_approved_round() {
    let h = harness(&[("HEADSTART_EDGE_TOOLS", "get_weather")]);
    let got = run(&h, "e2", "What is the weather in Madrid? And what is 6 * 7?");
    let t = types(&got);
    assert_eq!(t.iter().filter(|x| *x == "start-step").count(), 2, "{t:?}");
    assert_eq!(t.iter().filter(|x| *x == "finish").count(), 1, "the edge's part ends once: {t:?}");
    assert!(got.iter().any(|c| c["type"] == "tool-input-available" && c["toolName"] == "calculator"));
    assert!(got.iter().any(|c| c["delta"] == "from the agent"), "the agent's part is spliced in");
    assert_eq!(t[t.len() - 2..], ["trigger:turn-complete", "trigger:session-state"]);
    let inputs = inputs(&h);
    let handover = &inputs[0];
    assert_eq!(handover["isFinal"], false);
    assert!(handover.get("edgeTurnComplete").is_none());
    assert_eq!(roles(handover), ["assistant", "tool", "assistant", "tool"]);
    // Only the calculator call is pending: the weather has its result.
    let partial = handover["partialAssistantMessage"].as_array().unwrap();
    let step2 = partial[2]["content"].as_array().unwrap();
    let call = step2.iter().find(|p| p["type"] == "tool-call").unwrap();
    let approval = step2.iter().find(|p| p["type"] == "tool-approval-request").unwrap();
    assert_eq!((call["toolName"].as_str(), &approval["toolCallId"]), (Some("calculator"), &call["toolCallId"]));
    assert!(!partial[0]["content"].as_array().unwrap().iter().any(|p| p["type"] == "tool-approval-request"));
    assert_eq!(
        partial[3]["content"],
        json!([{ "type": "tool-approval-response", "approvalId": "handover-approval-1", "approved": true }])
    );
    // `.out` is the edge's part, as the browser got it, before the agent's.
    let mine: Vec<Value> = data_chunks(&got).into_iter().filter(|c| c["delta"] != "from the agent").collect();
    assert_eq!(out_chunks(&h), mine);
    let t = timing(&h);
    assert_eq!((t["decision"].as_str(), t["steps"].as_u64()), (Some("handover"), Some(2)));
}

#[test]
fn every_step_at_the_edge_when_every_tool_is_edge_safe() {
    let h = harness(&[("HEADSTART_EDGE_TOOLS", "get_weather, calculator")]);
    let got = run(&h, "e3", "What is the weather in Madrid? And what is 6 * 7?");
    assert_eq!(types(&got).iter().filter(|x| *x == "start-step").count(), 3);
    assert!(text_of(&got).contains("6 * 7 = 42."), "{}", text_of(&got));
    let handover = &inputs(&h)[0];
    assert_eq!(handover["isFinal"], true);
    assert_eq!(roles(handover), ["assistant", "tool", "assistant", "tool", "assistant"]);
    assert_eq!(out_chunks(&h), data_chunks(&got));
}

#[test]
fn the_step_limit_hands_the_next_tools_to_the_agent() {
    let h = harness(&[("HEADSTART_EDGE_TOOLS", "get_weather,calculator"), ("HEADSTART_EDGE_MAX_STEPS", "2")]);
    let got = run(&h, "e4", "What is the weather in Madrid? And what is 6 * 7?");
    assert_eq!(types(&got).iter().filter(|x| *x == "start-step").count(), 2);
    let handover = &inputs(&h)[0];
    assert_eq!(handover["isFinal"], false);
    assert_eq!(roles(handover), ["assistant", "tool", "assistant", "tool"]);
    assert!(got.iter().any(|c| c["delta"] == "from the agent"));
}

#[test]
fn edge_steps_are_off_unless_configured() {
    let h = harness(&[]);
    let got = run(&h, "e5", "What is the weather in Madrid?");
    assert!(!got.iter().any(|c| c["type"] == "tool-output-available"), "no tool ran at the edge");
    let handover = &inputs(&h)[0];
    assert_eq!((handover["isFinal"].as_bool(), roles(handover)), (Some(false), vec!["assistant", "tool"]));
    assert_eq!(timing(&h)["steps"], 1);
    assert!(h.model.2.borrow().is_empty());
}

/// What the agent's own registry makes of the tool host's answer.
fn agent_result(h: &Harness) -> Result<Value, String> {
    let registry = ToolRegistry::from_config(ToolOptions::default(), Some(LOOKUP)).unwrap();
    let input = json!({ "query": "flights to Oslo" });
    block_on(&h.clock, registry.execute(&h.model, &h.clock, "lookup", &input)).map_err(|e| e.to_string())
}

#[test]
fn a_failing_hanging_or_garbled_tool_endpoint_is_a_tool_result_the_model_sees() {
    let cases = [
        (ToolHost::Offline, "request failed: connection refused"),
        (ToolHost::Answer(500, "application/json", r#"{"error":"boom"}"#.into()), r#"HTTP 500: {"error":"boom"}"#),
        (ToolHost::Hang, "timed out after 1000 ms"),
    ];
    for (host, error) in cases {
        let h = harness(&[("HEADSTART_EDGE_TOOLS", "lookup"), ("HEADSTART_HTTP_TOOLS", LOOKUP)]);
        *h.model.1.borrow_mut() = host.clone();
        let got = run(&h, "f1", "[call:lookup] flights to Oslo");
        let failure = got.iter().find(|c| c["type"] == "tool-output-error").unwrap_or_else(|| panic!("{host:?}: {got:?}"));
        assert_eq!(failure["errorText"], error, "{host:?}");
        // The agent says the same for the same answer.
        assert_eq!(agent_result(&h), Err(error.to_string()), "{host:?}");
        // The model saw it: step 2 answers with it, and the turn is final.
        assert!(text_of(&got).contains(&format!("lookup returned: {error}")), "{host:?}: {}", text_of(&got));
        let handover = &inputs(&h)[0];
        assert_eq!(handover["isFinal"], true, "{host:?}");
        let result = &handover["partialAssistantMessage"][1]["content"][0];
        assert_eq!(result["output"], json!({ "type": "error-text", "value": error }), "{host:?}");
        assert_eq!(h.model.2.borrow()[0].body, r#"{"query":"flights to Oslo"}"#);
    }
    // Garbage under a JSON content type is text, as in the agent; a body
    // past the edge's bound is cut there.
    for (answer, expected_len) in [("not json{{".to_string(), 10), ("x".repeat(100_000), 64 * 1024)] {
        let h = harness(&[("HEADSTART_EDGE_TOOLS", "lookup"), ("HEADSTART_HTTP_TOOLS", LOOKUP)]);
        *h.model.1.borrow_mut() = ToolHost::Answer(200, "application/json", answer.clone());
        let got = run(&h, "f2", "[call:lookup] flights to Oslo");
        let output = got.iter().find(|c| c["type"] == "tool-output-available").unwrap();
        assert_eq!(output["output"].as_str().unwrap().len(), expected_len);
        assert_eq!(inputs(&h)[0]["isFinal"], true);
        assert_eq!(out_chunks(&h), data_chunks(&got));
    }
}

#[test]
fn edge_tools_obey_the_egress_rule() {
    let h = harness(&[("HEADSTART_EDGE_TOOLS", "fetch_url")]);
    let got = run(&h, "g1", "Read http://metadata.google.internal please");
    let failure = got.iter().find(|c| c["type"] == "tool-output-error").unwrap_or_else(|| panic!("{got:?}"));
    assert!(failure["errorText"].as_str().unwrap().starts_with("refused to fetch"), "{failure}");
    assert!(h.model.2.borrow().is_empty() && h.model.0.get() == 0, "nothing was fetched");
    // An HTTP tool on a private address, or a name that is no tool, is a
    // configuration error.
    let config = |vars: &[(&str, &str)]| {
        let var =
            |name: &str| vars.iter().chain([&("HEADSTART_LOCAL", "1")]).find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
        RoutesConfig::from_vars(var, "https://me.example").map(|c| c.turn.edge.map(|e| e.names))
    };
    let private = r#"{"admin": {"url": "http://127.0.0.1:8080/x"}}"#;
    let e = config(&[("HEADSTART_EDGE_TOOLS", "admin"), ("HEADSTART_HTTP_TOOLS", private)]).unwrap_err();
    assert!(e.to_string().contains("HEADSTART_HTTP_TOOLS") && e.to_string().contains("refused"), "{e}");
    let e = config(&[("HEADSTART_EDGE_TOOLS", "get_weather,send_email")]).unwrap_err();
    assert!(e.to_string().contains("\"send_email\""), "{e}");
    let e = config(&[("HEADSTART_EDGE_TOOLS", "get_weather"), ("HEADSTART_EDGE_MAX_STEPS", "1")]).unwrap_err();
    assert!(e.to_string().contains("HEADSTART_EDGE_MAX_STEPS"), "{e}");
    assert_eq!(config(&[("HEADSTART_EDGE_TOOLS", " ")]).unwrap(), None);
    assert_eq!(config(&[]).unwrap(), None);
}

#[test]
fn a_client_gone_mid_edge_step_leaves_the_agent_a_skip() {
    let h = harness(&[("HEADSTART_EDGE_TOOLS", "lookup"), ("HEADSTART_HTTP_TOOLS", LOOKUP)]);
    *h.model.1.borrow_mut() = ToolHost::Hang;
    let response = h.handle(post("/api/chat", body("gone", "[call:lookup] flights to Oslo")));
    let RouteBody::Sse(mut stream) = response.body else { panic!("not SSE") };
    // Read until the edge runs the tool, then leave.
    loop {
        let piece = block_on(&h.clock, stream.next()).expect("the stream goes on");
        if String::from_utf8(piece).unwrap().contains("tool-input-available") {
            break;
        }
    }
    drop(stream);
    assert!(inputs(&h).is_empty());
    h.runtime.run_background(&h.clock);
    assert_eq!(h.platform.in_kinds(), ["handover-skip"]);
}

#[test]
fn the_idle_timeout_mid_tool_hands_the_pending_call_to_the_agent() {
    let tools = r#"{"lookup": {"url": "https://tools.example/lookup", "timeoutMs": 30000}}"#;
    let h = harness(&[("HEADSTART_EDGE_TOOLS", "lookup"), ("HEADSTART_HTTP_TOOLS", tools), ("HEADSTART_IDLE_TIMEOUT_SECS", "2")]);
    *h.model.1.borrow_mut() = ToolHost::Hang;
    let got = run(&h, "idle", "[call:lookup] flights to Oslo");
    let handover = &inputs(&h)[0];
    assert_eq!((handover["kind"].as_str(), handover["isFinal"].as_bool()), (Some("handover"), Some(false)));
    assert_eq!(roles(handover), ["assistant", "tool"]);
    assert!(got.iter().any(|c| c["delta"] == "from the agent"));
    assert!(!got.iter().any(|c| c["type"] == "finish"), "the message is the agent's to finish");
}
