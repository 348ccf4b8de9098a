//! Web `ReadableStream`s to and from Rust, through `wasm-streams`: response
//! bodies we produce (SSE), and bodies we read (provider and platform SSE).

use std::collections::VecDeque;

use futures_util::{Stream, StreamExt};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};

use crate::protocol::sse::{write_data, SseDecoder, SseError, SseEvent};

/// A byte `ReadableStream` fed by a Rust stream of byte chunks; each item is
/// enqueued as it comes, so the runtime can flush it at once.
pub fn byte_stream<S>(chunks: S) -> web_sys::ReadableStream
where
    S: Stream<Item = Result<Vec<u8>, JsValue>> + 'static,
{
    let js = chunks.map(|item| item.map(|bytes| JsValue::from(Uint8Array::from(bytes.as_slice()))));
    wasm_streams::ReadableStream::from_stream(js).into_raw()
}

/// An SSE body: one `data: <payload>\n\n` frame per item.
pub fn sse_stream<S>(payloads: S) -> web_sys::ReadableStream
where
    S: Stream<Item = String> + 'static,
{
    byte_stream(payloads.map(|payload| {
        let mut frame = String::with_capacity(payload.len() + 8);
        write_data(&mut frame, &payload);
        Ok(frame.into_bytes())
    }))
}

/// Reads SSE events from a byte `ReadableStream` (a fetch response body).
pub struct SseReader {
    body: wasm_streams::readable::IntoStream<'static>,
    decoder: SseDecoder,
    ready: VecDeque<SseEvent>,
    done: bool,
}

/// Why reading a body stopped early.
#[derive(Debug)]
pub enum ReadError {
    /// The stream errored (network failure, abort).
    Stream(JsValue),
    /// A chunk was not bytes.
    NotBytes,
    /// The body ended inside an event: the connection was cut.
    Truncated,
    /// The body broke an SSE size limit; the rest of it cannot be read.
    Limit(SseError),
}

impl SseReader {
    pub fn new(body: web_sys::ReadableStream) -> Self {
        Self {
            body: wasm_streams::ReadableStream::from_raw(body).into_stream(),
            decoder: SseDecoder::new(),
            ready: VecDeque::new(),
            done: false,
        }
    }

    /// The next event; `Ok(None)` at a clean end of the body.
    pub async fn next(&mut self) -> Result<Option<SseEvent>, ReadError> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(Some(event));
            }
            if self.done {
                return Ok(None);
            }
            if let Some(e) = self.decoder.error() {
                return Err(ReadError::Limit(e));
            }
            match self.body.next().await {
                Some(Ok(chunk)) => {
                    let bytes = chunk.dyn_into::<Uint8Array>().map_err(|_| ReadError::NotBytes)?;
                    let events = self.decoder.feed(&bytes.to_vec());
                    self.ready.extend(events);
                }
                Some(Err(e)) => return Err(ReadError::Stream(e)),
                None => {
                    self.done = true;
                    if self.decoder.has_partial_event() {
                        return Err(ReadError::Truncated);
                    }
                }
            }
        }
    }
}
