//! The reference agent over an in-memory session: the head-start handover
//! (tool calls and final), skip, preload, ordinary turns, turn-complete
//! headers and trims, on the scripted model with a virtual clock.

mod common;

use std::future::Future;

use headstart::agent::run::{run_agent, AgentConfig, RunPayload, RunState};
use headstart::agent::tools::ToolRegistry;
use headstart::io::Clock;
use headstart::protocol::record::TurnComplete;
use headstart::provider::config::{Model, ModelSettings};
use headstart::provider::scripted::ScriptedConfig;
use serde_json::{json, Value};

use common::agent::{MemSession, NoNet, Now, Out};

fn config() -> AgentConfig {
    let model = ModelSettings {
        model: Model::Scripted(ScriptedConfig { ttfb_ms: 0, token_ms: 0, fault: None }),
        ..ModelSettings::scripted()
    };
    AgentConfig::new(model, ToolRegistry::default())
}

fn payload(trigger: &str, extra: Value) -> RunPayload {
    let mut p = json!({ "chatId": "chat_1", "trigger": trigger });
    p.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    RunPayload::from_payload(p.as_object().unwrap(), "run_1")
}

fn user(id: &str, text: &str) -> Value {
    json!({ "id": id, "role": "user", "parts": [{ "type": "text", "text": text }] })
}

fn handover_tool_call() -> Value {
    json!({ "kind": "handover", "messageId": "M1", "isFinal": false, "partialAssistantMessage": [
        { "role": "assistant", "content": [
            { "type": "text", "text": "Let me check the weather in Paris." },
            { "type": "tool-call", "toolCallId": "c1", "toolName": "get_weather", "input": { "city": "Paris" } },
            { "type": "tool-approval-request", "approvalId": "handover-approval-1", "toolCallId": "c1" }
        ] },
        { "role": "tool", "content": [{ "type": "tool-approval-response", "approvalId": "handover-approval-1", "approved": true }] }
    ] })
}

fn run(session: &MemSession, payload: RunPayload) {
    futures_executor::block_on(run_agent(session, &NoNet, &Now::default(), &config(), payload));
}

#[test]
fn a_tool_call_handover_runs_the_tool_and_step_two_under_the_same_id() {
    let s = MemSession::with_input(vec![handover_tool_call()]);
    run(&s, payload("handover-prepare", json!({ "headStartMessages": [user("u1", "What's the weather in Paris?")] })));
    let types = s.types();
    assert_eq!(types[..3], ["start", "tool-output-available", "start-step"]);
    assert_eq!(types[types.len() - 3..], ["finish-step", "finish", "control:turn-complete"]);
    let out = s.out.borrow();
    let Out::Chunk(start) = &out[0] else { panic!() };
    assert_eq!(start["messageId"], "M1");
    let Out::Chunk(tool) = &out[1] else { panic!() };
    assert_eq!(tool["toolCallId"], "c1");
    assert_eq!(tool["output"]["city"], "Paris");
    let Out::Control(headers) = out.last().unwrap() else { panic!() };
    let tc = TurnComplete::from_headers(headers);
    assert_eq!((tc.session_in_event_id, tc.public_access_token.as_deref()), (Some(0), Some("pat")));
    // The transcript: the user message and one assistant message with step 1
    // and step 2 merged.
    let (messages, consumed) = s.saved.borrow().clone();
    assert_eq!(consumed, Some(0));
    assert_eq!(messages.len(), 2);
    let assistant = serde_json::to_value(&messages[1]).unwrap();
    assert_eq!(assistant["id"], "M1");
    let text: String = assistant["parts"].as_array().unwrap().iter().filter_map(|p| p["text"].as_str()).collect();
    assert!(text.starts_with("Let me check the weather in Paris.It is"), "{text}");
    assert!(assistant["parts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["type"] == "tool-get_weather" && p["state"] == "output-available"));
    assert_eq!(s.states.borrow().last(), Some(&RunState::Exited));
    let hooks: Vec<_> = s.hooks.borrow().iter().map(|h| h["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(hooks, ["onChatStart", "onTurnStart", "onTurnComplete"]);
}

#[test]
fn a_final_handover_only_persists_and_completes() {
    let s = MemSession::with_input(vec![json!({ "kind": "handover", "messageId": "M1", "isFinal": true,
        "partialAssistantMessage": [{ "role": "assistant", "content": [{ "type": "text", "text": "Hi!" }] }] })]);
    run(&s, payload("handover-prepare", json!({ "headStartMessages": [user("u1", "hello")] })));
    assert_eq!(s.types(), ["control:turn-complete"]);
    assert_eq!(s.saved.borrow().0.len(), 2);
}

#[test]
fn a_skip_ends_the_run_without_hooks_or_output() {
    let s = MemSession::with_input(vec![json!({ "kind": "handover-skip" })]);
    run(&s, payload("handover-prepare", json!({})));
    assert!(s.out.borrow().is_empty());
    assert!(s.hooks.borrow().is_empty());
}

#[test]
fn preload_then_turns_complete_each_message_and_trim_the_previous_turn() {
    let message = |id: &str, text: &str| json!({ "kind": "message", "payload": { "chatId": "chat_1", "trigger": "submit-message", "message": user(id, text) } });
    let s = MemSession::with_input(vec![message("u1", "hello"), message("u2", "What's the weather in Tokyo?")]);
    run(&s, payload("preload", json!({})));
    let hooks: Vec<_> = s.hooks.borrow().iter().map(|h| h["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(hooks[..2], ["onPreload", "onChatStart"]);
    assert_eq!(s.hooks.borrow()[1]["preloaded"], true);
    let controls: Vec<u64> = s
        .out
        .borrow()
        .iter()
        .filter_map(|o| match o {
            Out::Control(h) => TurnComplete::from_headers(h).session_in_event_id,
            _ => None,
        })
        .collect();
    assert_eq!(controls, [0, 1]);
    assert!(s.types().iter().any(|t| t.starts_with("trim:")));
    // Turn 2 called the tool and answered with its result in a second step.
    let types = s.types();
    assert_eq!(types.iter().filter(|t| *t == "start-step").count(), 3);
    assert_eq!(s.saved.borrow().0.len(), 4);
}

#[test]
fn a_stop_aborts_the_turn_and_still_completes_it() {
    // The model stalls mid-answer; the stop arrives while it does.
    let message = json!({ "kind": "message", "payload": { "chatId": "chat_1", "trigger": "submit-message",
        "message": user("u1", "Tell me a long story [fault:stall]") } });
    let s = MemSession::with_input(vec![message, json!({ "kind": "stop" })]);
    let mut config = config();
    config.model.stall_timeout_ms = 60_000;
    struct Frozen;
    impl Clock for Frozen {
        fn now_ms(&self) -> f64 {
            0.0
        }
        async fn sleep(&self, ms: u32) {
            if ms > 0 {
                // Time stands still: only the stop can end the stalled turn.
                std::future::pending::<()>().await;
            }
        }
    }
    let payload = payload("preload", json!({}));
    let run = run_agent(&s, &NoNet, &Frozen, &config, payload);
    // The run itself waits forever for more input afterwards; drive it until
    // the turn completed.
    let mut run = Box::pin(run);
    let waker = futures_util::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    for _ in 0..100 {
        let _ = run.as_mut().poll(&mut cx);
        if s.types().iter().any(|t| t == "control:turn-complete") {
            break;
        }
    }
    let types = s.types();
    assert!(types.contains(&"abort".to_string()), "{types:?}");
    assert_eq!(types.last().map(String::as_str), Some("control:turn-complete"));
    assert!(!types.contains(&"finish".to_string()), "an aborted turn has no finish: {types:?}");
    // The partial answer is kept.
    assert_eq!(s.saved.borrow().0.len(), 2);
}

#[test]
fn a_stop_before_the_handover_closes_step_one_and_keeps_its_answer() {
    // The browser stopped during step 1; the head start then noticed it had
    // gone and sent the skip.
    let s = MemSession::with_input(vec![json!({ "kind": "stop" }), json!({ "kind": "handover-skip" })]);
    run(&s, payload("handover-prepare", json!({ "headStartMessages": [user("u1", "hello")] })));
    assert_eq!(s.types(), ["abort", "control:turn-complete"]);
    let Out::Control(headers) = s.out.borrow().last().cloned().unwrap() else { panic!() };
    assert_eq!(TurnComplete::from_headers(&headers).session_in_event_id, Some(1));
    assert_eq!(s.saved.borrow().0.len(), 1, "the user's message is kept");

    // Step 1 had ended and its handover raced the stop: nothing more runs,
    // and step 1's answer is kept.
    let s = MemSession::with_input(vec![json!({ "kind": "stop" }), handover_tool_call()]);
    run(&s, payload("handover-prepare", json!({ "headStartMessages": [user("u1", "What's the weather in Paris?")] })));
    assert_eq!(s.types(), ["abort", "control:turn-complete"]);
    let messages = s.saved.borrow().0.clone();
    assert_eq!(messages.len(), 2);
    let assistant = serde_json::to_value(&messages[1]).unwrap();
    assert_eq!(assistant["id"], "M1");
    assert_eq!(assistant["parts"][0]["text"], "Let me check the weather in Paris.");
}

#[test]
fn a_turn_that_asks_gets_its_timeline_as_message_metadata() {
    let asks = json!({ "headstartTimeline": true });
    let mut handover = handover_tool_call();
    handover["headStartTiming"] = json!({ "requestAt": 1000.0, "sessionCreated": 1040.0, "modelFirstByte": 1030.0,
        "firstChunkOut": 1040.0, "stepEnd": 1300.0, "handover": 1310.0 });
    let message = |id: &str, text: &str, metadata: Value| {
        json!({ "kind": "message", "payload": { "chatId": "chat_1",
        "trigger": "submit-message", "message": user(id, text), "metadata": metadata } })
    };
    let s =
        MemSession::with_input(vec![handover, message("u2", "and in London?", asks.clone()), message("u3", "hello", json!({}))]);
    run(
        &s,
        payload(
            "handover-prepare",
            json!({ "headStartMessages": [user("u1", "What's the weather in Paris?")], "metadata": asks }),
        ),
    );
    let out = s.out.borrow();
    let timelines: Vec<&Value> = out
        .iter()
        .filter_map(|o| match o {
            Out::Chunk(c) if c["type"] == "message-metadata" => Some(&c["messageMetadata"]["headstart"]),
            _ => None,
        })
        .collect();
    assert_eq!(timelines.len(), 2, "the turn that did not ask has none");
    let head = timelines[0];
    assert_eq!(head["path"], "head-start");
    assert_eq!(head["edge"]["handover"], 1310.0);
    assert!(head["agent"]["runStarted"].is_number() && head["agent"]["booted"].is_number(), "{head}");
    assert!(head["agent"]["firstChunk"].is_number());
    let direct = timelines[1];
    assert_eq!(direct["path"], "direct");
    assert!(direct.get("edge").is_none());
    assert!(direct["agent"].get("runStarted").is_none(), "the run was warm: {direct}");
    // After the finish, before the turn-complete; kept in the transcript.
    let types = s.types();
    let at = types.iter().position(|t| t == "message-metadata").unwrap();
    assert_eq!(types[at - 1..=at + 1], ["finish", "message-metadata", "control:turn-complete"]);
    let messages = s.saved.borrow().0.clone();
    assert_eq!(messages.len(), 6);
    assert_eq!(serde_json::to_value(&messages[1]).unwrap()["metadata"]["headstart"]["path"], "head-start");
    // The follow-up asked the weather again.
    let london = serde_json::to_value(&messages[3]).unwrap();
    assert!(london["parts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["type"] == "tool-get_weather" && p["input"]["city"] == "London"));
    assert!(serde_json::to_value(&messages[5]).unwrap().get("metadata").is_none());
}

#[test]
fn a_forged_timing_in_a_handover_is_left_out() {
    let mut handover = handover_tool_call();
    handover["headStartTiming"] = json!({ "requestAt": "<script>" });
    let s = MemSession::with_input(vec![handover]);
    run(
        &s,
        payload(
            "handover-prepare",
            json!({ "headStartMessages": [user("u1", "weather in Oslo")], "metadata": { "headstartTimeline": true } }),
        ),
    );
    let out = s.out.borrow();
    let timeline = out.iter().find_map(|o| match o {
        Out::Chunk(c) if c["type"] == "message-metadata" => Some(c["messageMetadata"]["headstart"].clone()),
        _ => None,
    });
    let timeline = timeline.unwrap();
    assert_eq!(timeline["path"], "direct");
    assert!(timeline.get("edge").is_none());
}

/// Steps the route handler ran at the edge: step 1's weather call and its
/// result, then step 2 (text, or a calculator call still pending).
fn edge_steps(step2: Value, last: Option<Value>) -> Vec<Value> {
    let mut messages = vec![
        json!({ "role": "assistant", "content": [
            { "type": "text", "text": "Let me check the weather in Paris." },
            { "type": "tool-call", "toolCallId": "c1", "toolName": "get_weather", "input": { "city": "Paris" } }
        ] }),
        json!({ "role": "tool", "content": [{ "type": "tool-result", "toolCallId": "c1", "toolName": "get_weather",
            "output": { "type": "json", "value": { "city": "Paris", "temperatureC": 18 } } }] }),
        step2,
    ];
    messages.extend(last);
    messages
}

#[test]
fn a_final_handover_of_edge_steps_persists_every_step_as_the_browser_showed_it() {
    let partial =
        edge_steps(json!({ "role": "assistant", "content": [{ "type": "text", "text": "It is 18 °C in Paris." }] }), None);
    for edge_wrote_turn_complete in [true, false] {
        let mut handover = json!({ "kind": "handover", "messageId": "M1", "isFinal": true, "partialAssistantMessage": partial });
        if edge_wrote_turn_complete {
            handover["edgeTurnComplete"] = json!(30);
        }
        let s = MemSession::with_input(vec![handover]);
        run(&s, payload("handover-prepare", json!({ "headStartMessages": [user("u1", "What's the weather in Paris?")] })));
        // No model call and no chunk; the turn-complete only when the edge
        // did not write it.
        let expected: &[&str] = if edge_wrote_turn_complete { &[] } else { &["control:turn-complete"] };
        assert_eq!(s.types(), expected);
        let hooks = s.hooks.borrow();
        assert_eq!(hooks.last().unwrap()["lastEventId"], if edge_wrote_turn_complete { "30" } else { "0" });
        let (messages, consumed) = s.saved.borrow().clone();
        assert_eq!(consumed, Some(0));
        let message = serde_json::to_value(&messages[1]).unwrap();
        // The message the browser assembled from the edge's chunks.
        assert_eq!(
            message,
            json!({ "id": "M1", "role": "assistant", "parts": [
                { "type": "step-start" },
                { "type": "text", "text": "Let me check the weather in Paris.", "state": "done" },
                { "type": "tool-get_weather", "toolCallId": "c1", "state": "output-available", "input": { "city": "Paris" },
                  "output": { "city": "Paris", "temperatureC": 18 } },
                { "type": "step-start" },
                { "type": "text", "text": "It is 18 °C in Paris.", "state": "done" }
            ] })
        );
    }
}

/// A turn the edge ended with its own turn-complete gets nothing more on
/// `.out` from the agent (a chunk after it would be the next turn's): not
/// its timeline, and not an `abort` when a stop raced the handover; the
/// timeline still goes into the saved message.
#[test]
fn nothing_follows_the_edge_s_own_turn_complete() {
    let partial =
        edge_steps(json!({ "role": "assistant", "content": [{ "type": "text", "text": "It is 18 °C in Paris." }] }), None);
    let handover = json!({ "kind": "handover", "messageId": "M1", "isFinal": true, "partialAssistantMessage": partial,
        "edgeTurnComplete": 30 });
    let asks = json!({ "headStartMessages": [user("u1", "What's the weather in Paris?")],
        "metadata": { "headstartTimeline": true } });
    for inputs in [vec![handover.clone()], vec![json!({ "kind": "stop" }), handover.clone()]] {
        let s = MemSession::with_input(inputs.clone());
        run(&s, payload("handover-prepare", asks.clone()));
        assert_eq!(s.types(), Vec::<String>::new(), "{inputs:?}");
        let (messages, consumed) = s.saved.borrow().clone();
        assert_eq!(consumed, Some(inputs.len() as u64 - 1));
        let message = serde_json::to_value(&messages[1]).unwrap();
        assert_eq!(message["id"], "M1");
        assert!(message["metadata"]["headstart"]["agent"].is_object(), "{message}");
    }
}

#[test]
fn a_mid_turn_handover_after_edge_steps_runs_only_the_pending_call() {
    let step2 = json!({ "role": "assistant", "content": [
        { "type": "text", "text": "Now the calculation." },
        { "type": "tool-call", "toolCallId": "c2", "toolName": "calculator", "input": { "expression": "6 * 7" } },
        { "type": "tool-approval-request", "approvalId": "handover-approval-1", "toolCallId": "c2" }
    ] });
    let approval = json!({ "role": "tool", "content": [{ "type": "tool-approval-response", "approvalId": "handover-approval-1", "approved": true }] });
    let handover = json!({ "kind": "handover", "messageId": "M1", "isFinal": false, "partialAssistantMessage": edge_steps(step2, Some(approval)) });
    let s = MemSession::with_input(vec![handover]);
    run(&s, payload("handover-prepare", json!({ "headStartMessages": [user("u1", "Weather in Paris, and 6 * 7?")] })));
    let out = s.out.borrow();
    let results: Vec<&Value> = out
        .iter()
        .filter_map(|o| if let Out::Chunk(c) = o { Some(c) } else { None })
        .filter(|c| c["type"] == "tool-output-available")
        .collect();
    assert_eq!(results.len(), 1, "the weather ran at the edge: {results:?}");
    assert_eq!((results[0]["toolCallId"].as_str(), &results[0]["output"]["result"]), (Some("c2"), &json!(42)));
    let (messages, _) = s.saved.borrow().clone();
    let message = serde_json::to_value(&messages[1]).unwrap();
    let parts = message["parts"].as_array().unwrap();
    let kinds: Vec<&str> = parts.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["step-start", "text", "tool-get_weather", "step-start", "text", "tool-calculator", "step-start", "text"]);
    assert!(parts.iter().all(|p| p.get("state").is_none_or(|s| s == "done" || s == "output-available")), "{parts:?}");
}
