//! The Chat Completions request body, as `@ai-sdk/openai`'s chat model
//! (`getArgs` + `doStream`) builds it from what `streamText` hands it.
//!
//! Key order follows the SDK's object literal (`JSON.stringify` drops the
//! `undefined` entries): `model`, `logit_bias`, `logprobs`, `top_logprobs`,
//! `user`, `parallel_tool_calls`, `max_tokens`, `temperature`, `verbosity`,
//! `max_completion_tokens`, `store`, `metadata`, `prediction`,
//! `reasoning_effort`, `service_tier`, `prompt_cache_key`,
//! `prompt_cache_options`, `prompt_cache_retention`, `safety_identifier`,
//! `messages`, `tools`, `tool_choice`, `stream`, `stream_options`.

use serde_json::{json, Map, Value};

use super::messages::convert_messages;
use super::tools::prepare_tools;
use crate::provider::error::ProviderError;
use crate::provider::CallOptions;

pub(super) fn config(message: impl Into<String>) -> ProviderError {
    ProviderError::Config(message.into())
}

/// `providerOptions.openai` keys the chat model reads (the SDK's
/// `openaiLanguageModelChatOptions`). `strictJsonSchema` only affects
/// `responseFormat`, which a chat step does not use.
#[derive(Debug, Default)]
pub(super) struct ChatOptions {
    logit_bias: Option<Value>,
    logprobs: Option<Value>,
    parallel_tool_calls: Option<bool>,
    user: Option<String>,
    reasoning_effort: Option<String>,
    max_completion_tokens: Option<Value>,
    store: Option<bool>,
    metadata: Option<Value>,
    prediction: Option<Value>,
    service_tier: Option<String>,
    text_verbosity: Option<String>,
    prompt_cache_key: Option<String>,
    prompt_cache_options: Option<Value>,
    prompt_cache_retention: Option<String>,
    safety_identifier: Option<String>,
    system_message_mode: Option<String>,
    force_reasoning: Option<bool>,
}

impl ChatOptions {
    pub(super) fn parse(provider_options: &Map<String, Value>) -> Result<Self, ProviderError> {
        let o = match provider_options.get("openai") {
            None | Some(Value::Null) => return Ok(Self::default()),
            Some(Value::Object(o)) => o,
            Some(_) => return Err(config("invalid openai provider options: not an object")),
        };
        let get = |k: &str| o.get(k).filter(|v| !v.is_null());
        let bad = |k: &str, what: &str| config(format!("invalid openai provider options: `{k}` must be {what}"));
        let string = |k: &str| -> Result<Option<String>, ProviderError> {
            get(k).map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad(k, "a string"))).transpose()
        };
        let boolean = |k: &str| -> Result<Option<bool>, ProviderError> {
            get(k).map(|v| v.as_bool().ok_or_else(|| bad(k, "a boolean"))).transpose()
        };
        let one_of = |k: &str, allowed: &[&str]| -> Result<Option<String>, ProviderError> {
            match string(k)? {
                Some(s) if !allowed.contains(&s.as_str()) => Err(bad(k, &format!("one of {allowed:?}"))),
                s => Ok(s),
            }
        };
        let object = |k: &str| -> Result<Option<Value>, ProviderError> {
            get(k).map(|v| if v.is_object() { Ok(v.clone()) } else { Err(bad(k, "an object")) }).transpose()
        };
        let logprobs = get("logprobs").cloned();
        if logprobs.as_ref().is_some_and(|v| !v.is_boolean() && !v.is_number()) {
            return Err(bad("logprobs", "a boolean or a number"));
        }
        let max_completion_tokens = get("maxCompletionTokens").cloned();
        if max_completion_tokens.as_ref().is_some_and(|v| !v.is_number()) {
            return Err(bad("maxCompletionTokens", "a number"));
        }
        Ok(Self {
            logit_bias: object("logitBias")?,
            logprobs,
            parallel_tool_calls: boolean("parallelToolCalls")?,
            user: string("user")?,
            reasoning_effort: one_of("reasoningEffort", &["none", "minimal", "low", "medium", "high", "xhigh", "max"])?,
            max_completion_tokens,
            store: boolean("store")?,
            metadata: object("metadata")?,
            prediction: object("prediction")?,
            service_tier: one_of("serviceTier", &["auto", "flex", "priority", "fast", "ultrafast", "default"])?,
            text_verbosity: one_of("textVerbosity", &["low", "medium", "high"])?,
            prompt_cache_key: string("promptCacheKey")?,
            prompt_cache_options: object("promptCacheOptions")?,
            prompt_cache_retention: one_of("promptCacheRetention", &["in_memory", "24h"])?,
            safety_identifier: string("safetyIdentifier")?,
            system_message_mode: one_of("systemMessageMode", &["system", "developer", "remove"])?,
            force_reasoning: boolean("forceReasoning")?,
        })
    }
}

/// What the SDK's model catalog says about a model id, for the Chat
/// Completions request (`createOpenAILanguageModelEntry`'s rules by name).
/// Ids of other servers match no family: plain chat models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ModelTraits {
    pub reasoning: bool,
    /// Sampling parameters are allowed when the reasoning effort is `none`.
    pub sampling_with_effort_none: bool,
    pub function_tools_with_reasoning: bool,
    pub temperature_without_reasoning: bool,
    pub flex: bool,
    pub priority: bool,
    pub prompt_cache_retention: bool,
    /// GPT-6 and later (configuration updates, async tools, logprobs only
    /// without reasoning in the Responses API).
    pub gpt6: bool,
}

impl ModelTraits {
    pub(super) fn of(model: &str) -> Self {
        let o_series = model
            .strip_prefix('o')
            .map(|r| r.split('-').next().unwrap_or(""))
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u32>().ok());
        let gpt = gpt_version(model);
        let is_chat_variant = gpt.as_ref().is_some_and(|g| g.minor.is_none() && g.variant.starts_with("chat"));
        let is_nano = gpt.as_ref().is_some_and(|g| g.variant.starts_with("nano"));
        let gpt6 = gpt.as_ref().is_some_and(|g| g.major >= 6);
        let gpt5_or_later = gpt.as_ref().is_some_and(|g| g.major >= 5);
        let reasoning = o_series.is_some() || (gpt5_or_later && !is_chat_variant);
        // The catalog's `configurableNonReasoning` entries.
        let configurable = matches!(model, "gpt-6.1-terra" | "gpt-6-luna" | "gpt-6-sol");
        let sampling_with_effort_none =
            configurable || (!gpt6 && gpt.as_ref().is_some_and(|g| g.major > 5 || (g.major == 5 && g.minor.unwrap_or(0) >= 1)));
        Self {
            reasoning,
            sampling_with_effort_none,
            function_tools_with_reasoning: !gpt.as_ref().is_some_and(|g| g.major == 5 && g.minor.unwrap_or(0) >= 6),
            temperature_without_reasoning: !model.starts_with("gpt-4o-search-preview")
                && !model.starts_with("gpt-4o-mini-search-preview"),
            flex: o_series.is_some_and(|v| v >= 3) || (gpt5_or_later && !is_chat_variant),
            priority: model.starts_with("gpt-4")
                || (gpt5_or_later && !is_nano && !is_chat_variant)
                || o_series.is_some_and(|v| v >= 3),
            prompt_cache_retention: !gpt6,
            gpt6,
        }
    }
}

struct GptVersion {
    major: u32,
    minor: Option<u32>,
    variant: String,
}

/// `/^gpt-(\d+)(?:\.(\d+))?(?:-(.+))?$/`
fn gpt_version(model: &str) -> Option<GptVersion> {
    let rest = model.strip_prefix("gpt-")?;
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let n = digits(rest);
    if n == 0 {
        return None;
    }
    let major = rest[..n].parse().ok()?;
    let mut rest = &rest[n..];
    let mut minor = None;
    if let Some(r) = rest.strip_prefix('.') {
        let m = digits(r);
        if m == 0 {
            return None;
        }
        minor = Some(r[..m].parse().ok()?);
        rest = &r[m..];
    }
    let variant = match rest {
        "" => String::new(),
        r => r.strip_prefix('-').filter(|v| !v.is_empty())?.to_string(),
    };
    Some(GptVersion { major, minor, variant })
}

/// The JSON body (before serialization).
pub(super) fn request_body(model: &str, options: &CallOptions) -> Result<Value, ProviderError> {
    if options.max_output_tokens == Some(0) {
        return Err(config("maxOutputTokens must be >= 1"));
    }
    let opts = ChatOptions::parse(&options.provider_options)?;
    let traits = ModelTraits::of(model);
    let requires_no_effort =
        !traits.function_tools_with_reasoning && opts.reasoning_effort.is_none() && !options.tools.is_empty();
    let effort = if requires_no_effort { Some("none".to_string()) } else { opts.reasoning_effort.clone() };
    let reasoning = opts.force_reasoning.unwrap_or(traits.reasoning);
    let mode = opts.system_message_mode.clone().unwrap_or_else(|| if reasoning { "developer" } else { "system" }.into());
    let messages = convert_messages(options, &mode)?;

    let mut temperature = options.temperature;
    let mut max_tokens = options.max_output_tokens;
    let mut max_completion_tokens = opts.max_completion_tokens.clone();
    let (mut logprobs, mut top_logprobs) = match &opts.logprobs {
        Some(Value::Bool(true)) => (Some(true), Some(json!(0))),
        Some(Value::Bool(false)) => (None, None),
        Some(n @ Value::Number(_)) => (Some(true), Some(n.clone())),
        _ => (None, None),
    };
    let mut logit_bias = opts.logit_bias.clone();
    if reasoning {
        if effort.as_deref() != Some("none") || !traits.sampling_with_effort_none {
            temperature = None;
            logprobs = None;
        }
        logit_bias = None;
        top_logprobs = None;
        if let Some(m) = max_tokens.take() {
            max_completion_tokens.get_or_insert(json!(m));
        }
    } else if !traits.temperature_without_reasoning {
        temperature = None;
    }
    let service_tier = opts.service_tier.clone().filter(|t| match t.as_str() {
        "flex" => traits.flex,
        "priority" | "fast" => traits.priority,
        _ => true,
    });
    let prompt_cache_retention = opts.prompt_cache_retention.clone().filter(|_| traits.prompt_cache_retention);

    let mut body = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.to_string(), v);
        }
    };
    put("model", Some(json!(model)));
    put("logit_bias", logit_bias);
    put("logprobs", logprobs.map(Value::Bool));
    put("top_logprobs", top_logprobs);
    put("user", opts.user.map(Value::String));
    put("parallel_tool_calls", opts.parallel_tool_calls.map(Value::Bool));
    put("max_tokens", max_tokens.map(|m| json!(m)));
    put("temperature", temperature.and_then(|t| serde_json::Number::from_f64(t).map(Value::Number)));
    put("verbosity", opts.text_verbosity.map(Value::String));
    put("max_completion_tokens", max_completion_tokens);
    put("store", opts.store.map(Value::Bool));
    put("metadata", opts.metadata);
    put("prediction", opts.prediction);
    put("reasoning_effort", effort.map(Value::String));
    put("service_tier", service_tier.map(Value::String));
    put("prompt_cache_key", opts.prompt_cache_key.map(Value::String));
    put("prompt_cache_options", opts.prompt_cache_options);
    put("prompt_cache_retention", prompt_cache_retention.map(Value::String));
    put("safety_identifier", opts.safety_identifier.map(Value::String));
    put("messages", Some(Value::Array(messages)));
    if let Some((tools, choice)) = prepare_tools(&options.tools, options.tool_choice.as_ref())? {
        put("tools", Some(tools));
        put("tool_choice", Some(choice));
    }
    put("stream", Some(Value::Bool(true)));
    put("stream_options", Some(json!({ "include_usage": true })));
    Ok(Value::Object(body))
}
