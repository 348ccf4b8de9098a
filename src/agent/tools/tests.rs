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
    Redirect(u16, &'static str),
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
    async fn fetch(&self, _: &HttpRequest) -> Result<HttpResponse<FakeBody>, FetchError> {
        panic!("the tools must not let the runtime follow redirects")
    }
    async fn fetch_manual(&self, request: &HttpRequest) -> Result<HttpResponse<FakeBody>, FetchError> {
        self.requests.borrow_mut().push(request.clone());
        let reply = self.replies.borrow_mut().pop_front().expect("a scripted reply");
        match reply {
            Reply::Answer { status, content_type, pieces } => Ok(HttpResponse {
                status,
                headers: content_type.map(|ct| ("content-type".to_string(), ct.to_string())).into_iter().collect(),
                body: FakeBody(pieces.into()),
            }),
            Reply::Redirect(status, location) => Ok(HttpResponse {
                status,
                headers: vec![("location".into(), location.into())],
                body: FakeBody(vec![Err(FetchError("a redirect's body is not read".into()))].into()),
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

fn urls(fetch: &FakeFetch) -> Vec<String> {
    fetch.requests.borrow().iter().map(|r| r.url.clone()).collect()
}

#[test]
fn fetch_url_refuses_private_addresses_before_any_request() {
    let fetch = FakeFetch::default();
    let registry = ToolRegistry::default();
    for (url, reason) in [
        ("http://127.0.0.1:8787/api", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the cloud metadata address"),
        ("http://[::ffff:10.0.0.1]/", "[::ffff:10.0.0.1] is the IPv4-mapped form of 10.0.0.1, a private address"),
        ("http://metadata.google.internal/", "metadata.google.internal is a cloud metadata service"),
        ("http://app.localhost/", "app.localhost is a loopback name"),
    ] {
        let err = run(&registry, &fetch, "fetch_url", json!({ "url": url })).unwrap_err();
        assert_eq!(err, ToolError::Refused { url: url.into(), reason: reason.into() });
    }
    assert!(fetch.requests.borrow().is_empty());
}

#[test]
fn redirects_are_followed_by_hand_and_each_hop_is_checked() {
    let registry = ToolRegistry::default();
    // Relative, scheme-relative and absolute Locations, then the page.
    let fetch = FakeFetch::new([
        Reply::Redirect(301, "/moved?x=1"),
        Reply::Redirect(302, "//b.test/b/c"),
        Reply::Redirect(307, "d"),
        Reply::Redirect(308, "https://c.test/"),
        answer(200, "text/plain", "here"),
    ]);
    let out = run(&registry, &fetch, "fetch_url", json!({ "url": "http://a.test/start" })).unwrap();
    assert_eq!((out["url"].as_str(), out["text"].as_str()), (Some("https://c.test/"), Some("here")));
    assert_eq!(
        urls(&fetch),
        ["http://a.test/start", "http://a.test/moved?x=1", "http://b.test/b/c", "http://b.test/b/d", "https://c.test/"]
    );

    // A public page that bounces to a private address is refused at that hop.
    for (location, reason) in [
        ("http://127.0.0.1/admin", "it redirects to http://127.0.0.1/admin: 127.0.0.1 is a loopback address"),
        ("http://0251.0376.0251.0376/", "it redirects to http://169.254.169.254/: 169.254.169.254 is the cloud metadata address"),
        ("http://[fd00:ec2::254]/", "it redirects to http://[fd00:ec2::254]/: [fd00:ec2::254] is the cloud metadata address"),
        ("//localhost:9/", "it redirects to https://localhost:9/: localhost is a loopback name"),
        ("file:///etc/passwd", "it redirects to file:///etc/passwd: only http and https URLs are fetched"),
        ("http://[zz]/", "it redirects to \"http://[zz]/\", which is not a URL"),
    ] {
        let fetch = FakeFetch::new([Reply::Redirect(302, "https://b.test/next"), Reply::Redirect(302, location)]);
        let err = run(&registry, &fetch, "fetch_url", json!({ "url": "https://a.test/" })).unwrap_err();
        assert_eq!(err, ToolError::Refused { url: "https://a.test/".into(), reason: reason.into() }, "{location}");
        assert_eq!(urls(&fetch), ["https://a.test/", "https://b.test/next"]);
    }

    // Five redirects are followed, a sixth is not; a 3xx without a
    // Location, or one that is not a redirect, is the answer.
    let chain = |n: usize| (0..n).map(|_| Reply::Redirect(302, "/again")).chain([answer(200, "text/plain", "end")]);
    assert_eq!(
        run(&registry, &FakeFetch::new(chain(5)), "fetch_url", json!({ "url": "http://a.test/" })).unwrap()["text"],
        "end"
    );
    let err = run(&registry, &FakeFetch::new(chain(6)), "fetch_url", json!({ "url": "http://a.test/" })).unwrap_err();
    assert_eq!(err.to_string(), "refused to fetch \"http://a.test/\": more than 5 redirects");
    let fetch = FakeFetch::new([answer(304, "text/plain", ""), Reply::Answer { status: 0, content_type: None, pieces: vec![] }]);
    assert_eq!(run(&registry, &fetch, "fetch_url", json!({ "url": "http://a.test/" })).unwrap()["status"], 304);
    let err = run(&registry, &fetch, "fetch_url", json!({ "url": "http://a.test/" })).unwrap_err();
    assert!(err.to_string().contains("the runtime hid a redirect"), "{err}");
}

#[test]
fn http_tools_follow_redirects_as_fetch_does_and_keep_their_headers_home() {
    let registry = ToolRegistry::from_config(ToolOptions::default(), Some(CONFIG)).unwrap();
    let fetch = FakeFetch::new([
        Reply::Redirect(307, "/search2"),
        Reply::Redirect(303, "https://other.test/result"),
        answer(200, "application/json", "{\"ok\": true}"),
    ]);
    assert_eq!(run(&registry, &fetch, "search", json!({ "q": "x" })).unwrap(), json!({ "ok": true }));
    let requests = fetch.requests.borrow();
    let names = |r: &HttpRequest| r.headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect::<Vec<_>>();
    // 307 keeps the method, body and headers on the same origin.
    assert_eq!(
        (requests[1].method, requests[1].url.as_str(), requests[1].body.as_str()),
        ("POST", "https://tools.test/search2", r#"{"q":"x"}"#)
    );
    assert_eq!(names(&requests[1]), ["accept", "content-type", "authorization"]);
    // 303 turns into a GET without a body; the key stays with its origin.
    assert_eq!((requests[2].method, requests[2].body.as_str()), ("GET", ""));
    assert_eq!(names(&requests[2]), ["accept"]);

    let fetch = FakeFetch::new([Reply::Redirect(302, "http://10.0.0.2/internal")]);
    let err = run(&registry, &fetch, "ping", json!({})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refused to fetch \"http://tools.test/ping\": it redirects to http://10.0.0.2/internal: 10.0.0.2 is a private address"
    );
}

#[test]
fn http_tool_urls_are_checked_when_configured() {
    let refused = |url: &str| {
        let json = format!(r#"{{"t": {{"url": "{url}"}}}}"#);
        ToolRegistry::from_config(ToolOptions::default(), Some(&json)).unwrap_err().to_string()
    };
    assert_eq!(refused("http://127.0.0.1:9000/hook"), "tool \"t\": \"url\" is refused: 127.0.0.1 is a loopback address");
    assert_eq!(
        refused("http://169.254.169.254/"),
        "tool \"t\": \"url\" is refused: 169.254.169.254 is the cloud metadata address"
    );
}

#[test]
fn http_tool_bodies_are_cut_at_the_limit() {
    let options = ToolOptions { max_response_bytes: 5, ..ToolOptions::default() };
    let registry = ToolRegistry::from_config(options, Some(CONFIG)).unwrap();
    let pieces = vec![Ok(b"pong ".to_vec()), Ok(b"and more".to_vec()), Err(FetchError("never read".into()))];
    let fetch = FakeFetch::new([Reply::Answer { status: 200, content_type: Some("text/plain"), pieces }]);
    assert_eq!(run(&registry, &fetch, "ping", json!({})).unwrap(), json!("pong "));
}

#[test]
fn the_allowlist_comes_from_the_variable() {
    let vars = |value: &'static str| move |name: &str| (name == "HEADSTART_FETCH_ALLOW").then(|| value.to_string());
    let options = ToolOptions::from_vars(vars("docs.test, *.wiki.test")).unwrap();
    assert_eq!(ToolOptions::from_vars(|_| None).unwrap(), ToolOptions::default());
    let registry = ToolRegistry::new(options.clone());
    let fetch = FakeFetch::new([
        answer(200, "text/plain", "a"),
        answer(200, "text/plain", "b"),
        Reply::Redirect(302, "https://docs.test.evil.test/"),
    ]);
    assert_eq!(run(&registry, &fetch, "fetch_url", json!({ "url": "https://docs.test/" })).unwrap()["text"], "a");
    assert_eq!(run(&registry, &fetch, "fetch_url", json!({ "url": "https://en.wiki.test/x" })).unwrap()["text"], "b");
    let err = run(&registry, &fetch, "fetch_url", json!({ "url": "https://docs.test/r" })).unwrap_err();
    assert!(err.to_string().ends_with("docs.test.evil.test is not in the allowed hosts (HEADSTART_FETCH_ALLOW)"), "{err}");
    let err = run(&registry, &fetch, "fetch_url", json!({ "url": "https://wiki.test/" })).unwrap_err();
    assert!(err.to_string().ends_with("wiki.test is not in the allowed hosts (HEADSTART_FETCH_ALLOW)"), "{err}");
    // An HTTP tool's host must be listed too.
    let err = ToolRegistry::from_config(options, Some(CONFIG)).unwrap_err().to_string();
    assert_eq!(err, "tool \"search\": \"url\" is refused: tools.test is not in the allowed hosts (HEADSTART_FETCH_ALLOW)");
    let err = ToolOptions::from_vars(vars("docs.test, https://x.test/")).unwrap_err().to_string();
    assert!(err.starts_with("HEADSTART_FETCH_ALLOW: \"https://x.test/\" is not a host name"), "{err}");
}

#[test]
fn locations_resolve_like_whatwg() {
    let base = "https://a.test/dir/page?q=1#top";
    for (location, href) in [
        ("other", "https://a.test/dir/other"),
        ("../up", "https://a.test/up"),
        ("/root", "https://a.test/root"),
        ("\\\\b.test\\x", "https://b.test/x"),
        ("?z", "https://a.test/dir/page?z"),
        ("#f", "https://a.test/dir/page?q=1#f"),
        ("", "https://a.test/dir/page?q=1"),
        ("  /trimmed ", "https://a.test/trimmed"),
        ("https:same", "https://a.test/dir/same"),
        ("https:/abs", "https://a.test/abs"),
        ("HTTPS://B.test", "https://b.test/"),
        ("http:c.test", "http://c.test/"),
        ("localhost:8080/x", "localhost:8080/x"),
    ] {
        assert_eq!(http::resolve(base, location).as_deref(), Some(href), "{location}");
    }
    assert_eq!(http::resolve(base, "http://[::1"), None);
}
