//! The model options of `createHandler` (`provider`, `model`, `apiKey`,
//! `baseURL`, `vertex`, `models`, `headers`, `retryBudgetMs`) as the
//! worker's variables, so they go through the same
//! [`ModelSettings::from_vars`](crate::provider::config::ModelSettings::from_vars).

use std::collections::HashMap;

use serde_json::Value;

use super::{http_url, Fields};

/// Sets the model's variables in `vars`; returns the keys of `models`
/// entries, each under a variable name of its own (never in the list).
pub(super) fn provider_vars(f: &Fields, vars: &mut HashMap<&'static str, String>) -> Result<HashMap<String, String>, String> {
    let (list, keys) = models_from_json(f)?;
    if let Some(list) = list {
        vars.insert("HEADSTART_MODELS", list);
    }
    let api_key = f.string("apiKey")?;
    let provider = match f.string("provider")? {
        _ if f.get("models").is_some() => "list".into(),
        Some(p) if matches!(p.as_str(), "anthropic" | "openai" | "openai-chat" | "google" | "vertex" | "scripted") => p,
        Some(p) => {
            return Err(format!(
                "`provider` must be \"anthropic\", \"openai\", \"openai-chat\", \"google\", \"vertex\" or \"scripted\", got {p:?}"
            ))
        }
        None if api_key.is_some() => {
            return Err(
                "`provider` is required with `apiKey` (\"anthropic\", \"openai\", \"openai-chat\", \"google\" or \"vertex\")"
                    .into(),
            )
        }
        None => "scripted".into(),
    };
    let base_url = f.string("baseURL")?.map(|u| http_url("baseURL", u.trim())).transpose()?;
    match provider.as_str() {
        // A Vertex entry of the list may sign in with the service account of
        // `vertex` instead of a key of its own.
        "list" => vertex_vars(f, None, None, vars)?,
        "scripted" => {
            for key in ["apiKey", "baseURL", "model"] {
                if f.get(key).is_some() {
                    return Err(format!("`{key}` does not apply to provider \"scripted\""));
                }
            }
        }
        "vertex" => {
            vertex_vars(f, api_key, base_url, vars)?;
            if f.get("scripted").is_some() {
                return Err("`scripted` applies only to provider \"scripted\", not \"vertex\"".into());
            }
        }
        p => {
            if f.get("vertex").is_some() {
                return Err(format!("`vertex` applies only to provider \"vertex\", not {p:?}"));
            }
            let key = api_key.ok_or_else(|| format!("`apiKey` is required for provider {p:?}"))?;
            let (key_var, url_var) = match p {
                "anthropic" => ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
                "google" => ("GOOGLE_GENERATIVE_AI_API_KEY", "GOOGLE_GENERATIVE_AI_BASE_URL"),
                _ => ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
            };
            vars.insert(key_var, key);
            if let Some(url) = base_url {
                vars.insert(url_var, url);
            }
            if f.get("scripted").is_some() {
                return Err(format!("`scripted` applies only to provider \"scripted\", not {p:?}"));
            }
        }
    }
    if provider != "list" {
        vars.insert("HEADSTART_PROVIDER", provider);
    }
    if let Some(h) = f.object("headers")? {
        vars.insert("HEADSTART_MODEL_HEADERS", Value::Object(h).to_string());
    }
    if let Some(n) = f.int("retryBudgetMs", 0, 600_000)? {
        vars.insert("HEADSTART_RETRY_BUDGET_MS", n.to_string());
    }
    Ok(keys)
}

/// Vertex AI's variables from `apiKey` (express mode) or the `vertex`
/// object: `{ project, location, clientEmail, privateKey, privateKeyId }`
/// (a service account; the key is checked by the model settings, which
/// name the option and never echo it).
fn vertex_vars(
    f: &Fields,
    api_key: Option<String>,
    base_url: Option<String>,
    vars: &mut HashMap<&'static str, String>,
) -> Result<(), String> {
    const FIELDS: [(&str, &str); 6] = [
        ("project", "GOOGLE_VERTEX_PROJECT"),
        ("location", "GOOGLE_VERTEX_LOCATION"),
        ("clientEmail", "GOOGLE_CLIENT_EMAIL"),
        ("privateKey", "GOOGLE_PRIVATE_KEY"),
        ("privateKeyId", "GOOGLE_PRIVATE_KEY_ID"),
        ("tokenUri", "GOOGLE_TOKEN_URI"),
    ];
    if let Some(v) = f.object("vertex")? {
        for key in v.keys() {
            if !FIELDS.iter().any(|(k, _)| k == key) {
                return Err(format!(
                    "unknown option `vertex.{key}` (known: project, location, clientEmail, privateKey, privateKeyId, tokenUri)"
                ));
            }
        }
        let vf = Fields(&v);
        for (key, var) in FIELDS {
            // Errors name the field, never its value (a private key).
            match vf.get(key) {
                None => {}
                Some(Value::String(s)) => {
                    vars.insert(var, s.clone());
                }
                Some(_) => return Err(format!("`vertex.{key}` must be a string")),
            }
        }
    }
    if let Some(key) = api_key {
        vars.insert("GOOGLE_VERTEX_API_KEY", key);
    }
    if let Some(url) = base_url {
        vars.insert("GOOGLE_VERTEX_BASE_URL", url);
    }
    Ok(())
}

/// `models`: `[{provider, model?, apiKey?, baseURL?, headers?}]`, as the
/// `HEADSTART_MODELS` JSON list, each key under a variable name of its own
/// (the list itself never holds one), returned apart.
fn models_from_json(f: &Fields) -> Result<(Option<String>, HashMap<String, String>), String> {
    const ENTRY: &[&str] = &["provider", "model", "apiKey", "baseURL", "headers"];
    let mut keys = HashMap::new();
    let Some(value) = f.get("models") else { return Ok((None, keys)) };
    let Value::Array(items) = value else {
        return Err("`models` must be an array of {provider, model, apiKey, baseURL, headers}".into());
    };
    for key in ["provider", "model", "apiKey", "baseURL", "headers"] {
        if f.get(key).is_some() {
            return Err(format!("`{key}` and `models` do not go together: the first entry of `models` is the model"));
        }
    }
    let mut list = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(entry) = item else { return Err(format!("`models[{i}]` must be an object")) };
        if let Some(key) = entry.keys().find(|k| !ENTRY.contains(&k.as_str())) {
            return Err(format!("unknown option `models[{i}].{key}` (known: {})", ENTRY.join(", ")));
        }
        let ef = Fields(entry);
        let scoped = |e: String| e.replacen('`', &format!("`models[{i}]."), 1);
        let provider = ef.string("provider").map_err(scoped)?.ok_or_else(|| format!("`models[{i}].provider` is required"))?;
        let base_url =
            ef.string("baseURL").map_err(scoped)?.map(|u| http_url(&format!("models[{i}].baseURL"), u.trim())).transpose()?;
        let key_var = match ef.string("apiKey").map_err(scoped)? {
            Some(key) => {
                let name = format!("HEADSTART_MODELS_KEY_{i}");
                keys.insert(name.clone(), key);
                Some(name)
            }
            None if provider == "vertex" && f.get("vertex").is_some() => None,
            None if provider != "scripted" => {
                let hint = if provider == "vertex" { " (or give `vertex` a service account)" } else { "" };
                return Err(format!("`models[{i}].apiKey` is required for provider {provider:?}{hint}"));
            }
            None => None,
        };
        let model = ef.string("model").map_err(scoped)?;
        let headers = ef.object("headers").map_err(scoped)?;
        list.push(crate::provider::models::entry_json(
            &provider,
            model.as_deref(),
            base_url.as_deref(),
            key_var.as_deref(),
            headers.as_ref(),
        ));
    }
    Ok((Some(Value::Array(list).to_string()), keys))
}
