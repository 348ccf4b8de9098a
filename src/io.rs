//! The IO seams of the crate: HTTP, response bodies and time, as small
//! traits. The async drivers (a provider step, the platform client, the
//! head-start turn) are written against them and never touch JS; `web`
//! implements them on the runtime's `fetch` and timers, and host tests
//! implement them in memory with a virtual clock.
//!
//! Cancellation is by drop: dropping a pending `fetch` future or a response
//! body aborts the request (the web implementation holds an
//! `AbortController` for exactly that), so a caller cancels a step by
//! dropping it.

use std::future::Future;
use std::pin::pin;

use futures_util::future::{select, Either};

/// An HTTP request, built by pure code and sent as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Response status, headers (names lower-cased) and body.
#[derive(Debug)]
pub struct HttpResponse<B> {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: B,
}

impl<B> HttpResponse<B> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The request could not be made or the connection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

#[allow(async_fn_in_trait)] // single-threaded runtimes: no Send bound wanted
pub trait Fetch {
    type Body: ResponseBody;
    /// Sends the request and resolves with the response head.
    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<Self::Body>, FetchError>;

    /// Sends the request without following redirects (`redirect: "manual"`):
    /// a 3xx comes back as the response, `location` header and all, so a
    /// caller that checks every address it reaches (the agent's tools) can
    /// check the next one. The default is [`fetch`](Fetch::fetch), right for
    /// an implementation that never follows redirects itself (the in-memory
    /// ones); one over a client that does must override it, as the web one
    /// does.
    async fn fetch_manual(&self, request: &HttpRequest) -> Result<HttpResponse<Self::Body>, FetchError> {
        self.fetch(request).await
    }
}

/// Largest body [`ResponseBody::text`] reads: 1 MiB, the platform's own
/// request limit (PROTOCOL.md §9.5), far above any error or JSON answer.
pub const MAX_TEXT_BODY: usize = 1 << 20;

#[allow(async_fn_in_trait)]
pub trait ResponseBody {
    /// The next piece of the body; `None` at its clean end.
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>>;

    /// The whole (remaining) body as text, for error responses and the small
    /// JSON answers of the platform. A body over [`MAX_TEXT_BODY`] bytes is
    /// an error: it is no answer we expect, and reading it all would grow
    /// memory without bound.
    async fn text(&mut self) -> Result<String, FetchError> {
        let mut bytes = Vec::new();
        while let Some(chunk) = self.next_chunk().await {
            let chunk = chunk?;
            if bytes.len() + chunk.len() > MAX_TEXT_BODY {
                return Err(FetchError(format!("the response body is larger than {MAX_TEXT_BODY} bytes")));
            }
            bytes.extend(chunk);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[allow(async_fn_in_trait)]
pub trait Clock {
    /// Milliseconds on a monotonic-enough clock (only differences matter).
    fn now_ms(&self) -> f64;
    async fn sleep(&self, ms: u32);
}

/// Runs `fut` for at most `ms`; `None` when the time ran out first (the
/// future is then dropped, which cancels it).
pub async fn timeout<C: Clock, T>(clock: &C, ms: u32, fut: impl Future<Output = T>) -> Option<T> {
    match select(pin!(fut), pin!(clock.sleep(ms))).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(_) => None,
    }
}

/// Turns a future that emits items through a callback into a `Stream` of
/// those items: the stream polls the future and hands out what it emitted.
/// Dropping the stream drops the future (and so cancels its IO).
pub fn emitted_stream<T, Fut>(make: impl FnOnce(Emitter<T>) -> Fut) -> EmittedStream<T, Fut>
where
    Fut: Future<Output = ()>,
{
    let queue = std::rc::Rc::new(std::cell::RefCell::new(std::collections::VecDeque::new()));
    let fut = make(Emitter(queue.clone()));
    EmittedStream { queue, fut: Some(Box::pin(fut)) }
}

/// The callback side of [`emitted_stream`].
pub struct Emitter<T>(std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<T>>>);

impl<T> Emitter<T> {
    pub fn emit(&self, item: T) {
        self.0.borrow_mut().push_back(item);
    }
}

pub struct EmittedStream<T, Fut> {
    queue: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<T>>>,
    fut: Option<std::pin::Pin<Box<Fut>>>,
}

impl<T, Fut: Future<Output = ()>> futures_util::Stream for EmittedStream<T, Fut> {
    type Item = T;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
        use std::task::Poll;
        if let Some(item) = self.queue.borrow_mut().pop_front() {
            return Poll::Ready(Some(item));
        }
        let Some(fut) = self.fut.as_mut() else { return Poll::Ready(None) };
        let done = fut.as_mut().poll(cx).is_ready();
        if done {
            self.fut = None;
        }
        match self.queue.borrow_mut().pop_front() {
            Some(item) => Poll::Ready(Some(item)),
            None if done => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

impl<T, Fut> Unpin for EmittedStream<T, Fut> {}

/// Wakes every task waiting for a change (new records on a stream). Take
/// [`version`](Notify::version) before looking, then wait with
/// [`changed_since`](Notify::changed_since): a change in between is never
/// missed.
#[derive(Debug, Default)]
pub struct Notify {
    version: std::cell::Cell<u64>,
    wakers: std::cell::RefCell<Vec<std::task::Waker>>,
}

impl Notify {
    pub fn version(&self) -> u64 {
        self.version.get()
    }

    pub fn notify(&self) {
        self.version.set(self.version.get() + 1);
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Resolves once the version differs from `seen`.
    pub fn changed_since(&self, seen: u64) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.version.get() != seen {
                std::task::Poll::Ready(())
            } else {
                let mut wakers = self.wakers.borrow_mut();
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                std::task::Poll::Pending
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pieces(Vec<Vec<u8>>);

    impl ResponseBody for Pieces {
        async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
            (!self.0.is_empty()).then(|| Ok(self.0.remove(0)))
        }
    }

    #[test]
    fn text_reads_a_body_up_to_the_limit_and_no_further() {
        let half = vec![b'a'; MAX_TEXT_BODY / 2];
        let text = futures_executor::block_on(Pieces(vec![half.clone(), half.clone()]).text()).unwrap();
        assert_eq!(text.len(), MAX_TEXT_BODY);
        let mut endless = Pieces(vec![half.clone(), half.clone(), b"!".to_vec(), half]);
        let err = futures_executor::block_on(endless.text()).unwrap_err();
        assert!(err.0.contains("larger than"), "{err}");
        assert_eq!(endless.0.len(), 1, "reading stops at the limit");
    }
}
