//! The head-start turn (shared/DESIGN.md "One head-start turn", PROTOCOL.md
//! §5.8), runtime-agnostic over the IO seams. The ordering rules, in the
//! order they happen:
//!
//! 1. The session create and the step-1 model call start together (the
//!    TypeScript handler runs them one after the other).
//! 2. Step-1 chunks go to the browser as soon as the response is open, which
//!    is when the session exists (its token is a response header); chunks
//!    made before that wait in order.
//! 3. Every chunk is also teed, in order, to `.out` in batched writes.
//! 4. When step 1 ends the tee is flushed and drained *before* the handover
//!    is appended: the agent writes `.out` only after it reads the handover,
//!    so `.out` is `[step 1][agent][turn-complete]`.
//! 5. No decision (step 1 failed, idle timeout) means `handover-skip`, and the
//!    response ends after step 1.
//! 6. After a handover, `.out` is followed from just after the tee's last
//!    record; the agent's chunks are forwarded until its turn-complete, then
//!    `trigger:turn-complete` and `trigger:session-state` close the response.
//!
//! With edge steps configured ([`edge`]), step 1 may be followed, before
//! the decision, by edge-safe tools and further steps run here, all teed
//! alike; a turn they finish gets its turn-complete from here, and the
//! response ends without the splice.
//!
//! The pieces are pure and tested apart: [`crate::provider::step`] (step 1),
//! [`crate::platform::tee`] (the tee), [`crate::platform::splice`] (phase 2),
//! [`crate::protocol::handover`] (the reshape). This module only drives them.

pub mod calls;
mod drive;
pub mod edge;

pub use calls::create;
pub use drive::{head_start, Abandoned, Frame, HeadStartConfig, TurnTiming, HANDOVER_FAILED};
pub use edge::EdgeSteps;
