//! The tools that go over HTTP: `fetch_url` (GET a page, return its text)
//! and the configured HTTP tools (POST the input as JSON, return the
//! response). Bodies are read up to [`ToolOptions::max_response_bytes`] and
//! decoded as UTF-8 (other charsets are not converted).
//!
//! Redirects are followed here, not by the runtime: each hop is requested
//! with `redirect: "manual"` and its target checked by the egress rule
//! before it is fetched, at most [`MAX_REDIRECTS`] of them. The whole call,
//! hops and body included, runs within the tool's timeout.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::io::{Fetch, HttpRequest, HttpResponse, ResponseBody};
use crate::protocol::url::normalize_url;

use super::egress::checked_url;
use super::html::html_to_text;
use super::{ToolConfigError, ToolError, ToolOptions};

/// Redirects followed per call; one more is an error.
pub const MAX_REDIRECTS: usize = 5;

/// One HTTP tool, as configured in JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpToolConfig {
    /// An http(s) URL; the tool input is POSTed to it as JSON.
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// JSON Schema of the input; an object schema (default: any object).
    #[serde(default = "any_object")]
    pub input_schema: Value,
    /// Sent with every call (e.g. an `authorization` header).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Overrides [`ToolOptions::timeout_ms`] for this tool.
    #[serde(default)]
    pub timeout_ms: Option<u32>,
}

fn any_object() -> Value {
    json!({ "type": "object" })
}

impl HttpToolConfig {
    /// Checks the URL (under the egress rule too) and schema; the URL comes
    /// back normalized.
    pub(super) fn validated(mut self, name: &str, options: &ToolOptions) -> Result<Self, ToolConfigError> {
        let invalid = |reason: &str| ToolConfigError::Invalid { name: name.into(), reason: reason.into() };
        if !normalize_url(&self.url).is_some_and(|href| is_http(&href)) {
            return Err(invalid("\"url\" must be an absolute http(s) URL"));
        }
        self.url =
            checked_url(&self.url, &options.fetch_allow).map_err(|reason| invalid(&format!("\"url\" is refused: {reason}")))?;
        if self.input_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(invalid("\"inputSchema\" must be an object schema ({\"type\": \"object\", ...})"));
        }
        Ok(self)
    }
}

/// The tools of a JSON configuration, in the order written.
pub fn parse_http_tools(json: &str) -> Result<Vec<(String, HttpToolConfig)>, ToolConfigError> {
    let map: Map<String, Value> = serde_json::from_str(json).map_err(|e| ToolConfigError::Json(e.to_string()))?;
    map.into_iter()
        .map(|(name, value)| {
            let config = serde_json::from_value(value)
                .map_err(|e| ToolConfigError::Invalid { name: name.clone(), reason: e.to_string() })?;
            Ok((name, config))
        })
        .collect()
}

fn is_http(href: &str) -> bool {
    href.starts_with("http://") || href.starts_with("https://")
}

/// Sends `request` to `url` and follows its redirects by hand, each URL
/// checked by the egress rule before it is requested, so a public page
/// cannot bounce the call to a private address. Returns the URL that
/// answered and its response. `Refused` errors name `url` as given.
async fn send<F: Fetch>(
    fetch: &F,
    options: &ToolOptions,
    url: &str,
    mut request: HttpRequest,
) -> Result<(String, HttpResponse<F::Body>), ToolError> {
    let refused = |reason: String| ToolError::Refused { url: url.into(), reason };
    request.url = checked_url(url, &options.fetch_allow).map_err(refused)?;
    let mut redirects = 0;
    loop {
        let response = fetch.fetch_manual(&request).await.map_err(|e| ToolError::Fetch(e.0))?;
        if response.status == 0 {
            return Err(refused("the runtime hid a redirect (an opaque response), so its target could not be checked".into()));
        }
        let location = match response.status {
            301 | 302 | 303 | 307 | 308 => response.header("location").map(str::to_string),
            _ => None,
        };
        let Some(location) = location else { return Ok((request.url, response)) };
        let status = response.status;
        drop(response); // aborts the redirect's body
        if redirects == MAX_REDIRECTS {
            return Err(refused(format!("more than {MAX_REDIRECTS} redirects")));
        }
        redirects += 1;
        let next = resolve(&request.url, &location)
            .ok_or_else(|| refused(format!("it redirects to \"{location}\", which is not a URL")))?;
        let next =
            checked_url(&next, &options.fetch_allow).map_err(|reason| refused(format!("it redirects to {next}: {reason}")))?;
        redirected(&mut request, status, next);
    }
}

/// The request for the next hop, as `fetch` makes it: 303, and 301/302
/// after a POST, become a GET without a body; headers set for one origin
/// (an HTTP tool's `authorization`) are not sent to another.
fn redirected(request: &mut HttpRequest, status: u16, next: String) {
    if (status == 303 && request.method != "HEAD") || (matches!(status, 301 | 302) && request.method == "POST") {
        request.method = "GET";
        request.body.clear();
        request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
    }
    if origin(&request.url) != origin(&next) {
        let ours = ["accept", "user-agent", "content-type"];
        request.headers.retain(|(name, _)| ours.iter().any(|o| name.eq_ignore_ascii_case(o)));
    }
    request.url = next;
}

/// `scheme://authority` of a normalized href.
fn origin(href: &str) -> &str {
    let start = href.find("://").map_or(0, |i| i + 3);
    &href[..href[start..].find('/').map_or(href.len(), |i| start + i)]
}

/// `location` resolved against `base` (a normalized http(s) href), as the
/// WHATWG parser resolves a relative URL; `None` where it would throw.
pub(super) fn resolve(base: &str, location: &str) -> Option<String> {
    let mut location = location.trim_matches(|c: char| c <= ' ');
    let scheme_end = base.find("://")?;
    let scheme = &base[..scheme_end];
    let authority_end = scheme_end + 3 + base[scheme_end + 3..].find('/').unwrap_or(base.len() - scheme_end - 3);
    let sep = |c: char| c == '/' || c == '\\';
    if let Some((head, tail)) = location.split_once(':') {
        let is_scheme = head.starts_with(|c: char| c.is_ascii_alphabetic())
            && head.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if is_scheme {
            // The base's own scheme without `//` stays relative to the base.
            let authority = tail.starts_with(sep) && tail[1..].starts_with(sep);
            if !head.eq_ignore_ascii_case(scheme) || authority {
                return normalize_url(location);
            }
            location = tail;
        }
    }
    let without = |cut: &[char]| &base[..base[authority_end..].find(cut).map_or(base.len(), |i| authority_end + i)];
    let absolute = if location.starts_with(sep) && location[1..].starts_with(sep) {
        format!("{scheme}:{location}")
    } else if location.starts_with(sep) {
        format!("{}{location}", &base[..authority_end])
    } else if location.starts_with('?') {
        format!("{}{location}", without(&['?', '#']))
    } else if location.starts_with('#') || location.is_empty() {
        format!("{}{location}", without(&['#']))
    } else {
        let path = without(&['?', '#']);
        format!("{}{location}", &path[..=path.rfind('/')?])
    };
    normalize_url(&absolute)
}

/// The body, up to `cap` bytes, and whether there was more.
async fn read_capped(body: &mut impl ResponseBody, cap: usize) -> Result<(Vec<u8>, bool), ToolError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next_chunk().await {
        bytes.extend(chunk.map_err(|e| ToolError::Fetch(e.0))?);
        if bytes.len() > cap {
            bytes.truncate(cap);
            return Ok((bytes, true));
        }
    }
    Ok((bytes, false))
}

/// The longest prefix of `text` of at most `limit` bytes that ends on a
/// character boundary.
fn cut(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn mime(response: &HttpResponse<impl ResponseBody>) -> String {
    let ct = response.header("content-type").unwrap_or("");
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn is_textual(mime: &str) -> bool {
    mime.is_empty()
        || mime.starts_with("text/")
        || mime.ends_with("json") // application/json, application/ld+json, ...
        || mime.ends_with("xml") // application/xml, application/xhtml+xml, ...
        || mime == "application/javascript"
}

/// `fetch_url`: `{url, status, contentType, text, truncated}`, whatever the
/// status (a 404 page is an answer too).
pub(super) async fn fetch_url(fetch: &impl Fetch, options: &ToolOptions, url: &str) -> Result<Value, ToolError> {
    let request = HttpRequest {
        method: "GET",
        url: String::new(),
        headers: vec![
            ("accept".into(), "text/html,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5".into()),
            ("user-agent".into(), format!("headstart-agent/{}", crate::VERSION)),
        ],
        body: String::new(),
    };
    let (href, mut response) = send(fetch, options, url, request).await?;
    let mime = mime(&response);
    let content_type = response.header("content-type").map(str::to_string);
    let result = |text: String, truncated: bool| json!({ "url": href, "status": response.status, "contentType": content_type, "text": text, "truncated": truncated });
    if !is_textual(&mime) {
        return Ok(result(format!("(not shown: the response is {mime}, not text)"), false));
    }
    let (bytes, cut_short) = read_capped(&mut response.body, options.max_response_bytes).await?;
    let raw = String::from_utf8_lossy(&bytes);
    let sniffed_html = mime.is_empty() && {
        let head = raw.trim_start().get(..14).unwrap_or("").to_ascii_lowercase();
        head.starts_with("<!doctype html") || head.starts_with("<html")
    };
    let text = if mime == "text/html" || mime == "application/xhtml+xml" || sniffed_html {
        html_to_text(&raw)
    } else {
        raw.into_owned()
    };
    let shown = cut(&text, options.fetch_text_limit);
    let truncated = cut_short || shown.len() < text.len();
    let text = if truncated { format!("{shown}\n[truncated: showing the first {} bytes]", shown.len()) } else { text };
    Ok(result(text, truncated))
}

/// A configured HTTP tool: POST the input; a 2xx JSON answer is the result
/// as JSON, any other 2xx answer as text.
pub(super) async fn call(
    fetch: &impl Fetch,
    options: &ToolOptions,
    config: &HttpToolConfig,
    input: &Value,
) -> Result<Value, ToolError> {
    let mut headers: Vec<(String, String)> =
        vec![("content-type".into(), "application/json".into()), ("accept".into(), "application/json, text/plain;q=0.9".into())];
    for (name, value) in &config.headers {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
    let request = HttpRequest { method: "POST", url: String::new(), headers, body: input.to_string() };
    let (_, mut response) = send(fetch, options, &config.url, request).await?;
    let mime = mime(&response);
    let (bytes, _) = read_capped(&mut response.body, options.max_response_bytes).await?;
    let text = String::from_utf8_lossy(&bytes);
    if !(200..300).contains(&response.status) {
        let excerpt = cut(text.trim(), 500);
        let ellipsis = if excerpt.len() < text.trim().len() { "…" } else { "" };
        return Err(ToolError::Status { status: response.status, body: format!("{excerpt}{ellipsis}") });
    }
    if mime.is_empty() || mime.ends_with("json") {
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            return Ok(value);
        }
    }
    Ok(Value::String(text.into_owned()))
}
