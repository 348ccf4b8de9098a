//! Who is calling the chat routes: the caller's bearer JWT, checked here, or
//! an explicit anonymous setting (the client's IP), or a binding's own hook.
//!
//! A token is verified with a shared secret (HS256) or with a public key of
//! the identity provider's JWKS (RS256, ES256), which covers Clerk, Auth0,
//! Supabase and Firebase. The algorithm must be one the configuration
//! allows, and its key comes from where that algorithm's keys live: HS256
//! only from the secret, RS256/ES256 only from the JWKS, so a token cannot
//! pick a public key as its HMAC secret. Then `exp`, `nbf`, `iss` and `aud`
//! are checked and `sub` is the caller's id.
//!
//! The core has no IO: [`jwt`] decodes and checks, [`jwks`] keeps the keys
//! with time passed in. [`Authenticator::authenticate`] fetches the JWKS
//! over [`crate::io::Fetch`] under a deadline and has a [`KeyVerifier`]
//! check RS256/ES256 signatures (WebCrypto on wasm, so the wasm carries no
//! RSA or elliptic-curve code; a pure-Rust one in host tests).
//!
//! ```
//! # use headstart::identity::*;
//! let headers = vec![("cf-connecting-ip".to_string(), "203.0.113.9".to_string())];
//! assert_eq!(anonymous(&headers).id, "203.0.113.9");
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use crate::io::{timeout, Clock, Fetch, HttpRequest, Notify, ResponseBody};

pub mod jwks;
pub mod jwt;
#[cfg(test)]
pub(crate) mod tests;

pub use jwks::{Jwk, JwksCache};
pub use jwt::{Alg, ClaimRules};

/// The header a browser can carry its token in besides `Authorization`,
/// for transports that send the same headers to the platform.
pub const CALLER_HEADER: &str = "x-headstart-authorization";

/// The caller of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's `sub`, the hook's `id`, or for anonymous callers their
    /// IP (`anonymous` when the runtime gives none).
    pub id: String,
    pub source: IdentitySource,
}

impl Identity {
    /// The caller's key for per-caller limits: its address when anonymous
    /// (callers without one share `anonymous`), else its id, marked so no
    /// token's `sub` can take an address's bucket.
    pub fn limit_key(&self) -> String {
        match self.source {
            IdentitySource::Anonymous => self.id.clone(),
            IdentitySource::Token | IdentitySource::Hook => format!("id:{}", self.id),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// A verified bearer JWT.
    Token,
    /// The binding's `authorize` hook.
    Hook,
    /// Anonymous access, explicitly configured (or a local process).
    Anonymous,
}

/// Why a caller was refused: 401 for a missing or bad token, 503 when the
/// keys cannot be had or nothing is configured, 500 for a hook that failed.
/// The messages never quote the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials: send `Authorization: Bearer <JWT>` from your identity provider")]
    Missing,
    #[error("the Authorization header must be `Bearer <JWT>`")]
    NotBearer,
    #[error("the bearer token is over {} bytes", jwt::MAX_TOKEN_BYTES)]
    TooLarge,
    #[error("the bearer token is not a JWT: {0}")]
    Malformed(&'static str),
    #[error("the token's algorithm {0:?} is not one this deploy accepts (HEADSTART_AUTH_ALGORITHMS)")]
    Algorithm(String),
    #[error("no key of the JWKS matches the token's kid; is HEADSTART_AUTH_JWKS_URL your provider's?")]
    UnknownKey,
    #[error("the token's signature is not valid")]
    BadSignature,
    /// The runtime's crypto refused the key or the call (not the token's
    /// fault alone: a JWKS key this runtime cannot import, say).
    #[error("the token's key could not be used to check it: {0}")]
    KeyUnusable(String),
    #[error("the token has no exp claim; tokens must expire")]
    NoExpiry,
    #[error("the token has expired; get a fresh one from your identity provider")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the token's iss is not HEADSTART_AUTH_ISSUER")]
    Issuer,
    #[error("the token's aud does not include HEADSTART_AUTH_AUDIENCE")]
    Audience,
    #[error("the token has no sub claim to identify the caller")]
    NoSubject,
    #[error("the identity provider's keys (HEADSTART_AUTH_JWKS_URL) could not be fetched; try again")]
    JwksUnavailable,
    #[error(
        "no caller authentication is configured: set HEADSTART_AUTH_JWT_SECRET or HEADSTART_AUTH_JWKS_URL \
         (options authJwtSecret / authJwksUrl / authorize), or HEADSTART_AUTH=anonymous to serve anyone"
    )]
    NotConfigured,
    #[error("the authorize hook failed: {0}")]
    Hook(String),
    #[error("the authorize hook gave no identity for this request")]
    HookRefused,
    #[error("the authorize hook did not answer within {0} ms; try again")]
    HookTimedOut(u32),
    /// The hook answered with its own response; the binding sends it.
    #[error("the authorize hook answered the request")]
    Answered,
}

impl AuthError {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::JwksUnavailable | Self::NotConfigured | Self::HookTimedOut(_) => 503,
            Self::Hook(_) => 500,
            _ => 401,
        }
    }

    /// What only the log should see: the hook's or the crypto's own words.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Hook(detail) | Self::KeyUnusable(detail) => Some(detail),
            _ => None,
        }
    }

    /// The machine-readable code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing | Self::NotBearer | Self::HookRefused => "unauthenticated",
            Self::Expired => "token_expired",
            Self::JwksUnavailable | Self::HookTimedOut(_) => "auth_unavailable",
            Self::NotConfigured => "auth_not_configured",
            Self::Hook(_) | Self::Answered => "authorize_failed",
            _ => "invalid_token",
        }
    }
}

/// Checks RS256 and ES256 signatures with a JWKS key. Boxed futures keep it
/// object-safe: the wasm build passes WebCrypto, host tests a pure-Rust one.
/// What [`KeyVerifier::verify`] returns.
pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, String>> + 'a>>;

pub trait KeyVerifier {
    /// Whether `signature` (for ES256 the raw `r || s`, as in a JWS) is
    /// `key`'s over `message`; `Err` when the key cannot be used.
    fn verify<'a>(&'a self, alg: Alg, key: &'a Jwk, message: &'a [u8], signature: &'a [u8]) -> VerifyFuture<'a>;
}

/// The host's default: no asymmetric crypto compiled in.
#[cfg(not(target_arch = "wasm32"))]
struct NoKeyVerifier;

#[cfg(not(target_arch = "wasm32"))]
impl KeyVerifier for NoKeyVerifier {
    fn verify<'a>(&'a self, alg: Alg, _: &'a Jwk, _: &'a [u8], _: &'a [u8]) -> VerifyFuture<'a> {
        Box::pin(std::future::ready(Err(format!("{} needs WebCrypto; on the host give a KeyVerifier", alg.name()))))
    }
}

/// The runtime's verifier: WebCrypto on wasm.
pub fn default_key_verifier() -> Rc<dyn KeyVerifier> {
    #[cfg(target_arch = "wasm32")]
    return Rc::new(crate::web::crypto::WebCrypto);
    #[cfg(not(target_arch = "wasm32"))]
    Rc::new(NoKeyVerifier)
}

/// Where the JWT keys come from and what the claims must say.
#[derive(Clone)]
pub struct JwtSettings {
    /// The HS256 secret.
    pub secret: Option<Vec<u8>>,
    /// The JWKS URL of RS256/ES256 keys.
    pub jwks_url: Option<String>,
    pub algorithms: Vec<Alg>,
    pub rules: ClaimRules,
}

impl JwtSettings {
    /// Checks the settings hang together; `names` gives the setting names
    /// to put in messages (the worker's variables or the package's options).
    pub fn new(
        secret: Option<String>,
        jwks_url: Option<String>,
        issuer: Option<String>,
        audience: Vec<String>,
        algorithms: Option<Vec<String>>,
        leeway_secs: u64,
        names: &SettingNames,
    ) -> Result<Self, String> {
        if let Some(url) = &jwks_url {
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return Err(format!("{} must be an http(s) URL, got {url:?}", names.jwks_url));
            }
            // Keys of a JWKS may be shared by many tenants (Google's by
            // every Firebase project): the issuer tells them apart.
            if issuer.is_none() {
                return Err(format!("{} is required with {} (your provider's token issuer)", names.issuer, names.jwks_url));
            }
        }
        let algorithms = match algorithms {
            None => {
                let mut algs = Vec::new();
                if secret.is_some() {
                    algs.push(Alg::Hs256);
                }
                if jwks_url.is_some() {
                    algs.extend([Alg::Rs256, Alg::Es256]);
                }
                algs
            }
            Some(names_given) => names_given
                .iter()
                .map(|n| Alg::parse(n.trim()).ok_or_else(|| format!("{}: {n:?} is not HS256, RS256 or ES256", names.algorithms)))
                .collect::<Result<Vec<_>, _>>()?,
        };
        for alg in &algorithms {
            match (alg.symmetric(), &secret, &jwks_url) {
                (true, None, _) => return Err(format!("{}: HS256 needs {}", names.algorithms, names.secret)),
                (false, _, None) => return Err(format!("{}: {} needs {}", names.algorithms, alg.name(), names.jwks_url)),
                _ => {}
            }
        }
        if algorithms.is_empty() {
            return Err(format!("{} must name at least one algorithm", names.algorithms));
        }
        let rules = ClaimRules { issuer, audience, leeway_secs };
        Ok(Self { secret: secret.map(String::into_bytes), jwks_url, algorithms, rules })
    }
}

/// The names of the settings, for messages.
pub struct SettingNames {
    pub mode: &'static str,
    pub secret: &'static str,
    pub jwks_url: &'static str,
    pub issuer: &'static str,
    pub algorithms: &'static str,
}

/// The worker's variable names.
pub const VAR_NAMES: SettingNames = SettingNames {
    mode: "HEADSTART_AUTH",
    secret: "HEADSTART_AUTH_JWT_SECRET",
    jwks_url: "HEADSTART_AUTH_JWKS_URL",
    issuer: "HEADSTART_AUTH_ISSUER",
    algorithms: "HEADSTART_AUTH_ALGORITHMS",
};

/// The package's option names (`createHandler`).
pub const OPTION_NAMES: SettingNames = SettingNames {
    mode: "`auth`",
    secret: "`authJwtSecret`",
    jwks_url: "`authJwksUrl`",
    issuer: "`authIssuer`",
    algorithms: "`authAlgorithms`",
};

/// The auth settings as given (variables or options), before they are
/// checked by [`AuthSettings::mode`].
#[derive(Default)]
pub struct AuthSettings {
    /// `anonymous` or `jwt`.
    pub mode: Option<String>,
    pub secret: Option<String>,
    pub jwks_url: Option<String>,
    pub issuer: Option<String>,
    pub audience: Vec<String>,
    pub algorithms: Option<Vec<String>>,
    pub leeway_secs: Option<u64>,
    /// `npm start` or a test: anonymous unless a key is set.
    pub local: bool,
}

impl AuthSettings {
    /// JWTs when a key is set, anyone when the mode is `anonymous` (or,
    /// with nothing set, in a local process), else nobody: a deploy never
    /// serves anonymous callers by omission.
    pub fn mode(self, names: &SettingNames) -> Result<AuthMode, String> {
        let jwt = self.secret.is_some() || self.jwks_url.is_some();
        match self.mode.as_deref().map(str::trim) {
            None | Some("jwt") => {}
            Some("anonymous") if jwt => {
                return Err(format!(
                    "{} is anonymous but {} or {} is set too; keep one",
                    names.mode, names.secret, names.jwks_url
                ))
            }
            Some("anonymous") => return Ok(AuthMode::Anonymous),
            Some(other) => return Err(format!("{} must be \"anonymous\" or \"jwt\", got {other:?}", names.mode)),
        }
        if !jwt {
            return match self.mode.is_some() {
                true => Err(format!("{} is jwt but neither {} nor {} is set", names.mode, names.secret, names.jwks_url)),
                false if self.local => Ok(AuthMode::Anonymous),
                false => Ok(AuthMode::NotConfigured),
            };
        }
        let settings = JwtSettings::new(
            self.secret,
            self.jwks_url,
            self.issuer,
            self.audience,
            self.algorithms,
            self.leeway_secs.unwrap_or(DEFAULT_LEEWAY_SECS),
            names,
        )?;
        Ok(AuthMode::Jwt(Authenticator::new(settings)))
    }
}

/// The default slack on `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Fetches a JWKS: the keys and how long to keep them (ms). Object-safe,
/// so an [`Authenticator`] can be kept in the routes' configuration.
pub trait JwksSource {
    fn fetch<'a>(&'a self, url: &'a str) -> JwksFuture<'a>;
}

/// What a [`JwksSource`] resolves to: the keys and their max age in ms.
pub type JwksFuture<'a> = Pin<Box<dyn Future<Output = Result<(Vec<Jwk>, f64), String>> + 'a>>;

/// A [`JwksSource`] over any [`Fetch`], each fetch under
/// [`jwks::FETCH_TIMEOUT_MS`] on `clock`.
pub struct FetchJwks<F, C> {
    pub fetch: F,
    pub clock: C,
}

impl<F: Fetch, C: Clock> JwksSource for FetchJwks<F, C> {
    fn fetch<'a>(&'a self, url: &'a str) -> JwksFuture<'a> {
        Box::pin(async move {
            let fetched = timeout(&self.clock, jwks::FETCH_TIMEOUT_MS, fetch_jwks(&self.fetch, url)).await;
            fetched.unwrap_or_else(|| Err(format!("no answer within {} ms", jwks::FETCH_TIMEOUT_MS)))
        })
    }
}

/// The host's default: no network.
#[cfg(not(target_arch = "wasm32"))]
struct NoJwks;

#[cfg(not(target_arch = "wasm32"))]
impl JwksSource for NoJwks {
    fn fetch<'a>(&'a self, _: &'a str) -> JwksFuture<'a> {
        Box::pin(std::future::ready(Err("no JWKS source on the host; give one".into())))
    }
}

/// The runtime's `fetch` and timers on wasm.
pub fn default_jwks_source() -> Rc<dyn JwksSource> {
    #[cfg(target_arch = "wasm32")]
    return Rc::new(FetchJwks { fetch: crate::web::fetch::WebFetch, clock: crate::web::fetch::WebClock });
    #[cfg(not(target_arch = "wasm32"))]
    Rc::new(NoJwks)
}

/// Verifies bearer JWTs; holds the JWKS cache, so keep one for as long as
/// the process (an isolate) lives. Cheap to clone (the cache is shared).
#[derive(Clone)]
pub struct Authenticator {
    settings: Rc<JwtSettings>,
    cache: Rc<SharedJwks>,
    verifier: Rc<dyn KeyVerifier>,
    source: Rc<dyn JwksSource>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("Authenticator")
            .field("jwks_url", &self.settings.jwks_url)
            .field("algorithms", &self.settings.algorithms)
            .field("rules", &self.settings.rules)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Over the runtime's WebCrypto and `fetch` (on the host: none; give
    /// them with [`Self::with_crypto`]).
    pub fn new(settings: JwtSettings) -> Self {
        Self {
            settings: Rc::new(settings),
            cache: Rc::default(),
            verifier: default_key_verifier(),
            source: default_jwks_source(),
        }
    }

    pub fn settings(&self) -> &JwtSettings {
        &self.settings
    }

    /// The same settings over another verifier and JWKS source (host
    /// tests), with a cache of its own.
    pub fn with_crypto(&self, verifier: Rc<dyn KeyVerifier>, source: Rc<dyn JwksSource>) -> Self {
        Self { settings: self.settings.clone(), cache: Rc::default(), verifier, source }
    }

    /// Shares `other`'s JWKS cache when both read the same URL (a worker
    /// builds its configuration per request but keeps one cache per
    /// isolate).
    pub fn share_cache(&mut self, other: &Authenticator) {
        if self.settings.jwks_url == other.settings.jwks_url {
            self.cache = other.cache.clone();
        }
    }

    /// The caller of a request with these headers, at `now_secs` (wall
    /// clock, for `exp`/`nbf`); `clock` times the JWKS cache.
    pub async fn authenticate<C: Clock>(
        &self,
        headers: &[(String, String)],
        clock: &C,
        now_secs: u64,
    ) -> Result<Identity, AuthError> {
        // `X-Headstart-Authorization` first: the Trigger transport also sends
        // its `headers` option on the `.out` subscription, after the session
        // token, so an app's token in `Authorization` there would replace the
        // chat token and break turn 2 (@trigger.dev/sdk 4.8.3, chat.js).
        let authorization =
            header(headers, CALLER_HEADER).or_else(|| header(headers, "authorization")).ok_or(AuthError::Missing)?;
        let token = jwt::decode(jwt::bearer(authorization)?, &self.settings.algorithms)?;
        if token.alg.symmetric() {
            let secret = self.settings.secret.as_deref().ok_or_else(|| AuthError::Algorithm(token.alg.name().into()))?;
            jwt::verify_hs256(secret, &token)?;
        } else {
            let key = self.key(token.kid.as_deref(), token.alg, clock).await?;
            match self.verifier.verify(token.alg, &key, &token.signing_input, &token.signature).await {
                Ok(true) => {}
                Ok(false) => return Err(AuthError::BadSignature),
                Err(e) => return Err(AuthError::KeyUnusable(e.chars().take(200).collect())),
            }
        }
        let id = jwt::check_claims(&token.claims, &self.settings.rules, now_secs)?;
        Ok(Identity { id, source: IdentitySource::Token })
    }

    /// The JWKS key of a token, fetching the set when the cache says so:
    /// at most once per request (stale keys, or an unknown kid), and never
    /// twice within [`jwks::REFETCH_INTERVAL_MS`] unless the keys expired.
    async fn key<C: Clock>(&self, kid: Option<&str>, alg: Alg, clock: &C) -> Result<Jwk, AuthError> {
        let url = self.settings.jwks_url.as_deref().ok_or_else(|| AuthError::Algorithm(alg.name().into()))?;
        let shared = &*self.cache;
        if shared.fetching.get() {
            // Another request is fetching: known keys serve at once, else
            // its answer (under its own deadline, and ours).
            if let Some(key) = shared.keys.borrow().known(kid, alg) {
                return Ok(key);
            }
            let seen = shared.fetched.version();
            timeout(clock, jwks::FETCH_TIMEOUT_MS, shared.fetched.changed_since(seen)).await;
        }
        let lookup = shared.keys.borrow().lookup(kid, alg, clock.now_ms());
        match lookup {
            jwks::Lookup::Found(key) => return Ok(*key),
            jwks::Lookup::Unknown => return Err(AuthError::UnknownKey),
            jwks::Lookup::Unavailable => return Err(AuthError::JwksUnavailable),
            jwks::Lookup::Fetch => {}
        }
        shared.keys.borrow_mut().attempt(clock.now_ms());
        shared.fetching.set(true);
        let in_flight = FetchInFlight(shared);
        // A failed fetch leaves the stale keys, if any, to serve.
        if let Ok((keys, max_age)) = self.source.fetch(url).await {
            shared.keys.borrow_mut().store(keys, max_age, clock.now_ms());
        }
        drop(in_flight);
        let lookup = shared.keys.borrow().lookup(kid, alg, clock.now_ms());
        match lookup {
            jwks::Lookup::Found(key) => Ok(*key),
            jwks::Lookup::Unavailable => Err(AuthError::JwksUnavailable),
            _ => Err(AuthError::UnknownKey),
        }
    }
}

/// The JWKS cache of one URL and its fetch in flight, shared by every
/// request of the process.
#[derive(Default)]
struct SharedJwks {
    keys: RefCell<JwksCache>,
    fetching: std::cell::Cell<bool>,
    /// Told when a fetch ends.
    fetched: Notify,
}

/// Ends a fetch in flight, even when its request is dropped midway.
struct FetchInFlight<'a>(&'a SharedJwks);

impl Drop for FetchInFlight<'_> {
    fn drop(&mut self) {
        self.0.fetching.set(false);
        self.0.fetched.notify();
    }
}

/// One JWKS fetch: the keys and how long to keep them.
async fn fetch_jwks<F: Fetch>(fetch: &F, url: &str) -> Result<(Vec<Jwk>, f64), String> {
    let request = HttpRequest {
        method: "GET",
        url: url.to_string(),
        headers: vec![("accept".into(), "application/json".into())],
        body: String::new(),
    };
    let mut response = fetch.fetch(&request).await.map_err(|e| e.to_string())?;
    if response.status != 200 {
        return Err(format!("the JWKS URL answered {}", response.status));
    }
    let max_age = jwks::max_age_ms(response.header("cache-control"));
    let mut body = Vec::new();
    while let Some(chunk) = response.body.next_chunk().await {
        body.extend(chunk.map_err(|e| e.to_string())?);
        if body.len() > jwks::MAX_BODY_BYTES {
            return Err(format!("the JWKS is over {} bytes", jwks::MAX_BODY_BYTES));
        }
    }
    Ok((jwks::parse(&body)?, max_age))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The identity of an anonymous caller: its IP as the edge saw it
/// (`CF-Connecting-IP`, else the first hop of `X-Forwarded-For`), else
/// `anonymous`.
pub fn anonymous(headers: &[(String, String)]) -> Identity {
    let ip = header(headers, "cf-connecting-ip")
        .map(str::trim)
        .or_else(|| header(headers, "x-forwarded-for").and_then(|v| v.split(',').next()).map(str::trim))
        .filter(|ip| !ip.is_empty() && ip.len() <= 64);
    Identity { id: ip.unwrap_or("anonymous").to_string(), source: IdentitySource::Anonymous }
}

/// What an [`Authorize`] hook resolves to.
pub type AuthorizeFuture<'a> = Pin<Box<dyn Future<Output = Result<Identity, AuthError>> + 'a>>;

/// The binding's own check of a request (the package's `authorize` hook).
/// Built per request: it sees the runtime's request object.
pub trait Authorize {
    fn authorize(&self) -> AuthorizeFuture<'_>;
}

impl AuthMode {
    /// One line for operators (the status page): who may call. Names no
    /// secret.
    pub fn describe(&self) -> String {
        match self {
            Self::Jwt(auth) => {
                let s = auth.settings();
                let algs: Vec<&str> = s.algorithms.iter().map(|a| a.name()).collect();
                let issuer = s.rules.issuer.as_deref().map(|i| format!(" issued by {i}")).unwrap_or_default();
                format!("callers need a bearer JWT ({}){issuer}", algs.join(", "))
            }
            Self::Anonymous => "anyone may call (anonymous, identified by IP)".into(),
            Self::Hook => "the authorize hook says who calls".into(),
            Self::NotConfigured => AuthError::NotConfigured.to_string(),
        }
    }
}

/// How the routes know who calls.
#[derive(Clone, Debug)]
pub enum AuthMode {
    /// Bearer JWTs.
    Jwt(Authenticator),
    /// Anyone, identified by IP: explicit (`HEADSTART_AUTH=anonymous`), or
    /// the default of a local process.
    Anonymous,
    /// The binding's [`Authorize`] hook decides.
    Hook,
    /// Nothing configured on a deploy: every route answers 503.
    NotConfigured,
}
