//! The tools that go over HTTP: `fetch_url` (GET a page, return its text)
//! and the configured HTTP tools (POST the input as JSON, return the
//! response). Bodies are read up to [`ToolOptions::max_response_bytes`] and
//! decoded as UTF-8 (other charsets are not converted).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::io::{Fetch, HttpRequest, HttpResponse, ResponseBody};
use crate::protocol::url::normalize_url;

use super::html::html_to_text;
use super::{ToolConfigError, ToolError, ToolOptions};

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
    /// Checks the URL and schema; the URL comes back normalized.
    pub(super) fn validated(mut self, name: &str) -> Result<Self, ToolConfigError> {
        let invalid = |reason: &str| ToolConfigError::Invalid { name: name.into(), reason: reason.into() };
        self.url = match normalize_url(&self.url) {
            Some(href) if is_http(&href) => href,
            _ => return Err(invalid("\"url\" must be an absolute http(s) URL")),
        };
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
    let refused = |reason: &str| ToolError::Refused { url: url.into(), reason: reason.into() };
    let Some(href) = normalize_url(url) else { return Err(refused("not an absolute URL")) };
    if !is_http(&href) {
        return Err(refused("only http and https URLs are fetched"));
    }
    let request = HttpRequest {
        method: "GET",
        url: href.clone(),
        headers: vec![
            ("accept".into(), "text/html,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5".into()),
            ("user-agent".into(), format!("headstart-agent/{}", crate::VERSION)),
        ],
        body: String::new(),
    };
    let mut response = fetch.fetch(&request).await.map_err(|e| ToolError::Fetch(e.0))?;
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
    let request = HttpRequest { method: "POST", url: config.url.clone(), headers, body: input.to_string() };
    let mut response = fetch.fetch(&request).await.map_err(|e| ToolError::Fetch(e.0))?;
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
