//! [`Fetch`](crate::io::Fetch) and [`Clock`](crate::io::Clock) on the
//! runtime's global `fetch`, `AbortController` and timers.
//!
//! Every request owns an `AbortController`; dropping the pending fetch or
//! the response body aborts it, so cancelling a Rust future really closes
//! the connection.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, ReadableStreamDefaultReader, ReadableStreamReadResult, Request, RequestInit, RequestRedirect,
    Response,
};

use crate::io::{Clock, Fetch, FetchError, HttpRequest, HttpResponse, ResponseBody};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &Request) -> Promise;
}

/// Aborts its request when dropped, unless emptied first.
struct AbortOnDrop(Option<AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = self.0.take() {
            controller.abort();
        }
    }
}

/// The runtime's `fetch`.
#[derive(Debug, Default, Clone, Copy)]
pub struct WebFetch;

/// A streaming response body; dropping it before its end aborts the
/// request.
///
/// It reads through the runtime's own reader rather than wasm-streams',
/// whose drop releases the reader's lock: by the Streams spec a release
/// makes two `TypeError`s, stack traces and all, even for a body read to
/// its end, and under load that, with the aborts of finished requests, was
/// a fifth of the worker's CPU. A body read to its end, or one that failed,
/// is let go as it is.
pub struct WebBody {
    reader: Option<ReadableStreamDefaultReader>,
    /// A read in flight: kept across polls, so a read whose future was
    /// dropped (a lost race) hands its chunk to the next call.
    pending: Option<JsFuture>,
    abort: AbortOnDrop,
}

impl WebBody {
    fn new(body: Option<web_sys::ReadableStream>, abort: AbortOnDrop) -> Self {
        let mut this = Self { reader: body.map(|b| b.get_reader().unchecked_into()), pending: None, abort };
        if this.reader.is_none() {
            this.ended();
        }
        this
    }

    /// Nothing is left to read, so nothing to cancel or abort.
    fn ended(&mut self) {
        self.reader = None;
        self.pending = None;
        self.abort.0 = None;
    }
}

fn js_error(e: JsValue) -> FetchError {
    let message = e
        .dyn_ref::<js_sys::Error>()
        .map(|err| String::from(err.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    FetchError(message)
}

thread_local! {
    /// Handles the rejection of a cancel nobody waits for.
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_: JsValue| {});
}

impl Drop for WebBody {
    /// A body left before its end: the stream is cancelled, then (as the
    /// field drops) the request aborted.
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = IGNORE.with(|ignore| reader.cancel().catch(ignore));
        }
    }
}

impl Fetch for WebFetch {
    type Body = WebBody;

    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<WebBody>, FetchError> {
        send(request, false).await
    }

    /// On workerd, Deno, Bun and Node a manual redirect is the 3xx itself
    /// with its `Location`; a browser hides it (status 0, no headers).
    async fn fetch_manual(&self, request: &HttpRequest) -> Result<HttpResponse<WebBody>, FetchError> {
        send(request, true).await
    }
}

async fn send(request: &HttpRequest, manual_redirect: bool) -> Result<HttpResponse<WebBody>, FetchError> {
    let controller = AbortController::new().map_err(js_error)?;
    let abort = AbortOnDrop(Some(controller.clone()));
    let headers = Headers::new().map_err(js_error)?;
    for (name, value) in &request.headers {
        headers.append(name, value).map_err(js_error)?;
    }
    let init = RequestInit::new();
    init.set_method(request.method);
    init.set_headers(&headers);
    if !request.body.is_empty() {
        init.set_body(&JsValue::from_str(&request.body));
    }
    init.set_signal(Some(&controller.signal()));
    // Only a manual redirect is asked for: "follow" is the default, and
    // leaving it unset keeps the request as it always was.
    if manual_redirect {
        init.set_redirect(RequestRedirect::Manual);
    }
    let req = Request::new_with_str_and_init(&request.url, &init).map_err(js_error)?;
    let response: Response = JsFuture::from(global_fetch(&req)).await.map_err(js_error)?.unchecked_into();
    let mut header_pairs = Vec::new();
    if let Ok(Some(iter)) = js_sys::try_iter(response.headers().as_ref()) {
        for entry in iter.flatten() {
            let pair: Array = entry.unchecked_into();
            header_pairs.push((pair.get(0).as_string().unwrap_or_default(), pair.get(1).as_string().unwrap_or_default()));
        }
    }
    Ok(HttpResponse { status: response.status(), headers: header_pairs, body: WebBody::new(response.body(), abort) })
}

impl ResponseBody for WebBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        let reader = self.reader.as_ref()?;
        let read = self.pending.get_or_insert_with(|| JsFuture::from(reader.read()));
        let result = read.await;
        self.pending = None;
        match result {
            Ok(result) => {
                let result: ReadableStreamReadResult = result.unchecked_into();
                if result.get_done().unwrap_or(false) {
                    self.ended();
                    return None;
                }
                match result.get_value().dyn_into::<Uint8Array>() {
                    Ok(bytes) => Some(Ok(bytes.to_vec())),
                    Err(_) => Some(Err(FetchError("response body chunk is not bytes".into()))),
                }
            }
            Err(e) => {
                self.ended();
                Some(Err(js_error(e)))
            }
        }
    }
}

/// The runtime's clock and `setTimeout`.
#[derive(Debug, Default, Clone, Copy)]
pub struct WebClock;

impl Clock for WebClock {
    fn now_ms(&self) -> f64 {
        super::time::now_ms()
    }

    async fn sleep(&self, ms: u32) {
        super::time::sleep(ms).await
    }
}
