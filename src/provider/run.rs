//! Running one step over the IO seams: send the request, feed the body to
//! the provider's decoder and the [`Step`], and deal with what goes wrong —
//! retries before any byte was streamed, stalls, cut connections — so that
//! every call ends with a well-formed stream and an outcome, never a hang.
//!
//! Fallback: the step tries [`ModelSettings::models`] in order. A model
//! that fails before any of its output reached the step (an error status
//! that may pass — 408, 409, 429, 5xx including 529 —, a network error, a
//! stall before the first part, a cut before the first part, a retryable
//! error event as the stream's first part) is retried per its own attempts
//! and backoff, then hands the step to the next model. Once a part reached
//! the step (and so the client), a failure ends the step as it does with one
//! model. Errors that would fail the same way elsewhere or that signal a
//! misconfiguration (400, 401, 403, 404, 422, a malformed first event, a
//! request that cannot be built) end the step at once: falling through
//! would hide them.
//!
//! Waits between attempts (backoff, or the API's `retry-after`) come out of
//! one budget per step, [`ModelSettings::retry_budget_ms`]: a wait that does
//! not fit what is left is not made — the step moves on to the next model,
//! or after the last fails with the last error. Before its first byte a
//! step so ends within about `models × attempts × 2 × stall timeout +
//! budget` (a Vertex token fetch adds up to one stall timeout an attempt);
//! a stream that keeps sending within each stall timeout is ended by the
//! caller's own limit (the head start's idle timeout, the agent's turn).
//!
//! Abort is by drop: a caller that must stop (client gone, idle timeout)
//! drops the `run_step` future, which drops the response body and so aborts
//! the request, then calls [`Step::abort`] for the closing chunk.

use crate::io::{timeout, Clock, Fetch, FetchError, ResponseBody};
use crate::protocol::UiChunk;

use super::config::{Model, ModelSettings};
use super::error::ProviderError;
use super::models::RequestHeaders;
use super::scripted::{self, Plan};
use super::step::Step;
use super::{anthropic, google, openai, CallOptions, StreamDecoder, StreamPart};

/// Runs the call of `step` and hands every UI chunk to `emit` as it is made.
/// When this returns, `step.is_done()` and its outcome is set.
pub async fn run_step<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    settings: &ModelSettings,
    options: &CallOptions,
    step: &mut Step,
    emit: &mut dyn FnMut(UiChunk),
) {
    emit_all(emit, step.start());
    match &settings.model {
        Model::Scripted(config) => play(clock, settings, scripted::plan(config, options), step, emit).await,
        _ => call_models(fetch, clock, settings, options, step, emit).await,
    }
    debug_assert!(step.is_done());
}

/// Tries each model in turn until one streams (see the module docs).
async fn call_models<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    settings: &ModelSettings,
    options: &CallOptions,
    step: &mut Step,
    emit: &mut dyn FnMut(UiChunk),
) {
    let mut budget = u64::from(settings.retry_budget_ms);
    let mut models = settings.models().peekable();
    while let Some((model, headers)) = models.next() {
        let Some(failure) = call_http(fetch, clock, settings, model, headers, options, step, emit, &mut budget).await else {
            return;
        };
        // The last model's failure, or one the next model would not mend.
        if !failure.falls_through() || models.peek().is_none() {
            return emit_all(emit, step.fail(failure));
        }
    }
}

fn emit_all(emit: &mut dyn FnMut(UiChunk), chunks: Vec<UiChunk>) {
    for chunk in chunks {
        emit(chunk);
    }
}

/// Plays a scripted plan at its own pace.
async fn play<C: Clock>(clock: &C, settings: &ModelSettings, plan: Plan, step: &mut Step, emit: &mut dyn FnMut(UiChunk)) {
    let start = clock.now_ms();
    let stall = settings.stall_timeout_ms;
    let wait_until = |at_ms: u32| {
        let due = start + f64::from(at_ms) - clock.now_ms();
        due.max(0.0) as u32
    };
    match plan {
        Plan::Fail { at_ms, error } => {
            let mut attempt = 1;
            clock.sleep(wait_until(at_ms)).await;
            // The scripted failure is deterministic, so retries fail too:
            // they exercise the retry path with real delays.
            while let Some(delay) = error.retry_delay_ms(attempt).filter(|_| attempt < settings.max_attempts) {
                clock.sleep(delay.min(u64::from(u32::MAX)) as u32).await;
                attempt += 1;
            }
            emit_all(emit, step.fail(error));
        }
        Plan::Stream { parts, stalls } => {
            for timed in parts {
                let wait = wait_until(timed.at_ms);
                if wait > stall {
                    clock.sleep(stall).await;
                    return emit_all(emit, step.fail(ProviderError::Stalled { provider: "scripted", after_ms: stall.into() }));
                }
                clock.sleep(wait).await;
                emit_all(emit, step.push(timed.part));
            }
            if stalls {
                clock.sleep(stall).await;
                emit_all(emit, step.fail(ProviderError::Stalled { provider: "scripted", after_ms: stall.into() }));
            } else {
                emit_all(emit, step.end());
            }
        }
    }
}

/// What differs between the providers reached over HTTP: the request, how a
/// non-2xx answer reads, and the decoder of a 2xx body.
struct HttpProvider {
    name: &'static str,
    built: Result<crate::io::HttpRequest, ProviderError>,
    http_error: fn(u16, &[(String, String)], &str) -> ProviderError,
    decoder: Box<dyn Fn() -> Box<dyn StreamDecoder>>,
}

fn http_provider(model: &Model, options: &CallOptions) -> HttpProvider {
    match model {
        Model::Anthropic(c) => HttpProvider {
            name: "anthropic",
            built: anthropic::build_request(c, options),
            http_error: anthropic::http_error,
            decoder: Box::new(|| Box::new(anthropic::AnthropicDecoder::new())),
        },
        Model::OpenAi(c) => HttpProvider {
            name: "openai",
            built: openai::build_request(c, options),
            http_error: openai::http_error,
            decoder: Box::new(|| Box::new(openai::OpenAiDecoder::new())),
        },
        Model::OpenAiResponses(c) => {
            let decoder = openai::responses::decoder(options);
            HttpProvider {
                name: "openai",
                built: openai::responses::build_request(c, options),
                http_error: openai::responses::http_error,
                decoder: Box::new(move || Box::new(decoder())),
            }
        }
        Model::Google(c) => HttpProvider {
            name: c.provider(),
            built: google::build_request(c, options),
            http_error: if c.vertex { google::vertex_http_error } else { google::http_error },
            decoder: {
                let vertex = c.vertex;
                Box::new(move || Box::new(google::GoogleDecoder::new(vertex)))
            },
        },
        Model::Scripted(_) => unreachable!("scripted models are played, not fetched"),
    }
}

/// Calls one model with its attempts. `None` once the step is done (it
/// streamed, or failed after its first part); otherwise the failure before
/// any output, the step untouched, for the caller to fall through or fail.
#[allow(clippy::too_many_arguments)]
async fn call_http<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    settings: &ModelSettings,
    model: &Model,
    headers: &RequestHeaders,
    options: &CallOptions,
    step: &mut Step,
    emit: &mut dyn FnMut(UiChunk),
    budget: &mut u64,
) -> Option<ProviderError> {
    if let Model::Scripted(_) = model {
        return Some(ProviderError::Config("the scripted model cannot be in a list".into()));
    }
    let HttpProvider { name: provider, built, http_error, decoder } = http_provider(model, options);
    let bearer = match model {
        Model::Google(google::GoogleConfig { auth: google::GoogleAuth::ServiceAccount(account), .. }) => Some(account),
        _ => None,
    };
    let mut request = match built {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    headers.apply(&mut request.headers);
    let stall = settings.stall_timeout_ms;
    let mut attempt = 1;
    loop {
        // A service account's token first; its failures retry (and fall
        // through) as the call's own.
        let authorized = authorize(fetch, clock, stall, bearer, &mut request).await;
        let failure = match authorized {
            Err(e) => e,
            Ok(()) => match timeout(clock, stall, fetch.fetch(&request)).await {
                None => ProviderError::Stalled { provider, after_ms: stall.into() },
                Some(Err(FetchError(message))) => ProviderError::Network { provider, message },
                Some(Ok(mut response)) if response.status >= 300 => {
                    let body = timeout(clock, stall, response.body.text()).await.and_then(Result::ok).unwrap_or_default();
                    http_error(response.status, &response.headers, &body)
                }
                Some(Ok(response)) => {
                    let mut decoder = decoder();
                    match stream_body(clock, stall, provider, response.body, decoder.as_mut(), step, emit).await {
                        // Nothing was streamed yet: as retryable as an error
                        // status.
                        Some(before_output) => before_output,
                        None => return None,
                    }
                }
            },
        };
        match failure.retry_delay_ms(attempt).filter(|_| attempt < settings.max_attempts) {
            Some(delay) if delay <= *budget => {
                *budget -= delay;
                clock.sleep(delay.min(u64::from(u32::MAX)) as u32).await;
                attempt += 1;
            }
            _ => return Some(failure),
        }
    }
}

/// Sets the bearer token of a service account on the request (cached, or
/// fetched within `stall`); a failure is retried like the call's own.
async fn authorize<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    stall: u32,
    bearer: Option<&google::ServiceAccount>,
    request: &mut crate::io::HttpRequest,
) -> Result<(), ProviderError> {
    let Some(account) = bearer else { return Ok(()) };
    let token = google::auth::access_token(fetch, clock, account, stall).await?;
    request.headers.retain(|(n, _)| n != "authorization");
    request.headers.push(("authorization".into(), format!("Bearer {token}")));
    Ok(())
}

/// Streams a 2xx body into the step. Returns the error when the body failed
/// before its first part (it stalled or broke, or its first part is a
/// retryable error): nothing was shown, so the call may be retried or fall
/// through to the next model.
async fn stream_body<C: Clock, B: ResponseBody>(
    clock: &C,
    stall: u32,
    provider: &'static str,
    mut body: B,
    decoder: &mut dyn StreamDecoder,
    step: &mut Step,
    emit: &mut dyn FnMut(UiChunk),
) -> Option<ProviderError> {
    let mut first = true;
    loop {
        let parts = match timeout(clock, stall, body.next_chunk()).await {
            None if first => return Some(ProviderError::Stalled { provider, after_ms: stall.into() }),
            None => {
                emit_all(emit, step.fail(ProviderError::Stalled { provider, after_ms: stall.into() }));
                return None;
            }
            Some(Some(Err(_))) if first => return Some(ProviderError::Disconnected { provider }),
            Some(Some(Err(_))) => {
                emit_all(emit, step.fail(ProviderError::Disconnected { provider }));
                return None;
            }
            Some(Some(Ok(bytes))) => decoder.feed(&bytes),
            Some(None) => {
                for part in decoder.end() {
                    emit_all(emit, step.push(part));
                }
                emit_all(emit, step.end());
                return None;
            }
        };
        for part in parts {
            if first {
                first = false;
                if let StreamPart::Error(e) = part {
                    if e.is_retryable() {
                        return Some(e);
                    }
                    emit_all(emit, step.push(StreamPart::Error(e)));
                    continue;
                }
            }
            emit_all(emit, step.push(part));
        }
        if let Some(e) = decoder.failure() {
            emit_all(emit, step.fail(e));
            return None;
        }
        if step.is_done() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests;
