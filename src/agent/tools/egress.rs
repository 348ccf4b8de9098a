//! Where the agent's tools may connect. The model picks the URL `fetch_url`
//! fetches, and any page or tool result it read can steer that choice, so
//! every URL a tool reaches is untrusted input: without a rule, a prompt
//! injection reads the cloud metadata service or an admin port on loopback.
//!
//! Refused, for `fetch_url`, the HTTP tools and every redirect hop of both:
//! - loopback (127/8, `::1`), unspecified (0/8, `::`), private (10/8,
//!   172.16/12, 192.168/16, `fc00::/7`), shared CGNAT space (100.64/10),
//!   link-local (169.254/16, `fe80::/10`), IETF special-purpose 192.0.0/24
//!   and 198.18/15, multicast, broadcast and reserved space;
//! - cloud metadata: 169.254.169.254, `fd00:ec2::254`, Alibaba's
//!   100.100.100.200 and Oracle's 192.0.0.192 (by the ranges above),
//!   `metadata.google.internal`;
//! - IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`,
//!   translated, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`), judged by that
//!   address; the deprecated IPv4-compatible `::a.b.c.d`, Teredo and the
//!   other tunnel and discard prefixes outright;
//! - names that only a local resolver answers: `localhost` and
//!   `*.localhost`, single-label names (`metadata`, `intranet`), and the
//!   private-use suffixes `.internal`, `.local`, `.home.arpa`.
//!
//! The host checked is the host fetched: the URL is parsed by
//! [`crate::protocol::url`], the WHATWG parser `fetch` itself uses, so
//! `2130706433`, `0177.0.0.1` and `0x7f.1` are 127.0.0.1 here as there, and
//! the request goes out with that normalized href (which must parse to
//! itself again, so nothing is left for the runtime to reinterpret).
//!
//! The limit, honestly: a DNS name is judged as a name. A public name that
//! resolves to a private address (a record pointing at 127.0.0.1, a
//! DNS-rebinding service) passes, because a Worker has no DNS API to look
//! the name up before the fetch, nor a way to pin the address it connects
//! to. On Cloudflare's network a Worker reaches only the public internet, so
//! this matters where the agent runs elsewhere (`wrangler dev` on a machine
//! with services on loopback): restrict egress there at the network, or name
//! the hosts tools may reach in `HEADSTART_FETCH_ALLOW`.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::protocol::url::normalize_url;

/// One entry of the allowlist (`HEADSTART_FETCH_ALLOW`): a host, or
/// `*.example.com` for every subdomain of `example.com` (not the apex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Host(String),
    Subdomains(String),
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        match self {
            Self::Host(h) => h == host,
            Self::Subdomains(apex) => host.strip_suffix(apex.as_str()).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        }
    }
}

/// The entries of a comma-separated allowlist; blank entries are skipped.
/// `Err` names the entry that is not a host.
pub fn parse_allowlist(list: &str) -> Result<Vec<HostPattern>, String> {
    let mut patterns = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (wildcard, host) = match entry.strip_prefix("*.") {
            Some(apex) => (true, apex),
            None => (false, entry),
        };
        let bad = || format!("\"{entry}\" is not a host name, an IP address or *.domain (no scheme, port or path)");
        let href = normalize_url(&format!("http://{host}/")).ok_or_else(bad)?;
        let written = split_host(&href).ok_or_else(bad)?;
        // Anything but a bare host (a scheme, port, path or userinfo) makes
        // the href more than `http://<host>/`.
        if href != format!("http://{written}/") {
            return Err(bad());
        }
        let canonical = canonical_host(written).ok_or_else(bad)?;
        let is_ip = canonical.starts_with('[') || canonical.parse::<Ipv4Addr>().is_ok();
        let is_name = canonical.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !(is_ip || is_name) || (wildcard && is_ip) {
            return Err(bad());
        }
        patterns.push(if wildcard { HostPattern::Subdomains(canonical) } else { HostPattern::Host(canonical) });
    }
    Ok(patterns)
}

/// The normalized href of `url` if the tools may fetch it; else why not,
/// worded for the model.
pub fn checked_url(url: &str, allow: &[HostPattern]) -> Result<String, String> {
    let href = normalize_url(url).ok_or("not an absolute URL")?;
    if !(href.starts_with("http://") || href.starts_with("https://")) {
        return Err("only http and https URLs are fetched".into());
    }
    if normalize_url(&href).as_deref() != Some(href.as_str()) {
        return Err("the URL does not read the same when parsed again".into());
    }
    let host = split_host(&href).ok_or("the URL has no host")?;
    let host = canonical_host(host).ok_or_else(|| format!("{host} is not a readable IPv6 address"))?;
    if let Some(reason) = refusal(&host) {
        return Err(format!("{host} is {reason}"));
    }
    if !allow.is_empty() && !allow.iter().any(|p| p.matches(&host)) {
        return Err(format!("{host} is not in the allowed hosts (HEADSTART_FETCH_ALLOW)"));
    }
    Ok(href)
}

/// The host of a normalized http(s) href, as written there.
fn split_host(href: &str) -> Option<&str> {
    let rest = href.split_once("://")?.1;
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    // Userinfo is percent-encoded in a normalized href: its `@` and `:` are
    // escaped, so the last `@` ends it.
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let end = if hostport.starts_with('[') { hostport.find(']')? + 1 } else { hostport.find(':').unwrap_or(hostport.len()) };
    Some(&hostport[..end])
}

/// One spelling per host: IPv6 compressed in brackets, names without the
/// final dot. `None` for a bracketed host that is no IPv6 address.
fn canonical_host(host: &str) -> Option<String> {
    if let Some(inner) = host.strip_prefix('[') {
        let addr: Ipv6Addr = inner.strip_suffix(']')?.parse().ok()?;
        return Some(format!("[{addr}]"));
    }
    Some(host.strip_suffix('.').unwrap_or(host).to_string())
}

/// Why a canonical host is refused, if it is.
fn refusal(host: &str) -> Option<String> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse().ok().map_or(Some("not a readable IPv6 address".into()), ipv6_refusal);
    }
    if let Ok(addr) = host.parse::<Ipv4Addr>() {
        return ipv4_refusal(addr).map(str::to_string);
    }
    name_refusal(host).map(str::to_string)
}

fn name_refusal(name: &str) -> Option<&'static str> {
    let ends = |suffix: &str| name == suffix || name.ends_with(&format!(".{suffix}"));
    if name.is_empty() {
        Some("an empty host name")
    } else if ends("localhost") {
        Some("a loopback name")
    } else if name == "metadata.google.internal" {
        Some("a cloud metadata service")
    } else if !name.contains('.') {
        Some("a single-label name, which only a local resolver answers")
    } else if ends("internal") || ends("local") || ends("home.arpa") {
        Some("a name reserved for private networks")
    } else {
        None
    }
}

fn ipv4_refusal(addr: Ipv4Addr) -> Option<&'static str> {
    let n = u32::from(addr);
    let within = |net: [u8; 4], bits: u32| n >> (32 - bits) == u32::from(Ipv4Addr::from(net)) >> (32 - bits);
    let reason = if addr == Ipv4Addr::new(169, 254, 169, 254) {
        "the cloud metadata address"
    } else if within([0, 0, 0, 0], 8) {
        "an unspecified (\"this network\") address"
    } else if within([127, 0, 0, 0], 8) {
        "a loopback address"
    } else if within([10, 0, 0, 0], 8) || within([172, 16, 0, 0], 12) || within([192, 168, 0, 0], 16) {
        "a private address"
    } else if within([100, 64, 0, 0], 10) {
        "a shared (CGNAT) address"
    } else if within([169, 254, 0, 0], 16) {
        "a link-local address"
    } else if within([192, 0, 0, 0], 24) || within([198, 18, 0, 0], 15) {
        "a special-purpose address"
    } else if within([224, 0, 0, 0], 4) {
        "a multicast address"
    } else if addr == Ipv4Addr::BROADCAST {
        "the broadcast address"
    } else if within([240, 0, 0, 0], 4) {
        "a reserved address"
    } else {
        return None;
    };
    Some(reason)
}

fn ipv6_refusal(addr: Ipv6Addr) -> Option<String> {
    let s = addr.segments();
    let bits = u128::from(addr);
    let within = |net: u128, len: u32| bits >> (128 - len) == net >> (128 - len);
    let v4 = |high: u128| Ipv4Addr::from(((bits >> high) & 0xffff_ffff) as u32);
    let carried = |form: &str, a: Ipv4Addr| ipv4_refusal(a).map(|r| format!("{form} of {a}, {r}"));
    let reason = if addr.is_unspecified() {
        "the unspecified address"
    } else if addr.is_loopback() {
        "a loopback address"
    } else if addr == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        "the cloud metadata address"
    } else if within(0xffff << 32, 96) {
        return carried("the IPv4-mapped form", v4(0));
    } else if within(0xffff << 48, 96) {
        return carried("the IPv4-translated form", v4(0));
    } else if within(0x64_ff9b << 96, 96) {
        return carried("the NAT64 form", v4(0));
    } else if s[0] == 0x2002 {
        return carried("the 6to4 form", v4(80));
    } else if within(0, 96) {
        "an IPv4-compatible address (deprecated)"
    } else if within(0x64_ff9b_0001 << 80, 48) {
        "a local-use NAT64 address"
    } else if within(0x2001 << 112, 32) {
        "a Teredo tunnel address"
    } else if within(0x0100 << 112, 64) {
        "a discard-only address"
    } else if within(0xfc00 << 112, 7) {
        "a unique local (private) address"
    } else if within(0xfe80 << 112, 10) {
        "a link-local address"
    } else if within(0xfec0 << 112, 10) {
        "a site-local address (deprecated)"
    } else if within(0xff00 << 112, 8) {
        "a multicast address"
    } else {
        return None;
    };
    Some(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_names_that_are_refused() {
        let refused = [
            // loopback, in every spelling the URL parser accepts
            ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
            ("http://127.1/", "127.0.0.1 is a loopback address"),
            ("http://2130706433/", "127.0.0.1 is a loopback address"),
            ("http://0177.0.0.1/", "127.0.0.1 is a loopback address"),
            ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
            ("http://0x7F000001/", "127.0.0.1 is a loopback address"),
            ("http://127.0.0.1./", "127.0.0.1 is a loopback address"),
            ("http://%31%32%37.0.0.1/", "127.0.0.1 is a loopback address"),
            ("http://127.255.255.254:8080/x", "127.255.255.254 is a loopback address"),
            ("http://user:pw@127.0.0.1/", "127.0.0.1 is a loopback address"),
            ("http://127.0.0.\t1/", "127.0.0.1 is a loopback address"),
            ("http://127.0.0.1\\@example.com/", "127.0.0.1 is a loopback address"),
            ("http://example.com@127.0.0.1/", "127.0.0.1 is a loopback address"),
            ("http://[::1]/", "[::1] is a loopback address"),
            ("http://[0:0:0:0:0:0:0:1]:80/", "[::1] is a loopback address"),
            ("http://localhost/", "localhost is a loopback name"),
            ("http://LOCALHOST./", "localhost is a loopback name"),
            ("http://api.localhost:8787/", "api.localhost is a loopback name"),
            // unspecified
            ("http://0.0.0.0/", "0.0.0.0 is an unspecified (\"this network\") address"),
            ("http://0/", "0.0.0.0 is an unspecified (\"this network\") address"),
            ("http://[::]/", "[::] is the unspecified address"),
            // private and shared
            ("http://10.1.2.3/", "10.1.2.3 is a private address"),
            ("http://012.1.2.3/", "10.1.2.3 is a private address"),
            ("http://172.16.0.1/", "172.16.0.1 is a private address"),
            ("http://172.31.255.255/", "172.31.255.255 is a private address"),
            ("http://192.168.1.1/", "192.168.1.1 is a private address"),
            ("http://3232235777/", "192.168.1.1 is a private address"),
            ("http://100.64.0.1/", "100.64.0.1 is a shared (CGNAT) address"),
            ("http://100.100.100.200/", "100.100.100.200 is a shared (CGNAT) address"),
            ("http://[fc00::1]/", "[fc00::1] is a unique local (private) address"),
            ("http://[fdff:ffff::1]/", "[fdff:ffff::1] is a unique local (private) address"),
            // link-local and metadata
            ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the cloud metadata address"),
            ("http://0xa9fea9fe/", "169.254.169.254 is the cloud metadata address"),
            ("http://169.254.1.1/", "169.254.1.1 is a link-local address"),
            ("http://[fd00:ec2::254]/", "[fd00:ec2::254] is the cloud metadata address"),
            ("http://[fe80::1]/", "[fe80::1] is a link-local address"),
            ("http://[febf::1]/", "[febf::1] is a link-local address"),
            ("http://[fec0::1]/", "[fec0::1] is a site-local address (deprecated)"),
            ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud metadata service"),
            ("http://METADATA.google.internal./", "metadata.google.internal is a cloud metadata service"),
            ("http://metadata/", "metadata is a single-label name, which only a local resolver answers"),
            ("http://192.0.0.192/", "192.0.0.192 is a special-purpose address"),
            ("http://198.18.0.1/", "198.18.0.1 is a special-purpose address"),
            // multicast, broadcast, reserved
            ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
            ("http://239.255.255.250/", "239.255.255.250 is a multicast address"),
            ("http://255.255.255.255/", "255.255.255.255 is the broadcast address"),
            ("http://4294967295/", "255.255.255.255 is the broadcast address"),
            ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
            ("http://[ff02::1]/", "[ff02::1] is a multicast address"),
            // IPv6 forms of IPv4 addresses
            ("http://[::ffff:127.0.0.1]/", "[::ffff:127.0.0.1] is the IPv4-mapped form of 127.0.0.1, a loopback address"),
            ("http://[::ffff:7f00:1]/", "[::ffff:127.0.0.1] is the IPv4-mapped form of 127.0.0.1, a loopback address"),
            (
                "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
                "[::ffff:169.254.169.254] is the IPv4-mapped form of 169.254.169.254, the cloud metadata address",
            ),
            ("http://[::ffff:10.0.0.1]/", "[::ffff:10.0.0.1] is the IPv4-mapped form of 10.0.0.1, a private address"),
            ("http://[::ffff:0:192.168.0.1]/", "[::ffff:0:c0a8:1] is the IPv4-translated form of 192.168.0.1, a private address"),
            ("http://[64:ff9b::127.0.0.1]/", "[64:ff9b::7f00:1] is the NAT64 form of 127.0.0.1, a loopback address"),
            ("http://[2002:a9fe:a9fe::]/", "[2002:a9fe:a9fe::] is the 6to4 form of 169.254.169.254, the cloud metadata address"),
            ("http://[::127.0.0.1]/", "[::7f00:1] is an IPv4-compatible address (deprecated)"),
            ("http://[::8.8.8.8]/", "[::808:808] is an IPv4-compatible address (deprecated)"),
            ("http://[64:ff9b:1::1]/", "[64:ff9b:1::1] is a local-use NAT64 address"),
            ("http://[2001::1]/", "[2001::1] is a Teredo tunnel address"),
            ("http://[100::1]/", "[100::1] is a discard-only address"),
            // private-use names
            ("https://db.internal/", "db.internal is a name reserved for private networks"),
            ("https://printer.local/", "printer.local is a name reserved for private networks"),
            ("https://nas.home.arpa/", "nas.home.arpa is a name reserved for private networks"),
            ("http://intranet/", "intranet is a single-label name, which only a local resolver answers"),
            // not URLs the tools fetch
            ("ftp://example.com/", "only http and https URLs are fetched"),
            ("file:///etc/passwd", "only http and https URLs are fetched"),
            ("localhost:8080/x", "only http and https URLs are fetched"),
            ("//example.com/", "not an absolute URL"),
            ("http://[::1%25lo]/", "not an absolute URL"),
            ("http://[1:2:3]/", "[1:2:3] is not a readable IPv6 address"),
        ];
        let wrong: Vec<_> = refused
            .iter()
            .map(|&(url, reason)| (url, checked_url(url, &[]), reason))
            .filter(|(_, got, reason)| got.as_ref().err().map(String::as_str) != Some(reason))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn public_addresses_and_names_pass() {
        let allowed = [
            ("https://example.com/a b", "https://example.com/a%20b"),
            ("HTTP://Example.COM.:80/", "http://example.com./"),
            ("http://8.8.8.8/", "http://8.8.8.8/"),
            ("http://134744072/", "http://8.8.8.8/"),
            ("http://172.32.0.1/", "http://172.32.0.1/"),
            ("http://172.15.255.255/", "http://172.15.255.255/"),
            ("http://100.128.0.1/", "http://100.128.0.1/"),
            ("http://169.253.0.1/", "http://169.253.0.1/"),
            ("http://[2606:4700::1111]/", "http://[2606:4700::1111]/"),
            ("http://[::ffff:8.8.8.8]/", "http://[::ffff:8.8.8.8]/"),
            ("http://[64:ff9b::8.8.8.8]/", "http://[64:ff9b::8.8.8.8]/"),
            ("https://localhost.example.com/", "https://localhost.example.com/"),
            ("https://metadata.example.com/", "https://metadata.example.com/"),
            ("https://bücher.de/", "https://xn--bcher-kva.de/"),
            ("http://127.0.0.1@example.com/", "http://127.0.0.1@example.com/"),
            ("http://example.com\\@127.0.0.1/", "http://example.com/@127.0.0.1/"),
            ("http://example.com#@127.0.0.1", "http://example.com/#@127.0.0.1"),
            ("https://user@example.com:8443/x?y#z", "https://user@example.com:8443/x?y#z"),
        ];
        let wrong: Vec<_> = allowed
            .iter()
            .map(|&(url, href)| (url, checked_url(url, &[]), href))
            .filter(|(_, got, href)| got.as_deref() != Ok(*href))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn unicode_spellings_of_addresses_never_reach_one() {
        // The WHATWG parser maps full-width digits, ideographic full stops
        // and soft hyphens to ASCII; ours Punycode-encodes them instead, and
        // the href fetched is ours, so no spelling reaches the address.
        for url in ["http://１２７.０.０.１/", "http://127。0。0。1/", "http://local\u{ad}host/"] {
            if let Ok(href) = checked_url(url, &[]) {
                assert!(href.contains("xn--"), "{url} -> {href}");
            }
        }
    }

    #[test]
    fn the_allowlist_narrows_and_never_widens() {
        let allow = parse_allowlist(" docs.example.com, *.Wikipedia.org ,, 8.8.8.8, [2606:4700:0::1111]").unwrap();
        assert_eq!(
            allow,
            [
                HostPattern::Host("docs.example.com".into()),
                HostPattern::Subdomains("wikipedia.org".into()),
                HostPattern::Host("8.8.8.8".into()),
                HostPattern::Host("[2606:4700::1111]".into()),
            ]
        );
        for url in [
            "https://docs.example.com/x",
            "https://DOCS.example.com./",
            "https://en.wikipedia.org/wiki/X",
            "https://a.b.wikipedia.org/",
            "http://8.8.8.8/",
            "http://134744072/",
            "http://[2606:4700::1111]/",
        ] {
            assert!(checked_url(url, &allow).is_ok(), "{url}");
        }
        for url in [
            "https://example.com/",
            "https://wikipedia.org/",
            "https://evilwikipedia.org/",
            "https://docs.example.com.evil.test/",
        ] {
            let host = url.split('/').nth(2).unwrap();
            assert_eq!(checked_url(url, &allow), Err(format!("{host} is not in the allowed hosts (HEADSTART_FETCH_ALLOW)")));
        }
        // Listing a private host does not open it.
        let allow = parse_allowlist("localhost,127.0.0.1").unwrap();
        assert_eq!(checked_url("http://localhost/", &allow), Err("localhost is a loopback name".into()));
        assert_eq!(checked_url("http://127.0.0.1/", &allow), Err("127.0.0.1 is a loopback address".into()));

        assert_eq!(parse_allowlist("  ").unwrap(), []);
        for bad in ["https://example.com", "example.com:443", "example.com/path", "*.8.8.8.8", "*.[::1]", "a b", "*"] {
            assert!(parse_allowlist(bad).unwrap_err().starts_with(&format!("\"{bad}\" is not a host name")), "{bad}");
        }
    }

    // proptest is a host dev-dependency.
    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        /// Any input: no panic, and a URL that passes is one the parser
        /// reads back unchanged, so the runtime fetches the host checked.
        #[test]
        fn any_input_is_judged_without_panic(tail in "[a-zA-Z0-9.:/@\\\\\\[\\]%#?x-]{0,40}", scheme in "(http|https|HTTP|ftp):(//)?") {
            let url = format!("{scheme}{tail}");
            if let Ok(href) = checked_url(&url, &[]) {
                proptest::prop_assert_eq!(checked_url(&href, &[]), Ok(href.clone()));
            }
            let _ = parse_allowlist(&tail);
            let _ = super::super::http::resolve("https://a.test/d/p?q#f", &tail);
            let _ = super::super::http::resolve("https://a.test/d/p?q#f", &url);
        }
    }
}
