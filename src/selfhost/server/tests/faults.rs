//! Storage faults: every route answers 503 for a read or write that failed,
//! never mistakes a failed read for "nothing there", never acknowledges
//! what it did not store; the agent's failed writes end its run, and the
//! next request resumes it.

use serde_json::json;

use super::turn::assert_turn_answered;
use super::*;
use crate::selfhost::mem_store::StoreOp;
use crate::selfhost::store::CONSUMED;
use crate::selfhost::Io;

fn unavailable(r: &ServerResponse) {
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(body_json(r)["code"], "storage_unavailable", "{r:?}");
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
}

#[test]
fn an_unreadable_row_is_not_created_over() {
    let mut sim = Sim::with_agent(false);
    assert_eq!(sim.create().status, 201);
    let row = sim.store.row().unwrap();
    sim.store.fail_when(|op| *op == StoreOp::Get { key: "row".into() });
    unavailable(&sim.create());
    unavailable(&sim.secret("GET", &format!("/api/v1/sessions/{CHAT}"), ""));
    unavailable(&sim.append_in("p1", "{}"));
    assert_eq!(sim.store.row(), Some(row.clone()), "the session is the same one");
    assert!(sim.store.records(Io::In).is_empty());
    sim.store.clear_faults();
    let again = sim.create();
    assert_eq!((again.status, body_json(&again)["id"].as_str()), (200, Some(row.id.as_str())));
}

#[test]
fn a_stored_value_that_does_not_parse_is_not_absent() {
    let mut sim = Sim::with_agent(false);
    assert_eq!(sim.create().status, 201);
    crate::selfhost::store::SessionStore::put(&sim.store, &[("row", "{not json".into())]).unwrap();
    unavailable(&sim.create());
    assert_eq!(sim.store.raw("row").as_deref(), Some("{not json"));
}

#[test]
fn a_failed_meta_read_refuses_the_append_instead_of_restarting_at_seq_0() {
    let mut sim = Sim::with_agent(false);
    assert_eq!(sim.create().status, 201);
    assert_eq!(sim.s2_append_out(&step_one()).status, 200);
    let before = sim.store.records(Io::Out);
    sim.store.fail_when(|op| *op == StoreOp::Meta { io: Io::Out });
    let r = sim.s2_append_out(&[json!({ "type": "finish" })]);
    assert_eq!((r.status, body_json(&r)["code"].as_str()), (503, Some("unavailable")), "{r:?}");
    assert_eq!(sim.store.records(Io::Out), before, "nothing overwritten");
    sim.store.clear_faults();
    let r = sim.s2_append_out(&[json!({ "type": "finish" })]);
    assert_eq!(body_json(&r)["start"]["seq_num"], 3);
    assert_eq!(sim.store.records(Io::Out)[..3], before[..]);
}

#[test]
fn a_failed_commit_is_not_acked_and_the_retry_with_its_part_id_lands() {
    let mut sim = Sim::with_agent(false);
    assert_eq!(sim.create().status, 201);
    sim.store.fail_next_writes(1);
    let r = sim.append_in("p1", "hello");
    unavailable(&r);
    assert!(body_json(&r).get("seq").is_none() && body_json(&r).get("ok").is_none());
    assert!(sim.store.records(Io::In).is_empty());
    let retry = sim.append_in("p1", "hello");
    assert_eq!((retry.status, body_json(&retry)), (200, json!({ "ok": true, "seq": 0 })));
    let dup = sim.append_in("p1", "hello");
    assert_eq!((dup.status, body_json(&dup)), (200, json!({ "ok": true })));
    assert_eq!(sim.store.records(Io::In).len(), 1);
    // The S2 route as well.
    sim.store.fail_when(|op| matches!(op, StoreOp::Commit { .. }));
    assert_eq!(sim.s2_append_out(&step_one()).status, 503);
    assert!(sim.store.records(Io::Out).is_empty());
}

/// An append stored while its claim could not be saved, then a restart:
/// the claim is found again in the stream, so the retry is not appended
/// twice (and an older record, out of the window, does not block a reuse).
#[test]
fn a_claim_not_saved_before_a_restart_is_found_in_the_stream() {
    let mut sim = Sim::with_agent(false);
    assert_eq!(sim.create().status, 201);
    sim.store.fail_when(|op| matches!(op, StoreOp::Put { keys } if keys.iter().any(|k| k == "part_ids")));
    let r = sim.append_in("p1", "hello");
    assert_eq!((r.status, body_json(&r)), (200, json!({ "ok": true, "seq": 0 })));
    sim.store.clear_faults();
    sim.restart();
    let retry = sim.append_in("p1", "hello");
    assert_eq!((retry.status, body_json(&retry)), (200, json!({ "ok": true })));
    assert_eq!(sim.store.records(Io::In).len(), 1);
    let other = sim.append_in("p2", "again");
    assert_eq!((other.status, body_json(&other)), (200, json!({ "ok": true, "seq": 1 })));
}

/// The route handler's and the browser's requests of a head-start turn.
const STEPS: [&str; 7] = ["create", "init", "s2-append", "append-in", "records", "read", "close"];

fn step(sim: &mut Sim, name: &str) -> ServerResponse {
    let auth = format!("Bearer {SECRET}");
    match name {
        "create" => sim.create(),
        "init" => sim.secret("PUT", &format!("/realtime/v1/sessions/{CHAT}/out"), ""),
        "s2-append" => sim.s2_append_out(&step_one()),
        "append-in" => sim.append_in("p1", &handover()),
        "records" => sim.secret("GET", &format!("/realtime/v1/sessions/{CHAT}/in/records"), ""),
        "read" => {
            let path = format!("/realtime/v1/sessions/{CHAT}/out");
            let mut r = sim.send("GET", &path, &[("authorization", &auth), ("last-event-id", "0"), ("timeout-seconds", "1")], "");
            if r.status == 200 {
                // A read that fails mid-stream ends with an `error` event.
                let events = sim.events_now(&mut r, 1);
                assert!(events[0].starts_with("event: batch") || events[0].starts_with("event: error"), "{events:?}");
                r.body = ServerBody::Text(events.concat());
            }
            r
        }
        "close" => sim.secret("POST", &format!("/api/v1/sessions/{CHAT}/close"), r#"{"reason":"done"}"#),
        _ => unreachable!(),
    }
}

type Fault = (&'static str, fn(&StoreOp) -> bool);

fn faults() -> Vec<Fault> {
    vec![
        ("get", |op| matches!(op, StoreOp::Get { .. })),
        ("put", |op| matches!(op, StoreOp::Put { .. })),
        ("meta", |op| matches!(op, StoreOp::Meta { .. })),
        ("commit", |op| matches!(op, StoreOp::Commit { .. })),
        ("range", |op| matches!(op, StoreOp::Range { .. })),
    ]
}

#[test]
fn every_storage_fault_in_a_head_start_turn_answers_503_and_acks_nothing_unstored() {
    for (i, name) in STEPS.iter().enumerate() {
        for (fault, predicate) in faults() {
            let mut sim = Sim::with_agent(false);
            for earlier in &STEPS[..i] {
                assert!((200..300).contains(&step(&mut sim, earlier).status), "{earlier} before {name}");
            }
            let before = (sim.store.records(Io::In), sim.store.records(Io::Out), sim.store.row());
            sim.store.fail_when(predicate);
            let r = step(&mut sim, name);
            sim.store.clear_faults();
            let case = format!("{name} with failing {fault}: {r:?}");
            if (200..300).contains(&r.status) {
                // An ack names a stored record.
                let body = body_json(&r);
                if let Some(seq) = body.get("seq").and_then(Value::as_u64) {
                    assert!(sim.store.records(Io::In).iter().any(|rec| rec.seq_num == seq), "{case}");
                }
                if let Some(end) = body.pointer("/end/seq_num").and_then(Value::as_u64) {
                    assert_eq!(sim.store.stream_meta(Io::Out).next_seq, end, "{case}");
                    assert_eq!(sim.store.records(Io::Out).len() as u64, end, "{case}");
                }
                continue;
            }
            assert_eq!(r.status, 503, "{case}");
            if *name != "close" {
                // (A close may store its wake-up record before failing to
                // store the closed row; its retry completes it.)
                let after = (sim.store.records(Io::In), sim.store.records(Io::Out), sim.store.row());
                assert_eq!(after, before, "{case}");
            }
            let retry = step(&mut sim, name);
            assert!((200..300).contains(&retry.status), "retry of {case}: {retry:?}");
        }
    }
}

#[test]
fn an_agent_write_that_keeps_failing_ends_the_run_which_is_resumed_after_a_backoff() {
    use crate::selfhost::server::agent_host::resume_backoff_ms;
    let mut sim = Sim::new();
    sim.store.fail_when(|op| matches!(op, StoreOp::Commit { io: Io::Out, .. }));
    // The route handler's step 1 fails too (503), so it goes straight to
    // the handover here.
    assert_eq!(sim.create().status, 201);
    assert_eq!(sim.append_in("p1", &handover()).status, 200);
    sim.settle();
    assert!(sim.server.running_run().is_none(), "the run ended");
    assert!(sim.store.records(Io::Out).is_empty());
    assert_eq!(sim.store.raw(CONSUMED), None, "the turn is not marked consumed");
    assert!(sim.shared.logs.borrow().iter().any(|l| l.contains("ended on a storage failure (1 in a row)")));
    // Requests inside the backoff do not start a run each.
    assert_eq!(sim.secret("GET", &format!("/api/v1/sessions/{CHAT}"), "").status, 200);
    assert!(sim.server.running_run().is_none(), "not within the backoff");
    // Storage still failing: each resumed run fails, the next waits twice
    // as long, up to the cap.
    sim.advance(resume_backoff_ms(1));
    assert!(sim.shared.logs.borrow().iter().any(|l| l.contains("(2 in a row); resumed in 2000 ms")), "resumed by itself");
    sim.advance(resume_backoff_ms(2));
    assert!(sim.shared.logs.borrow().iter().any(|l| l.contains("(3 in a row); resumed in 4000 ms")));
    assert_eq!((resume_backoff_ms(7), resume_backoff_ms(40)), (60_000, 60_000));
    // Once storage is back, the run resumed after the backoff answers the
    // handover from its start, with no request needed.
    sim.store.clear_faults();
    sim.advance(resume_backoff_ms(3));
    assert!(sim.server.running_run().is_some(), "resumed");
    sim.settle();
    let kinds: Vec<_> = sim.store.records(Io::Out).iter().map(|r| r.body.contains("\"start\"")).collect();
    assert!(kinds[0], "the resumed run answers the handover from its start");
    assert_eq!(sim.store.raw(CONSUMED).as_deref(), Some("0"));
}

#[test]
fn an_agent_write_that_fails_twice_is_retried_and_the_turn_completes() {
    let mut sim = Sim::new();
    assert_eq!(sim.create().status, 201);
    assert_eq!(sim.s2_append_out(&step_one()).status, 200);
    // The run's first write after the handover fails twice.
    let left = std::rc::Rc::new(std::cell::Cell::new(2));
    let counter = left.clone();
    sim.store.fail_when(move |op| {
        let hit = matches!(op, StoreOp::Commit { io: Io::Out, .. }) && counter.get() > 0;
        counter.set(counter.get() - u32::from(hit));
        hit
    });
    assert_eq!(sim.append_in("p1", &handover()).status, 200);
    assert_eq!(left.get(), 0);
    assert_turn_answered(&sim);
    assert!(sim.server.running_run().is_some());
}

#[test]
fn an_alias_object_whose_storage_fails_answers_503_not_404() {
    let mut sim = Sim::with_agent(false);
    let alias = |sim: &mut Sim, method: &str, body: &str| sim.send(method, super::super::ALIAS_PATH, &[], body);
    assert_eq!(alias(&mut sim, "GET", "").status, 404);
    assert_eq!(alias(&mut sim, "POST", CHAT).status, 200);
    sim.store.fail_next_reads(1);
    assert_eq!(alias(&mut sim, "GET", "").status, 503);
    let found = alias(&mut sim, "GET", "");
    assert_eq!((found.status, found.body_text()), (200, Some(CHAT)));
    sim.store.fail_next_writes(1);
    assert_eq!(alias(&mut sim, "POST", "other").status, 503);
}
