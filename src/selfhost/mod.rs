//! The sans-IO core of the self-hosted session platform.
//!
//! The self-hosted platform runs in a Cloudflare Durable Object, one per
//! chat session (shared/DESIGN.md, "Self-hosted platform"). Everything that
//! object decides is here as plain functions over plain data, so it is
//! tested with `cargo test` on the host and the Worker code only moves bytes:
//!
//! - [`auth`]: session public access tokens (HS256 JWTs), bearer
//!   authentication and per-route authorization (PROTOCOL.md §1, §5.2-§5.7).
//! - [`log`]: one S2-style stream (`in` or `out`) over a small storage trait:
//!   appends with limits and command records, reads, the settled peek
//!   (§5.4, §5.7, §7.5, §9.5); [`part_ids`]: `X-Part-Id` dedupe (§5.5, §9.3);
//!   [`command`]: S2 command record bodies and the `S2-Format: base64` input.
//! - [`sessions`]: the session row, create-or-reuse and run continuation
//!   (§5.2, §5.5, §8.2, §9.3); [`ids`] and [`time`] are its helpers.
//! - [`route`]: the HTTP surface as a parser; [`http`]: header parsing,
//!   CORS and error bodies (§5.5, §5.7, §6, §10).
//!
//! - [`store`]: the fallible storage of one session object;
//!   [`mem_store`]: it in memory, with injectable faults.
//! - [`server`]: the whole session object (routes, live reads, agent runs)
//!   over a [`store::SessionStore`] and a [`server::Host`]; the Durable
//!   Object is an adapter over it, the simulation runs it in memory.
//!
//! Nothing here reads a clock or a random source: `now_ms` / `now_secs`
//! and a `&mut impl FnMut() -> u64` are parameters, or the server's host.

use serde::{Deserialize, Serialize};

pub mod auth;
pub mod command;
pub mod http;
pub mod ids;
pub mod log;
pub mod mem_store;
pub mod part_ids;
pub mod route;
pub mod secrets;
pub mod server;
pub mod sessions;
pub mod store;
pub mod tail;
pub mod time;

#[cfg(test)]
mod tests;

/// One of a session's two channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Io {
    /// Client → agent.
    In,
    /// Agent (and route handler) → client.
    Out,
}

impl Io {
    pub fn as_str(self) -> &'static str {
        match self {
            Io::In => "in",
            Io::Out => "out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in" => Some(Io::In),
            "out" => Some(Io::Out),
            _ => None,
        }
    }
}

impl std::fmt::Display for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
