//! Credentials of the self-hosted platform (PROTOCOL.md §1, §5.2, §5.3,
//! §5.5, §5.7, §6.4, §7.1).
//!
//! Two bearers reach the platform: the environment's secret key (route
//! handler, agent) and session public access tokens (browser). The tokens
//! are HS256 JWTs shaped like the hosted platform's, so clients that decode
//! them (none should; they are opaque) see the same claims. A token names
//! its sessions in its scopes (`read:sessions:{key}`, `write:sessions:{key}`)
//! and authorizes nothing else: scope keys are compared whole, never by
//! prefix.
//!
//! Like the hosted platform's JWT ability, a type-level scope
//! (`read:sessions`, `write:sessions`), `read:all` / `write:all` and `admin`
//! cover every session; this crate never mints those.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::Io;
use crate::protocol::session::PAT_TTL_SECS;

/// `iss` of every platform token.
pub const ISSUER: &str = "https://id.trigger.dev";
/// `aud` of every platform token.
pub const AUDIENCE: &str = "https://api.trigger.dev";

type HmacSha256 = Hmac<Sha256>;

/// The claims of a platform JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The environment id.
    pub sub: String,
    pub iss: String,
    pub aud: String,
    /// Always `true` on public access tokens.
    #[serde(rename = "pub", default)]
    pub public: bool,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub iat: u64,
    pub exp: u64,
}

impl Claims {
    fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether a scope grants `action` (`read` / `write`) on the session
    /// addressed by `key`.
    pub fn allows_session(&self, action: &str, key: &str) -> bool {
        self.scopes.iter().any(|s| {
            s == "admin"
                || s.strip_prefix(action).and_then(|r| r.strip_prefix(':')).is_some_and(|rest| {
                    rest == "all" || rest == "sessions" || rest.strip_prefix("sessions:").is_some_and(|k| k == key)
                })
        })
    }
}

/// Why a request was refused: 401 (who are you?) or 403 (not allowed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Missing Authorization header")]
    Missing,
    #[error("Authorization header must be `Bearer <token>`")]
    NotBearer,
    #[error("Invalid API key or access token")]
    BadFormat,
    #[error("Unsupported token algorithm `{0}`; expected HS256")]
    WrongAlg(String),
    #[error("Invalid access token signature")]
    BadSignature,
    #[error("Access token expired")]
    Expired,
    #[error("Invalid access token claims: {0}")]
    BadClaims(&'static str),
    #[error("Forbidden: {0}")]
    Forbidden(String),
}

impl AuthError {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::Forbidden(_) => 403,
            _ => 401,
        }
    }
}

/// Mints a session public access token for the session addressed by `key`
/// (its externalId, or its friendly id when it has none), valid for an hour.
pub fn mint_session_token(signing_key: &[u8], env_id: &str, key: &str, now_secs: u64) -> String {
    let claims = Claims {
        sub: env_id.to_string(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        public: true,
        scopes: vec![format!("read:sessions:{key}"), format!("write:sessions:{key}")],
        iat: now_secs,
        exp: now_secs + PAT_TTL_SECS,
    };
    sign(signing_key, &claims)
}

/// Signs any claims as an HS256 JWT.
pub fn sign(signing_key: &[u8], claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(mac(signing_key, signing_input.as_bytes()).finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

fn mac(signing_key: &[u8], data: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(signing_key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac
}

fn b64(part: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| AuthError::BadFormat)
}

#[derive(Deserialize)]
struct JwtHeader {
    alg: String,
}

/// Checks a token's form, algorithm, signature (in constant time), issuer,
/// audience, `pub` flag and expiry (`exp` must be after `now_secs`).
pub fn verify(signing_key: &[u8], token: &str, now_secs: u64) -> Result<Claims, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(AuthError::BadFormat);
    };
    let header: JwtHeader = serde_json::from_slice(&b64(header)?).map_err(|_| AuthError::BadFormat)?;
    if header.alg != "HS256" {
        return Err(AuthError::WrongAlg(header.alg));
    }
    let signature = b64(signature)?;
    let signing_input = &token[..token.rfind('.').expect("three parts")];
    mac(signing_key, signing_input.as_bytes()).verify_slice(&signature).map_err(|_| AuthError::BadSignature)?;
    let claims: Claims = serde_json::from_slice(&b64(payload)?).map_err(|_| AuthError::BadClaims("malformed"))?;
    if claims.iss != ISSUER {
        return Err(AuthError::BadClaims("issuer"));
    }
    if claims.aud != AUDIENCE {
        return Err(AuthError::BadClaims("audience"));
    }
    if !claims.public {
        return Err(AuthError::BadClaims("not a public access token"));
    }
    if now_secs >= claims.exp {
        return Err(AuthError::Expired);
    }
    Ok(claims)
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The environment's secret key: the route handler or the agent.
    Secret,
    /// A session public access token.
    Session(Claims),
}

/// Reads `Authorization: Bearer <secret key | session token>`. The secret
/// key is compared in constant time; an empty configured secret key never
/// matches.
pub fn authenticate(
    authorization_header: Option<&str>,
    secret_key: &str,
    signing_key: &[u8],
    now_secs: u64,
) -> Result<Credential, AuthError> {
    let header = authorization_header.map(str::trim).filter(|h| !h.is_empty()).ok_or(AuthError::Missing)?;
    let (scheme, token) = header.split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::NotBearer);
    }
    if !secret_key.is_empty() && bool::from(token.as_bytes().ct_eq(secret_key.as_bytes())) {
        return Ok(Credential::Secret);
    }
    if token.matches('.').count() != 2 {
        return Err(AuthError::BadFormat);
    }
    verify(signing_key, token, now_secs).map(Credential::Session)
}

/// What a request wants to do. `key` is the session's addressing key
/// (decoded from the URL: externalId or friendly id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// `POST /api/v1/sessions` for a run of `task_identifier`.
    CreateSession { task_identifier: &'a str },
    /// `PUT /realtime/v1/sessions/{key}/{io}`: S2 write credentials.
    InitStream { key: &'a str, io: Io },
    /// `POST …/{io}/append`, and S2 appends to the session's streams.
    Append { key: &'a str, io: Io },
    /// `GET …/{io}` (SSE).
    Read { key: &'a str, io: Io },
    /// `GET …/{io}/records`.
    ReadRecords { key: &'a str, io: Io },
    /// `GET /api/chats/{chatId}/messages`.
    ChatMessages { key: &'a str },
}

/// Checks that a credential may perform an operation. The secret key may do
/// anything; a session token may read its sessions and write their `in`
/// channel, never `out`.
pub fn authorize(credential: &Credential, op: Op<'_>) -> Result<(), AuthError> {
    let Credential::Session(claims) = credential else {
        return Ok(());
    };
    let allowed = match op {
        Op::CreateSession { task_identifier } => {
            claims.has("admin")
                || claims.has("write:all")
                || claims.has("write:sessions")
                || claims.has(&format!("write:tasks:{task_identifier}"))
        }
        Op::InitStream { io: Io::Out, .. } | Op::Append { io: Io::Out, .. } => false,
        // What the browser sends the agent is read by the agent alone, as
        // on the hosted platform since 4.6: a leaked chat token cannot
        // replay the conversation's inputs.
        Op::Read { io: Io::In, .. } | Op::ReadRecords { io: Io::In, .. } => false,
        Op::InitStream { key, io: Io::In } | Op::Append { key, io: Io::In } => claims.allows_session("write", key),
        Op::Read { key, .. } | Op::ReadRecords { key, .. } | Op::ChatMessages { key } => claims.allows_session("read", key),
    };
    if allowed {
        return Ok(());
    }
    Err(AuthError::Forbidden(match op {
        Op::CreateSession { .. } => "creating sessions needs the secret key or a write:sessions token".into(),
        Op::InitStream { io: Io::Out, .. } | Op::Append { io: Io::Out, .. } => {
            "writing the out channel needs the secret key".into()
        }
        Op::InitStream { key, .. } | Op::Append { key, .. } => format!("token lacks write:sessions:{key}"),
        Op::Read { io: Io::In, .. } | Op::ReadRecords { io: Io::In, .. } => "reading the in channel needs the secret key".into(),
        Op::Read { key, .. } | Op::ReadRecords { key, .. } | Op::ChatMessages { key } => {
            format!("token lacks read:sessions:{key}")
        }
    }))
}

/// [`authorize`] for a session known under several keys (its externalId
/// and its friendly id): allowed when any of them is. `op` builds the
/// operation for one key.
pub fn authorize_any<'k>(credential: &Credential, keys: &[&'k str], op: impl Fn(&'k str) -> Op<'k>) -> Result<(), AuthError> {
    let mut last = AuthError::Forbidden("no session key".into());
    for key in keys {
        match authorize(credential, op(key)) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}
