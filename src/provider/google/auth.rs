//! Vertex AI with a service account: a JWT (RS256) of the account, signed
//! through a [`JwtSigner`] (WebCrypto on wasm), is exchanged at Google's
//! token endpoint (`urn:ietf:params:oauth:grant-type:jwt-bearer`) for an
//! access token, which is cached per isolate until shortly before it
//! expires and sent as `Authorization: Bearer` — what
//! `@ai-sdk/google-vertex/edge` does with `GOOGLE_CLIENT_EMAIL`,
//! `GOOGLE_PRIVATE_KEY` and `GOOGLE_PRIVATE_KEY_ID`.
//!
//! Secrets stay out of errors and logs: `Debug` prints no key or token, and
//! an error names the variable or the endpoint's status, never the key, the
//! assertion or the token endpoint's body.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use crate::io::{timeout, Clock, Fetch, FetchError, HttpRequest, ResponseBody};
use crate::provider::ProviderError;

/// Google's OAuth token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The scope of the token.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Lifetime asked for (the most Google grants).
const TOKEN_SECS: u64 = 3600;
/// A cached token is renewed this long before it expires, so no request
/// goes out with one about to lapse.
pub const REFRESH_MARGIN_MS: f64 = 5.0 * 60_000.0;
/// At most this many accounts' tokens are cached per isolate.
const MAX_CACHED: usize = 16;

/// What [`JwtSigner::sign_rs256`] returns.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + 'a>>;

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signatures with a PKCS#8 key.
/// Boxed futures keep it object-safe: the wasm build signs with WebCrypto,
/// host tests with a pure-Rust RSA.
pub trait JwtSigner {
    fn sign_rs256<'a>(&'a self, pkcs8_der: &'a [u8], message: &'a [u8]) -> SignFuture<'a>;
}

/// The host's default: no RSA compiled in.
#[cfg(not(target_arch = "wasm32"))]
struct NoSigner;

#[cfg(not(target_arch = "wasm32"))]
impl JwtSigner for NoSigner {
    fn sign_rs256<'a>(&'a self, _: &'a [u8], _: &'a [u8]) -> SignFuture<'a> {
        Box::pin(std::future::ready(Err("RS256 needs WebCrypto; on the host give a JwtSigner".to_string())))
    }
}

/// The runtime's signer: WebCrypto on wasm.
pub fn default_signer() -> Rc<dyn JwtSigner> {
    #[cfg(target_arch = "wasm32")]
    return Rc::new(crate::web::crypto::WebCrypto);
    #[cfg(not(target_arch = "wasm32"))]
    Rc::new(NoSigner)
}

/// A service account's identity and key (the key as PKCS#8 DER).
#[derive(Clone)]
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key_id: Option<String>,
    key: Rc<[u8]>,
    pub token_url: String,
    signer: Rc<dyn JwtSigner>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ServiceAccount {
    fn eq(&self, other: &Self) -> bool {
        self.client_email == other.client_email
            && self.private_key_id == other.private_key_id
            && self.key == other.key
            && self.token_url == other.token_url
    }
}

impl Eq for ServiceAccount {}

/// Why an account cannot be used: the variable at fault and what is wrong
/// (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{1}")]
pub struct KeyError(pub &'static str, pub String);

impl ServiceAccount {
    /// From the variables' values. `private_key` is the PEM of a PKCS#8 RSA
    /// key (`-----BEGIN PRIVATE KEY-----`), with real or `\n`-escaped line
    /// breaks as it comes from a JSON key file or an env var.
    pub fn new(client_email: &str, private_key: &str, private_key_id: Option<&str>) -> Result<Self, KeyError> {
        let key = pkcs8_der(private_key).map_err(|m| KeyError("GOOGLE_PRIVATE_KEY", m))?;
        if client_email.trim().is_empty() || !client_email.contains('@') {
            return Err(KeyError("GOOGLE_CLIENT_EMAIL", "must be the service account's e-mail address".into()));
        }
        Ok(Self {
            client_email: client_email.trim().to_string(),
            private_key_id: private_key_id.map(str::trim).filter(|k| !k.is_empty()).map(str::to_string),
            key: key.into(),
            token_url: TOKEN_URL.into(),
            signer: default_signer(),
        })
    }

    /// The same account with another signer (host tests) or token URL.
    pub fn with_signer(mut self, signer: Rc<dyn JwtSigner>) -> Self {
        self.signer = signer;
        self
    }

    pub fn with_token_url(mut self, url: &str) -> Self {
        self.token_url = url.to_string();
        self
    }

    /// The signed assertion for `now_secs` (wall clock, Unix seconds).
    pub async fn assertion(&self, now_secs: u64) -> Result<String, ProviderError> {
        let mut header = json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.private_key_id {
            header["kid"] = kid.clone().into();
        }
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_url,
            "exp": now_secs + TOKEN_SECS,
            "iat": now_secs,
        });
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self
            .signer
            .sign_rs256(&self.key, input.as_bytes())
            .await
            // WebCrypto's messages say what failed, not the key's bytes.
            .map_err(|e| ProviderError::Config(format!("GOOGLE_PRIVATE_KEY cannot sign: {e}")))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    fn cache_key(&self) -> CacheKey {
        (self.client_email.clone(), self.private_key_id.clone(), self.token_url.clone())
    }
}

/// The PKCS#8 DER of a PEM `PRIVATE KEY`, checked to be an RSA key.
fn pkcs8_der(pem: &str) -> Result<Vec<u8>, String> {
    let pem = pem.trim().trim_matches('"').replace("\\n", "\n").replace("\\r", "");
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        return Err(String::from(
            "is a PKCS#1 key (BEGIN RSA PRIVATE KEY); give the PKCS#8 key of the service account's JSON file (BEGIN PRIVATE KEY)",
        ));
    }
    let body = pem
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END PRIVATE KEY-----").next().filter(|_| rest.contains("-----END PRIVATE KEY-----")))
        .ok_or_else(|| String::from("must be a PEM private key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----)"))?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(b64).map_err(|_| String::from("the PEM body is not valid base64"))?;
    // PrivateKeyInfo: SEQUENCE { INTEGER 0, SEQUENCE { OID rsaEncryption ...
    const RSA_OID: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let header_ok = der.first() == Some(&0x30) && der.len() > 64;
    let has_oid = der.iter().take(32).collect::<Vec<_>>().windows(RSA_OID.len()).any(|w| w.iter().copied().eq(RSA_OID.iter()));
    if !header_ok || !has_oid {
        return Err(String::from("is not a PKCS#8 RSA private key"));
    }
    Ok(der)
}

/// Account e-mail, key id, token URL.
type CacheKey = (String, Option<String>, String);

#[derive(Debug, Clone)]
struct Cached {
    token: String,
    /// On the clock of [`Clock::now_ms`].
    expires_at_ms: f64,
}

thread_local! {
    // One per isolate (wasm is single-threaded); keyed by account, so the
    // per-request configuration shares it.
    static CACHE: RefCell<Vec<(CacheKey, Cached)>> = const { RefCell::new(Vec::new()) };
}

/// A bearer token for `account`: the cached one while it has more than
/// [`REFRESH_MARGIN_MS`] left, else a new one from the token endpoint.
/// `clock` gives the wall clock (the JWT's `iat`) and the expiry; the
/// exchange has `deadline_ms`.
pub async fn access_token<F: Fetch, C: Clock>(
    fetch: &F,
    clock: &C,
    account: &ServiceAccount,
    deadline_ms: u32,
) -> Result<String, ProviderError> {
    let key = account.cache_key();
    let now = clock.now_ms();
    let cached = CACHE.with(|c| c.borrow().iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()));
    if let Some(c) = cached.filter(|c| c.expires_at_ms - REFRESH_MARGIN_MS > now) {
        return Ok(c.token);
    }
    let assertion = account.assertion((now / 1000.0).max(0.0) as u64).await?;
    let request = HttpRequest {
        method: "POST",
        url: account.token_url.clone(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"),
    };
    let provider = "vertex";
    // A token endpoint that does not answer is a network failure: the
    // call may be retried, as on a 5xx.
    let hung = || ProviderError::Network { provider, message: format!("token endpoint: no answer within {deadline_ms} ms") };
    let mut response = match timeout(clock, deadline_ms, fetch.fetch(&request)).await {
        None => return Err(hung()),
        Some(Err(FetchError(message))) => {
            return Err(ProviderError::Network { provider, message: format!("token endpoint: {message}") })
        }
        Some(Ok(r)) => r,
    };
    let body = match timeout(clock, deadline_ms, response.body.text()).await {
        None => return Err(hung()),
        Some(Err(FetchError(message))) => {
            return Err(ProviderError::Network { provider, message: format!("token endpoint: {message}") })
        }
        Some(Ok(b)) => b,
    };
    if response.status >= 300 {
        // `{"error": "invalid_grant", "error_description": "..."}`: the
        // description names the problem, never the key; kept short anyway.
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let code = v.get("error").and_then(Value::as_str).unwrap_or("").chars().take(64).collect::<String>();
        let detail = v.get("error_description").and_then(Value::as_str).unwrap_or("").chars().take(200).collect::<String>();
        let message = format!(
            "the token endpoint refused the service account {} ({}{}{})",
            account.client_email,
            if code.is_empty() { "no error code" } else { &code },
            if detail.is_empty() { "" } else { ": " },
            detail
        );
        return Err(ProviderError::Http {
            provider,
            status: response.status,
            kind: Some("token_error".into()),
            message,
            retry_after_ms: crate::provider::error::retry_after_ms(&response.headers),
        });
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let token = v.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or_else(|| {
        ProviderError::Malformed { provider, detail: "the token endpoint answered without an access_token".into() }
    })?;
    let expires_in = v.get("expires_in").and_then(Value::as_f64).filter(|s| *s > 0.0).unwrap_or(TOKEN_SECS as f64);
    let entry = Cached { token: token.to_string(), expires_at_ms: now + expires_in * 1000.0 };
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(k, _)| *k != key);
        if c.len() >= MAX_CACHED {
            c.remove(0);
        }
        c.push((key, entry));
    });
    Ok(token.to_string())
}

/// Forgets every cached token (tests).
pub fn clear_cache() {
    CACHE.with(|c| c.borrow_mut().clear());
}
