//! The wire protocol, as data and pure functions.
//!
//! Everything the browser, the route handler, the session platform and the
//! agent say to each other (shared/PROTOCOL.md §3-§9) is typed here, with no IO
//! and no wasm: the same code runs in `cargo test` on the host and inside the
//! worker. Types are lossless: fields this crate does not know survive a
//! parse/serialize round trip, so a newer AI SDK or platform can add fields
//! without this crate dropping them on the way through.

pub mod chunk;
pub mod convert;
pub mod handover;
pub mod input;
pub mod json;
pub mod message;
pub mod model;
pub mod record;
pub mod session;
pub mod sse;
pub mod timeline;
pub mod url;

pub use chunk::UiChunk;
pub use input::{ChatInput, HeadStartRequest};
pub use message::{UiMessage, UiPart};
pub use model::{ModelMessage, ModelPart};
