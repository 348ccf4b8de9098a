//! One seed: a turn shape, its faults, the run, and the checks.

use std::cell::RefCell;
use std::rc::Rc;

use headstart::protocol::record::SequencedRecord;
use headstart::selfhost::mem_store::StoreOp;
use headstart::selfhost::Io;
use serde_json::{json, Value};

use crate::check;
use crate::client::{self, DirectOutcome, End, Leave, RouteOutcome};
use crate::dialect::Dialect;
use crate::exec::{Rng, RunEnd, Sim, SimClock};
use crate::model::Answer;
use crate::model::Voice;
use crate::net::LinkFaults;
use crate::world::{Fallback, Setup, ToolMode, World, MODEL, MODEL_B};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Text,
    OneTool,
    ParallelTools,
    ErrorMidStep,
    Stall,
    Malformed,
    Detached,
    PreloadThenDirect,
    Turn2Direct,
    Stop,
    Hostile,
    /// Edge steps: step 1's `get_weather` and step 2 at the edge, the turn
    /// handed over final; then turn 2 on the direct path.
    EdgeFinal,
    /// Edge steps: `get_weather` at the edge, then `calculator`, which is
    /// edge-safe or not by seed (the agent's part spliced mid-turn).
    EdgeChain,
    /// Edge steps: the `lookup` HTTP tool at the edge, against a tool host
    /// that answers, fails, hangs or answers garbage.
    EdgeTool,
}

const SHAPES: [Shape; 14] = [
    Shape::Text,
    Shape::OneTool,
    Shape::ParallelTools,
    Shape::ErrorMidStep,
    Shape::Stall,
    Shape::Malformed,
    Shape::Detached,
    Shape::PreloadThenDirect,
    Shape::Turn2Direct,
    Shape::Stop,
    Shape::Hostile,
    Shape::EdgeFinal,
    Shape::EdgeChain,
    Shape::EdgeTool,
];

/// What a seed decided, printed with a failure.
#[derive(Debug)]
pub struct Plan {
    pub shape: Shape,
    pub faults: &'static str,
    pub leave: Leave,
    pub store_faults: bool,
    pub crash_at_ms: Option<u64>,
    pub late_timers: bool,
    pub idle_secs: u32,
    pub boot_delay_ms: u32,
    pub edge_tools: Option<&'static str>,
    pub tool_mode: ToolMode,
    /// A model list: the edge's, the agent's own, the retry budget.
    pub fallback: Option<Fallback>,
    /// The model hosts answer nothing after tool results.
    pub empty_after_tools: bool,
}

/// The client must be done by then (virtual ms); the agent by the end.
const CLIENT_DEADLINE_MS: u64 = 15 * 60_000;
const WORLD_END_MS: u64 = 3 * 3_600_000;

fn link(rng: &mut Rng, profile: &str) -> LinkFaults {
    let p = match profile {
        "none" => return LinkFaults::default(),
        "light" => 0.02,
        _ => 0.08,
    };
    let mut f = LinkFaults {
        error_status: p,
        rate_limited: p / 2.0,
        hang: p / 4.0,
        reset_before: p / 2.0,
        reset_after: p / 2.0,
        slow: p * 2.0,
        slow_ms: 8_000,
        cut_body: p / 2.0,
        stall_body: p / 4.0,
        outage: None,
    };
    if profile == "outage" {
        let start = rng.below(3_000);
        f.outage = Some((start, start + 2_000 + rng.below(60_000), rng.chance(0.5)));
    }
    f
}

pub fn plan(seed: u64) -> (Plan, Setup, Rng) {
    let mut rng = Rng::new(seed);
    let shape = *rng.pick(&SHAPES);
    let faults = if shape == Shape::Hostile { "none" } else { *rng.pick(&["none", "none", "light", "light", "heavy", "outage"]) };
    let leave = match rng.below(8) {
        0 => Leave::AfterChunks(rng.below(30) as usize),
        1 => Leave::AtMs(rng.below(4_000)),
        _ => Leave::Never,
    };
    let plan = Plan {
        shape,
        faults,
        leave,
        store_faults: faults != "none" && rng.chance(0.3),
        crash_at_ms: (faults != "none" && rng.chance(0.15)).then(|| rng.below(5_000)),
        late_timers: rng.chance(0.2),
        idle_secs: *rng.pick(&[10, 60]),
        boot_delay_ms: rng.below(1_500) as u32,
        edge_tools: match shape {
            Shape::EdgeFinal => Some("get_weather"),
            Shape::EdgeChain => Some(*rng.pick(&["get_weather", "get_weather,calculator"])),
            Shape::EdgeTool => Some("lookup"),
            _ => None,
        },
        tool_mode: *rng.pick(&[ToolMode::Ok, ToolMode::Fails, ToolMode::Hangs, ToolMode::Garbage]),
        fallback: None,
        empty_after_tools: false,
    };
    // Drawn apart, so a seed without a list plays as it always did.
    let mut frng = Rng::new(seed ^ 0x5eed_fa11_bac4);
    let mut plan = plan;
    if shape != Shape::Hostile && frng.chance(0.4) {
        plan.fallback = Some(Fallback {
            edge: vec![MODEL, MODEL_B],
            agent: frng.chance(0.5).then(|| vec![MODEL_B, MODEL]),
            budget_ms: *frng.pick(&[0, 2_000, 15_000]),
            first_down: frng.chance(0.3),
        });
    }
    // Which API each host speaks, drawn apart too: Gemini on either side
    // of a list makes step 1 and the agent's steps cross providers.
    let mut drng = Rng::new(seed ^ 0xd1a1_ec75_6e31);
    let dialect = |rng: &mut Rng| *rng.pick(&[Dialect::Anthropic, Dialect::Anthropic, Dialect::Gemini, Dialect::Responses]);
    let dialects = (dialect(&mut drng), dialect(&mut drng));
    let empty_after_tools = drng.chance(0.1);
    plan.empty_after_tools = empty_after_tools;
    let setup = Setup {
        dialects,
        empty_after_tools,
        latency_ms: 1 + rng.below(40),
        edge_platform: link(&mut rng, faults),
        edge_model: match link(&mut rng, faults) {
            f if plan.fallback.as_ref().is_some_and(|f| f.first_down) => LinkFaults { outage: Some((0, u64::MAX, false)), ..f },
            f => f,
        },
        fallback: plan.fallback.clone(),
        model_b: link(&mut frng, faults),
        boot_delay_ms: plan.boot_delay_ms,
        idle_secs: plan.idle_secs,
        model_ttfb_ms: 50 + rng.below(800) as u32,
        model_token_ms: 1 + rng.below(30) as u32,
        edge_tools: plan.edge_tools,
        tools_link: link(&mut rng, faults),
        tool_mode: plan.tool_mode,
    };
    (plan, setup, rng)
}

fn answer_of(shape: Shape) -> Answer {
    match shape {
        Shape::OneTool | Shape::Turn2Direct | Shape::Detached | Shape::EdgeFinal => Answer::OneTool,
        Shape::EdgeChain => Answer::Chain,
        Shape::EdgeTool => Answer::Lookup,
        Shape::ParallelTools => Answer::ParallelTools,
        Shape::ErrorMidStep => Answer::ErrorMidStream,
        Shape::Stall => Answer::Stall,
        Shape::Malformed => Answer::Malformed,
        _ => Answer::Text,
    }
}

fn head_start_body(chat_id: &str, text: &str) -> Vec<u8> {
    json!({ "chatId": chat_id, "headStartMessages": [
        { "id": "u1", "role": "user", "parts": [{ "type": "text", "text": text }] } ] })
    .to_string()
    .into_bytes()
}

/// A body a hostile or careless client might send.
fn hostile_body(rng: &mut Rng) -> Vec<u8> {
    let odd = ["İweather in ẞ", "\u{0}", "\u{202e}evil", "😀😀", "\u{fffd}", "a\r\nb", "%00", "../..", "session_x", ""];
    match rng.below(8) {
        0 => (0..rng.below(200)).map(|_| rng.below(256) as u8).collect(),
        1 => json!({ "chatId": *rng.pick(&odd), "headStartMessages": [] }).to_string().into_bytes(),
        2 => json!({ "chatId": "c", "headStartMessages": [{ "id": 1, "role": "robot", "parts": "x" }] }).to_string().into_bytes(),
        3 => json!({ "chatId": "c".repeat(rng.below(400) as usize + 1), "headStartMessages": "no" }).to_string().into_bytes(),
        4 => vec![b'['; rng.below(100_000) as usize],
        5 => json!({ "chatId": "c", "headStartMessages": [{ "id": "u", "role": "user", "parts": [{ "type": "text", "text": "x".repeat(40_000) }] }] })
            .to_string()
            .into_bytes(),
        6 => json!([1, 2, 3]).to_string().into_bytes(),
        _ => {
            let (a, b) = (*rng.pick(&odd), *rng.pick(&odd));
            head_start_body(a, b)
        }
    }
}

/// What the client saw, for the checks.
#[derive(Default)]
struct Seen {
    head_start: Option<RouteOutcome>,
    /// `.out` when the head start ended (a later turn may trim it).
    out_after_head_start: Vec<SequencedRecord>,
    start: Option<RouteOutcome>,
    direct: Vec<DirectOutcome>,
    done: bool,
}

/// A seed that passed: its kind, and the SSE body of a head start the
/// browser read to its end (for the AI SDK's parser).
pub struct Report {
    pub kind: String,
    pub sse: Option<String>,
}

pub fn run(seed: u64) -> Result<Report, String> {
    let (plan, setup, mut rng) = plan(seed);
    let late = if plan.late_timers { (0.2, 500) } else { (0.0, 0) };
    let clock = SimClock::new(rng.fork(), late.0, late.1);
    let mut sim = Sim::new(clock.clone());
    let world = Rc::new(World::new(&clock, sim.spawner(), &mut rng, &setup, answer_of(plan.shape)));
    if plan.store_faults {
        let mut frng = rng.fork();
        let odds = 0.05 + (frng.below(10) as f64) / 100.0;
        world.platform.set_store_faults(move |store| {
            let mut r = frng.clone();
            store.fail_when(move |op: &StoreOp| {
                let _ = op;
                r.chance(odds)
            });
        });
    }
    let mut chat_id = format!("chat-{seed}");
    let seen: Rc<RefCell<Seen>> = Rc::default();
    let body = if plan.shape == Shape::Hostile {
        let body = hostile_body(&mut rng);
        // The chat, if the body names one the routes accept.
        if let Some(id) =
            serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["chatId"].as_str().map(|s| s.trim().to_string()))
        {
            chat_id = id;
        }
        body
    } else {
        head_start_body(&chat_id, "What is the weather in Paris?")
    };
    {
        let (world, clock, seen, chat_id) = (world.clone(), clock.clone(), seen.clone(), chat_id.clone());
        let (shape, leave) = (plan.shape, plan.leave);
        sim.spawner().spawn(async move {
            client_script(&world, &clock, &seen, &chat_id, shape, leave, body).await;
            seen.borrow_mut().done = true;
        });
    }
    if let Some(at) = plan.crash_at_ms {
        let (platform, clock2) = (world.platform.clone(), clock.clone());
        sim.spawner().spawn(async move {
            headstart::io::Clock::sleep(&clock2, at as u32).await;
            platform.crash_all();
        });
    }
    let end = sim.run_until(CLIENT_DEADLINE_MS, || seen.borrow().done);
    let fail = |what: String| -> Result<Report, String> {
        Err(format!("{what}\nplan: {plan:?}\ntrace:\n{}", world.trace.borrow().join("\n")))
    };
    if end != RunEnd::Done {
        return fail(format!("the client is not done after {CLIENT_DEADLINE_MS} ms: {end:?} (a wait without a deadline)"));
    }
    // Let the agent and the background work finish (or time out).
    world.net.calm();
    world.platform.set_store_faults(|_| {});
    for store in world.platform.stores.borrow().values() {
        store.clear_faults();
    }
    // The user comes back later: any request wakes a session object whose
    // run died with its storage, and the run resumes where it stopped.
    if plan.shape != Shape::Hostile {
        let (fetch, clock2, chat) = (world.client_fetch.clone(), clock.clone(), chat_id.clone());
        sim.spawner().spawn(async move {
            headstart::io::Clock::sleep(&clock2, 60_000).await;
            let url = format!(
                "{}/api/v1/sessions/{}",
                crate::world::PLATFORM,
                headstart::platform::client::encode_uri_component(&chat)
            );
            let headers = vec![("authorization".into(), format!("Bearer {}", crate::world::SECRET_KEY))];
            let req = headstart::io::HttpRequest { method: "GET", url, headers, body: String::new() };
            let _ = headstart::io::Fetch::fetch(&fetch, &req).await;
        });
    }
    sim.run_until(WORLD_END_MS, || false);
    let seen = seen.borrow();
    if let Err(e) = checks(&plan, &world, &seen, &chat_id) {
        return fail(e);
    }
    let sse = seen
        .head_start
        .as_ref()
        .filter(|o| o.status == Some(200) && o.end == Some(End::Clean) && !o.raw.is_empty())
        .map(|o| o.raw.clone());
    // `+fellback`: the edge called the second model (its first failed
    // before a byte reached the browser).
    // `+agentfellback`: the agent called the second model of its list.
    let called = |from: &str, host: &str| world.net.log.borrow().iter().any(|ex| ex.from == from && ex.url.starts_with(host));
    let mut list = match &plan.fallback {
        None => String::new(),
        Some(f) => {
            let agent_second = if f.agent.is_some() { MODEL } else { MODEL_B };
            let mut label = "+list".to_string();
            if called("edge", MODEL_B) {
                label.push_str("+fellback");
            }
            if called("agent", agent_second) {
                label.push_str("+agentfellback");
            }
            label
        }
    };
    // `+gemini`, `+responses`: the first host's API, unless Anthropic's;
    // `+geminiB`, `+responsesB`: the second's, with a list.
    let name = |d: Dialect| match d {
        Dialect::Anthropic => "",
        Dialect::Gemini => "gemini",
        Dialect::Responses => "responses",
    };
    if setup.dialects.0 != Dialect::Anthropic {
        list.push_str(&format!("+{}", name(setup.dialects.0)));
    }
    if plan.empty_after_tools {
        list.push_str("+empty");
    }
    if plan.fallback.is_some() && setup.dialects.1 != Dialect::Anthropic {
        list.push_str(&format!("+{}B", name(setup.dialects.1)));
    }
    Ok(Report { kind: format!("{:?}/{}{list}", plan.shape, plan.faults), sse })
}

async fn client_script(
    world: &World,
    clock: &SimClock,
    seen: &RefCell<Seen>,
    chat_id: &str,
    shape: Shape,
    leave: Leave,
    body: Vec<u8>,
) {
    match shape {
        Shape::PreloadThenDirect | Shape::Stop => {
            let start = client::post_route(
                &world.routes,
                clock,
                "/api/chat/start",
                json!({ "chatId": chat_id }).to_string().into_bytes(),
                Leave::Never,
            )
            .await;
            let token = start
                .json
                .as_deref()
                .and_then(|j| serde_json::from_str::<Value>(j).ok())
                .and_then(|v| v["publicAccessToken"].as_str().map(str::to_string));
            seen.borrow_mut().start = Some(start);
            let Some(token) = token else { return };
            headstart::io::Clock::sleep(clock, 1_000).await;
            let stop_after = (shape == Shape::Stop).then_some(3);
            let turn =
                client::direct_turn(&world.client_fetch, clock, chat_id, &token, None, "Tell me a story", stop_after).await;
            seen.borrow_mut().direct.push(turn);
        }
        Shape::Detached => {
            let out = client::post_route(&world.routes, clock, "/api/chat/detached", body, Leave::Never).await;
            seen.borrow_mut().head_start = Some(out);
        }
        _ => {
            let out = client::post_route(&world.routes, clock, "/api/chat", body, leave).await;
            let token = out.header("x-trigger-chat-access-token").map(str::to_string);
            let cursor = out
                .chunks
                .iter()
                .filter_map(|c| serde_json::from_str::<Value>(c).ok())
                .find(|c| c["type"] == "trigger:session-state")
                .and_then(|c| c["lastEventId"].as_str().and_then(|s| s.parse::<u64>().ok()));
            // An edge-finished turn ends on its cursor, without the agent's
            // turn-complete.
            let completed = out.chunks.iter().any(|c| c.contains("\"trigger:turn-complete\""))
                || (shape == Shape::EdgeFinal && cursor.is_some());
            {
                let mut seen = seen.borrow_mut();
                seen.head_start = Some(out);
                seen.out_after_head_start = records(world, chat_id, Io::Out);
            }
            if matches!(shape, Shape::Turn2Direct | Shape::EdgeFinal) && completed {
                if let (Some(token), Some(cursor)) = (token, cursor) {
                    let turn =
                        client::direct_turn(&world.client_fetch, clock, chat_id, &token, Some(cursor), "And in Tokyo?", None)
                            .await;
                    seen.borrow_mut().direct.push(turn);
                }
            }
        }
    }
}

fn records(world: &World, chat_id: &str, io: Io) -> Vec<SequencedRecord> {
    world.platform.store(chat_id).map(|s| s.records(io)).unwrap_or_default()
}

fn checks(plan: &Plan, world: &World, seen: &Seen, chat_id: &str) -> Result<(), String> {
    let log = world.net.log.borrow();
    let faulted = plan.faults != "none" || plan.store_faults || plan.crash_at_ms.is_some();
    if plan.shape == Shape::Hostile {
        let out = seen.head_start.as_ref().ok_or("no answer to the hostile request")?;
        // Odd but valid input (a chat id of emoji) is a turn like any other;
        // a browser gone before the headers leaves nothing more to check.
        let Some(status) = out.status else { return agent_not_waiting(world, chat_id, &log) };
        if status >= 500 {
            return Err(format!("hostile input got {status}: {:?}", out.json));
        }
        if status >= 400 {
            let body: Value =
                serde_json::from_str(out.json.as_deref().unwrap_or("")).map_err(|e| format!("a {status} without JSON: {e}"))?;
            if !body["error"].is_string() || !body["code"].is_string() {
                return Err(format!("a {status} without error and code: {body}"));
            }
            if let Some(ex) = log.first() {
                return Err(format!("a refused request spent something: {} {}", ex.method, ex.url));
            }
            return Ok(());
        }
    }
    if let Some(out) = &seen.head_start {
        let out_records =
            if seen.direct.is_empty() { records(world, chat_id, Io::Out) } else { seen.out_after_head_start.clone() };
        head_start_checks(plan, world, out, &out_records, chat_id, faulted)?;
    }
    if let Some(start) = &seen.start {
        match start.status {
            Some(200) => {}
            Some(s) if s >= 500 && !faulted => return Err(format!("start answered {s} with no fault injected")),
            Some(s) if s >= 400 => json_error(start)?,
            _ => {}
        }
    }
    for turn in &seen.direct {
        if turn.turn_complete.is_none() && !faulted {
            return Err(format!("a direct turn did not complete with no fault injected: {:?}", turn.error));
        }
        if turn.turn_complete.is_some() {
            check::ui_stream(&turn.chunks, true).map_err(|e| format!("direct turn: {e}"))?;
            if !faulted && plan.shape != Shape::Stop {
                answered(plan, &turn.chunks).map_err(|e| format!("a direct turn, with no fault injected: {e}"))?;
            }
        }
        one_model_per_step(&turn.chunks).map_err(|e| format!("direct turn: {e}"))?;
        if plan.shape == Shape::Stop && turn.turn_complete.is_some() && !faulted {
            let stopped = turn.chunks.iter().any(|c| c["type"] == "abort");
            let finished = turn.chunks.iter().any(|c| c["type"] == "finish");
            if !stopped && !finished {
                return Err("a stopped turn has neither abort nor finish".into());
            }
        }
    }
    // Not when waiting out a down first model's retries pushes the turn
    // past a 10 s idle limit: the edge may then hand over step 1's calls
    // before running them, and the agent builds that message as the SDK
    // does from a step-1 handover (§7.4: no step-start, no call metadata).
    let slowed = plan.fallback.as_ref().is_some_and(|f| f.first_down && f.budget_ms > 0);
    if plan.edge_tools.is_some() && !faulted && !slowed {
        if let Some(out) = &seen.head_start {
            transcript_is_what_the_browser_assembled(world, out, chat_id)?;
        }
    }
    if plan.fallback.is_none() {
        if let Some(ex) = log.iter().find(|ex| ex.url.starts_with(MODEL_B)) {
            return Err(format!("the fallback host was called with no model list: {} {}", ex.method, ex.url));
        }
    }
    check::acked_appends_stored(&log, &world.platform.stores.borrow())?;
    check::no_doubled_inputs(&records(world, chat_id, Io::In))?;
    Ok(())
}

/// A turn the model answered: the words of a model host reached the
/// browser and nothing went wrong (whatever API the host speaks, its answer
/// was read as it was meant).
fn answered(plan: &Plan, chunks: &[Value]) -> Result<(), String> {
    // After tool results an empty answer is what the host was told to give.
    let needs_text = !plan.empty_after_tools || plan.shape == Shape::Text;
    if let Some(e) = chunks.iter().find(|c| c["type"] == "error") {
        return Err(format!("an error chunk: {e}"));
    }
    if !needs_text {
        return Ok(());
    }
    let spoke = chunks.iter().any(|c| c["type"] == "text-delta" && c["delta"].as_str().and_then(Voice::of).is_some());
    if !spoke {
        return Err(format!("no text of a model host: {}", short(chunks)));
    }
    Ok(())
}

/// No fallback after a byte reached the client: every step (from one
/// `start-step` to the next) shows the words and tool calls of one model.
fn one_model_per_step(chunks: &[Value]) -> Result<(), String> {
    let mut voice: Option<Voice> = None;
    for (i, chunk) in chunks.iter().enumerate() {
        let said = match chunk["type"].as_str().unwrap_or_default() {
            "start-step" => {
                voice = None;
                continue;
            }
            "text-delta" => chunk["delta"].as_str(),
            "tool-input-start" | "tool-input-available" => chunk["toolCallId"].as_str(),
            _ => continue,
        };
        let Some(now) = said.and_then(Voice::of) else { continue };
        match voice {
            Some(before) if before != now => {
                return Err(format!(
                    "chunk {i}: model {now:?} wrote in a step model {before:?} had begun (a fallback after the first byte)"
                ))
            }
            _ => voice = Some(now),
        }
    }
    Ok(())
}

fn json_error(out: &RouteOutcome) -> Result<(), String> {
    let body: Value =
        serde_json::from_str(out.json.as_deref().unwrap_or("")).map_err(|e| format!("an error answer without JSON: {e}"))?;
    if body["error"].is_string() && body["code"].is_string() {
        Ok(())
    } else {
        Err(format!("an error answer without error and code: {body}"))
    }
}

fn head_start_checks(
    plan: &Plan,
    world: &World,
    out: &RouteOutcome,
    out_records: &[SequencedRecord],
    chat_id: &str,
    faulted: bool,
) -> Result<(), String> {
    let log = world.net.log.borrow();
    let left = out.end == Some(End::Left);
    let Some(status) = out.status else {
        // Left before the headers.
        return agent_not_waiting(world, chat_id, &log);
    };
    if status != 200 {
        json_error(out)?;
        if status >= 500 && !faulted {
            return Err(format!("the head start answered {status} with no fault injected: {:?}", out.json));
        }
        return agent_not_waiting(world, chat_id, &log);
    }
    if plan.shape == Shape::Detached {
        let body: Value = serde_json::from_str(out.json.as_deref().unwrap_or("")).map_err(|e| format!("detached answer: {e}"))?;
        if body["publicAccessToken"].as_str().is_none_or(str::is_empty) {
            return Err(format!("detached answer without a token: {body}"));
        }
        return agent_not_waiting(world, chat_id, &log);
    }
    if !out.stray.is_empty() {
        return Err(format!("bytes that are not data frames: {:?}", out.stray));
    }
    let chunks: Vec<Value> = out
        .chunks
        .iter()
        .map(|c| serde_json::from_str(c).map_err(|e| format!("a frame that is not JSON ({e}): {c}")))
        .collect::<Result<_, _>>()?;
    check::ui_stream(&chunks, !left)?;
    one_model_per_step(&chunks)?;
    // Waiting out a down first model's retries may outlast a 10 s idle
    // limit, which ends the turn with `abort`, as configured.
    let slowed = plan.fallback.as_ref().is_some_and(|f| f.first_down && f.budget_ms > 0);
    let answers = matches!(
        plan.shape,
        Shape::Text
            | Shape::OneTool
            | Shape::ParallelTools
            | Shape::Turn2Direct
            | Shape::EdgeFinal
            | Shape::EdgeChain
            | Shape::EdgeTool
    );
    if answers && !faulted && !left && !slowed {
        answered(plan, &chunks).map_err(|e| format!("the head start, with no fault injected: {e}"))?;
    }
    agent_not_waiting(world, chat_id, &log)?;
    // `.out` holds what the browser got.
    let mine: Vec<Value> = chunks
        .iter()
        .filter(|c| !c["type"].as_str().unwrap_or_default().starts_with("trigger:") && !check::is_edge_error(c))
        .cloned()
        .collect();
    let (stored, complete) = check::out_turn(out_records);
    let got_turn_complete = chunks.iter().any(|c| c["type"] == "trigger:turn-complete");
    let write_faulted = check::edge_write_faulted(&log) || plan.store_faults || plan.crash_at_ms.is_some();
    if got_turn_complete {
        if !complete {
            return Err("the browser got trigger:turn-complete but .out has no turn-complete".into());
        }
        if stored != mine && !write_faulted {
            return Err(format!(
                ".out differs from what the browser got:\n  .out:    {}\n  browser: {}",
                short(&stored),
                short(&mine)
            ));
        }
    } else if !mine.is_empty() && !write_faulted && !stored.starts_with(&mine) && !left {
        return Err(format!(
            "what the browser got is not a prefix of .out:\n  .out:    {}\n  browser: {}",
            short(&stored),
            short(&mine)
        ));
    }
    Ok(())
}

fn agent_not_waiting(world: &World, chat_id: &str, log: &[crate::net::Exchange]) -> Result<(), String> {
    let Some(store) = world.platform.store(chat_id) else { return Ok(()) };
    let Some(row) = store.row() else { return Ok(()) };
    let prepared = row.trigger_config.base_payload.get("trigger").and_then(Value::as_str) == Some("handover-prepare");
    if !prepared {
        return Ok(());
    }
    let input = store.records(Io::In);
    if check::has_decision(&input) {
        return Ok(());
    }
    if check::handover_timed_out(&store.records(Io::Out)) {
        return if check::edge_decision_exhausted(log) {
            Ok(())
        } else {
            Err("the agent waited out its handover timeout, and the edge never spent its retries telling it".into())
        };
    }
    Err(format!("the agent is left waiting: no handover or skip on .in, and no timeout recorded (run state {:?})", row.run_state))
}

fn short(chunks: &[Value]) -> String {
    let types: Vec<String> = chunks.iter().map(|c| c["type"].as_str().unwrap_or("?").to_string()).collect();
    types.join(",")
}

/// After a head start the browser read to its end, the agent's transcript
/// holds the assistant message the browser assembled, part for part.
fn transcript_is_what_the_browser_assembled(world: &World, out: &RouteOutcome, chat_id: &str) -> Result<(), String> {
    if out.status != Some(200) || out.end != Some(End::Clean) {
        return Ok(());
    }
    let chunks: Vec<Value> = out.chunks.iter().filter_map(|c| serde_json::from_str(c).ok()).collect();
    if !chunks.iter().any(|c| c["type"] == "trigger:session-state") || chunks.iter().any(check::is_edge_error) {
        return Ok(());
    }
    let mut builder = headstart::agent::transcript::MessageBuilder::new(None);
    for chunk in chunks.iter().filter(|c| !c["type"].as_str().unwrap_or_default().starts_with("trigger:")) {
        let chunk: headstart::protocol::UiChunk =
            serde_json::from_value(chunk.clone()).map_err(|e| format!("a chunk the crate cannot read ({e}): {chunk}"))?;
        builder.push(&chunk).map_err(|e| format!("the browser's stream does not assemble: {e}"))?;
    }
    let browser = serde_json::to_value(builder.message()).unwrap();
    let store = world.platform.store(chat_id).ok_or("no session store")?;
    let transcript: Value = store.raw("transcript").and_then(|t| serde_json::from_str(&t).ok()).ok_or("no transcript saved")?;
    let saved = transcript
        .as_array()
        .and_then(|m| m.iter().find(|m| m["id"] == browser["id"]))
        .ok_or_else(|| format!("the transcript lacks the head start's message {}: {transcript}", browser["id"]))?;
    if *saved != browser {
        return Err(format!(
            "the agent's transcript differs from what the browser assembled:\n  agent:   {saved}\n  browser: {browser}"
        ));
    }
    Ok(())
}
