use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::selfhost::auth::*;
use crate::selfhost::Io;

const KEY: &[u8] = b"signing-key-for-tests";
const SECRET: &str = "tr_dev_secret123";
const NOW: u64 = 1_755_856_800;

fn session(key: &str) -> Credential {
    let token = mint_session_token(KEY, "env_1", key, NOW);
    authenticate(Some(&format!("Bearer {token}")), SECRET, KEY, NOW).unwrap()
}

fn decode_json(part: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn minted_token_has_the_platform_shape() {
    let token = mint_session_token(KEY, "env_1", "chat_7f3c2a", NOW);
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(!token.contains('='), "base64url without padding");
    assert_eq!(decode_json(parts[0]), serde_json::json!({"alg":"HS256","typ":"JWT"}));
    assert_eq!(
        decode_json(parts[1]),
        serde_json::json!({
            "sub": "env_1", "iss": "https://id.trigger.dev", "aud": "https://api.trigger.dev", "pub": true,
            "scopes": ["read:sessions:chat_7f3c2a", "write:sessions:chat_7f3c2a"],
            "iat": NOW, "exp": NOW + 3600
        })
    );
    let claims = verify(KEY, &token, NOW).unwrap();
    assert_eq!(claims.sub, "env_1");
    assert_eq!(claims.exp, NOW + 3600);
}

#[test]
fn known_answer_tokens() {
    // Made independently with Python's hmac/hashlib (key `k`).
    let python = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlbnZfMSIsImlzcyI6Imh0dHBzOi8vaWQudHJpZ2dlci5kZXYiLCJhdWQiOiJodHRwczovL2FwaS50cmlnZ2VyLmRldiIsInB1YiI6dHJ1ZSwic2NvcGVzIjpbInJlYWQ6c2Vzc2lvbnM6Y2hhdC8xIiwid3JpdGU6c2Vzc2lvbnM6Y2hhdC8xIl0sImlhdCI6MTc1NTg1NjgwMCwiZXhwIjoxNzU1ODYwNDAwfQ.9robBDXsODdWZdmpUX6F_NlmDcevM0qKKfPc9ZEA92M";
    assert_eq!(mint_session_token(b"k", "env_1", "chat/1", NOW), python);
    assert_eq!(verify(b"k", python, NOW).unwrap().scopes, ["read:sessions:chat/1", "write:sessions:chat/1"]);
    // jwt.io's example: the signature checks out, the claims are not ours.
    let jwt_io = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    assert_eq!(verify(b"your-256-bit-secret", jwt_io, NOW), Err(AuthError::BadClaims("malformed")));
    assert_eq!(verify(b"your-256-bit-secreT", jwt_io, NOW), Err(AuthError::BadSignature));
}

/// HMAC-SHA256 written out from its definition on top of `sha2`, to sign
/// hand-made tokens.
fn hmac_sha256_b64(key: &[u8], msg: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let inner = Sha256::new().chain_update(k.map(|b| b ^ 0x36)).chain_update(msg).finalize();
    let outer = Sha256::new().chain_update(k.map(|b| b ^ 0x5c)).chain_update(inner).finalize();
    URL_SAFE_NO_PAD.encode(outer)
}

#[test]
fn verify_rejects_tampering_expiry_and_other_algorithms() {
    let token = mint_session_token(KEY, "env_1", "chat", NOW);
    assert_eq!(verify(b"other-key", &token, NOW), Err(AuthError::BadSignature));
    // Expires exactly at exp.
    assert!(verify(KEY, &token, NOW + 3599).is_ok());
    assert_eq!(verify(KEY, &token, NOW + 3600), Err(AuthError::Expired));

    let parts: Vec<&str> = token.split('.').collect();
    // Scopes widened by the holder: the signature no longer matches.
    let mut claims = decode_json(parts[1]);
    claims["scopes"] = serde_json::json!(["read:sessions", "write:sessions"]);
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
    assert_eq!(verify(KEY, &forged, NOW), Err(AuthError::BadSignature));
    // alg:none and RS256 are refused before any signature check.
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
    assert_eq!(verify(KEY, &format!("{none}.{}.", parts[1]), NOW), Err(AuthError::WrongAlg("none".into())));
    let rs = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    assert_eq!(verify(KEY, &format!("{rs}.{}.{}", parts[1], parts[2]), NOW), Err(AuthError::WrongAlg("RS256".into())));
    // A jose-style header without typ is fine.
    let bare = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
    let input = format!("{bare}.{}", parts[1]);
    let resigned = format!("{input}.{}", hmac_sha256_b64(KEY, input.as_bytes()));
    assert!(verify(KEY, &resigned, NOW).is_ok());

    for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!", &format!("{}.e30.{}", parts[0], parts[2])] {
        assert!(matches!(verify(KEY, bad, NOW), Err(AuthError::BadFormat | AuthError::BadSignature)), "{bad}");
    }
}

#[test]
fn verify_checks_issuer_audience_and_pub() {
    let base = Claims {
        sub: "env".into(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        public: true,
        scopes: vec!["read:sessions:c".into()],
        iat: NOW,
        exp: NOW + 10,
    };
    assert!(verify(KEY, &sign(KEY, &base), NOW).is_ok());
    let with = |f: fn(&mut Claims)| {
        let mut c = base.clone();
        f(&mut c);
        verify(KEY, &sign(KEY, &c), NOW)
    };
    assert_eq!(with(|c| c.iss = "https://evil".into()), Err(AuthError::BadClaims("issuer")));
    assert_eq!(with(|c| c.aud = "https://other".into()), Err(AuthError::BadClaims("audience")));
    assert_eq!(with(|c| c.public = false), Err(AuthError::BadClaims("not a public access token")));
}

#[test]
fn authenticate_secret_and_tokens() {
    assert_eq!(authenticate(Some("Bearer tr_dev_secret123"), SECRET, KEY, NOW), Ok(Credential::Secret));
    assert_eq!(authenticate(Some("bearer  tr_dev_secret123 "), SECRET, KEY, NOW), Ok(Credential::Secret));
    assert!(matches!(session("chat"), Credential::Session(_)));
    let cases: [(Option<&str>, AuthError); 7] = [
        (None, AuthError::Missing),
        (Some(""), AuthError::Missing),
        (Some("tr_dev_secret123"), AuthError::NotBearer),
        (Some("Basic dXNlcjpwYXNz"), AuthError::NotBearer),
        (Some("Bearer "), AuthError::NotBearer),
        (Some("Bearer tr_dev_secret12"), AuthError::BadFormat),
        (Some("Bearer tr_dev_secret1234"), AuthError::BadFormat),
    ];
    for (header, want) in cases {
        let got = authenticate(header, SECRET, KEY, NOW).unwrap_err();
        assert_eq!(got.status(), 401, "{header:?}");
        assert_eq!(got, want, "{header:?}");
    }
    // An unset secret key never matches, not even an empty bearer.
    assert!(authenticate(Some("Bearer x"), "", KEY, NOW).is_err());
    let expired = mint_session_token(KEY, "env", "chat", NOW - 3600);
    assert_eq!(authenticate(Some(&format!("Bearer {expired}")), SECRET, KEY, NOW), Err(AuthError::Expired));
}

#[test]
fn secret_key_may_do_everything() {
    for io in [Io::In, Io::Out] {
        for op in [
            Op::InitStream { key: "k", io },
            Op::Append { key: "k", io },
            Op::Read { key: "k", io },
            Op::ReadRecords { key: "k", io },
        ] {
            assert_eq!(authorize(&Credential::Secret, op), Ok(()));
        }
    }
    assert_eq!(authorize(&Credential::Secret, Op::CreateSession { task_identifier: "t" }), Ok(()));
    assert_eq!(authorize(&Credential::Secret, Op::ChatMessages { key: "k" }), Ok(()));
}

#[test]
fn session_token_reads_its_chat_out_and_writes_only_in() {
    let cred = session("chat_1");
    assert_eq!(authorize(&cred, Op::Append { key: "chat_1", io: Io::In }), Ok(()));
    assert_eq!(authorize(&cred, Op::InitStream { key: "chat_1", io: Io::In }), Ok(()));
    assert_eq!(authorize(&cred, Op::Read { key: "chat_1", io: Io::Out }), Ok(()));
    assert_eq!(authorize(&cred, Op::ReadRecords { key: "chat_1", io: Io::Out }), Ok(()));
    // `.in` is the agent's to read (the hosted platform since 4.6).
    assert_eq!(authorize(&cred, Op::Read { key: "chat_1", io: Io::In }).unwrap_err().status(), 403);
    assert_eq!(authorize(&cred, Op::ReadRecords { key: "chat_1", io: Io::In }).unwrap_err().status(), 403);
    assert_eq!(authorize(&Credential::Secret, Op::Read { key: "chat_1", io: Io::In }), Ok(()));
    assert_eq!(authorize(&cred, Op::ChatMessages { key: "chat_1" }), Ok(()));
    for op in [
        Op::Append { key: "chat_1", io: Io::Out },
        Op::InitStream { key: "chat_1", io: Io::Out },
        Op::CreateSession { task_identifier: "my-chat" },
    ] {
        let err = authorize(&cred, op).unwrap_err();
        assert_eq!(err.status(), 403, "{op:?}");
    }
}

#[test]
fn a_token_for_one_chat_never_authorizes_another() {
    let keys = ["chat_1", "chat_10", "chat_", "chat", "a/b", "a%2Fb", "a", "a b", "ümlaut/ü", "x:y", "x", "CHAT_1"];
    for owner in keys {
        let cred = session(owner);
        for target in keys {
            let same = owner == target;
            assert_eq!(authorize(&cred, Op::Read { key: target, io: Io::Out }).is_ok(), same, "{owner} -> {target}");
            assert_eq!(authorize(&cred, Op::ReadRecords { key: target, io: Io::Out }).is_ok(), same);
            assert_eq!(authorize(&cred, Op::Append { key: target, io: Io::In }).is_ok(), same);
            assert_eq!(authorize(&cred, Op::InitStream { key: target, io: Io::In }).is_ok(), same);
            assert_eq!(authorize(&cred, Op::ChatMessages { key: target }).is_ok(), same);
        }
    }
    // `x:y` scopes must not read as a scope on `x` with extra parts.
    assert!(authorize(&session("x:y"), Op::Read { key: "x", io: Io::Out }).is_err());
}

#[test]
fn read_only_and_type_level_scopes() {
    let claims = |scopes: &[&str]| {
        Credential::Session(Claims {
            sub: "env".into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            public: true,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            iat: NOW,
            exp: NOW + 60,
        })
    };
    let read_only = claims(&["read:sessions:c"]);
    assert!(authorize(&read_only, Op::Read { key: "c", io: Io::Out }).is_ok());
    assert!(authorize(&read_only, Op::Append { key: "c", io: Io::In }).is_err());
    let write_only = claims(&["write:sessions:c"]);
    assert!(authorize(&write_only, Op::Read { key: "c", io: Io::Out }).is_err());
    assert!(authorize(&write_only, Op::Append { key: "c", io: Io::In }).is_ok());

    let creator = claims(&["write:sessions"]);
    assert!(authorize(&creator, Op::CreateSession { task_identifier: "t" }).is_ok());
    assert!(authorize(&creator, Op::Append { key: "any", io: Io::In }).is_ok());
    assert!(authorize(&creator, Op::Append { key: "any", io: Io::Out }).is_err());
    let task = claims(&["write:tasks:my-chat"]);
    assert!(authorize(&task, Op::CreateSession { task_identifier: "my-chat" }).is_ok());
    assert!(authorize(&task, Op::CreateSession { task_identifier: "my-chat-2" }).is_err());
    assert!(authorize(&claims(&["read:all"]), Op::Read { key: "z", io: Io::Out }).is_ok());
    assert!(authorize(&claims(&["read:all"]), Op::Read { key: "z", io: Io::In }).is_err());
    assert!(authorize(&claims(&["admin"]), Op::CreateSession { task_identifier: "t" }).is_ok());
    assert!(authorize(&claims(&["read:runs:run_1", "write:inputStreams:run_1"]), Op::Read { key: "run_1", io: Io::In }).is_err());
}

#[test]
fn aliases_authorize_when_any_key_matches() {
    let cred = session("chat_1");
    let keys = ["session_abc", "chat_1"];
    assert!(authorize_any(&cred, &keys, |key| Op::Read { key, io: Io::Out }).is_ok());
    let err = authorize_any(&cred, &["session_abc", "chat_2"], |key| Op::Read { key, io: Io::Out }).unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(authorize_any(&cred, &[], |key| Op::Read { key, io: Io::Out }).is_err());
    assert!(err.to_string().contains("read:sessions:chat_2"), "{err}");
}
