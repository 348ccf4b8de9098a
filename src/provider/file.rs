//! File data as `streamText` hands it to a provider, after
//! `convertToLanguageModelV4FilePart`: the providers that inline or link
//! files (OpenAI's two APIs, Gemini) read it alike.

use serde_json::{Map, Value};

use crate::protocol::url::normalize_url;
use crate::provider::error::ProviderError;
use crate::provider::media::{detect_media_type, is_full_media_type, top_level_media_type, TopLevel};

fn config(message: impl Into<String>) -> ProviderError {
    ProviderError::Config(message.into())
}

/// The SDK's error for a part type it does not know.
pub fn unknown_part(part: &Map<String, Value>) -> ProviderError {
    let ty = part.get("type").and_then(Value::as_str).unwrap_or("");
    config(format!("Invalid prompt: unknown content part type {ty:?}"))
}

/// The SDK's `UnsupportedFunctionalityError`.
pub fn unsupported(what: impl std::fmt::Display) -> ProviderError {
    config(format!("'{what}' functionality not supported."))
}

/// File data after `streamText`'s normalization (`convertToLanguageModelV4FilePart`).
pub enum FileData {
    Url(String),
    /// Base64.
    Data(String),
    Reference(Value),
    /// A text file's content.
    Text(String),
}

/// `(data, media type from a data: URL)`.
pub fn file_data(data: &Value) -> Result<(FileData, Option<String>), ProviderError> {
    let from_url = |url: &str| -> Result<(FileData, Option<String>), ProviderError> {
        let href = normalize_url(url).unwrap_or_else(|| url.to_string());
        if href.starts_with("data:") {
            // `splitDataUrl`: the media type before the first `;`, the
            // content between the first and second comma.
            let mut pieces = href.split(',');
            let header = pieces.next().unwrap_or("");
            let content = pieces.next().ok_or_else(|| config(format!("Invalid data URL format in content {href}")))?;
            let media_type = header.split(';').next().unwrap_or("").split(':').nth(1).unwrap_or("").to_string();
            return Ok((FileData::Data(content.to_string()), Some(media_type)));
        }
        Ok((FileData::Url(href), None))
    };
    match data {
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("data") => match o.get("data") {
                Some(Value::String(s)) if s.starts_with("data:") => {
                    Err(config("Data URLs are not valid inline data. Pass them as { type: \"url\", url } instead."))
                }
                Some(Value::String(s)) => Ok((FileData::Data(s.clone()), None)),
                _ => Err(config("inline file data must be a base64 string")),
            },
            Some("url") => match o.get("url") {
                Some(Value::String(u)) => from_url(u),
                _ => Err(config("file data of type url has no url")),
            },
            Some("reference") => Ok((FileData::Reference(o.get("reference").cloned().unwrap_or(Value::Null)), None)),
            Some("text") => Ok((FileData::Text(o.get("text").and_then(Value::as_str).unwrap_or("").to_string()), None)),
            _ => Err(config("unsupported file data")),
        },
        Value::String(s) => match normalize_url(s) {
            Some(_) => from_url(s),
            None => Ok((FileData::Data(s.clone()), None)),
        },
        _ => Err(config("unsupported file data")),
    }
}

/// The media type a file part is sent with: a data URL's own, else the
/// part's; an inline file is sniffed for an image signature first, as
/// `streamText` does with every one.
pub fn file_media_type(data: &FileData, data_url_media_type: Option<String>, media_type: String) -> String {
    if let FileData::Data(b64) = data {
        if let Some(detected) = detect_media_type(b64, Some(TopLevel::Image)) {
            return detected.to_string();
        }
    }
    data_url_media_type.unwrap_or(media_type)
}

/// The SDK's `resolveFullMediaType`: a media type with its subtype, else
/// the one sniffed from the inline data of its top level.
pub fn full_media_type(media_type: &str, b64: &str) -> Result<String, ProviderError> {
    if is_full_media_type(media_type) {
        return Ok(media_type.to_string());
    }
    let top = TopLevel::parse(top_level_media_type(media_type));
    top.and_then(|t| detect_media_type(b64, Some(t))).map(str::to_string).ok_or_else(|| {
        unsupported(format!("file of media type \"{media_type}\" must specify subtype since it could not be auto-detected"))
    })
}
