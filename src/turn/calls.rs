//! The platform calls of a head start, each with the SDK's retry policy,
//! over the IO seams: create the session, get the `.out` credentials, append
//! one S2 batch, write whole chunk lists to `.out`, append to `.in`, and
//! follow `.out` for the splice. The turn driver ([`super::drive`]) and the
//! JS package's `SessionClient` (for servers that run step 1 themselves)
//! are built from these.

use crate::io::{timeout, Clock, Fetch, HttpRequest, ResponseBody};
use crate::platform::client::{self, parse_append, parse_created, parse_credentials, PlatformClient, S2Credentials};
use crate::platform::retry::{self, Outcome};
use crate::platform::{PlatformError, Splice, SpliceEvent, Tee, TeeError};
use crate::protocol::chunk::{ErrorChunk, Marker, UiChunk};
use crate::protocol::input::ChatInput;
use crate::protocol::record::{AppendAck, AppendInput, AppendResponse};
use crate::protocol::session::{CreateSessionRequest, CreatedSession};
use crate::protocol::sse::SseDecoder;
use crate::selfhost::Io;

/// The headers wait of one `.out` subscription attempt (the SDK's 30 s).
const SUBSCRIBE_HEADERS_MS: u32 = 30_000;
/// One attempt of a platform JSON call, answer and body: a platform that
/// accepts the connection and then says nothing must not hold the turn.
/// Generous on purpose: under load a short one re-sends calls the platform
/// is still working on (the SDK's 5 s S2 timeout did that to the
/// TypeScript handler at 1000 turns, about 32 POSTs a turn), and the idle
/// limit bounds the session create anyway.
pub const ATTEMPT_MS: u32 = 30_000;
/// One S2 append attempt (the S2 SDK's request timeout).
pub const S2_ATTEMPT_MS: u32 = 5_000;
/// The longest wait between two attempts, whatever a `retry-after` or an
/// `x-ratelimit-reset` asks for.
pub const MAX_RETRY_DELAY_MS: u64 = 30_000;

/// `POST /api/v1/sessions` with the SDK's retry policy.
pub async fn create<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    platform: &PlatformClient,
    body: &CreateSessionRequest,
) -> Result<CreatedSession, PlatformError> {
    json_call(fetch, clock, &platform.create_session(body), parse_created).await
}

/// `GET /api/v1/sessions/{key}` with the SDK's retry policy: the session's
/// tags, `None` when it does not exist.
pub async fn session_tags<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    platform: &PlatformClient,
    chat_id: &str,
) -> Result<Option<Vec<String>>, PlatformError> {
    json_call(fetch, clock, &platform.retrieve_session(chat_id), client::parse_session_tags).await
}

type Parse<T> = fn(u16, &[(String, String)], &str) -> Result<T, PlatformError>;

/// A platform JSON call with the SDK's retry policy (§5.1): the same request
/// again after the backoff, while the error is retryable. Each attempt has
/// [`ATTEMPT_MS`]; a silent platform is a network error like any other.
async fn json_call<F: Fetch, C: Clock, T>(fetch: &F, clock: &C, req: &HttpRequest, parse: Parse<T>) -> Result<T, PlatformError> {
    let mut attempt = 1;
    loop {
        let answer = timeout(clock, ATTEMPT_MS, async {
            match fetch.fetch(req).await {
                Ok(mut r) => match r.body.text().await {
                    Ok(text) => (parse(r.status, &r.headers, &text), r.headers),
                    Err(e) => (Err(PlatformError::network(&e)), Vec::new()),
                },
                Err(e) => (Err(PlatformError::network(&e)), Vec::new()),
            }
        })
        .await;
        let (result, headers) = answer.unwrap_or_else(|| (Err(timed_out()), Vec::new()));
        let error = match result {
            Ok(value) => return Ok(value),
            Err(e) if e.retryable => e,
            Err(e) => return Err(e),
        };
        let outcome = match error.status {
            Some(status) => Outcome::Status { status, headers: &headers },
            None => Outcome::Network,
        };
        let Some(delay) = retry::decide(attempt, &outcome, clock.now_ms() as u64, 0) else { return Err(error) };
        clock.sleep(delay.min(MAX_RETRY_DELAY_MS) as u32).await;
        attempt += 1;
    }
}

fn timed_out() -> PlatformError {
    PlatformError::network(&crate::io::FetchError("the platform did not answer in time".into()))
}

/// `PUT /realtime/v1/sessions/{key}/out`: the S2 credentials of `.out`,
/// with the JSON calls' retry policy.
pub async fn init_out<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    platform: &PlatformClient,
    chat_id: &str,
) -> Result<S2Credentials, PlatformError> {
    json_call(fetch, clock, &platform.init_stream(chat_id, Io::Out), parse_credentials).await
}

/// One S2 append, retried under the S2 policy (the same batch again: readers
/// dedupe on the envelope ids). `Err` once the policy gives up.
pub async fn append_batch<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    credentials: &S2Credentials,
    batch: &AppendInput,
) -> Result<AppendAck, PlatformError> {
    let req = client::s2_append(credentials, batch);
    let mut attempt = 1;
    loop {
        let answer = timeout(clock, S2_ATTEMPT_MS, async {
            match fetch.fetch(&req).await {
                Ok(mut r) => match r.body.text().await {
                    Ok(text) => client::parse_ack(r.status, &r.headers, &text),
                    Err(e) => Err(PlatformError::network(&e)),
                },
                Err(e) => Err(PlatformError::network(&e)),
            }
        })
        .await;
        let error = match answer.unwrap_or_else(|| Err(timed_out())) {
            Ok(ack) => return Ok(ack),
            Err(e) => e,
        };
        let outcome = match error.status {
            Some(status) => Outcome::Status { status, headers: &[] },
            None => Outcome::Network,
        };
        match retry::decide_s2(attempt, &outcome) {
            Some(delay) => clock.sleep(delay as u32).await,
            None => return Err(error),
        }
        attempt += 1;
    }
}

/// Writes UI chunks (as JSON) to `.out` under the given record ids, in as
/// few S2 appends as the batch limits allow. Returns the seq of the last
/// record written (`None` for no chunks): the `Last-Event-ID` to splice
/// after.
pub async fn write_out<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    platform: &PlatformClient,
    chat_id: &str,
    chunks: &[(String, String)],
) -> Result<Option<u64>, WriteOutError> {
    if chunks.is_empty() {
        return Ok(None);
    }
    let mut tee = Tee::new(0);
    for (json, id) in chunks {
        tee.push_json(json, id.clone(), 0)?;
    }
    let credentials = init_out(fetch, clock, platform, chat_id).await?;
    tee.flush();
    while let Some(batch) = tee.poll_batch(clock.now_ms() as u64) {
        let ack = append_batch(fetch, clock, &credentials, &batch).await?;
        tee.on_ack(&ack);
    }
    Ok(tee.last_seq())
}

/// Why [`write_out`] wrote nothing (or not everything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteOutError {
    /// A chunk was refused before anything was sent.
    #[error(transparent)]
    Chunk(#[from] TeeError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

/// Appends to `.in`, retrying with the same part id.
pub async fn append_in<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    platform: &PlatformClient,
    chat_id: &str,
    input: &ChatInput,
    part_id: &str,
) -> Result<AppendResponse, PlatformError> {
    json_call(fetch, clock, &platform.append_input(chat_id, input, part_id), parse_append).await
}

/// Whether the browser asked `.in` to stop the chat's turn (a head start's
/// client gone: a reload, or a stop). Any failure to tell says no.
pub async fn stop_requested<F: Fetch, C: Clock>(fetch: &F, clock: &C, platform: &PlatformClient, chat_id: &str) -> bool {
    json_call(fetch, clock, &platform.read_records(chat_id, Io::In), client::parse_stop_requested).await.unwrap_or(false)
}

/// When the splice saw the agent's first chunk and its turn-complete, on
/// the clock's time line.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpliceMarks {
    pub first_agent_chunk: Option<f64>,
    pub turn_complete: Option<f64>,
}

/// The chunk a splice ends with when the agent's part did not come whole:
/// the browser shows an error instead of waiting on a message that stopped.
pub const AGENT_SILENT: &str = "the agent did not finish the turn in time";
/// The same, when the platform refused the subscription for good.
pub const AGENT_UNREACHABLE: &str = "the agent's stream could not be read";

/// Phase 2: forwards the agent's chunks (as JSON) until its turn-complete,
/// then the two Trigger pseudo-chunks. Reconnects from the splice's cursor
/// on transient failures and on an end of the read before the turn-complete
/// (the platform's idle `[DONE]`, or a connection closed under a restarting
/// session object), but only while the agent makes progress: after
/// `idle_ms` with no record of its own (pings are not progress) the splice
/// gives up and ends the stream with an `error` chunk, so a stuck platform
/// or a dead agent never holds the response open. (The TypeScript handler
/// ends the response at the first clean end of the read, turn-complete or
/// not, §5.7; a slow tool then cuts the answer short.)
pub async fn follow_out<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    platform: &PlatformClient,
    chat_id: &str,
    splice: &mut Splice,
    idle_ms: u32,
    emit: &mut dyn FnMut(String),
) -> SpliceMarks {
    let mut marks = SpliceMarks::default();
    let mut attempt = 1;
    let mut progress_at = clock.now_ms();
    let left = |progress_at: f64| (progress_at + f64::from(idle_ms) - clock.now_ms()).max(0.0) as u32;
    let ended: Result<(), &str> = 'connect: loop {
        let req = platform.subscribe(chat_id, Io::Out, splice.cursor());
        let wait = left(progress_at).min(SUBSCRIBE_HEADERS_MS);
        let failure = match timeout(clock, wait, fetch.fetch(&req)).await {
            Some(Ok(mut response)) => match client::check_subscription(response.status, &response.headers) {
                Err(e) if !e.retryable => {
                    log(&format!("headstart: cannot follow .out of {chat_id}: {e}"));
                    break 'connect Err(AGENT_UNREACHABLE);
                }
                Err(_) => Outcome::Status { status: response.status, headers: &[] },
                Ok(()) => {
                    let mut sse = SseDecoder::new();
                    loop {
                        let piece = match timeout(clock, left(progress_at), response.body.next_chunk()).await {
                            None => break 'connect Err(AGENT_SILENT),
                            Some(None) | Some(Some(Err(_))) => break,
                            Some(Some(Ok(bytes))) => bytes,
                        };
                        for event in sse.feed(&piece) {
                            for e in splice.feed(&event) {
                                match e {
                                    SpliceEvent::Forward(json) => {
                                        marks.first_agent_chunk.get_or_insert_with(|| clock.now_ms());
                                        progress_at = clock.now_ms();
                                        attempt = 1;
                                        emit(json);
                                    }
                                    SpliceEvent::TurnComplete { .. } => {
                                        marks.turn_complete = Some(clock.now_ms());
                                        emit(UiChunk::TriggerTurnComplete(Marker::new()).to_json());
                                        break 'connect Ok(());
                                    }
                                    SpliceEvent::Done | SpliceEvent::Error(_) => {}
                                }
                            }
                        }
                        // An event over the decoder's bounds: this read is
                        // spoilt; reconnect from the cursor.
                        if sse.error().is_some() {
                            break;
                        }
                    }
                    Outcome::Network
                }
            },
            _ => Outcome::Network,
        };
        let Some(delay) = retry::subscribe_decide(attempt, &failure, 1.0) else { break Err(AGENT_UNREACHABLE) };
        if u64::from(left(progress_at)) <= delay {
            break Err(AGENT_SILENT);
        }
        clock.sleep(delay as u32).await;
        attempt += 1;
    };
    if let Err(message) = ended {
        log(&format!("headstart: splice of {chat_id} ended early: {message}"));
        emit(UiChunk::Error(ErrorChunk { error_text: message.into(), extra: Default::default() }).to_json());
    }
    if let Some(state) = splice.session_state() {
        emit(state.to_json());
    }
    marks
}

pub(crate) fn log(message: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys_log(message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{message}");
}

#[cfg(target_arch = "wasm32")]
fn web_sys_log(message: &str) {
    js_sys::Reflect::get(&js_sys::global(), &"console".into())
        .ok()
        .and_then(|console| js_sys::Reflect::get(&console, &"warn".into()).ok().map(|f| (console, f)))
        .and_then(|(console, f)| js_sys::Function::from(f).call1(&console, &message.into()).ok());
}
