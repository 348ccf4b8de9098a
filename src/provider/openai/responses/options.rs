//! `providerOptions.openai` of a Responses call, checked as the SDK's
//! `openaiLanguageModelResponsesOptionsSchema` (zod) checks it: unknown keys
//! are dropped, a wrong type or value fails the call before sending.
//!
//! Zod's `.nullish()` keys let `null` through, and the SDK then writes it
//! into the body (`"store":null`); `.optional()` keys refuse it. Values of
//! nullish keys are therefore kept as JSON values, `null` included.

use serde_json::{Map, Value};

use super::super::request::config;
use crate::provider::error::ProviderError;

/// The checked options. `Option<Value>` fields are nullish keys, kept raw.
#[derive(Debug, Default)]
pub(super) struct ResponsesOptions {
    pub conversation: Option<Value>,
    pub include: Option<Value>,
    pub instructions: Option<Value>,
    /// `true`, or a top-n count from 1 to 20.
    pub logprobs: Option<Value>,
    pub max_tool_calls: Option<Value>,
    pub metadata: Option<Value>,
    pub parallel_tool_calls: Option<Value>,
    pub previous_response_id: Option<Value>,
    pub prompt_cache_key: Option<Value>,
    pub prompt_cache_options: Option<Map<String, Value>>,
    pub prompt_cache_retention: Option<Value>,
    pub reasoning_effort: Option<Value>,
    pub reasoning_effort_update: Option<String>,
    pub reasoning_mode: Option<String>,
    pub reasoning_context: Option<String>,
    pub reasoning_summary: Option<Value>,
    pub safety_identifier: Option<Value>,
    pub service_tier: Option<Value>,
    pub store: Option<Value>,
    pub pass_through_unsupported_files: bool,
    pub text_verbosity: Option<Value>,
    pub truncation: Option<Value>,
    pub user: Option<Value>,
    pub system_message_mode: Option<String>,
    pub force_reasoning: Option<bool>,
    pub context_management: Option<Value>,
    pub compaction_trigger: bool,
    pub allowed_tools: Option<(Vec<String>, String)>,
}

/// A nullish value as a string, `None` for absent or `null`.
pub(super) fn str_of(v: &Option<Value>) -> Option<&str> {
    v.as_ref().and_then(Value::as_str)
}

impl ResponsesOptions {
    pub(super) fn parse(provider_options: &Map<String, Value>) -> Result<Self, ProviderError> {
        let o = match provider_options.get("openai") {
            None | Some(Value::Null) => return Ok(Self::default()),
            Some(Value::Object(o)) => o,
            Some(_) => return Err(config("invalid openai provider options: not an object")),
        };
        let bad = |k: &str, what: &str| config(format!("invalid openai provider options: `{k}` must be {what}"));
        // `.nullish()`: absent, null, or a value of the kind.
        let nullish = |k: &str, ok: fn(&Value) -> bool, what: &str| -> Result<Option<Value>, ProviderError> {
            match o.get(k) {
                None => Ok(None),
                Some(v) if v.is_null() || ok(v) => Ok(Some(v.clone())),
                Some(_) => Err(bad(k, what)),
            }
        };
        let nullish_enum = |k: &str, allowed: &[&str]| -> Result<Option<Value>, ProviderError> {
            match o.get(k) {
                None => Ok(None),
                Some(Value::Null) => Ok(Some(Value::Null)),
                Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(Value::String(s.clone()))),
                Some(_) => Err(bad(k, &format!("one of {allowed:?}"))),
            }
        };
        // `.optional()`: absent or a value of the kind (null refused).
        let optional_enum = |k: &str, allowed: &[&str]| -> Result<Option<String>, ProviderError> {
            match o.get(k) {
                None => Ok(None),
                Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
                Some(_) => Err(bad(k, &format!("one of {allowed:?}"))),
            }
        };
        let optional_bool = |k: &str| -> Result<Option<bool>, ProviderError> {
            match o.get(k) {
                None => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(bad(k, "a boolean")),
            }
        };
        let string = |v: &Value| v.is_string();
        let include = nullish(
            "include",
            |v| {
                v.as_array().is_some_and(|a| {
                    a.iter().all(|i| {
                        matches!(
                            i.as_str(),
                            Some(
                                "reasoning.encrypted_content"
                                    | "file_search_call.results"
                                    | "web_search_call.results"
                                    | "message.output_text.logprobs"
                            )
                        )
                    })
                })
            },
            "an array of include values",
        )?;
        let logprobs = match o.get("logprobs") {
            None => None,
            Some(v @ Value::Bool(_)) => Some(v.clone()),
            Some(v @ Value::Number(n)) if n.as_f64().is_some_and(|n| (1.0..=20.0).contains(&n)) => Some(v.clone()),
            Some(_) => return Err(bad("logprobs", "a boolean or a number from 1 to 20")),
        };
        let prompt_cache_options = match o.get("promptCacheOptions") {
            None => None,
            Some(Value::Object(p)) => {
                let ok = |k: &str, f: fn(&Value) -> bool| p.get(k).is_none_or(f);
                if !ok("mode", |v| matches!(v.as_str(), Some("implicit" | "explicit")))
                    || !ok("ttl", |v| matches!(v.as_str(), Some("30m" | "12h")))
                    || !ok("prewarm", Value::is_boolean)
                    || !ok("comparisonResponseId", Value::is_string)
                {
                    return Err(bad("promptCacheOptions", "{mode?, ttl?, prewarm?, comparisonResponseId?}"));
                }
                Some(p.clone())
            }
            Some(_) => return Err(bad("promptCacheOptions", "an object")),
        };
        let context_management = nullish(
            "contextManagement",
            |v| {
                v.as_array().is_some_and(|a| {
                    a.iter().all(|c| {
                        c.get("type") == Some(&Value::from("compaction"))
                            && c.get("compactThreshold").is_some_and(Value::is_number)
                    })
                })
            },
            "an array of {type: \"compaction\", compactThreshold}",
        )?;
        let allowed_tools = match o.get("allowedTools") {
            None => None,
            Some(Value::Object(a)) => {
                let names: Option<Vec<String>> = a
                    .get("toolNames")
                    .and_then(Value::as_array)
                    .filter(|n| !n.is_empty())
                    .and_then(|n| n.iter().map(|s| s.as_str().map(str::to_string)).collect());
                let mode = match a.get("mode") {
                    None => Some("auto".to_string()),
                    Some(Value::String(m)) if m == "auto" || m == "required" => Some(m.clone()),
                    _ => None,
                };
                match (names, mode) {
                    (Some(n), Some(m)) => Some((n, m)),
                    _ => return Err(bad("allowedTools", "{toolNames: [at least one name], mode?: \"auto\" | \"required\"}")),
                }
            }
            Some(_) => return Err(bad("allowedTools", "an object")),
        };
        if o.contains_key("textFormat") {
            // A structured-output format for a chat step's text: headstart's
            // steps stream text for the browser, so this is refused rather
            // than sent half-supported.
            return Err(config("openai provider option `textFormat` is not supported by headstart"));
        }
        let efforts = ["none", "low", "medium", "high", "xhigh", "max"];
        Self {
            conversation: nullish("conversation", string, "a string")?,
            include,
            instructions: nullish("instructions", string, "a string")?,
            logprobs,
            max_tool_calls: nullish("maxToolCalls", Value::is_number, "a number")?,
            metadata: o.get("metadata").cloned(),
            parallel_tool_calls: nullish("parallelToolCalls", Value::is_boolean, "a boolean")?,
            previous_response_id: nullish("previousResponseId", string, "a string")?,
            prompt_cache_key: nullish("promptCacheKey", string, "a string")?,
            prompt_cache_options,
            prompt_cache_retention: nullish_enum("promptCacheRetention", &["in_memory", "24h"])?,
            reasoning_effort: nullish("reasoningEffort", string, "a string")?,
            reasoning_effort_update: optional_enum("reasoningEffortUpdate", &efforts)?,
            reasoning_mode: optional_enum("reasoningMode", &["standard", "pro"])?,
            reasoning_context: optional_enum("reasoningContext", &["auto", "current_turn", "all_turns"])?,
            reasoning_summary: nullish("reasoningSummary", string, "a string")?,
            safety_identifier: nullish("safetyIdentifier", string, "a string")?,
            service_tier: nullish_enum("serviceTier", &["auto", "flex", "priority", "fast", "ultrafast", "default"])?,
            store: nullish("store", Value::is_boolean, "a boolean")?,
            pass_through_unsupported_files: optional_bool("passThroughUnsupportedFiles")?.unwrap_or(false),
            text_verbosity: nullish_enum("textVerbosity", &["low", "medium", "high"])?,
            truncation: nullish_enum("truncation", &["auto", "disabled"])?,
            user: nullish("user", string, "a string")?,
            system_message_mode: optional_enum("systemMessageMode", &["system", "developer", "remove"])?,
            force_reasoning: optional_bool("forceReasoning")?,
            context_management,
            compaction_trigger: optional_bool("compactionTrigger")?.unwrap_or(false),
            allowed_tools,
        }
        .checked_rest(o)
    }

    /// The keys read only for their type (no effect on a chat step's
    /// request), so a wrong type still fails as in the SDK.
    fn checked_rest(self, o: &Map<String, Value>) -> Result<Self, ProviderError> {
        for k in ["includeWebSearchSources"] {
            if o.get(k).is_some_and(|v| !v.is_boolean()) {
                return Err(config(format!("invalid openai provider options: `{k}` must be a boolean")));
            }
        }
        if o.get("strictJsonSchema").is_some_and(|v| !v.is_boolean() && !v.is_null()) {
            return Err(config("invalid openai provider options: `strictJsonSchema` must be a boolean"));
        }
        Ok(self)
    }

    /// `store` as the history conversion reads it (`store ?? true`).
    pub(super) fn store_for_input(&self) -> bool {
        self.store.as_ref().and_then(Value::as_bool).unwrap_or(true)
    }

    /// `logprobs` as a top-n count (`true` is 20).
    pub(super) fn top_logprobs(&self) -> Option<Value> {
        match &self.logprobs {
            Some(Value::Bool(true)) => Some(Value::from(20)),
            Some(n @ Value::Number(_)) => Some(n.clone()),
            _ => None,
        }
    }
}
