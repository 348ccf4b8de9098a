//! The registry over in-memory IO: a fetch that answers from a script and a
//! clock whose sleeps end at once (so a stalled request times out at once).

use std::cell::RefCell;
use std::collections::VecDeque;

use futures_executor::block_on;
use serde_json::{json, Value};

use super::*;
use crate::io::{FetchError, HttpRequest, HttpResponse, ResponseBody};

enum Reply {
    Answer { status: u16, content_type: Option<&'static str>, pieces: Vec<Result<Vec<u8>, FetchError>> },
    Fail(&'static str),
    Stall,
}

fn answer(status: u16, content_type: &'static str, body: &str) -> Reply {
    Reply::Answer { status, content_type: Some(content_type), pieces: vec![Ok(body.as_bytes().to_vec())] }
}

#[derive(Default)]
struct FakeFetch {
    replies: RefCell<VecDeque<Reply>>,
    requests: RefCell<Vec<HttpRequest>>,
}

impl FakeFetch {
    fn new(replies: impl IntoIterator<Item = Reply>) -> Self {
        Self { replies: RefCell::new(replies.into_iter().collect()), ..Self::default() }
    }
}

struct FakeBody(VecDeque<Result<Vec<u8>, FetchError>>);

impl ResponseBody for FakeBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        self.0.pop_front()
    }
}

impl Fetch for FakeFetch {
    type Body = FakeBody;
    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<FakeBody>, FetchError> {
        self.requests.borrow_mut().push(request.clone());
        let reply = self.replies.borrow_mut().pop_front().expect("a scripted reply");
        match reply {
            Reply::Answer { status, content_type, pieces } => Ok(HttpResponse {
                status,
                headers: content_type.map(|ct| ("content-type".to_string(), ct.to_string())).into_iter().collect(),
                body: FakeBody(pieces.into()),
            }),
            Reply::Fail(message) => Err(FetchError(message.into())),
            Reply::Stall => std::future::pending().await,
        }
    }
}

#[derive(Default)]
struct InstantClock {
    sleeps: RefCell<Vec<u32>>,
}

impl Clock for InstantClock {
    fn now_ms(&self) -> f64 {
        0.0
    }
    async fn sleep(&self, ms: u32) {
        self.sleeps.borrow_mut().push(ms);
    }
}

fn run(registry: &ToolRegistry, fetch: &FakeFetch, name: &str, input: Value) -> Result<Value, ToolError> {
    block_on(registry.execute(fetch, &InstantClock::default(), name, &input))
}

fn builtin(name: &str, input: Value) -> Result<Value, ToolError> {
    run(&ToolRegistry::default(), &FakeFetch::default(), name, input)
}

#[test]
fn the_builtins_are_the_schemas_step_1_offers() {
    let registry = ToolRegistry::default();
    assert_eq!(registry.specs(), builtin_tools());
    assert!(registry.has("get_weather") && registry.has("calculator") && registry.has("fetch_url"));
    assert!(!registry.has("nope"));
    let err = builtin("nope", json!({})).unwrap_err();
    assert_eq!(err.to_string(), "unknown tool \"nope\" (available: get_weather, calculator, fetch_url)");
}

#[test]
fn weather_and_calculator() {
    let paris = builtin("get_weather", json!({ "city": "Paris" })).unwrap();
    assert_eq!(paris, weather("Paris"));
    assert_eq!(paris.as_object().unwrap().keys().collect::<Vec<_>>(), ["city", "temperatureC", "condition"]);
    assert_eq!(builtin("get_weather", json!({ "city": "Paris" })).unwrap(), paris);
    assert_eq!(
        builtin("get_weather", json!({ "town": "Paris" })).unwrap_err().to_string(),
        "invalid input: expected an object with a string \"city\""
    );
    assert!(matches!(builtin("get_weather", json!({ "city": " " })), Err(ToolError::InvalidInput(_))));

    let calc = |e: &str| builtin("calculator", json!({ "expression": e }));
    assert_eq!(calc("0.18 * 240").unwrap(), json!({ "expression": "0.18 * 240", "result": 43.2 }));
    assert_eq!(serde_json::to_string(&calc("2 ^ 10").unwrap()["result"]).unwrap(), "1024");
    assert_eq!(calc("1 / 3").unwrap()["result"], json!(0.333333333333333));
    assert_eq!(calc("1 / 0").unwrap_err().to_string(), "division by zero");
    assert_eq!(calc("2 ^ 2000").unwrap_err(), ToolError::Calculation(CalcError::NotFinite));
    assert!(calc("2 +* 3").unwrap_err().to_string().starts_with("syntax error at column 4"));
    assert!(matches!(builtin("calculator", json!({ "expression": 4 })), Err(ToolError::InvalidInput(_))));
}

#[test]
fn fetch_url_returns_readable_text() {
    let html = "<html><head><title>T</title><script>x()</script><style>p{}</style></head>\
                <body><p>Hello &amp;   goodbye</p></body></html>";
    let fetch = FakeFetch::new([answer(200, "text/html; charset=utf-8", html)]);
    let out = run(&ToolRegistry::default(), &fetch, "fetch_url", json!({ "url": "https://Example.com/a b" })).unwrap();
    assert_eq!(
        out,
        json!({
            "url": "https://example.com/a%20b", "status": 200, "contentType": "text/html; charset=utf-8",
            "text": "T\n\nHello & goodbye", "truncated": false
        })
    );
    let request = &fetch.requests.borrow()[0];
    assert_eq!((request.method, request.url.as_str()), ("GET", "https://example.com/a%20b"));
}

#[test]
fn fetch_url_sniffs_html_and_keeps_other_text() {
    let fetch = FakeFetch::new([
        Reply::Answer { status: 200, content_type: None, pieces: vec![Ok(b"  <!DOCTYPE html><p>a</p>".to_vec())] },
        answer(404, "application/json", "{\"error\": \"<b>not</b> found\"}"),
        answer(200, "image/png", "\u{89}PNG"),
    ]);
    let registry = ToolRegistry::default();
    let get = |url: &str| run(&registry, &fetch, "fetch_url", json!({ "url": url })).unwrap();
    let sniffed = get("http://a.test/");
    assert_eq!((sniffed["text"].as_str(), &sniffed["contentType"]), (Some("a"), &Value::Null));
    let missing = get("http://a.test/missing");
    assert_eq!((missing["status"].as_u64(), missing["text"].as_str()), (Some(404), Some("{\"error\": \"<b>not</b> found\"}")));
    let image = get("http://a.test/i.png");
    assert_eq!(image["text"], "(not shown: the response is image/png, not text)");
}

#[test]
fn fetch_url_truncates_to_the_limit() {
    let options = ToolOptions { fetch_text_limit: 10, ..ToolOptions::default() };
    let registry = ToolRegistry::new(options);
    // 9 ASCII bytes then a 2-byte character across the limit.
    let fetch = FakeFetch::new([answer(200, "text/plain", "123456789éabc"), answer(200, "text/plain", "1234567890")]);
    let out = run(&registry, &fetch, "fetch_url", json!({ "url": "https://a.test/" })).unwrap();
    assert_eq!(out["text"], "123456789\n[truncated: showing the first 9 bytes]");
    assert_eq!(out["truncated"], true);
    let exact = run(&registry, &fetch, "fetch_url", json!({ "url": "https://a.test/" })).unwrap();
    assert_eq!((exact["text"].as_str(), &exact["truncated"]), (Some("1234567890"), &json!(false)));

    // The body itself is read only up to `max_response_bytes`.
    let options = ToolOptions { max_response_bytes: 4, ..ToolOptions::default() };
    let pieces = vec![Ok(b"abc".to_vec()), Ok(b"def".to_vec()), Err(FetchError("never read".into()))];
    let fetch = FakeFetch::new([Reply::Answer { status: 200, content_type: Some("text/plain"), pieces }]);
    let out = run(&ToolRegistry::new(options), &fetch, "fetch_url", json!({ "url": "https://a.test/" })).unwrap();
    assert_eq!((out["text"].as_str(), &out["truncated"]), (Some("abcd\n[truncated: showing the first 4 bytes]"), &json!(true)));
}

#[test]
fn fetch_url_refuses_other_schemes() {
    let fetch = FakeFetch::default();
    let registry = ToolRegistry::default();
    for url in ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "data:text/plain,hi"] {
        let err = run(&registry, &fetch, "fetch_url", json!({ "url": url })).unwrap_err();
        assert_eq!(err.to_string(), format!("refused to fetch \"{url}\": only http and https URLs are fetched"));
    }
    let err = run(&registry, &fetch, "fetch_url", json!({ "url": "example.com" })).unwrap_err();
    assert_eq!(err.to_string(), "refused to fetch \"example.com\": not an absolute URL");
    assert!(fetch.requests.borrow().is_empty());
}

#[test]
fn failures_and_timeouts() {
    let registry = ToolRegistry::default();
    let fetch = FakeFetch::new([Reply::Fail("dns error")]);
    let err = run(&registry, &fetch, "fetch_url", json!({ "url": "https://a.test/" })).unwrap_err();
    assert_eq!(err.to_string(), "request failed: dns error");

    let fetch = FakeFetch::new([Reply::Stall]);
    let clock = InstantClock::default();
    let err = block_on(registry.execute(&fetch, &clock, "fetch_url", &json!({ "url": "https://a.test/" }))).unwrap_err();
    assert_eq!((err.to_string().as_str(), clock.sleeps.borrow().as_slice()), ("timed out after 15000 ms", &[15_000][..]));

    let pieces = vec![Ok(b"part".to_vec()), Err(FetchError("connection reset".into()))];
    let fetch = FakeFetch::new([Reply::Answer { status: 200, content_type: Some("text/plain"), pieces }]);
    let err = run(&registry, &fetch, "fetch_url", json!({ "url": "https://a.test/" })).unwrap_err();
    assert_eq!(err, ToolError::Fetch("connection reset".into()));
}

const CONFIG: &str = r#"{
    "search": {
        "url": "https://tools.test/search",
        "description": "Search the docs.",
        "inputSchema": { "type": "object", "properties": { "q": { "type": "string" } }, "required": ["q"] },
        "headers": { "authorization": "Bearer k", "Content-Type": "application/json; charset=utf-8" },
        "timeoutMs": 2000
    },
    "ping": { "url": "http://tools.test/ping" }
}"#;

#[test]
fn http_tools_are_configured_by_json() {
    let registry = ToolRegistry::from_config(ToolOptions::default(), Some(CONFIG)).unwrap();
    let specs = registry.specs();
    assert_eq!(
        specs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["get_weather", "calculator", "fetch_url", "search", "ping"]
    );
    assert_eq!(specs[3].description.as_deref(), Some("Search the docs."));
    assert_eq!(specs[3].input_schema["required"], json!(["q"]));
    assert_eq!((specs[4].description.as_ref(), &specs[4].input_schema), (None, &json!({ "type": "object" })));
    assert_eq!(ToolRegistry::from_config(ToolOptions::default(), Some("  ")).unwrap(), ToolRegistry::default());

    let refused = |json: &str| ToolRegistry::from_config(ToolOptions::default(), Some(json)).unwrap_err().to_string();
    assert!(refused("[1]").starts_with("tool configuration is not valid JSON"));
    assert_eq!(refused(r#"{"calculator": {"url": "https://x.test"}}"#), "tool \"calculator\" is defined twice");
    assert!(refused(r#"{"a b": {"url": "https://x.test"}}"#).starts_with("invalid tool name \"a b\""));
    assert_eq!(refused(r#"{"t": {"url": "ftp://x.test"}}"#), "tool \"t\": \"url\" must be an absolute http(s) URL");
    assert!(refused(r#"{"t": {"url": "https://x.test", "inputSchema": {"type": "string"}}}"#).contains("object schema"));
    assert!(refused(r#"{"t": {"url": "https://x.test", "inputschema": {}}}"#).contains("unknown field `inputschema`"));
    assert!(refused(r#"{"t": {}}"#).contains("missing field `url`"));
}

#[test]
fn http_tools_post_the_input_and_return_the_response() {
    let registry = ToolRegistry::from_config(ToolOptions::default(), Some(CONFIG)).unwrap();
    let fetch = FakeFetch::new([
        answer(200, "application/json", "{\"hits\": [1, 2]}"),
        answer(200, "text/plain", "pong"),
        answer(200, "application/json", "not json"),
    ]);
    let out = run(&registry, &fetch, "search", json!({ "q": "durable objects" })).unwrap();
    assert_eq!(out, json!({ "hits": [1, 2] }));
    let request = fetch.requests.borrow()[0].clone();
    assert_eq!((request.method, request.url.as_str()), ("POST", "https://tools.test/search"));
    assert_eq!(request.body, r#"{"q":"durable objects"}"#);
    assert_eq!(
        request.headers,
        [
            ("accept".to_string(), "application/json, text/plain;q=0.9".to_string()),
            ("Content-Type".to_string(), "application/json; charset=utf-8".to_string()),
            ("authorization".to_string(), "Bearer k".to_string()),
        ]
    );
    assert_eq!(run(&registry, &fetch, "ping", json!({})).unwrap(), json!("pong"));
    assert_eq!(run(&registry, &fetch, "ping", json!({})).unwrap(), json!("not json"));
}

#[test]
fn http_tool_errors() {
    let registry = ToolRegistry::from_config(ToolOptions::default(), Some(CONFIG)).unwrap();
    let long = format!("  {}  ", "x".repeat(600));
    let fetch =
        FakeFetch::new([answer(503, "text/plain", " upstream down\n"), answer(400, "application/json", &long), Reply::Stall]);
    let err = run(&registry, &fetch, "ping", json!({})).unwrap_err();
    assert_eq!(err.to_string(), "HTTP 503: upstream down");
    let err = run(&registry, &fetch, "ping", json!({})).unwrap_err();
    assert_eq!(err, ToolError::Status { status: 400, body: format!("{}…", "x".repeat(500)) });
    let err = run(&registry, &fetch, "search", json!({ "q": "x" })).unwrap_err();
    assert_eq!(err, ToolError::Timeout { ms: 2000 });
}
