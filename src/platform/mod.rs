//! The route handler's side of the session platform conversation, sans IO.
//!
//! The head-start route handler (shared/DESIGN.md, "One head-start turn")
//! talks to a Trigger.dev-compatible session platform — the hosted one or
//! this crate's own (`selfhost` + `cloudflare`). Everything it decides about
//! that conversation is here as plain functions and state machines, so it is
//! tested with `cargo test` and the async driver only moves bytes and sleeps:
//!
//! - [`client`]: request builders and response parsers for every call the
//!   handler makes (PROTOCOL.md §5.1-§5.7): create session, S2 credentials,
//!   S2 JSON appends, the `.in` handover append, the `.out` subscription.
//! - [`retry`]: when to retry a failed call and after how long (§5.1, §5.4,
//!   §5.7).
//! - [`tee`]: the step-1 `.out` writer: envelopes, batching, linger,
//!   single-flight, the last acked seq (§5.4).
//! - [`splice`]: reading the agent's `.out` in phase 2: record kinds,
//!   dedupe, turn-complete, cursors (§4.2, §5.7).
//!
//! Nothing here reads a clock or a random source: times, jitter and record
//! ids are parameters.

pub mod client;
pub mod retry;
pub mod splice;
pub mod tee;

#[cfg(test)]
mod tests;

pub use client::{encode_uri_component, PlatformClient, PlatformError, PlatformErrorKind, S2Credentials};
pub use retry::Outcome;
pub use splice::{Splice, SpliceEvent};
pub use tee::{Tee, TeeError};
