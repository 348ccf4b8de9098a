//! The in-memory network: hosts by origin, every exchange logged, and
//! faults injected per request by the seed: error statuses, 429s with
//! `retry-after`, hangs, resets before or after the host acted, slowness,
//! bodies cut or stalled mid-stream, and outages over a window of time.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use futures_util::{Stream, StreamExt};
use headstart::io::{Clock, Fetch, FetchError, HttpRequest, HttpResponse, ResponseBody};

use crate::exec::{Rng, SimClock};

/// What a host answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Payload,
}

pub enum Payload {
    Bytes(Vec<u8>),
    Stream(Pin<Box<dyn Stream<Item = Vec<u8>>>>),
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Payload::Bytes(body.as_bytes().to_vec()),
        }
    }
}

pub type Handler = Rc<dyn Fn(HttpRequest) -> Pin<Box<dyn Future<Output = Reply>>>>;

/// Fault odds on the link to one host (each per request).
#[derive(Debug, Clone, Default)]
pub struct LinkFaults {
    /// 500/502/503/529 (overloaded) before the host sees the request.
    pub error_status: f64,
    /// 429 with `retry-after` (and `x-ratelimit-reset`).
    pub rate_limited: f64,
    /// No answer, ever.
    pub hang: f64,
    /// The connection fails before the host sees the request.
    pub reset_before: f64,
    /// The host acts, then the answer is lost.
    pub reset_after: f64,
    /// Up to `slow_ms` more latency.
    pub slow: f64,
    pub slow_ms: u64,
    /// A streamed body breaks, or goes silent, after a few pieces.
    pub cut_body: f64,
    pub stall_body: f64,
    /// Every request in `[start, end)` ms hangs (`true`) or gets a 503.
    pub outage: Option<(u64, u64, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ErrorStatus(u16),
    RateLimited,
    Hang,
    ResetBefore,
    ResetAfter,
    CutBody(usize),
    StallBody(usize),
    Outage,
}

/// One request as the network saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub from: &'static str,
    pub at_ms: u64,
    pub method: &'static str,
    pub url: String,
    pub request_body: String,
    /// `X-Part-Id`, which ties the attempts of one append together.
    pub part_id: Option<String>,
    pub fault: Option<Fault>,
    /// The status the caller got, if any.
    pub status: Option<u16>,
    /// A buffered answer's body, when the caller got it.
    pub response_body: Option<String>,
}

struct Host {
    origin: String,
    handler: Handler,
    faults: LinkFaults,
}

pub struct Net {
    clock: SimClock,
    rng: RefCell<Rng>,
    hosts: RefCell<Vec<Host>>,
    pub log: RefCell<Vec<Exchange>>,
    /// Base latency each way, ms.
    pub latency_ms: u64,
}

impl Net {
    pub fn new(clock: SimClock, rng: Rng, latency_ms: u64) -> Rc<Self> {
        Rc::new(Self { clock, rng: RefCell::new(rng), hosts: RefCell::default(), log: RefCell::default(), latency_ms })
    }

    pub fn add_host(&self, origin: &str, faults: LinkFaults, handler: Handler) {
        self.hosts.borrow_mut().push(Host { origin: origin.into(), handler, faults });
    }

    /// No more faults from now on (the storm is over).
    pub fn calm(&self) {
        for host in self.hosts.borrow_mut().iter_mut() {
            host.faults = LinkFaults::default();
        }
    }

    /// A caller's view of the network.
    pub fn client(self: &Rc<Self>, from: &'static str) -> SimFetch {
        SimFetch { net: self.clone(), from }
    }

    fn route(&self, url: &str) -> Option<(Handler, LinkFaults)> {
        self.hosts
            .borrow()
            .iter()
            .find(|h| url.starts_with(&h.origin) && url[h.origin.len()..].starts_with(['/', '?']))
            .map(|h| (h.handler.clone(), h.faults.clone()))
    }

    fn draw(&self, faults: &LinkFaults) -> (Option<Fault>, u64) {
        let now = self.clock.now();
        let mut rng = self.rng.borrow_mut();
        let mut latency = self.latency_ms;
        if faults.slow > 0.0 && rng.chance(faults.slow) {
            latency += rng.below(faults.slow_ms.max(1));
        }
        if let Some((start, end, _)) = faults.outage {
            if (start..end).contains(&now) {
                return (Some(Fault::Outage), latency);
            }
        }
        let fault = if rng.chance(faults.error_status) {
            Some(Fault::ErrorStatus(*rng.pick(&[500, 502, 503, 529])))
        } else if rng.chance(faults.rate_limited) {
            Some(Fault::RateLimited)
        } else if rng.chance(faults.hang) {
            Some(Fault::Hang)
        } else if rng.chance(faults.reset_before) {
            Some(Fault::ResetBefore)
        } else if rng.chance(faults.reset_after) {
            Some(Fault::ResetAfter)
        } else if rng.chance(faults.cut_body) {
            Some(Fault::CutBody(rng.below(6) as usize))
        } else if rng.chance(faults.stall_body) {
            Some(Fault::StallBody(rng.below(6) as usize))
        } else {
            None
        };
        (fault, latency)
    }

    fn record(&self, exchange: Exchange) -> usize {
        let mut log = self.log.borrow_mut();
        log.push(exchange);
        log.len() - 1
    }
}

/// [`Fetch`] over the simulated network, for one caller.
#[derive(Clone)]
pub struct SimFetch {
    net: Rc<Net>,
    from: &'static str,
}

impl Fetch for SimFetch {
    type Body = SimBody;

    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<SimBody>, FetchError> {
        let net = &self.net;
        let entry = Exchange {
            from: self.from,
            at_ms: net.clock.now(),
            method: request.method,
            url: request.url.clone(),
            request_body: request.body.clone(),
            part_id: request.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("x-part-id")).map(|(_, v)| v.clone()),
            fault: None,
            status: None,
            response_body: None,
        };
        let index = net.record(entry);
        let Some((handler, faults)) = net.route(&request.url) else {
            return Err(FetchError(format!("no host for {}", request.url)));
        };
        let (fault, latency) = net.draw(&faults);
        net.log.borrow_mut()[index].fault = fault;
        net.clock.sleep(latency as u32).await;
        let outage_hangs = faults.outage.is_some_and(|o| o.2);
        match fault {
            Some(Fault::Hang) => std::future::pending::<()>().await,
            Some(Fault::Outage) if outage_hangs => std::future::pending::<()>().await,
            Some(Fault::ResetBefore) => return Err(FetchError("connection reset (simulated)".into())),
            Some(Fault::ErrorStatus(status)) => return Ok(buffered(net, index, Reply::json(status, r#"{"error":"simulated"}"#))),
            Some(Fault::Outage) => return Ok(buffered(net, index, Reply::json(503, r#"{"error":"simulated outage"}"#))),
            Some(Fault::RateLimited) => {
                let mut reply = Reply::json(429, r#"{"error":"rate limited (simulated)"}"#);
                let wait = 1 + net.rng.borrow_mut().below(3);
                reply.headers.push(("retry-after".into(), wait.to_string()));
                reply.headers.push(("x-ratelimit-reset".into(), (net.clock.now() + wait * 1000).to_string()));
                return Ok(buffered(net, index, reply));
            }
            _ => {}
        }
        let reply = handler(request.clone()).await;
        net.clock.sleep(latency as u32).await;
        if fault == Some(Fault::ResetAfter) {
            return Err(FetchError("connection reset after the request was handled (simulated)".into()));
        }
        let split = net.rng.borrow_mut().fork();
        Ok(match reply.body {
            Payload::Bytes(_) if !matches!(fault, Some(Fault::CutBody(_) | Fault::StallBody(_))) => buffered(net, index, reply),
            body => {
                net.log.borrow_mut()[index].status = Some(reply.status);
                let source = match body {
                    Payload::Bytes(bytes) => Source::Pieces(VecDeque::from([bytes])),
                    Payload::Stream(s) => Source::Stream(s),
                };
                HttpResponse {
                    status: reply.status,
                    headers: reply.headers,
                    body: SimBody { source, pieces: 0, fault, split, pending_split: VecDeque::new() },
                }
            }
        })
    }
}

fn buffered(net: &Net, index: usize, reply: Reply) -> HttpResponse<SimBody> {
    let Payload::Bytes(bytes) = reply.body else { unreachable!("only byte bodies are buffered") };
    {
        let mut log = net.log.borrow_mut();
        log[index].status = Some(reply.status);
        log[index].response_body = Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    let split = net.rng.borrow_mut().fork();
    HttpResponse {
        status: reply.status,
        headers: reply.headers,
        body: SimBody {
            source: Source::Pieces(VecDeque::from([bytes])),
            pieces: 0,
            fault: None,
            split,
            pending_split: VecDeque::new(),
        },
    }
}

enum Source {
    Pieces(VecDeque<Vec<u8>>),
    Stream(Pin<Box<dyn Stream<Item = Vec<u8>>>>),
}

/// A response body; pieces are re-split at random points, so every reader
/// sees its bytes cut anywhere.
pub struct SimBody {
    source: Source,
    pieces: usize,
    fault: Option<Fault>,
    split: Rng,
    pending_split: VecDeque<Vec<u8>>,
}

impl SimBody {
    fn resplit(&mut self, bytes: Vec<u8>) {
        let mode = self.split.below(4);
        if bytes.len() < 2 || mode == 0 {
            self.pending_split.push_back(bytes);
            return;
        }
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let take = match mode {
                1 if bytes.len() <= 4096 => 1,
                _ => 1 + self.split.below(rest.len() as u64) as usize,
            };
            let take = take.min(rest.len());
            self.pending_split.push_back(rest[..take].to_vec());
            rest = &rest[take..];
        }
    }
}

impl ResponseBody for SimBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        loop {
            if let Some(piece) = self.pending_split.pop_front() {
                match self.fault {
                    Some(Fault::CutBody(n)) if self.pieces >= n => {
                        return Some(Err(FetchError("connection cut mid-body (simulated)".into())))
                    }
                    Some(Fault::StallBody(n)) if self.pieces >= n => std::future::pending::<()>().await,
                    _ => {}
                }
                self.pieces += 1;
                return Some(Ok(piece));
            }
            let next = match &mut self.source {
                Source::Pieces(pieces) => pieces.pop_front(),
                Source::Stream(stream) => stream.next().await,
            };
            match next {
                Some(bytes) => self.resplit(bytes),
                None => {
                    return match self.fault {
                        // A body that ended before the fault point still
                        // breaks at its end: the connection never closed
                        // cleanly.
                        Some(Fault::CutBody(_)) => Some(Err(FetchError("connection cut at the end (simulated)".into()))),
                        Some(Fault::StallBody(_)) => std::future::pending().await,
                        _ => None,
                    };
                }
            }
        }
    }
}
