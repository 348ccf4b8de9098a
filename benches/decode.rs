//! Per-chunk cost of each provider's stream decoding, side by side in one
//! run: `npm run bench -- --decode` (or `cargo bench --bench decode`).
//!
//! For every provider, its recorded `text` stream (tests/fixtures/providers)
//! is stretched to a long answer by repeating its text-delta events, then fed
//! one event per `feed` call, as a model's stream arrives, through three
//! stages: the decoder alone (bytes → stream parts), then the step as well
//! (→ UI chunks), then the UI chunks serialized as the browser gets them.
//! The recorded `tool-call` and `parallel-tool-calls` streams are fed as
//! recorded. Rounds alternate between providers so that machine noise hits
//! them alike; the median round is reported.
//!
//! Native code in the release profile (opt-level "z", LTO), like the wasm;
//! the wasm runs slower in absolute terms but the ratios carry over.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use headstart::provider::step::Step;
use headstart::provider::{anthropic, google, openai, StreamDecoder, ToolSpec};
use serde_json::Value;

/// The text deltas of a stretched stream.
const DELTAS: usize = 2_000;
const ROUNDS: usize = 15;

struct Provider {
    name: &'static str,
    /// Fixture directory under tests/fixtures/providers.
    dir: &'static str,
    decoder: fn() -> Box<dyn StreamDecoder>,
    /// Whether an SSE event of the text fixture is a text delta that may be
    /// repeated.
    is_delta: fn(&str) -> bool,
}

fn providers() -> Vec<Provider> {
    vec![
        Provider {
            name: "anthropic",
            dir: "anthropic",
            decoder: || Box::new(anthropic::AnthropicDecoder::new()),
            is_delta: |e| e.contains(r#""type":"text_delta""#),
        },
        Provider {
            name: "openai-chat",
            dir: "openai",
            decoder: || Box::new(openai::OpenAiDecoder::new()),
            is_delta: |e| e.contains(r#""delta":{"content":""#) && !e.contains(r#""content":"""#),
        },
        Provider {
            name: "openai",
            dir: "openai-responses",
            decoder: || Box::new(openai::responses::ResponsesDecoder::new(false, false)),
            is_delta: |e| e.starts_with("event: response.output_text.delta\n"),
        },
        Provider {
            name: "google",
            dir: "google",
            decoder: || Box::new(google::GoogleDecoder::new(false)),
            is_delta: |e| e.contains(r#""parts": [{"text": ""#) && !e.contains("finishReason"),
        },
    ]
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers")
}

/// A body's SSE events, each with its blank line (Gemini ends its lines
/// with CRLF).
fn events(body: &str) -> Vec<String> {
    let blank = if body.contains("\r\n\r\n") { "\r\n\r\n" } else { "\n\n" };
    body.split_inclusive(blank).map(str::to_string).collect()
}

/// The text fixture with its delta events repeated up to [`DELTAS`].
fn stretched(p: &Provider) -> Vec<String> {
    let body = std::fs::read_to_string(fixtures().join(p.dir).join("text.sse")).expect("text fixture");
    let all = events(&body);
    let first = all.iter().position(|e| (p.is_delta)(e)).unwrap_or_else(|| panic!("{}: no delta event", p.name));
    let last = all.iter().rposition(|e| (p.is_delta)(e)).unwrap();
    let deltas = &all[first..=last];
    let mut out = all[..first].to_vec();
    out.extend(deltas.iter().cycle().take(DELTAS).cloned());
    out.extend_from_slice(&all[last + 1..]);
    out
}

fn recorded(p: &Provider, name: &str) -> Option<Vec<String>> {
    std::fs::read_to_string(fixtures().join(p.dir).join(format!("{name}.sse"))).ok().map(|b| events(&b))
}

fn tools() -> Vec<ToolSpec> {
    let tools: Value = serde_json::from_slice(&std::fs::read(fixtures().join("tools.json")).unwrap()).unwrap();
    tools
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, t)| ToolSpec {
            name: name.clone(),
            description: t["description"].as_str().map(str::to_string),
            input_schema: t["inputSchema"].clone(),
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Stage {
    Decode,
    Step,
    Serialize,
}

/// Nanoseconds for one pass over `events`.
fn pass(p: &Provider, events: &[String], tools: &[ToolSpec], stage: Stage) -> f64 {
    let started = Instant::now();
    let mut decoder = (p.decoder)();
    let mut step = Step::new("msg_bench", tools);
    let mut sink = 0usize;
    let mut out = |chunks: Vec<headstart::protocol::UiChunk>| {
        if let Stage::Serialize = stage {
            for c in &chunks {
                sink += serde_json::to_string(c).unwrap().len();
            }
        } else {
            sink += chunks.len();
        }
    };
    out(step.start());
    for e in events {
        let parts = decoder.feed(e.as_bytes());
        match stage {
            Stage::Decode => sink_parts(parts),
            _ => parts.into_iter().for_each(|part| out(step.push(part))),
        }
    }
    let rest = decoder.end();
    match stage {
        Stage::Decode => sink_parts(rest),
        _ => {
            rest.into_iter().for_each(|part| out(step.push(part)));
            out(step.end());
        }
    }
    assert!(decoder.failure().is_none(), "{}: the decoder failed", p.name);
    black_box(sink);
    started.elapsed().as_nanos() as f64
}

fn sink_parts(parts: Vec<headstart::provider::StreamPart>) {
    black_box(parts);
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn main() {
    let tools = tools();
    let providers = providers();
    let mut rows = Vec::new();
    for (label, pick) in
        [("text (stretched)", "text"), ("tool-call", "tool-call"), ("parallel-tool-calls", "parallel-tool-calls")]
    {
        let streams: Vec<Option<Vec<String>>> =
            providers.iter().map(|p| if pick == "text" { Some(stretched(p)) } else { recorded(p, pick) }).collect();
        // Repeat short recorded streams so one timed pass is long enough.
        let reps = if pick == "text" { 1 } else { 200 };
        let mut times = vec![[Vec::new(), Vec::new(), Vec::new()]; providers.len()];
        for _ in 0..ROUNDS {
            for (i, p) in providers.iter().enumerate() {
                let Some(events) = &streams[i] else { continue };
                for (s, stage) in [Stage::Decode, Stage::Step, Stage::Serialize].into_iter().enumerate() {
                    let ns: f64 = (0..reps).map(|_| pass(p, events, &tools, stage)).sum();
                    times[i][s].push(ns / reps as f64);
                }
            }
        }
        for (i, p) in providers.iter().enumerate() {
            let Some(events) = &streams[i] else { continue };
            let bytes: usize = events.iter().map(String::len).sum();
            let [d, s, z] = times[i].clone().map(median);
            let n = events.len() as f64;
            rows.push((label, p.name, events.len(), bytes, d / n, s / n, z / n, bytes as f64 / d * 1e3));
        }
    }
    println!("| stream | provider | events | bytes | decode ns/event | + step ns/event | + UI JSON ns/event | decode MB/s |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, name, events, bytes, d, s, z, mbs) in rows {
        println!("| {label} | {name} | {events} | {bytes} | {d:.0} | {s:.0} | {z:.0} | {mbs:.0} |");
    }
}
