//! wasm-bindgen tests of the `web` layer: they run in node (and in headless
//! Chromium with `WASM_BINDGEN_USE_BROWSER=1`), against the runtime's own
//! `ReadableStream`, `Response` and timers.
#![cfg(target_arch = "wasm32")]

use futures_util::stream;
use headstart::protocol::sse::{encode_event, SseEvent};
use headstart::web::stream::{byte_stream, sse_stream, ReadError, SseReader};
use headstart::web::time::{now_ms, sleep};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

async fn body_text(body: web_sys::ReadableStream) -> String {
    let response = web_sys::Response::new_with_opt_readable_stream(Some(&body)).unwrap();
    let text = JsFuture::from(response.text().unwrap()).await.unwrap();
    text.as_string().unwrap()
}

#[wasm_bindgen_test]
async fn sse_stream_writes_one_frame_per_payload() {
    let body = sse_stream(stream::iter(vec![r#"{"type":"start"}"#.to_string(), r#"{"type":"finish"}"#.to_string()]));
    assert_eq!(body_text(body).await, "data: {\"type\":\"start\"}\n\ndata: {\"type\":\"finish\"}\n\n");
}

#[wasm_bindgen_test]
async fn reader_decodes_events_split_across_chunks() {
    let wire = [
        encode_event(Some("batch"), Some("1,1,10"), r#"{"records":[]}"#),
        encode_event(Some("ping"), None, r#"{"timestamp":1}"#),
        encode_event(None, None, "[DONE]"),
    ]
    .concat()
    .into_bytes();
    // Three-byte pieces: every frame boundary and field falls mid-chunk.
    let pieces: Vec<Result<Vec<u8>, JsValue>> = wire.chunks(3).map(|c| Ok(c.to_vec())).collect();
    let mut reader = SseReader::new(byte_stream(stream::iter(pieces)));
    let mut events: Vec<SseEvent> = Vec::new();
    while let Some(e) = reader.next().await.unwrap() {
        events.push(e);
    }
    let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["batch", "ping", "message"]);
    assert_eq!(events[2].data, "[DONE]");
    assert_eq!(events[0].id.as_deref(), Some("1,1,10"));
}

#[wasm_bindgen_test]
async fn reader_reports_a_body_cut_mid_event() {
    let pieces: Vec<Result<Vec<u8>, JsValue>> = vec![Ok(b"data: {\"type\":\"sta".to_vec())];
    let mut reader = SseReader::new(byte_stream(stream::iter(pieces)));
    assert!(matches!(reader.next().await, Err(ReadError::Truncated)));
}

#[wasm_bindgen_test]
async fn reader_surfaces_stream_errors() {
    let pieces: Vec<Result<Vec<u8>, JsValue>> = vec![Ok(b"data: 1\n\n".to_vec()), Err(JsValue::from_str("connection reset"))];
    let mut reader = SseReader::new(byte_stream(stream::iter(pieces)));
    assert_eq!(reader.next().await.unwrap().unwrap().data, "1");
    match reader.next().await {
        Err(ReadError::Stream(e)) => assert_eq!(e.as_string().as_deref(), Some("connection reset")),
        other => panic!("expected a stream error, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn sleep_waits_on_the_runtime_timer() {
    let start = now_ms();
    sleep(30).await;
    let waited = now_ms() - start;
    // Timers may fire late on a loaded machine, never early.
    assert!(waited >= 29.0, "slept only {waited} ms");
}

/// Node's count of armed timers (`None` elsewhere: browsers do not say).
fn armed_timers() -> Option<usize> {
    use wasm_bindgen::JsCast;
    let process = js_sys::Reflect::get(&js_sys::global(), &"process".into()).ok().filter(JsValue::is_object)?;
    let info: js_sys::Function = js_sys::Reflect::get(&process, &"getActiveResourcesInfo".into()).ok()?.dyn_into().ok()?;
    let list: js_sys::Array = info.call0(&process).ok()?.dyn_into().ok()?;
    Some(list.iter().filter(|v| v.as_string().as_deref() == Some("Timeout")).count())
}

#[wasm_bindgen_test]
async fn a_sleep_that_loses_a_race_clears_its_timer() {
    let before = armed_timers();
    // As `io::timeout` races a request against its limit.
    futures_util::future::select(Box::pin(sleep(60_000)), Box::pin(sleep(5))).await;
    assert_eq!(armed_timers(), before, "the 60 s timer is still armed");
}

#[wasm_bindgen_test]
async fn web_fetch_reads_a_body_in_pieces() {
    use headstart::io::{Fetch, HttpRequest, ResponseBody};
    use headstart::web::fetch::WebFetch;
    let request =
        HttpRequest { method: "GET", url: "data:text/plain,hello%20world".into(), headers: vec![], body: String::new() };
    let mut response = WebFetch.fetch(&request).await.expect("a data URL always answers");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.body.text().await.unwrap(), "hello world");
}

#[wasm_bindgen_test]
async fn web_fetch_reports_a_bad_url() {
    use headstart::io::{Fetch, HttpRequest};
    use headstart::web::fetch::WebFetch;
    let request = HttpRequest { method: "GET", url: "http://[not-a-host/".into(), headers: vec![], body: String::new() };
    assert!(WebFetch.fetch(&request).await.is_err());
}

/// Replaces the global `fetch` with one that records its request in
/// `globalThis.__fakeFetch` and answers with `body` (JS source of a
/// `ReadableStream`), or never answers (`body` = None), until dropped.
struct FakeFetch {
    original: JsValue,
}

impl FakeFetch {
    fn install(body: Option<&str>) -> Self {
        let global = js_sys::global();
        let original = js_sys::Reflect::get(&global, &"fetch".into()).unwrap();
        let answer = match body {
            Some(stream) => format!("Promise.resolve(new Response({stream}))"),
            None => "new Promise((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason)))".into(),
        };
        let fake = js_sys::Function::new_with_args(
            "req",
            &format!("globalThis.__fakeFetch = {{ req, cancelled: false }}; return {answer};"),
        );
        js_sys::Reflect::set(&global, &"fetch".into(), &fake).unwrap();
        Self { original }
    }

    fn field(path: &str) -> JsValue {
        js_sys::Function::new_no_args(&format!("return globalThis.__fakeFetch?.{path};")).call0(&JsValue::NULL).unwrap()
    }
}

impl Drop for FakeFetch {
    fn drop(&mut self) {
        js_sys::Reflect::set(&js_sys::global(), &"fetch".into(), &self.original).unwrap();
    }
}

fn get(url: &str) -> headstart::io::HttpRequest {
    headstart::io::HttpRequest { method: "GET", url: url.into(), headers: vec![], body: String::new() }
}

#[wasm_bindgen_test]
async fn dropping_a_response_body_aborts_its_request() {
    use headstart::io::{Fetch, ResponseBody};
    use headstart::web::fetch::WebFetch;
    // One chunk, then a body that never ends (a model that went quiet).
    let _fake = FakeFetch::install(Some(
        "new ReadableStream({ start(c) { c.enqueue(new Uint8Array([104, 105])); }, \
         cancel() { globalThis.__fakeFetch.cancelled = true; } })",
    ));
    let mut response = WebFetch.fetch(&get("https://model.example/v1/messages")).await.unwrap();
    assert_eq!(response.body.next_chunk().await.unwrap().unwrap(), b"hi");
    assert_eq!(FakeFetch::field("req.signal.aborted"), JsValue::FALSE);
    drop(response);
    assert_eq!(FakeFetch::field("req.signal.aborted"), JsValue::TRUE, "the request's signal aborts");
    sleep(0).await;
    assert_eq!(FakeFetch::field("cancelled"), JsValue::TRUE, "the body stream is cancelled");
}

#[wasm_bindgen_test]
async fn a_body_read_to_its_end_is_let_go_without_an_abort() {
    use headstart::io::{Fetch, ResponseBody};
    use headstart::web::fetch::WebFetch;
    // Aborting (or releasing the reader of) a finished body costs the
    // runtime an exception with its stack, for nothing.
    let _fake = FakeFetch::install(Some("'all of it'"));
    let mut response = WebFetch.fetch(&get("https://platform.example/append")).await.unwrap();
    let mut body = Vec::new();
    while let Some(chunk) = response.body.next_chunk().await {
        body.extend(chunk.unwrap());
    }
    assert_eq!(body, b"all of it");
    assert!(response.body.next_chunk().await.is_none(), "the end is sticky");
    drop(response);
    sleep(0).await;
    assert_eq!(FakeFetch::field("req.signal.aborted"), JsValue::FALSE);
}

#[wasm_bindgen_test]
async fn a_read_whose_future_was_dropped_loses_no_chunk() {
    use headstart::io::{Fetch, ResponseBody};
    use headstart::web::fetch::WebFetch;
    // The first chunk comes only after a while: a read raced against a
    // short timer loses, and the chunk must go to the next read.
    let _fake = FakeFetch::install(Some(
        "new ReadableStream({ start(c) { setTimeout(() => { c.enqueue(new Uint8Array([111, 107])); c.close(); }, 20); } })",
    ));
    let mut response = WebFetch.fetch(&get("https://model.example/v1/messages")).await.unwrap();
    {
        let read = std::pin::pin!(response.body.next_chunk());
        let timer = std::pin::pin!(sleep(1));
        assert!(matches!(futures_util::future::select(read, timer).await, futures_util::future::Either::Right(_)));
    }
    assert_eq!(response.body.next_chunk().await.unwrap().unwrap(), b"ok");
    assert!(response.body.next_chunk().await.is_none());
}

#[wasm_bindgen_test]
async fn dropping_a_pending_fetch_aborts_it() {
    use headstart::io::Fetch;
    use headstart::web::fetch::WebFetch;
    let _fake = FakeFetch::install(None);
    let request = get("https://platform.example/api/v1/sessions");
    // As `io::timeout` gives up on a request that has not answered.
    let pending = Box::pin(WebFetch.fetch(&request));
    let raced = futures_util::future::select(pending, Box::pin(sleep(10))).await;
    assert!(matches!(raced, futures_util::future::Either::Right(_)), "the fake never answers");
    drop(raced);
    assert_eq!(FakeFetch::field("req.signal.aborted"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn cancelling_a_bridged_body_drops_the_rust_stream() {
    use std::cell::Cell;
    use std::rc::Rc;
    // Dropped with the stream: how a handler learns that its client left.
    struct Guard(Rc<Cell<bool>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let guard = Guard(dropped.clone());
    let chunks = stream::unfold((0u8, guard), |(n, guard)| async move {
        if n > 0 {
            sleep(60_000).await; // a turn still running
        }
        Some((Ok::<_, JsValue>(vec![n]), (n + 1, guard)))
    });
    let body = byte_stream(chunks);
    let call = |target: &JsValue, method: &str| -> JsValue {
        let f: js_sys::Function = js_sys::Reflect::get(target, &method.into()).unwrap().into();
        f.call0(target).unwrap()
    };
    let reader = call(&body, "getReader");
    JsFuture::from(js_sys::Promise::from(call(&reader, "read"))).await.unwrap();
    assert!(!dropped.get());
    JsFuture::from(js_sys::Promise::from(call(&reader, "cancel"))).await.unwrap();
    assert!(dropped.get(), "cancel reached the Rust stream");
}

#[wasm_bindgen_test]
async fn fetch_manual_asks_the_runtime_not_to_follow_redirects() {
    use headstart::io::Fetch;
    use headstart::web::fetch::WebFetch;
    // The runtime's own answer to a manual redirect: the 3xx with its Location.
    let _fake = FakeFetch::install(Some("null, { status: 302, headers: { location: 'http://127.0.0.1/admin' } }"));
    let response = WebFetch.fetch_manual(&get("https://public.example/")).await.unwrap();
    assert_eq!((response.status, response.header("location")), (302, Some("http://127.0.0.1/admin")));
    assert_eq!(FakeFetch::field("req.redirect"), JsValue::from_str("manual"));
    drop(response);
    WebFetch.fetch(&get("https://public.example/")).await.unwrap();
    assert_eq!(FakeFetch::field("req.redirect"), JsValue::from_str("follow"));
}
