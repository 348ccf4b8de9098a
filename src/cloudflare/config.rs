//! The worker's settings from wrangler vars and secrets.

use worker::Env;

use crate::agent::run::AgentConfig;
use crate::agent::tools::{ToolOptions, ToolRegistry};
use crate::provider::config::ModelSettings;
use crate::selfhost::server::Settings;

use crate::selfhost::secrets::{self, Missing, Secrets};

/// A var or a secret.
pub fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).map(|v| v.to_string()).or_else(|_| env.secret(name).map(|s| s.to_string())).ok().filter(|v| !v.is_empty())
}

/// The session objects' settings: the secrets (failing closed, see
/// [`secrets`]), the benchmark's create delay, the agent's webhook.
pub fn settings(env: &Env) -> Result<Settings, Missing> {
    let Secrets { secret_key, signing_key } = secrets::platform_secrets(|k| var(env, k))?;
    Ok(Settings {
        secret_key,
        signing_key,
        env_id: var(env, "HEADSTART_ENV_ID").unwrap_or_else(|| "env_headstart_local".into()),
        create_delay_ms: var(env, "HEADSTART_PLATFORM_CREATE_DELAY_MS").and_then(|v| v.parse::<u32>().ok()),
        webhook_url: var(env, "HEADSTART_AGENT_WEBHOOK_URL"),
    })
}

/// `503` naming what a deploy lacks.
pub fn missing_response(missing: &Missing) -> worker::Result<worker::Response> {
    let mut r = worker::Response::ok(missing.to_json())?.with_status(503);
    r.headers_mut().set("content-type", "application/json")?;
    Ok(r)
}

/// The reference agent's settings; `Err` names a bad variable.
pub fn agent(env: &Env) -> Result<AgentConfig, String> {
    let model = ModelSettings::agent_from_vars(|k| var(env, k)).map_err(|e| e.to_string())?;
    let options = ToolOptions::from_vars(|k| var(env, k)).map_err(|e| e.to_string())?;
    let tools = ToolRegistry::from_config(options, var(env, "HEADSTART_HTTP_TOOLS").as_deref())
        .map_err(|e| format!("HEADSTART_HTTP_TOOLS: {e}"))?;
    let mut config = AgentConfig::new(model, tools);
    let num = |name: &str| var(env, name).and_then(|v| v.trim().parse::<u32>().ok());
    if let Some(ms) = num("HEADSTART_AGENT_BOOT_DELAY_MS") {
        config.boot_delay_ms = ms;
    }
    if let Some(s) = num("HEADSTART_AGENT_HANDOVER_TIMEOUT_SECS") {
        config.handover_timeout_ms = s.saturating_mul(1000);
    }
    if let Some(s) = num("HEADSTART_AGENT_IDLE_TIMEOUT_SECS") {
        config.idle_timeout_ms = s.saturating_mul(1000);
    }
    if let Some(s) = num("HEADSTART_AGENT_TURN_TIMEOUT_SECS") {
        config.turn_timeout_ms = s.saturating_mul(1000);
    }
    Ok(config)
}
