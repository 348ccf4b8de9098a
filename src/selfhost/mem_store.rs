//! A [`SessionStore`] in memory, for host tests and the deterministic
//! simulation: the server runs over it exactly as over SQLite, faults are
//! injected per call, and a "restart" is a new server over a clone of the
//! same store (clones share their state).
//!
//! ```
//! use headstart::selfhost::mem_store::{MemSessionStore, StoreOp};
//! use headstart::selfhost::store::SessionStore;
//! use headstart::selfhost::Io;
//!
//! let store = MemSessionStore::default();
//! store.fail_next_writes(1);
//! assert!(store.put(&[("row", "{}".into())]).is_err());
//! assert!(store.put(&[("row", "{}".into())]).is_ok());
//! store.fail_when(|op| matches!(op, StoreOp::Range { io: Io::In, .. }));
//! assert!(store.range(Io::In, 0, 10).is_err());
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::log::{LogStore, MemStore, StreamMeta};
use super::sessions::SessionRow;
use super::store::{SessionStore, StoreError, ROW};
use super::Io;
use crate::protocol::record::SequencedRecord;

/// One storage call, as a fault predicate sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    Get {
        key: String,
    },
    Put {
        keys: Vec<String>,
    },
    Meta {
        io: Io,
    },
    /// `first` is the seq of the first record committed (the tail when none).
    Commit {
        io: Io,
        first: u64,
        records: usize,
    },
    Range {
        io: Io,
        from: u64,
    },
}

impl StoreOp {
    pub fn is_write(&self) -> bool {
        matches!(self, StoreOp::Put { .. } | StoreOp::Commit { .. })
    }
}

type Predicate = Box<dyn FnMut(&StoreOp) -> bool>;

#[derive(Default)]
struct State {
    kv: HashMap<String, String>,
    logs: BTreeMap<Io, MemStore>,
    fail_reads: usize,
    fail_writes: usize,
    fail_when: Option<Predicate>,
    /// Records handed out by `range`, all calls together.
    records_read: u64,
    calls: u64,
}

/// Session storage in memory; clones share it.
#[derive(Clone, Default)]
pub struct MemSessionStore {
    state: Rc<RefCell<State>>,
}

impl MemSessionStore {
    /// The next `n` reads (`get`, `meta`, `range`) fail.
    pub fn fail_next_reads(&self, n: usize) {
        self.state.borrow_mut().fail_reads = n;
    }

    /// The next `n` writes (`put`, `commit`) fail, storing nothing.
    pub fn fail_next_writes(&self, n: usize) {
        self.state.borrow_mut().fail_writes = n;
    }

    /// Every call for which `predicate` answers `true` fails (until
    /// [`clear_faults`](Self::clear_faults)).
    pub fn fail_when(&self, predicate: impl FnMut(&StoreOp) -> bool + 'static) {
        self.state.borrow_mut().fail_when = Some(Box::new(predicate));
    }

    pub fn clear_faults(&self) {
        let mut s = self.state.borrow_mut();
        (s.fail_reads, s.fail_writes, s.fail_when) = (0, 0, None);
    }

    /// Every stored record of a stream (trimmed ones are gone), bypassing faults.
    pub fn records(&self, io: Io) -> Vec<SequencedRecord> {
        self.state.borrow().logs.get(&io).map(|l| l.records.values().cloned().collect()).unwrap_or_default()
    }

    /// A stream's state, bypassing faults.
    pub fn stream_meta(&self, io: Io) -> StreamMeta {
        self.state.borrow().logs.get(&io).map(|l| l.meta.clone()).unwrap_or_default()
    }

    /// The session row, bypassing faults (`None` also when unreadable).
    pub fn row(&self) -> Option<SessionRow> {
        self.raw(ROW).and_then(|text| serde_json::from_str(&text).ok())
    }

    /// The raw JSON under `key`, bypassing faults.
    pub fn raw(&self, key: &str) -> Option<String> {
        self.state.borrow().kv.get(key).cloned()
    }

    /// Records handed out by `range` so far (what reads pulled into memory).
    pub fn records_read(&self) -> u64 {
        self.state.borrow().records_read
    }

    /// Storage calls so far, failed ones included.
    pub fn calls(&self) -> u64 {
        self.state.borrow().calls
    }

    fn check(&self, op: StoreOp) -> Result<(), StoreError> {
        let mut s = self.state.borrow_mut();
        s.calls += 1;
        let counter = if op.is_write() { &mut s.fail_writes } else { &mut s.fail_reads };
        let mut fail = *counter > 0;
        *counter = counter.saturating_sub(1);
        if let Some(p) = s.fail_when.as_mut() {
            fail |= p(&op);
        }
        if fail {
            return Err(StoreError::Unavailable(format!("injected fault on {op:?}")));
        }
        Ok(())
    }
}

impl SessionStore for MemSessionStore {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.check(StoreOp::Get { key: key.to_string() })?;
        Ok(self.state.borrow().kv.get(key).cloned())
    }

    fn put(&self, entries: &[(&str, String)]) -> Result<(), StoreError> {
        self.check(StoreOp::Put { keys: entries.iter().map(|(k, _)| k.to_string()).collect() })?;
        let mut s = self.state.borrow_mut();
        for (k, v) in entries {
            s.kv.insert(k.to_string(), v.clone());
        }
        Ok(())
    }

    fn meta(&self, io: Io) -> Result<StreamMeta, StoreError> {
        self.check(StoreOp::Meta { io })?;
        Ok(self.stream_meta(io))
    }

    fn commit(&self, io: Io, records: &[SequencedRecord], meta: &StreamMeta) -> Result<(), StoreError> {
        let first = records.first().map_or(meta.next_seq, |r| r.seq_num);
        self.check(StoreOp::Commit { io, first, records: records.len() })?;
        self.state.borrow_mut().logs.entry(io).or_default().commit(records, meta)
    }

    fn range(&self, io: Io, from: u64, limit: usize) -> Result<Vec<SequencedRecord>, StoreError> {
        self.check(StoreOp::Range { io, from })?;
        let mut s = self.state.borrow_mut();
        let page = match s.logs.get(&io) {
            Some(log) => log.range(from, limit)?,
            None => Vec::new(),
        };
        s.records_read += page.len() as u64;
        Ok(page)
    }
}
