//! The `streamGenerateContent` request (the SDK's `prepareRequest`), key
//! order included: `generationConfig`, `contents`, `systemInstruction`,
//! `safetySettings`, `tools`, `toolConfig`, `cachedContent`, `labels`,
//! `serviceTier`.

use serde_json::{json, Map, Value};

use super::messages::convert_messages;
use super::tools::prepare_tools;
use super::{GoogleAuth, GoogleConfig, ModelTraits};
use crate::provider::openai::js_json;
use crate::provider::{CallOptions, HttpRequest, ProviderError};

/// The categories `providerOptions.google.threshold` applies to.
const THRESHOLD_CATEGORIES: [&str; 4] = [
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
];

/// The request of one call. With a service account, the caller adds the
/// `authorization` header (see [`super::auth`]).
pub fn build_request(config: &GoogleConfig, options: &CallOptions) -> Result<HttpRequest, ProviderError> {
    let traits = ModelTraits::of(&config.model);
    let opts = provider_options(config, &options.provider_options);
    let opt = |key: &str| opts.and_then(|o| o.get(key)).filter(|v| !v.is_null());

    let mut generation = Map::new();
    if let Some(n) = options.max_output_tokens {
        generation.insert("maxOutputTokens".into(), n.into());
    }
    if let Some(t) = options.temperature {
        generation.insert("temperature".into(), json!(t));
    }
    if let Some(v) = opt("audioTimestamp").filter(|v| v.as_bool() == Some(true)) {
        generation.insert("audioTimestamp".into(), v.clone());
    }
    if let Some(v) = opt("responseModalities") {
        generation.insert("responseModalities".into(), v.clone());
    }
    if let Some(t) = opt("thinkingConfig") {
        let t = t.as_object().ok_or_else(|| invalid("thinkingConfig must be an object"))?;
        // Zod's parse keeps the schema's keys, in its order.
        let mut thinking = Map::new();
        for key in ["thinkingBudget", "includeThoughts", "thinkingLevel"] {
            if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                thinking.insert(key.into(), v.clone());
            }
        }
        generation.insert("thinkingConfig".into(), Value::Object(thinking));
    }
    if let Some(v) = opt("mediaResolution") {
        generation.insert("mediaResolution".into(), v.clone());
    }

    let (contents, system) = convert_messages(config, traits, options)?;
    let mut body = Map::new();
    body.insert("generationConfig".into(), Value::Object(generation));
    body.insert("contents".into(), Value::Array(contents));
    if let (Some(system), false) = (system, traits.gemma) {
        body.insert("systemInstruction".into(), system);
    }
    let safety = match (opt("safetySettings"), opt("threshold")) {
        // Zod's parse writes each setting's keys in the schema's order.
        (Some(Value::Array(items)), _) => Some(Value::Array(
            items
                .iter()
                .map(|i| json!({ "category": i.get("category").cloned(), "threshold": i.get("threshold").cloned() }))
                .collect(),
        )),
        (Some(_), _) => return Err(invalid("safetySettings must be an array of {category, threshold}")),
        (None, Some(t)) => {
            Some(Value::Array(THRESHOLD_CATEGORIES.iter().map(|c| json!({ "category": c, "threshold": t })).collect()))
        }
        (None, None) => None,
    };
    if let Some(s) = safety {
        body.insert("safetySettings".into(), s);
    }
    let (tools, tool_config) = prepare_tools(options);
    if let Some(t) = tools {
        body.insert("tools".into(), t);
    }
    if let Some(c) = tool_config {
        body.insert("toolConfig".into(), c);
    }
    if let Some(v) = opt("cachedContent") {
        body.insert("cachedContent".into(), v.clone());
    }
    if let Some(v) = opt("labels") {
        body.insert("labels".into(), v.clone());
    }
    if let (Some(v), false) = (opt("serviceTier"), config.vertex) {
        body.insert("serviceTier".into(), v.clone());
    }

    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let GoogleAuth::ApiKey(key) = &config.auth {
        headers.push(("x-goog-api-key".into(), key.clone()));
    }
    // `JSON.stringify`: numbers as JavaScript writes them (`14.0` is `14`).
    let body = js_json::to_string(&Value::Object(body));
    Ok(HttpRequest { method: "POST", url: stream_url(config), headers, body })
}

/// `{base}/models/{model}:streamGenerateContent?alt=sse`; a model id with a
/// `/` is a full resource path (`getModelPath`).
fn stream_url(config: &GoogleConfig) -> String {
    let base = config.base_url.trim_end_matches('/');
    let path = if config.model.contains('/') { config.model.clone() } else { format!("models/{}", config.model) };
    format!("{base}/{path}:streamGenerateContent?alt=sse")
}

/// `providerOptions.google` (or on Vertex `googleVertex`, then `vertex`,
/// then `google`): the first namespace present.
fn provider_options<'a>(config: &GoogleConfig, all: &'a Map<String, Value>) -> Option<&'a Map<String, Value>> {
    config.option_names().iter().chain(["google"].iter()).find_map(|name| all.get(*name).and_then(Value::as_object))
}

fn invalid(message: &str) -> ProviderError {
    ProviderError::Config(format!("invalid google provider options: {message}"))
}
