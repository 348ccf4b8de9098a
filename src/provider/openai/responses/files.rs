//! Files and images of a user message or of a tool result's content, as
//! `convertToOpenAIResponsesInput` sends them: `input_image` / `input_file`
//! by URL, inline data, uploaded file id or provider reference.

use serde_json::{json, Map, Value};

use super::super::messages::{file_data, file_media_type, full_media_type, unknown_part, unsupported, FileData};
use super::super::request::config;
use super::input::{breakpoint, openai, put, InputSettings};
use crate::protocol::model::ModelPart;
use crate::provider::error::ProviderError;
use crate::provider::media::top_level_media_type;

/// One part of a user message.
pub(super) fn user_part(part: &ModelPart, index: usize, s: &InputSettings) -> Result<Value, ProviderError> {
    let (data, media_type, filename, po) = match part {
        ModelPart::Text(t) => {
            let mut p = Map::new();
            p.insert("type".into(), json!("input_text"));
            p.insert("text".into(), json!(t.text));
            put(&mut p, "prompt_cache_breakpoint", breakpoint(t.provider_options.as_ref()));
            return Ok(Value::Object(p));
        }
        ModelPart::Image(i) => (
            i.image.as_ref().unwrap_or(&Value::Null),
            i.media_type.clone().unwrap_or_else(|| "image".into()),
            None,
            i.provider_options.as_ref(),
        ),
        ModelPart::File(f) => {
            (f.data.as_ref().unwrap_or(&Value::Null), f.media_type.clone(), f.filename.clone(), f.provider_options.as_ref())
        }
        ModelPart::Unknown(p) => return Err(unknown_part(p)),
        _ => return Err(config("user messages may only contain text, image and file parts")),
    };
    let (data, data_url_media_type) = file_data(data)?;
    let media_type = file_media_type(&data, data_url_media_type, media_type);
    let file = FileInput {
        data,
        media_type,
        filename,
        detail: openai(po, "imageDetail").cloned(),
        breakpoint: breakpoint(po),
        default_filename: |pdf| if pdf { format!("part-{index}.pdf") } else { format!("part-{index}") },
    };
    file.convert(s.pass_through_unsupported_files, true)
}

/// A file of a user message or of a tool result's content.
struct FileInput<F: Fn(bool) -> String> {
    data: FileData,
    media_type: String,
    filename: Option<String>,
    detail: Option<Value>,
    breakpoint: Option<Value>,
    /// The file name when none is given (`true` for a PDF).
    default_filename: F,
}

impl<F: Fn(bool) -> String> FileInput<F> {
    fn convert(self, pass_through: bool, user: bool) -> Result<Value, ProviderError> {
        let image = top_level_media_type(&self.media_type) == "image";
        let mut p = Map::new();
        p.insert("type".into(), json!(if image { "input_image" } else { "input_file" }));
        match self.data {
            FileData::Reference(reference) => {
                let id = reference.get("openai").filter(|v| !v.is_null()).cloned().ok_or_else(|| {
                    config(format!("No provider reference found for provider 'openai'. Available: {reference}"))
                })?;
                p.insert("file_id".into(), id);
                if image {
                    put(&mut p, "detail", self.detail);
                }
            }
            FileData::Text(_) => return Err(unsupported("text file parts")),
            FileData::Url(url) => {
                let http = url.starts_with("http://") || url.starts_with("https://");
                // streamText downloads and inlines the URLs the model does
                // not take (all but http(s) images and PDFs); no IO here.
                if user && !(http && (image || self.media_type == "application/pdf")) {
                    return Err(config(format!(
                        "file URL {url} ({}) would have to be downloaded and inlined; pass the data instead",
                        self.media_type
                    )));
                }
                p.insert(if image { "image_url" } else { "file_url" }.into(), json!(url));
                if image {
                    put(&mut p, "detail", self.detail);
                }
            }
            FileData::Data(b64) => {
                // createOpenAI passes `file-...` strings as uploaded file ids.
                let file_id = user && b64.starts_with("file-");
                let full = || full_media_type(&self.media_type, &b64);
                if image {
                    if file_id {
                        p.insert("file_id".into(), json!(b64));
                    } else {
                        p.insert("image_url".into(), json!(format!("data:{};base64,{b64}", full()?)));
                    }
                    put(&mut p, "detail", self.detail);
                } else {
                    let full = full()?;
                    if user && full != "application/pdf" && !pass_through {
                        return Err(unsupported(format!("file part media type {full}")));
                    }
                    if file_id {
                        p.insert("file_id".into(), json!(b64));
                    } else {
                        let name = self.filename.unwrap_or_else(|| (self.default_filename)(full == "application/pdf"));
                        p.insert("filename".into(), json!(name));
                        p.insert("file_data".into(), json!(format!("data:{full};base64,{b64}")));
                    }
                }
            }
        }
        put(&mut p, "prompt_cache_breakpoint", self.breakpoint);
        Ok(Value::Object(p))
    }
}

/// One item of a `content` tool result; `None` for what the SDK skips.
pub(super) fn content_item(item: &Value) -> Result<Option<Value>, ProviderError> {
    let po = item.get("providerOptions").and_then(Value::as_object);
    let media_type = item.get("mediaType").and_then(Value::as_str).unwrap_or("").to_string();
    let data = match item.get("type").and_then(Value::as_str) {
        Some("text") => {
            let mut p = Map::new();
            p.insert("type".into(), json!("input_text"));
            p.insert("text".into(), item.get("text").cloned().unwrap_or(Value::Null));
            put(&mut p, "prompt_cache_breakpoint", breakpoint(po));
            return Ok(Some(Value::Object(p)));
        }
        Some("file") => match item.get("data") {
            Some(d) => file_data(d)?.0,
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let file = FileInput {
        data,
        media_type,
        filename: item.get("filename").and_then(Value::as_str).map(str::to_string),
        detail: openai(po, "imageDetail").cloned(),
        breakpoint: breakpoint(po),
        default_filename: |_| "data".to_string(),
    };
    file.convert(true, false).map(Some)
}
