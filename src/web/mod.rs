//! The one layer that touches web-sys / js-sys (wasm32 only): timers and
//! Web streams, shaped to work on every JS runtime this crate targets
//! (workerd, Deno, Bun, edge-runtime, Node, browsers). Nothing here knows the
//! protocol beyond bytes and SSE events.

pub mod crypto;
pub mod fetch;
pub mod stream;
pub mod time;
