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

/// Runs one LLM step and returns its UI message stream as an SSE body
/// (`data: <chunk>\n\n`). `vars` holds the settings under their
/// environment-variable names (`HEADSTART_PROVIDER`, `ANTHROPIC_API_KEY`,
/// ... see `ModelSettings::from_vars`); `messages` are model messages.
/// Cancelling the returned stream aborts the model request.
#[wasm_bindgen(js_name = streamStep)]
pub fn stream_step(vars: JsValue, messages: JsValue, message_id: String) -> Result<web_sys::ReadableStream, JsValue> {
    use crate::io::emitted_stream;
    use crate::provider::config::ModelSettings;
    use crate::provider::run::run_step;
    use crate::provider::step::Step;
    use crate::web::fetch::{WebClock, WebFetch};

    let vars: std::collections::HashMap<String, serde_json::Value> = from_js(&vars, "settings")?;
    let var = |name: &str| {
        vars.get(name).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let settings = ModelSettings::from_vars(var).map_err(to_js_error)?;
    let messages: Vec<crate::protocol::ModelMessage> = from_js(&messages, "model messages")?;
    let options = settings.call(messages);
    let payloads = emitted_stream(move |emitter| async move {
        let mut step = Step::new(message_id, &options.tools);
        run_step(&WebFetch, &WebClock, &settings, &options, &mut step, &mut |chunk| emitter.emit(chunk.to_json())).await;
    });
    Ok(crate::web::stream::sse_stream(payloads))
}
