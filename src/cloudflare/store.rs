//! The session's SQLite storage in its Durable Object, as a
//! [`SessionStore`]: both stream logs (one `records` table keyed by
//! `(io, seq)`) and small JSON values (the session row, stream metadata,
//! part ids, the transcript) in `kv`. Every SQL error is returned, never
//! read as "no row".

use serde::Deserialize;
use worker::{SqlStorage, SqlStorageValue};

use crate::protocol::record::SequencedRecord;
use crate::selfhost::log::StreamMeta;
use crate::selfhost::store::{self, SessionStore, StoreError};
use crate::selfhost::Io;

pub fn migrate(sql: &SqlStorage) -> worker::Result<()> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS records (io TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, \
         headers TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (io, seq))",
        None,
    )?;
    sql.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)", None)?;
    Ok(())
}

pub struct SqlStore {
    pub sql: SqlStorage,
}

#[derive(Deserialize)]
struct KvRow {
    v: String,
}

#[derive(Deserialize)]
struct RecordRow {
    seq: f64,
    ts: f64,
    headers: String,
    body: String,
}

fn unavailable(e: worker::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn int(n: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(n as i64)
}

fn meta_key(io: Io) -> String {
    format!("meta:{}", io.as_str())
}

impl SessionStore for SqlStore {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let rows: Vec<KvRow> =
            self.sql.exec("SELECT v FROM kv WHERE k = ?", vec![key.into()]).and_then(|c| c.to_array()).map_err(unavailable)?;
        Ok(rows.into_iter().next().map(|r| r.v))
    }

    /// One statement, so all entries or none.
    fn put(&self, entries: &[(&str, String)]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let values = vec!["(?, ?)"; entries.len()].join(", ");
        let bindings = entries.iter().flat_map(|(k, v)| [(*k).into(), v.clone().into()]).collect::<Vec<SqlStorageValue>>();
        self.sql.exec(&format!("INSERT OR REPLACE INTO kv (k, v) VALUES {values}"), bindings).map_err(unavailable)?;
        Ok(())
    }

    fn meta(&self, io: Io) -> Result<StreamMeta, StoreError> {
        Ok(store::get_json(self, &meta_key(io))?.unwrap_or_default())
    }

    /// Records first, then the meta that makes them visible, then the trim:
    /// a failure before the meta leaves only records past the stored tail,
    /// which readers skip and the next append overwrites.
    fn commit(&self, io: Io, records: &[SequencedRecord], meta: &StreamMeta) -> Result<(), StoreError> {
        let name = io.as_str();
        for r in records {
            let headers: Vec<[&str; 2]> = r.headers.iter().map(|(n, v)| [n.as_str(), v.as_str()]).collect();
            self.sql
                .exec(
                    "INSERT OR REPLACE INTO records (io, seq, ts, headers, body) VALUES (?, ?, ?, ?, ?)",
                    vec![name.into(), int(r.seq_num), int(r.timestamp), store::to_json(&headers).into(), r.body.clone().into()],
                )
                .map_err(unavailable)?;
        }
        store::put_json(self, &meta_key(io), meta)?;
        if meta.trim_point > 0 {
            // Left over on failure: below the trim point, never read.
            if let Err(e) = self.sql.exec("DELETE FROM records WHERE io = ? AND seq < ?", vec![name.into(), int(meta.trim_point)])
            {
                worker::console_warn!("trimming {name} failed (retried by the next trim): {e}");
            }
        }
        Ok(())
    }

    fn range(&self, io: Io, from: u64, limit: usize) -> Result<Vec<SequencedRecord>, StoreError> {
        let rows: Vec<RecordRow> = self
            .sql
            .exec(
                "SELECT seq, ts, headers, body FROM records WHERE io = ? AND seq >= ? ORDER BY seq LIMIT ?",
                vec![io.as_str().into(), int(from), int(limit as u64)],
            )
            .and_then(|c| c.to_array())
            .map_err(unavailable)?;
        rows.into_iter()
            .map(|r| {
                let headers = serde_json::from_str::<Vec<[String; 2]>>(&r.headers).map_err(|e| StoreError::Corrupt {
                    key: format!("records {} {}", io.as_str(), r.seq),
                    reason: e.to_string(),
                })?;
                Ok(SequencedRecord {
                    seq_num: r.seq as u64,
                    timestamp: r.ts as u64,
                    headers: headers.into_iter().map(|[n, v]| (n, v)).collect(),
                    body: r.body,
                })
            })
            .collect()
    }
}
