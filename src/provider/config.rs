//! Which model a step calls and with what settings, from environment
//! variables (wrangler vars and secrets) or the JS options object.
//!
//! With no API key anywhere, the scripted model answers: `npm start`, the
//! tests and the benchmarks run offline by default.

use serde_json::Value;

use super::google::{self, GoogleAuth, GoogleConfig, ServiceAccount};
use super::models::{self, ModelChoice, RequestHeaders};
use super::scripted::{Fault, ScriptedConfig};
use super::tool::{builtin_tools, ToolSpec};
use super::{anthropic, openai, CallOptions, HttpProviderConfig};
use crate::protocol::json::Object;

/// The model a step calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Model {
    Anthropic(HttpProviderConfig),
    /// OpenAI Chat Completions, or any server that speaks it (`openai-chat`).
    OpenAi(HttpProviderConfig),
    /// The OpenAI Responses API (`openai`, as the AI SDK's `openai()`).
    OpenAiResponses(HttpProviderConfig),
    /// Gemini on the Generative Language API or Vertex AI.
    Google(GoogleConfig),
    Scripted(ScriptedConfig),
}

impl Model {
    /// Provider name, for logs and errors.
    pub fn provider(&self) -> &'static str {
        match self {
            Self::Anthropic(_) => "anthropic",
            Self::OpenAi(_) => "openai-chat",
            Self::OpenAiResponses(_) => "openai",
            Self::Google(c) => c.provider(),
            Self::Scripted(_) => "scripted",
        }
    }
}

/// Everything a step needs besides the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    pub model: Model,
    pub system: Option<String>,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub tools: Vec<ToolSpec>,
    pub provider_options: Object,
    /// A call with no byte for this long fails as stalled.
    pub stall_timeout_ms: u32,
    /// Attempts of a call that fails before streaming (the first included),
    /// per model.
    pub max_attempts: u32,
    /// Request headers `model`'s calls add.
    pub headers: RequestHeaders,
    /// Tried in order when the model before fails before its first byte
    /// reached the client (see [`run`](super::run)).
    pub fallback: Vec<ModelChoice>,
    /// The most a step waits in all between attempts (backoff and
    /// `retry-after`), over all its models.
    pub retry_budget_ms: u32,
}

/// Default stall timeout: generous for slow first tokens of large prompts.
pub const DEFAULT_STALL_TIMEOUT_MS: u32 = 60_000;

/// Default retry budget of a step: today's backoffs (2 s, 4 s) and a short
/// `retry-after` fit; a long one moves on to the next model instead.
pub const DEFAULT_RETRY_BUDGET_MS: u32 = 15_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {message}")]
    Invalid { name: &'static str, message: String },
    #[error("HEADSTART_PROVIDER={provider} needs {key}")]
    MissingKey { provider: String, key: &'static str },
}

impl ModelSettings {
    /// The scripted model with the built-in tools.
    pub fn scripted() -> Self {
        Self {
            model: Model::Scripted(ScriptedConfig::default()),
            system: None,
            max_output_tokens: None,
            temperature: None,
            tools: builtin_tools(),
            provider_options: Object::new(),
            stall_timeout_ms: DEFAULT_STALL_TIMEOUT_MS,
            max_attempts: super::error::MAX_ATTEMPTS,
            headers: RequestHeaders::default(),
            fallback: Vec::new(),
            retry_budget_ms: DEFAULT_RETRY_BUDGET_MS,
        }
    }

    /// The models a step tries, in order, with their headers.
    pub fn models(&self) -> impl Iterator<Item = (&Model, &RequestHeaders)> {
        std::iter::once((&self.model, &self.headers)).chain(self.fallback.iter().map(|c| (&c.model, &c.headers)))
    }

    /// The reference agent's settings: as [`Self::from_vars`], except that
    /// `HEADSTART_AGENT_MODELS`, when set, is its list of models (in place of
    /// `HEADSTART_MODELS` or `HEADSTART_PROVIDER`/`HEADSTART_MODEL`, which
    /// then configure the handler's step 1 alone).
    pub fn agent_from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let list = get("HEADSTART_AGENT_MODELS")
            .map(|list| ("HEADSTART_AGENT_MODELS", list))
            .or_else(|| get("HEADSTART_MODELS").map(|list| ("HEADSTART_MODELS", list)));
        Self::read(&get, list)
    }

    /// Reads the settings from variables:
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `HEADSTART_PROVIDER` | `anthropic`, `openai` (Responses API), `openai-chat` (Chat Completions), `google`, `vertex` or `scripted` | the provider whose key is set, else `scripted` |
    /// | `HEADSTART_MODEL` | model id | `claude-sonnet-4-5` / `gpt-4o-mini` |
    /// | `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` | Anthropic key and base URL | base `https://api.anthropic.com/v1` |
    /// | `OPENAI_API_KEY`, `OPENAI_BASE_URL` | key and base URL of OpenAI (`openai`) or of any OpenAI-compatible server (`openai-chat`) | base `https://api.openai.com/v1` |
    /// | `GOOGLE_GENERATIVE_AI_API_KEY`, `GOOGLE_GENERATIVE_AI_BASE_URL` | Gemini API key and base URL (`google`; model `gemini-2.5-flash`) | base `https://generativelanguage.googleapis.com/v1beta` |
    /// | `GOOGLE_VERTEX_PROJECT`, `GOOGLE_VERTEX_LOCATION`, `GOOGLE_VERTEX_API_KEY`, `GOOGLE_VERTEX_BASE_URL` | Vertex AI (`vertex`): an express-mode key, or the project and location of a service account | location `us-central1` |
    /// | `GOOGLE_CLIENT_EMAIL`, `GOOGLE_PRIVATE_KEY`, `GOOGLE_PRIVATE_KEY_ID` | Vertex AI's service account (PKCS#8 PEM key) | none |
    /// | `GOOGLE_TOKEN_URI` | the key file's `token_uri` (https; http only to loopback) | `https://oauth2.googleapis.com/token` |
    /// | `HEADSTART_SYSTEM` | system prompt | none |
    /// | `HEADSTART_MAX_TOKENS` | max output tokens | provider default |
    /// | `HEADSTART_TEMPERATURE` | temperature | provider default |
    /// | `HEADSTART_TOOLS` | JSON: `[{name, description, inputSchema}]` or `{name: {description, inputSchema}}` | the built-in tools |
    /// | `HEADSTART_PROVIDER_OPTIONS` | JSON object passed through, e.g. `{"anthropic":{"thinking":{...}}}` | `{}` |
    /// | `HEADSTART_STALL_TIMEOUT_MS` | stall timeout | 60000 |
    /// | `HEADSTART_MAX_ATTEMPTS` | attempts before streaming, per model | 3 |
    /// | `HEADSTART_MODELS` | the models to try in order (see [`models`]): `provider:model,...` or a JSON array of `{provider, model, baseURL, apiKeyVar, headers, headersVar}`; replaces `HEADSTART_PROVIDER`/`HEADSTART_MODEL` | none |
    /// | `HEADSTART_MODEL_HEADERS` | JSON object of request headers for the model of `HEADSTART_PROVIDER` (may be a secret) | none |
    /// | `HEADSTART_RETRY_BUDGET_MS` | the most a step waits between attempts, over all its models | 15000 |
    /// | `HEADSTART_SCRIPTED_TTFB_MS`, `HEADSTART_SCRIPTED_TOKEN_MS`, `HEADSTART_SCRIPTED_FAULT` | scripted model timing and fault (`error`, `stall`, `http-500`) | 300, 15, none |
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        Self::read(&get, get("HEADSTART_MODELS").map(|list| ("HEADSTART_MODELS", list)))
    }

    /// The settings, with the model list of `list` (variable, text) if any.
    // `&dyn`: one copy of the reading code in the wasm, whatever closure
    // each caller passes.
    fn read(get: &dyn Fn(&str) -> Option<String>, list: Option<(&'static str, String)>) -> Result<Self, ConfigError> {
        let (model, headers, fallback) = match list {
            Some((var, text)) => {
                if var == "HEADSTART_MODELS" {
                    if let Some(name) = ["HEADSTART_PROVIDER", "HEADSTART_MODEL", "HEADSTART_MODEL_HEADERS"]
                        .into_iter()
                        .find(|n| get(n).is_some())
                    {
                        return Err(ConfigError::Invalid {
                            name: "HEADSTART_MODELS",
                            message: format!(
                                "set either HEADSTART_MODELS or {name}, not both (the list's first entry is the model)"
                            ),
                        });
                    }
                }
                let mut list = models::list_from_vars(var, &text, get)?.into_iter();
                let first = list.next().expect("a list names at least one model");
                (first.model, first.headers, list.collect())
            }
            None => {
                let (model, headers) = Self::single(get)?;
                (model, headers, Vec::new())
            }
        };
        Self::with_model(get, model, headers, fallback)
    }

    /// The one model of `HEADSTART_PROVIDER`/`HEADSTART_MODEL`.
    fn single(get: &dyn Fn(&str) -> Option<String>) -> Result<(Model, RequestHeaders), ConfigError> {
        let anthropic_key = get("ANTHROPIC_API_KEY");
        let openai_key = get("OPENAI_API_KEY");
        let provider = get("HEADSTART_PROVIDER").unwrap_or_else(|| {
            if anthropic_key.is_some() {
                "anthropic".into()
            } else if openai_key.is_some() {
                "openai".into()
            } else if get("GOOGLE_GENERATIVE_AI_API_KEY").is_some() {
                "google".into()
            } else {
                "scripted".into()
            }
        });
        let model = model_from_vars(&provider, get("HEADSTART_MODEL"), &get)?;
        let headers = models::headers_from_var(get)?;
        if matches!(model, Model::Scripted(_)) && !headers.0.is_empty() {
            return Err(ConfigError::Invalid {
                name: "HEADSTART_MODEL_HEADERS",
                message: "the scripted model takes no headers".into(),
            });
        }
        Ok((model, headers))
    }

    fn with_model(
        get: &dyn Fn(&str) -> Option<String>,
        model: Model,
        headers: RequestHeaders,
        fallback: Vec<ModelChoice>,
    ) -> Result<Self, ConfigError> {
        let tools = match get("HEADSTART_TOOLS") {
            Some(json) => parse_tools(&json).map_err(|message| ConfigError::Invalid { name: "HEADSTART_TOOLS", message })?,
            None => builtin_tools(),
        };
        let provider_options = match get("HEADSTART_PROVIDER_OPTIONS") {
            Some(json) => match serde_json::from_str::<Value>(&json) {
                Ok(Value::Object(o)) => o,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "HEADSTART_PROVIDER_OPTIONS",
                        message: "must be a JSON object".into(),
                    })
                }
            },
            None => Object::new(),
        };
        Ok(Self {
            model,
            system: get("HEADSTART_SYSTEM"),
            max_output_tokens: parse(&get, "HEADSTART_MAX_TOKENS")?,
            temperature: parse(&get, "HEADSTART_TEMPERATURE")?,
            tools,
            provider_options,
            stall_timeout_ms: parse(&get, "HEADSTART_STALL_TIMEOUT_MS")?.unwrap_or(DEFAULT_STALL_TIMEOUT_MS),
            max_attempts: max_attempts(&get)?,
            headers,
            fallback,
            retry_budget_ms: parse(&get, "HEADSTART_RETRY_BUDGET_MS")?.unwrap_or(DEFAULT_RETRY_BUDGET_MS),
        })
    }

    /// The call options for a conversation.
    pub fn call(&self, messages: Vec<crate::protocol::ModelMessage>) -> CallOptions {
        CallOptions {
            system: self.system.clone(),
            messages,
            tools: self.tools.clone(),
            tool_choice: None,
            max_output_tokens: self.max_output_tokens,
            temperature: self.temperature,
            provider_options: self.provider_options.clone(),
        }
    }
}

/// One model of `provider` from the provider's own variables (key, base URL)
/// and `model_id`, or the provider's default model.
pub fn model_from_vars(
    provider: &str,
    model_id: Option<String>,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Model, ConfigError> {
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    Ok(match provider {
        "anthropic" => Model::Anthropic(HttpProviderConfig {
            base_url: get("ANTHROPIC_BASE_URL").unwrap_or_else(|| anthropic::DEFAULT_BASE_URL.into()),
            api_key: get("ANTHROPIC_API_KEY")
                .ok_or(ConfigError::MissingKey { provider: provider.into(), key: "ANTHROPIC_API_KEY" })?,
            model: model_id.unwrap_or_else(|| "claude-sonnet-4-5".into()),
        }),
        // Both OpenAI APIs read the same variables.
        "openai-chat" | "openai" => {
            let config = HttpProviderConfig {
                base_url: get("OPENAI_BASE_URL").unwrap_or_else(|| openai::DEFAULT_BASE_URL.into()),
                api_key: get("OPENAI_API_KEY")
                    .ok_or(ConfigError::MissingKey { provider: provider.into(), key: "OPENAI_API_KEY" })?,
                model: model_id.unwrap_or_else(|| "gpt-4o-mini".into()),
            };
            if provider == "openai" {
                Model::OpenAiResponses(config)
            } else {
                Model::OpenAi(config)
            }
        }
        "google" | "vertex" => Model::Google(google_from_vars(provider == "vertex", model_id, &get)?),
        "scripted" => Model::Scripted(ScriptedConfig {
            ttfb_ms: parse(&get, "HEADSTART_SCRIPTED_TTFB_MS")?.unwrap_or(super::scripted::DEFAULT_TTFB_MS),
            token_ms: parse(&get, "HEADSTART_SCRIPTED_TOKEN_MS")?.unwrap_or(super::scripted::DEFAULT_TOKEN_MS),
            fault: match get("HEADSTART_SCRIPTED_FAULT") {
                Some(f) => Some(Fault::parse(&f).ok_or(ConfigError::Invalid {
                    name: "HEADSTART_SCRIPTED_FAULT",
                    message: format!("unknown fault {f:?} (error, stall, http-<status>)"),
                })?),
                None => None,
            },
        }),
        other => {
            return Err(ConfigError::Invalid {
                name: "HEADSTART_PROVIDER",
                message: format!("unknown provider {other:?} (anthropic, openai, openai-chat, google, vertex, scripted)"),
            })
        }
    })
}

/// `HEADSTART_MAX_ATTEMPTS`: 1 to [`MAX_ATTEMPTS`](super::error::MAX_ATTEMPTS),
/// the most the retry policy makes (a larger value would be ignored).
fn max_attempts(get: &impl Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    const MAX: u32 = super::error::MAX_ATTEMPTS;
    match parse::<u32>(get, "HEADSTART_MAX_ATTEMPTS")? {
        None => Ok(MAX),
        Some(n) if n > MAX => Err(ConfigError::Invalid {
            name: "HEADSTART_MAX_ATTEMPTS",
            message: format!("must be 1 to {MAX} (the retry policy makes at most {MAX} attempts), got {n}"),
        }),
        Some(n) => Ok(n.max(1)),
    }
}

/// The token endpoint of a service account's key file (`token_uri`): https,
/// or http to a loopback address (a local stand-in), never a key over
/// plain http elsewhere.
fn token_uri(uri: &str) -> Result<String, ConfigError> {
    let authority = |rest: &str| rest.split(['/', '?', '#']).next().unwrap_or("").to_string();
    let ok = match (uri.strip_prefix("https://"), uri.strip_prefix("http://")) {
        (Some(rest), _) => !authority(rest).is_empty(),
        (_, Some(rest)) => {
            let authority = authority(rest);
            ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| authority.strip_prefix(h).is_some_and(check_port))
        }
        _ => false,
    };
    if ok && !uri.contains(char::is_whitespace) {
        Ok(uri.to_string())
    } else {
        Err(ConfigError::Invalid {
            name: "GOOGLE_TOKEN_URI",
            message: format!("{uri:?} must be an https URL (http only to a loopback address)"),
        })
    }
}

/// Nothing, or `:` and a port number.
fn check_port(rest: &str) -> bool {
    rest.is_empty()
        || rest.strip_prefix(':').is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Gemini from `GOOGLE_GENERATIVE_AI_*` (`google`) or `GOOGLE_VERTEX_*`
/// and a service account's `GOOGLE_CLIENT_EMAIL` / `GOOGLE_PRIVATE_KEY` /
/// `GOOGLE_PRIVATE_KEY_ID` (`vertex`); a key is checked here, at startup,
/// and never echoed.
fn google_from_vars(
    vertex: bool,
    model_id: Option<String>,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<GoogleConfig, ConfigError> {
    let model = model_id.unwrap_or_else(|| google::DEFAULT_MODEL.into());
    if !vertex {
        let key = get("GOOGLE_GENERATIVE_AI_API_KEY")
            .ok_or(ConfigError::MissingKey { provider: "google".into(), key: "GOOGLE_GENERATIVE_AI_API_KEY" })?;
        let base_url = get("GOOGLE_GENERATIVE_AI_BASE_URL").unwrap_or_else(|| google::DEFAULT_BASE_URL.into());
        return Ok(GoogleConfig { base_url, auth: GoogleAuth::ApiKey(key), model, vertex });
    }
    let base_url = get("GOOGLE_VERTEX_BASE_URL");
    if let Some(key) = get("GOOGLE_VERTEX_API_KEY") {
        let base_url = base_url.unwrap_or_else(|| google::VERTEX_EXPRESS_BASE_URL.into());
        return Ok(GoogleConfig { base_url, auth: GoogleAuth::ApiKey(key), model, vertex });
    }
    let (Some(email), Some(key)) = (get("GOOGLE_CLIENT_EMAIL"), get("GOOGLE_PRIVATE_KEY")) else {
        return Err(ConfigError::MissingKey {
            provider: "vertex".into(),
            key: "GOOGLE_VERTEX_API_KEY, or GOOGLE_CLIENT_EMAIL and GOOGLE_PRIVATE_KEY",
        });
    };
    let mut account = ServiceAccount::new(&email, &key, get("GOOGLE_PRIVATE_KEY_ID").as_deref())
        .map_err(|google::auth::KeyError(name, message)| ConfigError::Invalid { name, message })?;
    if let Some(uri) = get("GOOGLE_TOKEN_URI") {
        account = account.with_token_url(&token_uri(uri.trim())?);
    }
    let base_url = match base_url {
        Some(url) => url,
        None => {
            let project = get("GOOGLE_VERTEX_PROJECT").ok_or(ConfigError::Invalid {
                name: "GOOGLE_VERTEX_PROJECT",
                message: "is required with a service account (the Google Cloud project id)".into(),
            })?;
            let location = get("GOOGLE_VERTEX_LOCATION").unwrap_or_else(|| "us-central1".into());
            let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid(&project) {
                return Err(ConfigError::Invalid {
                    name: "GOOGLE_VERTEX_PROJECT",
                    message: format!("{project:?} is not a project id"),
                });
            }
            if !valid(&location) {
                return Err(ConfigError::Invalid {
                    name: "GOOGLE_VERTEX_LOCATION",
                    message: format!("{location:?} is not a location"),
                });
            }
            GoogleConfig::vertex_base_url(&project, &location)
        }
    };
    Ok(GoogleConfig { base_url, auth: GoogleAuth::ServiceAccount(account), model, vertex })
}

fn parse<T: std::str::FromStr>(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    get(name)
        .map(|v| v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid { name, message: format!("{v:?}: {e}") }))
        .transpose()
}

/// Tools as a list of specs or as an object keyed by name (the AI SDK's
/// `tools` shape).
pub fn parse_tools(json: &str) -> Result<Vec<ToolSpec>, String> {
    match serde_json::from_str::<Value>(json).map_err(|e| e.to_string())? {
        Value::Array(items) => items.into_iter().map(|t| serde_json::from_value(t).map_err(|e| e.to_string())).collect(),
        Value::Object(map) => map
            .into_iter()
            .map(|(name, t)| {
                let mut t = t.as_object().cloned().ok_or_else(|| format!("tool {name}: not an object"))?;
                t.insert("name".into(), Value::String(name.clone()));
                serde_json::from_value(Value::Object(t)).map_err(|e| format!("tool {name}: {e}"))
            })
            .collect(),
        _ => Err("must be a JSON array or object".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<ModelSettings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ModelSettings::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn no_key_means_the_scripted_model() {
        let s = from(&[]).unwrap();
        assert_eq!(s.model, Model::Scripted(ScriptedConfig::default()));
        assert_eq!(s.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["get_weather", "calculator", "fetch_url"]);
    }

    #[test]
    fn a_key_picks_its_provider() {
        let s = from(&[("ANTHROPIC_API_KEY", "sk-ant"), ("HEADSTART_MAX_TOKENS", "512")]).unwrap();
        assert!(matches!(&s.model, Model::Anthropic(c) if c.api_key == "sk-ant" && c.base_url == "https://api.anthropic.com/v1"));
        assert_eq!(s.max_output_tokens, Some(512));
        let s = from(&[("OPENAI_API_KEY", "sk"), ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"), ("HEADSTART_MODEL", "llama")])
            .unwrap();
        assert!(matches!(&s.model, Model::OpenAiResponses(c) if c.base_url == "http://127.0.0.1:9/v1" && c.model == "llama"));
        let s = from(&[
            ("OPENAI_API_KEY", "sk"),
            ("HEADSTART_PROVIDER", "openai-chat"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
        ])
        .unwrap();
        assert!(matches!(&s.model, Model::OpenAi(c) if c.base_url == "http://127.0.0.1:9/v1" && c.model == "gpt-4o-mini"));
        assert_eq!(s.model.provider(), "openai-chat");
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(
            from(&[("HEADSTART_PROVIDER", "openai")]),
            Err(ConfigError::MissingKey { provider: "openai".into(), key: "OPENAI_API_KEY" })
        );
        assert!(matches!(
            from(&[("HEADSTART_TEMPERATURE", "warm")]),
            Err(ConfigError::Invalid { name: "HEADSTART_TEMPERATURE", .. })
        ));
        assert!(matches!(
            from(&[("HEADSTART_SCRIPTED_FAULT", "boom")]),
            Err(ConfigError::Invalid { name: "HEADSTART_SCRIPTED_FAULT", .. })
        ));
        assert!(matches!(from(&[("HEADSTART_TOOLS", "[1]")]), Err(ConfigError::Invalid { name: "HEADSTART_TOOLS", .. })));
        // More attempts than the retry policy makes would be ignored: refused.
        assert!(matches!(
            from(&[("HEADSTART_MAX_ATTEMPTS", "5")]),
            Err(ConfigError::Invalid { name: "HEADSTART_MAX_ATTEMPTS", .. })
        ));
        assert_eq!(from(&[("HEADSTART_MAX_ATTEMPTS", "3")]).unwrap().max_attempts, 3);
    }

    #[test]
    fn tools_in_both_shapes() {
        let list = parse_tools(r#"[{"name":"a","inputSchema":{"type":"object"}}]"#).unwrap();
        let map = parse_tools(r#"{"a":{"inputSchema":{"type":"object"}}}"#).unwrap();
        assert_eq!(list, map);
    }
}
