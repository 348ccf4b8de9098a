//! The lower-level exports: the protocol's pure functions and one model
//! step as a stream.

use wasm_bindgen::prelude::*;

use super::{from_js, to_js, to_js_error};
use crate::protocol::convert::{convert_to_model_messages, ConvertOptions};
use crate::protocol::{UiChunk, UiMessage};

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
