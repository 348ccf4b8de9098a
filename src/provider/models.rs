//! The ordered list of models a step may try (fallback) and the request
//! headers each one's calls carry, from variables.
//!
//! `HEADSTART_MODELS` takes two forms:
//!
//! - `provider:model,provider:model`: each model with its provider's own
//!   variables (`ANTHROPIC_API_KEY`, `OPENAI_BASE_URL`, ...), as
//!   `HEADSTART_PROVIDER`/`HEADSTART_MODEL` would configure it;
//! - a JSON array of `{provider, model?, baseURL?, apiKeyVar?, headers?,
//!   headersVar?}`, for several hosts of one provider or a gateway:
//!   `apiKeyVar` names the variable (a secret) holding that entry's key,
//!   `headers` are plain request headers, `headersVar` names a variable (a
//!   secret) holding a JSON object of headers, merged over `headers`. No
//!   secret is ever written into the list itself, which is a plain var.
//!
//! An entry's `apiKeyVar` and `baseURL` stand in for its provider's own key
//! and base URL variables: by convention every provider reads its key from a
//! variable named `*_API_KEY` and its base URL from one named `*_BASE_URL`
//! (checked by a test for each provider name).

use serde_json::{Map, Value};

use super::config::{model_from_vars, ConfigError, Model};

/// At most this many models in a list: a step that has failed on eight
/// hosts has little to gain from a ninth, and each costs a stall timeout.
pub const MAX_MODELS: usize = 8;

/// At most this many custom headers per model.
pub const MAX_HEADERS: usize = 32;

/// Request headers a model's calls add to (or replace in) what its provider
/// sends, e.g. a gateway's `cf-aig-authorization`. Their values may be
/// secrets: `Debug` shows the names only, and no error message quotes a
/// value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestHeaders(pub Vec<(String, String)>);

impl std::fmt::Debug for RequestHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(name, _)| format!("{name}: <redacted>"))).finish()
    }
}

impl RequestHeaders {
    /// `headers` with these set, replacing any of the same name.
    pub fn apply(&self, headers: &mut Vec<(String, String)>) {
        for (name, value) in &self.0 {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
    }

    /// Headers from a JSON object of strings; `what` names the source in
    /// errors (never a value).
    pub fn from_json(value: &Value, what: &str) -> Result<Self, String> {
        let Value::Object(map) = value else { return Err(format!("{what} must be a JSON object of header names to strings")) };
        if map.len() > MAX_HEADERS {
            return Err(format!("{what}: at most {MAX_HEADERS} headers"));
        }
        let mut out = Vec::with_capacity(map.len());
        for (name, value) in map {
            let Value::String(value) = value else { return Err(format!("{what}: header {name:?} must be a string")) };
            check_header(name, value).map_err(|e| format!("{what}: {e}"))?;
            out.push((name.to_ascii_lowercase(), value.clone()));
        }
        Ok(Self(out))
    }

    /// These headers with `over`'s set over them.
    fn merged(mut self, over: Self) -> Self {
        over.apply(&mut self.0);
        self
    }
}

/// A header name is an HTTP token; a value has no line breaks (nothing can
/// be smuggled into the request). `content-length`, `host` and
/// `content-type` belong to the request itself.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("{name:?} is not a header name"));
    }
    if ["content-length", "host", "content-type", "transfer-encoding"].iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return Err(format!("header {name:?} cannot be set"));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(format!("the value of header {name:?} has a line break or NUL"));
    }
    Ok(())
}

/// One model of a list, with its request headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelChoice {
    pub model: Model,
    pub headers: RequestHeaders,
}

/// Reads the list in `var` (`HEADSTART_MODELS` or `HEADSTART_AGENT_MODELS`).
pub fn list_from_vars(
    var: &'static str,
    text: &str,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<ModelChoice>, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid { name: var, message };
    let text = text.trim();
    let entries: Vec<Entry> = if text.starts_with('[') {
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
            return Err(invalid("must be a JSON array of {provider, model, baseURL?, apiKeyVar?, headers?, headersVar?}".into()));
        };
        items.iter().enumerate().map(|(i, item)| Entry::from_json(i + 1, item)).collect::<Result<_, _>>().map_err(invalid)?
    } else {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                let (provider, model) = match item.split_once(':') {
                    Some((p, m)) => (p.trim(), Some(m.trim().to_string()).filter(|m| !m.is_empty())),
                    None => (item, None),
                };
                Entry { provider: provider.to_string(), model, ..Entry::default() }
            })
            .collect()
    };
    if entries.is_empty() {
        return Err(invalid("names no model".into()));
    }
    if entries.len() > MAX_MODELS {
        return Err(invalid(format!("at most {MAX_MODELS} models")));
    }
    if entries.len() > 1 && entries.iter().any(|e| e.provider == "scripted") {
        return Err(invalid("the scripted model cannot be in a list with others".into()));
    }
    entries.into_iter().enumerate().map(|(i, entry)| entry.choice(i + 1, get).map_err(invalid)).collect()
}

/// One entry as written.
#[derive(Debug, Default)]
struct Entry {
    provider: String,
    model: Option<String>,
    base_url: Option<String>,
    api_key_var: Option<String>,
    headers: Option<Value>,
    headers_var: Option<String>,
}

const ENTRY_KEYS: &[&str] = &["provider", "model", "baseURL", "apiKeyVar", "headers", "headersVar"];

impl Entry {
    fn from_json(n: usize, item: &Value) -> Result<Self, String> {
        let Value::Object(map) = item else { return Err(format!("entry {n} must be an object")) };
        if let Some(key) = map.keys().find(|k| !ENTRY_KEYS.contains(&k.as_str())) {
            let hint = if key == "apiKey" { " (name the variable holding the key with apiKeyVar)" } else { "" };
            return Err(format!("entry {n}: unknown key {key:?}{hint} (known: {})", ENTRY_KEYS.join(", ")));
        }
        let string = |key: &str| -> Result<Option<String>, String> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
                Some(_) => Err(format!("entry {n}: {key} must be a non-empty string")),
            }
        };
        Ok(Self {
            provider: string("provider")?.ok_or_else(|| format!("entry {n}: provider is required"))?,
            model: string("model")?,
            base_url: string("baseURL")?,
            api_key_var: string("apiKeyVar")?,
            headers: map.get("headers").filter(|v| !v.is_null()).cloned(),
            headers_var: string("headersVar")?,
        })
    }

    fn choice(self, n: usize, get: &dyn Fn(&str) -> Option<String>) -> Result<ModelChoice, String> {
        let Entry { provider, model, base_url, api_key_var, headers, headers_var } = self;
        let at = format!("entry {n} ({provider})");
        if let Some(url) = &base_url {
            let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) || url.contains(char::is_whitespace) {
                return Err(format!("{at}: baseURL must be an absolute http(s) URL, got {url:?}"));
            }
        }
        let key = match &api_key_var {
            Some(name) => Some(
                get(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("{at}: {name} (its apiKeyVar) is not set"))?,
            ),
            None => None,
        };
        if provider == "scripted" && (base_url.is_some() || key.is_some() || model.is_some()) {
            return Err(format!("{at}: the scripted model takes no model, baseURL or apiKeyVar"));
        }
        // The entry's key and base URL stand in for the provider's own.
        let overlay = |name: &str| {
            if name.ends_with("_API_KEY") && key.is_some() {
                key.clone()
            } else if name.ends_with("_BASE_URL") && base_url.is_some() {
                base_url.clone()
            } else {
                get(name)
            }
        };
        let overlay: &dyn Fn(&str) -> Option<String> = &overlay;
        let model = model_from_vars(&provider, model, &overlay).map_err(|e| match e {
            ConfigError::MissingKey { key, .. } => format!("{at}: needs an API key: set {key} or give the entry an apiKeyVar"),
            ConfigError::Invalid { message, .. } => format!("{at}: {message}"),
        })?;
        let mut out = match &headers {
            Some(h) => RequestHeaders::from_json(h, &format!("{at}: headers"))?,
            None => RequestHeaders::default(),
        };
        if let Some(name) = &headers_var {
            let text = get(name).ok_or_else(|| format!("{at}: {name} (its headersVar) is not set"))?;
            let value: Value =
                serde_json::from_str(&text).map_err(|_| format!("{at}: {name} must hold a JSON object of headers"))?;
            out = out.merged(RequestHeaders::from_json(&value, &format!("{at}: {name}"))?);
        }
        if matches!(model, Model::Scripted(_)) && !out.0.is_empty() {
            return Err(format!("{at}: the scripted model takes no headers"));
        }
        Ok(ModelChoice { model, headers: out })
    }
}

/// The headers of the single model of `HEADSTART_PROVIDER`/`HEADSTART_MODEL`
/// from `HEADSTART_MODEL_HEADERS` (a JSON object; may be a secret).
pub fn headers_from_var(get: &dyn Fn(&str) -> Option<String>) -> Result<RequestHeaders, ConfigError> {
    const NAME: &str = "HEADSTART_MODEL_HEADERS";
    match get(NAME) {
        None => Ok(RequestHeaders::default()),
        Some(text) => {
            let value: Value = serde_json::from_str(&text)
                .map_err(|_| ConfigError::Invalid { name: NAME, message: "must be a JSON object of headers".into() })?;
            RequestHeaders::from_json(&value, "the object").map_err(|message| ConfigError::Invalid { name: NAME, message })
        }
    }
}

/// A list entry as JSON, for callers that build a list from values (the
/// JS options): `api_key_var` names where the key is.
pub fn entry_json(
    provider: &str,
    model: Option<&str>,
    base_url: Option<&str>,
    api_key_var: Option<&str>,
    headers: Option<&Map<String, Value>>,
) -> Value {
    let mut o = Map::new();
    o.insert("provider".into(), provider.into());
    for (k, v) in [("model", model), ("baseURL", base_url), ("apiKeyVar", api_key_var)] {
        if let Some(v) = v {
            o.insert(k.into(), v.into());
        }
    }
    if let Some(h) = headers {
        o.insert("headers".into(), Value::Object(h.clone()));
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests;
