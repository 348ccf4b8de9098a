//! The deterministic simulation of the whole turn (shared/DESIGN.md,
//! "Testing the turn without a runtime"): the edge's routes, the real
//! self-hosted platform core with the real reference agent, a model host,
//! and a scripted browser, on a virtual clock and an in-memory network,
//! with faults injected at every IO point by seed.
//!
//! `cargo test --test sim` runs `HEADSTART_SIM_SEEDS` seeds (10,000 by
//! default) from `HEADSTART_SIM_FROM` (0); `HEADSTART_SIM_SEED=N` replays
//! one seed with its trace. `npm run sim -- --seeds N` runs more.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod client;
mod dialect;
mod exec;
mod model;
mod net;
mod scenario;
mod world;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn replay_command(seed: u64) -> String {
    format!("HEADSTART_SIM_SEED={seed} cargo test --locked --release --test sim -- --nocapture")
}

fn run_seed(seed: u64) -> Result<scenario::Report, String> {
    match catch_unwind(AssertUnwindSafe(|| scenario::run(seed))) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panicked: {message}"))
        }
    }
}

#[test]
fn seeds() {
    if let Some(seed) = env_u64("HEADSTART_SIM_SEED") {
        match run_seed(seed) {
            Ok(report) => println!("seed {seed}: ok ({})\n{}", report.kind, report.sse.unwrap_or_default()),
            Err(e) => panic!("seed {seed} failed: {e}\nreplay: {}", replay_command(seed)),
        }
        return;
    }
    let from = env_u64("HEADSTART_SIM_FROM").unwrap_or(0);
    let count = env_u64("HEADSTART_SIM_SEEDS").unwrap_or(10_000);
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    let quiet_panics = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for seed in from..from + count {
        match run_seed(seed) {
            Ok(report) => *kinds.entry(report.kind).or_default() += 1,
            Err(e) => {
                failures.push((seed, e));
                if failures.len() >= 5 {
                    break;
                }
            }
        }
    }
    std::panic::set_hook(quiet_panics);
    println!("simulated {} seeds from {from}: {kinds:?}", kinds.values().sum::<u64>() + failures.len() as u64);
    if let Some((seed, e)) = failures.first() {
        let others: Vec<u64> = failures.iter().skip(1).map(|(s, _)| *s).collect();
        panic!("seed {seed} failed (other failing seeds: {others:?}):\n{}\nreplay: {}", trim(e), replay_command(*seed));
    }
}

fn trim(text: &str) -> String {
    const MAX: usize = 12_000;
    if text.len() <= MAX {
        return text.to_string();
    }
    let cut = (0..=MAX).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    format!("{}\n… ({} more bytes; replay the seed for all of it)", &text[..cut], text.len() - cut)
}

/// The browser's side of the simulation read by the AI SDK itself: the
/// head-start bodies of the first seeds (every shape and fault profile),
/// through `readUIMessageStream` with the SDK's chunk schema.
#[test]
fn the_ai_sdk_reads_what_the_browser_got() {
    let bodies: Vec<String> = (0..600).filter_map(|seed| run_seed(seed).ok().and_then(|r| r.sse)).collect();
    assert!(bodies.len() > 100, "too few complete head starts to check: {}", bodies.len());
    let file = std::env::temp_dir().join(format!("headstart-sim-streams-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_string(&bodies).unwrap()).unwrap();
    let result = common::run_node("sim-streams.mjs", &[file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(result["read"], bodies.len());
    let failures = result["failures"].as_array().unwrap();
    assert!(
        failures.is_empty(),
        "the AI SDK rejected {} of {} streams; first: {}\n{}",
        failures.len(),
        bodies.len(),
        failures[0]["error"],
        bodies[failures[0]["index"].as_u64().unwrap() as usize]
    );
}
