//! Session tokens and `Authorization` headers from arbitrary text: no panic,
//! and the claims path is reached too: the input's `header.payload` is also
//! signed with the right key, so its claims are parsed and checked. Any
//! token that verifies re-signs to a token with the same claims, fails under
//! another key, and authorizes without panicking.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use headstart::selfhost::auth::{authenticate, authorize, sign, verify, AuthError, Credential, Op};
use headstart::selfhost::Io;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"fuzz-signing-key";
const SECRET: &str = "tr_dev_fuzz-secret";
const NOW: u64 = 1_800_000_000;

fn check(token: &str) {
    let Ok(claims) = verify(KEY, token, NOW) else { return };
    assert_eq!(verify(KEY, &sign(KEY, &claims), NOW), Ok(claims.clone()));
    assert_eq!(verify(b"another key", token, NOW), Err(AuthError::BadSignature));
    let credential = Credential::Session(claims);
    for io in [Io::In, Io::Out] {
        let key = "chat-1";
        let _ = authorize(&credential, Op::Read { key, io });
        let append = authorize(&credential, Op::Append { key, io });
        assert!(io == Io::In || append.is_err(), "a session token never writes `out`");
    }
    let _ = authorize(&credential, Op::CreateSession { task_identifier: "chat" });
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = authenticate(Some(&text), SECRET, KEY, NOW);
    let _ = authenticate(Some(&format!("Bearer {text}")), SECRET, KEY, NOW);
    check(&text);
    // Sign whatever header.payload the input holds, to get past the MAC.
    if let Some((input, _)) = text.rsplit_once('.') {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY).expect("any key length");
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        check(&token);
        assert!(matches!(authenticate(Some(&format!("Bearer {token}")), SECRET, KEY, NOW), Ok(_) | Err(_)));
    }
});
