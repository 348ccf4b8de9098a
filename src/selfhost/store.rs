//! The storage of one session object: small JSON values under fixed keys
//! (the session row, part ids, the agent's transcript, the alias) and the
//! session's two stream logs. The Durable Object implements
//! [`SessionStore`] on its SQLite database; [`super::mem_store`] in memory,
//! with injectable faults.
//!
//! Every call is fallible and an error is never read as "nothing there": a
//! row that cannot be read must not be created over, a stream whose meta
//! cannot be read must not be appended to from seq 0, and a write that
//! failed must not be acknowledged.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::http::{error_body, ErrorResponse};
use super::log::{LogStore, StreamMeta};
use super::Io;
use crate::protocol::record::SequencedRecord;

/// Key of the session row ([`super::sessions::SessionRow`]).
pub const ROW: &str = "row";
/// Key of the claimed `X-Part-Id`s ([`super::part_ids::PartIds`]).
pub const PART_IDS: &str = "part_ids";
/// Key of the agent's transcript (`Vec<UiMessage>`).
pub const TRANSCRIPT: &str = "transcript";
/// Key of the last `.in` seq a turn consumed (`u64`).
pub const CONSUMED: &str = "consumed";
/// Key of the chat id a `session_…` alias object stands for.
pub const ALIAS: &str = "alias";

/// Why storage could not serve a call. Nothing is known to be stored when
/// a write fails; the caller answers 503 and the client retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The storage did not answer or refused the call (an IO error, an
    /// exceeded limit, an injected fault).
    #[error("session storage is unavailable ({0}); retry the request")]
    Unavailable(String),
    /// A stored value does not parse: storage holds data this version cannot
    /// read. It is never treated as absent, so nothing is written over it.
    #[error("stored `{key}` is unreadable ({reason}); the session's storage needs repair")]
    Corrupt { key: String, reason: String },
}

impl StoreError {
    /// `503 {"error": …, "code": "storage_unavailable"}`: retryable, and
    /// without the underlying error (it may name internals).
    pub fn response(&self) -> ErrorResponse {
        let mut r = error_body(503, "Session storage is unavailable; retry the request", Some("storage_unavailable"));
        r.headers.push(("Retry-After", "1".to_string()));
        r
    }
}

/// One session object's storage. Calls take `&self` (the object's storage
/// is shared by its requests and its agent run) and are synchronous, as
/// Durable Object SQL is: nothing interleaves within one call.
pub trait SessionStore {
    /// The JSON text stored under `key`; `Ok(None)` only when nothing is.
    fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores JSON texts under their keys, all or none.
    fn put(&self, entries: &[(&str, String)]) -> Result<(), StoreError>;
    /// A stream's state; the default for a stream never written.
    fn meta(&self, io: Io) -> Result<StreamMeta, StoreError>;
    /// See [`LogStore::commit`].
    fn commit(&self, io: Io, records: &[SequencedRecord], meta: &StreamMeta) -> Result<(), StoreError>;
    /// Up to `limit` records of `io` with `seq >= from`, in seq order.
    fn range(&self, io: Io, from: u64, limit: usize) -> Result<Vec<SequencedRecord>, StoreError>;
}

/// The value under `key`, parsed; a value that does not parse is
/// [`StoreError::Corrupt`], never `None`.
pub fn get_json<T: DeserializeOwned>(store: &(impl SessionStore + ?Sized), key: &str) -> Result<Option<T>, StoreError> {
    match store.get(key)? {
        None => Ok(None),
        Some(text) => {
            serde_json::from_str(&text).map(Some).map_err(|e| StoreError::Corrupt { key: key.to_string(), reason: e.to_string() })
        }
    }
}

/// Stores one value as JSON.
pub fn put_json<T: Serialize + ?Sized>(store: &(impl SessionStore + ?Sized), key: &str, value: &T) -> Result<(), StoreError> {
    store.put(&[(key, to_json(value))])
}

/// A value's JSON text (the stored types always serialize).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("stored values serialize")
}

/// One stream of a [`SessionStore`] as a [`LogStore`].
pub struct StreamLog<'a, S: ?Sized> {
    pub store: &'a S,
    pub io: Io,
}

impl<'a, S: SessionStore + ?Sized> StreamLog<'a, S> {
    pub fn new(store: &'a S, io: Io) -> Self {
        Self { store, io }
    }
}

impl<S: SessionStore + ?Sized> LogStore for StreamLog<'_, S> {
    fn meta(&self) -> Result<StreamMeta, StoreError> {
        self.store.meta(self.io)
    }

    fn commit(&mut self, records: &[SequencedRecord], meta: &StreamMeta) -> Result<(), StoreError> {
        self.store.commit(self.io, records, meta)
    }

    fn range(&self, from: u64, limit: usize) -> Result<Vec<SequencedRecord>, StoreError> {
        self.store.range(self.io, from, limit)
    }
}
