//! # headstart
//!
//! A fast first turn for AI chat apps on edge runtimes. The first message of
//! a new chat lands on a warm edge worker, which runs step 1 of the LLM call
//! itself and streams it to the browser at once while the durable chat agent
//! boots in parallel; on a tool-call finish it hands the turn to the agent
//! and splices the agent's stream into the same response.
//!
//! Layers (see `shared/DESIGN.md`):
//! - [`protocol`]: the wire types and pure functions (no IO, no wasm).
//! - [`platform`]: the sans-IO client of the session platform.
//! - [`turn`]: the head-start turn over the IO traits.
//! - [`routes`]: the chat routes, which both bindings below call.
//! - `web` (wasm32 only): fetch, streams and timers on any JS runtime.
//! - `cloudflare` (feature, wasm32 only): the Worker entry point.
//! - `js` (feature, wasm32 only): the wasm-bindgen API of `pkg/`.

pub mod agent;
pub mod identity;
pub mod io;
pub mod platform;
pub mod protocol;
pub mod provider;
pub mod routes;
pub mod selfhost;
pub mod turn;

#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(all(target_arch = "wasm32", feature = "cloudflare"))]
mod cloudflare;

#[cfg(all(target_arch = "wasm32", feature = "js"))]
pub mod js;

/// The crate version, as the status page and `/healthz` report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
