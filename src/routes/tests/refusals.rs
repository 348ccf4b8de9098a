//! Bad input: a 4xx JSON error naming what is wrong, before anything is
//! spent (the platform and the model API see no request), whatever the
//! method, path, body shape, size or Unicode.

use std::cell::Cell;
use std::rc::Rc;

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn refused(h: &Harness, response: &RouteResponse, status: u16, code: &str, what: &str) {
    assert_eq!(response.status, status, "{what}: {response:?}");
    assert_eq!(response.header("content-type"), Some("application/json"), "{what}");
    let body = json_of(response);
    assert_eq!(body["code"], code, "{what}: {body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: a message");
    assert_eq!(h.fetches(), 0, "{what}: nothing spent");
}

#[test]
fn the_refusal_table() {
    let big = json!({ "chatId": "c1", "headStartMessages": user(&"x".repeat(2000)) }).to_string();
    let system_only = json!({ "chatId": "c1", "headStartMessages": [{ "id": "s", "role": "system", "parts": [{ "type": "text", "text": "be brief" }] }] });
    let bad_file = json!({ "chatId": "c1", "headStartMessages": [{ "id": "u", "role": "user",
        "parts": [{ "type": "file", "mediaType": "image/png", "url": "nope" }] }] });
    let deep = format!("{{\"chatId\":\"c1\",\"x\":{}{}}}", "[".repeat(400), "]".repeat(400));
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("GET", "/api/chat", String::new(), 405, "method_not_allowed"),
        ("PUT", "/api/chat/token", "{}".into(), 405, "method_not_allowed"),
        ("DELETE", "/api/chat/detached", String::new(), 405, "method_not_allowed"),
        ("POST", "/api/nope", "{}".into(), 404, "not_found"),
        ("POST", "/", "{}".into(), 404, "not_found"),
        ("POST", "/api/chat/", "{}".into(), 404, "not_found"),
        ("POST", "/API/CHAT", "{}".into(), 404, "not_found"),
        ("POST", "/api/chat", "{not json".into(), 400, "invalid_json"),
        ("POST", "/api/chat", String::new(), 400, "invalid_json"),
        ("POST", "/api/chat", deep.clone(), 400, "invalid_json"),
        ("POST", "/api/chat", "[1,2]".into(), 400, "invalid_request"),
        ("POST", "/api/chat", "null".into(), 400, "invalid_request"),
        ("POST", "/api/chat", r#"{"headStartMessages":[]}"#.into(), 400, "invalid_request"),
        ("POST", "/api/chat", r#"{"chatId":"c1","headStartMessages":"hi"}"#.into(), 400, "invalid_request"),
        ("POST", "/api/chat", r#"{"chatId":7,"headStartMessages":[]}"#.into(), 400, "invalid_request"),
        ("POST", "/api/chat", r#"{"chatId":"\ud800","headStartMessages":[]}"#.into(), 400, "invalid_json"),
        ("POST", "/api/chat", r#"{"chatId":"session_abc","headStartMessages":[]}"#.into(), 400, "invalid_chat_id"),
        ("POST", "/api/chat", r#"{"chatId":"  \u3000 ","headStartMessages":[]}"#.into(), 400, "invalid_chat_id"),
        (
            "POST",
            "/api/chat",
            json!({ "chatId": "é".repeat(300), "headStartMessages": user("hi") }).to_string(),
            400,
            "invalid_chat_id",
        ),
        ("POST", "/api/chat", r#"{"chatId":"c1","headStartMessages":[]}"#.into(), 400, "no_messages"),
        ("POST", "/api/chat", r#"{"chatId":"c1"}"#.into(), 400, "no_messages"),
        ("POST", "/api/chat", system_only.to_string(), 400, "no_messages"),
        ("POST", "/api/chat", bad_file.to_string(), 400, "invalid_messages"),
        ("POST", "/api/chat", big.clone(), 413, "body_too_large"),
        ("POST", "/api/chat/detached", r#"{"headStartMessages":[]}"#.into(), 400, "invalid_request"),
        ("POST", "/api/chat/detached", r#"{"chatId":"c1","headStartMessages":[]}"#.into(), 400, "no_messages"),
        ("POST", "/api/chat/detached", big.clone(), 413, "body_too_large"),
        ("POST", "/api/chat/start", "{".into(), 400, "invalid_json"),
        ("POST", "/api/chat/start", "[]".into(), 400, "invalid_json"),
        ("POST", "/api/chat/start", r#"{"chatId":"session_x"}"#.into(), 400, "invalid_chat_id"),
        ("POST", "/api/chat/start", big.clone(), 413, "body_too_large"),
        ("POST", "/api/chat/token", r#"{"chatId":""}"#.into(), 400, "invalid_chat_id"),
        ("POST", "/api/chat/token", r#"{"chatId":null}"#.into(), 400, "invalid_chat_id"),
        ("POST", "/api/chat/token", big.clone(), 413, "body_too_large"),
    ];
    for (method, path, body, status, code) in cases {
        let h = harness_http_model();
        let req = RouteRequest { method: method.into(), ..post(path, body.clone()) };
        let what = format!("{method} {path} {}", body.chars().take(60).collect::<String>());
        refused(&h, &h.handle(req), status, code, &what);
    }
}

/// Over the cap is refused whether the length is declared, undeclared,
/// understated, or the body comes in pieces — on every route — and the
/// pieces past the cap are never read.
#[test]
fn every_route_caps_its_body_however_it_comes() {
    for path in ["/api/chat", "/api/chat/detached", "/api/chat/start", "/api/chat/token"] {
        // Declared: refused before a byte is read.
        let h = harness_http_model();
        let read = Rc::new(Cell::new(0));
        let mut req = post(path, Vec::new());
        req.headers.push(("content-length".into(), "5000".into()));
        let req = with_body(req, Chunked { pieces: vec![vec![b' '; 10]], read: read.clone() });
        refused(&h, &h.handle(req), 413, "body_too_large", path);
        assert_eq!(read.get(), 0, "{path}: a declared length over the cap reads nothing");

        // Chunked (or a length that lies): refused as it passes the cap.
        for declared in [None, Some("10")] {
            let h = harness_http_model();
            let read = Rc::new(Cell::new(0));
            let mut req = post(path, Vec::new());
            req.headers.extend(declared.map(|d| ("content-length".to_string(), d.to_string())));
            let pieces =
                vec![b"{\"chatId\":\"c1\",\"x\":\"".to_vec(), vec![b'x'; 600], vec![b'x'; 600], vec![b'x'; 600], b"\"}".to_vec()];
            let req = with_body(req, Chunked { pieces, read: read.clone() });
            refused(&h, &h.handle(req), 413, "body_too_large", &format!("{path} chunked, declared {declared:?}"));
            assert_eq!(read.get(), 3, "{path}: reading stops at the piece that passes the cap");
        }
    }
}

fn with_body<B>(req: RouteRequest<Vec<u8>>, body: B) -> RouteRequest<B> {
    RouteRequest { method: req.method, url: req.url, headers: req.headers, body }
}

#[test]
fn read_capped_takes_exactly_the_cap() {
    let pieces = |n: usize| futures_util::stream::iter(vec![Ok(vec![b'a'; n]), Ok(vec![b'b'; 4])]);
    let clock = VClock::default();
    assert_eq!(block_on(&clock, read_capped(pieces(6), 10)).unwrap().len(), 10);
    assert_eq!(block_on(&clock, read_capped(pieces(7), 10)), Err(BodyError::TooLarge { max: 10 }));
    let failing = futures_util::stream::iter(vec![Ok(vec![1]), Err("reset".to_string())]);
    let e = block_on(&clock, read_capped(failing, 10)).unwrap_err();
    assert_eq!(RequestError::from(e).code, "invalid_body");
}

/// Anything at all: never a 5xx (the scripted platform always works), and
/// a refusal spends nothing.
fn check_any(method: &str, path: &str, body: Vec<u8>) {
    let h = harness(&[]);
    let req = RouteRequest { method: method.into(), ..post(path, body) };
    let response = h.handle(req);
    assert!(response.status < 500, "{response:?}");
    if response.status >= 400 {
        assert_eq!(h.fetches(), 0, "a refusal spent something: {response:?}");
        assert!(json_of(&response)["code"].is_string());
    }
    drop(response);
    h.runtime.run_background(&h.clock);
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(Into::into),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)),
        any::<i64>().prop_map(Into::into),
        ".*".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        ".*",
                        Just("chatId".to_string()),
                        Just("headStartMessages".to_string()),
                        Just("role".to_string()),
                        Just("parts".to_string()),
                        Just("type".to_string()),
                        Just("text".to_string())
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn any_message() -> impl Strategy<Value = serde_json::Value> {
    let role = prop_oneof![Just("user".to_string()), Just("assistant".to_string()), Just("system".to_string()), ".*"];
    let kind = prop_oneof![Just("text".to_string()), Just("reasoning".to_string()), ".*"];
    (role, ".*", ".*", kind)
        .prop_map(|(role, id, text, kind)| json!({ "id": id, "role": role, "parts": [{ "type": kind, "text": text }] }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_bytes_get_a_5xx(body in prop::collection::vec(any::<u8>(), 0..300),
                          path in prop_oneof![Just("/api/chat".to_string()), Just("/api/chat/start".to_string()), Just("/api/chat/token".to_string()), "/.*"],
                          method in prop_oneof![Just("POST".to_string()), Just("OPTIONS".to_string()), Just("GET".to_string()), "[A-Za-z]{0,8}", ".*"]) {
        check_any(&method, &path, body);
    }

    #[test]
    fn no_json_gets_a_5xx(value in any_json(), path in prop_oneof![Just("/api/chat"), Just("/api/chat/start"), Just("/api/chat/token"), Just("/api/chat/detached")]) {
        check_any("POST", path, value.to_string().into_bytes());
    }

    #[test]
    fn no_conversation_gets_a_5xx(chat_id in ".{0,300}", messages in prop::collection::vec(any_message(), 0..4),
                                  path in prop_oneof![Just("/api/chat"), Just("/api/chat/detached"), Just("/api/chat/start"), Just("/api/chat/token")]) {
        let body = json!({ "chatId": chat_id, "headStartMessages": messages, "clientData": { "ü": "\u{202e}" } });
        check_any("POST", path, body.to_string().into_bytes());
    }
}
