//! The Responses request body, as `@ai-sdk/openai`'s responses model
//! (`prepareRequest` + `doStream`) builds it from what `streamText` hands it.
//!
//! Key order follows the SDK's object literal (`JSON.stringify` drops the
//! `undefined` entries and keeps `null` ones): `model`, `input`,
//! `temperature`, `top_p`, `max_output_tokens`, `text`, `conversation`,
//! `max_tool_calls`, `metadata`, `parallel_tool_calls`,
//! `previous_response_id`, `store`, `user`, `instructions`, `service_tier`,
//! `include`, `prompt_cache_key`, `prompt_cache_options`,
//! `prompt_cache_retention`, `safety_identifier`, `top_logprobs`,
//! `truncation`, `context_management`, `reasoning`, `tools`, `tool_choice`,
//! `stream`.

use serde_json::{json, Map, Value};

use super::super::request::{config, ModelTraits};
use super::super::tools::normalize_schema;
use super::input::{convert_input, InputSettings};
use super::options::{str_of, ResponsesOptions};
use crate::provider::error::ProviderError;
use crate::provider::tool::{ToolChoice, ToolSpec};
use crate::provider::CallOptions;

/// Reasoning efforts of GPT-6 and later (the catalog's list); the models
/// that may run without reasoning (sampling with effort `none`) take `none`
/// too.
const GPT6_EFFORTS: [&str; 5] = ["low", "medium", "high", "xhigh", "max"];

pub(super) fn request_body(model: &str, options: &CallOptions) -> Result<Value, ProviderError> {
    if options.max_output_tokens == Some(0) {
        return Err(config("maxOutputTokens must be >= 1"));
    }
    let opts = ResponsesOptions::parse(&options.provider_options)?;
    let traits = ModelTraits::of(model);
    // `reasoning` (the portable setting) is not a call option of a step:
    // only the provider option sets an effort.
    let effort = str_of(&opts.reasoning_effort).map(str::to_string);
    let summary: Option<Value> = match &opts.reasoning_summary {
        Some(v) => Some(v.clone()),
        None => effort.as_deref().filter(|e| *e != "none").map(|_| json!("detailed")),
    };
    let is_reasoning = opts.force_reasoning.unwrap_or(traits.reasoning);
    let mode = opts
        .system_message_mode
        .clone()
        .unwrap_or_else(|| if is_reasoning || traits.reasoning { "developer" } else { "system" }.into());
    let mut input = convert_input(
        options,
        &InputSettings {
            system_message_mode: &mode,
            store: opts.store_for_input(),
            is_reasoning_model: is_reasoning,
            has_conversation: str_of(&opts.conversation).is_some(),
            has_previous_response_id: str_of(&opts.previous_response_id).is_some(),
            pass_through_unsupported_files: opts.pass_through_unsupported_files,
        },
    )?;

    // A request-level effort update goes first in the input, where the
    // model takes it (GPT-6 and later only; elsewhere the SDK warns and
    // drops it).
    let update_unsupported = !traits.gpt6
        || opts.reasoning_mode.as_deref() == Some("pro")
        || opts.context_management.as_ref().is_some_and(|c| !c.is_null())
        || str_of(&opts.truncation) == Some("auto");
    let mut effective_effort = effort.clone();
    if let Some(update) = &opts.reasoning_effort_update {
        let supported = GPT6_EFFORTS.contains(&update.as_str()) || (update == "none" && traits.sampling_with_effort_none);
        if !update_unsupported && supported {
            let first = input.first();
            let same = first.is_some_and(|f| {
                f.get("type") == Some(&json!("configuration_update")) && f.pointer("/reasoning/effort") == Some(&json!(update))
            });
            if !same {
                input.insert(0, json!({ "type": "configuration_update", "reasoning": { "effort": update } }));
            }
            effective_effort = Some(update.clone());
        }
    }
    if opts.compaction_trigger {
        input.push(json!({ "type": "compaction_trigger" }));
    }

    let mut include: Option<Value> = opts.include.clone();
    let mut add_include = |key: &str| match &mut include {
        Some(Value::Array(list)) => {
            if !list.iter().any(|v| v == key) {
                list.push(json!(key));
            }
        }
        other => *other = Some(json!([key])),
    };
    let mut top_logprobs = opts.top_logprobs();
    if top_logprobs.is_some() {
        add_include("message.output_text.logprobs");
    }
    if opts.store == Some(Value::Bool(false)) && is_reasoning {
        add_include("reasoning.encrypted_content");
    }

    let mut temperature = options.temperature.and_then(serde_json::Number::from_f64).map(Value::Number);
    let mut service_tier = opts.service_tier.clone();
    if is_reasoning {
        let sampling_allowed = effective_effort.as_deref() == Some("none") && traits.sampling_with_effort_none;
        if !sampling_allowed {
            temperature = None;
            if traits.gpt6 {
                top_logprobs = None;
                if let Some(Value::Array(list)) = &mut include {
                    list.retain(|v| v != "message.output_text.logprobs");
                    if list.is_empty() {
                        include = None;
                    }
                }
            }
        }
    }
    match str_of(&service_tier) {
        Some("flex") if !traits.flex => service_tier = None,
        Some("priority" | "fast") if !traits.priority => service_tier = None,
        _ => {}
    }
    let prompt_cache_retention = opts.prompt_cache_retention.clone().filter(|_| traits.prompt_cache_retention);

    let mut body = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.to_string(), v);
        }
    };
    put("model", Some(json!(model)));
    put("input", Some(Value::Array(input)));
    put("temperature", temperature);
    put("max_output_tokens", options.max_output_tokens.map(|m| json!(m)));
    if let Some(v) = opts.text_verbosity.clone().filter(|v| !v.is_null()) {
        put("text", Some(json!({ "verbosity": v })));
    }
    put("conversation", opts.conversation.clone());
    put("max_tool_calls", opts.max_tool_calls.clone());
    put("metadata", opts.metadata.clone());
    put("parallel_tool_calls", opts.parallel_tool_calls.clone());
    put("previous_response_id", opts.previous_response_id.clone());
    put("store", opts.store.clone());
    put("user", opts.user.clone());
    put("instructions", opts.instructions.clone());
    put("service_tier", service_tier);
    put("include", include);
    put("prompt_cache_key", opts.prompt_cache_key.clone());
    put(
        "prompt_cache_options",
        opts.prompt_cache_options.as_ref().map(|p| {
            let mut o = Map::new();
            for (from, to) in
                [("mode", "mode"), ("ttl", "ttl"), ("prewarm", "prewarm"), ("comparisonResponseId", "comparison_response_id")]
            {
                if let Some(v) = p.get(from) {
                    o.insert(to.into(), v.clone());
                }
            }
            Value::Object(o)
        }),
    );
    put("prompt_cache_retention", prompt_cache_retention);
    put("safety_identifier", opts.safety_identifier.clone());
    put("top_logprobs", top_logprobs);
    put("truncation", opts.truncation.clone());
    if let Some(Value::Array(list)) = &opts.context_management {
        let list = list.iter().map(|c| json!({ "type": c["type"], "compact_threshold": c["compactThreshold"] })).collect();
        put("context_management", Some(Value::Array(list)));
    }
    if is_reasoning
        && (effort.is_some()
            || summary.as_ref().is_some_and(|s| !s.is_null())
            || opts.reasoning_mode.is_some()
            || opts.reasoning_context.is_some())
    {
        let mut r = Map::new();
        if let Some(e) = &effort {
            r.insert("effort".into(), json!(e));
        }
        if let Some(s) = summary.filter(|s| !s.is_null()) {
            r.insert("summary".into(), s);
        }
        if let Some(m) = &opts.reasoning_mode {
            r.insert("mode".into(), json!(m));
        }
        if let Some(c) = &opts.reasoning_context {
            r.insert("context".into(), json!(c));
        }
        put("reasoning", Some(Value::Object(r)));
    }
    if let Some((tools, choice)) = prepare_tools(&options.tools, options.tool_choice.as_ref(), opts.allowed_tools.as_ref())? {
        put("tools", Some(tools));
        put("tool_choice", Some(choice));
    }
    put("stream", Some(Value::Bool(true)));
    Ok(Value::Object(body))
}

/// `prepareResponsesTools` for function tools. A `None` choice is `auto`:
/// `streamText` always passes one.
fn prepare_tools(
    tools: &[ToolSpec],
    choice: Option<&ToolChoice>,
    allowed: Option<&(Vec<String>, String)>,
) -> Result<Option<(Value, Value)>, ProviderError> {
    if tools.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(tools.len());
    for tool in tools {
        let mut t = Map::new();
        t.insert("type".into(), json!("function"));
        t.insert("name".into(), json!(tool.name));
        if let Some(d) = &tool.description {
            t.insert("description".into(), json!(d));
        }
        t.insert("parameters".into(), normalize_schema(&tool.input_schema)?);
        t.insert("strict".into(), json!(false));
        out.push(Value::Object(t));
    }
    let choice = match (allowed, choice.unwrap_or(&ToolChoice::Auto)) {
        // Every function tool can be allow-listed; a name that is not one
        // of this call's tools is sent as a function too (the SDK warns).
        (Some((names, mode)), _) => json!({
            "type": "allowed_tools",
            "mode": mode,
            "tools": names.iter().map(|n| json!({ "type": "function", "name": n })).collect::<Vec<_>>(),
        }),
        (None, ToolChoice::Auto) => json!("auto"),
        (None, ToolChoice::None) => json!("none"),
        (None, ToolChoice::Required) => json!("required"),
        (None, ToolChoice::Tool { tool_name }) => json!({ "type": "function", "name": tool_name }),
    };
    Ok(Some((Value::Array(out), choice)))
}
