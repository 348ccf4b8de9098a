use serde_json::json;

use super::headers;
use crate::io::FetchError;
use crate::platform::client::*;
use crate::protocol::input::{ChatInput, HeadStartRequest};
use crate::protocol::record::{AppendInput, AppendRecord};
use crate::protocol::session::{handover_prepare_request, SessionOptions};
use crate::selfhost::Io;

fn client() -> PlatformClient {
    PlatformClient::new("https://api.trigger.dev/", "tr_dev_abc123")
}

fn pairs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

const COMMON: [(&str, &str); 6] = [
    ("Content-Type", "application/json"),
    ("Authorization", "Bearer tr_dev_abc123"),
    ("trigger-version", "4.8.3"),
    ("x-trigger-source", "sdk"),
    ("x-trigger-api-version", "2025-07-16"),
    ("x-trigger-realtime-streams-version", "v2"),
];

#[test]
fn base_url_loses_its_trailing_slashes() {
    assert_eq!(client().base_url, "https://api.trigger.dev");
    assert_eq!(PlatformClient::new("http://127.0.0.1:8787//", "k").base_url, "http://127.0.0.1:8787");
    assert_eq!(PlatformClient::new("http://h/base", "k").base_url, "http://h/base");
    assert_eq!(DEFAULT_BASE_URL, "https://api.trigger.dev");
}

#[test]
fn common_headers_are_byte_exact() {
    assert_eq!(pairs(&client().common_headers()), COMMON);
}

#[test]
fn debug_output_hides_secrets() {
    let shown = format!("{:?} {:?}", client(), creds(None));
    assert!(!shown.contains("tr_dev_abc123") && !shown.contains("\"tok\""), "{shown}");
    assert!(shown.contains("https://api.trigger.dev") && shown.contains("trigger-sessions"), "{shown}");
}

#[test]
fn create_session_posts_the_body() {
    let browser: HeadStartRequest = serde_json::from_value(json!({ "chatId": "chat_7f3c2a", "headStartMessages": [] })).unwrap();
    let body = handover_prepare_request(&browser, &SessionOptions { agent_id: "my-chat".into(), ..Default::default() });
    let req = client().create_session(&body);
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://api.trigger.dev/api/v1/sessions");
    assert_eq!(pairs(&req.headers), COMMON);
    assert_eq!(req.body, serde_json::to_string(&body).unwrap());
    assert!(req.body.starts_with(r#"{"type":"chat.agent","externalId":"chat_7f3c2a","taskIdentifier":"my-chat""#));
}

#[test]
fn init_stream_is_a_bodiless_put_on_the_encoded_key() {
    let req = client().init_stream("chat/1 ü", Io::Out);
    assert_eq!(req.method, "PUT");
    assert_eq!(req.url, "https://api.trigger.dev/realtime/v1/sessions/chat%2F1%20%C3%BC/out");
    assert_eq!(pairs(&req.headers), COMMON);
    assert_eq!(req.body, "");
    assert!(client().init_stream("c", Io::In).url.ends_with("/sessions/c/in"));
}

#[test]
fn append_input_sends_the_raw_chunk_and_part_id() {
    let req = client().append_input("chat_7f3c2a", &ChatInput::handover_skip(), "V1StGXR8_Z5jdHi6B-myT");
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://api.trigger.dev/realtime/v1/sessions/chat_7f3c2a/in/append");
    let mut want = COMMON.to_vec();
    want.push(("X-Part-Id", "V1StGXR8_Z5jdHi6B-myT"));
    assert_eq!(pairs(&req.headers), want);
    assert_eq!(req.body, r#"{"kind":"handover-skip"}"#);

    let handover = r#"{"kind":"handover","partialAssistantMessage":[{"role":"assistant","content":[{"type":"text","text":"Hi! How can I help you today?"}]}],"messageId":"Vb8kR2tLq0XmZ1aC","isFinal":true}"#;
    let input: ChatInput = serde_json::from_str(handover).unwrap();
    assert_eq!(client().append_input("c", &input, "p").body, handover, "the spec's example, byte for byte");
}

#[test]
fn subscribe_headers() {
    let req = client().subscribe("chat_7f3c2a", Io::Out, Some(9));
    assert_eq!(req.method, "GET");
    assert_eq!(req.url, "https://api.trigger.dev/realtime/v1/sessions/chat_7f3c2a/out");
    let mut want = vec![("Accept", "text/event-stream")];
    want.extend(COMMON);
    want.push(("Last-Event-ID", "9"));
    assert_eq!(pairs(&req.headers), want);
    assert_eq!(req.body, "");
    let fresh = client().subscribe("chat_7f3c2a", Io::Out, None);
    assert_eq!(pairs(&fresh.headers), want[..7]);
    for h in [&req.headers, &fresh.headers] {
        assert!(!h.iter().any(|(n, _)| n.eq_ignore_ascii_case("timeout-seconds") || n.eq_ignore_ascii_case("x-peek-settled")));
    }
}

#[test]
fn encode_uri_component_matches_javascript() {
    // Expected values are what `encodeURIComponent` returns in Node.
    let cases = [
        ("chat_7f3c2a", "chat_7f3c2a"),
        ("a b", "a%20b"),
        ("a/b", "a%2Fb"),
        ("/sessions/chat_7f3c2a/out", "%2Fsessions%2Fchat_7f3c2a%2Fout"),
        ("100%", "100%25"),
        ("%2F", "%252F"),
        ("!'()*~-_.", "!'()*~-_."),
        ("?#&=+,;:@$", "%3F%23%26%3D%2B%2C%3B%3A%40%24"),
        ("[]{}|\\^`\"<>", "%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E"),
        ("é", "%C3%A9"),
        ("日本", "%E6%97%A5%E6%9C%AC"),
        ("😀", "%F0%9F%98%80"),
        ("\n\t\u{0}\u{7f}", "%0A%09%00%7F"),
        ("\u{a0}", "%C2%A0"),
        ("AZaz09", "AZaz09"),
        ("", ""),
    ];
    for (input, want) in cases {
        assert_eq!(encode_uri_component(input), want, "{input:?}");
    }
}

fn created_json() -> serde_json::Value {
    json!({
        "id": "session_cm9x2plfh000abcd1efgh", "externalId": "chat_7f3c2a", "type": "chat.agent",
        "taskIdentifier": "my-chat", "currentRunId": "run_1", "tags": [], "metadata": null, "closedAt": null,
        "closedReason": null, "expiresAt": null, "createdAt": "2026-08-22T10:00:00.000Z",
        "updatedAt": "2026-08-22T10:00:00.000Z", "runId": "run_1", "publicAccessToken": "eyJhbGciOiJIUzI1NiJ9",
        "isCached": false, "pendingVersion": true
    })
}

#[test]
fn created_sessions_are_schema_checked() {
    let ok = parse_created(201, &[], &created_json().to_string()).unwrap();
    assert_eq!(ok.public_access_token, "eyJhbGciOiJIUzI1NiJ9");
    assert_eq!(ok.pending_version, Some(true));
    assert!(parse_created(200, &[], &created_json().to_string()).is_ok(), "cached");

    let mut bad = created_json();
    bad["isCached"] = json!("no");
    let err = parse_created(201, &[], &bad.to_string()).unwrap_err();
    assert_eq!((err.kind, err.status, err.retryable), (PlatformErrorKind::Schema, Some(201), false));
    assert!(err.message.starts_with("invalid response from POST /api/v1/sessions: "), "{}", err.message);
    let err = parse_created(201, &[], "not json").unwrap_err();
    assert_eq!(err.kind, PlatformErrorKind::Schema);
}

#[test]
fn create_errors_carry_status_message_and_retryability() {
    let err = parse_created(422, &[], r#"{"error":"externalId must not start with session_"}"#).unwrap_err();
    assert_eq!(err.kind, PlatformErrorKind::Status);
    assert_eq!(err.status, Some(422));
    assert_eq!(err.message, "422 externalId must not start with session_");
    assert!(!err.retryable);
    assert_eq!(err.to_string(), err.message);

    let err = parse_created(500, &[], r#"{"error":"Something went wrong"}"#).unwrap_err();
    assert!(err.retryable);
    let closed = r#"{"error":"Session is closed; use a different externalId"}"#;
    assert!(parse_created(409, &[], closed).unwrap_err().retryable, "zodfetch retries a bare 409");
    let err = parse_created(409, &headers(&[("x-should-retry", "false")]), closed).unwrap_err();
    assert_eq!((err.kind, err.retryable), (PlatformErrorKind::Status, false));
    assert_eq!(
        parse_created(413, &[], r#"{"error":"Request body too large"}"#).unwrap_err().message,
        "413 Request body too large"
    );
    assert_eq!(parse_created(502, &[], "<html>Bad gateway</html>\n").unwrap_err().message, "502 <html>Bad gateway</html>");
    assert_eq!(parse_created(503, &[], "").unwrap_err().message, "503 (no message)");
    assert_eq!(parse_created(401, &[], r#"{"message":"Invalid API key"}"#).unwrap_err().message, "401 Invalid API key");
    let long = "x".repeat(2000);
    assert_eq!(parse_created(500, &[], &long).unwrap_err().message.len(), 4 + 500);
}

#[test]
fn network_errors_are_retryable() {
    let err = PlatformError::network(&FetchError("connection refused".into()));
    assert_eq!((err.kind, err.status, err.retryable), (PlatformErrorKind::Network, None, true));
    assert_eq!(err.message, "Connection error: connection refused");
}

fn creds_headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h = headers(&[
        ("x-s2-access-token", "tok"),
        ("x-s2-basin", "trigger-sessions"),
        ("x-s2-stream-name", "/sessions/chat_7f3c2a/out"),
    ]);
    h.extend(headers(extra));
    h
}

#[test]
fn credentials_default_to_the_cloud_endpoint() {
    let c = parse_credentials(202, &creds_headers(&[]), r#"{"version":"v2"}"#).unwrap();
    assert_eq!(
        c,
        S2Credentials {
            access_token: "tok".into(),
            basin: "trigger-sessions".into(),
            stream_name: "/sessions/chat_7f3c2a/out".into(),
            endpoint: "https://trigger-sessions.b.s2.dev/v1".into(),
            endpoint_given: false,
            flush_interval_ms: 200,
            max_retries: None,
        }
    );
}

#[test]
fn credentials_with_an_endpoint() {
    let parse = |extra: &[(&str, &str)]| parse_credentials(202, &creds_headers(extra), r#"{"version":"v2"}"#).unwrap();
    let c =
        parse(&[("X-S2-Endpoint", "http://127.0.0.1:8787/s2/v1"), ("X-S2-Flush-Interval-Ms", "50"), ("X-S2-Max-Retries", "10")]);
    assert_eq!((c.endpoint.as_str(), c.endpoint_given), ("http://127.0.0.1:8787/s2/v1", true));
    assert_eq!((c.flush_interval_ms, c.max_retries), (50, Some(10)));
    let endpoint = |e: &str| parse(&[("x-s2-endpoint", e)]).endpoint;
    assert_eq!(endpoint("http://127.0.0.1:4566"), "http://127.0.0.1:4566/v1");
    assert_eq!(endpoint("https://s2.example.com/"), "https://s2.example.com/v1");
    assert_eq!(endpoint("https://s2.example.com/v1/"), "https://s2.example.com/v1");
    assert_eq!(endpoint("https://s2.example.com/custom/v1"), "https://s2.example.com/custom/v1");
    // Flush interval: 0 is a valid linger; junk means the default.
    let flush = |v: &str| parse(&[("x-s2-flush-interval-ms", v)]).flush_interval_ms;
    assert_eq!((flush("0"), flush("150ms"), flush("abc"), flush("-5"), flush("")), (0, 150, 200, 200, 200));
}

#[test]
fn missing_credentials_say_so() {
    for missing in ["x-s2-access-token", "x-s2-basin", "x-s2-stream-name"] {
        let mut h = creds_headers(&[]);
        h.retain(|(n, _)| n != missing);
        let err = parse_credentials(202, &h, r#"{"version":"v2"}"#).unwrap_err();
        assert_eq!(err.kind, PlatformErrorKind::MissingCredentials, "{missing}");
        assert_eq!(err.message, "Session stream initialize did not return S2 credentials — server may be configured for v1 realtime streams, which sessions do not support.");
        assert!(!err.retryable);
    }
    // An empty value is as good as none (the SDK tests truthiness).
    let empty = headers(&[("x-s2-access-token", ""), ("x-s2-basin", "trigger-sessions"), ("x-s2-stream-name", "s")]);
    assert_eq!(parse_credentials(202, &empty, r#"{"version":"v2"}"#).unwrap_err().kind, PlatformErrorKind::MissingCredentials);
    // A body without a string `version` fails the schema first.
    for body in ["", "{}", r#"{"version":2}"#, "[]"] {
        assert_eq!(parse_credentials(202, &creds_headers(&[]), body).unwrap_err().kind, PlatformErrorKind::Schema, "{body}");
    }
    let err = parse_credentials(403, &[], r#"{"error":"Forbidden"}"#).unwrap_err();
    assert_eq!((err.kind, err.status, err.retryable), (PlatformErrorKind::Status, Some(403), false));
    assert!(parse_credentials(501, &[], "{}").unwrap_err().retryable);
}

#[test]
fn basin_names_are_validated() {
    for ok in ["headstart", "trigger-sessions", "a1234567", &"a".repeat(48), "0-------0"] {
        assert!(is_valid_basin(ok), "{ok}");
    }
    for bad in
        ["short", "a123456", &"a".repeat(49), "-leading1", "trailing-", "Upper-case", "under_score", "dot.ted1", "ünicode1"]
    {
        assert!(!is_valid_basin(bad), "{bad}");
        let h = headers(&[("x-s2-access-token", "t"), ("x-s2-basin", bad), ("x-s2-stream-name", "s")]);
        assert_eq!(parse_credentials(202, &h, r#"{"version":"v2"}"#).unwrap_err().kind, PlatformErrorKind::InvalidBasin);
    }
}

fn creds(endpoint: Option<&str>) -> S2Credentials {
    let mut extra = vec![];
    if let Some(e) = endpoint {
        extra.push(("x-s2-endpoint", e));
    }
    parse_credentials(202, &creds_headers(&extra), r#"{"version":"v2"}"#).unwrap()
}

#[test]
fn s2_appends_are_json_on_the_encoded_stream() {
    let input = AppendInput {
        records: vec![
            AppendRecord::data(r#"{"data":{"type":"start","messageId":"Vb8kR2tLq0XmZ1aC"},"id":"x7Gq2Lp"}"#.into()),
            AppendRecord::data(r#"{"data":{"type":"start-step"},"id":"3HkQ0aa"}"#.into()),
        ],
        ..Default::default()
    };
    let req = s2_append(&creds(None), &input);
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://trigger-sessions.b.s2.dev/v1/streams/%2Fsessions%2Fchat_7f3c2a%2Fout/records");
    assert_eq!(pairs(&req.headers), [("Authorization", "Bearer tok"), ("Content-Type", "application/json")]);
    assert_eq!(
        req.body,
        r#"{"records":[{"body":"{\"data\":{\"type\":\"start\",\"messageId\":\"Vb8kR2tLq0XmZ1aC\"},\"id\":\"x7Gq2Lp\"}"},{"body":"{\"data\":{\"type\":\"start-step\"},\"id\":\"3HkQ0aa\"}"}]}"#
    );
    let local = s2_append(&creds(Some("http://127.0.0.1:4566/v1")), &input);
    assert_eq!(local.url, "http://127.0.0.1:4566/v1/streams/%2Fsessions%2Fchat_7f3c2a%2Fout/records");
    assert_eq!(
        pairs(&local.headers),
        [("Authorization", "Bearer tok"), ("Content-Type", "application/json"), ("s2-basin", "trigger-sessions")]
    );
}

#[test]
fn acks_are_parsed_and_checked() {
    let body = r#"{"start":{"seq_num":0,"timestamp":1755856800000},"end":{"seq_num":2,"timestamp":1755856800001},"tail":{"seq_num":2,"timestamp":1755856800001}}"#;
    let ack = parse_ack(200, &[], body).unwrap();
    assert_eq!((ack.start.seq_num, ack.end.seq_num, ack.last_seq()), (0, 2, Some(1)));
    let backwards =
        r#"{"start":{"seq_num":5,"timestamp":0},"end":{"seq_num":2,"timestamp":0},"tail":{"seq_num":2,"timestamp":0}}"#;
    assert_eq!(parse_ack(200, &[], backwards).unwrap_err().kind, PlatformErrorKind::Schema);
    assert_eq!(parse_ack(200, &[], r#"{"start":{"seq_num":0}}"#).unwrap_err().kind, PlatformErrorKind::Schema);
    let err = parse_ack(503, &[], r#"{"message":"unavailable","code":"unavailable"}"#).unwrap_err();
    assert_eq!((err.message.as_str(), err.retryable), ("503 unavailable", true));
    let err = parse_ack(412, &[], r#"{"message":"fencing token mismatch","code":"fencing_token_mismatch"}"#).unwrap_err();
    assert!(!err.retryable);
    // S2's policy ignores x-should-retry and does not retry a 409.
    assert!(!parse_ack(409, &headers(&[("x-should-retry", "true")]), "{}").unwrap_err().retryable);
}

#[test]
fn in_appends_parse_ok_and_seq() {
    let a = parse_append(200, &[], r#"{"ok":true,"seq":0}"#).unwrap();
    assert_eq!((a.ok, a.seq), (true, Some(0)));
    let dup = parse_append(200, &[], r#"{"ok":true}"#).unwrap();
    assert_eq!(dup.seq, None, "a duplicate part id");
    assert!(!parse_append(200, &[], r#"{"ok":false,"message":"hm"}"#).unwrap().ok, "returned as is");
    for body in [r#"{"seq":3}"#, r#"{"ok":"yes"}"#, "ok", ""] {
        assert_eq!(parse_append(200, &[], body).unwrap_err().kind, PlatformErrorKind::Schema, "{body}");
    }
}

#[test]
fn a_closed_session_is_its_own_error() {
    let body =
        r#"{"ok":false,"error":"Cannot append to a closed session","code":"session_closed","closedReason":"user ended chat"}"#;
    let err = parse_append(409, &[], body).unwrap_err();
    assert_eq!(err.kind, PlatformErrorKind::SessionClosed { reason: Some("user ended chat".into()) });
    assert_eq!(err.message, "409 Cannot append to a closed session");
    assert!(!err.retryable, "never retried, whatever the headers say");
    let err =
        parse_append(409, &headers(&[("x-should-retry", "true")]), &body.replace(r#""user ended chat""#, "null")).unwrap_err();
    assert_eq!((err.kind, err.retryable), (PlatformErrorKind::SessionClosed { reason: None }, false));
    // The older platform's 400, or a 409 without the code, is a plain status.
    let err = parse_append(409, &[], r#"{"error":"conflict"}"#).unwrap_err();
    assert_eq!((err.kind, err.retryable), (PlatformErrorKind::Status, true));
    assert!(!parse_append(400, &[], r#"{"error":"Session is closed"}"#).unwrap_err().retryable);
    assert!(!parse_append(413, &[], r#"{"error":"Request body too large"}"#).unwrap_err().retryable);
    assert!(parse_append(500, &[], "{}").unwrap_err().retryable);
}

#[test]
fn subscriptions_need_stream_version_v2() {
    assert_eq!(check_subscription(200, &headers(&[("X-Stream-Version", "v2")])), Ok(()));
    assert_eq!(check_subscription(200, &headers(&[("x-stream-version", "v2")])), Ok(()));
    for h in [headers(&[]), headers(&[("x-stream-version", "v1")])] {
        let err = check_subscription(200, &h).unwrap_err();
        assert_eq!((err.kind, err.retryable), (PlatformErrorKind::StreamVersion, false));
        assert!(err.message.contains("X-Stream-Version: v2"), "{}", err.message);
    }
    for (status, retryable) in [
        (400, false),
        (401, false),
        (403, false),
        (404, false),
        (410, false),
        (422, false),
        (500, true),
        (429, true),
        (408, true),
    ] {
        let err = check_subscription(status, &headers(&[("x-stream-version", "v2")])).unwrap_err();
        assert_eq!((err.kind, err.status, err.retryable), (PlatformErrorKind::Status, Some(status), retryable));
        assert_eq!(err.message, format!("{status} Could not subscribe to stream"));
    }
}

#[test]
fn a_stop_on_in_is_found_in_its_records() {
    use crate::platform::client::parse_stop_requested;
    let records = |data: serde_json::Value| {
        serde_json::json!({ "records": [{ "data": data, "id": "a", "seqNum": 0, "headers": [] }] }).to_string()
    };
    assert_eq!(parse_stop_requested(200, &[], &records(r#"{"kind":"stop"}"#.into())), Ok(true));
    assert_eq!(parse_stop_requested(200, &[], &records(serde_json::json!({ "kind": "stop" }))), Ok(true));
    assert_eq!(parse_stop_requested(200, &[], &records(r#"{"kind":"handover-skip"}"#.into())), Ok(false));
    assert_eq!(parse_stop_requested(200, &[], r#"{"records":[]}"#), Ok(false));
    assert_eq!(parse_stop_requested(200, &[], &records("not json".into())), Ok(false));
    assert!(parse_stop_requested(403, &[], r#"{"error":"reading the in channel needs the secret key"}"#).is_err());
    assert!(parse_stop_requested(200, &[], "<html>").is_err());
}
