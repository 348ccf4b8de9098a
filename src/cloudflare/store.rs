//! The session's SQLite storage in its Durable Object: both stream logs
//! (one `records` table keyed by `(io, seq)`) and small JSON values (the
//! session row, stream metadata, part ids, the transcript) in `kv`.
//! Durable Object SQL calls are synchronous and atomic between awaits,
//! which is what [`LogStore::commit`] asks for.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{SqlStorage, SqlStorageValue};

use crate::protocol::record::SequencedRecord;
use crate::selfhost::log::{LogStore, StreamMeta};
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

#[derive(Deserialize)]
struct KvRow {
    v: String,
}

/// A JSON value stored under `key`.
pub fn get<T: DeserializeOwned>(sql: &SqlStorage, key: &str) -> Option<T> {
    let rows: Vec<KvRow> = sql.exec("SELECT v FROM kv WHERE k = ?", vec![key.into()]).ok()?.to_array().ok()?;
    rows.first().and_then(|r| serde_json::from_str(&r.v).ok())
}

pub fn put<T: Serialize>(sql: &SqlStorage, key: &str, value: &T) {
    let json = serde_json::to_string(value).expect("stored values serialize");
    if let Err(e) = sql.exec("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", vec![key.into(), json.into()]) {
        worker::console_error!("storage write of {key} failed: {e}");
    }
}

/// One stream of the session, on SQLite.
pub struct SqlLog<'a> {
    pub sql: &'a SqlStorage,
    pub io: Io,
}

#[derive(Deserialize)]
struct RecordRow {
    seq: f64,
    ts: f64,
    headers: String,
    body: String,
}

impl SqlLog<'_> {
    fn meta_key(&self) -> String {
        format!("meta:{}", self.io.as_str())
    }
}

fn int(n: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(n as i64)
}

impl LogStore for SqlLog<'_> {
    fn meta(&self) -> StreamMeta {
        get(self.sql, &self.meta_key()).unwrap_or_default()
    }

    fn commit(&mut self, records: &[SequencedRecord], meta: &StreamMeta) {
        let io = self.io.as_str();
        for r in records {
            let headers: Vec<[&str; 2]> = r.headers.iter().map(|(n, v)| [n.as_str(), v.as_str()]).collect();
            let headers = serde_json::to_string(&headers).expect("headers serialize");
            let result = self.sql.exec(
                "INSERT OR REPLACE INTO records (io, seq, ts, headers, body) VALUES (?, ?, ?, ?, ?)",
                vec![io.into(), int(r.seq_num), int(r.timestamp), headers.into(), r.body.clone().into()],
            );
            if let Err(e) = result {
                worker::console_error!("storage append to {io} failed: {e}");
            }
        }
        if meta.trim_point > 0 {
            let _ = self.sql.exec("DELETE FROM records WHERE io = ? AND seq < ?", vec![io.into(), int(meta.trim_point)]);
        }
        put(self.sql, &self.meta_key(), meta);
    }

    fn range(&self, from: u64, limit: usize) -> Vec<SequencedRecord> {
        let rows: Vec<RecordRow> = self
            .sql
            .exec(
                "SELECT seq, ts, headers, body FROM records WHERE io = ? AND seq >= ? ORDER BY seq LIMIT ?",
                vec![self.io.as_str().into(), int(from), int(limit as u64)],
            )
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        rows.into_iter()
            .map(|r| SequencedRecord {
                seq_num: r.seq as u64,
                timestamp: r.ts as u64,
                headers: serde_json::from_str::<Vec<[String; 2]>>(&r.headers)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|[n, v]| (n, v))
                    .collect(),
                body: r.body,
            })
            .collect()
    }
}
