//! Server-sent events: the encoder for what we write (UI message streams to
//! the browser, S2 reads from our platform) and an incremental decoder for
//! what we read (provider streams, S2 reads), per the WHATWG event-stream
//! grammar.
//!
//! Why not a crate: the maintained SSE crates (`eventsource-stream`,
//! `sse-stream`) parse inside a `futures::Stream` adapter, so their parser
//! cannot be fed bytes from a sans-IO state machine, and they would pull
//! `futures`/`nom` into every wasm build. This decoder is push-based: feed it
//! bytes split anywhere, get the same events.
//!
//! The encoder writes LF line ends only: the Trigger browser transport splits
//! frames on the exact bytes `"\n\n"` (PROTOCOL.md §3.3).

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` field; `"message"` when the stream gave none.
    pub event: String,
    /// `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen on the stream so far (it persists across events).
    pub id: Option<String>,
}

/// `data: <json>\n\n`: one UI message chunk frame.
pub fn encode_data(data: &str) -> String {
    encode_event(None, None, data)
}

/// Appends one `data:` frame to `out` without allocating a new string.
pub fn write_data(out: &mut String, data: &str) {
    for line in split_lines(data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
}

/// A full event with optional `event:` and `id:` lines. Data with line
/// breaks becomes several `data:` lines, which decoders join back.
pub fn encode_event(event: Option<&str>, id: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 16);
    if let Some(e) = event {
        out.push_str("event: ");
        out.push_str(e);
        out.push('\n');
    }
    if let Some(i) = id {
        out.push_str("id: ");
        out.push_str(i);
        out.push('\n');
    }
    write_data(&mut out, data);
    out
}

/// Lines as the decoder will see them (any of CRLF, LF, CR ends a line).
fn split_lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// Default [`SseLimits::max_line`]: 8 MiB. The largest event we read is an S2
/// read batch (at most 1 MiB metered, PROTOCOL.md §9.5) as JSON, where
/// escaping control characters can grow a body up to six times; provider
/// events are far smaller.
pub const DEFAULT_MAX_LINE: usize = 8 << 20;
/// Default [`SseLimits::max_event_data`]: 8 MiB, for the same reason.
pub const DEFAULT_MAX_EVENT_DATA: usize = 8 << 20;

/// How much a decoder buffers before it gives up on a peer: without a bound a
/// stream that never sends a line end (or never ends an event) grows memory
/// until the isolate dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseLimits {
    /// Longest line, in bytes, line end excluded.
    pub max_line: usize,
    /// Most `data` one event may carry, in bytes, after joining its lines.
    pub max_event_data: usize,
}

impl Default for SseLimits {
    fn default() -> Self {
        Self { max_line: DEFAULT_MAX_LINE, max_event_data: DEFAULT_MAX_EVENT_DATA }
    }
}

/// Why a decoder stopped: the stream broke a limit. The decoder stays failed;
/// the reader should treat it as a stream error and drop the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an SSE line is longer than {max} bytes (SseLimits::max_line): the peer sends no line ends, or the limit is too low for it")]
    LineTooLong { max: usize },
    #[error("an SSE event carries more than {max} bytes of data (SseLimits::max_event_data): the peer never ends its event, or the limit is too low for it")]
    EventTooLarge { max: usize },
}

/// Incremental decoder. Bytes may be split anywhere, even inside a UTF-8
/// sequence or between the CR and LF of a line end: the events and the error
/// a byte string yields do not depend on where it was split.
///
/// ```
/// use headstart::protocol::sse::{SseDecoder, SseError, SseLimits};
///
/// let mut dec = SseDecoder::new();
/// assert!(dec.feed(b"data: hel").is_empty());
/// assert_eq!(dec.feed(b"lo\n\n")[0].data, "hello");
///
/// let mut dec = SseDecoder::with_limits(SseLimits { max_line: 8, max_event_data: 64 });
/// assert!(dec.feed(b"data: 0123456789").is_empty());
/// assert_eq!(dec.error(), Some(SseError::LineTooLong { max: 8 }));
/// ```
#[derive(Debug, Default)]
pub struct SseDecoder {
    limits: SseLimits,
    line: Vec<u8>,
    data: String,
    event: String,
    has_data: bool,
    last_id: Option<String>,
    /// A CR ended the previous chunk: a LF starting the next one belongs to it.
    pending_cr: bool,
    started: bool,
    /// Set once a limit is broken; later input is ignored.
    failed: Option<SseError>,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: SseLimits) -> Self {
        Self { limits, ..Self::default() }
    }

    /// Feeds bytes and returns the events they completed. Once the stream
    /// breaks a limit this returns the events completed before that point and
    /// nothing after: check [`error`](Self::error) after each call, or use
    /// [`feed_into`](Self::feed_into).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let _ = self.feed_into(bytes, &mut events);
        events
    }

    /// As [`feed`](Self::feed), appending to `events`; `Err` once the stream
    /// has broken a limit (the events completed before it are still appended).
    pub fn feed_into(&mut self, mut bytes: &[u8], events: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        // An empty piece says nothing about whether a LF follows the CR.
        if self.pending_cr && !bytes.is_empty() {
            self.pending_cr = false;
            if let [b'\n', rest @ ..] = bytes {
                bytes = rest;
            }
        }
        while let Some(i) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.push_line_bytes(&bytes[..i])?;
            let skip = if bytes[i] == b'\r' {
                match bytes.get(i + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    None => {
                        self.pending_cr = true;
                        1
                    }
                }
            } else {
                1
            };
            bytes = &bytes[i + skip..];
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, events)?;
        }
        self.push_line_bytes(bytes)
    }

    /// Why the decoder stopped, once it has.
    pub fn error(&self) -> Option<SseError> {
        self.failed
    }

    /// The last `id:` seen (the reconnect cursor of a plain EventSource).
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// True when bytes of an unfinished event are buffered: a stream that
    /// ends here was cut mid-event (the spec discards such an event).
    pub fn has_partial_event(&self) -> bool {
        !self.line.is_empty() || self.has_data || self.failed.is_some()
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > self.limits.max_line {
            return Err(self.fail(SseError::LineTooLong { max: self.limits.max_line }));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// Enters the failed state and frees what was buffered.
    fn fail(&mut self, error: SseError) -> SseError {
        self.failed = Some(error);
        self.line = Vec::new();
        self.data = String::new();
        self.event = String::new();
        self.has_data = false;
        error
    }

    fn process_line(&mut self, raw: &[u8], events: &mut Vec<SseEvent>) -> Result<(), SseError> {
        let mut line = String::from_utf8_lossy(raw);
        if !self.started {
            self.started = true;
            if let Some(stripped) = line.strip_prefix('\u{feff}') {
                line = stripped.to_string().into();
            }
        }
        if line.is_empty() {
            self.dispatch(events);
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&line[..], ""),
        };
        match field {
            "data" => {
                if self.data.len() + usize::from(self.has_data) + value.len() > self.limits.max_event_data {
                    return Err(self.fail(SseError::EventTooLarge { max: self.limits.max_event_data }));
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = value.to_string(),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            // `retry:` and unknown fields do not concern a non-browser reader.
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            return;
        }
        self.has_data = false;
        events.push(SseEvent {
            event: if event.is_empty() { "message".into() } else { event },
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Vec<SseEvent> {
        SseDecoder::new().feed(bytes)
    }

    #[test]
    fn data_frames_are_lf_only() {
        assert_eq!(encode_data(r#"{"type":"start"}"#), "data: {\"type\":\"start\"}\n\n");
        assert_eq!(encode_data("a\nb"), "data: a\ndata: b\n\n");
    }

    #[test]
    fn decodes_fields_comments_and_line_ends() {
        let evs = decode_all(b"\xEF\xBB\xBF: hi\r\nevent: batch\rid: 3\ndata:x\ndata: y\r\n\r\ndata: [DONE]\n\n");
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0], SseEvent { event: "batch".into(), data: "x\ny".into(), id: Some("3".into()) });
        assert_eq!(evs[1].event, "message");
        assert_eq!(evs[1].data, "[DONE]");
        assert_eq!(evs[1].id.as_deref(), Some("3"));
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        assert!(decode_all(b"event: ping\n\n").is_empty());
        let mut dec = SseDecoder::new();
        assert!(dec.feed(b"data: cut").is_empty());
        assert!(dec.has_partial_event());
    }

    #[test]
    fn cr_at_a_split_then_lf_is_one_line_end() {
        let mut dec = SseDecoder::new();
        let mut evs = dec.feed(b"data: a\r");
        evs.extend(dec.feed(b"\n\r"));
        evs.extend(dec.feed(b"\ndata: b\n\n"));
        assert_eq!(evs.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let bytes = "data: héllo😀\n\n".as_bytes();
        for cut in 0..bytes.len() {
            let mut dec = SseDecoder::new();
            let mut evs = dec.feed(&bytes[..cut]);
            evs.extend(dec.feed(&bytes[cut..]));
            assert_eq!(evs[0].data, "héllo😀", "cut at {cut}");
        }
    }

    #[test]
    fn a_line_without_end_is_cut_off_at_the_limit() {
        let limits = SseLimits { max_line: 16, max_event_data: 1 << 20 };
        let mut dec = SseDecoder::with_limits(limits);
        assert_eq!(dec.feed(b"data: ok\n\ndata: 0123456789").len(), 1);
        assert_eq!(dec.error(), None);
        assert!(dec.feed(b"abcdef").is_empty());
        assert_eq!(dec.error(), Some(SseError::LineTooLong { max: 16 }));
        assert!(dec.has_partial_event());
        // A failed decoder reads nothing more, even a valid event.
        let mut events = Vec::new();
        assert_eq!(dec.feed_into(b"\n\ndata: x\n\n", &mut events), Err(SseError::LineTooLong { max: 16 }));
        assert!(events.is_empty());
        assert!(dec.line.capacity() == 0 && dec.data.capacity() == 0, "a failed decoder frees its buffers");
    }

    #[test]
    fn an_event_of_many_data_lines_is_cut_off_at_the_limit() {
        let limits = SseLimits { max_line: 64, max_event_data: 10 };
        let mut dec = SseDecoder::with_limits(limits);
        // 10 bytes exactly ("12345\n1234") are allowed.
        assert_eq!(dec.feed(b"data: 12345\ndata: 1234\n\n")[0].data, "12345\n1234");
        let mut events = Vec::new();
        let got = dec.feed_into(b"data: a\n\ndata: 12345\ndata: 12345\n\ndata: b\n\n", &mut events);
        assert_eq!(got, Err(SseError::EventTooLarge { max: 10 }));
        assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn default_limits_take_a_large_s2_batch() {
        let data = "x".repeat(6 << 20);
        let events = SseDecoder::new().feed(encode_data(&data).as_bytes());
        assert_eq!(events[0].data.len(), data.len());
        let mut dec = SseDecoder::new();
        assert!(dec.feed(&vec![b'x'; DEFAULT_MAX_LINE + 1]).is_empty());
        assert_eq!(dec.error(), Some(SseError::LineTooLong { max: DEFAULT_MAX_LINE }));
    }
}
