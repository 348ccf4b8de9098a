//! The wasm-bindgen API of `pkg/` (feature `js`): what Deno, Bun, Vercel
//! Edge and Node import. JSON crosses the boundary as JS values through
//! `JSON.stringify`/`JSON.parse`, which every runtime has, rather than a
//! serde bridge crate that would grow the wasm.
//!
//! - [`handler`]: `new Handler(options).handle(request, ctx?)`, the head-start
//!   routes over Web `Request`/`Response` (the `createHandler` of
//!   `pkg/index.js` wraps it);
//! - [`options`]: the options object, checked eagerly;
//! - [`session`]: `new SessionClient(options)`, the platform side of a head
//!   start for servers that run step 1 themselves;
//! - [`lowlevel`]: `version`, `convertToModelMessages`,
//!   `encodeUiMessageStream`, `streamStep`.

use wasm_bindgen::prelude::*;

mod authorize;
pub mod handler;
pub mod lowlevel;
pub mod options;
pub mod session;

pub(crate) fn to_js_error(message: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&message.to_string()).into()
}

pub(crate) fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, JsValue> {
    let text: String = js_sys::JSON::stringify(value)?.into();
    serde_json::from_str(&text).map_err(|e| to_js_error(format!("invalid {what}: {e}")))
}

pub(crate) fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(to_js_error)?;
    js_sys::JSON::parse(&text)
}

/// Record and part ids (nanoid's alphabet).
pub(crate) fn nanoid(n: usize) -> String {
    const ALPHABET: &[u8] = b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
    (0..n).map(|_| ALPHABET[(js_sys::Math::random() * 64.0) as usize % 64] as char).collect()
}
