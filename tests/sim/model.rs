//! The model host: an Anthropic Messages API, Gemini's
//! `streamGenerateContent` or the OpenAI Responses API (the seed's
//! [`Dialect`]), that answers by the
//! seed's turn shape, streamed at a model's pace in virtual time, so the edge
//! and the agent run their real provider code (request, decoder, retries,
//! stall detection) against it. Two hosts of different dialects make a turn
//! whose step 1 and later steps run on different providers.
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

use crate::dialect::{Dialect, Ev};
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
    pub dialect: Dialect,
    pub answer: Cell<Answer>,
    pub ttfb_ms: u32,
    pub token_ms: u32,
    /// After tool results, answer nothing at all (a finish with no content,
    /// as Gemini sometimes does after a function's result).
    pub empty_after_tools: bool,
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
        let rounds = self.dialect.tool_rounds(&body);
        let after_tools = rounds > 0;
        let answer = match (self.answer.get(), rounds) {
            (Answer::Chain, 1) => Answer::Chain,
            (_, 0) => self.answer.get(),
            _ => Answer::Text,
        };
        if after_tools && answer == Answer::Text && self.empty_after_tools {
            return self.reply(clock, self.written(&[Ev::Start, Ev::Finish { tools: false }]), false);
        }
        let text = self.voice.texts()[usize::from(after_tools)];
        let id = |suffix: &str| format!("{}{suffix}", self.voice.tool_id_prefix());
        let mut events = vec![Ev::Start];
        let words: Vec<String> = text.split_inclusive(' ').map(str::to_string).collect();
        let cut = words.len() / 2;
        let mut tools = true;
        match answer {
            Answer::Chain if rounds == 1 => {
                events.push(Ev::Call { index: 0, id: id("_calc"), name: "calculator", input: json!({ "expression": "6 * 7" }) });
            }
            Answer::Chain => {
                events.push(Ev::Call { index: 0, id: id("0"), name: "get_weather", input: json!({ "city": CITIES[0] }) });
            }
            Answer::Lookup => {
                events.push(Ev::Call {
                    index: 0,
                    id: id("_lookup"),
                    name: "lookup",
                    input: json!({ "query": "flights to Oslo" }),
                });
            }
            Answer::Text | Answer::ErrorMidStream | Answer::Stall | Answer::Malformed => {
                tools = false;
                events.push(Ev::TextStart);
                for (i, word) in words.iter().enumerate() {
                    if answer != Answer::Text && i == cut {
                        match answer {
                            Answer::ErrorMidStream => events.push(Ev::Error),
                            Answer::Malformed => events.push(Ev::Malformed),
                            _ => {}
                        }
                        return self.reply(clock, self.written(&events), answer == Answer::Stall);
                    }
                    events.push(Ev::Word(word.clone()));
                }
                events.push(Ev::TextEnd);
            }
            Answer::OneTool | Answer::ParallelTools => {
                let n = if answer == Answer::OneTool { 1 } else { CITIES.len() };
                for (i, city) in CITIES.iter().take(n).enumerate() {
                    events.push(Ev::Call {
                        index: i,
                        id: id(&i.to_string()),
                        name: "get_weather",
                        input: json!({ "city": city }),
                    });
                }
            }
        }
        events.push(Ev::Finish { tools });
        self.reply(clock, self.written(&events), false)
    }

    /// The events in the host's dialect.
    fn written(&self, events: &[Ev]) -> Vec<String> {
        events.iter().enumerate().flat_map(|(seq, e)| self.dialect.write(e, seq)).collect()
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
