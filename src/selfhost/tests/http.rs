use serde_json::{json, Value};

use crate::selfhost::http::*;

fn header<'a>(h: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn body(r: &ErrorResponse) -> Value {
    serde_json::from_str(&r.body).unwrap()
}

#[test]
fn last_event_id_to_start_seq() {
    let cases: [(Option<&str>, u64); 12] = [
        (None, 0),
        (Some(""), 0),
        (Some("0"), 1),
        (Some("9"), 10),
        (Some(" 20 "), 21),
        (Some("12-3"), 13),
        (Some("12-abc-4"), 13),
        (Some("12,3,1044"), 0),
        (Some("-5"), 0),
        (Some("+5"), 0),
        (Some("abc"), 0),
        (Some("18446744073709551615"), u64::MAX),
    ];
    for (h, want) in cases {
        assert_eq!(last_event_id_start(h), want, "{h:?}");
    }
    assert_eq!(last_event_id_start(Some("18446744073709551616")), 0, "overflow is not a number");
}

#[test]
fn timeout_seconds_range() {
    assert_eq!(timeout_seconds(None), Ok(60));
    assert_eq!(timeout_seconds(Some("1")), Ok(1));
    assert_eq!(timeout_seconds(Some("120")), Ok(120));
    assert_eq!(timeout_seconds(Some("600")), Ok(600));
    for bad in ["0", "601", "", "-1", "1.5", "abc", "99999999999", "+60"] {
        let err = timeout_seconds(Some(bad)).unwrap_err();
        assert_eq!(err.status(), 400, "{bad}");
        let r = err.response();
        assert_eq!(r.status, 400);
        assert_eq!(body(&r)["code"], "invalid_header");
        assert!(body(&r)["error"].as_str().unwrap().contains("Timeout-Seconds"));
    }
}

#[test]
fn peek_settled_stream_start_and_part_ids() {
    assert!(peek_settled(Some("1")) && peek_settled(Some("true")) && peek_settled(Some("TRUE")));
    assert!(!peek_settled(None) && !peek_settled(Some("0")) && !peek_settled(Some("yes")));
    assert!(stream_start_latest(Some("latest")) && !stream_start_latest(Some("earliest")) && !stream_start_latest(None));

    assert_eq!(part_id(None), Ok(None));
    assert_eq!(part_id(Some("  ")), Ok(None));
    assert_eq!(part_id(Some("V1StGXR8_Z5jdHi6B-myT")), Ok(Some("V1StGXR8_Z5jdHi6B-myT")));
    assert_eq!(part_id(Some("3b1f0c1e-8d1a-4a6e-9a51-0c2d4f1b7e20")), Ok(Some("3b1f0c1e-8d1a-4a6e-9a51-0c2d4f1b7e20")));
    let max = "a".repeat(PART_ID_MAX);
    assert_eq!(part_id(Some(&max)), Ok(Some(max.as_str())));
    assert_eq!(part_id(Some("a b~")), Ok(Some("a b~")));
    for bad in ["a".repeat(PART_ID_MAX + 1), "ü".into(), "a\tb".into(), "a\u{7f}".into()] {
        assert_eq!(part_id(Some(&bad)).unwrap_err().status(), 400, "{bad:?}");
    }
}

#[test]
fn cors_for_actual_responses() {
    let h = cors_headers(Some("https://app.example"));
    assert_eq!(header(&h, "Access-Control-Allow-Origin"), Some("https://app.example"));
    assert_eq!(header(&h, "Vary"), Some("Origin"));
    let expose = header(&h, "Access-Control-Expose-Headers").unwrap();
    assert!(expose.starts_with("*, "));
    for name in [
        "X-Stream-Version",
        "X-Session-Settled",
        "X-Trigger-Chat-Access-Token",
        "X-Trigger-Chat-Pending-Version",
        "X-S2-Access-Token",
        "X-S2-Basin",
        "X-S2-Stream-Name",
        "X-S2-Endpoint",
        "Last-Event-ID",
    ] {
        assert!(expose.split(", ").any(|n| n == name), "{name}");
    }
    let h = cors_headers(None);
    assert_eq!(header(&h, "Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(header(&h, "Vary"), None);
    assert_eq!(header(&cors_headers(Some("")), "Access-Control-Allow-Origin"), Some("*"));

    assert!(origin_allowed(Some("https://x"), &[]));
    assert!(origin_allowed(None, &[]));
    assert!(origin_allowed(Some("https://x"), &["https://x"]));
    assert!(!origin_allowed(Some("https://x.evil"), &["https://x"]));
    assert!(!origin_allowed(None, &["https://x"]));
}

#[test]
fn cors_preflight() {
    let h = preflight_headers(
        Some("http://localhost:3000"),
        Some("authorization, content-type, x-part-id, x-my-app, bad header, , x-my-app"),
    );
    assert_eq!(header(&h, "Access-Control-Allow-Origin"), Some("http://localhost:3000"));
    assert_eq!(header(&h, "Access-Control-Allow-Methods"), Some("GET, POST, PUT, OPTIONS"));
    assert_eq!(header(&h, "Access-Control-Max-Age"), Some("86400"));
    let allow: Vec<&str> = header(&h, "Access-Control-Allow-Headers").unwrap().split(", ").collect();
    for name in
        ["Authorization", "Content-Type", "X-Part-Id", "x-trigger-source", "Last-Event-ID", "Timeout-Seconds", "X-Peek-Settled"]
    {
        assert!(allow.contains(&name), "{name}");
    }
    assert_eq!(allow.iter().filter(|n| n.eq_ignore_ascii_case("x-my-app")).count(), 1, "extra header echoed once");
    assert_eq!(allow.iter().filter(|n| n.eq_ignore_ascii_case("authorization")).count(), 1);
    assert!(!allow.contains(&"bad header"));
    assert!(header(&preflight_headers(None, None), "Access-Control-Allow-Headers").is_some());
}

#[test]
fn error_bodies_match_the_spec() {
    let r = too_large();
    assert_eq!((r.status, r.body.as_str()), (413, r#"{"error":"Request body too large"}"#));
    assert!(r.headers.is_empty());
    let r = session_closed(Some("user ended chat"));
    assert_eq!(r.status, 409);
    assert_eq!(
        r.body,
        r#"{"ok":false,"error":"Cannot append to a closed session","code":"session_closed","closedReason":"user ended chat"}"#
    );
    assert_eq!(header(&r.headers, "x-should-retry"), Some("false"));
    assert_eq!(body(&session_closed(None))["closedReason"], Value::Null);
    let r = error_body(422, "bad", Some("invalid"));
    assert_eq!(body(&r), json!({ "error": "bad", "code": "invalid" }));
    assert_eq!(body(&error_body(500, "Something went wrong", None)), json!({ "error": "Something went wrong" }));
    assert_eq!(
        body(&s2_error(412, "mismatch", "seq_num_mismatch")),
        json!({ "message": "mismatch", "code": "seq_num_mismatch" })
    );
}

#[test]
fn content_length_is_required_and_capped() {
    assert!(content_length_ok(Some("32768"), 32 * 1024));
    assert!(!content_length_ok(Some("32769"), 32 * 1024));
    assert!(content_length_ok(Some("0"), 10));
    assert!(!content_length_ok(None, 10));
    assert!(!content_length_ok(Some("-1"), 10));
    assert!(!content_length_ok(Some("ten"), 10));
}
