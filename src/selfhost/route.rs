//! The platform's HTTP surface as a pure parser (PROTOCOL.md §5.2, §5.3,
//! §5.5, §5.7, §6, §7.1, §10 "Platform stand-in MUST"), so the Worker only
//! dispatches. Header parsing, CORS and error bodies are in [`super::http`].
//!
//! | method | path | route |
//! |---|---|---|
//! | POST | `/api/v1/sessions` | [`Route::CreateSession`] |
//! | PUT | `/realtime/v1/sessions/{key}/{in\|out}` | [`Route::InitStream`] |
//! | POST | `/realtime/v1/sessions/{key}/{io}/append` | [`Route::Append`] |
//! | GET | `/realtime/v1/sessions/{key}/{io}` | [`Route::Read`] (SSE) |
//! | GET | `/realtime/v1/sessions/{key}/{io}/records` | [`Route::ReadRecords`] |
//! | POST | `/s2/v1/streams/{stream name}/records` | [`Route::S2Append`] |
//! | GET | `/api/chats/{chatId}/messages` | [`Route::ChatMessages`] |
//! | OPTIONS | anything | [`Route::Preflight`] |
//!
//! The S2-compatible data plane lives under [`S2_ENDPOINT_PATH`]: `PUT
//! …/{io}` answers `X-S2-Endpoint: <origin>/s2/v1` and `X-S2-Stream-Name:
//! sessions/{key}/{io}` ([`s2_stream_name`]; in the key, `%` and bytes outside
//! printable ASCII are percent-encoded, since clients read header values as
//! Latin-1), and the S2 SDK then posts to
//! `/s2/v1/streams/{encodeURIComponent(name)}/records` (§5.4 (b)). A leading
//! `/` on the name (the hosted form, `/sessions/{key}/{io}`) is accepted too.
//!
//! Path segments arrive percent-encoded (`encodeURIComponent(chatId)`): the
//! path is split on `/` first, then each segment is decoded, so `%2F` is part
//! of a key. A key starting with `session_` is a friendly id; anything else
//! is an externalId.

use super::http::{error_body, ErrorResponse};
use super::ids::is_session_id;
use super::Io;
use crate::protocol::input::CHAT_ID_MAX_CHARS;

/// Path of the S2-compatible endpoint (`X-S2-Endpoint` is the origin plus
/// this).
pub const S2_ENDPOINT_PATH: &str = "/s2/v1";

/// The S2 stream name of a session channel, as `X-S2-Stream-Name`: a
/// header value, so the key's `%` and every byte outside printable ASCII are
/// percent-encoded (HTTP clients read header bytes as Latin-1, which would
/// mangle a UTF-8 key); [`parse`] decodes them again.
pub fn s2_stream_name(key: &str, io: Io) -> String {
    let mut name = String::with_capacity(key.len() + 13);
    name.push_str("sessions/");
    for b in key.bytes() {
        if b == b'%' || !(0x20..0x7f).contains(&b) {
            name.push_str(&format!("%{b:02X}"));
        } else {
            name.push(b as char);
        }
    }
    format!("{name}/{io}")
}

/// How a URL names a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SessionKey {
    /// The customer's id (chatId).
    External(String),
    /// `session_…`.
    Friendly(String),
}

impl SessionKey {
    fn new(key: String) -> Result<Self, RouteError> {
        if key.is_empty() {
            return Err(RouteError::NotFound);
        }
        if key.chars().count() > CHAT_ID_MAX_CHARS {
            return Err(RouteError::BadRequest(format!("session key longer than {CHAT_ID_MAX_CHARS} characters")));
        }
        Ok(if is_session_id(&key) { SessionKey::Friendly(key) } else { SessionKey::External(key) })
    }

    pub fn as_str(&self) -> &str {
        match self {
            SessionKey::External(k) | SessionKey::Friendly(k) => k,
        }
    }

    pub fn is_friendly(&self) -> bool {
        matches!(self, SessionKey::Friendly(_))
    }
}

/// A parsed request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    CreateSession,
    InitStream {
        key: SessionKey,
        io: Io,
    },
    Append {
        key: SessionKey,
        io: Io,
    },
    Read {
        key: SessionKey,
        io: Io,
    },
    ReadRecords {
        key: SessionKey,
        io: Io,
    },
    S2Append {
        key: SessionKey,
        io: Io,
    },
    ChatMessages {
        chat_id: SessionKey,
    },
    /// `GET /api/v1/sessions/{key}`.
    RetrieveSession {
        key: SessionKey,
    },
    /// `POST /api/v1/sessions/{key}/close`.
    CloseSession {
        key: SessionKey,
    },
    Preflight,
}

/// A request no route takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("Not found")]
    NotFound,
    #[error("Method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("{0}")]
    BadRequest(String),
}

impl RouteError {
    pub fn status(&self) -> u16 {
        match self {
            RouteError::NotFound => 404,
            RouteError::MethodNotAllowed { .. } => 405,
            RouteError::BadRequest(_) => 400,
        }
    }

    /// The JSON error, with `Allow` on a 405.
    pub fn response(&self) -> ErrorResponse {
        let mut r = error_body(self.status(), &self.to_string(), None);
        if let RouteError::MethodNotAllowed { allow } = self {
            r.headers.push(("Allow", allow.to_string()));
        }
        r
    }
}

/// Decodes `%XX` escapes (either case) into UTF-8; `+` stays `+`.
pub fn percent_decode(s: &str) -> Result<String, RouteError> {
    let bad = || RouteError::BadRequest("malformed percent-encoding in path".into());
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).ok_or_else(bad)?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad());
            }
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| RouteError::BadRequest("path is not UTF-8 after percent-decoding".into()))
}

fn key(segment: &str) -> Result<SessionKey, RouteError> {
    SessionKey::new(percent_decode(segment)?)
}

fn io(segment: &str) -> Result<Io, RouteError> {
    Io::parse(segment).ok_or(RouteError::NotFound)
}

/// `sessions/{key}/{io}` (or `/sessions/…`) → key and channel; the key is
/// percent-decoded once more (see [`s2_stream_name`]).
fn stream_name(encoded: &str) -> Result<(SessionKey, Io), RouteError> {
    let name = percent_decode(encoded)?;
    let rest = name.strip_prefix('/').unwrap_or(&name).strip_prefix("sessions/").ok_or(RouteError::NotFound)?;
    let (key_part, io_part) = rest.rsplit_once('/').ok_or(RouteError::NotFound)?;
    Ok((SessionKey::new(percent_decode(key_part)?)?, io(io_part)?))
}

/// Parses a request's method and path (a query or fragment is ignored).
pub fn parse(method: &str, path: &str) -> Result<Route, RouteError> {
    if method == "OPTIONS" {
        return Ok(Route::Preflight);
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let Some(path) = path.strip_prefix('/') else { return Err(RouteError::NotFound) };
    let segs: Vec<&str> = path.split('/').collect();
    let not_allowed = |allow| Err(RouteError::MethodNotAllowed { allow });
    match segs.as_slice() {
        ["api", "v1", "sessions"] => match method {
            "POST" => Ok(Route::CreateSession),
            _ => not_allowed("POST, OPTIONS"),
        },
        ["api", "v1", "sessions", k] => {
            let key = key(k)?;
            match method {
                "GET" => Ok(Route::RetrieveSession { key }),
                _ => not_allowed("GET, OPTIONS"),
            }
        }
        ["api", "v1", "sessions", k, "close"] => {
            let key = key(k)?;
            match method {
                "POST" => Ok(Route::CloseSession { key }),
                _ => not_allowed("POST, OPTIONS"),
            }
        }
        ["realtime", "v1", "sessions", k, i] => {
            let (key, io) = (key(k)?, io(i)?);
            match method {
                "PUT" => Ok(Route::InitStream { key, io }),
                "GET" => Ok(Route::Read { key, io }),
                _ => not_allowed("GET, PUT, OPTIONS"),
            }
        }
        ["realtime", "v1", "sessions", k, i, "append"] => {
            let (key, io) = (key(k)?, io(i)?);
            match method {
                "POST" => Ok(Route::Append { key, io }),
                _ => not_allowed("POST, OPTIONS"),
            }
        }
        ["realtime", "v1", "sessions", k, i, "records"] => {
            let (key, io) = (key(k)?, io(i)?);
            match method {
                "GET" => Ok(Route::ReadRecords { key, io }),
                _ => not_allowed("GET, OPTIONS"),
            }
        }
        ["s2", "v1", "streams", name, "records"] => {
            let (key, io) = stream_name(name)?;
            match method {
                "POST" => Ok(Route::S2Append { key, io }),
                _ => not_allowed("POST, OPTIONS"),
            }
        }
        ["api", "chats", c, "messages"] => {
            let chat_id = key(c)?;
            match method {
                "GET" => Ok(Route::ChatMessages { chat_id }),
                _ => not_allowed("GET, OPTIONS"),
            }
        }
        _ => Err(RouteError::NotFound),
    }
}
