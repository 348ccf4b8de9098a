//! The tools the reference agent executes: the built-ins whose schemas
//! [`crate::provider::tool::builtin_tools`] offers the model in step 1
//! (`get_weather`, `calculator`, `fetch_url`), and HTTP tools configured by
//! JSON, each a URL the tool input is POSTed to.
//!
//! Every call runs over the injected [`Fetch`] and [`Clock`] with a
//! per-call timeout, so the registry is tested in memory and runs unchanged
//! in the Durable Object. A failed call is a [`ToolError`], whose `Display`
//! is the `errorText` of the `tool-output-error` chunk the model then sees.
//!
//! Every URL a tool reaches, redirects included, passes the egress rule of
//! [`egress`]: no loopback, private, link-local or metadata address, and
//! only the hosts of [`ToolOptions::fetch_allow`] when it is set.
//!
//! Left out: input validation against the JSON schemas (each tool checks
//! the fields it reads) and retries.

mod calculator;
pub mod egress;
mod html;
mod http;
#[cfg(all(test, not(target_arch = "wasm32")))] // futures-executor is a host dev-dependency
mod tests;
mod weather;

use serde_json::{json, Value};

use crate::io::{timeout, Clock, Fetch};
use crate::protocol::chunk::{ToolOutputAvailable, ToolOutputError};
use crate::protocol::json::Object;
use crate::protocol::model::{ModelMessage, ModelPart, ToolOutput, ToolResultPart};
use crate::protocol::UiChunk;
use crate::provider::tool::{builtin_tools, ToolSpec};

pub use calculator::{evaluate, CalcError};
pub use egress::HostPattern;
pub use html::html_to_text;
pub use http::{parse_http_tools, HttpToolConfig};
pub use weather::weather;

/// Limits of tool calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOptions {
    /// Per call, unless an HTTP tool sets its own `timeoutMs`.
    pub timeout_ms: u32,
    /// `fetch_url` returns at most this many bytes of text (default 8 KiB).
    pub fetch_text_limit: usize,
    /// Response bodies are read up to this many bytes, the rest dropped.
    pub max_response_bytes: usize,
    /// When not empty, the only hosts `fetch_url` and the HTTP tools reach
    /// (`HEADSTART_FETCH_ALLOW`); it narrows the egress rule, never widens it.
    pub fetch_allow: Vec<HostPattern>,
}

impl Default for ToolOptions {
    fn default() -> Self {
        Self { timeout_ms: 15_000, fetch_text_limit: 8 * 1024, max_response_bytes: 2 * 1024 * 1024, fetch_allow: Vec::new() }
    }
}

impl ToolOptions {
    /// The defaults with what the variables set: `HEADSTART_FETCH_ALLOW`
    /// (comma-separated hosts and `*.domain` patterns).
    ///
    /// ```
    /// use headstart::agent::tools::{HostPattern, ToolOptions};
    /// let options = ToolOptions::from_vars(|name| (name == "HEADSTART_FETCH_ALLOW").then(|| "*.example.com".into())).unwrap();
    /// assert_eq!(options.fetch_allow, [HostPattern::Subdomains("example.com".into())]);
    /// ```
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ToolConfigError> {
        let mut options = Self::default();
        if let Some(list) = get("HEADSTART_FETCH_ALLOW") {
            options.fetch_allow = egress::parse_allowlist(&list).map_err(ToolConfigError::AllowList)?;
        }
        Ok(options)
    }
}

/// Why a tool call failed. The `Display` text is written for the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    #[error("unknown tool \"{name}\" (available: {})", available.join(", "))]
    UnknownTool { name: String, available: Vec<String> },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("{0}")]
    Calculation(#[from] CalcError),
    #[error("refused to fetch \"{url}\": {reason}")]
    Refused { url: String, reason: String },
    #[error("request failed: {0}")]
    Fetch(String),
    /// A non-2xx answer of an HTTP tool; `body` is an excerpt.
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("timed out after {ms} ms")]
    Timeout { ms: u32 },
}

/// A configuration the registry refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolConfigError {
    #[error("tool configuration is not valid JSON: {0}")]
    Json(String),
    #[error("invalid tool name \"{0}\" (1-64 characters from a-z, A-Z, 0-9, _ and -)")]
    InvalidName(String),
    #[error("tool \"{0}\" is defined twice")]
    Duplicate(String),
    #[error("tool \"{name}\": {reason}")]
    Invalid { name: String, reason: String },
    #[error("HEADSTART_FETCH_ALLOW: {0}")]
    AllowList(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Weather,
    Calculator,
    FetchUrl,
    Http(HttpToolConfig),
}

/// The tools the agent can execute, in the order offered to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolRegistry {
    tools: Vec<(ToolSpec, Kind)>,
    options: ToolOptions,
}

impl Default for ToolRegistry {
    fn default() -> Self {
        Self::new(ToolOptions::default())
    }
}

impl ToolRegistry {
    /// The built-in tools.
    pub fn new(options: ToolOptions) -> Self {
        let tools = builtin_tools()
            .into_iter()
            .map(|spec| {
                let kind = match spec.name.as_str() {
                    "get_weather" => Kind::Weather,
                    "calculator" => Kind::Calculator,
                    "fetch_url" => Kind::FetchUrl,
                    other => unreachable!("no implementation for built-in tool {other}"),
                };
                (spec, kind)
            })
            .collect();
        Self { tools, options }
    }

    /// The built-ins plus the HTTP tools of a JSON configuration
    /// (`{"<name>": {"url", "description"?, "inputSchema"?, "headers"?,
    /// "timeoutMs"?}}`, see [`HttpToolConfig`]); `None` or blank adds none.
    pub fn from_config(options: ToolOptions, http_tools_json: Option<&str>) -> Result<Self, ToolConfigError> {
        let mut registry = Self::new(options);
        if let Some(json) = http_tools_json.filter(|j| !j.trim().is_empty()) {
            for (name, config) in parse_http_tools(json)? {
                registry.add_http_tool(&name, config)?;
            }
        }
        Ok(registry)
    }

    /// Adds an HTTP tool after the others. Names are unique.
    pub fn add_http_tool(&mut self, name: &str, config: HttpToolConfig) -> Result<(), ToolConfigError> {
        let valid = (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(ToolConfigError::InvalidName(name.into()));
        }
        if self.has(name) {
            return Err(ToolConfigError::Duplicate(name.into()));
        }
        let config = config.validated(name, &self.options)?;
        let spec =
            ToolSpec { name: name.into(), description: config.description.clone(), input_schema: config.input_schema.clone() };
        self.tools.push((spec, Kind::Http(config)));
        Ok(())
    }

    pub fn options(&self) -> &ToolOptions {
        &self.options
    }

    /// What the model is offered.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|(spec, _)| spec.clone()).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.tools.iter().any(|(spec, _)| spec.name == name)
    }

    /// Runs one tool call to its result (the `output` of a
    /// `tool-output-available` chunk), within the call's timeout.
    pub async fn execute(&self, fetch: &impl Fetch, clock: &impl Clock, name: &str, input: &Value) -> Result<Value, ToolError> {
        let Some((_, kind)) = self.tools.iter().find(|(spec, _)| spec.name == name) else {
            return Err(ToolError::UnknownTool {
                name: name.into(),
                available: self.tools.iter().map(|(spec, _)| spec.name.clone()).collect(),
            });
        };
        let ms = match kind {
            Kind::Http(config) => config.timeout_ms.unwrap_or(self.options.timeout_ms),
            _ => self.options.timeout_ms,
        };
        let call = async {
            match kind {
                Kind::Weather => Ok(weather(string_field(input, "city")?)),
                Kind::Calculator => {
                    let expression = string_field(input, "expression")?;
                    Ok(json!({ "expression": expression, "result": js_number(evaluate(expression)?) }))
                }
                Kind::FetchUrl => http::fetch_url(fetch, &self.options, string_field(input, "url")?).await,
                Kind::Http(config) => http::call(fetch, &self.options, config, input).await,
            }
        };
        timeout(clock, ms, call).await.unwrap_or(Err(ToolError::Timeout { ms }))
    }
}

/// A non-blank string field of an object input.
fn string_field<'a>(input: &'a Value, field: &str) -> Result<&'a str, ToolError> {
    match input.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(ToolError::InvalidInput(format!("\"{field}\" is empty"))),
        _ => Err(ToolError::InvalidInput(format!("expected an object with a string \"{field}\""))),
    }
}

/// A number as JSON writes it: `4`, not `4.0`, for integral values.
fn js_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_992.0 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

/// One tool call of a step's response: id, tool name, input.
pub type ToolCall = (String, String, Value);

/// The tool calls of a step's response messages, in order.
pub fn tool_calls(messages: &[ModelMessage]) -> Vec<ToolCall> {
    messages
        .iter()
        .flat_map(|m| m.parts())
        .filter_map(|p| match p {
            ModelPart::ToolCall(c) => Some((c.tool_call_id.clone(), c.tool_name.clone(), c.input.clone().unwrap_or(Value::Null))),
            _ => None,
        })
        .collect()
}

/// Runs tool calls in order, handing each result to `emit` as a
/// `tool-output-available` or `tool-output-error` chunk as soon as it is
/// there, and returns the `tool-result` parts for the model. Shared by the
/// agent and the edge's steps, so both show the model and the browser the
/// same thing for the same call, failures included.
pub async fn run_calls(
    registry: &ToolRegistry,
    fetch: &impl Fetch,
    clock: &impl Clock,
    calls: &[ToolCall],
    emit: &mut dyn FnMut(UiChunk),
) -> Vec<ModelPart> {
    let mut results = Vec::new();
    for (id, name, input) in calls {
        let output = match registry.execute(fetch, clock, name, input).await {
            Ok(value) => {
                emit(UiChunk::ToolOutputAvailable(ToolOutputAvailable {
                    tool_call_id: id.clone(),
                    output: Some(value.clone()),
                    ..Default::default()
                }));
                match value {
                    Value::String(s) => ToolOutput::text(s),
                    v => ToolOutput::json(v),
                }
            }
            Err(e) => {
                emit(UiChunk::ToolOutputError(ToolOutputError {
                    tool_call_id: id.clone(),
                    error_text: e.to_string(),
                    ..Default::default()
                }));
                ToolOutput::error_text(e.to_string())
            }
        };
        results.push(ModelPart::ToolResult(ToolResultPart {
            tool_call_id: id.clone(),
            tool_name: name.clone(),
            output,
            provider_options: None,
            extra: Object::new(),
        }));
    }
    results
}
