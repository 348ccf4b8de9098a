//! `new URL(s).href` for absolute URLs: what the AI SDK's
//! `convertToModelMessages` puts in a model file part (it wraps `part.url` in
//! `new URL(...)`, and `JSON.stringify` writes the href back out).
//!
//! This follows the WHATWG URL parser as Node implements it, for inputs with
//! no base URL: scheme and host lower-cased, default ports dropped, dot
//! segments removed, `\` read as `/` in special URLs, the percent-encode sets
//! of each component, IPv4 hosts in any notation. Approximations, documented:
//! a non-ASCII domain label is lower-cased and Punycode-encoded without the
//! rest of UTS #46 (no NFC, no width mapping), an IPv6 host is only
//! lower-cased (not compressed), and Windows drive letters in `file:` URLs get
//! no special treatment.

/// The href of `new URL(input)`, or `None` where `new URL` would throw.
pub fn normalize_url(input: &str) -> Option<String> {
    let trimmed: String = input.trim_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let colon = trimmed.find(':')?;
    let scheme = &trimmed[..colon];
    let valid_scheme = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest = &trimmed[colon + 1..];
    let special = matches!(scheme.as_str(), "http" | "https" | "ws" | "wss" | "ftp" | "file");

    // Split off the fragment, then the query: neither contains the other's
    // delimiter once split in this order.
    let (rest, fragment) = split_once(rest, '#');
    let (rest, query) = split_once(rest, '?');
    let is_sep = |c: char| c == '/' || (special && c == '\\');

    let mut out = scheme.clone();
    out.push(':');
    if scheme == "file" {
        let after = rest.strip_prefix(is_sep).and_then(|r| r.strip_prefix(is_sep));
        let (host, path) = match after {
            Some(r) => {
                let end = r.find(is_sep).unwrap_or(r.len());
                let host = if r[..end].is_empty() { String::new() } else { parse_host(&r[..end], true)? };
                (if host == "localhost" { String::new() } else { host }, &r[end..])
            }
            None => (String::new(), rest),
        };
        out.push_str("//");
        out.push_str(&host);
        let path = if path.starts_with(is_sep) { path.to_string() } else { format!("/{path}") };
        out.push_str(&parse_path(&path, true));
    } else if special {
        let r = rest.trim_start_matches(is_sep);
        let end = r.find(is_sep).unwrap_or(r.len());
        out.push_str("//");
        out.push_str(&parse_authority(&r[..end], &scheme, true)?);
        out.push_str(&parse_path(&r[end..], true));
    } else if let Some(r) = rest.strip_prefix("//") {
        let end = r.find('/').unwrap_or(r.len());
        out.push_str("//");
        out.push_str(&parse_authority(&r[..end], &scheme, false)?);
        out.push_str(&parse_path(&r[end..], false));
    } else if rest.starts_with('/') {
        let path = parse_path(rest, false);
        // With no host, a path that starts with `//` would read back as an
        // authority: the URL serializer writes `/.` before it.
        if path.starts_with("//") {
            out.push_str("/.");
        }
        out.push_str(&path);
    } else {
        // An opaque path (`data:`, `mailto:`, `blob:`, ...).
        out.push_str(&encode(rest, is_c0_control));
    }
    if let Some(q) = query {
        out.push('?');
        out.push_str(&encode(q, if special { is_special_query } else { is_query }));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&encode(f, is_fragment));
    }
    Some(out)
}

fn split_once(s: &str, c: char) -> (&str, Option<&str>) {
    match s.split_once(c) {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

/// `userinfo@host:port`, serialized.
fn parse_authority(auth: &str, scheme: &str, special: bool) -> Option<String> {
    let (userinfo, hostport) = match auth.rfind('@') {
        Some(at) => (Some(&auth[..at]), &auth[at + 1..]),
        None => (None, auth),
    };
    let port_at = if hostport.starts_with('[') {
        let close = hostport.find(']')?;
        match &hostport[close + 1..] {
            "" => None,
            s if s.starts_with(':') => Some(close + 1),
            _ => return None,
        }
    } else {
        hostport.find(':')
    };
    let (host, port) = match port_at {
        Some(i) => (&hostport[..i], Some(&hostport[i + 1..])),
        None => (hostport, None),
    };
    let host = if host.is_empty() { String::new() } else { parse_host(host, special)? };
    if host.is_empty() && (special || userinfo.is_some() || port.is_some_and(|p| !p.is_empty())) {
        return None;
    }
    let mut out = String::new();
    if let Some(info) = userinfo {
        let (user, pass) = split_once(info, ':');
        out.push_str(&encode(user, is_userinfo));
        if let Some(p) = pass.filter(|p| !p.is_empty()) {
            out.push(':');
            out.push_str(&encode(p, is_userinfo));
        }
        if !out.is_empty() {
            out.push('@');
        }
    }
    out.push_str(&host);
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        if !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = p.trim_start_matches('0').parse().unwrap_or(0);
        if p.trim_start_matches('0').len() > 5 || n > 65535 {
            return None;
        }
        let default = match scheme {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            "ftp" => Some(21),
            _ => None,
        };
        if default != Some(n) {
            out.push_str(&format!(":{n}"));
        }
    }
    Some(out)
}

fn is_forbidden_host(c: char) -> bool {
    matches!(c, '\0' | '\t' | '\n' | '\r' | ' ' | '#' | '/' | ':' | '<' | '>' | '?' | '@' | '[' | '\\' | ']' | '^' | '|')
}

fn parse_host(host: &str, special: bool) -> Option<String> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        let ok = !inner.is_empty() && inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        return ok.then(|| format!("[{}]", inner.to_ascii_lowercase()));
    }
    if !special {
        if host.chars().any(is_forbidden_host) {
            return None;
        }
        return Some(encode(host, is_c0_control));
    }
    let decoded = String::from_utf8(percent_decode(host)).ok()?;
    let mut ascii = String::with_capacity(decoded.len());
    for (i, label) in decoded.split('.').enumerate() {
        if i > 0 {
            ascii.push('.');
        }
        if label.is_ascii() {
            ascii.push_str(&label.to_ascii_lowercase());
        } else {
            let lower: Vec<char> = label.chars().flat_map(char::to_lowercase).collect();
            ascii.push_str("xn--");
            ascii.push_str(&punycode(&lower)?);
        }
    }
    if ascii.is_empty() || ascii.chars().any(|c| is_forbidden_host(c) || c < ' ' || c == '%' || c == '\x7f') {
        return None;
    }
    if ends_in_number(&ascii) {
        return parse_ipv4(&ascii);
    }
    Some(ascii)
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn ends_in_number(host: &str) -> bool {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.last() == Some(&"") {
        if parts.len() == 1 {
            return false;
        }
        parts.pop();
    }
    let last = parts.last().copied().unwrap_or("");
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())) || ipv4_number(last).is_some()
}

/// One part of an IPv4 address: decimal, `0x` hex or `0` octal.
fn ipv4_number(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Too many digits overflows; any such value is out of range anyway.
    Some(u64::from_str_radix(digits, radix).unwrap_or(u64::MAX))
}

fn parse_ipv4(host: &str) -> Option<String> {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.last() == Some(&"") && parts.len() > 1 {
        parts.pop();
    }
    if parts.len() > 4 {
        return None;
    }
    let numbers = parts.iter().map(|p| ipv4_number(p)).collect::<Option<Vec<u64>>>()?;
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return None;
    }
    let mut addr = *last;
    for (i, n) in init.iter().enumerate() {
        addr += n << (8 * (3 - i));
    }
    Some(format!("{}.{}.{}.{}", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255))
}

/// A path that is empty or starts with a separator, dot segments resolved.
fn parse_path(path: &str, special: bool) -> String {
    if path.is_empty() {
        return if special { "/".into() } else { String::new() };
    }
    let segments: Vec<&str> = path[1..].split(|c| c == '/' || (special && c == '\\')).collect();
    let mut out: Vec<String> = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let lower = seg.to_ascii_lowercase();
        if matches!(lower.as_str(), ".." | ".%2e" | "%2e." | "%2e%2e") {
            out.pop();
            if last {
                out.push(String::new());
            }
        } else if matches!(lower.as_str(), "." | "%2e") {
            if last {
                out.push(String::new());
            }
        } else {
            out.push(encode(seg, is_path));
        }
    }
    format!("/{}", out.join("/"))
}

fn encode(s: &str, set: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b > 0x7e || set(b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

fn is_c0_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}
fn is_fragment(b: u8) -> bool {
    is_c0_control(b) || b" \"<>`".contains(&b)
}
fn is_query(b: u8) -> bool {
    is_c0_control(b) || b" \"#<>".contains(&b)
}
fn is_special_query(b: u8) -> bool {
    is_query(b) || b == b'\''
}
fn is_path(b: u8) -> bool {
    is_query(b) || b"?`{}".contains(&b)
}
fn is_userinfo(b: u8) -> bool {
    is_path(b) || b"/:;=@[\\]^|".contains(&b)
}

/// RFC 3492 Punycode of one (lower-cased) label.
fn punycode(input: &[char]) -> Option<String> {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    fn adapt(delta: u32, points: u32, first: bool) -> u32 {
        let mut delta = if first { delta / 700 } else { delta / 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - TMIN) * TMAX) / 2 {
            delta /= BASE - TMIN;
            k += BASE;
        }
        k + (BASE - TMIN + 1) * delta / (delta + 38)
    }
    let digit = |d: u32| char::from(if d < 26 { b'a' + d as u8 } else { b'0' + (d - 26) as u8 });
    let mut out: String = input.iter().filter(|c| c.is_ascii()).collect();
    let basic = out.len() as u32;
    let mut handled = basic;
    if basic > 0 {
        out.push('-');
    }
    let (mut n, mut delta, mut bias) = (128u32, 0u32, 72u32);
    while (handled as usize) < input.len() {
        let m = input.iter().map(|&c| c as u32).filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in input {
            let c = c as u32;
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        TMIN
                    } else if k >= bias + TMAX {
                        TMAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta += 1;
        n += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::normalize_url;

    #[test]
    fn urls_normalize_like_whatwg() {
        let cases = [
            ("https://Example.COM", "https://example.com/"),
            ("HTTP://a.b:80/x?y#z", "http://a.b/x?y#z"),
            ("https://a.b?q=1", "https://a.b/?q=1"),
            ("data:image/png;base64,AAA=", "data:image/png;base64,AAA="),
            (" https://a.b/c ", "https://a.b/c"),
            ("https://a.b/my file.png", "https://a.b/my%20file.png"),
            ("https://a.b/x/../y/./z", "https://a.b/y/z"),
            ("https://exämple.com/", "https://xn--exmple-cua.com/"),
            ("https://bücher.de/", "https://xn--bcher-kva.de/"),
            ("http://0x7f.1/", "http://127.0.0.1/"),
            ("https:/example.com", "https://example.com/"),
            ("foo://Host/A B", "foo://Host/A%20B"),
            ("file:///tmp/a b", "file:///tmp/a%20b"),
            ("https://u:@a.b/", "https://u@a.b/"),
            // Found by the `url` fuzz target: without `/.` the href of these
            // reads back as `foo://h%00%00@`, an empty host that throws.
            ("foo:/.//h\0\0@\0\0", "foo:/.//h%00%00@"),
            ("foo:/..//a/b", "foo:/.//a/b"),
            ("foo:/a/..//b", "foo:/.//b"),
            ("foo:////x", "foo:////x"),
        ];
        for (input, href) in cases {
            assert_eq!(normalize_url(input).as_deref(), Some(href), "{input}");
            assert_eq!(normalize_url(href).as_deref(), Some(href), "an href normalizes to itself: {href}");
        }
        for bad in ["not a url", "https://", "http://ex ample.com/", "https://a.b:99999/", "http://1.2.3.256/", "https://a:b:c/"]
        {
            assert_eq!(normalize_url(bad), None, "{bad}");
        }
    }
}
