//! What a route answers, before a binding turns it into its runtime's
//! response: a status, headers and a body that is empty, JSON, or an SSE
//! stream that runs the turn as it is read.

use std::pin::Pin;

use futures_util::Stream;

use super::request::{RequestError, EXPOSE_HEADERS};

/// A route's answer.
#[derive(Debug)]
pub struct RouteResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: RouteBody,
}

/// The body of a [`RouteResponse`].
pub enum RouteBody {
    Empty,
    /// JSON text (the headers say `application/json`).
    Json(String),
    /// SSE frames. The turn lives inside: dropping the stream drops the
    /// turn, which aborts the model call (and, before the handover
    /// decision, sends `handover-skip` in the background).
    Sse(Pin<Box<dyn Stream<Item = Vec<u8>>>>),
}

impl std::fmt::Debug for RouteBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Json(text) => f.debug_tuple("Json").field(text).finish(),
            Self::Sse(_) => f.write_str("Sse(..)"),
        }
    }
}

impl RouteResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::json_text(status, body.to_string())
    }

    /// The one JSON form of every refusal and failure.
    pub fn error(e: &RequestError) -> Self {
        let mut response = Self::json_text(e.status, e.to_json());
        if let Some(secs) = e.retry_after_secs {
            response.headers.push(("retry-after".into(), secs.to_string()));
        }
        response
    }

    fn json_text(status: u16, text: String) -> Self {
        Self { status, headers: vec![("content-type".into(), "application/json".into())], body: RouteBody::Json(text) }
    }

    /// The first value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The CORS headers of an answer to an allowed `origin`.
    pub(super) fn with_cors(mut self, origin: Option<&str>) -> Self {
        if let Some(origin) = origin {
            self.headers.push(("access-control-allow-origin".into(), origin.into()));
            self.headers.push(("vary".into(), "Origin".into()));
            self.headers.push(("access-control-expose-headers".into(), EXPOSE_HEADERS.into()));
        }
        self
    }
}

/// `204`, with the CORS preflight headers for an allowed origin only.
pub(super) fn preflight(origin: Option<&str>, asked: Option<&str>) -> RouteResponse {
    let mut headers = Vec::new();
    if let Some(origin) = origin {
        for (name, value) in crate::selfhost::http::preflight_headers(Some(origin), asked) {
            // These routes take POST only.
            let value = if name == "Access-Control-Allow-Methods" { "POST, OPTIONS".to_string() } else { value };
            headers.push((name.to_ascii_lowercase(), value));
        }
    }
    RouteResponse { status: 204, headers, body: RouteBody::Empty }
}
