//! Platform ids (PROTOCOL.md §1): `session_<cuid>` and `run_<cuid>`.
//!
//! The body is cuid-like: 25 lowercase alphanumerics, `c`, then the creation
//! time in base 36 (8 chars, so ids sort roughly by age), then 16 random
//! chars from the injected RNG (about 82 bits).

/// Prefix of session friendly ids; a chat id never starts with it.
pub const SESSION_PREFIX: &str = "session_";
/// Prefix of run ids.
pub const RUN_PREFIX: &str = "run_";
/// Characters after the prefix.
pub const ID_BODY_LEN: usize = 25;

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const TIME_CHARS: usize = 8;

/// A 25-character cuid-like id body.
pub fn cuid(now_ms: u64, rng: &mut impl FnMut() -> u64) -> String {
    let mut out = Vec::with_capacity(ID_BODY_LEN);
    out.push(b'c');
    let mut time = [b'0'; TIME_CHARS];
    let mut t = now_ms;
    for slot in time.iter_mut().rev() {
        *slot = ALPHABET[(t % 36) as usize];
        t /= 36;
    }
    out.extend_from_slice(&time);
    while out.len() < ID_BODY_LEN {
        for byte in rng().to_le_bytes() {
            // 252 = 7·36: rejecting the top four values keeps chars uniform.
            if byte < 252 && out.len() < ID_BODY_LEN {
                out.push(ALPHABET[usize::from(byte % 36)]);
            }
        }
    }
    String::from_utf8(out).expect("ASCII")
}

/// A new session friendly id.
pub fn session_id(now_ms: u64, rng: &mut impl FnMut() -> u64) -> String {
    format!("{SESSION_PREFIX}{}", cuid(now_ms, rng))
}

/// A new run id.
pub fn run_id(now_ms: u64, rng: &mut impl FnMut() -> u64) -> String {
    format!("{RUN_PREFIX}{}", cuid(now_ms, rng))
}

/// Whether a session key is a friendly id rather than an externalId.
pub fn is_session_id(key: &str) -> bool {
    key.starts_with(SESSION_PREFIX)
}

/// A small deterministic generator (SplitMix64) for tests and for callers
/// that seed from a real random source once.
pub fn splitmix64(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_ok(body: &str) -> bool {
        body.len() == ID_BODY_LEN && body.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    }

    #[test]
    fn ids_have_the_platform_shape() {
        let mut rng = splitmix64(1);
        let s = session_id(1_755_856_800_000, &mut rng);
        let r = run_id(1_755_856_800_000, &mut rng);
        assert!(body_ok(s.strip_prefix("session_").unwrap()), "{s}");
        assert!(body_ok(r.strip_prefix("run_").unwrap()), "{r}");
        assert!(s.starts_with("session_c"));
        assert!(is_session_id(&s) && !is_session_id("chat_1") && !is_session_id("sessionx"));
        assert_ne!(session_id(0, &mut rng), session_id(0, &mut rng));
    }

    #[test]
    fn all_rejected_bytes_still_terminate_and_time_prefix_sorts() {
        let mut calls = 0;
        let mut rng = || {
            calls += 1;
            if calls < 3 {
                u64::MAX
            } else {
                0x0102_0304_0506_0708
            }
        };
        let id = cuid(0, &mut rng);
        assert!(body_ok(&id));
        assert_eq!(&id[..9], "c00000000");
        let mut rng = splitmix64(7);
        assert!(cuid(1_000, &mut rng)[..9] < cuid(2_000_000, &mut rng)[..9]);
    }
}
