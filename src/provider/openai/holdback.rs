//! The SDK's `throwIfOpenAIStreamErrorBeforeOutput`, for both OpenAI APIs:
//! until the first output event, parts are held back, because an error
//! then fails the whole call (it may be retried) instead of streaming.

use crate::provider::part::StreamPart;

#[derive(Debug)]
pub(super) enum State {
    /// No output yet: the parts so far, held back.
    BeforeOutput(Vec<StreamPart>),
    Streaming,
    /// `finish` was emitted; the rest of the body is ignored.
    Finished,
    /// The call failed (before output, or a decoder limit was broken); the
    /// rest is ignored.
    Failed,
}

impl Default for State {
    fn default() -> Self {
        Self::BeforeOutput(Vec::new())
    }
}

impl State {
    pub(super) fn is_before_output(&self) -> bool {
        matches!(self, Self::BeforeOutput(_))
    }

    pub(super) fn is_over(&self) -> bool {
        matches!(self, Self::Finished | Self::Failed)
    }

    /// Passes on the parts held back before the first output.
    pub(super) fn release(&mut self, out: &mut Vec<StreamPart>) {
        if let Self::BeforeOutput(held) = self {
            out.append(held);
            *self = Self::Streaming;
        }
    }

    /// An event's parts: held back while no output came and this event is
    /// none, else passed on after what was held. True when held.
    pub(super) fn pass(&mut self, is_output: bool, parts: &mut Vec<StreamPart>, out: &mut Vec<StreamPart>) -> bool {
        match self {
            Self::BeforeOutput(held) if !is_output => {
                held.append(parts);
                true
            }
            _ => {
                self.release(out);
                out.append(parts);
                false
            }
        }
    }
}
