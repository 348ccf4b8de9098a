//! The identity provider's public keys (a JWKS, RFC 7517), fetched from its
//! URL and kept for as long as its `Cache-Control: max-age` says. The cache
//! is a plain value with time passed in; [`super::Authenticator`] does the
//! fetching. Every bound is here: the body read, the number of keys, the
//! time kept, and how often an unknown `kid` may cause a refetch (a flood of
//! made-up kids costs the JWKS URL one request per [`REFETCH_INTERVAL_MS`]).

use serde::Deserialize;
use serde_json::Value;

use super::jwt::Alg;

/// How long keys are kept when the answer says nothing.
pub const DEFAULT_MAX_AGE_MS: f64 = 10.0 * 60.0 * 1000.0;
/// The bounds of a `max-age`: a zero would refetch on every request.
pub const MIN_MAX_AGE_MS: f64 = 30.0 * 1000.0;
pub const MAX_MAX_AGE_MS: f64 = 24.0 * 3600.0 * 1000.0;
/// The least time between two fetches that are not due to expiry (an
/// unknown `kid`, a failed fetch).
pub const REFETCH_INTERVAL_MS: f64 = 30.0 * 1000.0;
/// The largest JWKS body read, and the most keys kept.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const MAX_KEYS: usize = 32;
/// The deadline of one JWKS fetch.
pub const FETCH_TIMEOUT_MS: u32 = 5_000;

/// One public key, as the JWKS gives it (only what RS256 and ES256 need).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    /// RSA modulus and exponent (base64url).
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    /// EC curve and point (base64url).
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

impl Jwk {
    /// Whether this key may check a signature of `alg`: the key type fits
    /// the algorithm (an RSA key never checks an HS256 or ES256 token), and
    /// its own `alg` and `use`, when given, agree.
    pub fn fits(&self, alg: Alg) -> bool {
        let kind = match alg {
            Alg::Rs256 => self.kty == "RSA" && self.n.is_some() && self.e.is_some(),
            Alg::Es256 => self.kty == "EC" && self.crv.as_deref() == Some("P-256") && self.x.is_some() && self.y.is_some(),
            Alg::Hs256 => false,
        };
        kind && self.alg.as_deref().is_none_or(|a| a == alg.name()) && self.use_.as_deref().is_none_or(|u| u == "sig")
    }

    /// The public JWK as JSON (for WebCrypto's `importKey("jwk", ...)`).
    pub fn public_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("kty".into(), self.kty.clone().into());
        for (name, value) in [("n", &self.n), ("e", &self.e), ("crv", &self.crv), ("x", &self.x), ("y", &self.y)] {
            if let Some(v) = value {
                out.insert(name.into(), v.clone().into());
            }
        }
        out.insert("ext".into(), true.into());
        Value::Object(out)
    }
}

/// Parses a JWKS body: `{"keys": [...]}`; keys of other types are kept out
/// (a JWKS may hold encryption keys too), as is anything past [`MAX_KEYS`].
pub fn parse(body: &[u8]) -> Result<Vec<Jwk>, String> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<Value>,
    }
    let set: Set = serde_json::from_slice(body).map_err(|e| format!("the JWKS is not {{\"keys\": [...]}}: {e}"))?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .filter(|k| k.fits(Alg::Rs256) || k.fits(Alg::Es256))
        .take(MAX_KEYS)
        .collect())
}

/// `max-age` of a `Cache-Control` value, in ms, within the bounds.
pub fn max_age_ms(cache_control: Option<&str>) -> f64 {
    let seconds = cache_control
        .and_then(|v| v.split(',').find_map(|d| d.trim().strip_prefix("max-age=").and_then(|s| s.trim().parse::<u64>().ok())));
    seconds.map_or(DEFAULT_MAX_AGE_MS, |s| (s as f64 * 1000.0).clamp(MIN_MAX_AGE_MS, MAX_MAX_AGE_MS))
}

/// The keys of one JWKS URL and when they were fetched.
#[derive(Debug, Clone, Default)]
pub struct JwksCache {
    keys: Vec<Jwk>,
    /// When the keys stop being fresh (ms on the routes' clock); `None`
    /// before the first good fetch.
    fresh_until: Option<f64>,
    /// The start of the last fetch, good or not.
    last_attempt: Option<f64>,
}

/// What to do for a token's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(Box<Jwk>),
    /// Fetch the JWKS first (stale, never fetched, or an unknown `kid` and
    /// a refetch is allowed).
    Fetch,
    /// No such key, and no refetch now.
    Unknown,
    /// The keys could not be fetched lately: answer 503 without trying.
    Unavailable,
}

impl JwksCache {
    /// The key for `kid` (or, for a token without one, the only key that
    /// fits `alg`) at `now`.
    pub fn lookup(&self, kid: Option<&str>, alg: Alg, now: f64) -> Lookup {
        let recently_tried = self.last_attempt.is_some_and(|t| now - t < REFETCH_INTERVAL_MS);
        let fresh = self.fresh_until.is_some_and(|t| now < t);
        if !fresh {
            return match (recently_tried, self.fresh_until.is_some()) {
                (false, _) => Lookup::Fetch,
                // The last fetch failed: keep to the stale keys if any,
                // else the JWKS is down for now.
                (true, true) => self.find(kid, alg).map_or(Lookup::Unknown, |k| Lookup::Found(Box::new(k))),
                (true, false) => Lookup::Unavailable,
            };
        }
        match self.find(kid, alg) {
            Some(key) => Lookup::Found(Box::new(key)),
            None if !recently_tried => Lookup::Fetch,
            None => Lookup::Unknown,
        }
    }

    /// The key for `kid`, fresh or stale (while a refetch is in flight).
    pub fn known(&self, kid: Option<&str>, alg: Alg) -> Option<Jwk> {
        self.find(kid, alg)
    }

    fn find(&self, kid: Option<&str>, alg: Alg) -> Option<Jwk> {
        let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
        match kid {
            Some(kid) => fitting.find(|k| k.kid.as_deref() == Some(kid)).cloned(),
            None => match (fitting.next(), fitting.next()) {
                (Some(only), None) => Some(only.clone()),
                _ => None,
            },
        }
    }

    /// A fetch starts at `now` (counted whether it succeeds or not).
    pub fn attempt(&mut self, now: f64) {
        self.last_attempt = Some(now);
    }

    /// A fetch answered `keys`, to keep for `max_age_ms`.
    pub fn store(&mut self, keys: Vec<Jwk>, max_age_ms: f64, now: f64) {
        self.keys = keys;
        self.fresh_until = Some(now + max_age_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa(kid: &str) -> Jwk {
        serde_json::from_value(serde_json::json!({ "kty": "RSA", "kid": kid, "n": "AQAB", "e": "AQAB" })).unwrap()
    }

    #[test]
    fn keys_fit_only_their_algorithm() {
        let key = rsa("a");
        assert!(key.fits(Alg::Rs256) && !key.fits(Alg::Es256) && !key.fits(Alg::Hs256));
        let enc = Jwk { use_: Some("enc".into()), ..rsa("b") };
        assert!(!enc.fits(Alg::Rs256));
        let other_alg = Jwk { alg: Some("RS512".into()), ..rsa("c") };
        assert!(!other_alg.fits(Alg::Rs256));
        let body = br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"},"junk"]}"#;
        assert_eq!(parse(body).unwrap(), vec![rsa("a")]);
        assert!(parse(b"[]").is_err());
    }

    #[test]
    fn max_age() {
        assert_eq!(max_age_ms(None), DEFAULT_MAX_AGE_MS);
        assert_eq!(max_age_ms(Some("public, max-age=3600, must-revalidate")), 3_600_000.0);
        assert_eq!(max_age_ms(Some("max-age=0")), MIN_MAX_AGE_MS);
        assert_eq!(max_age_ms(Some("max-age=99999999")), MAX_MAX_AGE_MS);
    }

    #[test]
    fn refetches_are_bounded() {
        let mut cache = JwksCache::default();
        assert_eq!(cache.lookup(Some("a"), Alg::Rs256, 0.0), Lookup::Fetch);
        cache.attempt(0.0);
        // The first fetch failed: 503 until the interval passes.
        assert_eq!(cache.lookup(Some("a"), Alg::Rs256, 1_000.0), Lookup::Unavailable);
        assert_eq!(cache.lookup(Some("a"), Alg::Rs256, REFETCH_INTERVAL_MS), Lookup::Fetch);
        cache.attempt(REFETCH_INTERVAL_MS);
        cache.store(vec![rsa("a")], DEFAULT_MAX_AGE_MS, REFETCH_INTERVAL_MS);
        let t = REFETCH_INTERVAL_MS + 1.0;
        assert_eq!(cache.lookup(Some("a"), Alg::Rs256, t), Lookup::Found(Box::new(rsa("a"))));
        assert_eq!(cache.lookup(None, Alg::Rs256, t), Lookup::Found(Box::new(rsa("a"))));
        // An unknown kid: refused until a refetch is allowed, then one.
        assert_eq!(cache.lookup(Some("z"), Alg::Rs256, t), Lookup::Unknown);
        assert_eq!(cache.lookup(Some("z"), Alg::Rs256, 2.0 * REFETCH_INTERVAL_MS), Lookup::Fetch);
        // Past max-age: a fetch; if it fails, the stale keys still serve.
        let late = REFETCH_INTERVAL_MS + DEFAULT_MAX_AGE_MS;
        assert_eq!(cache.lookup(Some("a"), Alg::Rs256, late), Lookup::Fetch);
        cache.attempt(late);
        assert_eq!(cache.lookup(Some("a"), Alg::Rs256, late + 1.0), Lookup::Found(Box::new(rsa("a"))));
        assert_eq!(cache.lookup(Some("z"), Alg::Rs256, late + 1.0), Lookup::Unknown);
    }
}
