//! The scripted model: an offline, deterministic LLM for `npm start`, the
//! tests and the benchmarks when no API key is configured.
//!
//! It answers by rules, looking at the conversation the way a real model
//! would see it: tool results since the last user message get a final answer
//! that uses them; a request that a configured tool can serve (weather in a
//! city, arithmetic, a URL) gets a tool call, several at once when the user
//! names several cities, and a follow-up after a weather answer ("and in
//! London?") asks the weather again; arithmetic asked for beside the
//! weather gets a second step of its own; `[call:NAME]` calls any offered
//! tool (an HTTP tool, say); anything else gets a plain text reply. Timing (time
//! to first byte, time per token) is part of its output, so the IO layer can
//! play it back at a realistic pace, and faults can be asked for in the
//! message itself (`[fault:error]`, `[fault:stall]`, `[fault:http-429]`,
//! `[fault:http-500]`) or in the configuration.

use serde_json::{json, Value};

use super::error::ProviderError;
use super::part::{StreamPart, Usage};
use super::CallOptions;
use crate::protocol::message::FinishReason;
use crate::protocol::model::{Content, ModelMessage, ModelPart, ToolOutput};

/// Default time to first byte, ms: close to the seed's measured LLM TTFB.
pub const DEFAULT_TTFB_MS: u32 = 300;
/// Default time per token, ms.
pub const DEFAULT_TOKEN_MS: u32 = 15;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedConfig {
    pub ttfb_ms: u32,
    pub token_ms: u32,
    /// A fault for every call (tests); a `[fault:...]` directive in the
    /// last user message also selects one.
    pub fault: Option<Fault>,
}

impl Default for ScriptedConfig {
    fn default() -> Self {
        Self { ttfb_ms: DEFAULT_TTFB_MS, token_ms: DEFAULT_TOKEN_MS, fault: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An `overloaded_error` in the middle of the text.
    ErrorMidStream,
    /// The stream goes silent in the middle of the text and stays open.
    Stall,
    /// The API answers with this status before streaming.
    Http(u16),
}

impl Fault {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "error" => Some(Self::ErrorMidStream),
            "stall" => Some(Self::Stall),
            s => s.strip_prefix("http-").and_then(|n| n.parse().ok()).map(Self::Http),
        }
    }
}

/// A part and when it is due, in ms after the call started.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedPart {
    pub at_ms: u32,
    pub part: StreamPart,
}

/// What a scripted call does.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Stream these parts; when `stalls`, keep the stream open after them.
    Stream { parts: Vec<TimedPart>, stalls: bool },
    /// Fail before streaming, after `at_ms`.
    Fail { at_ms: u32, error: ProviderError },
}

/// Plans the answer to one call.
pub fn plan(config: &ScriptedConfig, options: &CallOptions) -> Plan {
    let user_text = last_user_text(&options.messages);
    let fault = directive(&user_text).or(config.fault);
    if let Some(Fault::Http(status)) = fault {
        let (kind, message) = match status {
            429 => ("rate_limit_error", "Rate limited (scripted fault)"),
            529 => ("overloaded_error", "Overloaded (scripted fault)"),
            s if s >= 500 => ("api_error", "Internal server error (scripted fault)"),
            _ => ("invalid_request_error", "Invalid request (scripted fault)"),
        };
        return Plan::Fail {
            at_ms: config.ttfb_ms,
            error: ProviderError::Http {
                provider: "scripted",
                status,
                kind: Some(kind.into()),
                message: message.into(),
                retry_after_ms: (status == 429).then_some(1000),
            },
        };
    }

    let answer = answer(options, &user_text);
    let mut out = Timeline { parts: Vec::new(), now: config.ttfb_ms, token_ms: config.token_ms };
    let tokens = tokens(&answer.text);
    let cut = match fault {
        Some(Fault::ErrorMidStream | Fault::Stall) => Some(tokens.len().div_ceil(2).max(1)),
        _ => None,
    };
    if !tokens.is_empty() {
        out.at_once(StreamPart::TextStart { id: "0".into(), provider_metadata: None });
        for (i, token) in tokens.iter().enumerate() {
            if i > 0 {
                out.now += out.token_ms;
            }
            out.at_once(StreamPart::TextDelta { id: "0".into(), delta: token.clone(), provider_metadata: None });
            if cut == Some(i + 1) {
                return match fault {
                    Some(Fault::Stall) => Plan::Stream { parts: out.parts, stalls: true },
                    _ => {
                        out.now += out.token_ms;
                        out.at_once(StreamPart::Error(ProviderError::Stream {
                            provider: "scripted",
                            kind: "overloaded_error".into(),
                            message: "Overloaded (scripted fault)".into(),
                        }));
                        Plan::Stream { parts: out.parts, stalls: false }
                    }
                };
            }
        }
        out.at_once(StreamPart::TextEnd { id: "0".into(), provider_metadata: None });
    }
    for (id, name, input) in &answer.calls {
        let input = input.to_string();
        out.now += out.token_ms;
        out.at_once(StreamPart::ToolInputStart { id: id.clone(), tool_name: name.clone(), provider_metadata: None });
        // Two pieces, as real providers stream partial JSON.
        let mid = input.char_indices().nth(input.chars().count() / 2).map_or(0, |(i, _)| i);
        for piece in [&input[..mid], &input[mid..]] {
            out.now += out.token_ms;
            out.at_once(StreamPart::ToolInputDelta { id: id.clone(), delta: piece.to_string() });
        }
        out.at_once(StreamPart::ToolInputEnd { id: id.clone() });
        out.at_once(StreamPart::ToolCall { tool_call_id: id.clone(), tool_name: name.clone(), input, provider_metadata: None });
    }
    let reason = if answer.calls.is_empty() { FinishReason::Stop } else { FinishReason::ToolCalls };
    let prompt_chars: usize = options.messages.iter().map(|m| serde_json::to_string(m).map_or(0, |s| s.len())).sum();
    out.at_once(StreamPart::Finish {
        raw_reason: Some(if answer.calls.is_empty() { "end_turn" } else { "tool_use" }.into()),
        reason,
        usage: Usage {
            input_tokens: Some((prompt_chars / 4) as u64),
            output_tokens: Some((tokens.len() + 8 * answer.calls.len()) as u64),
            ..Usage::default()
        },
        provider_metadata: None,
    });
    Plan::Stream { parts: out.parts, stalls: false }
}

struct Timeline {
    parts: Vec<TimedPart>,
    now: u32,
    token_ms: u32,
}

impl Timeline {
    fn at_once(&mut self, part: StreamPart) {
        self.parts.push(TimedPart { at_ms: self.now, part });
    }
}

struct Answer {
    text: String,
    calls: Vec<(String, String, Value)>,
}

fn answer(options: &CallOptions, user_text: &str) -> Answer {
    let has_tool = |name: &str| options.tools.iter().any(|t| t.name == name);
    let results = tool_results_since_last_user(&options.messages);
    let seed = fnv1a(&format!("{}:{user_text}", options.messages.len()));
    let call_id = |i: usize| format!("call_{seed:08x}_{i}");
    if !results.is_empty() {
        // A second step: arithmetic asked for beside the weather gets its
        // own call once the weather is in (a multi-step turn).
        let called = |name: &str| results.iter().any(|(n, _)| n == name);
        if has_tool("calculator") && !called("calculator") {
            if let Some(expr) = arithmetic(&strip_directives(user_text)) {
                return Answer {
                    text: "Now the calculation.".into(),
                    calls: vec![(call_id(0), "calculator".into(), json!({ "expression": expr }))],
                };
            }
        }
        let sentences: Vec<String> = results.iter().map(|(name, output)| describe_result(name, output)).collect();
        return Answer { text: sentences.join(" "), calls: vec![] };
    }
    let lower = user_text.to_lowercase();
    // `[call:NAME]` calls any offered tool (an HTTP tool, say) with the
    // rest of the message as its `query`.
    if let Some(name) = call_directive(user_text).filter(|n| has_tool(n)) {
        return Answer {
            text: format!("Let me ask {name}."),
            calls: vec![(call_id(0), name.to_string(), json!({ "query": strip_directives(user_text).trim() }))],
        };
    }

    if has_tool("get_weather") {
        let mut cities = weather_cities(user_text);
        if cities.is_empty() && last_tool_before_user(&options.messages).as_deref() == Some("get_weather") {
            cities = follow_up_cities(user_text);
        }
        if !cities.is_empty() {
            let calls: Vec<_> =
                cities.iter().enumerate().map(|(i, c)| (call_id(i), "get_weather".to_string(), json!({ "city": c }))).collect();
            let text = format!("Let me check the weather in {}.", join_and(&cities));
            return Answer { text, calls };
        }
    }
    if has_tool("calculator") {
        if let Some(expr) = arithmetic(user_text) {
            return Answer {
                text: "Let me calculate that.".into(),
                calls: vec![(call_id(0), "calculator".into(), json!({ "expression": expr }))],
            };
        }
    }
    if has_tool("fetch_url") {
        if let Some(url) = user_text.split_whitespace().find(|w| w.starts_with("http://") || w.starts_with("https://")) {
            let url = url.trim_end_matches(['.', ',', '?', '!', ')', '"', '\'']);
            return Answer {
                text: "Let me fetch that page.".into(),
                calls: vec![(call_id(0), "fetch_url".into(), json!({ "url": url }))],
            };
        }
    }
    let shown: String = strip_directives(user_text).chars().take(200).collect();
    let text = if ["hi", "hello", "hey"].iter().any(|g| lower.trim_start().starts_with(g)) {
        "Hello! I am the scripted model. Ask me about the weather in a city, or for a calculation.".to_string()
    } else if shown.trim().is_empty() {
        "I am the scripted model. What would you like to know?".to_string()
    } else {
        format!("You said: \u{201c}{}\u{201d}. I am the scripted model: I answer offline and deterministically, so this reply is the same on every run.", shown.trim())
    };
    Answer { text, calls: vec![] }
}

/// Cities after "weather in", split on commas and "and".
fn weather_cities(text: &str) -> Vec<String> {
    const KEY: &str = "weather in ";
    let Some(at) = find_ascii_case_insensitive(text, KEY) else { return vec![] };
    let rest = &text[at + KEY.len()..];
    let end = rest.find(['?', '.', '!', '\n']).unwrap_or(rest.len());
    rest[..end]
        .split(',')
        .flat_map(|s| s.split(" and "))
        .map(|s| strip_directives(s).trim().to_string())
        .filter(|s| !s.is_empty())
        .take(5)
        .collect()
}

/// The places of a follow-up ("and in London?", "what about Rome and
/// Oslo?", "how about Tokyo?"), as a model reads them after a weather answer.
fn follow_up_cities(text: &str) -> Vec<String> {
    let text = strip_directives(text);
    let text = text.trim_start();
    let rest = ["and in ", "what about ", "how about ", "and ", "in "]
        .iter()
        .find_map(|lead| text.get(..lead.len()).filter(|head| head.eq_ignore_ascii_case(lead)).map(|_| &text[lead.len()..]));
    let Some(rest) = rest else { return vec![] };
    let end = rest.find(['?', '.', '!', '\n']).unwrap_or(rest.len());
    // Places are names: "and more?" is not a place.
    rest[..end]
        .split(',')
        .flat_map(|s| s.split(" and "))
        .map(|s| s.trim().trim_start_matches("in ").trim().to_string())
        .filter(|s| s.chars().next().is_some_and(char::is_uppercase))
        .take(5)
        .collect()
}

/// The name of the last tool called before the last user message: what the
/// conversation was about.
fn last_tool_before_user(messages: &[ModelMessage]) -> Option<String> {
    let end = messages.iter().rposition(|m| matches!(m, ModelMessage::User(_)))?;
    messages[..end].iter().rev().flat_map(|m| m.parts().iter().rev()).find_map(|p| match p {
        ModelPart::ToolCall(c) => Some(c.tool_name.clone()),
        _ => None,
    })
}

/// Byte offset of `needle` (ASCII) in `text`, ignoring ASCII case. Not
/// `to_lowercase().find(..)`: lower-casing changes the byte length of some
/// letters ('İ', 'ẞ', 'Ⱥ'), so an offset into the lower-cased copy is not
/// one into `text`. A match holds only ASCII bytes, so it starts and ends on
/// character boundaries of `text`.
fn find_ascii_case_insensitive(text: &str, needle: &str) -> Option<usize> {
    debug_assert!(needle.is_ascii());
    text.as_bytes().windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The longest run of arithmetic characters holding a digit and an operator.
fn arithmetic(text: &str) -> Option<String> {
    let is_expr = |c: char| c.is_ascii_digit() || " .+-*/()^%".contains(c);
    text.split(|c: char| !is_expr(c))
        .map(str::trim)
        .filter(|s| s.chars().any(|c| c.is_ascii_digit()) && s.chars().any(|c| "+-*/^%".contains(c)))
        .max_by_key(|s| s.len())
        .map(str::to_string)
}

fn describe_result(name: &str, output: &Value) -> String {
    match (name, output) {
        ("get_weather", Value::Object(o)) => {
            let city = o.get("city").and_then(Value::as_str).unwrap_or("there");
            let temp = o.get("temperatureC").map(|t| t.to_string()).unwrap_or_else(|| "?".into());
            let cond = o.get("condition").and_then(Value::as_str).unwrap_or("unknown");
            format!("It is {temp} °C and {cond} in {city}.")
        }
        ("calculator", Value::Object(o)) if o.contains_key("result") => {
            format!("{} = {}.", o.get("expression").and_then(Value::as_str).unwrap_or("The result"), o["result"])
        }
        (_, Value::String(s)) => format!("{name} returned: {}.", s.chars().take(200).collect::<String>()),
        (_, v) => format!("{name} returned {v}."),
    }
}

fn tool_results_since_last_user(messages: &[ModelMessage]) -> Vec<(String, Value)> {
    let start = messages.iter().rposition(|m| matches!(m, ModelMessage::User(_))).map_or(0, |i| i + 1);
    messages[start..]
        .iter()
        .filter(|m| matches!(m, ModelMessage::Tool(_)))
        .flat_map(|m| m.parts())
        .filter_map(|p| match p {
            ModelPart::ToolResult(r) => Some((r.tool_name.clone(), output_value(&r.output))),
            _ => None,
        })
        .collect()
}

fn output_value(output: &ToolOutput) -> Value {
    match output {
        ToolOutput::Text(v)
        | ToolOutput::Json(v)
        | ToolOutput::ErrorText(v)
        | ToolOutput::ErrorJson(v)
        | ToolOutput::Content(v) => v.value.clone().unwrap_or(Value::Null),
        ToolOutput::ExecutionDenied(_) => Value::String("execution denied".into()),
        ToolOutput::Unknown(o) => Value::Object(o.clone()),
    }
}

fn last_user_text(messages: &[ModelMessage]) -> String {
    let Some(ModelMessage::User(m)) = messages.iter().rev().find(|m| matches!(m, ModelMessage::User(_))) else {
        return String::new();
    };
    match &m.content {
        Content::Text(t) => t.clone(),
        Content::Parts(parts) => parts
            .iter()
            .filter_map(|p| match p {
                ModelPart::Text(t) => Some(t.text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn directive(text: &str) -> Option<Fault> {
    let start = text.find("[fault:")? + "[fault:".len();
    let end = text[start..].find(']')? + start;
    Fault::parse(&text[start..end])
}

fn call_directive(text: &str) -> Option<&str> {
    let start = text.find("[call:")? + "[call:".len();
    let end = text[start..].find(']')? + start;
    Some(text[start..end].trim())
}

fn strip_directives(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = [rest.find("[fault:"), rest.find("[call:")].into_iter().flatten().min() {
        out.push_str(&rest[..start]);
        rest = rest[start..].find(']').map_or("", |end| &rest[start + end + 1..]);
    }
    out.push_str(rest);
    out
}

/// Word-sized tokens that keep their trailing space, as model deltas do.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x01000193))
}

#[cfg(test)]
mod tests;
