//! Tests of the platform client: each module's own, then the tee and the
//! splice against the self-hosted platform's log and routes (the same
//! records and paths the Durable Object serves).

mod client;
mod interop;
mod retry;
mod splice;
mod tee;

/// Owned header pairs, as responses carry them.
pub(super) fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}
