//! `X-Part-Id` dedupe of `POST …/{io}/append` (PROTOCOL.md §5.5 step 4,
//! §9.3): the first append with a part id claims it for five minutes; a
//! retry within that window is answered `200 {"ok":true}` without appending
//! again. A claim is released when its append then fails, so the retry
//! appends.
//!
//! One Durable Object holds one session, so the set is per session and
//! keyed by `(io, part id)`. It is bounded (oldest claims evicted first) and
//! serializable, so the object can persist it between requests.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::Io;
use crate::protocol::session::PART_ID_TTL_SECS;

/// How long a claim dedupes, ms.
pub const PART_ID_TTL_MS: u64 = PART_ID_TTL_SECS * 1000;
/// Default bound on remembered claims.
pub const PART_IDS_MAX: usize = 1000;

/// Claimed part ids, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartIds {
    /// `(io, part id, claimed at ms)`.
    claims: VecDeque<(Io, String, u64)>,
    capacity: usize,
}

impl Default for PartIds {
    fn default() -> Self {
        Self::with_capacity(PART_IDS_MAX)
    }
}

impl PartIds {
    /// A set remembering at most `capacity` (≥ 1) claims.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { claims: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Claims `part_id` on `io`: `true` if it was not claimed within the
    /// last five minutes (go ahead and append), `false` for a duplicate.
    pub fn claim(&mut self, io: Io, part_id: &str, now_ms: u64) -> bool {
        self.expire(now_ms);
        if self.claims.iter().any(|(i, p, _)| *i == io && p == part_id) {
            return false;
        }
        self.claims.push_back((io, part_id.to_string(), now_ms));
        while self.claims.len() > self.capacity {
            self.claims.pop_front();
        }
        true
    }

    /// Forgets a claim whose append failed.
    pub fn release(&mut self, io: Io, part_id: &str) {
        self.claims.retain(|(i, p, _)| !(*i == io && p == part_id));
    }

    /// Drops claims older than five minutes.
    pub fn expire(&mut self, now_ms: u64) {
        self.claims.retain(|(_, _, at)| at.saturating_add(PART_ID_TTL_MS) > now_ms);
    }

    pub fn len(&self) -> usize {
        self.claims.len()
    }

    pub fn is_empty(&self) -> bool {
        self.claims.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_within_five_minutes_lose_the_claim() {
        let mut ids = PartIds::default();
        assert!(ids.claim(Io::In, "p1", 1_000));
        assert!(!ids.claim(Io::In, "p1", 1_000));
        assert!(!ids.claim(Io::In, "p1", 1_000 + PART_ID_TTL_MS - 1));
        assert!(ids.claim(Io::Out, "p1", 2_000), "channels are separate");
        assert!(ids.claim(Io::In, "p2", 2_000));
        // Exactly five minutes later the claim has expired.
        assert!(ids.claim(Io::In, "p1", 1_000 + PART_ID_TTL_MS));
        assert!(!ids.claim(Io::In, "p1", 1_000 + PART_ID_TTL_MS + 1));
    }

    #[test]
    fn release_lets_the_retry_append() {
        let mut ids = PartIds::default();
        assert!(ids.claim(Io::In, "p", 0));
        ids.release(Io::Out, "p");
        assert!(!ids.claim(Io::In, "p", 1));
        ids.release(Io::In, "p");
        assert!(ids.claim(Io::In, "p", 2));
    }

    #[test]
    fn bounded_oldest_evicted_and_expiry_frees_memory() {
        let mut ids = PartIds::with_capacity(3);
        for (i, p) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(ids.claim(Io::In, p, i as u64));
        }
        assert_eq!(ids.len(), 3);
        assert!(ids.claim(Io::In, "a", 10), "evicted, so claimable again");
        assert!(!ids.claim(Io::In, "d", 10));
        ids.expire(10 + PART_ID_TTL_MS);
        assert!(ids.is_empty());
        assert_eq!(PartIds::with_capacity(0).capacity, 1);
    }

    #[test]
    fn survives_a_serde_round_trip() {
        let mut ids = PartIds::default();
        ids.claim(Io::In, "V1StGXR8_Z5jdHi6B-myT", 5);
        let json = serde_json::to_string(&ids).unwrap();
        assert_eq!(json, r#"{"claims":[["in","V1StGXR8_Z5jdHi6B-myT",5]],"capacity":1000}"#);
        let mut back: PartIds = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ids);
        assert!(!back.claim(Io::In, "V1StGXR8_Z5jdHi6B-myT", 6));
    }
}
