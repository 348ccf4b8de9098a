//! Host tests of what the reference comparison (tests/provider_reference.rs)
//! does not reach: Vertex AI's request and metadata, the service-account
//! token (signed with a real RSA key and checked), its faults and cache, a
//! whole step over the IO seams, the round trip of thought signatures, and
//! bad input to the decoder.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use super::auth::{self, access_token, JwtSigner, SignFuture};
use super::*;
use crate::io::{Clock, Fetch, FetchError, HttpResponse, ResponseBody};
use crate::protocol::model::ModelMessage;
use crate::provider::config::{Model, ModelSettings};
use crate::provider::step::Step;
use crate::provider::{CallOptions, StreamDecoder, StreamPart, MAX_RETAINED_BYTES, MAX_TRACKED_BLOCKS};

// ---- the test key (tests/fixtures/identity) and signing ----

fn rsa_private() -> rsa::RsaPrivateKey {
    let j: Value = serde_json::from_str(include_str!("../../../tests/fixtures/identity/rsa-test-key.json")).unwrap();
    let big = |k: &str| rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(j[k].as_str().unwrap()).unwrap());
    rsa::RsaPrivateKey::from_components(big("n"), big("e"), big("d"), vec![big("p"), big("q")]).unwrap()
}

/// The key as a service account's JSON file has it, with `\n` escaped as
/// in an environment variable.
fn pem_escaped() -> String {
    use rsa::pkcs8::EncodePrivateKey;
    let der = rsa_private().to_pkcs8_der().unwrap();
    let b64 = STANDARD.encode(der.as_bytes());
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n", lines.join("\\n"))
}

/// RS256 with the pure-Rust RSA (the wasm signs with WebCrypto).
struct HostSigner;

impl JwtSigner for HostSigner {
    fn sign_rs256<'a>(&'a self, pkcs8_der: &'a [u8], message: &'a [u8]) -> SignFuture<'a> {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::signature::{SignatureEncoding, Signer};
        let result = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8_der)
            .map_err(|e| e.to_string())
            .map(|k| rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k).sign(message).to_vec());
        Box::pin(std::future::ready(result))
    }
}

fn account(email: &str) -> ServiceAccount {
    ServiceAccount::new(email, &pem_escaped(), Some("key-1")).unwrap().with_signer(Rc::new(HostSigner))
}

// ---- IO fakes ----

struct Body(Option<Vec<u8>>);

impl ResponseBody for Body {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        self.0.take().map(Ok)
    }
}

enum Answer {
    Ok(u16, String),
    Fail(String),
    Hang,
}

/// Answers by URL prefix, in order per prefix; records every request.
#[derive(Default)]
struct FakeFetch {
    answers: RefCell<Vec<(String, Answer)>>,
    requests: RefCell<Vec<crate::io::HttpRequest>>,
}

impl FakeFetch {
    fn answer(self, prefix: &str, a: Answer) -> Self {
        self.answers.borrow_mut().push((prefix.into(), a));
        self
    }

    fn count(&self, prefix: &str) -> usize {
        self.requests.borrow().iter().filter(|r| r.url.starts_with(prefix)).count()
    }
}

impl Fetch for FakeFetch {
    type Body = Body;
    async fn fetch(&self, request: &crate::io::HttpRequest) -> Result<HttpResponse<Body>, FetchError> {
        self.requests.borrow_mut().push(request.clone());
        let i = self.answers.borrow().iter().position(|(p, _)| request.url.starts_with(p.as_str()));
        let Some(i) = i else { return Err(FetchError(format!("no answer for {}", request.url))) };
        let (_, answer) = self.answers.borrow_mut().remove(i);
        match answer {
            Answer::Ok(status, body) => Ok(HttpResponse { status, headers: vec![], body: Body(Some(body.into_bytes())) }),
            Answer::Fail(m) => Err(FetchError(m)),
            Answer::Hang => std::future::pending().await,
        }
    }
}

/// A virtual clock: a sleep returns at once, having moved the time on.
struct VirtualClock(Cell<f64>);

impl Clock for VirtualClock {
    fn now_ms(&self) -> f64 {
        self.0.get()
    }
    async fn sleep(&self, ms: u32) {
        self.0.set(self.0.get() + f64::from(ms));
    }
}

const NOW_MS: f64 = 1_800_000_000_000.0;

fn block_on<T>(f: impl Future<Output = T>) -> T {
    futures_executor::block_on(f)
}

fn token_ok(token: &str) -> Answer {
    Answer::Ok(200, json!({ "access_token": token, "expires_in": 3599, "token_type": "Bearer" }).to_string())
}

// ---- the service-account token ----

#[test]
fn the_assertion_is_an_rs256_jwt_the_public_key_verifies() {
    use rsa::signature::Verifier;
    let jwt = block_on(account("sa@p.iam.gserviceaccount.com").assertion(1_800_000_000)).unwrap();
    let pieces: Vec<&str> = jwt.split('.').collect();
    assert_eq!(pieces.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(pieces[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(pieces[1]).unwrap()).unwrap();
    assert_eq!(header, json!({ "alg": "RS256", "typ": "JWT", "kid": "key-1" }));
    assert_eq!(
        claims,
        json!({
            "iss": "sa@p.iam.gserviceaccount.com",
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "aud": "https://oauth2.googleapis.com/token",
            "exp": 1_800_003_600u64,
            "iat": 1_800_000_000u64,
        })
    );
    let public = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(rsa_private().to_public_key());
    let signature = rsa::pkcs1v15::Signature::try_from(&URL_SAFE_NO_PAD.decode(pieces[2]).unwrap()[..]).unwrap();
    let input = format!("{}.{}", pieces[0], pieces[1]);
    public.verify(input.as_bytes(), &signature).expect("a valid RS256 signature");
    assert!(public.verify(b"another message", &signature).is_err(), "the check can fail");
}

#[test]
fn the_token_is_cached_until_shortly_before_it_expires() {
    auth::clear_cache();
    let fetch =
        FakeFetch::default().answer(auth::TOKEN_URL, token_ok("ya29.first")).answer(auth::TOKEN_URL, token_ok("ya29.second"));
    let clock = VirtualClock(Cell::new(NOW_MS));
    let a = account("cache@p.iam.gserviceaccount.com");
    assert_eq!(block_on(access_token(&fetch, &clock, &a, 1000)).unwrap(), "ya29.first");
    let request = fetch.requests.borrow()[0].clone();
    assert_eq!(request.headers, vec![("content-type".to_string(), "application/x-www-form-urlencoded".to_string())]);
    assert!(request.body.starts_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=ey"));
    // Still fresh 50 minutes later (the token lives 3599 s, renewed 5 minutes early).
    clock.0.set(NOW_MS + 50.0 * 60_000.0);
    assert_eq!(block_on(access_token(&fetch, &clock, &a, 1000)).unwrap(), "ya29.first");
    assert_eq!(fetch.count(auth::TOKEN_URL), 1);
    clock.0.set(NOW_MS + 56.0 * 60_000.0);
    assert_eq!(block_on(access_token(&fetch, &clock, &a, 1000)).unwrap(), "ya29.second");
    assert_eq!(fetch.count(auth::TOKEN_URL), 2);
}

#[test]
fn token_endpoint_faults_are_clear_and_retried_only_when_transient() {
    auth::clear_cache();
    let clock = VirtualClock(Cell::new(NOW_MS));
    let a = account("faults@p.iam.gserviceaccount.com");
    let refused = Answer::Ok(400, r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.into());
    let fetch = FakeFetch::default()
        .answer(auth::TOKEN_URL, refused)
        .answer(auth::TOKEN_URL, Answer::Ok(503, "<html>unavailable</html>".into()))
        .answer(auth::TOKEN_URL, Answer::Fail("connection reset".into()))
        .answer(auth::TOKEN_URL, Answer::Hang)
        .answer(auth::TOKEN_URL, Answer::Ok(200, "{}".into()));
    let mut texts = Vec::new();
    let e = block_on(access_token(&fetch, &clock, &a, 1000)).unwrap_err();
    assert!(matches!(e, ProviderError::Http { status: 400, .. }) && !e.is_retryable(), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("invalid_grant: Invalid JWT Signature.") && text.contains("faults@p.iam"), "{text}");
    texts.push(text);
    let e = block_on(access_token(&fetch, &clock, &a, 1000)).unwrap_err();
    assert!(matches!(e, ProviderError::Http { status: 503, .. }) && e.is_retryable(), "{e:?}");
    texts.push(e.to_string());
    let e = block_on(access_token(&fetch, &clock, &a, 1000)).unwrap_err();
    assert!(matches!(e, ProviderError::Network { .. }) && e.is_retryable(), "{e:?}");
    texts.push(e.to_string());
    let before = clock.now_ms();
    let e = block_on(access_token(&fetch, &clock, &a, 1000)).unwrap_err();
    assert!(matches!(e, ProviderError::Network { .. }) && e.is_retryable(), "a hang ends at the deadline: {e:?}");
    assert_eq!(clock.now_ms() - before, 1000.0);
    texts.push(e.to_string());
    let e = block_on(access_token(&fetch, &clock, &a, 1000)).unwrap_err();
    assert!(matches!(e, ProviderError::Malformed { .. }), "{e:?}");
    texts.push(e.to_string());
    // No secret in any of them: neither the key nor an assertion.
    let key_body = pem_escaped();
    let key_line = key_body.split("\\n").nth(2).unwrap();
    for request in fetch.requests.borrow().iter() {
        let assertion = request.body.split("assertion=").nth(1).unwrap();
        let signature = assertion.rsplit('.').next().unwrap();
        for text in &texts {
            assert!(!text.contains(signature) && !text.contains(key_line), "{text}");
        }
    }
    assert!(!format!("{a:?}").contains(key_line), "Debug shows no key");
}

#[test]
fn a_malformed_key_is_a_startup_error_naming_the_variable_never_the_key() {
    let vars = |key: &str| {
        let key = key.to_string();
        move |name: &str| -> Option<String> {
            match name {
                "HEADSTART_PROVIDER" => Some("vertex".into()),
                "GOOGLE_VERTEX_PROJECT" => Some("my-project".into()),
                "GOOGLE_CLIENT_EMAIL" => Some("sa@my-project.iam.gserviceaccount.com".into()),
                "GOOGLE_PRIVATE_KEY" => Some(key.clone()),
                _ => None,
            }
        }
    };
    let secret = "-----BEGIN PRIVATE KEY-----\\nc2VjcmV0LXNlY3JldC1zZWNyZXQ=\\n-----END PRIVATE KEY-----";
    for key in [secret, "not a key at all", "-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\n-----END RSA PRIVATE KEY-----"] {
        let e = ModelSettings::from_vars(vars(key)).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("GOOGLE_PRIVATE_KEY: "), "{text}");
        assert!(!text.contains("c2VjcmV0") && !text.contains("not a key") && !text.contains("AAAA"), "{text}");
    }
    let s = ModelSettings::from_vars(vars(&pem_escaped())).unwrap();
    let Model::Google(c) = &s.model else { panic!("{:?}", s.model) };
    assert!(c.vertex && matches!(c.auth, GoogleAuth::ServiceAccount(_)));
    assert_eq!(
        c.base_url,
        "https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/publishers/google"
    );
    assert_eq!(
        GoogleConfig::vertex_base_url("p", "global"),
        "https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google"
    );
}

/// The key file's `token_uri`: https anywhere, plain http only to a
/// loopback stand-in; the assertion's audience follows it.
#[test]
fn the_token_uri_of_the_key_file() {
    let vars = |uri: &str| {
        let uri = uri.to_string();
        move |name: &str| -> Option<String> {
            match name {
                "HEADSTART_PROVIDER" => Some("vertex".into()),
                "GOOGLE_VERTEX_PROJECT" => Some("p".into()),
                "GOOGLE_CLIENT_EMAIL" => Some("sa@p.iam.gserviceaccount.com".into()),
                "GOOGLE_PRIVATE_KEY" => Some(pem_escaped()),
                "GOOGLE_TOKEN_URI" => Some(uri.clone()),
                _ => None,
            }
        }
    };
    for uri in ["https://oauth2.example.test/token", "http://127.0.0.1:8787/token", "http://localhost/token", "http://[::1]:9/t"]
    {
        let s = ModelSettings::from_vars(vars(uri)).unwrap_or_else(|e| panic!("{uri}: {e}"));
        let Model::Google(GoogleConfig { auth: GoogleAuth::ServiceAccount(a), .. }) = &s.model else { panic!("{uri}") };
        assert_eq!(a.token_url, uri);
    }
    for uri in [
        "http://oauth2.googleapis.com/token",
        "http://localhost.evil.test/token",
        "http://localhost@evil.test/token",
        "http://127.0.0.1:80x/token",
        "http://[::1]:80/a b",
        "ftp://127.0.0.1/token",
        "https://",
        "token",
    ] {
        let e = ModelSettings::from_vars(vars(uri)).expect_err(uri).to_string();
        assert!(e.starts_with("GOOGLE_TOKEN_URI: ") && e.contains("https"), "{uri}: {e}");
    }
}

#[test]
fn variables_of_both_apis() {
    let get = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    };
    let s = ModelSettings::from_vars(get(&[("GOOGLE_GENERATIVE_AI_API_KEY", "AIza-test")])).unwrap();
    assert_eq!(
        s.model,
        Model::Google(GoogleConfig {
            base_url: DEFAULT_BASE_URL.into(),
            auth: GoogleAuth::ApiKey("AIza-test".into()),
            model: "gemini-2.5-flash".into(),
            vertex: false,
        })
    );
    let s = ModelSettings::from_vars(get(&[("HEADSTART_PROVIDER", "vertex"), ("GOOGLE_VERTEX_API_KEY", "vx")])).unwrap();
    assert!(matches!(&s.model, Model::Google(c) if c.base_url == VERTEX_EXPRESS_BASE_URL && c.vertex));
    let e = ModelSettings::from_vars(get(&[("HEADSTART_PROVIDER", "vertex")])).unwrap_err();
    assert!(e.to_string().contains("GOOGLE_VERTEX_API_KEY, or GOOGLE_CLIENT_EMAIL and GOOGLE_PRIVATE_KEY"), "{e}");
    let e = ModelSettings::from_vars(get(&[("HEADSTART_PROVIDER", "google")])).unwrap_err();
    assert!(e.to_string().contains("GOOGLE_GENERATIVE_AI_API_KEY"), "{e}");
}

// ---- requests ----

fn history() -> CallOptions {
    let prompt: Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/providers/prompt-history-google.json")).unwrap();
    CallOptions {
        system: prompt["system"].as_str().map(str::to_string),
        messages: serde_json::from_value(prompt["messages"].clone()).unwrap(),
        tools: crate::provider::tool::builtin_tools(),
        ..CallOptions::default()
    }
}

#[test]
fn vertex_sends_no_call_ids_and_authenticates_by_bearer_or_express_key() {
    let sa = GoogleConfig {
        base_url: GoogleConfig::vertex_base_url("p", "europe-west4"),
        auth: GoogleAuth::ServiceAccount(account("sa@p.iam.gserviceaccount.com")),
        model: "gemini-2.5-pro".into(),
        vertex: true,
    };
    let r = build_request(&sa, &history()).unwrap();
    assert_eq!(
        r.url,
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert!(r.headers.iter().all(|(n, _)| n != "x-goog-api-key" && n != "authorization"), "the bearer is added per attempt");
    let body: Value = serde_json::from_str(&r.body).unwrap();
    let model_turn = &body["contents"][1]["parts"];
    assert_eq!(
        model_turn[2],
        json!({ "functionCall": { "name": "get_weather", "args": { "city": "Paris" } }, "thoughtSignature": "CiQBjz1rX0hpc3RvcnlDYWxs" })
    );
    assert_eq!(
        body["contents"][2]["parts"][1],
        json!({ "functionResponse": { "name": "get_weather", "response": { "name": "get_weather", "error": "weather service unavailable" } } })
    );
    let express = GoogleConfig { base_url: VERTEX_EXPRESS_BASE_URL.into(), auth: GoogleAuth::ApiKey("vx".into()), ..sa };
    let r = build_request(&express, &history()).unwrap();
    assert!(r.url.starts_with("https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-pro:"));
    assert!(r.headers.contains(&("x-goog-api-key".into(), "vx".into())));
}

/// A step's response messages, fed back as the next call's history, carry
/// the thought signatures into the request as the SDK's do.
#[test]
fn thought_signatures_round_trip_into_the_next_request() {
    let body = include_bytes!("../../../tests/fixtures/providers/google/thinking.sse");
    let tool_call = include_bytes!("../../../tests/fixtures/providers/google/tool-call.sse");
    for body in [&body[..], &tool_call[..]] {
        let options = history();
        let mut step = Step::new("m", &options.tools);
        let mut decoder = GoogleDecoder::new(false);
        for part in decoder.feed(body) {
            step.push(part);
        }
        for part in decoder.end() {
            step.push(part);
        }
        step.end();
        let result = step.into_outcome().unwrap().unwrap();
        let mut next = options.clone();
        next.messages.extend(result.response_messages);
        let config = GoogleConfig {
            base_url: DEFAULT_BASE_URL.into(),
            auth: GoogleAuth::ApiKey("k".into()),
            model: "gemini-2.5-flash".into(),
            vertex: false,
        };
        let request: Value = serde_json::from_str(&build_request(&config, &next).unwrap().body).unwrap();
        let last = request["contents"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["role"], "model");
        let signatures: Vec<&str> =
            last["parts"].as_array().unwrap().iter().filter_map(|p| p["thoughtSignature"].as_str()).collect();
        assert!(!signatures.is_empty(), "{last}");
        for s in signatures {
            assert!(String::from_utf8_lossy(body).contains(s), "{s} came from the stream");
        }
    }
}

// ---- a whole step over the IO seams ----

#[test]
fn a_vertex_step_fetches_a_token_then_streams_with_it_and_retries_a_transient_refusal() {
    auth::clear_cache();
    let base = GoogleConfig::vertex_base_url("p", "us-central1");
    let stream = String::from_utf8(include_bytes!("../../../tests/fixtures/providers/google/text.sse").to_vec()).unwrap();
    let overloaded = r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#;
    let fetch = FakeFetch::default()
        .answer(auth::TOKEN_URL, Answer::Ok(500, "{}".into()))
        .answer(auth::TOKEN_URL, token_ok("ya29.step"))
        .answer(&base, Answer::Ok(503, overloaded.into()))
        .answer(&base, Answer::Ok(200, stream));
    let clock = VirtualClock(Cell::new(NOW_MS));
    let mut settings = ModelSettings::scripted();
    settings.max_attempts = 4;
    settings.model = Model::Google(GoogleConfig {
        base_url: base.clone(),
        auth: GoogleAuth::ServiceAccount(account("step@p.iam.gserviceaccount.com")),
        model: "gemini-2.5-flash".into(),
        vertex: true,
    });
    let options = settings.call(vec![serde_json::from_value::<ModelMessage>(json!({"role":"user","content":"Hi"})).unwrap()]);
    let mut step = Step::new("m", &options.tools);
    let mut chunks = Vec::new();
    block_on(crate::provider::run::run_step(&fetch, &clock, &settings, &options, &mut step, &mut |c| chunks.push(c)));
    let result = step.into_outcome().unwrap().expect("the step succeeds on the third attempt");
    assert_eq!(result.finish_reason.as_str(), "stop");
    assert_eq!((result.usage.input_tokens, result.usage.output_tokens), (Some(62), Some(48)));
    let requests = fetch.requests.borrow();
    let to_model: Vec<_> = requests.iter().filter(|r| r.url.starts_with(&base)).collect();
    assert_eq!(to_model.len(), 2);
    for r in to_model {
        assert!(r.headers.contains(&("authorization".into(), "Bearer ya29.step".into())), "{:?}", r.headers);
    }
    assert_eq!(fetch.count(auth::TOKEN_URL), 2, "one failed exchange, then the cached token");
}

// ---- bad input ----

fn decode_all(body: &[u8]) -> (Vec<StreamPart>, Option<ProviderError>) {
    let mut d = GoogleDecoder::new(false);
    let mut parts = d.feed(body);
    parts.extend(d.end());
    (parts, d.failure())
}

#[test]
fn garbage_events_become_errors_and_never_panic() {
    let bodies: [&[u8]; 8] = [
        b"data: not json\r\n\r\n",
        b"data: [1,2,3]\r\n\r\n",
        b"data: {\"candidates\": 7}\r\n\r\n",
        b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"args\": {}}}, {\"text\": 5}, 3]}}]}\r\n\r\n",
        b"data: {\"candidates\": [{\"finishReason\": 17, \"content\": null}], \"usageMetadata\": \"x\"}\r\n\r\n",
        b"data: {\"error\": 5}\r\n\r\n",
        b"\xff\xfe\x00garbage\r\n\r\n",
        b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"a\", \"partialArgs\": []}}]}}]}\r\n\r\n",
    ];
    for body in bodies {
        let (parts, _) = decode_all(body);
        assert!(matches!(parts.last(), Some(StreamPart::Finish { .. })), "{parts:?}");
    }
    let (parts, _) = decode_all(bodies[0]);
    assert!(matches!(&parts[0], StreamPart::Error(ProviderError::Malformed { provider: "google", .. })));
    assert!(matches!(&parts[1], StreamPart::Finish { reason, .. } if reason.as_str() == "error"));
}

#[test]
fn a_huge_argument_or_too_many_calls_fail_the_call_cleanly() {
    // Arguments in events the SSE limits allow, adding up past the bound.
    let big = "x".repeat(256 << 10);
    let call = |args: &str| {
        format!("data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"functionCall\": {{\"name\": \"a\", \"args\": {{\"s\": \"{args}\"}}}}}}]}}}}]}}\r\n\r\n")
    };
    let mut d = GoogleDecoder::new(false);
    let mut fed = 0;
    while d.failure().is_none() {
        d.feed(call(&big).as_bytes());
        fed += big.len();
        assert!(fed <= MAX_RETAINED_BYTES + big.len(), "the bound holds");
    }
    assert!(fed > MAX_RETAINED_BYTES - big.len());
    assert!(matches!(d.failure(), Some(ProviderError::Malformed { .. })), "past MAX_RETAINED_BYTES");
    // One event past the SSE limits fails the same way.
    let mut d = GoogleDecoder::new(false);
    d.feed(call(&"x".repeat(MAX_RETAINED_BYTES)).as_bytes());
    assert!(matches!(d.failure(), Some(ProviderError::Malformed { .. })));
    assert!(d.feed(call("y").as_bytes()).is_empty() && d.end().is_empty(), "nothing more after a failure");

    let one = call("y");
    let mut d = GoogleDecoder::new(false);
    let mut calls = 0;
    for _ in 0..=MAX_TRACKED_BLOCKS {
        calls += d.feed(one.as_bytes()).iter().filter(|p| matches!(p, StreamPart::ToolCall { .. })).count();
    }
    assert_eq!(calls, MAX_TRACKED_BLOCKS);
    assert!(matches!(d.failure(), Some(ProviderError::Malformed { .. })), "past MAX_TRACKED_BLOCKS");
}

#[test]
fn errors_before_and_during_the_stream() {
    let body =
        r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"#;
    let e = http_error(429, &[("retry-after".into(), "17".into())], body);
    assert_eq!(
        e,
        ProviderError::Http {
            provider: "google",
            status: 429,
            kind: Some("RESOURCE_EXHAUSTED".into()),
            message: "Resource has been exhausted (e.g. check quota).".into(),
            retry_after_ms: Some(17_000),
        }
    );
    assert_eq!(e.retry_delay_ms(1), Some(17_000));
    assert!(
        matches!(http_error(502, &[], "<html>"), ProviderError::Http { status: 502, ref message, .. } if message == "HTTP 502")
    );
    let stream = |status: &str| ProviderError::Stream { provider: "google", kind: status.into(), message: String::new() };
    assert!(stream("UNAVAILABLE").is_retryable() && stream("RESOURCE_EXHAUSTED").is_retryable());
    assert!(!stream("INVALID_ARGUMENT").is_retryable() && !stream("PERMISSION_DENIED").is_retryable());
}

#[test]
fn vertex_metadata_is_keyed_as_the_sdk_keys_it() {
    let mut d = GoogleDecoder::new(true);
    let parts = d.feed(include_bytes!("../../../tests/fixtures/providers/google/thinking.sse"));
    let meta = parts.iter().find_map(|p| match p {
        StreamPart::TextStart { provider_metadata, .. } => provider_metadata.clone(),
        _ => None,
    });
    let meta = Value::Object(meta.unwrap());
    assert_eq!(meta["googleVertex"], meta["vertex"]);
    assert!(meta["googleVertex"]["thoughtSignature"].is_string() && meta.get("google").is_none());
}

#[test]
fn model_traits_follow_the_sdk_patterns() {
    assert!(!ModelTraits::of("gemini-2.5-flash").gemini3 && ModelTraits::of("gemini-2.5-flash").gemini25);
    assert!(!ModelTraits::of("gemini-2.0-flash").gemini3 && !ModelTraits::of("gemini-1.5-pro").gemini3);
    assert!(!ModelTraits::of("gemini-pro").gemini3);
    assert!(ModelTraits::of("gemini-3-pro-preview").gemini3 && ModelTraits::of("gemini-flash-latest").gemini3);
    assert!(ModelTraits::of("publishers/google/models/gemini-3-flash").gemini3);
    assert!(ModelTraits::of("gemma-3-27b-it").gemma && !ModelTraits::of("gemma-3-27b-it").gemini3);
}
