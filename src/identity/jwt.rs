//! A caller's JWT, taken apart and checked without IO: the compact form,
//! the header's `alg` and `kid`, the HS256 signature, and the claims
//! (`iss`, `aud`, `exp`, `nbf`, `sub`) against the time passed in. RS256
//! and ES256 signatures need a key from the JWKS and WebCrypto; the caller
//! does that part (see [`super::Authenticator`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

use super::AuthError;

/// The longest token read: real ones are under 2 KiB; anything far larger
/// is refused before it is decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The signature algorithms accepted. `none` and every other name are
/// refused when the header is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Hs256,
    Rs256,
    Es256,
}

impl Alg {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "HS256" => Some(Self::Hs256),
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// Whether the key comes from the shared secret (else from the JWKS).
    pub fn symmetric(self) -> bool {
        self == Self::Hs256
    }
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// A token split and decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct Token {
    pub alg: Alg,
    pub kid: Option<String>,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: Vec<u8>,
    pub signature: Vec<u8>,
    pub claims: serde_json::Map<String, Value>,
}

/// The token of an `Authorization` header value: `Bearer <token>`, the
/// scheme in any case (RFC 7235 §2.1).
pub fn bearer(authorization: &str) -> Result<&str, AuthError> {
    let value = authorization.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    match rest.trim() {
        "" => Err(AuthError::NotBearer),
        token => Ok(token),
    }
}

fn b64(part: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| AuthError::Malformed("a part is not base64url"))
}

/// Splits and decodes a compact JWS; refuses an algorithm outside
/// `allowed` (so `none`, and HS256 where only keys from a JWKS are
/// configured, never reach a signature check).
pub fn decode(token: &str, allowed: &[Alg]) -> Result<Token, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(AuthError::Malformed("a JWT has three dot-separated parts"));
    };
    let head: Header =
        serde_json::from_slice(&b64(header)?).map_err(|_| AuthError::Malformed("the header is not a JSON object"))?;
    let name = head.alg.unwrap_or_default();
    // The name goes into the error message: a few characters of it only.
    let alg =
        Alg::parse(&name).filter(|a| allowed.contains(a)).ok_or_else(|| AuthError::Algorithm(name.chars().take(16).collect()))?;
    let claims = match serde_json::from_slice(&b64(payload)?) {
        Ok(Value::Object(claims)) => claims,
        _ => return Err(AuthError::Malformed("the payload is not a JSON object")),
    };
    Ok(Token {
        alg,
        kid: head.kid,
        signing_input: token.as_bytes()[..header.len() + 1 + payload.len()].to_vec(),
        signature: b64(signature)?,
        claims,
    })
}

/// Checks an HS256 signature in constant time.
pub fn verify_hs256(secret: &[u8], token: &Token) -> Result<(), AuthError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&token.signing_input);
    mac.verify_slice(&token.signature).map_err(|_| AuthError::BadSignature)
}

/// What the claims must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRules {
    /// `iss` must equal it, when set.
    pub issuer: Option<String>,
    /// `aud` (a string or an array) must hold one of them, when not empty.
    pub audience: Vec<String>,
    /// Slack on `exp` and `nbf`, for clocks that disagree.
    pub leeway_secs: u64,
}

fn number(claims: &serde_json::Map<String, Value>, name: &'static str) -> Result<Option<f64>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or(AuthError::Malformed("exp, nbf and iat must be numbers")),
    }
}

/// Checks the claims at `now_secs` and gives `sub`, the caller's id.
pub fn check_claims(claims: &serde_json::Map<String, Value>, rules: &ClaimRules, now_secs: u64) -> Result<String, AuthError> {
    let now = now_secs as f64;
    let leeway = rules.leeway_secs as f64;
    // A token that never expires is a credential for ever: refused.
    let exp = number(claims, "exp")?.ok_or(AuthError::NoExpiry)?;
    if now >= exp + leeway {
        return Err(AuthError::Expired);
    }
    if number(claims, "nbf")?.is_some_and(|nbf| now + leeway < nbf) {
        return Err(AuthError::NotYetValid);
    }
    if let Some(issuer) = &rules.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(AuthError::Issuer);
        }
    }
    if !rules.audience.is_empty() {
        let accepted = |a: &Value| a.as_str().is_some_and(|a| rules.audience.iter().any(|want| want == a));
        let ok = match claims.get("aud") {
            Some(aud @ Value::String(_)) => accepted(aud),
            Some(Value::Array(auds)) => auds.iter().any(accepted),
            _ => false,
        };
        if !ok {
            return Err(AuthError::Audience);
        }
    }
    match claims.get("sub").and_then(Value::as_str).map(str::trim) {
        Some(sub) if !sub.is_empty() && sub.len() <= 256 => Ok(sub.to_string()),
        _ => Err(AuthError::NoSubject),
    }
}

/// Test helpers: HS256 tokens from claims.
#[cfg(test)]
pub(crate) fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn rules() -> ClaimRules {
        ClaimRules { issuer: Some("https://issuer.example".into()), audience: vec!["app".into()], leeway_secs: 60 }
    }

    fn claims(extra: Value) -> serde_json::Map<String, Value> {
        let mut base = json!({ "sub": "user_1", "iss": "https://issuer.example", "aud": "app", "exp": NOW + 300 });
        base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        base.as_object().unwrap().clone()
    }

    #[test]
    fn the_scheme_is_matched_in_any_case() {
        assert_eq!(bearer("Bearer abc"), Ok("abc"));
        assert_eq!(bearer("bEaReR   abc "), Ok("abc"));
        assert_eq!(bearer("Basic abc"), Err(AuthError::NotBearer));
        assert_eq!(bearer("Bearer "), Err(AuthError::NotBearer));
        assert_eq!(bearer("abc"), Err(AuthError::NotBearer));
    }

    #[test]
    fn claims_table() {
        let table: [(Value, Result<&str, AuthError>); 12] = [
            (json!({}), Ok("user_1")),
            (json!({ "exp": NOW - 61 }), Err(AuthError::Expired)),
            (json!({ "exp": NOW - 30 }), Ok("user_1")), // within the leeway
            (json!({ "exp": null }), Err(AuthError::NoExpiry)),
            (json!({ "exp": "soon" }), Err(AuthError::Malformed("exp, nbf and iat must be numbers"))),
            (json!({ "nbf": NOW + 61 }), Err(AuthError::NotYetValid)),
            (json!({ "nbf": NOW + 30 }), Ok("user_1")),
            (json!({ "iss": "https://other.example" }), Err(AuthError::Issuer)),
            (json!({ "aud": "other" }), Err(AuthError::Audience)),
            (json!({ "aud": ["other", "app"] }), Ok("user_1")),
            (json!({ "aud": ["other"] }), Err(AuthError::Audience)),
            (json!({ "sub": "" }), Err(AuthError::NoSubject)),
        ];
        for (extra, want) in table {
            let got = check_claims(&claims(extra.clone()), &rules(), NOW);
            assert_eq!(got.as_deref().map_err(Clone::clone), want, "claims {extra}");
        }
        let no_aud = ClaimRules { audience: vec![], ..rules() };
        assert_eq!(check_claims(&claims(json!({ "aud": null })), &no_aud, NOW).unwrap(), "user_1");
    }

    #[test]
    fn decoding_refuses_bad_shapes_and_algorithms() {
        let secret = b"s3cret";
        let good = sign_hs256(secret, &json!({ "alg": "HS256", "typ": "JWT" }), &json!({ "sub": "u" }));
        let token = decode(&good, &[Alg::Hs256]).unwrap();
        assert_eq!(verify_hs256(secret, &token), Ok(()));
        assert_eq!(verify_hs256(b"other", &token), Err(AuthError::BadSignature));

        let none = sign_hs256(secret, &json!({ "alg": "none" }), &json!({ "sub": "u" }));
        assert_eq!(decode(&none, &[Alg::Hs256]).unwrap_err(), AuthError::Algorithm("none".into()));
        assert_eq!(decode(&good, &[Alg::Rs256]).unwrap_err(), AuthError::Algorithm("HS256".into()));
        let long = sign_hs256(secret, &json!({ "alg": "x".repeat(500) }), &json!({}));
        assert_eq!(decode(&long, &[Alg::Hs256]).unwrap_err(), AuthError::Algorithm("x".repeat(16)));
        assert!(matches!(decode("a.b", &[Alg::Hs256]), Err(AuthError::Malformed(_))));
        assert!(matches!(decode("a.b.c.d", &[Alg::Hs256]), Err(AuthError::Malformed(_))));
        assert!(matches!(decode("!!.e30.AA", &[Alg::Hs256]), Err(AuthError::Malformed(_))));
        assert_eq!(decode(&"a".repeat(MAX_TOKEN_BYTES + 1), &[Alg::Hs256]).unwrap_err(), AuthError::TooLarge);
    }
}
