//! The one configuration of the chat routes, whichever binding serves them:
//! the worker builds it from its variables ([`RoutesConfig::from_vars`]),
//! the JS package from its options object (`src/js/options.rs`).

use super::limit::{Rate, DEFAULT_RATE};
use crate::identity::{AuthMode, AuthSettings, VAR_NAMES};
use crate::platform::PlatformClient;
use crate::protocol::session::{SessionOptions, CREATE_BODY_MAX, DEFAULT_IDLE_TIMEOUT_SECS};
use crate::provider::config::{ConfigError, ModelSettings};
use crate::selfhost::secrets;
use crate::turn::{EdgeSteps, HeadStartConfig};

/// The agent's task id when none is configured.
pub const DEFAULT_AGENT_ID: &str = "headstart-agent";

pub use crate::selfhost::secrets::DEV_SECRET_KEY;

/// The route paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub head_start: String,
    pub start: String,
    pub token: String,
    pub detached: String,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            head_start: "/api/chat".into(),
            start: "/api/chat/start".into(),
            token: "/api/chat/token".into(),
            detached: "/api/chat/detached".into(),
        }
    }
}

/// How the token route gets a fresh session token.
#[derive(Clone)]
pub enum TokenSource {
    /// Signed here: the platform is this deploy's own (self-hosted).
    Mint { signing_key: Vec<u8>, env_id: String },
    /// The session is posted again; the platform's cached answer carries a
    /// fresh token (any other platform).
    Repost,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The key stays out of logs.
            Self::Mint { env_id, .. } => f.debug_struct("Mint").field("env_id", env_id).finish_non_exhaustive(),
            Self::Repost => f.write_str("Repost"),
        }
    }
}

/// Why [`RoutesConfig::from_vars`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesConfigError {
    /// A model variable is wrong (`500 misconfigured`).
    #[error(transparent)]
    Model(#[from] ConfigError),
    /// A secret is missing (`503 missing_secret`, naming it).
    #[error(transparent)]
    Missing(#[from] secrets::Missing),
}

/// Everything the routes need, checked once.
#[derive(Debug, Clone)]
pub struct RoutesConfig {
    /// The platform, the session options and the model of a head start.
    pub turn: HeadStartConfig,
    pub paths: Paths,
    /// Exact origins, or `*`: cross-origin pages allowed to call the routes
    /// and read the token header.
    pub allowed_origins: Vec<String>,
    /// The cap of every route's body.
    pub max_body_bytes: usize,
    pub token: TokenSource,
    /// Honour `X-Headstart-Sequential` (benchmarks only).
    pub bench: bool,
    /// Who may call the routes.
    pub auth: AuthMode,
    /// The limit of each caller's turns and tokens (`None`: no limit). The
    /// binding turns it into its [`super::limit::RateLimiter`].
    pub rate_limit: Option<Rate>,
    /// The most UI messages a head start may carry.
    pub max_history_messages: usize,
}

/// The ceiling of step 1's output tokens by default.
pub const DEFAULT_MAX_STEP1_TOKENS: u32 = 4096;

/// The most UI messages of a head start by default.
pub const DEFAULT_MAX_HISTORY_MESSAGES: usize = 50;

/// Step 1 at the edge never asks for more than `cap` output tokens,
/// whatever the model settings say: the edge spends the operator's key for
/// any caller, and the agent, not step 1, does long work.
pub fn cap_step1_tokens(model: &mut ModelSettings, cap: u32) {
    model.max_output_tokens = Some(model.max_output_tokens.map_or(cap, |n| n.min(cap)));
}

/// A positive integer variable, `default` when unset.
fn positive(var: &impl Fn(&str) -> Option<String>, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(ConfigError::Invalid { name, message: format!("must be a whole number of at least 1, got {v:?}") }),
        },
    }
}

/// The rate limit from its variables: on by default; `0` turns it off.
fn rate_from_vars(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Rate>, ConfigError> {
    const NAME: &str = "HEADSTART_RATE_LIMIT_PER_MINUTE";
    if var(NAME).is_some_and(|v| v.trim() == "0") {
        return Ok(None);
    }
    let per_minute = positive(var, NAME, DEFAULT_RATE.per_minute.into())?.min(u32::MAX.into()) as u32;
    let burst = positive(var, "HEADSTART_RATE_LIMIT_BURST", per_minute.into())?.min(u32::MAX.into()) as u32;
    Ok(Some(Rate { per_minute, burst }))
}

impl RoutesConfig {
    /// From the worker's variables (a var or a secret; empty counts as
    /// unset). `own_origin` is this deploy's origin: the platform when
    /// `TRIGGER_API_URL` is not set.
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `TRIGGER_API_URL` | a remote platform (tokens are then re-posted) | this deploy |
    /// | `TRIGGER_SECRET_KEY` | the platform's secret key | the local dev key |
    /// | `HEADSTART_SIGNING_KEY`, `HEADSTART_ENV_ID` | signing of minted tokens | the secret key, `env_headstart_local` |
    /// | `HEADSTART_AGENT_ID` | the agent's task id | `headstart-agent` |
    /// | `HEADSTART_IDLE_TIMEOUT_SECS` | the turn's idle timeout and the run's | 60 |
    /// | `HEADSTART_TEE_LINGER_MS` | linger of the `.out` tee | the platform's |
    /// | `HEADSTART_MAX_BODY_BYTES` | the body cap of every route | 32 KiB |
    /// | `HEADSTART_ALLOWED_ORIGINS` | comma-separated origins, or `*` | none |
    /// | `HEADSTART_BENCH` | honour `X-Headstart-Sequential` | off |
    /// | `HEADSTART_AUTH_JWT_SECRET` | the HS256 secret of callers' JWTs | none |
    /// | `HEADSTART_AUTH_JWKS_URL` | the JWKS of callers' RS256/ES256 JWTs | none |
    /// | `HEADSTART_AUTH_ISSUER` | the JWTs' `iss` (required with a JWKS) | not checked |
    /// | `HEADSTART_AUTH_AUDIENCE` | comma-separated; the JWTs' `aud` must hold one | not checked |
    /// | `HEADSTART_AUTH_ALGORITHMS` | comma-separated, of HS256, RS256, ES256 | those the keys allow |
    /// | `HEADSTART_AUTH_LEEWAY_SECS` | slack on `exp`/`nbf` | 60 |
    /// | `HEADSTART_AUTH` | `anonymous`: serve anyone (identified by IP) | JWTs; with none set, 503 |
    /// | `HEADSTART_LOCAL` | `1`: a local process (`npm start`, tests): anonymous by default | off |
    /// | `HEADSTART_RATE_LIMIT_PER_MINUTE` | turns (and, apart, tokens) a caller may start a minute; `0`: no limit | 20 |
    /// | `HEADSTART_RATE_LIMIT_BURST` | how many of those at once | the rate |
    /// | `HEADSTART_MAX_STEP1_TOKENS` | ceiling of step 1's output tokens, whatever `HEADSTART_MAX_TOKENS` says | 4096 |
    /// | `HEADSTART_MAX_HISTORY_MESSAGES` | the most UI messages of a head start | 50 |
    /// | `HEADSTART_EDGE_TOOLS` | comma-separated tools the handler runs itself, with the steps after them (built-ins, or HTTP tools of `HEADSTART_HTTP_TOOLS`) | none: edge steps off |
    /// | `HEADSTART_EDGE_MAX_STEPS` | model steps at the edge, step 1 included (2-16) | 4 |
    /// | `HEADSTART_HTTP_TOOLS`, `HEADSTART_FETCH_ALLOW` | the HTTP tools and the egress allowlist, as the agent reads them | none |
    /// | model variables | see [`ModelSettings::from_vars`] | the scripted model |
    pub fn from_vars(var: impl Fn(&str) -> Option<String>, own_origin: &str) -> Result<Self, RoutesConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mut model = ModelSettings::from_vars(var)?;
        let cap = positive(&var, "HEADSTART_MAX_STEP1_TOKENS", DEFAULT_MAX_STEP1_TOKENS.into())?;
        cap_step1_tokens(&mut model, cap.min(u32::MAX.into()) as u32);
        let rate_limit = rate_from_vars(&var)?;
        let max_history_messages = positive(&var, "HEADSTART_MAX_HISTORY_MESSAGES", DEFAULT_MAX_HISTORY_MESSAGES as u64)?;
        let remote = var("TRIGGER_API_URL");
        // The secrets fail closed: the development keys only when local.
        let (secret_key, token) = match remote {
            Some(_) => (secrets::remote_secret_key(var)?, TokenSource::Repost),
            // Minted here with the self-hosted platform's own signing key.
            None => {
                let s = secrets::platform_secrets(var)?;
                let env_id = var("HEADSTART_ENV_ID").unwrap_or_else(|| "env_headstart_local".into());
                (s.secret_key, TokenSource::Mint { signing_key: s.signing_key, env_id })
            }
        };
        let idle_secs = var("HEADSTART_IDLE_TIMEOUT_SECS").and_then(|v| v.trim().parse::<u32>().ok());
        let session = SessionOptions {
            agent_id: var("HEADSTART_AGENT_ID").unwrap_or_else(|| DEFAULT_AGENT_ID.into()),
            idle_timeout_secs: idle_secs,
            ..SessionOptions::default()
        };
        let turn = HeadStartConfig {
            platform: PlatformClient::new(remote.as_deref().unwrap_or(own_origin), &secret_key),
            session,
            model,
            idle_timeout_ms: idle_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS).saturating_mul(1000),
            tee_linger_ms: var("HEADSTART_TEE_LINGER_MS").and_then(|v| v.trim().parse().ok()),
            sequential: false,
            edge: EdgeSteps::from_vars(&var)?,
        };
        Ok(Self {
            turn,
            paths: Paths::default(),
            allowed_origins: var("HEADSTART_ALLOWED_ORIGINS")
                .map(|v| v.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect())
                .unwrap_or_default(),
            max_body_bytes: var("HEADSTART_MAX_BODY_BYTES").and_then(|v| v.trim().parse().ok()).unwrap_or(CREATE_BODY_MAX),
            token,
            bench: var("HEADSTART_BENCH").is_some(),
            auth: auth_from_vars(&var)?,
            rate_limit,
            max_history_messages: usize::try_from(max_history_messages).unwrap_or(usize::MAX),
        })
    }
}

/// Who may call, from the `HEADSTART_AUTH*` variables (empty ones count
/// as unset, as in [`RoutesConfig::from_vars`]).
pub fn auth_from_vars(var: &impl Fn(&str) -> Option<String>) -> Result<AuthMode, ConfigError> {
    let list =
        |name: &str| var(name).map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect::<Vec<_>>());
    let leeway_secs = match var("HEADSTART_AUTH_LEEWAY_SECS") {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().ok().filter(|n| *n <= 600).ok_or_else(|| ConfigError::Invalid {
            name: "HEADSTART_AUTH_LEEWAY_SECS",
            message: format!("must be whole seconds from 0 to 600, got {v:?}"),
        })?),
    };
    let settings = AuthSettings {
        mode: var("HEADSTART_AUTH").map(|v| v.trim().to_ascii_lowercase()),
        secret: var("HEADSTART_AUTH_JWT_SECRET"),
        jwks_url: var("HEADSTART_AUTH_JWKS_URL").map(|u| u.trim().to_string()),
        issuer: var("HEADSTART_AUTH_ISSUER").map(|v| v.trim().to_string()),
        audience: list("HEADSTART_AUTH_AUDIENCE").unwrap_or_default(),
        algorithms: list("HEADSTART_AUTH_ALGORITHMS"),
        leeway_secs,
        local: secrets::is_local(var),
    };
    settings.mode(&VAR_NAMES).map_err(|message| ConfigError::Invalid { name: "HEADSTART_AUTH", message })
}
