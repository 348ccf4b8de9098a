//! When the route handler retries a platform call, and after how long.
//!
//! Three policies, each as the SDK the hosted route handler runs applies it:
//!
//! - [`decide`]: the JSON calls of the core `ApiClient` (`zodfetch`,
//!   PROTOCOL.md §5.1, §9.2): create session, stream credentials, the `.in`
//!   append. At most [`MAX_ATTEMPTS`] attempts, backoff
//!   `round(min(1000·1.6^(n-1), 30000))` ms without jitter; network errors,
//!   408, 409, 429 and ≥500 are retried; a 429 with an `x-ratelimit-reset`
//!   (ms epoch) in the future waits until then plus up to 1 s of jitter;
//!   `x-should-retry: true|false` overrides the status; everything else
//!   fails at once.
//! - [`subscribe_decide`]: reconnecting the `.out` subscription (§5.7):
//!   400/404/409/410/422 and 401/403 are fatal (the SDK re-resolves headers
//!   once on 401/403, but a secret key does not change, so the handler gives
//!   up at once); anything else retries forever with
//!   `min(100·2^(n-1), 5000)` ms × a jitter factor in 0.5..=1.0.
//! - [`decide_s2`]: S2 appends of the `.out` tee (§5.4 "S2 client retry
//!   defaults"): 3 attempts, exponential 100..1000 ms. The S2 SDK's exact
//!   status list and jitter are not in the protocol notes; this retries what
//!   is transient everywhere (network, 408, 429, ≥500), without jitter.
//!
//! `attempt` is always the 1-based number of the attempt that just failed.
//! Left out: the per-attempt fetch timeouts (30 s subscribe, 5 s S2) — the
//! driver applies those with its clock.

/// How one attempt of a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// No response: the request could not be made or the connection failed
    /// (for the subscription also: an `event: error` mid-stream).
    Network,
    /// A response with this status and headers (names in any case).
    Status { status: u16, headers: &'a [(String, String)] },
}

/// Attempts of one JSON call, the first included.
pub const MAX_ATTEMPTS: u32 = 5;
/// Attempts of one S2 append, the first included.
pub const S2_MAX_ATTEMPTS: u32 = 3;

/// The `zodfetch` backoff after failed attempt `attempt`, or `None` when the
/// attempts are spent: 1000, 1600, 2560, 4096 ms.
pub fn backoff_ms(attempt: u32) -> Option<u64> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let n = attempt.max(1) as i32;
    Some((1000.0 * 1.6f64.powi(n - 1)).min(30_000.0).round() as u64)
}

/// Whether `zodfetch` would retry a non-2xx response at all (attempts and
/// rate-limit timing aside): `x-should-retry` first, then the status.
pub fn is_retryable_status(status: u16, headers: &[(String, String)]) -> bool {
    match header(headers, "x-should-retry") {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// The delay before the next attempt of a JSON call, or `None` to fail now.
/// `now_ms` is the wall clock (ms since the epoch, as `x-ratelimit-reset`);
/// `jitter_ms` is the caller's random 0..1000 (clamped to 999).
pub fn decide(attempt: u32, outcome: &Outcome, now_ms: u64, jitter_ms: u64) -> Option<u64> {
    let (status, headers) = match *outcome {
        Outcome::Network => return backoff_ms(attempt),
        Outcome::Status { status, headers } => (status, headers),
    };
    if (200..300).contains(&status) {
        return None;
    }
    match header(headers, "x-should-retry") {
        Some("true") => return backoff_ms(attempt),
        Some("false") => return None,
        _ => {}
    }
    match status {
        408 | 409 => backoff_ms(attempt),
        429 => {
            if attempt >= MAX_ATTEMPTS {
                return None;
            }
            if let Some(reset) = header(headers, "x-ratelimit-reset").and_then(js_parse_int) {
                let delay = reset as i128 - now_ms as i128 + jitter_ms.min(999) as i128;
                if delay > 0 {
                    return Some(delay.min(u64::MAX as i128) as u64);
                }
            }
            backoff_ms(attempt)
        }
        s if s >= 500 => backoff_ms(attempt),
        _ => None,
    }
}

/// Statuses that end the `.out` subscription for good.
pub fn subscribe_is_fatal(status: u16) -> bool {
    matches!(status, 400 | 401 | 403 | 404 | 409 | 410 | 422)
}

/// The delay before reconnecting the `.out` subscription after its
/// `attempt`-th consecutive failure, or `None` when the failure is fatal.
/// `jitter` is the caller's random factor, clamped into 0.5..=1.0; the
/// delay is floored to whole ms. A 2xx is not a failure (`None`).
pub fn subscribe_decide(attempt: u32, outcome: &Outcome, jitter: f64) -> Option<u64> {
    if let Outcome::Status { status, .. } = *outcome {
        if (200..300).contains(&status) || subscribe_is_fatal(status) {
            return None;
        }
    }
    let shift = attempt.max(1).saturating_sub(1).min(16);
    let base = (100u64 << shift).min(5000);
    let factor = if jitter.is_nan() { 1.0 } else { jitter.clamp(0.5, 1.0) };
    Some((base as f64 * factor).floor() as u64)
}

/// The delay before re-sending an S2 append batch, or `None` to give up
/// (then the tee's `on_error`): 100, 200 ms, then the attempts are spent.
pub fn decide_s2(attempt: u32, outcome: &Outcome) -> Option<u64> {
    if attempt >= S2_MAX_ATTEMPTS {
        return None;
    }
    let retry = match *outcome {
        Outcome::Network => true,
        Outcome::Status { status, .. } => s2_is_retryable_status(status),
    };
    retry.then(|| (100u64 << attempt.max(1).saturating_sub(1).min(16)).min(1000))
}

/// Whether an S2 error status is worth another attempt.
pub fn s2_is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || status >= 500
}

/// Case-insensitive response header lookup.
pub(crate) fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// JavaScript's `parseInt(s, 10)`: leading whitespace, an optional sign,
/// then as many digits as there are; `None` where JS gives `NaN`.
pub(crate) fn js_parse_int(s: &str) -> Option<i64> {
    let s = s.trim_start();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let value = digits[..end].bytes().fold(0i64, |acc, b| acc.saturating_mul(10).saturating_add(i64::from(b - b'0')));
    Some(if negative { -value } else { value })
}
