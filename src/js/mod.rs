//! The wasm-bindgen API of `pkg/` (feature `js`): what Deno, Bun, Vercel
//! Edge and Node import. JSON crosses the boundary as JS values through
//! `JSON.stringify`/`JSON.parse`, which every runtime has, rather than a
//! serde bridge crate that would grow the wasm.

use wasm_bindgen::prelude::*;

use crate::protocol::convert::{convert_to_model_messages, ConvertOptions};
use crate::protocol::{UiChunk, UiMessage};

fn to_js_error(message: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&message.to_string()).into()
}

fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, JsValue> {
    let text: String = js_sys::JSON::stringify(value)?.into();
    serde_json::from_str(&text).map_err(|e| to_js_error(format!("invalid {what}: {e}")))
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(to_js_error)?;
    js_sys::JSON::parse(&text)
}

/// The crate version.
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_string()
}

/// `convertToModelMessages(uiMessages)`, as the AI SDK computes it.
#[wasm_bindgen(js_name = convertToModelMessages)]
pub fn convert_to_model_messages_js(messages: JsValue) -> Result<JsValue, JsValue> {
    let messages: Vec<UiMessage> = from_js(&messages, "UI messages")?;
    let model = convert_to_model_messages(&messages, &ConvertOptions::default()).map_err(to_js_error)?;
    to_js(&model)
}

/// Encodes UI message chunks as an SSE body (`data: <json>\n\n` each),
/// checking each against the chunk catalogue.
#[wasm_bindgen(js_name = encodeUiMessageStream)]
pub fn encode_ui_message_stream(chunks: JsValue) -> Result<String, JsValue> {
    let chunks: Vec<UiChunk> = from_js(&chunks, "UI message chunks")?;
    let mut out = String::new();
    for chunk in &chunks {
        crate::protocol::sse::write_data(&mut out, &chunk.to_json());
    }
    Ok(out)
}
