//! The client against the self-hosted platform's pure core: its routes,
//! its error bodies, its stream log and its SSE encoding.

use serde_json::json;

use crate::platform::client::*;
use crate::platform::splice::{Splice, SpliceEvent};
use crate::platform::tee::Tee;
use crate::protocol::chunk::UiChunk;
use crate::protocol::input::ChatInput;
use crate::protocol::record::{
    trim_command_body, trim_command_headers, AppendInput, AppendRecord, OutEnvelope, ReadEvent, TurnComplete,
};
use crate::protocol::sse::SseDecoder;
use crate::selfhost::http::{error_body, last_event_id_start, s2_error, session_closed, ErrorResponse};
use crate::selfhost::log::{self, MemStore};
use crate::selfhost::route::{self, Route, SessionKey};
use crate::selfhost::Io;

fn response_headers(r: &ErrorResponse) -> Vec<(String, String)> {
    r.headers.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()
}

#[test]
fn every_request_routes_on_the_self_hosted_platform() {
    let base = "http://127.0.0.1:8787";
    let client = PlatformClient::new(&format!("{base}/"), "secret");
    let key = "chat/1 ü?#&";
    let ext = || SessionKey::External(key.into());
    let path = |url: &str| url.strip_prefix(base).unwrap().to_string();
    let r = client.init_stream(key, Io::Out);
    assert_eq!(route::parse(r.method, &path(&r.url)), Ok(Route::InitStream { key: ext(), io: Io::Out }));
    let r = client.append_input(key, &ChatInput::handover_skip(), "p1");
    assert_eq!(route::parse(r.method, &path(&r.url)), Ok(Route::Append { key: ext(), io: Io::In }));
    let r = client.subscribe(key, Io::Out, Some(9));
    assert_eq!(route::parse(r.method, &path(&r.url)), Ok(Route::Read { key: ext(), io: Io::Out }));
    let r = client.create_session(
        &serde_json::from_value(json!({
            "type": "chat.agent", "externalId": key, "taskIdentifier": "t", "triggerConfig": { "basePayload": {} }
        }))
        .unwrap(),
    );
    assert_eq!(route::parse(r.method, &path(&r.url)), Ok(Route::CreateSession));

    // The credentials the Durable Object hands out lead to its S2 route.
    let creds = parse_credentials(
        202,
        &super::headers(&[
            ("X-S2-Access-Token", "secret"),
            ("X-S2-Basin", "headstart"),
            ("X-S2-Stream-Name", &route::s2_stream_name(key, Io::Out)),
            ("X-S2-Endpoint", &format!("{base}{}", route::S2_ENDPOINT_PATH)),
        ]),
        r#"{"version":"v2"}"#,
    )
    .unwrap();
    let r = s2_append(&creds, &AppendInput::default());
    assert_eq!(route::parse(r.method, &path(&r.url)), Ok(Route::S2Append { key: ext(), io: Io::Out }));
    assert!(r.headers.contains(&("s2-basin".into(), "headstart".into())));
}

#[test]
fn self_hosted_errors_parse_as_the_protocol_says() {
    let closed = session_closed(Some("done"));
    let err = parse_append(closed.status, &response_headers(&closed), &closed.body).unwrap_err();
    assert_eq!(err.kind, PlatformErrorKind::SessionClosed { reason: Some("done".into()) });
    let create_closed = error_body(409, "Session is closed; use a different externalId", None);
    let err = parse_created(409, &response_headers(&create_closed), &create_closed.body).unwrap_err();
    assert_eq!((err.kind, err.retryable), (PlatformErrorKind::Status, false), "x-should-retry: false");
    let s2 = s2_error(413, "append has metered size 2000000 bytes", "too_large");
    let err = parse_ack(s2.status, &response_headers(&s2), &s2.body).unwrap_err();
    assert_eq!((err.message.as_str(), err.retryable), ("413 append has metered size 2000000 bytes", false));
}

fn chunk(v: serde_json::Value) -> UiChunk {
    serde_json::from_value(v).unwrap()
}

/// Reads the log from `start` as the platform would stream it (at most
/// `max_records` per batch), through SSE text and the decoder.
fn read_events(store: &MemStore, start: u64, max_records: usize) -> Vec<crate::protocol::sse::SseEvent> {
    let mut text = String::new();
    let mut from = start;
    loop {
        let batch = log::read(store, from, true, max_records, usize::MAX).unwrap();
        if batch.records.is_empty() {
            break;
        }
        from = log::next_start(&batch, from);
        text += &ReadEvent::Batch(batch).to_sse((0, 0));
    }
    text += &ReadEvent::Done.to_sse((0, 0));
    SseDecoder::new().feed(text.as_bytes())
}

#[test]
fn a_head_start_turn_through_the_log() {
    let mut out = MemStore::default();
    let mut now = 1_000;

    // Step 1: the tee writes the handler's chunks, in batches.
    let mut tee = Tee::new(200);
    let step1 = [
        json!({"type": "start", "messageId": "Vb8kR2tLq0XmZ1aC"}),
        json!({"type": "start-step"}),
        json!({"type": "tool-input-available", "toolCallId": "toolu_01A", "toolName": "fetchPage", "input": {"url": "https://example.com"}}),
        json!({"type": "finish-step"}),
        json!({"type": "finish", "finishReason": "tool-calls"}),
    ];
    for (n, c) in step1.iter().enumerate() {
        tee.push(&chunk(c.clone()), format!("own{n:04}"), now).unwrap();
        now += 150;
        while let Some(batch) = tee.poll_batch(now) {
            let ack = log::append(&mut out, &batch, now).unwrap();
            tee.on_ack(&ack);
        }
    }
    tee.flush();
    while let Some(batch) = tee.poll_batch(now) {
        tee.on_ack(&log::append(&mut out, &batch, now).unwrap());
    }
    assert!(tee.is_drained());
    assert_eq!(tee.last_seq(), Some(4));

    // The agent: a retried (duplicate) data record, a trim, its chunks and
    // the turn-complete.
    let agent = [
        json!({"type": "start", "messageId": "Vb8kR2tLq0XmZ1aC"}),
        json!({"type": "tool-output-available", "toolCallId": "toolu_01A", "output": {"title": "Example"}}),
        json!({"type": "text-delta", "id": "1", "delta": "It is the example page."}),
        json!({"type": "finish", "finishReason": "stop"}),
    ];
    let mut records: Vec<AppendRecord> = agent
        .iter()
        .enumerate()
        .map(|(n, c)| AppendRecord::data(OutEnvelope { data: chunk(c.clone()), id: format!("agt{n:04}") }.to_json()))
        .collect();
    records.insert(2, records[1].clone());
    records.insert(
        3,
        AppendRecord {
            headers: trim_command_headers(),
            body: String::from_utf8(trim_command_body(0).to_vec()).unwrap(),
            ..Default::default()
        },
    );
    records.push(AppendRecord::control(TurnComplete { session_in_event_id: Some(0), ..Default::default() }.headers()));
    log::append(&mut out, &AppendInput { records, ..Default::default() }, now).unwrap();

    // Phase 2: subscribe after the tee's last record, reconnecting midway.
    let last = tee.last_seq();
    let start = last_event_id_start(last.map(|s| s.to_string()).as_deref());
    assert_eq!(start, 5);
    let mut splice = Splice::starting_after(last).with_seen_ids(tee.record_ids().iter().cloned());
    let events = read_events(&out, start, 3);
    let mut got: Vec<SpliceEvent> = events[..1].iter().flat_map(|e| splice.feed(e)).collect();
    // The connection drops after the first batch: reconnect from the cursor.
    assert_eq!(splice.cursor(), Some(7));
    let resumed = read_events(&out, last_event_id_start(Some(&splice.cursor().unwrap().to_string())), 2);
    got.extend(resumed.iter().flat_map(|e| splice.feed(e)));

    let forwarded: Vec<serde_json::Value> = got
        .iter()
        .filter_map(|e| match e {
            SpliceEvent::Forward(s) => Some(serde_json::from_str(s).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(forwarded, agent);
    assert_eq!(
        got.last(),
        Some(&SpliceEvent::TurnComplete {
            seq: 11,
            headers: TurnComplete { session_in_event_id: Some(0), ..Default::default() }
        })
    );
    assert!(!got.contains(&SpliceEvent::Done), "the turn-complete came first");
    assert_eq!(splice.last_event_id(), Some(11));
    assert_eq!(splice.session_state().unwrap().to_json(), r#"{"type":"trigger:session-state","lastEventId":"11"}"#);
}
