//! The table of tokens, on the host: HS256 signed here, RS256 and ES256
//! signed and checked with pure-Rust RSA and P-256 (dev-dependencies; the
//! wasm checks them with WebCrypto), the JWKS served by a fake that counts
//! its fetches and can be down.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::*;
use crate::io::{FetchError, HttpResponse};

pub const NOW: u64 = 1_800_000_000;
pub const ISSUER: &str = "https://issuer.example";
pub const JWKS_URL: &str = "https://issuer.example/.well-known/jwks.json";
pub const HS_SECRET: &str = "a shared secret of the tests, 32+ bytes long";

// ---- keys and signing ----

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_jwk() -> Value {
    serde_json::from_str(include_str!("../../tests/fixtures/identity/rsa-test-key.json")).unwrap()
}

fn big(v: &Value) -> rsa::BigUint {
    rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap())
}

fn rsa_private() -> rsa::RsaPrivateKey {
    let j = rsa_jwk();
    rsa::RsaPrivateKey::from_components(big(&j["n"]), big(&j["e"]), big(&j["d"]), vec![big(&j["p"]), big(&j["q"])]).unwrap()
}

fn ec_private() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap()
}

/// The public JWKs of the test keys, with these kids.
pub fn rsa_public(kid: &str) -> Value {
    let j = rsa_jwk();
    json!({ "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": j["n"], "e": j["e"] })
}

pub fn ec_public(kid: &str) -> Value {
    let point = ec_private().verifying_key().to_encoded_point(false);
    json!({ "kty": "EC", "kid": kid, "crv": "P-256", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()) })
}

/// A token of `header` and `claims`, signed as its `alg` says (`none`
/// gets an empty signature).
pub fn sign(header: Value, claims: Value) -> String {
    use rsa::signature::{SignatureEncoding, Signer};
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = match header["alg"].as_str() {
        Some("HS256") => return jwt::sign_hs256(HS_SECRET.as_bytes(), &header, &claims),
        Some("RS256") => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rsa_private()).sign(input.as_bytes()).to_vec(),
        Some("ES256") => {
            let s: p256::ecdsa::Signature = ec_private().sign(input.as_bytes());
            s.to_bytes().to_vec()
        }
        _ => Vec::new(),
    };
    format!("{input}.{}", b64(&signature))
}

pub fn claims() -> Value {
    json!({ "sub": "user_1", "iss": ISSUER, "aud": "app", "exp": NOW + 300, "iat": NOW })
}

/// RS256 and ES256 with the pure-Rust crates.
pub struct HostKeys;

impl KeyVerifier for HostKeys {
    fn verify<'a>(&'a self, alg: Alg, key: &'a Jwk, message: &'a [u8], signature: &'a [u8]) -> VerifyFuture<'a> {
        let d = |v: &Option<String>| URL_SAFE_NO_PAD.decode(v.as_deref().unwrap_or_default()).map_err(|e| e.to_string());
        let result = (|| match alg {
            Alg::Rs256 => {
                use rsa::signature::Verifier;
                let public =
                    rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(&d(&key.n)?), rsa::BigUint::from_bytes_be(&d(&key.e)?))
                        .map_err(|e| e.to_string())?;
                let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else { return Ok(false) };
                Ok(rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(public).verify(message, &sig).is_ok())
            }
            Alg::Es256 => {
                use p256::ecdsa::signature::Verifier;
                let (x, y) = (d(&key.x)?, d(&key.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("a P-256 coordinate is 32 bytes".into());
                }
                let point = p256::EncodedPoint::from_affine_coordinates(x[..].into(), y[..].into(), false);
                let public = p256::ecdsa::VerifyingKey::from_encoded_point(&point).map_err(|e| e.to_string())?;
                let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else { return Ok(false) };
                Ok(public.verify(message, &sig).is_ok())
            }
            Alg::Hs256 => Err("HS256 has no JWK".into()),
        })();
        Box::pin(std::future::ready(result))
    }
}

// ---- the JWKS URL and time ----

pub struct Body(Option<Vec<u8>>);

impl crate::io::ResponseBody for Body {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        self.0.take().map(Ok)
    }
}

/// Serves `keys` at the JWKS URL, or fails while `down`; counts fetches.
/// With `slow`, each answer waits for one other task to run first.
#[derive(Clone, Default)]
pub struct FakeJwks {
    pub keys: Rc<RefCell<Vec<Value>>>,
    pub down: Rc<Cell<bool>>,
    pub fetches: Rc<Cell<usize>>,
    pub slow: Rc<Cell<bool>>,
}

impl Fetch for FakeJwks {
    type Body = Body;
    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<Body>, FetchError> {
        assert_eq!(request.url, JWKS_URL);
        self.fetches.set(self.fetches.get() + 1);
        if self.slow.get() {
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if std::mem::replace(&mut yielded, true) {
                    std::task::Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
            })
            .await;
        }
        if self.down.get() {
            return Err(FetchError("connection refused".into()));
        }
        let body = json!({ "keys": *self.keys.borrow() }).to_string().into_bytes();
        let headers = vec![("cache-control".into(), "public, max-age=600".into())];
        Ok(HttpResponse { status: 200, headers, body: Body(Some(body)) })
    }
}

#[derive(Clone, Default)]
pub struct StepClock(pub Rc<Cell<f64>>);

impl Clock for StepClock {
    fn now_ms(&self) -> f64 {
        self.0.get()
    }
    async fn sleep(&self, _: u32) {
        std::future::pending::<()>().await
    }
}

pub fn settings(secret: bool, jwks: bool, algorithms: Option<&[&str]>) -> JwtSettings {
    JwtSettings::new(
        secret.then(|| HS_SECRET.into()),
        jwks.then(|| JWKS_URL.into()),
        Some(ISSUER.into()),
        vec!["app".into()],
        algorithms.map(|a| a.iter().map(|s| s.to_string()).collect()),
        DEFAULT_LEEWAY_SECS,
        &VAR_NAMES,
    )
    .unwrap()
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("authorization".into(), format!("Bearer {token}"))]
}

struct Setup {
    auth: Authenticator,
    jwks: FakeJwks,
    clock: StepClock,
}

/// An authenticator over the host's crypto and `jwks` (serving the test
/// keys), timed by `clock`.
pub fn host_authenticator<C: Clock + 'static>(settings: JwtSettings, jwks: &FakeJwks, clock: C) -> Authenticator {
    *jwks.keys.borrow_mut() = vec![rsa_public("rsa1"), ec_public("ec1")];
    Authenticator::new(settings).with_crypto(Rc::new(HostKeys), Rc::new(FetchJwks { fetch: jwks.clone(), clock }))
}

fn setup_with(settings: JwtSettings) -> Setup {
    let (jwks, clock) = (FakeJwks::default(), StepClock::default());
    Setup { auth: host_authenticator(settings, &jwks, clock.clone()), jwks, clock }
}

fn setup() -> Setup {
    setup_with(settings(true, true, None))
}

impl Setup {
    fn check(&self, headers: &[(String, String)]) -> Result<Identity, AuthError> {
        futures_executor::block_on(self.auth.authenticate(headers, &self.clock, NOW))
    }
}

fn with(extra: Value) -> Value {
    let mut c = claims();
    c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    c
}

#[test]
fn the_table_of_tokens() {
    let hs = json!({ "alg": "HS256", "typ": "JWT" });
    let rs = json!({ "alg": "RS256", "kid": "rsa1" });
    let es = json!({ "alg": "ES256", "kid": "ec1" });
    let good = sign(rs.clone(), claims());
    let mut bad_sig = good.clone();
    bad_sig.replace_range(good.len() - 6.., "AAAAAA");
    // An HS256 token whose secret is the JWKS's RSA key: the confusion attack.
    let rsa_n = rsa_jwk()["n"].as_str().unwrap().to_string();
    let confused = jwt::sign_hs256(rsa_n.as_bytes(), &json!({ "alg": "HS256", "kid": "rsa1" }), &claims());
    let table: Vec<(&str, String, Result<&str, AuthError>)> = vec![
        ("good HS256", sign(hs.clone(), claims()), Ok("user_1")),
        ("good RS256", good.clone(), Ok("user_1")),
        ("good ES256", sign(es.clone(), claims()), Ok("user_1")),
        ("expired", sign(hs.clone(), with(json!({ "exp": NOW - 120 }))), Err(AuthError::Expired)),
        ("not yet valid", sign(rs.clone(), with(json!({ "nbf": NOW + 120 }))), Err(AuthError::NotYetValid)),
        ("wrong iss", sign(es.clone(), with(json!({ "iss": "https://evil.example" }))), Err(AuthError::Issuer)),
        ("wrong aud", sign(hs.clone(), with(json!({ "aud": "other-app" }))), Err(AuthError::Audience)),
        ("aud array", sign(rs.clone(), with(json!({ "aud": ["other-app", "app"] }))), Ok("user_1")),
        ("alg none", sign(json!({ "alg": "none" }), claims()), Err(AuthError::Algorithm("none".into()))),
        ("RS512", sign(json!({ "alg": "RS512", "kid": "rsa1" }), claims()), Err(AuthError::Algorithm("RS512".into()))),
        ("HS256 keyed with the RSA key", confused, Err(AuthError::BadSignature)),
        ("RS256 signature on an ES256 kid", sign(json!({ "alg": "RS256", "kid": "ec1" }), claims()), Err(AuthError::UnknownKey)),
        ("bad signature", bad_sig, Err(AuthError::BadSignature)),
        (
            "bad base64",
            format!("{}.not*base64", &good[..good.rfind('.').unwrap()]),
            Err(AuthError::Malformed("a part is not base64url")),
        ),
        ("no alg", "e30.e30.AA".into(), Err(AuthError::Algorithm(String::new()))),
        ("huge", format!("{good}{}", "A".repeat(jwt::MAX_TOKEN_BYTES)), Err(AuthError::TooLarge)),
        ("no sub", sign(hs.clone(), with(json!({ "sub": null }))), Err(AuthError::NoSubject)),
    ];
    let s = setup();
    for (name, token, want) in table {
        let got = s.check(&bearer(&token));
        assert_eq!(got.as_ref().map(|i| i.id.as_str()).map_err(Clone::clone), want, "{name}");
        if let Err(e) = got {
            assert!(!e.to_string().contains(&token), "{name}: the message quotes the token");
        }
    }
    assert_eq!(s.jwks.fetches.get(), 1, "one fetch served every RS256/ES256 token");
    assert_eq!(s.check(&[]), Err(AuthError::Missing));
    assert_eq!(s.check(&[("Authorization".into(), "Basic dXNlcjpwdw==".into())]), Err(AuthError::NotBearer));
    let lower = vec![("Authorization".into(), format!("bearer {}", sign(hs, claims())))];
    assert_eq!(s.check(&lower).unwrap().source, IdentitySource::Token);
}

#[test]
fn hs256_is_refused_where_only_a_jwks_is_configured() {
    let s = setup_with(settings(false, true, None));
    let token = sign(json!({ "alg": "HS256" }), claims());
    assert_eq!(s.check(&bearer(&token)), Err(AuthError::Algorithm("HS256".into())));
    assert_eq!(s.jwks.fetches.get(), 0);
}

#[test]
fn an_unknown_kid_refetches_once_then_waits() {
    let s = setup();
    let rotated = sign(json!({ "alg": "RS256", "kid": "rsa2" }), claims());
    assert_eq!(s.check(&bearer(&sign(json!({ "alg": "RS256", "kid": "rsa1" }), claims()))).unwrap().id, "user_1");
    assert_eq!(s.jwks.fetches.get(), 1);
    // The provider rotates its key after the interval: one refetch finds it.
    s.jwks.keys.borrow_mut().push(rsa_public("rsa2"));
    s.clock.0.set(jwks::REFETCH_INTERVAL_MS);
    assert_eq!(s.check(&bearer(&rotated)).unwrap().id, "user_1");
    assert_eq!(s.jwks.fetches.get(), 2);
    // A flood of made-up kids: one refetch per interval, then 401s.
    s.clock.0.set(2.0 * jwks::REFETCH_INTERVAL_MS);
    for i in 0..50 {
        let made_up = sign(json!({ "alg": "RS256", "kid": format!("fake{i}") }), claims());
        assert_eq!(s.check(&bearer(&made_up)), Err(AuthError::UnknownKey));
    }
    assert_eq!(s.jwks.fetches.get(), 3);
}

#[test]
fn a_jwks_that_cannot_be_fetched_is_503() {
    let s = setup();
    s.jwks.down.set(true);
    let token = sign(json!({ "alg": "ES256", "kid": "ec1" }), claims());
    let e = s.check(&bearer(&token)).unwrap_err();
    assert_eq!((e.clone(), e.status(), e.code()), (AuthError::JwksUnavailable, 503, "auth_unavailable"));
    // Not hammered: the next requests are refused without a fetch.
    assert_eq!(s.check(&bearer(&token)), Err(AuthError::JwksUnavailable));
    assert_eq!(s.jwks.fetches.get(), 1);
    // Back up, after the interval.
    s.jwks.down.set(false);
    s.clock.0.set(jwks::REFETCH_INTERVAL_MS);
    assert_eq!(s.check(&bearer(&token)).unwrap().id, "user_1");
    // HS256 never needs the JWKS.
    s.jwks.down.set(true);
    assert_eq!(s.check(&bearer(&sign(json!({ "alg": "HS256" }), claims()))).unwrap().id, "user_1");
}

#[test]
fn requests_during_a_fetch_wait_for_it() {
    let s = setup();
    s.jwks.slow.set(true);
    let token = bearer(&sign(json!({ "alg": "RS256", "kid": "rsa1" }), claims()));
    let clock = s.clock.clone();
    let both = futures_util::future::join(s.auth.authenticate(&token, &clock, NOW), s.auth.authenticate(&token, &clock, NOW));
    let (a, b) = futures_executor::block_on(both);
    assert_eq!((a.unwrap().id, b.unwrap().id), ("user_1".to_string(), "user_1".to_string()));
    assert_eq!(s.jwks.fetches.get(), 1, "one fetch for both");
    // A request dropped mid-fetch does not leave the fetch "in flight".
    let s = setup();
    s.jwks.slow.set(true);
    let mut first = Box::pin(s.auth.authenticate(&token, &clock, NOW));
    let waker = futures_util::task::noop_waker();
    assert!(first.as_mut().poll(&mut std::task::Context::from_waker(&waker)).is_pending());
    drop(first);
    s.clock.0.set(jwks::REFETCH_INTERVAL_MS);
    assert_eq!(s.check(&token).unwrap().id, "user_1");
}

#[test]
fn a_key_the_crypto_cannot_use_is_said_so() {
    let s = setup();
    let mut broken = ec_public("ec2");
    broken["x"] = "AAAA".into();
    s.jwks.keys.borrow_mut().push(broken);
    let token = sign(json!({ "alg": "ES256", "kid": "ec2" }), claims());
    let e = s.check(&bearer(&token)).unwrap_err();
    assert!(matches!(&e, AuthError::KeyUnusable(m) if m.contains("32 bytes")), "{e:?}");
    assert_eq!((e.status(), e.code()), (401, "invalid_token"));
}

#[test]
fn settings_are_checked() {
    let new = |secret: Option<&str>, jwks: Option<&str>, iss: Option<&str>, algs: Option<&[&str]>| {
        JwtSettings::new(
            secret.map(Into::into),
            jwks.map(Into::into),
            iss.map(Into::into),
            vec![],
            algs.map(|a| a.iter().map(|s| s.to_string()).collect()),
            60,
            &VAR_NAMES,
        )
        .map(|s| s.algorithms)
    };
    assert_eq!(new(Some("s"), None, None, None), Ok(vec![Alg::Hs256]));
    assert_eq!(new(None, Some(JWKS_URL), Some(ISSUER), None), Ok(vec![Alg::Rs256, Alg::Es256]));
    assert!(new(None, Some(JWKS_URL), None, None).unwrap_err().contains("HEADSTART_AUTH_ISSUER is required"));
    assert!(new(None, Some(JWKS_URL), Some(ISSUER), Some(&["HS256"]))
        .unwrap_err()
        .contains("HS256 needs HEADSTART_AUTH_JWT_SECRET"));
    assert!(new(Some("s"), None, None, Some(&["RS256"])).unwrap_err().contains("RS256 needs HEADSTART_AUTH_JWKS_URL"));
    assert!(new(Some("s"), None, None, Some(&["none"])).unwrap_err().contains("\"none\" is not HS256"));
    assert!(new(None, Some("ftp://x"), Some(ISSUER), None).is_err());
}

#[test]
fn the_mode_says_who_may_call_without_the_secret() {
    let jwt = AuthMode::Jwt(Authenticator::new(settings(true, true, None))).describe();
    assert_eq!(jwt, format!("callers need a bearer JWT (HS256, RS256, ES256) issued by {ISSUER}"));
    assert!(!jwt.contains(HS_SECRET));
    assert!(AuthMode::NotConfigured.describe().contains("HEADSTART_AUTH=anonymous"));
}

#[test]
fn anonymous_callers_are_their_ip() {
    let h = |pairs: &[(&str, &str)]| pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<Vec<_>>();
    assert_eq!(anonymous(&h(&[("CF-Connecting-IP", "203.0.113.9"), ("x-forwarded-for", "1.1.1.1")])).id, "203.0.113.9");
    assert_eq!(anonymous(&h(&[("x-forwarded-for", " 198.51.100.2 , 10.0.0.1")])).id, "198.51.100.2");
    assert_eq!(anonymous(&[]).id, "anonymous");
    assert_eq!(anonymous(&[]).source, IdentitySource::Anonymous);
}
