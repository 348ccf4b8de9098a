use super::headers;
use crate::platform::retry::*;

fn status<'a>(status: u16, headers: &'a [(String, String)]) -> Outcome<'a> {
    Outcome::Status { status, headers }
}

#[test]
fn backoff_is_the_zodfetch_schedule() {
    let delays: Vec<_> = (1..=6).map(backoff_ms).collect();
    assert_eq!(delays, [Some(1000), Some(1600), Some(2560), Some(4096), None, None]);
    // Attempt 0 is read as the first attempt.
    assert_eq!(backoff_ms(0), Some(1000));
}

#[test]
fn network_errors_retry_until_five_attempts() {
    let delays: Vec<_> = (1..=5).map(|n| decide(n, &Outcome::Network, 0, 0)).collect();
    assert_eq!(delays, [Some(1000), Some(1600), Some(2560), Some(4096), None]);
}

#[test]
fn transient_statuses_retry_and_others_fail_at_once() {
    let none = headers(&[]);
    for s in [408, 409, 500, 502, 503, 504, 599] {
        assert_eq!(decide(1, &status(s, &none), 0, 0), Some(1000), "{s}");
        assert_eq!(decide(3, &status(s, &none), 0, 0), Some(2560), "{s}");
        assert_eq!(decide(5, &status(s, &none), 0, 0), None, "{s}");
        assert!(is_retryable_status(s, &none), "{s}");
    }
    for s in [400, 401, 403, 404, 410, 413, 422, 499] {
        assert_eq!(decide(1, &status(s, &none), 0, 0), None, "{s}");
        assert!(!is_retryable_status(s, &none), "{s}");
    }
    for s in [200, 201, 204] {
        assert_eq!(decide(1, &status(s, &none), 0, 0), None, "a success is not retried");
    }
}

#[test]
fn x_should_retry_overrides_the_status() {
    let yes = headers(&[("X-Should-Retry", "true")]);
    let no = headers(&[("x-should-retry", "false")]);
    let other = headers(&[("x-should-retry", "TRUE")]);
    assert_eq!(decide(1, &status(400, &yes), 0, 0), Some(1000));
    assert_eq!(decide(2, &status(422, &yes), 0, 0), Some(1600));
    assert_eq!(decide(5, &status(400, &yes), 0, 0), None, "the attempt cap still holds");
    assert_eq!(decide(1, &status(500, &no), 0, 0), None);
    assert_eq!(decide(1, &status(409, &no), 0, 0), None, "a terminal 409 (closed session)");
    assert_eq!(decide(1, &status(429, &no), 0, 0), None);
    // Only the exact values count, as in the SDK.
    assert_eq!(decide(1, &status(400, &other), 0, 0), None);
    assert!(is_retryable_status(404, &yes));
    assert!(!is_retryable_status(503, &no));
}

#[test]
fn rate_limits_wait_for_the_reset() {
    let now = 1_755_856_800_000u64;
    let reset = |ms: u64| headers(&[("x-ratelimit-reset", &ms.to_string())]);
    assert_eq!(decide(1, &status(429, &reset(now + 2500)), now, 300), Some(2800));
    assert_eq!(decide(4, &status(429, &reset(now + 2500)), now, 0), Some(2500));
    // Jitter is below a second.
    assert_eq!(decide(1, &status(429, &reset(now + 2500)), now, 5000), Some(3499));
    // A reset in the past (even with jitter on top) falls back to backoff.
    assert_eq!(decide(2, &status(429, &reset(now - 5000)), now, 999), Some(1600));
    // A reset just past that jitter carries into the future still waits.
    assert_eq!(decide(1, &status(429, &reset(now - 100)), now, 101), Some(1));
    assert_eq!(decide(1, &status(429, &reset(now - 100)), now, 100), Some(1000));
    // No header, or one that is not a number: backoff.
    assert_eq!(decide(1, &status(429, &headers(&[])), now, 0), Some(1000));
    let junk = headers(&[("x-ratelimit-reset", "soon")]);
    assert_eq!(decide(1, &status(429, &junk), now, 0), Some(1000));
    // parseInt reads the leading digits.
    let trailing = headers(&[("X-RateLimit-Reset", &format!("{}ms", now + 10))]);
    assert_eq!(decide(1, &status(429, &trailing), now, 0), Some(10));
    // The fifth attempt is the last, rate limit or not.
    assert_eq!(decide(5, &status(429, &reset(now + 2500)), now, 0), None);
}

#[test]
fn js_parse_int_matches_javascript() {
    let cases = [
        ("42", Some(42)),
        ("  42", Some(42)),
        ("+7", Some(7)),
        ("-7", Some(-7)),
        ("12abc", Some(12)),
        ("1.9", Some(1)),
        ("", None),
        ("abc", None),
        ("-", None),
        (" - 1", None),
        ("99999999999999999999999", Some(i64::MAX)),
    ];
    for (input, want) in cases {
        assert_eq!(js_parse_int(input), want, "{input:?}");
    }
}

#[test]
fn subscription_fatal_statuses() {
    let none = headers(&[]);
    for s in [400, 401, 403, 404, 409, 410, 422] {
        assert!(subscribe_is_fatal(s));
        assert_eq!(subscribe_decide(1, &status(s, &none), 1.0), None, "{s}");
    }
    for s in [408, 429, 500, 502, 503, 413, 418] {
        assert!(!subscribe_is_fatal(s));
        assert_eq!(subscribe_decide(1, &status(s, &none), 1.0), Some(100), "{s}");
    }
    assert_eq!(subscribe_decide(1, &status(200, &none), 1.0), None);
}

#[test]
fn subscription_backoff_doubles_to_five_seconds_forever() {
    let full: Vec<_> = (1..=8).map(|n| subscribe_decide(n, &Outcome::Network, 1.0)).collect();
    let want = [100, 200, 400, 800, 1600, 3200, 5000, 5000].map(Some);
    assert_eq!(full, want);
    assert_eq!(subscribe_decide(1000, &Outcome::Network, 1.0), Some(5000), "no attempt cap");
    assert_eq!(subscribe_decide(u32::MAX, &Outcome::Network, 1.0), Some(5000));
    assert_eq!(subscribe_decide(0, &Outcome::Network, 1.0), Some(100));
    assert_eq!(subscribe_decide(1, &Outcome::Network, 0.5), Some(50));
    assert_eq!(subscribe_decide(3, &Outcome::Network, 0.75), Some(300));
    assert_eq!(subscribe_decide(2, &Outcome::Network, 0.6667), Some(133), "floored");
    assert_eq!(subscribe_decide(7, &Outcome::Network, 0.5), Some(2500));
    // Out-of-range jitter is clamped.
    assert_eq!(subscribe_decide(1, &Outcome::Network, 0.1), Some(50));
    assert_eq!(subscribe_decide(1, &Outcome::Network, 3.0), Some(100));
    assert_eq!(subscribe_decide(1, &Outcome::Network, f64::NAN), Some(100));
}

#[test]
fn s2_appends_retry_three_times() {
    let none = headers(&[]);
    assert_eq!(decide_s2(1, &Outcome::Network), Some(100));
    assert_eq!(decide_s2(2, &Outcome::Network), Some(200));
    assert_eq!(decide_s2(3, &Outcome::Network), None);
    for s in [408, 429, 500, 503] {
        assert_eq!(decide_s2(1, &status(s, &none)), Some(100), "{s}");
    }
    for s in [400, 401, 403, 404, 409, 412, 413, 422] {
        assert_eq!(decide_s2(1, &status(s, &none)), None, "{s}");
    }
}
