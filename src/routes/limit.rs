//! Abuse limits of the chat routes: how often one caller may make the
//! routes spend (a session, a model call, a token).
//!
//! - [`Gcra`] is the rule (the generic cell rate algorithm: a rate and a
//!   burst), pure, with time passed in;
//! - [`Buckets`] keeps its state per key in a bounded map, so a flood of
//!   distinct keys cannot grow memory;
//! - [`RateLimiter`] is what the routes call before they spend. A binding
//!   gives one through [`super::Runtime::limiter`]: [`MemoryLimiter`] (the
//!   buckets, per isolate or process), the Workers rate-limit binding, or a
//!   function of the package's user (e.g. over Redis).
//!
//! Two budgets ([`Budget`]): a turn (head start, detached head start,
//! start) and a token (the token route, cheap but still a session post on a
//! remote platform). Each has its own bucket per caller, at the same rate.
//!
//! ```
//! use headstart::routes::limit::{Buckets, Gcra, Verdict};
//! let mut buckets = Buckets::new(Gcra::new(60, 2), 1000); // 1 a second, 2 at once
//! assert_eq!(buckets.check("1.2.3.4", 0.0), Verdict::Allowed);
//! assert_eq!(buckets.check("1.2.3.4", 0.0), Verdict::Allowed);
//! assert_eq!(buckets.check("1.2.3.4", 0.0), Verdict::Limited { retry_after_secs: 1 });
//! assert_eq!(buckets.check("1.2.3.4", 1000.0), Verdict::Allowed);
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{ready, Future};
use std::pin::Pin;

/// A rate and a burst: `burst` calls at once, then one every
/// `60 / per_minute` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

/// The default limit of one caller: 20 turns a minute, 20 at once.
pub const DEFAULT_RATE: Rate = Rate { per_minute: 20, burst: 20 };

/// Keys kept by a [`MemoryLimiter`] (about 100 bytes each, so under 2 MB).
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// Keys longer than this are cut: a key is a caller's id or address, and a
/// header of any length must not take more memory than that.
pub const KEY_MAX_BYTES: usize = 128;

/// What a limiter answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    Allowed,
    /// Refused: try again in this many seconds (at least 1).
    Limited {
        retry_after_secs: u64,
    },
}

/// The generic cell rate algorithm: each call pushes the key's theoretical
/// arrival time (TAT) one emission interval later; a call is refused while
/// the TAT is more than the burst's worth of intervals ahead of now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gcra {
    /// Milliseconds between two calls at the steady rate.
    emission_ms: f64,
    /// How far ahead of now the TAT may be (the burst, less one call).
    tolerance_ms: f64,
}

impl Gcra {
    /// `per_minute` and `burst` are at least 1 (smaller counts as 1).
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let emission_ms = 60_000.0 / f64::from(per_minute.max(1));
        Self { emission_ms, tolerance_ms: emission_ms * f64::from(burst.max(1) - 1) }
    }

    /// The verdict for a key whose TAT is `tat` (None: a fresh key), and
    /// its new TAT when allowed.
    pub fn step(&self, tat: Option<f64>, now_ms: f64) -> (Verdict, Option<f64>) {
        let tat = tat.unwrap_or(now_ms).max(now_ms);
        let allowed_at = tat - self.tolerance_ms;
        if now_ms < allowed_at {
            return (Verdict::Limited { retry_after_secs: retry_after_secs(allowed_at - now_ms) }, None);
        }
        (Verdict::Allowed, Some(tat + self.emission_ms))
    }
}

/// Milliseconds as a `Retry-After` in whole seconds, rounded up, at least 1.
pub fn retry_after_secs(ms: f64) -> u64 {
    ((ms / 1000.0).ceil() as u64).max(1)
}

/// A [`Gcra`]'s state per key, at most `max_keys` of them. The map is two
/// generations: keys go into the young one, and when it holds half the
/// keys, the entries whose TAT has passed are dropped (they are the same as
/// a fresh key, so nothing is lost); if that frees too little, the old
/// generation is dropped and the young one takes its place. A flood of
/// keys thus forgets the least recently seen keys, never grows past
/// `max_keys`, and costs amortized O(1) a call.
#[derive(Debug)]
pub struct Buckets {
    rule: Gcra,
    young: HashMap<Box<str>, f64>,
    old: HashMap<Box<str>, f64>,
    max_keys: usize,
}

impl Buckets {
    pub fn new(rule: Gcra, max_keys: usize) -> Self {
        Self { rule, young: HashMap::new(), old: HashMap::new(), max_keys: max_keys.max(2) }
    }

    /// One call of `key` at `now_ms`.
    pub fn check(&mut self, key: &str, now_ms: f64) -> Verdict {
        let key = cut(key);
        let tat = self.young.get(key).copied().or_else(|| self.old.remove(key));
        let (verdict, next) = self.rule.step(tat, now_ms);
        // A refused key is kept too (and made young): forgetting it would
        // give it a fresh burst.
        if let Some(tat) = next.or(tat) {
            if !self.young.contains_key(key) {
                self.make_room(now_ms);
            }
            self.young.insert(key.into(), tat);
        }
        verdict
    }

    /// How many keys are kept.
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn make_room(&mut self, now_ms: f64) {
        let half = self.max_keys / 2;
        if self.young.len() < half {
            return;
        }
        self.young.retain(|_, tat| *tat > now_ms);
        self.old.retain(|_, tat| *tat > now_ms);
        // Freed at least a quarter: enough room for as many calls as the
        // retain cost. Else the old generation goes.
        if self.young.len() > half / 2 {
            self.old = std::mem::take(&mut self.young);
        }
    }
}

/// `key`, cut to [`KEY_MAX_BYTES`] at a character boundary.
fn cut(key: &str) -> &str {
    if key.len() <= KEY_MAX_BYTES {
        return key;
    }
    let mut end = KEY_MAX_BYTES;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

/// Which budget a route spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// A head start (attached or detached) or a start: a session and a run,
    /// and for a head start a model call.
    Turn,
    /// A fresh token.
    Token,
}

impl Budget {
    pub fn name(self) -> &'static str {
        match self {
            Self::Turn => "turn",
            Self::Token => "token",
        }
    }
}

/// The future of a [`RateLimiter::check`]. An `Err` is the limiter failing
/// (a store unreachable, a user's function throwing): the routes log it
/// and let the call through, as a limiter outage must not take the chat
/// down.
pub type Check<'a> = Pin<Box<dyn Future<Output = Result<Verdict, String>> + 'a>>;

/// What the routes ask before they spend: may `key` spend `budget` now?
/// `key` is the caller's identity (the client's address when anonymous).
pub trait RateLimiter {
    fn check<'a>(&'a self, budget: Budget, key: &'a str, now_ms: f64) -> Check<'a>;
}

/// The in-memory limiter: [`Buckets`] per budget, for one isolate or
/// process. On a platform that runs many (Workers), each counts on its own:
/// a caller spread over `n` of them gets up to `n` times the rate; the
/// Workers binding counts per location instead.
#[derive(Debug)]
pub struct MemoryLimiter {
    rate: Rate,
    turn: RefCell<Buckets>,
    token: RefCell<Buckets>,
}

impl MemoryLimiter {
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        let rule = Gcra::new(rate.per_minute, rate.burst);
        Self { rate, turn: RefCell::new(Buckets::new(rule, max_keys)), token: RefCell::new(Buckets::new(rule, max_keys)) }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// The verdict, at once.
    pub fn check_now(&self, budget: Budget, key: &str, now_ms: f64) -> Verdict {
        let buckets = match budget {
            Budget::Turn => &self.turn,
            Budget::Token => &self.token,
        };
        buckets.borrow_mut().check(key, now_ms)
    }
}

impl RateLimiter for MemoryLimiter {
    fn check<'a>(&'a self, budget: Budget, key: &'a str, now_ms: f64) -> Check<'a> {
        Box::pin(ready(Ok(self.check_now(budget, key, now_ms))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(secs: u64) -> Verdict {
        Verdict::Limited { retry_after_secs: secs }
    }

    #[test]
    fn the_burst_then_the_rate() {
        // 6 a minute (one every 10 s), 3 at once.
        let mut b = Buckets::new(Gcra::new(6, 3), 100);
        for _ in 0..3 {
            assert_eq!(b.check("a", 0.0), Verdict::Allowed);
        }
        assert_eq!(b.check("a", 0.0), limited(10));
        // Refusals cost nothing: the wait does not grow.
        assert_eq!(b.check("a", 0.0), limited(10));
        assert_eq!(b.check("a", 9_999.0), limited(1));
        assert_eq!(b.check("a", 10_000.0), Verdict::Allowed);
        assert_eq!(b.check("a", 10_000.0), limited(10));
        // Another key has its own burst.
        assert_eq!(b.check("b", 10_000.0), Verdict::Allowed);
    }

    #[test]
    fn a_quiet_key_refills_to_the_burst_and_no_further() {
        let mut b = Buckets::new(Gcra::new(60, 2), 100);
        assert_eq!(b.check("a", 0.0), Verdict::Allowed);
        assert_eq!(b.check("a", 0.0), Verdict::Allowed);
        assert_eq!(b.check("a", 0.0), limited(1));
        // An hour of silence refills the burst, not an hour of calls.
        let later = 3_600_000.0;
        assert_eq!(b.check("a", later), Verdict::Allowed);
        assert_eq!(b.check("a", later), Verdict::Allowed);
        assert_eq!(b.check("a", later), limited(1));
        // The steady rate: one a second.
        for i in 1..=30 {
            assert_eq!(b.check("a", later + 1000.0 * f64::from(i)), Verdict::Allowed, "{i}");
            assert_eq!(b.check("a", later + 1000.0 * f64::from(i)), limited(1), "{i}");
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(0.0), 1);
        assert_eq!(retry_after_secs(1.0), 1);
        assert_eq!(retry_after_secs(1000.0), 1);
        assert_eq!(retry_after_secs(1000.5), 2);
        assert_eq!(retry_after_secs(59_001.0), 60);
        // 7 a minute: 8571.4 ms apart.
        let mut b = Buckets::new(Gcra::new(7, 1), 100);
        assert_eq!(b.check("a", 0.0), Verdict::Allowed);
        assert_eq!(b.check("a", 0.0), limited(9));
        assert_eq!(b.check("a", 8_000.0), limited(1));
        assert_eq!(b.check("a", 8_572.0), Verdict::Allowed);
    }

    #[test]
    fn a_flood_of_keys_stays_bounded_and_keeps_recent_keys() {
        let mut b = Buckets::new(Gcra::new(1, 1), 1000);
        assert_eq!(b.check("me", 0.0), Verdict::Allowed);
        for i in 0..100_000u32 {
            // All at the same instant: nothing expires, so eviction must.
            assert_eq!(b.check(&format!("10.0.{}.{}", i / 256, i % 256), 1.0), Verdict::Allowed);
            assert!(b.len() <= 1000, "{} keys after {i}", b.len());
            if i % 100 == 0 {
                // A key in use is kept: it stays limited.
                assert_eq!(b.check("me", 1.0), limited(60), "{i}");
            }
        }
        let long = "k".repeat(10_000);
        assert_eq!(b.check(&long, 2.0), Verdict::Allowed);
        assert_eq!(b.check(&format!("{long}other"), 2.0), limited(60), "long keys are cut");
    }

    #[test]
    fn expired_keys_go_first() {
        let mut b = Buckets::new(Gcra::new(60, 1), 8);
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            assert_eq!(b.check(key, i as f64), Verdict::Allowed);
        }
        // One second later all three are as good as fresh; the fourth key
        // makes room by dropping them, not by moving them to the old side.
        assert_eq!(b.check("d", 5_000.0), Verdict::Allowed);
        assert_eq!(b.check("e", 5_000.0), Verdict::Allowed);
        assert!(b.len() <= 3, "{b:?}");
    }

    #[test]
    fn budgets_count_apart() {
        let l = MemoryLimiter::new(Rate { per_minute: 1, burst: 1 }, 100);
        assert_eq!(l.check_now(Budget::Turn, "a", 0.0), Verdict::Allowed);
        assert_eq!(l.check_now(Budget::Turn, "a", 0.0), limited(60));
        assert_eq!(l.check_now(Budget::Token, "a", 0.0), Verdict::Allowed);
    }
}
