//! The model host: an Anthropic Messages API that answers by the seed's turn
//! shape, streamed at a model's pace in virtual time, so the edge and the
//! agent run their real provider code (request, decoder, retries, stall
//! detection) against it.
//!
//! A seed may run two hosts, the second the fallback of a model list. Each
//! answers in its own voice (words and tool call ids no other host uses), so
//! the checks can tell from the browser's stream which model wrote a step.

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures_util::stream;
use headstart::io::{Clock, HttpRequest};
use serde_json::{json, Value};

use crate::exec::SimClock;
use crate::net::{Handler, Payload, Reply};

/// What a fresh question gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Text,
    OneTool,
    ParallelTools,
    /// Some text, then an `overloaded_error` event.
    ErrorMidStream,
    /// Some text, then silence with the connection open.
    Stall,
    /// Some text, then a `data:` line that is not JSON.
    Malformed,
    /// Three steps: `get_weather`, then `calculator` once its result is
    /// in, then text (edge steps: both at the edge, or the second handed
    /// to the agent).
    Chain,
    /// The `lookup` HTTP tool, then text.
    Lookup,
}

/// Whose words a host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// `http://model.sim`, the first model.
    A,
    /// `http://model-b.sim`, the fallback.
    B,
}

impl Voice {
    /// The answer to a fresh question, and after tool results.
    fn texts(self) -> [&'static str; 2] {
        match self {
            Self::A => [
                "Hello! I am the simulated model, answering your question in a few short words.",
                "Here is the weather you asked for: mild, with a light breeze. Enjoy your day!",
            ],
            Self::B => [
                "Bonjour ! Je suis le modèle de secours, qui répond en quelques mots.",
                "Voici la météo demandée : douce, avec une légère brise. Bonne journée !",
            ],
        }
    }

    fn tool_id_prefix(self) -> &'static str {
        match self {
            Self::A => "toolu_sim",
            Self::B => "toolu_fb",
        }
    }

    /// The voice of a text delta or a tool call id, if a host's.
    pub fn of(text_or_id: &str) -> Option<Self> {
        [Self::A, Self::B].into_iter().find(|v| {
            text_or_id.starts_with(v.tool_id_prefix())
                || v.texts().iter().any(|t| t.split_inclusive(' ').any(|w| w == text_or_id))
        })
    }
}

pub struct Model {
    pub voice: Voice,
    pub answer: Cell<Answer>,
    pub ttfb_ms: u32,
    pub token_ms: u32,
    pub calls: Cell<u32>,
}

pub const CITIES: [&str; 2] = ["Paris", "Tōkyō"];

impl Model {
    pub fn handler(self: &Rc<Self>, clock: SimClock) -> Handler {
        let model = self.clone();
        Rc::new(move |req: HttpRequest| {
            let model = model.clone();
            let clock = clock.clone();
            Box::pin(async move { model.serve(&clock, &req) })
        })
    }

    fn serve(&self, clock: &SimClock, req: &HttpRequest) -> Reply {
        self.calls.set(self.calls.get() + 1);
        let Ok(body) = serde_json::from_str::<Value>(&req.body) else {
            return Reply::json(400, r#"{"type":"error","error":{"type":"invalid_request_error","message":"not JSON"}}"#);
        };
        let is_results = |m: &Value| m["content"].as_array().is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"));
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        // Tool rounds since the user last wrote.
        let rounds =
            messages.iter().rev().take_while(|m| m["role"] == "assistant" || is_results(m)).filter(|m| is_results(m)).count();
        let after_tools = rounds > 0;
        let answer = match (self.answer.get(), rounds) {
            (Answer::Chain, 1) => Answer::Chain,
            (_, 0) => self.answer.get(),
            _ => Answer::Text,
        };
        let text = self.voice.texts()[usize::from(after_tools)];
        let id = |suffix: &str| format!("{}{suffix}", self.voice.tool_id_prefix());
        let mut events = vec![event(
            "message_start",
            json!({"type":"message_start","message":{"id":"msg_sim","type":"message","role":"assistant","model":"claude-sim",
                "content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}),
        )];
        let words: Vec<String> = text.split_inclusive(' ').map(str::to_string).collect();
        let cut = words.len() / 2;
        let mut index = 0;
        let mut stop = "end_turn";
        let call = |events: &mut Vec<String>, index: usize, id: String, name: &str, input: Value| {
            events.push(event(
                "content_block_start",
                json!({"type":"content_block_start","index":index,"content_block":
                    {"type":"tool_use","id":id,"name":name,"input":{}}}),
            ));
            let input = input.to_string();
            let (a, b) = input.split_at(input.len() / 2);
            for piece in [a, b] {
                events.push(event(
                    "content_block_delta",
                    json!({"type":"content_block_delta","index":index,"delta":{"type":"input_json_delta","partial_json":piece}}),
                ));
            }
            events.push(event("content_block_stop", json!({"type":"content_block_stop","index":index})));
        };
        match answer {
            Answer::Chain if rounds == 1 => {
                call(&mut events, 0, id("_calc"), "calculator", json!({ "expression": "6 * 7" }));
                stop = "tool_use";
            }
            Answer::Chain => {
                call(&mut events, 0, id("0"), "get_weather", json!({ "city": CITIES[0] }));
                stop = "tool_use";
            }
            Answer::Lookup => {
                call(&mut events, 0, id("_lookup"), "lookup", json!({ "query": "flights to Oslo" }));
                stop = "tool_use";
            }
            Answer::Text | Answer::ErrorMidStream | Answer::Stall | Answer::Malformed => {
                events.push(event(
                    "content_block_start",
                    json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
                ));
                for (i, word) in words.iter().enumerate() {
                    if answer != Answer::Text && i == cut {
                        events.push(match answer {
                            Answer::ErrorMidStream => {
                                event("error", json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}))
                            }
                            Answer::Malformed => {
                                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"ind\n\n".into()
                            }
                            _ => String::new(),
                        });
                        return self.reply(clock, events, answer == Answer::Stall);
                    }
                    events.push(event(
                        "content_block_delta",
                        json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":word}}),
                    ));
                }
                events.push(event("content_block_stop", json!({"type":"content_block_stop","index":0})));
            }
            Answer::OneTool | Answer::ParallelTools => {
                let n = if answer == Answer::OneTool { 1 } else { CITIES.len() };
                for (i, city) in CITIES.iter().take(n).enumerate() {
                    call(&mut events, index, id(&i.to_string()), "get_weather", json!({ "city": city }));
                    index += 1;
                }
                stop = "tool_use";
            }
        }
        events.push(event(
            "message_delta",
            json!({"type":"message_delta","delta":{"stop_reason":stop,"stop_sequence":null},"usage":{"output_tokens":20}}),
        ));
        events.push(event("message_stop", json!({"type":"message_stop"})));
        self.reply(clock, events, false)
    }

    /// The events as a body paced like a model: the first after the TTFB,
    /// then one per token time.
    fn reply(&self, clock: &SimClock, events: Vec<String>, stall_at_end: bool) -> Reply {
        let state = (VecDeque::from(events), clock.clone(), true, self.ttfb_ms, self.token_ms, stall_at_end);
        let body = stream::unfold(state, |(mut events, clock, first, ttfb, token, stall)| async move {
            clock.sleep(if first { ttfb } else { token }).await;
            match events.pop_front() {
                Some(e) => Some((e.into_bytes(), (events, clock, false, ttfb, token, stall))),
                None if stall => std::future::pending().await,
                None => None,
            }
        });
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: Payload::Stream(Box::pin(body)),
        }
    }
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}
