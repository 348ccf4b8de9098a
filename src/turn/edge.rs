//! Edge steps: when step 1 ends in calls of edge-safe tools only, the
//! handler runs them itself and goes on with step 2 and later steps while
//! the agent boots, instead of waiting for the agent to run them.
//!
//! Edge-safe means the tool needs nothing the agent holds: the built-in
//! tools and HTTP tools declared with an endpoint, named one by one in
//! `HEADSTART_EDGE_TOOLS` (or `edgeTools` of `createHandler`). Nothing is
//! edge-safe unless named. The tools run through the agent's own
//! [`ToolRegistry`]: the egress rule, `HEADSTART_FETCH_ALLOW`, a deadline
//! per call and a bound on every response body apply as they do there.
//!
//! How a turn with edge steps ends (the decision of [`decide`]):
//! - a step ends in text (any finish but tool calls): the whole turn is
//!   handed over as final, every step's response messages and the tool
//!   results between them, in order, under the one message id;
//! - a step calls a tool that is not edge-safe, or the step limit is
//!   reached, or the turn's messages grew past [`MAX_EDGE_MESSAGES_BYTES`]:
//!   the turn is handed over at that point with the pending calls reshaped
//!   as an approved round (as after step 1), and the agent's part spliced;
//! - step 1 fails: `handover-skip`, as without edge steps; a later step
//!   fails: the steps so far (and what the failed one showed) are handed
//!   over as final, so the agent persists what the browser saw.

use crate::agent::tools::{tool_calls, ToolCall, ToolConfigError, ToolOptions, ToolRegistry};
use crate::protocol::handover::{reshape_for_handover, EDGE_LAST_STEP_EMPTY};
use crate::protocol::input::{ChatInput, Handover};
use crate::protocol::json::Object;
use crate::protocol::ModelMessage;
use crate::provider::config::ConfigError;
use crate::provider::step::StepResult;
use crate::provider::tool::ToolSpec;

/// Model steps at the edge by default, step 1 included.
pub const DEFAULT_EDGE_MAX_STEPS: u32 = 4;

/// The most steps `HEADSTART_EDGE_MAX_STEPS` may allow.
pub const EDGE_MAX_STEPS_CEILING: u32 = 16;

/// An edge tool's response body is read up to this many bytes (the agent
/// reads 2 MiB): every result travels in the handover, which the platform
/// caps at 1 MiB.
pub const EDGE_MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// No further edge step once the turn's messages are this large as JSON:
/// the handover that carries them must stay under the platform's 1 MiB.
pub const MAX_EDGE_MESSAGES_BYTES: usize = 512 * 1024;

/// Which tools run at the edge, and for how many steps.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeSteps {
    /// The tools the edge can run (the built-ins and the HTTP tools).
    pub registry: ToolRegistry,
    /// The edge-safe ones, by name; every one is in `registry`.
    pub names: Vec<String>,
    /// Model steps at the edge, step 1 included (at least 2).
    pub max_steps: u32,
}

/// Why an edge configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgeConfigError {
    #[error(transparent)]
    Tools(#[from] ToolConfigError),
    #[error("edge tool \"{0}\" is neither a built-in tool nor an HTTP tool with an endpoint")]
    Unknown(String),
    #[error("the edge step limit must be a whole number from 2 to {EDGE_MAX_STEPS_CEILING}, got {0}")]
    Steps(String),
}

impl EdgeSteps {
    /// `names` of the built-ins and of `http_tools_json` (the agent's
    /// `HEADSTART_HTTP_TOOLS` shape) run at the edge; `None` when `names`
    /// is empty (edge steps off).
    ///
    /// ```
    /// use headstart::agent::tools::ToolOptions;
    /// use headstart::turn::EdgeSteps;
    /// let edge = EdgeSteps::new(ToolOptions::default(), None, &["get_weather".into()], 4).unwrap().unwrap();
    /// assert!(edge.is_edge_safe("get_weather") && !edge.is_edge_safe("fetch_url"));
    /// ```
    pub fn new(
        mut options: ToolOptions,
        http_tools_json: Option<&str>,
        names: &[String],
        max_steps: u32,
    ) -> Result<Option<Self>, EdgeConfigError> {
        let names: Vec<String> = names.iter().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
        if names.is_empty() {
            return Ok(None);
        }
        if !(2..=EDGE_MAX_STEPS_CEILING).contains(&max_steps) {
            return Err(EdgeConfigError::Steps(max_steps.to_string()));
        }
        options.max_response_bytes = options.max_response_bytes.min(EDGE_MAX_RESPONSE_BYTES);
        let registry = ToolRegistry::from_config(options, http_tools_json)?;
        if let Some(unknown) = names.iter().find(|n| !registry.has(n)) {
            return Err(EdgeConfigError::Unknown(unknown.clone()));
        }
        Ok(Some(Self { registry, names, max_steps }))
    }

    /// From the worker's variables: `HEADSTART_EDGE_TOOLS` (comma-separated
    /// tool names; unset or empty: off), `HEADSTART_EDGE_MAX_STEPS`
    /// (default 4), and the agent's `HEADSTART_HTTP_TOOLS` and
    /// `HEADSTART_FETCH_ALLOW`.
    pub fn from_vars(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let invalid = |name: &'static str| move |e: String| ConfigError::Invalid { name, message: e };
        let Some(list) = var("HEADSTART_EDGE_TOOLS") else { return Ok(None) };
        let names: Vec<String> = list.split(',').map(str::to_string).collect();
        let max_steps = match var("HEADSTART_EDGE_MAX_STEPS") {
            None => DEFAULT_EDGE_MAX_STEPS,
            Some(v) => v.trim().parse().map_err(|_| invalid("HEADSTART_EDGE_MAX_STEPS")(format!("not a number: {v:?}")))?,
        };
        let options = ToolOptions::from_vars(var).map_err(|e| invalid("HEADSTART_FETCH_ALLOW")(e.to_string()))?;
        Self::new(options, var("HEADSTART_HTTP_TOOLS").as_deref(), &names, max_steps).map_err(|e| match e {
            EdgeConfigError::Steps(_) => invalid("HEADSTART_EDGE_MAX_STEPS")(e.to_string()),
            EdgeConfigError::Tools(_) => invalid("HEADSTART_HTTP_TOOLS")(e.to_string()),
            EdgeConfigError::Unknown(_) => invalid("HEADSTART_EDGE_TOOLS")(e.to_string()),
        })
    }

    pub fn is_edge_safe(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The schemas of the edge tools the model is not offered yet (an HTTP
    /// tool the model settings do not list): the model must be able to
    /// call what the edge runs.
    pub fn missing_specs(&self, offered: &[ToolSpec]) -> Vec<ToolSpec> {
        self.registry
            .specs()
            .into_iter()
            .filter(|s| self.is_edge_safe(&s.name) && !offered.iter().any(|o| o.name == s.name))
            .collect()
    }

    /// The calls of a finished step when the edge runs them all: the step
    /// ended in tool calls, every one is edge-safe, `steps_done` model
    /// steps leave room for another, and the turn is small enough to carry.
    pub fn next_calls(&self, result: &StepResult, steps_done: u32, turn: &[ModelMessage]) -> Option<Vec<ToolCall>> {
        if !result.wants_tools() || steps_done >= self.max_steps {
            return None;
        }
        let calls = tool_calls(&result.response_messages);
        if calls.is_empty() || !calls.iter().all(|(_, name, _)| self.is_edge_safe(name)) {
            return None;
        }
        let size: usize =
            turn.iter().chain(&result.response_messages).map(|m| serde_json::to_string(m).map_or(0, |s| s.len())).sum();
        (size <= MAX_EDGE_MESSAGES_BYTES).then_some(calls)
    }
}

/// What the agent is handed at the end of the handler's steps.
///
/// `done` holds the response messages of the steps the edge finished (and
/// ran the tools of), with their tool results; `last` is how the last step
/// ended: its result, or, when it failed, what it showed so far.
pub fn decide(done: &[ModelMessage], last: Result<&StepResult, Vec<ModelMessage>>, message_id: &str) -> ChatInput {
    let handover = |messages: Vec<ModelMessage>, is_final: bool| {
        ChatInput::Handover(Handover {
            partial_assistant_message: messages,
            message_id: Some(message_id.to_string()),
            is_final,
            extra: Object::new(),
        })
    };
    match last {
        Ok(result) => {
            let mut messages = done.to_vec();
            messages.extend(result.response_messages.iter().cloned());
            if result.wants_tools() {
                handover(reshape_for_handover(&messages), false)
            } else {
                let empty = !done.is_empty() && result.response_messages.is_empty();
                let mut input = handover(messages, true);
                if let (true, ChatInput::Handover(h)) = (empty, &mut input) {
                    h.extra.insert(EDGE_LAST_STEP_EMPTY.into(), true.into());
                }
                input
            }
        }
        // Step 1 failed: nothing to hand over (PROTOCOL.md §9.4).
        Err(_) if done.is_empty() => ChatInput::handover_skip(),
        Err(partial) => {
            let mut messages = done.to_vec();
            messages.extend(partial);
            handover(messages, true)
        }
    }
}
