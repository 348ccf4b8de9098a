//! Reading a request body under a cap. The cap holds whatever the request
//! declares: a chunked body, or one whose `Content-Length` lies, is refused
//! as soon as it passes the cap, and the rest is never read.

use futures_util::{Stream, StreamExt};

use super::request::RequestError;

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body passed the cap (the rest was not read).
    #[error("request body is over {max} bytes")]
    TooLarge { max: usize },
    /// The runtime could not read it (the client went away mid-body, ...).
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
}

impl From<BodyError> for RequestError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge { max } => RequestError::too_large(max),
            BodyError::Unreadable(_) => RequestError::new(400, e.to_string(), "invalid_body"),
        }
    }
}

/// A request body, read once with a cap. The bindings implement it over
/// their runtime's request (with [`read_capped`]); tests use `Vec<u8>`.
#[allow(async_fn_in_trait)] // single-threaded runtimes: no Send bound wanted
pub trait RequestBody {
    /// The whole body, or [`BodyError::TooLarge`] as soon as it passes `max`.
    async fn read(self, max: usize) -> Result<Vec<u8>, BodyError>;
}

impl RequestBody for Vec<u8> {
    async fn read(self, max: usize) -> Result<Vec<u8>, BodyError> {
        if self.len() > max {
            return Err(BodyError::TooLarge { max });
        }
        Ok(self)
    }
}

/// Collects a stream of byte chunks, refusing it as soon as the total
/// passes `max`; the stream is dropped unread from there (which cancels it).
pub async fn read_capped<S>(chunks: S, max: usize) -> Result<Vec<u8>, BodyError>
where
    S: Stream<Item = Result<Vec<u8>, String>>,
{
    let mut chunks = std::pin::pin!(chunks);
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(BodyError::Unreadable)?;
        if chunk.len() > max.saturating_sub(bytes.len()) {
            return Err(BodyError::TooLarge { max });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
