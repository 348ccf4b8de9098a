//! A head-start turn through the real routes, the agent answering the
//! handover, restarts, the pull-based read and the bearer scheme.

use serde_json::json;

use super::*;
use crate::protocol::record::{Control, RecordKind};
use crate::selfhost::sessions::RunState;
use crate::selfhost::store::CONSUMED;
use crate::selfhost::Io;

fn out_kinds(records: &[SequencedRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| match r.kind() {
            RecordKind::Control(c) => format!("control:{c:?}"),
            RecordKind::Command(c) => format!("command:{c}"),
            RecordKind::Data => serde_json::from_str::<Value>(&r.body).unwrap()["data"]["type"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Create → init `.out` → S2 append of step 1 → handover on `.in`.
pub(super) fn head_start(sim: &mut Sim) {
    let created = sim.create();
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.header("Access-Control-Allow-Origin"), Some("*"));
    assert!(sim.server.running_run().is_some(), "the create starts the run");
    let init = sim.secret("PUT", &format!("/realtime/v1/sessions/{CHAT}/out"), "");
    assert_eq!(init.status, 202, "{init:?}");
    assert_eq!(init.header("X-S2-Endpoint"), Some("https://platform.test/s2/v1"));
    assert_eq!(init.header("X-S2-Stream-Name"), Some("sessions/chat_1/out"));
    let ack = sim.s2_append_out(&step_one());
    assert_eq!(ack.status, 200, "{ack:?}");
    assert_eq!(body_json(&ack)["end"]["seq_num"], 3);
    let appended = sim.append_in("p1", &handover());
    assert_eq!((appended.status, body_json(&appended)), (200, json!({ "ok": true, "seq": 0 })));
}

pub(super) fn assert_turn_answered(sim: &Sim) {
    let out = sim.store.records(Io::Out);
    let kinds = out_kinds(&out);
    // Step 1 from the route handler, then the agent's turn under the same
    // message id (its `start` is deduped by the splice).
    assert_eq!(kinds[..5], ["start", "text-start", "text-delta", "start", "tool-output-available"], "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("control:TurnComplete"), "{kinds:?}");
    assert!(kinds.contains(&"finish".to_string()));
    assert_eq!(sim.store.raw(CONSUMED).as_deref(), Some("0"));
}

#[test]
fn a_head_start_turn_is_answered_by_the_hosted_agent() {
    let mut sim = Sim::new();
    head_start(&mut sim);
    sim.settle();
    assert_turn_answered(&sim);
    // The browser's read resumes after the route handler's last record.
    let mut read = sim.send(
        "GET",
        &format!("/realtime/v1/sessions/{CHAT}/out"),
        &[("authorization", &format!("Bearer {SECRET}")), ("last-event-id", "2")],
        "",
    );
    assert_eq!(read.status, 200);
    assert_eq!(read.header("content-type"), Some("text/event-stream"));
    let events = sim.events_now(&mut read, 4);
    let records = batch_records(&events);
    assert_eq!(records[0].seq_num, 3, "from Last-Event-ID + 1");
    assert_eq!(records.last().map(|r| r.kind()), Some(RecordKind::Control(Control::TurnComplete)));
    // The transcript: the user message and the merged assistant message.
    let messages = body_json(&sim.secret("GET", &format!("/api/chats/{CHAT}/messages"), ""));
    assert_eq!(messages.as_array().map(Vec::len), Some(2), "{messages}");
    assert_eq!(messages[1]["id"], "M1");
    assert_eq!(sim.store.row().unwrap().run_state, RunState::Running);
    // Idle, then the run exits at the turn timeout.
    sim.advance(30_000);
    assert_eq!(sim.store.row().unwrap().run_state, RunState::Idle);
}

#[test]
fn a_restart_keeps_every_acked_record_and_resumes_the_orphaned_run() {
    let mut sim = Sim::new();
    head_start(&mut sim);
    // The object restarts before its run saw the handover.
    let before = (sim.store.records(Io::In), sim.store.records(Io::Out));
    sim.restart();
    assert_eq!((sim.store.records(Io::In), sim.store.records(Io::Out)), before);
    assert!(sim.server.running_run().is_none());
    let row = sim.store.row().unwrap();
    // Any request resumes the run the row says is live, under its id.
    let got = sim.secret("GET", &format!("/api/v1/sessions/{CHAT}"), "");
    assert_eq!(got.status, 200);
    assert_eq!(sim.server.running_run(), row.current_run_id);
    sim.settle();
    assert_turn_answered(&sim);
    // A second restart after the turn: the part ids claimed before it still
    // dedupe, and a continuation waits for the next message and answers it.
    sim.restart();
    let retried = sim.append_in("p1", &handover());
    assert_eq!((retried.status, body_json(&retried)), (200, json!({ "ok": true })));
    assert_eq!(sim.store.records(Io::In).len(), 1);
    let message = json!({ "kind": "message", "payload": { "chatId": CHAT, "trigger": "submit-message",
        "message": { "id": "u2", "role": "user", "parts": [{ "type": "text", "text": "And tomorrow?" }] } } });
    let r = sim.append_in("p2", &message.to_string());
    assert_eq!(r.status, 200);
    sim.settle();
    let turn_completes =
        sim.store.records(Io::Out).iter().filter(|r| r.kind() == RecordKind::Control(Control::TurnComplete)).count();
    assert_eq!(turn_completes, 2);
    assert_eq!(sim.store.raw(CONSUMED).as_deref(), Some("1"));
}

#[test]
fn a_slow_reader_of_a_long_backlog_holds_one_batch() {
    let mut sim = Sim::with_agent(false);
    assert_eq!(sim.create().status, 201);
    // 8 MiB on `.out`: 8 appends of 15 records of 64 KiB.
    let big = "x".repeat(64 * 1024);
    for _ in 0..8 {
        let records = (0..15).map(|_| AppendRecord::data(big.clone())).collect();
        let body = serde_json::to_string(&AppendInput { records, ..AppendInput::default() }).unwrap();
        let r = sim.secret("POST", &format!("/s2/v1/streams/sessions%2F{CHAT}%2Fout/records"), &body);
        assert_eq!(r.status, 200, "{r:?}");
    }
    let read_before = sim.store.records_read();
    let mut read = sim.secret("GET", &format!("/realtime/v1/sessions/{CHAT}/out"), "");
    let first = sim.events_now(&mut read, 1);
    assert_eq!(batch_records(&first).len(), 15, "one 1 MiB batch");
    let pulled = sim.store.records_read() - read_before;
    assert!(pulled <= 32, "the read pulled {pulled} records (of 120) for one event");
    // The rest comes as the reader asks for it.
    let rest = sim.events_now(&mut read, 100);
    assert_eq!(batch_records(&rest).len(), 105);
}

#[test]
fn the_bearer_scheme_is_read_in_any_case() {
    let mut sim = Sim::with_agent(false);
    let token = body_json(&sim.create())["publicAccessToken"].as_str().unwrap().to_string();
    let init = sim.send("PUT", &format!("/realtime/v1/sessions/{CHAT}/in"), &[("authorization", &format!("bearer {token}"))], "");
    assert_eq!(init.status, 202, "{init:?}");
    assert_eq!(init.header("X-S2-Access-Token"), Some(token.as_str()), "the caller's own token, not an empty one");
    let init =
        sim.send("PUT", &format!("/realtime/v1/sessions/{CHAT}/in"), &[("authorization", &format!("BEARER  {token}"))], "");
    assert_eq!(init.header("X-S2-Access-Token"), Some(token.as_str()));
}

#[test]
fn records_past_the_cap_are_refused_not_cut_short() {
    use crate::selfhost::server::routes::RECORDS_MAX_BYTES;
    let mut sim = Sim::with_agent(false);
    assert_eq!(sim.create().status, 201);
    // Over 16 MiB on `.out`: 18 appends of 15 records of 64 KiB.
    let big = "x".repeat(64 * 1024);
    for _ in 0..18 {
        let records = (0..15).map(|_| AppendRecord::data(big.clone())).collect();
        let body = serde_json::to_string(&AppendInput { records, ..AppendInput::default() }).unwrap();
        let r = sim.secret("POST", &format!("/s2/v1/streams/sessions%2F{CHAT}%2Fout/records"), &body);
        assert_eq!(r.status, 200, "{r:?}");
    }
    let all = sim.secret("GET", &format!("/realtime/v1/sessions/{CHAT}/out/records"), "");
    assert_eq!((all.status, body_json(&all)["code"].as_str()), (413, Some("records_too_large")), "{all:?}");
    // From a later cursor the rest fits, and comes whole.
    let tail = sim.secret("GET", &format!("/realtime/v1/sessions/{CHAT}/out/records?afterEventId=199"), "");
    assert_eq!(tail.status, 200);
    let records = body_json(&tail)["records"].as_array().unwrap().clone();
    assert_eq!(records.len(), 18 * 15 - 200);
    assert_eq!(records[0]["seqNum"], 200);
    assert!(records.len() * (64 * 1024) <= RECORDS_MAX_BYTES);
}

#[test]
fn a_failed_append_condition_answers_s2s_412_body() {
    // s2-lite answers `{"seq_num_mismatch": <tail>}` (tests/e2e/s2-differential),
    // which the S2 SDK reads into its SeqNumMismatchError; `{message, code}`
    // would leave it without the tail.
    let mut sim = Sim::with_agent(false);
    assert_eq!(sim.create().status, 201);
    assert_eq!(sim.s2_append_out(&step_one()).status, 200);
    let path = format!("/s2/v1/streams/sessions%2F{CHAT}%2Fout/records");
    let stale = sim.secret("POST", &path, r#"{"records":[{"body":"x"}],"match_seq_num":0}"#);
    assert_eq!((stale.status, body_json(&stale)), (412, json!({ "seq_num_mismatch": 3 })));
    let fenced = sim.secret("POST", &path, r#"{"records":[{"body":"x"}],"fencing_token":"abc"}"#);
    assert_eq!((fenced.status, body_json(&fenced)), (412, json!({ "fencing_token_mismatch": "" })));
    let ok = sim.secret("POST", &path, r#"{"records":[{"body":"x"}],"match_seq_num":3}"#);
    assert_eq!((ok.status, body_json(&ok)["start"]["seq_num"].clone()), (200, json!(3)));
}
