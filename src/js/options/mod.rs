//! The options object of `createHandler` (camelCase), validated eagerly:
//! every error names the option it is about. The model settings go through
//! the same [`ModelSettings::from_vars`] as the worker's environment, so the
//! two configurations mean the same thing.

use std::collections::HashMap;

use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::agent::tools::ToolOptions;
use crate::identity::{AuthMode, AuthSettings, OPTION_NAMES};
use crate::platform::PlatformClient;
use crate::protocol::session::{SessionOptions, CREATE_BODY_MAX, DEFAULT_IDLE_TIMEOUT_SECS, TAGS_MAX, TAG_CHARS_MAX};
use crate::provider::config::{parse_tools, ConfigError, ModelSettings};
use crate::routes::limit::{Rate, DEFAULT_RATE};
use crate::routes::{cap_step1_tokens, RoutesConfig, TokenSource, DEFAULT_MAX_HISTORY_MESSAGES, DEFAULT_MAX_STEP1_TOKENS};
use crate::turn::edge::{EdgeConfigError, EdgeSteps, DEFAULT_EDGE_MAX_STEPS, EDGE_MAX_STEPS_CEILING};
use crate::turn::HeadStartConfig;

pub use crate::routes::{Paths, DEFAULT_AGENT_ID};

mod model;

/// Everything a handler needs, checked once.
pub struct HandlerConfig {
    pub routes: RoutesConfig,
    /// Called with each turn's timings.
    pub on_turn: Option<js_sys::Function>,
    /// Says who calls, instead of JWT checking.
    pub authorize: Option<js_sys::Function>,
    /// The user's rate limiter, `(key, request, budget)` → `boolean |
    /// {retryAfterSeconds}` or a promise of it (in place of the built-in one).
    pub rate_limit_fn: Option<js_sys::Function>,
}

/// The options that may be functions.
const FUNCTIONS: &[&str] = &["onTurn", "rateLimit", "authorize"];

const KNOWN: &[&str] = &[
    "agentId",
    "platformUrl",
    "secretKey",
    "provider",
    "model",
    "apiKey",
    "baseURL",
    "system",
    "maxTokens",
    "temperature",
    "tools",
    "providerOptions",
    "idleTimeoutSeconds",
    "maxBodyBytes",
    "allowedOrigins",
    "scripted",
    "vertex",
    "paths",
    "stallTimeoutMs",
    "maxAttempts",
    "models",
    "headers",
    "retryBudgetMs",
    "teeLingerMs",
    "tags",
    "basePayload",
    "onTurn",
    "auth",
    "authJwtSecret",
    "authJwksUrl",
    "authIssuer",
    "authAudience",
    "authAlgorithms",
    "authLeewaySeconds",
    "local",
    "authorize",
    "rateLimit",
    "maxStep1Tokens",
    "maxHistoryMessages",
    "edgeTools",
    "edgeMaxSteps",
    "httpTools",
    "fetchAllow",
];

fn error(message: String) -> JsValue {
    error_in("createHandler", message)
}

fn error_in(what: &str, message: String) -> JsValue {
    js_sys::TypeError::new(&format!("headstart {what}: {message}")).into()
}

/// The options object as JSON, refusing keys not in `known` and functions.
fn options_map(options: &JsValue, known: &[&str], what: &str) -> Result<Map<String, Value>, JsValue> {
    let error = |m: String| error_in(what, m);
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(error("options must be an object with at least platformUrl and secretKey".into()));
    }
    for key in js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            return Err(error(format!("unknown option `{key}` (known: {})", known.join(", "))));
        }
        if !FUNCTIONS.contains(&key.as_str()) && js_sys::Reflect::get(options, &key.as_str().into())?.is_function() {
            return Err(error(format!("`{key}` must not be a function")));
        }
    }
    let text: String = js_sys::JSON::stringify(options).map_err(|_| error("options must be JSON-serializable".into()))?.into();
    serde_json::from_str(&text).map_err(|e| error(format!("options: {e}")))
}

/// Reads and checks the options of `createSessionClient`.
pub fn parse_session(options: &JsValue) -> Result<(PlatformClient, SessionOptions), JsValue> {
    let map = options_map(options, SESSION_KNOWN, "createSessionClient")?;
    session_from_json(&map).map_err(|m| error_in("createSessionClient", m))
}

/// Reads and checks the options object.
pub fn parse(options: &JsValue) -> Result<HandlerConfig, JsValue> {
    let map = options_map(options, KNOWN, "createHandler")?;
    let on_turn = match js_sys::Reflect::get(options, &"onTurn".into())? {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(v.dyn_into::<js_sys::Function>().map_err(|_| error("`onTurn` must be a function".into()))?),
    };
    let authorize = match js_sys::Reflect::get(options, &"authorize".into())? {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(v.dyn_into::<js_sys::Function>().map_err(|_| error("`authorize` must be a function".into()))?),
    };
    let rate_limit = js_sys::Reflect::get(options, &"rateLimit".into())?;
    let rate_limit_fn = rate_limit.dyn_into::<js_sys::Function>().ok();
    let mut config = from_json(&map).map_err(error)?;
    if authorize.is_some() {
        if map.keys().any(|k| k.starts_with("auth") && k != "authorize") {
            return Err(error("`authorize` replaces JWT checking: drop the other auth options".into()));
        }
        config.routes.auth = AuthMode::Hook;
    }
    config.on_turn = on_turn;
    config.authorize = authorize;
    if rate_limit_fn.is_some() {
        // The user's limiter decides.
        config.routes.rate_limit = None;
    }
    config.rate_limit_fn = rate_limit_fn;
    Ok(config)
}

/// Type checks, field by field.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Err(format!("`{key}` must not be empty")),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("`{key}` must be a string, got {other}")),
        }
    }

    fn int(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                match v.as_u64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e19).map(|f| f as u64)) {
                    Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                    _ => Err(format!("`{key}` must be an integer from {min} to {max}, got {v}")),
                }
            }
        }
    }

    fn object(&self, key: &str) -> Result<Option<Map<String, Value>>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o.clone())),
            Some(other) => Err(format!("`{key}` must be an object, got {other}")),
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` must be an array of strings, got {i} in it"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(format!("`{key}` must be an array of strings, got {other}")),
        }
    }
}

fn http_url(key: &str, url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !url.contains(char::is_whitespace) => Ok(url.to_string()),
        _ => Err(format!("`{key}` must be an absolute http(s) URL, got {url:?}")),
    }
}

/// The option a model variable comes from, for error messages.
fn option_name(var: &str) -> &'static str {
    match var {
        "HEADSTART_PROVIDER" => "provider",
        "HEADSTART_MODEL" => "model",
        "ANTHROPIC_API_KEY" | "OPENAI_API_KEY" | "GOOGLE_GENERATIVE_AI_API_KEY" | "GOOGLE_VERTEX_API_KEY" => "apiKey",
        "ANTHROPIC_BASE_URL" | "OPENAI_BASE_URL" | "GOOGLE_GENERATIVE_AI_BASE_URL" | "GOOGLE_VERTEX_BASE_URL" => "baseURL",
        "GOOGLE_VERTEX_PROJECT" => "vertex.project",
        "GOOGLE_VERTEX_LOCATION" => "vertex.location",
        "GOOGLE_CLIENT_EMAIL" => "vertex.clientEmail",
        "GOOGLE_PRIVATE_KEY" => "vertex.privateKey",
        "GOOGLE_PRIVATE_KEY_ID" => "vertex.privateKeyId",
        "GOOGLE_TOKEN_URI" => "vertex.tokenUri",
        "HEADSTART_SYSTEM" => "system",
        "HEADSTART_MAX_TOKENS" => "maxTokens",
        "HEADSTART_TEMPERATURE" => "temperature",
        "HEADSTART_TOOLS" => "tools",
        "HEADSTART_PROVIDER_OPTIONS" => "providerOptions",
        "HEADSTART_STALL_TIMEOUT_MS" => "stallTimeoutMs",
        "HEADSTART_MAX_ATTEMPTS" => "maxAttempts",
        "HEADSTART_MODELS" => "models",
        "HEADSTART_MODEL_HEADERS" => "headers",
        "HEADSTART_RETRY_BUDGET_MS" => "retryBudgetMs",
        "HEADSTART_SCRIPTED_TTFB_MS" => "scripted.ttfbMs",
        "HEADSTART_SCRIPTED_TOKEN_MS" => "scripted.tokenMs",
        "HEADSTART_SCRIPTED_FAULT" => "scripted.fault",
        _ => "options",
    }
}

/// The options of `createSessionClient`: the platform and how sessions are
/// opened (a subset of `createHandler`'s, checked the same way).
pub const SESSION_KNOWN: &[&str] = &["platformUrl", "secretKey", "agentId", "idleTimeoutSeconds", "tags", "basePayload"];

/// The platform client and session options, from the options shared by
/// `createHandler` and `createSessionClient`.
pub fn session_from_json(map: &Map<String, Value>) -> Result<(PlatformClient, SessionOptions), String> {
    let f = Fields(map);
    let platform_url = f
        .string("platformUrl")?
        .ok_or("`platformUrl` is required: the session platform's base URL (e.g. https://api.trigger.dev)")?;
    let platform_url = http_url("platformUrl", platform_url.trim())?;
    let secret_key =
        f.string("secretKey")?.ok_or("`secretKey` is required: the session platform's secret key (tr_dev_… / tr_prod_…)")?;
    let agent_id = f.string("agentId")?.unwrap_or_else(|| DEFAULT_AGENT_ID.into());
    if agent_id.chars().count() > 128 {
        return Err("`agentId` must be at most 128 characters".into());
    }
    let idle_secs = f.int("idleTimeoutSeconds", 1, 3600)?.map(|n| n as u32);
    let tags = f.strings("tags")?.unwrap_or_default();
    if tags.len() > TAGS_MAX - 1 || tags.iter().any(|t| t.chars().count() > TAG_CHARS_MAX) {
        return Err(format!("`tags`: at most {} tags of at most {TAG_CHARS_MAX} characters each", TAGS_MAX - 1));
    }
    let session = SessionOptions {
        agent_id,
        idle_timeout_secs: idle_secs,
        tags,
        base_payload: f.object("basePayload")?.unwrap_or_default(),
        owner: None,
    };
    Ok((PlatformClient::new(&platform_url, &secret_key), session))
}

/// The checked options (without `onTurn`, which is not JSON).
pub fn from_json(map: &Map<String, Value>) -> Result<HandlerConfig, String> {
    let f = Fields(map);
    let (platform, session) = session_from_json(map)?;

    // The model, as the worker's variables.
    let mut vars: HashMap<&'static str, String> = HashMap::new();
    let max_step1_tokens = f.int("maxStep1Tokens", 1, u32::MAX as u64)?.map_or(DEFAULT_MAX_STEP1_TOKENS, |n| n as u32);
    let max_history_messages = f.int("maxHistoryMessages", 1, 1_000_000)?.map_or(DEFAULT_MAX_HISTORY_MESSAGES, |n| n as usize);
    let rate_limit = rate_limit(&f)?;
    let keys = model::provider_vars(&f, &mut vars)?;
    if let Some(m) = f.string("model")? {
        vars.insert("HEADSTART_MODEL", m);
    }
    if let Some(s) = f.string("system")? {
        vars.insert("HEADSTART_SYSTEM", s);
    }
    if let Some(n) = f.int("maxTokens", 1, u32::MAX as u64)? {
        vars.insert("HEADSTART_MAX_TOKENS", n.to_string());
    }
    match f.get("temperature") {
        None => {}
        Some(Value::Number(n)) if n.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t)) => {
            vars.insert("HEADSTART_TEMPERATURE", n.to_string());
        }
        Some(v) => return Err(format!("`temperature` must be a number from 0 to 2, got {v}")),
    }
    match f.get("tools") {
        None => {}
        Some(v @ (Value::Array(_) | Value::Object(_))) => {
            let json = v.to_string();
            parse_tools(&json).map_err(|e| format!("`tools`: {e}"))?;
            vars.insert("HEADSTART_TOOLS", json);
        }
        Some(v) => {
            return Err(format!(
                "`tools` must be an array of {{name, description, inputSchema}} or an object keyed by name, got {v}"
            ))
        }
    }
    if let Some(o) = f.object("providerOptions")? {
        vars.insert("HEADSTART_PROVIDER_OPTIONS", Value::Object(o).to_string());
    }
    if let Some(n) = f.int("stallTimeoutMs", 1, u32::MAX as u64)? {
        vars.insert("HEADSTART_STALL_TIMEOUT_MS", n.to_string());
    }
    if let Some(n) = f.int("maxAttempts", 1, crate::provider::error::MAX_ATTEMPTS.into())? {
        vars.insert("HEADSTART_MAX_ATTEMPTS", n.to_string());
    }
    if let Some(s) = f.object("scripted")? {
        let sf = Fields(&s);
        for key in s.keys() {
            if !["ttfbMs", "tokenMs", "fault"].contains(&key.as_str()) {
                return Err(format!("unknown option `scripted.{key}` (known: ttfbMs, tokenMs, fault)"));
            }
        }
        let scoped = |e: String| e.replacen('`', "`scripted.", 1);
        if let Some(n) = sf.int("ttfbMs", 0, 600_000).map_err(scoped)? {
            vars.insert("HEADSTART_SCRIPTED_TTFB_MS", n.to_string());
        }
        if let Some(n) = sf.int("tokenMs", 0, 60_000).map_err(scoped)? {
            vars.insert("HEADSTART_SCRIPTED_TOKEN_MS", n.to_string());
        }
        if let Some(fault) = sf.string("fault").map_err(scoped)? {
            vars.insert("HEADSTART_SCRIPTED_FAULT", fault);
        }
    }
    let mut model = ModelSettings::from_vars(|k| vars.get(k).or_else(|| keys.get(k)).cloned()).map_err(|e| match e {
        ConfigError::Invalid { name, message } => format!("`{}`: {message}", option_name(name)),
        ConfigError::MissingKey { provider, .. } if provider == "vertex" => {
            "provider \"vertex\" needs `apiKey` (express mode) or `vertex.clientEmail` and `vertex.privateKey`".into()
        }
        ConfigError::MissingKey { provider, .. } => format!("`apiKey` is required for provider {provider:?}"),
    })?;
    cap_step1_tokens(&mut model, max_step1_tokens);

    let max_body_bytes = f.int("maxBodyBytes", 1, 64 * 1024 * 1024)?.map(|n| n as usize).unwrap_or(CREATE_BODY_MAX);
    let allowed_origins = match f.get("allowedOrigins") {
        None => Vec::new(),
        Some(Value::String(s)) => s.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect(),
        Some(_) => {
            f.strings("allowedOrigins").map_err(|e| format!("{e} (or a comma-separated string, or \"*\")"))?.unwrap_or_default()
        }
    };
    for origin in &allowed_origins {
        if origin != "*" && http_url("allowedOrigins", origin).is_err() {
            return Err(format!("`allowedOrigins`: {origin:?} is not an origin like https://app.example (or \"*\")"));
        }
    }
    let mut paths = Paths::default();
    if let Some(p) = f.object("paths")? {
        let pf = Fields(&p);
        for key in p.keys() {
            if !["headStart", "start", "token", "detached"].contains(&key.as_str()) {
                return Err(format!("unknown option `paths.{key}` (known: headStart, start, token, detached)"));
            }
        }
        for (key, slot) in [
            ("headStart", &mut paths.head_start),
            ("start", &mut paths.start),
            ("token", &mut paths.token),
            ("detached", &mut paths.detached),
        ] {
            if let Some(path) = pf.string(key).map_err(|e| e.replacen('`', "`paths.", 1))? {
                if !path.starts_with('/') || path.contains(['?', '#']) || path.contains(char::is_whitespace) {
                    return Err(format!("`paths.{key}` must be a path starting with `/`, got {path:?}"));
                }
                *slot = path;
            }
        }
    }
    let all = [&paths.head_start, &paths.start, &paths.token, &paths.detached];
    if (0..all.len()).any(|i| all[i + 1..].contains(&all[i])) {
        return Err("`paths`: the routes must have different paths".into());
    }
    let turn = HeadStartConfig {
        platform,
        idle_timeout_ms: session.idle_timeout_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS) * 1000,
        session,
        model,
        tee_linger_ms: f.int("teeLingerMs", 0, 10_000)?,
        sequential: false,
        edge: edge_from_json(&f)?,
    };
    let auth = auth_from_json(&f)?;
    // Another platform: a fresh token is a re-post of the session.
    let routes = RoutesConfig {
        turn,
        paths,
        allowed_origins,
        max_body_bytes,
        token: TokenSource::Repost,
        bench: false,
        rate_limit,
        max_history_messages,
        auth,
    };
    Ok(HandlerConfig { routes, on_turn: None, authorize: None, rate_limit_fn: None })
}

/// Edge steps from `edgeTools` (names), `edgeMaxSteps`, `httpTools` (the
/// agent's `HEADSTART_HTTP_TOOLS` shape) and `fetchAllow`: off unless
/// `edgeTools` names a tool.
fn edge_from_json(f: &Fields) -> Result<Option<EdgeSteps>, String> {
    let names = match f.get("edgeTools") {
        None => Vec::new(),
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(_) => f.strings("edgeTools").map_err(|e| format!("{e} (or a comma-separated string)"))?.unwrap_or_default(),
    };
    let max_steps = f.int("edgeMaxSteps", 2, EDGE_MAX_STEPS_CEILING.into())?.map_or(DEFAULT_EDGE_MAX_STEPS, |n| n as u32);
    let http_tools = f.object("httpTools")?.map(|o| Value::Object(o).to_string());
    let allow = match f.get("fetchAllow") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => f.strings("fetchAllow").map_err(|e| format!("{e} (or a comma-separated string)"))?.map(|v| v.join(",")),
    };
    let options = ToolOptions::from_vars(|name| (name == "HEADSTART_FETCH_ALLOW").then(|| allow.clone()).flatten())
        .map_err(|e| format!("`fetchAllow`: {}", e.to_string().trim_start_matches("HEADSTART_FETCH_ALLOW: ")))?;
    if names.iter().all(|n| n.trim().is_empty()) {
        for key in ["edgeMaxSteps", "httpTools", "fetchAllow"] {
            if f.get(key).is_some() {
                return Err(format!("`{key}` applies only with `edgeTools` (the tools the handler runs itself)"));
            }
        }
    }
    EdgeSteps::new(options, http_tools.as_deref(), &names, max_steps).map_err(|e| match e {
        EdgeConfigError::Tools(e) => format!("`httpTools`: {e}"),
        EdgeConfigError::Unknown(_) => format!("`edgeTools`: {e}"),
        EdgeConfigError::Steps(_) => format!("`edgeMaxSteps`: {e}"),
    })
}

/// Who may call, from the `auth*` options and `local` (the `authorize`
/// hook, a function, is read apart).
fn auth_from_json(f: &Fields) -> Result<AuthMode, String> {
    let list = |key: &str| match f.get(key) {
        Some(Value::String(s)) => Ok(Some(s.split(',').map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect())),
        _ => f.strings(key).map_err(|e| format!("{e} (or a comma-separated string)")),
    };
    let local = match f.get("local") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(format!("`local` must be true or false, got {v}")),
    };
    let jwks_url = f.string("authJwksUrl")?.map(|u| http_url("authJwksUrl", u.trim())).transpose()?;
    let settings = AuthSettings {
        mode: f.string("auth")?,
        secret: f.string("authJwtSecret")?,
        jwks_url,
        issuer: f.string("authIssuer")?,
        audience: list("authAudience")?.unwrap_or_default(),
        algorithms: list("authAlgorithms")?,
        leeway_secs: f.int("authLeewaySeconds", 0, 600)?,
        local,
    };
    settings.mode(&OPTION_NAMES)
}

/// `rateLimit` as JSON: absent, the default rate; `false` or a `perMinute`
/// of 0, no limit; `{perMinute, burst?}`, that rate. (A function is taken
/// apart: it is not JSON.)
fn rate_limit(f: &Fields) -> Result<Option<Rate>, String> {
    const SHAPE: &str = "`rateLimit` must be false, { perMinute, burst? } or a function (key, request, budget)";
    match f.0.get("rateLimit") {
        None | Some(Value::Null) => Ok(Some(DEFAULT_RATE)),
        Some(Value::Bool(false)) => Ok(None),
        Some(Value::Object(o)) => {
            if let Some(key) = o.keys().find(|k| !["perMinute", "burst"].contains(&k.as_str())) {
                return Err(format!("unknown option `rateLimit.{key}` (known: perMinute, burst)"));
            }
            let rf = Fields(o);
            let scoped = |e: String| e.replacen('`', "`rateLimit.", 1);
            let per_minute = rf.int("perMinute", 0, 1_000_000).map_err(scoped)?.ok_or(SHAPE)? as u32;
            let burst = rf.int("burst", 1, 1_000_000).map_err(scoped)?.map_or(per_minute, |n| n as u32);
            Ok((per_minute > 0).then_some(Rate { per_minute, burst }))
        }
        Some(other) => Err(format!("{SHAPE}, got {other}")),
    }
}
