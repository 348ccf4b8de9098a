//! The reference chat agent: the durable side of the protocol
//! (PROTOCOL.md §7, §8), which executes the tools, runs step 2+ and keeps
//! each chat's transcript.
//!
//! This module holds its pure, host-tested pieces: the tool registry
//! ([`tools`]) and the assembly of UI messages from UI message chunks
//! ([`transcript`]). The state machine and the Durable Object wiring live
//! beside them.

pub mod handover;
pub mod run;
pub mod tools;
pub mod transcript;
