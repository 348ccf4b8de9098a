use crate::selfhost::route::*;
use crate::selfhost::Io;

fn ext(k: &str) -> SessionKey {
    SessionKey::External(k.into())
}

#[test]
fn every_route_parses() {
    let cases = [
        ("POST", "/api/v1/sessions", Route::CreateSession),
        ("PUT", "/realtime/v1/sessions/chat_1/out", Route::InitStream { key: ext("chat_1"), io: Io::Out }),
        ("PUT", "/realtime/v1/sessions/chat_1/in", Route::InitStream { key: ext("chat_1"), io: Io::In }),
        ("POST", "/realtime/v1/sessions/chat_1/in/append", Route::Append { key: ext("chat_1"), io: Io::In }),
        ("POST", "/realtime/v1/sessions/chat_1/out/append", Route::Append { key: ext("chat_1"), io: Io::Out }),
        ("GET", "/realtime/v1/sessions/chat_1/out", Route::Read { key: ext("chat_1"), io: Io::Out }),
        ("GET", "/realtime/v1/sessions/chat_1/in/records", Route::ReadRecords { key: ext("chat_1"), io: Io::In }),
        (
            "GET",
            "/realtime/v1/sessions/chat_1/out/records?afterEventId=4",
            Route::ReadRecords { key: ext("chat_1"), io: Io::Out },
        ),
        ("POST", "/s2/v1/streams/sessions%2Fchat_1%2Fout/records", Route::S2Append { key: ext("chat_1"), io: Io::Out }),
        ("POST", "/s2/v1/streams/%2Fsessions%2Fchat_1%2Fin/records", Route::S2Append { key: ext("chat_1"), io: Io::In }),
        ("GET", "/api/chats/chat_1/messages", Route::ChatMessages { chat_id: ext("chat_1") }),
        ("OPTIONS", "/realtime/v1/sessions/chat_1/in/append", Route::Preflight),
        ("OPTIONS", "/anything/at/all", Route::Preflight),
    ];
    for (method, path, want) in cases {
        assert_eq!(parse(method, path), Ok(want), "{method} {path}");
    }
}

#[test]
fn keys_are_percent_decoded_and_classified() {
    let read = |path: &str| match parse("GET", path) {
        Ok(Route::Read { key, .. }) => key,
        other => panic!("{path}: {other:?}"),
    };
    // encodeURIComponent of "chat/1 ü?#&"
    assert_eq!(read("/realtime/v1/sessions/chat%2F1%20%C3%BC%3F%23%26/out"), ext("chat/1 ü?#&"));
    assert_eq!(read("/realtime/v1/sessions/chat%2f1/out"), ext("chat/1"), "lower-case hex");
    assert_eq!(read("/realtime/v1/sessions/a%252Fb/out"), ext("a%2Fb"), "decoded once");
    assert_eq!(read("/realtime/v1/sessions/a+b/out"), ext("a+b"));
    assert_eq!(
        read("/realtime/v1/sessions/session_cm9x2plfh000abcd1efgh/out"),
        SessionKey::Friendly("session_cm9x2plfh000abcd1efgh".into())
    );
    assert!(read("/realtime/v1/sessions/session%5Fx/out").is_friendly());
    assert!(!read("/realtime/v1/sessions/sessions_x/out").is_friendly());
    assert_eq!(read("/realtime/v1/sessions/chat_1/out").as_str(), "chat_1");
    // A raw slash is a path separator, not part of the key.
    assert_eq!(parse("GET", "/realtime/v1/sessions/chat/1/out"), Err(RouteError::NotFound));
    assert_eq!(
        parse("GET", "/realtime/v1/sessions/chat/in/records").unwrap(),
        Route::ReadRecords { key: ext("chat"), io: Io::In }
    );
}

#[test]
fn s2_stream_names_round_trip() {
    for key in ["chat_1", "a/b", "in/out", "x%y", "sessions/z", "team/42 é?#%", "✓%41"] {
        for io in [Io::In, Io::Out] {
            let name = s2_stream_name(key, io);
            let encoded: String = name
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let path = format!("{S2_ENDPOINT_PATH}/streams/{encoded}/records");
            assert_eq!(parse("POST", &path), Ok(Route::S2Append { key: ext(key), io }), "{path}");
        }
    }
    assert_eq!(s2_stream_name("chat_1", Io::Out), "sessions/chat_1/out");
    // A header value: printable ASCII only, so clients cannot mangle it.
    assert_eq!(s2_stream_name("a é%/b", Io::In), "sessions/a %C3%A9%25/b/in");
    for bad in ["runs%2Fr%2Fout", "sessions%2Fchat_1%2Fmiddle", "sessions%2F%2Fout", "sessions%2Fout", "sessions"] {
        let path = format!("/s2/v1/streams/{bad}/records");
        assert_eq!(parse("POST", &path), Err(RouteError::NotFound), "{bad}");
    }
}

#[test]
fn errors_have_statuses() {
    assert_eq!(parse("GET", "/"), Err(RouteError::NotFound));
    assert_eq!(parse("GET", "api/v1/sessions"), Err(RouteError::NotFound));
    assert_eq!(parse("GET", "/realtime/v1/sessions/chat_1/both"), Err(RouteError::NotFound));
    assert_eq!(parse("GET", "/realtime/v1/sessions//out"), Err(RouteError::NotFound));
    assert_eq!(parse("GET", "/realtime/v1/sessions/chat_1/out/"), Err(RouteError::NotFound));
    let err = parse("GET", "/api/v1/sessions").unwrap_err();
    assert_eq!(err, RouteError::MethodNotAllowed { allow: "POST, OPTIONS" });
    let resp = err.response();
    assert_eq!(resp.status, 405);
    assert!(resp.headers.contains(&("Allow", "POST, OPTIONS".into())));
    assert_eq!(parse("DELETE", "/realtime/v1/sessions/c/out").unwrap_err().status(), 405);
    assert_eq!(parse("GET", "/realtime/v1/sessions/c/in/append").unwrap_err().status(), 405);
    assert_eq!(parse("POST", "/realtime/v1/sessions/c/in/records").unwrap_err().status(), 405);
    assert_eq!(parse("GET", "/s2/v1/streams/sessions%2Fc%2Fout/records").unwrap_err().status(), 405);
    assert_eq!(parse("post", "/api/v1/sessions").unwrap_err().status(), 405, "methods are case-sensitive");
    for bad in ["%", "%2", "%zz", "%C3", "%FF"] {
        let err = parse("GET", &format!("/realtime/v1/sessions/{bad}/out")).unwrap_err();
        assert!(matches!(err, RouteError::BadRequest(_)), "{bad}: {err:?}");
        assert_eq!(err.status(), 400);
    }
    let long = "x".repeat(257);
    assert_eq!(parse("GET", &format!("/realtime/v1/sessions/{long}/out")).unwrap_err().status(), 400);
    assert!(parse("GET", &format!("/realtime/v1/sessions/{}/out", "ü".repeat(256))).is_ok());
}

#[test]
fn percent_decode_edge_cases() {
    assert_eq!(percent_decode(""), Ok(String::new()));
    assert_eq!(percent_decode("%41%62c"), Ok("Abc".into()));
    assert_eq!(percent_decode("%E2%9C%93"), Ok("✓".into()));
    assert_eq!(percent_decode("%00"), Ok("\0".into()));
    assert!(percent_decode("%+1").is_err());
    assert!(percent_decode("%-1").is_err());
}

#[test]
fn session_retrieve_and_close_routes() {
    assert_eq!(parse("GET", "/api/v1/sessions/chat%2F1"), Ok(Route::RetrieveSession { key: ext("chat/1") }));
    assert_eq!(parse("POST", "/api/v1/sessions/chat_1/close"), Ok(Route::CloseSession { key: ext("chat_1") }));
    assert!(matches!(parse("DELETE", "/api/v1/sessions/chat_1"), Err(RouteError::MethodNotAllowed { .. })));
    assert!(matches!(parse("GET", "/api/v1/sessions/chat_1/close"), Err(RouteError::MethodNotAllowed { .. })));
}
