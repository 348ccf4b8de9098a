//! The scripted browser: a head start through the routes (reading the SSE
//! body at its own pace, leaving when the seed says), and direct turns
//! against the platform as the Trigger transport makes them (§6): append
//! to `.in` with the session token, follow `.out` to the turn-complete,
//! and a `stop` mid-turn.

use std::pin::pin;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use headstart::io::{timeout, Clock, Fetch, HttpRequest, ResponseBody};
use headstart::protocol::record::{Control, OutEnvelope, ReadEvent, RecordKind, TurnComplete};
use headstart::protocol::sse::SseDecoder;
use serde_json::{json, Value};

use crate::exec::SimClock;
use crate::net::SimFetch;
use crate::world::SimRoutes;

/// When the client leaves a streamed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    Never,
    /// After this many data frames.
    AfterChunks(usize),
    /// At this virtual time, whatever it is doing (even before the headers).
    AtMs(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server ended the body.
    Clean,
    /// The client left.
    Left,
}

/// What the client got from a route.
#[derive(Debug, Clone, Default)]
pub struct RouteOutcome {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub json: Option<String>,
    /// The `data:` payloads of an SSE body, in order.
    pub chunks: Vec<String>,
    /// Bytes that were not `data: …\n\n` frames.
    pub stray: Vec<String>,
    /// The SSE body as received.
    pub raw: String,
    pub end: Option<End>,
    pub done_at: Option<u64>,
}

impl RouteOutcome {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// POSTs `body` to `path` and reads the answer.
pub async fn post_route(routes: &SimRoutes, clock: &SimClock, path: &str, body: Vec<u8>, leave: Leave) -> RouteOutcome {
    let req = headstart::routes::RouteRequest {
        method: "POST".into(),
        url: format!("{}{path}", crate::world::EDGE),
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    };
    // Shared with the read, so what arrived before a timed leave is kept.
    let got = std::cell::RefCell::new(RouteOutcome::default());
    let read = async {
        let response = routes.handle(req).await;
        {
            let mut g = got.borrow_mut();
            g.status = Some(response.status);
            g.headers = response.headers.clone();
        }
        match response.body {
            headstart::routes::RouteBody::Empty => {}
            headstart::routes::RouteBody::Json(text) => got.borrow_mut().json = Some(text),
            headstart::routes::RouteBody::Sse(mut stream) => {
                let mut decoder = SseDecoder::new();
                while let Some(bytes) = stream.next().await {
                    let mut g = got.borrow_mut();
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    g.raw.push_str(&text);
                    // The routes write whole `data: <json>\n\n` frames.
                    if !(text.starts_with("data: ") && text.ends_with("\n\n")) {
                        g.stray.push(text.clone());
                    }
                    for event in decoder.feed(&bytes) {
                        g.chunks.push(event.data);
                    }
                    if let Leave::AfterChunks(n) = leave {
                        if g.chunks.len() >= n {
                            return End::Left;
                        }
                    }
                }
            }
        }
        End::Clean
    };
    let end = match leave {
        Leave::AtMs(at) => {
            let wait = at.saturating_sub(clock.now()) as u32;
            match select(pin!(read), pin!(clock.sleep(wait))).await {
                Either::Left((end, _)) => end,
                Either::Right(_) => End::Left,
            }
        }
        _ => read.await,
    };
    let mut out = got.into_inner();
    out.end = Some(end);
    out.done_at = Some(clock.now());
    out
}

/// One direct turn (§6.1, §6.2).
#[derive(Debug, Clone, Default)]
pub struct DirectOutcome {
    pub append_status: Option<u16>,
    pub in_seq: Option<u64>,
    /// The agent's chunks (envelope `data`), deduped by envelope id.
    pub chunks: Vec<Value>,
    pub turn_complete: Option<TurnComplete>,
    /// The `.out` seq of the turn-complete: the next turn's cursor.
    pub cursor: Option<u64>,
    pub error: Option<String>,
}

/// How long the browser follows `.out` before it gives up a turn.
pub const DIRECT_TURN_MS: u64 = 6 * 60_000;

/// Sends `text` as a new user message and follows `.out` after `cursor`
/// until the turn-complete that answers it. With `stop_after`, posts
/// `{"kind":"stop"}` once that many chunks arrived.
pub async fn direct_turn(
    fetch: &SimFetch,
    clock: &SimClock,
    chat_id: &str,
    token: &str,
    cursor: Option<u64>,
    text: &str,
    stop_after: Option<usize>,
) -> DirectOutcome {
    let mut out = DirectOutcome { cursor, ..DirectOutcome::default() };
    let message = json!({ "kind": "message", "payload": {
        "message": { "id": format!("u-{}", clock.now()), "role": "user", "parts": [{ "type": "text", "text": text }] },
        "chatId": chat_id, "trigger": "submit-message" } });
    let part_id = format!("part-{}-{}", chat_id, clock.now());
    match append_in(fetch, clock, chat_id, token, &message.to_string(), &part_id).await {
        Ok((status, seq)) => {
            out.append_status = Some(status);
            out.in_seq = seq;
        }
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    }
    let deadline = clock.now() + DIRECT_TURN_MS;
    let mut seen_ids = std::collections::HashSet::new();
    let mut stop_sent = false;
    let mut reconnects = 0;
    while clock.now() < deadline && reconnects < 12 {
        let mut headers = vec![
            ("accept".into(), "text/event-stream".into()),
            ("authorization".into(), format!("Bearer {token}")),
            ("timeout-seconds".into(), "120".into()),
        ];
        if let Some(c) = out.cursor {
            headers.push(("last-event-id".into(), c.to_string()));
        }
        let req = HttpRequest { method: "GET", url: stream_url(chat_id, "out"), headers, body: String::new() };
        let left = (deadline - clock.now()) as u32;
        let response = match timeout(clock, left.min(30_000), fetch.fetch(&req)).await {
            Some(Ok(r)) if r.status == 200 => r,
            Some(Ok(r)) if matches!(r.status, 400 | 401 | 403 | 404 | 409 | 410 | 422) => {
                out.error = Some(format!(".out answered {}", r.status));
                return out;
            }
            _ => {
                reconnects += 1;
                clock.sleep(500).await;
                continue;
            }
        };
        let mut body = response.body;
        let mut decoder = SseDecoder::new();
        loop {
            // §6.2: no record for 60 s is a stall (pings do not count).
            let piece = match timeout(clock, 60_000, body.next_chunk()).await {
                Some(Some(Ok(bytes))) => bytes,
                _ => break,
            };
            for event in decoder.feed(&piece) {
                let Ok(ReadEvent::Batch(batch)) = ReadEvent::from_sse(&event) else { continue };
                for record in batch.records {
                    match record.kind() {
                        RecordKind::Command(_) => {}
                        RecordKind::Control(Control::TurnComplete) => {
                            out.cursor = Some(record.seq_num);
                            let tc = TurnComplete::from_headers(&record.headers);
                            if tc.session_in_event_id.zip(out.in_seq).is_some_and(|(tc_seq, mine)| tc_seq < mine) {
                                continue;
                            }
                            out.turn_complete = Some(tc);
                            return out;
                        }
                        RecordKind::Control(_) => out.cursor = Some(record.seq_num),
                        RecordKind::Data => {
                            out.cursor = Some(record.seq_num);
                            let Ok(envelope) = serde_json::from_str::<OutEnvelope<Value>>(&record.body) else { continue };
                            if seen_ids.insert(envelope.id) {
                                out.chunks.push(envelope.data);
                            }
                        }
                    }
                }
            }
            if let (Some(n), false) = (stop_after, stop_sent) {
                if out.chunks.len() >= n {
                    stop_sent = true;
                    let stop_id = format!("stop-{}", clock.now());
                    if let Err(e) = append_in(fetch, clock, chat_id, token, r#"{"kind":"stop"}"#, &stop_id).await {
                        out.error = Some(format!("stop: {e}"));
                    }
                }
            }
        }
        reconnects += 1;
    }
    out.error.get_or_insert_with(|| "the turn did not complete".into());
    out
}

pub fn stream_url(chat_id: &str, io: &str) -> String {
    format!("{}/realtime/v1/sessions/{}/{io}", crate::world::PLATFORM, headstart::platform::client::encode_uri_component(chat_id))
}

/// `.in` append with the transport's retries (the same part id each time).
async fn append_in(
    fetch: &SimFetch,
    clock: &SimClock,
    chat_id: &str,
    token: &str,
    body: &str,
    part_id: &str,
) -> Result<(u16, Option<u64>), String> {
    let req = HttpRequest {
        method: "POST",
        url: format!("{}/append", stream_url(chat_id, "in")),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("authorization".into(), format!("Bearer {token}")),
            ("x-part-id".into(), part_id.into()),
        ],
        body: body.into(),
    };
    let mut last = String::new();
    for attempt in 0..6u32 {
        if attempt > 0 {
            clock.sleep(500 << attempt.min(4)).await;
        }
        match timeout(clock, 15_000, fetch.fetch(&req)).await {
            Some(Ok(mut r)) if (200..300).contains(&r.status) => {
                let text = timeout(clock, 15_000, r.body.text()).await.and_then(Result::ok).unwrap_or_default();
                let seq = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["seq"].as_u64());
                return Ok((r.status, seq));
            }
            Some(Ok(r)) if r.status < 500 && r.status != 429 && r.status != 408 => {
                return Err(format!(".in append answered {}", r.status))
            }
            Some(Ok(r)) => last = format!("status {}", r.status),
            Some(Err(e)) => last = e.to_string(),
            None => last = "timed out".into(),
        }
    }
    Err(format!(".in append failed: {last}"))
}
