//! What the SDK's zod schema (`openaiResponsesChunkSchema`) requires of the
//! Responses events the decoder reads, the error an event makes, and the
//! SDK's mappings of finish reasons and usage.

use serde_json::Value;

use super::super::{status_from_error, PROVIDER};
use crate::protocol::message::FinishReason;
use crate::provider::error::ProviderError;
use crate::provider::part::Usage;

/// The event fields the SDK's schema requires, by kind.
pub(super) fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| format!("`{key}` must be a string"))
}

pub(super) fn num_field(v: &Value, key: &str) -> Result<f64, String> {
    v.get(key).and_then(Value::as_f64).ok_or_else(|| format!("`{key}` must be a number"))
}

/// An optional (nullish) number field.
pub(super) fn opt_num(v: &Value, key: &str) -> Result<Option<f64>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n.as_f64().map(Some).ok_or_else(|| format!("`{key}` must be a number")),
    }
}

/// An output or summary index as a map key. The API counts from 0; other
/// numbers cannot be told apart the way the SDK's JS object keys are.
pub(super) fn index(n: f64) -> Result<u64, String> {
    if n >= 0.0 && n.fract() == 0.0 && n < 9.0e15 {
        Ok(n as u64)
    } else {
        Err(format!("index {n} is not a count"))
    }
}

pub(super) fn opt_index(v: &Value, key: &str) -> Result<Option<u64>, String> {
    opt_num(v, key)?.map(index).transpose()
}

/// The `item` types the SDK's schema knows (others are ignored).
pub(super) const MODELED_ITEMS: [&str; 21] = [
    "apply_patch_call",
    "code_interpreter_call",
    "compaction",
    "computer_call",
    "custom_tool_call",
    "file_search_call",
    "function_call",
    "image_generation_call",
    "local_shell_call",
    "mcp_approval_request",
    "mcp_call",
    "mcp_list_tools",
    "message",
    "program",
    "program_output",
    "reasoning",
    "shell_call",
    "shell_call_output",
    "tool_search_call",
    "tool_search_output",
    "web_search_call",
];

pub(super) fn phase(item: &Value) -> Result<Option<Value>, String> {
    match item.get("phase") {
        None | Some(Value::Null) => Ok(None),
        Some(p @ Value::String(s)) if s == "commentary" || s == "final_answer" => Ok(Some(p.clone())),
        Some(_) => Err("`item.phase` must be commentary or final_answer".into()),
    }
}

pub(super) fn encrypted_content(item: &Value) -> Result<Option<String>, String> {
    match item.get("encrypted_content") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("`item.encrypted_content` must be a string".into()),
    }
}

pub(super) fn function_call(item: &Value) -> Result<(String, String), String> {
    str_field(item, "id")?;
    str_field(item, "arguments")?;
    Ok((str_field(item, "call_id")?.to_string(), str_field(item, "name")?.to_string()))
}

pub(super) fn incomplete_reason(r: &Value) -> Result<Option<String>, String> {
    match r.get("incomplete_details") {
        None | Some(Value::Null) => Ok(None),
        Some(d) => str_field(d, "reason").map(|s| Some(s.to_string())),
    }
}

pub(super) fn usage(r: &Value) -> Result<Option<Value>, String> {
    match r.get("usage") {
        None | Some(Value::Null) => Ok(None),
        Some(u) => {
            num_field(u, "input_tokens")?;
            num_field(u, "output_tokens")?;
            Ok(Some(u.clone()))
        }
    }
}

/// `response.error` of a failed response: `(code, message)`.
pub(super) fn response_error(r: &Value) -> Result<Option<(Option<String>, String)>, String> {
    match r.get("error") {
        None | Some(Value::Null) => Ok(None),
        Some(e) => {
            let message = str_field(e, "message")?.to_string();
            let code = match e.get("code") {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) => Some(c.clone()),
                Some(_) => return Err("`response.error.code` must be a string".into()),
            };
            Ok(Some((code, message)))
        }
    }
}

/// An `error` event, nested (`{error: {type, code, message}}`) or flat
/// (`{code, message}`): `(kind, message)`.
pub(super) fn error_event(v: &Value) -> Result<(String, String), String> {
    let nullable_str = |o: &Value, k: &str| -> Result<Option<String>, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{k}` must be a string")),
        }
    };
    if let Some(e) = v.get("error").filter(|e| e.is_object()) {
        let kind = str_field(e, "type")?.to_string();
        let code = nullable_str(e, "code")?;
        return Ok((code.unwrap_or(kind), str_field(e, "message")?.to_string()));
    }
    let code = nullable_str(v, "code")?;
    Ok((code.unwrap_or_else(|| "error".into()), str_field(v, "message")?.to_string()))
}

/// Whether an `error` or `response.failed` event fits the SDK's schema (the
/// look-ahead sees only events that do).
pub(super) fn well_formed_error(kind: &str, v: &Value) -> bool {
    let seq = num_field(v, "sequence_number").is_ok();
    match kind {
        "error" => seq && error_event(v).is_ok(),
        "response.failed" => {
            seq && v
                .get("response")
                .filter(|r| r.is_object())
                .is_some_and(|r| response_error(r).is_ok() && incomplete_reason(r).is_ok() && usage(r).is_ok())
        }
        _ => false,
    }
}

/// The error that fails the call when it comes before any output
/// (`createOpenAIStreamError`): status inferred from code and type.
pub(super) fn early_error(kind: &str, v: &Value) -> Option<ProviderError> {
    let (code, error_type, message) = match kind {
        "error" => {
            let e = v.get("error").filter(|e| e.is_object()).unwrap_or(v);
            let message = e.get("message")?.as_str()?.to_string();
            let code = match e.get("code") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            (code, e.get("type").and_then(Value::as_str).map(str::to_string), message)
        }
        "response.failed" => {
            let e = v.pointer("/response/error").filter(|e| e.is_object())?;
            let message = e.get("message")?.as_str()?.to_string();
            let code = match e.get("code") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            (code, Some("response.failed".to_string()), message)
        }
        _ => return None,
    };
    let status = status_from_error(error_type.as_deref(), code.as_deref());
    Some(ProviderError::Http { provider: PROVIDER, status, kind: code.or(error_type), message, retry_after_ms: None })
}

/// `mapOpenAIResponseFinishReason`.
pub(super) fn map_finish_reason(reason: Option<&str>, has_function_call: bool, has_refusal: bool) -> FinishReason {
    match reason {
        None if has_function_call => FinishReason::ToolCalls,
        None if has_refusal => FinishReason::ContentFilter,
        None => FinishReason::Stop,
        Some("max_output_tokens") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(_) if has_function_call => FinishReason::ToolCalls,
        Some(_) => FinishReason::Other,
    }
}

/// `convertOpenAIResponsesUsage`.
pub(super) fn convert_usage(usage: Option<&Value>) -> Usage {
    let Some(u) = usage else { return Usage::default() };
    let n = |p: &str| u.pointer(p).and_then(Value::as_f64).map(|n| n.max(0.0) as u64);
    Usage {
        input_tokens: n("/input_tokens"),
        output_tokens: n("/output_tokens"),
        reasoning_tokens: Some(n("/output_tokens_details/reasoning_tokens").unwrap_or(0)),
        cached_input_tokens: Some(n("/input_tokens_details/cached_tokens").unwrap_or(0)),
    }
}
