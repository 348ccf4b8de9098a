//! What only a binding has: a way to keep work going after the response
//! (`ctx.waitUntil`, `spawn_local`), randomness, wall-clock seconds and a
//! log. The routes ask for nothing else of the runtime.

use std::future::Future;
use std::pin::Pin;

use super::limit::RateLimiter;

/// The runtime under the routes.
pub trait Runtime {
    /// Runs `task` to its end, even after the response is sent (a detached
    /// drain, a `handover-skip` for a client gone).
    fn spawn_background(&self, task: Pin<Box<dyn Future<Output = ()>>>);

    /// A random number, for message, record and part ids (not for secrets).
    fn random_u64(&self) -> u64;

    /// Seconds since the Unix epoch (the `iat` of a minted token).
    fn now_secs(&self) -> u64;

    /// One line for operators. Never handed a secret.
    fn log(&self, line: &str);

    /// The rate limiter of the chat routes ([`super::limit`]): the
    /// platform's, a user's, or the binding's in-memory one, kept across
    /// requests. `None` (the default): no limit.
    fn limiter(&self) -> Option<&dyn RateLimiter> {
        None
    }

    /// Each head-start turn's timings (`{"event":"headstart.turn", ...}`),
    /// when it ends; by default one JSON log line.
    fn turn_done(&self, timing: &serde_json::Value) {
        self.log(&timing.to_string());
    }
}

/// The turn's message id: 16 alphanumerics, as the AI SDK's `generateId`.
pub fn message_id(runtime: &impl Runtime) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..16).map(|_| ALNUM[(runtime.random_u64() % 62) as usize] as char).collect()
}

/// Record and part ids of `n` characters (nanoid's alphabet).
pub fn nanoid(runtime: &impl Runtime, n: usize) -> String {
    const ALPHABET: &[u8] = b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
    (0..n).map(|_| ALPHABET[(runtime.random_u64() % 64) as usize] as char).collect()
}
